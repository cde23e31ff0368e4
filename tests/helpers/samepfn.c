// SPDX-License-Identifier: GPL-2.0
/*
 * samepfn: do two files' mappings share their physical pages?
 *
 *   samepfn FILE1 FILE2
 *
 * Maps both files whole (MAP_SHARED, read-only), touches every page of
 * each, and prints whether the mappings hold the same bytes and, from
 * /proc/self/pagemap (PFNs need CAP_SYS_ADMIN: run as root), how many of
 * the pages map the same page frame in both:
 *
 *   bytes equal|differ, N of M pages map the same PFN
 *
 * Files deduped by mkfs.xipfs and executed in place share their XIP
 * pages: N = M.  Exit status 0, 2 on a setup error (including PFNs not
 * shown), 1 if the files' sizes differ.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)

static unsigned char *map_file(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		dief("%s", path);
	*len = st.st_size;
	if (!*len)
		return NULL;
	p = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		dief("mmap %s", path);
	close(fd);
	return p;
}

static uint64_t pfn_of(int pm, const void *addr, long pagesz)
{
	uint64_t e;

	if (pread(pm, &e, sizeof(e), (uintptr_t)addr / pagesz * sizeof(e)) != sizeof(e))
		die("/proc/self/pagemap");
	return e & PM_PRESENT ? e & PM_PFN_MASK : 0;
}

int main(int argc, char **argv)
{
	long pagesz = sysconf(_SC_PAGESIZE);
	volatile unsigned char sink = 0;
	unsigned char *a, *b;
	size_t la, lb, pages, same = 0, off;
	int pm;

	if (argc != 3) {
		fprintf(stderr, "usage: samepfn FILE1 FILE2\n");
		return 2;
	}
	a = map_file(argv[1], &la);
	b = map_file(argv[2], &lb);
	if (la != lb) {
		printf("sizes differ: %zu and %zu\n", la, lb);
		return 1;
	}
	pages = (la + pagesz - 1) / pagesz;
	for (off = 0; off < la; off += pagesz)
		sink ^= a[off] ^ b[off];
	pm = open("/proc/self/pagemap", O_RDONLY);
	if (pm < 0)
		die("/proc/self/pagemap");
	for (off = 0; off < la; off += pagesz) {
		uint64_t pa = pfn_of(pm, a + off, pagesz), pb = pfn_of(pm, b + off, pagesz);

		if (!pa && !pb && off == 0) {
			errno = EPERM;
			die("no PFN in /proc/self/pagemap (not root?)");
		}
		same += pa && pa == pb;
	}
	printf("bytes %s, %zu of %zu pages map the same PFN\n",
	       la && memcmp(a, b, la) ? "differ" : "equal", same, pages);
	return 0;
}
