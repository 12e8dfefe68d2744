//! Output for people: tasks, check results, progress bars; coloured on a terminal (unless
//! `NO_COLOR`), plain otherwise. Every function returns a String, so tests can snapshot it.

use std::io::IsTerminal;

use serde::Serialize;

use crate::check::{CheckResult, Outcome, StepStatus};
use crate::schema::Scenario;

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn detect() -> Style {
        Style {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
    pub fn plain() -> Style {
        Style { color: false }
    }
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    pub fn italic(&self, s: &str) -> String {
        self.paint("3", s)
    }
}

/// `[██████░░░░░░] 2/4`
pub fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width).checked_div(total).unwrap_or(0);
    format!(
        "[{}{}] {done}/{total}",
        "█".repeat(filled),
        "░".repeat(width - filled)
    )
}

/// The heading and task of step `i`.
pub fn task(st: Style, s: &Scenario, i: usize) -> String {
    let step = &s.steps[i];
    let mut out = format!(
        "{} {}\n\n",
        st.bold(&format!("{} · step {}/{}:", s.title, i + 1, s.steps.len())),
        st.bold(&step.title)
    );
    out.push_str(&crate::markdown::render(st, &step.task, 2));
    if !step.hints.is_empty() {
        let n = step.hints.len();
        out.push_str(&st.dim(&format!(
            "\n  ({n} hint{} with `hull-lab hint`; grade with `hull-lab check`)\n",
            if n == 1 { "" } else { "s" }
        )));
    } else {
        out.push_str(&st.dim("\n  (grade with `hull-lab check`)\n"));
    }
    out
}

fn code_spans(st: Style, line: &str) -> String {
    if !st.color {
        return line.to_owned();
    }
    line.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                st.cyan(part)
            } else {
                part.to_owned()
            }
        })
        .collect()
}

/// The result of grading one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub lab: String,
    pub step: String,
    pub title: String,
    /// 1-based.
    pub index: usize,
    pub total: usize,
    pub status: StepStatus,
    pub checks: Vec<CheckResult>,
}

pub fn checks(st: Style, results: &[CheckResult]) -> String {
    let mut out = String::new();
    for r in results {
        match &r.outcome {
            Outcome::Pass => out.push_str(&format!("  {} {}\n", st.green("✓"), r.check)),
            Outcome::NotYet {
                expected,
                seen,
                look,
            } => {
                out.push_str(&format!("  {} {}\n", st.red("✗"), r.check));
                out.push_str(&format!("      {}  {expected}\n", st.dim("expected")));
                out.push_str(&format!("      {}      {seen}\n", st.dim("seen")));
                out.push_str(&format!(
                    "      {}      {}\n",
                    st.dim("look"),
                    code_spans(st, look)
                ));
            }
            Outcome::EnvError { message } => {
                out.push_str(&format!("  {} {}\n", st.yellow("!"), r.check));
                out.push_str(&format!("      {}  {message}\n", st.yellow("broken")));
            }
        }
    }
    out
}

/// What a passed step teaches: its debrief, under a heading.
pub fn debrief(st: Style, s: &Scenario, i: usize) -> String {
    let Some(text) = s.steps[i].debrief.as_deref() else {
        return String::new();
    };
    format!(
        "\n{}\n{}",
        st.bold("Why it works"),
        crate::markdown::render(st, text, 2)
    )
}

pub fn step_report(st: Style, r: &StepReport) -> String {
    let mut out = format!(
        "{} {}\n",
        st.bold(&format!("{} · step {}/{}:", r.lab, r.index, r.total)),
        r.title
    );
    out.push_str(&checks(st, &r.checks));
    out.push_str(&match r.status {
        StepStatus::Pass => st.green("Step passed.\n"),
        StepStatus::NotYet => format!(
            "{} — `hull-lab hint` gives a hint.\n",
            st.red("Not yet")
        ),
        StepStatus::EnvError => st.yellow(
            "The environment broke, not your work: `hull-lab goto STEP` rebuilds the sandbox at this step.\n",
        ),
    });
    out
}

/// Grading of every step at once (`check --all`).
#[derive(Debug, Clone, Serialize)]
pub struct AttemptReport {
    pub lab: String,
    pub passed: usize,
    pub total: usize,
    pub steps: Vec<StepReport>,
}

pub fn attempt(st: Style, r: &AttemptReport) -> String {
    let mut out = format!("{} {}\n", st.bold(&r.lab), bar(r.passed, r.total, 20));
    for s in &r.steps {
        let mark = match s.status {
            StepStatus::Pass => st.green("✓"),
            StepStatus::NotYet => st.red("✗"),
            StepStatus::EnvError => st.yellow("!"),
        };
        out.push_str(&format!(
            "{mark} step {}/{} {}: {}\n",
            s.index, s.total, s.step, s.title
        ));
        if s.status != StepStatus::Pass {
            out.push_str(&checks(st, &s.checks));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars() {
        assert_eq!(bar(0, 4, 8), "[░░░░░░░░] 0/4");
        assert_eq!(bar(2, 4, 8), "[████░░░░] 2/4");
        assert_eq!(bar(0, 0, 4), "[░░░░] 0/0");
    }
}
