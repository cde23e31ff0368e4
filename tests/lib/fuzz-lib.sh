# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The kernel fuzz run's host side, shared by tests/xipfs/061 (the bounded
# run of make check) and tests/fuzz (make fuzz).  Needs TOP and BUILD.
#
#   fuzz_prepare DIR FIRST COUNT
#       DIR/bases/bN.img (tests/lib/fuzz-bases.sh) and DIR/patches/: COUNT
#       mutated images, the seeds FIRST, FIRST+1, ... of each base in turn
#       (image bN-S is base bN mutated with seed S: mkfs/tests/mutate).
#   fuzz_guest_script TIMEOUT
#       the guest script (stdout): xipfuzz over them, then kmemleak.
#       XIPFS_FUZZ_PLANT=splat:NAME, hang:NAME or leak plants a problem
#       (a fake WARNING line at image NAME, a walker that never returns,
#       a fake kmemleak report), to see the run fail and name it.
#   fuzz_verdict OUT CONSOLE
#       judge a run from the guest's output and the kernel console: every
#       image handled, no hang, no splat, no leak.  Prints one line per
#       problem naming the image (the last "xipfuzz: image" marker before
#       a splat), and "fuzz: N images ..." at the end; returns 1 on any
#       problem.  The names of the images at fault go to OUT.bad.
#   fuzz_keep NAME DIR
#       rebuild image NAME (bN-S) into DIR/NAME.img with its description.

MUTATE=$BUILD/mkfs/tests/mutate

fuzz_build() {
	make -s -C "$TOP/mkfs" BUILD="$BUILD/mkfs" all "$MUTATE" || return 1
	make -s -C "$TOP/tests/helpers" BUILD="$BUILD" || return 1
}

fuzz_prepare() {
	local dir=$1 first=$2 count=$3 b k n
	mkdir -p "$dir/bases" "$dir/patches"
	"$TOP/tests/lib/fuzz-bases.sh" "$dir/bases" "$BUILD/mkfs/mkfs.xipfs" || return 1
	# bases/src was removed; the five images interleave seed by seed.
	for k in 1 2 3 4 5; do
		b=b$k
		n=$(((count - k + 5) / 5))
		[ "$n" -gt 0 ] || continue
		"$MUTATE" --patch "$dir/bases/$b.img" "$b" "$first" "$n" \
			>"$dir/patches/$b.patch" || return 1
	done
	# One stream, interleaved: b1-S, b2-S, ..., b1-S+1, ...
	awk '
		FNR == 1 { f++ }
		/^I / { n[f]++ }
		{ img[f, n[f]] = img[f, n[f]] $0 "\n" }
		END {
			for (i = 1; ; i++) {
				any = 0
				for (j = 1; j <= f; j++)
					if (i <= n[j]) { printf "%s", img[j, i]; any = 1 }
				if (!any)
					break
			}
		}' "$dir"/patches/b*.patch >"$dir/all.patch" || return 1
	rm -f "$dir"/patches/b*.patch
	mv "$dir/all.patch" "$dir/patches/all.patch"
}

fuzz_guest_script() {
	cat <<EOS
load_xipfs || exit 1
load_phram || exit 1
mtd=\$(window_dev) || exit 1
mkdir -p /mnt
echo "uptime: \$(cut -d' ' -f1 /proc/uptime)"
xipfuzz -t $1 ${XIPFS_FUZZ_PLANT:+-P "$XIPFS_FUZZ_PLANT"} -d "\$mtd" -w "\$XIPFS_WINDOW_ADDR" bases patches/all.patch
rc=\$?
echo "uptime: \$(cut -d' ' -f1 /proc/uptime)"
[ \$rc = 3 ] && exit 3
unload_xipfs
echo "kmemleak:"
kmemleak_scan 2>&1
$([ "${XIPFS_FUZZ_PLANT:-}" != leak ] || echo 'echo "unreferenced object 0xffff888000000000 (size 64): planted"')
exit \$rc
EOS
}

fuzz_verdict() {
	local out=$1 console=$2 bad=0 n want
	: >"$out.bad"
	n=$(grep -c '^R ' "$out")
	want=$(grep -c '^B ' "$out")
	if grep -q '^HANG ' "$out"; then
		grep '^HANG ' "$out" | sed 's/^HANG \([^ ]*\) \(.*\)/hang: image \1 (\2) did not finish in time/'
		grep '^HANG ' "$out" | cut -d' ' -f2 >>"$out.bad"
		bad=1
	fi
	if grep -q '^CHILD ' "$out"; then
		grep '^CHILD ' "$out" | sed 's/^CHILD \([^ ]*\) \(.*\)/walker killed: image \1 (\2)/'
		grep '^CHILD ' "$out" | cut -d' ' -f2 >>"$out.bad"
		bad=1
	fi
	if [ "$n" != "$want" ] || [ "$n" = 0 ]; then
		echo "the run stopped at image $(grep '^B ' "$out" | tail -n1 | cut -d' ' -f2-) ($n of $want handled)"
		grep '^B ' "$out" | tail -n1 | cut -d' ' -f2 >>"$out.bad"
		bad=1
	fi
	if [ -f "$console" ] && console_splats "$console" >/dev/null; then
		# Each splat line, with the image whose marker precedes it.
		tr -d '\r' <"$console" | awk -v re="$XIPFS_SPLAT_RE" '
			/xipfuzz: image / { sub(/.*xipfuzz: image /, ""); img = $1 " (" $2 (NF > 2 ? " " $3 : "") ")"; next }
			$0 ~ re && !seen[img]++ { print "splat: image " (img == "" ? "(before the first image)" : img) ": " $0 }' |
			head -n 20
		tr -d '\r' <"$console" | awk -v re="$XIPFS_SPLAT_RE" '
			/xipfuzz: image / { sub(/.*xipfuzz: image /, ""); img = $1; next }
			$0 ~ re && img != "" { print img }' | sort -u >>"$out.bad"
		console_splats "$console" | grep -q tainted && console_splats "$console" | grep tainted
		bad=1
	fi
	if sed -n '/^kmemleak:/,$p' "$out" | grep -q 'unreferenced object'; then
		echo "kmemleak: leaks after the run:"
		sed -n '/^kmemleak:/,$p' "$out" | grep -A12 -m3 'unreferenced object'
		bad=1
	fi
	awk '/^R / { n++; if ($4 == "ok") m++; else r++; if ($6 != "-") { rw++; if ($6 == "ok") rwm++ } }
		END { printf "fuzz: %d images: %d mounted, %d refused; %d read-write tries, %d mounted read-write\n", n, m, r, rw, rwm }' "$out"
	return $bad
}

fuzz_keep() {
	local name=$1 dir=$2 base seed
	base=${name%%-*} seed=${name#*-}
	mkdir -p "$dir"
	"$MUTATE" "$FUZZ_DIR/bases/$base.img" "$seed" "$dir/$name.img" >"$dir/$name.txt"
}
