#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The structure-aware mutator (mutate.c, mutator.h): one seed gives one
# image, the same bytes every time and through --patch; every mutated
# image gets past the checksums (the damage is structural) and neither
# fsck.xipfs nor dump.xipfs crashes on it (run under make SAN=1 check).
. "$SRCDIR/tests/common.sh"
MUTATE=$BUILD/tests/mutate
count=${XIPFS_MUTATE_COUNT:-40}
"$SRCDIR/../tests/lib/fuzz-bases.sh" "$tmp" "$MKFS" || fail "fuzz-bases.sh"

for b in b1 b2 b3 b4 b5; do
	"$FSCK" -q "$tmp/$b.img" || fail "$b is not clean"
	"$MUTATE" --patch "$tmp/$b.img" "$b" 1 "$count" >"$tmp/$b.patch" || fail "mutate --patch $b"
	for seed in $(seq 1 "$count"); do
		out=$tmp/m.img
		what=$("$MUTATE" "$tmp/$b.img" "$seed" "$out") || fail "mutate $b $seed"
		"$MUTATE" "$tmp/$b.img" "$seed" "$tmp/again.img" >/dev/null || fail "mutate $b $seed again"
		cmp -s "$out" "$tmp/again.img" || fail "$b seed $seed: two runs differ"
		[ "$("$MUTATE" --what "$tmp/$b.img" "$seed")" = "$what" ] ||
			fail "$b seed $seed: --what says something else"
		"$FSCK" "$out" >"$tmp/out" 2>&1
		rc=$?
		case $rc in
		0|4) ;;
		8) grep -q "not an xipfs image\|smaller than" "$tmp/out" ||
			{ cat "$tmp/out"; fail "$b $what: fsck exit 8"; } ;;
		*) cat "$tmp/out"; fail "$b $what: fsck exit $rc" ;;
		esac
		# A data checksum entry may be changed on purpose (not the table's).
		grep -qE "(superblock|metadata) checksum mismatch" "$tmp/out" &&
			fail "$b $what: checksums not recomputed"
		"$DUMP" -l / -R "$out" >/dev/null 2>&1
		[ $? -le 1 ] || fail "$b $what: dump -l crashed"
		"$DUMP" --extract "$tmp/x" "$out" >/dev/null 2>&1
		[ $? -le 1 ] || fail "$b $what: dump --extract crashed"
		chmod -R u+rwx "$tmp/x" 2>/dev/null
		rm -rf "$tmp/x"
		echo "$b-$seed $rc $what" >>"$tmp/log"
	done
	# The patch stream rebuilds the same bytes (what the guest does).
	python3 - "$tmp/$b.img" "$tmp/$b.patch" "$tmp/p" <<'EOF_PY' || fail "$b: applying the patches"
import sys
base = open(sys.argv[1], 'rb').read()
for line in open(sys.argv[2]):
    w = line.rstrip('\n').split(' ', 4)
    if w[0] == 'I':
        name, img = w[1], bytearray(base[:int(w[3])])
    elif w[0] == 'P':
        off, data = int(w[1]), bytes.fromhex(w[2].strip())
        img[off:off + len(data)] = data
    elif w[0] == 'E':
        open('%s-%s' % (sys.argv[3], name), 'wb').write(img)
EOF_PY
	for seed in 1 7 $count; do
		"$MUTATE" "$tmp/$b.img" "$seed" "$tmp/m.img" >/dev/null
		cmp -s "$tmp/m.img" "$tmp/p-$b-$seed" || fail "$b seed $seed: --patch rebuilds other bytes"
	done
done
# The mix: most images damaged in a way fsck sees, not all of one kind.
n=$(wc -l <"$tmp/log")
bad=$(awk '$2 != 0' "$tmp/log" | wc -l)
# A log line is "bN-SEED RC SEED: KIND DETAIL; KIND DETAIL...": count the
# distinct KINDs of every mutation (not of every line: the seed differs).
kinds=$(cut -d' ' -f3- "$tmp/log" | sed 's/^[0-9]*: //' | tr ';' '\n' |
	sed 's/^ //; s/ [(#@].*//; s/ s_.*//' | sort -u | wc -l)
echo "$n images: $bad found damaged by fsck.xipfs; $kinds kinds of structure"
[ $((bad * 2)) -gt "$n" ] || fail "only $bad of $n mutated images are damaged"
[ "$kinds" -ge 10 ] || fail "only $kinds kinds of structure mutated"
exit 0
