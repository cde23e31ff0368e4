// SPDX-License-Identifier: GPL-2.0
/*
 * punchread: hole punches racing read()s of the pages they punch; a
 * punched page must read as zeros.
 *
 *   punchread [-T READERS] [-S SEED] FILE
 *
 * FILE's pages are punched one at a time (FALLOC_FL_PUNCH_HOLE), in a
 * random order, while READERS threads (default 3) read the page being
 * punched and its neighbours with pread() without pause.  On an image
 * whose pages are compressed, a read fills the page cache from the
 * compressed cluster (the page and its siblings); one that does so
 * after the punch dropped the cached pages but before it dropped the
 * page map entries would bring the old bytes back for good.  After each
 * punch the page must read as zeros, through pread() and a mapping; at
 * the end every page must.
 * Exit 0 pass, 1 old bytes after a punch, 2 setup error.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define PS	4096
/* How far around the page being punched the readers read. */
#define SPAN	4

static int fd;
static long npages;
static atomic_long target = -1;
static atomic_int stop;

static void *reader(void *arg)
{
	uint64_t s = rnd_init((uintptr_t)arg, 1);
	char buf[PS];

	while (!atomic_load(&stop)) {
		long t = atomic_load(&target);
		long p = t - SPAN + (long)rnd_below(&s, 2 * SPAN + 1);

		if (t < 0 || p < 0 || p >= npages)
			continue;
		if (pread(fd, buf, PS, p * PS) < 0)
			die("pread");
	}
	return NULL;
}

static int zero(const unsigned char *p)
{
	for (int i = 0; i < PS; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	int nreaders = 3, bad = 0, c;
	uint64_t seed = 1, s;
	pthread_t t[16];
	unsigned char buf[PS], *map;
	long *order;
	struct stat sb;

	while ((c = getopt(argc, argv, "T:S:")) != -1) {
		switch (c) {
		case 'T':
			nreaders = atoi(optarg);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || nreaders < 1 || nreaders > 16) {
usage:
		fprintf(stderr, "usage: punchread [-T READERS] [-S SEED] FILE\n");
		return 2;
	}
	fd = open(argv[optind], O_RDWR);
	if (fd < 0 || fstat(fd, &sb))
		dief("open %s", argv[optind]);
	npages = sb.st_size / PS;
	if (npages < 1) {
		fprintf(stderr, "punchread: %s is under a page\n", argv[optind]);
		return 2;
	}
	map = mmap(NULL, npages * PS, PROT_READ, MAP_SHARED, fd, 0);
	order = malloc(npages * sizeof(*order));
	if (map == MAP_FAILED || !order)
		die("mmap");
	s = rnd_init(seed, 0);
	for (long i = 0; i < npages; i++)
		order[i] = i;
	for (long i = npages - 1; i > 0; i--) {
		long j = rnd_below(&s, i + 1), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	for (int i = 0; i < nreaders; i++)
		if (pthread_create(&t[i], NULL, reader, (void *)(uintptr_t)(seed + i)))
			die("pthread_create");
	for (long i = 0; i < npages && !bad; i++) {
		long p = order[i];

		atomic_store(&target, p);
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      p * PS, PS))
			die("punch");
		if (pread(fd, buf, PS, p * PS) != PS)
			die("pread");
		if (!zero(buf) || !zero(map + p * PS)) {
			printf("punchread: page %ld reads old bytes after its punch (%s)\n",
			       p, zero(buf) ? "mapping" : "read()");
			bad = 1;
		}
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nreaders; i++)
		pthread_join(t[i], NULL);
	for (long p = 0; p < npages && !bad; p++) {
		if (pread(fd, buf, PS, p * PS) != PS)
			die("pread");
		if (!zero(buf) || !zero(map + p * PS)) {
			printf("punchread: page %ld reads old bytes at the end\n", p);
			bad = 1;
		}
	}
	if (!bad)
		printf("punchread: %ld pages punched under readers, all zeros\n",
		       npages);
	return bad;
}
