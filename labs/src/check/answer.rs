//! Answer checks: the learner writes a file in the lab directory; the checker computes the
//! truth itself, from the kernel and hull's records, and never shows it in "expected".

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use serde_json::Value;

use super::observe::{self, str_at};
use super::Verdict;
use crate::sandbox::Sandbox;
use crate::schema::{AnswerCheck, Truth};

pub fn describe(t: &Truth) -> String {
    match t {
        Truth::HostPidOf(n) => format!("the host PID of container {n}'s PID 1"),
        Truth::ArgvOf(n) => format!("the argv of container {n}'s PID 1"),
        Truth::ExitCodeOf(n) => format!("the exit code of container {n}"),
        Truth::CgroupValue { container, file } => {
            format!("{file} of container {container}'s cgroup")
        }
        Truth::WhiteoutLayerOf { container, path } => {
            format!("the diff id of the layer of {container}'s image that deletes {path}")
        }
        Truth::OpaqueLayerOf { container, path } => {
            format!("the diff id of the layer of {container}'s image that makes {path} opaque")
        }
        Truth::FileInLayers { container, path } => {
            format!("what {path} held in the image layers of {container}")
        }
        Truth::DnatTargetOf(port) => {
            format!("where the DNAT rule for port {port} sends packets (IP:PORT)")
        }
    }
}

pub fn observe(sb: &Sandbox, c: &AnswerCheck) -> Result<(), Verdict> {
    let path = sb.lab_dir().join(&c.file);
    let expected = describe(&c.truth);
    let written = match std::fs::read_to_string(&path) {
        Ok(t) => t.trim().to_owned(),
        Err(_) => {
            return Err(Verdict::not_yet(
                expected,
                format!(
                    "no file {} in the lab directory (write your answer there: echo … > $LAB/{})",
                    c.file, c.file
                ),
                "ls $LAB",
            ))
        }
    };
    if written.is_empty() {
        return Err(Verdict::not_yet(
            expected,
            format!("{} is empty", c.file),
            format!("cat $LAB/{}", c.file),
        ));
    }
    let wrong = |note: &str| {
        // The scenario's own diagnosis of a common mistake comes first.
        let named = c.wrong_answers.iter().find(|w| w.matches(&written));
        let note = named.map_or(note, |w| w.diagnosis.trim());
        let seen = if note.is_empty() {
            format!("you wrote {:?}, which is not it", short(&written))
        } else {
            format!("you wrote {:?}: {note}", short(&written))
        };
        Verdict::NotYet {
            expected: expected.clone(),
            seen,
            look: None,
        }
    };
    match &c.truth {
        Truth::HostPidOf(name) => {
            let pid = observe::host_pid(sb, name)?;
            match written.parse::<u32>() {
                Ok(n) if n == pid => Ok(()),
                Ok(1) => Err(wrong(
                    "1 is its PID inside its own PID namespace; the host numbers it differently",
                )),
                Ok(n) if observe::ns_pid(n).is_some() => {
                    Err(wrong("that is another process on the host"))
                }
                Ok(_) => Err(wrong("no process has that PID")),
                Err(_) => Err(wrong("a PID is a number")),
            }
        }
        Truth::ArgvOf(name) => {
            let pid = observe::host_pid(sb, name)?;
            let raw = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map_err(|e| Verdict::Env(format!("cannot read /proc/{pid}/cmdline: {e}")))?;
            let argv: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if argv_matches(&written, &argv) {
                Ok(())
            } else {
                Err(wrong(
                    "PID 1 runs something else (words separated by spaces, or a JSON list)",
                ))
            }
        }
        Truth::ExitCodeOf(name) => {
            let rec = observe::inspect(sb, name)?;
            let status = str_at(&rec, "/State/Status");
            if status != "exited" {
                return Err(Verdict::not_yet(
                    format!("container {name} exited"),
                    format!("it is {status}"),
                    format!("stop it first (hull stop -t 2 {name}), then hull inspect -f '{{{{.State.ExitCode}}}}' {name}"),
                ));
            }
            let code = rec
                .pointer("/State/ExitCode")
                .and_then(Value::as_i64)
                .unwrap_or(-1);
            match written.parse::<i64>() {
                Ok(n) if n == code => Ok(()),
                Ok(_) => Err(wrong("")),
                Err(_) => Err(wrong("an exit code is a number")),
            }
        }
        Truth::CgroupValue { container, file } => {
            let (_, value) = observe::cgroup_file(sb, container, file)?;
            if value == written {
                Ok(())
            } else {
                Err(wrong(
                    "the cgroup file holds something else (in bytes, as the kernel writes it)",
                ))
            }
        }
        Truth::WhiteoutLayerOf { container, path } | Truth::OpaqueLayerOf { container, path } => {
            let opaque = matches!(c.truth, Truth::OpaqueLayerOf { .. });
            let layers = observe::layers(sb, container)?;
            let found = layers.iter().find(|(_, dir)| {
                let p = dir.join(path.trim_start_matches('/'));
                if opaque {
                    is_opaque(&p)
                } else {
                    is_whiteout(&p)
                }
            });
            let Some((diff_id, _)) = found else {
                return Err(Verdict::Env(format!(
                    "no layer of {container}'s image has {} for {path}",
                    if opaque {
                        "an opaque directory"
                    } else {
                        "a whiteout"
                    }
                )));
            };
            if digest_matches(&written, diff_id) {
                Ok(())
            } else if let Some((_, dir)) = layers.iter().find(|(d, _)| digest_matches(&written, d))
            {
                let p = dir.join(path.trim_start_matches('/'));
                let holds_file = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file());
                let shown = dir.display();
                Err(wrong(&if holds_file && !opaque {
                    format!("that layer adds {path} as a regular file; the whiteout that hides it is in a layer above it (ls -l {shown}/{})", path.trim_start_matches('/'))
                } else {
                    format!(
                        "that layer has no {} for {path} (ls -la {shown}/{})",
                        if opaque {
                            "opaque directory"
                        } else {
                            "whiteout"
                        },
                        path.trim_start_matches('/')
                    )
                }))
            } else {
                Err(wrong(
                    "not a diff id of this image's layers (hull image inspect shows RootFS.Layers)",
                ))
            }
        }
        Truth::FileInLayers { container, path } => {
            let layers = observe::layers(sb, container)?;
            let content = layers.iter().find_map(|(_, dir)| {
                let p = dir.join(path.trim_start_matches('/'));
                std::fs::symlink_metadata(&p)
                    .ok()
                    .filter(|m| m.is_file())
                    .and_then(|_| std::fs::read_to_string(&p).ok())
            });
            let Some(content) = content else {
                return Err(Verdict::Env(format!(
                    "no layer of {container}'s image holds {path}"
                )));
            };
            if content.trim() == written {
                Ok(())
            } else {
                Err(wrong(""))
            }
        }
        Truth::DnatTargetOf(port) => {
            let rules = observe::dnat_rules(sb)?.unwrap_or_default();
            let Some(rule) = rules.iter().find(|r| r.port == u64::from(*port)) else {
                return Err(Verdict::not_yet(
                    format!("a DNAT rule for port {port}"),
                    "none",
                    "nft list table ip hull",
                ));
            };
            if written == rule.target {
                Ok(())
            } else {
                Err(wrong(""))
            }
        }
    }
}

fn short(s: &str) -> String {
    super::kinds::short(s)
}

/// A written argv: words separated by white space, or a JSON list of strings.
pub fn argv_matches(written: &str, argv: &[String]) -> bool {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(written) {
        return list == argv;
    }
    let words: Vec<&str> = written.split_whitespace().collect();
    let real: Vec<&str> = argv.iter().flat_map(|a| a.split_whitespace()).collect();
    words == real
}

/// `sha256:HEX`, `HEX`, or at least the first 12 hex digits of it.
pub fn digest_matches(written: &str, diff_id: &str) -> bool {
    let w = written
        .trim()
        .trim_start_matches("sha256:")
        .to_ascii_lowercase();
    let d = diff_id.trim_start_matches("sha256:");
    w.len() >= 12 && d.starts_with(&w)
}

fn is_whiteout(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_char_device() && m.rdev() == 0)
}

fn is_opaque(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    let mut buf = [0u8; 8];
    // SAFETY: valid C strings and a buffer of the length passed.
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    n == 1 && buf[0] == b'y'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_forms() {
        let argv = vec!["sh".to_owned(), "-c".to_owned(), "sleep 700".to_owned()];
        assert!(argv_matches("sh -c sleep 700", &argv));
        assert!(argv_matches(r#"["sh","-c","sleep 700"]"#, &argv));
        assert!(!argv_matches(r#"["sh","-c","sleep","700"]"#, &argv));
        assert!(!argv_matches("sleep 700", &argv));
    }

    #[test]
    fn digests() {
        let d = "sha256:3e817dd453267964455c79f6d4e80bf79b730b6a0aecb5776b97b120fec421e9";
        assert!(digest_matches(d, d));
        assert!(digest_matches("3e817dd45326", d));
        assert!(!digest_matches("3e817d", d));
        assert!(!digest_matches("ffff", d));
    }
}
