//! Grading: every check is an observation of the sandbox with three outcomes — it passes, it
//! is not yet true (with what was expected, what was seen and where to look), or the
//! environment broke (the sandbox, hull or a tool) — retried for a bounded time while not yet
//! true.

mod answer;
mod kinds;
pub mod observe;

/// What a check looks at, in a few words (reports and the book say it the same way).
pub use kinds::describe;

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::sandbox::Sandbox;
use crate::schema::{Check, Step};

/// What one observation found (internal: `look` may still be filled in from the check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    NotYet {
        expected: String,
        seen: String,
        look: Option<String>,
    },
    Env(String),
}

impl Verdict {
    pub fn not_yet(
        expected: impl Into<String>,
        seen: impl Into<String>,
        look: impl Into<String>,
    ) -> Self {
        Verdict::NotYet {
            expected: expected.into(),
            seen: seen.into(),
            look: Some(look.into()),
        }
    }
}

/// A check's result as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    NotYet {
        expected: String,
        seen: String,
        look: String,
    },
    EnvError {
        message: String,
    },
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Pass)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub check: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// How a whole step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pass,
    NotYet,
    EnvError,
}

pub fn step_status(results: &[CheckResult]) -> StepStatus {
    if results
        .iter()
        .any(|r| matches!(r.outcome, Outcome::EnvError { .. }))
    {
        StepStatus::EnvError
    } else if results.iter().all(|r| r.outcome.passed()) {
        StepStatus::Pass
    } else {
        StepStatus::NotYet
    }
}

/// Grades every check of `step`.
pub fn grade_step(sb: &Sandbox, step: &Step) -> Vec<CheckResult> {
    step.checks.iter().map(|c| grade(sb, c)).collect()
}

/// One check, retried while not yet true for at most its `within`.
pub fn grade(sb: &Sandbox, check: &Check) -> CheckResult {
    let deadline = Instant::now() + check.within();
    let verdict = loop {
        let v = kinds::observe(sb, check);
        if !matches!(v, Verdict::NotYet { .. }) || Instant::now() >= deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(150));
    };
    let outcome = match verdict {
        Verdict::Pass => Outcome::Pass,
        Verdict::Env(message) => Outcome::EnvError { message },
        Verdict::NotYet {
            expected,
            seen,
            look,
        } => Outcome::NotYet {
            expected,
            seen,
            look: check
                .look()
                .map(str::to_owned)
                .or(look)
                .unwrap_or_else(|| kinds::default_look(check)),
        },
    };
    CheckResult {
        check: kinds::describe(check),
        outcome,
    }
}
