#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkfs.xipfs --flash-size: the image never exceeds the budget (50 random
# budgets), is refused when even every candidate compressed does not fit
# (nothing written), is the --xip=all (or elf) image when that fits, is
# reproducible, puts profiled pages first, and keeps list: pins.  Every
# image is checked with fsck.
. "$SRCDIR/tests/common.sh"

S=$tmp/src
mkdir -p "$S/bin"
cp /bin/true /bin/ls "$S/bin/"
seq 1 10000 >"$S/numbers"
head -c 40000 /dev/urandom >"$S/random"		# stored clusters: XIP for free
T="-T 1 --all-root -z lz4"

size() { stat -c %s "$1"; }
xippages() {
	"$DUMP" --xip-list "$1" | sed -n 's/^# [0-9]* files, \([0-9]*\) pages$/\1/p'
}
mk() {	# mk IMAGE OPTIONS...: build (summary to $tmp/log), fsck
	local img=$1
	shift
	"$MKFS" $T "$@" "$img" "$S" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "mkfs $*"; }
	"$FSCK" "$img" >/dev/null || fail "fsck of the image of mkfs $*"
}

mk "$tmp/none.img" --xip=none
mk "$tmp/elf.img"
mk "$tmp/all.img" --xip=all
NONE=$(size "$tmp/none.img") ELF=$(size "$tmp/elf.img") ALL=$(size "$tmp/all.img")
[ "$NONE" -lt "$ELF" ] && [ "$ELF" -lt "$ALL" ] || fail "sizes none $NONE elf $ELF all $ALL"

# Below the all-compressed image: refused, and an existing image stays.
cp "$tmp/elf.img" "$tmp/keep.img"
"$MKFS" $T --flash-size=$((NONE - 1)) "$tmp/keep.img" "$S" >"$tmp/log" 2>&1 && fail "budget below the floor accepted"
grep -q -- "--flash-size=$((NONE - 1)): the image does not fit: with every page compressed it is $NONE bytes (1 too many)" "$tmp/log" ||
	fail "refusal: $(cat "$tmp/log")"
cmp "$tmp/keep.img" "$tmp/elf.img" || fail "a refused budget changed the existing image"
[ -z "$(ls -A "$tmp" | grep '^\.xipfs')" ] || fail "temporary files left: $(ls -A "$tmp")"
# Exactly the all-compressed size fits.
mk "$tmp/b.img" --flash-size=$NONE
[ "$(size "$tmp/b.img")" -le "$NONE" ] || fail "budget = floor: $(size "$tmp/b.img") bytes"

# A budget the --xip=all (elf) image fits in gives that image.
mk "$tmp/b.img" --xip=all --flash-size=$ALL
cmp "$tmp/b.img" "$tmp/all.img" || fail "--xip=all within budget is not the --xip=all image"
grep -q "flash budget $ALL bytes: \([0-9]*\) of \1 candidate pages XIP" "$tmp/log" || fail "summary: $(cat "$tmp/log")"
mk "$tmp/b.img" --xip=all --flash-size=1G
cmp "$tmp/b.img" "$tmp/all.img" || fail "--xip=all, large budget"
mk "$tmp/b.img" --flash-size=$ELF
cmp "$tmp/b.img" "$tmp/elf.img" || fail "elf within budget is not the elf image"
grep -q "expected RAM saved: unknown without a profile" "$tmp/log" || fail "no-profile summary: $(cat "$tmp/log")"
# One byte less than --xip=all: not everything, still within.
mk "$tmp/b.img" --xip=all --flash-size=$((ALL - 1))
[ "$(size "$tmp/b.img")" -lt "$ALL" ] || fail "all - 1: $(size "$tmp/b.img")"
[ "$(xippages "$tmp/b.img")" -lt "$(xippages "$tmp/all.img")" ] || fail "all - 1: every page XIP"

# A profile: its pages come first.
printf '/numbers 3-8:m:5\n' >"$tmp/prof"
mk "$tmp/p.img" --xip=elf,profile:"$tmp/prof" --flash-size=$((NONE + 6 * 4096 + 4096))
"$DUMP" --xip-list "$tmp/p.img" | grep -q '^/numbers 3-8$' || fail "profiled pages not chosen: $("$DUMP" --xip-list "$tmp/p.img")"
grep -q "expected RAM saved: 6 of the profile's 6 candidate pages XIP, 24 KiB" "$tmp/log" ||
	fail "profile summary: $(cat "$tmp/log")"

# list: pins pages whatever the budget; a budget they don't fit in is refused.
printf '/numbers\n' >"$tmp/pin"
mk "$tmp/pin.img" --xip=none,list:"$tmp/pin"
PIN=$(size "$tmp/pin.img")
"$MKFS" $T --xip=elf,list:"$tmp/pin" --flash-size=$((PIN - 1)) "$tmp/x.img" "$S" >"$tmp/log" 2>&1 &&
	fail "budget below the pinned image accepted"
grep -q "with every page but those list: pins XIP compressed it is $PIN bytes" "$tmp/log" || fail "pins refusal: $(cat "$tmp/log")"
mk "$tmp/b.img" --xip=elf,list:"$tmp/pin" --flash-size=$((PIN + 20000))
"$DUMP" --xip-list "$tmp/b.img" | grep -q '^/numbers 0-11$' || fail "pinned pages not XIP under a budget"

# Random budgets from below the floor to above --xip=all: never exceeded.
RANDOM=12345
for i in $(seq 1 50); do
	budget=$((NONE - 4096 + RANDOM * (ALL - NONE + 8192) / 32768))
	case $((i % 3)) in
	0) opts="--xip=all" ;;
	1) opts="--xip=elf,profile:$tmp/prof" ;;
	2) opts="--xip=all -E maps=flat -C 16K" ;;
	esac
	if "$MKFS" $T $opts --flash-size=$budget "$tmp/r.img" "$S" >"$tmp/log" 2>&1; then
		s=$(size "$tmp/r.img")
		[ "$s" -le "$budget" ] || fail "budget $budget ($opts): image of $s bytes"
		"$FSCK" "$tmp/r.img" >/dev/null || fail "fsck: budget $budget ($opts)"
	else
		grep -q "the image does not fit" "$tmp/log" || fail "budget $budget ($opts): $(cat "$tmp/log")"
		[ "$budget" -lt "$NONE" ] || [ "$opts" != "--xip=all" ] || fail "budget $budget ($opts) >= floor refused"
	fi
	rm -f "$tmp/r.img"
done

# Reproducible: two runs, and one thread, give the same bytes.
repro "$S" "$T --xip=all --flash-size=$(((NONE + ALL) / 2))" \
	"$T --xip=elf,profile:$tmp/prof --flash-size=$(((NONE + ELF) / 2))"
echo ok
