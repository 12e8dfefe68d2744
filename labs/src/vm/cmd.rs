//! The `hull-lab` commands of the VM backend: `vm build`, `verify --vm`, `start --vm`.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use super::host::{self, Options, VmReport};
use crate::app::{App, EXIT_NOT_YET};

fn say(line: &str) {
    eprintln!("==> {line}");
}

/// `hull-lab vm build`.
pub fn build(app: &App) -> Result<u8> {
    let started = Instant::now();
    let g = host::build(&say)?;
    if app.json {
        app.print_json(&serde_json::json!({
            "kernel": g.kernel.version,
            "package": g.kernel.package,
            "vmlinux": g.kernel.vmlinux(),
            "initramfs": g.initramfs,
            "key": g.key,
            "built": g.built,
            "seconds": started.elapsed().as_secs_f64(),
        }))?;
    } else {
        println!(
            "guest ready in {:.1} s: kernel {} ({}), initramfs {}{}",
            started.elapsed().as_secs_f64(),
            g.kernel.version,
            g.kernel.package,
            g.initramfs.display(),
            if g.built { "" } else { " (cached)" }
        );
    }
    Ok(0)
}

/// `hull-lab verify --vm [ID…] [--jobs N]`.
pub fn verify(
    app: &App,
    dir: Option<&Path>,
    ids: &[String],
    jobs: Option<usize>,
    timeout: u64,
) -> Result<u8> {
    let chosen = app.chosen(ids)?;
    let sources = chosen
        .iter()
        .map(|s| host::source(dir, &s.id))
        .collect::<Result<Vec<_>, _>>()?;
    let ready = host::ready(&say)?;
    let opts = Options {
        jobs: jobs.unwrap_or_else(host::default_jobs),
        timeout: std::time::Duration::from_secs(timeout),
        ..Options::default()
    };
    say(&format!(
        "verifying {} scenario(s), one VM each, {} at once ({})",
        sources.len(),
        opts.jobs,
        ready.accel.name()
    ));
    let started = Instant::now();
    let json = app.json;
    let style = app.style;
    let print = |r: &VmReport| {
        if json {
            return;
        }
        let tag = match r.verdict.as_str() {
            "ok" => style.green("ok     "),
            "skipped" => style.yellow("skipped"),
            _ => style.red("FAILED "),
        };
        let steps = r
            .report
            .as_ref()
            .and_then(|v| v["steps"].as_array())
            .map_or(0, Vec::len);
        println!(
            "{tag} {:<12} vm/{}: {steps} steps, boot to result {:.1} s (guest booted in {:.1} s)",
            r.id,
            r.accel.name(),
            r.boot_to_result_seconds,
            r.guest_boot_seconds
        );
        if let Some(why) = &r.reason {
            println!("        {why}");
        }
        if r.failed() && !r.console_tail.is_empty() {
            println!("        the VM's console, last lines:");
            for l in r.console_tail.lines() {
                println!("        | {l}");
            }
        }
    };
    let reports = host::verify_all(&ready, &opts, &sources, &print);
    let total = started.elapsed().as_secs_f64();
    if json {
        app.print_json(&serde_json::json!({
            "backend": "vm",
            "accel": ready.accel,
            "accel_reason": ready.accel_why,
            "jobs": opts.jobs,
            "seconds": total,
            "scenarios": reports,
        }))?;
    } else {
        println!(
            "{} scenario(s) in {total:.1} s on {} ({}), {} VM(s) at once",
            reports.len(),
            ready.accel.name(),
            ready.accel_why,
            opts.jobs
        );
    }
    Ok(if reports.iter().any(VmReport::failed) {
        EXIT_NOT_YET
    } else {
        0
    })
}

/// `hull-lab start --vm ID`.
pub fn start(app: &App, dir: Option<&Path>, id: &str) -> Result<u8> {
    let s = app.scenario(id)?;
    let src = host::source(dir, &s.id)?;
    let ready = host::ready(&say)?;
    say(&format!(
        "booting a fresh VM ({}) for lab {id}; `exit` leaves the lab and ends the VM",
        ready.accel.name()
    ));
    let ok = host::start(&ready, &src)?;
    Ok(if ok { 0 } else { EXIT_NOT_YET })
}
