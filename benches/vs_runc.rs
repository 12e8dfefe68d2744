//! `hullrt run` against `runc run`: the same busybox `/bin/true` bundle, N runs of each,
//! interleaved (hullrt, runc, runc, hullrt, ...), each runtime with its own `--root`.
//! Prints the median and p90 wall time of each and the ratio of the medians.
//!
//!     sudo cargo bench --bench vs_runc            # N = 30
//!     sudo HULL_BENCH_N=100 cargo bench --bench vs_runc
//!
//! `$HULL_BENCH_RUNTIME` replaces the built hullrt, `$HULL_BENCH_RUNC` the runc found on PATH.
//! Without `--bench` (e.g. `cargo test --benches`) it does one run of each, as a smoke test.

mod common;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use common::{Bundle, Runtime};

const NAME: &str = "vs_runc";

fn usage() {
    println!(
        "{NAME}: compares `hullrt run` with `runc run` (busybox /bin/true, wall time)\n\
         usage: cargo bench --bench {NAME}   (as root)\n\
         env:   HULL_BENCH_N (runs of each, default 30), HULL_BENCH_RUNTIME (instead of the\n\
         \x20      built hullrt), HULL_BENCH_RUNC (instead of runc on PATH)"
    );
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--help") || has("-h") {
        usage();
        return ExitCode::SUCCESS;
    }
    if has("--list") {
        println!("{NAME}: bench");
        return ExitCode::SUCCESS;
    }
    // `cargo bench FILTER` passes FILTER to every bench binary: stay quiet unless it is ours.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|f| NAME.contains(f.as_str())) {
        return ExitCode::SUCCESS;
    }
    let bench_mode = has("--bench");
    let n = if bench_mode {
        match std::env::var("HULL_BENCH_N") {
            Ok(v) => match v.parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    eprintln!("{NAME}: HULL_BENCH_N={v} is not a positive number");
                    return ExitCode::FAILURE;
                }
            },
            Err(_) => 30,
        }
    } else {
        1
    };

    let hullrt = match common::hullrt() {
        Ok(p) => p,
        Err(why) => {
            println!("{NAME}: skipped: {why}");
            return ExitCode::SUCCESS;
        }
    };
    let runc = match std::env::var_os("HULL_BENCH_RUNC").filter(|p| !p.is_empty()) {
        Some(p) if std::path::Path::new(&p).is_file() => std::path::PathBuf::from(p),
        Some(p) => {
            println!(
                "{NAME}: comparison skipped: HULL_BENCH_RUNC={} is not a file",
                p.to_string_lossy()
            );
            return ExitCode::SUCCESS;
        }
        None => match common::find_program("runc") {
            Some(p) => p,
            None => {
                println!(
                    "{NAME}: comparison skipped: runc is not installed (not on PATH nor in \
                     /usr/sbin); install it (apt-get install runc) or set HULL_BENCH_RUNC"
                );
                return ExitCode::SUCCESS;
            }
        },
    };
    if !common::is_root() {
        println!("{NAME}: skipped: containers need root (run cargo bench as root)");
        return ExitCode::SUCCESS;
    }

    let runtimes = [Runtime::new(hullrt), Runtime::new(runc)];
    let profile = common::default_seccomp_profile();
    if profile.is_none() {
        println!(
            "{NAME}: no /usr/share/containers/seccomp.json (apt-get install \
             golang-github-containers-common): comparing without a seccomp profile only"
        );
    }
    for (label, seccomp) in [
        ("no seccomp", None),
        ("default seccomp profile", profile.as_ref()),
    ] {
        if label != "no seccomp" && seccomp.is_none() {
            continue;
        }
        if let Err(code) = compare(&runtimes, label, seccomp, n, bench_mode) {
            return code;
        }
    }
    ExitCode::SUCCESS
}

/// N interleaved runs of each runtime with one bundle; prints the medians and their ratio.
fn compare(
    runtimes: &[Runtime; 2],
    label: &str,
    seccomp: Option<&serde_json::Value>,
    n: usize,
    bench_mode: bool,
) -> Result<(), ExitCode> {
    let bundle = Bundle::with_seccomp(NAME, &["/bin/true"], seccomp);
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let warmup = if bench_mode { 2 } else { 0 };
    for i in 0..warmup + n {
        // Alternate who goes first, so neither always runs right after the other.
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            match run_once(&runtimes[k], &bundle, i) {
                Ok(t) if i >= warmup => times[k].push(t),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("{NAME}: {label}: {e}");
                    return Err(ExitCode::FAILURE);
                }
            }
        }
    }
    drop(bundle);

    if !bench_mode {
        println!(
            "{NAME}: {label}: ok (smoke test: one run each; `cargo bench --bench {NAME}` compares)"
        );
        return Ok(());
    }
    let labels: Vec<String> = runtimes.iter().map(Runtime::name).collect();
    let labels = if labels[0] == labels[1] {
        vec![format!("{} (A)", labels[0]), format!("{} (B)", labels[1])]
    } else {
        labels
    };
    println!(
        "{NAME}: `run` of a busybox /bin/true container ({label}), {n} runs each, interleaved"
    );
    let mut medians = [0.0; 2];
    for k in 0..2 {
        times[k].sort();
        medians[k] = ms(percentile(&times[k], 50));
        println!(
            "  {:<12} median {:>8.2} ms   p90 {:>8.2} ms   {}",
            labels[k],
            medians[k],
            ms(percentile(&times[k], 90)),
            runtimes[k].bin.display()
        );
    }
    if runtimes[0]
        .bin
        .components()
        .any(|c| c.as_os_str() == "debug")
    {
        println!(
            "  note: {} is a debug build; cargo build --release -p hullrt -p hull for fair numbers",
            runtimes[0].bin.display()
        );
    }
    println!(
        "  {}/{} (medians): {:.2}",
        labels[0],
        labels[1],
        medians[0] / medians[1]
    );
    Ok(())
}

/// `run --bundle B ID` to the end; its wall time. Removes the container if it is left behind.
fn run_once(rt: &Runtime, bundle: &Bundle, i: usize) -> Result<Duration, String> {
    let id = format!("{}-{}-{i}", common::cgroup_prefix(), rt.name());
    let bundle_path = bundle.path().to_str().expect("bundle path is not UTF-8");
    let start = Instant::now();
    let result = rt.exec(&["run", "--bundle", bundle_path, &id], false);
    let took = start.elapsed();
    rt.force_delete(&id);
    result?;
    Ok(took)
}

/// The nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
