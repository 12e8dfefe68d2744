//! The lab manual builds with mdbook, and every chapter a scenario points at is in it.

use std::path::Path;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_book_builds_with_every_chapter_of_its_summary() {
    // book.toml says create-missing = false, so a chapter listed in SUMMARY.md without its
    // file is an error here instead of an empty page.
    let mut book = mdbook_driver::MDBook::load(repo().join("book")).expect("book/ loads");
    let out = tempfile::tempdir().expect("temp dir");
    book.config.build.build_dir = out.path().to_path_buf();
    book.build().expect("mdbook builds book/");
    assert!(
        out.path().join("index.html").exists() || out.path().join("html/index.html").exists(),
        "mdbook wrote no index.html into {}",
        out.path().display()
    );
}

#[test]
fn every_scenario_chapter_is_in_the_book() {
    let summary = std::fs::read_to_string(repo().join("book/src/SUMMARY.md")).expect("SUMMARY.md");
    let mut seen = 0;
    for entry in std::fs::read_dir(repo().join("scenarios")).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("scenario");
        let chapter = text
            .lines()
            .find_map(|l| l.strip_prefix("chapter:"))
            .map(|c| c.trim().trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("{} has no chapter:", path.display()));
        assert!(
            repo().join("book/src").join(&chapter).is_file(),
            "{}: chapter {chapter} is not a file in book/src",
            path.display()
        );
        assert!(
            summary.contains(&format!("({chapter})")),
            "{}: chapter {chapter} is not linked from book/src/SUMMARY.md",
            path.display()
        );
        seen += 1;
    }
    assert!(
        seen >= 5,
        "expected the five core labs, found {seen} scenarios"
    );
}
