#!/usr/bin/env bash
# Provisioning of the Vagrant VM (run as root by `vagrant up` / `vagrant provision`):
# the build dependencies, a build of Hull, its binaries on PATH, and one `hull-lab verify`
# to show that this machine grades the labs.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

echo "==> build dependencies (apt)"
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    build-essential ca-certificates curl git pkg-config libseccomp-dev \
    busybox-static iproute2 nftables attr >/dev/null

if ! [ -x /root/.cargo/bin/cargo ]; then
    echo "==> Rust (rustup, stable, minimal profile)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        sh -s -- -y --no-modify-path --profile minimal >/dev/null
fi
export PATH=/root/.cargo/bin:$PATH

echo "==> building Hull (cargo build --release --workspace --bins)"
cd /hull
cargo build --quiet --release --workspace --bins
for b in hull hullrt hull-lab; do
    ln -sf "/hull/target/release/$b" "/usr/local/bin/$b"
done

echo "==> hull-lab verify (every lab: fails untouched, passes solved)"
hull-lab verify

cat <<'MSG'
==> ready. Next:
    vagrant ssh
    sudo -i
    hull-lab list
    hull-lab start namespaces
MSG
