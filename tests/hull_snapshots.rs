//! What `hull` prints for people, as insta snapshots: `ps -a`, `images`, `history`, and the
//! error messages a learner meets first. Ids (12 and 64 hex), times ("… ago", "Less than a
//! second", RFC 3339), sizes and the host's busybox version are redacted, temporary paths are
//! replaced by `[ROOT]`/`[SCRATCH]`, and runs of spaces (column alignment, which follows the
//! width of the redacted values) are collapsed, so the snapshots hold on any host.
//!
//! Update after an intended change: `INSTA_UPDATE=always cargo test --test hull_snapshots`
//! (or `cargo insta review`), then read the diff of tests/snapshots/.

mod support;

use support::{stderr, Hull};

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]");
    s.add_filter(r"\b[0-9a-f]{64}\b", "[ID]");
    s.add_filter(r"\b[0-9a-f]{12}\b", "[SHORT_ID]");
    s.add_filter(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
        "[TIME]",
    );
    s.add_filter(
        r"Less than a second|About a minute|About an hour|\b\d+ (second|minute|hour|day|week|month|year)s?\b",
        "[DURATION]",
    );
    s.add_filter(r"\b\d+(\.\d+)?(B|KiB|MiB|GiB)\b", "[SIZE]");
    // The busybox layer's CREATED BY names the host's busybox version (cut at any length).
    s.add_filter(
        r"hull: BusyBox v[^ ]+ .*?( {2,}|$)",
        "hull: BusyBox [VERSION]$1",
    );
    s.add_filter(r" {2,}", "   ");
    s
}

/// What `hull ARGS…` printed, its code, with this test's paths replaced.
fn shown(h: &Hull, args: &[&str]) -> String {
    let (code, out) = h.code(args);
    let mut text = format!("$ hull {}\n", args.join(" "));
    text.push_str(&support::stdout(&out));
    let err = stderr(&out);
    if !err.is_empty() {
        text.push_str(&format!("[stderr]\n{err}"));
    }
    text.push_str(&format!("[exit {code}]\n"));
    text.replace(&h.root().display().to_string(), "[ROOT]")
        .replace(&h.scratch().display().to_string(), "[SCRATCH]")
}

#[test]
fn ps_a() {
    let h = Hull::new();
    h.ok(&["run", "--name", "first", "busybox", "true"]);
    h.code(&["run", "--name", "second", "busybox", "sh", "-c", "exit 3"]);
    h.detach("third", &["busybox", "sleep", "100"]);
    h.code(&["run", "--name", "fourth", "busybox", "no-such-program"]);
    let text = shown(&h, &["ps", "-a"]) + &shown(&h, &["ps"]);
    settings().bind(|| insta::assert_snapshot!("ps_a", text));
}

#[test]
fn images_and_history() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    h.build("app:1.0", "FROM busybox\nCMD [\"echo\", \"hi\"]\n", &[]);
    let text = shown(&h, &["images"]);
    settings().bind(|| insta::assert_snapshot!("images", text));
    let text = shown(&h, &["history", "busybox"]) + &shown(&h, &["history", "app:1.0"]);
    settings().bind(|| insta::assert_snapshot!("history", text));
}

#[test]
fn error_messages() {
    let h = Hull::new();
    h.ok(&["run", "--name", "taken", "busybox", "true"]);
    let ctx = h.dir("ctx");
    support::write_file(
        &ctx.join("Dockerfile"),
        "FROM busybox\nRUN true\nFROBNICATE now\n",
        0o644,
    );
    let mut text = String::new();
    for args in [
        &["run", "no-such-image"][..],
        &["run", "no-such-image:2.0", "true"][..],
        &["run", "-m", "1k", "busybox", "true"][..],
        &["run", "-m", "12q", "busybox", "true"][..],
        &["run", "--name", "taken", "busybox", "true"][..],
        &["run", "-p", "80:99999", "busybox", "true"][..],
        &["run", "busybox", "no-such-program"][..],
        &["run", "busybox", "/etc/passwd"][..],
        &["build", ctx.to_str().unwrap()][..],
        &["exec", "taken", "true"][..],
        &["logs", "nobody"][..],
    ] {
        text.push_str(&shown(&h, args));
        text.push('\n');
    }
    settings().bind(|| insta::assert_snapshot!("errors", text));
}
