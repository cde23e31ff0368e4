#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dump.xipfs --extract as an ordinary user: no chown, but contents, modes
# (even 0000 files and read-only directories), times and hard links.
. "$SRCDIR/tests/common.sh"
if is_root; then
	command -v setpriv >/dev/null || skip "setpriv not installed: cannot drop privileges"
	as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
else
	as_user() { "$@"; }
fi

src=$tmp/src
mkdir -p "$src/ro" "$src/d"
seq 1 10000 >"$src/d/text"
ln "$src/d/text" "$src/text-link"
echo secret >"$src/d/0000"; chmod 0000 "$src/d/0000"
echo x >"$src/ro/f"; chmod 0555 "$src/ro"
truncate -s 100000 "$src/sparse"
ln -s d/text "$src/sym"
fix_dir_times "$src"
"$MKFS" -q -z zstd "$tmp/img" "$src" || fail "mkfs"
chmod 0755 "$tmp"
chmod 0644 "$tmp/img"
mkdir "$tmp/out"
chown 65534:65534 "$tmp/out" 2>/dev/null || true
# A copy: the checkout may not be searchable by the unprivileged user.
cp "$DUMP" "$tmp/dump.xipfs" && chmod 0755 "$tmp/dump.xipfs" || fail "copy dump.xipfs"
as_user "$tmp/dump.xipfs" --extract "$tmp/out/x" "$tmp/img" || fail "extract as an ordinary user"
[ "$(stat -c %u "$tmp/out/x/d/text")" = "$(id -u)" ] && is_root && fail "extracted as root?"
"$TREECMP" "$src" "$tmp/out/x" --no-owner || fail "extracted tree differs"
exit 0
