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
use super::ImageInfo;

/// What one `rmi` did: the lines Docker prints (`Untagged: …`, `Deleted: …`) and the bytes of
/// the layer blobs it freed (`image prune`'s "Total reclaimed space").
#[derive(Debug, Default)]
pub struct Removal {
    pub lines: Vec<String>,
    pub freed: u64,
}

impl Store {
    /// Docker's `rmi` (see [`Store::remove_image`]) where no container uses any image.
    pub fn remove(&self, reference: &str, force: bool) -> Result<Vec<String>> {
        Ok(self.remove_image(reference, force, &|_| false)?.lines)
    }

    /// Docker's `rmi`: by name, untags it and deletes the image when that was its last name
    /// and no image was made from it; by id, untags every name and deletes the image (an image
    /// with several names needs `force`; one with children cannot be deleted). Then, as
    /// Docker does, each parent in turn that is untagged, has no other child and that no
    /// container uses (`in_use`, by image id) is deleted too: the untagged steps a build left.
    pub fn remove_image(
        &self,
        reference: &str,
        force: bool,
        in_use: &dyn Fn(&str) -> bool,
    ) -> Result<Removal> {
        let lock = self.lock()?;
        let image = self.find(reference)?.ok_or_else(|| ImageError::NotFound {
            reference: reference.to_string(),
        })?;
        let mut index = self.read_index()?;
        let mut parents = self.read_parents()?;
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
                if image.names.len() > 1 || parents.children(&image.id) > 0 {
                    self.write_index(&index, &lock)?;
                    return Ok(Removal {
                        lines: out,
                        freed: 0,
                    });
                }
            }
            None => {
                if parents.children(&image.id) > 0 {
                    return Err(ImageError::Conflict(format!(
                        "unable to delete {} (cannot be forced) - image has dependent child images",
                        short(&image.id)
                    )));
                }
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
        let mut doomed = vec![image];
        loop {
            let last = doomed.last().expect("starts with the image");
            index.remove_manifest(&last.manifest_digest);
            let Some(parent) = parents.forget(&last.id) else {
                break;
            };
            if parents.children(&parent) > 0 || in_use(&parent) {
                break;
            }
            match self
                .all_images(&index)?
                .into_iter()
                .find(|i| i.id == parent)
            {
                Some(p) if p.names.is_empty() => doomed.push(p),
                _ => break,
            }
        }
        self.write_index(&index, &lock)?;
        self.write_parents(&parents, &lock)?;

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
        let mut freed = 0;
        for (i, image) in doomed.iter().enumerate() {
            out.push(format!("Deleted: {}", image.id));
            for d in [&image.manifest_digest, &image.id] {
                if !blobs.contains(d) {
                    self.blobs.remove(d)?;
                }
            }
            // A parent deleted next lists its own layers (Docker's order: each image, then
            // the layer it added).
            let next: HashSet<&str> = doomed
                .get(i + 1)
                .map(|p| p.layers.iter().map(|l| l.digest.as_str()).collect())
                .unwrap_or_default();
            for l in image
                .layers
                .iter()
                .filter(|l| !next.contains(l.digest.as_str()))
            {
                if !blobs.contains(&l.digest) && self.blobs.remove(&l.digest)? {
                    out.push(format!("Deleted: {}", l.digest));
                    freed += l.size;
                }
                if !diff_ids.contains(&l.diff_id) {
                    self.remove_layer_dir(&l.diff_id)?;
                }
            }
        }
        drop(lock);
        Ok(Removal { lines: out, freed })
    }

    /// Ids of the images `image prune` would take: untagged ones no image was made from
    /// (dangling), or with `all` every one without children (tagged or not).
    pub fn prune_candidates(&self, all: bool) -> Result<Vec<ImageInfo>> {
        let index = self.read_index()?;
        let parents = self.read_parents()?;
        Ok(self
            .all_images(&index)?
            .into_iter()
            .filter(|i| (all || i.names.is_empty()) && parents.children(&i.id) == 0)
            .collect())
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
