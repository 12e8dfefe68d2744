//! process.terminal: the container's process gets a pty of the container's own devpts (so
//! `tty` prints /dev/pts/0, as under runc), its master goes to the client's console socket
//! (conmon's way) or is relayed by the runtime in the foreground; the same for `exec`.

mod support;

use std::time::Duration;

use serde_json::json;
use support::console::{read_terminal, type_into, ConsoleSocket};
use support::*;

const T: Duration = Duration::from_secs(15);

/// `<rt> --root R ARGS...` run by `script`, so that the runtime itself has a terminal on
/// stdin as a user's shell would give it (runc refuses a foreground terminal without one).
fn in_a_terminal(ctx: &Ctx, args: &[&str]) -> std::process::Output {
    let mut line = format!("{} --root {}", path_str(&ctx.bin), path_str(ctx.root()));
    for a in args {
        line.push(' ');
        line.push_str(a);
    }
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &line, "/dev/null"]);
    capture(c, CMD_TIMEOUT)
}

/// `create` of the primary id with `--console-socket` (conmon's way of getting the terminal).
fn create_with_console(ctx: &Ctx, b: &Bundle, sock: &ConsoleSocket) -> std::process::Output {
    ctx.cmd(&[
        "create",
        "--bundle",
        path_str(b.path()),
        "--console-socket",
        path_str(&sock.path()),
        &ctx.id,
    ])
}

fn with_terminal(b: &Bundle, script: &str) {
    b.edit(|c| c["process"]["terminal"] = json!(true));
    b.sh(script);
}

#[test]
fn create_with_a_console_socket_gives_the_process_a_pty_of_its_own_devpts() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    with_terminal(
        &b,
        "tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo stdio-is-the-tty; \
         stat -c console=%t:%T /dev/console; read line; echo got:$line",
    );
    let sock = ConsoleSocket::new();
    must(
        "create --console-socket",
        create_with_console(&ctx, &b, &sock),
    );
    let master = sock.receive_master(T);
    ctx.start_ok(&ctx.id);
    type_into(&master, "hello\n");
    let out = read_terminal(&master, T);
    for want in [
        "/dev/pts/0\n",
        "stdio-is-the-tty\n",
        // /dev/console is the pty too (devpts slaves are major 136 = 0x88).
        "console=88:0\n",
        "got:hello\n",
    ] {
        assert!(out.contains(want), "no {want:?} on the terminal: {out:?}");
    }
    ctx.wait_for_status(&ctx.id, "stopped", STATE_TIMEOUT);
    must("delete", ctx.delete(&ctx.id));
}

#[test]
fn run_in_the_foreground_relays_the_terminal() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    with_terminal(&b, "tty; exit 3");
    let out = in_a_terminal(&ctx, &["run", "--bundle", path_str(b.path()), &ctx.id]);
    assert_eq!(code(out.status), 3, "{}", describe(&out));
    assert!(
        stdout(&out).contains("/dev/pts/0"),
        "the terminal's output was not relayed: {}",
        describe(&out)
    );
}

#[test]
fn exec_with_a_tty_gets_a_pty_of_its_own() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    let out = in_a_terminal(
        &ctx,
        &[
            "exec",
            "-t",
            &ctx.id,
            "sh",
            "-c",
            "'tty; [ -t 0 ] && echo tty-in'",
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains("/dev/pts/0"), "{}", describe(&out));
    assert!(text.contains("tty-in"), "{}", describe(&out));
    ctx.kill_and_delete(&ctx.id);
}

#[test]
fn exec_as_conmon_does_it_sends_the_master_to_the_console_socket() {
    // conmon: `exec --process FILE --console-socket S --detach --pid-file P ID`, with
    // process.terminal set in FILE. The init has the first pty, so this one is /dev/pts/1.
    let ctx = Ctx::new();
    let b = ctx.bundle();
    with_terminal(&b, "sleep 100");
    let init_sock = ConsoleSocket::new();
    must(
        "create --console-socket",
        create_with_console(&ctx, &b, &init_sock),
    );
    let _init_master = init_sock.receive_master(T);
    ctx.start_ok(&ctx.id);

    let dir = tempfile::tempdir().unwrap();
    let mut process = b.config()["process"].clone();
    process["terminal"] = json!(true);
    process["args"] = json!(["sh", "-c", "tty; read x; echo got:$x"]);
    let file = dir.path().join("process.json");
    std::fs::write(&file, process.to_string()).unwrap();
    let pid_file = dir.path().join("exec.pid");
    let sock = ConsoleSocket::new();
    must(
        "exec --process --console-socket --detach",
        ctx.cmd(&[
            "exec",
            "--process",
            path_str(&file),
            "--console-socket",
            path_str(&sock.path()),
            "--detach",
            "--pid-file",
            path_str(&pid_file),
            &ctx.id,
        ]),
    );
    let master = sock.receive_master(T);
    let pid = std::fs::read_to_string(&pid_file).expect("exec wrote no pid file");
    assert!(
        pid.trim().parse::<i32>().is_ok_and(|p| p > 0),
        "pid file: {pid:?}"
    );
    type_into(&master, "hi\n");
    let out = read_terminal(&master, T);
    assert!(out.contains("/dev/pts/1\n"), "{out:?}");
    assert!(out.contains("got:hi\n"), "{out:?}");
    ctx.kill_and_delete(&ctx.id);
}

#[test]
fn a_detached_exec_with_a_tty_needs_a_console_socket() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    let out = ctx.cmd(&["exec", "-t", "-d", &ctx.id, "true"]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(stderr(&out).contains("console"), "{}", describe(&out));
    ctx.kill_and_delete(&ctx.id);
}

#[test]
fn a_terminal_without_devpts_is_refused_with_the_reason() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    with_terminal(&b, "tty");
    b.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != json!("/dev/pts"));
    });
    let before = ctx.snapshot();
    let sock = ConsoleSocket::new();
    let out = create_with_console(&ctx, &b, &sock);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(stderr(&out).contains("/dev/ptmx"), "{}", describe(&out));
    assert_no_leaks(&before, &ctx.snapshot());
}
