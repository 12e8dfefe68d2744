//! `watch`: re-grades the open lab's step every 2 seconds, like rustlings' watch mode: the step,
//! a progress bar, the task, what the checks see, and the keys.

use std::os::fd::AsFd;
use std::time::Duration;

use anyhow::Result;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, LocalFlags, SetArg, Termios};

use super::info::interactive;
use super::lab::grade;
use super::{attach, session, App};
use crate::check::StepStatus;
use crate::ui;

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

pub fn watch(app: &App) -> Result<u8> {
    let sess = session(app)?;
    let s = app.scenario(&sess.lab)?;
    let sb = attach(&sess)?;
    let tty = interactive();
    let _raw = if tty { Some(Raw::enable()?) } else { None };
    let st = app.style;
    let mut note = String::new();
    let mut last = String::new();
    loop {
        let mut p = app.load_progress()?;
        let Some(i) = p.lab(&s.id).current(s) else {
            println!(
                "{}{} You finished {}. (q quits)",
                if tty { "\x1b[2J\x1b[H" } else { "" },
                st.green("★"),
                s.title
            );
            if tty {
                while key(Duration::from_secs(3600)) != Some(b'q') {}
            }
            return Ok(0);
        };
        let r = grade(&sb, s, i);
        if r.status == StepStatus::Pass {
            p.lab_mut(&s.id).advance(s, i);
            app.save_progress(&p)?;
            let _ = std::fs::write(
                sb.dir().join("step"),
                format!("step {}/{}", (i + 2).min(s.steps.len()), s.steps.len()),
            );
            note = st.green(&format!("✓ step {} passed: {}", i + 1, s.steps[i].title));
            continue;
        }
        let lp = p.lab(&s.id);
        let mut screen = format!(
            "{} {}\n\n{}\n{}",
            st.bold(&s.title),
            ui::bar(lp.done(s), s.steps.len(), 30),
            ui::task(st, s, i),
            ui::checks(st, &r.checks)
        );
        if !note.is_empty() {
            screen.push_str(&format!("\n{note}\n"));
        }
        screen.push_str(&format!("\n{}\n", st.dim(KEYS)));
        if tty {
            print!("\x1b[2J\x1b[H{screen}");
            use std::io::Write;
            std::io::stdout().flush()?;
        } else if screen != last {
            println!("{screen}");
        }
        last = screen;
        if !tty {
            std::thread::sleep(Duration::from_secs(2));
            continue;
        }
        match key(Duration::from_secs(2)) {
            Some(b'q') => return Ok(0),
            Some(b'h') => {
                let step = &s.steps[i];
                let shown = lp.hints.get(&step.id).copied().unwrap_or(0);
                note = match step.hints.get(shown) {
                    Some(h) => {
                        p.lab_mut(&s.id).hints.insert(step.id.clone(), shown + 1);
                        app.save_progress(&p)?;
                        format!("Hint {}/{}: {}", shown + 1, step.hints.len(), h.trim())
                    }
                    None => "No more hints: `hull-lab solution` shows a solution.".into(),
                };
            }
            Some(b'l') => {
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
            _ => {}
        }
    }
}
