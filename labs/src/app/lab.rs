//! `start`, `goto` and `check`: opening a lab in a fresh sandbox at a step, and grading it.

use anyhow::{Context, Result};

use super::{
    attach, close_active, session, shell, take_closed_reason, App, EXIT_ENV, EXIT_NOT_YET,
};
use crate::check::{grade_step, step_status, StepStatus};
use crate::progress::{Active, Owner};
use crate::runner;
use crate::sandbox::Sandbox;
use crate::schema::Scenario;
use crate::ui::{self, AttemptReport, StepReport};

/// `start ID`: a fresh sandbox at the learner's step (earlier steps replayed), then the shell.
pub fn start(app: &App, id: &str, keep: bool) -> Result<u8> {
    let s = app.scenario(id)?;
    let p = app.load_progress()?;
    let Some(at) = p.lab(id).current(s) else {
        println!(
            "You finished {} ({} steps). `hull-lab reset {id}` to do it again, `hull-lab goto STEP` to revisit a step.",
            s.title,
            s.steps.len()
        );
        return Ok(0);
    };
    open(app, s, at, keep)
}

/// `goto STEP`: a fresh sandbox fast-forwarded to STEP (a step id or its number).
pub fn goto(app: &App, lab: Option<&str>, step: &str, keep: bool) -> Result<u8> {
    let lab = match lab {
        Some(l) => l.to_owned(),
        None => session(app)
            .map(|s| s.lab)
            .context("say which lab: hull-lab goto STEP --lab ID")?,
    };
    let s = app.scenario(&lab)?;
    let i = match step.parse::<usize>() {
        Ok(n) if (1..=s.steps.len()).contains(&n) => n - 1,
        _ => s.step_index(step).with_context(|| {
            let ids: Vec<&str> = s.steps.iter().map(|st| st.id.as_str()).collect();
            format!(
                "lab {lab} has no step {step:?}: its steps are 1-{} ({})",
                s.steps.len(),
                ids.join(", ")
            )
        })?,
    };
    let mut p = app.load_progress()?;
    // Asked (or refused) before anything changes.
    close_active(
        app,
        &mut p,
        &format!("`hull-lab goto {step}` in another terminal opened lab {lab} afresh"),
        false,
    )?;
    p.lab_mut(&lab).at = Some(s.steps[i].id.clone());
    app.save_progress(&p)?;
    open(app, s, i, keep)
}

fn open(app: &App, s: &Scenario, at: usize, keep: bool) -> Result<u8> {
    let mut p = app.load_progress()?;
    close_active(
        app,
        &mut p,
        &format!(
            "`hull-lab start {}` in another terminal opened a fresh sandbox",
            s.id
        ),
        false,
    )?;
    let hull = app.hull()?;
    let note = match at {
        0 => String::new(),
        1 => ", replaying the solution of step 1".to_owned(),
        n => format!(", replaying the solutions of steps 1-{n}"),
    };
    eprintln!(
        "{}",
        app.style
            .dim(&format!("Preparing a fresh sandbox for {}{note}…", s.id))
    );
    let mut sb =
        runner::goto(&hull, s, at).with_context(|| format!("cannot prepare lab {}", s.id))?;
    sb.keep(); // from now on the progress file knows it; it goes when the shell is left
    if let Some(warning) = sb.uncapped() {
        eprintln!("{}", app.style.yellow(&warning));
    }
    let shell_here = std::io::IsTerminal::is_terminal(&std::io::stdin()) || !keep;
    p.active = Some(Active {
        lab: s.id.clone(),
        sandbox: sb.dir().to_path_buf(),
        owner: if shell_here { Owner::me() } else { None },
    });
    p.lab_mut(&s.id).at = Some(s.steps[at].id.clone());
    p.lab_mut(&s.id)
        .started
        .get_or_insert_with(super::recap::now);
    app.save_progress(&p)?;
    write_prompt(&sb, s, Some(at));
    println!("{}", ui::task(app.style, s, at));
    if !shell_here {
        println!(
            "Sandbox kept at {} (HULL_ROOT={})",
            sb.dir().display(),
            sb.hull_root().display()
        );
        return Ok(0);
    }
    let code = shell::run(&sb, s)?;
    if let Some(why) = take_closed_reason(app, sb.dir()) {
        // The sandbox and the progress file are the other terminal's now.
        println!(
            "\n{} The shell of lab {} was closed from outside: {why}.",
            app.style.yellow("!"),
            s.id
        );
        return Ok(code);
    }
    let mut p = app.load_progress()?;
    let done = p.lab(&s.id).done(s);
    let ours = p.active.as_ref().is_some_and(|a| a.sandbox == sb.dir());
    if keep {
        if let Some(a) = p.active.as_mut().filter(|_| ours) {
            a.owner = None;
            app.save_progress(&p)?;
        }
        println!("Left lab {}; its sandbox stays: `hull-lab check` grades it, `hull-lab reset` removes it.", s.id);
    } else {
        if ours {
            p.active = None;
            app.save_progress(&p)?;
        }
        sb.destroy().context("cannot remove the sandbox")?;
        println!(
            "Left lab {} at {} (progress saved; `hull-lab start {}` continues in a fresh sandbox).",
            s.id,
            ui::bar(done, s.steps.len(), 12),
            s.id
        );
    }
    Ok(code)
}

/// `shell`: a second shell in the open lab's sandbox (same namespaces, HULL_ROOT, lab
/// directory and prompt), for a second terminal.
pub fn second_shell(app: &App) -> Result<u8> {
    if let Some(dir) = super::inside_shell() {
        anyhow::bail!(
            "this is already a shell of the lab (its sandbox is {}); run `hull-lab shell` in another terminal",
            dir.display()
        );
    }
    let sess = session(app)?;
    let s = app.scenario(&sess.lab)?;
    let sb = attach(&sess)?;
    eprintln!(
        "{}",
        app.style.dim(&format!(
            "A second shell in lab {}: `exit` leaves it; the lab stays open in its first terminal.",
            s.id
        ))
    );
    let code = shell::second(&sb, s)?;
    if !sb.dir().exists() {
        let why = std::fs::read_to_string(super::closed_note(app, sb.dir())).map_or_else(
            |_| "its sandbox is gone".to_owned(),
            |w| w.trim().to_owned(),
        );
        println!(
            "\n{} This shell of lab {} was closed from outside: {why}.",
            app.style.yellow("!"),
            s.id
        );
    }
    Ok(code)
}

/// The shell's prompt reads this file: `step 2/4` or `done`.
fn write_prompt(sb: &Sandbox, s: &Scenario, at: Option<usize>) {
    let text = match at {
        Some(i) => format!("step {}/{}", i + 1, s.steps.len()),
        None => "all steps passed".to_owned(),
    };
    let _ = std::fs::write(sb.dir().join("step"), text);
}

/// Grades step `i` of `s` in `sb`.
pub fn grade(sb: &Sandbox, s: &Scenario, i: usize) -> StepReport {
    let step = &s.steps[i];
    let checks = grade_step(sb, step);
    StepReport {
        lab: s.id.clone(),
        step: step.id.clone(),
        title: step.title.clone(),
        index: i + 1,
        total: s.steps.len(),
        status: step_status(&checks),
        checks,
    }
}

/// Grades every step in `sb` (no progress is recorded).
pub fn grade_all(sb: &Sandbox, s: &Scenario) -> AttemptReport {
    let steps: Vec<StepReport> = (0..s.steps.len()).map(|i| grade(sb, s, i)).collect();
    AttemptReport {
        lab: s.id.clone(),
        passed: steps
            .iter()
            .filter(|r| r.status == StepStatus::Pass)
            .count(),
        total: s.steps.len(),
        steps,
    }
}

/// `check`: grades the current step; on a pass records it and shows the next task.
pub fn check(app: &App, all: bool) -> Result<u8> {
    let sess = session(app)?;
    let s = app.scenario(&sess.lab)?;
    let sb = attach(&sess)?;
    if all {
        let r = grade_all(&sb, s);
        if app.json {
            app.print_json(&r)?;
        } else {
            print!("{}", ui::attempt(app.style, &r));
        }
        return Ok(if r.passed == r.total { 0 } else { EXIT_NOT_YET });
    }
    let mut p = app.load_progress()?;
    let Some(i) = p.lab(&s.id).current(s) else {
        println!(
            "All {} steps of {} passed. Leave the shell with `exit` when you are done.",
            s.steps.len(),
            s.title
        );
        return Ok(0);
    };
    // A prediction is the first answer written, kept before the checks reveal anything.
    if super::recap::keep_predictions(&mut p, &sb, s, i) {
        app.save_progress(&p)?;
    }
    let r = grade(&sb, s, i);
    let next = if r.status == StepStatus::Pass {
        p.lab_mut(&s.id).advance(s, i);
        app.save_progress(&p)?;
        let next = p.lab(&s.id).current(s);
        write_prompt(&sb, s, next);
        next
    } else {
        None
    };
    if app.json {
        app.print_json(&r)?;
    } else {
        print!("{}", ui::step_report(app.style, &r));
        if r.status == StepStatus::Pass {
            print!("{}", ui::debrief(app.style, s, i));
        }
        match next {
            Some(n) => println!("\n{}", ui::task(app.style, s, n)),
            None if r.status == StepStatus::Pass => {
                print!(
                    "{}",
                    super::recap::recap_in(app.style, s, &p.lab(&s.id), &sb)
                );
                println!(
                    "\n{} You finished {}. The shell stays open until you `exit`.",
                    app.style.green("★"),
                    s.title
                );
            }
            None => {}
        }
    }
    Ok(match r.status {
        StepStatus::Pass => 0,
        StepStatus::NotYet => EXIT_NOT_YET,
        StepStatus::EnvError => EXIT_ENV,
    })
}
