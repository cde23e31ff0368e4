#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkfs.xipfs never destroys what it replaces: an image too big for a
# device (a loop device, as root) or for --size is refused before the
# first write, naming both sizes; an interrupted run leaves the old image
# as it was (same bytes, fsck clean); a symlink IMAGE is followed; an
# existing image keeps its owner and mode; an image inside SOURCE is left
# out; /dev/null is a dry run; errors name IMAGE and the reason; scratch
# files go to $TMPDIR.
. "$SRCDIR/tests/common.sh"

src=$tmp/src big=$tmp/big
mkdir -p "$src/d" "$big"
seq 1 30000 >"$src/d/numbers"
cp /bin/true "$src/true"
head -c 3000000 /dev/urandom >"$big/random"
cp -r "$src/." "$big/"
# Fixed times: an image written into SOURCE changes the root's mtime.
T="-T 86400"

# new_old IMG: a valid image to be replaced, and a copy to compare with.
new_old() {
	"$MKFS" -q $T -L old "$1" "$src" || fail "mkfs (the old image)"
	"$FSCK" "$1" || fail "the old image is not clean"
	cp "$1" "$tmp/old.copy"
}
# intact IMG WHAT: the old image is still there, byte for byte, and clean.
intact() {
	cmp -s "$1" "$tmp/old.copy" || fail "$2: the old image changed"
	"$FSCK" "$1" >/dev/null || fail "$2: the old image is not clean any more"
}
# no_temp DIR WHAT: no temporary file of ours left in DIR.
no_temp() {
	! ls -A "$1" | grep -q '^\.xipfs-' || fail "$2: left $(ls -A "$1" | grep '^\.xipfs-')"
}

# --- A size limit is checked before the first write. ---
mkdir "$tmp/out"
img=$tmp/out/img
new_old "$img"
"$MKFS" -q $T --size 1M "$img" "$big" >"$tmp/log" 2>&1 && fail "--size 1M: a 3 MB image accepted"
grep -q "$img: the image would be [0-9]* bytes, more than the 1048576 bytes of --size" "$tmp/log" ||
	fail "--size: message: $(cat "$tmp/log")"
intact "$img" "--size too small"
no_temp "$tmp/out" "--size too small"
"$MKFS" -q $T --size 8M "$img" "$big" || fail "--size 8M: a 3 MB image refused"
"$FSCK" "$img" >/dev/null || fail "--size 8M: image not clean"
"$MKFS" -q --size=lots "$img" "$src" >"$tmp/log" 2>&1; [ $? = 2 ] || fail "--size=lots: not a usage error"

# --- A block device too small: refused, not a byte written. ---
loopdev=
if is_root && command -v losetup >/dev/null; then
	truncate -s 1M "$tmp/dev.bin"
	loopdev=$(losetup -f --show "$tmp/dev.bin" 2>/dev/null) || loopdev=
fi
if [ -n "$loopdev" ]; then
	trap 'losetup -d "$loopdev"; rm -rf "$tmp"' EXIT
	"$MKFS" -q $T -L old "$loopdev" "$src" || fail "mkfs onto $loopdev"
	"$FSCK" "$loopdev" >/dev/null || fail "the image on $loopdev is not clean"
	cp "$tmp/dev.bin" "$tmp/dev.copy"
	"$MKFS" -q $T "$loopdev" "$big" >"$tmp/log" 2>&1 && fail "a 3 MB image accepted for a 1 MiB device"
	grep -q "$loopdev: the image would be [0-9]* bytes, more than the 1048576 bytes of the device; nothing was written" "$tmp/log" ||
		fail "device too small: message: $(cat "$tmp/log")"
	cmp -s "$tmp/dev.bin" "$tmp/dev.copy" || fail "device too small: the device changed"
	"$FSCK" "$loopdev" >/dev/null || fail "device too small: the old image is not clean any more"
	# A symlink to the device is followed to it (and checked the same way).
	ln -s "$loopdev" "$tmp/devlink"
	"$MKFS" -q $T "$tmp/devlink" "$big" >"$tmp/log" 2>&1 && fail "device via a symlink: accepted"
	grep -q "more than the 1048576 bytes of the device" "$tmp/log" || fail "device via a symlink: $(cat "$tmp/log")"
	[ -L "$tmp/devlink" ] || fail "device via a symlink: the symlink was replaced"
	cmp -s "$tmp/dev.bin" "$tmp/dev.copy" || fail "device via a symlink: the device changed"
	# Scratch files of a device image: in $TMPDIR (never in /dev).
	TMPDIR=$tmp/nonexistent "$MKFS" -q "$loopdev" "$src" >"$tmp/log" 2>&1 && fail "TMPDIR missing: accepted"
	grep -q "$loopdev: cannot create a temporary file in $tmp/nonexistent: No such file" "$tmp/log" ||
		fail "TMPDIR missing: $(cat "$tmp/log")"
	losetup -d "$loopdev"
	trap 'rm -rf "$tmp"' EXIT
	echo "ok: device too small (loop device)"
else
	echo "no loop device (not root, or none free): the device case is skipped, --size covers the check"
fi

# --- An interrupted run leaves the old image intact. ---
# strace holds mkfs in its first copy_file_range() (the XIP and compressed
# areas going into the temporary image, after the superblock and
# metadata): killed there, mid-write.
if command -v strace >/dev/null &&
	strace -f -o /dev/null -e trace=getpid -e inject=getpid:delay_enter=1 true 2>/dev/null; then
	for sig in TERM INT KILL; do
		new_old "$img"
		strace -f -o /dev/null -e trace=copy_file_range -e inject=copy_file_range:delay_enter=5000000 \
			"$MKFS" -q $T "$img" "$big" >"$tmp/log" 2>&1 &
		spid=$!
		mpid=
		for _ in $(seq 300); do
			mpid=$(cat /proc/$spid/task/$spid/children 2>/dev/null | awk '{print $1}')
			[ -n "$mpid" ] && ls -A "$tmp/out" | grep -q '^\.xipfs-image\.' && break
			sleep 0.1
		done
		[ -n "$mpid" ] || { kill $spid; fail "$sig: mkfs did not start"; }
		ls -A "$tmp/out" | grep -q '^\.xipfs-image\.' || { kill $spid; fail "$sig: no temporary image appeared"; }
		sleep 0.5
		kill -$sig "$mpid"
		{ wait $spid; } 2>/dev/null && fail "$sig: mkfs succeeded"
		intact "$img" "killed ($sig) mid-write"
		if [ $sig = KILL ]; then
			# Nothing can clean up after SIGKILL: the temporary image
			# stays, and a later run leaves it out of SOURCE.
			stale=$(ls -A "$tmp/out" | grep '^\.xipfs-image\.') || fail "KILL: no temporary image"
			rm -f "$tmp/out/$stale"
		else
			no_temp "$tmp/out" "killed ($sig)"
		fi
	done
	echo "ok: interrupted runs (TERM, INT, KILL) left the old image intact"
else
	echo "strace cannot inject delays here: the interrupted run is not tested"
fi

# --- A symlink IMAGE is followed: the target gets the image. ---
mkdir "$tmp/links"
new_old "$tmp/out/target"
ln -s ../out/target "$tmp/links/rel"
"$MKFS" -q $T "$tmp/links/rel" "$big" || fail "mkfs through a relative symlink"
[ -L "$tmp/links/rel" ] || fail "the symlink IMAGE was replaced by a file"
[ "$(readlink "$tmp/links/rel")" = ../out/target ] || fail "the symlink changed"
cmp -s "$tmp/out/target" "$tmp/old.copy" && fail "the symlink's target was not written"
"$FSCK" "$tmp/out/target" >/dev/null || fail "image through a symlink: not clean"
no_temp "$tmp/links" "symlink IMAGE"
# A dangling one: the image is made where it points.
ln -s "$tmp/out/new" "$tmp/links/dangling"
"$MKFS" -q $T "$tmp/links/dangling" "$src" || fail "mkfs through a dangling symlink"
[ -L "$tmp/links/dangling" ] && [ -f "$tmp/out/new" ] || fail "dangling symlink: not followed"
"$FSCK" "$tmp/out/new" >/dev/null || fail "image through a dangling symlink: not clean"
ln -s loop1 "$tmp/links/loop2"; ln -s loop2 "$tmp/links/loop1"
"$MKFS" -q "$tmp/links/loop1" "$src" >"$tmp/log" 2>&1 && fail "a symlink loop accepted"
grep -q "$tmp/links/loop1: Too many levels of symbolic links" "$tmp/log" || fail "symlink loop: $(cat "$tmp/log")"

# --- An existing image keeps its owner and mode. ---
new_old "$img"
chmod 0640 "$img"
if is_root; then
	chown 1234:567 "$img"
fi
want=$(stat -c '%u:%g %a' "$img")
"$MKFS" -q $T "$img" "$big" || fail "mkfs over an image of mode 640"
[ "$(stat -c '%u:%g %a' "$img")" = "$want" ] || fail "owner/mode $want became $(stat -c '%u:%g %a' "$img")"
rm -f "$img"
(umask 027 && "$MKFS" -q $T "$img" "$src") || fail "mkfs of a new image"
[ "$(stat -c %a "$img")" = 640 ] || fail "a new image does not follow the umask: $(stat -c %a "$img")"
# A second name: only IMAGE gets the new image, with a warning.
ln "$img" "$tmp/out/second"
"$MKFS" $T "$img" "$big" >"$tmp/log" 2>&1 || fail "mkfs over a hard-linked image"
grep -q "$img: 2 hard links: only this name gets the new image" "$tmp/log" || fail "hard links: $(cat "$tmp/log")"
rm -f "$tmp/out/second"

# --- IMAGE inside SOURCE is left out. ---
cp -r "$src" "$tmp/inside"
"$MKFS" -q $T "$tmp/outside.img" "$tmp/inside" || fail "mkfs (outside)"
"$MKFS" -q $T "$tmp/inside/d/self.img" "$tmp/inside" || fail "mkfs (inside, first)"
"$MKFS" $T "$tmp/inside/d/self.img" "$tmp/inside" >"$tmp/log" 2>&1 || fail "mkfs (inside, again)"
grep -q "$tmp/inside/d/self.img is IMAGE: left out" "$tmp/log" || fail "no note: $(cat "$tmp/log")"
! "$DUMP" -l /d "$tmp/inside/d/self.img" | grep -q self.img || fail "the image was packed into itself"
# A run killed by SIGKILL leaves its temporary image: left out too.
cp "$tmp/inside/d/self.img" "$tmp/inside/d/.xipfs-image.AbC123"
"$MKFS" -q $T "$tmp/inside/d/self.img" "$tmp/inside" || fail "mkfs (inside, with a stale temporary image)"
rm -f "$tmp/inside/d/.xipfs-image.AbC123"
# Times are fixed (-T): the same image as from the tree without it.
cmp -s "$tmp/outside.img" "$tmp/inside/d/self.img" || fail "an image inside SOURCE differs from one outside"

# --- /dev/null: a dry run. ---
before=$(ls -A /dev | grep -c '^\.xipfs-')
"$MKFS" $T /dev/null "$big" >"$tmp/log" 2>&1 || fail "/dev/null: $(cat "$tmp/log")"
grep -q "^/dev/null: .* inodes" "$tmp/log" || fail "/dev/null: no summary: $(cat "$tmp/log")"
grep -q "(dry run: nothing written)" "$tmp/log" || fail "/dev/null: not said to be a dry run"
[ "$(ls -A /dev | grep -c '^\.xipfs-')" = "$before" ] || fail "/dev/null: files left in /dev"
"$MKFS" -q $T --size 1M /dev/null "$big" >"$tmp/log" 2>&1 && fail "/dev/null --size 1M: accepted"
grep -q "more than the 1048576 bytes of --size" "$tmp/log" || fail "/dev/null --size: $(cat "$tmp/log")"

# --- Errors name IMAGE and the reason. ---
# err WHAT PATTERN ARGS...: mkfs fails with PATTERN in its message.
err() {
	local what=$1 pat=$2
	shift 2
	"$MKFS" -q "$@" >"$tmp/log" 2>&1 && fail "$what: accepted"
	grep -q -- "$pat" "$tmp/log" || fail "$what: message '$(cat "$tmp/log")' lacks '$pat'"
}
err "no such directory" "$tmp/nodir/img: directory $tmp/nodir: No such file or directory" "$tmp/nodir/img" "$src"
err "IMAGE is a directory" "$tmp/out: a directory, not a file or a device" "$tmp/out" "$src"
mkfifo "$tmp/fifo"
err "IMAGE is a FIFO" "$tmp/fifo: a FIFO, not a file or a device" "$tmp/fifo" "$src"
err "IMAGE's parent is a file" "$img/x: Not a directory" "$img/x" "$src"
# Scratch files go to $TMPDIR: a missing one is named.
new_old "$img"
TMPDIR=$tmp/nonexistent err "TMPDIR missing" "$img: cannot create a temporary file in $tmp/nonexistent: No such file" "$img" "$src"
intact "$img" "TMPDIR missing"
if ! is_root; then
	mkdir "$tmp/ro"
	chmod 555 "$tmp/ro"
	err "directory not writable" "$tmp/ro/img: cannot create files in $tmp/ro: Permission denied" "$tmp/ro/img" "$src"
fi
echo ok
