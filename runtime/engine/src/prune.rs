//! `hull image prune` and `hull container prune`, with Docker's output: the removed objects
//! under a heading, then "Total reclaimed space: SIZE" in Docker's decimal units.

use std::collections::HashSet;
use std::path::Path;

use super::error::Result;
use super::{ops, Engine};

/// What a prune removed: the lines under its heading, and the bytes it freed.
#[derive(Debug, Default)]
pub struct Pruned {
    pub lines: Vec<String>,
    pub freed: u64,
}

impl Pruned {
    /// Docker's report: `heading` and the lines (only when something went), then the total.
    pub fn report(&self, heading: &str) -> String {
        let mut s = String::new();
        if !self.lines.is_empty() {
            s.push_str(heading);
            s.push('\n');
            for l in &self.lines {
                s.push_str(l);
                s.push('\n');
            }
            s.push('\n');
        }
        s.push_str(&format!(
            "Total reclaimed space: {}\n",
            human_size(self.freed)
        ));
        s
    }
}

/// Docker's `units.HumanSize`: four significant digits, decimal units (`8B`, `1.98MB`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    // Go's %.4g: four significant digits, trailing zeros dropped.
    let digits = if v >= 100.0 {
        1
    } else if v >= 10.0 {
        2
    } else {
        3
    };
    let text = format!("{v:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{}", UNITS[i])
}

/// `hull image prune [-a]`: dangling images (untagged, no children), or with `all` every
/// image no container uses; each removed as `rmi` would (with the untagged parents it
/// leaves), until nothing more qualifies.
pub fn images(engine: &Engine, all: bool) -> Result<Pruned> {
    let used: HashSet<String> = engine.list()?.into_iter().map(|r| r.image).collect();
    let mut pruned = Pruned::default();
    loop {
        let candidates: Vec<_> = engine
            .store
            .prune_candidates(all)?
            .into_iter()
            .filter(|i| !used.contains(&i.id))
            .collect();
        if candidates.is_empty() {
            break;
        }
        for image in candidates {
            let removal = engine
                .store
                .remove_image(&image.id, true, &|id| used.contains(id))?;
            pruned
                .lines
                .extend(removal.lines.iter().map(|l| lowercase_verb(l)));
            pruned.freed += removal.freed;
        }
    }
    Ok(pruned)
}

/// Docker's prune lists `untagged: …` / `deleted: …` where `rmi` says `Untagged:`/`Deleted:`.
fn lowercase_verb(line: &str) -> String {
    let mut c = line.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `hull container prune`: every container that is not running, removed as `rm` does; the
/// freed space is what their own (upper) directories held.
pub fn containers(engine: &Engine) -> Result<Pruned> {
    let mut pruned = Pruned::default();
    for r in engine.list()?.into_iter().filter(|r| !r.state.running) {
        let size = tree_size(&engine.container_dir(&r.id).join("upper"));
        ops::remove(engine, &r, false, false)?;
        pruned.lines.push(r.id.clone());
        pruned.freed += size;
    }
    Ok(pruned)
}

/// The bytes of the regular files below `dir`, never following a symlink.
fn tree_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_docker_prints_them() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(8), "8B");
        assert_eq!(human_size(1_980_000), "1.98MB");
        assert_eq!(human_size(12_345), "12.35kB");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(2_000_000_000), "2GB");
    }

    #[test]
    fn an_empty_prune_prints_only_the_total() {
        assert_eq!(
            Pruned::default().report("Deleted Images:"),
            "Total reclaimed space: 0B\n"
        );
        let p = Pruned {
            lines: vec!["deleted: sha256:aa".into()],
            freed: 8,
        };
        assert_eq!(
            p.report("Deleted Images:"),
            "Deleted Images:\ndeleted: sha256:aa\n\nTotal reclaimed space: 8B\n"
        );
    }
}
