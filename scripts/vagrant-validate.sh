#!/usr/bin/env bash
# Checks vagrant/Vagrantfile with `vagrant validate` (a full `vagrant up` cannot run in CI):
# its Ruby parses and its settings are ones Vagrant and the libvirt provider know.
#
#     sudo bash scripts/vagrant-validate.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_apt_packages vagrant vagrant-libvirt
cd "$HULL_REPO/vagrant"
bash -n provision.sh
# Vagrant keeps its state in VAGRANT_HOME and .vagrant/: both go in a temporary directory.
tmp=$(mktemp -d /tmp/hull-vagrant.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp Vagrantfile provision.sh "$tmp/"
cd "$tmp"
# `validate` loads every provider block; VirtualBox is not installed here, so libvirt is the
# default provider for the check.
VAGRANT_HOME="$tmp/home" VAGRANT_DEFAULT_PROVIDER=libvirt VAGRANT_CHECKPOINT_DISABLE=1 \
    vagrant validate
