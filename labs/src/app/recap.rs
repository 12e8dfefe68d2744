//! After a step and after a lab: the first answers of prediction steps kept before the reveal,
//! and the recap printed when the last step passes (time taken, hints used, predicted against
//! real, the chapter to read and its interview questions).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::progress::{LabProgress, Progress};
use crate::sandbox::Sandbox;
use crate::schema::{Check, Scenario};
use crate::ui::Style;

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The answer files of a prediction step.
fn answer_files(s: &Scenario, i: usize) -> Vec<&str> {
    let step = &s.steps[i];
    if !step.predict {
        return Vec::new();
    }
    step.checks
        .iter()
        .filter_map(|c| match c {
            Check::Answer(a) => Some(a.file.as_str()),
            _ => None,
        })
        .collect()
}

/// Keeps the first non-empty answer of each file of prediction step `i` that has none kept
/// yet; whether anything new was kept.
pub fn keep_predictions(p: &mut Progress, sb: &Sandbox, s: &Scenario, i: usize) -> bool {
    let mut changed = false;
    for file in answer_files(s, i) {
        let key = format!("{}/{file}", s.steps[i].id);
        if p.lab(&s.id).predictions.contains_key(&key) {
            continue;
        }
        let written = std::fs::read_to_string(sb.lab_dir().join(file)).unwrap_or_default();
        let written = written.trim();
        if !written.is_empty() {
            p.lab_mut(&s.id).predictions.insert(key, written.to_owned());
            changed = true;
        }
    }
    changed
}

/// The bullet points under `## Interview questions` in the lab's chapter.
pub fn interview_questions(chapter: &str) -> Vec<String> {
    let path = format!("src/{chapter}");
    let Some((_, text)) = crate::book::BOOK.iter().find(|(p, _)| *p == path) else {
        return Vec::new();
    };
    text.lines()
        .skip_while(|l| !l.trim().eq_ignore_ascii_case("## interview questions"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.trim().strip_prefix("- ").map(str::to_owned))
        .collect()
}

/// `1 h 05 min`, `12 min`, `40 s`.
pub fn duration_words(secs: u64) -> String {
    match secs {
        s if s >= 3600 => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// The recap of a finished lab; `now` and `real` (a file's contents in the lab directory)
/// are passed in so it can be tested.
pub fn recap(
    st: Style,
    s: &Scenario,
    lp: &LabProgress,
    now: u64,
    real: &dyn Fn(&str) -> Option<String>,
) -> String {
    let mut out = format!("\n{}\n", st.bold(&format!("Recap: {}", s.title)));
    if let Some(t) = lp.started {
        out.push_str(&format!(
            "  time        {}\n",
            duration_words(now.saturating_sub(t))
        ));
    }
    let used: usize = lp.hints.values().sum();
    let offered: usize = s.steps.iter().map(|st| st.hints.len()).sum();
    out.push_str(&format!("  hints       {used} of {offered}\n"));
    let mut rows = Vec::new();
    for (i, step) in s.steps.iter().enumerate() {
        for file in answer_files(s, i) {
            let key = format!("{}/{file}", step.id);
            let predicted = lp
                .predictions
                .get(&key)
                .cloned()
                .unwrap_or_else(|| "—".into());
            let actual = real(file).unwrap_or_else(|| "—".into());
            let mark = if predicted == actual { "✓" } else { "✗" };
            rows.push((file.to_owned(), predicted, actual, mark));
        }
    }
    if !rows.is_empty() {
        out.push_str("  predictions\n");
        let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let w1 = rows
            .iter()
            .map(|r| r.1.chars().count())
            .max()
            .unwrap_or(0)
            .max("you predicted".len());
        out.push_str(&format!(
            "    {:<w0$}  {:<w1$}  {}\n",
            "",
            st.dim("you predicted"),
            st.dim("it was")
        ));
        for (file, predicted, actual, mark) in rows {
            let pad = w1 - predicted.chars().count();
            out.push_str(&format!(
                "    {file:<w0$}  {predicted}{}  {actual} {mark}\n",
                " ".repeat(pad)
            ));
        }
    }
    out.push_str(&format!(
        "  read        book/src/{} (the chapter of this lab)\n",
        s.chapter
    ));
    let questions = interview_questions(&s.chapter);
    if !questions.is_empty() {
        out.push_str("  interview questions to answer out loud:\n");
        for q in questions {
            out.push_str(&format!("    • {}\n", crate::markdown::inline(st, &q)));
        }
    }
    out
}

/// The recap of `s`, with the lab directory of `sb` for the real answers.
pub fn recap_in(st: Style, s: &Scenario, lp: &LabProgress, sb: &Sandbox) -> String {
    let dir = sb.lab_dir();
    recap(st, s, lp, now(), &|file| {
        std::fs::read_to_string(dir.join(file))
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recap_of_pid1() {
        let labs = crate::load::embedded().unwrap();
        let s = labs.iter().find(|s| s.id == "pid1").unwrap();
        let mut lp = LabProgress {
            started: Some(1_000),
            ..LabProgress::default()
        };
        lp.hints.insert("argv".into(), 2);
        lp.predictions
            .insert("argv/t1.argv".into(), "sleep 300".into());
        lp.predictions
            .insert("argv/t2.argv".into(), "sleep 300 600".into());
        lp.predictions
            .insert("signals/s1.code".into(), "143".into());
        let real = |file: &str| -> Option<String> {
            Some(
                match file {
                    "t1.argv" => "sleep 300",
                    "t2.argv" => "sleep 600",
                    "t3.argv" => "sleep 700",
                    "s1.code" => "137",
                    _ => "143",
                }
                .into(),
            )
        };
        let text = recap(Style::plain(), s, &lp, 1_000 + 27 * 60 + 5, &real);
        assert!(text.contains("27 min"), "{text}");
        // The questions are the book's (quoted, not snapshotted: the book changes on its own).
        let (own, questions) = text.split_once("  interview questions").unwrap();
        assert!(questions.lines().count() > 2, "{text}");
        insta::assert_snapshot!(own);
    }
}
