#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unpack Debian's stock kernel (the one linux-headers-amd64 belongs to)
# into $XIPFS_CACHE/kernels/stock/ (see HACKING.md).  dpkg-deb -x, not
# dpkg -i: nothing on the host changes and no initramfs is generated.
set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

OUT=$XIPFS_CACHE/kernels/stock

# "linux-headers-6.1.0-56-amd64 (= 6.1.192-2)" -> KV and package version.
dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | tr ',' '\n' |
	grep -m1 -o 'linux-headers-[^ ]* (= [^)]*)') ||
	die "linux-headers-amd64 is not installed (run tests/setup/install.sh)"
kv=${dep%% *}; kv=${kv#linux-headers-}
ver=${dep##*= }; ver=${ver%)}
key="$kv $ver"

cache_lock kernel-stock
if [ "$(cat "$OUT/key" 2>/dev/null)" = "$key" ] && [ -f "$OUT/kernel" ] &&
	[ -f "$OUT/modules/lib/modules/$kv/modules.dep" ]; then
	exit 0
fi

debs=$XIPFS_CACHE/debs
mkdir -p "$debs"
deb=$(ls "$debs"/linux-image-"$kv"_"$ver"_amd64.deb 2>/dev/null || true)
if [ -z "$deb" ]; then
	say "downloading linux-image-$kv $ver"
	(cd "$debs" && { apt-get download -qq "linux-image-$kv=$ver" 2>/dev/null ||
		{ apt-get update -qq && apt-get download -qq "linux-image-$kv=$ver"; }; })
	deb=$(ls "$debs"/linux-image-"$kv"_*"$ver"*_amd64.deb | head -n1)
fi

rm -rf "$OUT.new"
mkdir -p "$OUT.new"
dpkg-deb -x "$deb" "$OUT.new/modules"
# modules.dep is made by the package's postinst, which -x skips.
depmod -b "$OUT.new/modules" "$kv"
cp "$OUT.new/modules/boot/vmlinuz-$kv" "$OUT.new/kernel"
[ -d "/usr/src/linux-headers-$kv" ] || die "/usr/src/linux-headers-$kv missing"
ln -s "/usr/src/linux-headers-$kv" "$OUT.new/kdir"
cat >"$OUT.new/env" <<EOV
ARCH=x86_64
CROSS_COMPILE=
KRELEASE=$kv
EOV
echo "$key" >"$OUT.new/key"
rm -rf "$OUT"
mv "$OUT.new" "$OUT"
say "stock kernel: $kv ready in $OUT"
