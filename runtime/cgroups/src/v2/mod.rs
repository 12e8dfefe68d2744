//! cgroup v2: one directory in the unified hierarchy; a controller's files appear in it only
//! once every ancestor down to its parent lists the controller in `cgroup.subtree_control`.
//! Device rules have no file: they become an eBPF program attached to the directory
//! ([`devices`]).

pub mod devices;

use std::path::Path;

use oci_spec::runtime::{LinuxMemory, LinuxResources};

use devices::DeviceProgram;

use super::{
    check_supported, create_or_roll_back, make_cgroup_dirs, missing_dir, parse_flat_keyed,
    parse_procs, path, read_file, remove_dirs, wait_until, write, write_file, CgroupError,
    CgroupLocation, CgroupManager, CgroupVersion, Result, Write,
};

const PROCS: &str = "cgroup.procs";
const CONTROLLERS: &str = "cgroup.controllers";
const SUBTREE_CONTROL: &str = "cgroup.subtree_control";
const MEMORY_EVENTS: &str = "memory.events";
const FREEZE: &str = "cgroup.freeze";
const EVENTS: &str = "cgroup.events";
const SWAP_MAX: &str = "memory.swap.max";
/// The controllers whose files `apply` writes.
const WANTED_CONTROLLERS: [&str; 4] = ["cpu", "cpuset", "memory", "pids"];
/// The period the kernel uses when `cpu.max` is given none (cgroup-v2.rst).
const DEFAULT_CPU_PERIOD: u64 = 100_000;
/// Where the caller's processes go when its own cgroup must hand controllers to the
/// containers' cgroups below it. cgroup v2 lets only a cgroup without processes do that (the
/// no-internal-processes rule; the root cgroup is exempt), so the processes move one level
/// down into this leaf, as Docker-in-Docker's entrypoint moves its own into `/init`. A caller
/// found in this leaf counts as being in its parent: later containers go beside the leaf, not
/// below it.
pub const PROCESS_LEAF: &str = "hull-leaf";
/// How often [`evacuate`] sweeps a cgroup that new processes keep entering.
const EVACUATION_ROUNDS: usize = 50;

/// The cgroup v2 manager: one directory in the unified hierarchy.
pub struct V2Manager {
    location: CgroupLocation,
}

impl V2Manager {
    /// A manager for a location from [`super::resolve`] or from a container's saved state.
    pub fn new(location: CgroupLocation) -> Self {
        Self { location }
    }

    fn dir(&self) -> Result<&Path> {
        match self.location.dirs.as_slice() {
            [dir] => Ok(dir),
            dirs => Err(CgroupError::Invalid(format!(
                "a cgroup v2 location has exactly one directory, not {}",
                dirs.len()
            ))),
        }
    }

    /// The existing directory, so that a removed cgroup is not mistaken for a disabled
    /// controller.
    fn existing_dir(&self) -> Result<&Path> {
        let dir = self.dir()?;
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(missing_dir(dir))
        }
    }
}

impl CgroupManager for V2Manager {
    fn version(&self) -> CgroupVersion {
        CgroupVersion::V2
    }

    fn location(&self) -> &CgroupLocation {
        &self.location
    }

    fn create(&mut self) -> Result<()> {
        let leaf = self.dir()?.to_path_buf();
        // Controllers are enabled from the caller's own cgroup down, which matters when
        // cgroupsPath passes through directories that already exist. A location saved by
        // another process may not lie below our cgroup (nor may one on a test mount); then the
        // chain starts at the deepest directory that exists, which never reaches above the
        // cgroup that resolved it.
        let own = path::own_v2_dir().ok();
        let top = match own {
            Some(own) if leaf.starts_with(&own) && leaf != own => own,
            _ => leaf
                .ancestors()
                .skip(1)
                .find(|d| d.exists())
                .unwrap_or(Path::new("/"))
                .to_path_buf(),
        };
        // Existing levels first: top down to the deepest one that exists.
        let existing: Vec<&Path> = leaf
            .ancestors()
            .skip(1)
            .take_while(|d| d.starts_with(&top))
            .filter(|d| d.exists())
            .collect();
        if !leaf.exists() {
            for dir in existing.iter().rev() {
                hand_controllers_down(dir)?;
            }
        }
        create_or_roll_back(&mut self.location, |made| {
            make_cgroup_dirs(&leaf, nix::sys::statfs::CGROUP2_SUPER_MAGIC, made, |dir| {
                if dir == leaf {
                    Ok(())
                } else {
                    enable_controllers(dir)
                }
            })
        })
    }

    fn apply(&self, resources: &LinuxResources) -> Result<()> {
        let writes = plan(resources)?;
        let devices = device_program(resources)?;
        let dir = self.existing_dir()?;
        // Check every file before writing any, so a missing controller leaves nothing half-done.
        for w in &writes {
            if !dir.join(w.file).exists() {
                return Err(missing_controller(dir, w));
            }
        }
        if let Some(program) = devices {
            program.install(dir)?;
        }
        for w in &writes {
            write_file(&dir.join(w.file), &w.value)?;
        }
        Ok(())
    }

    fn add_process(&self, pid: i32) -> Result<()> {
        write_file(&self.dir()?.join(PROCS), &pid.to_string())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        let path = self.existing_dir()?.join(PROCS);
        parse_procs(&read_file(&path)?, &path)
    }

    fn freeze(&self, frozen: bool) -> Result<()> {
        let dir = self.existing_dir()?;
        write_file(&dir.join(FREEZE), if frozen { "1" } else { "0" })?;
        let events = dir.join(EVENTS);
        let want = u64::from(frozen);
        wait_until(&events, || {
            Ok(parse_flat_keyed(&read_file(&events)?, "frozen") == Some(want))
        })
    }

    fn is_frozen(&self) -> Result<bool> {
        let path = self.existing_dir()?.join(FREEZE);
        if !path.exists() {
            return Ok(false);
        }
        Ok(read_file(&path)?.trim() == "1")
    }

    fn oom_kill_count(&self) -> Result<u64> {
        let path = self.existing_dir()?.join(MEMORY_EVENTS);
        if !path.exists() {
            return Ok(0); // memory controller not enabled: nothing was limited, nothing counted
        }
        Ok(parse_flat_keyed(&read_file(&path)?, "oom_kill").unwrap_or(0))
    }

    fn destroy(&self) -> Result<()> {
        remove_dirs(&self.location.created)
    }
}

/// Enable the controllers hull uses (those `dir` has) for `dir`'s children. When `dir` holds
/// processes and is the caller's own cgroup, they move into [`PROCESS_LEAF`] first (see
/// there); processes of any other cgroup are not ours to move, and that is an error.
pub fn hand_controllers_down(dir: &Path) -> Result<()> {
    match enable_controllers(dir) {
        Err(e) if is_busy(&e) && is_callers_own(dir) => {
            evacuate(dir)?;
            enable_controllers(dir)
        }
        other => other,
    }
}

/// Whether `dir` is the caller's own cgroup (as [`own_dir`] names it).
fn is_callers_own(dir: &Path) -> bool {
    own_dir().is_ok_and(|own| own == dir)
}

fn is_busy(e: &CgroupError) -> bool {
    matches!(e, CgroupError::Busy { .. })
}

/// The caller's own cgroup v2 directory; a caller in [`PROCESS_LEAF`] counts as being in the
/// leaf's parent.
pub fn own_dir() -> Result<std::path::PathBuf> {
    path::own_v2_dir()
}

/// Where a process in cgroup `dir` counts as being: one that hull moved into
/// [`PROCESS_LEAF`] (cgroup v2's no-internal-processes rule) counts as being where it was, in
/// the leaf's parent.
pub fn out_of_the_leaf(mut dir: std::path::PathBuf) -> std::path::PathBuf {
    if dir.file_name().is_some_and(|n| n == PROCESS_LEAF) && dir.parent().is_some() {
        dir.pop();
    }
    dir
}

/// Move every process of `dir` into `dir/`[`PROCESS_LEAF`], so that `dir` may enable
/// controllers for its children. Processes forked meanwhile land in `dir` again, so it is swept
/// until it is empty (a bounded number of times).
pub fn evacuate(dir: &Path) -> Result<()> {
    let leaf = dir.join(PROCESS_LEAF);
    match std::fs::create_dir(&leaf) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(CgroupError::Io {
                action: "create",
                path: leaf,
                source,
            })
        }
    }
    let procs = dir.join(PROCS);
    let into = leaf.join(PROCS);
    for _ in 0..EVACUATION_ROUNDS {
        let pids = parse_procs(&read_file(&procs)?, &procs)?;
        if pids.is_empty() {
            return Ok(());
        }
        for pid in pids {
            match write_file(&into, &pid.to_string()) {
                Ok(()) => {}
                // Gone meanwhile.
                Err(CgroupError::Io { source, .. })
                    if source.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Err(CgroupError::Invalid(format!(
        "{} still has processes after {EVACUATION_ROUNDS} rounds of moving them into {}",
        dir.display(),
        leaf.display()
    )))
}

/// Enable in `dir`'s children those of the wanted controllers that `dir` itself has.
fn enable_controllers(dir: &Path) -> Result<()> {
    let available = read_file(&dir.join(CONTROLLERS))?;
    let enabled = read_file(&dir.join(SUBTREE_CONTROL))?;
    let request = subtree_request(&available, &enabled);
    if request.is_empty() {
        return Ok(());
    }
    let file = dir.join(SUBTREE_CONTROL);
    write_file(&file, &request).map_err(|e| match e {
        CgroupError::Io { source, .. } if source.raw_os_error() == Some(libc::EBUSY) => {
            CgroupError::Busy {
                request,
                file,
                dir: dir.to_path_buf(),
                source,
            }
        }
        other => other,
    })
}

/// What to write to `cgroup.subtree_control` (`+cpu +memory`): the wanted controllers that are
/// available (`cgroup.controllers`) and not already enabled.
fn subtree_request(available: &str, enabled: &str) -> String {
    let available: Vec<&str> = available.split_whitespace().collect();
    let enabled: Vec<&str> = enabled.split_whitespace().collect();
    WANTED_CONTROLLERS
        .iter()
        .filter(|c| available.contains(c) && !enabled.contains(c))
        .map(|c| format!("+{c}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn missing_controller(dir: &Path, w: &Write) -> CgroupError {
    if w.file == SWAP_MAX {
        return CgroupError::Invalid(format!(
            "linux.resources.memory.swap is set but {} does not exist: swap accounting is off \
             in this kernel",
            dir.join(SWAP_MAX).display()
        ));
    }
    let controller = w.file.split('.').next().unwrap_or(w.file);
    let parent = dir.parent().unwrap_or(dir);
    CgroupError::Invalid(format!(
        "linux.resources.{} is set but {} does not exist: the {controller} controller is not \
         enabled for this cgroup (see {} and {})",
        w.field,
        dir.join(w.file).display(),
        parent.join(CONTROLLERS).display(),
        parent.join(SUBTREE_CONTROL).display()
    ))
}

/// The device program for the config's rules, built (and so checked) before anything is
/// written. No rules, or an empty list, asks for nothing: the cgroup keeps the programs it has
/// (an `update` without devices leaves them), as v1 keeps its devices files.
fn device_program(resources: &LinuxResources) -> Result<Option<DeviceProgram>> {
    match resources.devices().as_deref() {
        Some(rules) if !rules.is_empty() => DeviceProgram::compile(rules).map(Some),
        _ => Ok(None),
    }
}

/// The files to write for `resources`; refuses anything hullrt does not implement.
fn plan(resources: &LinuxResources) -> Result<Vec<Write>> {
    check_supported(resources)?;
    let mut writes = Vec::new();
    if let Some(memory) = resources.memory() {
        if let Some(limit) = memory.limit() {
            writes.push(write("memory.limit", "memory.max", max_or(limit)));
        }
        if let Some(reservation) = memory.reservation() {
            writes.push(write(
                "memory.reservation",
                "memory.low",
                max_or(reservation),
            ));
        }
        if let Some(swap) = swap_max(memory)? {
            writes.push(write("memory.swap", SWAP_MAX, swap));
        }
    }
    if let Some(cpu) = resources.cpu() {
        if let Some(shares) = cpu.shares().filter(|s| *s != 0) {
            writes.push(write("cpu.shares", "cpu.weight", shares_to_weight(shares)));
        }
        if let Some(max) = cpu_max(cpu.quota(), cpu.period()) {
            writes.push(write("cpu.quota", "cpu.max", max));
        }
        if let Some(cpus) = cpu.cpus().as_deref().filter(|s| !s.is_empty()) {
            writes.push(write("cpu.cpus", "cpuset.cpus", cpus));
        }
        if let Some(mems) = cpu.mems().as_deref().filter(|s| !s.is_empty()) {
            writes.push(write("cpu.mems", "cpuset.mems", mems));
        }
    }
    if let Some(pids) = resources.pids() {
        let limit = pids.limit();
        let value = if limit <= 0 {
            "max".to_owned()
        } else {
            limit.to_string()
        };
        writes.push(write("pids.limit", "pids.max", value));
    }
    Ok(writes)
}

/// OCI writes "unlimited" as -1 (any negative value); v2 files say `max`.
fn max_or(value: i64) -> String {
    if value < 0 {
        "max".to_owned()
    } else {
        value.to_string()
    }
}

/// `memory.swap.max` from OCI's memory+swap, as runc converts it: v2 limits swap alone.
fn swap_max(memory: &LinuxMemory) -> Result<Option<String>> {
    let limit = memory.limit().unwrap_or(0);
    match memory.swap() {
        None | Some(0) => Ok(None),
        Some(swap) if swap < 0 => Ok(Some("max".to_owned())),
        Some(_) if limit <= 0 => Err(CgroupError::Invalid(
            "linux.resources.memory.swap needs memory.limit: OCI's swap is memory+swap".into(),
        )),
        Some(swap) if swap < limit => Err(CgroupError::Invalid(format!(
            "linux.resources.memory.swap ({swap}) is memory+swap and must not be below \
             memory.limit ({limit})"
        ))),
        Some(swap) => Ok(Some((swap - limit).to_string())),
    }
}

/// v1 `cpu.shares` (2..=262144, default 1024) to v2 `cpu.weight` (1..=10000, default 100),
/// with runc's formula so both runtimes give a container the same weight.
fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// `cpu.max` is "QUOTA PERIOD" with `max` for no quota; None when neither is set.
fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    if quota.is_none() && period.is_none() {
        return None;
    }
    let quota = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_owned(),
    };
    let period = period.filter(|p| *p != 0).unwrap_or(DEFAULT_CPU_PERIOD);
    Some(format!("{quota} {period}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxMemoryBuilder, LinuxNetworkBuilder,
        LinuxPidsBuilder, LinuxResourcesBuilder,
    };
    use std::path::PathBuf;

    fn files(writes: &[Write]) -> Vec<(&str, &str)> {
        writes.iter().map(|w| (w.file, w.value.as_str())).collect()
    }

    fn memory(limit: Option<i64>, swap: Option<i64>) -> LinuxMemory {
        let mut m = LinuxMemoryBuilder::default();
        if let Some(l) = limit {
            m = m.limit(l);
        }
        if let Some(s) = swap {
            m = m.swap(s);
        }
        m.build().unwrap()
    }

    #[test]
    fn shares_convert_to_weight_as_runc_does() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        // Out-of-range shares are clamped as the v1 kernel clamps them.
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(shares_to_weight(1 << 40), 10_000);
    }

    #[test]
    fn cpu_max_fills_in_max_and_the_default_period() {
        assert_eq!(cpu_max(None, None), None);
        assert_eq!(
            cpu_max(Some(50_000), Some(100_000)).unwrap(),
            "50000 100000"
        );
        assert_eq!(cpu_max(Some(-1), Some(50_000)).unwrap(), "max 50000");
        assert_eq!(cpu_max(None, Some(20_000)).unwrap(), "max 20000");
        assert_eq!(cpu_max(Some(25_000), None).unwrap(), "25000 100000");
    }

    #[test]
    fn swap_is_converted_from_memory_plus_swap() {
        assert_eq!(
            swap_max(&memory(Some(100), Some(300))).unwrap().unwrap(),
            "200"
        );
        assert_eq!(
            swap_max(&memory(Some(100), Some(100))).unwrap().unwrap(),
            "0"
        );
        assert_eq!(
            swap_max(&memory(Some(100), Some(-1))).unwrap().unwrap(),
            "max"
        );
        assert_eq!(swap_max(&memory(Some(100), None)).unwrap(), None);
        assert!(swap_max(&memory(None, Some(100))).is_err());
        assert!(swap_max(&memory(Some(-1), Some(100))).is_err());
        assert!(swap_max(&memory(Some(200), Some(100))).is_err());
    }

    #[test]
    fn resources_map_to_v2_files() {
        let resources = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(32 << 20)
                    .reservation(16 << 20)
                    .swap(64 << 20)
                    .build()
                    .unwrap(),
            )
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(1024u64)
                    .quota(50_000)
                    .period(100_000u64)
                    .cpus("0")
                    .mems("0")
                    .build()
                    .unwrap(),
            )
            .pids(LinuxPidsBuilder::default().limit(-1).build().unwrap())
            .build()
            .unwrap();
        assert_eq!(
            files(&plan(&resources).unwrap()),
            [
                ("memory.max", "33554432"),
                ("memory.low", "16777216"),
                ("memory.swap.max", "33554432"),
                ("cpu.weight", "39"),
                ("cpu.max", "50000 100000"),
                ("cpuset.cpus", "0"),
                ("cpuset.mems", "0"),
                ("pids.max", "max"),
            ]
        );
    }

    #[test]
    fn unlimited_memory_is_max() {
        let resources = LinuxResourcesBuilder::default()
            .memory(memory(Some(-1), None))
            .build()
            .unwrap();
        assert_eq!(files(&plan(&resources).unwrap()), [("memory.max", "max")]);
    }

    #[test]
    fn subtree_request_adds_only_available_missing_controllers() {
        assert_eq!(
            subtree_request("cpuset cpu io memory hugetlb pids rdma\n", ""),
            "+cpu +cpuset +memory +pids"
        );
        assert_eq!(
            subtree_request("cpu io memory pids\n", "memory\n"),
            "+cpu +pids"
        );
        assert_eq!(subtree_request("hugetlb\n", ""), "");
        assert_eq!(subtree_request("memory pids", "memory pids"), "");
    }

    #[test]
    fn device_rules_become_a_program_not_files() {
        let none = LinuxResourcesBuilder::default().build().unwrap();
        assert!(device_program(&none).unwrap().is_none());
        let empty = LinuxResourcesBuilder::default()
            .devices(vec![])
            .build()
            .unwrap();
        assert!(device_program(&empty).unwrap().is_none());
        let deny_all = LinuxResourcesBuilder::default()
            .devices(vec![LinuxDeviceCgroupBuilder::default()
                .access("rwm")
                .build()
                .unwrap()])
            .build()
            .unwrap();
        assert!(device_program(&deny_all).unwrap().is_some());
        assert_eq!(plan(&deny_all).unwrap(), []);
    }

    #[test]
    fn a_bad_device_rule_fails_apply_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pids.max"), "max").unwrap();
        let manager = V2Manager::new(CgroupLocation {
            version: CgroupVersion::V2,
            dirs: vec![dir.path().to_path_buf()],
            created: vec![],
        });
        let resources = LinuxResourcesBuilder::default()
            .pids(LinuxPidsBuilder::default().limit(5).build().unwrap())
            .devices(vec![LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(oci_spec::runtime::LinuxDeviceType::U)
                .build()
                .unwrap()])
            .build()
            .unwrap();
        let err = manager.apply(&resources).unwrap_err().to_string();
        assert!(
            err.contains("type \"u\" is not a device cgroup type"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("pids.max")).unwrap(),
            "max"
        );
    }

    #[test]
    fn unsupported_fields_are_refused_by_name() {
        let cases = [
            (
                LinuxResourcesBuilder::default()
                    .network(
                        LinuxNetworkBuilder::default()
                            .class_id(1u32)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
                "network",
            ),
            (
                LinuxResourcesBuilder::default()
                    .memory(
                        LinuxMemoryBuilder::default()
                            .swappiness(0u64)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
                "memory.swappiness",
            ),
            (
                LinuxResourcesBuilder::default()
                    .cpu(LinuxCpuBuilder::default().burst(1000u64).build().unwrap())
                    .build()
                    .unwrap(),
                "cpu.burst",
            ),
            (
                LinuxResourcesBuilder::default()
                    .rdma(std::collections::HashMap::from([(
                        "mlx5_0".to_owned(),
                        Default::default(),
                    )]))
                    .build()
                    .unwrap(),
                "rdma",
            ),
        ];
        for (resources, field) in cases {
            let err = plan(&resources).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("cgroup: linux.resources.{field} is not supported by hullrt")
            );
        }
    }

    #[test]
    fn a_missing_controller_names_the_file_and_where_to_enable_it() {
        let w = write("pids.limit", "pids.max", "10");
        let err = missing_controller(Path::new("/sys/fs/cgroup/a/b"), &w).to_string();
        assert!(err.contains("/sys/fs/cgroup/a/b/pids.max"), "{err}");
        assert!(
            err.contains("/sys/fs/cgroup/a/cgroup.subtree_control"),
            "{err}"
        );
        let swap = write("memory.swap", SWAP_MAX, "1");
        let err = missing_controller(Path::new("/x"), &swap).to_string();
        assert!(err.contains("swap accounting is off"), "{err}");
    }

    #[test]
    fn a_location_needs_exactly_one_directory() {
        let manager = V2Manager::new(CgroupLocation {
            version: CgroupVersion::V2,
            dirs: vec![PathBuf::from("/a"), PathBuf::from("/b")],
            created: vec![],
        });
        assert!(manager.pids().is_err());
    }
}
