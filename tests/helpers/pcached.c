// SPDX-License-Identifier: GPL-2.0
/*
 * pcached: how many pages of a file are in the page cache.
 *
 *   pcached FILE
 *
 * Maps FILE (MAP_SHARED, read-only, not touched) and asks mincore(),
 * which for a page not mapped here looks the page up in the file's page
 * cache: window pages mapped in place are not cache pages and do not
 * count.  Prints the count.  Unlike /proc/meminfo's Cached, it is not
 * moved by whatever else the guest does meanwhile.  Exit 0, 2 on a setup
 * error.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

int main(int argc, char **argv)
{
	unsigned char *vec;
	size_t psize, pages, i, n = 0;
	struct stat st;
	void *p;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: pcached FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		dief("%s", argv[1]);
	psize = (size_t)sysconf(_SC_PAGESIZE);
	pages = (st.st_size + psize - 1) / psize;
	if (pages) {
		p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		vec = malloc(pages);
		if (p == MAP_FAILED || !vec)
			die("mmap");
		if (mincore(p, st.st_size, vec))
			die("mincore");
		for (i = 0; i < pages; i++)
			n += vec[i] & 1;
	}
	printf("%zu\n", n);
	return 0;
}
