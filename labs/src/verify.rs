//! `verify`: proves a scenario is gradable. In a fresh sandbox, for every step: before its
//! solution its checks must not pass; each `wrong` attempt (each in its own fresh sandbox
//! brought to the step) must not pass; after the solution they pass. The same code grades a
//! learner.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use crate::check::{grade_step, step_status, CheckResult, Outcome, StepStatus};
use crate::runner::{self, Ran, RunError};
use crate::sandbox::Sandbox;
use crate::schema::{Feature, Scenario};
use crate::seed::Seed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub id: String,
    pub verdict: Verdict,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub seconds: f64,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub id: String,
    /// Grading before the solution: must not pass.
    pub before: Phase,
    pub wrong: Vec<WrongReport>,
    /// Grading after the solution: must pass.
    pub after: Phase,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub ok: bool,
    pub status: StepStatus,
    pub checks: Vec<CheckResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ran: Vec<Ran>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WrongReport {
    pub name: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
}

fn phase(checks: Vec<CheckResult>, ran: Vec<Ran>, must_pass: bool) -> Phase {
    let status = step_status(&checks);
    let ok = if must_pass {
        status == StepStatus::Pass
    } else {
        status == StepStatus::NotYet
    };
    Phase {
        ok,
        status,
        checks,
        ran,
    }
}

/// Verifies one scenario in fresh sandboxes.
pub fn verify(hull: &Path, s: &Scenario) -> ScenarioReport {
    let started = Instant::now();
    let mut report = ScenarioReport {
        id: s.id.clone(),
        verdict: Verdict::Ok,
        reason: None,
        seconds: 0.0,
        steps: Vec::new(),
    };
    if let Err(e) = run(hull, s, &mut report) {
        report.verdict = Verdict::Failed;
        report.reason = Some(e.to_string());
    }
    if report.verdict == Verdict::Ok {
        let bad = report.steps.iter().find_map(|st| {
            if !st.before.ok {
                Some(format!(
                    "step {}: its checks pass before its solution ({:?})",
                    st.id, st.before.status
                ))
            } else if let Some(w) = st.wrong.iter().find(|w| !w.ok) {
                Some(format!(
                    "step {}: the wrong attempt {:?} is not rejected",
                    st.id, w.name
                ))
            } else if !st.after.ok {
                Some(format!(
                    "step {}: its checks do not pass after its solution ({:?})",
                    st.id, st.after.status
                ))
            } else {
                None
            }
        });
        if let Some(why) = bad {
            report.verdict = Verdict::Failed;
            report.reason = Some(why);
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// How many wrong attempts are tried at once, beside the main line (they mostly wait).
const WORKERS: usize = 3;

fn run(hull: &Path, s: &Scenario, report: &mut ScenarioReport) -> Result<(), RunError> {
    let sb = runner::fresh(hull)?;
    // Probing for networking starts a container: only for a lab that has a use for the answer.
    let asks_network = s.needs_network()
        || s.steps.iter().any(|st| {
            st.wrong
                .iter()
                .any(|w| w.requires.contains(&Feature::Network))
        });
    let no_network = if asks_network {
        runner::network_missing(&sb)?
    } else {
        None
    };
    if s.needs_network() {
        if let Some(why) = no_network {
            report.verdict = Verdict::Skipped;
            report.reason = Some(why);
            return Ok(());
        }
    }
    runner::setup(&sb, s)?;
    // The main line's image store, kept after the setup and after each step's solution: an
    // attempt's sandbox starts from the latest one its own replay will go past, so its builds
    // answer from the cache (see `seed`).
    let seeds = Seeds::default();
    seeds.take(&sb);
    // Every wrong attempt, each in its own sandbox brought to its step, on a few workers
    // while the main line runs.
    let jobs: Vec<(usize, usize)> = s
        .steps
        .iter()
        .enumerate()
        .flat_map(|(i, st)| (0..st.wrong.len()).map(move |w| (i, w)))
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<WrongReport>>> = Mutex::new(vec![None; jobs.len()]);
    let main = std::thread::scope(|scope| {
        for _ in 0..WORKERS.min(jobs.len()) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(i, w)) = jobs.get(k) else { break };
                let seed = seeds.for_step(i);
                let r = wrong_attempt(hull, s, i, w, no_network.as_deref(), seed.as_deref());
                if let Ok(mut all) = results.lock() {
                    all[k] = Some(r);
                }
            });
        }
        main_line(&sb, s, &seeds)
    });
    let mut wrong = results.into_inner().unwrap_or_default().into_iter();
    let mut steps = main?;
    for &(i, _) in &jobs {
        if let (Some(step), Some(r)) = (steps.get_mut(i), wrong.next().flatten()) {
            step.wrong.push(r);
        }
    }
    report.steps.append(&mut steps);
    sb.destroy()?;
    Ok(())
}

/// The seeds of one scenario: `k`, the store after the setup and the solutions of steps `..k`.
#[derive(Default)]
struct Seeds(Mutex<Vec<Option<Arc<Seed>>>>);

impl Seeds {
    /// Keeps `sb`'s store as the next seed (none when it cannot be copied: attempts then start
    /// from an earlier one, or from nothing).
    fn take(&self, sb: &Sandbox) {
        let seed = Seed::take(&sb.hull_root()).ok().map(Arc::new);
        if let Ok(mut all) = self.0.lock() {
            all.push(seed);
        }
    }

    /// The latest seed an attempt at step `i` may start from: one its own replay of the setup
    /// and of the solutions before step `i` goes past.
    fn for_step(&self, i: usize) -> Option<Arc<Seed>> {
        let all = self.0.lock().ok()?;
        all.iter().take(i + 1).rev().find_map(Clone::clone)
    }
}

/// The learner's road: for each step, not passing before its solution, passing after.
fn main_line(sb: &Sandbox, s: &Scenario, seeds: &Seeds) -> Result<Vec<StepReport>, RunError> {
    let mut steps = Vec::new();
    for (i, step) in s.steps.iter().enumerate() {
        let before = phase(grade_step(sb, step), Vec::new(), false);
        let ran = runner::run_all(sb, &step.solution)?;
        if i + 1 < s.steps.len() {
            seeds.take(sb);
        }
        let after = phase(grade_step(sb, step), ran, true);
        let failed = !after.ok;
        steps.push(StepReport {
            id: step.id.clone(),
            before,
            wrong: Vec::new(),
            after,
        });
        if failed {
            break; // later steps build on this one
        }
    }
    Ok(steps)
}

fn wrong_attempt(
    hull: &Path,
    s: &Scenario,
    i: usize,
    w: usize,
    no_network: Option<&str>,
    seed: Option<&Seed>,
) -> WrongReport {
    let step = &s.steps[i];
    let attempt = &step.wrong[w];
    let name = attempt.name.clone();
    if let Some(why) = no_network.filter(|_| attempt.requires.contains(&Feature::Network)) {
        return WrongReport {
            name,
            ok: true,
            skipped: Some(why.to_owned()),
            phase: None,
        };
    }
    let tried = (|| -> Result<Phase, RunError> {
        let sb = runner::prepare_from(hull, s, i, seed)?;
        let ran = runner::run_all(&sb, &attempt.commands)?;
        let p = phase(grade_step(&sb, step), ran, false);
        sb.destroy()?;
        Ok(p)
    })();
    match tried {
        Ok(p) => WrongReport {
            name,
            ok: p.ok,
            skipped: None,
            phase: Some(p),
        },
        Err(e) => WrongReport {
            name,
            ok: false,
            skipped: None,
            phase: Some(Phase {
                ok: false,
                status: StepStatus::EnvError,
                checks: vec![CheckResult {
                    check: "preparing the attempt's sandbox".into(),
                    outcome: Outcome::EnvError {
                        message: e.to_string(),
                    },
                }],
                ran: Vec::new(),
            }),
        },
    }
}
