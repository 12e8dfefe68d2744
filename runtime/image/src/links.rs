//! `HULL_ROOT/l/`: a short symbolic link to each unpacked layer, `l/<first 16 hex digits of
//! its diff id>` → `../layers/<diff id hex>`, as Docker's overlay2 keeps one. An overlay mount's
//! options must fit in one page, and a stack of absolute `layers/<64 hex>` paths does not past
//! about 44 layers; mounted from the store's root, `lowerdir=l/…:l/…` fits well over the 125
//! layers Docker allows. In the astronomically unlikely case that two layers share the first
//! 16 digits, the second gets a link named by all 64.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::digest::digest_hex;
use super::error::{io_at, ImageError, Result};
use super::store::Store;
use super::ImageInfo;

/// The directory of the links, below the store's root.
pub const LINK_DIR: &str = "l";

const SHORT: usize = 16;

impl Store {
    /// The short links to `image`'s layer directories, relative to [`Store::root`], bottom
    /// layer first (as [`Store::layer_dirs`], unpacking and linking as needed).
    pub fn layer_links(&self, image: &ImageInfo) -> Result<Vec<PathBuf>> {
        self.layer_dirs(image)?
            .iter()
            .map(|dir| self.link_to(dir))
            .collect()
    }

    /// The link to one layer directory (`layers/<hex>`), made if missing.
    fn link_to(&self, layer_dir: &Path) -> Result<PathBuf> {
        let hex = layer_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = Path::new("..").join("layers").join(&hex);
        let links = self.root().join(LINK_DIR);
        for name in [&hex[..SHORT.min(hex.len())], hex.as_str()] {
            let link = links.join(name);
            match std::os::unix::fs::symlink(&target, &link) {
                Ok(()) => return Ok(Path::new(LINK_DIR).join(name)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if fs::read_link(&link).is_ok_and(|t| t == target) {
                        return Ok(Path::new(LINK_DIR).join(name));
                    }
                }
                Err(e) => return Err(io_at("linking the layer at", &link)(e)),
            }
        }
        Err(ImageError::Corrupt(format!(
            "{}: the links {}/{} and {}/{hex} exist and name other layers",
            layer_dir.display(),
            LINK_DIR,
            &hex[..SHORT.min(hex.len())],
            LINK_DIR
        )))
    }

    /// Removes the links to the layer `diff_id` (before its directory goes).
    pub(crate) fn remove_links(&self, diff_id: &str) -> Result<()> {
        let hex = digest_hex(diff_id, "layer diff id")?;
        let target = Path::new("..").join("layers").join(hex);
        for name in [&hex[..SHORT], hex] {
            let link = self.root().join(LINK_DIR).join(name);
            if fs::read_link(&link).is_ok_and(|t| t == target) {
                fs::remove_file(&link).map_err(io_at("removing the layer link", &link))?;
            }
        }
        Ok(())
    }
}
