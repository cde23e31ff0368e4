// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target over the image parser: open the input from memory, run
 * the full check, resolve every directory entry, read every symlink and
 * every page of every file.  The checksums are recomputed first, or
 * nearly every mutation would stop at them and the structural code
 * behind them would go unexercised (their own failure paths are covered
 * by the unit tests).
 *
 * The custom mutator is mutator.h's structure-aware one (the kernel
 * runs' too): it damages one structure of an image the library opens
 * (a field, an entry, a descriptor, a name, a stream) and recomputes the
 * checksums, so that most inputs reach the structural checks; a fifth of
 * the time, and for inputs the library cannot open, libFuzzer's own
 * byte-level mutations run instead.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xipfs_image.h"
#include "mutator.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
			       unsigned int seed);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
			       unsigned int seed)
{
	size_t len = size;

	if (seed % 5 == 0)
		return LLVMFuzzerMutate(data, size, max_size);
	/* An input of the byte-level mutations: its checksums first. */
	xipfs_fix_checksums(data, size);
	if (xipfs_mutate(data, &len, seed, NULL, 0))
		return LLVMFuzzerMutate(data, size, max_size);
	return len;
}

/* Keeps one input's work bounded; a hostile size alone can't time out. */
#define MAX_PAGES	4096

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void walk_dir(struct xipfs_image *img, const struct xipfs_dinode *in)
{
	struct xipfs_dir d;
	struct xipfs_dirent_info e;
	uint32_t ino;

	if (xipfs_dir_open(img, in, &d))
		return;
	for (uint32_t i = 0; i < d.count && i < 4096; i++) {
		if (xipfs_dir_entry(img, &d, i, &e))
			continue;
		/* Binary search over possibly unsorted entries: must not crash. */
		(void)xipfs_lookup(img, in->ino, e.name, e.name_len, &ino);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xipfs_check_opts o = { .report = quiet, .max_messages = 1 };
	struct xipfs_check_stats st;
	struct xipfs_image *img;
	uint8_t *buf, *page;
	uint64_t budget = MAX_PAGES;
	uint32_t ino;

	/* An exact-size copy, so that ASan catches any read past the end. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	xipfs_fix_checksums(buf, size);
	if (xipfs_image_open_mem(buf, size, &img, NULL, 0)) {
		free(buf);
		return 0;
	}
	xipfs_check(img, &o, &st);
	(void)xipfs_resolve(img, "/a/../b/./c", &ino);
	page = malloc(img->page_size);
	for (uint32_t i = 0; page && i < img->sb.inode_count; i++) {
		struct xipfs_dinode in;
		const char *target;
		size_t len;

		if (xipfs_read_inode(img, i, &in))
			continue;
		if (S_ISDIR(in.mode)) {
			walk_dir(img, &in);
		} else if (S_ISLNK(in.mode)) {
			if (!xipfs_read_link(img, &in, &target, &len))
				(void)memchr(target, 0, len);
		} else if (S_ISREG(in.mode)) {
			uint64_t pages = xipfs_size_pages(img, in.size), e;
			struct xipfs_map m;

			for (uint64_t p = 0; p < pages && budget; p++, budget--)
				(void)xipfs_read_page(img, &in, p, page);
			/* Entries past the end (stale after a read-write mount). */
			if (!xipfs_map_get(img, &in, &m)) {
				for (uint64_t p = pages; p < in.map_cap && budget; p++, budget--)
					(void)xipfs_map_read(img, &in, p, &e);
				/* A grouped map's stored entries, past its groups too. */
				for (uint64_t i = 0; i <= m.entries && budget; i++, budget--)
					(void)xipfs_map_raw(img, &in, i, &e);
			}
		}
	}
	free(page);
	xipfs_image_close(img);
	free(buf);
	return 0;
}
