//! What a cgroup has used, read from its files on v1 or v2 (the file names differ; each figure
//! comes from whichever of its files exists in one of the container's directories).

use std::path::{Path, PathBuf};

/// Usage figures; zero (or None) where the cgroup has no such file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub memory_usage: u64,
    /// v1 spells "no limit" as a huge number; v2's "max" reads as 0.
    pub memory_limit: u64,
    pub pids: u64,
    /// None when there is no pids limit ("max") or no pids controller.
    pub pids_max: Option<u64>,
    pub cpu_usage_ns: u64,
}

impl Usage {
    /// A fork in the cgroup would fail now.
    pub fn pids_limit_reached(&self) -> bool {
        self.pids_max.is_some_and(|max| self.pids >= max)
    }
}

fn number(p: PathBuf) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// v2's cpu.stat gives microseconds.
fn cpu_stat_ns(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("cpu.stat")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|us| us * 1000)
}

pub fn usage(dirs: &[PathBuf]) -> Usage {
    let mut u = Usage::default();
    for dir in dirs {
        if let Some(v) =
            number(dir.join("memory.usage_in_bytes")).or_else(|| number(dir.join("memory.current")))
        {
            u.memory_usage = v;
        }
        if let Some(v) =
            number(dir.join("memory.limit_in_bytes")).or_else(|| number(dir.join("memory.max")))
        {
            u.memory_limit = v;
        }
        if let Some(v) = number(dir.join("pids.current")) {
            u.pids = v;
        }
        if let Some(v) = number(dir.join("pids.max")) {
            u.pids_max = Some(v);
        }
        if let Some(v) = number(dir.join("cpuacct.usage")).or_else(|| cpu_stat_ns(dir)) {
            u.cpu_usage_ns = v;
        }
    }
    u
}
