//! `busybox:latest`, made from the host's static busybox — so hull works with no registry.
//!
//! One layer, written in a fixed order with fixed times (2024-01-01T00:00:00Z), root-owned
//! unless said otherwise:
//! - directories `/bin /dev /etc /home /home/user(1000:1000) /proc /root(0700) /sys /tmp(1777)
//!   /usr /usr/bin /var`;
//! - `/bin/busybox` (0755), and `/bin/<applet>` → `busybox` (a relative symlink) for every
//!   applet `busybox --list` prints;
//! - `/etc/passwd` and `/etc/group` with root (0), nobody (65534) and user (1000).
//!
//! The config has `Cmd ["sh"]` and the usual `PATH`. Only the binary varies between hosts, so
//! the image id is stable on one host. The binary must be statically linked (Debian's
//! `busybox-static`): a dynamic one would find no libc inside the image.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use oci_spec::image::{
    Arch, ConfigBuilder, HistoryBuilder, ImageConfigurationBuilder, Os, RootFsBuilder,
};

use super::diff::{write_bytes_entry, EntryMeta, LayerWriter};
use super::error::{io_at, ImageError, Result};
use super::index::canonical_json;
use super::store::{Store, BUSYBOX};
use super::ImageInfo;

/// Where the host's busybox is looked for, in order (`HULL_BUSYBOX` first when set).
const CANDIDATES: &[&str] = &["/bin/busybox", "/usr/bin/busybox", "/sbin/busybox"];
/// 2024-01-01T00:00:00Z: the time stamped on everything in the image.
const EPOCH: u64 = 1_704_067_200;
const CREATED: &str = "2024-01-01T00:00:00Z";
/// The `PATH` every Docker image sets.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n\
user:x:1000:1000:user:/home/user:/bin/sh\n";
const GROUP: &str = "root:x:0:\nnobody:x:65534:\nuser:x:1000:\n";

impl Store {
    /// Makes `busybox:latest` from the host's busybox unless the name exists already.
    pub fn ensure_busybox(&self) -> Result<ImageInfo> {
        if let Some(image) = self.by_name(&self.read_index()?, BUSYBOX)? {
            return Ok(image);
        }
        let bin = find_busybox()?;
        let lock = self.lock_for_blobs()?;
        if let Some(image) = self.by_name(&self.read_index()?, BUSYBOX)? {
            return Ok(image); // made by someone else while we waited for the lock
        }
        let applets = applets(&bin)?;
        let version = version(&bin);
        let content = fs::read(&bin).map_err(io_at("reading", &bin))?;
        let layer = {
            let mut w = LayerWriter::new(&self.blobs)?;
            write_tree(&mut w, &content, &applets)?;
            w.finish()?
        };
        let runtime = ConfigBuilder::default()
            .env(vec![DEFAULT_PATH.to_string()])
            .cmd(vec!["sh".to_string()])
            .build()
            .map_err(|e| ImageError::Corrupt(format!("building the busybox config: {e}")))?;
        let history = HistoryBuilder::default()
            .created(CREATED)
            .created_by(format!(
                "hull: {version} from the host's {} ({} applets)",
                bin.display(),
                applets.len()
            ))
            .build()
            .map_err(|e| ImageError::Corrupt(format!("building the busybox history: {e}")))?;
        let rootfs = RootFsBuilder::default()
            .typ("layers")
            .diff_ids(vec![layer.diff_id.clone()])
            .build()
            .map_err(|e| ImageError::Corrupt(format!("building the busybox rootfs: {e}")))?;
        let config = ImageConfigurationBuilder::default()
            .created(CREATED)
            .architecture(Arch::default())
            .os(Os::Linux)
            .config(runtime)
            .rootfs(rootfs)
            .history(vec![history])
            .build()
            .map_err(|e| ImageError::Corrupt(format!("building the busybox image config: {e}")))?;
        let manifest = self.write_image(&canonical_json(&config, "image config")?, &[layer])?;
        let manifest = self.register(&lock, &manifest, &[BUSYBOX.to_string()])?;
        drop(lock);
        self.image(&manifest, self.read_index()?.names_of(&manifest))
    }
}

/// The host's busybox: `HULL_BUSYBOX`, else the first of [`CANDIDATES`] that exists; it must be
/// a static ELF executable.
fn find_busybox() -> Result<PathBuf> {
    let env = std::env::var_os("HULL_BUSYBOX").map(PathBuf::from);
    let path = env
        .into_iter()
        .chain(CANDIDATES.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .ok_or_else(|| ImageError::Busybox {
            path: PathBuf::from(CANDIDATES[0]),
            reason: "no busybox binary found (install Debian's busybox-static, or set \
                     HULL_BUSYBOX to a static busybox)"
                .into(),
        })?;
    let bytes = fs::read(&path).map_err(io_at("reading", &path))?;
    if is_dynamic_elf(&bytes).map_err(|p| ImageError::Busybox {
        path: path.clone(),
        reason: p.to_string(),
    })? {
        return Err(ImageError::Busybox {
            path,
            reason: "it is dynamically linked and would find no libc inside the image; install \
                     busybox-static"
                .into(),
        });
    }
    Ok(path)
}

/// Whether a 64-bit little-endian ELF file has a PT_INTERP program header (needs a loader).
/// Why a file cannot be judged as a static executable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ElfProblem {
    #[error("it is not an ELF executable")]
    NotElf,
    #[error("its program headers are truncated")]
    Truncated,
}

pub(crate) fn is_dynamic_elf(b: &[u8]) -> std::result::Result<bool, ElfProblem> {
    if b.len() < 64 || &b[..4] != b"\x7fELF" {
        return Err(ElfProblem::NotElf);
    }
    if b[4] != 2 || b[5] != 1 {
        return Ok(false); // not 64-bit little endian: do not second-guess it
    }
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[0x20..0x28].try_into().unwrap_or([0; 8])) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    for i in 0..phnum {
        let o = phoff.saturating_add(i.saturating_mul(phentsize));
        if o.checked_add(4).is_none_or(|end| end > b.len()) {
            return Err(ElfProblem::Truncated);
        }
        if u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) == 3 {
            return Ok(true);
        }
    }
    Ok(false)
}

fn applets(bin: &Path) -> Result<Vec<String>> {
    let out = Command::new(bin)
        .arg("--list")
        .output()
        .map_err(io_at("running --list of", bin))?;
    if !out.status.success() {
        return Err(ImageError::Busybox {
            path: bin.to_path_buf(),
            reason: format!("`busybox --list` failed with {}", out.status),
        });
    }
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "busybox" && *n != "." && *n != ".." && !n.contains('/'))
        .map(String::from)
        .collect();
    names.sort();
    names.dedup();
    if !names.iter().any(|n| n == "sh") {
        return Err(ImageError::Busybox {
            path: bin.to_path_buf(),
            reason: "it has no `sh` applet".into(),
        });
    }
    Ok(names)
}

fn version(bin: &Path) -> String {
    Command::new(bin)
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.lines()
                .next()
                .and_then(|l| l.split(" multi-call").next())
                .map(String::from)
        })
        .filter(|v| v.starts_with("BusyBox"))
        .unwrap_or_else(|| "BusyBox".to_string())
}

fn werr(path: &str) -> impl FnOnce(std::io::Error) -> ImageError {
    let path = path.to_string();
    move |e| ImageError::Corrupt(format!("writing {path} into the busybox layer: {e}"))
}

fn write_tree(w: &mut LayerWriter, busybox: &[u8], applets: &[String]) -> Result<()> {
    let meta = |mode: u32, id: u64| EntryMeta {
        mode,
        uid: id,
        gid: id,
        mtime: EPOCH,
        xattrs: vec![],
    };
    let dirs: &[(&str, u32, u64)] = &[
        ("bin", 0o755, 0),
        ("dev", 0o755, 0),
        ("etc", 0o755, 0),
        ("home", 0o755, 0),
        ("home/user", 0o755, 1000),
        ("proc", 0o555, 0),
        ("root", 0o700, 0),
        ("sys", 0o555, 0),
        ("tmp", 0o1777, 0),
        ("usr", 0o755, 0),
        ("usr/bin", 0o755, 0),
        ("var", 0o755, 0),
    ];
    for (path, mode, id) in dirs {
        w.dir(Path::new(path), &meta(*mode, *id))
            .map_err(werr(path))?;
    }
    write_bytes_entry(w, "bin/busybox", &meta(0o755, 0), busybox)?;
    for a in applets {
        let path = format!("bin/{a}");
        w.symlink(Path::new(&path), &meta(0o777, 0), Path::new("busybox"))
            .map_err(werr(&path))?;
    }
    write_bytes_entry(w, "etc/group", &meta(0o644, 0), GROUP.as_bytes())?;
    write_bytes_entry(w, "etc/passwd", &meta(0o644, 0), PASSWD.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_busybox_is_static_and_a_fake_is_refused() {
        let bytes = fs::read("/bin/busybox").expect("/bin/busybox (busybox-static) is installed");
        assert_eq!(is_dynamic_elf(&bytes), Ok(false));
        let sh = fs::read("/bin/ls").unwrap();
        assert_eq!(
            is_dynamic_elf(&sh),
            Ok(true),
            "/bin/ls is dynamically linked"
        );
        assert!(is_dynamic_elf(b"#!/bin/sh\n").is_err());
    }

    #[test]
    fn program_headers_past_the_end_are_truncated_not_a_panic() {
        let mut elf = vec![0u8; 64];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes()); // e_phoff
        elf[0x36] = 56; // e_phentsize
        elf[0x38] = 2; // e_phnum
        assert_eq!(is_dynamic_elf(&elf), Err(ElfProblem::Truncated));
    }
}
