//! Reading images out for people: `hull images`, `hull history`, `hull image inspect`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::commit::history_of;
use super::error::Result;
use super::store::Store;
use super::{HistoryEntry, ImageInfo, ImageSummary};

/// The size `hull images` shows: the sum of the layer blobs.
pub(crate) fn image_size(image: &ImageInfo) -> u64 {
    image.layers.iter().map(|l| l.size).sum()
}

/// `name:tag` → (`name`, `tag`).
pub(crate) fn split_name(full: &str) -> (String, String) {
    let slash = full.rfind('/').map_or(0, |i| i + 1);
    match full[slash..].rfind(':') {
        Some(i) => (
            full[..slash + i].to_string(),
            full[slash + i + 1..].to_string(),
        ),
        None => (full.to_string(), "latest".to_string()),
    }
}

impl Store {
    /// One row per name (and one `<none>:<none>` row per untagged image), newest first.
    pub fn list(&self) -> Result<Vec<ImageSummary>> {
        let index = self.read_index()?;
        let parents = self.read_parents()?;
        let mut rows = Vec::new();
        for image in self.all_images(&index)? {
            let intermediate = image.names.is_empty() && parents.children(&image.id) > 0;
            let created = image.config.created().clone();
            let size = image_size(&image);
            let names = if image.names.is_empty() {
                vec![None]
            } else {
                image.names.iter().map(Some).collect()
            };
            for name in names {
                let (repository, tag) = match name {
                    Some(n) => split_name(n),
                    None => ("<none>".to_string(), "<none>".to_string()),
                };
                rows.push(ImageSummary {
                    repository,
                    tag,
                    id: image.id.clone(),
                    created: created.clone(),
                    size,
                    intermediate,
                });
            }
        }
        rows.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then_with(|| (&a.repository, &a.tag).cmp(&(&b.repository, &b.tag)))
        });
        Ok(rows)
    }

    /// The image's history, newest first, with each step's layer size.
    pub fn history(&self, reference: &str) -> Result<Vec<HistoryEntry>> {
        let image = self.resolve(reference)?;
        let mut layers = image.layers.iter();
        let mut out: Vec<HistoryEntry> = history_of(&image)
            .iter()
            .map(|h| {
                let empty = h.empty_layer().unwrap_or(false);
                let size = if empty {
                    0
                } else {
                    layers.next().map_or(0, |l| l.size)
                };
                HistoryEntry {
                    created_by: h.created_by().clone().unwrap_or_default(),
                    created: h.created().clone(),
                    size,
                    empty_layer: empty,
                    comment: h.comment().clone().unwrap_or_default(),
                }
            })
            .collect();
        out.reverse();
        Ok(out)
    }

    /// `hull image inspect`: Docker's field names.
    pub fn inspect_json(&self, reference: &str) -> Result<Value> {
        let image = self.resolve(reference)?;
        let c = image.config.config().clone().unwrap_or_default();
        let set = |v: &Option<Vec<String>>| {
            v.as_ref().map(|ports| {
                ports
                    .iter()
                    .map(|p| (p.clone(), json!({})))
                    .collect::<BTreeMap<_, _>>()
            })
        };
        let labels = c
            .labels()
            .as_ref()
            .map(|l| l.iter().collect::<BTreeMap<_, _>>());
        let repo_digests: Vec<String> = image
            .names
            .iter()
            .map(|n| format!("{}@{}", split_name(n).0, image.manifest_digest))
            .collect();
        Ok(json!({
            "Id": image.id,
            "RepoTags": image.names,
            "RepoDigests": repo_digests,
            "Created": image.config.created(),
            "Author": image.config.author(),
            "Architecture": image.config.architecture().to_string(),
            "Os": image.config.os().to_string(),
            "Config": {
                "Cmd": c.cmd(),
                "Entrypoint": c.entrypoint(),
                "Env": c.env(),
                "WorkingDir": c.working_dir().clone().unwrap_or_default(),
                "User": c.user().clone().unwrap_or_default(),
                "ExposedPorts": set(c.exposed_ports()),
                "Volumes": set(c.volumes()),
                "Labels": labels,
                "StopSignal": c.stop_signal(),
            },
            "RootFS": {
                "Type": "layers",
                "Layers": image.config.rootfs().diff_ids(),
            },
            "Size": image_size(&image),
            "ManifestDigest": image.manifest_digest,
        }))
    }
}
