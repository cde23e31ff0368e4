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
#                   (k612, k7; make check runs their auto group)
#   make check-debug612 the auto and rw groups on the 6.12 debug kernel
#                   (KASAN, lockdep: built on first use, not in make check)
#   make bench      size / RAM / speed against squashfs, EROFS, cramfs
#   make stress     the long read-write stress and power-cut runs
#   make install    the image tools and their man pages in
#                   $(DESTDIR)$(PREFIX)/sbin and .../share/man/man8
#   make install-dkms the driver's sources and dkms.conf in
#                   $(DESTDIR)/usr/src/xipfs-VERSION, for dkms
#   make kernel-patches the patch series that adds xipfs to a kernel
#                   tree, in build/kernel-patches (PATCHDIR=)
#   make fuzz       mutated images mounted in the debug kernel
#                   (FUZZ_COUNT images or FUZZ_SECONDS seconds)
#   make fuzz-lib   libFuzzer on the image library (FUZZ_SECONDS)

XIPFS_CACHE ?= /var/cache/xipfs
export XIPFS_CACHE

BUILD := $(CURDIR)/build
export BUILD

# The project's version is mkfs.xipfs's (mkfs.xipfs --version); the
# DKMS package takes it unless told otherwise.
VERSION := $(shell sed -n 's/^\#define VERSION "\(.*\)"$$/\1/p' mkfs/mkfs/main.c)
DKMS_VERSION ?= $(VERSION)
PREFIX ?= /usr/local
PATCHDIR ?= $(BUILD)/kernel-patches

all: tools

tools:
	$(MAKE) -C mkfs BUILD=$(BUILD)/mkfs

module:
	for k in stock debug k612 k7 debug612 arm64; do \
		[ -d $(XIPFS_CACHE)/kernels/$$k ] || continue; \
		fs/xipfs/build-module.sh $$k || exit 1; \
	done

setup:
	tests/setup/install.sh

# The tools and their man pages (the driver: install-dkms).
install: tools
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BUILD)/mkfs/mkfs.xipfs $(BUILD)/mkfs/fsck.xipfs \
		$(BUILD)/mkfs/dump.xipfs $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 mkfs/man/mkfs.xipfs.8 mkfs/man/fsck.xipfs.8 \
		mkfs/man/dump.xipfs.8 $(DESTDIR)$(PREFIX)/share/man/man8/

# What dkms wants in /usr/src/xipfs-VERSION: dkms.conf, and the sources as
# build-module.sh lays them out (the format header under include/, where
# fs/xipfs/Makefile looks for it out of tree).  A second run replaces it.
DKMS_SRC = $(DESTDIR)/usr/src/xipfs-$(DKMS_VERSION)
install-dkms:
	@[ -n "$(DKMS_VERSION)" ] || { echo "no version in mkfs/mkfs/main.c" >&2; exit 1; }
	rm -rf $(DKMS_SRC)
	install -d $(DKMS_SRC)/include/uapi/linux
	install -m 0644 fs/xipfs/*.[ch] fs/xipfs/Makefile fs/xipfs/Kconfig $(DKMS_SRC)/
	install -m 0644 include/uapi/linux/xipfs_fs.h $(DKMS_SRC)/include/uapi/linux/
	sed 's/@VERSION@/$(DKMS_VERSION)/' dkms.conf >$(DKMS_SRC)/dkms.conf
	@echo "now: dkms add xipfs/$(DKMS_VERSION) && dkms install xipfs/$(DKMS_VERSION) -k KERNELRELEASE"

kernel-patches:
	fs/xipfs/kernel-patch.sh write $(PATCHDIR)

check: setup
	tests/check-all

check-newer: tools
	tests/setup/install.sh stock
	tests/setup/kernel-newer.sh
	tests/check --kernel newer -g auto,rw

# The 6.12 debug kernel is built from source on first use (23 minutes
# at load 7 on the 2-core machine): outside make setup and make check.
check-debug612: tools
	tests/setup/install.sh stock
	tests/setup/kernel-debug612.sh
	tests/check --kernel debug612 -g auto,rw

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
# The two run side by side (one board each, on different kernels).
stress: setup
	$(MAKE) -s -C tests/helpers BUILD=$(BUILD) >/dev/null
	XIPFS_CASE_TIMEOUT=$$(($(STRESS_SECONDS) * 3 + 900)) \
		XIPFS_STRESS_SECONDS=$(STRESS_SECONDS) \
		tests/check --kernel debug 054 & d=$$!; \
	XIPFS_CASE_TIMEOUT=$$(($(STRESS_CUTS) * 6 + 900)) \
		XIPFS_SHADOW_CUTS=$(STRESS_CUTS) \
		tests/check --kernel stock 055; s=$$?; \
	wait $$d && [ $$s = 0 ]

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

.PHONY: all tools module setup install install-dkms kernel-patches check check-newer check-debug612 demo bench stress fuzz fuzz-lib clean
