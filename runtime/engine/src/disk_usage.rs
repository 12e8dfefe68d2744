//! `hull system df`: what images, containers and volumes take on disk, and how much of it
//! removing what nothing uses would give back, counted as Docker 20.10 counts it.
//!
//! - Images: the images `hull images` lists; active when a container (in any state) was made
//!   from one; size is every layer of the store once (intermediate images' too); reclaimable
//!   is that size less what only the active images hold (their layers no other listed image
//!   shares).
//! - Containers: active when running; size is what each wrote to its own layer.
//! - Local volumes: active when a container (in any state) mounts one; size is its content.
//! - Build cache: hull's builder is Docker's classic one, whose cache is the intermediate
//!   images (counted above): like Docker's with it, zero.
//!
//! Sizes of files are counted once per inode and directories not at all (Docker's rule);
//! layer sizes are the store's.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::volume::disk_usage as dir_usage;
use super::{overlay, Engine, Result};

/// One line of `system df`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub total: usize,
    pub active: usize,
    pub size: u64,
    pub reclaimable: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskUsage {
    pub images: Usage,
    pub containers: Usage,
    pub volumes: Usage,
    pub build_cache: Usage,
}

/// An image as the image line counts it: its layers (chain key, size) and its containers.
#[derive(Debug, Clone)]
pub struct ImageLayers {
    pub layers: Vec<(String, u64)>,
    pub containers: usize,
}

/// The image line from the listed images and the sizes of every layer in the store.
pub fn image_usage(listed: &[ImageLayers], all_layers: &BTreeMap<String, u64>) -> Usage {
    let mut refs: HashMap<&str, usize> = HashMap::new();
    for i in listed {
        for (key, _) in &i.layers {
            *refs.entry(key).or_default() += 1;
        }
    }
    let size: u64 = all_layers.values().sum();
    let used: u64 = listed
        .iter()
        .filter(|i| i.containers > 0)
        .map(|i| {
            i.layers
                .iter()
                .filter(|(key, _)| refs.get(key.as_str()).copied().unwrap_or(0) <= 1)
                .map(|(_, s)| s)
                .sum::<u64>()
        })
        .sum();
    Usage {
        total: listed.len(),
        active: listed.iter().filter(|i| i.containers > 0).count(),
        size,
        reclaimable: size.saturating_sub(used),
    }
}

pub fn disk_usage(engine: &Engine) -> Result<DiskUsage> {
    let containers = engine.list()?;
    // Images: every image of the store for the layers, the named ones for the line.
    let summaries = engine.store.list()?;
    let all_ids: BTreeSet<&str> = summaries.iter().map(|s| s.id.as_str()).collect();
    let named: BTreeSet<&str> = summaries
        .iter()
        .filter(|s| s.repository != "<none>")
        .map(|s| s.id.as_str())
        .collect();
    let mut all_layers = BTreeMap::new();
    let mut listed = Vec::new();
    for id in all_ids {
        let image = engine.store.resolve(id)?;
        let mut chain = String::new();
        let mut layers = Vec::new();
        for l in &image.layers {
            // A layer is the same layer only on the same layers below (Docker's chain id).
            chain.push_str(&l.diff_id);
            chain.push('/');
            all_layers.insert(chain.clone(), l.size);
            layers.push((chain.clone(), l.size));
        }
        if named.contains(id) {
            listed.push(ImageLayers {
                layers,
                containers: containers.iter().filter(|c| c.image == id).count(),
            });
        }
    }
    let images = image_usage(&listed, &all_layers);

    let mut c = Usage {
        total: containers.len(),
        ..Default::default()
    };
    for r in &containers {
        let size = dir_usage(&overlay::Dirs::of(&engine.container_dir(&r.id)).upper);
        c.size += size;
        if r.state.running || r.state.paused {
            c.active += 1;
        } else {
            c.reclaimable += size;
        }
    }

    let mut v = Usage::default();
    for vol in engine.volumes().list()? {
        let size = dir_usage(&vol.data());
        v.total += 1;
        v.size += size;
        if containers
            .iter()
            .any(|r| r.volume_names().any(|n| n == vol.name))
        {
            v.active += 1;
        } else {
            v.reclaimable += size;
        }
    }
    Ok(DiskUsage {
        images,
        containers: c,
        volumes: v,
        build_cache: Usage::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(layers: &[(&str, u64)], containers: usize) -> ImageLayers {
        ImageLayers {
            layers: layers.iter().map(|(k, s)| (k.to_string(), *s)).collect(),
            containers,
        }
    }

    #[test]
    fn images_reclaim_all_but_what_only_active_images_hold() {
        let all: BTreeMap<String, u64> =
            [("a/".into(), 100), ("a/b/".into(), 4), ("x/".into(), 7)].into();
        // Docker's: busybox (a) in use, shared with vimg (a, b): all of it reclaimable.
        let listed = [
            image(&[("a/", 100)], 1),
            image(&[("a/", 100), ("a/b/", 4)], 0),
        ];
        assert_eq!(
            image_usage(&listed, &all),
            Usage {
                total: 2,
                active: 1,
                size: 111,
                reclaimable: 111
            }
        );
        // Alone and in use: nothing to reclaim of it.
        let listed = [image(&[("a/", 100)], 1)];
        assert_eq!(image_usage(&listed, &all).reclaimable, 11);
    }
}
