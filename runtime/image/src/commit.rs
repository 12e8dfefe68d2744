//! `hull commit`: a new image from a base image, a container's upper dir and a runtime config.

use std::path::Path;
use std::time::SystemTime;

use oci_spec::image::{Config, History, HistoryBuilder, ImageConfigurationBuilder, RootFsBuilder};

use super::diff::write_upper_layer;
use super::error::{ImageError, Result};
use super::index::canonical_json;
use super::store::Store;
use super::ImageInfo;

/// The history of `image`, one entry per layer at least (made up when the config has none).
pub(crate) fn history_of(image: &ImageInfo) -> Vec<History> {
    match image.config.history() {
        Some(h) if !h.is_empty() => h.clone(),
        _ => image.layers.iter().map(|_| History::default()).collect(),
    }
}

fn now() -> String {
    humantime::format_rfc3339_nanos(SystemTime::now()).to_string()
}

impl Store {
    /// Makes a new, untagged image: `base`'s layers, plus a layer made from the overlay upper
    /// dir `layer_from` when given (whiteouts turned back into `.wh.` files); `config` is the
    /// runtime config to store; one history entry with `created_by` is appended (an
    /// `empty_layer` one when there is no new layer).
    pub fn commit(
        &self,
        base: Option<&ImageInfo>,
        layer_from: Option<&Path>,
        config: Config,
        created_by: &str,
    ) -> Result<ImageInfo> {
        let lock = self.lock_for_blobs()?;
        let mut layers = base.map(|b| b.layers.clone()).unwrap_or_default();
        let mut history = base.map(history_of).unwrap_or_default();
        let created = now();
        let mut step = HistoryBuilder::default()
            .created(created.clone())
            .created_by(created_by);
        match layer_from {
            Some(upper) => layers.push(write_upper_layer(&self.blobs, upper)?),
            None => step = step.empty_layer(true),
        }
        let build_err = |e: oci_spec::OciSpecError| {
            ImageError::Corrupt(format!(
                "building the config of a commit ({created_by}): {e}"
            ))
        };
        history.push(step.build().map_err(build_err)?);
        let rootfs = RootFsBuilder::default()
            .typ("layers")
            .diff_ids(layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>())
            .build()
            .map_err(build_err)?;
        let mut image_config = ImageConfigurationBuilder::default()
            .created(created)
            .config(config)
            .rootfs(rootfs)
            .history(history)
            .build()
            .map_err(build_err)?;
        if let Some(b) = base {
            image_config.set_architecture(b.config.architecture().clone());
            image_config.set_os(b.config.os().clone());
            image_config.set_variant(b.config.variant().clone());
        }
        let manifest =
            self.write_image(&canonical_json(&image_config, "image config")?, &layers)?;
        let manifest = self.register(&lock, &manifest, &[])?;
        let image = self.image(&manifest, self.read_index()?.names_of(&manifest))?;
        if let Some(b) = base {
            self.set_parent(&lock, &image.id, &b.id)?;
        }
        drop(lock);
        Ok(image)
    }
}
