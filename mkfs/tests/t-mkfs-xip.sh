#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# XIP policies.  Under --xip=elf (the default) exactly the pages of the
# read-only and executable PT_LOAD segments are XIP, whatever the ELF
# class and byte order; none, all and list:FILE do what they say.  The
# page layout is read back both from mkfs -v and from the image.
set -u
MKFS=$BUILD/mkfs.xipfs FSCK=$BUILD/fsck.xipfs DUMP=$BUILD/dump.xipfs
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v readelf >/dev/null || { echo "readelf (binutils) not installed"; exit 77; }

S=$tmp/src
mkdir "$S"
cp /bin/true "$S/true"
cp "$(readlink -f /lib/x86_64-linux-gnu/libc.so.6 2>/dev/null || echo /bin/ls)" "$S/lib.so"
seq 1 10000 > "$S/numbers"

# expected FILE: the XIP pages readelf implies, as "a-b,c" ranges.
expected() {
	local pages=() p first last
	while read -r type off _ _ filesz _ flags; do
		[ "$type" = LOAD ] || continue
		case "$flags" in *W*) [[ "$flags" == *E* ]] || continue ;; esac
		filesz=$((filesz))
		[ $filesz -gt 0 ] || continue
		first=$((off / 4096)) last=$(((off + filesz - 1) / 4096))
		for ((p = first; p <= last; p++)); do pages[p]=1; done
	done < <(readelf -lW "$1" | sed -n 's/^ *\(LOAD.*\) 0x[0-9a-f]*$/\1/p' | sed 's/R E/RE/; s/RW E/RWE/')
	local out='' start=-1 prev=-2
	for p in "${!pages[@]}" END; do
		if [ "$p" != END ] && [ $p = $((prev + 1)) ]; then prev=$p; continue; fi
		if [ $start -ge 0 ]; then
			[ -n "$out" ] && out+=,
			[ $start = $prev ] && out+=$start || out+=$start-$prev
		fi
		start=$p prev=$p
	done
	echo "$out"
}

"$MKFS" -v "$tmp/img" "$S" > "$tmp/log" || fail "mkfs: $(cat "$tmp/log")"
"$FSCK" "$tmp/img" || fail fsck
for f in true lib.so; do
	want=$(expected "$S/$f")
	[ -n "$want" ] || fail "$f: readelf shows no XIP segments"
	got=$(sed -n "s|^/$f: .*, xip pages ||p" "$tmp/log")
	[ "$got" = "$want" ] || fail "$f: XIP pages '$got', expected '$want'"
	# The image agrees with what mkfs said.
	n=$("$DUMP" -p -m /$f "$tmp/img" | grep -c '^page [0-9]*: xip')
	[ "$n" = "$(sed -n "s|^/$f: [0-9]* pages, \([0-9]*\) xip.*|\1|p" "$tmp/log")" ] ||
		fail "$f: dump shows $n XIP pages"
done
grep -q '^/numbers: 12 pages, 0 xip, 12 comp' "$tmp/log" || fail "a text file got XIP pages"

"$MKFS" -v --xip=none "$tmp/img" "$S" > "$tmp/log" || fail "mkfs --xip=none"
grep -q ' [1-9][0-9]* xip' "$tmp/log" && fail "--xip=none: $(grep xip "$tmp/log")"
"$MKFS" -v --xip=all "$tmp/img" "$S" > "$tmp/log" || fail "mkfs --xip=all"
grep -q '^/numbers: 12 pages, 12 xip, 0 comp, 0 hole, 0 tail, map 1 entry per 128 pages, xip pages 0-11$' "$tmp/log" ||
	fail "--xip=all: $(grep numbers "$tmp/log")"
"$FSCK" "$tmp/img" || fail "fsck --xip=all"
printf '# comment\n/numbers 1-2,5\n\ntrue\n' > "$tmp/list"
"$MKFS" -v --xip=list:"$tmp/list" "$tmp/img" "$S" > "$tmp/log" || fail "mkfs --xip=list"
grep -q '^/numbers: 12 pages, 3 xip, 9 comp, .*xip pages 1-2,5$' "$tmp/log" ||
	fail "--xip=list ranges: $(grep numbers "$tmp/log")"
grep -q '^/true: \([0-9]*\) pages, \1 xip' "$tmp/log" || fail "--xip=list whole file: $(grep true "$tmp/log")"
grep -q '^/lib.so: .* 0 xip' "$tmp/log" || fail "--xip=list: unlisted file got XIP pages"

# Other classes and byte orders: hand-made headers, one R+X PT_LOAD at
# file offset 0x1000 of 0x1800 bytes (pages 1-2), one RW at 0x3000.
if command -v python3 >/dev/null; then
	mkdir "$tmp/elves"
	python3 - "$tmp/elves" <<'PY'
import struct, sys
d = sys.argv[1]
for cls, end in ((1, '<'), (1, '>'), (2, '<'), (2, '>')):
    ident = b'\x7fELF' + bytes([cls, 1 if end == '<' else 2, 1]) + bytes(9)
    if cls == 1:
        eh = ident + struct.pack(end + 'HHIIIIIHHHHHH', 2, 8, 1, 0, 52, 0, 0, 52, 32, 2, 40, 0, 0)
        ph = lambda t, f, o, s: struct.pack(end + 'IIIIIIII', t, o, o, o, s, s, f, 0x1000)
    else:
        eh = ident + struct.pack(end + 'HHIQQQIHHHHHH', 2, 62, 1, 0, 64, 0, 0, 64, 56, 2, 64, 0, 0)
        ph = lambda t, f, o, s: struct.pack(end + 'IIQQQQQQ', t, f, o, o, o, s, s, 0x1000)
    data = eh + ph(1, 5, 0x1000, 0x1800) + ph(1, 6, 0x3000, 0x100)
    data += bytes(range(256)) * ((0x3100 - len(data)) // 256 + 1)
    name = 'elf%d%s' % (cls * 32, 'le' if end == '<' else 'be')
    open(d + '/' + name, 'wb').write(data[:0x3100])
PY
	"$MKFS" -v "$tmp/img" "$tmp/elves" > "$tmp/log" || fail "mkfs of hand-made ELF files"
	for e in elf32le elf32be elf64le elf64be; do
		grep -q "^/$e: 4 pages, 2 xip, .*xip pages 1-2$" "$tmp/log" || fail "$e: $(grep $e "$tmp/log")"
	done
fi
echo ok
