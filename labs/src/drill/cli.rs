//! `hull-lab drill`: the argument struct and the dispatch, a few lines per action.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};

use super::record::Store;
use super::{session, Card, Deck};
use crate::app::App;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The drill to start (or, with --quiz, the card to ask).
    pub id: Option<String>,
    /// One drill or question card per line.
    #[arg(long)]
    pub list: bool,
    /// Ask the question cards one by one; each model answer shows after yours.
    #[arg(long)]
    pub quiz: bool,
    /// In a drill's shell: the next hint (each adds a minute to your time).
    #[arg(long)]
    pub hint: bool,
    /// In a drill's shell: grade the fix.
    #[arg(long)]
    pub check: bool,
    /// Your last attempt at drill ID beside the reference fix.
    #[arg(long)]
    pub debrief: bool,
    /// Keep the sandbox instead of opening a shell (for scripts).
    #[arg(long)]
    pub keep: bool,
    /// Read drills from DIR instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub drills: Option<PathBuf>,
}

pub fn run(app: &App, a: &Args) -> Result<u8> {
    // Drills and cards name the built-in labs, whatever `--scenarios` points at.
    let mut labs = crate::load::embedded()?;
    labs.extend(app.scenarios.iter().cloned());
    let deck = match &a.drills {
        Some(dir) => Deck::load_dir(dir, &labs)?,
        None => Deck::embedded(&labs)?,
    };
    let store = Store::new(&app.store.dir);
    let log = store.load().context("cannot read your drill times")?;
    if a.hint || a.check {
        let (id, dir) = session::current()?;
        let d = deck.drill(&id).ok_or_else(|| anyhow!("no drill {id:?}"))?;
        return if a.hint {
            session::hint(app.style, d, &dir)
        } else {
            session::check(app.style, &store, d, &dir, app.json)
        };
    }
    if a.quiz {
        let cards: Vec<&Card> = match &a.id {
            Some(id) => vec![deck.card(id).ok_or_else(|| anyhow!("no card {id:?}"))?],
            None => deck.cards.iter().collect(),
        };
        let stdin = std::io::stdin();
        super::cards::quiz(app.style, &cards, &mut stdin.lock(), &mut std::io::stdout())?;
        return Ok(0);
    }
    if a.list || a.id.is_none() {
        if app.json {
            println!("{}", super::cards::json(&deck, &log)?);
        } else {
            print!("{}", super::cards::list(app.style, &deck, &log));
        }
        return Ok(0);
    }
    let id = a.id.as_deref().unwrap_or_default();
    let d = deck.drill(id).ok_or_else(|| {
        let ids: Vec<&str> = deck.drills.iter().map(|d| d.id.as_str()).collect();
        anyhow!("no drill {id:?}; the drills are: {}", ids.join(", "))
    })?;
    if a.debrief {
        let Some(last) = log.last(id) else {
            bail!("no attempt at drill {id} yet: `hull-lab drill {id}` starts one");
        };
        print!("{}", session::debrief(app.style, d, last));
        return Ok(0);
    }
    session::start(app.style, &store, d, a.keep)
}
