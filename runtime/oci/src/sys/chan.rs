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
        let writer = stream
            .try_clone()
            .map_err(|e| Error::Init(format!("clone sync socket: {e}")))?;
        Ok(Chan {
            reader: BufReader::new(stream),
            writer,
        })
    }

    pub fn pair() -> Result<(Chan, Chan)> {
        let (a, b) =
            UnixStream::pair().map_err(|e| Error::Init(format!("create sync socket: {e}")))?;
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
            .map_err(|e| Error::Init(format!("send {word:?} on sync socket: {e}")))
    }

    /// The next message as (word, text); `None` when every writer has gone.
    pub fn recv(&mut self) -> Result<Option<(String, String)>> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|e| Error::Init(format!("read sync socket: {e}")))?;
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
            Some((w, text)) if w == "error" => Err(Error::Init(text)),
            Some((w, text)) => Err(Error::Init(format!(
                "expected {word:?} on sync socket, got {w:?} {text}"
            ))),
            None => Err(Error::Init(format!(
                "the container process exited before {word:?}"
            ))),
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
                .map_err(|e| Error::Init(format!("clone sync socket: {e}")))?,
        )
    }
}
