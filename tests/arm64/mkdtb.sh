#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkdtb.sh OUT.dtb QEMU-MACHINE-ARGS...: the device tree of QEMU's virt
# machine with the flash node cut to bank 1, for booting with -dtb.
#
# QEMU describes both flash banks in one cfi-flash node
# (reg = <0 0 0 0x4000000  0 0x4000000 0 0x4000000>); physmap then
# concatenates them into an MTD device without point(), so nothing could
# execute in place from it.  Bank 1 alone (64 MiB at 0x04000000, pflash
# unit 1) gives "4000000.flash", whose mtd_point() returns the physical
# address.  The machine arguments must be the ones the board boots with:
# the tree describes the CPUs, memory and GIC.
set -eu -o pipefail

[ $# -ge 2 ] || { echo "usage: $0 OUT.dtb -M virt ..." >&2; exit 2; }
out=$1
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xipfs-dtb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

m=$1
[ "$m" = -M ] || { echo "$0: the machine arguments start with -M" >&2; exit 2; }
shift
qemu-system-aarch64 -M "$1,dumpdtb=$tmp/virt.dtb" "${@:2}" \
	-nodefaults -display none >"$tmp/qemu.log" 2>&1 ||
	{ cat "$tmp/qemu.log" >&2; exit 1; }
dtc -q -I dtb -O dts -o "$tmp/virt.dts" "$tmp/virt.dtb"
awk '
	/^\tflash@0 \{/ { inflash = 1; sub(/flash@0/, "flash@4000000") }
	inflash && /^\t\treg = / {
		sub(/reg = <.*>;/, "reg = <0x00 0x4000000 0x00 0x4000000>;")
		done = 1
	}
	inflash && /^\t\};/ { inflash = 0 }
	{ print }
	END { exit !done }
' "$tmp/virt.dts" >"$tmp/virt-nor.dts" ||
	{ echo "$0: no flash@0 node with a reg in QEMU's tree" >&2; exit 1; }
dtc -q -I dts -O dtb -o "$tmp/virt-nor.dtb" "$tmp/virt-nor.dts"
mv "$tmp/virt-nor.dtb" "$out"
