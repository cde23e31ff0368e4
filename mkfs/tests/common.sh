# SPDX-License-Identifier: GPL-2.0
# Sourced by the t-*.sh scripts of the reader side: tools, temp dir, tree
# builders.  BUILD and SRCDIR come from tests/run.
set -u
MKFS=$BUILD/mkfs.xipfs FSCK=$BUILD/fsck.xipfs DUMP=$BUILD/dump.xipfs
TREECMP=$BUILD/tests/treecmp CORRUPT=$BUILD/tests/corrupt
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xipfs-t.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }
is_root() { [ "$(id -u)" = 0 ]; }

# Owners survive only when we can chown: compare them only as root.
cmp_opts() { is_root || echo --no-owner; }

# roundtrip SRC NAME MKFS-OPTIONS...: mkfs, fsck clean, extract, compare.
roundtrip() {
	local src=$1 name=$2 img=$tmp/$2.img out=$tmp/$2.out
	shift 2
	"$MKFS" -q "$@" "$img" "$src" || fail "$name: mkfs.xipfs $* failed"
	"$FSCK" "$img" || fail "$name: fsck.xipfs found problems in a fresh image ($*)"
	"$DUMP" --extract "$out" "$img" || fail "$name: extract failed"
	# diff -r reports special files as differing even when alike: drop those.
	diff -r --no-dereference "$src" "$out" >"$tmp/diff.log" 2>&1
	if grep -v -E '^File .* is a (fifo|socket|character special file|block special file) while file .* is a \1$' \
		"$tmp/diff.log" | grep -q .; then
		head -20 "$tmp/diff.log"
		fail "$name: diff -r differs"
	fi
	"$TREECMP" "$src" "$out" $(cmp_opts) >"$tmp/cmp.log" ||
		{ cat "$tmp/cmp.log"; fail "$name: metadata differs ($*)"; }
	rm -rf "$out"
	echo "ok $name: $* ($(stat -c %s "$img") bytes)"
}

# repro SRC OPTIONS...: for each OPTIONS string, two runs of mkfs.xipfs and
# a one-thread run give the same bytes.
repro() {
	local src=$1 opts
	shift
	for opts in "$@"; do
		"$MKFS" -q $opts "$tmp/r1.img" "$src" || fail "mkfs $opts"
		"$MKFS" -q $opts "$tmp/r2.img" "$src" || fail "mkfs $opts (again)"
		"$MKFS" -q -j 1 $opts "$tmp/r3.img" "$src" || fail "mkfs -j 1 $opts"
		cmp "$tmp/r1.img" "$tmp/r2.img" || fail "$opts: two runs differ"
		cmp "$tmp/r1.img" "$tmp/r3.img" || fail "$opts: -j 1 gives another image"
	done
}

# Dirs' mtimes last, deepest first, so creating entries doesn't reset them.
fix_dir_times() {
	find "$1" -depth -type d -exec touch -h -d '2020-01-02 03:04:05.987654321' {} +
}

# flip_tree DIR: the tree the single-byte flip tests (t-compflip,
# t-checksum) build images of: text that compresses, ELF files (XIP
# pages under mkfs's default policy), small files sharing clusters, and
# base64 of random bytes (compresses a little).
flip_tree() {
	local i f
	mkdir -p "$1"
	seq 1 40000 >"$1/numbers"
	for f in /bin/true /bin/ls /bin/cat; do
		[ -f "$f" ] && cp "$f" "$1/"
	done
	for i in $(seq 20); do
		printf 'configuration file %d\nkey=value %d\n' "$i" $((i * 7919)) >"$1/conf$i"
	done
	head -c 100000 /dev/urandom | base64 >"$1/b64"
}
