//! Hostile build contexts against `hull build` (issue 12): a COPY whose first source plants a
//! symlink in the new layer that the second source would write through. Every write of COPY
//! must stay inside the layer being built; the host paths the attacks aim at live in the test's
//! own scratch directory.
mod support;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use support::*;

/// Writes a build context `name` (Dockerfile and files) and builds it as `tag`.
fn build_in(
    h: &Hull,
    name: &str,
    dockerfile: &str,
    files: &[(&str, &str)],
) -> std::process::Output {
    let ctx = h.dir(name);
    write_file(&ctx.join("Dockerfile"), dockerfile, 0o644);
    for (path, text) in files {
        write_file(&ctx.join(path), text, 0o644);
    }
    h.cmd(&["build", "-t", name, ctx.to_str().expect("UTF-8 path")])
}

fn mode_of(p: &Path) -> u32 {
    fs::metadata(p).expect("stat").permissions().mode() & 0o7777
}

/// `COPY a b /out/` where `a/evil` is a symlink to a host path and `b/evil` a file: the file
/// must land in the image (b wins, as in Docker), never at the host path.
#[test]
fn copy_never_writes_a_host_file_through_an_earlier_sources_symlink() {
    let h = Hull::new();
    let target = h.dir("host-target");
    let pwned = target.join("PWNED");
    let ctx = h.dir("ctx-file");
    fs::create_dir_all(ctx.join("a")).unwrap();
    symlink(&pwned, ctx.join("a/evil")).unwrap();
    let out = build_in(
        &h,
        "ctx-file",
        "FROM busybox\nCOPY a b /out/\n",
        &[("b/evil", "from b\n")],
    );
    assert!(
        !pwned.exists(),
        "hull build wrote the host file {}: {}",
        pwned.display(),
        describe(&out)
    );
    must("hull build of COPY a b /out/", out);
    assert_eq!(
        h.ok(&["run", "--rm", "ctx-file", "cat", "/out/evil"]),
        "from b\n"
    );
}

/// The directory variant: `a/d` is a symlink to a host directory, `b/d` a directory (mode
/// 0777, with a file): the host directory keeps its mode and gets no file.
#[test]
fn copy_never_changes_a_host_directory_through_an_earlier_sources_symlink() {
    let h = Hull::new();
    let victim = h.dir("host-dir");
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o700)).unwrap();
    let ctx = h.dir("ctx-dir");
    fs::create_dir_all(ctx.join("a")).unwrap();
    symlink(&victim, ctx.join("a/d")).unwrap();
    write_file(&ctx.join("b/d/planted"), "from b\n", 0o644);
    fs::set_permissions(ctx.join("b/d"), fs::Permissions::from_mode(0o777)).unwrap();
    let out = build_in(&h, "ctx-dir", "FROM busybox\nCOPY a b /out/\n", &[]);
    assert_eq!(
        mode_of(&victim),
        0o700,
        "hull build changed the mode of the host directory {}: {}",
        victim.display(),
        describe(&out)
    );
    assert!(
        entries(&victim).is_empty(),
        "hull build wrote into the host directory {}: {:?}",
        victim.display(),
        entries(&victim)
    );
    must("hull build of COPY a b /out/ (directories)", out);
    assert_eq!(
        h.ok(&["run", "--rm", "ctx-dir", "cat", "/out/d/planted"]),
        "from b\n"
    );
}
