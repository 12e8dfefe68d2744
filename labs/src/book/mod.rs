//! The lab manual: `book/` built with mdbook as a library, with a preprocessor of our own
//! ([`render`]) that writes each lab's steps, hints, checks and solutions into its chapter from
//! the scenario files, and the drills and question cards from theirs: the book and the grader
//! read the same data, so they cannot disagree.

pub mod render;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mdbook_driver::MDBook;

use crate::drill::Deck;
use crate::schema::Scenario;

include!(concat!(env!("OUT_DIR"), "/book.rs"));

/// `hull-lab book`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the HTML (default: `book` in hull-lab's state directory).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Build this book directory (with its book.toml) instead of the built-in book.
    #[arg(long, value_name = "DIR")]
    pub src: Option<PathBuf>,
}

/// The mdbook preprocessor: `{{#hull-lab …}}` directives become Markdown.
pub struct Preprocessor {
    pub labs: Vec<Scenario>,
    pub deck: Deck,
}

impl mdbook_preprocessor::Preprocessor for Preprocessor {
    fn name(&self) -> &str {
        "hull-lab"
    }

    fn run(
        &self,
        _ctx: &mdbook_preprocessor::PreprocessorContext,
        mut book: mdbook_preprocessor::book::Book,
    ) -> mdbook_preprocessor::errors::Result<mdbook_preprocessor::book::Book> {
        let mut failure = None;
        book.for_each_chapter_mut(|ch| {
            let at = ch
                .path
                .as_ref()
                .map_or_else(|| ch.name.clone(), |p| p.display().to_string());
            match render::expand(&ch.content, &at, &self.labs, &self.deck) {
                Ok(text) => ch.content = text,
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        });
        match failure {
            Some(e) => Err(anyhow::anyhow!(e)),
            None => Ok(book),
        }
    }
}

/// Writes the built-in book's sources below `dir`.
pub fn unpack(dir: &Path) -> Result<()> {
    for (rel, text) in BOOK {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Builds the book at `root` (a directory with book.toml) into `out`; returns the path of
/// its `index.html`.
pub fn build(root: &Path, out: &Path, labs: &[Scenario], deck: &Deck) -> Result<PathBuf> {
    let mut book = MDBook::load(root)
        .with_context(|| format!("cannot load the book in {}", root.display()))?;
    book.config.build.build_dir = out.to_path_buf();
    book.with_preprocessor(Preprocessor {
        labs: labs.to_vec(),
        deck: deck.clone(),
    });
    book.build()
        .with_context(|| format!("cannot build the book in {}", root.display()))?;
    let index = out.join("index.html");
    if !index.is_file() {
        bail!("mdbook wrote no {}", index.display());
    }
    Ok(index)
}

/// `hull-lab book`: builds the built-in book (or `--src`) and says where to open it.
pub fn run(app: &crate::app::App, a: &Args) -> Result<u8> {
    let deck = Deck::embedded(&app.scenarios)?;
    let out = a.out.clone().unwrap_or_else(|| app.store.dir.join("book"));
    let index = match &a.src {
        Some(src) => build(src, &out, &app.scenarios, &deck)?,
        None => {
            let tmp = tempfile::tempdir().context("cannot make a temporary directory")?;
            unpack(tmp.path())?;
            build(tmp.path(), &out, &app.scenarios, &deck)?
        }
    };
    if app.json {
        println!("{}", serde_json::json!({ "index": index }));
    } else {
        println!("The book is in {}", out.display());
        println!("Open file://{} in a browser.", index.display());
    }
    Ok(0)
}
