//! The lab manual: it builds with mdbook and hull-lab's preprocessor, every chapter a
//! scenario points at is in it with the scenario's steps, its internal links lead somewhere,
//! every `hull` command it shows is one the scenarios, drills or tests run, and a chapter
//! renders in a real browser (headless Chromium).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use hull_lab::drill::Deck;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The book built from `book/` into a temporary directory, as `hull-lab book --src book`.
fn built() -> (tempfile::TempDir, PathBuf) {
    let labs = hull_lab::load::embedded().expect("scenarios load");
    let deck = Deck::embedded(&labs).expect("drills load");
    let out = tempfile::tempdir().expect("temp dir");
    // book.toml says create-missing = false, so a chapter listed in SUMMARY.md without its
    // file is an error here instead of an empty page.
    let index = hull_lab::book::build(&repo().join("book"), out.path(), &labs, &deck)
        .unwrap_or_else(|e| panic!("the book does not build: {e:#}"));
    (out, index)
}

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            html_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "html") {
            out.push(p);
        }
    }
}

#[test]
fn the_book_builds_with_every_chapter_and_the_scenario_steps_in_it() {
    let (out, index) = built();
    assert!(index.is_file());
    for s in hull_lab::load::embedded().unwrap() {
        let page = out.path().join(s.chapter.replace(".md", ".html"));
        let html =
            std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        assert!(
            html.contains(&format!("data-lab=\"{}\"", s.id)),
            "{}: the steps of lab {} are not rendered into it",
            page.display(),
            s.id
        );
        for (i, step) in s.steps.iter().enumerate() {
            let title = format!("Step {}: ", i + 1);
            assert!(html.contains(&title), "{}: no {title:?}", page.display());
            for c in &step.solution {
                let first = c.lines().next().unwrap_or_default();
                let escaped = first
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;");
                assert!(
                    html.contains(first) || html.contains(&escaped),
                    "{}: solution line {first:?} of step {} is missing",
                    page.display(),
                    step.id
                );
            }
        }
    }
    let mut pages = Vec::new();
    html_files(out.path(), &mut pages);
    for p in pages {
        let html = std::fs::read_to_string(&p).unwrap();
        assert!(
            !html.contains("{{#hull-lab"),
            "{}: a hull-lab directive was left unexpanded",
            p.display()
        );
    }
}

#[test]
fn every_scenario_chapter_is_in_the_book_and_asks_for_its_steps() {
    let summary = std::fs::read_to_string(repo().join("book/src/SUMMARY.md")).expect("SUMMARY.md");
    let labs = hull_lab::load::embedded().unwrap();
    assert!(
        labs.len() >= 5,
        "expected the five core labs, found {}",
        labs.len()
    );
    for s in &labs {
        let path = repo().join("book/src").join(&s.chapter);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: chapter {}: {e}", s.id, s.chapter));
        assert!(
            summary.contains(&format!("({})", s.chapter)),
            "{}: chapter {} is not linked from book/src/SUMMARY.md",
            s.id,
            s.chapter
        );
        let directive = format!("{{{{#hull-lab steps {}}}}}", s.id);
        assert!(
            text.contains(&directive),
            "{}: {} does not render its steps ({directive})",
            s.id,
            s.chapter
        );
        for heading in ["## What to look at", "## How to say it in an interview"] {
            assert!(text.contains(heading), "{}: no {heading:?}", s.chapter);
        }
    }
}

/// `href`s of a page that point into the book (not to other sites, not `javascript:`).
fn internal_links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|h| {
            !h.contains("://") && !h.starts_with("mailto:") && !h.starts_with("javascript:")
        })
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

#[test]
fn every_internal_link_of_the_built_book_leads_to_a_page_and_its_anchor() {
    let (out, _) = built();
    let mut pages = Vec::new();
    html_files(out.path(), &mut pages);
    let mut checked = 0;
    let mut broken = Vec::new();
    for page in &pages {
        let html = std::fs::read_to_string(page).unwrap();
        for link in internal_links(&html) {
            let (file, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            checked += 1;
            if !target.exists() {
                broken.push(format!(
                    "{}: {link} (no {})",
                    page.display(),
                    target.display()
                ));
                continue;
            }
            if !anchor.is_empty() && target.extension().is_some_and(|e| e == "html") {
                let t = std::fs::read_to_string(&target).unwrap();
                if !t.contains(&format!("id=\"{anchor}\"")) {
                    broken.push(format!(
                        "{}: {link} (no id {anchor:?} there)",
                        page.display()
                    ));
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} links found: is the link finder broken?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// `hull …` commands a Markdown text shows: lines of fenced `sh`/`console`/`bash` blocks and
/// inline code spans whose first word is `hull`, with at least one argument and no
/// placeholder (a word in capitals, `…`).
fn hull_commands(md: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut fence: Option<bool> = None;
    for line in md.lines() {
        let t = line.trim_start();
        if let Some(lang) = t.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(matches!(lang.trim(), "sh" | "console" | "bash" | "shell")),
            };
            continue;
        }
        match fence {
            Some(true) => found.push(
                t.trim_start_matches("$ ")
                    .trim_start_matches("sudo ")
                    .to_owned(),
            ),
            Some(false) => {}
            None => found.extend(line.split('`').skip(1).step_by(2).map(str::to_owned)),
        }
    }
    found
        .into_iter()
        .map(|c| {
            c.split('#')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|c| {
            let words: Vec<&str> = c.split(' ').collect();
            let placeholder = |w: &&str| {
                w.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_')
                    && w.chars().any(|ch| ch.is_ascii_uppercase())
            };
            // `hull run -t` names a flag; a command has an argument beyond its options.
            words.first() == Some(&"hull")
                && words.iter().skip(2).any(|w| !w.starts_with('-'))
                && !c.contains('…')
                && !words.iter().any(placeholder)
        })
        .collect()
}

/// Every command the scenarios and drills run, and the text of the test suites.
fn what_is_run() -> String {
    let labs = hull_lab::load::embedded().unwrap();
    let deck = Deck::embedded(&labs).unwrap();
    let mut corpus = String::new();
    let scenarios = labs.iter().chain(deck.drills.iter().map(|d| &d.scenario));
    for s in scenarios {
        let mut lines: Vec<&String> = s.setup.iter().collect();
        for st in &s.steps {
            lines.extend(&st.solution);
            lines.extend(st.wrong.iter().flat_map(|w| &w.commands));
            for c in &st.checks {
                if let hull_lab::schema::Check::Command(c) = c {
                    lines.push(&c.run);
                }
            }
        }
        for l in lines {
            corpus.push_str(l);
            corpus.push('\n');
        }
    }
    for dir in ["tests", "labs/tests", "scripts"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let p = entry.unwrap().path();
            // This file quotes commands to test the finder; it runs none.
            let this = p.ends_with("tests/book.rs");
            if !this && p.extension().is_some_and(|e| e == "rs" || e == "sh") {
                let text = std::fs::read_to_string(&p).unwrap();
                corpus.push_str(&text);
                corpus.push('\n');
                for args in string_arrays(&text) {
                    corpus.push_str(&format!("hull {}\n", args.join(" ")));
                }
            }
        }
    }
    corpus.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The arrays of string literals in Rust source (`&["run", "--rm", "busybox", "true"]`):
/// how the tests pass arguments to `hull`.
fn string_arrays(rust: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for chunk in rust.split('[').skip(1) {
        let Some(body) = chunk.split(']').next() else {
            continue;
        };
        let mut items = Vec::new();
        let mut rest = body.trim();
        while let Some(after) = rest.strip_prefix('"') {
            let mut end = None;
            let mut escaped = false;
            for (i, ch) in after.char_indices() {
                match ch {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = Some(i);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let Some(end) = end else { break };
            items.push(after[..end].replace("\\\"", "\"").replace("\\\\", "\\"));
            rest = after[end + 1..]
                .trim_start()
                .trim_start_matches(',')
                .trim_start();
        }
        if !items.is_empty() && rest.is_empty() {
            found.push(items);
        }
    }
    found
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            markdown_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "md") {
            out.push(p);
        }
    }
}

#[test]
fn every_hull_command_in_the_book_is_one_the_scenarios_or_tests_run() {
    let corpus = what_is_run();
    let mut files = Vec::new();
    markdown_files(&repo().join("book/src"), &mut files);
    let mut seen = BTreeSet::new();
    let mut unknown = Vec::new();
    for f in &files {
        for c in hull_commands(&std::fs::read_to_string(f).unwrap()) {
            if !corpus.contains(&c) {
                unknown.push(format!(
                    "{}: `{c}`",
                    f.strip_prefix(repo()).unwrap().display()
                ));
            }
            seen.insert(c);
        }
    }
    assert!(
        seen.len() >= 10,
        "only {} hull commands found in the book: {seen:?}",
        seen.len()
    );
    assert!(
        unknown.is_empty(),
        "commands in the book that no scenario, drill or test runs (run them in one, or show a command that is run):\n{}",
        unknown.join("\n")
    );
}

#[test]
fn the_command_finder_sees_blocks_and_spans_and_skips_placeholders() {
    let md = "Run `hull run -d --name web busybox` or `hull ps`.\n\n```sh\n$ hull stop -t 2 web # stop it\nls\n```\n\n```text\nhull run not a command\n```\n`hull inspect NAME now`\n";
    assert_eq!(
        hull_commands(md),
        ["hull run -d --name web busybox", "hull stop -t 2 web"]
    );
    assert_eq!(
        string_arrays(r#"lab.ok(&["run", "--rm", "busybox", "cat", "/etc/hosts"]); x[0]"#),
        [vec!["run", "--rm", "busybox", "cat", "/etc/hosts"]]
    );
    let corpus = what_is_run();
    assert!(!corpus.contains("hull run -d --name nobody-runs-this busybox"));
}

/// Chromium from the distribution: scripts/test.sh installs it. Missing, the test fails.
fn chromium() -> PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("chromium is not installed: scripts/test.sh installs it (apt-get install chromium)")
}

#[test]
fn a_lab_chapter_renders_in_headless_chromium_with_its_steps() {
    let (out, _) = built();
    let page = out.path().join("labs/pid1.html");
    let profile = tempfile::tempdir().unwrap();
    let run = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && !dom.is_empty(),
        "chromium failed: {}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let pid1 = hull_lab::load::embedded()
        .unwrap()
        .into_iter()
        .find(|s| s.id == "pid1")
        .unwrap();
    assert!(
        dom.contains("data-lab=\"pid1\""),
        "no steps section in the DOM"
    );
    for step in &pid1.steps {
        let title = step.title.replace('`', "");
        let plain = dom.replace("<code>", "").replace("</code>", "");
        assert!(
            plain.contains(&title),
            "step title {title:?} not in the rendered page"
        );
    }
    // The page's script ran: the sidebar's table of contents was filled in by JavaScript.
    assert!(
        dom.contains("Drills and interview questions"),
        "the sidebar did not render in the browser"
    );
}
