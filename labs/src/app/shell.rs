//! The learner's shell inside the sandbox: bash (else sh) with a prompt naming the lab and the
//! step, `hull` and `hull-lab` on its PATH, started in the lab directory.

use std::os::unix::process::CommandExt;

use anyhow::{Context, Result};

use super::{ENV_LAB, ENV_SANDBOX};
use crate::sandbox::Sandbox;
use crate::schema::Scenario;

const RC: &str = r#"[ -r /etc/bash.bashrc ] && . /etc/bash.bashrc
__hull_lab_prompt() {
    local step
    step=$(cat "$HULL_LAB_SANDBOX/step" 2>/dev/null)
    PS1="\[\e[1;36m\][lab $HULL_LAB_LAB · $step${HULL_LAB_SECOND:+ · 2nd shell}]\[\e[0m\] \W \$ "
}
PROMPT_COMMAND=__hull_lab_prompt
# `hull run` without -d holds the terminal until its container ends, and a PID 1 may ignore
# Ctrl-C: the first time one runs for more than a few seconds, say where a second shell is.
__hull_lab_detached() {
    local a
    for a in "$@"; do
        case "$a" in
            --detach|--detach=true) return 0 ;;
            --*) ;;
            -*d*) [[ "$a" =~ ^-[a-zA-Z]+$ ]] && return 0 ;;
        esac
    done
    return 1
}
hull() {
    local timer="" told="$HULL_LAB_SANDBOX/told-shell" rc
    if [ "$1" = run ] && [ ! -e "$told" ] && ! __hull_lab_detached "$@"; then
        timer=$( (sleep 4
            if [ ! -e "$told" ]; then
                : > "$told"
                printf '\n\033[2m%s\033[0m\n' "hull-lab: this container holds the terminal until it ends (its PID 1 may ignore Ctrl-C). In another terminal, \`hull-lab shell\` opens a second shell in this lab: \`hull ps\`, \`hull stop NAME\` work there." > /dev/tty
            fi) >/dev/null 2>&1 & echo $!)
    fi
    command hull "$@"
    rc=$?
    [ -n "$timer" ] && kill "$timer" 2>/dev/null
    return $rc
}
"#;

/// Runs the shell until the learner leaves it (or it is closed from outside); returns its exit
/// code. The terminal's settings are put back whatever happened to the shell.
pub fn run(sb: &Sandbox, s: &Scenario) -> Result<u8> {
    let _saved = super::terminal::Saved::now();
    run_shell(sb, s, false)
}

/// A second shell in the open sandbox, beside the lab's own.
pub fn second(sb: &Sandbox, s: &Scenario) -> Result<u8> {
    let _saved = super::terminal::Saved::now();
    run_shell(sb, s, true)
}

fn run_shell(sb: &Sandbox, s: &Scenario, second: bool) -> Result<u8> {
    let rc = sb.dir().join("tmp/rc");
    std::fs::write(&rc, RC).context("cannot write the shell's rc file")?;
    let bash = std::path::Path::new("/bin/bash").exists();
    let mut cmd = if bash {
        let mut c = sb.command("/bin/bash");
        c.arg("--rcfile").arg(&rc).arg("-i");
        c
    } else {
        let mut c = sb.command("/bin/sh");
        c.env("PS1", format!("[lab {}] $ ", s.id)).arg("-i");
        c
    };
    cmd.env(ENV_LAB, &s.id).env(ENV_SANDBOX, sb.dir());
    if second {
        cmd.env("HULL_LAB_SECOND", "1");
    }
    // SAFETY: only resets signal dispositions between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGQUIT, libc::SIG_DFL);
            Ok(())
        });
    }
    // While the shell runs, Ctrl-C is for the shell's programs, not for hull-lab.
    // SAFETY: plain signal disposition changes.
    let old = unsafe {
        (
            libc::signal(libc::SIGINT, libc::SIG_IGN),
            libc::signal(libc::SIGQUIT, libc::SIG_IGN),
        )
    };
    let status = cmd.status().context("cannot start the lab's shell");
    // SAFETY: restores what was there, and takes the terminal back if the shell left it to
    // its own process group.
    unsafe {
        libc::signal(libc::SIGINT, old.0);
        libc::signal(libc::SIGQUIT, old.1);
        let ttou = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        if libc::isatty(0) == 1 {
            libc::tcsetpgrp(0, libc::getpgrp());
        }
        libc::signal(libc::SIGTTOU, ttou);
    }
    let code = crate::sandbox::code_of(status?);
    Ok(u8::try_from(code).unwrap_or(1))
}
