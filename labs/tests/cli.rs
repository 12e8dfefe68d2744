//! The learner's road through the `hull-lab` binary, with a private state directory: list,
//! start (kept, no shell), check (not yet), hint, a solution typed in the sandbox, check (pass,
//! progress saved, next task), solution, goto, reset; and a broken `--scenarios` directory.

mod common;

use common::text;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

fn lab(state: &Path, args: &[&str]) -> Output {
    common::lab_cmd(state)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn progress(state: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(state.join("progress.json")).unwrap()).unwrap()
}

fn sandbox_dir(state: &Path) -> PathBuf {
    PathBuf::from(
        progress(state)["active"]["sandbox"]
            .as_str()
            .expect("an open sandbox"),
    )
}

#[test]
fn a_learner_works_through_a_step() {
    let state = tempfile::tempdir().unwrap();
    let st = state.path();

    let o = lab(st, &["list"]);
    assert!(
        o.status.success() && text(&o).contains("namespaces"),
        "{}",
        text(&o)
    );

    let o = lab(st, &["start", "namespaces", "--keep"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("Find the container's PID on the host"),
        "{}",
        text(&o)
    );
    let dir = sandbox_dir(st);

    let o = lab(st, &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("Not yet") && text(&o).contains("no file pid"),
        "{}",
        text(&o)
    );

    let o = lab(st, &["hint"]);
    assert!(text(&o).contains("Hint 1/3"), "{}", text(&o));

    let sb = hull_lab::sandbox::Sandbox::attach(&dir).unwrap();
    let typed = sb
        .sh(
            "hull inspect -f '{{.State.Pid}}' ns1 > pid",
            std::time::Duration::from_secs(30),
        )
        .unwrap();
    assert!(typed.ok(), "{}", typed.stderr);
    drop(sb);

    let o = lab(st, &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("Step passed") && text(&o).contains("Give a container its own hostname"),
        "{}",
        text(&o)
    );
    assert_eq!(
        progress(st)["labs"]["namespaces"]["passed"],
        serde_json::json!(["host-pid"])
    );

    let o = lab(st, &["--json", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["step"], "hostname");
    assert_eq!(report["status"], "not_yet");

    let o = lab(st, &["solution"]);
    assert_eq!(o.status.code(), Some(2), "asks first: {}", text(&o));
    let o = lab(st, &["solution", "--yes"]);
    assert!(text(&o).contains("--hostname lab-box"), "{}", text(&o));

    let o = lab(st, &["goto", "tmpfs", "--keep"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!dir.exists(), "goto replaced the old sandbox");
    let dir2 = sandbox_dir(st);
    let sb = hull_lab::sandbox::Sandbox::attach(&dir2).unwrap();
    let ps = sb
        .hull(&["ps"], std::time::Duration::from_secs(30))
        .unwrap();
    assert!(
        ps.stdout.contains("uts"),
        "step 2's solution was replayed: {}",
        ps.stdout
    );
    drop(sb);
    assert_eq!(progress(st)["labs"]["namespaces"]["at"], "tmpfs");

    let o = lab(st, &["reset", "namespaces", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!dir2.exists(), "reset removed the sandbox");
    assert!(progress(st)["labs"].get("namespaces").is_none());
    assert!(progress(st)["active"].is_null());
}

#[test]
fn a_broken_scenario_directory_is_one_clear_line() {
    let state = tempfile::tempdir().unwrap();
    let broken = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let o = lab(
        state.path(),
        &["--scenarios", broken.to_str().unwrap(), "list"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("answer-escapes.yaml:24: step \"second\": checks[0].file"),
        "{err}"
    );
}
