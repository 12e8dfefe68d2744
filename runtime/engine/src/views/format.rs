//! How `hull` shows things to people: aligned tables, relative times, Docker's status strings,
//! and a small subset of Go templates for `--format '{{.State.ExitCode}}'`.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::record::Record;

/// Columns aligned to the widest cell, three spaces apart, as Docker prints them.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut all: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    all.extend(rows.iter().cloned());
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            all.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in &all {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}   ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// "5 seconds", "About a minute", "3 hours" — Docker's HumanDuration.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{s} seconds"),
        60..=119 => "About a minute".into(),
        120..=3599 => format!("{} minutes", s / 60),
        3600..=7199 => "About an hour".into(),
        7200..=172_799 => format!("{} hours", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

pub fn since(rfc3339: &str, now: SystemTime) -> Duration {
    humantime::parse_rfc3339(rfc3339)
        .ok()
        .and_then(|t| now.duration_since(t).ok())
        .unwrap_or_default()
}

/// `Up 5 seconds`, `Exited (137) 2 minutes ago`, `Created`.
pub fn status(r: &Record, now: SystemTime) -> String {
    match r.state.status.as_str() {
        "running" => format!("Up {}", human_duration(since(&r.state.started_at, now))),
        "exited" => format!(
            "Exited ({}) {} ago",
            r.state.exit_code,
            human_duration(since(&r.state.finished_at, now))
        ),
        "created" => "Created".into(),
        other => other.to_string(),
    }
}

/// The PORTS column: `0.0.0.0:8080->80/tcp, …`.
pub fn ports(r: &Record) -> String {
    let mut out = Vec::new();
    for (key, binds) in &r.network_settings.ports {
        for b in binds {
            out.push(format!("{}:{}->{key}", b.host_ip, b.host_port));
        }
    }
    out.join(", ")
}

/// The command column: quoted and cut to 20 characters as `docker ps` does.
pub fn command(r: &Record) -> String {
    let mut full = r.path.clone();
    for a in &r.args {
        full.push(' ');
        full.push_str(a);
    }
    let cut: String = if full.chars().count() > 19 {
        format!("{}…", full.chars().take(19).collect::<String>())
    } else {
        full
    };
    format!("\"{cut}\"")
}

/// Why a `--format` template cannot be applied; the message quotes the template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template {template:?}: unclosed {{{{")]
    Unclosed { template: String },
    #[error("template {template:?}: {expr:?} is not a field like .State.Status")]
    NotAField { template: String, expr: String },
    #[error("template {template:?}: no field {field:?} in {path}")]
    NoField {
        template: String,
        field: String,
        path: String,
    },
}

/// A Go-template subset: `{{.A.B}}` fields, `{{json .A}}`, and the literal text around them.
pub fn template(tpl: &str, value: &Value) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut rest = tpl;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .ok_or_else(|| TemplateError::Unclosed {
                template: tpl.into(),
            })?
            + start;
        let expr = rest[start + 2..end].trim();
        let (json, path) = match expr.strip_prefix("json ") {
            Some(p) => (true, p.trim()),
            None => (false, expr),
        };
        if !path.starts_with('.') {
            return Err(TemplateError::NotAField {
                template: tpl.into(),
                expr: expr.into(),
            });
        }
        let mut v = value;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            v = v.get(part).ok_or_else(|| TemplateError::NoField {
                template: tpl.into(),
                field: part.into(),
                path: path.into(),
            })?;
        }
        out.push_str(&match (json, v) {
            (true, v) => v.to_string(),
            (false, Value::String(s)) => s.clone(),
            (false, Value::Null) => "<no value>".into(),
            (false, Value::Array(a)) => format!(
                "[{}]",
                a.iter()
                    .map(|x| x
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string()))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            (false, v) => v.to_string(),
        });
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let v = serde_json::json!({"State": {"ExitCode": 137, "OOMKilled": true, "Status": "exited"}, "Args": ["a", "b"]});
        assert_eq!(template("{{.State.ExitCode}}", &v).unwrap(), "137");
        assert_eq!(
            template("oom={{.State.OOMKilled}} {{.State.Status}}", &v).unwrap(),
            "oom=true exited"
        );
        assert_eq!(template("{{json .Args}}", &v).unwrap(), "[\"a\",\"b\"]");
        assert_eq!(template("{{.Args}}", &v).unwrap(), "[a b]");
        assert!(template("{{.Nope}}", &v)
            .unwrap_err()
            .to_string()
            .contains("Nope"));
        assert!(template("{{.State", &v).is_err());
    }

    #[test]
    fn durations_and_tables() {
        assert_eq!(human_duration(Duration::from_secs(5)), "5 seconds");
        assert_eq!(human_duration(Duration::from_secs(90)), "About a minute");
        assert_eq!(human_duration(Duration::from_secs(7300)), "2 hours");
        let t = table(&["A", "BB"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "A     BB\nxxx   y\n");
    }
}
