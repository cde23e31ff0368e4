# SPDX-License-Identifier: GPL-2.0
#
# xipfs top-level Makefile.  The two commands a fresh Debian 12 machine
# needs are `make demo` and `make check`; both install what they need.
#
#   make            build the image tools (build/mkfs/*.xipfs)
#   make module     build xipfs.ko against every kernel that is set up
#   make setup      install packages and kernels (idempotent)
#   make demo       build an image, boot the board, run a program in place
#   make check      host tests, then the suite on every board and kernel
#   make check-newer the auto and rw groups on Debian's 6.12 and 7.x
#                   (k612, k7; make check runs their quick group)
#   make bench      size / RAM / speed against squashfs, EROFS, cramfs
#   make stress     the long read-write stress and power-cut runs
#   make fuzz       mutated images mounted in the debug kernel
#                   (FUZZ_COUNT images or FUZZ_SECONDS seconds)
#   make fuzz-lib   libFuzzer on the image library (FUZZ_SECONDS)

XIPFS_CACHE ?= /var/cache/xipfs
export XIPFS_CACHE

BUILD := $(CURDIR)/build
export BUILD

all: tools

tools:
	$(MAKE) -C mkfs BUILD=$(BUILD)/mkfs

module:
	for k in stock debug k612 k7 arm64; do \
		[ -d $(XIPFS_CACHE)/kernels/$$k ] || continue; \
		fs/xipfs/build-module.sh $$k || exit 1; \
	done

setup:
	tests/setup/install.sh

check: setup
	tests/check-all

check-newer: tools
	tests/setup/install.sh stock
	tests/setup/kernel-newer.sh
	tests/check --kernel newer -g auto,rw

demo:
	tests/setup/install.sh stock
	tests/demo

bench: setup
	bench/run

# The long read-write runs (issue 16's targets), outside make check:
# 30 minutes of rwmodel on the debug kernel, 1000 shadow power cuts on the
# stock one.  STRESS_SECONDS and STRESS_CUTS scale them.
STRESS_SECONDS ?= 1800
STRESS_CUTS ?= 1000
stress: setup
	XIPFS_CASE_TIMEOUT=$$(($(STRESS_SECONDS) * 3 + 900)) \
		XIPFS_STRESS_SECONDS=$(STRESS_SECONDS) tests/check --kernel debug 054
	XIPFS_CASE_TIMEOUT=$$(($(STRESS_CUTS) * 6 + 900)) \
		XIPFS_SHADOW_CUTS=$(STRESS_CUTS) tests/check --kernel stock 055

# Kernel fuzzing (issue 17): structure-mutated images mounted, walked and
# written in the debug kernel, 500 a boot, until FUZZ_COUNT images or
# FUZZ_SECONDS seconds (0: no limit), whichever comes first; see
# tests/fuzz --help.  fuzz-lib runs libFuzzer with the same mutator on
# the image reader and fsck for FUZZ_SECONDS (300 when 0).
FUZZ_COUNT ?= 10000
FUZZ_SECONDS ?= 0
fuzz: setup
	tests/fuzz --count $(FUZZ_COUNT) --seconds $(FUZZ_SECONDS)

fuzz-lib:
	$(MAKE) -C mkfs BUILD=$(BUILD)/mkfs fuzz-lib \
		FUZZ_SECONDS=$(if $(filter 0,$(FUZZ_SECONDS)),300,$(FUZZ_SECONDS))

clean:
	rm -rf $(BUILD) results

.PHONY: all tools module setup check check-newer demo bench stress fuzz fuzz-lib clean
