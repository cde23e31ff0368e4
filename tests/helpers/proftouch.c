// SPDX-License-Identifier: GPL-2.0
/*
 * proftouch: touch chosen pages of a file, the way a workload would, for
 * the page profile's cases.
 *
 *   proftouch FILE x|m|r PAGE...
 *	x: map FILE PROT_READ|PROT_EXEC (private, as the loader maps text)
 *	   and load a byte of each PAGE; m: the same through a shared
 *	   read-only mapping; r: pread() a byte of each PAGE.  One mapping
 *	   for all the PAGEs, at a 64 KiB-aligned address: fault-around
 *	   maps the 16 pages of the aligned virtual window around a fault,
 *	   so the pages a fast profile lists beside a touched one are then
 *	   the file's aligned 16-page group, not a window ASLR moves.
 *   proftouch -t THREADS -s SECONDS FILE
 *	THREADS threads map FILE and load a byte of every page, each
 *	from its own random start, unmap, and again, for SECONDS.
 *
 * Exit 0, or 2 on a setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static const char *file;
static size_t fsize;
static double seconds;

static int open_file(void)
{
	struct stat st;
	int fd = open(file, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		die(file);
	fsize = st.st_size;
	return fd;
}

static void *toucher(void *arg)
{
	uint64_t s = rnd_init((uintptr_t)arg, 1);
	size_t npages = (fsize + 4095) / 4096, i, k;
	volatile const unsigned char *p;
	double end = now() + seconds;
	unsigned int sum = 0;
	int fd = open_file();

	do {
		p = mmap(NULL, fsize, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			die("mmap");
		/* Every page once, from a random start. */
		k = rnd(&s) % npages;
		for (i = 0; i < npages; i++)
			sum += p[(k + i) % npages * 4096];
		munmap((void *)p, fsize);
	} while (now() < end);
	close(fd);
	return (void *)(uintptr_t)sum;
}

static int threads(int argc, char **argv)
{
	pthread_t th[64];
	int n = 0, i, opt;

	while ((opt = getopt(argc, argv, "t:s:")) != -1) {
		if (opt == 't')
			n = atoi(optarg);
		else if (opt == 's')
			seconds = atof(optarg);
		else
			return 2;
	}
	if (n < 1 || n > 64 || optind != argc - 1) {
		fprintf(stderr, "usage: proftouch -t THREADS -s SECONDS FILE\n");
		return 2;
	}
	file = argv[optind];
	close(open_file());
	if (!fsize)
		return 2;
	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, toucher, (void *)(uintptr_t)i))
			die("pthread_create");
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return 0;
}

int main(int argc, char **argv)
{
	volatile const unsigned char *p = NULL;
	unsigned char c;
	off_t pg;
	int fd, i;

	if (argc > 1 && argv[1][0] == '-')
		return threads(argc, argv);
	if (argc < 4 || strlen(argv[2]) != 1 || !strchr("xmr", argv[2][0])) {
		fprintf(stderr, "usage: proftouch FILE x|m|r PAGE...\n");
		return 2;
	}
	file = argv[1];
	fd = open_file();
	if (argv[2][0] != 'r') {
		/* Reserve, then map the file at the first aligned address. */
		const size_t align = 64 << 10;
		uintptr_t a;
		void *r = mmap(NULL, fsize + align, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (r == MAP_FAILED)
			die("mmap");
		a = ((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1);
		p = mmap((void *)a, fsize, PROT_READ |
			 (argv[2][0] == 'x' ? PROT_EXEC : 0),
			 (argv[2][0] == 'x' ? MAP_PRIVATE : MAP_SHARED) |
			 MAP_FIXED, fd, 0);
		if (p == MAP_FAILED)
			die("mmap");
	}
	for (i = 3; i < argc; i++) {
		pg = atoll(argv[i]);
		if ((size_t)pg * 4096 >= fsize) {
			fprintf(stderr, "proftouch: page %lld past EOF\n",
				(long long)pg);
			return 2;
		}
		if (p)
			c = p[pg * 4096];
		else if (pread(fd, &c, 1, pg * 4096) != 1)
			die("pread");
	}
	(void)c;
	return 0;
}
