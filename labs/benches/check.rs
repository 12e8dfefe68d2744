//! How long a failing `check` takes to answer, for every step of the five labs: a sandbox is
//! brought to the step as `hull-lab goto` brings it (setup and the earlier steps' solutions,
//! handed over), and the step — not done yet — is graded at once, then again and again. No
//! time is given to settle: the goal, under a second for each, holds right after `goto`
//! (`tests/check_latency.rs` asserts it for the first grading).
//! Needs root and a built `hull` (`cargo build --workspace --bins`).
//!
//!     cargo bench -p hull-lab --bench check             # every step
//!     cargo bench -p hull-lab --bench check -- pid1     # one lab's steps

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use hull_lab::check::{grade_step, step_status, StepStatus};
use hull_lab::runner::{goto, network_missing};
use hull_lab::sandbox::find_hull;

fn failing_check(c: &mut Criterion) {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("the check bench needs root: skipped");
        return;
    }
    let hull = match find_hull() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{e}: skipped");
            return;
        }
    };
    let labs = hull_lab::load::embedded().expect("the embedded scenarios load");
    let mut g = c.benchmark_group("failing check");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2));
    for s in &labs {
        for (i, step) in s.steps.iter().enumerate() {
            let id = format!("{}/{}-{}", s.id, i + 1, step.id);
            // Preparing is costly: only for the steps the filter keeps.
            if !std::env::args()
                .skip(1)
                .filter(|a| !a.starts_with('-'))
                .all(|f| id.contains(&f))
            {
                continue;
            }
            let sb = goto(&hull, s, i).expect("a sandbox at the step");
            if s.needs_network() && network_missing(&sb).ok().flatten().is_some() {
                eprintln!("{id}: hull has no networking: skipped");
                continue;
            }
            g.bench_function(&id, |b| {
                b.iter(|| {
                    let r = grade_step(&sb, step);
                    assert_eq!(step_status(&r), StepStatus::NotYet, "{id}: {r:?}");
                })
            });
            sb.destroy().expect("destroy");
        }
    }
    g.finish();
}

criterion_group!(benches, failing_check);
criterion_main!(benches);
