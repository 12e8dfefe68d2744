//! The store: opening it, reading images out of it, resolving references, names.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageConfiguration, ImageManifest, MediaType, SCHEMA_VERSION};

use super::blobs::Blobs;
use super::digest::is_hex;
use super::error::{io_at, json_at, ImageError, Result};
use super::index::{canonical_json, oci_digest, write_atomic, Index, StoreLock};
use super::leftovers;
use super::reference::parse_reference;
use super::unpacked::ensure_unpacked;
use super::{ImageInfo, LayerInfo};

/// The name `resolve` makes on first use.
pub(crate) const BUSYBOX: &str = "busybox:latest";

/// The content of an image layout's `oci-layout` file.
pub(crate) const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The image store of one `HULL_ROOT`.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    images: PathBuf,
    layers: PathBuf,
    pub(crate) blobs: Blobs,
}

impl Store {
    /// Opens (creating if missing) the store under `hull_root`.
    pub fn open(hull_root: &Path) -> Result<Store> {
        let images = hull_root.join("images");
        let layers = hull_root.join("layers");
        let blob_dir = images.join("blobs").join("sha256");
        let tmp = images.join("tmp");
        let links = hull_root.join(super::LINK_DIR);
        for d in [&blob_dir, &tmp, &layers, &links] {
            fs::create_dir_all(d).map_err(io_at("creating", d))?;
        }
        let store = Store {
            root: hull_root.to_path_buf(),
            layers,
            blobs: Blobs::new(blob_dir, tmp),
            images,
        };
        store.sweep_stale_temporaries();
        let layout = store.images.join("oci-layout");
        if !layout.exists() {
            let lock = store.lock()?;
            write_atomic(&layout, store.blobs.tmp_dir(), OCI_LAYOUT)?;
            if !store.index_path().exists() {
                Index::default().write(&store.index_path(), store.blobs.tmp_dir(), &lock)?;
            }
        }
        Ok(store)
    }

    /// Removes what killed writers left: files and directories under `images/tmp/`, and
    /// `layers/.tmp-*` (an unpack) and `layers/.trash-*` (a removal), whose maker has ended
    /// (see [`super::owner`]), with what their notes and markers point to outside
    /// `images/tmp/` (see [`leftovers`]). Names without an owner tag (older versions) go when
    /// older than a day.
    fn sweep_stale_temporaries(&self) {
        let day = std::time::Duration::from_secs(24 * 3600);
        let old = |p: &Path| {
            fs::symlink_metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > day))
        };
        let mut markers = Vec::new();
        for (dir, only_dot) in [(self.blobs.tmp_dir(), false), (self.layers.as_path(), true)] {
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let temp = !only_dot || name.starts_with(".tmp-") || name.starts_with(".trash-");
                let dead = super::owner::left_by_dead_process(&name);
                let stale = dead || (super::owner::tag_in(&name).is_none() && old(&e.path()));
                if !temp || !stale {
                    continue;
                }
                if !only_dot && dead && name.starts_with(leftovers::BLOBS_MARKER) {
                    markers.push(e.path());
                    continue;
                }
                if !only_dot && dead && name.starts_with(leftovers::SAVE_NOTE) {
                    leftovers::sweep_note(&e.path());
                }
                let _ = fs::remove_dir_all(e.path()).or_else(|_| fs::remove_file(e.path()));
            }
        }
        // A writer killed between writing blobs and listing them: the markers go once the
        // blobs no image refers to are gone (later, if a live writer holds the lock now).
        if !markers.is_empty() && self.remove_unreferenced_blobs().unwrap_or(false) {
            for m in markers {
                let _ = fs::remove_file(m);
            }
        }
    }

    /// The `HULL_ROOT` this store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The store's directory for in-flight work (`HULL_ROOT/images/tmp`): what a killed
    /// command leaves there is swept when the store opens.
    pub fn tmp_dir(&self) -> &Path {
        self.blobs.tmp_dir()
    }

    /// The OCI image layout directory (`HULL_ROOT/images`).
    pub fn layout_dir(&self) -> &Path {
        &self.images
    }

    pub(crate) fn index_path(&self) -> PathBuf {
        self.images.join("index.json")
    }

    pub(crate) fn layers_dir(&self) -> &Path {
        &self.layers
    }

    pub(crate) fn lock(&self) -> Result<StoreLock> {
        StoreLock::acquire(&self.images.join("lock"))
    }

    pub(crate) fn read_index(&self) -> Result<Index> {
        Index::read(&self.index_path())
    }

    pub(crate) fn write_index(&self, index: &Index, lock: &StoreLock) -> Result<()> {
        index.write(&self.index_path(), self.blobs.tmp_dir(), lock)
    }

    /// Reads (and verifies) a manifest blob.
    pub(crate) fn manifest(&self, digest: &str) -> Result<ImageManifest> {
        let bytes = self.blobs.read_verified(digest, "manifest")?;
        serde_json::from_slice(&bytes).map_err(json_at(format!("manifest {digest}")))
    }

    /// The image whose manifest is `manifest_digest`, with `names`.
    pub(crate) fn image(&self, manifest_digest: &str, names: Vec<String>) -> Result<ImageInfo> {
        let manifest = self.manifest(manifest_digest)?;
        let id = manifest.config().digest().to_string();
        let bytes = self.blobs.read_verified(&id, "config")?;
        let config: ImageConfiguration =
            serde_json::from_slice(&bytes).map_err(json_at(format!("image config {id}")))?;
        let diff_ids = config.rootfs().diff_ids();
        if diff_ids.len() != manifest.layers().len() {
            return Err(ImageError::Corrupt(format!(
                "image {id}: the manifest {manifest_digest} lists {} layers but the config has {} \
                 diff ids",
                manifest.layers().len(),
                diff_ids.len()
            )));
        }
        let layers = manifest
            .layers()
            .iter()
            .zip(diff_ids)
            .map(|(d, diff_id)| LayerInfo {
                digest: d.digest().to_string(),
                diff_id: diff_id.clone(),
                size: d.size(),
                media_type: d.media_type().to_string(),
            })
            .collect();
        Ok(ImageInfo {
            id,
            names,
            manifest_digest: manifest_digest.to_string(),
            config,
            layers,
        })
    }

    /// Every image in the store, each once (in index order).
    pub(crate) fn all_images(&self, index: &Index) -> Result<Vec<ImageInfo>> {
        index
            .manifests()
            .into_iter()
            .map(|(m, _)| self.image(&m, index.names_of(&m)))
            .collect()
    }

    /// The image named exactly `name` (`name:tag`), if any.
    pub(crate) fn by_name(&self, index: &Index, name: &str) -> Result<Option<ImageInfo>> {
        match index.manifest_named(name) {
            Some(m) => Ok(Some(self.image(&m, index.names_of(&m))?)),
            None => Ok(None),
        }
    }

    /// Resolves a reference: `name`, `name:tag`, `name@sha256:…` (manifest digest),
    /// `sha256:<hex>` or a unique id prefix of at least 4 hex digits. `busybox[:latest]` is
    /// made from the host's busybox on first use.
    pub fn resolve(&self, reference: &str) -> Result<ImageInfo> {
        match self.find(reference)? {
            Some(image) => Ok(image),
            None if parse_reference(reference).is_ok_and(|r| r.full() == BUSYBOX) => {
                self.ensure_busybox()
            }
            None => Err(ImageError::NotFound {
                reference: reference.to_string(),
            }),
        }
    }

    /// Like [`Store::resolve`] but never creates anything; `None` when nothing matches.
    pub(crate) fn find(&self, reference: &str) -> Result<Option<ImageInfo>> {
        let index = self.read_index()?;
        if let Some(hex) = reference.strip_prefix("sha256:") {
            if hex.len() >= 4 && hex.len() <= 64 && is_hex(hex) {
                return self.by_id_prefix(&index, reference, hex);
            }
            return Err(ImageError::InvalidReference {
                reference: reference.to_string(),
                reason: "an id must be sha256: followed by 4 to 64 lowercase hex digits".into(),
            });
        }
        let parsed = parse_reference(reference);
        if let Ok(r) = &parsed {
            if let Some(digest) = &r.digest {
                let hit = index.manifests().into_iter().find(|(m, _)| m == digest);
                return match hit {
                    Some((m, _)) => Ok(Some(self.image(&m, index.names_of(&m))?)),
                    None => Ok(None),
                };
            }
            if let Some(image) = self.by_name(&index, &r.full())? {
                return Ok(Some(image));
            }
        }
        if reference.len() >= 4 && reference.len() <= 64 && is_hex(reference) {
            return self.by_id_prefix(&index, reference, reference);
        }
        parsed.map(|_| None)
    }

    fn by_id_prefix(&self, index: &Index, reference: &str, hex: &str) -> Result<Option<ImageInfo>> {
        let mut hits = Vec::new();
        for (m, _) in index.manifests() {
            let config = self.manifest(&m)?.config().digest().to_string();
            if config
                .strip_prefix("sha256:")
                .is_some_and(|h| h.starts_with(hex))
            {
                hits.push(m);
            }
        }
        match hits.as_slice() {
            [] => Ok(None),
            [m] => Ok(Some(self.image(m, index.names_of(m))?)),
            _ => Err(ImageError::Ambiguous {
                reference: reference.to_string(),
                count: hits.len(),
            }),
        }
    }

    /// The unpacked layer directories of `image`, bottom layer first, unpacking as needed.
    ///
    /// A layer that occurs more than once (Docker images may repeat, e.g., an empty layer) is
    /// listed once, at its topmost position: overlayfs refuses the same lower dir twice
    /// (ELOOP), and since the top occurrence decides every path the layer has, the merged view
    /// is the same.
    pub fn layer_dirs(&self, image: &ImageInfo) -> Result<Vec<PathBuf>> {
        let mut dirs: Vec<PathBuf> = Vec::with_capacity(image.layers.len());
        for l in image.layers.iter().rev() {
            let dir = ensure_unpacked(&self.blobs, &self.layers, l)?;
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        dirs.reverse();
        Ok(dirs)
    }

    /// Gives `image` the name `name` (`name` alone means `name:latest`); the name moves if
    /// another image had it.
    pub fn tag(&self, image: &ImageInfo, name: &str) -> Result<()> {
        let r = parse_reference(name)?;
        if r.digest.is_some() {
            return Err(ImageError::InvalidReference {
                reference: name.to_string(),
                reason: "a tag cannot contain a digest (@sha256:…)".into(),
            });
        }
        let lock = self.lock()?;
        self.register(&lock, &image.manifest_digest, &[r.full()])?;
        Ok(())
    }

    /// Lists the manifest `manifest_digest` in the index under `names` (moving them), or
    /// untagged when `names` is empty. If an image with the same id (config) is already there
    /// under another manifest, that manifest is kept and named instead. Returns the manifest
    /// digest that now carries the names.
    pub(crate) fn register(
        &self,
        lock: &StoreLock,
        manifest_digest: &str,
        names: &[String],
    ) -> Result<String> {
        let mut index = self.read_index()?;
        let id = self
            .manifest(manifest_digest)?
            .config()
            .digest()
            .to_string();
        let mut target = manifest_digest.to_string();
        for (m, _) in index.manifests() {
            if m != manifest_digest && self.manifest(&m)?.config().digest().as_ref() == id {
                target = m;
                break;
            }
        }
        let size = fs::metadata(self.blobs.path(&target)?)
            .map_err(io_at(
                "reading the size of manifest",
                &self.blobs.path(&target)?,
            ))?
            .len();
        if target != manifest_digest && !index.entries.iter().any(|e| e.manifest == manifest_digest)
        {
            self.blobs.remove(manifest_digest)?; // a duplicate of an image already here
        }
        for name in names {
            index.set_name(name, &target, size);
        }
        index.ensure_listed(&target, size);
        self.write_index(&index, lock)?;
        Ok(target)
    }

    /// Writes a config blob and a manifest blob for `layers`; returns the manifest digest.
    pub(crate) fn write_image(&self, config_bytes: &[u8], layers: &[LayerInfo]) -> Result<String> {
        let (config_digest, config_size) = self.blobs.write_bytes(config_bytes)?;
        let config = Descriptor::new(
            MediaType::ImageConfig,
            config_size,
            oci_digest(&config_digest)?,
        );
        let mut descs = Vec::with_capacity(layers.len());
        for l in layers {
            let media = MediaType::from(l.media_type.as_str());
            descs.push(Descriptor::new(media, l.size, oci_digest(&l.digest)?));
        }
        let mut manifest: ImageManifest = serde_json::from_value(serde_json::json!({
            "schemaVersion": SCHEMA_VERSION,
            "config": config,
            "layers": descs,
        }))
        .map_err(json_at("building a manifest"))?;
        manifest.set_media_type(Some(MediaType::ImageManifest));
        let bytes = canonical_json(&manifest, "manifest")?;
        Ok(self.blobs.write_bytes(&bytes)?.0)
    }
}
