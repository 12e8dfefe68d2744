//! What a killed `hull` left, found and removed by the next one (every command opens the
//! engine, and opening sweeps). A command killed at any moment leaves either a container that
//! `ps -a` shows and `rm -f` removes, or work in flight under `tmp/` ([`crate::scratch`])
//! whose owner tag names a process that has ended — removed here: a RUN step is taken down
//! (its processes, cgroups and runtime state through the runtime's forced delete, then its
//! rootfs mount), anything else deleted. A runtime state no container or live RUN step
//! accounts for (a removal killed half-way) is deleted too. The image store sweeps its own
//! temporaries when it opens.

use std::collections::BTreeSet;
use std::path::Path;

use hull_image::owner;

use super::{record, scratch, Engine};

/// Removes what killed commands left under `engine`'s root. Best effort: what cannot be
/// removed now stays for the next command, and never fails the command that found it.
pub(crate) fn sweep(engine: &Engine) {
    // Runtime states first: one made after this listing belongs to a container or RUN step
    // whose directory exists already when the listings below are read.
    let states = names_in(&engine.runtime_root());
    let tmp = engine.root.join(scratch::DIR);
    let entries = names_in(&tmp);
    let dead: Vec<&String> = entries
        .iter()
        .filter(|n| owner::left_by_dead_process(n))
        .collect();
    let mut steps: BTreeSet<&str> = BTreeSet::new();
    for n in &entries {
        if let Some(("build", id)) = scratch::parse(n) {
            steps.insert(id);
        }
    }
    let containers = names_in(&engine.containers_dir());
    let orphans: Vec<&String> = states
        .iter()
        .filter(|id| is_id(id) && !containers.contains(*id) && !steps.contains(id.as_str()))
        .collect();
    if dead.is_empty() && orphans.is_empty() {
        return;
    }
    // Under the records lock: a RUN step's guard, cleaning the same step, waits for us.
    let Ok(_lock) = record::lock(&engine.root) else {
        return;
    };
    for n in dead {
        let path = tmp.join(n);
        match scratch::parse(n) {
            Some(("build", id)) => take_down_step(&engine.root, id, &path),
            _ => {
                let _ = scratch::remove_entry(&path);
            }
        }
    }
    for id in orphans {
        let _ = hull_oci::container::delete::delete(&engine.runtime_root(), id, true);
    }
}

/// Takes a RUN step down, whatever state its build left it in: the container (processes,
/// cgroups, runtime state), then the rootfs mount and the directory. The caller holds the
/// records lock. If the runtime state cannot be deleted the directory stays, so that the next
/// command tries again.
pub(crate) fn take_down_step(root: &Path, id: &str, dir: &Path) {
    if !dir.exists() {
        return;
    }
    let runtime = root.join("runtime");
    if hull_oci::container::delete::delete(&runtime, id, true).is_err() {
        return;
    }
    let _ = scratch::remove_entry(dir);
}

/// A container's or RUN step's id: 64 hex digits (the runtime root also holds caches).
fn is_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tag naming this process with another start time: a process that has ended.
    fn dead_tag() -> String {
        let me = std::process::id() as i32;
        format!("{me}.{}", owner::start_time(me).unwrap() + 1)
    }

    #[test]
    fn opening_removes_work_of_ended_processes_and_states_of_no_container() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let engine = Engine::open(root).unwrap();
        let id = |c: char| c.to_string().repeat(64);
        let dead = dead_tag();
        let live = owner::tag();
        let work = root.join(scratch::DIR);
        let entries = [
            (format!("new-{dead}-{}", id('1')), false),
            (format!("rm-{dead}-{}", id('2')), false),
            (format!("copy-{dead}-0123456789ab"), false),
            (format!("build-{dead}-{}", id('3')), false),
            (format!("new-{live}-{}", id('4')), true),
            (format!("build-{live}-{}", id('5')), true),
        ];
        for (e, _) in &entries {
            std::fs::create_dir_all(work.join(e).join("upper")).unwrap();
        }
        std::fs::write(work.join(format!("file-{dead}-0123456789ab")), "{}").unwrap();
        // Runtime states: of a container (kept), of the live RUN step (kept), of the dead RUN
        // step and of nothing (removed); a cache that is no state (kept).
        std::fs::create_dir_all(engine.container_dir(&id('6'))).unwrap();
        for state in [id('6'), id('5'), id('3'), id('7'), "@seccomp-cache".into()] {
            std::fs::create_dir_all(engine.runtime_root().join(state)).unwrap();
        }
        drop(engine);
        let engine = Engine::open(root).unwrap();
        for (e, kept) in &entries {
            assert_eq!(work.join(e).exists(), *kept, "{e}");
        }
        assert!(!work.join(format!("file-{dead}-0123456789ab")).exists());
        let states = names_in(&engine.runtime_root());
        let want: BTreeSet<String> = [id('6'), id('5'), "@seccomp-cache".into()].into();
        assert_eq!(states, want);
    }
}
