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

# chroot_make ROOT TREE MNT MAKE-ARGS...: make in TREE inside the chroot
# ROOT, niced, with TREE bind-mounted at MNT (a path inside it) in a
# private mount namespace: the objects land in TREE, built where the
# chroot sees them (objtool records absolute paths, so a tree is always
# built at the same MNT), and nothing stays mounted.
chroot_make() {
	local root=$1 tree=$2 mnt=$3
	shift 3
	mkdir -p "$root$mnt"
	# shellcheck disable=SC2016 # $0... and $@ are the inner sh's
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		unshare --mount --fork /bin/sh -c '
			root=$0 tree=$1 mnt=$2
			shift 2
			mount -t proc proc "$root/proc" &&
			mount --bind "$tree" "$root$mnt" &&
			exec chroot "$root" nice -n 10 make -C "$mnt" "$@"' \
		"$root" "$tree" "$mnt" "$@"
}

# config_cc CONFIG: the compiler a Debian kernel config names (its
# CONFIG_CC_VERSION_TEXT's first word: x86_64-linux-gnu-gcc-14).
config_cc() {
	local cc
	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$1")
	[ -n "$cc" ] || die "$1 names no compiler"
	echo "$cc"
}

# source_deb PKG VER: set deb to the path of the source package PKG=VER
# (linux-source-6.12) in $XIPFS_CACHE/debs/src, downloading it first with
# the trixie chroot's apt (its sources: the host's mirror) if it is not
# there.  kernel-src.sh and kernel-debug612.sh unpack the same file.  The
# caller makes sure the chroot exists.
source_deb() {
	local pkg=$1 ver=$2 dl=/var/cache/xipfs-dl root=$XIPFS_CACHE/trixie/root fd
	deb=$XIPFS_CACHE/debs/src/${pkg}_${ver//:/%3a}_all.deb
	mkdir -p "$XIPFS_CACHE/locks"
	exec {fd}>"$XIPFS_CACHE/locks/source-$pkg"
	flock "$fd"
	if [ ! -f "$deb" ]; then
		say "downloading $pkg $ver (in the chroot, with its apt)"
		# apt's sandbox user must be able to write there.
		"$SETUP/kernel-headers.sh" run sh -c "mkdir -p $dl && chown _apt $dl &&
			cd $dl && apt-get download -qq '$pkg=$ver'" ||
			die "apt-get download $pkg=$ver failed in the chroot"
		mkdir -p "${deb%/*}"
		mv "$root$dl/${deb##*/}" "$deb"
		# Those of other versions are no longer needed.
		find "${deb%/*}" -name "${pkg}_*.deb" ! -name "${deb##*/}" -delete
	fi
	exec {fd}>&-
}

# debug_config TREE LOG MAKEFN FRAG...: TREE's .config for a debug kernel:
# `make tinyconfig`, the fragments merged on top (a later one's line for a
# symbol wins), `make olddefconfig`; then check that every line of the
# fragments survived (olddefconfig silently drops what a missing
# dependency forbids) and die if one did not.  MAKEFN runs make in TREE
# (a function or command taking make's arguments); LOG gets the output.
debug_config() {
	local tree=$1 log=$2 makefn=$3 line sym bad=0
	shift 3
	"$makefn" -s ARCH=x86_64 tinyconfig >"$log" 2>&1 ||
		{ cat "$log" >&2; die "make tinyconfig failed"; }
	# Its "override" warnings are the point of a fragment: keep them quiet.
	(cd "$tree" && scripts/kconfig/merge_config.sh -m -O . .config "$@") >>"$log" 2>&1 ||
		{ cat "$log" >&2; die "merge_config.sh failed"; }
	"$makefn" -s ARCH=x86_64 olddefconfig >>"$log" 2>&1 ||
		{ cat "$log" >&2; die "make olddefconfig failed"; }
	while read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qx "$line" "$tree/.config" ||
				{ say "config: wanted $line, got: $(grep "^${line%%=*}=" "$tree/.config" || echo unset)"; bad=1; } ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }; sym=${sym%% *}
			! grep -q "^$sym=" "$tree/.config" || { say "config: wanted $sym off"; bad=1; } ;;
		esac
	done < <(cat "$@" | awk '{ s = "" }
		/^CONFIG_[A-Za-z0-9_]+=/ { s = $0; sub(/=.*/, "", s) }
		/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { s = $2 }
		s != "" { w[s] = $0 } END { for (s in w) print w[s] }')
	grep -qx CONFIG_MAPPING_DIRTY_HELPERS=y "$tree/.config" ||
		{ say "config: MAPPING_DIRTY_HELPERS off"; bad=1; }
	[ $bad = 0 ] || die "the debug config does not apply to $tree"
}

# debug_build TREE LOG MAKEFN: build bzImage and modules (make -j$JOBS)
# in TREE, which debug_config configured; set intree=built, or
# intree=failed when the in-tree fs/xipfs does not compile (it may not
# while the driver is being written; the suite loads the out-of-tree
# build anyway): the kernel is then built without it, and only that
# failure is tolerated.
# shellcheck disable=SC2034 # intree is the caller's
debug_build() {
	local tree=$1 log=$2 makefn=$3
	intree=built
	if "$makefn" ARCH=x86_64 -j"${JOBS:-2}" bzImage modules >"$log" 2>&1; then
		return 0
	fi
	if grep -q '^fs/xipfs/.*error' "$log" || grep -q 'fs/xipfs.*Error' "$log"; then
		say "in-tree fs/xipfs failed to build; building without it"
		grep -m5 '^fs/xipfs/.*error' "$log" >&2 || true
		intree=failed
		printf '# stub: in-tree build failed, see build.log\n' >"$tree/fs/xipfs/Kbuild"
		"$makefn" ARCH=x86_64 -j"${JOBS:-2}" bzImage modules >>"$log" 2>&1 ||
			{ tail -n30 "$log" >&2; die "debug kernel build failed"; }
	else
		tail -n30 "$log" >&2
		die "debug kernel build failed (log: $log)"
	fi
}
