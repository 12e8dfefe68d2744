# shellcheck shell=bash
# Shared helpers for Hull's scripts. Source it, don't run it:
#
#     . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Every function is safe to call more than once: it checks before it changes anything.

# The repository's root directory (the parent of scripts/).
HULL_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Where cargo puts its builds (respects CARGO_TARGET_DIR).
HULL_TARGET=${CARGO_TARGET_DIR:-$HULL_REPO/target}
export HULL_REPO HULL_TARGET

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    _hull_bold=$'\e[1m' _hull_dim=$'\e[2m' _hull_red=$'\e[31m' _hull_off=$'\e[0m'
else
    _hull_bold='' _hull_dim='' _hull_red='' _hull_off=''
fi

# say TEXT: a progress line.
say() { printf '%s==>%s %s\n' "$_hull_bold" "$_hull_off" "$*"; }
# note TEXT: a quieter line (details, asides).
note() { printf '%s    %s%s\n' "$_hull_dim" "$*" "$_hull_off"; }
# header TEXT: a section title.
header() { printf '\n%s%s%s\n' "$_hull_bold" "$*" "$_hull_off"; }
# warn TEXT: a problem that does not stop the script.
warn() { printf '%swarning:%s %s\n' "$_hull_red" "$_hull_off" "$*" >&2; }
# die TEXT: stop with an error.
die() {
    printf '%serror:%s %s\n' "$_hull_red" "$_hull_off" "$*" >&2
    exit 1
}

# ensure_root: stop unless running as root (namespaces, mounts and cgroups need it).
ensure_root() {
    [ "$(id -u)" -eq 0 ] || die "$(basename "$0") needs root (namespaces, mounts, cgroups): run it with sudo"
}

# ensure_apt_packages PKG...: installs the packages that dpkg does not show as installed.
# Does nothing (and needs no network) when all of them are there already.
ensure_apt_packages() {
    local pkg status missing=()
    for pkg in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get to install them"
    [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}): install them as root"
    say "installing ${missing[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
        die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
}

# ensure_docker: Debian's docker.io (20.10), the reference of the differential suite
# (tests/docker_diff.rs), as /usr/bin/docker and /usr/sbin/dockerd. The suite starts a dockerd
# of its own; the package's system service is not started while it installs (a policy-rc.d
# that refuses, when the host has none), so the host's network and iptables stay as they were.
ensure_docker() {
    local status
    status=$(dpkg-query -W -f='${Status}' docker.io 2>/dev/null || true)
    [ "$status" = "install ok installed" ] && return 0
    local policy=/usr/sbin/policy-rc.d made_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# hull scripts/lib.sh: no service starts while docker.io installs\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=1
    fi
    local rc=0
    (ensure_apt_packages docker.io) || rc=$?
    if [ -n "$made_policy" ]; then rm -f "$policy"; fi
    [ "$rc" -eq 0 ] || die "docker.io did not install (apt-get failed, see above)"
    [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] ||
        die "docker.io is installed but /usr/sbin/dockerd or /usr/bin/docker is missing"
}

# ensure_python3: python3 (used for small JSON edits), from apt if it is not on PATH.
ensure_python3() {
    command -v python3 >/dev/null || ensure_apt_packages python3-minimal
}

# ensure_rust [COMPONENT...]: a Rust toolchain on PATH (cargo), installed with rustup when
# missing; with COMPONENT names (rustfmt, clippy), also those rustup components.
ensure_rust() {
    if ! command -v cargo >/dev/null; then
        if [ -x "$HOME/.cargo/bin/cargo" ]; then
            # e.g. under sudo, whose secure_path leaves ~/.cargo/bin out
            PATH="$HOME/.cargo/bin:$PATH"
            export PATH
        else
            say "installing Rust (rustup, stable, minimal profile)"
            ensure_apt_packages curl ca-certificates gcc libc6-dev
            curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
                sh -s -- -y --no-modify-path --profile minimal >/dev/null ||
                die "rustup install failed"
            PATH="$HOME/.cargo/bin:$PATH"
            export PATH
        fi
    fi
    command -v cargo >/dev/null || die "cargo not found even after installing Rust"
    local comp
    for comp in "$@"; do
        case $comp in
        rustfmt) cargo fmt --version >/dev/null 2>&1 && continue ;;
        clippy) cargo clippy --version >/dev/null 2>&1 && continue ;;
        esac
        command -v rustup >/dev/null || die "cargo has no $comp and there is no rustup to add it"
        say "adding Rust component $comp (rustup)"
        rustup component add "$comp" >/dev/null || die "rustup component add $comp failed"
    done
}

# make_busybox_rootfs DIR: a minimal root filesystem in DIR: a static busybox in bin/ with a
# link for each of its applets, the usual mount points, and /etc/passwd and /etc/group.
make_busybox_rootfs() {
    local dir=${1:?make_busybox_rootfs: needs a directory} bb=/bin/busybox applet
    [ -x "$bb" ] || die "$bb not found: install busybox-static"
    if ldd "$bb" >/dev/null 2>&1; then
        die "$bb is linked dynamically and would not run inside a bare rootfs: install busybox-static"
    fi
    mkdir -p "$dir"/{bin,proc,sys,dev,tmp,etc,root}
    chmod 755 "$dir" "$dir"/{bin,proc,sys,dev,etc,root}
    chmod 1777 "$dir/tmp"
    cp "$bb" "$dir/bin/busybox"
    for applet in $("$bb" --list); do
        [ "$applet" = busybox ] || ln -sfn busybox "$dir/bin/$applet"
    done
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
        >"$dir/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$dir/etc/group"
}

# edit_json FILE CODE [ARG...]: edits a JSON file in place with a line or two of Python:
# CODE sees the document as `c` and the extra arguments as the list `a`.
#     edit_json config.json 'c["process"]["args"] = a' sh -c 'echo hi'
edit_json() {
    local file=${1:?edit_json: needs a file} code=${2:?edit_json: needs code}
    shift 2
    python3 - "$file" "$code" "$@" <<'EOF' || die "edit_json $file: the edit failed"
import json, sys
path, code, a = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(path) as f:
    c = json.load(f)
exec(code, {"c": c, "a": a})
with open(path, "w") as f:
    json.dump(c, f, indent=2)
    f.write("\n")
EOF
}

# json_get FILE-OR-- EXPR: prints a Python expression over the JSON document `c` ("-" = stdin).
json_get() {
    python3 -c '
import json, sys
c = json.load(sys.stdin if sys.argv[1] == "-" else open(sys.argv[1]))
v = eval(sys.argv[2], {"c": c})
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# remove_cgroups_named PATTERN: rmdir every cgroup directory (in every hierarchy) whose name
# matches the glob PATTERN; deepest first. A cgroup that still holds a process stays.
remove_cgroups_named() {
    local pattern=${1:?remove_cgroups_named: needs a pattern}
    find /sys/fs/cgroup -mindepth 1 -depth -type d -name "$pattern" -exec rmdir {} + 2>/dev/null || true
}
