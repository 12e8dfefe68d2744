//! Executing a template over a JSON value, printing values as Go's `fmt` prints them, and
//! reporting errors with Go's positions (`template: :LINE:COL: executing "" at <NODE>: …`).

use serde_json::Value;

use super::funcs::{self, FuncError};
use super::{Branch, Cmd, Node, Operand, Pipeline, Template, TemplateError};

/// How fields are looked up, and named in errors, as Docker's CLI does for each command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fields {
    /// `inspect`: a JSON map (Docker's raw fallback): a missing key is `map has no entry for
    /// key "X"`, and `null` prints as an empty list (Docker's nil slices).
    Map,
    /// A listing's row, one of Docker's formatter contexts (the name is Go's type, e.g.
    /// `*formatter.ContainerContext`): a missing field is `can't evaluate field X in type T`.
    Struct(&'static str),
}

/// The functions a template calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Functions {
    /// Docker's and Go's.
    Docker,
    /// For the header row of a `table`: `json`, `upper`, `lower`, `title`, `join`, `split`
    /// and `truncate` leave the column's name as it is (Docker's `HeaderFunctions`).
    Header,
}

struct State<'a> {
    source: &'a str,
    fields: Fields,
    funcs: Functions,
}

impl Template {
    /// The template applied to `data`.
    pub fn execute(
        &self,
        data: &Value,
        fields: &Fields,
        funcs: Functions,
    ) -> Result<String, TemplateError> {
        let st = State {
            source: &self.source,
            fields: *fields,
            funcs,
        };
        let mut out = String::new();
        st.nodes(&self.nodes, data, &mut out, true)?;
        Ok(out)
    }
}

/// What `{{if}}` and `{{with}}` take as true: Go's rule (not false, 0, nil or empty).
pub(super) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A value as Go's `fmt` prints it (`%v`): lists as `[a b]`, maps as `map[k:v]`.
pub(super) fn print(v: &Value, fields: Fields) -> String {
    match v {
        Value::Null if fields == Fields::Map => "[]".into(),
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(print_inner).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(o) => {
            let items: Vec<String> = o
                .iter()
                .map(|(k, x)| format!("{k}:{}", print_inner(x)))
                .collect();
            format!("map[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

/// A value inside a list or a map (a nil there is `<nil>`).
fn print_inner(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        v => print(v, Fields::Map),
    }
}

/// Go's name of a JSON value's type (as Docker decodes inspect's JSON).
pub(super) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "json.Number",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

impl State<'_> {
    fn error(&self, pos: usize, context: String, message: String) -> TemplateError {
        let before = &self.source[..pos.min(self.source.len())];
        let (line, col) = match before.rfind('\n') {
            Some(nl) => (1 + before.matches('\n').count(), pos - nl - 1),
            None => (1, pos),
        };
        TemplateError::Exec {
            line,
            col,
            context,
            message,
        }
    }

    fn nodes(
        &self,
        nodes: &[Node],
        dot: &Value,
        out: &mut String,
        top: bool,
    ) -> Result<(), TemplateError> {
        for n in nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipeline(p, dot, top)?;
                    out.push_str(&print(&v, self.fields));
                }
                Node::If(b) => {
                    let v = self.pipeline(&b.pipe, dot, top)?;
                    let body = if truthy(&v) { &b.body } else { &b.otherwise };
                    self.nodes(body, dot, out, top)?;
                }
                Node::With(b) => {
                    let v = self.pipeline(&b.pipe, dot, top)?;
                    if truthy(&v) {
                        self.nodes(&b.body, &v, out, false)?;
                    } else {
                        self.nodes(&b.otherwise, dot, out, top)?;
                    }
                }
                Node::Range(b) => self.range(b, dot, out, top)?,
            }
        }
        Ok(())
    }

    fn range(
        &self,
        b: &Branch,
        dot: &Value,
        out: &mut String,
        top: bool,
    ) -> Result<(), TemplateError> {
        let v = self.pipeline(&b.pipe, dot, top)?;
        let items: Vec<&Value> = match &v {
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) => o.values().collect(),
            Value::Null => Vec::new(),
            other => {
                return Err(self.error(
                    b.pipe.pos,
                    b.pipe.to_string(),
                    format!("range can't iterate over {}", print(other, self.fields)),
                ))
            }
        };
        if items.is_empty() {
            return self.nodes(&b.otherwise, dot, out, top);
        }
        for item in items {
            self.nodes(&b.body, item, out, false)?;
        }
        Ok(())
    }

    fn pipeline(&self, p: &Pipeline, dot: &Value, top: bool) -> Result<Value, TemplateError> {
        let mut last = None;
        for c in &p.cmds {
            last = Some(self.command(c, dot, last, top)?);
        }
        Ok(last.unwrap_or(Value::Null))
    }

    fn command(
        &self,
        cmd: &Cmd,
        dot: &Value,
        piped: Option<Value>,
        top: bool,
    ) -> Result<Value, TemplateError> {
        let Some(Operand::Func { name, .. }) = cmd.args.first() else {
            let first = &cmd.args[0];
            if cmd.args.len() > 1 || piped.is_some() {
                return Err(self.error(
                    cmd.pos,
                    cmd.to_string(),
                    format!("can't give argument to non-function {first}"),
                ));
            }
            return self.operand(first, dot, top);
        };
        let mut args = Vec::new();
        for a in &cmd.args[1..] {
            args.push(self.operand(a, dot, top)?);
        }
        let from_pipe = piped.is_some();
        args.extend(piped);
        funcs::call(name, args, self.funcs).map_err(|e| match e {
            FuncError::Call(message) => self.error(
                cmd.pos,
                cmd.to_string(),
                format!("error calling {name}: {message}"),
            ),
            FuncError::Count { want, got } => self.error(
                cmd.pos,
                cmd.to_string(),
                format!("wrong number of args for {name}: want {want} got {got}"),
            ),
            FuncError::WrongType { arg, expected, got } => {
                let node = match cmd.args.get(arg + 1) {
                    Some(n) if !(from_pipe && arg + 1 == cmd.args.len()) => n,
                    _ => &cmd.args[0],
                };
                let pos = match node {
                    Operand::Field { pos, .. } | Operand::Func { pos, .. } => *pos,
                    _ => cmd.pos,
                };
                self.error(
                    pos,
                    node.to_string(),
                    format!("wrong type for value; expected {expected}; got {got}"),
                )
            }
        })
    }

    fn operand(&self, op: &Operand, dot: &Value, top: bool) -> Result<Value, TemplateError> {
        Ok(match op {
            Operand::Field { pos, chain } => self.field(dot, chain, *pos, op, top)?,
            Operand::Str { value, .. } => Value::String(value.clone()),
            Operand::Num { value, .. } => Value::Number(value.clone()),
            Operand::Bool(b) => Value::Bool(*b),
            Operand::Nil => Value::Null,
            Operand::Func { .. } => self.command(
                &Cmd {
                    pos: 0,
                    args: vec![op.clone()],
                },
                dot,
                None,
                top,
            )?,
            Operand::Sub(p) => self.pipeline(p, dot, top)?,
        })
    }

    fn field(
        &self,
        dot: &Value,
        chain: &[String],
        pos: usize,
        node: &Operand,
        top: bool,
    ) -> Result<Value, TemplateError> {
        let mut v = dot;
        for (i, name) in chain.iter().enumerate() {
            let fail = |message: String| Err(self.error(pos, node.to_string(), message));
            v = match (v, self.fields) {
                (Value::Object(o), Fields::Struct(ty)) if top && i == 0 => match o.get(name) {
                    Some(x) => x,
                    None => return fail(format!("can't evaluate field {name} in type {ty}")),
                },
                (Value::Object(o), _) => match o.get(name) {
                    Some(x) => x,
                    None => return fail(format!("map has no entry for key {name:?}")),
                },
                (Value::Null, _) => {
                    return fail(format!("nil pointer evaluating interface {{}}.{name}"))
                }
                (other, Fields::Map) => {
                    return fail(format!(
                        "can't evaluate field {name} in type {}",
                        go_type(other)
                    ))
                }
                (other, Fields::Struct(_)) => {
                    return fail(format!(
                        "can't evaluate field {name} in type {}",
                        match other {
                            Value::Number(_) => "int",
                            other => go_type(other),
                        }
                    ))
                }
            };
        }
        Ok(v.clone())
    }
}
