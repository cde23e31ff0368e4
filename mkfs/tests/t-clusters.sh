#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The on-media forms of xz and zlib clusters: xz images (raw LZMA2, no .xz
# container) and zlib images (libdeflate) round-trip at several levels and
# cluster sizes; no xz cluster carries the .xz framing; and a cluster
# damaged behind valid checksums (truncated, one byte too long, wrong
# ulen, flipped bytes) makes fsck exit 4, without crashing under ASan:
# in the 8-byte cluster table (-E clusters=full) and in the compact one,
# whose regular clusters have no descriptor bits to change the ulen of
# (a partial cluster's exception word has).
. "$SRCDIR/tests/common.sh"
EDIT=$BUILD/tests/clusteredit

# Deterministic content (the damage below must hit the same bytes on every
# run): text, a mix of text and noise, small files.
src=$tmp/src
mkdir -p "$src/d"
seq 1 150000 >"$src/numbers"
python3 -c '
import random, sys
r = random.Random(7)
out = bytearray()
for i in range(3000):
    out += b"line %d of a mixed file\n" % i if i % 3 else bytes(r.getrandbits(8) for _ in range(40))
sys.stdout.buffer.write(out)' >"$src/mixed" || fail "python3"
for i in $(seq 30); do printf 'small file %d %0300d\n' "$i" "$i" >"$src/d/f$i"; done

roundtrip "$src" xz -z xz --xip=none -E clusters=compact
roundtrip "$src" xz9-256k -z xz,9 -C 256K --xip=none -E clusters=compact
roundtrip "$src" xz0-4k -z xz,0 -C 4K --xip=none
roundtrip "$src" xz-frag -z xz -C 16K -E fragments --xip=none
roundtrip "$src" zlib -z zlib --xip=none -E clusters=compact
roundtrip "$src" zlib12-128k -z zlib,12 -C 128K --xip=none -E clusters=compact
roundtrip "$src" zlib1-4k -z zlib,1 -C 4K -E fragments --xip=none
for name in xz xz9-256k zlib zlib12-128k; do
	"$DUMP" -s "$tmp/$name.img" | grep -q '^features:.* compact_clusters' ||
		fail "$name: not a compact cluster table"
done
roundtrip "$src" xz-full -z xz --xip=none -E clusters=full
roundtrip "$src" xz9-256k-full -z xz,9 -C 256K --xip=none -E clusters=full
roundtrip "$src" zlib-full -z zlib --xip=none -E clusters=full
roundtrip "$src" zlib12-128k-full -z zlib,12 -C 128K --xip=none -E clusters=full

# xz: each cluster is one LZMA2 stream: its first chunk resets the
# dictionary (control 0x01 or 0xe0-0xff), its last byte is the end marker,
# and nothing of the .xz container (magic fd 37 7a 58 5a 00) is left.
# zlib: an RFC 1950 header (deflate, window <= 32K, no dictionary).
for name in xz xz9-256k xz0-4k xz-frag zlib zlib12-128k zlib1-4k \
	xz-full xz9-256k-full zlib-full zlib12-128k-full; do
	"$EDIT" "$tmp/$name.img" >"$tmp/$name.clusters" || fail "$name: clusteredit"
done
cat "$tmp"/xz*.clusters | awk '
	$2 == "xz" { n++
		if ($5 ~ /^fd377a585a00/) { print "cluster " $1 " has the .xz magic"; bad = 1 }
		c = substr($5, 1, 2)
		if (c != "01" && c < "e0") { print "cluster " $1 " starts with control " c; bad = 1 }
		if ($6 != "00") { print "cluster " $1 " does not end with the end marker"; bad = 1 }
	}
	END { if (!n) { print "no xz cluster"; bad = 1 } exit bad }' || fail "xz clusters are not raw LZMA2"
n=0
while read -r id alg clen ulen first last; do
	[ "$alg" = zlib ] || continue
	n=$((n + 1))
	cmf=$((16#${first:0:2})) flg=$((16#${first:2:2}))
	[ $((cmf & 15)) = 8 ] && [ $((cmf >> 4)) -le 7 ] && [ $((flg & 32)) = 0 ] &&
		[ $(((cmf * 256 + flg) % 31)) = 0 ] || fail "zlib cluster $id: header ${first:0:4}"
done < <(cat "$tmp"/zlib*.clusters)
[ $n -gt 0 ] || fail "no zlib cluster"

# damage NAME INDEX OP...: each OP on cluster INDEX of NAME.img: fsck exit 4.
damage() {
	local name=$1 index=$2 op rc
	shift 2
	for op in "$@"; do
		"$EDIT" "$tmp/$name.img" "$tmp/bad.img" "$index" "$op" ||
			fail "$name: clusteredit $index $op"
		"$FSCK" "$tmp/bad.img" >"$tmp/out" 2>&1
		rc=$?
		[ $rc = 4 ] || { cat "$tmp/out"; fail "$name cluster $index $op: fsck exit $rc, not 4"; }
		grep -q "cluster $index" "$tmp/out" ||
			{ cat "$tmp/out"; fail "$name cluster $index $op: no finding about cluster $index"; }
	done
}
# The first, a middle and the last compressed cluster of each kind.
for name in xz xz9-256k zlib zlib12-128k xz-full xz9-256k-full zlib-full zlib12-128k-full; do
	alg=${name%%[0-9-]*}
	ids=($(awk -v a="$alg" '$2 == a { print $1 }' "$tmp/$name.clusters"))
	[ ${#ids[@]} -ge 2 ] || fail "$name: ${#ids[@]} $alg clusters"
	ulen_ops="ulen-1 ulen+1"
	[ "${name%-full}" = "$name" ] && ulen_ops=
	for id in "${ids[0]}" "${ids[${#ids[@]} / 2]}" "${ids[${#ids[@]} - 1]}"; do
		clen=$(awk -v i="$id" '$1 == i { print $3 }' "$tmp/$name.clusters")
		damage "$name" "$id" clen-1 clen+1 $ulen_ops \
			flip:0 flip:1 flip:$((clen / 2)) flip:-2 flip:-1
	done
	[ -n "$ulen_ops" ] && continue
	# Compact table: a partial cluster (an exception word) of each image.
	id=$(awk '$4 > max { max = $4 } { u[$1] = $4 } END { for (i in u) if (u[i] < max) { print i; exit } }' \
		"$tmp/$name.clusters")
	[ -n "$id" ] || fail "$name: no partial cluster"
	damage "$name" "$id" ulen-1 ulen+1 clen-1 clen+1
done
exit 0
