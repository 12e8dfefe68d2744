//! `hull load`: images from `docker save` tarballs and from OCI image-layout tarballs.
//!
//! The tarball (plain or gzip) is read once: each regular file is copied into a staging
//! directory under `images/tmp/` while hashed, symlinks and hardlinks between archive paths are
//! remembered; nothing is written anywhere by the archive's own paths. Then:
//! - with `manifest.json` (Docker's format, old `<id>/layer.tar` and new `blobs/sha256/…`
//!   layouts alike): each entry's `Config`, `Layers` and `RepoTags` are used;
//! - else with `index.json` (OCI layout): each manifest (nested indexes: the host's platform,
//!   or the first) is used, names from `io.containerd.image.name` or
//!   `org.opencontainers.image.ref.name`; every `blobs/sha256/<hex>` must hash to its name.
//!
//! Names are normalised as [`parse_reference`] does (`docker.io/library/x` → `x:latest`); an
//! invalid one fails the load, naming it.
//!
//! Layers are kept as they are (plain tar or gzip, told by magic bytes); their diff ids are
//! computed and must equal the config's `rootfs.diff_ids`. Manifests are rewritten in OCI form,
//! so the image id (the config digest) is kept while the manifest digest may change.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

use oci_spec::image::{Arch, ImageConfiguration, ImageIndex, ImageManifest, MediaType, Os};
use serde::Deserialize;

use super::digest::{Sha256Reader, Sha256Writer};
use super::error::{io_at, ImageError, Result};
use super::parse_reference;
use super::rootfs::{kind_name, Root, Scope};
use super::store::Store;
use super::unpacked::{sniff, Compression, Decoded, TempDir};
use super::LayerInfo;

/// One entry of Docker's `manifest.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// A regular file of the archive, staged and hashed.
#[derive(Debug, Clone)]
struct Staged {
    file: PathBuf,
    digest: String,
}

/// The archive's content, by normalised archive path.
struct Staging {
    archive: PathBuf,
    dir: TempDir,
    files: HashMap<String, Staged>,
    links: HashMap<String, String>,
}

/// Normalises an archive path lexically (`./a/../b` → `b`); it is only ever a lookup key.
fn norm(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join("/")
}

impl Staging {
    /// Reads the archive `input`; `archive` names it in errors.
    fn read<R: Read>(input: R, archive: &Path, tmp: &Path) -> Result<Staging> {
        let bad = |reason: String| ImageError::Archive {
            archive: archive.to_path_buf(),
            reason,
        };
        let decoded = Decoded::new(
            BufReader::new(input),
            &format!("image archive {}", archive.display()),
        )?;
        let mut staging = Staging {
            archive: archive.to_path_buf(),
            dir: TempDir::create(tmp, "load")?,
            files: HashMap::new(),
            links: HashMap::new(),
        };
        let mut tar = tar::Archive::new(decoded);
        let entries = tar
            .entries()
            .map_err(|e| bad(format!("reading the tar: {e}")))?;
        for (n, entry) in entries.enumerate() {
            let mut entry = entry.map_err(|e| bad(format!("reading the tar: {e}")))?;
            let path = norm(&String::from_utf8_lossy(&entry.path_bytes()));
            let kind = entry.header().entry_type();
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned());
            match (kind, link) {
                (tar::EntryType::Regular | tar::EntryType::Continuous, _) => {
                    let file = staging.dir.path.join(n.to_string());
                    let out = File::create(&file).map_err(io_at("staging", &file))?;
                    let mut w = Sha256Writer::new(out);
                    io::copy(&mut entry, &mut w)
                        .map_err(|e| bad(format!("reading {path}: {e}")))?;
                    let (_, digest, _) = w.finish();
                    staging.files.insert(path, Staged { file, digest });
                }
                (tar::EntryType::Symlink, Some(target)) => {
                    let parent = Path::new(&path)
                        .parent()
                        .map(|p| p.to_string_lossy().into_owned());
                    let joined = format!("{}/{target}", parent.unwrap_or_default());
                    staging.links.insert(path, norm(&joined));
                }
                (tar::EntryType::Link, Some(target)) => {
                    staging.links.insert(path, norm(&target));
                }
                _ => {}
            }
        }
        Ok(staging)
    }

    /// Stages an image layout *directory*: its top-level documents and `blobs/sha256/*`, each
    /// opened below the directory (`RESOLVE_BENEATH`, the last component not followed) and
    /// copied only when it is a regular file. A symlink, a FIFO or a device in their place is
    /// refused by name, never opened; nothing else of the directory is read.
    fn from_dir(dir: &Path, tmp: &Path) -> Result<Staging> {
        let root = Root::open(dir, "the image directory")?;
        let mut staging = Staging {
            archive: dir.to_path_buf(),
            dir: TempDir::create(tmp, "load")?,
            files: HashMap::new(),
            links: HashMap::new(),
        };
        let mut paths: Vec<String> = ["oci-layout", "index.json", "manifest.json"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let blobs = "blobs/sha256";
        match root.open_at(
            Path::new(blobs),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
            Scope::Beneath,
        ) {
            Ok(fd) => {
                let listing = format!("/proc/self/fd/{}", fd.as_raw_fd());
                let mut names: Vec<String> = fs::read_dir(&listing)
                    .map_err(io_at("listing", &dir.join(blobs)))?
                    .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect::<io::Result<_>>()
                    .map_err(io_at("listing", &dir.join(blobs)))?;
                names.sort();
                paths.extend(names.into_iter().map(|n| format!("{blobs}/{n}")));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(staging.bad(format!("{blobs}: {e}"))),
        }
        for (n, path) in paths.into_iter().enumerate() {
            let fd = match root.open_at(
                Path::new(&path),
                OFlag::O_PATH | OFlag::O_NOFOLLOW,
                Scope::Beneath,
            ) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                Err(e) => return Err(staging.bad(format!("{path}: {e}"))),
            };
            let meta = File::from(
                fd.try_clone()
                    .map_err(io_at("examining", &dir.join(&path)))?,
            )
            .metadata()
            .map_err(io_at("examining", &dir.join(&path)))?;
            if !meta.is_file() {
                return Err(staging.bad(format!(
                    "{path} is {}, not a regular file: refusing to read it",
                    kind_name(&meta.file_type())
                )));
            }
            let mut input = File::open(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                .map_err(io_at("reading", &dir.join(&path)))?;
            let file = staging.dir.path.join(n.to_string());
            let out = File::create(&file).map_err(io_at("staging", &file))?;
            let mut w = Sha256Writer::new(out);
            io::copy(&mut input, &mut w)
                .map_err(|e| staging.bad(format!("reading {path}: {e}")))?;
            let (_, digest, _) = w.finish();
            staging.files.insert(path, Staged { file, digest });
        }
        Ok(staging)
    }

    fn bad(&self, reason: String) -> ImageError {
        ImageError::Archive {
            archive: self.archive.clone(),
            reason,
        }
    }

    fn get(&self, path: &str) -> Result<&Staged> {
        let mut p = norm(path);
        for _ in 0..16 {
            if let Some(s) = self.files.get(&p) {
                return Ok(s);
            }
            match self.links.get(&p) {
                Some(next) => p = next.clone(),
                None => break,
            }
        }
        Err(ImageError::Archive {
            archive: self.archive.clone(),
            reason: format!("it has no file {path:?}"),
        })
    }

    fn read_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<(T, Staged)> {
        let staged = self.get(path)?.clone();
        let bytes = fs::read(&staged.file).map_err(io_at("reading staged", &staged.file))?;
        let value = serde_json::from_slice(&bytes).map_err(|e| ImageError::Archive {
            archive: self.archive.clone(),
            reason: format!("{path}: {e}"),
        })?;
        Ok((value, staged))
    }

    /// `blobs/sha256/<hex>` of an OCI layout, checked against its name.
    fn blob(&self, digest: &str) -> Result<&Staged> {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        let staged = self.get(&format!("blobs/sha256/{hex}"))?;
        if staged.digest != digest {
            return Err(ImageError::DigestMismatch {
                what: format!("blob {digest} in image archive {}", self.archive.display()),
                expected: digest.to_string(),
                actual: staged.digest.clone(),
            });
        }
        Ok(staged)
    }
}

impl Store {
    /// Loads every image of a `docker save` or OCI-layout tarball; returns the loaded
    /// `name:tag`s (the id for an image without names).
    pub fn load(&self, tarball: &Path) -> Result<Vec<String>> {
        let file = File::open(tarball).map_err(io_at("opening", tarball))?;
        self.load_from_reader(file, tarball)
    }

    /// Like [`Store::load`], reading the archive from `input` (e.g. stdin); `shown_as` names it
    /// in errors.
    pub fn load_from_reader<R: Read>(&self, input: R, shown_as: &Path) -> Result<Vec<String>> {
        let staging = Staging::read(input, shown_as, self.blobs.tmp_dir())?;
        self.load_staged(staging)
    }

    /// Loads the images of an OCI image-layout directory (`hull load -i DIR`), reading only
    /// its regular files below it (see `Staging::from_dir`).
    pub fn load_dir(&self, dir: &Path) -> Result<Vec<String>> {
        let staging = Staging::from_dir(dir, self.blobs.tmp_dir())?;
        self.load_staged(staging)
    }

    fn load_staged(&self, staging: Staging) -> Result<Vec<String>> {
        let tarball = staging.archive.clone();
        let tarball = tarball.as_path();
        let mut wanted: Vec<(Staged, Vec<Staged>, Vec<String>)> = Vec::new();
        if staging.get("manifest.json").is_ok() {
            let (entries, _) = staging.read_json::<Vec<DockerEntry>>("manifest.json")?;
            for e in entries {
                let config = staging.get(&e.config)?.clone();
                let layers = e
                    .layers
                    .iter()
                    .map(|l| staging.get(l).cloned())
                    .collect::<Result<_>>()?;
                wanted.push((config, layers, e.repo_tags.unwrap_or_default()));
            }
        } else if staging.get("index.json").is_ok() {
            let (index, _) = staging.read_json::<ImageIndex>("index.json")?;
            for d in index.manifests() {
                let names = names_of(d.annotations().as_ref());
                let manifest = pick_manifest(&staging, d.digest().as_ref(), d.media_type())?;
                let config = staging.blob(manifest.config().digest().as_ref())?.clone();
                let layers = manifest
                    .layers()
                    .iter()
                    .map(|l| staging.blob(l.digest().as_ref()).cloned())
                    .collect::<Result<_>>()?;
                wanted.push((config, layers, names));
            }
        } else if staging.files.is_empty() && staging.links.is_empty() {
            // Nothing at all (`hull load < /dev/null`): Docker's words. An archive with
            // something in it is named in hull's own message below.
            return Err(ImageError::NotAnImageArchive {
                staging: staging.dir.path.clone(),
            });
        } else {
            return Err(ImageError::Archive {
                archive: tarball.to_path_buf(),
                reason: "it has neither manifest.json (docker save) nor index.json (OCI layout)"
                    .into(),
            });
        }
        // Every name is checked before anything is imported.
        let mut checked = Vec::with_capacity(wanted.len());
        for (config, layers, names) in wanted {
            let names = names
                .iter()
                .map(|n| parse_reference(n).map(|r| r.full()))
                .collect::<Result<Vec<_>>>()?;
            checked.push((config, layers, names));
        }
        let mut loaded = Vec::new();
        for (config, layers, names) in checked {
            loaded.extend(self.import(&staging, &config, &layers, &names)?);
        }
        Ok(loaded)
    }

    fn import(
        &self,
        staging: &Staging,
        config: &Staged,
        layers: &[Staged],
        names: &[String],
    ) -> Result<Vec<String>> {
        let config_bytes = fs::read(&config.file).map_err(io_at("reading staged", &config.file))?;
        let parsed: ImageConfiguration =
            serde_json::from_slice(&config_bytes).map_err(|e| ImageError::Archive {
                archive: staging.archive.clone(),
                reason: format!("image config {}: {e}", config.digest),
            })?;
        let diff_ids = parsed.rootfs().diff_ids();
        if diff_ids.len() != layers.len() {
            return Err(ImageError::Archive {
                archive: staging.archive.clone(),
                reason: format!(
                    "image {} lists {} layers but its config has {} diff ids",
                    config.digest,
                    layers.len(),
                    diff_ids.len()
                ),
            });
        }
        let lock = self.lock_for_blobs()?;
        let mut infos = Vec::new();
        for (staged, expected) in layers.iter().zip(diff_ids) {
            let what = format!(
                "layer {} of image archive {}",
                staged.digest,
                staging.archive.display()
            );
            let mut r = BufReader::new(
                File::open(&staged.file).map_err(io_at("reading staged", &staged.file))?,
            );
            let (diff_id, media) = match sniff(&mut r, &what)? {
                Compression::None => (staged.digest.clone(), MediaType::ImageLayer),
                Compression::Gzip => {
                    let d = Sha256Reader::new(Decoded::new(r, &what)?);
                    let (d, _) = d
                        .drain()
                        .map_err(|e| ImageError::Corrupt(format!("reading {what}: {e}")))?;
                    (d, MediaType::ImageLayerGzip)
                }
            };
            super::unpacked::check(&diff_id, expected, &format!("{what}: diff id"))?;
            let size = fs::metadata(&staged.file)
                .map_err(io_at("reading staged", &staged.file))?
                .len();
            self.blobs.adopt_link(&staged.file, &staged.digest)?;
            infos.push(LayerInfo {
                digest: staged.digest.clone(),
                diff_id,
                size,
                media_type: media.to_string(),
            });
        }
        let manifest = self.write_image(&config_bytes, &infos)?;
        self.register(&lock, &manifest, names)?;
        Ok(if names.is_empty() {
            vec![config.digest.clone()]
        } else {
            names.to_vec()
        })
    }
}

/// Names from an OCI index descriptor's annotations; a name without a tag gets `:latest`.
fn names_of(a: Option<&HashMap<String, String>>) -> Vec<String> {
    let name = a.and_then(|a| {
        a.get("io.containerd.image.name")
            .or_else(|| a.get(super::index::REF_NAME))
    });
    match name {
        Some(n) => vec![n.clone()], // normalised (or refused) with the others in `load`
        None => vec![],
    }
}

/// The image manifest behind an index descriptor (descending into nested indexes).
fn pick_manifest(staging: &Staging, digest: &str, media: &MediaType) -> Result<ImageManifest> {
    let blob = staging.blob(digest)?;
    let bytes = fs::read(&blob.file).map_err(io_at("reading staged", &blob.file))?;
    let bad = |e: serde_json::Error| ImageError::Archive {
        archive: staging.archive.clone(),
        reason: format!("manifest {digest}: {e}"),
    };
    let is_index = matches!(media, MediaType::ImageIndex)
        || media.to_string() == "application/vnd.docker.distribution.manifest.list.v2+json";
    if !is_index {
        return serde_json::from_slice(&bytes).map_err(bad);
    }
    let index: ImageIndex = serde_json::from_slice(&bytes).map_err(bad)?;
    let host = |d: &&oci_spec::image::Descriptor| {
        d.platform()
            .as_ref()
            .is_some_and(|p| *p.architecture() == Arch::default() && *p.os() == Os::Linux)
    };
    let chosen = index
        .manifests()
        .iter()
        .find(host)
        .or_else(|| index.manifests().first());
    match chosen {
        Some(d) => pick_manifest(staging, d.digest().as_ref(), d.media_type()),
        None => Err(ImageError::Archive {
            archive: staging.archive.clone(),
            reason: format!("index {digest} lists no manifests"),
        }),
    }
}
