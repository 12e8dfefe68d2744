#!/usr/bin/env bash
# All of Hull's checks, in the order CI runs them (.ci/run execs this script):
#
#     sudo bash scripts/test.sh
#
# formatting, build, clippy (warnings are errors), the tests (unit, property and the OCI
# conformance suite, which drives target/debug/hullrt and needs root), and a build of the benches.
# Stops at the first failing step and says what to do about it.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_root
cd "$HULL_REPO"
# podman (with conmon) and runc: tests/podman.rs drives hullrt through podman and compares it
# with runc; bsdutils has script(1), which gives `podman -it` a terminal there.
# golang-github-containers-common: the seccomp profile hull's default is compared with.
# chromium: tests/book.rs opens the built book in it (headless) to see a chapter render.
# qemu-system-x86 and kmod (depmod, modprobe): the lab VMs (labs/tests/vm*.rs); vagrant and
# vagrant-libvirt: `vagrant validate` of vagrant/Vagrantfile; crun: the lab VM carries it, and
# labs/tests/vm_oci.rs compares hullrt with it on cgroup v2.
ensure_apt_packages busybox-static iproute2 nftables iptables util-linux libseccomp-dev \
    podman conmon runc bsdutils golang-github-containers-common chromium \
    qemu-system-x86 kmod vagrant vagrant-libvirt crun
ensure_docker
ensure_rust rustfmt clippy

LOG=$(mktemp /tmp/hull-test.XXXXXX)
trap 'rm -f "$LOG"' EXIT
STEPS=6
done_steps=0
started=$SECONDS

# step NAME HINT CMD...: runs CMD under a header (showing $SHOW, else CMD); on failure prints
# HINT and stops.
step() {
    local name=$1 hint=$2 t=$SECONDS rc=0
    shift 2
    header "[$((done_steps + 1))/$STEPS] $name"
    note "\$ ${SHOW:-$*}"
    "$@" || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf '\n%sFAILED%s: %s (exit %d)\n' "$_hull_red" "$_hull_off" "$name" "$rc" >&2
        printf '  %s\n' "$hint" >&2
        printf 'test.sh: stopped at step %d/%d (%s) after %d s\n' \
            "$((done_steps + 1))" "$STEPS" "$name" "$((SECONDS - started))" >&2
        exit "$rc"
    fi
    done_steps=$((done_steps + 1))
    note "ok ($((SECONDS - t)) s)"
}

# cargo test, its output kept in $LOG to count and name the tests afterwards.
run_tests() {
    cargo test --workspace 2>&1 | tee "$LOG"
    local rc=${PIPESTATUS[0]}
    if [ "$rc" -ne 0 ]; then
        local failed
        failed=$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$LOG" | sort -u)
        if [ -n "$failed" ]; then
            printf '\nfailing tests:\n' >&2
            printf '  %s\n' "$failed" >&2
        fi
    fi
    return "$rc"
}

step "formatting" "run 'cargo fmt --all' and commit the result" \
    cargo fmt --all -- --check
step "build" "the compiler's errors are above" \
    cargo build --workspace --bins
step "clippy" "fix the lints above (clippy runs with -D warnings)" \
    cargo clippy --workspace --all-targets -- -D warnings
SHOW="cargo test --workspace" step "tests" "rerun one with: cargo test --workspace NAME -- --nocapture" \
    run_tests
step "vagrant validate" "vagrant/Vagrantfile does not validate: see vagrant's message above" \
    bash scripts/vagrant-validate.sh
# In the dev profile, on the tests' artifacts (about 20 s); `cargo bench` builds them optimized
# (about 200 s more, which CI's 30 minutes cannot spare with the lab VMs in the suite).
step "benches compile" "a bench in benches/ no longer builds: see the errors above" \
    cargo build --workspace --benches

# Totals over every test binary's "test result: ok. N passed; M failed; K ignored; ..." line.
read -r passed failed ignored < <(awk '
    /^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed;?$/) p += $(i - 1)
            if ($(i) ~ /^failed;?$/) f += $(i - 1)
            if ($(i) ~ /^ignored;?$/) g += $(i - 1)
        }
    }
    END { print p + 0, f + 0, g + 0 }' "$LOG")
printf '\ntest.sh: all %d steps passed in %d s\n' "$STEPS" "$((SECONDS - started))"
echo "tests: $passed passed, $failed failed, $ignored skipped"
