//! Volume and disk-usage views: `volume ls` and `system df`, as Docker 20.10 prints them.
//!
//! Docker's tables come from Go's tabwriter with a minimum cell width of 10 and a padding of
//! 3; these two use that rule exactly ([`tabwriter`]), and sizes are go-units' HumanSize
//! (decimal units, four significant digits: `1.984MB`, `51.2kB`).

use serde_json::json;

use super::{Listing, ListingKind};
use crate::disk_usage::{DiskUsage, Usage};
use crate::volume::{Volume, DRIVER};

/// Go's `tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)`: each cell but the last padded to its
/// column's widest cell plus 3, and at least 10.
pub fn tabwriter(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter(|r| i + 1 < r.len())
                .map(|r| r[i].chars().count() + 3)
                .max()
                .unwrap_or(0)
                .max(10)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

/// go-units' HumanSize: `0B`, `8B`, `51.2kB`, `1.984MB`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    // %.4g: four significant digits, trailing zeros dropped.
    let int_digits = if v < 1.0 {
        1
    } else {
        v.log10().floor() as usize + 1
    };
    let mut s = format!("{v:.*}", 4usize.saturating_sub(int_digits));
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", UNITS[i])
}

/// `volume ls`'s fields for `--format` templates (Docker's volume context).
pub const VOLUMES: ListingKind = ListingKind {
    context: "*formatter.volumeContext",
    fields: &[
        ("Driver", "DRIVER"),
        ("Name", "VOLUME NAME"),
        ("Mountpoint", "MOUNTPOINT"),
        ("Scope", "SCOPE"),
        ("Labels", "LABELS"),
        ("Links", "LINKS"),
        ("Size", "SIZE"),
    ],
    checked_first: false,
};

/// `system df`'s fields for `--format` templates (Docker's disk usage context).
pub const DISK_USAGE: ListingKind = ListingKind {
    context: "*formatter.diskUsageContext",
    fields: &[
        ("Type", "TYPE"),
        ("TotalCount", "TOTAL"),
        ("Active", "ACTIVE"),
        ("Size", "SIZE"),
        ("Reclaimable", "RECLAIMABLE"),
    ],
    checked_first: false,
};

/// `hull volume ls`: the table, `--format` values (Docker's fields) and `-q` names.
pub fn volumes(list: &[Volume]) -> (String, Listing) {
    let mut rows = vec![vec!["DRIVER".to_string(), "VOLUME NAME".to_string()]];
    rows.extend(
        list.iter()
            .map(|v| vec![DRIVER.to_string(), v.name.clone()]),
    );
    let listing = Listing {
        headers: &["DRIVER", "VOLUME NAME"],
        rows: rows[1..].to_vec(),
        values: list
            .iter()
            .map(|v| {
                json!({"Driver": DRIVER, "Labels": "", "Links": "N/A",
                       "Mountpoint": v.data(), "Name": v.name, "Scope": "local", "Size": "N/A"})
            })
            .collect(),
        ids: list.iter().map(|v| v.name.clone()).collect(),
        kind: &VOLUMES,
    };
    (tabwriter(&rows), listing)
}

fn reclaimable(u: &Usage) -> String {
    match (u.reclaimable * 100).checked_div(u.size) {
        Some(percent) => format!("{} ({percent}%)", human_size(u.reclaimable)),
        None => human_size(u.reclaimable),
    }
}

/// `hull system df`: the table and the `--format` values.
pub fn df(d: &DiskUsage) -> (String, Listing) {
    let lines = [
        ("Images", &d.images),
        ("Containers", &d.containers),
        ("Local Volumes", &d.volumes),
        ("Build Cache", &d.build_cache),
    ];
    let cells: Vec<Vec<String>> = lines
        .iter()
        .map(|(kind, u)| {
            vec![
                kind.to_string(),
                u.total.to_string(),
                u.active.to_string(),
                human_size(u.size),
                reclaimable(u),
            ]
        })
        .collect();
    let mut rows = vec![["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
        .map(String::from)
        .to_vec()];
    rows.extend(cells.iter().cloned());
    let listing = Listing {
        headers: &["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
        rows: cells.clone(),
        values: cells
            .iter()
            .map(|c| {
                json!({"Type": c[0], "TotalCount": c[1], "Active": c[2], "Size": c[3],
                       "Reclaimable": c[4]})
            })
            .collect(),
        ids: Vec::new(),
        kind: &DISK_USAGE,
    };
    (tabwriter(&rows), listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_units_prints_them() {
        for (n, want) in [
            (0, "0B"),
            (8, "8B"),
            (999, "999B"),
            (1000, "1kB"),
            (51_200, "51.2kB"),
            (102_404, "102.4kB"),
            (1_984_000, "1.984MB"),
            (1_984_567, "1.985MB"),
            (12_345_678, "12.35MB"),
            (999_999, "1000kB"),
        ] {
            assert_eq!(human_size(n), want, "{n}");
        }
    }

    #[test]
    fn df_as_docker_prints_it() {
        let d = DiskUsage {
            images: Usage {
                total: 4,
                active: 1,
                size: 1_984_000,
                reclaimable: 1_984_000,
            },
            containers: Usage {
                total: 1,
                active: 0,
                size: 51_200,
                reclaimable: 51_200,
            },
            volumes: Usage {
                total: 3,
                active: 1,
                size: 102_412,
                reclaimable: 8,
            },
            build_cache: Usage::default(),
        };
        let (table, listing) = df(&d);
        assert_eq!(
            table,
            "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
Images          4         1         1.984MB   1.984MB (100%)
Containers      1         0         51.2kB    51.2kB (100%)
Local Volumes   3         1         102.4kB   8B (0%)
Build Cache     0         0         0B        0B
"
        );
        assert_eq!(
            listing
                .render(Some("json"))
                .unwrap()
                .lines()
                .next()
                .unwrap(),
            r#"{"Active":"1","Reclaimable":"1.984MB (100%)","Size":"1.984MB","TotalCount":"4","Type":"Images"}"#
        );
    }
}
