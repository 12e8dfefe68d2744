//! `linux.seccomp`: the config's syscall filter, compiled with libseccomp and loaded by
//! [`crate::init::process::become_and_exec`] just before the program runs (in the init and in
//! every `exec`).
//!
//! The translation follows runc's: `SCMP_ACT_ERRNO`/`SCMP_ACT_TRACE` return `errnoRet` (EPERM
//! when absent); a rule whose action is the default action is dropped (libseccomp refuses
//! it); a syscall name this architecture does not know is skipped; conditions on distinct
//! arguments form one rule (all must match), while several conditions on the same argument
//! become one rule each (any may match); for `SCMP_CMP_MASKED_EQ`, `value` is the mask and
//! `valueTwo` the value compared. libseccomp's own no_new_privs is switched off: the config's
//! `process.noNewPrivileges` decides that.

use std::collections::HashSet;
use std::path::Path;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompArg, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Op,
};

use crate::spec::SpecError;

/// The six arguments a syscall has, as seccomp sees them.
const ARGS: usize = 6;

/// libseccomp failed to build or load a filter the config asked for.
#[derive(Debug, thiserror::Error)]
#[error("linux.seccomp: {what}: {source}")]
pub struct SeccompError {
    what: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

fn lib(what: impl Into<String>) -> impl FnOnce(libseccomp::error::SeccompError) -> SeccompError {
    let what = what.into();
    move |source| SeccompError {
        what,
        source: Box::new(source),
    }
}

/// The checks that need no kernel: what hullrt cannot honour is refused by name.
pub fn validate(s: &LinuxSeccomp) -> Result<(), SpecError> {
    let refuse_notify = |field: String, action: Action| {
        if action == Action::ScmpActNotify {
            Err(SpecError::Field {
                field,
                problem: "SCMP_ACT_NOTIFY is not supported by hullrt (it has no seccomp agent \
                          to hand a listener to)"
                    .into(),
            })
        } else {
            Ok(())
        }
    };
    refuse_notify("linux.seccomp.defaultAction".into(), s.default_action())?;
    if s.listener_path().is_some() {
        return Err(SpecError::Field {
            field: "linux.seccomp.listenerPath".into(),
            problem: "is not supported by hullrt (no SCMP_ACT_NOTIFY)".into(),
        });
    }
    for flag in s.flags().iter().flatten() {
        if *flag == Flag::SeccompFilterFlagWaitKillableRecv {
            return Err(SpecError::Field {
                field: "linux.seccomp.flags".into(),
                problem: "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported by hullrt \
                          (it only matters with SCMP_ACT_NOTIFY)"
                    .into(),
            });
        }
    }
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        refuse_notify(format!("linux.seccomp.syscalls[{i}].action"), sc.action())?;
        if sc.names().is_empty() {
            return Err(SpecError::Field {
                field: format!("linux.seccomp.syscalls[{i}].names"),
                problem: "must name at least one syscall".into(),
            });
        }
        for (j, a) in sc.args().iter().flatten().enumerate() {
            if a.index() >= ARGS {
                return Err(SpecError::Field {
                    field: format!("linux.seccomp.syscalls[{i}].args[{j}].index"),
                    problem: format!("{} is not an argument number 0-5", a.index()),
                });
            }
        }
    }
    Ok(())
}

fn action(a: Action, errno_ret: Option<u32>) -> ScmpAction {
    let errno = errno_ret.unwrap_or(libc::EPERM as u32);
    match a {
        Action::ScmpActKill | Action::ScmpActKillThread => ScmpAction::KillThread,
        Action::ScmpActKillProcess => ScmpAction::KillProcess,
        Action::ScmpActTrap => ScmpAction::Trap,
        Action::ScmpActErrno => ScmpAction::Errno(errno as i32),
        Action::ScmpActTrace => ScmpAction::Trace(errno as u16),
        Action::ScmpActLog => ScmpAction::Log,
        Action::ScmpActAllow => ScmpAction::Allow,
        // Refused by `validate` before any process starts.
        Action::ScmpActNotify => ScmpAction::Notify,
    }
}

fn compare(a: &LinuxSeccompArg) -> ScmpArgCompare {
    let (op, datum) = match a.op() {
        Op::ScmpCmpNe => (ScmpCompareOp::NotEqual, a.value()),
        Op::ScmpCmpLt => (ScmpCompareOp::Less, a.value()),
        Op::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, a.value()),
        Op::ScmpCmpEq => (ScmpCompareOp::Equal, a.value()),
        Op::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, a.value()),
        Op::ScmpCmpGt => (ScmpCompareOp::Greater, a.value()),
        Op::ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(a.value()),
            a.value_two().unwrap_or(0),
        ),
    };
    ScmpArgCompare::new(a.index() as u32, op, datum)
}

/// The condition sets of one syscall entry: one set (all must match) when every condition
/// is on its own argument, else one set per condition (any may match); no condition is one
/// empty set (the rule always applies).
fn condition_sets(args: &[LinuxSeccompArg]) -> Vec<Vec<ScmpArgCompare>> {
    let mut seen = HashSet::new();
    if args.iter().all(|a| seen.insert(a.index())) {
        vec![args.iter().map(compare).collect()]
    } else {
        args.iter().map(|a| vec![compare(a)]).collect()
    }
}

/// The filter the config describes, ready to load.
pub fn compile(s: &LinuxSeccomp) -> Result<ScmpFilterContext, SeccompError> {
    let default = action(s.default_action(), s.default_errno_ret());
    let mut f = ScmpFilterContext::new(default).map_err(lib("create a filter"))?;
    f.set_ctl_nnp(false)
        .map_err(lib("leave no_new_privs to process.noNewPrivileges"))?;
    for arch in s.architectures().iter().flatten() {
        let name = arch.to_string();
        let a: ScmpArch = name.parse().map_err(lib(format!("architecture {name}")))?;
        f.add_arch(a)
            .map_err(lib(format!("add architecture {name}")))?;
    }
    for flag in s.flags().iter().flatten() {
        match flag {
            Flag::SeccompFilterFlagTsync => f.set_ctl_tsync(true),
            Flag::SeccompFilterFlagLog => f.set_ctl_log(true),
            Flag::SeccompFilterFlagSpecAllow => f.set_ctl_ssb(true),
            Flag::SeccompFilterFlagWaitKillableRecv => f.set_ctl_waitkill(true),
        }
        .map_err(lib(format!("flag {flag}")))?;
    }
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        let act = action(sc.action(), sc.errno_ret());
        if act == default {
            continue;
        }
        let sets = condition_sets(sc.args().as_deref().unwrap_or_default());
        for name in sc.names() {
            // A name this architecture (or this libseccomp) does not know: skipped, as runc
            // does, so one profile serves every architecture.
            let Ok(call) = ScmpSyscall::from_name(name) else {
                continue;
            };
            for conditions in &sets {
                f.add_rule_conditional(act, call, conditions)
                    .map_err(lib(format!("syscalls[{i}] {name}")))?;
            }
        }
    }
    Ok(f)
}

/// A compiled filter: the BPF instructions libseccomp generated and the seccomp(2) flags to
/// load them with. Built by the runtime before it forks, so the container's process only
/// loads it (and a cached one is not compiled again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    bpf: Vec<u8>,
    flags: u32,
}

/// Compile the config's filter to BPF.
pub fn compile_program(s: &LinuxSeccomp) -> Result<Program, SeccompError> {
    let f = compile(s)?;
    // libseccomp 2.5 exports to a descriptor only: an anonymous file, read back.
    let bpf = (|| -> std::io::Result<Vec<u8>> {
        let mut file = tempfile::tempfile()?;
        f.export_bpf(&file).map_err(std::io::Error::other)?;
        let mut bpf = Vec::new();
        std::io::Seek::rewind(&mut file)?;
        std::io::Read::read_to_end(&mut file, &mut bpf)?;
        Ok(bpf)
    })()
    .map_err(|e| SeccompError {
        what: "export the filter".into(),
        source: Box::new(e),
    })?;
    let mut flags = 0;
    for flag in s.flags().iter().flatten() {
        flags |= match flag {
            Flag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            Flag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            Flag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            // Refused by `validate`.
            Flag::SeccompFilterFlagWaitKillableRecv => 0,
        } as u32;
    }
    Ok(Program { bpf, flags })
}

/// Where compiled filters are kept below a runtime root: a name no container id can have.
pub fn cache_dir(root: &Path) -> std::path::PathBuf {
    root.join("@seccomp-cache")
}

/// The version of the libseccomp hullrt runs with, e.g. "2.5.4".
pub fn library_version() -> Option<String> {
    libseccomp::ScmpVersion::current()
        .ok()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
}

/// The compiled filter for `s`, from `cache` (a directory of programs named by a hash of the
/// profile, the libseccomp version and the architecture) when it was compiled before; else
/// compiled and added to it. A cache that cannot be read or written only costs the compile.
pub fn cached_program(s: &LinuxSeccomp, cache: &Path) -> Result<Program, SeccompError> {
    use sha2::{Digest, Sha256};
    let version = library_version().unwrap_or_default();
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(s).unwrap_or_default());
    h.update(version.as_bytes());
    h.update(std::env::consts::ARCH.as_bytes());
    let name: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let file = cache.join(format!("{name}.bpf"));
    if let Ok(bytes) = std::fs::read(&file) {
        if let Some(p) = Program::from_bytes(&bytes) {
            return Ok(p);
        }
    }
    let program = compile_program(s)?;
    let _ = program.store(cache, &file);
    Ok(program)
}

impl Program {
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.flags.to_le_bytes().to_vec();
        out.extend_from_slice(&self.bpf);
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<Program> {
        let (flags, bpf) = bytes.split_first_chunk::<4>()?;
        (!bpf.is_empty() && bpf.len() % 8 == 0).then(|| Program {
            bpf: bpf.to_vec(),
            flags: u32::from_le_bytes(*flags),
        })
    }

    /// Write atomically; the cache keeps at most 64 programs (it is emptied beyond that).
    fn store(&self, cache: &Path, file: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(cache)?;
        if std::fs::read_dir(cache)?.count() >= 64 {
            for e in std::fs::read_dir(cache)?.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let mut tmp = tempfile::NamedTempFile::new_in(cache)?;
        std::io::Write::write_all(&mut tmp, &self.to_bytes())?;
        tmp.persist(file).map(drop).map_err(|e| e.error)
    }

    /// Load the program into the calling thread (with TSYNC, every thread) with seccomp(2).
    pub fn load(&self) -> Result<(), crate::error::Error> {
        let prog = libc::sock_fprog {
            len: (self.bpf.len() / 8) as u16,
            filter: self.bpf.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: seccomp with a pointer to a program that lives until the call returns.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &prog as *const libc::sock_fprog,
            )
        };
        nix::errno::Errno::result(rc)
            .map(drop)
            .map_err(|e| crate::error::Error::sys("linux.seccomp: load the filter", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(v: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(v).expect("a seccomp object")
    }

    #[test]
    fn notify_and_bad_argument_numbers_are_refused_by_name() {
        let notify = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
        }));
        let e = validate(&notify).unwrap_err().to_string();
        assert!(
            e.contains("syscalls[0].action") && e.contains("SCMP_ACT_NOTIFY"),
            "{e}"
        );
        let arg = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]
        }));
        let e = validate(&arg).unwrap_err().to_string();
        assert!(e.contains("args[0].index"), "{e}");
        let fine = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [
                {"names": ["read", "write", "no_such_call_xyz"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "valueTwo": 0,
                           "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                          {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
                {"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}
            ]
        }));
        validate(&fine).unwrap();
        // Unknown names are skipped; a rule equal to the default action is dropped.
        compile(&fine).unwrap();
        // Compiled once, then read from the cache.
        let cache = tempfile::tempdir().unwrap();
        let first = cached_program(&fine, cache.path()).unwrap();
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1);
        assert_eq!(cached_program(&fine, cache.path()).unwrap(), first);
        assert_eq!(Program::from_bytes(&first.to_bytes()), Some(first));
    }

    #[test]
    fn conditions_on_one_argument_are_alternatives() {
        let arg = |index, value| -> LinuxSeccompArg {
            serde_json::from_value(
                serde_json::json!({"index": index, "value": value, "op": "SCMP_CMP_EQ"}),
            )
            .unwrap()
        };
        assert_eq!(condition_sets(&[]).len(), 1);
        assert_eq!(condition_sets(&[arg(0, 1), arg(1, 2)]).len(), 1);
        assert_eq!(condition_sets(&[arg(0, 1), arg(0, 2)]).len(), 2);
    }

    #[test]
    fn errno_defaults_to_eperm() {
        assert_eq!(
            action(Action::ScmpActErrno, None),
            ScmpAction::Errno(libc::EPERM)
        );
        assert_eq!(
            action(Action::ScmpActErrno, Some(38)),
            ScmpAction::Errno(38)
        );
        assert_eq!(action(Action::ScmpActKill, None), ScmpAction::KillThread);
    }
}
