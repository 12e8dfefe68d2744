//! The line protocol on the socket pair between hullrt and the processes it forks.
//! One message per line: a word, then optional text (`pid 1234`, `error <message>`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;

use crate::error::{Error, Result};

pub struct Chan {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Chan {
    pub fn new(stream: UnixStream) -> Result<Self> {
        let writer = stream.try_clone().map_err(|e| sync_error("clone", e))?;
        Ok(Chan {
            reader: BufReader::new(stream),
            writer,
        })
    }

    pub fn pair() -> Result<(Chan, Chan)> {
        let (a, b) = UnixStream::pair().map_err(|e| sync_error("create", e))?;
        Ok((Chan::new(a)?, Chan::new(b)?))
    }

    pub fn send(&mut self, word: &str, text: &str) -> Result<()> {
        let line = if text.is_empty() {
            format!("{word}\n")
        } else {
            format!("{word} {}\n", text.replace('\n', " "))
        };
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| sync_error(&format!("send {word:?}"), e))
    }

    /// The next message as (word, text); `None` when every writer has gone.
    pub fn recv(&mut self) -> Result<Option<(String, String)>> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|e| sync_error("read", e))?;
        if n == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        let (word, text) = line.split_once(' ').unwrap_or((line, ""));
        Ok(Some((word.to_string(), text.to_string())))
    }

    /// Wait for one expected word; an `error` message or the end of the stream is an error.
    pub fn expect(&mut self, word: &str) -> Result<String> {
        match self.recv()? {
            Some((w, text)) if w == word => Ok(text),
            Some((w, text)) if w == "error" => Err(Error::Child(text)),
            Some((w, text)) => Err(Error::Protocol {
                expected: format!("{word:?}"),
                got: format!("{w} {text}"),
            }),
            None => Err(Error::Vanished {
                stage: stage_name(word),
            }),
        }
    }
}

impl Chan {
    /// The same socket for a forked child (a fresh buffered reader: nothing is buffered yet at
    /// the points where hullrt forks).
    pub fn try_clone_for_child(&self) -> Result<Chan> {
        Chan::new(
            self.writer
                .try_clone()
                .map_err(|e| sync_error("clone", e))?,
        )
    }
}

fn sync_error(action: &str, source: std::io::Error) -> Error {
    Error::Sync {
        action: action.to_string(),
        source,
    }
}

/// What the other side had not done yet when it exited, for the words hullrt waits for.
fn stage_name(word: &str) -> &'static str {
    match word {
        "cgroup-ok" => "hullrt placed it in its cgroup",
        "maps-ok" => "hullrt wrote its id maps",
        "go" => "it was told to go on",
        _ => "the step it was waiting for",
    }
}
