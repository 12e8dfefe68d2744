//! The functions of `--format` templates: Docker's (`json`, `upper`, `lower`, `title`,
//! `join`, `split`, `pad`, `truncate`) and Go's builtins that make sense without variables.

use serde_json::Value;

use super::exec::{go_type, print, truthy};
use super::{Fields, Functions};

const NAMES: &[&str] = &[
    "json", "upper", "lower", "title", "join", "split", "pad", "truncate", "len", "index", "print",
    "printf", "println", "not", "and", "or", "eq", "ne",
];

/// Whether a template may call `name` (checked when it is parsed, as Go does).
pub(super) fn exists(name: &str) -> bool {
    NAMES.contains(&name)
}

/// Why a call failed; the caller adds where.
#[derive(Debug)]
pub(super) enum FuncError {
    /// `error calling NAME: MESSAGE`.
    Call(String),
    Count {
        want: usize,
        got: usize,
    },
    /// Argument `arg` (0-based) has the wrong type.
    WrongType {
        arg: usize,
        expected: &'static str,
        got: &'static str,
    },
}

fn count(args: &[Value], want: usize) -> Result<(), FuncError> {
    if args.len() == want {
        Ok(())
    } else {
        Err(FuncError::Count {
            want,
            got: args.len(),
        })
    }
}

fn string(args: &[Value], i: usize) -> Result<&str, FuncError> {
    args[i].as_str().ok_or(FuncError::WrongType {
        arg: i,
        expected: "string",
        got: go_type(&args[i]),
    })
}

fn int(args: &[Value], i: usize) -> Result<i64, FuncError> {
    args[i].as_i64().ok_or(FuncError::WrongType {
        arg: i,
        expected: "int",
        got: go_type(&args[i]),
    })
}

/// Go's `strings.Title`: the first letter of each word in upper case.
fn title(s: &str) -> String {
    let separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if separator(prev) {
                c.to_uppercase().collect::<String>()
            } else {
                c.to_string()
            };
            prev = c;
            out
        })
        .collect()
}

/// Go's `fmt.Sprint`: spaces between operands when neither is a string.
fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !a.is_string() && !args[i - 1].is_string() {
            out.push(' ');
        }
        out.push_str(&print(a, Fields::Map));
    }
    out
}

/// Go's `fmt.Sprintf` for the verbs people use in templates: `%s %v %d %q %t %%`.
fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match next.next() {
            None => out.push_str(&format!("%!{verb}(MISSING)")),
            Some(v) => match verb {
                'q' => out.push_str(&super::super::format::go_quote(&print(v, Fields::Map))),
                _ => out.push_str(&print(v, Fields::Map)),
            },
        }
    }
    out
}

/// Calls `name` on `args` (a piped value is the last of them).
pub(super) fn call(name: &str, args: Vec<Value>, funcs: Functions) -> Result<Value, FuncError> {
    let header_kept = matches!(
        name,
        "json" | "upper" | "lower" | "title" | "join" | "split" | "truncate"
    );
    if funcs == Functions::Header && header_kept {
        return Ok(args.into_iter().next().unwrap_or(Value::Null));
    }
    let s = |v: String| Ok(Value::String(v));
    match name {
        "json" => {
            count(&args, 1)?;
            s(args[0].to_string())
        }
        "upper" => {
            count(&args, 1)?;
            s(string(&args, 0)?.to_uppercase())
        }
        "lower" => {
            count(&args, 1)?;
            s(string(&args, 0)?.to_lowercase())
        }
        "title" => {
            count(&args, 1)?;
            s(title(string(&args, 0)?))
        }
        "join" => {
            count(&args, 2)?;
            let items = args[0]
                .as_array()
                .and_then(|a| a.iter().map(Value::as_str).collect::<Option<Vec<&str>>>())
                .ok_or(FuncError::WrongType {
                    arg: 0,
                    expected: "[]string",
                    got: go_type(&args[0]),
                })?;
            s(items.join(string(&args, 1)?))
        }
        "split" => {
            count(&args, 2)?;
            let (text, sep) = (string(&args, 0)?, string(&args, 1)?);
            let parts: Vec<Value> = if sep.is_empty() {
                text.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                text.split(sep).map(|p| Value::String(p.into())).collect()
            };
            Ok(Value::Array(parts))
        }
        "pad" => {
            count(&args, 3)?;
            let text = string(&args, 0)?;
            let (before, after) = (int(&args, 1)?, int(&args, 2)?);
            let spaces = |n: i64| " ".repeat(n.max(0) as usize);
            s(format!("{}{text}{}", spaces(before), spaces(after)))
        }
        "truncate" => {
            count(&args, 2)?;
            let text = string(&args, 0)?;
            let n = int(&args, 1)?.max(0) as usize;
            s(text.chars().take(n).collect())
        }
        "len" => {
            count(&args, 1)?;
            let n = match &args[0] {
                Value::String(t) => t.len(),
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                other => return Err(FuncError::Call(format!("len of type {}", go_type(other)))),
            };
            Ok(Value::from(n))
        }
        "index" => {
            if args.is_empty() {
                return Err(FuncError::Count { want: 1, got: 0 });
            }
            let mut v = args[0].clone();
            for key in &args[1..] {
                v = match (&v, key) {
                    (Value::Array(a), Value::Number(n)) => {
                        let i = n.as_i64().unwrap_or(-1);
                        usize::try_from(i)
                            .ok()
                            .and_then(|i| a.get(i))
                            .cloned()
                            .ok_or_else(|| FuncError::Call(format!("index out of range: {i}")))?
                    }
                    // A missing key is the zero value of Docker's map[string]string.
                    (Value::Object(o), Value::String(k)) => {
                        o.get(k).cloned().unwrap_or(Value::String(String::new()))
                    }
                    (Value::Null, _) => Value::Null,
                    (other, _) => {
                        return Err(FuncError::Call(format!(
                            "can't index item of type {}",
                            go_type(other)
                        )))
                    }
                };
            }
            Ok(v)
        }
        "print" => s(sprint(&args)),
        "println" => {
            let items: Vec<String> = args.iter().map(|a| print(a, Fields::Map)).collect();
            s(format!("{}\n", items.join(" ")))
        }
        "printf" => {
            if args.is_empty() {
                return Err(FuncError::Count { want: 1, got: 0 });
            }
            s(sprintf(string(&args, 0)?, &args[1..]))
        }
        "not" => {
            count(&args, 1)?;
            Ok(Value::Bool(!truthy(&args[0])))
        }
        "and" | "or" => {
            if args.is_empty() {
                return Err(FuncError::Count { want: 1, got: 0 });
            }
            let stop = |v: &Value| (name == "and") != truthy(v);
            let last = args.len() - 1;
            let i = args.iter().position(stop).unwrap_or(last);
            Ok(args[i].clone())
        }
        "eq" => {
            if args.len() < 2 {
                return Err(FuncError::Count {
                    want: 2,
                    got: args.len(),
                });
            }
            Ok(Value::Bool(args[1..].iter().any(|b| same(&args[0], b))))
        }
        "ne" => {
            count(&args, 2)?;
            Ok(Value::Bool(!same(&args[0], &args[1])))
        }
        other => Err(FuncError::Call(format!("{other} is not a function"))),
    }
}

/// Equality as Go's `eq` sees basic values (numbers by value).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (x, y) => x == y,
    }
}
