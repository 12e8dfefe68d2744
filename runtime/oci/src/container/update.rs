//! `update`: apply new resource limits to a container's cgroup while it lives.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use super::Container;
use crate::error::{Error, Result};
use crate::state::Op;

pub fn update(root: &Path, id: &str, resources: &LinuxResources) -> Result<()> {
    let c = Container::load(root, id)?;
    c.require(Op::Update)?;
    let resources = if asks_for_devices(resources) {
        let spec = c.dir.load_config()?;
        let linux = spec.linux().clone().unwrap_or_default();
        super::create::with_default_device_rules(resources, &linux)
    } else {
        resources.clone()
    };
    crate::cgroups::manager(c.record.cgroup.clone()).apply(&resources)?;
    Ok(())
}

/// Device rules in an update are followed by the default devices and the config's
/// `linux.devices`, as at create: on cgroup v2 they become the cgroup's whole device program,
/// which would otherwise take /dev/null and /dev/pts away from the running container.
fn asks_for_devices(resources: &LinuxResources) -> bool {
    resources.devices().as_ref().is_some_and(|d| !d.is_empty())
}

/// `update -r FILE` (or `-` for standard input): a `linux.resources` object.
pub fn load_resources(file: &Path) -> Result<LinuxResources> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(|e| Error::io("read", "stdin", e))?
    } else {
        std::fs::read_to_string(file).map_err(|e| Error::io("read", file, e))?
    };
    serde_json::from_str(&text).map_err(|e| Error::Config {
        file: file.to_path_buf(),
        reason: format!("not a linux.resources object: {e}"),
    })
}

/// `update`'s flags, as runc names them; unset ones leave the limit as it is.
#[derive(Debug, Default, Clone)]
pub struct Limits {
    /// Bytes, or a size with a binary unit (`64m`, `1g`).
    pub memory: Option<String>,
    pub memory_swap: Option<String>,
    pub pids_limit: Option<i64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_share: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
}

/// A size as runc's flags take it: bytes, or a number with b/k/m/g/t (binary units); `-1`
/// for no limit.
pub fn parse_size(flag: &str, text: &str) -> Result<i64> {
    let bad = || Error::Unsupported(format!("--{flag} {text:?}: use bytes or a size like 64m"));
    let t = text.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().map_err(|_| bad())?;
    let shift = match unit.trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(bad()),
    };
    n.checked_mul(1i64 << shift).ok_or_else(bad)
}

impl Limits {
    /// The `linux.resources` these flags describe.
    pub fn resources(&self) -> Result<LinuxResources> {
        use oci_spec::runtime::{
            LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder,
        };
        let built = |e: oci_spec::OciSpecError| Error::Unsupported(e.to_string());
        let mut r = LinuxResourcesBuilder::default();
        if self.memory.is_some() || self.memory_swap.is_some() {
            let mut m = LinuxMemoryBuilder::default();
            if let Some(v) = &self.memory {
                m = m.limit(parse_size("memory", v)?);
            }
            if let Some(v) = &self.memory_swap {
                m = m.swap(parse_size("memory-swap", v)?);
            }
            r = r.memory(m.build().map_err(built)?);
        }
        if let Some(limit) = self.pids_limit {
            r = r.pids(
                LinuxPidsBuilder::default()
                    .limit(limit)
                    .build()
                    .map_err(built)?,
            );
        }
        let cpu_given = self.cpu_quota.is_some()
            || self.cpu_period.is_some()
            || self.cpu_share.is_some()
            || self.cpuset_cpus.is_some()
            || self.cpuset_mems.is_some();
        if cpu_given {
            let mut c = LinuxCpuBuilder::default();
            if let Some(v) = self.cpu_quota {
                c = c.quota(v);
            }
            if let Some(v) = self.cpu_period {
                c = c.period(v);
            }
            if let Some(v) = self.cpu_share {
                c = c.shares(v);
            }
            if let Some(v) = &self.cpuset_cpus {
                c = c.cpus(v.clone());
            }
            if let Some(v) = &self.cpuset_mems {
                c = c.mems(v.clone());
            }
            r = r.cpu(c.build().map_err(built)?);
        }
        r.build().map_err(built)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_runc_takes_them() {
        assert_eq!(parse_size("memory", "33554432").unwrap(), 32 << 20);
        assert_eq!(parse_size("memory", "32m").unwrap(), 32 << 20);
        assert_eq!(parse_size("memory", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("memory", "-1").unwrap(), -1);
        assert!(parse_size("memory", "lots")
            .unwrap_err()
            .to_string()
            .contains("--memory \"lots\""));
    }

    #[test]
    fn device_rules_in_an_update_get_the_default_devices_after_them() {
        let deny_all: LinuxResources =
            serde_json::from_str(r#"{"devices": [{"allow": false, "access": "rwm"}]}"#).unwrap();
        assert!(asks_for_devices(&deny_all));
        let linux = oci_spec::runtime::Linux::default();
        let rules = super::super::create::with_default_device_rules(&deny_all, &linux)
            .devices()
            .clone()
            .unwrap();
        assert!(!rules[0].allow());
        let null = rules
            .iter()
            .find(|r| r.major() == Some(1) && r.minor() == Some(3));
        assert!(null.is_some_and(|r| r.allow()), "{rules:?}");
        let limits_only: LinuxResources =
            serde_json::from_str(r#"{"pids": {"limit": 5}, "devices": []}"#).unwrap();
        assert!(!asks_for_devices(&limits_only));
    }

    #[test]
    fn flags_become_resources() {
        let r = Limits {
            memory: Some("64m".into()),
            pids_limit: Some(10),
            ..Limits::default()
        }
        .resources()
        .unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(64 << 20));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 10);
        assert!(r.cpu().is_none());
    }
}
