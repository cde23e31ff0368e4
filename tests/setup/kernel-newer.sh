#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unpack Debian's own newer x86-64 kernels, so that the board boots them:
#
#   kernels/k612/   trixie's 6.12 (the header set deb-6.12)
#   kernels/k7/     the newest 7.x in trixie-backports or sid (deb-7)
#
# laid out as HACKING.md's Kernel contract says.  The versions are the
# ones tests/setup/kernel-headers.sh found in the package lists and
# installed the headers of (it runs first, and makes the trixie chroot):
# the image matches the headers the module is built against.  The
# packages are fetched with apt inside that chroot (its own sources, so
# its mirror), and unpacked with dpkg-deb -x: nothing on the host
# changes.  The 6.12 image is one package (linux-image-REL-unsigned); a
# 7.x image package only depends on linux-binary-REL (the vmlinuz),
# linux-modules-REL and linux-base-REL (config, System.map,
# modules.builtin*, modules.order): all are unpacked into one tree.
#
# Debian ships the modules as .ko.xz, which busybox's insmod cannot load:
# tests/lib/guest-modules.sh picks the ones the board uses (with their
# dependencies, by the host's modprobe over this tree's modules.dep),
# decompresses those and runs depmod again.  A whole tree would be
# 520-630 MB of initramfs, which does not unpack in the guest's 2 GiB.
#
# env has CHROOT and CHROOT_KDIR: these kernels are built with gcc-14, so
# fs/xipfs/build-module.sh (and tests/lib/kernel-make) build modules for
# them inside the chroot.  Idempotent: a second run returns at once
# unless kernel-headers.sh moved a header set to another version.
#
#   kernel-newer.sh [NAME...]   set up these kernels (default: k612 k7)
set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

# NAME:header set
ALL="k612:deb-6.12 k7:deb-7"

# chroot_run CMD...: a command inside the trixie chroot.
chroot_run() {
	"$SETUP/kernel-headers.sh" run "$@"
}

# setup_one NAME HEADERSET
setup_one() {
	local name=$1 set=$2 out=$XIPFS_CACHE/kernels/$1 henv rel ver root
	local key pkgs img deps p deb dl vmlinuz

	henv=$XIPFS_CACHE/headers/$set/env
	[ -f "$henv" ] || die "no header set $set (tests/setup/kernel-headers.sh)"
	# shellcheck disable=SC1090
	rel=$(. "$henv"; echo "$KRELEASE")
	# shellcheck disable=SC1090
	ver=$(. "$henv"; echo "$PKGVER")
	# shellcheck disable=SC1090
	root=$(. "$henv"; echo "$CHROOT")
	key="$rel $ver 1"

	cache_lock "kernel-$name"
	if [ "$(cat "$out/key" 2>/dev/null)" = "$key" ] && [ -f "$out/kernel" ] &&
		[ -f "$out/modules/lib/modules/$rel/modules.dep" ] &&
		[ -e "$out/kdir/Makefile" ]; then
		return 0
	fi

	# The image package of the same source version as the headers.
	img=
	for p in "linux-image-$rel-unsigned" "linux-image-$rel"; do
		if chroot_run apt-cache show "$p=$ver" >/dev/null 2>&1; then
			img=$p
			break
		fi
	done
	[ -n "$img" ] || die "no linux-image-$rel(-unsigned) $ver in the chroot's package lists"
	# A split 7.x image: the parts it depends on, of that release.
	deps=$(chroot_run apt-cache show "$img=$ver" | sed -n 's/^Depends: //p' |
		head -n1 | tr ',' '\n' | sed 's/^ *//; s/ .*//' |
		awk -v r="$rel" '$0 == "linux-binary-" r || $0 == "linux-modules-" r ||
			$0 == "linux-base-" r')
	pkgs="$img $deps"

	# The parts are of the image's version (its Depends say "= VER").
	dl=$XIPFS_CACHE/debs/$name
	mkdir -p "$dl"
	for p in $pkgs; do
		deb=$dl/${p}_${ver//:/%3a}_amd64.deb
		if [ ! -f "$deb" ]; then
			say "downloading $p $ver"
			# apt's sandbox user must be able to write there.
			chroot_run sh -c "mkdir -p /var/cache/xipfs-dl &&
				chown _apt /var/cache/xipfs-dl && cd /var/cache/xipfs-dl &&
				apt-get download -qq '$p=$ver'" ||
				die "apt-get download $p=$ver failed in the chroot"
			mv "$root/var/cache/xipfs-dl/${deb##*/}" "$deb"
		fi
	done
	# Those of an older version are no longer needed.
	find "$dl" -name '*.deb' ! -name "*_${ver//:/%3a}_amd64.deb" -delete

	rm -rf "$out.new"
	mkdir -p "$out.new/pkg"
	for p in $pkgs; do
		dpkg-deb -x "$dl/${p}_${ver//:/%3a}_amd64.deb" "$out.new/pkg"
	done
	# Merged /usr: the tree is under usr/lib/modules.
	mkdir -p "$out.new/modules/lib/modules"
	for d in "$out.new/pkg/usr/lib/modules/$rel" "$out.new/pkg/lib/modules/$rel"; do
		[ -d "$d" ] && mv "$d" "$out.new/modules/lib/modules/$rel" && break
	done
	[ -d "$out.new/modules/lib/modules/$rel" ] || die "$img has no modules for $rel"
	vmlinuz=
	for f in "$out.new/pkg/boot/vmlinuz-$rel" "$out.new/modules/lib/modules/$rel/vmlinuz"; do
		[ -f "$f" ] && vmlinuz=$f && break
	done
	[ -n "$vmlinuz" ] || die "no vmlinuz in $pkgs"
	mv "$vmlinuz" "$out.new/kernel"
	for f in config System.map; do
		for g in "$out.new/pkg/boot/$f-$rel" "$out.new/modules/lib/modules/$rel/$f"; do
			[ -f "$g" ] && cp "$g" "$out.new/$f" && break
		done
	done
	rm -rf "$out.new/pkg"
	rm -f "$out.new/modules/lib/modules/$rel/build" "$out.new/modules/lib/modules/$rel/source"
	# Without modules.builtin, modprobe cannot tell a built-in
	# dependency from a missing one.
	[ -f "$out.new/modules/lib/modules/$rel/modules.builtin" ] ||
		die "no modules.builtin for $rel in $pkgs"
	# modules.dep is made by the package's postinst, which -x skips.
	depmod -b "$out.new/modules" "$rel"
	[ -f "$root/usr/src/linux-headers-$rel/Makefile" ] ||
		die "no headers for $rel in the chroot (tests/setup/kernel-headers.sh)"
	ln -s "$root/usr/src/linux-headers-$rel" "$out.new/kdir"
	cat >"$out.new/env" <<EOV
ARCH=x86_64
CROSS_COMPILE=
KRELEASE=$rel
PKGVER=$ver
CHROOT=$root
CHROOT_KDIR=/usr/src/linux-headers-$rel
EOV
	echo "$key" >"$out.new/key"
	rm -rf "$out"
	mv "$out.new" "$out"
	say "$name: $rel ($ver) ready in $out"
}

"$SETUP/kernel-headers.sh" setup
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(k612 k7)
for n in "${want[@]}"; do
	set=
	for item in $ALL; do
		[ "${item%%:*}" = "$n" ] && set=${item#*:}
	done
	[ -n "$set" ] || die "unknown kernel $n (known: k612 k7)"
	setup_one "$n" "$set"
done
