//! Bringing a sandbox to a step: the scenario's setup, then the solutions of the steps before
//! it (what `goto`, `start` after a break, and `verify` do).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::sandbox::{Sandbox, SandboxError};
use crate::schema::Scenario;
use crate::seed::Seed;

/// A command a setup, solution or wrong attempt may take at most.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// What running a list of commands did, for reports.
#[derive(Debug, Clone, Serialize)]
pub struct Ran {
    pub command: String,
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stderr: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("setup command {index} of {lab} failed (exit {code}): {command}\n{stderr}")]
    Setup {
        lab: String,
        index: usize,
        command: String,
        code: String,
        stderr: String,
    },
}

/// Runs `commands` one after another; a failing one does not stop the others (a learner's
/// commands fail too), the report shows it.
pub fn run_all(sb: &Sandbox, commands: &[String]) -> Result<Vec<Ran>, SandboxError> {
    commands
        .iter()
        .map(|c| {
            let out = sb.sh(c, COMMAND_TIMEOUT)?;
            Ok(Ran {
                command: c.clone(),
                exit_code: out.code,
                stderr: if out.ok() {
                    String::new()
                } else {
                    out.stderr.trim().to_owned()
                },
            })
        })
        .collect()
}

/// The scenario's setup: every command must succeed.
pub fn setup(sb: &Sandbox, s: &Scenario) -> Result<(), RunError> {
    for (i, c) in s.setup.iter().enumerate() {
        let out = sb.sh(c, COMMAND_TIMEOUT)?;
        if !out.ok() {
            return Err(RunError::Setup {
                lab: s.id.clone(),
                index: i + 1,
                command: c.clone(),
                code: out.code.map_or("none: timed out".into(), |c| c.to_string()),
                stderr: out.stderr.trim().to_owned(),
            });
        }
    }
    Ok(())
}

/// The busybox image as `hull save` wrote it, once this process has made one.
static BUSYBOX: Mutex<Option<Arc<Vec<u8>>>> = Mutex::new(None);

/// A fresh sandbox whose image store already holds busybox, as a host that pulled it would:
/// hull makes the image from the host's busybox the first time, loading a saved copy takes a
/// fraction of that. The first caller makes it while the others wait for it (labs verified at
/// once would otherwise all make it at once). Best effort: without it hull makes the image
/// when first asked.
pub fn fresh(hull: &Path) -> Result<Sandbox, SandboxError> {
    let sb = Sandbox::create(hull)?;
    let tar = sb.dir().join("tmp/busybox.tar");
    let tar_arg = tar.display().to_string();
    let Ok(mut slot) = BUSYBOX.lock() else {
        return Ok(sb);
    };
    match slot.clone() {
        Some(bytes) => {
            drop(slot);
            if std::fs::write(&tar, bytes.as_slice()).is_ok() {
                sb.hull(&["load", "-i", &tar_arg], COMMAND_TIMEOUT)?;
            }
        }
        None => {
            // Naming the image makes it; no container needs to run for that.
            let made = sb.hull(&["image", "inspect", "busybox"], COMMAND_TIMEOUT)?;
            if made.ok()
                && sb
                    .hull(&["save", "-o", &tar_arg, "busybox"], COMMAND_TIMEOUT)?
                    .ok()
            {
                if let Ok(bytes) = std::fs::read(&tar) {
                    *slot = Some(Arc::new(bytes));
                }
            }
        }
    }
    let _ = std::fs::remove_file(&tar);
    Ok(sb)
}

/// A fresh sandbox whose image store starts as a copy of `seed` (busybox among its images,
/// the lab's earlier builds in its build cache): no state of another sandbox, only what a host
/// that built these images before would have.
pub fn fresh_from(hull: &Path, seed: &Seed) -> Result<Sandbox, SandboxError> {
    let sb = Sandbox::create(hull)?;
    seed.plant(&sb.hull_root())
        .map_err(|source| SandboxError::Io {
            what: format!("plant the image store {}", seed.path().display()),
            source,
        })?;
    Ok(sb)
}

/// What `start` and `goto` give the learner: a sandbox [`prepare`]d to step `at`, handed over
/// (see [`crate::check::hand_over`]: a failing check answers at once, without waiting for the
/// runner's own containers to settle).
pub fn goto(hull: &Path, s: &Scenario, at: usize) -> Result<Sandbox, RunError> {
    let sb = prepare(hull, s, at)?;
    crate::check::hand_over(&sb).map_err(|source| SandboxError::Io {
        what: "mark the sandbox as handed over".into(),
        source,
    })?;
    Ok(sb)
}

/// A fresh sandbox with the setup done and the solutions of steps `..upto` applied.
pub fn prepare(hull: &Path, s: &Scenario, upto: usize) -> Result<Sandbox, RunError> {
    prepare_from(hull, s, upto, None)
}

/// [`prepare`], the sandbox's store planted from `seed` when one is given: every setup
/// command and earlier solution still runs in the new sandbox, its builds answered from the
/// build cache.
pub fn prepare_from(
    hull: &Path,
    s: &Scenario,
    upto: usize,
    seed: Option<&Seed>,
) -> Result<Sandbox, RunError> {
    let sb = match seed {
        Some(seed) => fresh_from(hull, seed)?,
        None => fresh(hull)?,
    };
    setup(&sb, s)?;
    for step in &s.steps[..upto.min(s.steps.len())] {
        run_all(&sb, &step.solution)?;
    }
    Ok(sb)
}

/// Why `hull run -p` cannot be used, if it is hull's "not implemented" answer; `None` when
/// hull accepts it (networking has landed) or fails for any other reason.
pub fn network_missing(sb: &Sandbox) -> Result<Option<String>, SandboxError> {
    let out = sb.hull(
        &["run", "--rm", "-p", "18080:80", "busybox", "true"],
        COMMAND_TIMEOUT,
    )?;
    Ok((!out.ok() && not_implemented(&out.stderr))
        .then(|| "needs hull networking (`hull run -p` not available)".to_owned()))
}

/// hull's answer to a flag it does not implement yet.
fn not_implemented(stderr: &str) -> bool {
    stderr.to_lowercase().contains("not implemented")
}

#[cfg(test)]
mod tests {
    #[test]
    fn recognizes_hulls_not_implemented_answer() {
        let before_networking = "hull: publishing ports (-p/-P) is not implemented yet: it comes with hull's networking";
        assert!(super::not_implemented(before_networking));
        assert!(!super::not_implemented(
            "hull: port 18080 is already published by web"
        ));
    }
}
