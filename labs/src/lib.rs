//! `hull-lab`: Hull's scenario runner. Scenario files (data) are loaded and validated
//! ([`load`]), each run in a disposable [`sandbox`] host, graded by [`check`]s that observe
//! the real system, with progress remembered ([`progress`]) and reports for people and
//! scripts ([`ui`], [`verify`]).

pub mod app;
pub mod book;
pub mod check;
pub mod drill;
pub mod load;
pub mod locate;
pub mod markdown;
pub mod parse;
pub mod progress;
pub mod runner;
pub mod sandbox;
pub mod schema;
pub mod seed;
pub mod ui;
pub mod verify;
pub mod vm;
