//! `watch`: re-grades the open lab's step when the learner changes something (else no more
//! often than grading costs), like rustlings' watch mode: the step, a progress bar, the task,
//! what the checks see, and the keys — read while a grading runs.

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, LocalFlags, SetArg, Termios};

use super::info::interactive;
use super::lab::grade;
use super::{attach, session, App};
use crate::check::StepStatus;
use crate::sandbox::Sandbox;
use crate::schema::Scenario;
use crate::ui::{self, StepReport};

const KEYS: &str = "h:hint / c:check now / l:list / q:quit";

/// Keys arrive one by one, unechoed; restored on drop.
struct Raw(Termios);

impl Raw {
    fn enable() -> Result<Raw> {
        let stdin = std::io::stdin();
        let old = termios::tcgetattr(stdin.as_fd())?;
        let mut raw = old.clone();
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)?;
        Ok(Raw(old))
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.0);
    }
}

/// A key pressed within `wait`, if any.
fn key(wait: Duration) -> Option<u8> {
    let stdin = std::io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
    match poll(&mut fds, PollTimeout::from(ms)) {
        Ok(n) if n > 0 => {
            let mut b = [0u8; 1];
            nix::unistd::read(&stdin, &mut b)
                .ok()
                .filter(|n| *n == 1)
                .map(|_| b[0])
        }
        _ => None,
    }
}

/// What the learner changed that grading looks at: the containers and the lab directory.
fn fingerprint(sb: &Sandbox) -> (Option<SystemTime>, Option<SystemTime>) {
    let lab = std::fs::read_dir(sb.lab_dir()).ok().and_then(|d| {
        d.flatten()
            .filter_map(|e| e.metadata().and_then(|m| m.modified()).ok())
            .max()
    });
    (crate::check::last_change(sb), lab)
}

/// A grading that runs beside the key loop, on its own handle of the sandbox.
fn start_grading(dir: PathBuf, s: &Scenario, i: usize) -> mpsc::Receiver<Result<StepReport>> {
    let (tx, rx) = mpsc::channel();
    let s = s.clone();
    std::thread::spawn(move || {
        let r = Sandbox::attach(&dir)
            .map(|sb| grade(&sb, &s, i))
            .map_err(anyhow::Error::from);
        let _ = tx.send(r);
    });
    rx
}

pub fn watch(app: &App) -> Result<u8> {
    let sess = session(app)?;
    let s = app.scenario(&sess.lab)?;
    let sb = attach(&sess)?;
    let tty = interactive();
    let _raw = if tty { Some(Raw::enable()?) } else { None };
    let st = app.style;
    let mut note = String::new();
    let mut last_screen = String::new();
    let mut shown: Option<StepReport> = None;
    let mut running: Option<(mpsc::Receiver<Result<StepReport>>, Instant, usize)> = None;
    let mut graded_at: Option<(Instant, Duration)> = None;
    let mut seen = fingerprint(&sb);
    let mut redraw = true;
    loop {
        let mut p = app.load_progress()?;
        let Some(i) = p.lab(&s.id).current(s) else {
            println!(
                "{}{} You finished {}. (q quits)",
                if tty { "\x1b[2J\x1b[H" } else { "" },
                st.green("★"),
                s.title
            );
            print!("{}", super::recap::recap_in(st, s, &p.lab(&s.id), &sb));
            if tty {
                use std::io::Write;
                std::io::stdout().flush()?;
                while key(Duration::from_secs(3600)) != Some(b'q') {}
            }
            return Ok(0);
        };
        // Grade again when something changed, else no more often than the grading costs
        // (a step whose checks start probe containers is not re-run every 2 s).
        let now_seen = fingerprint(&sb);
        let due = match graded_at {
            None => true,
            Some((at, cost)) => {
                now_seen != seen || at.elapsed() >= (cost * 5).max(Duration::from_secs(2))
            }
        };
        if running.is_none() && due {
            seen = now_seen;
            if super::recap::keep_predictions(&mut p, &sb, s, i) {
                app.save_progress(&p)?;
            }
            running = Some((
                start_grading(sess.sandbox_dir.clone(), s, i),
                Instant::now(),
                i,
            ));
        }
        if let Some((rx, started, at)) = &running {
            match rx.try_recv() {
                Ok(r) => {
                    let (started, at) = (*started, *at);
                    running = None;
                    graded_at = Some((Instant::now(), started.elapsed()));
                    let r = r?;
                    if at == i && r.status == StepStatus::Pass {
                        p.lab_mut(&s.id).advance(s, i);
                        app.save_progress(&p)?;
                        let _ = std::fs::write(
                            sb.dir().join("step"),
                            format!("step {}/{}", (i + 2).min(s.steps.len()), s.steps.len()),
                        );
                        note = format!(
                            "{}\n{}",
                            st.green(&format!("✓ step {} passed: {}", i + 1, s.steps[i].title)),
                            ui::debrief(st, s, i)
                        );
                        shown = None;
                        graded_at = None;
                        redraw = true;
                        continue;
                    }
                    shown = (at == i).then_some(r);
                    redraw = true;
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => running = None,
            }
        }
        if redraw {
            let lp = p.lab(&s.id);
            let mut screen = format!(
                "{} {}\n\n{}\n{}",
                st.bold(&s.title),
                ui::bar(lp.done(s), s.steps.len(), 30),
                ui::task(st, s, i),
                shown
                    .as_ref()
                    .map_or_else(|| st.dim("  grading…\n"), |r| ui::checks(st, &r.checks))
            );
            if !note.is_empty() {
                screen.push_str(&format!("\n{note}\n"));
            }
            screen.push_str(&format!("\n{}\n", st.dim(KEYS)));
            if tty {
                print!("\x1b[2J\x1b[H{screen}");
                use std::io::Write;
                std::io::stdout().flush()?;
            } else if screen != last_screen && shown.is_some() {
                println!("{screen}");
            }
            last_screen = screen;
            redraw = false;
        }
        if !tty {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        // Keys are read while a grading runs: q answers at once.
        let Some(k) = key(Duration::from_millis(100)) else {
            continue;
        };
        redraw = true;
        match k {
            b'q' => return Ok(0),
            b'c' => graded_at = None,
            b'h' => {
                let step = &s.steps[i];
                let lp = p.lab(&s.id);
                let shown_hints = lp.hints.get(&step.id).copied().unwrap_or(0);
                note = match step.hints.get(shown_hints) {
                    Some(h) => {
                        p.lab_mut(&s.id)
                            .hints
                            .insert(step.id.clone(), shown_hints + 1);
                        app.save_progress(&p)?;
                        format!(
                            "Hint {}/{}: {}",
                            shown_hints + 1,
                            step.hints.len(),
                            crate::markdown::inline(st, h.trim())
                        )
                    }
                    None => "No more hints: `hull-lab solution` shows a solution.".into(),
                };
            }
            b'l' => {
                note = app
                    .scenarios
                    .iter()
                    .map(|o| {
                        format!(
                            "{:<12} {}",
                            o.id,
                            ui::bar(p.lab(&o.id).done(o), o.steps.len(), 10)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
            }
            _ => redraw = false,
        }
    }
}
