//! The guest's initramfs: busybox (the shell and the small tools), the kernel's module
//! closure, the programs hull drives (`ip`, `nft`), Hull's own binaries (`hull`, `hullrt`,
//! `hull-lab`, debug info stripped) and every library they load, plus `/init`. Written once per
//! content key (kernel, file sizes and times, `/init`) and reused.

use std::collections::BTreeSet;
use std::fs;
use std::io::BufWriter;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::cpio::{Entry, Writer};
use super::kernel::{self, Kernel};
use super::{io_at, run_tool, VmError};

const INIT: &str = include_str!("init.sh");
/// Bump when the layout of the initramfs changes.
const FORMAT: &str = "hull-vm-initramfs-1";
/// Hull's binaries, found next to `hull`.
pub const HULL_BINS: &[&str] = &["hull", "hullrt", "hull-lab"];
/// Programs hull and the scenarios run, from the host's packages (`iproute2`, `nftables`).
const PROGRAMS: &[&str] = &["ip", "nft"];
/// Programs carried when the host has them (lab hints, the crun comparison, and the
/// util-linux tools the conformance suite drives).
const OPTIONAL: &[&str] = &[
    "getfattr", "setfattr", "crun", "script", "unshare", "nsenter",
];

/// A guest ready to boot.
#[derive(Debug, Clone)]
pub struct Guest {
    pub kernel: Kernel,
    pub initramfs: PathBuf,
    pub key: String,
    /// Whether this run wrote the initramfs (false: found in the cache).
    pub built: bool,
}

/// One file the initramfs carries: where it comes from, where it goes, whether to strip it.
#[derive(Debug, Clone)]
struct Item {
    from: PathBuf,
    to: String,
    strip: bool,
}

/// Prepares (or finds in `cache`) the guest for the Hull binaries in `bins`.
pub fn build(cache: &Path, bins: &Path, say: &dyn Fn(&str)) -> Result<Guest, VmError> {
    fs::create_dir_all(cache).map_err(io_at("create the cache directory", cache))?;
    let package = kernel::package_name()?;
    let kernel = kernel::prepare(cache, &package, say)?;
    say("initramfs: collecting busybox, programs, Hull's binaries and their libraries");
    let items = collect(bins)?;
    let key = content_key(&kernel, &items)?;
    let initramfs = cache.join(format!("initramfs-{key}.cpio"));
    if initramfs.is_file() {
        say(&format!(
            "initramfs: up to date (key {key}, {})",
            initramfs.display()
        ));
        return Ok(Guest {
            kernel,
            initramfs,
            key,
            built: false,
        });
    }
    say(&format!(
        "initramfs: writing {} files (key {key})",
        items.len()
    ));
    let tmp = tempfile::NamedTempFile::new_in(cache).map_err(io_at("create a file in", cache))?;
    write(tmp.as_file(), &kernel, &items, say)?;
    tmp.persist(&initramfs).map_err(|e| VmError::Io {
        what: "keep".into(),
        path: initramfs.clone(),
        source: e.error,
    })?;
    // Older initramfs files of this cache are of no further use.
    if let Ok(dir) = fs::read_dir(cache) {
        for e in dir.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("initramfs-") && e.path() != initramfs {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    let size = fs::metadata(&initramfs).map(|m| m.len()).unwrap_or(0);
    say(&format!(
        "initramfs: {} MiB in {}",
        size >> 20,
        initramfs.display()
    ));
    Ok(Guest {
        kernel,
        initramfs,
        key,
        built: true,
    })
}

/// A program on the usual system paths.
fn which(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

fn collect(bins: &Path) -> Result<Vec<Item>, VmError> {
    let mut items = Vec::new();
    let busybox = which("busybox").ok_or_else(|| VmError::Tool {
        what: "find busybox (install busybox-static)".into(),
        detail: String::new(),
    })?;
    items.push(Item {
        from: busybox,
        to: "bin/busybox".into(),
        strip: false,
    });
    for p in PROGRAMS {
        let from = which(p).ok_or_else(|| VmError::Tool {
            what: format!("find {p}, which the guest needs (install iproute2 and nftables)"),
            detail: String::new(),
        })?;
        items.push(Item {
            from,
            to: format!("bin/{p}"),
            strip: false,
        });
    }
    for p in OPTIONAL {
        if let Some(from) = which(p) {
            items.push(Item {
                from,
                to: format!("bin/{p}"),
                strip: false,
            });
        }
    }
    for b in HULL_BINS {
        let from = bins.join(b);
        if !from.is_file() {
            return Err(VmError::Tool {
                what: format!(
                    "find {} (build it first: cargo build --workspace --bins)",
                    from.display()
                ),
                detail: String::new(),
            });
        }
        items.push(Item {
            from,
            to: format!("bin/{b}"),
            strip: true,
        });
    }
    let mut libs = BTreeSet::new();
    for it in &items {
        libs.extend(libraries(&it.from)?);
    }
    for lib in libs {
        let to = lib.to_string_lossy().trim_start_matches('/').to_owned();
        // Whatever the host's merged /usr says, the guest keeps libraries under /lib and
        // /lib64 (its /usr/lib is a link to /lib).
        let to = to.strip_prefix("usr/").unwrap_or(&to).to_owned();
        items.push(Item {
            from: lib,
            to,
            strip: false,
        });
    }
    Ok(items)
}

/// The shared libraries (and the loader) `ldd` lists for a dynamic executable.
fn libraries(exe: &Path) -> Result<Vec<PathBuf>, VmError> {
    let out = Command::new("ldd")
        .arg(exe)
        .output()
        .map_err(|e| VmError::Tool {
            what: format!("list the libraries of {} (ldd)", exe.display()),
            detail: e.to_string(),
        })?;
    // A static executable: ldd says so and fails.
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = match l.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next()?,
                None => l.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect())
}

/// sha256 over the format, the kernel, `/init` and each file's path, size and mtime.
fn content_key(kernel: &Kernel, items: &[Item]) -> Result<String, VmError> {
    let mut h = Sha256::new();
    h.update(FORMAT);
    h.update(&kernel.package);
    h.update(&kernel.version);
    h.update(INIT);
    for it in items {
        let m = fs::metadata(&it.from).map_err(io_at("stat", &it.from))?;
        h.update(format!(
            "{}\0{}\0{}\0{}\0{}\n",
            it.from.display(),
            it.to,
            m.len(),
            m.mtime(),
            m.mtime_nsec()
        ));
    }
    let digest = h.finalize();
    Ok(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
}

fn write(
    file: &fs::File,
    kernel: &Kernel,
    items: &[Item],
    say: &dyn Fn(&str),
) -> Result<(), VmError> {
    let err = |what: &str| {
        let what = what.to_owned();
        move |e: std::io::Error| VmError::Io {
            what: format!("write {what} into the initramfs"),
            path: PathBuf::from("initramfs"),
            source: e,
        }
    };
    let mut w = Writer::new(BufWriter::new(file));
    let mut dirs = BTreeSet::new();
    let mut dir = |w: &mut Writer<_>, path: &str| -> Result<(), VmError> {
        let mut acc = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(part);
            if dirs.insert(acc.clone()) {
                w.add(&acc, 0o755, Entry::Dir).map_err(err(&acc))?;
            }
        }
        Ok(())
    };
    for d in [
        "bin",
        "dev",
        "proc",
        "sys",
        "tmp",
        "run",
        "etc/hull-vm",
        "lib",
        "lib64",
        "mnt",
        "root",
        "usr",
        "var",
        "newroot",
    ] {
        dir(&mut w, d)?;
    }
    w.add("dev/console", 0o600, Entry::CharDev(5, 1))
        .map_err(err("dev/console"))?;
    for (link, target) in [
        ("sbin", "bin"),
        ("usr/bin", "../bin"),
        ("usr/sbin", "../bin"),
        ("usr/lib", "../lib"),
        ("usr/lib64", "../lib64"),
    ] {
        w.add(link, 0o777, Entry::Symlink(target))
            .map_err(err(link))?;
    }
    w.add("init", 0o755, Entry::File(INIT.as_bytes()))
        .map_err(err("init"))?;
    let etc: &[(&str, &str)] = &[
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        ),
        ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        ("etc/hosts", "127.0.0.1 localhost hull-vm\n"),
        ("etc/hostname", "hull-vm\n"),
        ("etc/os-release", "NAME=\"Hull lab VM\"\nID=hull-vm\n"),
    ];
    for (name, text) in etc {
        w.add(name, 0o644, Entry::File(text.as_bytes()))
            .map_err(err(name))?;
    }
    // busybox's applets, except where a real program is carried.
    let carried: BTreeSet<String> = items
        .iter()
        .filter_map(|i| i.to.strip_prefix("bin/").map(str::to_owned))
        .collect();
    let applets = run_tool(
        Command::new(&items[0].from).arg("--list"),
        "list busybox's applets",
    )?;
    for a in applets.lines().map(str::trim).filter(|a| !a.is_empty()) {
        if !carried.contains(a) && !a.contains('/') {
            w.add(&format!("bin/{a}"), 0o777, Entry::Symlink("busybox"))
                .map_err(err(a))?;
        }
    }
    for it in items {
        if let Some(parent) = Path::new(&it.to).parent() {
            dir(&mut w, &parent.to_string_lossy())?;
        }
        let bytes = if it.strip {
            say(&format!("initramfs: {} (debug info stripped)", it.to));
            stripped(&it.from)?
        } else {
            fs::read(&it.from).map_err(io_at("read", &it.from))?
        };
        w.add(&it.to, 0o755, Entry::File(&bytes))
            .map_err(err(&it.to))?;
    }
    // The kernel's module closure and its load order.
    let mods = kernel.dir.join("lib");
    walk(&mods, &mut |p, is_dir| {
        let rel = p
            .strip_prefix(&kernel.dir)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned();
        if is_dir {
            dir(&mut w, &rel)
        } else {
            let bytes = fs::read(p).map_err(io_at("read", p))?;
            w.add(&rel, 0o644, Entry::File(&bytes)).map_err(err(&rel))
        }
    })?;
    let load = kernel.dir.join("modules.load");
    let bytes = fs::read(&load).map_err(io_at("read", &load))?;
    w.add("etc/hull-vm/modules.load", 0o644, Entry::File(&bytes))
        .map_err(err("modules.load"))?;
    w.finish().map_err(err("the trailer"))?;
    Ok(())
}

/// Every file and directory below `root`, parents first.
fn walk(root: &Path, f: &mut dyn FnMut(&Path, bool) -> Result<(), VmError>) -> Result<(), VmError> {
    f(root, true)?;
    let mut entries: Vec<_> = fs::read_dir(root)
        .map_err(io_at("list", root))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, f)?;
        } else {
            f(&p, false)?;
        }
    }
    Ok(())
}

/// The bytes of `exe` without its debug sections (`strip --strip-debug`), or as is when
/// `strip` is missing.
fn stripped(exe: &Path) -> Result<Vec<u8>, VmError> {
    let tmp = tempfile::NamedTempFile::new().map_err(io_at("create a file in", "/tmp"))?;
    let ok = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(tmp.path())
        .arg(exe)
        .status()
        .is_ok_and(|s| s.success());
    let from = if ok { tmp.path() } else { exe };
    fs::read(from).map_err(io_at("read", from))
}
