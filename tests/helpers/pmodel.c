// SPDX-License-Identifier: GPL-2.0
/*
 * pmodel: a sequence of synced file operations, and the check of what a
 * power cut may leave of it.
 *
 *   pmodel init FILE SIZE
 *   pmodel run -s SEED [-M MAXSIZE] [-n COUNT] [-g GENFILE] FILE
 *   pmodel gen GENFILE
 *   pmodel verify -s SEED -i INITSIZE -a G0 -b G1 [-M MAXSIZE] [-c CKPT] FILE
 *
 * init writes SIZE bytes of generation 0 (the file as mkfs stores it).
 *
 * run performs operations 1, 2, ... (COUNT, or until SIGTERM) that the
 * seed chooses: pwrite() anywhere up to EOF, stores through a shared
 * mapping then msync(), punching holes, truncating (down and up),
 * fallocate() (also past EOF), appending.  The file stays under MAXSIZE
 * (default 512 KiB).  After each it fsync()s, then stores the number of
 * the operation into GENFILE (8 bytes, through a shared mapping), so
 * that operations up to that number are durable.  Each byte written
 * comes from a generator of (seed, operation, offset).
 *
 * gen prints the number in GENFILE.
 *
 * verify replays the operations on the initial content, and checks that
 * FILE is what a power cut during operation k + 1, for some k in
 * [G0, G1], may leave: its size between the sizes before and after that
 * operation, and each page the page before or the page after it.  (G0
 * and G1: the numbers read just before and after the cut.)  With -c, the
 * model after G0 is kept in CKPT and the next verify of the same run
 * starts from there (G0 only grows from cut to cut).  Exit 0 pass, 1 no
 * such k, 2 usage or I/O error.
 */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define PS	4096

enum { OP_WRITE, OP_MSTORE, OP_PUNCH, OP_TRUNC, OP_FALLOC, OP_APPEND };
static const char *const op_name[] = {
	"pwrite", "mapped store", "punch", "truncate", "fallocate", "append"
};

struct op {
	int kind;
	uint64_t a, len;	/* byte range; TRUNC: a is the new size */
};

static uint64_t maxsize = 512 * 1024;

/* The 8 bytes at @off (a multiple of 8) as written by operation @gen of @seed. */
static uint64_t data_word(uint64_t seed, uint64_t gen, uint64_t off)
{
	uint64_t s = rnd_init(seed, (gen << 32) ^ (off >> 3) ^ 0x5ca1ab1e);

	rnd(&s);
	return rnd(&s);
}

/* Byte @off as written by operation @gen of @seed. */
static unsigned char data_byte(uint64_t seed, uint64_t gen, uint64_t off)
{
	return (unsigned char)(data_word(seed, gen, off & ~7ull) >> ((off & 7) * 8));
}

static void fill(unsigned char *p, uint64_t seed, uint64_t gen, uint64_t off,
		 uint64_t len)
{
	uint64_t i = 0, w;

	/* A word at a time where the offsets are aligned: replay is hot. */
	for (; i < len && ((off + i) & 7); i++)
		p[i] = data_byte(seed, gen, off + i);
	for (; i + 8 <= len; i += 8) {
		w = data_word(seed, gen, off + i);
		memcpy(p + i, &w, 8);	/* little-endian, as data_byte() */
	}
	for (; i < len; i++)
		p[i] = data_byte(seed, gen, off + i);
}

/* Operation number g (1, 2, ...) on a file of @size bytes. */
static void next_op(uint64_t *rng, uint64_t size, struct op *o)
{
	uint64_t r = rnd(rng) % 100;

	o->kind = r < 25 ? OP_WRITE : r < 45 ? OP_MSTORE : r < 57 ? OP_PUNCH :
		  r < 70 ? OP_TRUNC : r < 80 ? OP_FALLOC : OP_APPEND;
	if (!size && (o->kind == OP_MSTORE || o->kind == OP_PUNCH))
		o->kind = OP_APPEND;
	if (size >= maxsize && o->kind == OP_APPEND)
		o->kind = OP_TRUNC;
	switch (o->kind) {
	case OP_WRITE:
		o->a = rnd(rng) % (size + 1);
		if (o->a >= maxsize)
			o->a = 0;
		o->len = 1 + rnd(rng) % (2 * PS);
		if (o->a + o->len > maxsize)
			o->len = maxsize - o->a;
		break;
	case OP_MSTORE:
	case OP_PUNCH:
		o->a = rnd(rng) % size;
		o->len = 1 + rnd(rng) % (size - o->a);
		if (o->len > 3 * PS)
			o->len = 1 + o->len % (3 * PS);
		break;
	case OP_TRUNC:
		o->a = rnd(rng) % (maxsize + 1);
		o->len = 0;
		break;
	case OP_FALLOC:
		o->a = rnd(rng) % maxsize;
		o->len = 1 + rnd(rng) % (maxsize - o->a);
		if (o->len > 16 * PS)
			o->len = 1 + o->len % (16 * PS);
		break;
	case OP_APPEND:
		o->a = size;
		o->len = 1 + rnd(rng) % (6 * PS / 4);
		if (o->a + o->len > maxsize)
			o->len = maxsize - o->a;
		break;
	}
}

/* The file's size after operation @o. */
static uint64_t op_size(uint64_t size, const struct op *o)
{
	switch (o->kind) {
	case OP_TRUNC:
		return o->a;
	case OP_PUNCH:
		return size;
	default:
		return o->a + o->len > size ? o->a + o->len : size;
	}
}

/* Apply operation @g to the model (maxsize bytes, zero past *@size). */
static void apply(unsigned char *m, uint64_t *size, uint64_t seed, uint64_t g,
		  const struct op *o)
{
	switch (o->kind) {
	case OP_WRITE:
	case OP_MSTORE:
	case OP_APPEND:
		fill(m + o->a, seed, g, o->a, o->len);
		break;
	case OP_PUNCH:
		memset(m + o->a, 0, o->len);
		break;
	case OP_TRUNC:
		if (o->a < *size)
			memset(m + o->a, 0, *size - o->a);
		break;
	}
	*size = op_size(*size, o);
}

static int cmd_init(int argc, char **argv)
{
	uint64_t size;
	unsigned char *p;
	int fd;

	if (argc != 3)
		return -1;
	size = strtoull(argv[2], NULL, 0);
	p = malloc(size + 1);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (!p || fd < 0)
		die(argv[1]);
	fill(p, 0, 0, 0, size);
	if (write(fd, p, size) != (ssize_t)size || close(fd))
		die(argv[1]);
	free(p);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int cmd_run(int argc, char **argv)
{
	uint64_t seed = 0, count = 0, g, size, rng;
	volatile uint64_t *genp = NULL;
	const char *genfile = NULL;
	unsigned char *map, *buf;
	struct stat st;
	struct op o;
	int opt, fd;

	while ((opt = getopt(argc, argv, "s:M:n:g:")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'M': maxsize = strtoull(optarg, NULL, 0); break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 'g': genfile = optarg; break;
		default: return -1;
		}
	}
	if (optind != argc - 1 || !seed || maxsize % PS)
		return -1;
	fd = open(argv[optind], O_RDWR);
	if (fd < 0 || fstat(fd, &st))
		die(argv[optind]);
	size = st.st_size;
	if (genfile) {
		int gf = open(genfile, O_RDWR | O_CREAT, 0644);

		if (gf < 0 || ftruncate(gf, 8))
			die(genfile);
		genp = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, gf, 0);
		if (genp == MAP_FAILED)
			die("mmap genfile");
	}
	map = mmap(NULL, maxsize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	buf = malloc(maxsize);
	if (map == MAP_FAILED || !buf)
		die("mmap");
	/* Killed with SIGTERM: finish the operation, exit 0. */
	signal(SIGTERM, on_term);
	rng = rnd_init(seed, 0xfeedface);
	for (g = 1; (!count || g <= count) && !stop; g++) {
		uint64_t lo, hi;

		next_op(&rng, size, &o);
		switch (o.kind) {
		case OP_WRITE:
		case OP_APPEND:
			fill(buf, seed, g, o.a, o.len);
			if (pwrite(fd, buf, o.len, o.a) != (ssize_t)o.len)
				die("pwrite");
			break;
		case OP_MSTORE:
			fill(map + o.a, seed, g, o.a, o.len);
			lo = o.a & ~(uint64_t)(PS - 1);
			hi = o.a + o.len;
			if (msync(map + lo, hi - lo, MS_SYNC))
				die("msync");
			break;
		case OP_PUNCH:
			if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      o.a, o.len))
				die("punch");
			break;
		case OP_TRUNC:
			if (ftruncate(fd, o.a))
				die("ftruncate");
			break;
		case OP_FALLOC:
			if (fallocate(fd, 0, o.a, o.len))
				die("fallocate");
			break;
		}
		size = op_size(size, &o);
		if (fsync(fd))
			die("fsync");
		if (genp)
			*genp = g;
	}
	free(buf);
	return 0;
}

static int cmd_gen(int argc, char **argv)
{
	uint64_t g = 0;
	int fd;

	if (argc != 2)
		return -1;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || pread(fd, &g, 8, 0) < 0)
		die(argv[1]);
	printf("%" PRIu64 "\n", g);
	return 0;
}

/* Does @c (of size @csize) fit a cut between states @s0 and @s1? */
static int fits(const unsigned char *c, uint64_t csize, const unsigned char *s0,
		uint64_t size0, const unsigned char *s1, uint64_t size1,
		uint64_t *badpage)
{
	uint64_t p, lo = size0 < size1 ? size0 : size1;
	uint64_t hi = size0 < size1 ? size1 : size0;

	*badpage = UINT64_MAX;
	if (csize < lo || csize > hi)
		return 0;
	for (p = 0; p < maxsize; p += PS) {
		if (memcmp(c + p, s0 + p, PS) && memcmp(c + p, s1 + p, PS)) {
			*badpage = p / PS;
			return 0;
		}
	}
	return 1;
}

/*
 * A checkpoint: the model after operation g, so that checks of later cuts
 * need not replay from the start (-c FILE).
 */
struct ckpt {
	uint64_t magic, seed, init, maxsize, g, size, rng;
};

#define CKPT_MAGIC	0x544e494f504b4843ull	/* "CHKPOINT" */

static int ckpt_load(const char *path, struct ckpt *want, unsigned char *m)
{
	struct ckpt c;
	int fd = open(path, O_RDONLY);
	int ok;

	if (fd < 0)
		return 0;
	ok = read(fd, &c, sizeof(c)) == sizeof(c) && c.magic == CKPT_MAGIC &&
	     c.seed == want->seed && c.init == want->init &&
	     c.maxsize == want->maxsize && c.g <= want->g &&
	     read(fd, m, maxsize) == (ssize_t)maxsize;
	close(fd);
	if (ok)
		*want = c;
	return ok;
}

static void ckpt_save(const char *path, const struct ckpt *c,
		      const unsigned char *m)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, c, sizeof(*c)) != sizeof(*c) ||
	    write(fd, m, maxsize) != (ssize_t)maxsize || close(fd))
		die(path);
}

static int cmd_verify(int argc, char **argv)
{
	uint64_t seed = 0, init = UINT64_MAX, g0 = 0, g1 = 0, g, k, size;
	uint64_t size1, csize, rng, bad, bad0 = 0, first_size0 = 0, first_size1 = 0;
	unsigned char *c, *s0, *s1;
	struct op o, first = { 0 };
	const char *ckfile = NULL;
	struct ckpt ck = { 0 };
	struct stat st;
	int opt, fd;

	while ((opt = getopt(argc, argv, "s:i:a:b:M:c:")) != -1) {
		switch (opt) {
		case 'c': ckfile = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'i': init = strtoull(optarg, NULL, 0); break;
		case 'a': g0 = strtoull(optarg, NULL, 0); break;
		case 'b': g1 = strtoull(optarg, NULL, 0); break;
		case 'M': maxsize = strtoull(optarg, NULL, 0); break;
		default: return -1;
		}
	}
	if (optind != argc - 1 || !seed || init > maxsize || g1 < g0 ||
	    maxsize % PS)
		return -1;
	c = calloc(1, maxsize);
	s0 = calloc(1, maxsize);
	s1 = calloc(1, maxsize);
	if (!c || !s0 || !s1)
		die("calloc");
	fd = open(argv[optind], O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die(argv[optind]);
	csize = st.st_size;
	if (csize > maxsize) {
		printf("pmodel: size %" PRIu64 " past the largest the run makes\n", csize);
		return 1;
	}
	if (pread(fd, c, csize, 0) != (ssize_t)csize)
		die("pread");
	close(fd);

	fill(s0, 0, 0, 0, init);
	size = init;
	rng = rnd_init(seed, 0xfeedface);
	g = 1;
	ck = (struct ckpt){ CKPT_MAGIC, seed, init, maxsize, g0, 0, 0 };
	if (ckfile && ckpt_load(ckfile, &ck, s0)) {
		g = ck.g + 1;
		size = ck.size;
		rng = ck.rng;
	}
	for (; g <= g0; g++) {
		next_op(&rng, size, &o);
		apply(s0, &size, seed, g, &o);
	}
	if (ckfile) {
		ck = (struct ckpt){ CKPT_MAGIC, seed, init, maxsize, g0, size, rng };
		ckpt_save(ckfile, &ck, s0);
	}
	for (k = g0; k <= g1; k++) {
		memcpy(s1, s0, maxsize);
		size1 = size;
		next_op(&rng, size, &o);
		apply(s1, &size1, seed, k + 1, &o);
		if (fits(c, csize, s0, size, s1, size1, &bad))
			break;
		if (k == g0) {
			bad0 = bad;
			first = o;
			first_size0 = size;
			first_size1 = size1;
		}
		memcpy(s0, s1, maxsize);
		size = size1;
	}
	free(c);
	free(s0);
	free(s1);
	if (k <= g1)
		return 0;
	printf("pmodel: no cut during operations %" PRIu64 "..%" PRIu64 " fits\n",
	       g0 + 1, g1 + 1);
	printf("pmodel: operation %" PRIu64 " (%s %" PRIu64 "+%" PRIu64 "): size %"
	       PRIu64 " (from %" PRIu64 " to %" PRIu64 ")", g0 + 1,
	       op_name[first.kind], first.a, first.len, csize, first_size0,
	       first_size1);
	if (bad0 != UINT64_MAX)
		printf(", page %" PRIu64 " neither before nor after", bad0);
	printf("\n");
	return 1;
}

int main(int argc, char **argv)
{
	int ret = -1;

	if (argc >= 2 && !strcmp(argv[1], "init"))
		ret = cmd_init(argc - 1, argv + 1);
	else if (argc >= 2 && !strcmp(argv[1], "run"))
		ret = cmd_run(argc - 1, argv + 1);
	else if (argc >= 2 && !strcmp(argv[1], "gen"))
		ret = cmd_gen(argc - 1, argv + 1);
	else if (argc >= 2 && !strcmp(argv[1], "verify"))
		ret = cmd_verify(argc - 1, argv + 1);
	if (ret == -1) {
		fprintf(stderr, "usage: pmodel init FILE SIZE\n"
			"       pmodel run -s SEED [-M MAXSIZE] [-n COUNT] [-g GENFILE] FILE\n"
			"       pmodel gen GENFILE\n"
			"       pmodel verify -s SEED -i INITSIZE -a G0 -b G1 [-M MAXSIZE] [-c CKPT] FILE\n");
		return 2;
	}
	return ret;
}
