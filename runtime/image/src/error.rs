//! The image layer's one error type. Every message names what was being worked on: the file, the
//! reference, the layer and, for tar entries, the entry.

use std::io;
use std::path::{Path, PathBuf};

/// What can go wrong in the image store, with the context a person needs to act on it.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A filesystem operation failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// The action, e.g. "writing blob".
        what: String,
        /// The file or directory it touched.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// No image matches the reference.
    #[error("no such image: {reference}")]
    NotFound {
        /// The reference as given.
        reference: String,
    },

    /// An id prefix matches more than one image.
    #[error("image reference {reference:?} is ambiguous: it matches {count} images")]
    Ambiguous {
        /// The reference as given.
        reference: String,
        /// How many images it matched.
        count: usize,
    },

    /// A reference that breaks Docker's grammar.
    #[error("invalid reference format {reference:?}: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// Which part is at fault and why.
        reason: String,
    },

    /// A layer's tar entry that was refused (hostile or unsupported).
    #[error("layer {layer}: entry {entry:?}: {reason}")]
    Entry {
        /// The layer (digest) being unpacked.
        layer: String,
        /// The entry's name as written in the tar.
        entry: String,
        /// Why it was refused.
        reason: String,
    },

    /// A filesystem error while writing one tar entry.
    #[error("layer {layer}: entry {entry:?}: {what}: {source}")]
    EntryIo {
        /// The layer (digest) being unpacked.
        layer: String,
        /// The entry's name as written in the tar.
        entry: String,
        /// The action.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Content whose sha256 is not the one it is filed under.
    #[error("{what}: digest mismatch: expected {expected}, found {actual}")]
    DigestMismatch {
        /// What was checked (blob, layer, diff id of a layer...).
        what: String,
        /// The digest it should have.
        expected: String,
        /// The digest it has.
        actual: String,
    },

    /// A JSON document that could not be read or written.
    #[error("{what}: {source}")]
    Json {
        /// Which document.
        what: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },

    /// An image archive (`hull load`) that is not usable.
    #[error("image archive {}: {reason}", archive.display())]
    Archive {
        /// The tarball.
        archive: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Store content that is inconsistent (e.g. a manifest whose layers do not match its config).
    #[error("image store: {0}")]
    Corrupt(String),

    /// An operation refused because of the image's state (e.g. removing an image by id that
    /// has several tags, without force).
    /// An archive with nothing in it (an empty standard input), in Docker's words: Docker
    /// looks for the old format's `repositories` last, in the directory it unpacked the
    /// archive into.
    #[error("open {}: no such file or directory", staging.join("repositories").display())]
    NotAnImageArchive { staging: PathBuf },
    /// `save -o` to a path Docker refuses (a device, a missing directory), in its words.
    #[error("failed to save image: invalid output path: {0}")]
    OutputPath(String),
    #[error("conflict: {0}")]
    Conflict(String),

    /// A file in a container's upper dir that cannot be written into a layer.
    #[error("cannot write {} into a layer: {reason}", path.display())]
    Diff {
        /// The file in the upper dir.
        path: PathBuf,
        /// Why.
        reason: String,
    },

    /// A file inside a rootfs or build context that hull refused to read or open.
    #[error("{path} in {label} {}: {reason}", root.display())]
    InRoot {
        /// What the root is ("the rootfs", "the build context").
        label: &'static str,
        /// The root it was resolved in, as the host names it.
        root: PathBuf,
        /// The path inside the root.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The host's busybox cannot be used to make `busybox:latest`.
    #[error("cannot make busybox:latest from {}: {reason}", path.display())]
    Busybox {
        /// The busybox binary looked at.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The image layer's result type.
pub type Result<T> = std::result::Result<T, ImageError>;

/// `map_err` helper: `fs::read(&p).map_err(io_at("reading", &p))?`.
pub(crate) fn io_at(what: &str, path: &Path) -> impl FnOnce(io::Error) -> ImageError {
    let what = what.to_string();
    let path = path.to_path_buf();
    move |source| ImageError::Io { what, path, source }
}

/// `map_err` helper for JSON documents.
pub(crate) fn json_at(
    what: impl std::fmt::Display,
) -> impl FnOnce(serde_json::Error) -> ImageError {
    let what = what.to_string();
    move |source| ImageError::Json { what, source }
}
