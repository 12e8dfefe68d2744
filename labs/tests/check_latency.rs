//! A failing `check` right after `goto` answers in under a second, for every step of the five
//! labs: the sandbox is brought to the step exactly as `hull-lab goto N` brings it
//! (`runner::goto`), and the step, not done yet, is graded at once — no time to settle.
//! Sequential, so that the figures are the grading's own.

mod common;

use std::time::{Duration, Instant};

use hull_lab::check::{grade_step, step_status, StepStatus};
use hull_lab::runner;

const GOAL: Duration = Duration::from_secs(1);

#[test]
fn a_failing_check_right_after_goto_answers_within_a_second() {
    let hull = common::hull();
    let mut slow = Vec::new();
    for s in hull_lab::load::embedded().expect("the embedded scenarios load") {
        for (i, step) in s.steps.iter().enumerate() {
            let id = format!("{}/{}-{}", s.id, i + 1, step.id);
            let sb = runner::goto(&hull, &s, i).unwrap_or_else(|e| panic!("{id}: {e}"));
            let t = Instant::now();
            let r = grade_step(&sb, step);
            let took = t.elapsed();
            sb.destroy().expect("destroy");
            assert_eq!(step_status(&r), StepStatus::NotYet, "{id}: {r:?}");
            eprintln!("{id:<28} {:>5} ms", took.as_millis());
            if took >= GOAL {
                slow.push(format!("{id} took {took:?}"));
            }
        }
    }
    assert!(
        slow.is_empty(),
        "a failing check right after goto must answer within {GOAL:?}: {slow:?}"
    );
}
