//! Embeds every `scenarios/*.yaml` and `drills/*.yaml` of the repository, and the book's
//! sources, in the binary: the lists are made here from the directories, never by hand.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    embed(
        &manifest.join("../scenarios"),
        "scenarios.rs",
        "EMBEDDED",
        false,
    );
    embed(&manifest.join("../drills"), "drills.rs", "DRILLS", false);
    embed(&manifest.join("../book"), "book.rs", "BOOK", true);
}

/// Writes `OUT_DIR/out`: a static `name` of `(relative path, contents)`, sorted by path; the
/// `*.yaml` files of `dir`, or every file below it when `all`.
fn embed(dir: &Path, out: &str, name: &str, all: bool) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    walk(dir, all, &mut files);
    files.sort();
    let mut text = format!("/// `(file name, contents)` of every embedded file, sorted by name.\npub static {name}: &[(&str, &str)] = &[\n");
    for path in &files {
        let rel = path.strip_prefix(dir).expect("below dir").to_string_lossy();
        let abs = path.canonicalize().expect("an existing file");
        writeln!(
            text,
            "    ({rel:?}, include_str!({:?})),",
            abs.display().to_string()
        )
        .expect("writing to a String");
    }
    text.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join(out);
    std::fs::write(&dest, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
}

fn walk(dir: &Path, all: bool, files: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("readable directory entry").path();
        if all && path.is_dir() {
            // The book's build output is not a source.
            if path.file_name().is_some_and(|n| n != "build") {
                println!("cargo:rerun-if-changed={}", path.display());
                walk(&path, all, files);
            }
        } else if path.is_file() && (all || path.extension().is_some_and(|e| e == "yaml")) {
            files.push(path);
        }
    }
}
