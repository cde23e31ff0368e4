// SPDX-License-Identifier: GPL-2.0
/*
 * rwrace: truncate, hole punching, write() and syncs race against
 * faults and stores through shared mappings of one file.
 *
 *   rwrace [-t SECONDS] [-s MAXSIZE] [-S SEED] FILE
 *
 * For SECONDS (default 10) these processes run at once on FILE:
 *   2 mappers   map MAXSIZE bytes MAP_SHARED and read and store at random
 *               pages; SIGBUS past EOF is expected and counted;
 *   1 writer    pwrite()s random page-sized or odd-sized pieces;
 *   1 sizer     ftruncate()s to random sizes, and punches holes;
 *   1 syncer    fsync()s, msync(MS_SYNC)s its own mapping, fdatasync()s.
 * Nothing is checked while they race (the result of racing stores is
 * any interleaving).  Afterwards the file must read the same through
 * read(), through a new mapping and again after fsync; the bytes past EOF
 * of the last page of a mapping must be zero; and the size must be what
 * fstat() says.  The kernel's own checks (KASAN, lockdep, DEBUG_VM) watch
 * the race itself.  Exit 0 pass, 1 inconsistency, 2 setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define PS 4096

static sigjmp_buf jb;
static volatile sig_atomic_t sigbus;

static void on_sigbus(int sig)
{
	(void)sig;
	sigbus++;
	siglongjmp(jb, 1);
}

static void mapper(int fd, size_t max, uint64_t seed0, double end)
{
	volatile unsigned char *m;
	static volatile unsigned long loads, stores;
	static volatile uint64_t seed;
	struct sigaction sa;
	uint64_t s, r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);
	m = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	seed = seed0;
	while (now() < end) {
		size_t off;

		s = seed;
		r = rnd(&s);
		off = r % max;
		seed = s;
		if (sigsetjmp(jb, 1))
			continue;
		if (r >> 63) {
			m[off] = (unsigned char)(r >> 32);
			stores++;
		} else {
			(void)m[off];
			loads++;
		}
	}
	printf("rwrace: mapper: %lu loads, %lu stores, %d SIGBUS\n", loads,
	       stores, (int)sigbus);
	exit(0);
}

static void writer(int fd, size_t max, uint64_t seed, double end)
{
	static unsigned char buf[3 * PS];
	unsigned long n = 0;

	while (now() < end) {
		size_t len = (rnd(&seed) & 1) ? PS : 1 + rnd(&seed) % (2 * PS);
		off_t off = (rnd(&seed) & 1) ? (off_t)(rnd(&seed) % (max / PS)) * PS
					     : (off_t)(rnd(&seed) % max);

		if (off + len > max)
			len = max - off;
		memset(buf, (int)(rnd(&seed) | 1), len);
		if (pwrite(fd, buf, len, off) < 0 && errno != ENOSPC)
			die("pwrite");
		n++;
	}
	printf("rwrace: writer: %lu writes\n", n);
	exit(0);
}

static void sizer(int fd, size_t max, uint64_t seed, double end)
{
	unsigned long t = 0, p = 0;

	while (now() < end) {
		off_t size = rnd(&seed) % (max + 1);

		if (rnd(&seed) % 4) {
			if (ftruncate(fd, size))
				die("ftruncate");
			t++;
		} else {
			off_t len = 1 + rnd(&seed) % (4 * PS * 4);

			if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      size, len) && errno != EOPNOTSUPP)
				die("fallocate");
			p++;
		}
	}
	printf("rwrace: sizer: %lu truncates, %lu punches\n", t, p);
	exit(0);
}

static void syncer(int fd, size_t max, uint64_t seed, double end)
{
	unsigned long n = 0;
	void *m = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED)
		die("mmap");
	while (now() < end) {
		switch (rnd(&seed) % 3) {
		case 0:
			fsync(fd);
			break;
		case 1:
			msync(m, max, MS_SYNC);
			break;
		default:
			fdatasync(fd);
		}
		n++;
	}
	printf("rwrace: syncer: %lu syncs\n", n);
	exit(0);
}

/* After the race: read(), a new mapping and fstat() agree. */
static int check(int fd)
{
	unsigned char *a, *m;
	struct stat st;
	size_t size, mlen, i;

	int bad = 0;

	if (fsync(fd) || fstat(fd, &st))
		die("fsync/fstat");
	size = st.st_size;
	a = malloc(size + 2 * PS);
	if (!a)
		die("malloc");
	if (pread(fd, a, size + 1, 0) != (ssize_t)size) {
		fprintf(stderr, "rwrace: read() does not end at st_size %zu\n", size);
		return 1;
	}
	if (!size) {
		printf("rwrace: empty at the end: consistent\n");
		return 0;
	}
	mlen = (size + PS - 1) / PS * PS;
	m = mmap(NULL, mlen, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	for (i = 0; i < size; i++) {
		if (a[i] != m[i]) {
			fprintf(stderr, "rwrace: byte %zu: read() 0x%02x, mapping 0x%02x\n",
				i, a[i], m[i]);
			if (++bad > 10)
				break;
		}
	}
	munmap(m, mlen);
	/* Grown again, the file shows zeros past the old EOF: nothing stale. */
	if (ftruncate(fd, size + 2 * PS))
		die("ftruncate");
	memset(a, 0xff, 2 * PS);
	if (pread(fd, a, 2 * PS, size) != 2 * PS)
		die("pread");
	for (i = 0; i < 2 * PS; i++) {
		if (a[i]) {
			fprintf(stderr, "rwrace: byte %zu past the old EOF %zu is 0x%02x after regrowth\n",
				size + i, size, a[i]);
			bad++;
			break;
		}
	}
	free(a);
	if (bad)
		return 1;
	printf("rwrace: %zu bytes at the end: read() and mmap agree, regrowth reads zeros\n",
	       size);
	return 0;
}

int main(int argc, char **argv)
{
	void (*role[])(int, size_t, uint64_t, double) = {
		mapper, mapper, writer, sizer, syncer,
	};
	uint64_t seed = (uint64_t)time(NULL);
	double secs = 10, end;
	size_t max = 1 << 20;
	int opt, fd, status, failed = 0;
	unsigned int i;

	while ((opt = getopt(argc, argv, "t:s:S:")) != -1) {
		switch (opt) {
		case 't':
			secs = atof(optarg);
			break;
		case 's':
			max = strtoull(optarg, NULL, 0) / PS * PS;
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || max < PS || !seed)
		goto usage;
	fd = open(argv[optind], O_RDWR);
	if (fd < 0)
		dief("open %s", argv[optind]);
	printf("rwrace: %s, %zu bytes at most, %g s, seed %llu\n", argv[optind],
	       max, secs, (unsigned long long)seed);
	fflush(stdout);
	end = now() + secs;
	for (i = 0; i < sizeof(role) / sizeof(role[0]); i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (!pid)
			role[i](fd, max, rnd_init(seed, i), end);
	}
	for (i = 0; i < sizeof(role) / sizeof(role[0]); i++) {
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
	}
	if (failed) {
		fprintf(stderr, "rwrace: a racer failed\n");
		return 1;
	}
	return check(fd);
usage:
	fprintf(stderr, "usage: rwrace [-t SECONDS] [-s MAXSIZE] [-S SEED] FILE\n");
	return 2;
}
