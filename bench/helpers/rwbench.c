// SPDX-License-Identifier: GPL-2.0
/*
 * rwbench [-S SYSFS] MODE FILE ARG: the read-write rows of the benchmark.
 * Every mode prints one line of KEY=VALUE pairs and checks afterwards
 * (outside the clock, with pread()) that the file holds what was written.
 *
 *   seq FILE MIB     overwrite the first MIB MiB with 1 MiB write()s, then
 *                    fsync: bytes write_ns fsync_ns
 *   append FILE MIB  write MIB MiB past the end of FILE (1 MiB write()s),
 *                    then fsync: same keys
 *   rand FILE N      N times: pwrite() 4 KiB at a pseudo-random page of
 *                    FILE, then fsync: ops pwrite_ns fsync_ns
 *   mmap FILE MIB    map the first MIB MiB MAP_SHARED|PROT_WRITE, store one
 *                    byte into each page (pass 1), msync(MS_SYNC), store
 *                    again (pass 2), msync: pages min1 ns1 msync1_ns
 *                    min2 ns2 msync2_ns (faults from getrusage around the
 *                    stores only), and from /proc/meminfo the growth of
 *                    Cached and Dirty during pass 1 (cached1_kb,
 *                    dirty1_kb) and Dirty after the first msync
 *                    (dirty_sync_kb, against the start)
 *
 * Every mode also prints used_kb: how much the filesystem's free space
 * (statfs f_bfree) fell from before the first write to after the last
 * sync; and the cached_kb/dirty_kb growth up to the last write, before
 * its sync.  With -S DIR (an xipfs mount's /sys/fs/xipfs/<id>), the
 * growth of its counters per phase: PHASE.COUNTER=N, PHASE being w
 * (the writes) and s (the fsync), or p1 s1 p2 s2 for mmap, plus
 * free_pages before and after.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "common.h"

#define MIB (1L << 20)
static const char *const counters[] = {
	"pfn_mkwrite", "page_mkwrite", "writeback_pages", "xip_synced",
	"write_cow", "write_inplace", "free_pages", "clusters",
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))
static const char *sysfs;
static long long cnt[NCOUNTERS];

static long long read_num(const char *path)
{
	FILE *f = fopen(path, "r");
	long long v = -1;

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Print the counters' growth since the last call as PHASE.NAME=N. */
static void phase(const char *name)
{
	char path[512];

	if (!sysfs)
		return;
	for (unsigned i = 0; i < NCOUNTERS; i++) {
		long long v;

		snprintf(path, sizeof(path), "%s/%s", sysfs, counters[i]);
		v = read_num(path);
		if (name && v >= 0 && cnt[i] >= 0)
			printf(" %s.%s=%lld", name, counters[i], v - cnt[i]);
		cnt[i] = v;
	}
}

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			kb = atol(line + n + 1);
			break;
		}
	fclose(f);
	return kb;
}

static long long free_kb(int fd)
{
	struct statvfs s;

	if (fstatvfs(fd, &s))
		die("statvfs");
	return (long long)s.f_bfree * s.f_frsize / 1024;
}

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)((i * 131 + seed * 7 + (i >> 12)) % 251 + 1);
}

static void verify(int fd, off_t off, size_t len, unsigned seed, size_t buflen)
{
	unsigned char *want = malloc(buflen), *got = malloc(buflen);

	if (!want || !got)
		die("malloc");
	fill(want, buflen, seed);
	for (size_t done = 0; done < len; done += buflen) {
		size_t n = len - done < buflen ? len - done : buflen;

		if (pread(fd, got, n, off + done) != (ssize_t)n)
			die("verify: pread at %lld", (long long)(off + done));
		if (memcmp(got, want, n)) {
			errno = EIO;
			die("verify: wrong bytes in [%lld, +%zu)", (long long)(off + done), n);
		}
	}
	free(want);
	free(got);
}

/* seq and append: 1 MiB write()s from off, then fsync. */
static void seqwrite(int fd, off_t off, long mib)
{
	unsigned char *buf = malloc(MIB);
	long c0 = meminfo_kb("Cached"), d0 = meminfo_kb("Dirty");
	long long f0 = free_kb(fd), t0, t1, t2;
	unsigned seed = (unsigned)getpid();

	if (!buf)
		die("malloc");
	fill(buf, MIB, seed);
	phase(NULL);
	t0 = now_ns();
	for (long i = 0; i < mib; i++)
		if (pwrite(fd, buf, MIB, off + i * MIB) != MIB)
			die("write");
	t1 = now_ns();
	printf("bytes=%ld write_ns=%lld cached_kb=%ld dirty_kb=%ld", mib * MIB, t1 - t0,
	       meminfo_kb("Cached") - c0, meminfo_kb("Dirty") - d0);
	phase("w");
	t1 = now_ns();
	if (fsync(fd))
		die("fsync");
	t2 = now_ns();
	printf(" fsync_ns=%lld", t2 - t1);
	phase("s");
	printf(" used_kb=%lld", f0 - free_kb(fd));
	verify(fd, off, mib * MIB, seed, MIB);
	printf(" verify=ok\n");
	free(buf);
}

static void randwrite(int fd, long ops)
{
	struct stat st;
	unsigned char buf[4096];
	unsigned long long x = 0x9e3779b97f4a7c15ULL;
	long long f0 = free_kb(fd), wns = 0, sns = 0, t0, t1, t2;
	long pages;
	off_t last = 0;

	if (fstat(fd, &st))
		die("fstat");
	pages = st.st_size / 4096;
	if (pages < 1)
		die("rand: file too small");
	phase(NULL);
	for (long i = 0; i < ops; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		last = (off_t)(x % pages) * 4096;
		fill(buf, sizeof(buf), (unsigned)i);
		t0 = now_ns();
		if (pwrite(fd, buf, sizeof(buf), last) != sizeof(buf))
			die("pwrite");
		t1 = now_ns();
		if (fsync(fd))
			die("fsync");
		t2 = now_ns();
		wns += t1 - t0;
		sns += t2 - t1;
	}
	printf("ops=%ld pwrite_ns=%lld fsync_ns=%lld used_kb=%lld", ops, wns, sns, f0 - free_kb(fd));
	phase("w");
	/* the last page written holds the last op's bytes */
	verify(fd, last, 4096, (unsigned)(ops - 1), 4096);
	printf(" verify=ok\n");
}

static void mmapstore(int fd, long mib)
{
	long psz = sysconf(_SC_PAGESIZE), pages = mib * MIB / psz;
	long min0, maj0, min1, maj1, c0, d0;
	long long f0 = free_kb(fd), t0, t1;
	unsigned char *p;
	int pass;

	p = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	printf("pages=%ld", pages);
	c0 = meminfo_kb("Cached");
	d0 = meminfo_kb("Dirty");
	phase(NULL);
	for (pass = 1; pass <= 2; pass++) {
		char name[4];

		faults(&min0, &maj0);
		t0 = now_ns();
		for (long i = 0; i < pages; i++)
			p[i * psz] = (unsigned char)(0x40 + pass + (i & 7));
		t1 = now_ns();
		faults(&min1, &maj1);
		printf(" min%d=%ld maj%d=%ld ns%d=%lld", pass, min1 - min0, pass, maj1 - maj0,
		       pass, t1 - t0);
		if (pass == 1)
			printf(" cached1_kb=%ld dirty1_kb=%ld", meminfo_kb("Cached") - c0,
			       meminfo_kb("Dirty") - d0);
		snprintf(name, sizeof(name), "p%d", pass);
		phase(name);
		t0 = now_ns();
		if (msync(p, mib * MIB, MS_SYNC))
			die("msync");
		t1 = now_ns();
		printf(" msync%d_ns=%lld", pass, t1 - t0);
		if (pass == 1)
			printf(" dirty_sync_kb=%ld cached_sync_kb=%ld", meminfo_kb("Dirty") - d0,
			       meminfo_kb("Cached") - c0);
		snprintf(name, sizeof(name), "s%d", pass);
		phase(name);
	}
	printf(" used_kb=%lld", f0 - free_kb(fd));
	munmap(p, mib * MIB);
	for (long i = 0; i < pages; i++) {
		unsigned char c;

		if (pread(fd, &c, 1, i * psz) != 1)
			die("verify: pread");
		if (c != (unsigned char)(0x40 + 2 + (i & 7))) {
			errno = EIO;
			die("verify: page %ld holds %#x", i, c);
		}
	}
	printf(" verify=ok\n");
}

int main(int argc, char **argv)
{
	const char *mode, *file;
	long arg;
	int fd, i = 1;
	struct stat st;

	if (argc > 3 && !strcmp(argv[1], "-S")) {
		sysfs = argv[2];
		i = 3;
	}
	if (argc - i != 3) {
		fprintf(stderr, "usage: rwbench [-S SYSFS] seq|append|rand|mmap FILE ARG\n");
		return 2;
	}
	mode = argv[i], file = argv[i + 1], arg = atol(argv[i + 2]);
	fd = open(file, O_RDWR);
	if (fd < 0 || fstat(fd, &st))
		die("%s", file);
	if (sysfs) {
		char path[512];

		snprintf(path, sizeof(path), "%s/free_pages", sysfs);
		printf("free_pages0=%lld ", read_num(path));
	}
	if (!strcmp(mode, "seq"))
		seqwrite(fd, 0, arg);
	else if (!strcmp(mode, "append"))
		seqwrite(fd, st.st_size, arg);
	else if (!strcmp(mode, "rand"))
		randwrite(fd, arg);
	else if (!strcmp(mode, "mmap"))
		mmapstore(fd, arg);
	else {
		fprintf(stderr, "rwbench: unknown mode %s\n", mode);
		return 2;
	}
	close(fd);
	return 0;
}
