//! Shared by the labs' integration tests: they drive the real kernel and the built `hull`.
#![allow(dead_code)]

pub mod pty;

use std::path::PathBuf;

/// The built `hull` (`cargo build --workspace --bins` makes it next to the test binaries).
pub fn hull() -> PathBuf {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the labs' tests need root (namespaces, mounts, cgroups): run them as root"
    );
    hull_lab::sandbox::find_hull().unwrap_or_else(|e| panic!("{e}"))
}

pub fn scenario(id: &str) -> hull_lab::schema::Scenario {
    hull_lab::load::embedded()
        .expect("the embedded scenarios load")
        .into_iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no embedded scenario {id}"))
}

/// A lab that needs hull's networking found none in its sandbox: a test must fail then, not
/// skip (a skip reads as a pass in CI). The machines the tests run on have what it takes.
pub fn no_networking(what: &str, why: &str) -> ! {
    panic!(
        "{what}: no networking in the sandbox: {why}. This test needs it, and fails rather than skip: \
         iproute2 (ip) and nftables (nft) installed, and a hull built with it"
    )
}
