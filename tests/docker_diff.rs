//! The differential suite: the same commands in Docker and in hull, compared.
//!
//! Docker is Debian's docker.io (20.10), a dockerd of this test's own (tests/support/docker.rs:
//! its own directories, mount namespace and cgroup parent, no network changes); hull runs with a
//! `HULL_ROOT` of its own and `HULL_BRIDGE=none` ([`Hull`]). Both get the same `busybox` (hull's
//! own, imported into Docker) and build the same images from the same Dockerfiles ([`IMAGES`]).
//!
//! Each line of [`CASES`] is one case: a name, its steps, and what to compare (the steps'
//! placeholders and the flags are explained in tests/support/differ.rs, which runs them). Every
//! case of [`CASES`] must match; all mismatches are reported together at the end. The cases
//! where hull differs from Docker 20.10 on purpose are in [`DEVIATIONS`], run only with
//! `HULL_DIFF_PENDING=1` (no case is pending any more: the last ones of issue 12 match).
//! `HULL_DIFF_ONLY=TEXT` runs only the cases whose name contains TEXT.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use support::differ::*;
use support::{write_file, Docker, Hull};

#[rustfmt::skip]
const IMAGES: &[Image] = &[
    image("ep-exec", "FROM busybox\nENTRYPOINT [\"echo\", \"ep\"]\n"),
    image("ep-exec-cmd", "FROM busybox\nENTRYPOINT [\"echo\", \"ep\"]\nCMD [\"cmd\"]\n"),
    image("ep-shell", "FROM busybox\nENTRYPOINT echo ep $0 $@\nCMD [\"cmd\"]\n"),
    image("cmd-exec", "FROM busybox\nCMD [\"echo\", \"cmd\"]\n"),
    image("cmd-shell", "FROM busybox\nCMD echo cmd $HOME\n"),
    image("ep-exec-cmd-shell", "FROM busybox\nENTRYPOINT [\"echo\", \"ep\"]\nCMD echo cmd\n"),
    image("no-cmd", "FROM busybox\nENTRYPOINT []\nCMD []\n"),
    image("env-img", "FROM busybox\nENV E1=v1 E2=\"a b\"\nENV E3=$E1-x\n"),
    Image { tag: "arg-img", dockerfile: "FROM busybox\nARG V=default\nENV FROMARG=$V\nRUN echo \"$V\" > /v\n", build_args: &["V=given"] },
    image("arg-default", "FROM busybox\nARG V=default\nENV FROMARG=$V\nRUN echo \"$V\" > /v\n"),
    image("wd-img", "FROM busybox\nWORKDIR /app\nUSER nobody\n"),
    image("user-img", "FROM busybox\nUSER 1000:1000\n"),
    image("label-img", "FROM busybox\nLABEL a=b c=\"d e\"\n"),
    image("label-quoted-key", "FROM busybox\nLABEL \"with space\"=\"c d\"\n"),
    image("label-words", "FROM busybox\nENV E=env\nLABEL 'single q'='$E' \"dq\"=\"$E \\\"x\\\" \\\\ \\n\" esc\\ key=a\\ b empty=\"\" k=v=w\nLABEL legacy some \"value\" $E\n"),
    image("stopsignal-img", "FROM busybox\nSTOPSIGNAL SIGUSR1\n"),
    image("multi-stage", "FROM busybox AS first\nRUN echo staged > /x\nFROM busybox\nCOPY --from=first /x /x\n"),
    image("wh", "FROM busybox\nRUN echo one > /f && mkdir /d && echo old > /d/old\nRUN rm /f && rm -rf /d && mkdir /d && echo new > /d/new && rm /etc/group\n"),
];

/// Build contexts that are not built beforehand (the cases build them): `{dir}/ctx-NAME`.
const CONTEXTS: &[(&str, &str)] = &[
    ("bad-instruction", "FROM busybox\nFROBNICATE now\n"),
    ("run-fails", "FROM busybox\nRUN exit 3\n"),
];

/// What `run` shows of the whiteouts of `wh`: /f and /etc/group deleted, /d replaced.
const WH_CHECK: &str = "run --rm {c}-{peer} sh -c 'ls -A /d; test -e /f || echo no-f; test -e /etc/group || echo no-group'";

/// The fields of `inspect` that show how the command was resolved.
const COMMAND_FIELDS: &[&str] = &["/Path", "/Args", "/Config/Cmd", "/Config/Entrypoint"];

#[rustfmt::skip]
const CASES: &[Case] = &[
    // run: output and exit codes
    case("echo", &["run --rm busybox echo hello world"], STD),
    case("sh-args", &["run --rm busybox sh -c 'echo $0 $1 $#' a b"], STD),
    case("default-cmd", &["run --rm busybox"], STD),
    case("exit-3", &["run --rm busybox sh -c 'exit 3'"], STD),
    case("exit-255", &["run --rm busybox sh -c 'exit 255'"], STD),
    case("not-found-127", &["run --rm busybox nosuchcmd"], STD),
    case("not-found-path-127", &["run --rm busybox /no/such/file"], STD),
    case("not-executable-126", &["run --rm busybox /etc/passwd"], STD),
    case("directory-126", &["run --rm busybox /tmp"], STD),
    case("no-such-image-125", &["run --rm nosuchimage"], STD),
    case("no-command-125", &["run --rm no-cmd"], STD),
    case("entrypoint-cleared-no-cmd-125", &["run --rm --entrypoint '' busybox"], STD),
    case("read-only", &["run --rm --read-only busybox touch /x"], STD),
    case("read-only-tmpfs", &["run --rm --read-only --tmpfs /tmp busybox sh -c 'touch /tmp/x && echo ok'"], STD),
    case("hostname-flag", &["run --rm --hostname box busybox hostname"], STD),
    case("hostname-default-is-short-id", &["run --name {c} busybox hostname", "inspect -f '{{.Config.Hostname}}' {c}"], STD),
    case("publish-with-network-none", &["run --rm --network none -p 8080:80 busybox echo ok"], STD),
    case("env-without-name-125", &["run --rm -e =x busybox true"], STD | ERR),
    case("memory-bad-size-125", &["run --rm -m abc busybox true"], STD),
    case("name-invalid-125", &["run --name 'bad name' busybox true"], STD),
    case("name-taken-125", &["- run --name {c} busybox true", "run --name {c} busybox true"], STD),
    case("state-after-exit", &["run --name {c} busybox sh -c 'exit 7'", "inspect -f '{{.State.ExitCode}} {{.State.Status}} {{.State.Running}}' {c}"], STD),
    // ENTRYPOINT and CMD: each image without arguments (and its inspect), with arguments,
    // with --entrypoint, with --entrypoint ''.
    fields("ep-exec", &["run --name {c} ep-exec"], COMMAND_FIELDS),
    case("ep-exec+args", &["run --rm ep-exec a b"], STD),
    fields("ep-exec+entrypoint", &["run --name {c} --entrypoint echo ep-exec x"], COMMAND_FIELDS),
    case("ep-exec+no-entrypoint", &["run --rm --entrypoint '' ep-exec echo y"], STD),
    fields("ep-exec-cmd", &["run --name {c} ep-exec-cmd"], COMMAND_FIELDS),
    case("ep-exec-cmd+args", &["run --rm ep-exec-cmd a b"], STD),
    case("ep-exec-cmd+entrypoint", &["run --rm --entrypoint echo ep-exec-cmd x"], STD),
    fields("ep-exec-cmd+no-entrypoint", &["run --name {c} --entrypoint '' ep-exec-cmd echo y"], COMMAND_FIELDS),
    fields("ep-shell", &["run --name {c} ep-shell"], COMMAND_FIELDS),
    fields("ep-shell+args", &["run --name {c} ep-shell a b"], COMMAND_FIELDS),
    case("ep-shell+entrypoint", &["run --rm --entrypoint echo ep-shell x"], STD),
    case("ep-shell+no-entrypoint", &["run --rm --entrypoint '' ep-shell echo y"], STD),
    fields("cmd-exec", &["run --name {c} cmd-exec"], COMMAND_FIELDS),
    case("cmd-exec+args-127", &["run --rm cmd-exec a b"], STD),
    case("cmd-exec+entrypoint", &["run --rm --entrypoint echo cmd-exec x"], STD),
    case("cmd-exec+no-entrypoint", &["run --rm --entrypoint '' cmd-exec echo y"], STD),
    fields("cmd-shell", &["run --name {c} cmd-shell"], COMMAND_FIELDS),
    case("cmd-shell+args-127", &["run --rm cmd-shell a b"], STD),
    case("cmd-shell+entrypoint", &["run --rm --entrypoint echo cmd-shell x"], STD),
    case("cmd-shell+no-entrypoint", &["run --rm --entrypoint '' cmd-shell echo y"], STD),
    fields("ep-exec-cmd-shell", &["run --name {c} ep-exec-cmd-shell"], COMMAND_FIELDS),
    case("ep-exec-cmd-shell+args", &["run --rm ep-exec-cmd-shell a b"], STD),
    case("ep-exec-cmd-shell+entrypoint", &["run --rm --entrypoint echo ep-exec-cmd-shell x"], STD),
    case("ep-exec-cmd-shell+no-entrypoint", &["run --rm --entrypoint '' ep-exec-cmd-shell echo y"], STD),
    case("no-cmd+args", &["run --rm no-cmd echo z"], STD),
    case("no-cmd+entrypoint", &["run --rm --entrypoint echo no-cmd x"], STD),
    case("busybox+entrypoint-and-args", &["run --rm --entrypoint sh busybox -c 'echo $0'"], STD),
    // the environment, ENV and ARG
    case("env-flag", &["run --rm -e FOO=bar busybox sh -c 'echo $FOO'"], STD),
    case("env-from-client", &["run --rm -e HULL_DIFF_PASS busybox sh -c 'echo $HULL_DIFF_PASS'"], STD),
    case("env-missing-from-client", &["run --rm -e HULL_DIFF_UNSET busybox sh -c 'echo ${HULL_DIFF_UNSET-unset}'"], STD),
    case("env-last-wins", &["run --rm -e A=1 -e A=2 busybox sh -c 'echo $A'"], STD),
    case("env-empty-value", &["run --rm -e A= busybox sh -c 'echo \"[${A-unset}]\"'"], STD),
    case("env-file", &["run --rm --env-file {dir}/env.list busybox sh -c 'echo $FROM_FILE [$EMPTY] $HULL_DIFF_PASS'"], STD),
    case("env-path-override", &["run --rm -e PATH=/bin busybox sh -c 'echo $PATH'"], STD),
    case("env-image", &["run --rm env-img sh -c 'echo \"$E1|$E2|$E3\"'"], STD),
    case("env-flag-over-image", &["run --rm -e E1=flag env-img sh -c 'echo $E1 $E3'"], STD),
    case("arg-given", &["run --rm arg-img sh -c 'cat /v; echo $FROMARG ${V-unset}'"], STD),
    case("arg-default", &["run --rm arg-default sh -c 'cat /v; echo $FROMARG'"], STD),
    // user, workdir and HOME
    case("home-root", &["run --rm busybox sh -c 'echo $HOME'"], STD),
    case("home-nobody", &["run --rm -u nobody busybox sh -c 'echo $HOME'"], STD),
    case("home-unknown-uid", &["run --rm -u 4321 busybox sh -c 'echo $HOME'"], STD),
    case("home-user", &["run --rm -u user busybox sh -c 'echo $HOME'"], STD),
    case("home-from-env", &["run --rm -u nobody -e HOME=/custom busybox sh -c 'echo $HOME'"], STD),
    case("user-image", &["run --rm user-img sh -c 'echo $HOME; id -u; id -g'"], STD),
    case("user-ids", &["run --rm -u 1000:1000 busybox sh -c 'id -u; id -g'"], STD),
    case("user-name-and-group", &["run --rm -u nobody:user busybox sh -c 'id -u; id -g'"], STD),
    case("user-unknown-uid-gid", &["run --rm -u 4321 busybox sh -c 'id -u; id -g'"], STD),
    case("user-missing-125", &["run --rm -u nosuchuser busybox true"], STD),
    case("group-missing-125", &["run --rm -u 0:nosuchgroup busybox true"], STD),
    case("workdir", &["run --rm -w /tmp busybox pwd"], STD),
    case("workdir-created", &["run --rm -w /new/dir busybox pwd"], STD),
    case("workdir-relative-125", &["run --rm -w rel busybox pwd"], STD),
    case("workdir-image", &["run --rm wd-img sh -c 'pwd; id -u; echo $HOME'"], STD),
    case("workdir-flags-over-image", &["run --rm -w /tmp -u root wd-img sh -c 'pwd; id -u'"], STD),
    fields("user-workdir-inspect", &["run --name {c} -u nobody -w /tmp busybox true"], &["/Config/User", "/Config/WorkingDir", "/State/ExitCode"]),
    // exec
    case("exec", &["- run -d --name {c} busybox sleep 60", "exec {c} echo hi", "exec {c} sh -c 'exit 4'", "exec -u nobody -w /tmp {c} sh -c 'pwd; id -u; echo $HOME'", "exec -e A=b {c} sh -c 'echo $A'"], STD),
    // (Docker 20.10 prints why on stdout: see DEVIATIONS.)
    case("exec-not-executable-126", &["- run -d --name {c} busybox sleep 60", "exec {c} /etc/passwd"], CODE),
    case("exec-tty-without-terminal", &["- run -d --name {c} busybox sleep 60", "exec -t {c} echo hi", "exec -it {c} true"], STD | ERR),
    case("run-tty-without-terminal", &["run --rm -t busybox echo hi"], STD | ERR),
    case("run-interactive-tty-without-terminal", &["run --rm -it busybox true"], STD | ERR),
    case("exec-stopped", &["- run --name {c} busybox true", "exec {c} true"], STD | ERR),
    // lifecycle: signals, stop, rm, logs, diff
    case("kill-137", &["- run -d --name {c} busybox sleep 60", "kill {c}", "@wait {c}", "inspect -f '{{.State.ExitCode}} {{.State.Status}}' {c}"], STD),
    case("kill-term-trapped", &["- run -d --name {c} busybox sh -c 'trap \"exit 42\" TERM; while true; do sleep 1; done'", "kill -s TERM {c}", "@wait {c}", "inspect -f '{{.State.ExitCode}}' {c}"], STD),
    case("kill-stopped", &["- run --name {c} busybox true", "kill {c}"], STD),
    case("kill-bad-signal", &["- run -d --name {c} busybox sleep 60", "kill -s BOGUS {c}"], STD),
    case("stop-timeout-137", &["- run -d --name {c} busybox sleep 60", "stop -t 1 {c}", "inspect -f '{{.State.ExitCode}}' {c}"], STD),
    case("stop-trapped", &["- run -d --name {c} busybox sh -c 'trap \"exit 42\" TERM; while true; do sleep 1; done'", "stop {c}", "inspect -f '{{.State.ExitCode}}' {c}"], STD),
    case("stop-stopped", &["- run --name {c} busybox true", "stop {c}"], STD),
    case("rm-running", &["- run -d --name {c} busybox sleep 60", "rm {c}"], STD),
    case("rm-force", &["- run -d --name {c} busybox sleep 60", "rm -f {c}"], STD),
    case("run-detached", &["run -d --name {c} busybox sleep 60", "inspect -f '{{.State.Running}} {{.State.Status}}' {c}"], STD),
    case("stop-now-137", &["- run -d --name {c} busybox sleep 60", "stop -t 0 {c}", "inspect -f '{{.State.ExitCode}}' {c}"], STD),
    case("kill-signal-number", &["- run -d --name {c} busybox sleep 60", "kill -s 9 {c}", "@wait {c}", "inspect -f '{{.State.ExitCode}}' {c}"], STD),
    case("top-stopped", &["- run --name {c} busybox true", "top {c}"], STD),
    case("diff-nothing", &["- run --name {c} busybox true", "diff {c}"], STD),
    case("logs-nothing", &["- run --name {c} busybox true", "logs {c}"], STD),
    case("port-not-published", &["- run -d --name {c} busybox sleep 60", "port {c} 80"], STD | ERR),
    case("rmi-in-use", &["- run --name {c} user-img true", "rmi user-img"], STD),
    // bad references and flag values
    case("tag-invalid-name", &["tag busybox Bad:Name"], STD),
    case("run-invalid-reference-125", &["run --rm Bad:Name"], STD),
    case("memory-too-small-125", &["run --rm -m 4m busybox true"], STD),
    case("cpus-bad-125", &["run --rm --cpus abc busybox true"], STD),
    case("pids-limit-bad-125", &["run --rm --pids-limit abc busybox true"], STD),
    // volumes, /etc files, --init
    case("volume-bind", &["run --rm -v {dir}:/data busybox cat /data/env.list"], STD),
    case("volume-read-only", &["run --rm -v {dir}:/data:ro busybox touch /data/x"], STD),
    case("hostname-file", &["run --rm --hostname box busybox cat /etc/hostname"], STD),
    case("resolv-conf", &["run --rm busybox cat /etc/resolv.conf"], STD),
    case("init-stop-143", &["- run -d --name {c} --init busybox sleep 60", "stop {c}", "inspect -f '{{.State.ExitCode}}' {c}"], STD),
    case("logs", &["- run --name {c} busybox sh -c 'echo out; echo err >&2'", "logs {c}"], STD),
    case("diff", &["- run --name {c} busybox sh -c 'rm /etc/passwd; mkdir /new; touch /new/f; echo x >> /etc/group; rm -r /home/user'", "diff {c}"], STD | SORTED),
    case("port-network-none", &["- run -d --name {c} -p 8080:80 busybox sleep 60", "port {c}"], STD),
    // images: tag, rmi, inspect; whiteouts through build and through save/load both ways
    case("tag-run-rmi", &["tag busybox {c}:v1", "run --rm {c}:v1 echo ok", "rmi {c}:v1"], STD),
    case("image-inspect-config", &["image inspect -f '{{json .Config.Cmd}} {{json .Config.Entrypoint}}' ep-exec-cmd"], STD),
    case("inspect-image-workdir-user", &["inspect -f '{{.Config.WorkingDir}} {{.Config.User}}' wd-img"], STD),
    case("whiteouts-own-build", &["- tag wh {c}-{peer}", WH_CHECK], STD),
    case("whiteouts-save-load-both-ways", &["- tag wh {c}-{self}", "save -o {dir}/{c}-{self}.tar {c}-{self}", "load -i {dir}/{c}-{peer}.tar", WH_CHECK], STD),
    // templates
    case("tpl-name", &["- run --name {c} busybox true", "inspect -f '{{.Name}}' {c}"], STD),
    case("tpl-path-args", &["- run --name {c} busybox echo a 'b c'", "inspect -f '{{.Path}} {{.Args}} {{json .Args}}' {c}"], STD),
    case("tpl-upper-lower-title", &["- run --name {c} busybox true", "inspect -f '{{upper .Name}} {{lower \"AbC\"}} {{title .State.Status}}' {c}"], STD),
    case("tpl-join-len-index", &["- run --name {c} busybox echo a b c", "inspect -f '{{join .Args \",\"}} {{len .Args}} {{index .Args 1}}' {c}"], STD),
    case("tpl-index-map", &["- run --name {c} label-img true", "inspect -f '{{index .Config.Labels \"a\"}}|{{index .Config.Labels \"c\"}}|{{index .Config.Labels \"x\"}}|' {c}"], STD),
    case("tpl-json-object", &["- run --name {c} label-img true", "inspect -f '{{json .Config.Labels}}' {c}"], STD),
    case("tpl-null-lists", &["- run --name {c} busybox true", "inspect -f '{{.Config.Entrypoint}} {{json .Config.Entrypoint}} {{.Config.Cmd}}' {c}"], STD),
    case("tpl-container-and-image", &["- run --name {c} busybox true", "inspect -f '{{.Id}}' {c} busybox"], STD),
    case("tpl-if-range", &["- run --name {c} busybox echo a b", "inspect -f '{{if .State.Running}}up{{else}}down{{end}} {{range .Args}}[{{.}}]{{end}}' {c}"], STD),
    case("tpl-pipeline", &["- run --name {c} busybox true", "inspect -f '{{.Name | upper | len}}' {c}"], STD),
    case("tpl-several-objects", &["- run --name {c} busybox true", "- run --name {c2} busybox true", "inspect -f '{{.Name}}' {c} {c2}"], STD),
    case("tpl-table-is-text-in-inspect", &["- run --name {c} busybox true", "inspect -f 'table {{.Name}}' {c}"], STD),
    case("tpl-unknown-field", &["- run --name {c} busybox true", "inspect -f '{{.Nope}}' {c}"], STD | ERR),
    case("tpl-unknown-nested-field", &["- run --name {c} busybox true", "inspect -f 'x {{.State.Nope}}' {c}"], STD | ERR),
    case("tpl-unclosed-64", &["inspect -f '{{.Name' busybox"], STD | ERR),
    case("tpl-unknown-function-64", &["inspect -f '{{nope .Name}}' busybox"], STD | ERR),
    case("ps-names-command-image", &["- run --name {c} busybox echo hi", "ps -a --format '{{.Names}} {{.Command}} {{.Image}}'"], STD | SERIAL),
    case("ps-command-cut", &["- run --name {c} busybox echo 12345678901234567890", "ps -a --format '{{.Command}}'"], STD | SERIAL),
    case("ps-table", &["- run --name {c} busybox true", "ps -a --format 'table {{.Names}}\\t{{.Image}}\\t{{upper .State}}'"], STD | SERIAL),
    case("ps-json-function", &["- run --name {c} busybox true", "ps -a --format '{{json .Names}} {{.Names | len}}'"], STD | SERIAL),
    case("ps-unknown-field", &["- run --name {c} busybox true", "ps -a --format '{{.Names}}{{.Nope}}'"], STD | ERR | SERIAL),
    case("ps-command-quotes-args-with-spaces", &["- run --name {c} busybox sh -c 'echo hi'", "ps -a --format '{{.Command}}'"], STD | SERIAL),
    case("ps-format-tabs", &["- run --name {c} busybox true", "ps -a --format '{{.Names}}\\t{{.Image}}'"], STD | SERIAL),
    case("ps-empty", &["ps"], STD | SERIAL),
    case("ps-empty-table", &["ps --format 'table {{.Names}}\\t{{.Status}}'"], STD | SERIAL),
    case("ps-unknown-field-no-containers", &["ps --format '{{.Nope}}'"], STD | ERR | SERIAL),
    // missing objects
    case("inspect-missing", &["inspect nosuch"], STD | ERR),
    case("inspect-missing-format", &["inspect -f '{{.Name}}' nosuch"], STD | ERR),
    case("inspect-found-and-missing", &["- run --name {c} busybox true", "inspect -f '{{.Name}}' {c} nosuch"], STD | ERR),
    case("inspect-type-container-of-image", &["inspect --type container busybox"], STD | ERR),
    case("inspect-type-image-missing", &["inspect --type image nosuch"], STD | ERR),
    case("image-inspect-missing", &["image inspect nosuch"], STD | ERR),
    case("logs-missing", &["logs nosuch"], STD | ERR),
    case("exec-missing", &["exec nosuch true"], STD | ERR),
    case("top-missing", &["top nosuch"], STD | ERR),
    case("diff-missing", &["diff nosuch"], STD | ERR),
    case("stop-missing", &["stop nosuch"], STD | ERR),
    case("kill-missing", &["kill nosuch"], STD),
    case("rm-missing", &["rm nosuch"], STD | ERR),
    case("rm-force-missing", &["rm -f nosuch"], STD | ERR),
    case("port-missing", &["port nosuch"], STD | ERR),
    case("rmi-missing", &["rmi nosuch"], STD | ERR),
    case("tag-missing", &["tag nosuch x"], STD),
    case("history-missing", &["history nosuch"], STD),
    case("save-missing", &["save -o {dir}/nosuch.tar nosuch"], STD | ERR),
    case("load-missing-file", &["load -i {dir}/nosuch.tar"], STD),
    case("network-inspect-missing", &["network inspect nosuch"], STD | ERR),
    case("network-rm-missing", &["network rm nosuch"], STD | ERR),
    case("run-network-missing-125", &["run --rm --network nosuch busybox true"], STD),
    // usage errors
    case("usage-run-without-image", &["run"], STD | ERR),
    case("usage-unknown-flag", &["run --x busybox"], STD | ERR),
    case("usage-unknown-shorthand", &["run -z busybox"], STD | ERR),
    case("usage-flag-without-value", &["run --name"], STD | ERR),
    case("usage-inspect-without-args", &["inspect"], STD | ERR),
    case("usage-logs-without-args", &["logs"], STD | ERR),
    case("usage-exec-without-command", &["exec onlyone"], STD | ERR),
    case("usage-tag-one-arg", &["tag busybox"], STD | ERR),
    case("usage-ps-unknown-flag", &["ps --bogus"], STD | ERR),
    case("usage-network-create-without-name", &["network create"], STD | ERR),
    case("usage-unknown-command", &["nosuchcmd"], STD | ERR),
    case("usage-too-many-args", &["logs a b"], STD | ERR),
    case("usage-env-without-value", &["run -e"], STD | ERR),
    // container semantics: /etc/hosts, stop signals and timeouts, volumes, multi-stage, prune
    case("etc-hosts", &["run --rm --hostname box busybox cat /etc/hosts"], STD),
    case("stopsignal-inspect", &["inspect -f '{{.Config.StopSignal}}' stopsignal-img"], STD),
    case("stopsignal-stop", &["- run -d --name {c} stopsignal-img sh -c 'trap \"exit 7\" USR1; while true; do sleep 1; done'", "stop {c}", "inspect -f '{{.State.ExitCode}}' {c}"], STD),
    case("stop-signal-flag", &["- run -d --name {c} --stop-signal USR1 busybox sh -c 'trap \"exit 9\" USR1; while true; do sleep 1; done'", "stop {c}", "inspect -f '{{.State.ExitCode}} {{.Config.StopSignal}}' {c}"], STD),
    case("stop-timeout-flag", &["- run -d --name {c} --stop-timeout 1 busybox sleep 60", "stop {c}", "inspect -f '{{.State.ExitCode}} {{.Config.StopTimeout}}' {c}"], STD),
    case("named-volume", &["run --rm -v {c}:/data busybox sh -c 'echo x > /data/f && cat /data/f'"], STD),
    case("multi-stage", &["run --rm multi-stage cat /x"], STD),
    // prunes every stopped container of the shared roots: alone, not beside other cases
    case("container-prune", &["container prune -f"], CODE | SERIAL),
    case("id-groups-root", &["run --rm busybox id"], STD),
    case("id-groups-nobody", &["run --rm -u nobody busybox id"], STD),
    case("id-groups-unknown-uid", &["run --rm -u 4321 busybox id"], STD),
    case("id-groups-explicit-group", &["run --rm -u nobody:user busybox id"], STD),
    case("id-groups-explicit-ids", &["run --rm -u 4321:4321 busybox id"], STD),
    case("build-bad-instruction-1", &["build -q {dir}/ctx-bad-instruction"], CODE),
    case("build-run-fails-3", &["build -q {dir}/ctx-run-fails"], CODE),
    case("env-order", &["run --rm busybox env"], STD),
    case("exec-env-order", &["- run -d --name {c} busybox sleep 60", "exec {c} env"], STD),
    // a closed pipe ends the client quietly (killed by SIGPIPE, as Go programs are)
    case("closed-pipe-ps", &["ps -a"], CODE | ERR | CLOSED_STDOUT),
    case("closed-pipe-inspect", &["inspect busybox"], CODE | ERR | CLOSED_STDOUT),
    case("closed-pipe-images", &["images"], CODE | ERR | CLOSED_STDOUT),
    // exec -u: the user's groups as `run` gives them
    case("exec-id-groups", &["- run -d --name {c} busybox sleep 60", "exec -u nobody {c} id", "exec -u user {c} id", "exec -u nobody:user {c} id", "exec -u 4321 {c} id"], STD),
    // exec: a process that cannot start (Docker 20.10 prints why on stdout; statuses other
    // than 127's match: see DEVIATIONS), a user that does not exist, a stopped container
    case("exec-cannot-start-words", &["- run -d --name {c} busybox sleep 60", "exec {c} /etc/passwd", "exec {c} /tmp", "exec {c} nosuch"], ERR | DOCKER_ERR_ON_STDOUT),
    case("exec-bad-workdir-126", &["- run -d --name {c} busybox sleep 60", "exec -w /nonexist {c} true", "exec -w /etc/passwd {c} true"], CODE | ERR | DOCKER_ERR_ON_STDOUT),
    case("exec-missing-user-126", &["- run -d --name {c} busybox sleep 60", "exec -u nosuchuser {c} true"], CODE | ERR | DOCKER_ERR_ON_STDOUT),
    // build: LABEL keys and values as shell words
    case("label-quoted-key", &["inspect -f '{{json .Config.Labels}}' label-quoted-key"], STD),
    case("label-words", &["inspect -f '{{json .Config.Labels}}' label-words"], STD),
    // load and save through stdin and stdout, save -o where Docker refuses to write
    case("save-to-stdout", &["save busybox"], CODE),
    case("save-to-full-stdout", &["save busybox"], CODE | ERR | FULL_STDOUT),
    case("load-from-empty-stdin", &["load"], STD | ERR),
    case("save-over-a-device", &["save -o {dir}/a-device busybox"], STD | ERR),
    case("save-into-a-missing-directory", &["save -o {dir}/nosuchdir/x.tar busybox"], STD | ERR),
    // -p without a network of the container's own: kept in HostConfig, not published
    fields("publish-none-port-bindings", &["run --name {c} --network none -p 8080:80 busybox true"], &["/HostConfig/PortBindings", "/NetworkSettings/Ports"]),
    fields("publish-all-none-port-bindings", &["run --name {c} --network none -P -p 127.0.0.1:8080:80/udp busybox true"], &["/HostConfig/PortBindings", "/HostConfig/PublishAllPorts", "/NetworkSettings/Ports"]),
    fields("publish-host-port-bindings", &["run --name {c} --network host -p 8080:80 busybox true"], &["/HostConfig/PortBindings", "/NetworkSettings/Ports"]),
];

/// Where hull differs from Docker 20.10 on purpose (the book says so). Not run unless
/// HULL_DIFF_PENDING=1.
#[rustfmt::skip]
const DEVIATIONS: &[Case] = &[
    // Docker 20.10's exec says 126 for a program that is not found (newer Docker, and both
    // for `run`, say 127), and prints why on stdout.
    case("deviation-exec-not-found-127", &["- run -d --name {c} busybox sleep 60", "exec {c} nosuch"], STD),
    case("deviation-exec-error-on-stdout", &["- run -d --name {c} busybox sleep 60", "exec {c} /etc/passwd"], OUT),
    // `--format json` prints JSON (as Docker 23 and later); Docker 20.10 prints "json".
    case("deviation-ps-format-json", &["- run --name {c} busybox true", "ps -a --format json"], STD | SERIAL),
    case("deviation-inspect-format-json", &["inspect -f json busybox"], STD),
    // hull's init is /sbin/hull-init, Docker's /sbin/docker-init (tini).
    case("deviation-init-pid-1", &["run --rm --init busybox cat /proc/1/comm"], STD),
];

#[test]
fn hull_behaves_as_docker() {
    let started = Instant::now();
    let hull = Hull::new();
    let docker = Docker::start();
    docker.import_busybox(&hull);
    docker.assert_cgroups_below_own();
    let w = World {
        docker: &docker,
        hull_bin: hull.bin.clone(),
        hull_root: hull.root().to_path_buf(),
        dir: hull.dir("shared"),
    };
    for (name, dockerfile) in CONTEXTS {
        write_file(
            &w.dir.join(format!("ctx-{name}")).join("Dockerfile"),
            dockerfile,
            0o644,
        );
    }
    // A device for `save -o` (Docker refuses; a file renamed over it here harms nothing).
    nix::sys::stat::mknod(
        &w.dir.join("a-device"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .expect("mknod a-device (/dev/null's numbers) in the fixtures");
    write_file(
        &w.dir.join("env.list"),
        "# a comment\nFROM_FILE=yes\nEMPTY=\nHULL_DIFF_PASS\n",
        0o644,
    );
    let only = std::env::var("HULL_DIFF_ONLY").ok();
    let pending = std::env::var("HULL_DIFF_PENDING").is_ok_and(|v| v == "1");
    let mut cases: Vec<&Case> = CASES.iter().collect();
    if pending {
        cases.extend(DEVIATIONS);
    }
    if let Some(only) = &only {
        cases.retain(|c| c.name.contains(only.as_str()));
    }
    let images: Vec<&Image> = IMAGES.iter().collect();
    let mut mismatches = build_images(&w, &images);
    let ready = started.elapsed();
    mismatches.extend(run_cases(&w, &cases));
    let failed: BTreeSet<&str> = mismatches.iter().map(|m| m.case).collect();
    eprintln!(
        "docker_diff: {} cases, {} match (dockerd, busybox and the images ready in {:.1?}, \
         all in {:.1?}){}",
        cases.len(),
        cases.iter().filter(|c| !failed.contains(c.name)).count(),
        ready,
        started.elapsed(),
        match &only {
            Some(o) => format!(" — only cases named *{o}*"),
            None => String::new(),
        }
    );
    if !mismatches.is_empty() {
        let report: Vec<String> = mismatches.iter().map(|m| m.to_string()).collect();
        panic!(
            "{} of {} cases differ between Docker and hull:\n\n{}",
            failed.len(),
            cases.len(),
            report.join("\n\n")
        );
    }
}

/// The tables themselves: unique names, known placeholders, something compared, and at least
/// 80 cases that run.
#[test]
fn the_tables_are_well_formed() {
    let all: Vec<&Case> = CASES.iter().chain(DEVIATIONS).collect();
    let mut names = BTreeSet::new();
    for c in &all {
        assert!(names.insert(c.name), "two cases are named {}", c.name);
        assert!(!c.steps.is_empty(), "case {} has no steps", c.name);
        assert!(
            c.cmp & (OUT | CODE | ERR) != 0 || !c.fields.is_empty(),
            "case {} compares nothing",
            c.name
        );
        assert!(
            c.steps
                .iter()
                .any(|s| !s.starts_with("- ") && !s.starts_with('@')),
            "case {} has only setup steps",
            c.name
        );
        for s in c.steps {
            // A placeholder is `{name}` outside templates' `{{…}}` and the shell's `${…}`.
            let mut text = *s;
            while let Some(i) = text.find('{') {
                let after = &text[i + 1..];
                let name_len = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                let shell = text[..i].ends_with('$') || after.starts_with('{');
                if !shell && after[name_len..].starts_with('}') {
                    let p = &text[i..i + name_len + 2];
                    assert!(
                        ["{c}", "{c2}", "{dir}", "{self}", "{peer}"].contains(&p),
                        "case {}: unknown placeholder {p} in `{s}`",
                        c.name
                    );
                }
                text = after.strip_prefix('{').unwrap_or(after);
            }
        }
    }
    let images: BTreeSet<&str> = IMAGES.iter().map(|i| i.tag).collect();
    assert_eq!(images.len(), IMAGES.len(), "two images have the same tag");
    assert!(CASES.len() >= 80, "only {} cases", CASES.len());
}

#[test]
fn normalise_hides_ids_and_times_only() {
    let id = "0123456789abcdef".repeat(4);
    assert_eq!(
        normalise(&format!("{id} {} sha256:{id}", &id[..12])),
        "<id> <id> sha256:<id>"
    );
    assert_eq!(normalise("2024-01-01T00:00:00.123Z x"), "<time> x");
    assert_eq!(normalise("2024-01-01T00:00:00+01:00"), "<time>");
    assert_eq!(
        normalise("abc123 0123456789abc 12"),
        "abc123 0123456789abc 12"
    );
    assert_eq!(
        message("docker: Error response from daemon: No such container: x.\n\n"),
        "No such container: x."
    );
    assert_eq!(
        message("hull: No such container: x."),
        "No such container: x."
    );
    assert_eq!(
        message("open /tmp/d/tmp/docker-import-12/repositories: no such file or directory"),
        message("hull: open /r/images/tmp/load-1.2-0-3/repositories: no such file or directory")
    );
    assert_eq!(
        words(r#"run -e 'A=b c' "x \"y\"" z"#),
        ["run", "-e", "A=b c", "x \"y\"", "z"]
    );
    assert_eq!(
        expand("run --rm {c}-{peer}", "a+b", Side::Docker, Path::new("/d")),
        ["run", "--network", "none", "--rm", "dd-a-b-hull"]
    );
}
