#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms.sh: dkms in the trixie chroot (tests/setup/kernel-headers.sh), for
# tests/check-dkms to build xipfs through dkms against Debian 13's 6.12
# with its gcc-14.  On the host dkms is one of install.sh's packages.
# Idempotent.
set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

"$SETUP/kernel-headers.sh" setup
cache_lock chroot-apt
chroot_install dkms
