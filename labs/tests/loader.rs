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

/// The common wrong answers the labs name: each written answer gets its own diagnosis.
#[test]
fn named_wrong_answers_get_their_diagnosis() {
    use hull_lab::schema::Check;
    let labs = hull_lab::load::embedded().unwrap();
    let diagnosis = |lab: &str, file: &str, written: &str| -> Option<String> {
        let s = labs.iter().find(|s| s.id == lab).unwrap();
        let c = s
            .steps
            .iter()
            .flat_map(|st| &st.checks)
            .find_map(|c| match c {
                Check::Answer(a) if a.file == file => Some(a),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{lab} has no answer {file}"));
        c.wrong_answers
            .iter()
            .find(|w| w.matches(written))
            .map(|w| w.diagnosis.clone())
    };
    let cases = [
        ("ports", "target", "172.17.0.3:8080", "port on the host"),
        (
            "ports",
            "target",
            "192.0.2.10:8080",
            "sandbox host's own address",
        ),
        ("ports", "target", "172.17.0.2:80", "not web's"),
        ("pid1", "t1.argv", "300", "ENTRYPOINT and CMD are joined"),
        ("pid1", "t2.argv", "sleep 300 600", "replace CMD"),
        ("pid1", "t3.argv", "sh -c sleep 700", "execs it"),
        (
            "pid1",
            "t3.argv",
            r#"["sh", "-c", "sleep 700"]"#,
            "execs it",
        ),
        ("pid1", "s1.code", "143", "no handler"),
        ("pid1", "s2.code", "137", "--init"),
        ("namespaces", "pid", "1", "own PID namespace"),
    ];
    for (lab, file, written, want) in cases {
        let got = diagnosis(lab, file, written)
            .unwrap_or_else(|| panic!("{lab} {file}: {written:?} has no diagnosis"));
        assert!(got.contains(want), "{lab} {file} {written:?}: {got}");
    }
    // Diagnoses are looked up only for answers found wrong; still, none of these names a
    // right answer (the ports one, `IP:80`, needs the truth to tell, so is not listed).
    for (lab, file, right) in [
        ("pid1", "t1.argv", "sleep 300"),
        ("pid1", "t3.argv", "sleep 700"),
        ("pid1", "s1.code", "137"),
        ("pid1", "s2.code", "143"),
    ] {
        assert_eq!(diagnosis(lab, file, right), None, "{lab} {file} {right:?}");
    }
}
