//! What `hull` prints: the JSON shapes that scripts and the lab grader read (`--format json`,
//! `inspect`), the tables people read, and Docker's Go templates between the two. Every view is
//! a pure function of the engine's records, so it is unit-tested without a container.

pub mod containers;
pub mod format;
pub mod images;
pub mod networks;
pub mod system;
pub mod template;

use serde_json::Value;

use template::{Fields, Functions};
pub use template::{Template, TemplateError};

/// Why `--format` was refused: Docker's message, prefix included, and the status Docker exits
/// with for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FormatError {
    pub message: String,
    pub status: i32,
}

impl FormatError {
    fn new(prefix: &str, e: TemplateError) -> FormatError {
        FormatError {
            message: format!("{prefix}: {e}"),
            status: 1,
        }
    }
}

/// What a listing's `--format` sees, as Docker's formatter context for that command: the Go
/// type named in errors, each field's column header for `table`, and whether the format is
/// checked against every field before anything is listed (`docker ps` does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingKind {
    pub context: &'static str,
    pub fields: &'static [(&'static str, &'static str)],
    pub checked_first: bool,
}

/// A listing (`ps`, `images`, `network ls`, `stats`, `top`, `history`): one JSON object per
/// row for `--format`, the same rows as table cells for people, and the short ids for `-q`.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub headers: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
    pub values: Vec<Value>,
    pub ids: Vec<String>,
    pub kind: &'static ListingKind,
}

impl Listing {
    /// No format: the aligned table. `json`: one object per line (as `docker ps --format
    /// json` does since Docker 23). Else a template, applied as Docker's formatter does: a
    /// leading `table` gives a header row and aligned columns, spaces around the template are
    /// dropped, and `\t` and `\n` written as two characters are a tab and a newline.
    pub fn render(&self, format: Option<&str>) -> Result<String, FormatError> {
        let format = match format {
            None => return Ok(format::table(self.headers, &self.rows)),
            Some("json") => {
                return Ok(self.values.iter().map(|v| format!("{v}\n")).collect());
            }
            Some(f) => f,
        };
        let fields = Fields::Struct(self.kind.context);
        if self.kind.checked_first {
            let all: serde_json::Map<String, Value> = self
                .kind
                .fields
                .iter()
                .map(|(f, _)| (f.to_string(), Value::String(String::new())))
                .collect();
            Template::parse(format)
                .map_err(|e| FormatError::new("failed to parse template", e))?
                .execute(&Value::Object(all), &fields, Functions::Docker)
                .map_err(|e| FormatError::new("failed to execute template", e))?;
        }
        let table = format.starts_with("table");
        let body = if table {
            &format["table".len()..]
        } else {
            format
        };
        let body = body
            .trim_matches(' ')
            .replace("\\t", "\t")
            .replace("\\n", "\n");
        let tpl =
            Template::parse(&body).map_err(|e| FormatError::new("template parsing error", e))?;
        let mut out = String::new();
        for v in &self.values {
            let line = tpl
                .execute(v, &fields, Functions::Docker)
                .map_err(|e| FormatError::new("template parsing error", e))?;
            out.push_str(&line);
            out.push('\n');
        }
        if !table {
            return Ok(out);
        }
        let names: serde_json::Map<String, Value> = self
            .kind
            .fields
            .iter()
            .map(|(f, h)| (f.to_string(), Value::String(h.to_string())))
            .collect();
        // Docker ignores a header that cannot be made (a field no row has).
        let header = tpl
            .execute(&Value::Object(names), &Fields::Map, Functions::Header)
            .unwrap_or_default();
        Ok(format::tabwrite(&format!("{header}\n{out}")))
    }

    /// `-q`: the ids, one per line.
    pub fn quiet(&self) -> String {
        self.ids.iter().map(|id| format!("{id}\n")).collect()
    }
}

/// What `inspect` prints: stdout, and the errors for stderr (its status is 1 when there are
/// any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub stdout: String,
    pub errors: Vec<String>,
}

/// `inspect`, as Docker does it, over what each target found (or why not): without a format
/// (or with `json`) one JSON array of what was found (`[]` when nothing was); with a template,
/// each object's line, and a lone newline when there is none. An object the template cannot
/// be applied to is an error like a missing one; the others are still printed. A template
/// that does not parse is refused with status 64.
pub fn inspect(
    found: &[Result<Value, String>],
    format: Option<&str>,
) -> Result<Inspected, FormatError> {
    let mut errors = Vec::new();
    let mut stdout = String::new();
    match format {
        None | Some("json") => {
            let values: Vec<&Value> = found.iter().filter_map(|f| f.as_ref().ok()).collect();
            stdout = if values.is_empty() {
                "[]\n".into()
            } else {
                format!("{}\n", pretty(&values))
            };
            errors.extend(found.iter().filter_map(|f| f.as_ref().err().cloned()));
        }
        Some(f) => {
            let tpl = Template::parse(f).map_err(|e| FormatError {
                status: 64,
                ..FormatError::new("template parsing error", e)
            })?;
            for item in found {
                let result = item.as_ref().map_err(String::clone).and_then(|v| {
                    tpl.execute(v, &Fields::Map, Functions::Docker)
                        .map_err(|e| FormatError::new("template parsing error", e).message)
                });
                match result {
                    Ok(line) => {
                        stdout.push_str(&line);
                        stdout.push('\n');
                    }
                    Err(e) => errors.push(e),
                }
            }
            if stdout.is_empty() {
                stdout.push('\n');
            }
        }
    }
    Ok(Inspected { stdout, errors })
}

/// JSON indented by four spaces, as Docker's `inspect` prints it.
fn pretty(values: &impl serde::Serialize) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    values
        .serialize(&mut ser)
        .expect("JSON values always serialize");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// A size as Docker's tables show it: `1.5MiB`; cgroup v1's "no limit" (a page-rounded
/// i64::MAX) as `unlimited`.
pub fn bytes(n: u64) -> String {
    if n >= 1 << 60 {
        return "unlimited".into();
    }
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1}{}", units[i])
}

/// The 12 hex digits Docker shows of an id, with or without its `sha256:` prefix.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..12.min(hex.len())]
}

/// `5 minutes ago` for an RFC 3339 time, `N/A` when there is none.
fn ago(created: Option<&str>, now: std::time::SystemTime) -> String {
    created
        .map(|c| format!("{} ago", format::human_duration(format::since(c, now))))
        .unwrap_or_else(|| "N/A".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KIND: ListingKind = ListingKind {
        context: "*formatter.ThingContext",
        fields: &[("ID", "THING ID"), ("Name", "NAME")],
        checked_first: false,
    };

    fn listing() -> Listing {
        Listing {
            headers: &["ID", "NAME"],
            rows: vec![vec!["abc".into(), "web".into()]],
            values: vec![json!({"ID": "abc", "Name": "web"})],
            ids: vec!["abc".into()],
            kind: &KIND,
        }
    }

    #[test]
    fn a_listing_renders_as_table_json_lines_template_and_ids() {
        let l = listing();
        assert_eq!(l.render(None).unwrap(), "ID        NAME\nabc       web\n");
        assert_eq!(
            l.render(Some("json")).unwrap(),
            "{\"ID\":\"abc\",\"Name\":\"web\"}\n"
        );
        assert_eq!(
            l.render(Some(" {{.Name}}\\t{{.ID}} ")).unwrap(),
            "web\tabc\n"
        );
        assert_eq!(
            l.render(Some("table {{.ID}}\\t{{upper .Name}}")).unwrap(),
            "THING ID   NAME\nabc        WEB\n"
        );
        assert_eq!(
            l.render(Some("{{.Nope}}")).unwrap_err().message,
            "template parsing error: template: :1:2: executing \"\" at <.Nope>: \
             can't evaluate field Nope in type *formatter.ThingContext"
        );
        assert_eq!(l.quiet(), "abc\n");
    }

    #[test]
    fn a_checked_listing_refuses_an_unknown_field_with_no_rows() {
        const CHECKED: ListingKind = ListingKind {
            checked_first: true,
            ..KIND
        };
        let l = Listing {
            rows: vec![],
            values: vec![],
            ids: vec![],
            kind: &CHECKED,
            ..listing()
        };
        assert_eq!(
            l.render(Some("table {{.Nope}}")).unwrap_err().message,
            "failed to execute template: template: :1:8: executing \"\" at <.Nope>: \
             can't evaluate field Nope in type *formatter.ThingContext"
        );
        assert_eq!(
            l.render(Some("{{.ID")).unwrap_err().message,
            "failed to parse template: template: :1: unclosed action"
        );
        assert_eq!(l.render(Some("table {{.Name}}")).unwrap(), "NAME\n");
    }

    #[test]
    fn inspect_prints_what_was_found_and_reports_the_rest() {
        let found = vec![
            Ok(json!({"Name": "/x"})),
            Err("No such object: y".to_string()),
            Ok(json!({"Id": "z"})),
        ];
        let out = inspect(&found, Some("{{.Name}}")).unwrap();
        assert_eq!(out.stdout, "/x\n");
        assert_eq!(
            out.errors,
            [
                "No such object: y",
                "template parsing error: template: :1:2: executing \"\" at <.Name>: \
                 map has no entry for key \"Name\""
            ]
        );
        let out = inspect(&found[1..2], None).unwrap();
        assert_eq!((out.stdout.as_str(), out.errors.len()), ("[]\n", 1));
        assert_eq!(
            inspect(&found[1..2], Some("{{.Name}}")).unwrap().stdout,
            "\n"
        );
        assert_eq!(
            inspect(&found[..1], None).unwrap().stdout,
            "[\n    {\n        \"Name\": \"/x\"\n    }\n]\n"
        );
        let bad = inspect(&found, Some("{{.Name")).unwrap_err();
        assert_eq!(bad.status, 64);
        assert_eq!(
            bad.message,
            "template parsing error: template: :1: unclosed action"
        );
    }

    #[test]
    fn sizes_and_short_ids() {
        assert_eq!(bytes(0), "0.0B");
        assert_eq!(bytes(1536), "1.5KiB");
        assert_eq!(bytes(32 << 20), "32.0MiB");
        assert_eq!(bytes(i64::MAX as u64 & !4095), "unlimited");
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("0123"), "0123");
    }
}
