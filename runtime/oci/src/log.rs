//! `--log FILE`, `--log-format text|json` and `--debug`, as runc has them. Errors always go to
//! stderr as well, so a user who gave no `--log` still sees them.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug)]
struct Logger {
    file: Option<PathBuf>,
    format: Format,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

pub fn init(file: Option<PathBuf>, format: Format, debug: bool) {
    let _ = LOGGER.set(Logger {
        file,
        format,
        debug,
    });
}

fn write(level: &str, msg: &str) {
    let Some(logger) = LOGGER.get() else {
        return;
    };
    if level == "debug" && !logger.debug {
        return;
    }
    let line = match logger.format {
        Format::Text => format!(
            "time=\"{}\" level={} msg={:?}\n",
            crate::state::now_rfc3339(),
            level,
            msg
        ),
        Format::Json => format!(
            "{}\n",
            serde_json::json!({"time": crate::state::now_rfc3339(), "level": level, "msg": msg})
        ),
    };
    match &logger.file {
        Some(path) => {
            if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
                let _ = f.write_all(line.as_bytes());
            }
        }
        None if level == "debug" => eprint!("{line}"),
        None => {}
    }
}

pub fn debug(msg: impl AsRef<str>) {
    write("debug", msg.as_ref());
}

pub fn warn(msg: impl AsRef<str>) {
    eprintln!("hullrt: warning: {}", msg.as_ref());
    write("warning", msg.as_ref());
}

pub fn error(msg: impl AsRef<str>) {
    write("error", msg.as_ref());
}
