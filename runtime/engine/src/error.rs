//! The engine's errors; each maps to Docker's exit status for `hull` itself.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error("No such object: {0}")]
    NoSuchObject(String),
    #[error("conflict: unable to remove image {image}: container {container} is using it (remove the container first, or use -f)")]
    ImageInUse { image: String, container: String },
    #[error("network driver {0:?} is not supported: hull makes bridge networks")]
    UnsupportedDriver(String),
    #[error(transparent)]
    Flag(#[from] crate::units::FlagError),
    #[error(transparent)]
    Template(#[from] crate::views::TemplateError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Runtime(#[from] hull_oci::Error),
    #[error(transparent)]
    Image(#[from] hull_image::ImageError),
}

impl EngineError {
    /// Docker's codes: 126 the program cannot be executed, 127 it was not found, 125 any
    /// other failure of hull itself.
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::Runtime(hull_oci::Error::Exec { code, .. }) => *code,
            _ => 125,
        }
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;
