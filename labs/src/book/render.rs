//! The preprocessor's directives, as pure functions of the Markdown and the data:
//!
//! - `{{#hull-lab steps ID}}`: lab ID's steps — task, hints (folded), what the grader checks,
//!   a solution (folded);
//! - `{{#hull-lab cards [LAB]}}`: the question cards (those LAB proves), answers folded;
//! - `{{#hull-lab drills}}`: the drills' symptoms, with their debriefs folded.
//!
//! An unknown directive or id is an error: a chapter never silently loses its steps.

use std::fmt::Write as _;

use crate::check::describe;
use crate::drill::{Card, Deck};
use crate::schema::Scenario;

const OPEN: &str = "{{#hull-lab";

/// `content` with every directive replaced; `at` names the chapter (its path) for errors and
/// for relative links.
pub fn expand(content: &str, at: &str, labs: &[Scenario], deck: &Deck) -> Result<String, String> {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("{at}: unclosed {OPEN} directive"))?;
        let words: Vec<&str> = after[..end].split_whitespace().collect();
        let up = "../".repeat(at.matches('/').count());
        match words.as_slice() {
            ["steps", id] => {
                let s = labs
                    .iter()
                    .find(|s| s.id == *id)
                    .ok_or_else(|| format!("{at}: {OPEN} steps {id}}}}}: no lab {id:?}"))?;
                out.push_str(&steps(s));
            }
            ["cards"] => out.push_str(&cards(deck.cards.iter(), labs, &up)),
            ["cards", lab] => {
                if !labs.iter().any(|s| s.id == *lab) {
                    return Err(format!("{at}: {OPEN} cards {lab}}}}}: no lab {lab:?}"));
                }
                let mine = deck
                    .cards
                    .iter()
                    .filter(|c| c.lab == *lab || c.also.iter().any(|a| a == lab));
                out.push_str(&cards(mine, labs, &up));
            }
            ["drills"] => out.push_str(&drills(deck, labs, &up)),
            other => {
                return Err(format!(
                    "{at}: unknown directive {OPEN} {}}}}} (steps ID, cards [LAB], drills)",
                    other.join(" ")
                ))
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A fenced block of shell commands.
fn sh(commands: &[String]) -> String {
    let mut out = String::from("```sh\n");
    for c in commands {
        out.push_str(c.trim_end());
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

fn folded(summary: &str, body: &str) -> String {
    format!(
        "<details>\n<summary>{summary}</summary>\n\n{}\n\n</details>\n\n",
        body.trim_end()
    )
}

/// The steps of a lab, as the runner shows and grades them.
pub fn steps(s: &Scenario) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<div class=\"hull-lab-steps\" data-lab=\"{}\">\n",
        s.id
    );
    let _ = writeln!(
        out,
        "*Open it with* `hull-lab start {}` *· {} steps · about {} minutes · {}. \
         This section is made from `scenarios/{}.yaml`, the file the grader reads.*\n",
        s.id,
        s.steps.len(),
        s.minutes,
        format!("{:?}", s.level).to_lowercase(),
        s.id
    );
    for (i, step) in s.steps.iter().enumerate() {
        let _ = writeln!(out, "### Step {}: {}\n", i + 1, step.title);
        out.push_str(step.task.trim_end());
        out.push_str("\n\n");
        for (k, h) in step.hints.iter().enumerate() {
            out.push_str(&folded(&format!("Hint {}", k + 1), h));
        }
        out.push_str("What `hull-lab check` looks at:\n\n");
        for c in &step.checks {
            let _ = writeln!(out, "- {}", describe(c));
        }
        out.push('\n');
        out.push_str(&folded("A solution", &sh(&step.solution)));
    }
    out.push_str("</div>\n");
    out
}

fn lab_link(labs: &[Scenario], id: &str, up: &str) -> String {
    match labs.iter().find(|s| s.id == id) {
        Some(s) => format!("[{}]({up}{})", s.title, s.chapter),
        None => format!("`{id}`"),
    }
}

fn cards<'a>(cards: impl Iterator<Item = &'a Card>, labs: &[Scenario], up: &str) -> String {
    let mut out = String::new();
    for c in cards {
        let _ = writeln!(out, "#### {}\n", c.question.trim());
        let mut body = c.answer.trim_end().to_owned();
        let _ = write!(
            body,
            "\n\n*Proved in the lab* {}",
            lab_link(labs, &c.lab, up)
        );
        if let Some(d) = &c.drill {
            let _ = write!(body, "*; drill:* `hull-lab drill {d}`");
        }
        out.push_str(&folded("Model answer", &body));
    }
    out
}

fn drills(deck: &Deck, labs: &[Scenario], up: &str) -> String {
    let mut out = String::new();
    for d in &deck.drills {
        let _ = writeln!(
            out,
            "### {} (`hull-lab drill {}`, {} min)\n",
            d.title, d.id, d.minutes
        );
        out.push_str(d.symptom.trim_end());
        let _ = writeln!(
            out,
            "\n\nThe lab behind it: {}\n",
            lab_link(labs, &d.lab, up)
        );
        let mut body = d.debrief.trim_end().to_owned();
        body.push_str("\n\nThe reference fix:\n\n");
        body.push_str(&sh(d.solution()));
        out.push_str(&folded("Debrief (after you tried)", &body));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> (Vec<Scenario>, Deck) {
        let labs = crate::load::embedded().unwrap();
        let deck = Deck::embedded(&labs).unwrap();
        (labs, deck)
    }

    #[test]
    fn steps_are_rendered_from_the_scenario() {
        let (labs, deck) = data();
        let text = expand(
            "# Pid 1\n\n{{#hull-lab steps pid1}}\n\nAfter.\n",
            "labs/pid1.md",
            &labs,
            &deck,
        )
        .unwrap();
        let pid1 = labs.iter().find(|s| s.id == "pid1").unwrap();
        for (i, st) in pid1.steps.iter().enumerate() {
            assert!(
                text.contains(&format!("### Step {}: {}", i + 1, st.title)),
                "{text}"
            );
            for h in &st.hints {
                assert!(text.contains(h.as_str()), "hint {h:?} missing");
            }
        }
        assert!(text.ends_with("After.\n") && !text.contains("{{#"));
    }

    #[test]
    fn links_from_a_lab_chapter_go_up_a_level() {
        let (labs, deck) = data();
        let text = expand("{{#hull-lab cards pid1}}", "labs/pid1.md", &labs, &deck).unwrap();
        assert!(text.contains("](../labs/pid1.md)"), "{text}");
        let text = expand("{{#hull-lab drills}}", "drills.md", &labs, &deck).unwrap();
        assert!(text.contains("](labs/cgroups.md)") && text.contains("hull-lab drill oom-loop"));
    }

    #[test]
    fn unknown_directives_and_ids_are_errors() {
        let (labs, deck) = data();
        for bad in [
            "{{#hull-lab steps nope}}",
            "{{#hull-lab stpes pid1}}",
            "{{#hull-lab cards nope}}",
            "{{#hull-lab drills",
        ] {
            assert!(expand(bad, "x.md", &labs, &deck).is_err(), "{bad}");
        }
    }
}
