#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/setup.sh: the Debian packages `make bench` needs beyond
# tests/setup/install.sh's (which `make bench` runs first): python3 and
# zstd go into the benchmark tree.  Idempotent.
set -eu
PACKAGES=(python3 zstd bc gnuplot-nox squashfs-tools erofs-utils e2fsprogs util-linux)
missing=()
for p in "${PACKAGES[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" = 0 ] || { echo "bench/setup.sh: need root to install: ${missing[*]}" >&2; exit 1; }
echo "bench/setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
