//! `hull save`: an OCI image-layout tarball that also carries Docker's `manifest.json` (and
//! `repositories`), so both `hull load` and `docker load` accept it.
//!
//! Entries, in this order and with fixed metadata (mtime 0, root, 0644/0755): `oci-layout`,
//! `blobs/`, `blobs/sha256/`, the layer blobs, the config, the manifest, `index.json`
//! (annotations `io.containerd.image.name` = `name:tag` and
//! `org.opencontainers.image.ref.name` = the tag, as Docker writes them), `manifest.json`,
//! `repositories`. Saving by id writes no names (as `docker save <id>` does). Every blob is
//! re-verified while it is copied. [`Store::save`] writes a temporary file beside `out` and
//! renames it, so a failed save leaves no partial tarball (and a killed one leaves a note by
//! which the next command removes it: see [`super::leftovers`]).

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde_json::json;

use super::blobs::temp_name;
use super::digest::Sha256Reader;
use super::error::{io_at, ImageError, Result};
use super::index::{canonical_json, REF_NAME};
use super::inspect::split_name;
use super::leftovers::SaveNote;
use super::parse_reference;
use super::store::{Store, OCI_LAYOUT};
use super::unpacked::check;
use super::ImageInfo;

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn blob_path(digest: &str) -> String {
    format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"))
}

impl Store {
    /// Writes the image `reference` names to the file `out` (see the module docs).
    pub fn save(&self, reference: &str, out: &Path) -> Result<()> {
        check_output_path(out)?;
        let file_name = out
            .file_name()
            .map_or("save".into(), |n| n.to_string_lossy());
        let tmp = out.with_file_name(format!(".{file_name}.{}", temp_name("tmp")));
        // Before the temporary exists: the proof, for the next command, that it is ours.
        let note = SaveNote::write(self.blobs.tmp_dir(), &tmp)?;
        let result = (|| {
            let file = File::options()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(io_at("creating", &tmp))?;
            let buf = self.save_to_writer(reference, BufWriter::new(file))?;
            let file = buf
                .into_inner()
                .map_err(|e| io_at("writing", &tmp)(e.into_error()))?;
            file.sync_all().map_err(io_at("syncing", &tmp))?;
            fs::rename(&tmp, out).map_err(io_at("moving the image archive into place at", out))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        drop(note);
        result
    }

    /// Writes the image archive of `reference` to `w` (e.g. stdout); returns `w`.
    pub fn save_to_writer<W: Write>(&self, reference: &str, w: W) -> Result<W> {
        let image = self.resolve(reference)?;
        let name = parse_reference(reference)
            .ok()
            .map(|r| r.full())
            .filter(|n| image.names.contains(n));
        let mut tar = tar::Builder::new(w);
        let werr = |e: io::Error| {
            ImageError::Corrupt(format!("writing the image archive of {reference}: {e}"))
        };
        write_entries(self, &mut tar, &image, name.as_deref()).map_err(|e| match e {
            Entries::Io(e) => werr(e),
            Entries::Store(e) => e,
        })?;
        tar.into_inner().map_err(werr)
    }
}

/// What Docker's client checks of `save -o PATH` before it writes: PATH's directory exists,
/// and PATH, if it exists, is no device (the temporary is renamed over PATH: a device node
/// such as /dev/full would be replaced by a file).
fn check_output_path(out: &Path) -> Result<()> {
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        if fs::metadata(dir).is_err_and(|e| e.kind() == io::ErrorKind::NotFound) {
            return Err(ImageError::OutputPath(format!(
                "directory {:?} does not exist",
                dir.display().to_string()
            )));
        }
    }
    use std::os::unix::fs::FileTypeExt;
    match fs::metadata(out) {
        Ok(m) if m.file_type().is_char_device() || m.file_type().is_block_device() => {
            Err(ImageError::OutputPath(format!(
                "{:?} must be a directory or a regular file: got a device",
                out.display().to_string()
            )))
        }
        _ => Ok(()),
    }
}

enum Entries {
    Io(io::Error),
    Store(ImageError),
}

impl From<io::Error> for Entries {
    fn from(e: io::Error) -> Self {
        Entries::Io(e)
    }
}

impl From<ImageError> for Entries {
    fn from(e: ImageError) -> Self {
        Entries::Store(e)
    }
}

fn write_entries<W: Write>(
    store: &Store,
    tar: &mut tar::Builder<W>,
    image: &ImageInfo,
    name: Option<&str>,
) -> std::result::Result<(), Entries> {
    let add = |tar: &mut tar::Builder<W>, path: &str, bytes: &[u8]| {
        let mut h = header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
        tar.append_data(&mut h, path, bytes)
    };
    add(tar, "oci-layout", OCI_LAYOUT)?;
    for dir in ["blobs", "blobs/sha256"] {
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        tar.append_data(&mut h, dir, io::empty())?;
    }
    let mut written = Vec::<&str>::new();
    for l in &image.layers {
        if written.contains(&l.digest.as_str()) {
            continue;
        }
        let file = store.blobs.open(&l.digest, "layer")?;
        let path = store.blobs.path(&l.digest)?;
        let size = file.metadata().map_err(io_at("reading", &path))?.len();
        let mut hashed = Sha256Reader::new(file);
        let mut h = header(tar::EntryType::Regular, 0o644, size);
        tar.append_data(&mut h, blob_path(&l.digest), &mut hashed)?;
        let (_, digest, _) = hashed.finish();
        check(
            &digest,
            &l.digest,
            &format!("layer blob {} while saving", path.display()),
        )?;
        written.push(&l.digest);
    }
    let config = store.blobs.read_verified(&image.id, "config")?;
    add(tar, &blob_path(&image.id), &config)?;
    let manifest = store
        .blobs
        .read_verified(&image.manifest_digest, "manifest")?;
    add(tar, &blob_path(&image.manifest_digest), &manifest)?;

    let mut desc = json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": image.manifest_digest,
        "size": manifest.len(),
    });
    if let Some(n) = name {
        let (_, tag) = split_name(n);
        desc["annotations"] = json!({ "io.containerd.image.name": n, REF_NAME: tag });
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [desc],
    });
    add(tar, "index.json", &canonical_json(&index, "index.json")?)?;
    let docker = json!([{
        "Config": blob_path(&image.id),
        "RepoTags": name.map(|n| vec![n]),
        "Layers": image.layers.iter().map(|l| blob_path(&l.digest)).collect::<Vec<_>>(),
    }]);
    add(
        tar,
        "manifest.json",
        &canonical_json(&docker, "manifest.json")?,
    )?;
    if let Some(n) = name {
        let (repo, tag) = split_name(n);
        let repos = json!({ repo: { tag: image.id.trim_start_matches("sha256:") } });
        add(
            tar,
            "repositories",
            &canonical_json(&repos, "repositories")?,
        )?;
    }
    tar.finish()?;
    Ok(())
}
