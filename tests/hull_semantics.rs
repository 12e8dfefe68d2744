//! Docker's semantics of what a container gets and how it stops (issue 12): `/etc/hosts` and
//! `/etc/mtab`, `HOME`, a root filesystem hull adds nothing to (a usr-merged `/sbin` stays a
//! link; `--init` is mounted where Docker mounts it), `STOPSIGNAL`/`--stop-signal`/
//! `--stop-timeout`, the image's `VOLUME`s as anonymous volumes, named volumes and
//! `hull system df`. The expected values are what Docker 20.10 did with the same commands.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{describe, is_hex, stderr, stdout, Hull};

/// `hull run --rm busybox sh -c SCRIPT` with `flags` before the image; must succeed.
fn sh(h: &Hull, flags: &[&str], script: &str) -> String {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(flags);
    all.extend_from_slice(&["busybox", "sh", "-c", script]);
    h.ok(&all)
}

/// Waits until the container's PID 1 catches or ignores signal `signo` (its trap is set).
fn wait_for_handler(h: &Hull, name: &str, signo: u32) {
    let pid = h.inspect(name)["State"]["Pid"].as_i64().expect("State.Pid");
    support::poll(
        Duration::from_secs(10),
        "PID 1 to install its signal handler",
        || {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let mask = |field: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(field))
                    .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
                    .unwrap_or(0)
            };
            ((mask("SigCgt:") | mask("SigIgn:")) & (1 << (signo - 1)) != 0).then_some(())
        },
    );
}

/// Docker's /etc/hosts for a container without an address (`--network none`, and
/// `--bridge=none`, as these tests run).
const HOSTS: &str = "127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
";

#[test]
fn etc_hosts_and_mtab_are_dockers() {
    let h = Hull::new();
    assert_eq!(sh(&h, &[], "cat /etc/hosts"), HOSTS);
    assert_eq!(
        sh(
            &h,
            &["--network", "none", "--hostname", "hh"],
            "cat /etc/hosts"
        ),
        HOSTS
    );
    // Docker's init layer links /etc/mtab to /proc/mounts, so `mount` and `df` work.
    assert_eq!(sh(&h, &[], "readlink /etc/mtab"), "/proc/mounts\n");
    assert!(sh(&h, &[], "cat /etc/mtab").contains(" /proc proc "));
    // … and it is not a change the container made.
    h.ok(&["run", "--name", "c", "busybox", "true"]);
    assert_eq!(h.ok(&["diff", "c"]), "");
}

#[test]
fn home_comes_from_the_containers_passwd() {
    // Docker: root /root, nobody /nonexistent, a uid without an entry /, -e HOME wins.
    let h = Hull::new();
    let home = |flags: &[&str]| sh(&h, flags, "echo $HOME");
    assert_eq!(home(&[]), "/root\n");
    assert_eq!(home(&["-u", "nobody"]), "/nonexistent\n");
    assert_eq!(home(&["-u", "1234"]), "/\n");
    assert_eq!(home(&["-u", "1234:1234"]), "/\n");
    assert_eq!(home(&["-u", "1000"]), "/home/user\n");
    assert_eq!(home(&["-u", "user"]), "/home/user\n");
    assert_eq!(home(&["-e", "HOME=/x", "-u", "1000"]), "/x\n");
    // exec too.
    h.detach("e", &["-u", "nobody", "busybox", "sleep", "100"]);
    assert_eq!(
        h.ok(&["exec", "e", "sh", "-c", "echo $HOME"]),
        "/nonexistent\n"
    );
}

/// A usr-merged image (Debian 12, Ubuntu, Fedora): `/sbin -> usr/sbin`, with a program there.
const USR_MERGED: &str = "FROM busybox
RUN mkdir -p /usr/sbin && ln -s usr/sbin /sbin && printf '#!/bin/sh\\necho hello from sbin\\n' > /usr/sbin/hello && chmod 755 /usr/sbin/hello
RUN /sbin/hello > /built-with-sbin
";

#[test]
fn hull_adds_no_sbin_and_a_usr_merged_sbin_works_in_run_and_build() {
    let h = Hull::new();
    // busybox has no /sbin: a container of it has none either (Docker's neither).
    let out = h.cmd(&["run", "--rm", "busybox", "ls", "-d", "/sbin"]);
    assert_eq!(support::code(out.status), 1, "{}", describe(&out));

    h.build("merged", USR_MERGED, &[]);
    assert_eq!(
        h.ok(&[
            "run",
            "--rm",
            "merged",
            "sh",
            "-c",
            "readlink /sbin; /sbin/hello; cat /built-with-sbin"
        ]),
        "usr/sbin\nhello from sbin\nhello from sbin\n"
    );
    // --init too: the init's mount point is made through the link, as runc does for Docker.
    assert_eq!(
        h.ok(&[
            "run",
            "--rm",
            "--init",
            "merged",
            "sh",
            "-c",
            "readlink /sbin; /sbin/hello"
        ]),
        "usr/sbin\nhello from sbin\n"
    );
}

#[test]
fn init_is_mounted_where_docker_mounts_it() {
    let h = Hull::new();
    h.ok(&[
        "run",
        "--name",
        "i",
        "--init",
        "busybox",
        "sh",
        "-c",
        "tr '\\0' ' ' < /proc/1/cmdline",
    ]);
    // Docker: "/sbin/docker-init -- sh -c …" (tini). hull's init is a shell script, so the
    // kernel shows its interpreter first: a documented difference.
    let out = h.ok(&["logs", "i"]);
    assert_eq!(
        out,
        "/bin/sh /sbin/docker-init -- sh -c tr '\\0' ' ' < /proc/1/cmdline "
    );
    // Docker's diff of the same: runc made the mount point in the container's layer.
    assert_eq!(h.ok(&["diff", "i"]), "A /sbin\nA /sbin/docker-init\n");
    // With a read-only root as well.
    assert_eq!(
        h.ok(&[
            "run",
            "--rm",
            "--init",
            "--read-only",
            "busybox",
            "echo",
            "ok"
        ]),
        "ok\n"
    );
}

#[test]
fn stop_signal_from_the_image_and_the_flags() {
    let h = Hull::new();
    h.build("usr1", "FROM busybox\nSTOPSIGNAL SIGUSR1\n", &[]);
    let image = h.inspect("usr1");
    assert_eq!(image["Config"]["StopSignal"], "SIGUSR1");
    let trap = |code: u32| format!("trap 'exit {code}' USR1; trap '' TERM; sleep 100 & wait");

    // The image's STOPSIGNAL: `stop` sends USR1, the trap exits 43 (Docker: 43).
    h.detach("img", &["usr1", "sh", "-c", &trap(43)]);
    assert_eq!(h.inspect("img")["Config"]["StopSignal"], "SIGUSR1");
    wait_for_handler(&h, "img", 10);
    let t = Instant::now();
    h.ok(&["stop", "img"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(h.inspect("img")["State"]["ExitCode"], 43);

    // --stop-signal, kept as written (Docker: "USR1").
    h.detach(
        "flag",
        &["--stop-signal", "USR1", "busybox", "sh", "-c", &trap(42)],
    );
    let c = h.inspect("flag");
    assert_eq!(c["Config"]["StopSignal"], "USR1");
    assert!(c["Config"].get("StopTimeout").is_none(), "{}", c["Config"]);
    wait_for_handler(&h, "flag", 10);
    h.ok(&["stop", "flag"]);
    assert_eq!(h.inspect("flag")["State"]["ExitCode"], 42);

    // --stop-signal overrides the image's; without either, Docker's config has none.
    h.ok(&[
        "run",
        "--name",
        "over",
        "--stop-signal",
        "TERM",
        "usr1",
        "true",
    ]);
    assert_eq!(h.inspect("over")["Config"]["StopSignal"], "TERM");
    h.ok(&["run", "--name", "plain", "busybox", "true"]);
    let plain = h.inspect("plain");
    assert!(
        plain["Config"].get("StopSignal").is_none(),
        "{}",
        plain["Config"]
    );

    // A bad signal: one line, 125, and no container (Docker: "Invalid signal: FOO").
    let (code, out) = h.code(&["run", "--rm", "--stop-signal", "FOO", "busybox", "true"]);
    assert_eq!(code, 125, "{}", describe(&out));
    assert_eq!(stderr(&out), "hull: Invalid signal: FOO\n");
    // (Docker: 125; the status of a flag clap refuses is main.rs's argument parsing.)
    let (code, out) = h.code(&["run", "--rm", "--stop-timeout", "x", "busybox", "true"]);
    assert_ne!(code, 0, "{}", describe(&out));
    assert!(
        stderr(&out).contains("--stop-timeout"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        h.ok(&["ps", "-aq"]).lines().count(),
        4,
        "only img, flag, over and plain"
    );
    // STOPSIGNAL FOO fails the build at its line, with status 1 as Docker's.
    let out = h.build_ctx("bad", "FROM busybox\nSTOPSIGNAL FOO\n", &[]);
    assert_eq!(support::code(out.status), 1, "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("line 2") && err.contains("Invalid signal: FOO"),
        "{err}"
    );
}

#[test]
fn stop_timeout_from_the_container_and_stop_t() {
    let h = Hull::new();
    let ignore = "trap '' TERM; while :; do sleep 1; done";
    // --stop-timeout 1: stop waits a second, then SIGKILL (Docker: 137 after ~1.1 s).
    h.detach(
        "one",
        &["--stop-timeout", "1", "busybox", "sh", "-c", ignore],
    );
    assert_eq!(h.inspect("one")["Config"]["StopTimeout"], 1);
    wait_for_handler(&h, "one", 15);
    let t = Instant::now();
    h.ok(&["stop", "one"]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(h.inspect("one")["State"]["ExitCode"], 137);
    // stop -t wins over --stop-timeout (Docker: 137 after ~1.2 s, StopTimeout still 30).
    h.detach(
        "long",
        &["--stop-timeout", "30", "busybox", "sh", "-c", ignore],
    );
    wait_for_handler(&h, "long", 15);
    let t = Instant::now();
    h.ok(&["stop", "-t", "1", "long"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let r = h.inspect("long");
    assert_eq!(
        (&r["State"]["ExitCode"], &r["Config"]["StopTimeout"]),
        (&json!(137), &json!(30))
    );
}

/// An image whose /data (owned by 1000, mode 0700, holding a file) is a VOLUME.
const VOLUME_IMAGE: &str = "FROM busybox
RUN mkdir -p /data && echo img > /data/f && chown 1000:1000 /data && chmod 700 /data
VOLUME /data
";

fn volume_names(h: &Hull) -> Vec<String> {
    h.ok(&["volume", "ls", "-q"])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn image_volumes_are_anonymous_volumes_filled_from_the_image() {
    let h = Hull::new();
    h.build("vimg", VOLUME_IMAGE, &[]);
    assert_eq!(h.inspect("vimg")["Config"]["Volumes"], json!({"/data": {}}));
    // Docker: the image's content, owner and mode are copied into the new volume.
    h.ok(&[
        "run",
        "--name",
        "a1",
        "vimg",
        "sh",
        "-c",
        "stat -c '%u %a' /data; cat /data/f; echo new > /data/g; grep ' /data ' /proc/mounts | cut -d' ' -f2",
    ]);
    assert_eq!(h.ok(&["logs", "a1"]), "1000 700\nimg\n/data\n");
    let c = h.inspect("a1");
    assert_eq!(c["Config"]["Volumes"], json!({"/data": {}}));
    let m = &c["Mounts"][0];
    let name = m["Name"].as_str().expect("Mounts[0].Name").to_string();
    assert!(is_hex(&name, 64), "an anonymous volume's name: {m}");
    let data = h.root().join("volumes").join(&name).join("_data");
    assert_eq!(
        m,
        &json!({"Type": "volume", "Name": name, "Source": data.to_str().unwrap(),
                "Destination": "/data", "Driver": "local", "Mode": "", "RW": true,
                "Propagation": ""})
    );
    assert_eq!(std::fs::read_to_string(data.join("g")).unwrap(), "new\n");
    assert_eq!(volume_names(&h), std::slice::from_ref(&name));
    let v = h.ok(&["volume", "inspect", &name]);
    let v: Value = serde_json::from_str(&v).unwrap();
    assert_eq!(v[0]["Labels"], Value::Null, "{v}");

    // rm keeps the volume, rm -v removes it (Docker's both).
    h.ok(&["rm", "a1"]);
    assert_eq!(volume_names(&h), std::slice::from_ref(&name));
    h.ok(&["run", "--name", "a2", "vimg", "true"]);
    let second = h.inspect("a2")["Mounts"][0]["Name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second, name, "each container gets its own anonymous volume");
    h.ok(&["rm", "-v", "a2"]);
    assert_eq!(volume_names(&h), std::slice::from_ref(&name));
    // --rm removes the anonymous volumes it made, and `-v /path` is one too.
    h.ok(&["run", "--rm", "-v", "/anon", "vimg", "true"]);
    assert_eq!(volume_names(&h), std::slice::from_ref(&name));
    // A named volume outlives --rm.
    assert_eq!(
        h.ok(&["run", "--rm", "-v", "keep:/data", "vimg", "cat", "/data/f"]),
        "img\n"
    );
    let mut names = volume_names(&h);
    names.sort();
    let mut want = vec![name, "keep".to_string()];
    want.sort();
    assert_eq!(names, want);
}

#[test]
fn named_volumes_create_ls_inspect_rm() {
    let h = Hull::new();
    assert_eq!(h.ok(&["volume", "ls"]), "DRIVER    VOLUME NAME\n");
    let anon = h.ok(&["volume", "create"]).trim().to_string();
    assert!(is_hex(&anon, 64), "{anon}");
    assert_eq!(h.ok(&["volume", "create", "myvol"]), "myvol\n");
    // Creating it again is fine (Docker prints the name again).
    assert_eq!(h.ok(&["volume", "create", "myvol"]), "myvol\n");
    // Sorted by name (a hex name sorts before "myvol").
    assert_eq!(
        h.ok(&["volume", "ls"]),
        format!("DRIVER    VOLUME NAME\nlocal     {anon}\nlocal     myvol\n")
    );
    assert_eq!(h.ok(&["volume", "ls", "-q"]), format!("{anon}\nmyvol\n"));
    let mp = h.root().join("volumes/myvol/_data");
    assert_eq!(
        h.ok(&[
            "volume",
            "ls",
            "--format",
            "{{.Name}} {{.Driver}} {{.Mountpoint}}"
        ]),
        format!(
            "{anon} local {}\nmyvol local {}\n",
            h.root().join("volumes").join(&anon).join("_data").display(),
            mp.display()
        )
    );
    let v: Value = serde_json::from_str(&h.ok(&["volume", "inspect", "myvol"])).unwrap();
    let created = v[0]["CreatedAt"].as_str().unwrap_or("").to_string();
    assert!(created.len() == 20 && created.ends_with('Z'), "{v}");
    assert_eq!(
        v,
        json!([{"CreatedAt": created, "Driver": "local", "Labels": {},
                "Mountpoint": mp.to_str().unwrap(), "Name": "myvol", "Options": {},
                "Scope": "local"}])
    );
    assert_eq!(
        h.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "myvol"]),
        format!("{}\n", mp.display())
    );
    // Errors: Docker's status 1 and its words.
    let (code, out) = h.code(&["volume", "inspect", "nope"]);
    assert_eq!(
        (code, stdout(&out).as_str()),
        (1, "[]\n"),
        "{}",
        describe(&out)
    );
    assert_eq!(stderr(&out), "hull: No such volume: nope\n");
    let (code, out) = h.code(&["volume", "create", "bad name"]);
    assert_eq!(code, 1, "{}", describe(&out));
    assert_eq!(
        stderr(&out),
        "hull: create bad name: \"bad name\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path\n"
    );
    let (code, out) = h.code(&["volume", "create", "-d", "foo", "x"]);
    assert_eq!(code, 1, "{}", describe(&out));
    assert!(stderr(&out).contains("foo"), "{}", describe(&out));
    let (code, out) = h.code(&["run", "--rm", "-v", "bad name:/x", "busybox", "true"]);
    assert_eq!(code, 125, "{}", describe(&out));
    assert_eq!(
        h.ok(&["ps", "-aq"]),
        "",
        "a refused run leaves no container"
    );

    // rm: the names, then Docker's error for one that is gone.
    assert_eq!(
        h.ok(&["volume", "rm", "myvol", &anon]),
        format!("myvol\n{anon}\n")
    );
    let (code, out) = h.code(&["volume", "rm", "myvol"]);
    assert_eq!(code, 1, "{}", describe(&out));
    assert_eq!(stderr(&out), "hull: No such volume: myvol\n");
    assert_eq!(h.ok(&["volume", "ls", "-q"]), "");
    assert!(support::entries(&h.root().join("volumes"))
        .iter()
        .all(|e| e.starts_with('.')));
}

#[test]
fn a_named_volume_is_filled_once_and_refused_removal_while_used() {
    let h = Hull::new();
    // First use of an empty volume: the image's /etc is copied in (Docker copies what the
    // container's root shows there, its own hosts/hostname/resolv.conf/mtab included).
    h.ok(&["run", "--name", "u1", "-v", "myvol:/etc", "busybox", "true"]);
    let data = h.root().join("volumes/myvol/_data");
    assert_eq!(
        support::entries(&data),
        [
            "group",
            "hostname",
            "hosts",
            "mtab",
            "passwd",
            "resolv.conf"
        ]
    );
    assert_eq!(
        std::fs::read_link(data.join("mtab")).unwrap(),
        std::path::Path::new("/proc/mounts")
    );
    let id = h.inspect("u1")["Id"].as_str().unwrap().to_string();
    let m = &h.inspect("u1")["Mounts"][0];
    assert_eq!(
        (&m["Type"], &m["Name"], &m["Mode"], &m["RW"]),
        (&json!("volume"), &json!("myvol"), &json!("z"), &json!(true))
    );
    assert_eq!(
        h.inspect("u1")["HostConfig"]["Binds"],
        json!(["myvol:/etc"])
    );
    // A volume with content is not filled again.
    std::fs::remove_file(data.join("group")).unwrap();
    h.ok(&["run", "--rm", "-v", "myvol:/etc", "busybox", "true"]);
    assert!(
        !data.join("group").exists(),
        "a volume with content was filled again"
    );

    // In use by a (stopped) container: refused, with Docker's message.
    let (code, out) = h.code(&["volume", "rm", "myvol"]);
    assert_eq!(code, 1, "{}", describe(&out));
    assert_eq!(
        stderr(&out),
        format!("hull: remove myvol: volume is in use - [{id}]\n")
    );
    // nocopy: the image's /etc is not copied; the container's own files are still mounted
    // over it, their mount points made in the volume (Docker's: these three, nothing else).
    assert_eq!(
        h.ok(&[
            "run",
            "--rm",
            "-v",
            "nc:/etc:nocopy",
            "busybox",
            "cat",
            "/etc/hosts"
        ]),
        HOSTS
    );
    assert_eq!(
        support::entries(&h.root().join("volumes/nc/_data")),
        ["hostname", "hosts", "resolv.conf"]
    );
    h.ok(&["volume", "rm", "nc"]);
    // A run refused for another reason makes no volume.
    let (code, _) = h.code(&[
        "run",
        "--rm",
        "--stop-signal",
        "FOO",
        "-v",
        "made:/x",
        "busybox",
        "true",
    ]);
    assert_eq!(code, 125);
    let (code, _) = h.code(&["run", "--rm", "-v", "made:/x", "no-such-image", "true"]);
    assert_eq!(code, 125);
    assert_eq!(h.ok(&["volume", "ls", "-q"]), "myvol\n");
    // rm -v does not remove a named volume.
    h.ok(&["rm", "-v", "u1"]);
    assert_eq!(h.ok(&["volume", "ls", "-q"]), "myvol\n");
    assert_eq!(h.ok(&["volume", "rm", "myvol"]), "myvol\n");
}

#[test]
fn build_discards_what_a_run_step_writes_to_a_volume() {
    // Docker: changes to a VOLUME's path after the VOLUME instruction are discarded.
    let h = Hull::new();
    h.build(
        "vb",
        "FROM busybox\nRUN mkdir /data && echo a > /data/a\nVOLUME /data\nRUN echo b > /data/b && ls /data\n",
        &[],
    );
    assert_eq!(h.ok(&["run", "--rm", "vb", "ls", "/data"]), "a\n");
    assert_eq!(
        h.ok(&["volume", "ls", "-q"]),
        "",
        "the build's volumes are gone"
    );
}

#[test]
fn system_df_counts_images_containers_and_volumes() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]);
    let size = h.inspect("busybox")["Size"].as_u64().unwrap();
    let human = docker_size(size);
    assert_eq!(
        h.ok(&["system", "df"]),
        format!(
            "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
Images          1         0         {human:<10}{human} (100%)
Containers      0         0         0B        0B
Local Volumes   0         0         0B        0B
Build Cache     0         0         0B        0B
"
        )
    );
    // Docker, after the same: 50 KiB in the container's layer, 100 KiB in a volume, and a
    // second volume holding 8 bytes that no container uses.
    h.ok(&[
        "run",
        "--name",
        "k1",
        "-v",
        "keepme:/data",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/data/z bs=1k count=100 2>/dev/null; dd if=/dev/zero of=/zz bs=1k count=50 2>/dev/null",
    ]);
    h.ok(&[
        "run",
        "--rm",
        "-v",
        "other:/o",
        "busybox",
        "sh",
        "-c",
        "echo abcdefg > /o/f",
    ]);
    assert_eq!(
        h.ok(&["system", "df"]),
        format!(
            "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
Images          1         1         {human:<10}0B (0%)
Containers      1         0         51.2kB    51.2kB (100%)
Local Volumes   2         1         102.4kB   8B (0%)
Build Cache     0         0         0B        0B
"
        )
    );
    assert_eq!(
        h.ok(&["system", "df", "--format", "{{.Type}}: {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}"]),
        format!(
            "Images: 1 1 {human} 0B (0%)\nContainers: 1 0 51.2kB 51.2kB (100%)\nLocal Volumes: 2 1 102.4kB 8B (0%)\nBuild Cache: 0 0 0B 0B\n"
        )
    );
}

/// go-units' HumanSize: decimal units, four significant digits.
fn docker_size(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let digits = if v >= 100.0 {
        1
    } else if v >= 10.0 {
        2
    } else {
        3
    };
    let mut s = format!("{v:.digits$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", units[i])
}
