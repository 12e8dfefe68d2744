//! Parsing a template: text and actions, then the actions' pipelines into commands and
//! operands, and `if`/`range`/`with` … `else` … `end` into a tree.

use super::{Branch, Cmd, Node, Operand, Pipeline, TemplateError};

/// An action's contents (trimmed of `{{`, `}}` and the trim markers) at its offset.
struct Action<'a> {
    pos: usize,
    text: &'a str,
}

enum Piece<'a> {
    Text(String),
    Action(Action<'a>),
}

fn error(source: &str, pos: usize, message: impl Into<String>) -> TemplateError {
    TemplateError::Parse {
        line: 1 + source[..pos.min(source.len())].matches('\n').count(),
        message: message.into(),
    }
}

/// Splits the source into text and actions, applying `{{-` and `-}}`.
fn pieces(source: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = 0;
    let mut trim_next = false;
    while let Some(found) = source[rest..].find("{{") {
        let open = rest + found;
        let mut text = &source[rest..open];
        if trim_next {
            text = text.trim_start();
        }
        let mut start = open + 2;
        let trim_before = source[start..].starts_with("- ") || source[start..].starts_with("-\t");
        if trim_before {
            text = text.trim_end();
            start += 1;
        }
        if !text.is_empty() {
            out.push(Piece::Text(text.to_string()));
        }
        let close =
            find_close(source, start).ok_or_else(|| error(source, open, "unclosed action"))?;
        let mut end = close;
        trim_next = source[..close].ends_with(" -") || source[..close].ends_with("\t-");
        if trim_next {
            end -= 1;
        }
        let inner = &source[start..end];
        let lead = inner.len() - inner.trim_start().len();
        out.push(Piece::Action(Action {
            pos: start + lead,
            text: inner.trim(),
        }));
        rest = close + 2;
    }
    let mut text = &source[rest..];
    if trim_next {
        text = text.trim_start();
    }
    if !text.is_empty() {
        out.push(Piece::Text(text.to_string()));
    }
    Ok(out)
}

/// The offset of the `}}` closing an action that starts at `from`, skipping quoted text.
fn find_close(source: &str, from: usize) -> Option<usize> {
    let b = source.as_bytes();
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

pub(super) fn parse(source: &str) -> Result<Vec<Node>, TemplateError> {
    let pieces = pieces(source)?;
    let mut at = 0;
    let (nodes, end) = block(source, &pieces, &mut at)?;
    match end {
        None => Ok(nodes),
        Some((word, pos)) => Err(error(source, pos, format!("unexpected {{{{{word}}}}}"))),
    }
}

/// The `else` or `end` that ended a block, and its position.
type BlockEnd<'a> = Option<(&'a str, usize)>;

/// Nodes up to an `else` or `end` (returned with its position) or the end of the source.
fn block<'a>(
    source: &str,
    pieces: &[Piece<'a>],
    at: &mut usize,
) -> Result<(Vec<Node>, BlockEnd<'a>), TemplateError> {
    let mut nodes = Vec::new();
    while let Some(p) = pieces.get(*at) {
        *at += 1;
        let a = match p {
            Piece::Text(t) => {
                nodes.push(Node::Text(t.clone()));
                continue;
            }
            Piece::Action(a) => a,
        };
        if a.text.starts_with("/*") {
            if !a.text.ends_with("*/") {
                return Err(error(source, a.pos, "unclosed comment"));
            }
            continue;
        }
        let (word, rest) = split_word(a.text);
        let rest_pos = a.pos + (a.text.len() - rest.len());
        match word {
            "else" if !rest.is_empty() => {
                return Err(error(
                    source,
                    a.pos,
                    "{{else if}} is not supported by hull: nest an {{if}}",
                ))
            }
            "end" | "else" => return Ok((nodes, Some((word, a.pos)))),
            "if" | "range" | "with" => {
                let pipe = pipeline(source, rest, rest_pos)?;
                if pipe.cmds.is_empty() {
                    return Err(error(source, a.pos, format!("missing value for {word}")));
                }
                let (body, end) = block(source, pieces, at)?;
                let otherwise = match end {
                    Some(("else", _)) => match block(source, pieces, at)? {
                        (nodes, Some(("end", _))) => nodes,
                        (_, Some((w, pos))) => {
                            return Err(error(source, pos, format!("unexpected {{{{{w}}}}}")))
                        }
                        (_, None) => return Err(error(source, source.len(), "unexpected EOF")),
                    },
                    Some(_) => Vec::new(),
                    None => return Err(error(source, source.len(), "unexpected EOF")),
                };
                let b = Branch {
                    pipe,
                    body,
                    otherwise,
                };
                nodes.push(match word {
                    "if" => Node::If(b),
                    "range" => Node::Range(b),
                    _ => Node::With(b),
                });
            }
            "define" | "template" | "block" | "break" | "continue" => {
                return Err(error(
                    source,
                    a.pos,
                    format!("{{{{{word}}}}} is not supported by hull"),
                ))
            }
            _ => {
                let pipe = pipeline(source, a.text, a.pos)?;
                if pipe.cmds.is_empty() {
                    return Err(error(source, a.pos, "missing value for command"));
                }
                nodes.push(Node::Action(pipe));
            }
        }
    }
    Ok((nodes, None))
}

fn split_word(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (&text[..end], text[end..].trim_start())
}

/// A token of an action.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Operand(Operand),
    Pipe,
    Open,
    Close,
}

fn tokens(source: &str, text: &str, base: usize) -> Result<Vec<(usize, Token)>, TemplateError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let pos = base + i;
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'|' => {
                out.push((pos, Token::Pipe));
                i += 1;
                continue;
            }
            b'(' => {
                out.push((pos, Token::Open));
                i += 1;
                continue;
            }
            b')' => {
                out.push((pos, Token::Close));
                i += 1;
                continue;
            }
            b'"' => {
                let mut value = String::new();
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err(error(source, pos, "unterminated quoted string")),
                        Some(b'"') => break,
                        Some(b'\\') => {
                            i += 1;
                            value.push(match b.get(i) {
                                Some(b'n') => '\n',
                                Some(b't') => '\t',
                                Some(b'"') => '"',
                                Some(b'\\') => '\\',
                                _ => return Err(error(source, pos, "unknown escape sequence")),
                            });
                            i += 1;
                        }
                        Some(_) => {
                            let ch = text[i..].chars().next().unwrap_or_default();
                            value.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                i += 1;
                out.push((
                    pos,
                    Token::Operand(Operand::Str {
                        value,
                        text: text[start..i].to_string(),
                    }),
                ));
                continue;
            }
            b'`' => {
                let end = text[i + 1..]
                    .find('`')
                    .ok_or_else(|| error(source, pos, "unterminated raw quoted string"))?;
                let value = text[i + 1..i + 1 + end].to_string();
                i += end + 2;
                out.push((
                    pos,
                    Token::Operand(Operand::Str {
                        value,
                        text: text[start..i].to_string(),
                    }),
                ));
                continue;
            }
            b'$' => return Err(error(source, pos, "variables are not supported by hull")),
            _ => {}
        }
        // A word: a field chain, a number, a keyword or a function name.
        while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b'|' | b'(' | b')') {
            i += 1;
        }
        let word = &text[start..i];
        let op = if let Some(chain) = word.strip_prefix('.') {
            let chain: Vec<String> = if chain.is_empty() {
                Vec::new()
            } else {
                chain.split('.').map(String::from).collect()
            };
            if chain
                .iter()
                .any(|f| f.is_empty() || !f.chars().all(|c| c.is_alphanumeric() || c == '_'))
            {
                return Err(error(
                    source,
                    pos,
                    format!("bad character in field {word:?}"),
                ));
            }
            // Go places a chain (`.State.Status`) at its second field.
            let pos = match chain.first() {
                Some(first) if chain.len() > 1 => pos + 1 + first.len(),
                _ => pos,
            };
            Operand::Field { pos, chain }
        } else if word.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
            let value = serde_json::from_str::<serde_json::Number>(word.trim_start_matches('+'))
                .map_err(|_| error(source, pos, format!("bad number syntax: {word:?}")))?;
            Operand::Num {
                value,
                text: word.to_string(),
            }
        } else {
            match word {
                "true" => Operand::Bool(true),
                "false" => Operand::Bool(false),
                "nil" => Operand::Nil,
                name if super::funcs::exists(name) => Operand::Func {
                    pos,
                    name: name.to_string(),
                },
                name if name.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                    return Err(error(source, pos, format!("function {name:?} not defined")))
                }
                other => {
                    return Err(error(
                        source,
                        pos,
                        format!("unexpected {other:?} in command"),
                    ))
                }
            }
        };
        out.push((pos, Token::Operand(op)));
    }
    Ok(out)
}

/// A pipeline from an action's text (or a parenthesised part of one).
fn pipeline(source: &str, text: &str, base: usize) -> Result<Pipeline, TemplateError> {
    let toks = tokens(source, text, base)?;
    let mut at = 0;
    let p = pipe_of(source, &toks, &mut at, base)?;
    if let Some((pos, _)) = toks.get(at) {
        return Err(error(source, *pos, "unexpected right paren"));
    }
    Ok(p)
}

fn pipe_of(
    source: &str,
    toks: &[(usize, Token)],
    at: &mut usize,
    pos: usize,
) -> Result<Pipeline, TemplateError> {
    let mut cmds = Vec::new();
    let mut cmd = Cmd {
        pos: toks.get(*at).map_or(pos, |t| t.0),
        args: Vec::new(),
    };
    while let Some((tpos, t)) = toks.get(*at) {
        match t {
            Token::Close => break,
            Token::Pipe => {
                *at += 1;
                if cmd.args.is_empty() {
                    return Err(error(source, *tpos, "missing command"));
                }
                cmds.push(std::mem::replace(
                    &mut cmd,
                    Cmd {
                        pos: toks.get(*at).map_or(*tpos, |t| t.0),
                        args: Vec::new(),
                    },
                ));
            }
            Token::Open => {
                *at += 1;
                let sub = pipe_of(source, toks, at, *tpos)?;
                if toks.get(*at).map(|t| &t.1) != Some(&Token::Close) {
                    return Err(error(source, *tpos, "unclosed left paren"));
                }
                *at += 1;
                if sub.cmds.is_empty() {
                    return Err(error(
                        source,
                        *tpos,
                        "missing value for parenthesized pipeline",
                    ));
                }
                cmd.args.push(Operand::Sub(sub));
            }
            Token::Operand(op) => {
                *at += 1;
                cmd.args.push(op.clone());
            }
        }
    }
    if !cmd.args.is_empty() {
        cmds.push(cmd);
    } else if !cmds.is_empty() {
        return Err(error(source, pos, "missing command"));
    }
    Ok(Pipeline { pos, cmds })
}
