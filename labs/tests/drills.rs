//! The drills, proved like the labs: in fresh sandboxes each one's broken state fails its
//! checks, its plausible wrong fixes fail them, and its reference fix passes. Then a drill
//! session through the binary: the symptom only, a hint (counted), a check that fails, the
//! fix typed in the sandbox, a check that passes and records time, hints and transcript,
//! the debrief beside the reference fix; and `--list`, `--json`, `--quiz`.

mod common;

use common::text;

use std::io::Write;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use hull_lab::drill::Deck;
use hull_lab::verify::{verify, Verdict};

fn deck() -> Deck {
    Deck::embedded(&hull_lab::load::embedded().unwrap()).unwrap()
}

fn verified(id: &str) {
    let deck = deck();
    let d = deck.drill(id).unwrap_or_else(|| panic!("no drill {id}"));
    let report = verify(&common::hull(), &d.scenario);
    let json = serde_json::to_string_pretty(&report).unwrap();
    match report.verdict {
        Verdict::Ok => {}
        // A drill is skipped only when it needs hull's networking and has none: a failure
        // here, as for the labs (the test machines have it).
        Verdict::Skipped if d.needs_network() => {
            common::no_networking(id, &report.reason.unwrap_or_default())
        }
        _ => panic!(
            "drill {id} failed verification: {}\n{json}",
            report.reason.unwrap_or_default()
        ),
    }
    eprintln!("{id}: {:.1} s", report.seconds);
}

#[test]
fn every_drill_has_a_test_here() {
    let this = include_str!("drills.rs");
    let deck = deck();
    assert!(deck.drills.len() >= 8, "{} drills", deck.drills.len());
    for d in &deck.drills {
        let name = d.id.replace('-', "_");
        assert!(
            this.contains(&format!("fn {name}()")),
            "add a test for drill {} to labs/tests/drills.rs",
            d.id
        );
    }
}

#[test]
fn oom_loop() {
    verified("oom-loop");
}

#[test]
fn localhost_bind() {
    verified("localhost-bind");
}

#[test]
fn entrypoint_typo() {
    verified("entrypoint-typo");
}

#[test]
fn slow_stop() {
    verified("slow-stop");
}

#[test]
fn volume_perms() {
    verified("volume-perms");
}

#[test]
fn dns_by_name() {
    verified("dns-by-name");
}

#[test]
fn arg_vs_env() {
    verified("arg-vs-env");
}

#[test]
fn read_only() {
    verified("read-only");
}

#[test]
fn pids_limit() {
    verified("pids-limit");
}

fn lab(state: &Path, args: &[&str], env: &[(&str, &Path)], stdin: &str) -> Output {
    let mut cmd = common::lab_cmd(state);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    common::output_with_stdin(cmd, stdin)
}

#[test]
fn list_json_and_quiz() {
    let state = tempfile::tempdir().unwrap();
    let st = state.path();
    let deck = deck();
    let o = lab(st, &["drill", "--list"], &[], "");
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        out.lines().count(),
        deck.drills.len() + deck.cards.len(),
        "{out}"
    );
    let o = lab(st, &["--json", "drill"], &[], "");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["drills"].as_array().unwrap().len(), deck.drills.len());
    assert_eq!(v["cards"].as_array().unwrap().len(), deck.cards.len());
    let o = lab(st, &["drill", "--quiz", "exit-137"], &[], "SIGKILL\n");
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("Q1/1")
            && out.contains("Model answer")
            && out.contains("hull-lab start cgroups"),
        "{out}"
    );
}

#[test]
fn a_drill_session_records_time_hints_and_transcript() {
    let state = tempfile::tempdir().unwrap();
    let st = state.path();
    let o = lab(st, &["drill", "oom-loop", "--keep"], &[], "");
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("exited with status 137"), "the symptom: {out}");
    assert!(!out.contains("-m 64m"), "the fix must not be shown: {out}");
    let dir = out
        .lines()
        .find_map(|l| l.strip_prefix("Sandbox kept at "))
        .and_then(|l| l.split(' ').next())
        .map(std::path::PathBuf::from)
        .expect("the sandbox's directory");
    let _cleanup = Cleanup(dir.clone());
    let env = [
        ("HULL_LAB_SANDBOX", dir.as_path()),
        ("HULL_LAB_DRILL", Path::new("oom-loop")),
    ];

    let o = lab(st, &["drill", "--hint"], &env, "");
    assert!(text(&o).contains("Hint 1/3"), "{}", text(&o));
    let o = lab(st, &["drill", "--check"], &env, "");
    assert_eq!(o.status.code(), Some(1), "broken: {}", text(&o));
    assert!(
        !st.join("drills.json").exists(),
        "no pass, nothing recorded yet"
    );

    // The learner's shell appends each command line to the transcript; typed here instead.
    let sb = hull_lab::sandbox::Sandbox::attach(&dir).unwrap();
    let fix = [
        "hull rm -f cache",
        "hull run -d --name cache -m 64m busybox sh -c 'dd if=/dev/zero of=/dev/null bs=48M count=1 && echo warm && exec sleep 3600'",
    ];
    for c in fix {
        let out = sb.sh(c, Duration::from_secs(60)).unwrap();
        assert!(out.ok(), "{c}: {}", out.stderr);
        let mut t = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(dir.join("transcript"))
            .unwrap();
        write!(t, "{c}\n\u{1e}\n").unwrap();
    }

    let o = lab(st, &["drill", "--check"], &env, "");
    assert_eq!(o.status.code(), Some(0), "fixed: {}", text(&o));
    let out = text(&o);
    assert!(out.contains("Fixed in") && out.contains("1 hint"), "{out}");
    assert!(
        out.contains("your commands") && out.contains("reference fix") && out.contains("Debrief"),
        "{out}"
    );
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(st.join("drills.json")).unwrap()).unwrap();
    let a = &log["drills"]["oom-loop"][0];
    assert_eq!(a["passed"], true);
    assert_eq!(a["hints"], 1);
    assert_eq!(a["transcript"], serde_json::json!(fix));

    let o = lab(st, &["drill", "--debrief", "oom-loop"], &[], "");
    assert!(text(&o).contains("hull rm -f cache"), "{}", text(&o));
    let o = lab(st, &["drill", "--list"], &[], "");
    assert!(text(&o).contains("best "), "{}", text(&o));

    drop(sb);
}

/// Removes a kept sandbox even when the test fails half-way.
struct Cleanup(std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Ok(sb) = hull_lab::sandbox::Sandbox::attach(&self.0) {
            if let Err(e) = sb.destroy() {
                eprintln!(
                    "cannot remove the drill's sandbox {}: {e}",
                    self.0.display()
                );
            }
        }
    }
}
