//! Processes: alive or not, and the fields of /proc/PID/status.

use procfs::process::Process;

/// True when `pid` is a zombie (or dead, not yet reaped: state `Z` or `X`).
pub fn is_zombie(pid: i32) -> bool {
    Process::new(pid)
        .and_then(|p| p.stat())
        .is_ok_and(|s| matches!(s.state, 'Z' | 'X'))
}

/// True when `pid` is gone or a zombie.
pub fn is_gone(pid: i32) -> bool {
    match Process::new(pid).and_then(|p| p.stat()) {
        Err(_) => true,
        Ok(s) => matches!(s.state, 'Z' | 'X'),
    }
}

/// The live pids of the machine (our PID namespace), this process excluded.
pub fn other_pids() -> Vec<i32> {
    let me = std::process::id() as i32;
    procfs::process::all_processes()
        .map(|all| {
            all.flatten()
                .map(|p| p.pid)
                .filter(|pid| *pid != me)
                .collect()
        })
        .unwrap_or_default()
}

/// The value of field `key` (e.g. "NSpid") in a /proc/PID/status text (the container's own,
/// read from inside it, so not parsed by procfs here).
pub fn status_field(status_text: &str, key: &str) -> Option<String> {
    status_text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.trim().to_string())
    })
}
