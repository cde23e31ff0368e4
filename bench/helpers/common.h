/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the benchmark's guest helpers: clocks, faults, errors. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* This process's minor and major fault counts so far. */
static inline void faults(long *minflt, long *majflt)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*minflt = ru.ru_minflt;
	*majflt = ru.ru_majflt;
}

/*
 * Rss in KiB of this process's mapping that starts at addr, from
 * /proc/self/smaps; -1 if not found.  XIP pages (special PTEs of a
 * VM_MIXEDMAP mapping) and DAX pages are not counted in Rss.
 */
static inline long mapping_rss_kb(const void *addr)
{
	char line[512], want[32];
	FILE *f = fopen("/proc/self/smaps", "r");
	long kb = -1;
	int in = 0;

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want)))
			in = 1;
		else if (in && sscanf(line, "Rss: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static inline void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	exit(1);
}
#endif
