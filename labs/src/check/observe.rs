//! Observations shared by the checks: a container's record (`hull inspect --format json`), the
//! host PID of its PID 1 (found in its cgroup by the kernel's NSpid), its cgroup files, its
//! image layers, and the DNAT rules in `table ip hull`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::Verdict;
use crate::sandbox::{cgroup, Sandbox};

/// What a check sees of a container that does not exist (not waited for: the learner's
/// commands have finished, it will not appear by itself).
pub const NO_SUCH_CONTAINER: &str = "no such container";

const HULL_TIMEOUT: Duration = Duration::from_secs(30);

/// `hull inspect --format json NAME`, the first element.
pub fn inspect(sb: &Sandbox, name: &str) -> Result<Value, Verdict> {
    let out = sb
        .hull(&["inspect", "--format", "json", name], HULL_TIMEOUT)
        .map_err(|e| Verdict::Env(e.to_string()))?;
    if !out.ok() {
        let err = out.stderr.trim();
        if err.contains("No such") || err.contains("no such") {
            return Err(Verdict::not_yet(
                format!("a container named {name}"),
                NO_SUCH_CONTAINER,
                "hull ps -a",
            ));
        }
        return Err(Verdict::Env(format!("hull inspect {name} failed: {err}")));
    }
    let v: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| Verdict::Env(format!("hull inspect --format json printed no JSON: {e}")))?;
    let rec = match v {
        Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
        Value::Object(_) => v,
        _ => {
            return Err(Verdict::Env(
                "hull inspect --format json printed an empty list".into(),
            ))
        }
    };
    if rec.get("State").is_none() {
        return Err(Verdict::not_yet(
            format!("a container named {name}"),
            format!("{NO_SUCH_CONTAINER} ({name} names an image)"),
            "hull ps -a",
        ));
    }
    Ok(rec)
}

pub fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The host PID of the running container's PID 1: the process in the container's cgroup
/// (`hull-<12 hex id>`, below the sandbox's) whose last NSpid is 1.
pub fn host_pid(sb: &Sandbox, name: &str) -> Result<u32, Verdict> {
    let rec = inspect(sb, name)?;
    let status = str_at(&rec, "/State/Status");
    if rec.pointer("/State/Running").and_then(Value::as_bool) != Some(true) {
        return Err(Verdict::not_yet(
            format!("container {name} running"),
            format!("it is {status}"),
            format!("hull ps -a; hull logs {name} shows what it printed before it stopped"),
        ));
    }
    let id = str_at(&rec, "/Id");
    let cg_name = format!("hull-{}", id.get(..12).unwrap_or(id));
    let mut pids = Vec::new();
    for dir in &sb.info().cgroups.dirs {
        cgroup::walk(dir, &mut |d| {
            if d.file_name().is_some_and(|n| n == cg_name.as_str()) {
                if let Ok(text) = std::fs::read_to_string(d.join("cgroup.procs")) {
                    pids.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
                }
            }
        });
    }
    // If hull names its cgroups differently, its record's PID is accepted once the kernel
    // confirms it is a PID 1.
    if let Some(pid) = rec.pointer("/State/Pid").and_then(Value::as_u64) {
        pids.push(pid as u32);
    }
    pids.into_iter()
        .find(|p| ns_pid(*p) == Some(1))
        .ok_or_else(|| {
            Verdict::Env(format!(
                "container {name} is running, but no process in its cgroup {cg_name} is a PID 1"
            ))
        })
}

/// The PID a process has in its innermost PID namespace (the last NSpid field).
pub fn ns_pid(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .and_then(|v| v.split_whitespace().last())
        .and_then(|v| v.parse().ok())
}

/// The value of a cgroup file of the running container; `spec` may list alternatives
/// (`memory.limit_in_bytes|memory.max`), the first that exists is read.
pub fn cgroup_file(sb: &Sandbox, name: &str, spec: &str) -> Result<(PathBuf, String), Verdict> {
    let pid = host_pid(sb, name)?;
    let mounts = cgroup::hierarchies().map_err(|e| Verdict::Env(e.to_string()))?;
    for file in spec.split('|') {
        let controller = file.split('.').next().unwrap_or("");
        for m in &mounts {
            let fits =
                m.v2 || controller == "cgroup" || m.controllers.iter().any(|c| c == controller);
            if !fits {
                continue;
            }
            let Ok(dir) = cgroup::dir_of(pid, m) else {
                continue;
            };
            let path = dir.join(file);
            if let Ok(v) = std::fs::read_to_string(&path) {
                return Ok((path, v.trim().to_owned()));
            }
        }
    }
    Err(Verdict::Env(format!(
        "container {name} (PID {pid}) has no cgroup file {spec} (see /proc/{pid}/cgroup)"
    )))
}

/// The container's image layers, top first: `(diff id, unpacked directory)`.
pub fn layers(sb: &Sandbox, name: &str) -> Result<Vec<(String, PathBuf)>, Verdict> {
    let rec = inspect(sb, name)?;
    let lowers: Vec<PathBuf> = str_at(&rec, "/GraphDriver/Data/LowerDir")
        .split(':')
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect();
    let image = str_at(&rec, "/Image");
    let out = sb
        .hull(&["image", "inspect", image], HULL_TIMEOUT)
        .map_err(|e| Verdict::Env(e.to_string()))?;
    if !out.ok() {
        return Err(Verdict::Env(format!(
            "hull image inspect {image}: {}",
            out.stderr.trim()
        )));
    }
    let v: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| Verdict::Env(format!("hull image inspect printed no JSON: {e}")))?;
    let img = v.get(0).unwrap_or(&v);
    let diff_ids: Vec<String> = img
        .pointer("/RootFS/Layers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if diff_ids.len() != lowers.len() {
        return Err(Verdict::Env(format!(
            "container {name}: {} LowerDir entries but its image has {} layers",
            lowers.len(),
            diff_ids.len()
        )));
    }
    Ok(diff_ids.into_iter().rev().zip(lowers).collect())
}

/// A DNAT rule of `table ip hull`: the port it matches and where it sends packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnat {
    pub port: u64,
    pub target: String,
    pub comment: String,
}

/// The DNAT rules in `nft -j list table ip hull`; `Ok(None)` when there is no such table.
pub fn dnat_rules(sb: &Sandbox) -> Result<Option<Vec<Dnat>>, Verdict> {
    let out = sb
        .sh("nft -j list table ip hull", HULL_TIMEOUT)
        .map_err(|e| Verdict::Env(e.to_string()))?;
    if out.code == Some(127) {
        return Err(Verdict::Env(
            "nft is not installed (apt-get install nftables)".into(),
        ));
    }
    if !out.ok() {
        if out.stderr.contains("No such file") {
            return Ok(None);
        }
        return Err(Verdict::Env(format!(
            "nft list table ip hull: {}",
            out.stderr.trim()
        )));
    }
    let v: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| Verdict::Env(format!("nft -j printed no JSON: {e}")))?;
    Ok(Some(parse_dnat(&v)))
}

pub fn parse_dnat(v: &Value) -> Vec<Dnat> {
    let items = v
        .get("nftables")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|i| i.get("rule"))
        .filter_map(|rule| {
            let exprs = rule.get("expr")?.as_array()?;
            let dnat = exprs.iter().find_map(|e| e.get("dnat"))?;
            let port = exprs.iter().find_map(|e| {
                let m = e.get("match")?;
                let field = m.pointer("/left/payload/field").and_then(Value::as_str);
                (field == Some("dport")).then(|| m.get("right")?.as_u64())?
            })?;
            let addr = dnat.get("addr").map(scalar).unwrap_or_default();
            let target = match dnat.get("port") {
                Some(p) => format!("{addr}:{}", scalar(p)),
                None => addr,
            };
            let comment = rule.get("comment").and_then(Value::as_str).unwrap_or("");
            Some(Dnat {
                port,
                target,
                comment: comment.to_owned(),
            })
        })
        .collect()
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_dnat_rules_in_nft_json() {
        let v: Value = serde_json::from_str(
            r#"{"nftables":[{"metainfo":{}},{"table":{"family":"ip","name":"hull"}},
            {"rule":{"family":"ip","table":"hull","chain":"dnat","handle":4,"comment":"hull:abc",
             "expr":[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":8080}},
                     {"dnat":{"addr":"172.18.0.2","port":80}}]}},
            {"rule":{"family":"ip","table":"hull","chain":"post","handle":5,"expr":[{"masquerade":null}]}}]}"#,
        )
        .unwrap();
        let rules = parse_dnat(&v);
        assert_eq!(
            rules,
            [Dnat {
                port: 8080,
                target: "172.18.0.2:80".into(),
                comment: "hull:abc".into()
            }]
        );
    }
}
