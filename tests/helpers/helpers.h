/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every tests/helpers program needs: an error exit, a clock, a
 * pseudo-random generator and a checksum.  All static inline, so that a
 * program includes this whatever it uses of it.  Built with -D_GNU_SOURCE
 * (tests/helpers/Makefile), for program_invocation_short_name.
 */
#ifndef XIPFS_TESTS_HELPERS_H
#define XIPFS_TESTS_HELPERS_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * "NAME: WHAT: strerror(errno)" on stderr, and exit status 2: the
 * helpers' "setup error" (a system call failed), apart from the 1 of a
 * failed check.  NAME is the name the program was run under.
 */
static inline __attribute__((noreturn, format(printf, 1, 2)))
void dief(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	exit(2);
}

static inline __attribute__((noreturn)) void die(const char *what)
{
	dief("%s", what);
}

/* Seconds on the monotonic clock. */
static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64* (Vigna): the next number of the sequence in *@s. */
static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* A number below @n (0 for n == 0). */
static inline uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

/*
 * The state for the sequence of (@seed, @salt): distinct salts give the
 * sequences of one seed (per thread, per page) apart.  Never 0, which
 * xorshift would keep for ever.
 */
static inline uint64_t rnd_init(uint64_t seed, uint64_t salt)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + salt;

	return s ? s : 1;
}

/* FNV-1a, 64 bits. */
static inline uint64_t fnv64(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ull;
	return h;
}

#endif
