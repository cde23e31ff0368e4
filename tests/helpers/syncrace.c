// SPDX-License-Identifier: GPL-2.0
/*
 * syncrace: stores through a shared mapping racing syncfs(), then one
 * store that must be noticed.
 *
 *   syncrace FILE SECONDS PFN_MKWRITE
 *
 * A thread stores to FILE's first page through a MAP_SHARED mapping
 * without pause, while the main thread calls syncfs() for SECONDS.  A
 * sync write-protects the window pages stored to, so the next store
 * faults and is tracked again; a store whose fault lands while writeback
 * is finishing the inode must still be tracked.  Then the stores stop,
 * one more syncfs() runs, and a single store must go through pfn_mkwrite
 * (the sysfs counter PFN_MKWRITE must rise): a page left writable after
 * a sync takes stores that no later sync writes back.
 * Prints how many syncs ran; exit 0 pass, 1 the store was not noticed,
 * 2 setup error.
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
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static volatile uint64_t *page;
static atomic_int stop;

static long long counter(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "r");

	if (!f || !fgets(buf, sizeof(buf), f))
		die(path);
	fclose(f);
	return atoll(buf);
}

static void *storer(void *arg)
{
	uint64_t v = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		v++;
		page[(v & 63) * 8] = v;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec t0, t;
	long long p0, p1;
	unsigned long syncs = 0;
	pthread_t th;
	double secs;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: syncrace FILE SECONDS PFN_MKWRITE\n");
		return 2;
	}
	secs = atof(argv[2]);
	fd = open(argv[1], O_RDWR);
	if (fd < 0)
		die(argv[1]);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (page == MAP_FAILED)
		die("mmap");
	if (pthread_create(&th, NULL, storer, NULL))
		die("pthread_create");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (syncfs(fd))
			die("syncfs");
		syncs++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	if (syncfs(fd))
		die("syncfs");
	p0 = counter(argv[3]);
	page[1] = 1;
	p1 = counter(argv[3]);
	fprintf(stderr, "syncrace: %lu syncs\n", syncs);
	if (p1 == p0) {
		printf("syncrace: a store after syncfs() did not fault: the page stayed writable\n");
		return 1;
	}
	printf("syncrace: the store after syncfs() was noticed\n");
	return 0;
}
