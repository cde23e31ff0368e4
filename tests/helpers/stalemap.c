// SPDX-License-Identifier: GPL-2.0
/*
 * stalemap: write() into pages that writeback keeps moving from the page
 * cache into the window, while another thread faults them in; the
 * file's mapping must show every write at once.
 *
 *   stalemap [-t SECONDS] [-r ROUNDS] FILE
 *
 * FILE's pages start compressed.  Page by page, the main thread
 * pwrite()s ROUNDS (default 6) stamps into the page and, after each,
 * reads the page back through a MAP_SHARED mapping and with pread();
 * meanwhile one thread fsync()s without pause (writeback stores the
 * dirty cached page as a new window page and drops it from the cache)
 * and another drops the page's PTE (MADV_DONTNEED) and faults it in
 * again without pause.  A write that finds its cached copy gone reads
 * the window page back into the cache, where that copy becomes the
 * authority: a fault that maps the window page again before the copy is
 * up to date leaves a mapping that misses the write (and, once the next
 * writeback frees that window page, reads whatever reuses it).  Stops
 * after SECONDS (default 60) or the last page; then every page must
 * hold its last stamp through a new mapping and read().
 * Exit 0 pass, 1 a mapping or read() missed a write, 2 setup error.
 */
#include <errno.h>
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

static int fd;
static unsigned char *map;
static atomic_long target = -1;
static atomic_int stop;

static void *syncer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		if (fsync(fd))
			die("fsync");
	return NULL;
}

static void *faulter(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		long p = atomic_load(&target);

		if (p < 0)
			continue;
		/*
		 * Without madvise() (the arm64 board's kernel), mapping the
		 * page again over itself drops its PTE as well.
		 */
		if (madvise(map + p * PS, PS, MADV_DONTNEED) &&
		    (errno != ENOSYS ||
		     mmap(map + p * PS, PS, PROT_READ, MAP_SHARED | MAP_FIXED,
			  fd, p * PS) == MAP_FAILED))
			die("madvise");
		(void)*(volatile unsigned char *)(map + p * PS);
	}
	return NULL;
}

/* Page @p's bytes for round @r: different in every word. */
static void stamp(unsigned char *buf, long p, int r)
{
	for (int i = 0; i < PS; i += 8) {
		uint64_t v = ((uint64_t)p << 32) ^ ((uint64_t)r << 16) ^ i;

		memcpy(buf + i, &v, 8);
	}
}

static int check(const char *when, long p, int r, const unsigned char *want,
		 const unsigned char *m)
{
	unsigned char got[PS];

	if (pread(fd, got, PS, p * PS) != PS)
		die("pread");
	if (!memcmp(m, want, PS) && !memcmp(got, want, PS))
		return 0;
	printf("stalemap: page %ld round %d %s: %s misses the write\n", p, r,
	       when, memcmp(got, want, PS) ? "read()" : "the mapping");
	return 1;
}

int main(int argc, char **argv)
{
	double secs = 60, end;
	int rounds = 6, bad = 0, c;
	unsigned char buf[PS], *m2;
	pthread_t ts, tf;
	long npages, done = 0;
	struct stat sb;

	while ((c = getopt(argc, argv, "t:r:")) != -1) {
		switch (c) {
		case 't':
			secs = atof(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || rounds < 1) {
usage:
		fprintf(stderr, "usage: stalemap [-t SECONDS] [-r ROUNDS] FILE\n");
		return 2;
	}
	fd = open(argv[optind], O_RDWR);
	if (fd < 0 || fstat(fd, &sb))
		dief("open %s", argv[optind]);
	npages = sb.st_size / PS;
	map = mmap(NULL, npages * PS, PROT_READ, MAP_SHARED, fd, 0);
	if (npages < 1 || map == MAP_FAILED)
		die("mmap");
	if (pthread_create(&ts, NULL, syncer, NULL) ||
	    pthread_create(&tf, NULL, faulter, NULL))
		die("pthread_create");
	end = now() + secs;
	for (long p = 0; p < npages && !bad && now() < end; p++) {
		atomic_store(&target, p);
		for (int r = 0; r < rounds && !bad; r++) {
			stamp(buf, p, r);
			if (pwrite(fd, buf, PS, p * PS) != PS)
				die("pwrite");
			bad = check("after its write", p, r, buf, map + p * PS);
		}
		done = p + 1;
	}
	atomic_store(&stop, 1);
	pthread_join(ts, NULL);
	pthread_join(tf, NULL);
	if (fsync(fd))
		die("fsync");
	m2 = mmap(NULL, npages * PS, PROT_READ, MAP_SHARED, fd, 0);
	if (m2 == MAP_FAILED)
		die("mmap");
	for (long p = 0; p < done && !bad; p++) {
		stamp(buf, p, rounds - 1);
		bad = check("at the end", p, rounds - 1, buf, m2 + p * PS) ||
		      check("at the end (old mapping)", p, rounds - 1, buf,
			    map + p * PS);
	}
	if (!bad)
		printf("stalemap: %ld pages, %d writes each: all seen through the mappings and read()\n",
		       done, rounds);
	return bad;
}
