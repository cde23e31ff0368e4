// SPDX-License-Identifier: GPL-2.0
/*
 * mmaptouch FILE...: map each file whole (MAP_SHARED, PROT_READ) and
 * read one byte of every page in order; print "pages minflt majflt ns"
 * summed over the files (faults from getrusage, around the touches
 * only, so mmap and munmap are not counted), then "rss_kb": the
 * mappings' resident size as smaps counts it after the touches.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	long long pages = 0, ns = 0, rss = 0;
	long min = 0, maj = 0;
	long psz = sysconf(_SC_PAGESIZE);
	volatile unsigned char sink = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: mmaptouch FILE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		long min0, maj0, min1, maj1;
		long long t0;
		struct stat st;
		unsigned char *p;

		if (fd < 0 || fstat(fd, &st))
			die("%s", argv[i]);
		if (!st.st_size)
			continue;
		p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			die("mmap %s", argv[i]);
		faults(&min0, &maj0);
		t0 = now_ns();
		for (off_t o = 0; o < st.st_size; o += psz)
			sink += p[o];
		ns += now_ns() - t0;
		faults(&min1, &maj1);
		min += min1 - min0;
		maj += maj1 - maj0;
		pages += (st.st_size + psz - 1) / psz;
		rss += mapping_rss_kb(p);
		munmap(p, st.st_size);
		close(fd);
	}
	printf("%lld %ld %ld %lld %lld\n", pages, min, maj, ns, rss);
	return 0;
}
