//! Container views: `ps`, `stats`, `top` and `port`, as Docker shows them.

use std::time::SystemTime;

use serde_json::json;

use super::{bytes, format, Listing, ListingKind};
use crate::ops::Stats;
use crate::record::Record;

/// `ps --format`: the fields of Docker's `ContainerContext` that hull has (and `ExitCode`).
pub const PS: ListingKind = ListingKind {
    context: "*formatter.ContainerContext",
    fields: &[
        ("ID", "CONTAINER ID"),
        ("Names", "NAMES"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("CreatedAt", "CREATED AT"),
        ("RunningFor", "CREATED"),
        ("Ports", "PORTS"),
        ("State", "STATE"),
        ("Status", "STATUS"),
        ("Labels", "LABELS"),
        ("Mounts", "MOUNTS"),
        ("LocalVolumes", "LOCAL VOLUMES"),
        ("Networks", "NETWORKS"),
        ("ExitCode", "EXIT CODE"),
    ],
    checked_first: true,
};

/// `stats --format`.
pub const STATS: ListingKind = ListingKind {
    context: "*formatter.statsContext",
    fields: &[
        ("ID", "CONTAINER ID"),
        ("Name", "NAME"),
        ("MemUsage", "MEM USAGE / LIMIT"),
        ("MemLimit", "MEM LIMIT"),
        ("MemPerc", "MEM %"),
        ("PIDs", "PIDS"),
        ("CPUUsageNs", "CPU NS"),
    ],
    checked_first: false,
};

/// `top` (no `--format`).
pub const TOP: ListingKind = ListingKind {
    context: "*container.topContext",
    fields: &[("UID", "UID"), ("PID", "PID"), ("CMD", "CMD")],
    checked_first: false,
};

/// `inspect` of a container: the record in Docker's shape, with its name as Docker shows it
/// there, `/` first.
pub fn inspect(r: &Record) -> serde_json::Value {
    let mut v = serde_json::to_value(r).expect("a record serializes");
    v["Name"] = format!("/{}", r.name).into();
    v
}

/// The LABELS column: `k=v` pairs, comma-separated.
fn labels(r: &Record) -> String {
    let pairs: Vec<String> = r
        .config
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.join(",")
}

/// The MOUNTS column: each mount's source, cut to 15 characters as `docker ps` does.
fn mounts(r: &Record) -> String {
    let names: Vec<String> = r
        .mounts
        .iter()
        .map(|m| {
            if m.source.chars().count() > 15 {
                format!("{}…", m.source.chars().take(14).collect::<String>())
            } else {
                m.source.clone()
            }
        })
        .collect();
    names.join(",")
}

/// `hull ps`: Docker's columns, and for `--format` the fields `docker ps --format json` has.
pub fn ps(list: &[Record], now: SystemTime) -> Listing {
    Listing {
        headers: &[
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES",
        ],
        rows: list
            .iter()
            .map(|r| {
                vec![
                    r.short_id().to_string(),
                    r.config.image.clone(),
                    format::command(r),
                    super::ago(Some(&r.created), now),
                    format::status(r, now),
                    format::ports(r),
                    r.name.clone(),
                ]
            })
            .collect(),
        values: list
            .iter()
            .map(|r| {
                json!({
                    "ID": r.short_id(),
                    "Image": r.config.image,
                    "Command": format::command(r),
                    "CreatedAt": format::docker_time(&r.created),
                    "RunningFor": super::ago(Some(&r.created), now),
                    "Status": format::status(r, now),
                    "State": r.state.status,
                    "ExitCode": r.state.exit_code,
                    "Names": r.name,
                    "Ports": format::ports(r),
                    "Labels": labels(r),
                    "Mounts": mounts(r),
                    "LocalVolumes": "0",
                    "Networks": r.host_config.network_mode,
                })
            })
            .collect(),
        ids: list.iter().map(|r| r.short_id().to_string()).collect(),
        kind: &PS,
    }
}

/// `hull stats`: memory against its limit and the pids of each container's cgroup.
pub fn stats(list: &[(Record, Stats)]) -> Listing {
    let percent = |s: &Stats| {
        if s.memory_limit > 0 && s.memory_limit < 1 << 60 {
            100.0 * s.memory_usage as f64 / s.memory_limit as f64
        } else {
            0.0
        }
    };
    Listing {
        headers: &["CONTAINER ID", "NAME", "MEM USAGE / LIMIT", "MEM %", "PIDS"],
        rows: list
            .iter()
            .map(|(r, s)| {
                vec![
                    r.short_id().to_string(),
                    r.name.clone(),
                    format!("{} / {}", bytes(s.memory_usage), bytes(s.memory_limit)),
                    format!("{:.2}%", percent(s)),
                    s.pids.to_string(),
                ]
            })
            .collect(),
        values: list
            .iter()
            .map(|(r, s)| {
                json!({
                    "ID": r.short_id(), "Name": r.name, "MemUsage": s.memory_usage,
                    "MemLimit": s.memory_limit, "MemPerc": format!("{:.2}%", percent(s)),
                    "PIDs": s.pids, "CPUUsageNs": s.cpu_usage_ns,
                })
            })
            .collect(),
        ids: list.iter().map(|(r, _)| r.short_id().to_string()).collect(),
        kind: &STATS,
    }
}

/// `hull top`: `(pid, uid, command)` rows as Docker's UID, PID, CMD columns.
pub fn top(processes: &[(i32, u32, String)]) -> Listing {
    Listing {
        headers: &["UID", "PID", "CMD"],
        rows: processes
            .iter()
            .map(|(pid, uid, cmd)| vec![uid.to_string(), pid.to_string(), cmd.clone()])
            .collect(),
        values: processes
            .iter()
            .map(|(pid, uid, cmd)| json!({"UID": uid, "PID": pid, "CMD": cmd}))
            .collect(),
        ids: processes
            .iter()
            .map(|(pid, _, _)| pid.to_string())
            .collect(),
        kind: &TOP,
    }
}

/// `hull port CONTAINER [PORT[/PROTO]]`: `80/tcp -> 0.0.0.0:8080` lines for every published
/// port, or only `0.0.0.0:8080` for the one asked for (a bare number means tcp). `None` when
/// that port is not published, which Docker reports as an error.
pub fn ports(r: &Record, port: Option<&str>) -> Option<Vec<String>> {
    let want = port.map(port_key);
    let mut lines = Vec::new();
    for (key, binds) in &r.network_settings.ports {
        if want.as_deref().is_some_and(|w| w != key) {
            continue;
        }
        for b in binds {
            lines.push(match want {
                Some(_) => format!("{}:{}", b.host_ip, b.host_port),
                None => format!("{key} -> {}:{}", b.host_ip, b.host_port),
            });
        }
    }
    (want.is_none() || !lines.is_empty()).then_some(lines)
}

/// `80` → `80/tcp`, `53/udp` as it is: the key a published port is recorded under.
pub fn port_key(port: &str) -> String {
    if port.contains('/') {
        port.to_string()
    } else {
        format!("{port}/tcp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        let mut r = Record {
            id: "0123456789abcdef0123".into(),
            name: "web".into(),
            created: "2026-01-01T00:00:00Z".into(),
            path: "sleep".into(),
            args: vec!["100".into()],
            ..Record::default()
        };
        r.state.status = "exited".into();
        r.state.exit_code = 137;
        r.state.finished_at = "2026-01-01T00:00:10Z".into();
        r.config.image = "busybox".into();
        r.host_config.network_mode = "bridge".into();
        r.network_settings.ports.insert(
            "80/tcp".into(),
            vec![crate::record::PortBinding {
                host_ip: "0.0.0.0".into(),
                host_port: "8080".into(),
            }],
        );
        r
    }

    #[test]
    fn ps_json_has_dockers_fields() {
        let r = record();
        let now = humantime::parse_rfc3339("2026-01-01T00:01:10Z").unwrap();
        let l = ps(&[r], now);
        let v = &l.values[0];
        assert_eq!(v["ID"], "0123456789ab");
        assert_eq!(v["State"], "exited");
        assert_eq!(v["ExitCode"], 137);
        assert_eq!(v["Status"], "Exited (137) About a minute ago");
        assert_eq!(v["Ports"], "0.0.0.0:8080->80/tcp");
        assert_eq!(v["Command"], "\"sleep 100\"");
        assert_eq!(l.ids, ["0123456789ab"]);
        assert_eq!(l.rows[0][3], "About a minute ago");
        assert_eq!(v["RunningFor"], "About a minute ago");
        assert_eq!(v["CreatedAt"], "2026-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            l.render(Some("table {{.Names}}\\t{{.Command}}")).unwrap(),
            "NAMES     COMMAND\nweb       \"sleep 100\"\n"
        );
    }

    #[test]
    fn inspect_names_the_container_with_a_slash() {
        let v = inspect(&record());
        assert_eq!(v["Name"], "/web");
        assert_eq!(v["Id"], "0123456789abcdef0123");
    }

    #[test]
    fn port_lines_all_or_one_or_none() {
        let r = record();
        assert_eq!(ports(&r, None).unwrap(), ["80/tcp -> 0.0.0.0:8080"]);
        assert_eq!(ports(&r, Some("80")).unwrap(), ["0.0.0.0:8080"]);
        assert_eq!(ports(&r, Some("80/tcp")).unwrap(), ["0.0.0.0:8080"]);
        assert_eq!(ports(&r, Some("81")), None);
        assert_eq!(ports(&r, Some("80/udp")), None);
    }

    #[test]
    fn stats_percent_only_against_a_real_limit() {
        let r = record();
        let limited = Stats {
            memory_usage: 8 << 20,
            memory_limit: 32 << 20,
            pids: 2,
            pids_max: None,
            cpu_usage_ns: 5,
        };
        let unlimited = Stats {
            memory_limit: i64::MAX as u64,
            ..limited.clone()
        };
        let l = stats(&[(r.clone(), limited), (r, unlimited)]);
        assert_eq!(l.values[0]["MemPerc"], "25.00%");
        assert_eq!(l.rows[0][2], "8.0MiB / 32.0MiB");
        assert_eq!(l.values[1]["MemPerc"], "0.00%");
        assert_eq!(l.rows[1][2], "8.0MiB / unlimited");
    }
}
