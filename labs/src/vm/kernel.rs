//! The guest's kernel: the distribution's `linux-image-*-amd64` package, fetched with
//! `apt-get download` (never the host's /boot), its `vmlinuz` unpacked to the `vmlinux` QEMU
//! boots directly (PVH), and the closure of the modules the labs need, found with
//! `modprobe --show-depends` against the package's own module tree.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest;

use super::{io_at, run_tool, VmError};

/// The meta-package whose dependency names the current kernel package.
const META: &str = "linux-image-amd64";

/// What the guest loads at boot, in the order given (each with its dependencies first):
/// the VM's own devices (virtio PCI, the result port, the 9p share) and what hull uses
/// (overlayfs, veth and bridges, nftables NAT with `ct state`, `fib` and masquerade). Each
/// module costs boot time under emulation, so nothing more.
pub const MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_console",
    "9pnet_virtio",
    "9p",
    "overlay",
    "veth",
    "bridge",
    "nf_tables",
    "nft_chain_nat",
    "nft_nat",
    "nft_masq",
    "nft_ct",
    "nft_fib_inet",
];

/// A kernel ready to boot: `dir/vmlinux` and `dir/lib/modules/VERSION` (the closure only,
/// with its own `modules.dep`), and `dir/modules.load`, the `.ko` files in load order.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub package: String,
    pub version: String,
    pub dir: PathBuf,
}

impl Kernel {
    pub fn vmlinux(&self) -> PathBuf {
        self.dir.join("vmlinux")
    }
}

/// The kernel package apt would install now (`HULL_VM_KERNEL_PACKAGE` overrides it).
pub fn package_name() -> Result<String, VmError> {
    if let Some(p) = std::env::var_os("HULL_VM_KERNEL_PACKAGE").filter(|p| !p.is_empty()) {
        return Ok(p.to_string_lossy().into_owned());
    }
    let out = run_tool(
        Command::new("apt-cache").args(["depends", META]),
        "ask apt which kernel package linux-image-amd64 depends on",
    )?;
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-") && p.ends_with("-amd64"))
        .map(str::to_owned)
        .ok_or_else(|| VmError::Tool {
            what: format!("find the kernel package {META} depends on"),
            detail: out.clone(),
        })
}

/// The kernel of `package`, from `cache` if it was prepared before, else downloaded and
/// prepared there; `say` reports each stage.
pub fn prepare(cache: &Path, package: &str, say: &dyn Fn(&str)) -> Result<Kernel, VmError> {
    // The module list is part of the key: another list is another prepared kernel.
    let digest = sha2::Sha256::digest(MODULES.join(" "));
    let tag: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let dir = cache.join("kernel").join(format!("{package}-{tag}"));
    let done = dir.join("complete");
    if let Ok(version) = fs::read_to_string(&done) {
        say(&format!("kernel: {package} (cached in {})", dir.display()));
        return Ok(Kernel {
            package: package.to_owned(),
            version: version.trim().to_owned(),
            dir,
        });
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(io_at("remove the unfinished", &dir))?;
    }
    let work = tempfile::Builder::new()
        .prefix("download.")
        .tempdir_in(cache)
        .map_err(io_at("make a download directory in", cache))?;
    say(&format!("kernel: apt-get download {package}"));
    run_tool(
        Command::new("apt-get")
            .args(["download", "-q", package])
            .current_dir(work.path()),
        &format!("download {package} (apt-get download)"),
    )?;
    let deb = fs::read_dir(work.path())
        .map_err(io_at("list", work.path()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .ok_or_else(|| VmError::Tool {
            what: format!("find the .deb apt-get downloaded for {package}"),
            detail: String::new(),
        })?;
    let root = work.path().join("root");
    say(&format!(
        "kernel: unpacking {}",
        deb.file_name().unwrap_or_default().to_string_lossy()
    ));
    run_tool(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root),
        "unpack the kernel package (dpkg-deb -x)",
    )?;
    let vmlinuz = fs::read_dir(root.join("boot"))
        .map_err(io_at("list", root.join("boot")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .ok_or_else(|| VmError::Tool {
            what: format!("find boot/vmlinuz-* in {package}"),
            detail: String::new(),
        })?;
    let version = vmlinuz
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .trim_start_matches("vmlinuz-")
        .to_owned();
    let staged = work.path().join("kernel");
    fs::create_dir_all(&staged).map_err(io_at("create", &staged))?;
    say("kernel: extracting vmlinux from vmlinuz (PVH boot needs the ELF image)");
    let image = fs::read(&vmlinuz).map_err(io_at("read", &vmlinuz))?;
    let elf = extract_vmlinux(&image)?;
    fs::write(staged.join("vmlinux"), elf).map_err(io_at("write", staged.join("vmlinux")))?;
    say("kernel: module closure (depmod, modprobe --show-depends)");
    closure(&root, &version, &staged)?;
    fs::write(staged.join("complete"), &version).map_err(io_at("write", &staged))?;
    fs::create_dir_all(dir.parent().unwrap_or(cache)).map_err(io_at("create", cache))?;
    fs::rename(&staged, &dir).map_err(io_at("move the kernel into", &dir))?;
    Ok(Kernel {
        package: package.to_owned(),
        version,
        dir,
    })
}

/// The compressed payloads a bzImage may carry, by their magic bytes, with the program that
/// unpacks each (what the kernel's scripts/extract-vmlinux does).
const FORMATS: &[(&[u8], &str, &[&str])] = &[
    (b"\xfd7zXZ\x00", "xz", &["-dc"]),
    (b"\x28\xb5\x2f\xfd", "zstd", &["-dcq"]),
    (b"\x1f\x8b\x08", "gzip", &["-dc"]),
    (b"\x02\x21\x4c\x18", "lz4", &["-dc"]),
    (b"\x89LZO", "lzop", &["-dc"]),
    (b"BZh", "bzip2", &["-dc"]),
];

/// The ELF kernel inside a bzImage: every offset where a known compressor's magic appears is
/// tried, and the first output that starts with the ELF magic wins.
pub fn extract_vmlinux(bzimage: &[u8]) -> Result<Vec<u8>, VmError> {
    for (magic, prog, args) in FORMATS {
        for at in find_all(bzimage, magic) {
            let Ok(out) = decompress(prog, args, &bzimage[at..]) else {
                continue;
            };
            if out.starts_with(b"\x7fELF") {
                return Ok(out);
            }
        }
    }
    Err(VmError::Tool {
        what: "find an ELF kernel in vmlinuz (tried xz, zstd, gzip, lz4, lzo, bzip2)".into(),
        detail: String::new(),
    })
}

fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    hay.windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(|(i, _)| i)
}

/// `prog args` with `input` on stdin; its stdout even when it complains about trailing data.
fn decompress(prog: &str, args: &[&str], input: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped");
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output()?;
    let _ = feeder.join();
    Ok(out.stdout)
}

/// Copies the modules [`MODULES`] need (with their dependencies) from the package tree `root`
/// into `dest/lib/modules/VERSION`, runs depmod there, and writes `dest/modules.load`.
fn closure(root: &Path, version: &str, dest: &Path) -> Result<(), VmError> {
    run_tool(
        Command::new("depmod").arg("-b").arg(root).arg(version),
        "index the package's modules (depmod -b)",
    )?;
    let mut order: Vec<String> = Vec::new();
    for m in MODULES {
        let out = run_tool(
            Command::new("modprobe")
                .arg("-d")
                .arg(root)
                .arg("-S")
                .arg(version)
                .arg("--show-depends")
                .arg(m),
            &format!("find what module {m} needs (modprobe --show-depends)"),
        )?;
        for line in out.lines() {
            let Some(path) = line.trim().strip_prefix("insmod ") else {
                continue; // "builtin NAME": part of the kernel already
            };
            let path = path.split_whitespace().next().unwrap_or_default();
            let rel = Path::new(path)
                .strip_prefix(root)
                .unwrap_or(Path::new(path))
                .to_string_lossy()
                .trim_start_matches('/')
                .to_owned();
            if !order.contains(&rel) {
                order.push(rel);
            }
        }
    }
    let moddir = format!("lib/modules/{version}");
    for rel in &order {
        let to = dest.join(rel);
        fs::create_dir_all(to.parent().unwrap_or(dest)).map_err(io_at("create", &to))?;
        fs::copy(root.join(rel), &to).map_err(io_at("copy", root.join(rel)))?;
    }
    for f in [
        "modules.order",
        "modules.builtin",
        "modules.builtin.modinfo",
    ] {
        let from = root.join(&moddir).join(f);
        if from.exists() {
            fs::copy(&from, dest.join(&moddir).join(f)).map_err(io_at("copy", &from))?;
        }
    }
    run_tool(
        Command::new("depmod").arg("-b").arg(dest).arg(version),
        "index the guest's modules (depmod -b)",
    )?;
    let list: String = order.iter().map(|r| format!("/{r}\n")).collect();
    fs::write(dest.join("modules.load"), list).map_err(io_at("write modules.load in", dest))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_occurrence_of_a_magic() {
        let hay = b"..BZh..BZh";
        assert_eq!(find_all(hay, b"BZh").collect::<Vec<_>>(), vec![2, 7]);
    }

    #[test]
    fn a_bzimage_without_a_kernel_is_refused() {
        assert!(extract_vmlinux(b"not a kernel at all").is_err());
    }
}
