//! `hull-lab book`, the one command that opens the book on a fresh machine: it needs no
//! mdbook binary and no checkout (the book is built into hull-lab), writes the HTML and says
//! which file to open.

use std::process::Command;

#[test]
fn hull_lab_book_writes_the_built_in_book_and_names_its_index() {
    let out = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hull-lab"))
        .args(["book", "--out"])
        .arg(out.path())
        .current_dir(elsewhere.path())
        .env("HULL_LAB_STATE_DIR", elsewhere.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let index = out.path().join("index.html");
    assert!(
        text.contains(&format!("file://{}", index.display())),
        "{text}"
    );
    let pid1 = std::fs::read_to_string(out.path().join("labs/pid1.html")).unwrap();
    assert!(pid1.contains("data-lab=\"pid1\""), "steps not rendered");
    let drills = std::fs::read_to_string(out.path().join("drills.html")).unwrap();
    assert!(
        drills.contains("hull-lab drill oom-loop"),
        "drills not rendered"
    );
}
