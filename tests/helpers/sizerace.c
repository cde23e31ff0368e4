// SPDX-License-Identifier: GPL-2.0
/*
 * sizerace: truncates racing the writeback of the pages they cut off,
 * then (after a remount) the size the medium kept.
 *
 *   sizerace [-n FILES] [-S SEED] DIR          write, race, close
 *   sizerace -c [-n FILES] [-S SEED] DIR       check after a remount
 *
 * For each of FILES files (default 200), DIR/sNNNN (which must exist: a
 * read-write mount creates no files): truncate to 0, pwrite() 4 to 24
 * pages of known bytes (on a noxip mount every page goes through the
 * page cache and ->writepages), then at once fsync() in one thread and
 * ftruncate() to a smaller, random size in the other.  Writeback that
 * sampled i_size before the truncate must not raise the on-media size
 * past the truncated one again: nothing else would lower it, and after
 * the inode is read again from the medium the file would be longer,
 * its end a hole.  With -c, each file must have the truncated size and
 * bytes (what the same SEED wrote), read after a remount.
 * Exit 0 pass, 1 a wrong size or byte, 2 setup error.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define PS	4096
#define MAXP	24

static atomic_int ready, go;
static int sync_fd;

/* The byte at @pos of file @i. */
static unsigned char byte_at(int i, uint64_t pos)
{
	return (unsigned char)((pos * 131 + i * 7 + pos / PS) ^ (pos >> 9));
}

static void *syncer(void *arg)
{
	(void)arg;
	atomic_store(&ready, 1);
	while (atomic_load(&go) == 0)
		;
	if (fsync(sync_fd))
		die("fsync");
	return NULL;
}

int main(int argc, char **argv)
{
	static unsigned char buf[MAXP * PS], got[MAXP * PS];
	uint64_t seed = 1, st;
	int nfiles = 200, check = 0, bad = 0, c;

	while ((c = getopt(argc, argv, "cn:S:")) != -1) {
		switch (c) {
		case 'c':
			check = 1;
			break;
		case 'n':
			nfiles = atoi(optarg);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || nfiles <= 0 || nfiles > 9999) {
usage:
		fprintf(stderr, "usage: sizerace [-c] [-n FILES] [-S SEED] DIR\n");
		return 2;
	}
	st = rnd_init(seed, 0);
	for (int i = 0; i < nfiles; i++) {
		size_t len = (4 + rnd_below(&st, MAXP - 3)) * PS;
		/* Within the first quarter: most pages are cut off. */
		size_t cut = rnd_below(&st, len / 4);
		unsigned spin = rnd_below(&st, 200000);
		char path[4096];
		pthread_t t;
		struct stat sb;
		int fd;

		snprintf(path, sizeof(path), "%s/s%04d", argv[optind], i);
		for (size_t p = 0; p < len; p++)
			buf[p] = byte_at(i, p);
		if (check) {
			fd = open(path, O_RDONLY);
			if (fd < 0)
				dief("open %s", path);
			if (fstat(fd, &sb))
				dief("stat %s", path);
			if ((size_t)sb.st_size != cut) {
				printf("sizerace: %s: size %lld after remount, truncated to %zu (written %zu)\n",
				       path, (long long)sb.st_size, cut, len);
				bad = 1;
			} else if (pread(fd, got, cut, 0) != (ssize_t)cut ||
				   memcmp(got, buf, cut)) {
				printf("sizerace: %s: bytes differ after remount\n",
				       path);
				bad = 1;
			}
			close(fd);
			continue;
		}
		fd = open(path, O_RDWR);
		if (fd < 0)
			dief("open %s", path);
		if (ftruncate(fd, 0))
			dief("ftruncate %s", path);
		if (pwrite(fd, buf, len, 0) != (ssize_t)len)
			dief("pwrite %s", path);
		sync_fd = fd;
		atomic_store(&ready, 0);
		atomic_store(&go, 0);
		if (pthread_create(&t, NULL, syncer, NULL))
			die("pthread_create");
		while (!atomic_load(&ready))
			;
		atomic_store(&go, 1);
		/* A varying head start for writeback. */
		for (volatile unsigned k = 0; k < spin; k++)
			;
		if (ftruncate(fd, cut))
			dief("ftruncate %s", path);
		pthread_join(t, NULL);
		if (fstat(fd, &sb) || (size_t)sb.st_size != cut)
			dief("stat %s", path);
		close(fd);
	}
	if (!check)
		printf("sizerace: %d files truncated while written back\n",
		       nfiles);
	else if (!bad)
		printf("sizerace: %d files have their truncated size and bytes\n",
		       nfiles);
	return bad;
}
