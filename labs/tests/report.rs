//! The report of `hull-lab check --all` for a failing (nothing done), a half-done and a passing
//! attempt of each lab, as insta snapshots (sandbox paths, ids, PIDs and addresses redacted).

mod common;

use hull_lab::app::grade_all;
use hull_lab::runner::{network_missing, prepare};
use hull_lab::ui::{attempt, Style};

fn redact(text: &str) -> String {
    let rules = [
        (r"/tmp/hull-lab\.[A-Za-z0-9]+", "[SANDBOX]"),
        (r"(sha256:)?\b[0-9a-f]{64}\b", "[DIGEST]"),
        (r"\b[0-9a-f]{12}\b", "[ID]"),
        (r"\b(PID|pid) \d{3,}", "$1 [PID]"),
        (r"\b172\.\d+\.\d+\.\d+\b", "[IP]"),
    ];
    rules.iter().fold(text.to_owned(), |t, (re, with)| {
        regex::Regex::new(re)
            .unwrap()
            .replace_all(&t, *with)
            .into_owned()
    })
}

fn attempts(id: &str) {
    let hull = common::hull();
    let s = common::scenario(id);
    let half = s.steps.len() / 2;
    for (name, upto) in [
        ("failing", 0),
        ("half-done", half),
        ("passing", s.steps.len()),
    ] {
        let sb = prepare(&hull, &s, upto).unwrap_or_else(|e| panic!("{id}: {e}"));
        if s.needs_network() {
            if let Some(why) = network_missing(&sb).unwrap() {
                common::no_networking(id, &why);
            }
        }
        let report = grade_all(&sb, &s);
        sb.destroy().unwrap();
        assert!(report.passed >= upto, "{id} {name}: {report:?}");
        insta::assert_snapshot!(
            format!("{id}-{name}"),
            redact(&attempt(Style::plain(), &report))
        );
    }
}

#[test]
fn namespaces() {
    attempts("namespaces");
}

#[test]
fn cgroups() {
    attempts("cgroups");
}

#[test]
fn overlay() {
    attempts("overlay");
}

#[test]
fn pid1() {
    attempts("pid1");
}

#[test]
fn ports() {
    attempts("ports");
}
