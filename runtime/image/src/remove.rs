//! `hull rmi`: untagging, and deleting what no image references any more.
//!
//! The caller (the engine) must first refuse to remove an image that a container uses, unless
//! forced: the store does not know about containers, and deletes layer directories that no
//! remaining image references.

use std::collections::HashSet;
use std::fs;

use super::blobs::temp_name;
use super::digest::digest_hex;
use super::error::{io_at, ImageError, Result};
use super::parse_reference;
use super::store::Store;

impl Store {
    /// Docker's `rmi`: by name, untags it and deletes the image when that was its last name;
    /// by id, untags every name and deletes the image (an image with several names needs
    /// `force`). Returns the `Untagged: name` / `Deleted: digest` lines.
    pub fn remove(&self, reference: &str, force: bool) -> Result<Vec<String>> {
        let lock = self.lock()?;
        let image = self.find(reference)?.ok_or_else(|| ImageError::NotFound {
            reference: reference.to_string(),
        })?;
        let mut index = self.read_index()?;
        let mut out = Vec::new();
        let by_name = parse_reference(reference)
            .ok()
            .filter(|r| r.digest.is_none())
            .map(|r| r.full())
            .filter(|n| image.names.contains(n));
        match by_name {
            Some(name) => {
                index.remove_name(&name);
                out.push(format!("Untagged: {name}"));
                if image.names.len() > 1 {
                    self.write_index(&index, &lock)?;
                    return Ok(out);
                }
            }
            None => {
                if image.names.len() > 1 && !force {
                    return Err(ImageError::Conflict(format!(
                        "unable to delete {} (must be forced) - image is referenced in multiple \
                         repositories ({})",
                        short(&image.id),
                        image.names.join(", ")
                    )));
                }
                for n in &image.names {
                    out.push(format!("Untagged: {n}"));
                }
            }
        }
        index.remove_manifest(&image.manifest_digest);
        self.write_index(&index, &lock)?;
        out.push(format!("Deleted: {}", image.id));

        // What the remaining images still use.
        let mut blobs = HashSet::new();
        let mut diff_ids = HashSet::new();
        for other in self.all_images(&index)? {
            blobs.insert(other.manifest_digest.clone());
            blobs.insert(other.id.clone());
            for l in &other.layers {
                blobs.insert(l.digest.clone());
                diff_ids.insert(l.diff_id.clone());
            }
        }
        for d in [&image.manifest_digest, &image.id] {
            if !blobs.contains(d) {
                self.blobs.remove(d)?;
            }
        }
        for l in &image.layers {
            if !blobs.contains(&l.digest) && self.blobs.remove(&l.digest)? {
                out.push(format!("Deleted: {}", l.digest));
            }
            if !diff_ids.contains(&l.diff_id) {
                self.remove_layer_dir(&l.diff_id)?;
            }
        }
        drop(lock);
        Ok(out)
    }

    /// Removes `layers/<hex>`: renamed away first, so a half-deleted layer is never mistaken
    /// for a complete one.
    fn remove_layer_dir(&self, diff_id: &str) -> Result<()> {
        let dir = self
            .layers_dir()
            .join(digest_hex(diff_id, "layer diff id")?);
        if !dir.exists() {
            return Ok(());
        }
        self.remove_links(diff_id)?;
        let trash = self.layers_dir().join(temp_name(".trash"));
        fs::rename(&dir, &trash).map_err(io_at("moving away the layer directory", &dir))?;
        fs::remove_dir_all(&trash).map_err(io_at("removing the layer directory", &trash))
    }
}

/// The 12-hex-digit short form of an id.
pub(crate) fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}
