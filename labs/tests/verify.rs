//! `verify` over every embedded scenario, one test each: in fresh sandboxes, each step fails
//! untouched, rejects its wrong attempts, and passes with its solution.

mod common;

use hull_lab::verify::{verify, Verdict};

fn verified(id: &str) {
    let report = verify(&common::hull(), &common::scenario(id));
    let json = serde_json::to_string_pretty(&report).unwrap();
    match report.verdict {
        Verdict::Ok => {}
        Verdict::Skipped => common::no_networking(id, &report.reason.unwrap_or_default()),
        Verdict::Failed => panic!(
            "{id} failed verification: {}\n{json}",
            report.reason.unwrap_or_default()
        ),
    }
    eprintln!("{id}: {:.1} s", report.seconds);
}

#[test]
fn every_embedded_scenario_has_a_test_here() {
    let ids: Vec<String> = hull_lab::load::embedded()
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let this = include_str!("verify.rs");
    for id in ids {
        let name = id.replace('-', "_");
        assert!(
            this.contains(&format!("fn {name}()")),
            "add a test for scenario {id} to labs/tests/verify.rs"
        );
    }
}

#[test]
fn namespaces() {
    verified("namespaces");
}

#[test]
fn cgroups() {
    verified("cgroups");
}

#[test]
fn overlay() {
    verified("overlay");
}

#[test]
fn pid1() {
    verified("pid1");
}

#[test]
fn ports() {
    verified("ports");
}
