//! How long `hull run --rm busybox true` takes, end to end: resolve the image, create the
//! container's record and overlay, write the bundle, run it through the runtime, wait, record
//! the exit and remove everything again.
//!
//!     sudo cargo bench --bench hull_run
//!
//! The binary is `$HULL_BENCH_HULL`, else the `hull` cargo built (`target/release`, else
//! `target/debug`: build it first). Every iteration uses one temporary `HULL_ROOT`; the busybox
//! image is made there once, before measuring.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, SamplingMode};

/// Environment variable naming the `hull` binary to bench instead of the built one.
const HULL_ENV: &str = "HULL_BENCH_HULL";

/// `$HULL_BENCH_HULL`, else `hull` next to this bench (`target/{release,debug}/hull`).
fn hull_bin() -> Result<PathBuf, String> {
    common::built_binary("hull", HULL_ENV)
}

/// A temporary `HULL_ROOT`; on drop, removes any container left by a failed iteration and any
/// mount still under it, then the directory.
struct Root {
    bin: PathBuf,
    dir: tempfile::TempDir,
}

impl Root {
    fn new(bin: PathBuf) -> Root {
        let dir = tempfile::Builder::new()
            .prefix("hull-bench-root-")
            .tempdir()
            .expect("cannot create a temporary HULL_ROOT");
        Root { bin, dir }
    }

    fn hull(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.bin)
            .args(args)
            .env("HULL_ROOT", self.dir.path())
            // The machine's own network namespace: no bridge, no nft rules (dockerd --bridge=none).
            .env("HULL_BRIDGE", "none")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()))
    }

    /// One `hull run --rm busybox true`, which must succeed.
    fn run_true(&self) {
        let out = self.hull(&["run", "--rm", "busybox", "true"]);
        assert!(
            out.status.success(),
            "hull run --rm busybox true failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| m.starts_with(dir))
        .collect()
}

impl Drop for Root {
    fn drop(&mut self) {
        let ids = self.hull(&["ps", "-aq"]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            let _ = self.hull(&["rm", "-f", id]);
        }
        let mut mounts = mounts_under(self.dir.path());
        mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
        for m in mounts {
            let _ = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();

    let bin = match hull_bin() {
        Ok(bin) => bin,
        Err(why) => {
            eprintln!("hull_run: skipped: {why}");
            return;
        }
    };
    if !nix::unistd::geteuid().is_root() {
        eprintln!("hull_run: skipped: containers need root (run cargo bench as root)");
        return;
    }
    eprintln!("hull_run: hull {}", bin.display());

    let mut root: Option<Root> = None; // made on first use, so `--list` makes nothing
    let mut group = c.benchmark_group("hull_run");
    // One run takes tens of milliseconds: the same few iterations per sample, not a ramp.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("run-rm-busybox-true", |b| {
        let root = root.get_or_insert_with(|| {
            let r = Root::new(bin.clone());
            r.run_true(); // makes the busybox image, outside the measurement
            r
        });
        b.iter(|| root.run_true());
    });
    group.finish();
    drop(root);
    c.final_summary();
}
