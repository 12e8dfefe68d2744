//! The learner's terminal: settings saved and put back around anything that may leave it in
//! raw mode (a shell killed from outside), and `[y/N]` questions asked on a terminal in its
//! ordinary (canonical, echoing) mode.

use std::io::{BufRead, IsTerminal, Write};
use std::os::fd::AsFd;

use anyhow::{bail, Result};
use nix::sys::termios::{self, LocalFlags, SetArg, Termios};

/// The terminal's settings when made; put back on drop (if stdin is a terminal).
pub struct Saved(Option<Termios>);

impl Saved {
    pub fn now() -> Saved {
        Saved(termios::tcgetattr(std::io::stdin().as_fd()).ok())
    }
}

impl Drop for Saved {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSADRAIN, t);
        }
    }
}

/// Line editing and echo on, whatever a killed program left behind.
pub fn sane() {
    let stdin = std::io::stdin();
    if let Ok(mut t) = termios::tcgetattr(stdin.as_fd()) {
        t.local_flags
            .insert(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG);
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSADRAIN, &t);
    }
}

/// Asks `question [y/N]`; `yes` answers it in advance. Without a terminal to ask on, fails
/// with `how` (what to pass instead).
pub fn confirm(question: &str, yes: bool, how: &str) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("{question} — no terminal to ask on: {how}");
    }
    sane();
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}
