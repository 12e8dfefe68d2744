//! Shared by the labs' integration tests: they drive the real kernel and the built `hull`.
#![allow(dead_code)]

pub mod pty;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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

/// `hull-lab` with a private state directory, the built `hull`, no colour, and none of the
/// variables a lab or drill shell sets (the test may itself run inside one).
pub fn lab_cmd(state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hull-lab"));
    c.env("HULL_LAB_STATE_DIR", state)
        .env("HULL_BIN", hull())
        .env("NO_COLOR", "1")
        .env_remove("HULL_LAB_SANDBOX")
        .env_remove("HULL_LAB_DRILL")
        .env_remove("HULL_LAB_LAB");
    c
}

/// Runs `cmd` with `stdin` written to its standard input; its output collected.
pub fn output_with_stdin(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Standard output, then standard error.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
