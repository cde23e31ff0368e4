// SPDX-License-Identifier: GPL-2.0
/*
 * xipfsx: fsx-style random operation tester for one existing file.
 *
 *   xipfsx [-N OPS] [-S SEED] [-l MAXLEN] [-o MAXOPLEN] [-c INTERVAL]
 *          [-x OP,...] [-d DUMP] [-p] [-q] FILE
 *
 * Opens FILE (which must exist: the read-write xipfs cannot create
 * files), reads its current content into an in-memory model and then runs
 * OPS random operations on it: read, write (pwrite), mapread, mapwrite
 * (MAP_SHARED, then msync(MS_SYNC) or not), truncate (up and down),
 * fsync (or fdatasync), punch (fallocate PUNCH_HOLE|KEEP_SIZE) and
 * falloc (fallocate mode 0).  After every operation the bytes it touched
 * are compared with the model, and st_size with the model's size; every
 * INTERVAL operations (default 100) and at the end the whole file is
 * compared, once by read() and once through a fresh mapping (whose bytes
 * past EOF in the last page must be zero).
 *
 *   -N OPS       operations (default 100000)
 *   -S SEED      random seed (default: from the time; printed)
 *   -l MAXLEN    largest file size (default 262144); the file must not
 *                be larger to start with
 *   -o MAXOPLEN  largest operation (default 65536)
 *   -c INTERVAL  full check every INTERVAL operations (default 100)
 *   -x OPS       leave these operations out (comma separated names)
 *   -d DUMP      at the end, write the model to DUMP (to compare later)
 *   -p           page-aligned offsets, lengths and sizes only
 *   -q           quiet: print nothing on success
 *
 * A fallocate operation that fails with EOPNOTSUPP is reported once and
 * left out for the rest of the run.  On a mismatch, xipfsx prints the
 * seed, the operation number, the offset, expected and actual bytes and
 * the last 50 operations, and exits 1.  Exit 2: usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE	0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE	0x02
#endif

enum op {
	OP_READ, OP_WRITE, OP_MAPREAD, OP_MAPWRITE, OP_TRUNCATE, OP_FSYNC,
	OP_PUNCH, OP_FALLOC, OP_NR
};
static const char *const op_names[OP_NR] = {
	"read", "write", "mapread", "mapwrite", "truncate", "fsync",
	"punch", "falloc",
};
/* Relative frequencies. */
static const int op_weight[OP_NR] = { 20, 20, 12, 12, 8, 4, 6, 4 };

struct logent {
	unsigned long n;
	int op;
	uint64_t off, len;
	uint64_t size_before, size_after;
	int flag;	/* mapwrite: msync; fsync: fdatasync */
};
#define NLOG 50
static struct logent oplog[NLOG];

static const char *path;
static int fd, quiet, aligned;
static uint64_t seed, maxlen = 262144, maxop = 65536;
static unsigned long nops = 100000, interval = 100, opnum;
static long pagesz;
static unsigned char *model, *buf;
static uint64_t size;
static int disabled[OP_NR];
static uint64_t rng_state;
static unsigned long counts[OP_NR];


static void log_op(int op, uint64_t off, uint64_t len, uint64_t before, int flag)
{
	struct logent *e = &oplog[opnum % NLOG];

	e->n = opnum;
	e->op = op;
	e->off = off;
	e->len = len;
	e->size_before = before;
	e->size_after = before;
	e->flag = flag;
}

static void log_done(void)
{
	oplog[opnum % NLOG].size_after = size;
}

static void dump_log(void)
{
	unsigned long i, first = opnum + 1 > NLOG ? opnum + 1 - NLOG : 0;

	fprintf(stderr, "xipfsx: last %lu operations (number op offset+length size before->after):\n",
		opnum + 1 - first);
	for (i = first; i <= opnum && i < nops + 1; i++) {
		struct logent *e = &oplog[i % NLOG];
		const char *extra = "";

		if (e->n != i)
			continue;
		if (e->op == OP_MAPWRITE && e->flag)
			extra = " +msync";
		if (e->op == OP_FSYNC && e->flag)
			extra = " (fdatasync)";
		fprintf(stderr, "  %6lu %-8s 0x%06" PRIx64 "+0x%06" PRIx64 " size 0x%" PRIx64
			" -> 0x%" PRIx64 "%s\n", e->n, op_names[e->op], e->off,
			e->len, e->size_before, e->size_after, extra);
	}
}

static void __attribute__((noreturn)) fail(void)
{
	fprintf(stderr, "xipfsx: FAILED: seed %" PRIu64 ", operation %lu (%s), file %s\n",
		seed, opnum, op_names[oplog[opnum % NLOG].op], path);
	dump_log();
	exit(1);
}

static void __attribute__((noreturn)) sysfail(const char *what, uint64_t off,
					      uint64_t len)
{
	fprintf(stderr, "xipfsx: %s at 0x%" PRIx64 "+0x%" PRIx64 ": %s\n", what,
		off, len, strerror(errno));
	fail();
}

static void hexline(const char *label, const unsigned char *p, size_t n)
{
	size_t i;

	fprintf(stderr, "  %s:", label);
	for (i = 0; i < n; i++)
		fprintf(stderr, " %02x", p[i]);
	fprintf(stderr, "\n");
}

/* Compare @got (file bytes at @off) with the model; report and fail. */
static void compare(const char *how, const unsigned char *got, uint64_t off,
		    uint64_t len)
{
	uint64_t i, bad = 0, first = 0;
	size_t n;

	if (!memcmp(got, model + off, len))
		return;
	for (i = 0; i < len; i++)
		if (got[i] != model[off + i]) {
			if (!bad++)
				first = i;
		}
	fprintf(stderr, "xipfsx: %s mismatch at offset 0x%" PRIx64 " (checked 0x%"
		PRIx64 "+0x%" PRIx64 ", %" PRIu64 " bytes differ, size 0x%" PRIx64 ")\n",
		how, off + first, off, len, bad, size);
	n = len - first < 16 ? len - first : 16;
	hexline("expected", model + off + first, n);
	hexline("actual  ", got + first, n);
	fail();
}

static void check_size(void)
{
	struct stat st;

	if (fstat(fd, &st))
		sysfail("fstat", 0, 0);
	if ((uint64_t)st.st_size != size) {
		fprintf(stderr, "xipfsx: st_size 0x%" PRIx64 ", expected 0x%" PRIx64 "\n",
			(uint64_t)st.st_size, size);
		fail();
	}
}

/* read() [off, off+len) and compare; past EOF read() must stop at EOF. */
static void check_read(const char *how, uint64_t off, uint64_t len)
{
	uint64_t want = off >= size ? 0 : (off + len > size ? size - off : len);
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, off + done);

		if (n < 0)
			sysfail("pread", off + done, len - done);
		if (n == 0)
			break;
		done += n;
	}
	if (done != want) {
		fprintf(stderr, "xipfsx: %s: read 0x%" PRIx64 " bytes at 0x%" PRIx64
			", expected 0x%" PRIx64 " (size 0x%" PRIx64 ")\n", how, done,
			off, want, size);
		fail();
	}
	compare(how, buf, off, want);
}

/* The bytes past EOF in EOF's page, seen through a mapping, are zero. */
static void check_eof_page(const unsigned char *map, uint64_t map_off,
			   uint64_t map_len)
{
	uint64_t pg_end = (size + pagesz - 1) / pagesz * pagesz, i;

	if (size % pagesz == 0 || map_off + map_len < pg_end)
		return;
	for (i = size; i < pg_end; i++)
		if (map[i - map_off]) {
			fprintf(stderr, "xipfsx: mapping past EOF: byte 0x%" PRIx64
				" is 0x%02x, not 0 (size 0x%" PRIx64 ")\n", i,
				map[i - map_off], size);
			fail();
		}
}

static void *map_range(uint64_t off, uint64_t len, int prot, uint64_t *pg_off,
		       uint64_t *map_len)
{
	void *p;

	*pg_off = off / pagesz * pagesz;
	*map_len = (off + len - *pg_off + pagesz - 1) / pagesz * pagesz;
	p = mmap(NULL, *map_len, prot, MAP_SHARED, fd, *pg_off);
	if (p == MAP_FAILED)
		sysfail("mmap", *pg_off, *map_len);
	return p;
}

static void check_all(void)
{
	check_size();
	check_read("full read()", 0, size);
	if (size) {
		uint64_t pg_off, map_len;
		unsigned char *p = map_range(0, size, PROT_READ, &pg_off, &map_len);

		compare("full mmap", p, 0, size);
		check_eof_page(p, 0, map_len);
		munmap(p, map_len);
	}
}

static void fill(unsigned char *p, uint64_t off, uint64_t len)
{
	uint64_t i;

	/* Recognisable: the low byte of the op number plus the position. */
	for (i = 0; i < len; i++)
		p[i] = (unsigned char)((opnum & 0xff) + ((off + i) % 251) + 1);
}

static uint64_t pick_len(uint64_t max)
{
	uint64_t len;

	if (max > maxop)
		max = maxop;
	if (aligned) {
		uint64_t pages = max / pagesz;

		return pages ? (rnd_below(&rng_state, pages) + 1) * pagesz : 0;
	}
	len = rnd_below(&rng_state, max) + 1;
	return len;
}

static uint64_t pick_off(uint64_t end)
{
	uint64_t off = rnd_below(&rng_state, end);

	return aligned ? off / pagesz * pagesz : off;
}

static void model_resize(uint64_t newsize)
{
	if (newsize > size)
		memset(model + size, 0, newsize - size);
	else
		memset(model + newsize, 0, size - newsize);
	size = newsize;
}

static void do_read(void)
{
	uint64_t off, len;

	/* Mostly inside the file, sometimes across or past EOF. */
	off = pick_off(size + (size / 8) + 1);
	len = pick_len(maxlen);
	if (!len)
		len = 1;
	log_op(OP_READ, off, len, size, 0);
	check_read("read", off, len);
}

static void do_write(void)
{
	uint64_t off = pick_off(maxlen), len = pick_len(maxlen - off);
	uint64_t done = 0;

	if (!len)
		return;
	log_op(OP_WRITE, off, len, size, 0);
	fill(buf, off, len);
	while (done < len) {
		ssize_t n = pwrite(fd, buf + done, len - done, off + done);

		if (n <= 0)
			sysfail("pwrite", off + done, len - done);
		done += n;
	}
	if (off > size)
		model_resize(off);
	memcpy(model + off, buf, len);
	if (off + len > size)
		size = off + len;
	log_done();
	check_size();
	check_read("read after write", off, len);
}

static void do_mapread(void)
{
	uint64_t off, len, pg_off, map_len;
	unsigned char *p;

	if (!size)
		return;
	off = pick_off(size);
	len = pick_len(size - off);
	if (!len)
		return;
	log_op(OP_MAPREAD, off, len, size, 0);
	p = map_range(off, len, PROT_READ, &pg_off, &map_len);
	compare("mapread", p + (off - pg_off), off, len);
	check_eof_page(p, pg_off, map_len);
	if (munmap(p, map_len))
		sysfail("munmap", pg_off, map_len);
}

static void do_mapwrite(void)
{
	uint64_t off = pick_off(maxlen), len = pick_len(maxlen - off);
	uint64_t pg_off, map_len;
	unsigned char *p;
	int sync = rnd(&rng_state) & 1;

	if (!len)
		return;
	log_op(OP_MAPWRITE, off, len, size, sync);
	if (off + len > size) {
		/* A mapping cannot extend the file: grow it first. */
		if (ftruncate(fd, off + len))
			sysfail("ftruncate before mapwrite", off, len);
		model_resize(off + len);
	}
	p = map_range(off, len, PROT_READ | PROT_WRITE, &pg_off, &map_len);
	fill(model + off, off, len);
	memcpy(p + (off - pg_off), model + off, len);
	if (sync && msync(p, map_len, MS_SYNC))
		sysfail("msync", pg_off, map_len);
	compare("mapping after mapwrite", p + (off - pg_off), off, len);
	check_eof_page(p, pg_off, map_len);
	if (munmap(p, map_len))
		sysfail("munmap", pg_off, map_len);
	log_done();
	check_size();
	check_read("read after mapwrite", off, len);
}

static void do_truncate(void)
{
	uint64_t newsize = rnd_below(&rng_state, maxlen + 1), old = size;

	if (aligned)
		newsize = newsize / pagesz * pagesz;
	log_op(OP_TRUNCATE, newsize, 0, size, 0);
	if (ftruncate(fd, newsize))
		sysfail("ftruncate", newsize, 0);
	model_resize(newsize);
	log_done();
	check_size();
	/* Around the cut: the page it falls in and the one before. */
	{
		uint64_t lo = (newsize < old ? newsize : old);
		uint64_t from = lo > (uint64_t)pagesz ? (lo - pagesz) / pagesz * pagesz : 0;
		uint64_t to = (newsize > old ? newsize : old) + pagesz;

		if (to > maxlen)
			to = maxlen;
		if (to - from > maxop)
			to = from + maxop;
		check_read("read after truncate", from, to - from);
	}
}

static void do_fsync(void)
{
	int data = rnd(&rng_state) & 1;

	log_op(OP_FSYNC, 0, 0, size, data);
	if (data ? fdatasync(fd) : fsync(fd))
		sysfail(data ? "fdatasync" : "fsync", 0, 0);
	check_size();
}

static int falloc_op(int op, int mode, uint64_t off, uint64_t len)
{
	if (!fallocate(fd, mode, off, len))
		return 0;
	if (errno == EOPNOTSUPP) {
		disabled[op] = 1;
		fprintf(stderr, "xipfsx: %s: fallocate(mode 0x%x) not supported "
			"(EOPNOTSUPP); leaving it out from operation %lu\n",
			op_names[op], mode, opnum);
		return -1;
	}
	sysfail(op == OP_PUNCH ? "fallocate(PUNCH_HOLE|KEEP_SIZE)" :
		"fallocate(0)", off, len);
}

static void do_punch(void)
{
	uint64_t off, len, end;

	if (!size)
		return;
	off = pick_off(size);
	len = pick_len(maxlen - off);
	if (!len)
		return;
	log_op(OP_PUNCH, off, len, size, 0);
	if (falloc_op(OP_PUNCH, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
		return;
	end = off + len > size ? size : off + len;
	memset(model + off, 0, end - off);
	log_done();
	check_size();
	check_read("read after punch", off, len);
}

static void do_falloc(void)
{
	uint64_t off = pick_off(maxlen), len = pick_len(maxlen - off);

	if (!len)
		return;
	log_op(OP_FALLOC, off, len, size, 0);
	if (falloc_op(OP_FALLOC, 0, off, len))
		return;
	if (off + len > size)
		model_resize(off + len);
	log_done();
	check_size();
	check_read("read after falloc", off, len);
}

static void (*const op_fn[OP_NR])(void) = {
	do_read, do_write, do_mapread, do_mapwrite, do_truncate, do_fsync,
	do_punch, do_falloc,
};

static int pick_op(void)
{
	int total = 0, i, r;

	for (i = 0; i < OP_NR; i++)
		if (!disabled[i])
			total += op_weight[i];
	if (!total)
		return -1;
	r = rnd_below(&rng_state, total);
	for (i = 0; i < OP_NR; i++) {
		if (disabled[i])
			continue;
		if (r < op_weight[i])
			return i;
		r -= op_weight[i];
	}
	return -1;
}

static void exclude(char *list)
{
	char *tok, *save = NULL;
	int i;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < OP_NR; i++)
			if (!strcmp(tok, op_names[i]))
				break;
		if (i == OP_NR) {
			fprintf(stderr, "xipfsx: unknown operation %s (read, write, mapread,"
				" mapwrite, truncate, fsync, punch, falloc)\n", tok);
			exit(2);
		}
		disabled[i] = 2;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: xipfsx [-N OPS] [-S SEED] [-l MAXLEN] [-o MAXOPLEN]"
		" [-c INTERVAL] [-x OP,...] [-d DUMP] [-p] [-q] FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dumpfile = NULL;
	int opt, have_seed = 0, i;
	struct stat st;
	uint64_t done;

	while ((opt = getopt(argc, argv, "N:S:l:o:c:x:d:pq")) != -1) {
		switch (opt) {
		case 'N': nops = strtoul(optarg, NULL, 0); break;
		case 'S': seed = strtoull(optarg, NULL, 0); have_seed = 1; break;
		case 'l': maxlen = strtoull(optarg, NULL, 0); break;
		case 'o': maxop = strtoull(optarg, NULL, 0); break;
		case 'c': interval = strtoul(optarg, NULL, 0); break;
		case 'x': exclude(optarg); break;
		case 'd': dumpfile = optarg; break;
		case 'p': aligned = 1; break;
		case 'q': quiet = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || !maxlen || !maxop || !interval)
		usage();
	path = argv[optind];
	pagesz = sysconf(_SC_PAGESIZE);
	if (aligned && (maxlen % pagesz || maxop < (uint64_t)pagesz)) {
		fprintf(stderr, "xipfsx: -p needs -l a multiple of the page size and -o >= it\n");
		return 2;
	}
	if (!have_seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	rng_state = rnd_init(seed, 1);

	fd = open(path, O_RDWR);
	if (fd < 0 || fstat(fd, &st))
		die(path);
	if ((uint64_t)st.st_size > maxlen) {
		fprintf(stderr, "xipfsx: %s: size %lld is over -l %" PRIu64 "\n", path,
			(long long)st.st_size, maxlen);
		return 2;
	}
	/* One spare page: checks read past EOF. */
	model = calloc(1, maxlen + pagesz);
	buf = malloc(maxlen + maxop + pagesz);
	if (!model || !buf) {
		fprintf(stderr, "xipfsx: out of memory\n");
		return 2;
	}
	size = st.st_size;
	for (done = 0; done < size;) {
		ssize_t n = pread(fd, model + done, size - done, done);

		if (n <= 0) {
			fprintf(stderr, "xipfsx: %s: initial read: %s\n", path,
				n ? strerror(errno) : "short");
			return 2;
		}
		done += n;
	}
	if (!quiet)
		printf("xipfsx: %s: seed %" PRIu64 ", %lu operations, size 0x%" PRIx64
		       ", max length 0x%" PRIx64 ", max op 0x%" PRIx64 "%s\n", path,
		       seed, nops, size, maxlen, maxop, aligned ? ", page-aligned" : "");
	fflush(stdout);
	opnum = 0;
	log_op(OP_READ, 0, size, size, 0);
	check_all();

	for (opnum = 1; opnum <= nops; opnum++) {
		int op = pick_op();

		if (op < 0) {
			fprintf(stderr, "xipfsx: every operation is left out\n");
			return 2;
		}
		op_fn[op]();
		counts[op]++;
		if (opnum % interval == 0)
			check_all();
	}
	opnum = nops;
	check_all();
	if (fsync(fd))
		sysfail("final fsync", 0, 0);
	close(fd);
	/* A new open sees the same. */
	fd = open(path, O_RDWR);
	if (fd < 0)
		sysfail("reopen", 0, 0);
	check_all();
	if (dumpfile) {
		int d = open(dumpfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (d < 0 || write(d, model, size) != (ssize_t)size || close(d))
			die(dumpfile);
	}
	if (!quiet) {
		printf("xipfsx: passed, final size 0x%" PRIx64 ";", size);
		for (i = 0; i < OP_NR; i++)
			printf(" %s %lu", op_names[i], counts[i]);
		printf("\n");
	}
	return 0;
}
