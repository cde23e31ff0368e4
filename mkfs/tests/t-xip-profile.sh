#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Choosing XIP pages without a budget: dump.xipfs --profile turns a kernel
# profile into a path profile (and refuses another image's: page size,
# uuid; warns with counts for inodes and pages it cannot place), mkfs.xipfs
# --xip items combine in order (elf/none/all start over, list pins,
# profile adds, unlist and "-PATH" remove), missing paths and pages past
# EOF in lists are warnings with counts, and dump.xipfs --xip-list
# round-trips an image's XIP set.  Every image is checked with fsck.
. "$SRCDIR/tests/common.sh"

S=$tmp/src
mkdir -p "$S/bin" "$S/dir with space"
cp /bin/true /bin/ls "$S/bin/"
seq 1 10000 >"$S/numbers"			# 12 pages, not ELF
seq 1 5000 >"$S/dir with space/data"		# 6 pages
T="-T 1 --all-root -z lz4"

mk() {	# mk IMAGE MKFS-OPTIONS...: build quietly, fsck
	local img=$1
	shift
	"$MKFS" -q $T "$@" "$img" "$S" 2>"$tmp/mk.err" || { cat "$tmp/mk.err"; fail "mkfs $*"; }
	"$FSCK" "$img" >/dev/null || fail "fsck of the image of mkfs $*"
}
xipset() {	# the XIP set, comments left out
	"$DUMP" --xip-list "$1" >"$tmp/set.out" || fail "dump --xip-list $1"
	grep -v '^#' "$tmp/set.out"
}
expect_set() {	# expect_set IMAGE WHAT "LINE" ...: the image's XIP set is those lines
	local img=$1 what=$2
	shift 2
	xipset "$img" | sort >"$tmp/got"
	printf '%s\n' "$@" | grep . | sort >"$tmp/want"
	diff "$tmp/want" "$tmp/got" >/dev/null || { diff "$tmp/want" "$tmp/got"; fail "$what: XIP set"; }
}
ino() { "$DUMP" -m "$2" "$1" | sed -n '1s/.*: inode \([0-9]*\),.*/\1/p'; }
uuid() { "$DUMP" -s "$1" | sed -n 's/^uuid: *//p' | tr -d -; }

# The default (elf) image: the profile is taken on it.
mk "$tmp/elf.img"
expect_set "$tmp/elf.img" elf "/bin/ls 0-34" "/bin/true 0-7"
U=$(uuid "$tmp/elf.img")
[ ${#U} = 32 ] || fail "uuid '$U'"
LS=$(ino "$tmp/elf.img" /bin/ls) NUM=$(ino "$tmp/elf.img" /numbers)
DATA=$(ino "$tmp/elf.img" "/dir with space/data")

# --- kernel profile -> path profile ---
cat >"$tmp/kprof" <<EOF
xipfs-profile 1 page_size=4096 uuid=$U
# a comment
$LS 0-3 x 3
$LS 4 x 3
$LS 10-12 mr 15
$LS 36 xr 2
$NUM 2 r 1
$NUM 10-20 m 4
$DATA 0-1 xmr 7
1 0 r 1
99999 0 x 1
EOF
"$DUMP" --profile="$tmp/kprof" "$tmp/elf.img" >"$tmp/pprof" 2>"$tmp/err" || { cat "$tmp/err"; fail "dump --profile"; }
grep -v '^#' "$tmp/pprof" >"$tmp/got"
printf '%s\n' '/numbers 2:r:1,10-11:m:4' '/dir\x20with\x20space/data 0-1:xmr:7' \
	'/bin/ls 0-4:x:3,10-12:mr:15,36:xr:2' >"$tmp/want"
# In inode order: the root's files, then the directories'.
sort "$tmp/want" >"$tmp/want.s"; sort "$tmp/got" >"$tmp/got.s"
diff "$tmp/want.s" "$tmp/got.s" || fail "path profile"
grep -q '^# 3 files, 14 pages$' "$tmp/pprof" || fail "profile summary: $(tail -1 "$tmp/pprof")"
grep -q 'warning: .*kprof: 2 inodes (2 lines, the first at line 10) are not regular files' "$tmp/err" ||
	fail "missing inodes warning: $(cat "$tmp/err")"
grep -q 'warning: .*kprof: 9 pages (1 line, the first at line 8) past the end of its file' "$tmp/err" ||
	fail "past-EOF warning: $(cat "$tmp/err")"
# The conversion does not depend on the line order.
{ head -1 "$tmp/kprof"; tail -n +2 "$tmp/kprof" | tac; } >"$tmp/kprof.rev"
"$DUMP" --profile="$tmp/kprof.rev" "$tmp/elf.img" 2>/dev/null | grep -v '^#' | cmp - "$tmp/got" ||
	fail "line order changes the path profile"

refuse_profile() {	# refuse_profile WHAT MESSAGE PROFILE [IMAGE]
	"$DUMP" --profile="$3" "${4:-$tmp/elf.img}" >"$tmp/out" 2>"$tmp/err" && fail "$1: accepted"
	grep -q -- "$2" "$tmp/err" || fail "$1: message '$(cat "$tmp/err")'"
	[ -s "$tmp/out" ] && fail "$1: printed a path profile anyway"
	true
}
sed "1s/page_size=4096/page_size=16384/" "$tmp/kprof" >"$tmp/bad"
refuse_profile "page size" "page size mismatch: the profile was taken with 16384-byte pages, the image has 4096-byte pages" "$tmp/bad"
mk "$tmp/p16.img" --page-size=16K
sed "1s/uuid=.*/uuid=$(uuid "$tmp/p16.img")/" "$tmp/kprof" >"$tmp/bad"
refuse_profile "page size (image)" "page size mismatch: .* 4096-byte pages, the image has 16384-byte pages" "$tmp/bad" "$tmp/p16.img"
mk "$tmp/none.img" --xip=none
refuse_profile "uuid" "uuid mismatch: the profile was taken on the image with uuid $U, this image's is $(uuid "$tmp/none.img")" "$tmp/kprof" "$tmp/none.img"
printf 'xipfs-profile 3 page_size=4096 uuid=%s\n' "$U" >"$tmp/bad"
refuse_profile "version" "version 3 is not supported" "$tmp/bad"
printf '/bin/ls 0-3\n' >"$tmp/bad"
refuse_profile "not a profile" "not an xipfs kernel profile" "$tmp/bad"
: >"$tmp/bad"
refuse_profile "empty file" "empty file" "$tmp/bad"
printf 'xipfs-profile 1 uuid=%s\n' "$U" >"$tmp/bad"
refuse_profile "no page size" "no page_size=" "$tmp/bad"
for line in "$LS 0 x 0" "$LS 0 x 16" "$LS 0 q 1" "$LS 3-1 x 1" "$LS 0 x" "$LS 0 x 1 1" "x 0 x 1" \
	"$LS 0 xa 1" "$LS 0 a 0" "$LS 0 ra 0" "$LS 0 mra 0"; do
	printf 'xipfs-profile 2 page_size=4096 uuid=%s\n%s\n' "$U" "$line" >"$tmp/bad"
	refuse_profile "bad line '$line'" "bad:2: " "$tmp/bad"
done
printf 'xipfs-profile 1 page_size=4096 uuid=%s\n%s 0-3 x 1\n%s 3 r 1\n' "$U" "$LS" "$LS" >"$tmp/bad"
refuse_profile "overlap" "bad:3: the pages of inode $LS overlap line 2's" "$tmp/bad"

# A fast profile (version 2): pages only mapped alongside a touched one
# are "a" with weight 0, and pass into the path profile as they are.
cat >"$tmp/kfast" <<EOF
xipfs-profile 2 page_size=4096 uuid=$U
$LS 0 x 1
$LS 1-15 xa 0
$NUM 4 m 2
$NUM 5-7 ma 0
EOF
"$DUMP" --profile="$tmp/kfast" "$tmp/elf.img" >"$tmp/pfast" 2>"$tmp/err" || fail "dump --profile (fast): $(cat "$tmp/err")"
grep -v '^#' "$tmp/pfast" | sort >"$tmp/got"
printf '%s\n' '/bin/ls 0:x:1,1-15:xa:0' '/numbers 4:m:2,5-7:ma:0' | sort >"$tmp/want"
diff "$tmp/want" "$tmp/got" || fail "path profile of a fast profile"

# An empty profile (the header only) names nothing.
printf 'xipfs-profile 1 page_size=4096 uuid=%s future=1\n' "$U" >"$tmp/kempty"
"$DUMP" --profile="$tmp/kempty" "$tmp/elf.img" >"$tmp/pempty" 2>"$tmp/err" || fail "empty profile: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "empty profile: warned $(cat "$tmp/err")"
[ -z "$(grep -v '^#' "$tmp/pempty")" ] || fail "empty profile: $(cat "$tmp/pempty")"

# --- mkfs.xipfs --xip items ---
# A kernel profile is not a path profile: mkfs says what to do.
"$MKFS" -q $T --xip=profile:"$tmp/kprof" "$tmp/x.img" "$S" 2>"$tmp/err" && fail "mkfs took a kernel profile"
grep -q "is a kernel profile: turn it into a path profile first with dump.xipfs --profile=" "$tmp/err" ||
	fail "kernel profile to mkfs: $(cat "$tmp/err")"
# A profile alone applies to none; on top of elf it adds.
mk "$tmp/p.img" --xip=profile:"$tmp/pprof"
expect_set "$tmp/p.img" "profile" '/numbers 2,10-11' '/dir\x20with\x20space/data 0-1' '/bin/ls 0-4,10-12,36'
mk "$tmp/ep.img" --xip=elf,profile:"$tmp/pprof"
expect_set "$tmp/ep.img" "elf,profile" '/numbers 2,10-11' '/dir\x20with\x20space/data 0-1' '/bin/ls 0-34,36' '/bin/true 0-7'
# A fast profile's "a" pages are candidates too.
mk "$tmp/pf.img" --xip=profile:"$tmp/pfast"
expect_set "$tmp/pf.img" "fast profile" '/numbers 4-7' '/bin/ls 0-15'
# The same as two --xip options; a later none/all/elf starts over.
mk "$tmp/ep2.img" --xip=elf --xip=profile:"$tmp/pprof"
cmp "$tmp/ep.img" "$tmp/ep2.img" || fail "--xip=elf --xip=profile: differs from --xip=elf,profile:"
mk "$tmp/r.img" --xip=profile:"$tmp/pprof",elf
cmp "$tmp/r.img" "$tmp/elf.img" || fail "--xip=profile:F,elf is not --xip=elf"
mk "$tmp/r.img" --xip=elf --xip=none
expect_set "$tmp/r.img" "elf then none"
mk "$tmp/empty.img" --xip=elf,profile:"$tmp/pempty"
cmp "$tmp/empty.img" "$tmp/elf.img" || fail "an empty profile changed the elf image"
mk "$tmp/empty.img" --xip=profile:"$tmp/pempty"
expect_set "$tmp/empty.img" "empty profile alone"
# unlist: and "-PATH" lines remove, list: adds; in order.
printf '/bin/ls 4-25\n' >"$tmp/unl"
mk "$tmp/u.img" --xip=elf,unlist:"$tmp/unl"
expect_set "$tmp/u.img" "elf,unlist" "/bin/ls 0-3,26-34" "/bin/true 0-7"
printf '# comment\n-/bin/true\n-/bin/ls 30-34\n/numbers 0,5-6\n' >"$tmp/l"
mk "$tmp/l.img" --xip=elf,list:"$tmp/l"
expect_set "$tmp/l.img" "elf,list with removals" "/numbers 0,5-6" "/bin/ls 0-29"
mk "$tmp/l.img" --xip=all,unlist:"$tmp/unl",list:"$tmp/l"
expect_set "$tmp/l.img" "all,unlist,list" "/numbers 0-11" '/dir\x20with\x20space/data 0-5' \
	"/bin/ls 0-3,26-29,35-36"
mk "$tmp/l.img" --xip=elf,list:"$tmp/l",unlist:"$tmp/unl"
expect_set "$tmp/l.img" "elf,list,unlist" "/numbers 0,5-6" "/bin/ls 0-3,26-29"
# Paths that are gone and pages past EOF: warnings with counts.
printf '/gone\n/bin/ls 30-40\n/bin\n/also/gone 1\n/numbers 11-13,20\n' >"$tmp/l"
"$MKFS" -q $T --xip=list:"$tmp/l" "$tmp/w.img" "$S" 2>"$tmp/err" || fail "list with missing paths: $(cat "$tmp/err")"
"$FSCK" "$tmp/w.img" >/dev/null || fail "fsck of the list image"
grep -q "warning: .*/l: 3 lines name no regular file of the image (the first: /gone, line 1): ignored" "$tmp/err" ||
	fail "missing path warning: $(cat "$tmp/err")"
grep -q "warning: .*/l: 7 pages past the end of their files (the first at line 2): ignored" "$tmp/err" ||
	fail "past-EOF warning: $(cat "$tmp/err")"
expect_set "$tmp/w.img" "list with missing paths" "/numbers 11" "/bin/ls 30-36"
# Syntax errors stay errors.
printf '/numbers 1:x\n' >"$tmp/l"
"$MKFS" -q $T --xip=profile:"$tmp/l" "$tmp/x.img" "$S" 2>"$tmp/err" && fail "bad weight accepted"
grep -q "l:1: bad page range" "$tmp/err" || fail "bad weight: $(cat "$tmp/err")"
for r in "1:xa:1" "1:ra:0" "1:x:0"; do
	printf '/numbers %s\n' "$r" >"$tmp/l"
	"$MKFS" -q $T --xip=profile:"$tmp/l" "$tmp/x.img" "$S" 2>"$tmp/err" && fail "'$r' accepted"
	grep -q "l:1: bad page range" "$tmp/err" || fail "'$r': $(cat "$tmp/err")"
done
"$MKFS" -q $T --xip=elf,bogus "$tmp/x.img" "$S" 2>"$tmp/err" && fail "bad --xip item accepted"
grep -q "unknown policy 'bogus'" "$tmp/err" || fail "bad --xip item: $(cat "$tmp/err")"

# --- dump.xipfs --xip-list round trips ---
for opts in "" "--xip=all" "--xip=elf,profile:$tmp/pprof" "--xip=none" "-E maps=flat --xip=elf,unlist:$tmp/unl"; do
	mk "$tmp/a.img" $opts
	xipset "$tmp/a.img" >"$tmp/a.set"
	"$DUMP" --xip-list "$tmp/a.img" >"$tmp/a.list"
	mk "$tmp/b.img" $opts --xip=list:"$tmp/a.list"
	xipset "$tmp/b.img" | cmp - "$tmp/a.set" || fail "round trip of '$opts'"
	# The list alone (none + list) gives the same set, and so the same image.
	mk "$tmp/c.img" --xip=list:"$tmp/a.list"
	xipset "$tmp/c.img" | cmp - "$tmp/a.set" || fail "round trip of '$opts' (list alone)"
done
echo ok
