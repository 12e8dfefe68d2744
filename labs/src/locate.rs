//! Finds the line of a field in a block-style YAML text, so that a mistake found after parsing
//! (a semantic error) can still be reported as `file:line`. Best effort by indentation: it
//! understands the block mappings and sequences scenario files are written in.

/// A step of a path into the document: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

struct Line<'a> {
    /// Column of the first character (of the first `- ` for an item line).
    raw: usize,
    /// Column of the key after any `- ` prefixes.
    key_col: usize,
    dashed: bool,
    content: &'a str,
}

fn lines(text: &str) -> Vec<Option<Line<'_>>> {
    text.lines()
        .map(|l| {
            let trimmed = l.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                return None;
            }
            let raw = l.len() - trimmed.len();
            let mut content = trimmed;
            let mut key_col = raw;
            while let Some(rest) = content.strip_prefix("- ") {
                let after = rest.trim_start();
                key_col += content.len() - after.len();
                content = after;
            }
            Some(Line {
                raw,
                key_col,
                dashed: key_col != raw,
                content,
            })
        })
        .collect()
}

fn is_key(content: &str, key: &str) -> bool {
    content
        .strip_prefix(key)
        .is_some_and(|rest| rest.starts_with(':'))
}

/// The 1-based line of the value at `path`, or of the deepest part of it that was found.
pub fn locate(text: &str, path: &[Seg]) -> Option<usize> {
    let ls = lines(text);
    let mut range = 0..ls.len();
    let mut found = None;
    for seg in path {
        let first = range.clone().find(|&i| ls[i].is_some())?;
        let level = ls[first].as_ref()?.key_col;
        match seg {
            Seg::Key(k) => {
                let at = range.clone().find(|&i| {
                    ls[i].as_ref().is_some_and(|l| {
                        let on_level = l.key_col == level && (i == first || !l.dashed);
                        on_level && is_key(l.content, k)
                    })
                })?;
                found = Some(at + 1);
                let own = ls[at].as_ref()?;
                let end = (at + 1..range.end)
                    .find(|&i| {
                        ls[i].as_ref().is_some_and(|l| {
                            l.raw < own.key_col || (l.raw == own.key_col && !l.dashed)
                        })
                    })
                    .unwrap_or(range.end);
                range = at + 1..end;
            }
            Seg::Index(n) => {
                let item_col = ls[first].as_ref().filter(|l| l.dashed)?.raw;
                let starts: Vec<usize> = range
                    .clone()
                    .filter(|&i| {
                        ls[i]
                            .as_ref()
                            .is_some_and(|l| l.dashed && l.raw == item_col)
                    })
                    .collect();
                let start = *starts.get(*n)?;
                let end = starts.get(n + 1).copied().unwrap_or(range.end);
                found = Some(start + 1);
                range = start..end;
            }
        }
    }
    found
}

/// The index of the step item that contains 1-based `line`, if any.
pub fn step_at_line(text: &str, line: usize) -> Option<usize> {
    let mut n = 0;
    let mut last = None;
    while let Some(start) = locate(text, &[Seg::Key("steps".into()), Seg::Index(n)]) {
        if start > line {
            break;
        }
        last = Some(n);
        n += 1;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
version: 1
id: demo
steps:
  - id: one
    title: One
    checks:
      - kind: container
        name: web
      - kind: command
        run: true
        exit_code: 0
  - id: two
    checks:
    - kind: file
      path: /x
";

    fn key(k: &str) -> Seg {
        Seg::Key(k.into())
    }

    #[test]
    fn finds_fields() {
        assert_eq!(locate(DOC, &[key("id")]), Some(2));
        assert_eq!(locate(DOC, &[key("steps"), Seg::Index(1)]), Some(12));
        let exit = [
            key("steps"),
            Seg::Index(0),
            key("checks"),
            Seg::Index(1),
            key("exit_code"),
        ];
        assert_eq!(locate(DOC, &exit), Some(11));
        let path = [
            key("steps"),
            Seg::Index(1),
            key("checks"),
            Seg::Index(0),
            key("path"),
        ];
        assert_eq!(locate(DOC, &path), Some(15));
        assert_eq!(
            locate(DOC, &[key("steps"), Seg::Index(0), key("title")]),
            Some(5)
        );
        assert_eq!(locate(DOC, &[key("nope")]), None);
        assert_eq!(step_at_line(DOC, 9), Some(0));
        assert_eq!(step_at_line(DOC, 14), Some(1));
        assert_eq!(step_at_line(DOC, 2), None);
    }
}
