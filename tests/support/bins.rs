//! The binaries under test, and the one precondition of the whole suite: root.

use std::path::PathBuf;

/// Environment variable naming the OCI runtime binary under test.
pub const RUNTIME_ENV: &str = "HULL_OCI_RUNTIME";

/// The suite creates namespaces, mounts, overlays and cgroups: it needs root. Panics with a
/// clear message otherwise.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the conformance suite needs root (namespaces, mounts, overlays, cgroups): run it as root"
    );
}

/// A binary of the workspace, built by cargo next to the test executable
/// (`target/<profile>/NAME`). Binaries of other packages have no `CARGO_BIN_EXE_*` variable
/// here, so this is where they are.
pub fn built_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("cannot find the test executable's path");
    let mut dir = exe
        .parent()
        .expect("the test executable has no parent directory")
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{name} not found at {}: build it first with `cargo build --workspace --bins` \
         (plain `cargo test` does not build the runtime crates' binaries)",
        bin.display()
    );
    bin
}

/// The built `hullrt` (whatever `$HULL_OCI_RUNTIME` says).
pub fn hullrt_bin() -> PathBuf {
    built_binary("hullrt")
}

/// The built `hull`.
pub fn hull_bin() -> PathBuf {
    built_binary("hull")
}

/// The OCI runtime under test: `$HULL_OCI_RUNTIME`, else the built `hullrt`.
pub fn runtime_bin() -> PathBuf {
    match std::env::var_os(RUNTIME_ENV) {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "{RUNTIME_ENV}={} does not name a file (it must be the path of a runc-compatible runtime binary)",
                p.display()
            );
            p
        }
        _ => hullrt_bin(),
    }
}

/// A program on `PATH`, or in the sbin directories that a non-root `PATH` (or sudo's) may
/// leave out.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
