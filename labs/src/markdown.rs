//! The Markdown of a task, as a terminal shows it: `**bold**` in bold, `` `code` `` in colour,
//! indented and fenced code blocks set off, lists with bullets, tables with aligned columns.
//! Plain output (no colour) drops the emphasis marks but keeps the backticks, so a command
//! still stands out and can be pasted.

use crate::ui::Style;

/// Renders `text`, each line indented by `indent` spaces.
pub fn render(st: Style, text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let mut i = 0;
    let mut fenced = false;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            i += 1;
            continue;
        }
        if fenced {
            out.push_str(&format!("{pad}    {}\n", st.cyan(line)));
            i += 1;
            continue;
        }
        if let Some(code) = line
            .strip_prefix("    ")
            .or_else(|| line.strip_prefix('\t'))
        {
            out.push_str(&format!("{pad}    {}\n", st.cyan(code)));
            i += 1;
            continue;
        }
        if trimmed.starts_with('|') {
            let start = i;
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                i += 1;
            }
            out.push_str(&table(st, &lines[start..i], &pad));
            continue;
        }
        let rendered = if let Some(h) = trimmed.strip_prefix('#') {
            st.bold(h.trim_start_matches('#').trim())
        } else if let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        {
            let lead = &line[..line.len() - trimmed.len()];
            format!("{lead}• {}", inline(st, item))
        } else {
            inline(st, line)
        };
        out.push_str(&pad);
        out.push_str(&rendered);
        out.push('\n');
        i += 1;
    }
    // No trailing spaces on empty lines.
    out.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Inline spans: `code`, **strong**, *emphasis* / _emphasis_.
pub fn inline(st: Style, line: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let find = |from: usize, pat: &[char]| -> Option<usize> {
        (from..chars.len().saturating_sub(pat.len() - 1)).find(|&j| chars[j..].starts_with(pat))
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            if let Some(end) = find(i + 1, &['`']) {
                let code: String = chars[i + 1..end].iter().collect();
                out.push_str(&if st.color {
                    st.cyan(&code)
                } else {
                    format!("`{code}`")
                });
                i = end + 1;
                continue;
            }
        }
        if c == '*' && chars.get(i + 1) == Some(&'*') {
            if let Some(end) = find(i + 2, &['*', '*']).filter(|&e| e > i + 2) {
                let inner: String = chars[i + 2..end].iter().collect();
                out.push_str(&st.bold(&inline(st, &inner)));
                i = end + 2;
                continue;
            }
        }
        let word_start = i == 0 || !chars[i - 1].is_alphanumeric();
        if (c == '*' || c == '_')
            && word_start
            && chars.get(i + 1).is_some_and(|n| !n.is_whitespace())
        {
            let closing = find(i + 1, &[c])
                .filter(|&e| e > i + 1 && chars.get(e + 1).is_none_or(|n| !n.is_alphanumeric()));
            if let Some(end) = closing {
                let inner: String = chars[i + 1..end].iter().collect();
                out.push_str(&st.italic(&inline(st, &inner)));
                i = end + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// A pipe table, its columns as wide as their widest cell; the `|---|` row becomes a rule.
fn table(st: Style, rows: &[&str], pad: &str) -> String {
    let mut cells: Vec<Vec<String>> = Vec::new();
    let mut header_rows = 0;
    for row in rows {
        let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
        let parts: Vec<&str> = inner.split('|').map(str::trim).collect();
        let is_rule = parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| matches!(c, '-' | ':')));
        if is_rule {
            header_rows = cells.len();
            continue;
        }
        cells.push(parts.iter().map(|p| inline(st, p)).collect());
    }
    let ncols = cells.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; ncols];
    for row in &cells {
        for (k, cell) in row.iter().enumerate() {
            widths[k] = widths[k].max(visible_len(cell));
        }
    }
    let mut out = String::new();
    for (r, row) in cells.iter().enumerate() {
        let mut line = pad.to_owned();
        for (k, w) in widths.iter().enumerate() {
            let cell = row.get(k).map(String::as_str).unwrap_or("");
            let shown = if r < header_rows {
                st.bold(cell)
            } else {
                cell.to_owned()
            };
            line.push_str(&shown);
            if k + 1 < ncols {
                line.push_str(&" ".repeat(w - visible_len(cell) + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if r + 1 == header_rows {
            let total: usize = widths.iter().sum::<usize>() + 2 * (ncols.saturating_sub(1));
            out.push_str(&format!("{pad}{}\n", st.dim(&"─".repeat(total))));
        }
    }
    out
}

/// The width of `s` on a terminal: its characters, colour codes left out.
pub fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_drops_emphasis_keeps_code() {
        let st = Style::plain();
        assert_eq!(
            inline(st, "**predict** the `argv` of *its* PID 1"),
            "predict the `argv` of its PID 1"
        );
        assert_eq!(inline(st, "a_b and 2*3*4"), "a_b and 2*3*4");
    }

    #[test]
    fn widths_ignore_colour() {
        let st = Style { color: true };
        assert_eq!(visible_len(&inline(st, "`t1.argv`")), 7);
    }
}
