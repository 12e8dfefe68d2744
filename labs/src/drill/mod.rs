//! Drills: timed break-fix exercises for the week before an interview, and question cards
//! with model answers. A drill is data (`drills/*.yaml`): a broken setup, the symptom the
//! learner is given, hints, the same declarative checks as a lab, a reference fix and a
//! debrief. To be graded it becomes a one-step [`Scenario`], so the code that grades labs
//! grades drills, and `verify` proves each fails untouched and passes with its fix.

pub mod cards;
pub mod cli;
pub mod record;
pub mod session;

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};

use crate::load::{self, LoadError};
use crate::schema::{Feature, Level, Scenario};

include!(concat!(env!("OUT_DIR"), "/drills.rs"));

/// The file of question cards among the drills.
pub const CARDS_FILE: &str = "cards.yaml";
/// The chapter of the book that lists drills and cards.
pub const CHAPTER: &str = "drills.md";
/// The one step of a drill's scenario.
pub const STEP: &str = "fix";

/// What a drill says beyond what grading needs.
#[derive(Debug, Clone, Serialize)]
pub struct Drill {
    pub id: String,
    pub title: String,
    /// The lab whose chapter teaches what the drill tests.
    pub lab: String,
    pub level: Level,
    /// A fair time for the fix, in minutes.
    pub minutes: u32,
    pub symptom: String,
    /// For after the attempt: not in `--json`, which gives the symptom only.
    #[serde(skip)]
    pub debrief: String,
    #[serde(skip)]
    pub scenario: Scenario,
}

impl Drill {
    pub fn hints(&self) -> &[String] {
        &self.scenario.steps[0].hints
    }

    pub fn solution(&self) -> &[String] {
        &self.scenario.steps[0].solution
    }

    pub fn needs_network(&self) -> bool {
        self.scenario.requires.contains(&Feature::Network)
    }
}

/// The fields of a drill file that are not a scenario's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    version: u32,
    id: String,
    title: String,
    lab: String,
    level: Value,
    minutes: Value,
    #[serde(default)]
    requires: Option<Value>,
    #[serde(default)]
    setup: Option<Value>,
    symptom: String,
    #[serde(default)]
    hints: Option<Value>,
    checks: Value,
    solution: Value,
    #[serde(default)]
    wrong: Option<Value>,
    debrief: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    pub id: String,
    /// The lab that proves the answer.
    pub lab: String,
    /// Other labs that show part of it.
    #[serde(default)]
    pub also: Vec<String>,
    /// A drill that practises it.
    #[serde(default)]
    pub drill: Option<String>,
    pub question: String,
    pub answer: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardsFile {
    version: u32,
    cards: Vec<Card>,
}

/// Drills and cards, checked against each other and against the labs.
#[derive(Debug, Clone)]
pub struct Deck {
    pub drills: Vec<Drill>,
    pub cards: Vec<Card>,
}

fn err(file: &str, message: impl Into<String>) -> LoadError {
    LoadError {
        file: file.to_owned(),
        line: None,
        column: None,
        step: None,
        field: None,
        message: message.into(),
    }
}

/// One drill file. Its grading part is rewritten as a one-step scenario and loaded by the
/// scenario loader, so every rule for checks, solutions and wrong attempts applies.
pub fn parse_drill(file: &str, text: &str) -> Result<Drill, LoadError> {
    let head: Head = serde_yaml::from_str(text).map_err(|e| {
        let mut le = err(file, e.to_string());
        le.line = e.location().map(|l| l.line() as u32);
        le
    })?;
    let stem = Path::new(file).file_stem().map(|s| s.to_string_lossy());
    if stem.as_deref() != Some(head.id.as_str()) {
        return Err(err(
            file,
            format!("id {:?} must match the file name", head.id),
        ));
    }
    for (field, value) in [("symptom", &head.symptom), ("debrief", &head.debrief)] {
        if value.trim().is_empty() {
            return Err(err(file, format!("{field}: must not be empty")));
        }
    }
    fn put(m: &mut Mapping, k: &str, v: Value) {
        m.insert(Value::String(k.into()), v);
    }
    let mut step = Mapping::new();
    put(&mut step, "id", STEP.into());
    put(&mut step, "title", head.title.clone().into());
    put(&mut step, "task", head.symptom.clone().into());
    if let Some(h) = head.hints {
        put(&mut step, "hints", h);
    }
    put(&mut step, "checks", head.checks);
    put(&mut step, "solution", head.solution);
    // The drill's debrief is also the step's: what a pass prints.
    put(&mut step, "debrief", head.debrief.clone().into());
    if let Some(w) = head.wrong {
        put(&mut step, "wrong", w);
    }
    let mut s = Mapping::new();
    put(&mut s, "version", Value::Number(head.version.into()));
    put(&mut s, "id", head.id.clone().into());
    put(&mut s, "title", head.title.clone().into());
    put(&mut s, "chapter", CHAPTER.into());
    put(&mut s, "level", head.level);
    put(&mut s, "minutes", head.minutes);
    if let Some(r) = head.requires {
        put(&mut s, "requires", r);
    }
    if let Some(setup) = head.setup {
        put(&mut s, "setup", setup);
    }
    put(&mut s, "steps", Value::Sequence(vec![Value::Mapping(step)]));
    let yaml = serde_yaml::to_string(&s).map_err(|e| err(file, e.to_string()))?;
    let scenario = load::load_str(file, &yaml).map_err(|mut e| {
        // Lines refer to the rewritten text: leave them out rather than mislead.
        e.line = None;
        e.column = None;
        e.step = None;
        e
    })?;
    Ok(Drill {
        id: head.id,
        title: head.title,
        lab: head.lab,
        level: scenario.level,
        minutes: scenario.minutes,
        symptom: head.symptom,
        debrief: head.debrief,
        scenario,
    })
}

pub fn parse_cards(file: &str, text: &str) -> Result<Vec<Card>, LoadError> {
    let f: CardsFile = serde_yaml::from_str(text).map_err(|e| {
        let mut le = err(file, e.to_string());
        le.line = e.location().map(|l| l.line() as u32);
        le
    })?;
    if f.version != 1 {
        return Err(err(
            file,
            format!("this hull-lab reads version 1, not {}", f.version),
        ));
    }
    Ok(f.cards)
}

impl Deck {
    /// The drills and cards built into the binary, checked against `labs`.
    pub fn embedded(labs: &[Scenario]) -> Result<Deck, LoadError> {
        Deck::from_files(
            DRILLS.iter().map(|(n, t)| (n.to_string(), t.to_string())),
            labs,
        )
    }

    /// Every `*.yaml` of `dir` (`cards.yaml` holds the cards).
    pub fn load_dir(dir: &Path, labs: &[Scenario]) -> Result<Deck, LoadError> {
        let mut files = Vec::new();
        let rd =
            std::fs::read_dir(dir).map_err(|e| err(&dir.display().to_string(), e.to_string()))?;
        for entry in rd.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| err(&p.display().to_string(), e.to_string()))?;
                files.push((
                    p.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    text,
                ));
            }
        }
        files.sort();
        Deck::from_files(files.into_iter(), labs)
    }

    fn from_files(
        files: impl Iterator<Item = (String, String)>,
        labs: &[Scenario],
    ) -> Result<Deck, LoadError> {
        let mut deck = Deck {
            drills: Vec::new(),
            cards: Vec::new(),
        };
        for (name, text) in files {
            if name == CARDS_FILE {
                deck.cards = parse_cards(&name, &text)?;
            } else {
                deck.drills.push(parse_drill(&name, &text)?);
            }
        }
        deck.drills.sort_by_key(|d| (d.minutes, d.id.clone()));
        deck.check(labs)?;
        Ok(deck)
    }

    /// Every lab a drill or card names exists, every drill a card names exists, ids are unique.
    fn check(&self, labs: &[Scenario]) -> Result<(), LoadError> {
        let lab_ok = |id: &str| labs.iter().any(|s| s.id == id);
        for d in &self.drills {
            if !lab_ok(&d.lab) {
                return Err(err(
                    &format!("{}.yaml", d.id),
                    format!("lab: no lab {:?}", d.lab),
                ));
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for c in &self.cards {
            if !crate::parse::is_slug(&c.id) || !ids.insert(c.id.as_str()) {
                return Err(err(
                    CARDS_FILE,
                    format!("card {:?}: ids are unique slugs", c.id),
                ));
            }
            for lab in std::iter::once(&c.lab).chain(&c.also) {
                if !lab_ok(lab) {
                    return Err(err(CARDS_FILE, format!("card {}: no lab {lab:?}", c.id)));
                }
            }
            if let Some(d) = c.drill.as_deref().filter(|d| self.drill(d).is_none()) {
                return Err(err(CARDS_FILE, format!("card {}: no drill {d:?}", c.id)));
            }
            if c.question.trim().is_empty() || c.answer.trim().is_empty() {
                return Err(err(
                    CARDS_FILE,
                    format!("card {}: a question and an answer", c.id),
                ));
            }
        }
        Ok(())
    }

    pub fn drill(&self, id: &str) -> Option<&Drill> {
        self.drills.iter().find(|d| d.id == id)
    }

    pub fn card(&self, id: &str) -> Option<&Card> {
        self.cards.iter().find(|c| c.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labs() -> Vec<Scenario> {
        load::embedded().unwrap()
    }

    #[test]
    fn the_embedded_deck_loads_with_eight_drills_and_six_cards() {
        let deck = Deck::embedded(&labs()).unwrap();
        assert!(deck.drills.len() >= 8, "{} drills", deck.drills.len());
        assert!(deck.cards.len() >= 6, "{} cards", deck.cards.len());
        for d in &deck.drills {
            assert_eq!(d.scenario.steps.len(), 1);
            assert!(
                !d.solution().is_empty() && !d.hints().is_empty(),
                "{}",
                d.id
            );
        }
    }

    #[test]
    fn a_drill_is_validated_like_a_scenario() {
        let good = DRILLS
            .iter()
            .find(|(n, _)| *n == "oom-loop.yaml")
            .unwrap()
            .1;
        parse_drill("oom-loop.yaml", good).unwrap();
        let bad = good.replace("kind: container", "kind: containr");
        let e = parse_drill("oom-loop.yaml", &bad).unwrap_err();
        assert!(e.to_string().contains("containr"), "{e}");
        let e = parse_drill("other.yaml", good).unwrap_err();
        assert!(e.to_string().contains("file name"), "{e}");
        let e = parse_drill("oom-loop.yaml", &format!("{good}colour: red\n")).unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn a_card_naming_a_missing_lab_is_an_error() {
        let text = "version: 1\ncards:\n  - id: q\n    lab: nope\n    question: why?\n    answer: because\n";
        let deck = Deck {
            drills: vec![],
            cards: parse_cards("cards.yaml", text).unwrap(),
        };
        let e = deck.check(&labs()).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }
}
