// SPDX-License-Identifier: GPL-2.0
/*
 * xipmap: map a file whole and report what the mapping costs.
 *
 *   xipmap [-s] [-t THREADS] [-w OFFSET] [-P] [-k] FILE
 *
 * Maps FILE (MAP_PRIVATE, or MAP_SHARED with -s) read-only, or writable
 * with -w, touches every page (from THREADS threads at once with -t),
 * and then checks that the mapping holds what read() returns.  -w OFFSET
 * stores into the private mapping at OFFSET and checks that only the
 * mapping changed, not the file.  Then prints, from /proc/self/smaps,
 * the mapping's Rss and whether VmFlags has "mm" (VM_MIXEDMAP).  -P
 * then pushes the mapping's page cache pages out (MADV_PAGEOUT), says
 * whether Rss dropped, and checks the bytes again after the refaults.  -k
 * keeps the mapping and waits for a line on stdin before exiting (for
 * drop_caches / memory pressure while mapped).
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
#include <unistd.h>

#include "helpers.h"

static unsigned char *map;
static size_t len;
static long pagesz;

static uint32_t fnv(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static void *toucher(void *arg)
{
	volatile unsigned char sink = 0;
	size_t off;

	(void)arg;
	for (off = 0; off < len; off += pagesz)
		sink ^= map[off];
	return NULL;
}

/* The smaps entry of the mapping at @addr: Rss in kB, "mm" in VmFlags. */
static void smaps(void *addr, long *rss, int *mm)
{
	char line[512], want[32];
	FILE *f = fopen("/proc/self/smaps", "r");
	int in = 0;

	if (!f)
		die("/proc/self/smaps");
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	*rss = -1;
	*mm = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ':') &&
		    !strncmp(line, want, strlen(want)))
			in = 1;
		else if (in && !strncmp(line, "Rss:", 4))
			*rss = strtol(line + 4, NULL, 10);
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			*mm = strstr(line, " mm") != NULL;
			break;
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	int shared = 0, threads = 1, keep = 0, pageout = 0, opt, fd, mm, i;
	long woff = -1, rss;
	unsigned char *buf;
	pthread_t *tids;
	struct stat st;
	size_t done;

	while ((opt = getopt(argc, argv, "st:w:kP")) != -1) {
		switch (opt) {
		case 's': shared = 1; break;
		case 't': threads = atoi(optarg); break;
		case 'w': woff = atol(optarg); break;
		case 'k': keep = 1; break;
		case 'P': pageout = 1; break;
		default:
			fprintf(stderr, "usage: xipmap [-s] [-t N] [-w OFF] [-P] [-k] FILE\n");
			return 2;
		}
	}
	if (optind != argc - 1 || threads < 1)
		return 2;
	pagesz = sysconf(_SC_PAGESIZE);
	fd = open(argv[optind], O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die(argv[optind]);
	len = st.st_size;
	if (!len) {
		printf("empty file\n");
		return 0;
	}
	/*
	 * At a 64 KiB-aligned address, so that fault-around (which works in
	 * aligned 64 KiB windows of the address space) takes the same number
	 * of faults on every run.
	 */
	map = mmap(NULL, len + 65536, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		die("mmap");
	map = (unsigned char *)(((uintptr_t)map + 65535) & ~(uintptr_t)65535);
	map = mmap(map, len, PROT_READ | (woff >= 0 ? PROT_WRITE : 0),
		   (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	tids = calloc(threads, sizeof(*tids));
	for (i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, toucher, NULL))
			die("pthread_create");
	for (i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	/* read() after the faults, so that they, not read(), fill the cache. */
	buf = malloc(len);
	for (done = 0; done < len;) {
		ssize_t n = pread(fd, buf + done, len - done, done);

		if (n <= 0)
			die("pread");
		done += n;
	}
	printf("mmap %s read()\n", memcmp(map, buf, len) ? "differs from" : "matches");
	if (woff >= 0 && (size_t)woff < len) {
		unsigned char old = map[woff], cur;

		map[woff] = old ^ 0xff;
		printf("private store %s\n",
		       map[woff] == (unsigned char)(old ^ 0xff) ? "visible" : "lost");
		if (pread(fd, &cur, 1, woff) != 1)
			die("pread");
		printf("file %s\n", cur == old ? "unchanged" : "CHANGED");
		map[woff] = old;
		printf("mmap after restore %s read()\n",
		       memcmp(map, buf, len) ? "differs from" : "matches");
	}
	smaps(map, &rss, &mm);
	printf("rss_kb %ld\nvmflags_mm %s\nfnv %08x\n", rss, mm ? "yes" : "no",
	       fnv(map, len));
	if (pageout) {
		long after;

		if (madvise(map, len, MADV_PAGEOUT))
			die("madvise(MADV_PAGEOUT)");
		smaps(map, &after, &mm);
		printf("rss after pageout %s\n",
		       after < rss ? "dropped" : "did not drop");
		printf("after pageout: mmap %s read()\n",
		       memcmp(map, buf, len) ? "differs from" : "matches");
	}
	fflush(stdout);
	if (keep) {
		char line[16];

		if (!fgets(line, sizeof(line), stdin))
			line[0] = 0;
		printf("after wait: mmap %s read()\n",
		       fnv(map, len) == fnv(buf, len) ? "matches" : "differs from");
	}
	return 0;
}
