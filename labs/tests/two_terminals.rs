//! Two terminals on one lab, driven by the test: terminal A opens a lab in a pseudo-terminal
//! and runs a foreground container that holds it; terminal B gets a second shell in the same
//! sandbox, is refused `start` and an unconfirmed `reset` while A is open, then resets with
//! `--yes`; A's shell is closed with a sentence saying why, and A's terminal is left in its
//! ordinary mode.

mod common;

use common::text;

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::pty::Terminal;

use nix::sys::termios::{self, LocalFlags};

fn lab_cmd(state: &Path) -> Command {
    let mut c = common::lab_cmd(state);
    c.env("TERM", "dumb");
    c
}

fn lab(state: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = lab_cmd(state);
    cmd.args(args);
    common::output_with_stdin(cmd, stdin)
}

/// Terminal A: `hull-lab start ID` on a pseudo-terminal of its own.
fn terminal_a(state: &Path, id: &str) -> Terminal {
    let mut cmd = lab_cmd(state);
    cmd.args(["start", id]);
    Terminal::spawn(cmd)
}

fn active_sandbox(state: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(state.join("progress.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["active"]["owner"].as_object()?;
    v["active"]["sandbox"].as_str().map(PathBuf::from)
}

#[test]
fn a_second_terminal_helps_and_does_not_wreck_the_first() {
    let state = tempfile::tempdir().unwrap();
    let st = state.path();
    let mut a = terminal_a(st, "namespaces");
    a.wait_for("[lab namespaces", Duration::from_secs(60));
    let sandbox = active_sandbox(st).expect("lab A is open, with its owner recorded");

    // A foreground container holds terminal A; the lab's shell says where to go.
    a.type_line("hull run --name holder busybox sleep 6");
    a.wait_for("hull-lab shell", Duration::from_secs(20));
    // It ends; A's shell is back at its prompt, reading a line (readline's raw mode).
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.seen.lock().unwrap().matches("[lab namespaces").count() < 2 {
        assert!(Instant::now() < deadline, "A's prompt did not come back");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let t = termios::tcgetattr(&a.slave).unwrap();
    let raw_now = !t.local_flags.contains(LocalFlags::ICANON);

    // Terminal B: a second shell in the same sandbox sees A's containers.
    let o = lab(
        st,
        &["shell"],
        "echo \"root=$HULL_ROOT lab=$HULL_LAB_LAB\"; hull ps -a --format '{{.Names}}'; exit\n",
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&format!("root={}", sandbox.join("hull").display())),
        "{out}"
    );
    assert!(out.contains("lab=namespaces"), "{out}");
    assert!(
        out.contains("holder") && out.contains("ns1"),
        "B sees A's containers: {out}"
    );

    // B may not pull A's sandbox away without asking, and there is no terminal to ask on.
    let o = lab(st, &["start", "cgroups"], "");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("open in another terminal"),
        "{}",
        text(&o)
    );
    let o = lab(st, &["reset", "namespaces"], "y\n");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(sandbox.exists(), "A's sandbox is still there");
    assert!(a.child.try_wait().unwrap().is_none(), "A is still open");

    // Asked and answered: A's shell closes and says why.
    let o = lab(st, &["reset", "namespaces", "--yes"], "");
    assert!(o.status.success(), "{}", text(&o));
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = a.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "A did not leave");
        std::thread::sleep(Duration::from_millis(50));
    };
    let seen = a.wait_for("closed from outside", Duration::from_secs(5));
    assert!(
        seen.contains("`hull-lab reset namespaces` in another terminal"),
        "{seen}"
    );
    assert!(
        !seen.contains("progress saved"),
        "A must not claim progress it no longer has: {seen}"
    );
    let _ = status;
    // The shell was killed in the middle of reading a line (raw mode, when bash has
    // readline): the terminal is ordinary again.
    eprintln!("terminal A was in raw mode while its shell read a line: {raw_now}");
    let t = termios::tcgetattr(&a.slave).unwrap();
    assert!(
        t.local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ECHO),
        "terminal A was left in raw mode: {:?}",
        t.local_flags
    );
    assert!(!sandbox.exists(), "the sandbox went with the reset");
    let _ = a.slave.as_raw_fd();
}
