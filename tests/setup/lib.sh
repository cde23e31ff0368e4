# SPDX-License-Identifier: GPL-2.0
# Shared by the tests/setup scripts: paths, messages, locking.
# shellcheck shell=bash

XIPFS_CACHE=${XIPFS_CACHE:-/var/cache/xipfs}
export XIPFS_CACHE
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SETUP=$TOP/tests/setup
BUILD=${BUILD:-$TOP/build}

say() { echo "setup: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }

# Two runs (two clones, or CI next to a developer) share the cache:
# serialise each piece of work on a lock file in it.
cache_lock() {
	mkdir -p "$XIPFS_CACHE/locks"
	exec {_lockfd}>"$XIPFS_CACHE/locks/$1"
	flock "$_lockfd"
}

# apt without prompts, also when CI has no terminal.
export DEBIAN_FRONTEND=noninteractive

# chroot_install PKG...: install in the trixie chroot (kernel-headers.sh)
# those of PKG that are missing, with its apt (its sources: the host's own
# mirror).  Not in the chroot's recipe, which would remake it.  The caller
# makes sure the chroot exists; "kernel-headers.sh run" takes the
# kernel-headers lock, so hold another one.
chroot_install() {
	local root=$XIPFS_CACHE/trixie/root missing=() p log=$XIPFS_CACHE/trixie/apt-extra.log
	for p in "$@"; do
		# shellcheck disable=SC2016 # dpkg-query's ${...}
		[ "$(chroot "$root" dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
			missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	say "installing in the trixie chroot: ${missing[*]}"
	_chroot_apt() {
		"$SETUP/kernel-headers.sh" run apt-get "$@" -y -qq -o Dpkg::Use-Pty=0 \
			-o APT::Install-Recommends=0 >>"$log" 2>&1
	}
	: >"$log"
	# The chroot's lists may be older than its mirror.
	_chroot_apt install "${missing[@]}" ||
		{ _chroot_apt update || true; _chroot_apt install "${missing[@]}"; } ||
		{ tail -n 20 "$log" >&2; die "apt-get install ${missing[*]} in the chroot failed"; }
	_chroot_apt clean || true
}
