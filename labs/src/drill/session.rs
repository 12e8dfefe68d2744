//! A drill session: a fresh sandbox broken by the drill's setup, the symptom, a shell whose
//! commands are kept as a transcript, `--hint` (each costs time) and `--check` (the lab
//! checks), and a debrief that sets the transcript beside the reference fix.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::record::{clock, Attempt, Store, HINT_PENALTY_SECS};
use super::Drill;
use crate::check::{grade_step, step_status, StepStatus};
use crate::runner;
use crate::sandbox::Sandbox;
use crate::ui::{self, Style};

/// Set in the drill's shell: which drill it is.
pub const ENV_DRILL: &str = "HULL_LAB_DRILL";
/// Set in the drill's shell (and in every sandbox command): the sandbox directory.
pub const ENV_SANDBOX: &str = "HULL_LAB_SANDBOX";
/// The session's state and transcript, in the sandbox directory.
const STATE: &str = "drill.json";
pub const TRANSCRIPT: &str = "transcript";

/// The session as the sandbox remembers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub drill: String,
    pub started: u64,
    pub hints: usize,
    /// Set once a check passed, so leaving the shell does not record a second attempt.
    #[serde(default)]
    pub passed: bool,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn load_state(dir: &Path) -> Result<State> {
    let text = std::fs::read_to_string(dir.join(STATE))
        .with_context(|| format!("no drill session in {}", dir.display()))?;
    Ok(serde_json::from_str(&text)?)
}

fn save_state(dir: &Path, st: &State) -> Result<()> {
    std::fs::write(dir.join(STATE), serde_json::to_vec(st)?)
        .with_context(|| format!("cannot write {}", dir.join(STATE).display()))
}

/// The commands typed so far (the shell appends one entry per command line).
pub fn transcript(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(TRANSCRIPT)).unwrap_or_default();
    text.split("\n\u{1e}\n")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The drill session this process runs in: from the shell's environment.
pub fn current() -> Result<(String, PathBuf)> {
    let drill = std::env::var(ENV_DRILL).ok().filter(|v| !v.is_empty());
    let dir = std::env::var_os(ENV_SANDBOX).filter(|v| !v.is_empty());
    match (drill, dir) {
        (Some(d), Some(dir)) => Ok((d, PathBuf::from(dir))),
        _ => {
            bail!("no drill is open here: `hull-lab drill ID` opens one (`hull-lab drill --list`)")
        }
    }
}

/// `drill ID`: breaks a fresh sandbox, shows the symptom, opens the shell; on leaving,
/// records an attempt that did not pass and shows the debrief.
pub fn start(style: Style, store: &Store, d: &Drill, keep: bool) -> Result<u8> {
    let hull = crate::sandbox::find_hull().map_err(|e| anyhow!(e))?;
    eprintln!(
        "{}",
        style.dim(&format!("Breaking a fresh sandbox for drill {}…", d.id))
    );
    let mut sb = runner::fresh(&hull).context("cannot make a sandbox")?;
    if d.needs_network() {
        if let Some(why) = runner::network_missing(&sb)? {
            bail!("drill {} {why}", d.id);
        }
    }
    runner::setup(&sb, &d.scenario).with_context(|| format!("cannot set up drill {}", d.id))?;
    crate::check::hand_over(&sb).context("cannot mark the sandbox as handed over")?;
    let st = State {
        drill: d.id.clone(),
        started: now(),
        hints: 0,
        passed: false,
    };
    save_state(sb.dir(), &st)?;
    println!("{}", symptom(style, d));
    if keep || !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        sb.keep();
        println!(
            "Sandbox kept at {} (HULL_ROOT={}); in it, {ENV_DRILL}={} {ENV_SANDBOX}={} hull-lab drill --check grades it.",
            sb.dir().display(),
            sb.hull_root().display(),
            d.id,
            sb.dir().display()
        );
        return Ok(0);
    }
    let code = shell(&sb, d)?;
    let st = load_state(sb.dir())?;
    if !st.passed {
        let attempt = Attempt {
            started: st.started,
            seconds: now().saturating_sub(st.started),
            hints: st.hints,
            passed: false,
            transcript: transcript(sb.dir()),
        };
        store.add(&d.id, attempt.clone())?;
        println!("\nLeft drill {} without a fix.\n", d.id);
        print!("{}", debrief(style, d, &attempt));
    }
    sb.destroy().context("cannot remove the sandbox")?;
    Ok(code)
}

pub fn symptom(style: Style, d: &Drill) -> String {
    let mut out = format!(
        "{} {}\n\n",
        style.bold(&format!("Drill {} ·", d.id)),
        style.bold(&format!("{} minutes or less", d.minutes))
    );
    for line in d.symptom.trim_end().lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&style.dim(&format!(
        "\n  The clock runs. `hull-lab drill --check` grades, `hull-lab drill --hint` shows one of {} hints (+{} s each), `exit` gives up.\n",
        d.hints().len(),
        HINT_PENALTY_SECS
    )));
    out
}

/// `drill --hint`: the next hint; the count is what the penalty is computed from.
pub fn hint(style: Style, d: &Drill, dir: &Path) -> Result<u8> {
    let mut st = load_state(dir)?;
    let hints = d.hints();
    if st.hints >= hints.len() {
        println!(
            "No more hints ({} shown). `hull-lab drill --check` says what is still wrong.",
            hints.len()
        );
        return Ok(0);
    }
    st.hints += 1;
    save_state(dir, &st)?;
    println!(
        "{} {}",
        style.yellow(&format!(
            "Hint {}/{} (+{} s):",
            st.hints,
            hints.len(),
            HINT_PENALTY_SECS
        )),
        hints[st.hints - 1]
    );
    Ok(0)
}

/// `drill --check`: the drill's checks in its sandbox; on a pass, the attempt is recorded
/// and the debrief shown.
pub fn check(style: Style, store: &Store, d: &Drill, dir: &Path, json: bool) -> Result<u8> {
    let mut st = load_state(dir)?;
    let sb = Sandbox::attach(dir).map_err(|e| anyhow!("the drill's sandbox is gone: {e}"))?;
    let results = grade_step(&sb, &d.scenario.steps[0]);
    let status = step_status(&results);
    let seconds = now().saturating_sub(st.started);
    let attempt = Attempt {
        started: st.started,
        seconds,
        hints: st.hints,
        passed: status == StepStatus::Pass,
        transcript: transcript(dir),
    };
    if attempt.passed && !st.passed {
        store.add(&d.id, attempt.clone())?;
        st.passed = true;
        save_state(dir, &st)?;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "drill": d.id, "status": status, "checks": results, "attempt": attempt,
            }))?
        );
    } else {
        print!("{}", ui::checks(style, &results));
        if attempt.passed {
            println!(
                "\n{} Fixed in {} ({} hint{}: {} scored; target {} min).\n",
                style.green("✓"),
                clock(seconds),
                attempt.hints,
                if attempt.hints == 1 { "" } else { "s" },
                clock(attempt.scored_seconds()),
                d.minutes
            );
            print!("{}", debrief(style, d, &attempt));
        } else {
            println!("\nNot fixed yet ({} so far).", clock(seconds));
        }
    }
    Ok(match status {
        StepStatus::Pass => 0,
        StepStatus::NotYet => crate::app::EXIT_NOT_YET,
        StepStatus::EnvError => crate::app::EXIT_ENV,
    })
}

/// The debrief: what was wrong, then the learner's commands beside the reference fix.
pub fn debrief(style: Style, d: &Drill, a: &Attempt) -> String {
    let mut out = format!("{}\n", style.bold(&format!("Debrief: {}", d.title)));
    for line in d.debrief.trim_end().lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&side_by_side(style, &a.transcript, d.solution()));
    out
}

const COLUMN: usize = 48;

/// Two columns: "your commands" and "reference fix", long lines cut with `…`.
pub fn side_by_side(style: Style, yours: &[String], reference: &[String]) -> String {
    let flat = |c: &String| c.replace('\n', "; ");
    let cut = |s: String| {
        if s.chars().count() > COLUMN {
            let mut t: String = s.chars().take(COLUMN - 1).collect();
            t.push('…');
            t
        } else {
            s
        }
    };
    let mut out = format!(
        "  {}  {}\n",
        style.bold(&format!("{:<COLUMN$}", "your commands")),
        style.bold("reference fix")
    );
    let rows = yours.len().max(reference.len());
    if yours.is_empty() {
        out.push_str(&format!("  {:<COLUMN$}\n", "(no commands recorded)"));
    }
    for i in 0..rows {
        let left = yours.get(i).map(flat).map(cut).unwrap_or_default();
        let right = reference.get(i).map(flat).unwrap_or_default();
        let pad = COLUMN - left.chars().count().min(COLUMN);
        out.push_str(&format!(
            "  {left}{}  {}\n",
            " ".repeat(pad),
            style.cyan(&right)
        ));
    }
    out
}

/// Appends each command line to the transcript (entries separated by a line holding only
/// the record separator, so multi-line commands stay whole), once per history number.
const RC: &str = r#"[ -r /etc/bash.bashrc ] && . /etc/bash.bashrc
HISTFILE=/dev/null
__hull_drill_last=
__hull_drill_log() {
    local line
    line=$(HISTTIMEFORMAT= history 1)
    if [[ $line =~ ^\ *([0-9]+)\*?\ +(.*)$ ]] && [ "${BASH_REMATCH[1]}" != "$__hull_drill_last" ]; then
        __hull_drill_last=${BASH_REMATCH[1]}
        printf '%s\n\036\n' "${BASH_REMATCH[2]}" >> "$HULL_LAB_SANDBOX/transcript"
    fi
    PS1="\[\e[1;33m\][drill $HULL_LAB_DRILL]\[\e[0m\] \W \$ "
}
PROMPT_COMMAND=__hull_drill_log
"#;

fn shell(sb: &Sandbox, d: &Drill) -> Result<u8> {
    let rc = sb.dir().join("tmp/drill-rc");
    std::fs::write(&rc, RC).context("cannot write the shell's rc file")?;
    let mut cmd = sb.command("/bin/bash");
    cmd.arg("--rcfile")
        .arg(&rc)
        .arg("-i")
        .env(ENV_DRILL, &d.id)
        .env(ENV_SANDBOX, sb.dir());
    // SAFETY: only resets signal dispositions between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGQUIT, libc::SIG_DFL);
            Ok(())
        });
    }
    // While the shell runs, Ctrl-C is for the shell's programs, not for hull-lab.
    // SAFETY: plain signal disposition changes, restored below.
    let old = unsafe {
        (
            libc::signal(libc::SIGINT, libc::SIG_IGN),
            libc::signal(libc::SIGQUIT, libc::SIG_IGN),
        )
    };
    let status = cmd.status().context("cannot start bash for the drill");
    // SAFETY: restores what was there and takes the terminal back.
    unsafe {
        libc::signal(libc::SIGINT, old.0);
        libc::signal(libc::SIGQUIT, old.1);
        let ttou = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        if libc::isatty(0) == 1 {
            libc::tcsetpgrp(0, libc::getpgrp());
        }
        libc::signal(libc::SIGTTOU, ttou);
    }
    Ok(u8::try_from(crate::sandbox::code_of(status?)).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transcript_keeps_multi_line_commands_whole() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(TRANSCRIPT),
            "hull ps -a\n\u{1e}\nfor i in 1 2; do\n echo $i\ndone\n\u{1e}\n",
        )
        .unwrap();
        assert_eq!(
            transcript(dir.path()),
            ["hull ps -a", "for i in 1 2; do\n echo $i\ndone"]
        );
    }

    #[test]
    fn the_debrief_sets_the_commands_beside_the_reference() {
        let out = side_by_side(
            Style::plain(),
            &[
                "hull ps -a".into(),
                "hull inspect cache".into(),
                "x".repeat(80),
            ],
            &["hull rm -f cache".into()],
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].contains("your commands") && lines[0].contains("reference fix"));
        assert!(lines[1].starts_with("  hull ps -a ") && lines[1].ends_with("hull rm -f cache"));
        assert!(lines[3].contains('…') && lines[3].chars().count() <= COLUMN + 4);
    }
}
