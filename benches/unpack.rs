//! How long unpacking one layer takes: a busybox-like layer (the static busybox binary, a
//! symlink per applet, /etc files) plus whiteouts and an opaque directory, unpacked into a
//! fresh directory each iteration through the same code `hull` uses (`image::unpack_layer`).
//! Needs root (whiteouts are 0/0 character devices, opaque dirs a trusted.* xattr).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};

fn header(path: &str, kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_path(path).expect("a short path");
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    h
}

/// The layer as an in-memory tar.
fn layer() -> Vec<u8> {
    let busybox = std::fs::read("/bin/busybox").unwrap_or_else(|_| vec![0u8; 1 << 20]);
    let mut b = tar::Builder::new(Vec::new());
    for dir in ["bin/", "etc/", "data/", "data/old/"] {
        b.append(
            &header(dir, tar::EntryType::Directory, 0, 0o755),
            std::io::empty(),
        )
        .expect("append");
    }
    b.append(
        &header(
            "bin/busybox",
            tar::EntryType::Regular,
            busybox.len() as u64,
            0o755,
        ),
        busybox.as_slice(),
    )
    .expect("append");
    for i in 0..400 {
        let mut h = header(&format!("bin/applet{i}"), tar::EntryType::Symlink, 0, 0o777);
        h.set_link_name("busybox").expect("link name");
        h.set_cksum();
        b.append(&h, std::io::empty()).expect("append");
    }
    for i in 0..50 {
        let text = format!("file {i}\n");
        b.append(
            &header(
                &format!("etc/f{i}"),
                tar::EntryType::Regular,
                text.len() as u64,
                0o644,
            ),
            text.as_bytes(),
        )
        .expect("append");
        b.append(
            &header(
                &format!("data/.wh.gone{i}"),
                tar::EntryType::Regular,
                0,
                0o644,
            ),
            std::io::empty(),
        )
        .expect("append");
    }
    b.append(
        &header("data/old/.wh..wh..opq", tar::EntryType::Regular, 0, 0o644),
        std::io::empty(),
    )
    .expect("append");
    b.into_inner().expect("finish tar")
}

fn bench(c: &mut Criterion) {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("unpack bench skipped: whiteouts need root (mknod 0/0, trusted.* xattrs)");
        return;
    }
    let tar = layer();
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut n = 0u64;
    c.bench_function("unpack a busybox-sized layer with whiteouts", |b| {
        b.iter(|| {
            n += 1;
            let root = scratch.path().join(n.to_string());
            std::fs::create_dir(&root).expect("mkdir");
            hull_image::unpack_layer(tar.as_slice(), &root, "bench").expect("unpack");
            remove(&root);
        })
    });
}

fn remove(p: &Path) {
    let _ = std::fs::remove_dir_all(p);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
