//! Kernel-facing wrappers: each does one thing and names what it touched in its error.

pub mod chan;
pub mod fs;
pub mod mount;
pub mod ns;
pub mod process;
pub mod pty;
pub mod sealed;
pub mod signals;
