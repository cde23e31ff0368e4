#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build-only checks of the driver against newer Debian kernels.
#
#   kernel-headers.sh [setup]    debootstrap a minimal Debian 13 (trixie)
#                                tree and install in it the linux-headers
#                                of trixie's 6.12 and of the newest 7.x
#                                (trixie-backports or sid), amd64
#   kernel-headers.sh update     the same, but first look for newer
#                                header packages (apt-get update)
#   kernel-headers.sh build [NAME...]
#                                build fs/xipfs (W=1; C=1 if set) inside the
#                                tree against each header set; print the
#                                warnings and errors, exit 1 on any
#   kernel-headers.sh list       the header sets: NAME KRELEASE kdir
#   kernel-headers.sh run CMD... run a command inside the tree
#
# Those kernels are built with gcc-14 (the host has gcc-12), so the module
# is compiled inside the chroot, never with the host's compiler.  Nothing
# of the host's apt state changes: debootstrap runs on its own, and apt
# runs inside the chroot, with the chroot's sources, lists and caches.
#
# Layout under $XIPFS_CACHE:
#   trixie/root/            the chroot (gcc-14, make, sparse, headers)
#   trixie/key              what the chroot was made from
#   headers/NAME/kdir       -> trixie/root/usr/src/linux-headers-KRELEASE
#                           (usable only with the chroot's compiler)
#   headers/NAME/env        ARCH, KRELEASE, PKGVER, CHROOT, CHROOT_KDIR
# NAME is deb-6.12 and deb-7 (the newest 7.x found).  Built modules go to
# $BUILD/kernels/NAME/xipfs.ko, logs to $BUILD/kernels/NAME/build.log.
#
# Environment: MIRROR (default: the URI of the host's own apt source for
# its release, e.g. bookworm, from /etc/apt/sources.list,
# sources.list.d/*.list or *.sources), SECURITY_MIRROR (likewise, for
# RELEASE-security), JOBS (default 2), W (default 1), C, XIPFS_MTD;
# XIPFS_SRC=DIR builds fs/xipfs and include/ from another tree (a scratch
# copy with a patch applied, say) instead of this checkout.
set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

# host_apt_uri SUITE: the first URI of an enabled "deb" source for SUITE
# in the host's apt configuration, one-line (.list) or deb822 (.sources)
# format.  The mirror is whatever the host's apt uses: no host name is
# written here, and the chroot works wherever the host's apt works.
# (XIPFS_APT_ETC: another /etc/apt, to test the parsing.)
APT_ETC=${XIPFS_APT_ETC:-/etc/apt}
host_apt_uri() {
	local f
	for f in "$APT_ETC/sources.list" "$APT_ETC"/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# deb [opt=v ...] URI SUITE COMPONENT...
		awk -v s="$1" '{ sub(/#.*/, "") }
			$1 == "deb" { i = 2
				if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
				if ($(i + 1) == s) { print $i; exit } }' "$f"
	done
	for f in "$APT_ETC"/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# Stanzas of "Field: value" lines, separated by blank lines.
		awk -v s="$1" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") &&
				    tolower(enabled) != "no" && uris != "") {
					split(uris, u, " "); print u[1]; found = 1; exit
				}
				types = suites = uris = enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[A-Za-z-]+:/ { k = tolower($1); sub(/^[^:]*:[ \t]*/, "")
				if (k == "types:") types = $0
				else if (k == "suites:") suites = $0
				else if (k == "uris:") uris = $0
				else if (k == "enabled:") enabled = $0 }
			END { if (!found) flush() }' "$f"
	done
}
# The host's release: the README's machine is Debian 12 (bookworm).
HOST_SUITE=$( . /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
HOST_SUITE=${HOST_SUITE:-bookworm}
MIRROR=${MIRROR:-$(host_apt_uri "$HOST_SUITE" | head -n1)}
SECURITY_MIRROR=${SECURITY_MIRROR:-$(host_apt_uri "$HOST_SUITE-security" | head -n1)}
BASE=$XIPFS_CACHE/trixie
ROOT=$BASE/root
HDRS=$XIPFS_CACHE/headers
# Installed in the chroot besides the header packages (which bring
# gcc-14 and linux-kbuild themselves).
PKGS="gcc-14 make libc6-dev bc kmod sparse xz-utils"
# Series wanted: NAME:VERSION-PREFIX.  "7." is the newest 7.x there is.
SERIES="deb-6.12:6.12. deb-7:7."
# Change this when the chroot recipe changes: the chroot is then redone.
RECIPE="1 trixie minbase $MIRROR $SECURITY_MIRROR $PKGS"

# Run a command in the chroot with a clean environment and a private
# /proc (a mount namespace, so nothing stays mounted on the host).
# shellcheck disable=SC2016 # $0 and $@ are the inner sh's
in_root() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive \
		unshare --mount --fork /bin/sh -c \
		'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
		"$ROOT" "$@"
}

apt_in_root() {
	in_root apt-get -q -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=0 "$@"
}

make_root() {
	command -v debootstrap >/dev/null || {
		say "installing debootstrap on the host"
		apt-get install -y -qq debootstrap >/dev/null ||
			{ apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
	}
	say "debootstrap trixie into $ROOT (about 1.5 minutes)"
	rm -rf "$BASE/root.new"
	mkdir -p "$BASE"
	debootstrap --variant=minbase --include=ca-certificates \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		trixie "$BASE/root.new" "$MIRROR" >"$BASE/debootstrap.log" 2>&1 ||
		die "debootstrap failed, see $BASE/debootstrap.log"
	rm -rf "$ROOT"
	mv "$BASE/root.new" "$ROOT"
	rm -f "$BASE/key"
}

write_sources() {
	rm -f "$ROOT/etc/apt/sources.list"
	# trixie, its updates, security and backports; sid as a last
	# resort for a 7.x (its snapshot's Release may have expired).
	cat >"$ROOT/etc/apt/sources.list.d/xipfs.sources" <<EOS
Types: deb
URIs: $MIRROR
Suites: trixie trixie-updates trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $MIRROR
Suites: sid
Check-Valid-Until: no
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	# Nothing comes from sid unless asked for by version.
	cat >"$ROOT/etc/apt/preferences.d/xipfs" <<EOP
Package: *
Pin: release n=sid
Pin-Priority: 50
EOP
}

# newest_headers PREFIX: "PKG=VERSION" of the newest linux-headers-*-amd64
# whose metapackage version starts with PREFIX, or nothing.
newest_headers() {
	local ver dep
	ver=$(in_root apt-cache madison linux-headers-amd64 |
		awk -v p="$1" 'index($3, p) == 1 { print $3 }' | sort -V | tail -n1)
	[ -n "$ver" ] || return 0
	# "linux-headers-7.3.4+deb13-amd64 (= 7.3.4-1~bpo13+1)"
	dep=$(in_root apt-cache show "linux-headers-amd64=$ver" |
		sed -n 's/^Depends: //p' | head -n1 | tr ',' '\n' |
		grep -m1 -o 'linux-headers-[^ ]*-amd64 (= [^)]*)') || return 0
	echo "${dep%% *}=$(echo "${dep##*= }" | tr -d ')')"
}

setup() {
	local update=$1 name prefix pv pkg ver kv want="" all=""

	[ -n "$MIRROR" ] && [ -n "$SECURITY_MIRROR" ] ||
		die "no deb source for $HOST_SUITE and $HOST_SUITE-security in the host's apt configuration: set MIRROR= and SECURITY_MIRROR="
	cache_lock kernel-headers
	if [ "$(cat "$BASE/key" 2>/dev/null)" != "$RECIPE" ] ||
		[ ! -x "$ROOT/usr/bin/gcc-14" ]; then
		# A chroot without a key is one whose install did not finish:
		# take it up again; one of another recipe is made anew.
		if [ -f "$BASE/key" ] || [ ! -x "$ROOT/usr/bin/apt-get" ]; then
			make_root
		fi
		update=1
	elif [ "$update" = 0 ]; then
		for name_prefix in $SERIES; do
			name=${name_prefix%%:*}
			[ -f "$HDRS/$name/env" ] && [ -e "$HDRS/$name/kdir/Makefile" ] ||
				update=1
		done
		[ "$update" = 0 ] && return 0
	fi

	write_sources
	say "apt-get update in the chroot"
	apt_in_root update -qq >/dev/null 2>"$BASE/apt-update.log" || true
	grep -v 'is expired\|Updates for this repository' "$BASE/apt-update.log" >&2 || true
	for name_prefix in $SERIES; do
		name=${name_prefix%%:*}; prefix=${name_prefix#*:}
		pv=$(newest_headers "$prefix")
		[ -n "$pv" ] || die "no linux-headers-amd64 $prefix* in trixie, trixie-backports or sid"
		want="$want $name:$pv"
		all="$all $pv"
	done
	say "installing in the chroot:$all"
	# shellcheck disable=SC2086
	apt_in_root install -y -qq $PKGS $all >"$BASE/apt-install.log" 2>&1 ||
		{ tail -n 30 "$BASE/apt-install.log" >&2; die "apt-get install in the chroot failed"; }
	apt_in_root clean
	echo "$RECIPE" >"$BASE/key"

	mkdir -p "$HDRS"
	for item in $want; do
		name=${item%%:*}; pv=${item#*:}
		pkg=${pv%%=*}; ver=${pv#*=}
		kv=${pkg#linux-headers-}
		[ -f "$ROOT/usr/src/linux-headers-$kv/Makefile" ] ||
			die "$pkg installed no /usr/src/linux-headers-$kv"
		rm -rf "$HDRS/$name.new"
		mkdir -p "$HDRS/$name.new"
		ln -s "$ROOT/usr/src/linux-headers-$kv" "$HDRS/$name.new/kdir"
		cat >"$HDRS/$name.new/env" <<EOV
ARCH=x86_64
CROSS_COMPILE=
KRELEASE=$kv
PKGVER=$ver
CHROOT=$ROOT
CHROOT_KDIR=/usr/src/linux-headers-$kv
EOV
		rm -rf "${HDRS:?}/${name:?}"
		mv "$HDRS/$name.new" "$HDRS/$name"
		say "$name: $kv ($ver) in $HDRS/$name"
	done
}

names() {
	local n
	for n in $SERIES; do
		echo "${n%%:*}"
	done
}

# build NAME: build the module inside the chroot; 0 when clean.
build_one() {
	local name=$1 env=$HDRS/$1/env out src log n srctop=${XIPFS_SRC:-$TOP}
	[ -f "$env" ] || die "no header set $name (run $0 setup)"
	(
		# shellcheck disable=SC1090
		. "$env"
		out=$BUILD/kernels/$name
		src=$ROOT/build/xipfs/$name
		log=$out/build.log
		mkdir -p "$out"
		exec {lk}>"$out/.lock"
		flock "$lk"
		rm -rf "$src"
		mkdir -p "$src/include/uapi/linux"
		(cd "$srctop/fs/xipfs" && cp -- *.c *.h Makefile Kconfig "$src/")
		cp "$srctop/include/uapi/linux/xipfs_fs.h" "$src/include/uapi/linux/"
		rm -f "$out/xipfs.ko"
		rc=0
		in_root make -C "$CHROOT_KDIR" M="/build/xipfs/$name" \
			W="${W:-1}" ${C:+C=$C} ${XIPFS_MTD:+XIPFS_MTD=$XIPFS_MTD} \
			-k -j"${JOBS:-2}" modules >"$log" 2>&1 || rc=$?
		# Compiler and sparse diagnostics, and modpost's (e.g. an
		# unexported or missing symbol).
		n=$(grep -cE 'warning:|error:|^WARNING:|^ERROR:' "$log" || true)
		if [ "$rc" = 0 ] && [ "$n" = 0 ]; then
			cp "$src/xipfs.ko" "$out/xipfs.ko"
			echo "$name ($KRELEASE): clean: $out/xipfs.ko"
			exit 0
		fi
		echo "$name ($KRELEASE): make exit $rc, $n diagnostics ($log):"
		grep -E -A3 'warning:|error:|^WARNING:|^ERROR:' "$log" |
			sed "s|/build/xipfs/$name/||g" || tail -n 20 "$log"
		exit 1
	)
}

build() {
	local rc=0 name list=("$@")
	setup 0
	[ ${#list[@]} -gt 0 ] || mapfile -t list < <(names)
	for name in "${list[@]}"; do
		# The driver needs wp_shared_mapping_range() (see compat.h).
		grep -q '^CONFIG_MAPPING_DIRTY_HELPERS=y' "$HDRS/$name/kdir/.config" 2>/dev/null ||
			{ echo "$name: CONFIG_MAPPING_DIRTY_HELPERS is not y"; rc=1; }
		build_one "$name" || rc=1
	done
	return $rc
}

case ${1:-setup} in
setup)	setup 0 ;;
update)	setup 1 ;;
build)	shift; build "$@" ;;
list)	for n in $(names); do
		[ -f "$HDRS/$n/env" ] || continue
		# shellcheck disable=SC1090
		(. "$HDRS/$n/env"; echo "$n $KRELEASE $HDRS/$n/kdir")
	done ;;
run)	shift; setup 0; in_root "$@" ;;
*)	echo "usage: $0 [setup|update|build [NAME...]|list|run CMD...]" >&2
	exit 2 ;;
esac
