//! The Go-template subset of `--format`, as Docker's CLI evaluates it (text/template plus
//! Docker's functions), over the JSON values hull prints.
//!
//! Parsed: text, actions `{{pipeline}}` (with `{{-`/`-}}` trimming and `{{/* comments */}}`),
//! pipelines `a | b`, commands (a function and its arguments, or one operand), operands
//! (`.Field.Chain`, `.`, "strings", `raw strings`, numbers, `true`/`false`/`nil`,
//! `(pipelines)`), and `if`/`range`/`with` with `else` and `end`. Functions: Docker's `json`,
//! `upper`, `lower`, `title`, `join`, `split`, `pad`, `truncate`, and Go's `len`, `index`,
//! `print`, `printf`, `println`, `not`, `and`, `or`, `eq`, `ne`. Variables and `define` are not
//! supported and say so.
//!
//! Errors read as Go's do, positions included, because Docker prints them as they are:
//! `template: :1: unclosed action` when parsing, `template: :1:2: executing "" at <.Nope>:
//! map has no entry for key "Nope"` when executing (see [`exec`]).

mod exec;
mod funcs;
mod parse;

pub use exec::{Fields, Functions};

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The text it was parsed from (for positions in errors).
    source: String,
    nodes: Vec<Node>,
}

/// Why a template cannot be parsed or executed: Go's message, which Docker prints after its
/// own prefix ("template parsing error: …").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `template: :LINE: MESSAGE`.
    #[error("template: :{line}: {message}")]
    Parse { line: usize, message: String },
    /// `template: :LINE:COL: executing "" at <CONTEXT>: MESSAGE`.
    #[error("template: :{line}:{col}: executing \"\" at <{context}>: {message}")]
    Exec {
        line: usize,
        col: usize,
        context: String,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Pipeline),
    If(Branch),
    Range(Branch),
    With(Branch),
}

/// `if`, `range` and `with`: the pipeline, the body, and the `else` body.
#[derive(Debug, Clone, PartialEq)]
struct Branch {
    pipe: Pipeline,
    body: Vec<Node>,
    otherwise: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
struct Pipeline {
    pos: usize,
    cmds: Vec<Cmd>,
}

#[derive(Debug, Clone, PartialEq)]
struct Cmd {
    pos: usize,
    args: Vec<Operand>,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// `.A.B` (an empty chain is `.`).
    Field {
        pos: usize,
        chain: Vec<String>,
    },
    /// A function name.
    Func {
        pos: usize,
        name: String,
    },
    /// A string literal, with the text it was written as.
    Str {
        value: String,
        text: String,
    },
    Num {
        value: serde_json::Number,
        text: String,
    },
    Bool(bool),
    Nil,
    /// `( pipeline )`.
    Sub(Pipeline),
}

impl Template {
    /// Parses `source`; the functions a template may call are checked here, as Go does.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        Ok(Template {
            source: source.to_string(),
            nodes: parse::parse(source)?,
        })
    }
}

impl std::fmt::Display for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cmds: Vec<String> = self.cmds.iter().map(|c| c.to_string()).collect();
        write!(f, "{}", cmds.join(" | "))
    }
}

impl std::fmt::Display for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let args: Vec<String> = self.args.iter().map(|a| a.to_string()).collect();
        write!(f, "{}", args.join(" "))
    }
}

impl std::fmt::Display for Operand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Operand::Field { chain, .. } if chain.is_empty() => write!(f, "."),
            Operand::Field { chain, .. } => {
                for c in chain {
                    write!(f, ".{c}")?;
                }
                Ok(())
            }
            Operand::Func { name, .. } => write!(f, "{name}"),
            Operand::Str { text, .. } | Operand::Num { text, .. } => write!(f, "{text}"),
            Operand::Bool(b) => write!(f, "{b}"),
            Operand::Nil => write!(f, "nil"),
            Operand::Sub(p) => write!(f, "({p})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(tpl: &str, v: &serde_json::Value) -> Result<String, String> {
        Template::parse(tpl)
            .and_then(|t| t.execute(v, &Fields::Map, Functions::Docker))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn fields_functions_and_pipelines() {
        let v = json!({"Name": "/web", "Args": ["a", "b c"], "State": {"ExitCode": 137,
            "Running": false, "Status": "exited"}, "Labels": {"k": "v", "a": "b"}, "Cmd": null});
        let ok = |t: &str| run(t, &v).unwrap();
        assert_eq!(
            ok("{{.Name}} {{.State.ExitCode}} {{.State.Running}}"),
            "/web 137 false"
        );
        assert_eq!(
            ok("{{.Args}} {{json .Args}} {{.Labels}} {{.Cmd}}"),
            "[a b c] [\"a\",\"b c\"] map[a:b k:v] []"
        );
        assert_eq!(
            ok("{{upper .Name}} {{lower \"AbC\"}} {{title .State.Status}}"),
            "/WEB abc Exited"
        );
        assert_eq!(
            ok("{{join .Args \",\"}} {{len .Args}} {{index .Args 1}} {{index .Labels \"k\"}}"),
            "a,b c 2 b c v"
        );
        assert_eq!(
            ok("{{.Name | upper | len}} {{(index .Args 0) | upper}}"),
            "4 A"
        );
        assert_eq!(
            ok("{{range .Args}}<{{.}}>{{end}} {{if .State.Running}}up{{else}}down{{end}}"),
            "<a><b c> down"
        );
        assert_eq!(
            ok("{{with .State}}{{.Status}}{{end}} {{printf \"%s=%d\" .Name .State.ExitCode}}"),
            "exited /web=137"
        );
        assert_eq!(
            ok("{{split \"a:b\" \":\"}} {{pad \"x\" 1 2}}| {{truncate .Name 2}}"),
            "[a b]  x  | /w"
        );
        assert_eq!(ok("a {{- \" b \" -}} c {{/* no */}}"), "a b c ");
        assert_eq!(
            ok("{{eq .State.ExitCode 137}} {{ne .Name \"/web\"}} {{not .Cmd}}"),
            "true false true"
        );
    }

    #[test]
    fn errors_read_as_gos() {
        let v = json!({"Name": "/web", "State": {"ExitCode": 1}, "Args": []});
        let err = |t: &str| run(t, &v).unwrap_err();
        assert_eq!(
            err("{{.Nope}}"),
            "template: :1:2: executing \"\" at <.Nope>: map has no entry for key \"Nope\""
        );
        assert_eq!(
            err("x {{.State.Nope}}"),
            "template: :1:10: executing \"\" at <.State.Nope>: map has no entry for key \"Nope\""
        );
        assert_eq!(
            err("a\nb{{ .Nope}}"),
            "template: :2:4: executing \"\" at <.Nope>: map has no entry for key \"Nope\""
        );
        assert_eq!(err("{{.Name"), "template: :1: unclosed action");
        assert_eq!(
            err("{{nope .Name}}"),
            "template: :1: function \"nope\" not defined"
        );
        assert_eq!(err("{{end}}"), "template: :1: unexpected {{end}}");
        assert_eq!(err("{{if .Name}}x"), "template: :1: unexpected EOF");
        assert_eq!(err("{{upper .State.ExitCode}}"), "template: :1:14: executing \"\" at <.State.ExitCode>: wrong type for value; expected string; got json.Number");
        assert_eq!(err("{{index .Args 3}}"), "template: :1:2: executing \"\" at <index .Args 3>: error calling index: index out of range: 3");
        let listing = Template::parse("{{.Names}}{{.Nope}}")
            .unwrap()
            .execute(
                &json!({"Names": "web"}),
                &Fields::Struct("*formatter.ContainerContext"),
                Functions::Docker,
            )
            .unwrap_err()
            .to_string();
        assert_eq!(listing, "template: :1:12: executing \"\" at <.Nope>: can't evaluate field Nope in type *formatter.ContainerContext");
    }

    #[test]
    fn headers_keep_their_names() {
        let t = Template::parse("{{upper .Names}} {{json .Image}} {{.Names | len}}").unwrap();
        let header = json!({"Names": "NAMES", "Image": "IMAGE"});
        assert_eq!(
            t.execute(&header, &Fields::Map, Functions::Header).unwrap(),
            "NAMES IMAGE 5"
        );
    }
}
