//! `drill --list`, `drill --quiz` and `drill --json`: the deck as lines, as a quiz, as data.

use std::io::{BufRead, Write};

use anyhow::Result;
use serde::Serialize;

use super::record::{clock, Log};
use super::{Card, Deck, Drill};
use crate::ui::Style;

/// One line per drill or card: `drill ID MINUTES TITLE (best time)` / `card ID LAB QUESTION`.
pub fn list(style: Style, deck: &Deck, log: &Log) -> String {
    let mut out = String::new();
    for d in &deck.drills {
        let best = log.best(&d.id).map_or(String::new(), |a| {
            format!("  best {}", clock(a.scored_seconds()))
        });
        out.push_str(&format!(
            "drill  {:<18} {:>2} min  {}{}\n",
            d.id,
            d.minutes,
            d.title,
            style.green(&best)
        ));
    }
    for c in &deck.cards {
        out.push_str(&format!(
            "card   {:<18} {:<10}  {}\n",
            c.id,
            c.lab,
            one_line(&c.question)
        ));
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Serialize)]
struct DeckJson<'a> {
    drills: Vec<DrillJson<'a>>,
    cards: &'a [Card],
}

#[derive(Serialize)]
struct DrillJson<'a> {
    #[serde(flatten)]
    drill: &'a Drill,
    requires_network: bool,
    hints: usize,
    best_seconds: Option<u64>,
    attempts: usize,
}

/// Drills (without their hints and fixes: those are for after) and cards, for other tools.
pub fn json(deck: &Deck, log: &Log) -> Result<String> {
    let drills = deck
        .drills
        .iter()
        .map(|d| DrillJson {
            drill: d,
            requires_network: d.needs_network(),
            hints: d.hints().len(),
            best_seconds: log.best(&d.id).map(|a| a.scored_seconds()),
            attempts: log.drills.get(&d.id).map_or(0, Vec::len),
        })
        .collect();
    Ok(serde_json::to_string_pretty(&DeckJson {
        drills,
        cards: &deck.cards,
    })?)
}

/// Asks each card, waits for a line (an attempt at the answer, or just Enter), then shows
/// the model answer and the lab that proves it. `q` stops.
pub fn quiz(
    style: Style,
    cards: &[&Card],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<usize> {
    let mut asked = 0;
    for (i, c) in cards.iter().enumerate() {
        writeln!(
            out,
            "{} {}",
            style.bold(&format!("Q{}/{}:", i + 1, cards.len())),
            one_line(&c.question)
        )?;
        writeln!(
            out,
            "{}",
            style.dim("   (answer aloud or type it, then Enter; q to stop)")
        )?;
        out.flush()?;
        let mut line = String::new();
        let n = input.read_line(&mut line)?;
        if n == 0 || line.trim() == "q" {
            break;
        }
        asked += 1;
        writeln!(out, "{}", style.green("Model answer:"))?;
        for l in c.answer.trim_end().lines() {
            writeln!(out, "   {l}")?;
        }
        let mut proof = format!("   Proved in lab `{}` (hull-lab start {})", c.lab, c.lab);
        if let Some(d) = &c.drill {
            proof.push_str(&format!("; drill: hull-lab drill {d}"));
        }
        writeln!(out, "{}\n", style.dim(&proof))?;
    }
    Ok(asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deck() -> Deck {
        Deck::embedded(&crate::load::embedded().unwrap()).unwrap()
    }

    #[test]
    fn the_list_has_one_line_per_drill_and_card() {
        let deck = deck();
        let out = list(Style::plain(), &deck, &Log::default());
        assert_eq!(out.lines().count(), deck.drills.len() + deck.cards.len());
        assert!(out.lines().any(|l| l.starts_with("drill  oom-loop ")));
        assert!(out.lines().any(|l| l.starts_with("card   exit-137 ")));
    }

    #[test]
    fn the_quiz_waits_for_an_answer_before_showing_the_model_one() {
        let deck = deck();
        let cards: Vec<&Card> = deck.cards.iter().take(2).collect();
        let mut out = Vec::new();
        // One answer, then the input ends: the second model answer is never shown.
        let asked = quiz(
            Style::plain(),
            &cards,
            &mut "a process\n".as_bytes(),
            &mut out,
        )
        .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(asked, 1);
        assert_eq!(out.matches("Model answer:").count(), 1, "{out}");
        assert!(out.contains("Q2/2"), "{out}");
    }

    #[test]
    fn the_json_has_no_fixes_in_it() {
        let deck = deck();
        let text = json(&deck, &Log::default()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["drills"].as_array().unwrap().len(), deck.drills.len());
        assert!(v["drills"][0]["symptom"].is_string());
        assert!(v["drills"][0].get("solution").is_none());
        assert!(v["drills"][0].get("debrief").is_none());
        assert!(v["cards"][0]["answer"].is_string());
    }
}
