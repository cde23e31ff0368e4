#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Round trips of a tree with every kind of file through mkfs, fsck and
# dump --extract, across compressors, XIP policies and page/cluster sizes;
# the extracted tree must equal the source in content and metadata.
. "$SRCDIR/tests/common.sh"

src=$tmp/src
mkdir -p "$src/sizes" "$src/sparse" "$src/names" "$src/links" "$src/special" "$src/elf"

# Sizes around page boundaries, and a few MiB (compressible and not).
for n in 0 1 4095 4096 4097 8191 65535 65537 262143 262145; do
	head -c $n /dev/urandom >"$src/sizes/random-$n"
	yes "text line $n" | head -c $n >"$src/sizes/text-$n"
done
head -c $((3 * 1024 * 1024 + 5)) /dev/urandom >"$src/sizes/random-3M"
seq 1 700000 | head -c $((4 * 1024 * 1024 - 1)) >"$src/sizes/text-4M"

# Sparse: holes at the start, middle and end.
truncate -s 10M "$src/sparse/empty-10M"
printf x | dd of="$src/sparse/mid" bs=1 seek=5000000 conv=notrunc status=none
truncate -s 8M "$src/sparse/mid"
printf y >"$src/sparse/lead"; truncate -s 300000 "$src/sparse/lead"
printf z | dd of="$src/sparse/lead" bs=1 seek=299999 conv=notrunc status=none

# Names: 255 bytes, non-UTF-8, odd characters, deep paths.
long=$(printf 'n%.0s' $(seq 255))
echo long >"$src/names/$long"
echo bytes >"$src/names/"$'\xff\xfe\x80'
echo nl >"$src/names/"$'new\nline'
echo sp >"$src/names/ spaces and * ? [x] "
d=$src/names/deep
for i in $(seq 100); do d=$d/d$i; done
mkdir -p "$d"
echo bottom >"$d/file"
longd=$(printf 'd%.0s' $(seq 255))
mkdir -p "$src/names/$longd/$longd"
echo x >"$src/names/$longd/$longd/$long"

# Hard links, within and across directories; a 5-link group.
echo one >"$src/links/a"
ln "$src/links/a" "$src/links/b"
ln "$src/links/a" "$src/names/a-link"
head -c 10000 /dev/urandom >"$src/links/g"
for i in 1 2 3 4; do ln "$src/links/g" "$src/links/g$i"; done
# Symlinks: short, dangling, absolute, 4095-byte target.
ln -s a "$src/links/sym"
ln -s /nonexistent/target "$src/links/dangling"
ln -s "$(printf 'x%.0s' $(seq 4095))" "$src/links/long-target"
ln -s "$src/links/b" "$src/links/absolute"
ln "$src/links/sym" "$src/links/sym-hardlink"

# Special files: fifos and sockets (devices: t-special, as root).
mkfifo "$src/special/fifo"
"$TREECMP" --mksock "$src/special/socket" || fail "cannot create a socket"

# Modes, owners and times.
echo mode >"$src/mode-0000"; chmod 0000 "$src/mode-0000"
echo suid >"$src/suid"; chmod 4755 "$src/suid"
echo sgid >"$src/sgid"; chmod 2711 "$src/sgid"
mkdir "$src/sticky"; chmod 1777 "$src/sticky"
mkdir "$src/ro-dir"; echo in >"$src/ro-dir/f"; chmod 0555 "$src/ro-dir"
if is_root; then
	chown 1234:5678 "$src/suid" "$src/links/g"
	chown -h 42:43 "$src/links/sym"
	chown 65534:65534 "$src/sticky"
	chmod 4755 "$src/suid"
fi

# Real ELF executables and shared libraries.
n=0
for f in /usr/bin/* /usr/lib/x86_64-linux-gnu/*.so*; do
	[ -f "$f" ] && [ ! -L "$f" ] || continue
	[ "$(head -c 4 "$f" 2>/dev/null)" = $'\x7fELF' ] || continue
	size=$(stat -c %s "$f")
	[ "$size" -lt 1500000 ] || continue
	cp "$f" "$src/elf/" && n=$((n + 1))
	[ $n -ge 24 ] && break
done
[ $n -gt 0 ] || fail "no ELF files found on the host"

touch -d '2001-02-03 04:05:06.123456789' "$src/sizes/text-1"
touch -h -d '1969-07-20 20:17:40.5' "$src/links/dangling"
fix_dir_times "$src"

roundtrip "$src" lz4-elf -z lz4 --xip=elf
roundtrip "$src" lz4hc-all -z lz4hc --xip=all
roundtrip "$src" zstd-none -z zstd --xip=none
roundtrip "$src" zlib-elf -z zlib,9 --xip=elf -C 16K
roundtrip "$src" xz-none -z xz --xip=none -C 256K
roundtrip "$src" lz4-64k -z lz4 --xip=elf --page-size=64K
roundtrip "$src" zstd-free -z zstd --xip=all --free-space=1M -C 4K
exit 0
