# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# console_splats LOG: print the lines of a kernel console log that show
# a kernel problem; succeed if there is any.  Shared by tests/board and
# tests/check.

# KASAN and most debug checks print "BUG: ...", WARN() and lockdep print
# "WARNING: ...", DEBUG_LIST goes through either.
XIPFS_SPLAT_RE='BUG:|WARNING:|Oops|general protection fault|kernel BUG at|Kernel panic|UBSAN:|suspected memory leak|unreferenced object|blocked for more than|list_(add|del) corruption|Unable to handle kernel'

# Taint flags that are fine: O (out-of-tree module, 1<<12) and
# E (unsigned module, 1<<13), which loading our own xipfs.ko sets.
XIPFS_TAINT_OK=$(((1 << 12) | (1 << 13)))

console_splats() {
	local found=1 t ok
	if grep -aE "$XIPFS_SPLAT_RE" "$1"; then
		found=0
	fi
	# guest-init reports /proc/sys/kernel/tainted at the end of the run.
	t=$(tr -d '\r' <"$1" | sed -n 's/.*xipfs-board: tainted=\([0-9]*\).*/\1/p' | tail -n1)
	# phram's parameter is "dangerous" and sets U (1<<6): expected when
	# the kernel says that is why.
	ok=$XIPFS_TAINT_OK
	grep -aq -E 'Setting dangerous option phram(\.phram)? - tainting kernel' "$1" &&
		ok=$((ok | (1 << 6)))
	if [ -n "$t" ] && [ $((t & ~ok)) -ne 0 ]; then
		echo "kernel tainted: $t (only O and E, and U for phram, are expected)"
		found=0
	fi
	return $found
}
