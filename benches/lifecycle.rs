//! How long one container's whole life takes with `hullrt`:
//! `create` → `start` → poll `state` until `stopped` → `delete`, for a busybox `/bin/true`.
//!
//!     sudo cargo bench --bench lifecycle
//!
//! The runtime is `$HULL_BENCH_RUNTIME`, else the `hullrt` cargo built (`target/release`, else
//! `target/debug`: build it first). Each iteration uses a new container id, all of them under
//! one temporary `--root`; the bundle's cgroup is relative (below the bench's own cgroup).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, SamplingMode};

use common::{Bundle, Runtime};

/// The runtime, its bundle and the container that may still exist if an iteration failed.
struct Lifecycle {
    rt: Runtime,
    bundle: Bundle,
    next: AtomicUsize,
    live: Option<String>,
}

impl Lifecycle {
    fn new(bin: std::path::PathBuf) -> Lifecycle {
        Lifecycle {
            rt: Runtime::new(bin),
            bundle: Bundle::new("lifecycle", &["/bin/true"]),
            next: AtomicUsize::new(0),
            live: None,
        }
    }

    fn once(&mut self) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{n}", common::cgroup_prefix());
        let bundle = self
            .bundle
            .path()
            .to_str()
            .expect("bundle path is not UTF-8");
        self.live = Some(id.clone());
        self.rt.must(&["create", "--bundle", bundle, &id], false);
        self.rt.must(&["start", &id], false);
        self.rt.wait_stopped(&id, Duration::from_secs(20));
        self.rt.must(&["delete", &id], false);
        self.live = None;
    }
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        if let Some(id) = self.live.take() {
            self.rt.force_delete(&id);
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();

    let bin = match common::hullrt() {
        Ok(bin) => bin,
        Err(why) => {
            eprintln!("lifecycle: skipped: {why}");
            return;
        }
    };
    if !common::is_root() {
        eprintln!("lifecycle: skipped: containers need root (run cargo bench as root)");
        return;
    }
    eprintln!("lifecycle: runtime {}", bin.display());

    let mut env: Option<Lifecycle> = None; // built on first use, so `--list` builds nothing
    let mut group = c.benchmark_group("lifecycle");
    // One container takes milliseconds: the same few iterations per sample, not a ramp.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("create-start-wait-delete", |b| {
        let env = env.get_or_insert_with(|| Lifecycle::new(bin.clone()));
        b.iter(|| env.once());
    });
    group.finish();
    drop(env);
    c.final_summary();
}
