//! The commands of the `hull-lab` binary. Each is a function over an [`App`]: the scenarios,
//! the progress store, the output style.

mod info;
mod lab;
pub mod recap;
mod shell;
mod terminal;
mod watch;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::load;
use crate::progress::{Owner, Progress, Store};
use crate::sandbox::{find_hull, Sandbox};
use crate::schema::Scenario;
use crate::ui::Style;

pub use info::{hint, list, progress, reset, solution, verify};
pub use lab::{check, goto, grade_all, second_shell, start};
pub use watch::watch;

/// Exit codes of `check` and `verify`: passed, not yet, the environment broke.
pub const EXIT_NOT_YET: u8 = 1;
pub const EXIT_ENV: u8 = 3;

pub struct App {
    pub scenarios: Vec<Scenario>,
    pub store: Store,
    pub json: bool,
    pub style: Style,
}

impl App {
    pub fn new(scenarios_dir: Option<&Path>, json: bool) -> Result<App> {
        let scenarios = match scenarios_dir {
            Some(d) => load::load_dir(d)?,
            None => load::embedded()?,
        };
        if scenarios.is_empty() {
            bail!("no scenarios found");
        }
        Ok(App {
            scenarios,
            store: Store::new(&Store::default_dir()),
            json,
            style: Style::detect(),
        })
    }

    pub fn scenario(&self, id: &str) -> Result<&Scenario> {
        self.scenarios.iter().find(|s| s.id == id).ok_or_else(|| {
            let ids: Vec<&str> = self.scenarios.iter().map(|s| s.id.as_str()).collect();
            anyhow!("no lab {id:?}; the labs are: {}", ids.join(", "))
        })
    }

    /// The scenarios named by `ids`, or all of them when there are none.
    pub fn chosen(&self, ids: &[String]) -> Result<Vec<&Scenario>> {
        if ids.is_empty() {
            return Ok(self.scenarios.iter().collect());
        }
        ids.iter().map(|id| self.scenario(id)).collect()
    }

    pub fn load_progress(&self) -> Result<Progress> {
        self.store.load().context("cannot read your progress")
    }

    pub fn save_progress(&self, p: &Progress) -> Result<()> {
        self.store.save(p).with_context(|| {
            format!(
                "cannot save your progress in {}",
                self.store.path().display()
            )
        })
    }

    pub fn hull(&self) -> Result<PathBuf> {
        find_hull().map_err(|e| anyhow!(e))
    }

    pub fn print_json<T: serde::Serialize>(&self, v: &T) -> Result<()> {
        println!("{}", serde_json::to_string_pretty(v)?);
        Ok(())
    }
}

/// The lab being worked on and its sandbox: from the lab shell's environment, else from the
/// progress file.
pub struct Session {
    pub lab: String,
    pub sandbox_dir: PathBuf,
}

/// Set in the lab shell.
pub const ENV_SANDBOX: &str = "HULL_LAB_SANDBOX";
pub const ENV_LAB: &str = "HULL_LAB_LAB";

pub fn inside_shell() -> Option<PathBuf> {
    std::env::var_os(ENV_SANDBOX)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

pub fn session(app: &App) -> Result<Session> {
    if let (Some(dir), Some(lab)) = (inside_shell(), std::env::var_os(ENV_LAB)) {
        return Ok(Session {
            lab: lab.to_string_lossy().into_owned(),
            sandbox_dir: dir,
        });
    }
    let p = app.load_progress()?;
    let active = p.active.ok_or_else(|| {
        anyhow!("no lab is open: `hull-lab list` shows them, `hull-lab start ID` opens one")
    })?;
    Ok(Session {
        lab: active.lab,
        sandbox_dir: active.sandbox,
    })
}

/// The open sandbox of the session, or a plain explanation of why there is none.
pub fn attach(s: &Session) -> Result<Sandbox> {
    Sandbox::attach(&s.sandbox_dir).map_err(|e| {
        anyhow!(
            "the sandbox of lab {} is gone ({e}); `hull-lab start {}` opens a fresh one at your step",
            s.lab,
            s.lab
        )
    })
}

/// The open lab's shell in another terminal, if there is one.
pub fn open_elsewhere(p: &Progress) -> Option<(String, Owner)> {
    let active = p.active.as_ref()?;
    let owner = active.owner?;
    (owner.alive() && Some(owner) != Owner::me()).then(|| (active.lab.clone(), owner))
}

/// Where the reason a lab's shell was closed from outside is left for that shell's hull-lab.
pub(crate) fn closed_note(app: &App, sandbox: &Path) -> PathBuf {
    let name = sandbox.file_name().unwrap_or_default();
    app.store.dir.join("closed").join(name)
}

/// Why another terminal closed the sandbox at `sandbox`, once (the note is removed).
pub fn take_closed_reason(app: &App, sandbox: &Path) -> Option<String> {
    let note = closed_note(app, sandbox);
    let why = std::fs::read_to_string(&note).ok()?;
    let _ = std::fs::remove_file(&note);
    Some(why.trim().to_owned())
}

/// Destroys the open sandbox recorded in the progress file, unless we are inside it. When its
/// shell is open in another terminal, asks first (unless `asked`), and leaves that terminal
/// a note saying `why` it was closed.
pub fn close_active(app: &App, p: &mut Progress, why: &str, asked: bool) -> Result<()> {
    let Some(active) = p.active.clone() else {
        return Ok(());
    };
    if inside_shell().as_deref() == Some(active.sandbox.as_path()) {
        bail!(
            "you are in the shell of lab {}: leave it with `exit` first (the sandbox goes with it)",
            active.lab
        );
    }
    if let Some((lab, owner)) = open_elsewhere(p) {
        if !asked {
            let question = format!(
                "Lab {lab} is open in another terminal (hull-lab, PID {}). Close it there and go on?",
                owner.pid
            );
            let how =
                "leave it with `exit` there first; `hull-lab shell` opens a second shell in it";
            if !terminal::confirm(&question, false, how)? {
                bail!("nothing changed: lab {lab} stays open in the other terminal");
            }
        }
        let note = closed_note(app, &active.sandbox);
        if let Some(dir) = note.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(&note, why);
    }
    if let Ok(sb) = Sandbox::attach(&active.sandbox) {
        sb.destroy()
            .with_context(|| format!("cannot remove the old sandbox of lab {}", active.lab))?;
    }
    p.active = None;
    app.save_progress(p)
}
