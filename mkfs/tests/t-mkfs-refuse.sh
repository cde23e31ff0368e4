#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkfs.xipfs refuses what it cannot store faithfully, says why, and
# leaves nothing behind: no image, no temporary file.
set -u
MKFS=$BUILD/mkfs.xipfs
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v python3 >/dev/null || { echo "python3 needed to write test archives"; exit 77; }

# mktar OUT KIND: a pax archive with one entry that xipfs cannot hold.
mktar() {
	python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
out, kind = sys.argv[1], sys.argv[2]
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
    def add(ti, data=b""):
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    add(tarfile.TarInfo("ok"), b"fine\n")
    if kind == "longname":
        add(tarfile.TarInfo("d/" + "x" * 256), b"too long\n")
    elif kind == "bigdev":
        ti = tarfile.TarInfo("dev")
        ti.type = tarfile.CHRTYPE
        ti.devmajor, ti.devminor = 5000, 1
        add(ti)
    elif kind == "longlink":
        ti = tarfile.TarInfo("link")
        ti.type = tarfile.SYMTYPE
        ti.linkname = "y" * 5000
        add(ti)
    elif kind == "dotdot":
        add(tarfile.TarInfo("a/../../escape"), b"x")
    elif kind == "badlink":
        ti = tarfile.TarInfo("hl")
        ti.type = tarfile.LNKTYPE
        ti.linkname = "missing"
        add(ti)
PY
}

# refuse WHAT PATTERN ARGS...: mkfs must fail, print PATTERN, leave no file.
refuse() {
	local what=$1 pat=$2
	shift 2
	mkdir "$tmp/out"
	if "$MKFS" -q "$tmp/out/img" "$@" > "$tmp/log" 2>&1; then
		fail "$what: accepted"
	fi
	grep -q -- "$pat" "$tmp/log" || fail "$what: message '$(cat "$tmp/log")' lacks '$pat'"
	[ -z "$(ls -A "$tmp/out")" ] || fail "$what: left $(ls -A "$tmp/out")"
	rm -rf "$tmp/out"
}

for k in longname bigdev longlink dotdot badlink; do
	mktar "$tmp/$k.tar" $k
done
refuse "256-byte name" "longer than 255 bytes" --tar "$tmp/longname.tar"
refuse "device number" "cannot be stored" --tar "$tmp/bigdev.tar"
refuse "symlink target" "symlink target too long" --tar "$tmp/longlink.tar"
refuse "'..' in a path" '".." in an archive path' --tar "$tmp/dotdot.tar"
refuse "dangling hard link" "not in the archive" --tar "$tmp/badlink.tar"
refuse "not a tar file" "" --tar /etc/hostname
refuse "missing source" "No such file" "$tmp/nonexistent"

# A source file that cannot be read (only meaningful when not root).
mkdir -p "$tmp/src"
echo data > "$tmp/src/f"
ln -s f "$tmp/src/l"
refuse "missing device table" "No such file" -D "$tmp/nope" "$tmp/src"
printf '/dev/x c 600 0 0 1\n' > "$tmp/devtab"
refuse "short device table line" "devtab:1: 6 fields, expected 10" -D "$tmp/devtab" "$tmp/src"
printf '/nodir/x c 600 0 0 1 3 - - -\n' > "$tmp/devtab"
refuse "device table without parent" "parent directory not in the image" -D "$tmp/devtab" "$tmp/src"
printf '/l c 600 0 0 1 3 - - -\n' > "$tmp/devtab"
refuse "device table type clash" "exists with another type" -D "$tmp/devtab" "$tmp/src"
printf 'f 3-1\n' > "$tmp/xiplist"
refuse "xip list bad range" "bad page range" --xip=list:"$tmp/xiplist" "$tmp/src"

# A file that changes between the tree walk and the data pass.  The
# device table is a FIFO: mkfs opens it after the walk, so once our
# writer's open returns the walk is over, and we change a file.
mkfifo "$tmp/devfifo"
mkdir "$tmp/out"
"$MKFS" -q -D "$tmp/devfifo" "$tmp/out/img" "$tmp/src" > "$tmp/log" 2>&1 &
pid=$!
# (The timeout only guards against a hang if mkfs dies before the open.)
timeout 300 bash -c 'exec 3> "$1"; echo more >> "$2"' _ "$tmp/devfifo" "$tmp/src/f" ||
	{ kill $pid 2>/dev/null; fail "mkfs did not open the device table"; }
wait $pid && fail "a file changed while read was accepted"
grep -q "f: file changed while being read" "$tmp/log" || fail "changed file: $(cat "$tmp/log")"
[ -z "$(ls -A "$tmp/out")" ] || fail "changed file: left $(ls -A "$tmp/out")"
rm -rf "$tmp/out"

# The ELF parser on truncated and corrupted ELF headers: no crash, no XIP.
mkdir "$tmp/elf"
cp /bin/true "$tmp/elf/ok"
head -c 100 /bin/true > "$tmp/elf/short"
cp /bin/true "$tmp/elf/badph"
# e_phoff (offset 32, 8 bytes) far beyond the end of the file.
printf '\xff\xff\xff\xff\xff\xff\x00\x00' | dd of="$tmp/elf/badph" bs=1 seek=32 conv=notrunc status=none
cp /bin/true "$tmp/elf/manyph"
# e_phnum (offset 56, 2 bytes) = 0xfffe.
printf '\xfe\xff' | dd of="$tmp/elf/manyph" bs=1 seek=56 conv=notrunc status=none
"$MKFS" -v "$tmp/elfimg" "$tmp/elf" > "$tmp/log" 2>&1 || fail "corrupt ELF files: $(cat "$tmp/log")"
grep -q '^/ok: .*xip pages 0-' "$tmp/log" || fail "intact ELF file has no XIP pages"
grep -q '^/short: .* 0 xip' "$tmp/log" || fail "truncated ELF file got XIP pages"
grep -q '^/badph: .* 0 xip' "$tmp/log" || fail "ELF with bad e_phoff got XIP pages"
grep -q '^/manyph: .* 0 xip' "$tmp/log" || fail "ELF with bad e_phnum got XIP pages"
echo ok
