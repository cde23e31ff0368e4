// SPDX-License-Identifier: GPL-2.0
/*
 * mapcost: what a store through one shared writable mapping costs another
 * process that maps the same file.
 *
 *   mapcost [-m MAX] FILE PFN_MKWRITE
 *
 * A (the parent) and B (a child) each open FILE and map all of its whole
 * pages MAP_SHARED, PROT_READ|PROT_WRITE, after the fork (two mappings of
 * their own).  B first loads every page, so that all of them are mapped in
 * B; A touches nothing.  Then two rounds, with an msync(MS_SYNC) of A's
 * mapping between them; in each, page after page, in lockstep:
 *
 *   A stores a 16-byte stamp at the page's start ("r1 A page 00007\n");
 *   B loads it (it must see it) and stores its own stamp at the middle of
 *   the page; A loads that (it must see it).
 *
 * Each load is of a page its process has mapped already (B: since its
 * first pass; A: since its own store), so it should take no page fault:
 * a store through one mapping must not unmap the page from the other.
 * The faults (getrusage() minor + major) around each load are added up
 * per process and round; more than MAX (default 0) in either fails.
 *
 * Every store of a round is the first to its page in its mapping since
 * the page was mapped or write-protected, so it must fault into
 * ->pfn_mkwrite (or a write fault that maps the page writable, which the
 * same counter counts): the sysfs counter PFN_MKWRITE must rise by at
 * least 2 x pages in each round.  In round 2 that is the msync having
 * write-protected the pages again in both mappings.  The last stores
 * (round 2's) are made durable with syncfs() before the exit.
 *
 * Prints pass/fail lines that are the same on every kernel, and the
 * measured figures on lines starting with "measured ".  Exit 1 if a
 * check failed, 2 on a usage or system call error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define STAMP	16

static long pagesz;
static size_t size, npages;
static const char *counter_path;

static long long counter(void)
{
	char buf[32] = "";
	FILE *f = fopen(counter_path, "r");

	if (!f || !fgets(buf, sizeof(buf), f))
		die(counter_path);
	fclose(f);
	return atoll(buf);
}

/* Page faults this process has taken so far. */
static long long faults(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		die("getrusage");
	return (long long)ru.ru_minflt + ru.ru_majflt;
}

static void stamp(char *out, int round, char who, size_t page)
{
	char tmp[48];

	snprintf(tmp, sizeof(tmp), "r%d %c page %05u\n", round % 10, who,
		 (unsigned)(page % 100000));
	memcpy(out, tmp, STAMP);
}

/*
 * Load the stamp at @at and compare it with @want; add the faults the
 * load took to *@nfaults.  Only the loads are between the two counts.
 */
static int load_stamp(const volatile unsigned char *at, const char *want,
		      long long *nfaults)
{
	unsigned char got[STAMP];
	long long f0, f1;
	int i;

	f0 = faults();
	for (i = 0; i < STAMP; i++)
		got[i] = at[i];
	f1 = faults();
	*nfaults += f1 - f0;
	return !memcmp(got, want, STAMP);
}

static unsigned char *map_file(const char *path, int *fdp)
{
	unsigned char *map;
	int fd = open(path, O_RDWR);

	if (fd < 0)
		die(path);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	*fdp = fd;
	return map;
}

static void xwrite(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		die("pipe write");
}

static void xread(int fd, void *buf, size_t len)
{
	if (read(fd, buf, len) != (ssize_t)len)
		die("pipe read");
}

/* Messages A -> B: 'r' round page, 'f' (report faults), 'q'. */
struct msg {
	char op;
	int round;
	size_t page;
};

/* B: load every page, then follow A's orders. */
static void process_b(const char *path, int in, int out)
{
	long long nfaults = 0;
	unsigned char *map;
	volatile unsigned char sink = 0;
	char want[STAMP];
	struct msg m;
	size_t p;
	int fd, ok;

	map = map_file(path, &fd);
	for (p = 0; p < npages; p++)
		sink += map[p * pagesz];
	(void)sink;
	xwrite(out, "k", 1);
	for (;;) {
		xread(in, &m, sizeof(m));
		if (m.op == 'q')
			_exit(0);
		if (m.op == 'f') {
			xwrite(out, &nfaults, sizeof(nfaults));
			nfaults = 0;
			continue;
		}
		stamp(want, m.round, 'A', m.page);
		ok = load_stamp(map + m.page * pagesz, want, &nfaults);
		if (!ok) {
			printf("round %d: B does not see A's store on page %zu\n",
			       m.round, m.page);
			fflush(stdout);
			xwrite(out, "x", 1);
			_exit(1);
		}
		stamp((char *)map + m.page * pagesz + pagesz / 2, m.round, 'B',
		      m.page);
		xwrite(out, "k", 1);
	}
}

static int failed;

/* A pass/fail line that reads the same on every kernel. */
static void check(int ok, int round, const char *what)
{
	printf("round %d: %s%s\n", round, ok ? "" : "NOT: ", what);
	if (!ok)
		failed = 1;
}

/* One round of stores and loads, in lockstep with B; MAX faults allowed. */
static void one_round(int round, unsigned char *map, int to, int from,
		      long long max)
{
	long long af = 0, bf = 0, p0, rise;
	char want[STAMP], c;
	struct msg m = { .op = 'r', .round = round };
	size_t p;
	int seen = 1;

	p0 = counter();
	for (p = 0; p < npages; p++) {
		stamp((char *)map + p * pagesz, round, 'A', p);
		m.page = p;
		xwrite(to, &m, sizeof(m));
		xread(from, &c, 1);
		if (c != 'k') {
			fprintf(stderr, "mapcost: B failed\n");
			exit(1);
		}
		stamp(want, round, 'B', p);
		if (!load_stamp(map + p * pagesz + pagesz / 2, want, &af)) {
			if (seen)
				printf("round %d: A does not see B's store on page %zu\n",
				       round, p);
			seen = 0;
		}
	}
	rise = counter() - p0;
	m.op = 'f';
	xwrite(to, &m, sizeof(m));
	xread(from, &bf, sizeof(bf));
	printf("measured round %d: %zu pages, pfn_mkwrite +%lld, faults on loads of mapped pages: A %lld, B %lld\n",
	       round, npages, rise, af, bf);
	check(seen, round, "each process sees the other's stores");
	check(rise >= 2 * (long long)npages, round,
	      "every store faulted into pfn_mkwrite");
	check(af <= max && bf <= max, round,
	      "a store in one mapping cost the other no fault");
}

int main(int argc, char **argv)
{
	long long max = 0;
	unsigned char *map;
	struct stat st;
	struct msg m = { .op = 'q' };
	int opt, fd, to[2], from[2], status;
	pid_t pid;
	char c;

	while ((opt = getopt(argc, argv, "m:")) != -1) {
		switch (opt) {
		case 'm': max = atoll(optarg); break;
		default:
			fprintf(stderr, "usage: mapcost [-m MAX] FILE PFN_MKWRITE\n");
			return 2;
		}
	}
	if (optind != argc - 2) {
		fprintf(stderr, "usage: mapcost [-m MAX] FILE PFN_MKWRITE\n");
		return 2;
	}
	counter_path = argv[optind + 1];
	pagesz = sysconf(_SC_PAGESIZE);
	if (stat(argv[optind], &st))
		die(argv[optind]);
	npages = st.st_size / pagesz;
	size = npages * pagesz;
	if (!npages) {
		fprintf(stderr, "mapcost: %s: smaller than a page\n", argv[optind]);
		return 2;
	}
	if (pipe(to) || pipe(from))
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		close(to[1]);
		close(from[0]);
		process_b(argv[optind], to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	map = map_file(argv[optind], &fd);
	xread(from[0], &c, 1);

	one_round(1, map, to[1], from[0], max);
	if (msync(map, size, MS_SYNC))
		die("msync");
	one_round(2, map, to[1], from[0], max);
	if (syncfs(fd))
		die("syncfs");

	xwrite(to[1], &m, sizeof(m));
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		failed = 1;
	if (munmap(map, size) || close(fd))
		die("munmap/close");
	return failed;
}
