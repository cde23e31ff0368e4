#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark's guest side, run by tests/board from bench/run.  Reads
# ./fs.list (NAME KIND WHERE FSTYPE, one a line) and ./params, mounts
# every filesystem at /m/NAME, runs the same workload on each, and
# prints result lines "R NAME METRIC VALUE" (one per measurement and
# repetition; bench/report takes medians and spreads) plus "# ..."
# notes.  KIND: win (WHERE = physaddr,size in the flash window), blk
# (WHERE = vdX), pmem (WHERE = vdX, copied onto the next /dev/pmemN and
# mounted with -o dax).  An optional fifth field adds mount options.
#
# A second flash window (WIN2_ADDR, WIN2_SIZE in ./params, reserved by a
# memmap= of bench/run) holds the profile-guided images: the guest
# copies the disk WIN2_DISK into it through a phram MTD device before
# mounting anything.  MODE=profile (the profiling boot): mount the one
# image listed with -o profile, run the RAM workload once and print the
# kernel profile after part of it ("P part ...": the residents and
# many.sh) and after all of it ("P full ..."); nothing else.  PROF_COST
# names xipfs mounts whose speed rows are run again with an exact profile
# (as NAME+prof) and with a fast one (NAME+fast), in the same repetitions.
set -u
H=$PWD
PATH=$H:$PATH
. ./params			# REPS RAM_REPS EXEC_REPS KERNEL RW_REPS RW_XIPFS RW_EXT4
MODE=${MODE:-measure} WIN2_DISK=${WIN2_DISK:-} PROF_COST=${PROF_COST:-}
note() { echo "# $*"; }
R() { echo "R $*"; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
mem() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }

modprobe -q crc32c_intel 2>/dev/null || modprobe -q crc32c_generic 2>/dev/null
modprobe -q nd_e820 2>/dev/null; modprobe -q nd_pmem 2>/dev/null
# The second window: every byte of WIN2_DISK, through a phram device
# named xip2 (a module on stock, built in on debug), then the device goes.
if [ -n "$WIN2_DISK" ]; then
	if [ -w /sys/module/phram/parameters/phram ]; then
		echo "xip2,$WIN2_ADDR,$WIN2_SIZE" >/sys/module/phram/parameters/phram
	else
		modprobe phram "phram=xip2,$WIN2_ADDR,$WIN2_SIZE"
	fi
	w2=
	for d in /sys/class/mtd/mtd*; do
		[ -f "$d/name" ] && [ "$(cat "$d/name")" = xip2 ] && w2=/dev/${d##*/}
	done
	if [ -z "$w2" ] || ! dd if="/dev/$WIN2_DISK" of="$w2" bs=1M status=none; then
		note "cannot fill the second window (phram xip2: '$w2')"
	fi
	[ -w /sys/module/phram/parameters/phram ] || rmmod phram 2>/dev/null
fi

names=()
pmem_next=0
while read -r name kind where fstype xopts; do
	case $name in ''|'#'*) continue ;; esac
	m=/m/$name
	mkdir -p "$m"
	case $kind in
	win)
		[ "$(grep -c xipfs /proc/filesystems)" != 0 ] || load_xipfs >/dev/null 2>&1
		src=none opts=ro,physaddr=${where%,*},size=${where#*,}${xopts:+,$xopts} ;;
	blk)
		modprobe -q "$fstype" 2>/dev/null
		src=/dev/$where opts=ro ;;
	pmem)
		modprobe -q "$fstype" 2>/dev/null
		src=/dev/pmem$pmem_next opts=ro,dax
		pmem_next=$((pmem_next + 1))
		[ "$fstype" != ext4 ] || ext4_pmem=$src
		if [ ! -b "$src" ]; then
			R "$name" skip "no $src (pmem: memmap=SIZE!ADDR)"
			continue
		fi
		dd if="/dev/$where" of="$src" bs=1M oflag=direct status=none ||
			{ R "$name" skip "cannot copy onto $src"; continue; } ;;
	esac
	if ! grep -qw "$fstype" /proc/filesystems; then
		R "$name" skip "the $KERNEL kernel has no $fstype"
		continue
	fi
	if ! err=$(mount -t "$fstype" -o "$opts" "$src" "$m" 2>&1); then
		R "$name" skip "mount -t $fstype -o $opts failed on the $KERNEL kernel: ${err##*: }"
		continue
	fi
	note "$name: $(grep " $m " /proc/mounts)"
	names+=("$name")
done <fs.list
drop

# The guest's RAM is a file on the host: the first touch of each guest
# page costs a host page fault and allocation, ten times a guest page
# fault under TCG.  Touch (and free) most of the free memory once, so
# that no filesystem's page-cache allocations pay for it.
out=$(anonfault $(( $(mem MemFree) * 9 / 10 / 4 ))) && note "prefault: pages minflt ns: $out"
drop

prof_id() {	# NAME: the mount's /sys/fs/xipfs and /proc/fs/xipfs id
	local s
	s=$(awk -v m="/m/$1" '$2 == m {print $4}' /proc/mounts | tr , '\n' | sed -n 's/^physaddr=//p')
	[ -n "$s" ] && printf 'phys:%x\n' "$s"
}

# Correctness: every file's bytes, compared with the host's digest (not
# in the profiling boot: it would read every page).
[ "$MODE" = profile ] && names_digest=() || names_digest=("${names[@]}")
for n in "${names_digest[@]}"; do
	R "$n" digest "$(cd "/m/$n" && find . -type f | LC_ALL=C sort | xargs md5sum | md5sum | cut -c1-32)"
done

pids_of() {	# the given processes and their children (no pgrep in busybox)
	local p
	for p in "$@"; do
		echo "$p"
		awk -v pp="$p" '{sub(/^.*\) /, ""); if ($2 == pp) print FILENAME}' \
			/proc/[0-9]*/stat 2>/dev/null | cut -d/ -f3
	done
}
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }

# RAM: start resident programs from the image, run a script of many
# short programs and a large Python import, then look at meminfo and
# at the residents' Rss.
ram_test() {
	local n=$1 m=/m/$1 a_cached a_avail a_anon a_buf b_cached b_avail b_anon b_buf
	local py pl sh rf=0 ra=0 p t0 t1 i a_sunr b_sunr a_pt b_pt a_free b_free
	drop
	sleep 1
	a_cached=$(mem Cached) a_avail=$(mem MemAvailable) a_anon=$(mem AnonPages) a_buf=$(mem Buffers)
	a_sunr=$(mem SUnreclaim) a_pt=$(mem PageTables) a_free=$(mem MemFree)
	chroot "$m" /usr/bin/python3 /bench/resident.py >/tmp/py.ready 2>&1 &
	py=$!
	chroot "$m" /usr/bin/perl /bench/resident.pl >/tmp/pl.ready 2>&1 &
	pl=$!
	chroot "$m" /usr/bin/bash -c '/usr/bin/sleep 1000000; :' &
	sh=$!
	for i in $(seq 1 300); do
		grep -q ready /tmp/py.ready && grep -q ready /tmp/pl.ready && break
		sleep 0.2
	done
	grep -q ready /tmp/py.ready && grep -q ready /tmp/pl.ready ||
		note "$n: residents not ready: $(cat /tmp/py.ready /tmp/pl.ready)"
	t0=${EPOCHREALTIME/./}
	chroot "$m" /usr/bin/bash /bench/many.sh || note "$n: many.sh failed"
	t1=${EPOCHREALTIME/./}
	R "$n" many_sh_ms $(((t1 - t0) / 1000))
	${AFTER_MANY:-:} "$n"
	t0=${EPOCHREALTIME/./}
	chroot "$m" /usr/bin/python3 /bench/imports.py >/dev/null || note "$n: imports.py failed"
	t1=${EPOCHREALTIME/./}
	R "$n" imports_ms $(((t1 - t0) / 1000))
	sleep 1
	b_cached=$(mem Cached) b_avail=$(mem MemAvailable) b_anon=$(mem AnonPages) b_buf=$(mem Buffers)
	b_sunr=$(mem SUnreclaim) b_pt=$(mem PageTables) b_free=$(mem MemFree)
	for p in $(pids_of $py $pl $sh); do
		rf=$((rf + $(status_kb "$p" RssFile))) ra=$((ra + $(status_kb "$p" RssAnon)))
	done
	R "$n" cached_kb $((b_cached - a_cached))
	R "$n" buffers_kb $((b_buf - a_buf))
	R "$n" memavail_drop_kb $((a_avail - b_avail))
	R "$n" anonpages_kb $((b_anon - a_anon))
	R "$n" memfree_drop_kb $((a_free - b_free))
	R "$n" sunreclaim_kb $((b_sunr - a_sunr))
	R "$n" pagetables_kb $((b_pt - a_pt))
	R "$n" rssfile_kb $rf
	R "$n" rssanon_kb $ra
	kill $(pids_of $py $pl $sh) 2>/dev/null
	wait $py $pl $sh 2>/dev/null
}

# The profiling boot: the RAM workload once, on the one mount (-o
# profile), its profile after many.sh and at the end.
if [ "$MODE" = profile ]; then
	n=${names[0]}
	id=$(prof_id "$n")
	prof_part() { sed 's/^/P part /' "/proc/fs/xipfs/$id/profile"; }
	AFTER_MANY=prof_part ram_test "$n"
	sed 's/^/P full /' "/proc/fs/xipfs/$id/profile"
	note "$n: sysfs profiling $(cat "/sys/fs/xipfs/$id/profiling")"
	umount "/m/$n"
	exit 0
fi

BIG="data/libraries-1.bin data/libraries-2.bin data/manpages-1.txt data/manpages-2.txt data/random.bin"
speed_test() {	# NAME, NAME+prof or NAME+fast: the same mount profiling
	local n=$1 m=/m/${1%%+*} out f ctl= mode=
	case $n in *+prof) mode=on ;; *+fast) mode=fast ;; esac
	if [ -n "$mode" ]; then
		ctl=/sys/fs/xipfs/$(prof_id "${n%%+*}")/profiling
		echo reset >"$ctl" && echo $mode >"$ctl" || note "$n: cannot switch profiling $mode"
	fi
	drop
	out=$(cd "$m" && readbw $BIG) && R "$n" read_bytes_ns "$out"
	drop
	out=$(cd "$m" && mmaptouch $BIG) && R "$n" mmap_data "$out"
	drop
	out=$(mmaptouch "$m/usr/bin/python3.11") && R "$n" mmap_elf "$out"
	drop
	# first line cold, the rest warm
	out=$(execlat "$m" "$EXEC_REPS" /usr/bin/bash -c : | tr '\n' ' ') && R "$n" exec_bash "$out"
	drop
	out=$(execlat "$m" "$EXEC_REPS" /usr/bin/python3 -c pass | tr '\n' ' ') && R "$n" exec_python "$out"
	[ -z "$ctl" ] || { echo off >"$ctl"; echo reset >"$ctl"; }
}

# Each repetition visits the filesystems in a new random order, so that
# what ran before (and the board's warm-up) does not favour any of them.
shuffled() { printf '%s\n' "${names[@]}" | shuf; }
for r in $(seq 1 "$RAM_REPS"); do
	order=$(shuffled)
	note "RAM repetition $r: $(echo $order)"
	for n in $order; do ram_test "$n"; done
done
# The read() limit: the same files from tmpfs (hot page cache), read
# with the same kernel copy.
mkdir -p /tmp/lim
[ ${#names[@]} -gt 0 ] && (cd "/m/${names[0]}" && cp $BIG /tmp/lim/)
speed_names=("${names[@]}")
for n in $PROF_COST; do
	case " ${names[*]} " in *" $n "*) speed_names+=("$n+prof" "$n+fast") ;; esac
done
for r in $(seq 1 "$REPS"); do
	order=$(printf '%s\n' "${speed_names[@]}" | shuf)
	note "speed repetition $r: $(echo $order)"
	for n in $order; do speed_test "$n"; done
	out=$(cd /tmp/lim && readbw *) && R limits read_tmpfs "$out"
	# The limits, in the same boot, between the filesystems' runs.
	out=$(anonfault 16384) && R limits anonfault "$out"
	# Same size as the window's file below (10 MiB), so that the host's
	# caches favour neither.
	out=$(memcpybw -r 3 -n 10485760 - | tr '\n' ' ') && R limits memcpy_ram "$out"
	for n in "${names[@]}"; do
		case $n in xipfs-all*)
			out=$(memcpybw -r 3 "/m/$n/data/manpages-1.txt" | tr '\n' ' ') &&
				R limits memcpy_window "$out" ;;
		esac
	done
done
for n in "${names[@]}"; do umount "/m/$n" || note "umount $n failed"; done
rm -rf /tmp/lim

# Read-write rows, after every read-only mount is gone: xipfs rw in the
# window (a fresh copy of the image each repetition, written through a
# phram MTD device over the window), ext4 -o dax on the pmem device the
# read-only ext4 used (a fresh copy too), and tmpfs.  The same files on
# each (bench/mkrwimages); rwbench does the writes and prints KEY=VALUE.
RW_COUNTERS="pfn_mkwrite page_mkwrite writeback_pages xip_synced write_cow write_inplace free_pages clusters"
rw_mount() {	# NAME: a fresh copy mounted rw at /m/NAME
	local n=$1 m=/m/$1 wd
	mkdir -p "$m"
	case $n in
	xipfs-rw)
		[ "$(grep -c xipfs /proc/filesystems)" != 0 ] || load_xipfs >/dev/null 2>&1
		wd=$(load_phram >/dev/null 2>&1 && window_dev) || { note "$n: no phram device over the window"; return 1; }
		dd if="/dev/$RW_XIPFS" of="$wd" bs=1M status=none || { note "$n: cannot copy into the window"; return 1; }
		rmmod phram 2>/dev/null
		mount -t xipfs -o rw,physaddr=$XIPFS_WINDOW_ADDR none "$m" ;;
	ext4-dax-rw)
		[ -b "$rw_pmem" ] || { note "$n: no pmem device"; return 1; }
		dd if="/dev/$RW_EXT4" of="$rw_pmem" bs=1M oflag=direct status=none || return 1
		mount -t ext4 -o dax "$rw_pmem" "$m" ;;
	tmpfs-rw)
		mount -t tmpfs -o size=256m tmpfs "$m" && cp -p /tmp/rwsrc/*.bin "$m/" ;;
	esac
}
rw_test() {
	local n=$1 m=/m/$1 S="" a=() out f
	if ! err=$(rw_mount "$n" 2>&1); then
		R "$n" skip "cannot mount rw: $err"
		return
	fi
	case $n in xipfs-rw)
		S=/sys/fs/xipfs/phys:${XIPFS_WINDOW_ADDR#0x}
		a=(-S "$S") ;;
	esac
	[ "$r" != 1 ] || note "$n: $(grep " $m " /proc/mounts)"
	drop
	out=$(rwbench "${a[@]}" seq "$m/xip.bin" 16) && R "$n" rw_seq_xip "$out" || note "$n: seq xip.bin failed"
	out=$(rwbench "${a[@]}" seq "$m/zw.bin" 16) && R "$n" rw_seq_z "$out" || note "$n: seq zw.bin failed"
	out=$(rwbench "${a[@]}" append "$m/grow.bin" 16) && R "$n" rw_append "$out" || note "$n: append failed"
	out=$(rwbench "${a[@]}" rand "$m/xip.bin" 256) && R "$n" rw_rand "$out" || note "$n: rand failed"
	drop
	out=$(rwbench "${a[@]}" mmap "$m/xip.bin" 16) && R "$n" rw_mmap_xip "$out" || note "$n: mmap xip.bin failed"
	drop
	out=$(rwbench "${a[@]}" mmap "$m/zc.bin" 16) && R "$n" rw_mmap_z "$out" || note "$n: mmap zc.bin failed"
	if [ -n "$S" ] && [ "$r" = 1 ]; then
		out=
		for f in $RW_COUNTERS; do out="$out $f=$(cat "$S/$f")"; done
		note "$n: sysfs after the rows:$out"
	fi
	sync
	umount "$m" || note "umount $m failed"
}
if [ "${RW_REPS:-0}" -gt 0 ] && [ -n "${RW_XIPFS:-}" ]; then
	[ -z "${XIPFS_WINDOW_ADDR:-}" ] && [ -f /xipfs/env ] && . /xipfs/env
	modprobe -q ext4 2>/dev/null
	rw_pmem=${ext4_pmem:-/dev/pmem$pmem_next}
	mkdir -p /tmp/rwsrc
	mount -t ext4 -o ro,noload "/dev/$RW_EXT4" /tmp/rwsrc || note "cannot mount /dev/$RW_EXT4 for tmpfs's copy"
	rw_names="xipfs-rw ext4-dax-rw tmpfs-rw"
	for r in $(seq 1 "$RW_REPS"); do
		order=$(printf '%s\n' $rw_names | shuf)
		note "rw repetition $r: $(echo $order)"
		for n in $order; do rw_test "$n"; done
	done
	umount /tmp/rwsrc
fi
exit 0
