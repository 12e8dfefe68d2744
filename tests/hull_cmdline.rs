//! What `hull run` executes, from the image's ENTRYPOINT and CMD, `--entrypoint` and the
//! arguments: the table of the Dockerfile reference ("Understand how CMD and ENTRYPOINT
//! interact"), observed for real.
//!
//! Every image carries `/p`, a script that prints each of its arguments on a line. The table's
//! `exec_entry p1_entry` is `/p e1` and `exec_cmd p1_cmd` is `/p c1`, so what `/p` prints shows
//! which words reached it. Shell forms run `/bin/sh -c '/p …'`, where the shell ignores the words
//! after its command string (they become `$0`, `$1`), so they never reach `/p`. The argv hull
//! hands the runtime (`Path` + `Args` of `hull inspect`) must be the table's cell exactly.

mod support;

use serde_json::Value;
use support::{describe, stdout, Hull};

/// `/p`: prints its arguments, one per line.
const PRINT_ARGS: &str = "#!/bin/sh\nfor a; do echo \"$a\"; done\n";

const EP_EXEC: &str = "ENTRYPOINT [\"/p\", \"e1\"]";
const EP_SHELL: &str = "ENTRYPOINT /p e1";
/// The busybox base has `CMD ["sh"]`; setting ENTRYPOINT (even to nothing) resets it.
const NO_EP: &str = "ENTRYPOINT []";
const CMD_EXEC: &str = "CMD [\"/p\", \"c1\"]";
const CMD_SHELL: &str = "CMD /p c1";

/// One cell of the table: its name, the ENTRYPOINT and CMD lines, the argv Docker runs and
/// what `/p` prints.
type Cell = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
    &'static [&'static str],
);

/// Builds `tag` FROM busybox with `/p` and the given ENTRYPOINT and CMD lines.
fn build(h: &Hull, tag: &str, entrypoint: &str, cmd: Option<&str>) {
    let dockerfile = format!(
        "FROM busybox\nCOPY p /p\n{entrypoint}\n{}\n",
        cmd.unwrap_or("")
    );
    h.build(tag, &dockerfile, &[("p", PRINT_ARGS, 0o755)]);
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `hull run --name NAME ARGS…` in the foreground; returns (what /p printed, argv hull
/// gave the runtime).
fn run(h: &Hull, name: &str, args: &[&str]) -> (Vec<String>, Vec<String>) {
    let mut all = vec!["run", "--name", name];
    all.extend_from_slice(args);
    let out = h.cmd(&all);
    assert!(out.status.success(), "hull {all:?}: {}", describe(&out));
    let printed = stdout(&out).lines().map(str::to_string).collect();
    let r = h.inspect(name);
    let mut argv = vec![r["Path"].as_str().unwrap_or("?").to_string()];
    argv.extend(strings(&r["Args"]));
    (printed, argv)
}

#[test]
fn the_dockerfile_reference_table() {
    let h = Hull::new();
    // (cell, ENTRYPOINT line, CMD line, argv of the table, what /p prints)
    let cells: [Cell; 8] = [
        (
            "ep-shell-no-cmd",
            EP_SHELL,
            None,
            &["/bin/sh", "-c", "/p e1"],
            &["e1"],
        ),
        ("ep-exec-no-cmd", EP_EXEC, None, &["/p", "e1"], &["e1"]),
        (
            "no-ep-cmd-exec",
            NO_EP,
            Some(CMD_EXEC),
            &["/p", "c1"],
            &["c1"],
        ),
        (
            "ep-shell-cmd-exec",
            EP_SHELL,
            Some(CMD_EXEC),
            &["/bin/sh", "-c", "/p e1", "/p", "c1"],
            &["e1"],
        ),
        (
            "ep-exec-cmd-exec",
            EP_EXEC,
            Some(CMD_EXEC),
            &["/p", "e1", "/p", "c1"],
            &["e1", "/p", "c1"],
        ),
        (
            "no-ep-cmd-shell",
            NO_EP,
            Some(CMD_SHELL),
            &["/bin/sh", "-c", "/p c1"],
            &["c1"],
        ),
        (
            "ep-shell-cmd-shell",
            EP_SHELL,
            Some(CMD_SHELL),
            &["/bin/sh", "-c", "/p e1", "/bin/sh", "-c", "/p c1"],
            &["e1"],
        ),
        (
            "ep-exec-cmd-shell",
            EP_EXEC,
            Some(CMD_SHELL),
            &["/p", "e1", "/bin/sh", "-c", "/p c1"],
            &["e1", "/bin/sh", "-c", "/p c1"],
        ),
    ];
    let mut wrong = Vec::new();
    for (cell, ep, cmd, want_argv, want_printed) in cells {
        build(&h, cell, ep, cmd);
        let (printed, argv) = run(&h, cell, &[cell]);
        if argv != want_argv || printed != want_printed {
            wrong.push(format!(
                "{cell}: argv {argv:?} (want {want_argv:?}), /p printed {printed:?} (want {want_printed:?})"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "cells that differ from Docker's table:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_entrypoint_and_no_cmd_is_an_error() {
    let h = Hull::new();
    build(&h, "nothing", NO_EP, None);
    let (code, out) = h.code(&["run", "--name", "n", "nothing"]);
    assert_eq!(
        code,
        125,
        "run of an image with neither ENTRYPOINT nor CMD: {}",
        describe(&out)
    );
    assert!(
        support::stderr(&out).contains("no command specified"),
        "the error should say no command was specified: {}",
        describe(&out)
    );
    // Arguments are enough.
    let (printed, argv) = run(&h, "n2", &["nothing", "/p", "x"]);
    assert_eq!(
        (printed, argv),
        (vec!["x".into()], vec!["/p".into(), "x".into()])
    );
}

#[test]
fn arguments_replace_cmd_and_entrypoint_flag_drops_it() {
    let h = Hull::new();
    build(&h, "both", EP_EXEC, Some("CMD [\"c1\", \"c2\"]"));
    let as_strings = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    // The image as built: ENTRYPOINT ++ CMD.
    let (printed, _) = run(&h, "plain", &["both"]);
    assert_eq!(printed, as_strings(&["e1", "c1", "c2"]));

    // Arguments replace CMD, the ENTRYPOINT stays.
    let (printed, argv) = run(&h, "args", &["both", "a1", "a2"]);
    assert_eq!(printed, as_strings(&["e1", "a1", "a2"]));
    assert_eq!(argv, as_strings(&["/p", "e1", "a1", "a2"]));

    // --entrypoint replaces the ENTRYPOINT and drops the image's CMD.
    let (printed, argv) = run(&h, "ep", &["--entrypoint", "/p", "both"]);
    assert_eq!(
        printed,
        Vec::<String>::new(),
        "--entrypoint must drop the image CMD"
    );
    assert_eq!(argv, as_strings(&["/p"]));
    let (printed, _) = run(&h, "ep-args", &["--entrypoint", "/p", "both", "z"]);
    assert_eq!(printed, as_strings(&["z"]));

    // --entrypoint "" clears it: the arguments alone run.
    let (printed, argv) = run(&h, "no-ep", &["--entrypoint", "", "both", "/p", "y"]);
    assert_eq!(printed, as_strings(&["y"]));
    assert_eq!(argv, as_strings(&["/p", "y"]));

    // … and with no arguments nothing is left to run.
    let (code, out) = h.code(&["run", "--name", "none", "--entrypoint", "", "both"]);
    assert_eq!(
        code,
        125,
        "--entrypoint \"\" without arguments: {}",
        describe(&out)
    );

    // What inspect reports as the container's config follows the same rules.
    let r = h.inspect("ep");
    assert_eq!(strings(&r["Config"]["Entrypoint"]), as_strings(&["/p"]));
    assert_eq!(strings(&r["Config"]["Cmd"]), Vec::<String>::new());
}

#[test]
fn pid_1_is_the_resolved_command() {
    // The exec form runs the command itself as PID 1 (no shell in between).
    let h = Hull::new();
    h.build(
        "sleeper",
        "FROM busybox\nENTRYPOINT [\"sleep\"]\nCMD [\"300\"]\n",
        &[],
    );
    h.detach("s", &["sleeper"]);
    let cmdline = h.ok(&["exec", "s", "cat", "/proc/1/cmdline"]);
    assert_eq!(cmdline, "sleep\u{0}300\u{0}", "PID 1's argv");
}
