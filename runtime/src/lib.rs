//! Hull's engine and binaries, over the runtime library (`hull-oci`), the cgroup managers
//! (`hull-cgroups`) and the image store (`hull-image`).

pub use hull_cgroups as cgroups;
pub use hull_image as image;
pub use hull_oci::{container, error, hooks, init, log, signal, spec, state, sys};

pub mod engine;

pub use error::{Error, Result};
