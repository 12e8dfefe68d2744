//! Embeds every `scenarios/*.yaml` of the repository in the binary: the list is made here from
//! the directory, never by hand.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dir = manifest.join("../scenarios");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut out =
        String::from("/// `(file name, contents)` of every embedded scenario, sorted by name.\n");
    out.push_str("pub static EMBEDDED: &[(&str, &str)] = &[\n");
    for path in &files {
        let name = path.file_name().expect("a file").to_string_lossy();
        let abs = path.canonicalize().expect("an existing file");
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            abs.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    // The labs' chapters of the book, for the recap at the end of a lab (its interview
    // questions); a chapter missing here is simply not quoted.
    let book = manifest.join("../book/src/labs");
    println!("cargo:rerun-if-changed={}", book.display());
    out.push_str("/// `(path below book/src, contents)` of the labs' chapters.\n");
    out.push_str("pub static CHAPTERS: &[(&str, &str)] = &[\n");
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(&book)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    chapters.retain(|p| p.extension().is_some_and(|e| e == "md"));
    chapters.sort();
    for path in &chapters {
        let name = path.file_name().expect("a file").to_string_lossy();
        let abs = path.canonicalize().expect("an existing file");
        writeln!(
            out,
            "    (\"labs/{name}\", include_str!({:?})),",
            abs.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("scenarios.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
}
