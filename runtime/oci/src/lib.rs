//! Hull's OCI runtime library: the library `hullrt` is made of.
//!
//! The layers, bottom up (see `shared/DESIGN.md`):
//! - `sys` (private): thin wrappers over syscalls and kernel files; every error names what it
//!   touched. What a layer above needs of them, [`host`] offers under a name that says what it
//!   does.
//! - cgroups come from the `hull-cgroups` crate: one manager interface, a v1 and a v2
//!   implementation.
//! - [`spec`], [`state`], [`hooks`], [`signal`]: the OCI data the lifecycle works on.
//! - [`init`]: what runs inside the new namespaces, up to the `execve` of the user's program.
//! - [`container`]: the lifecycle verbs, one per file, that the `hullrt` binary calls.

use hull_cgroups as cgroups;

pub mod container;
pub mod error;
pub mod hooks;
pub mod host;
pub mod init;
pub mod log;
pub mod seccomp;
pub mod signal;
pub mod spec;
pub mod state;
mod sys;

pub use error::{Error, Result};
