#!/usr/bin/env bash
# The tour: build hullrt, hull and hull-lab (once, in release mode), then watch hullrt put a busybox shell in its own PID and UTS namespaces and
# in a memory cgroup that the OOM killer enforces.
#
#     sudo bash scripts/tour.sh
#
# HULL_RT=/path/to/runtime runs the tour with another runc-compatible runtime (e.g. runc) and
# skips the build. Everything the tour creates lives in one temporary directory and in cgroups
# named hull-tour-<pid>-* below this shell's own cgroup; all of it is removed on exit.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_root
cd "$HULL_REPO"

# ---------------------------------------------------------------------------------------------
# Tools and the runtime
# ---------------------------------------------------------------------------------------------
ensure_apt_packages busybox-static libseccomp-dev
ensure_python3
if [ -n "${HULL_RT:-}" ]; then
    RT=$(command -v "$HULL_RT") || die "HULL_RT=$HULL_RT: no such runtime"
    say "using HULL_RT=$RT (not building hullrt)"
else
    ensure_rust
    # All three binaries at once: the labs at the end need hull and hull-lab too.
    say "building hullrt, hull and hull-lab (cargo build --release -p hullrt -p hull -p hull-lab)"
    cargo build --quiet --release -p hullrt -p hull -p hull-lab ||
        die "cargo build --release -p hullrt -p hull -p hull-lab failed"
    RT=$HULL_TARGET/release/hullrt
    for bin in hullrt hull hull-lab; do
        [ -x "$HULL_TARGET/release/$bin" ] || die "the build did not produce $HULL_TARGET/release/$bin"
    done
fi
RT_NAME=$(basename "$RT")

# ---------------------------------------------------------------------------------------------
# A scratch area, cleaned up whatever happens
# ---------------------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/hull-tour.XXXXXX)
chmod 755 "$WORK"
STATE=$WORK/state  # the runtime's --root
BUNDLE=$WORK/bundle
TAG=hull-tour-$$   # container ids and cgroup names carry it
IDS=()

cleanup() {
    local rc=$? id
    set +e
    for id in "${IDS[@]}"; do
        "$RT" --root "$STATE" delete --force "$id" >/dev/null 2>&1
    done
    remove_cgroups_named "$TAG-*"
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rt() { "$RT" --root "$STATE" "$@"; }

# configure STEP PYTHON [ARG...]: config.json = the spec template + a relative cgroupsPath + an
# edit (see edit_json in lib.sh: `c` is the config, `a` the extra arguments).
configure() {
    local step=$1 code=$2
    shift 2
    cp "$BUNDLE/config.template.json" "$BUNDLE/config.json"
    edit_json "$BUNDLE/config.json" "
c['process']['terminal'] = False
c['linux']['cgroupsPath'] = '$TAG-$step'
$code" "$@"
}

# wait_stopped ID: polls `state` until the container has stopped (20 s at most).
wait_stopped() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ "$(rt state "$1" | json_get - 'c["status"]')" = stopped ] && return 0
        sleep 0.1
    done
    die "container $1 did not stop within 20 s"
}

say "building a busybox bundle in $BUNDLE"
make_busybox_rootfs "$BUNDLE/rootfs"
rt spec --bundle "$BUNDLE" || die "$RT_NAME spec failed"
mv "$BUNDLE/config.json" "$BUNDLE/config.template.json"
note "config.json comes from '$RT_NAME spec'; each step below edits a copy of it"

# ---------------------------------------------------------------------------------------------
header "1. PID namespace: the container's first process is its PID 1"
# ---------------------------------------------------------------------------------------------
configure pid 'c["process"]["args"] = a' \
    sh -c 'echo "my PID is $$"; ps -o pid,comm; echo "--"; exec sleep 600'
id=$TAG-pid
IDS+=("$id")
note "$RT_NAME create --pid-file pid $id; $RT_NAME start $id"
rt create --bundle "$BUNDLE" --pid-file "$WORK/pid" "$id" </dev/null >"$WORK/pid.out" 2>&1 ||
    die "create failed: $(cat "$WORK/pid.out")"
rt start "$id"
for ((i = 0; i < 100; i++)); do
    grep -qx -- -- "$WORK/pid.out" && break
    sleep 0.05
done
host_pid=$(cat "$WORK/pid")
echo "inside the container (sh, then ps):"
sed -e '/^--$/d' -e 's/^/    /' "$WORK/pid.out"
echo "on the host, the same process (--pid-file says $host_pid):"
echo "    $(grep '^NSpid' "/proc/$host_pid/status" | tr -s '\t' ' ')   <- its PID on the host, then in its namespace"
echo "    $(tr '\0' ' ' <"/proc/$host_pid/cmdline")"
note "$RT_NAME delete --force $id"
rt delete --force "$id"

# ---------------------------------------------------------------------------------------------
header "2. UTS namespace: the container has its own hostname"
# ---------------------------------------------------------------------------------------------
configure uts 'c["hostname"] = "hull-tour"; c["process"]["args"] = a' hostname
id=$TAG-uts
IDS+=("$id")
echo "host:      $(uname -n)"
printf 'container: '
rt run --bundle "$BUNDLE" "$id" </dev/null
note "config.json: \"hostname\": \"hull-tour\"; $RT_NAME run ran 'hostname' inside"

# ---------------------------------------------------------------------------------------------
header "3. cgroups: a 32 MiB memory limit, and the OOM killer enforcing it"
# ---------------------------------------------------------------------------------------------
# Without swap the limit is the whole story; with swap, also forbid swapping (swap = limit).
limit=$((32 * 1024 * 1024))
if [ "$(wc -l </proc/swaps)" -gt 1 ]; then mem="{'limit': $limit, 'swap': $limit}"; else mem="{'limit': $limit}"; fi
configure oom "c['linux'].setdefault('resources', {})['memory'] = $mem; c['process']['args'] = a" \
    tail /dev/zero
echo "tail /dev/zero reads one endless line: its buffer grows until it hits the limit."
id=$TAG-oom-run
IDS+=("$id")
set +e
rt run --bundle "$BUNDLE" "$id" </dev/null
status=$?
set -e
echo "$RT_NAME run exited with $status   <- 128 + 9: SIGKILL, sent by the kernel's OOM killer"
[ "$status" -eq 137 ] || warn "expected 137"

id=$TAG-oom
IDS+=("$id")
note "again with $RT_NAME create + start, then $RT_NAME state once it has stopped:"
rt create --bundle "$BUNDLE" "$id" </dev/null >"$WORK/oom.out" 2>&1 ||
    die "create failed: $(cat "$WORK/oom.out")"
rt start "$id"
wait_stopped "$id"
if [ "$RT_NAME" = hullrt ]; then
    # --hull adds hullrt's own facts beside the spec's state document.
    rt state --hull "$id" >"$WORK/state.json"
else
    rt state "$id" >"$WORK/state.json"
fi
echo "    status: $(json_get "$WORK/state.json" 'c["status"]')"
oom=$(json_get "$WORK/state.json" '{True: "true", False: "false"}.get(c.get("org.hull.oom-killed"), "")')
if [ -n "$oom" ]; then
    echo "    org.hull.oom-killed: $oom   <- read from the cgroup's OOM counter (hullrt state --hull)"
else
    echo "    (no org.hull.oom-killed: $RT_NAME does not record OOM kills; hullrt state --hull does)"
fi
rt delete "$id"

header "Done."
echo "Every container, cgroup and file of the tour is being removed. More: README.md, book/."
LAB=$HULL_TARGET/release/hull-lab
if [ -z "${HULL_RT:-}" ] && [ -x "$LAB" ]; then
    echo
    echo "Next, the labs: each in a disposable sandbox of its own, graded as you go."
    echo "The first one is one command away:"
    echo "    sudo $LAB start namespaces"
    echo "(sudo $LAB list shows all five; in the lab's shell, hull-lab check grades your step.)"
    if [ -t 0 ] && [ -t 1 ]; then
        printf '\nStart the namespaces lab now? [Y/n] '
        read -r answer || answer=n
        case "$answer" in
            ""|y|Y|yes) "$LAB" start namespaces || true ;;
            *) echo "Later, then: sudo $LAB start namespaces" ;;
        esac
    fi
else
    echo
    echo "Next, the labs: cargo build --release --workspace --bins, then"
    echo "    sudo target/release/hull-lab start namespaces"
fi
