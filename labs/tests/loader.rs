//! The loader on the embedded scenarios (all valid, chapters present) and on a corpus of broken
//! files (`tests/broken/*.yaml`): each gives one line naming the file, its line, the step and
//! the field.

use std::path::Path;

use hull_lab::load::{embedded, load_dir, load_file};

#[test]
fn embedded_scenarios_load_and_their_chapters_exist() {
    let all = embedded().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        all.len() >= 5,
        "expected the five core labs, found {}",
        all.len()
    );
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src");
    for s in &all {
        let chapter = book.join(&s.chapter);
        assert!(
            chapter.is_file(),
            "{}: chapter {} is missing",
            s.id,
            chapter.display()
        );
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    assert_eq!(
        load_dir(&dir).unwrap().len(),
        all.len(),
        "every scenarios/*.yaml is embedded"
    );
}

#[test]
fn broken_files_give_one_clear_line_each() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 15, "the corpus shrank");
    let mut report = String::new();
    for path in &names {
        let err =
            load_file(path).expect_err(&format!("{} loads, but it is broken", path.display()));
        let line = err.to_string().replace(&format!("{}/", dir.display()), "");
        assert!(!line.contains('\n'), "not one line: {line}");
        assert!(err.line.is_some(), "no line number: {line}");
        report.push_str(&line);
        report.push('\n');
    }
    insta::assert_snapshot!(report);
}
