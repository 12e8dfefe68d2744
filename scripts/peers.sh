#!/usr/bin/env bash
# hullrt beside its peers: the OCI conformance suite (the tests/oci_*.rs targets) run once per
# runtime (hullrt, runc, and crun when it can run on this host), then a table of the results.
#
#     sudo bash scripts/peers.sh
#
# The suite picks its runtime from HULL_OCI_RUNTIME. Full logs: target/peers/<runtime>.log.
# Exits 0 once the table is printed, whatever the runtimes scored; non-zero if it cannot get
# that far (no hullrt build, the suite does not compile).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_root
cd "$HULL_REPO"
ensure_apt_packages busybox-static runc libseccomp-dev
(ensure_apt_packages crun) || warn "could not install crun: comparing with runc only"
ensure_python3
ensure_rust

shopt -s nullglob
SUITES=() TESTS=()
for f in tests/oci_*.rs; do
    SUITES+=("$(basename "$f" .rs)")
    TESTS+=(--test "$(basename "$f" .rs)")
done
shopt -u nullglob
[ "${#TESTS[@]}" -gt 0 ] || die "no conformance tests found (tests/oci_*.rs)"

say "building hullrt and the conformance suite (${SUITES[*]})"
cargo build --quiet -p hullrt || die "cargo build -p hullrt failed"
cargo test --quiet --no-run "${TESTS[@]}" 2>/dev/null ||
    die "the conformance suite does not compile: cargo test --no-run ${TESTS[*]}"
HULLRT=$HULL_TARGET/debug/hullrt
LOGS=$HULL_TARGET/peers
mkdir -p "$LOGS"

WORK=$(mktemp -d /tmp/hull-peers.XXXXXX)
chmod 755 "$WORK"
TAG=hull-peers-$$
cleanup() {
    local rc=$? name
    set +e
    for name in "${!PATHS[@]}"; do
        "${PATHS[$name]}" --root "$WORK/root-$name" delete --force "$TAG-probe" >/dev/null 2>&1
    done
    remove_cgroups_named "$TAG-*"
    rm -rf "$WORK"
    exit "$rc"
}
declare -A PATHS=()
trap cleanup EXIT
trap 'exit 130' INT TERM

# The runtimes, in the table's order.
NAMES=(hullrt runc crun)
PATHS[hullrt]=$HULLRT
PATHS[runc]=$(command -v runc || true)
PATHS[crun]=$(command -v crun || true)

# A bundle for the probe: can this runtime run a /bin/true container here at all?
make_busybox_rootfs "$WORK/bundle/rootfs"
"$HULLRT" spec --bundle "$WORK/bundle" || die "hullrt spec failed"
edit_json "$WORK/bundle/config.json" "
c['process']['terminal'] = False
c['process']['args'] = ['/bin/true']
c['linux']['cgroupsPath'] = '$TAG-probe'"

# probe NAME: prints why the runtime cannot run here; prints nothing when it can.
probe() {
    local name=$1 rt=${PATHS[$1]} out
    [ -n "$rt" ] || {
        echo "not installed"
        return
    }
    out=$("$rt" --version 2>&1) || {
        echo "'$name --version' failed: $(tail -n1 <<<"$out")"
        return
    }
    out=$("$rt" --root "$WORK/root-$name" run --bundle "$WORK/bundle" "$TAG-probe" </dev/null 2>&1) || {
        # crun 1.8 on a cgroup v1/v2 hybrid host: "cgroups in hybrid mode not supported, ..."
        tail -n1 <<<"$out" | sed 's/^.*level=error msg="\(.*\)"$/\1/'
        "$rt" --root "$WORK/root-$name" delete --force "$TAG-probe" >/dev/null 2>&1 || true
    }
}

# summarize LOG: "PASSED FAILED NAMES" from libtest's output: every test binary's
# "test result: ok. N passed; M failed; ..." line and its "test NAME ... FAILED" lines.
summarize() {
    awk '
        /Running tests\/.*\.rs/ { bin = $2; sub(/^tests\//, "", bin); sub(/\.rs$/, "", bin) }
        /^test result:/ {
            seen = 1
            for (i = 2; i <= NF; i++) {
                if ($(i) ~ /^passed;?$/) p += $(i - 1)
                if ($(i) ~ /^failed;?$/) f += $(i - 1)
            }
        }
        /^test .* \.\.\. FAILED$/ { names = names (names ? "," : "") bin "::" $2 }
        END { if (!seen) print "- - -"; else print p + 0, f + 0, (names ? names : "-") }
    ' "$1"
}

# Failures that are the peer's own documented bugs, not a flaw of the checks: each names the
# upstream issue, so a reader can verify it.
declare -A KNOWN_BUGS=(
    ["runc:oci_lifecycle::hooks_run_in_order_and_receive_the_state_on_stdin"]="runc 1.1 runs poststart hooks during create, before start (opencontainers/runc#1710)"
)

declare -A ROW=()
for name in "${NAMES[@]}"; do
    why=$(probe "$name")
    if [ -n "$why" ]; then
        say "$name: cannot run here: $why"
        ROW[$name]="cannot run here: $why"
        continue
    fi
    say "$name: running the conformance suite (log: ${LOGS#"$HULL_REPO"/}/$name.log)"
    rc=0
    HULL_OCI_RUNTIME=${PATHS[$name]} cargo test --no-fail-fast "${TESTS[@]}" >"$LOGS/$name.log" 2>&1 || rc=$?
    read -r passed failed names < <(summarize "$LOGS/$name.log")
    if [ "$passed" = - ]; then
        ROW[$name]="the suite did not run (cargo test exited $rc): see the log"
    else
        ROW[$name]="$passed|$failed|${names//,/, }"
        [ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || ROW[$name]+=" (cargo test exited $rc: see the log)"
    fi
done

header "OCI conformance suite (${SUITES[*]}), once per runtime"
printf '%-8s %7s %7s  %s\n' runtime passed failed "failing tests"
for name in "${NAMES[@]}"; do
    row=${ROW[$name]}
    if [[ $row == *"|"*"|"* ]]; then
        IFS='|' read -r passed failed names <<<"$row"
        [ "$names" = - ] && names=""
        printf '%-8s %7s %7s  %s\n' "$name" "$passed" "$failed" "$names"
        for t in ${names//,/ }; do
            known=${KNOWN_BUGS["$name:$t"]:-}
            [ -z "$known" ] || printf '%-8s %7s %7s    ^ known %s bug: %s\n' "" "" "" "$name" "$known"
        done
    else
        printf '%-8s %s\n' "$name" "$row"
    fi
done
