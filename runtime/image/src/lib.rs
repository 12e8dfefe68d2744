//! Hull's image layer: an OCI image-layout store, layers unpacked once for overlayfs, and the
//! conversions in and out (`docker save` / OCI tarballs, commits from a container's upper dir).
//!
//! On disk, under `HULL_ROOT` (default `/var/lib/hull`):
//! - `images/` is an OCI image layout: `oci-layout`, `index.json`, `blobs/sha256/<hex>`. Names
//!   live in `index.json`, one descriptor per name with the annotation
//!   `org.opencontainers.image.ref.name` ([`REF_NAME`]) = the full `name:tag`; an untagged
//!   image has a descriptor without it. `images/tmp/` holds in-flight writes, `images/lock`
//!   serialises every change to `index.json`.
//! - `layers/<diff id hex>/` is one unpacked layer, with overlayfs whiteouts (see [`whiteout`]);
//!   `layers/.tmp-*` and `layers/.trash-*` are layers being unpacked or removed.
//! - `l/<16 hex>` is a short link to a layer directory, for overlay mounts (see [`LINK_DIR`]).
//!
//! Every temporary name carries its maker's owner tag ([`owner`]): opening the store removes
//! those whose maker has ended (a killed `hull load`, `build`, `rmi`…), and what they point to:
//! blobs a killed writer never listed, a killed `save -o`'s temporary (see [`leftovers`]).
//!
//! An image's id is `sha256:` + the digest of its config blob, as with Docker.

mod blobs;
mod busybox;
mod changes;
mod commit;
mod diff;
mod digest;
mod entry_meta;
mod error;
mod index;
mod inspect;
mod layer;
mod leftovers;
mod links;
mod load;
pub mod owner;
mod parents;
mod reference;
mod remove;
pub mod rootfs;
mod save;
mod store;
mod unpacked;
pub mod whiteout;

#[cfg(test)]
mod tests;

pub use busybox::DEFAULT_PATH;
pub use changes::diff_changes;
pub use error::{ImageError, Result};
pub use index::REF_NAME;
pub use links::LINK_DIR;
pub use reference::{parse_reference, Reference, DEFAULT_TAG};
pub use remove::Removal;
pub use store::Store;

use oci_spec::image::ImageConfiguration;
use serde::Serialize;

/// One image as the store knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    /// `sha256:<config digest hex>`.
    pub id: String,
    /// Its `name:tag`s, possibly none.
    pub names: Vec<String>,
    /// The digest of its manifest blob.
    pub manifest_digest: String,
    /// Its config (runtime config, rootfs diff ids, history).
    pub config: ImageConfiguration,
    /// Its layers, bottom first.
    pub layers: Vec<LayerInfo>,
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerInfo {
    /// The digest of the blob as stored (compressed or not).
    pub digest: String,
    /// The digest of the uncompressed tar; names the unpacked directory.
    pub diff_id: String,
    /// The blob's size in bytes.
    pub size: u64,
    /// The blob's media type (`application/vnd.oci.image.layer.v1.tar+gzip` or `…tar`).
    pub media_type: String,
}

/// One row of `hull images`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageSummary {
    /// The name without its tag, or `<none>`.
    pub repository: String,
    /// The tag, or `<none>`.
    pub tag: String,
    /// `sha256:<hex>`.
    pub id: String,
    /// RFC 3339 creation time from the config.
    pub created: Option<String>,
    /// The sum of the layer blobs' sizes (as stored, compressed when gzip).
    pub size: u64,
    /// An untagged image that other images were made from (a build's intermediate step):
    /// `hull images` hides it unless `-a`, as Docker does.
    pub intermediate: bool,
}

/// One row of `hull history`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// The command that made the step ("" when unknown).
    pub created_by: String,
    /// RFC 3339 time of the step.
    pub created: Option<String>,
    /// The size of the step's layer blob; 0 for an empty layer.
    pub size: u64,
    /// True when the step changed only the config.
    pub empty_layer: bool,
    /// A comment recorded with the step ("" when none).
    pub comment: String,
}

/// Unpack one layer's (uncompressed) tar stream into `root`, as [`Store::layer_dirs`] does for
/// each layer: OCI whiteouts become overlayfs whiteouts, hostile entries are refused by name.
/// `name` labels the layer in error messages.
pub fn unpack_layer<R: std::io::Read>(reader: R, root: &std::path::Path, name: &str) -> Result<()> {
    layer::unpack_tar(reader, root, name).map(drop)
}
