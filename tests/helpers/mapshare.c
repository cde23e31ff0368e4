// SPDX-License-Identifier: GPL-2.0
/*
 * mapshare: two processes write one file through their own MAP_SHARED
 * mappings and see each other's stores.
 *
 *   mapshare [-S SYSFSDIR] [-D KB] FILE    two rounds of stores
 *   mapshare -c FILE                       check the last round's stores
 *
 * The parent maps FILE (MAP_SHARED, PROT_READ|PROT_WRITE); a child opens
 * and maps it on its own.  In each round, for every page in turn, the
 * parent stores a 16-byte stamp at the page's start ("r1 P page 00007\n"),
 * the child must see it through its mapping and stores its own stamp
 * ("r1 C page 00007\n") at the page's middle, which the parent must then
 * see.  After the round, read() must return both stamps for every page.
 * Between the rounds both processes msync(MS_SYNC) their mappings.
 *
 * With -S (the mount's /sys/fs/xipfs/<id>), it also reports whether
 * pfn_mkwrite and page_mkwrite rose in round 1, writeback_pages with the
 * msync, and pfn_mkwrite again in round 2 (the msync must have write-
 * protected the window PFNs again).  With -D KB, /proc/meminfo's Dirty
 * must rise by at least KB kB with round 1's stores (page cache pages)
 * and fall by as much with the msync.  The end is a syncfs().
 *
 * -c checks with read() that every page holds round 2's two stamps (and
 * so does a fresh mapping): after a remount, say.
 *
 * Exit 1 if something was not seen, 2 on a usage or system call error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define STAMP	16

static long pagesz;
static size_t size, npages;
static const char *sysdir;
static int failed;

static void stamp(char *out, int round, char who, size_t page)
{
	char tmp[48];

	snprintf(tmp, sizeof(tmp), "r%d %c page %05u\n", round % 10, who,
		 (unsigned)(page % 100000));
	memcpy(out, tmp, STAMP);
}

static int has_stamp(const unsigned char *at, int round, char who, size_t page)
{
	char want[STAMP];

	stamp(want, round, who, page);
	return !memcmp(at, want, STAMP);
}

static long long counter(const char *name)
{
	char path[512];
	long long v = -1;
	FILE *f;

	if (!sysdir)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", sysdir, name);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%lld", &v) != 1) {
		fprintf(stderr, "mapshare: cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	return v;
}

static long long dirty_kb(void)
{
	char line[256];
	long long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Dirty: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void rose(const char *what, const char *counter_name, long long before)
{
	long long now = counter(counter_name);

	if (now > before) {
		printf("%s: %s rose\n", what, counter_name);
	} else {
		printf("%s: %s did not rise (%lld)\n", what, counter_name, now);
		failed = 1;
	}
}

static void xread(int fd, unsigned char *buf)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = pread(fd, buf + done, size - done, done);

		if (n <= 0)
			die("pread");
		done += n;
	}
}

/* Both stamps of @round on every page of @buf; print and count misses. */
static int check_all(const char *how, const unsigned char *buf, int round)
{
	size_t p, bad = 0;

	for (p = 0; p < npages; p++) {
		const unsigned char *pg = buf + p * pagesz;

		if (!has_stamp(pg, round, 'P', p) ||
		    !has_stamp(pg + pagesz / 2, round, 'C', p)) {
			if (bad++ < 4)
				printf("%s: page %zu lacks round %d's stamps (holds \"%.15s\" and \"%.15s\")\n",
				       how, p, round, (const char *)pg,
				       (const char *)pg + pagesz / 2);
		}
	}
	if (bad) {
		printf("%s: %zu of %zu pages lack round %d's stamps\n", how, bad, npages,
		       round);
		failed = 1;
	}
	return bad != 0;
}

static void child(const char *path, int in, int out)
{
	int fd = open(path, O_RDWR);
	unsigned char *map;
	char msg[16];
	int round;
	size_t p;

	if (fd < 0)
		die(path);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("child mmap");
	for (;;) {
		ssize_t n = read(in, msg, sizeof(msg));

		if (n <= 0)
			die("child: pipe");
		if (msg[0] == 'q')
			_exit(0);
		if (msg[0] == 's') {
			if (msync(map, size, MS_SYNC))
				die("child msync");
			if (write(out, "s", 1) != 1)
				die("child: pipe");
			continue;
		}
		/* "r" round, page */
		round = msg[1];
		memcpy(&p, msg + 2, sizeof(p));
		if (!has_stamp(map + p * pagesz, round, 'P', p)) {
			printf("round %d: the child does not see the parent's store on page %zu (\"%.15s\")\n",
			       round, p, (const char *)map + p * pagesz);
			fflush(stdout);
			if (write(out, "x", 1) != 1)
				die("child: pipe");
			_exit(1);
		}
		stamp((char *)map + p * pagesz + pagesz / 2, round, 'C', p);
		if (write(out, "k", 1) != 1)
			die("child: pipe");
	}
}

static void tell(int fd, const char *msg, size_t len, int back)
{
	char c;

	if (write(fd, msg, len) != (ssize_t)len)
		die("pipe");
	if (back >= 0 && (read(back, &c, 1) != 1 || c == 'x')) {
		fprintf(stderr, "mapshare: the child failed\n");
		exit(1);
	}
}

static void round_of_stores(int round, unsigned char *map, int fd, int to, int from)
{
	unsigned char *buf = malloc(size);
	char msg[16];
	size_t p, missed = 0;

	for (p = 0; p < npages; p++) {
		stamp((char *)map + p * pagesz, round, 'P', p);
		msg[0] = 'r';
		msg[1] = round;
		memcpy(msg + 2, &p, sizeof(p));
		tell(to, msg, sizeof(msg), from);
		if (!has_stamp(map + p * pagesz + pagesz / 2, round, 'C', p)) {
			if (missed++ < 4)
				printf("round %d: the parent does not see the child's store on page %zu\n",
				       round, p);
			failed = 1;
		}
	}
	if (!missed)
		printf("round %d: each process sees the other's stores\n", round);
	xread(fd, buf);
	if (!check_all("read()", buf, round))
		printf("round %d: read() sees both\n", round);
	free(buf);
}

static int check_mode(const char *path)
{
	int fd = open(path, O_RDONLY);
	unsigned char *buf = malloc(size), *map;

	if (fd < 0)
		die(path);
	xread(fd, buf);
	if (!check_all("read()", buf, 2))
		printf("read() holds round 2's stores\n");
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	if (!check_all("mmap", map, 2))
		printf("a new mapping holds round 2's stores\n");
	return failed;
}

int main(int argc, char **argv)
{
	int opt, fd, to[2], from[2], check = 0, status;
	long long dirty_min = -1, pfn0, page0, wb0, d0, d1, d2;
	unsigned char *map;
	struct stat st;
	pid_t pid;

	while ((opt = getopt(argc, argv, "S:D:c")) != -1) {
		switch (opt) {
		case 'S': sysdir = optarg; break;
		case 'D': dirty_min = atoll(optarg); break;
		case 'c': check = 1; break;
		default:
			fprintf(stderr, "usage: mapshare [-S SYSFSDIR] [-D KB] FILE | -c FILE\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: mapshare [-S SYSFSDIR] [-D KB] FILE | -c FILE\n");
		return 2;
	}
	pagesz = sysconf(_SC_PAGESIZE);
	if (stat(argv[optind], &st))
		die(argv[optind]);
	npages = st.st_size / pagesz;
	size = npages * pagesz;
	if (!npages) {
		fprintf(stderr, "mapshare: %s: smaller than a page\n", argv[optind]);
		return 2;
	}
	if (check)
		return check_mode(argv[optind]);

	fd = open(argv[optind], O_RDWR);
	if (fd < 0)
		die(argv[optind]);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	if (pipe(to) || pipe(from))
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		close(to[1]);
		close(from[0]);
		child(argv[optind], to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);

	pfn0 = counter("pfn_mkwrite");
	page0 = counter("page_mkwrite");
	d0 = dirty_kb();
	round_of_stores(1, map, fd, to[1], from[0]);
	d1 = dirty_kb();
	if (sysdir) {
		rose("round 1", "pfn_mkwrite", pfn0);
		rose("round 1", "page_mkwrite", page0);
	}
	if (dirty_min >= 0) {
		if (d1 - d0 >= dirty_min) {
			printf("round 1: Dirty rose by at least %lld kB\n", dirty_min);
		} else {
			printf("round 1: Dirty rose by %lld kB only (%lld -> %lld kB)\n",
			       d1 - d0, d0, d1);
			failed = 1;
		}
	}

	wb0 = counter("writeback_pages");
	if (msync(map, size, MS_SYNC))
		die("msync");
	tell(to[1], "s", 1, from[0]);
	d2 = dirty_kb();
	if (sysdir)
		rose("msync", "writeback_pages", wb0);
	if (dirty_min >= 0) {
		if (d1 - d2 >= dirty_min) {
			printf("msync: Dirty fell by at least %lld kB\n", dirty_min);
		} else {
			printf("msync: Dirty fell by %lld kB only (%lld -> %lld kB)\n",
			       d1 - d2, d1, d2);
			failed = 1;
		}
	}

	pfn0 = counter("pfn_mkwrite");
	round_of_stores(2, map, fd, to[1], from[0]);
	if (sysdir)
		rose("round 2", "pfn_mkwrite", pfn0);
	if (syncfs(fd))
		die("syncfs");
	tell(to[1], "q", 1, -1);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		failed = 1;
	if (munmap(map, size) || close(fd))
		die("munmap/close");
	return failed;
}
