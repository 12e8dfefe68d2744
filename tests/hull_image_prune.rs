//! `rmi` removes the untagged parents a build left, `hull image prune [-a] [-f]` and
//! `hull container prune [-f]` (issue 12), with Docker 20.10's output: checked by hand against
//! `docker rmi`, `docker image prune -f` and `docker container prune -f` on the same builds.
mod support;

use support::*;

const TWO_STAGES: &str = "FROM busybox AS builder
RUN echo built > /out
RUN echo more >> /out
FROM busybox
COPY --from=builder /out /got
CMD [\"cat\", \"/got\"]
";

/// Every image id (`images -a -q`, each once).
fn all_ids(h: &Hull) -> Vec<String> {
    let mut v: Vec<String> = h
        .ok(&["images", "-a", "-q"])
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn rmi_removes_the_untagged_parents_a_build_left() {
    let h = Hull::new();
    h.ok(&["tag", "busybox", "base:1"]);
    let before = all_ids(&h);
    h.build(
        "chain",
        "FROM base:1\nRUN echo a > /a\nRUN echo b > /b\nENV X=1\n",
        &[],
    );
    assert_eq!(all_ids(&h).len(), before.len() + 3);
    // The intermediate images are hidden from `images` (they have children), as in Docker.
    let listed = h.ok(&["images"]);
    assert!(!listed.contains("<none>"), "{listed}");

    let out = h.ok(&["rmi", "chain"]);
    assert!(
        out.starts_with("Untagged: chain:latest\nDeleted: sha256:"),
        "{out}"
    );
    assert!(out.matches("Deleted: sha256:").count() >= 3, "{out}");
    assert_eq!(
        all_ids(&h),
        before,
        "the image count returns to where it was"
    );
    // The tagged base stays.
    assert_eq!(h.ok(&["run", "--rm", "base:1", "echo", "ok"]), "ok\n");
}

#[test]
fn rmi_keeps_parents_still_in_use() {
    let h = Hull::new();
    h.build("p1", "FROM busybox\nRUN echo a > /a\n", &[]);
    h.build("p2", "FROM p1\nRUN echo b > /b\n", &[]);
    // p1 has a child (p2's step): untagging p1 only untags.
    let out = h.ok(&["rmi", "p1"]);
    assert_eq!(out, "Untagged: p1:latest\n");
    assert_eq!(h.ok(&["run", "--rm", "p2", "cat", "/a", "/b"]), "a\nb\n");
    // Removing p2 now also removes p1's untagged image: nothing else uses it.
    let ids_before_p2 = all_ids(&h).len();
    h.ok(&["rmi", "p2"]);
    assert_eq!(all_ids(&h).len(), ids_before_p2 - 2, "{:?}", all_ids(&h));
}

#[test]
fn image_prune_removes_dangling_images_with_dockers_output() {
    let h = Hull::new();
    let before = all_ids(&h);
    h.build("ms", TWO_STAGES, &[]);
    // The builder stage's last image is dangling: listed as <none>, removed by prune.
    assert!(
        h.ok(&["images"]).contains("<none>"),
        "{}",
        h.ok(&["images"])
    );
    let out = h.ok(&["image", "prune", "-f"]);
    assert!(
        out.starts_with("Deleted Images:\ndeleted: sha256:"),
        "{out}"
    );
    assert!(out.contains("\n\nTotal reclaimed space: "), "{out}");
    assert!(!h.ok(&["images"]).contains("<none>"));
    assert_eq!(h.ok(&["run", "--rm", "ms"]), "built\nmore\n");
    // Nothing left to prune: only the total, as Docker prints it.
    assert_eq!(
        h.ok(&["image", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
    // -a: every image no container uses.
    h.ok(&["run", "--name", "keeps-busybox", "busybox", "true"]);
    let out = h.ok(&["image", "prune", "-a", "-f"]);
    assert!(out.contains("untagged: ms:latest"), "{out}");
    assert_eq!(
        h.ok(&["images", "--format", "{{.Repository}}"]),
        "busybox\n"
    );
    assert!(all_ids(&h).len() <= before.len().max(1));
    // Without -f, a "no" keeps everything.
    let out = Background::spawn_with_stdin(
        h.command(&["image", "prune", "-a"]),
        std::process::Stdio::from(std::fs::File::open("/dev/null").unwrap()),
    )
    .finish(CMD_TIMEOUT);
    assert!(
        stdout(&out).starts_with(
            "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] "
        ),
        "{}",
        describe(&out)
    );
    assert_eq!(
        h.ok(&["images", "--format", "{{.Repository}}"]),
        "busybox\n"
    );
}

#[test]
fn container_prune_removes_stopped_containers() {
    let h = Hull::new();
    let a = h.ok(&["run", "--name", "pa", "busybox", "sh", "-c", "echo hi > /f"]);
    assert_eq!(a, "");
    h.ok(&["run", "--name", "pb", "busybox", "true"]);
    let running = h.detach("pc", &["busybox", "sleep", "60"]);
    let ids: Vec<String> = ["pa", "pb"]
        .iter()
        .map(|n| h.ok(&["inspect", "-f", "{{.Id}}", n]).trim().to_string())
        .collect();
    let out = h.ok(&["container", "prune", "-f"]);
    let mut lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"Deleted Containers:"), "{out}");
    assert!(
        lines.last().unwrap().starts_with("Total reclaimed space: "),
        "{out}"
    );
    lines.retain(|l| l.len() == 64);
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort();
    lines.sort();
    assert_eq!(lines, want, "{out}");
    assert_eq!(h.ok(&["ps", "-a", "-q"]).trim(), &running[..12]);
    assert_eq!(
        h.ok(&["container", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
}
