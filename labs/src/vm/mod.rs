//! The VM backend: a fresh Linux VM per scenario, booted with QEMU, the stronger kind of
//! disposable host (DESIGN.md, "Disposable sandboxes").
//!
//! - [`kernel`]: the distribution's kernel package, its `vmlinux` and the module closure;
//! - [`image`]: the guest's initramfs (busybox, the modules, hull, hullrt, hull-lab and their
//!   libraries, an `/init`), written by [`cpio`], cached under a content key;
//! - [`qemu`]: one QEMU process (accelerator probe, hard timeout, killed by its PID, its run
//!   directory removed);
//! - [`guest`]: what runs inside: the *same* runner (`verify`, the lab shell) in the guest's
//!   own sandbox, the report sent back as JSON over virtio-serial, the verdict as QEMU's status;
//! - [`host`]: `verify --vm` and `start --vm` on the host side, `--jobs N` VMs at once.

pub mod cmd;
pub mod cpio;
pub mod guest;
pub mod host;
pub mod image;
pub mod kernel;
pub mod qemu;

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum VmError {
    #[error("vm: cannot {what} {}: {source}", .path.display())]
    Io {
        what: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("vm: cannot {what}{}", if .detail.is_empty() { String::new() } else { format!(":\n{}", .detail.trim_end()) })]
    Tool { what: String, detail: String },
}

pub(crate) fn io_at(what: &str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> VmError + '_ {
    let path = path.as_ref().to_path_buf();
    move |source| VmError::Io {
        what: what.to_owned(),
        path,
        source,
    }
}

/// Runs a helper program to the end; its stdout, or an error with `what` and its stderr.
pub(crate) fn run_tool(cmd: &mut Command, what: &str) -> Result<String, VmError> {
    let prog = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| VmError::Tool {
        what: what.to_owned(),
        detail: format!("{prog}: {e}"),
    })?;
    if !out.status.success() {
        return Err(VmError::Tool {
            what: what.to_owned(),
            detail: format!(
                "{prog} exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Where prepared guests are kept: `$HULL_LAB_VM_CACHE`, else `$XDG_CACHE_HOME/hull-lab/vm`,
/// else `~/.cache/hull-lab/vm`.
pub fn cache_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("HULL_LAB_VM_CACHE") {
        return d;
    }
    env("XDG_CACHE_HOME")
        .or_else(|| env("HOME").map(|h| h.join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/var/cache"))
        .join("hull-lab/vm")
}
