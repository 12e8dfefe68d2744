//! Grading: every check is an observation of the sandbox with three outcomes — it passes, it
//! is not yet true (with what was expected, what was seen and where to look), or the
//! environment broke (the sandbox, hull or a tool) — retried for a bounded time while not yet
//! true.

mod answer;
mod kinds;
pub mod observe;

/// What a check looks at, in a few words (reports and the book say it the same way).
pub use kinds::describe;

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant, SystemTime};

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

/// Grades every check of `step`, all at once: each on its own thread, so a step waits for its
/// slowest check rather than for the sum of them. The checks are listed in order of
/// dependence (the container, then what it serves): once an earlier check has settled as not
/// yet true, the later ones stop retrying and report what they see.
pub fn grade_step(sb: &Sandbox, step: &Step) -> Vec<CheckResult> {
    let still_since = last_change(sb).filter(|t| handed_over(sb) != Some(*t));
    // Per check: 0 while it runs, PASSED or FAILED once settled.
    let state: Vec<AtomicU8> = step.checks.iter().map(|_| AtomicU8::new(0)).collect();
    std::thread::scope(|scope| {
        let running: Vec<_> = step
            .checks
            .iter()
            .enumerate()
            .map(|(k, check)| {
                let state = &state;
                scope.spawn(move || {
                    let before = &state[..k];
                    let before_failed =
                        || before.iter().any(|f| f.load(Ordering::SeqCst) == FAILED);
                    // A command may start containers (a probe): it waits for the checks it
                    // depends on, and is not run at all when one of them failed.
                    let r = if matches!(check, Check::Command(_)) && !settled_passing(before) {
                        not_tried(check)
                    } else {
                        grade_with(sb, check, still_since, &before_failed)
                    };
                    let done = if r.outcome.passed() { PASSED } else { FAILED };
                    state[k].store(done, Ordering::SeqCst);
                    r
                })
            })
            .collect();
        running
            .into_iter()
            .zip(&step.checks)
            .map(|(h, check)| {
                h.join().unwrap_or_else(|_| CheckResult {
                    check: kinds::describe(check),
                    outcome: Outcome::EnvError {
                        message: "the check's observation panicked".into(),
                    },
                })
            })
            .collect()
    })
}

const PASSED: u8 = 1;
const FAILED: u8 = 2;

/// Waits until every check in `before` has settled; whether all of them passed.
fn settled_passing(before: &[AtomicU8]) -> bool {
    loop {
        let states: Vec<u8> = before.iter().map(|s| s.load(Ordering::SeqCst)).collect();
        if states.contains(&FAILED) {
            return false;
        }
        if states.iter().all(|s| *s == PASSED) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn not_tried(check: &Check) -> CheckResult {
    CheckResult {
        check: kinds::describe(check),
        outcome: Outcome::NotYet {
            expected: kinds::describe(check),
            seen: "not tried yet: the checks above must pass first".into(),
            look: check
                .look()
                .map(str::to_owned)
                .unwrap_or_else(|| kinds::default_look(check)),
        },
    }
}

/// When the sandbox's containers last changed (a record written, a container made or
/// removed): `hull`'s store, as the kernel's mtimes tell it. `None` when there are none.
pub fn last_change(sb: &Sandbox) -> Option<SystemTime> {
    let dir = sb.hull_root().join("containers");
    let mut newest = std::fs::metadata(&dir).and_then(|m| m.modified()).ok()?;
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let times = [
            entry.metadata().and_then(|m| m.modified()),
            std::fs::metadata(entry.path().join("config.v2.json")).and_then(|m| m.modified()),
        ];
        for t in times.into_iter().flatten() {
            newest = newest.max(t);
        }
    }
    Some(newest)
}

/// Where [`hand_over`] keeps the sandbox's state of the moment it was handed over.
const HANDED_OVER: &str = "handed-over";

/// Marks the sandbox as handed to the learner: its containers as they are now were made by the
/// runner (the setup, the solutions of the steps before), not by the learner. Until they
/// change, a check that is not yet true is not retried. The retry window is there for what the
/// learner just started; of the world the runner makes, `verify` shows that the step does not
/// pass even once it has settled (it grades that world with the windows), so waiting would
/// change no verdict, and a failing check right after `start` or `goto` answers at once. The
/// mark decides how long a check waits, never what it sees.
pub fn hand_over(sb: &Sandbox) -> std::io::Result<()> {
    let stamp = match last_change(sb) {
        Some(t) => stamp_of(t),
        None => "none".to_owned(),
    };
    std::fs::write(sb.dir().join(HANDED_OVER), stamp)
}

/// The last change to the containers when the sandbox was handed over, if it was and there
/// were any.
fn handed_over(sb: &Sandbox) -> Option<SystemTime> {
    let text = std::fs::read_to_string(sb.dir().join(HANDED_OVER)).ok()?;
    let nanos: u128 = text.trim().parse().ok()?;
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    let sub = u32::try_from(nanos % 1_000_000_000).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs, sub))
}

fn stamp_of(t: SystemTime) -> String {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        .to_string()
}

/// One check, retried while not yet true for at most its `within`.
pub fn grade(sb: &Sandbox, check: &Check) -> CheckResult {
    grade_with(sb, check, Some(SystemTime::now()), &|| false)
}

/// One check. A check that is not yet true is retried while the sandbox may still be
/// settling: for its `within` after the last change to the containers (a server that was just
/// started gets the time to listen; a world that has been still for longer is not waited
/// for), and only while no check it depends on has failed.
fn grade_with(
    sb: &Sandbox,
    check: &Check,
    still_since: Option<SystemTime>,
    before_failed: &dyn Fn() -> bool,
) -> CheckResult {
    let age = still_since
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or(Duration::MAX);
    let deadline = Instant::now() + check.within().saturating_sub(age);
    let verdict = loop {
        let v = kinds::observe(sb, check);
        // A container that does not exist will not appear by itself: not waited for.
        let absent = matches!(&v, Verdict::NotYet { seen, .. } if seen.starts_with(observe::NO_SUCH_CONTAINER));
        if !matches!(v, Verdict::NotYet { .. })
            || absent
            || Instant::now() >= deadline
            || before_failed()
        {
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
