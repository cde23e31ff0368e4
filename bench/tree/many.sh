#!/bin/bash
# Exec many short programs from the image, as a boot or build script
# does: coreutils, sed, grep, sort, gzip, perl and a shell pipeline.
export LC_ALL=C
d=/data
for i in $(seq 1 20); do
	ls -l /usr/bin >/dev/null
	cat $d/small-$i.txt | sed -e 's/the/THE/g' | grep -c THE >/dev/null
	sort $d/small-$((i + 1)).txt | uniq | wc -l >/dev/null
	head -c 20000 $d/manpages-1.txt | gzip -1 | wc -c >/dev/null
	md5sum $d/small-$i.txt >/dev/null
	date +%s >/dev/null
	stat /bench >/dev/null
	perl -e 'use strict; use POSIX qw(floor); print floor(3.7), "\n"' >/dev/null
	find /usr/lib/python3.11/json -name '*.py' | xargs wc -l >/dev/null
	awk '{n++} END {print n}' $d/small-$i.txt >/dev/null
	tr a-z A-Z <$d/small-$i.txt | cut -c1-10 | tail -n 3 >/dev/null
done
