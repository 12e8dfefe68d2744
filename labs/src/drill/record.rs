//! What a drill session leaves: `drills.json` beside the labs' progress file, with every
//! attempt's time, hints and transcript. A separate file, so the labs' progress format and
//! this one change independently.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 1;
const FILE: &str = "drills.json";
/// What each hint adds to the time taken.
pub const HINT_PENALTY_SECS: u64 = 60;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log {
    pub version: u32,
    /// Drill id → attempts, oldest first.
    #[serde(default)]
    pub drills: BTreeMap<String, Vec<Attempt>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Unix seconds.
    pub started: u64,
    /// Wall-clock seconds from the symptom to the passing check (or to giving up).
    pub seconds: u64,
    pub hints: usize,
    pub passed: bool,
    /// The commands typed in the drill's shell, in order.
    #[serde(default)]
    pub transcript: Vec<String>,
}

impl Attempt {
    /// The time that counts: wall-clock plus a penalty per hint.
    pub fn scored_seconds(&self) -> u64 {
        self.seconds + self.hints as u64 * HINT_PENALTY_SECS
    }
}

impl Log {
    /// The best passing attempt of a drill, by scored time.
    pub fn best(&self, id: &str) -> Option<&Attempt> {
        self.drills
            .get(id)?
            .iter()
            .filter(|a| a.passed)
            .min_by_key(|a| a.scored_seconds())
    }

    pub fn last(&self, id: &str) -> Option<&Attempt> {
        self.drills.get(id)?.last()
    }
}

/// `drills.json` in a state directory.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: &Path) -> Store {
        Store {
            dir: dir.to_path_buf(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    pub fn load(&self) -> io::Result<Log> {
        match std::fs::read_to_string(self.path()) {
            Ok(text) => {
                let log: Log = serde_json::from_str(&text).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {e}", self.path().display()),
                    )
                })?;
                if log.version > VERSION {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: written by a newer hull-lab", self.path().display()),
                    ));
                }
                Ok(log)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Log {
                version: VERSION,
                ..Log::default()
            }),
            Err(e) => Err(e),
        }
    }

    /// Adds an attempt; written atomically (a temporary file renamed into place).
    pub fn add(&self, id: &str, attempt: Attempt) -> io::Result<()> {
        let mut log = self.load()?;
        log.version = VERSION;
        log.drills.entry(id.to_owned()).or_default().push(attempt);
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(".{FILE}.{}", std::process::id()));
        let mut json = serde_json::to_string_pretty(&log).map_err(io::Error::other)?;
        json.push('\n');
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, self.path())
    }
}

/// `1m05s`.
pub fn clock(secs: u64) -> String {
    format!("{}m{:02}s", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_kept_and_the_best_counts_hints() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let a = |seconds, hints, passed| Attempt {
            started: 1,
            seconds,
            hints,
            passed,
            transcript: vec!["hull ps -a".into()],
        };
        store.add("oom-loop", a(100, 2, true)).unwrap();
        store.add("oom-loop", a(200, 0, true)).unwrap();
        store.add("oom-loop", a(10, 0, false)).unwrap();
        let log = store.load().unwrap();
        assert_eq!(log.drills["oom-loop"].len(), 3);
        // 100 s + 2 hints = 220 s scored: the hintless 200 s is better.
        assert_eq!(log.best("oom-loop").unwrap().seconds, 200);
        assert!(!log.last("oom-loop").unwrap().passed);
        assert_eq!(clock(65), "1m05s");
    }
}
