//! Progress: a small versioned JSON file in the user's state directory
//! (`$HULL_LAB_STATE_DIR`, else `$XDG_STATE_HOME/hull-lab`, else `~/.local/state/hull-lab`).
//! Steps are remembered by id, so reordering or adding steps in a new release keeps what was
//! passed; unknown fields are ignored, so an older hull-lab can read a newer minor layout.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::schema::Scenario;

pub const VERSION: u32 = 1;
const FILE: &str = "progress.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub version: u32,
    #[serde(default)]
    pub labs: BTreeMap<String, LabProgress>,
    /// The sandbox the learner is working in, if one is open.
    #[serde(default)]
    pub active: Option<Active>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabProgress {
    /// Ids of the steps passed; a step that passed stays passed.
    #[serde(default)]
    pub passed: Vec<String>,
    /// How many hints of each step were shown.
    #[serde(default)]
    pub hints: BTreeMap<String, usize>,
    /// The step being worked on (`goto` may go back to a passed one).
    #[serde(default)]
    pub at: Option<String>,
    /// When the lab was first opened (seconds since the epoch), for the recap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<u64>,
    /// The first answers written for prediction steps, by `STEP/FILE`: kept once seen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub predictions: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Active {
    pub lab: String,
    pub sandbox: PathBuf,
    /// The hull-lab process whose shell the lab is open in (`start`, `goto`), so another
    /// terminal knows not to pull the sandbox from under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}

/// A process, told apart from a later one with the same PID by its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: i32,
    pub start: u64,
}

impl Owner {
    pub fn me() -> Option<Owner> {
        let pid = std::process::id() as i32;
        crate::sandbox::start_time(pid)
            .ok()
            .map(|start| Owner { pid, start })
    }

    pub fn alive(&self) -> bool {
        crate::sandbox::start_time(self.pid).ok() == Some(self.start)
    }
}

impl Progress {
    pub fn lab(&self, id: &str) -> LabProgress {
        self.labs.get(id).cloned().unwrap_or_default()
    }

    pub fn lab_mut(&mut self, id: &str) -> &mut LabProgress {
        self.labs.entry(id.to_owned()).or_default()
    }
}

impl LabProgress {
    /// The step being worked on: the one `goto` chose, else the first step not passed yet;
    /// `None` when the lab is done.
    pub fn current(&self, s: &Scenario) -> Option<usize> {
        self.at
            .as_deref()
            .and_then(|id| s.step_index(id))
            .or_else(|| s.steps.iter().position(|st| !self.passed.contains(&st.id)))
    }

    /// Marks step `i` passed and moves on: to the next step not passed yet after it, else to
    /// the first one not passed anywhere.
    pub fn advance(&mut self, s: &Scenario, i: usize) {
        self.pass(&s.steps[i].id);
        self.at = s.steps[i + 1..]
            .iter()
            .find(|st| !self.passed.contains(&st.id))
            .map(|st| st.id.clone());
    }

    /// How many of the scenario's steps are passed (ids of removed steps do not count).
    pub fn done(&self, s: &Scenario) -> usize {
        s.steps
            .iter()
            .filter(|st| self.passed.contains(&st.id))
            .count()
    }

    pub fn pass(&mut self, step: &str) {
        if !self.passed.iter().any(|p| p == step) {
            self.passed.push(step.to_owned());
        }
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
}

impl Store {
    /// The user's state directory for hull-lab.
    pub fn default_dir() -> PathBuf {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(d) = env("HULL_LAB_STATE_DIR") {
            return d;
        }
        if let Some(d) = env("XDG_STATE_HOME") {
            return d.join("hull-lab");
        }
        env("HOME")
            .unwrap_or_else(|| PathBuf::from("/root"))
            .join(".local/state/hull-lab")
    }

    pub fn new(dir: &Path) -> Store {
        Store {
            dir: dir.to_path_buf(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    pub fn load(&self) -> io::Result<Progress> {
        let path = self.path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Progress {
                    version: VERSION,
                    ..Progress::default()
                })
            }
            Err(e) => return Err(e),
        };
        parse(&text).map_err(|why| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {why}", path.display()),
            )
        })
    }

    /// Writes atomically: a temporary file renamed into place.
    pub fn save(&self, p: &Progress) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(".{FILE}.{}", std::process::id()));
        let mut json = serde_json::to_string_pretty(p).map_err(io::Error::other)?;
        json.push('\n');
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, self.path())
    }
}

/// Why a progress file is left alone.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    #[error("not a progress file: {0}")]
    NotProgress(serde_json::Error),
    #[error("written by a newer hull-lab (format {found}, this one reads up to {VERSION}); not touching it")]
    Newer { found: u32 },
    #[error("damaged: {0}")]
    Damaged(serde_json::Error),
}

/// Reads any version this hull-lab understands.
pub fn parse(text: &str) -> Result<Progress, ProgressError> {
    #[derive(Deserialize)]
    struct Head {
        version: u32,
    }
    let head: Head = serde_json::from_str(text).map_err(ProgressError::NotProgress)?;
    if head.version > VERSION {
        return Err(ProgressError::Newer {
            found: head.version,
        });
    }
    let mut p: Progress = serde_json::from_str(text).map_err(ProgressError::Damaged)?;
    p.version = VERSION;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes_and_ignores_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut p = store.load().unwrap();
        p.lab_mut("namespaces").pass("host-pid");
        p.lab_mut("namespaces").pass("host-pid");
        store.save(&p).unwrap();
        assert_eq!(store.load().unwrap(), p);
        assert_eq!(p.lab("namespaces").passed, ["host-pid"]);
        let newer = r#"{"version":1,"labs":{"x":{"passed":["a"],"stars":3}},"theme":"dark"}"#;
        assert_eq!(parse(newer).unwrap().lab("x").passed, ["a"]);
        assert!(parse(r#"{"version":2}"#)
            .unwrap_err()
            .to_string()
            .contains("newer"));
    }
}
