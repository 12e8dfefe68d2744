//! What `hull` prints: the JSON shapes that scripts and the lab grader read (`--format json`,
//! `inspect`), the tables people read, and the Go-template subset between the two. Every view is
//! a pure function of the engine's records, so it is unit-tested without a container.

pub mod containers;
pub mod format;
pub mod images;
pub mod networks;
pub mod system;

use serde_json::Value;

pub use format::TemplateError;

/// A listing (`ps`, `images`, `network ls`, `stats`, `top`, `history`): one JSON object per
/// row for `--format`, the same rows as table cells for people, and the short ids for `-q`.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub headers: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
    pub values: Vec<Value>,
    pub ids: Vec<String>,
}

impl Listing {
    /// `--format json`: one object per line (as `docker ps --format json`); another format is a
    /// template applied to each row; none is the aligned table.
    pub fn render(&self, format: Option<&str>) -> Result<String, TemplateError> {
        let mut out = String::new();
        match format {
            None => out = format::table(self.headers, &self.rows),
            Some("json") => {
                for v in &self.values {
                    out.push_str(&v.to_string());
                    out.push('\n');
                }
            }
            Some(t) => {
                for v in &self.values {
                    out.push_str(&format::template(t, v)?);
                    out.push('\n');
                }
            }
        }
        Ok(out)
    }

    /// `-q`: the ids, one per line.
    pub fn quiet(&self) -> String {
        self.ids.iter().map(|id| format!("{id}\n")).collect()
    }
}

/// `inspect`-style output: one pretty JSON array, or the template applied to each object.
pub fn render_objects(values: &[Value], format: Option<&str>) -> Result<String, TemplateError> {
    match format {
        None | Some("json") => Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(values).expect("JSON values always serialize")
        )),
        Some(t) => values
            .iter()
            .map(|v| format::template(t, v).map(|line| line + "\n"))
            .collect(),
    }
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

    fn listing() -> Listing {
        Listing {
            headers: &["ID", "NAME"],
            rows: vec![vec!["abc".into(), "web".into()]],
            values: vec![json!({"ID": "abc", "Name": "web"})],
            ids: vec!["abc".into()],
        }
    }

    #[test]
    fn a_listing_renders_as_table_json_lines_template_and_ids() {
        let l = listing();
        assert_eq!(l.render(None).unwrap(), "ID    NAME\nabc   web\n");
        assert_eq!(
            l.render(Some("json")).unwrap(),
            "{\"ID\":\"abc\",\"Name\":\"web\"}\n"
        );
        assert_eq!(l.render(Some("{{.Name}}")).unwrap(), "web\n");
        assert!(l.render(Some("{{.Nope}}")).is_err());
        assert_eq!(l.quiet(), "abc\n");
    }

    #[test]
    fn objects_render_as_a_pretty_array_or_per_template() {
        let v = vec![json!({"Id": "x"}), json!({"Id": "y"})];
        assert_eq!(
            render_objects(&v, None).unwrap(),
            "[\n  {\n    \"Id\": \"x\"\n  },\n  {\n    \"Id\": \"y\"\n  }\n]\n"
        );
        assert_eq!(render_objects(&v, Some("{{.Id}}")).unwrap(), "x\ny\n");
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
