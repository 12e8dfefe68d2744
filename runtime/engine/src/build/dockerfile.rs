//! The Dockerfile subset `hull build` understands, parsed into instructions that remember
//! their line numbers (every build error names the line).

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// `RUN echo hi` → run through `/bin/sh -c`.
    Shell(String),
    /// `RUN ["echo", "hi"]` → run as is.
    Exec(Vec<String>),
}

impl Form {
    pub fn argv(&self) -> Vec<String> {
        match self {
            Form::Shell(s) => super::super::cmdline::shell_form(s),
            Form::Exec(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    From {
        image: String,
        /// The stage's name (`AS name`), lowercased as Docker keeps it.
        name: Option<String>,
    },
    Copy {
        srcs: Vec<String>,
        dest: String,
        chown: Option<String>,
        add: bool,
        /// `--from=`: a stage name, a stage index or an image.
        from: Option<String>,
    },
    Run(Form),
    Env(Vec<(String, String)>),
    Arg {
        name: String,
        default: Option<String>,
    },
    Workdir(String),
    User(String),
    Expose(Vec<String>),
    Label(Vec<(String, String)>),
    Cmd(Form),
    Entrypoint(Form),
    /// STOPSIGNAL: the signal as written (checked once ARG/ENV values are substituted).
    StopSignal(String),
    /// VOLUME: absolute paths, from a JSON array or words.
    Volume(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Line {
    pub number: usize,
    /// The instruction as written (continuations joined), for history and the cache key.
    pub text: String,
    pub instruction: Instruction,
}

/// Why a Dockerfile cannot be read; each names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerfileError {
    #[error("the Dockerfile is empty")]
    Empty,
    #[error("line {line}: the first instruction must be FROM (found {found:?})")]
    FirstNotFrom { line: usize, found: String },
    #[error("line {line}: duplicate stage name {name:?} (first on line {first})")]
    DuplicateStage {
        line: usize,
        first: usize,
        name: String,
    },
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
}

/// Why `K=V` pairs (ENV, LABEL) cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum PairsError {
    #[error("expected KEY=value or KEY value")]
    NoValue,
    #[error("{0:?}: expected KEY=value pairs")]
    NotPairs(String),
    #[error("{0:?}: unterminated quote")]
    Unterminated(String),
}

pub fn parse(text: &str) -> Result<Vec<Line>, DockerfileError> {
    let mut out = Vec::new();
    let mut pending = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if pending.is_empty() {
            start = i + 1;
        } else if trimmed.starts_with('#') {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            pending.push_str(body);
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let line = std::mem::take(&mut pending);
        out.push(parse_line(start, line.trim())?);
    }
    if !pending.is_empty() {
        out.push(parse_line(start, pending.trim())?);
    }
    match out.first() {
        None => return Err(DockerfileError::Empty),
        Some(l)
            if !matches!(
                l.instruction,
                Instruction::From { .. } | Instruction::Arg { .. }
            ) =>
        {
            return Err(DockerfileError::FirstNotFrom {
                line: l.number,
                found: l.text.split_whitespace().next().unwrap_or("").to_string(),
            })
        }
        _ => {}
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    for l in &out {
        if let Instruction::From {
            name: Some(name), ..
        } = &l.instruction
        {
            if let Some(first) = names.insert(name, l.number) {
                return Err(DockerfileError::DuplicateStage {
                    line: l.number,
                    first,
                    name: name.clone(),
                });
            }
        }
    }
    Ok(out)
}

fn parse_line(number: usize, text: &str) -> Result<Line, DockerfileError> {
    let err = |reason: String| DockerfileError::Line {
        line: number,
        reason,
    };
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim();
    let keyword = word.to_ascii_uppercase();
    let need = |what: &str| -> Result<(), DockerfileError> {
        if rest.is_empty() {
            Err(err(format!("{keyword} needs {what}")))
        } else {
            Ok(())
        }
    };
    let instruction = match keyword.as_str() {
        "FROM" => {
            need("an image")?;
            let parts: Vec<&str> = rest.split_whitespace().collect();
            if parts.len() == 3 && parts[1].eq_ignore_ascii_case("as") {
                let name = parts[2].to_ascii_lowercase();
                if !valid_stage_name(&name) {
                    return Err(err(format!("invalid stage name {:?}: it must start with a letter and contain only letters, digits, '-', '_' and '.'", parts[2])));
                }
                Instruction::From { image: parts[0].to_string(), name: Some(name) }
            } else if parts.len() == 1 {
                Instruction::From { image: parts[0].to_string(), name: None }
            } else {
                return Err(err(format!("FROM {rest:?}: expected FROM IMAGE [AS NAME]")));
            }
        }
        "COPY" | "ADD" => {
            need("a source and a destination")?;
            let mut chown = None;
            let mut from = None;
            let mut words: Vec<String> = Vec::new();
            let body = if rest.starts_with('[') {
                parse_json_array(rest)
                    .map_err(|e| err(format!("{keyword}: invalid JSON array {rest:?}: {e}")))?
            } else {
                rest.split_whitespace().map(str::to_string).collect()
            };
            for w in body {
                if let Some(c) = w.strip_prefix("--chown=") {
                    chown = Some(c.to_string());
                } else if let Some(f) = w.strip_prefix("--from=") {
                    if keyword == "ADD" {
                        return Err(err("ADD does not support --from: use COPY --from".into()));
                    }
                    if f.is_empty() {
                        return Err(err("COPY --from needs a stage name, a stage index or an image".into()));
                    }
                    from = Some(f.to_string());
                } else if w.starts_with("--") {
                    return Err(err(format!("{keyword} option {w:?} is not supported")));
                } else {
                    words.push(w);
                }
            }
            if words.len() < 2 {
                return Err(err(format!("{keyword} needs at least one source and a destination")));
            }
            let dest = words.pop().expect("checked");
            if keyword == "ADD" && words.iter().any(|s| s.contains("://")) {
                return Err(err("ADD from a URL is not supported (no network): download the file into the build context and COPY it".into()));
            }
            Instruction::Copy { srcs: words, dest, chown, add: keyword == "ADD", from }
        }
        "RUN" => {
            need("a command")?;
            Instruction::Run(form(rest))
        }
        "CMD" => {
            need("a command")?;
            Instruction::Cmd(form(rest))
        }
        "ENTRYPOINT" => {
            need("a command")?;
            Instruction::Entrypoint(form(rest))
        }
        "ENV" => {
            need("KEY=value")?;
            Instruction::Env(pairs(rest).map_err(|e| err(format!("ENV: {e}")))?)
        }
        "LABEL" => {
            need("KEY=value")?;
            Instruction::Label(pairs(rest).map_err(|e| err(format!("LABEL: {e}")))?)
        }
        "ARG" => {
            need("a name")?;
            let (name, default) = match rest.split_once('=') {
                Some((n, d)) => (n.to_string(), Some(unquote(d))),
                None => (rest.to_string(), None),
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(err(format!("ARG {rest:?}: expected ARG NAME[=default]")));
            }
            Instruction::Arg { name, default }
        }
        "WORKDIR" => {
            need("a path")?;
            Instruction::Workdir(rest.to_string())
        }
        "USER" => {
            need("a user")?;
            Instruction::User(rest.to_string())
        }
        "EXPOSE" => {
            need("a port")?;
            let ports: Vec<String> = rest
                .split_whitespace()
                .map(|p| if p.contains('/') { p.to_string() } else { format!("{p}/tcp") })
                .collect();
            for p in &ports {
                let (n, proto) = p.split_once('/').expect("added");
                if n.parse::<u16>().map_or(true, |n| n == 0) || !matches!(proto, "tcp" | "udp") {
                    return Err(err(format!("EXPOSE {p:?} is not PORT[/tcp|udp]")));
                }
            }
            Instruction::Expose(ports)
        }
        "STOPSIGNAL" => {
            need("a signal")?;
            if rest.split_whitespace().count() != 1 {
                return Err(err(format!("STOPSIGNAL {rest:?}: expected one signal")));
            }
            Instruction::StopSignal(rest.to_string())
        }
        "VOLUME" => {
            need("a path")?;
            let paths = if rest.starts_with('[') {
                parse_json_array(rest)
                    .map_err(|e| err(format!("VOLUME: invalid JSON array {rest:?}: {e}")))?
            } else {
                rest.split_whitespace().map(str::to_string).collect()
            };
            if paths.is_empty() || paths.iter().any(String::is_empty) {
                return Err(err("VOLUME specified can not be an empty string".into()));
            }
            Instruction::Volume(paths)
        }
        other => {
            return Err(err(format!(
                "unknown instruction {other:?} (hull build knows FROM COPY ADD RUN ENV ARG WORKDIR USER EXPOSE LABEL CMD ENTRYPOINT STOPSIGNAL VOLUME)"
            )))
        }
    };
    Ok(Line {
        number,
        text: text.to_string(),
        instruction,
    })
}

/// Docker's rule for stage names: `[a-z][a-z0-9-_.]*` (after lowercasing).
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn form(rest: &str) -> Form {
    if rest.starts_with('[') {
        // Docker falls back to the shell form when the JSON does not parse.
        match parse_json_array(rest) {
            Ok(v) => Form::Exec(v),
            Err(_) => Form::Shell(rest.to_string()),
        }
    } else {
        Form::Shell(rest.to_string())
    }
}

fn parse_json_array(text: &str) -> Result<Vec<String>, serde_json::Error> {
    serde_json::from_str::<Vec<String>>(text)
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2
        && (s.starts_with('"') && s.ends_with('"') || s.starts_with('\'') && s.ends_with('\''))
    {
        s[1..s.len() - 1].to_string()
    } else {
        s.to_string()
    }
}

/// ENV's and LABEL's `K=V K2="two words"`, or the legacy `K value with spaces`, as Docker's
/// parser reads them (`parseNameVal`): the line is cut into words where whitespace is outside
/// quotes ([`words`]); if the first word has no `=` it is the legacy form (the key, then all
/// the rest), else every word is `KEY=value`, cut at its first `=`. Keys and values are kept
/// as written (quotes, escapes, `$`): the build reads each one as a shell word
/// ([`shell_word`]) with the variables of its step. Quotes must close.
fn pairs(rest: &str) -> Result<Vec<(String, String)>, PairsError> {
    let words = words(rest);
    let first = words.first().ok_or(PairsError::NoValue)?;
    let out = if !first.contains('=') {
        let (k, v) = rest
            .trim()
            .split_once(|c: char| c.is_whitespace())
            .ok_or(PairsError::NoValue)?;
        vec![(k.to_string(), v.trim_start().to_string())]
    } else {
        words
            .iter()
            .map(|w| {
                w.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or_else(|| PairsError::NotPairs(w.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    for (k, v) in &out {
        for w in [k, v] {
            shell_word(w, &HashMap::new())
                .map_err(|_| PairsError::Unterminated(rest.to_string()))?;
        }
    }
    if out.iter().any(|(k, _)| k.is_empty()) {
        return Err(PairsError::NotPairs(rest.to_string()));
    }
    Ok(out)
}

/// Docker's `parseWords`: words split at whitespace outside quotes, each kept as written
/// (quotes and escapes in it); a `\` outside quotes keeps the next character in the word,
/// inside `"…"` too, never inside `'…'`.
pub fn words(rest: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A quoted empty word ("") is still a word.
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
            }
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                    blank_ok = true;
                }
                if c == '\\' {
                    // An escape at the end of the line is dropped.
                    if let Some(n) = chars.next() {
                        word.push(c);
                        word.push(n);
                    }
                    continue;
                }
                word.push(c);
            }
            Some(q) => {
                if c == q {
                    quote = None;
                }
                if c == '\\' && q != '\'' {
                    match chars.next() {
                        Some(n) => {
                            word.push(c);
                            word.push(n);
                        }
                        None => quote = None,
                    }
                    continue;
                }
                word.push(c);
            }
        }
    }
    if blank_ok || !word.is_empty() {
        words.push(word);
    }
    words
}

/// One shell word as Docker's builder reads ENV and LABEL keys and values (`ProcessWord`):
/// `'…'` literally; `"…"` with `$VAR` and `\"`, `\$`, `\\` escapes (any other `\` kept);
/// outside quotes `\` keeps the next character and `$VAR`/`${VAR}` are replaced (unknown ones
/// by nothing). A quote that does not close is an error.
pub fn shell_word(text: &str, vars: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next() {
                    Some('\'') => break,
                    Some(ch) => out.push(ch),
                    None => {
                        return Err("unexpected end of statement while looking for matching \
                                    single-quote"
                            .into())
                    }
                }
            },
            '"' => loop {
                match chars.next() {
                    Some('"') => break,
                    Some('$') => out.push_str(&dollar(&mut chars, vars)),
                    Some('\\') => match chars.peek() {
                        None => {}
                        Some(&n @ ('"' | '$' | '\\')) => {
                            chars.next();
                            out.push(n);
                        }
                        Some(_) => out.push('\\'),
                    },
                    Some(ch) => out.push(ch),
                    None => {
                        return Err("unexpected end of statement while looking for matching \
                                    double-quote"
                            .into())
                    }
                }
            },
            '$' => out.push_str(&dollar(&mut chars, vars)),
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// After a `$`: `NAME` or `{NAME}` replaced by its value (nothing when unknown); a `$` not
/// followed by a name stays.
fn dollar(
    chars: &mut std::iter::Peekable<std::str::Chars>,
    vars: &HashMap<String, String>,
) -> String {
    let braced = chars.peek() == Some(&'{');
    if braced {
        chars.next();
    }
    let mut name = String::new();
    while let Some(&n) = chars.peek() {
        if n.is_ascii_alphanumeric() || n == '_' {
            name.push(n);
            chars.next();
        } else {
            break;
        }
    }
    if braced && chars.peek() == Some(&'}') {
        chars.next();
    }
    if name.is_empty() {
        return if braced { "${".into() } else { "$".into() };
    }
    vars.get(&name).cloned().unwrap_or_default()
}

/// `$VAR` and `${VAR}` from the build's ARG and ENV values (unknown ones become empty, as in
/// Docker); `\$` keeps a literal dollar.
pub fn substitute(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'$') {
            out.push('$');
            chars.next();
            continue;
        }
        if c != '$' {
            out.push(c);
            continue;
        }
        out.push_str(&dollar(&mut chars, vars));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_typical_dockerfile() {
        let lines = parse(
            "# comment\nFROM busybox AS base\nARG GREETING=hi\nENV A=1 B=\"two words\"\nRUN echo $GREETING \\\n    && touch /x\nCOPY a.txt b.txt /dst/\nCMD [\"sh\", \"-c\", \"echo hi\"]\nENTRYPOINT echo\nEXPOSE 80 53/udp\n",
        )
        .unwrap();
        assert_eq!(
            lines[0].instruction,
            Instruction::From {
                image: "busybox".into(),
                name: Some("base".into())
            }
        );
        assert_eq!(lines[0].number, 2);
        assert_eq!(
            lines[2].instruction,
            Instruction::Env(vec![
                ("A".into(), "1".into()),
                ("B".into(), "\"two words\"".into())
            ])
        );
        assert_eq!(lines[3].number, 5);
        assert_eq!(
            lines[3].instruction,
            Instruction::Run(Form::Shell("echo $GREETING  && touch /x".into()))
        );
        assert!(
            matches!(&lines[4].instruction, Instruction::Copy { srcs, dest, .. } if srcs.len() == 2 && dest == "/dst/")
        );
        assert_eq!(
            lines[5].instruction,
            Instruction::Cmd(Form::Exec(vec!["sh".into(), "-c".into(), "echo hi".into()]))
        );
        assert_eq!(
            lines[6].instruction,
            Instruction::Entrypoint(Form::Shell("echo".into()))
        );
        assert_eq!(
            lines[7].instruction,
            Instruction::Expose(vec!["80/tcp".into(), "53/udp".into()])
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = |text| parse(text).unwrap_err().to_string();
        assert!(e("FROM busybox\nFROBNICATE x\n").starts_with("line 2: unknown instruction"));
        assert!(e("RUN true\n").contains("first instruction must be FROM"));
        assert!(e("FROM a AS x\nFROM b AS X\n").starts_with("line 2: duplicate stage name"));
        assert!(e("FROM a AS 1x\n").contains("invalid stage name"));
        assert!(e("FROM a\nADD --from=a x y\n").contains("--from"));
        assert!(e("FROM a\nEXPOSE http\n").starts_with("line 2"));
        assert!(e("FROM a\nADD http://x/y /y\n").contains("URL"));
        assert!(e("").contains("empty"));
        assert!(e("FROM a\nENV A=\"x\n").contains("unterminated quote"));
    }

    #[test]
    fn stopsignal_and_volume() {
        let lines = parse("FROM a\nSTOPSIGNAL SIGUSR1\nVOLUME /a /b\nVOLUME [\"/c\"]\n").unwrap();
        assert_eq!(
            lines[1].instruction,
            Instruction::StopSignal("SIGUSR1".into())
        );
        assert_eq!(
            lines[2].instruction,
            Instruction::Volume(vec!["/a".into(), "/b".into()])
        );
        assert_eq!(lines[3].instruction, Instruction::Volume(vec!["/c".into()]));
        let e = |text| parse(text).unwrap_err().to_string();
        assert!(e("FROM a\nSTOPSIGNAL\n").starts_with("line 2"));
        assert!(e("FROM a\nSTOPSIGNAL A B\n").starts_with("line 2"));
        assert!(e("FROM a\nVOLUME [\"\"]\n").contains("empty string"));
    }

    #[test]
    fn stages_and_copy_from() {
        let lines =
            parse("FROM a AS Build\nRUN x\nFROM b\nCOPY --from=build --chown=1 /o /p\n").unwrap();
        assert!(
            matches!(&lines[0].instruction, Instruction::From { name: Some(n), .. } if n == "build")
        );
        assert!(
            matches!(&lines[3].instruction, Instruction::Copy { from: Some(f), chown: Some(_), .. } if f == "build")
        );
    }

    #[test]
    fn variables() {
        let vars: HashMap<String, String> = [("A".to_string(), "1".to_string())].into();
        assert_eq!(substitute("x$A ${A}y $B \\$A", &vars), "x1 1y  $A");
    }

    /// LABEL's pairs as the build reads them (each key and value a shell word).
    fn labels(line: &str, vars: &HashMap<String, String>) -> Vec<(String, String)> {
        let lines = parse(&format!("FROM x\n{line}\n")).unwrap();
        let Instruction::Label(pairs) = &lines[1].instruction else {
            panic!("{line}: {:?}", lines[1].instruction);
        };
        pairs
            .iter()
            .map(|(k, v)| (shell_word(k, vars).unwrap(), shell_word(v, vars).unwrap()))
            .collect()
    }

    fn pairs_of(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_keys_and_values_are_read_as_dockers_words() {
        let vars: HashMap<String, String> = [("A".to_string(), "1".to_string())].into();
        assert_eq!(
            labels(r#"LABEL "with space"="c d""#, &vars),
            pairs_of(&[("with space", "c d")])
        );
        assert_eq!(
            labels(
                r#"LABEL a=b c="d e" 'f g'='$A' "h"="$A" i\ j=k\ l "m\"n"=o"#,
                &vars
            ),
            pairs_of(&[
                ("a", "b"),
                ("c", "d e"),
                ("f g", "$A"),
                ("h", "1"),
                ("i j", "k l"),
                ("m\"n", "o")
            ])
        );
        // Only \", \$ and \\ are escapes inside double quotes; an empty quoted value is one.
        assert_eq!(
            labels(r#"LABEL a="x\ny\$A\\" b="""#, &vars),
            pairs_of(&[("a", "x\\ny$A\\"), ("b", "")])
        );
        // The legacy form: the first word has no `=`.
        assert_eq!(
            labels("LABEL key some \"value\" $A", &vars),
            pairs_of(&[("key", "some value 1")])
        );
        assert!(parse("FROM x\nLABEL \"a b=c\n").is_err());
        assert!(parse("FROM x\nLABEL a=b c\n").is_err());
        assert!(parse("FROM x\nLABEL =b\n").is_err());
    }

    #[test]
    fn words_keep_what_they_are_made_of() {
        assert_eq!(
            words(r#"a "b c"  d\ e 'f\' "" x"#),
            ["a", r#""b c""#, r"d\ e", r"'f\'", r#""""#, "x"]
        );
        assert_eq!(words("  "), Vec::<String>::new());
        assert_eq!(
            shell_word("'unclosed", &HashMap::new()).unwrap_err(),
            "unexpected end of statement while looking for matching single-quote"
        );
    }

    /// A string as a Dockerfile writes it in double quotes: `\`, `"` and `$` escaped.
    fn double_quoted(s: &str) -> String {
        let mut out = String::from('"');
        for c in s.chars() {
            if matches!(c, '\\' | '"' | '$') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }

    proptest! {
        #[test]
        fn quoted_label_pairs_read_back_as_written(
            pairs in proptest::collection::vec(("[^\\x00-\\x1f\\x7f=]{1,12}", "[^\\x00-\\x1f\\x7f]{0,12}"), 1..4)
        ) {
            let line = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", double_quoted(k), double_quoted(v)))
                .collect::<Vec<_>>()
                .join(" ");
            let got = labels(&format!("LABEL {line}"), &HashMap::new());
            prop_assert_eq!(got, pairs);
        }

        #[test]
        fn single_quoted_values_are_literal(v in "[^\\x00-\\x1f\\x7f']{0,16}") {
            let vars: HashMap<String, String> = [("A".to_string(), "1".to_string())].into();
            prop_assert_eq!(labels(&format!("LABEL k='{v}'"), &vars), vec![("k".to_string(), v)]);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }

        #[test]
        fn env_pairs_round_trip(k in "[A-Z_]{1,8}", v in "[a-z0-9]{0,8}") {
            let lines = parse(&format!("FROM x\nENV {k}={v}\n")).unwrap();
            prop_assert_eq!(&lines[1].instruction, &Instruction::Env(vec![(k.clone(), v.clone())]));
        }
    }
}
