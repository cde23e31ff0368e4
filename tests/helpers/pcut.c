// SPDX-License-Identifier: GPL-2.0
/*
 * pcut: page writes to be cut by a power failure, and their check.
 *
 *   pcut init FILE NPAGES
 *   pcut write [-s SEED] [-f EVERY] [-p MS] [-n COUNT] FILE
 *   pcut verify [-s SEED] [-g GEN] [-v] FILE [NPAGES]
 *
 * Every page pcut writes is stamped: a header (magic, checksum, page
 * index, generation, seed) and the rest filled from a generator seeded by
 * (seed, generation, index); the checksum (FNV-1a 64) covers the whole
 * page.
 *
 * init writes NPAGES pages of generation 0, seed 0 (the "original"
 * content) and fsyncs.  It may create FILE (on the host, before mkfs).
 *
 * write loops until killed (or COUNT writes): generation g = 1, 2, ...
 * goes with pwrite() to page index number g of the sequence the seed
 * gives, as a whole page; every EVERY writes (default 4) it fsyncs, and
 * at most every MS milliseconds (default 25; 0: after every fsync) and
 * after the last write it prints "synced G": G is the newest generation
 * that an fsync has covered.
 * It starts with "pcut: write seed S, N pages".
 *
 * verify checks that every page is either original (generation 0) or an
 * intact stamp for that page index.  With -s SEED, a written stamp must
 * be of that seed and at a generation the sequence sends to that page;
 * with -g GEN too (the last "synced" line seen), every page must hold at
 * least the newest generation up to GEN that went to it: an fsynced
 * write must not be lost.  Prints a summary (-v: every page that is not
 * original); exit 1 on a torn, foreign or lost page, 2 on a usage or I/O
 * error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define MAGIC	0x54554350u	/* "PCUT" */

struct stamp {
	uint32_t magic;
	uint32_t pad;
	uint64_t sum;		/* FNV-1a 64 of the page with sum = 0 */
	uint64_t index;
	uint64_t gen;
	uint64_t seed;
};

static long pagesz;

/* The sequence of page indexes for @seed. */
struct seq {
	uint64_t state, npages;
};

static void seq_init(struct seq *q, uint64_t seed, uint64_t npages)
{
	q->state = rnd_init(seed, 0x5ca1ab1e);
	q->npages = npages;
}

static uint64_t seq_next(struct seq *q)
{
	return rnd(&q->state) % q->npages;
}

static void make_page(unsigned char *page, uint64_t index, uint64_t gen,
		      uint64_t seed)
{
	struct stamp *st = (struct stamp *)page;
	uint64_t s = rnd_init(seed + 1, (gen << 24) ^ index);
	size_t i;

	for (i = sizeof(*st); i + 8 <= (size_t)pagesz; i += 8) {
		uint64_t v = rnd(&s);

		memcpy(page + i, &v, 8);
	}
	st->magic = MAGIC;
	st->pad = 0;
	st->sum = 0;
	st->index = index;
	st->gen = gen;
	st->seed = seed;
	st->sum = fnv64(page, pagesz);
}

/* 0 if @page is an intact stamp (its fields in *@out), else -1. */
static int read_stamp(const unsigned char *page, struct stamp *out)
{
	static unsigned char *tmp;
	struct stamp st;

	memcpy(&st, page, sizeof(st));
	if (st.magic != MAGIC)
		return -1;
	if (!tmp)
		tmp = malloc(pagesz);
	memcpy(tmp, page, pagesz);
	((struct stamp *)tmp)->sum = 0;
	if (fnv64(tmp, pagesz) != st.sum)
		return -1;
	/* The fill too (the checksum already covers it; this names the cause). */
	make_page(tmp, st.index, st.gen, st.seed);
	if (memcmp(tmp, page, pagesz))
		return -1;
	*out = st;
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + done);

		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

static int cmd_init(int argc, char **argv)
{
	unsigned char *page = malloc(pagesz);
	uint64_t n, i;
	int fd;

	if (argc != 3)
		return -1;
	n = strtoull(argv[2], NULL, 0);
	fd = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (fd < 0 || !n) {
		fprintf(stderr, "pcut: %s: %s\n", argv[1], fd < 0 ? strerror(errno) : "no pages");
		return 2;
	}
	for (i = 0; i < n; i++) {
		make_page(page, i, 0, 0);
		if (pwrite_all(fd, page, pagesz, i * pagesz))
			dief("init: write page %" PRIu64, i);
	}
	if (ftruncate(fd, n * pagesz) || fsync(fd) || close(fd))
		die("init");
	return 0;
}

static int cmd_write(int argc, char **argv)
{
	uint64_t seed = 0, every = 4, count = 0, npages, gen, ms = 25;
	double last = 0, t;
	unsigned char *page = malloc(pagesz);
	struct stat st;
	struct seq q;
	char line[64];
	int opt, fd, len;

	while ((opt = getopt(argc, argv, "s:f:n:p:")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'f': every = strtoull(optarg, NULL, 0); break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 'p': ms = strtoull(optarg, NULL, 0); break;
		default: return -1;
		}
	}
	if (optind != argc - 1 || !every)
		return -1;
	if (!seed)
		seed = ((uint64_t)time(NULL) << 16 ^ getpid()) | 1;
	fd = open(argv[optind], O_RDWR);
	if (fd < 0 || fstat(fd, &st))
		die(argv[optind]);
	npages = st.st_size / pagesz;
	if (!npages) {
		fprintf(stderr, "pcut: %s: smaller than a page\n", argv[optind]);
		return 2;
	}
	seq_init(&q, seed, npages);
	len = snprintf(line, sizeof(line), "pcut: write seed %" PRIu64 ", %" PRIu64
		       " pages\n", seed, npages);
	if (write(1, line, len) != len)
		return 2;
	for (gen = 1; !count || gen <= count; gen++) {
		uint64_t idx = seq_next(&q);

		make_page(page, idx, gen, seed);
		if (pwrite_all(fd, page, pagesz, idx * pagesz)) {
			fprintf(stderr, "pcut: write generation %" PRIu64 " to page %"
				PRIu64 ": %s\n", gen, idx, strerror(errno));
			return 1;
		}
		if (gen % every == 0 || gen == count) {
			if (fsync(fd)) {
				fprintf(stderr, "pcut: fsync: %s\n", strerror(errno));
				return 1;
			}
			t = now();
			if (gen != count && (t - last) * 1000 < ms)
				continue;
			last = t;
			len = snprintf(line, sizeof(line), "synced %" PRIu64 "\n", gen);
			if (write(1, line, len) != len)
				return 2;
		}
	}
	return 0;
}

static int cmd_verify(int argc, char **argv)
{
	uint64_t seed = 0, synced = 0, npages, i, maxgen = 0, g;
	uint64_t orig = 0, written = 0, torn = 0, foreign = 0, lost = 0;
	int opt, fd, have_seed = 0, verbose = 0;
	unsigned char *data, *page;
	struct stamp *st;
	uint64_t *last;		/* per page: newest gen <= synced sent there */
	unsigned char *bad;
	struct stat sb;
	size_t done = 0;

	while ((opt = getopt(argc, argv, "s:g:v")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); have_seed = 1; break;
		case 'g': synced = strtoull(optarg, NULL, 0); break;
		case 'v': verbose = 1; break;
		default: return -1;
		}
	}
	if (optind != argc - 1 && optind != argc - 2)
		return -1;
	if (synced && !have_seed) {
		fprintf(stderr, "pcut: verify: -g needs -s\n");
		return 2;
	}
	fd = open(argv[optind], O_RDONLY);
	if (fd < 0 || fstat(fd, &sb))
		die(argv[optind]);
	npages = sb.st_size / pagesz;
	if (optind == argc - 2) {
		uint64_t want = strtoull(argv[optind + 1], NULL, 0);

		if ((uint64_t)sb.st_size != want * pagesz) {
			printf("pcut: %s: size %lld, expected %" PRIu64 " pages (%" PRIu64
			       " bytes)\n", argv[optind], (long long)sb.st_size, want,
			       want * pagesz);
			return 1;
		}
	}
	if (!npages) {
		printf("pcut: %s: no pages\n", argv[optind]);
		return 1;
	}
	data = malloc(npages * pagesz);
	st = calloc(npages, sizeof(*st));
	bad = calloc(npages, 1);
	last = calloc(npages, sizeof(*last));
	if (!data || !st || !bad || !last) {
		fprintf(stderr, "pcut: out of memory\n");
		return 2;
	}
	while (done < npages * pagesz) {
		ssize_t n = pread(fd, data + done, npages * pagesz - done, done);

		if (n <= 0) {
			fprintf(stderr, "pcut: read %s: %s\n", argv[optind],
				n ? strerror(errno) : "short");
			return 2;
		}
		done += n;
	}
	for (i = 0; i < npages; i++) {
		page = data + i * pagesz;
		if (read_stamp(page, &st[i])) {
			bad[i] = 'T';
			torn++;
			if (verbose || torn <= 10)
				printf("pcut: page %" PRIu64 ": torn or not a stamp\n", i);
			continue;
		}
		if (st[i].index != i || (st[i].gen == 0 && st[i].seed != 0) ||
		    (have_seed && st[i].gen && st[i].seed != seed)) {
			bad[i] = 'F';
			foreign++;
			printf("pcut: page %" PRIu64 ": foreign stamp (page %" PRIu64
			       ", generation %" PRIu64 ", seed %" PRIu64 ")\n", i,
			       st[i].index, st[i].gen, st[i].seed);
			continue;
		}
		if (st[i].gen > maxgen)
			maxgen = st[i].gen;
	}
	if (have_seed) {
		/* Which page each generation went to. */
		uint64_t upto = maxgen > synced ? maxgen : synced;
		unsigned char *hit = calloc(npages, 1);
		uint64_t *want_gen = malloc(sizeof(*want_gen) * npages);
		struct seq q;

		for (i = 0; i < npages; i++)
			want_gen[i] = st[i].gen;
		seq_init(&q, seed, npages);
		for (g = 1; g <= upto; g++) {
			uint64_t idx = seq_next(&q);

			if (g <= synced)
				last[idx] = g;
			if (want_gen[idx] == g)
				hit[idx] = 1;
		}
		for (i = 0; i < npages; i++) {
			if (bad[i])
				continue;
			if (st[i].gen && !hit[i]) {
				bad[i] = 'F';
				foreign++;
				printf("pcut: page %" PRIu64 ": generation %" PRIu64
				       " never went to this page\n", i, st[i].gen);
			} else if (st[i].gen < last[i]) {
				bad[i] = 'L';
				lost++;
				printf("pcut: page %" PRIu64 ": holds generation %" PRIu64
				       ", but generation %" PRIu64 " was written there and"
				       " fsynced\n", i, st[i].gen, last[i]);
			}
		}
	}
	for (i = 0; i < npages; i++) {
		if (bad[i])
			continue;
		if (st[i].gen)
			written++;
		else
			orig++;
		if (verbose && st[i].gen)
			printf("pcut: page %" PRIu64 ": generation %" PRIu64 "\n", i,
			       st[i].gen);
	}
	if (torn > 10 && !verbose)
		printf("pcut: ... %" PRIu64 " torn pages in all\n", torn);
	printf("pcut: %" PRIu64 " pages: %" PRIu64 " original, %" PRIu64
	       " written (newest generation %" PRIu64 "), %" PRIu64 " torn, %" PRIu64
	       " foreign, %" PRIu64 " lost\n", npages, orig, written, maxgen, torn,
	       foreign, lost);
	return torn || foreign || lost ? 1 : 0;
}

int main(int argc, char **argv)
{
	int rc = -1;

	pagesz = sysconf(_SC_PAGESIZE);
	if (argc >= 2 && !strcmp(argv[1], "init"))
		rc = cmd_init(argc - 1, argv + 1);
	else if (argc >= 2 && !strcmp(argv[1], "write"))
		rc = cmd_write(argc - 1, argv + 1);
	else if (argc >= 2 && !strcmp(argv[1], "verify"))
		rc = cmd_verify(argc - 1, argv + 1);
	if (rc < 0) {
		rc = 2;
		fprintf(stderr, "usage: pcut init FILE NPAGES\n"
			"       pcut write [-s SEED] [-f EVERY] [-p MS] [-n COUNT] FILE\n"
			"       pcut verify [-s SEED] [-g GEN] [-v] FILE [NPAGES]\n");
	}
	return rc;
}
