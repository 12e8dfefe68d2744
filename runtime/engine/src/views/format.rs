//! How `hull` shows things to people: aligned tables, relative and absolute times, Docker's
//! status strings, and Docker's quoting.

use std::time::{Duration, SystemTime};

use crate::record::Record;

/// Columns as Docker prints its tables: each as wide as its widest cell plus three spaces,
/// and at least ten (Go's `tabwriter` with Docker's settings); the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut text = header.join("\t");
    text.push('\n');
    for r in rows {
        text.push_str(&r.join("\t"));
        text.push('\n');
    }
    tabwrite(&text)
}

/// Go's `text/tabwriter` as Docker sets it up (minimum width 10, padding 3, spaces): in each
/// block of consecutive lines that have a tab-terminated cell in a column, that column is as
/// wide as its widest cell plus the padding, and at least the minimum.
pub fn tabwrite(text: &str) -> String {
    const MIN_WIDTH: usize = 10;
    const PADDING: usize = 3;
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<Vec<usize>> = lines.iter().map(|l| vec![0; l.len()]).collect();
    // The columns of lines[from..to], from column `col` on.
    fn blocks(lines: &[Vec<&str>], widths: &mut [Vec<usize>], from: usize, to: usize, col: usize) {
        let has = |l: &Vec<&str>| l.len() > col + 1;
        let mut i = from;
        while i < to {
            if !has(&lines[i]) {
                i += 1;
                continue;
            }
            let start = i;
            let mut width = MIN_WIDTH;
            while i < to && has(&lines[i]) {
                width = width.max(lines[i][col].chars().count() + PADDING);
                i += 1;
            }
            for w in &mut widths[start..i] {
                w[col] = width;
            }
            blocks(lines, widths, start, i, col + 1);
        }
    }
    blocks(&lines, &mut widths, 0, lines.len(), 0);
    let mut out = Vec::with_capacity(lines.len());
    for (cells, w) in lines.iter().zip(&widths) {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < cells.len() {
                let pad = w[i].saturating_sub(cell.chars().count());
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push(line);
    }
    out.join("\n")
}

/// A string quoted as Go's `strconv.Quote` does: `"`, `\\` and control characters escaped.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
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

/// An RFC 3339 time as Docker's listings print one (Go's `time.Time`): `2024-01-01 00:00:00
/// +0000 UTC`; the text as it is when it is not a time.
pub fn docker_time(rfc3339: &str) -> String {
    match humantime::parse_rfc3339(rfc3339) {
        Ok(t) => humantime::format_rfc3339_seconds(t)
            .to_string()
            .replace('T', " ")
            .replace('Z', " +0000 UTC"),
        Err(_) => rfc3339.to_string(),
    }
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

/// The COMMAND column, as `docker ps` shows it: the path and the arguments (those with a
/// space in single quotes), cut to 20 characters (the last one `…`), quoted as Go quotes.
pub fn command(r: &Record) -> String {
    let mut full = r.path.clone();
    for a in &r.args {
        full.push(' ');
        if a.contains(' ') {
            full.push_str(&format!("'{a}'"));
        } else {
            full.push_str(a);
        }
    }
    let cut: String = if full.chars().count() > 20 {
        format!("{}…", full.chars().take(19).collect::<String>())
    } else {
        full
    };
    go_quote(&cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_cut_and_quoted_as_docker_does() {
        let r = |path: &str, args: &[&str]| Record {
            path: path.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Record::default()
        };
        assert_eq!(command(&r("sh", &["-c", "exit 3"])), "\"sh -c 'exit 3'\"");
        assert_eq!(command(&r("true", &[])), "\"true\"");
        assert_eq!(
            command(&r("echo", &["12345678901234567890"])),
            "\"echo 12345678901234…\""
        );
        assert_eq!(
            command(&r("echo", &["123456789012345"])),
            "\"echo 123456789012345\""
        );
        assert_eq!(go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }

    #[test]
    fn durations_and_tables() {
        assert_eq!(human_duration(Duration::from_secs(5)), "5 seconds");
        assert_eq!(human_duration(Duration::from_secs(90)), "About a minute");
        assert_eq!(human_duration(Duration::from_secs(7300)), "2 hours");
        let t = table(&["A", "BB"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "A         BB\nxxx       y\n");
        let t = table(&["NAME", "X"], &[vec!["a-long-name".into(), "".into()]]);
        assert_eq!(t, "NAME          X\na-long-name   \n");
        // A block ends with the lines that have the column.
        assert_eq!(
            tabwrite("a\tb\tc\nd\n\te\tf"),
            "a         b         c\nd\n          e         f"
        );
    }
}
