// SPDX-License-Identifier: GPL-2.0
/*
 * srcfault: write() from source buffers that fault part-way.
 *
 *   srcfault short FILE OFFSET
 *	pwrite(fd, p + 100, 4096, OFFSET) where p is an anonymous page
 *	filled with 0x5a and p + 4096 is PROT_NONE: the kernel must copy
 *	the 3996 readable bytes and return 3996 (a short write), or fail
 *	with EFAULT having written nothing; it must never loop.  The file's
 *	bytes are checked afterwards: 0x5a where written, the old bytes
 *	after.  Prints "short write: N bytes, file bytes as written".
 *
 *   srcfault race FILE PAGES ROUNDS
 *	Writes one page at a time over FILE's first PAGES pages, fsync()ing
 *	before each write, while a second thread flips the source page
 *	between PROT_READ and PROT_NONE: some writes find the source
 *	readable when the kernel faults it in and unreadable when it copies,
 *	so they fail with EFAULT after the filesystem prepared the page
 *	(read it into the cache, reserved its writeback), or come back
 *	short.  Prints how many writes completed; failures other than
 *	EFAULT are errors.
 *
 * Exit 0 pass, 1 wrong result, 2 setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

#define PS 4096

static int do_short(const char *file, off_t off)
{
	unsigned char *p, old[PS], got[PS];
	ssize_t n;
	int fd, i;

	fd = open(file, O_RDWR);
	if (fd < 0)
		die(file);
	if (pread(fd, old, PS, off) != PS)
		die("pread (before)");
	p = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 0x5a, PS);
	if (mprotect(p + PS, PS, PROT_NONE))
		die("mprotect");
	n = pwrite(fd, p + 100, PS, off);
	if (n < 0 && errno != EFAULT)
		die("pwrite");
	if (n < 0)
		n = 0;
	if (pread(fd, got, PS, off) != PS)
		die("pread (after)");
	for (i = 0; i < PS; i++) {
		int want = i < n ? 0x5a : old[i];

		if (got[i] != want) {
			printf("srcfault: byte %d is 0x%02x, want 0x%02x (pwrite gave %zd)\n",
			       i, got[i], want, n);
			return 1;
		}
	}
	printf("short write: %zd bytes, file bytes as written\n", n);
	return 0;
}

static unsigned char *src;
static atomic_int stop;

static void *flipper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		if (mprotect(src, PS, PROT_NONE) ||
		    mprotect(src, PS, PROT_READ))
			die("mprotect");
	}
	return NULL;
}

static int do_race(const char *file, long pages, long rounds)
{
	long r, pg, ok = 0, efault = 0, part = 0;
	ssize_t n;
	pthread_t t;
	int fd;

	fd = open(file, O_RDWR);
	if (fd < 0)
		die(file);
	src = mmap(NULL, PS, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		die("mmap");
	memset(src, 0xa5, PS);
	if (mprotect(src, PS, PROT_READ))
		die("mprotect");
	if (pthread_create(&t, NULL, flipper, NULL))
		die("pthread_create");
	for (r = 0; r < rounds; r++) {
		for (pg = 0; pg < pages; pg++) {
			if (fsync(fd))
				die("fsync");
			/*
			 * The source can turn unreadable during the copy: a
			 * short write of what was copied is right too.
			 */
			n = pwrite(fd, src, PS, pg * PS);
			if (n == PS)
				ok++;
			else if (n > 0)
				part++;
			else if (n < 0 && errno == EFAULT)
				efault++;
			else
				die("pwrite");
		}
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	if (fsync(fd) || close(fd))
		die("fsync");
	/* How many failed varies from run to run: stderr, not the output. */
	fprintf(stderr, "srcfault: %ld writes, %ld short, %ld EFAULT\n", ok, part,
		efault);
	printf("race: done\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "short"))
		return do_short(argv[2], strtoll(argv[3], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "race"))
		return do_race(argv[2], strtol(argv[3], NULL, 0),
			       strtol(argv[4], NULL, 0));
	fprintf(stderr, "usage: srcfault short FILE OFFSET | race FILE PAGES ROUNDS\n");
	return 2;
}
