//! A container's life through `hull`: `ps`, `inspect`, `logs`, `exec`, `top`, `stats`, and
//! what `--rm` and `rm -f` must leave behind — nothing: no container directory, no runtime
//! state, no overlay mount, no cgroup, no monitor process.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{cgroup_dirs_named, describe, is_hex, mount_at, stderr, stdout, Hull};

/// What is left of container `id` (full or short) on the host, as readable strings.
fn traces(h: &Hull, id: &str) -> Vec<String> {
    let mut t = Vec::new();
    let short = &id[..12];
    for e in support::entries(&h.root().join("containers")) {
        if e.starts_with(short) {
            t.push(format!("container dir containers/{e}"));
        }
    }
    for e in support::entries(&h.root().join("runtime")) {
        if e.starts_with(short) {
            t.push(format!("runtime state runtime/{e}"));
        }
    }
    for m in h.mounts() {
        if m.to_string_lossy().contains(short) {
            t.push(format!("mount {}", m.display()));
        }
    }
    for c in cgroup_dirs_named(&format!("hull-{short}")) {
        t.push(format!("cgroup {}", c.display()));
    }
    t
}

#[test]
fn run_rm_leaves_nothing() {
    let h = Hull::new();
    // The default hostname is the short id: that is how we learn a --rm container's id.
    let short = h
        .ok(&["run", "--rm", "busybox", "hostname"])
        .trim()
        .to_string();
    assert!(is_hex(&short, 12), "hostname {short:?}");
    h.remember(&short);
    assert_eq!(traces(&h, &short), Vec::<String>::new());
    assert_eq!(h.ok(&["ps", "-aq"]), "");

    // Detached with --rm: removed once it exits.
    let id = h.detach("bye", &["--rm", "busybox", "sleep", "0.3"]);
    support::poll(Duration::from_secs(10), "the --rm container to go", || {
        h.ok(&["ps", "-aq"]).is_empty().then_some(())
    });
    support::poll(Duration::from_secs(5), "its traces to go", || {
        traces(&h, &id).is_empty().then_some(())
    });
    // The container is gone from `ps` once its directory is moved away; its monitor exits
    // right after removing it.
    support::poll(
        Duration::from_secs(5),
        "nothing left (the monitor gone)",
        || h.leftovers().is_empty().then_some(()),
    );
}

#[test]
fn rm_f_of_a_running_container_leaves_nothing() {
    let h = Hull::new();
    let id = h.detach("victim", &["busybox", "sleep", "100"]);
    // While it runs, every trace is there (so the checks below can see them).
    let running = traces(&h, &id);
    for kind in ["container dir", "runtime state", "mount", "cgroup"] {
        assert!(
            running.iter().any(|t| t.starts_with(kind)),
            "no {kind} while running: {running:#?}"
        );
    }
    // The cgroups are `hull-<short id>` right below this test's own cgroup, in each hierarchy.
    let own = support::own_cgroup_paths();
    for dir in cgroup_dirs_named(&format!("hull-{}", &id[..12])) {
        let parent = support::cgroup_relative(dir.parent().unwrap());
        assert!(
            own.contains(&parent),
            "{} is not below our cgroups {own:?}",
            dir.display()
        );
    }
    let merged = h.inspect("victim")["GraphDriver"]["Data"]["MergedDir"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        mount_at(Path::new(&merged)).is_some_and(|m| m.fs_type == "overlay"),
        "{merged} is not an overlay mount"
    );

    let (code, out) = h.code(&["rm", "victim"]);
    assert_ne!(
        code,
        0,
        "rm without -f of a running container: {}",
        describe(&out)
    );
    assert!(stderr(&out).contains("running"), "{}", describe(&out));

    h.ok(&["rm", "-f", "victim"]);
    assert_eq!(traces(&h, &id), Vec::<String>::new());
    assert!(h.leftovers().is_empty(), "{:#?}", h.leftovers());
    let (code, _) = h.code(&["inspect", "victim"]);
    assert_ne!(code, 0, "inspect of a removed container");
}

#[test]
fn ten_containers_leak_nothing() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]); // the busybox image, before counting
    let before = h.leftovers();
    let layers = support::entries(&h.root().join("layers"));
    for i in 0..10 {
        let name = format!("c{i}");
        match i % 3 {
            0 => {
                let short = h.ok(&["run", "--rm", "--name", &name, "busybox", "hostname"]);
                h.remember(short.trim());
            }
            1 => {
                h.detach(
                    &name,
                    &["-m", "16m", "--pids-limit", "10", "busybox", "sleep", "100"],
                );
                h.ok(&["exec", &name, "true"]);
                h.ok(&["rm", "-f", &name]);
            }
            _ => {
                let (code, _) = h.code(&["run", "--name", &name, "busybox", "sh", "-c", "exit 2"]);
                assert_eq!(code, 2);
                h.remember(h.inspect(&name)["Id"].as_str().unwrap());
                h.ok(&["rm", &name]);
            }
        }
    }
    let after = support::poll(Duration::from_secs(5), "the monitors to finish", || {
        let a = h.leftovers();
        a.processes.is_empty().then_some(a)
    });
    assert_eq!(before, after, "before/after 10 containers");
    assert_eq!(
        layers,
        support::entries(&h.root().join("layers")),
        "layers changed"
    );
    assert_eq!(h.ok(&["ps", "-aq"]), "");
}

#[test]
fn logs_keep_stdout_and_stderr() {
    let h = Hull::new();
    h.detach(
        "talker",
        &[
            "busybox",
            "sh",
            "-c",
            "echo to-out; echo to-err >&2; sleep 1; echo late",
        ],
    );
    support::poll(
        Duration::from_secs(10),
        "the first lines in the log",
        || {
            let out = h.cmd(&["logs", "talker"]);
            (stdout(&out).contains("to-out") && stderr(&out).contains("to-err")).then_some(())
        },
    );
    // -f follows until the container exits, then returns.
    let follow = h
        .spawn(&["logs", "-f", "talker"])
        .finish(Duration::from_secs(20));
    assert!(follow.status.success(), "logs -f: {}", describe(&follow));
    assert_eq!(stdout(&follow), "to-out\nlate\n", "logs -f stdout");
    assert_eq!(stderr(&follow), "to-err\n", "logs -f stderr");
    let out = h.cmd(&["logs", "talker"]);
    assert_eq!(
        (stdout(&out), stderr(&out)),
        ("to-out\nlate\n".into(), "to-err\n".into())
    );
    // A foreground run is logged too.
    h.ok(&["run", "--name", "fg", "busybox", "echo", "foreground"]);
    assert_eq!(h.ok(&["logs", "fg"]), "foreground\n");
}

#[test]
fn exec_runs_inside_the_container() {
    let h = Hull::new();
    h.detach(
        "box",
        &[
            "--hostname",
            "boxhost",
            "-e",
            "FROM_RUN=1",
            "busybox",
            "sleep",
            "100",
        ],
    );
    assert_eq!(h.ok(&["exec", "box", "hostname"]), "boxhost\n");
    assert_eq!(
        h.ok(&["exec", "box", "cat", "/proc/1/comm"]),
        "sleep\n",
        "PID 1 of the container"
    );
    assert_eq!(
        h.ok(&["exec", "box", "sh", "-c", "echo $$"])
            .trim()
            .parse::<i32>()
            .map(|p| p > 1),
        Ok(true)
    );
    assert_eq!(
        h.ok(&["exec", "box", "sh", "-c", "echo $FROM_RUN"]),
        "1\n",
        "exec gets the container's env"
    );
    assert_eq!(
        h.ok(&[
            "exec",
            "-e",
            "X=2",
            "-w",
            "/tmp",
            "-u",
            "user",
            "box",
            "sh",
            "-c",
            "echo $X $(pwd) $(id -un)"
        ]),
        "2 /tmp user\n"
    );
    let (code, _) = h.code(&["exec", "box", "sh", "-c", "exit 5"]);
    assert_eq!(code, 5, "exec returns the command's code");
    // A file made by exec is in the container's filesystem.
    h.ok(&["exec", "box", "touch", "/made-by-exec"]);
    assert!(h.ok(&["diff", "box"]).contains("A /made-by-exec"));

    h.ok(&["stop", "-t", "0", "box"]);
    // As Docker, commands other than `run` fail with status 1.
    let (code, out) = h.code(&["exec", "box", "true"]);
    assert_eq!(code, 1, "exec into a stopped container: {}", describe(&out));
    assert!(stderr(&out).contains("not running"), "{}", describe(&out));
    let (code, out) = h.code(&["exec", "nobody", "true"]);
    assert_eq!(code, 1, "{}", describe(&out));
    assert!(
        stderr(&out).contains("No such container: nobody"),
        "{}",
        describe(&out)
    );
}

#[test]
fn ps_lists_running_and_ps_a_all() {
    let h = Hull::new();
    let up = h.detach("up", &["busybox", "sleep", "100"]);
    let (code, _) = h.code(&["run", "--name", "down", "busybox", "sh", "-c", "exit 4"]);
    assert_eq!(code, 4);
    let ps = h.ok(&["ps"]);
    assert!(ps.starts_with("CONTAINER ID"), "{ps}");
    assert!(
        ps.contains(&up[..12]) && ps.contains(" up\n") && ps.contains("Up "),
        "{ps}"
    );
    assert!(
        !ps.contains("down"),
        "ps lists only running containers:\n{ps}"
    );
    let all = h.ok(&["ps", "-a"]);
    assert!(all.contains("down") && all.contains("Exited (4)"), "{all}");
    assert_eq!(h.ok(&["ps", "-q"]), format!("{}\n", &up[..12]));
    let names = h.ok(&["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
    assert_eq!(names, "down exited\nup running\n", "newest first");
    for line in h.ok(&["ps", "-a", "--format", "json"]).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("ps --format json lines");
        assert!(
            v["ID"].is_string() && v["Names"].is_string() && v["Status"].is_string(),
            "{v}"
        );
    }
}

#[test]
fn inspect_has_dockers_fields() {
    let h = Hull::new();
    let vol = h.dir("vol");
    let vspec = format!("{}:/v:ro", vol.display());
    let id = h.detach(
        "full",
        &[
            "-m",
            "64m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "50",
            "-v",
            &vspec,
            "-w",
            "/tmp",
            "-u",
            "1000",
            "-e",
            "A=1",
            "busybox",
            "sleep",
            "100",
        ],
    );
    let r = h.inspect("full");
    assert_eq!(r["Id"], id);
    assert_eq!(
        r["Name"].as_str().map(|n| n.trim_start_matches('/')),
        Some("full")
    );
    let s = &r["State"];
    assert_eq!(
        (
            s["Status"].as_str(),
            s["Running"].as_bool(),
            s["OOMKilled"].as_bool()
        ),
        (Some("running"), Some(true), Some(false)),
        "{s}"
    );
    let pid = s["Pid"].as_i64().expect("State.Pid") as i32;
    let cmdline =
        std::fs::read(format!("/proc/{pid}/cmdline")).expect("State.Pid is a live host pid");
    assert_eq!(
        cmdline, b"sleep\x00100\x00",
        "State.Pid is the container's init"
    );
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        cgroup.contains(&format!("hull-{}", &id[..12])),
        "its cgroup: {cgroup}"
    );
    assert!(
        s["StartedAt"]
            .as_str()
            .is_some_and(|t| t.len() >= 20 && t.contains('T')),
        "{s}"
    );
    let c = &r["Config"];
    assert_eq!(c["Cmd"], serde_json::json!(["sleep", "100"]));
    assert!(
        c["Entrypoint"].is_null() || c["Entrypoint"] == serde_json::json!([]),
        "{c}"
    );
    assert!(c["Env"].as_array().unwrap().contains(&"A=1".into()), "{c}");
    assert_eq!(
        (
            c["WorkingDir"].as_str(),
            c["User"].as_str(),
            c["Image"].as_str()
        ),
        (Some("/tmp"), Some("1000"), Some("busybox"))
    );
    let hc = &r["HostConfig"];
    assert_eq!(
        (
            hc["Memory"].as_i64(),
            hc["NanoCpus"].as_i64(),
            hc["PidsLimit"].as_i64()
        ),
        (Some(64 << 20), Some(500_000_000), Some(50)),
        "{hc}"
    );
    let m = &r["Mounts"][0];
    assert_eq!(
        (
            m["Source"].as_str(),
            m["Destination"].as_str(),
            m["RW"].as_bool()
        ),
        (vol.to_str(), Some("/v"), Some(false)),
        "{m}"
    );
    let g = &r["GraphDriver"]["Data"];
    let merged = g["MergedDir"].as_str().unwrap();
    assert!(
        mount_at(Path::new(merged)).is_some(),
        "MergedDir {merged} is mounted"
    );
    assert!(Path::new(g["UpperDir"].as_str().unwrap()).is_dir(), "{g}");
    for lower in g["LowerDir"].as_str().unwrap().split(':') {
        assert!(Path::new(lower).is_dir(), "LowerDir {lower}");
    }
    // -u reaches the process.
    assert_eq!(
        h.ok(&["exec", "full", "cat", "/proc/self/status"])
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .map(|l| l.split_whitespace().nth(1).unwrap().to_string()),
        Some("1000".into())
    );

    h.ok(&["kill", "full"]);
    let r = h.wait_exited("full", Duration::from_secs(10));
    let s = &r["State"];
    assert_eq!(
        (s["ExitCode"].as_i64(), s["Pid"].as_i64()),
        (Some(137), Some(0)),
        "{s}"
    );
    assert!(
        s["FinishedAt"]
            .as_str()
            .is_some_and(|t| t.len() >= 20 && t[..19] >= s["StartedAt"].as_str().unwrap()[..19]),
        "{s}"
    );
    assert!(
        mount_at(Path::new(merged)).is_none(),
        "MergedDir is unmounted once stopped"
    );
    // inspect -f and an image by name.
    assert_eq!(
        h.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.HostConfig.Memory}}",
            "full"
        ]),
        "exited 67108864\n"
    );
    assert_eq!(h.inspect("busybox")["RepoTags"][0], "busybox:latest");
}

#[test]
fn top_and_stats_show_the_container() {
    let h = Hull::new();
    let id = h.detach("watched", &["-m", "48m", "busybox", "sleep", "100"]);
    let top = h.ok(&["top", "watched"]);
    let lines: Vec<&str> = top.lines().collect();
    assert!(
        lines[0].contains("PID") && lines[0].contains("CMD"),
        "{top}"
    );
    assert!(lines.iter().any(|l| l.ends_with("sleep 100")), "{top}");
    let pid = h.inspect("watched")["State"]["Pid"]
        .as_i64()
        .unwrap()
        .to_string();
    assert!(top.contains(&pid), "top shows host pids ({pid}):\n{top}");

    let stats = h.ok(&["stats", "--no-stream", "watched"]);
    assert!(
        stats
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with(&id[..12]) && l.contains("watched")),
        "{stats}"
    );
    assert!(stats.contains("48.0MiB"), "the limit shows: {stats}");
    let json = h.ok(&["stats", "--no-stream", "--format", "json", "watched"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("stats json");
    let v = if v.is_array() { v[0].clone() } else { v };
    assert_eq!(v["MemLimit"].as_u64(), Some(48 << 20), "{v}");
    assert!(
        v["MemUsage"].as_u64().is_some_and(|u| u > 0) && v["PIDs"].as_u64() == Some(1),
        "{v}"
    );
    // Without names: every running container.
    assert!(h.ok(&["stats", "--no-stream"]).contains("watched"));
    h.ok(&["stop", "-t", "0", "watched"]);
    let (code, out) = h.code(&["top", "watched"]);
    assert_eq!(code, 1, "top of a stopped container: {}", describe(&out));
}

#[test]
fn exec_of_a_program_that_cannot_run_is_127_or_126_every_time() {
    // runtime/oci/src/container/exec.rs: the grandchild's "error" can reach the socket before the
    // helper's "pid"; it must still end in 127/126, never in hull's own 125.
    let h = Hull::new();
    h.detach("box", &["busybox", "sleep", "100"]);
    for i in 0..300 {
        let (code, out) = h.code(&["exec", "box", "no-such-program"]);
        assert_eq!(code, 127, "attempt {i}: {}", describe(&out));
        let (code, out) = h.code(&["exec", "box", "/etc/passwd"]);
        assert_eq!(code, 126, "attempt {i}: {}", describe(&out));
    }
}

#[test]
fn exec_and_run_agree_on_a_path_that_does_not_exist() {
    // The exec path once chose 127 only for "not found" in the message, so a missing file
    // named by path (ENOENT, "No such file or directory") exited 126 there and 127 in run.
    let h = Hull::new();
    let (code, out) = h.code(&["run", "--rm", "busybox", "/no/such/file"]);
    assert_eq!(code, 127, "run: {}", describe(&out));
    h.detach("box", &["busybox", "sleep", "100"]);
    let (code, out) = h.code(&["exec", "box", "/no/such/file"]);
    assert_eq!(code, 127, "exec: {}", describe(&out));
}

#[test]
fn run_with_a_tty_gives_the_program_the_containers_first_pty() {
    // As in Docker: `run -t busybox tty` prints /dev/pts/0 — a pty of the container's own
    // devpts, in the foreground (relayed to our terminal) and detached (into the log).
    let h = Hull::new();
    let out = h.in_terminal("run --rm -t busybox sh -c 'tty; exit 4'");
    assert_eq!(support::code(out.status), 4, "{}", describe(&out));
    assert!(stdout(&out).contains("/dev/pts/0"), "{}", describe(&out));

    h.detach("t", &["-t", "busybox", "sh", "-c", "tty; sleep 100"]);
    support::poll(Duration::from_secs(10), "tty's output in the log", || {
        h.ok(&["logs", "t"]).contains("/dev/pts/0").then_some(())
    });
    // exec -it: a second pty of the same devpts.
    let out = h.in_terminal("exec -it t sh -c 'tty; exit 5'");
    assert_eq!(support::code(out.status), 5, "{}", describe(&out));
    assert!(stdout(&out).contains("/dev/pts/1"), "{}", describe(&out));
    h.ok(&["rm", "-f", "t"]);
}
