//! Who made a temporary file or directory. A `hull` killed in the middle of a command cannot
//! remove what it was writing, so every temporary name carries its maker's *owner tag*,
//! `<pid>.<start time>` (the start time in clock ticks since boot, from `/proc/<pid>/stat`):
//! the next command removes a temporary exactly when the process that made it is gone — never
//! one a live command is still writing, whatever its age. The pair names one process for the
//! life of the machine (a reused pid has another start time).
//!
//! A store is used from one PID namespace: a tag is looked up in this process's `/proc`.

/// This process's owner tag, `<pid>.<start time>`.
pub fn tag() -> String {
    let pid = std::process::id() as i32;
    format!("{pid}.{}", start_time(pid).unwrap_or(0))
}

/// The owner tag in a temporary's name: the first `-`-separated field made of two decimal
/// numbers joined by a dot (`load-1234.56789-0-42` → (1234, 56789)).
pub fn tag_in(name: &str) -> Option<(i32, u64)> {
    name.split('-').find_map(|field| {
        let (pid, start) = field.split_once('.')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(pid) || !digits(start) {
            return None;
        }
        Some((pid.parse().ok()?, start.parse().ok()?))
    })
}

/// Whether `name` carries an owner tag whose process has ended: what it names is left over.
/// A name without a tag is never judged here.
pub fn left_by_dead_process(name: &str) -> bool {
    tag_in(name).is_some_and(|(pid, start)| start_time(pid) != Some(start))
}

/// The start time of a live (not zombie) process, or None.
pub fn start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: parse after the last `)`.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first()?.chars().next()?, 'Z' | 'X' | 'x') {
        return None;
    }
    // After the name, the state (field 3) is index 0, so the start time (field 22) is 19.
    fields.get(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_tag_is_alive_and_found_in_a_name() {
        let tag = tag();
        let name = format!("load-{tag}-0-12345");
        let (pid, start) = tag_in(&name).unwrap();
        assert_eq!(pid, std::process::id() as i32);
        assert_eq!(Some(start), start_time(pid));
        assert!(!left_by_dead_process(&name));
    }

    #[test]
    fn a_tag_with_another_start_time_or_no_process_is_dead() {
        let me = std::process::id();
        let start = start_time(me as i32).unwrap();
        assert!(left_by_dead_process(&format!(
            ".tmp-abcdef012345-{me}.{}-1-2",
            start + 1
        )));
        // pid_max is at most 2^22: this pid never exists.
        assert!(left_by_dead_process("copy-99999999.1-x"));
    }

    #[test]
    fn names_without_a_tag_are_not_judged() {
        for name in [
            "load-1234-0-42",
            "blob",
            ".trash-1-2-3",
            "a.b-c",
            "x-1.-2",
            "x-.1",
        ] {
            assert_eq!(tag_in(name), None, "{name}");
            assert!(!left_by_dead_process(name), "{name}");
        }
    }
}
