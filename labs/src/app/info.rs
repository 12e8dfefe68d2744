//! `list`, `progress`, `hint`, `solution`, `reset` and `verify`.

use std::io::IsTerminal;

use anyhow::{bail, Result};
use serde::Serialize;

use super::{close_active, session, App, EXIT_NOT_YET};
use crate::schema::{Level, Scenario};
use crate::ui;
use crate::verify::{self, Verdict};

#[derive(Serialize)]
struct LabLine<'a> {
    id: &'a str,
    title: &'a str,
    chapter: &'a str,
    level: Level,
    minutes: u32,
    needs_network: bool,
    steps: usize,
    passed: usize,
    status: &'static str,
    open: bool,
}

fn lines(app: &App) -> Result<Vec<LabLine<'_>>> {
    let p = app.load_progress()?;
    Ok(app
        .scenarios
        .iter()
        .map(|s| {
            let lp = p.lab(&s.id);
            let passed = lp.done(s);
            LabLine {
                id: &s.id,
                title: &s.title,
                chapter: &s.chapter,
                level: s.level,
                minutes: s.minutes,
                needs_network: s.needs_network(),
                steps: s.steps.len(),
                passed,
                status: if passed == s.steps.len() {
                    "done"
                } else if passed > 0 || lp.at.is_some() {
                    "in progress"
                } else {
                    "not started"
                },
                open: p.active.as_ref().is_some_and(|a| a.lab == s.id),
            }
        })
        .collect())
}

/// `list`: the labs, with their status and progress.
pub fn list(app: &App) -> Result<u8> {
    let lines = lines(app)?;
    if app.json {
        app.print_json(&lines)?;
        return Ok(0);
    }
    let w = lines.iter().map(|l| l.id.len()).max().unwrap_or(0);
    for l in &lines {
        let level = format!("{:?}", l.level).to_lowercase();
        let mut extra = String::new();
        if l.needs_network {
            extra.push_str("  (uses networking)");
        }
        if l.open {
            extra.push_str("  (open)");
        }
        println!(
            "{:<w$}  {}  {:<12} {:<13} {:>3} min  {}{}",
            l.id,
            ui::bar(l.passed, l.steps, 8),
            level,
            l.status,
            l.minutes,
            l.title,
            app.style.dim(&extra),
        );
    }
    println!(
        "\n{}",
        app.style
            .dim("hull-lab start ID opens a lab in a fresh sandbox.")
    );
    let caps = match crate::sandbox::cgroup::Limits::from_env() {
        Ok(l) => l.describe(),
        Err(e) => format!("unusable: {e}"),
    };
    println!(
        "{}",
        app.style.dim(&format!(
            "Each sandbox may use {caps} (${}, ${} change it).",
            crate::sandbox::cgroup::ENV_MEMORY,
            crate::sandbox::cgroup::ENV_PIDS
        ))
    );
    let (capped, why) = crate::sandbox::cgroup::enforceable();
    if let Some(warning) = capped.warning(&why) {
        println!("{}", app.style.yellow(&warning));
    }
    Ok(0)
}

/// `progress`: how far the learner got, lab by lab.
pub fn progress(app: &App) -> Result<u8> {
    let lines = lines(app)?;
    if app.json {
        app.print_json(&lines)?;
        return Ok(0);
    }
    let (done, total) = lines
        .iter()
        .fold((0, 0), |(d, t), l| (d + l.passed, t + l.steps));
    println!(
        "{} {}",
        app.style.bold("All labs"),
        ui::bar(done, total, 30)
    );
    for l in &lines {
        println!(
            "  {:<12} {} {}",
            l.id,
            ui::bar(l.passed, l.steps, 16),
            app.style.dim(l.status)
        );
    }
    println!(
        "{}",
        app.style
            .dim(&format!("(kept in {})", app.store.path().display()))
    );
    Ok(0)
}

/// `hint`: the next hint of the current step.
pub fn hint(app: &App) -> Result<u8> {
    let sess = session(app)?;
    let s = app.scenario(&sess.lab)?;
    let mut p = app.load_progress()?;
    let Some(i) = p.lab(&s.id).current(s) else {
        bail!("all steps of {} passed: no hints left to give", s.id);
    };
    let step = &s.steps[i];
    let shown = p.lab(&s.id).hints.get(&step.id).copied().unwrap_or(0);
    if step.hints.is_empty() || shown >= step.hints.len() {
        println!(
            "No more hints for this step. `hull-lab solution` shows a solution (after asking)."
        );
        return Ok(0);
    }
    let n = shown + 1;
    p.lab_mut(&s.id).hints.insert(step.id.clone(), n);
    app.save_progress(&p)?;
    if app.json {
        app.print_json(&serde_json::json!({"step": step.id, "hint": n, "of": step.hints.len(), "text": step.hints[shown]}))?;
    } else {
        println!(
            "{} {}",
            app.style.bold(&format!("Hint {n}/{}:", step.hints.len())),
            step.hints[shown].trim()
        );
    }
    Ok(0)
}

/// `solution [ID]`: a lab id (its current step), or a step of the open lab.
pub fn solution(app: &App, id: Option<&str>, yes: bool) -> Result<u8> {
    let p = app.load_progress()?;
    let (s, i): (&Scenario, usize) = match id {
        Some(id) if app.scenarios.iter().any(|s| s.id == id) => {
            let s = app.scenario(id)?;
            (s, p.lab(id).current(s).unwrap_or(s.steps.len() - 1))
        }
        other => {
            let s = app.scenario(&session(app)?.lab)?;
            let i = match other {
                Some(step) => s
                    .step_index(step)
                    .or_else(|| {
                        step.parse::<usize>()
                            .ok()
                            .filter(|n| (1..=s.steps.len()).contains(n))
                            .map(|n| n - 1)
                    })
                    .ok_or_else(|| {
                        anyhow::anyhow!("no lab and no step of {} is called {step:?}", s.id)
                    })?,
                None => p.lab(&s.id).current(s).unwrap_or(s.steps.len() - 1),
            };
            (s, i)
        }
    };
    let step = &s.steps[i];
    let question = format!(
        "Show the solution of {} step {} ({})? Trying first teaches more.",
        s.id,
        i + 1,
        step.title
    );
    if !super::terminal::confirm(&question, yes, "pass --yes")? {
        println!("Not shown.");
        return Ok(0);
    }
    if app.json {
        app.print_json(
            &serde_json::json!({"lab": s.id, "step": step.id, "commands": step.solution}),
        )?;
    } else {
        println!(
            "{}",
            app.style
                .bold(&format!("{} · step {}: {}", s.id, i + 1, step.title))
        );
        for c in &step.solution {
            println!("  $ {}", c.trim_end().replace('\n', "\n    "));
        }
    }
    Ok(0)
}

/// `reset [ID]`: forgets a lab's progress and removes its open sandbox.
pub fn reset(app: &App, id: Option<&str>, yes: bool) -> Result<u8> {
    let id = match id {
        Some(id) => id.to_owned(),
        None => session(app)?.lab,
    };
    app.scenario(&id)?;
    let mut p = app.load_progress()?;
    let done = p.lab(&id).passed.len();
    let elsewhere = super::open_elsewhere(&p)
        .filter(|(lab, _)| *lab == id)
        .map_or(String::new(), |(_, o)| {
            format!(
                " It is open in another terminal (hull-lab, PID {}): its shell closes.",
                o.pid
            )
        });
    let question = format!(
        "Forget your progress in lab {id} ({done} step{} passed) and remove its sandbox?{elsewhere}",
        if done == 1 { "" } else { "s" }
    );
    if !super::terminal::confirm(&question, yes, "pass --yes")? {
        println!("Nothing changed.");
        return Ok(0);
    }
    if p.active.as_ref().is_some_and(|a| a.lab == id) {
        close_active(
            app,
            &mut p,
            &format!("`hull-lab reset {id}` in another terminal wiped its progress"),
            true,
        )?;
    }
    p.labs.remove(&id);
    app.save_progress(&p)?;
    println!("Lab {id} starts over: `hull-lab start {id}`.");
    Ok(0)
}

/// `verify [ID…] [--repeat N]`: every selected scenario in fresh sandboxes.
pub fn verify(app: &App, ids: &[String], repeat: usize) -> Result<u8> {
    let chosen = app.chosen(ids)?;
    let hull = app.hull()?;
    let (capped, why) = crate::sandbox::cgroup::enforceable();
    if let Some(warning) = capped.warning(&why) {
        eprintln!("{}", app.style.yellow(&warning));
    }
    let mut reports = Vec::new();
    for round in 1..=repeat.max(1) {
        // The labs at once, each in its own sandboxes: most of verifying is waiting (for a
        // stop's timeout, a server to listen), so they overlap well. Reported as they finish.
        let done = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for s in &chosen {
                let (hull, done) = (&hull, &done);
                scope.spawn(move || {
                    let r = verify::verify(hull, s);
                    if !app.json {
                        print!("{}", verify_line(app, &r, repeat, round));
                    }
                    if let Ok(mut d) = done.lock() {
                        d.push(r);
                    }
                });
            }
        });
        let mut done = done.into_inner().unwrap_or_default();
        done.sort_by_key(|r| chosen.iter().position(|s| s.id == r.id));
        reports.append(&mut done);
    }
    if app.json {
        app.print_json(&reports)?;
    }
    Ok(if reports.iter().any(|r| r.verdict == Verdict::Failed) {
        EXIT_NOT_YET
    } else {
        0
    })
}

/// One lab's verdict, and the detail of what went wrong.
fn verify_line(app: &App, r: &verify::ScenarioReport, repeat: usize, round: usize) -> String {
    let tag = match r.verdict {
        Verdict::Ok => app.style.green("ok     "),
        Verdict::Failed => app.style.red("FAILED "),
        Verdict::Skipped => app.style.yellow("skipped"),
    };
    let rounds = if repeat > 1 {
        format!(" (round {round})")
    } else {
        String::new()
    };
    let wrong: usize = r
        .steps
        .iter()
        .map(|st| st.wrong.iter().filter(|w| w.skipped.is_none()).count())
        .sum();
    let mut out = format!(
        "{tag} {:<12} {} steps, {wrong} wrong attempts rejected, {:.1} s{rounds}\n",
        r.id,
        r.steps.len(),
        r.seconds
    );
    if let Some(why) = &r.reason {
        out.push_str(&format!("        {why}\n"));
    }
    if r.verdict == Verdict::Failed {
        out.push_str(&detail(app, r));
    }
    out
}

/// The checks and commands of the phase that went wrong.
pub fn detail(app: &App, r: &verify::ScenarioReport) -> String {
    let mut out = String::new();
    for st in &r.steps {
        let mut phases = vec![("before the solution", &st.before)];
        phases.extend(
            st.wrong
                .iter()
                .filter_map(|w| w.phase.as_ref().map(|p| (w.name.as_str(), p))),
        );
        phases.push(("after the solution", &st.after));
        for (name, p) in phases.into_iter().filter(|(_, p)| !p.ok) {
            out.push_str(&format!("        step {} — {name}:\n", st.id));
            for ran in &p.ran {
                let code = ran.exit_code.map_or("timed out".into(), |c| c.to_string());
                out.push_str(&format!(
                    "          $ {} → {code} {}\n",
                    ran.command.lines().next().unwrap_or(""),
                    ran.stderr.lines().next().unwrap_or("")
                ));
            }
            out.push_str(&ui::checks(app.style, &p.checks));
        }
    }
    out
}

/// `true` when stdout shows people the output (used by `watch`).
pub fn interactive() -> bool {
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}
