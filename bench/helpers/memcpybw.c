// SPDX-License-Identifier: GPL-2.0
/*
 * memcpybw [-r REPS] [-n BYTES] FILE|-: the memcpy bandwidth limit.
 * Maps FILE whole (on an all-XIP xipfs file: the flash window itself),
 * faults it in, then copies it into a prefaulted buffer REPS times
 * (default 5); "-" copies an anonymous buffer of BYTES (default 64 MiB)
 * instead (RAM to RAM).
 * Prints "bytes ns rss_kb" for each copy, one line each; rss_kb is the
 * source mapping's Rss (0 for a mapping of the window itself).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	int reps = 5, i = 1;
	size_t len, anon_len = 64 << 20;
	unsigned char *src, *dst;
	volatile unsigned char sink = 0;
	long psz = sysconf(_SC_PAGESIZE);

	while (i + 1 < argc && argv[i][0] == '-' && argv[i][1]) {
		if (!strcmp(argv[i], "-r"))
			reps = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-n"))
			anon_len = strtoul(argv[i + 1], NULL, 0);
		else
			break;
		i += 2;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: memcpybw [-r REPS] [-n BYTES] FILE|-\n");
		return 2;
	}
	if (!strcmp(argv[i], "-")) {
		len = anon_len;
		src = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (src == MAP_FAILED)
			die("mmap");
		memset(src, 0x5a, len);
	} else {
		struct stat st;
		int fd = open(argv[i], O_RDONLY);

		if (fd < 0 || fstat(fd, &st))
			die("%s", argv[i]);
		len = st.st_size;
		src = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (src == MAP_FAILED)
			die("mmap %s", argv[i]);
		for (size_t o = 0; o < len; o += psz)
			sink += src[o];
	}
	dst = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dst == MAP_FAILED)
		die("mmap");
	memset(dst, 0, len);
	for (int r = 0; r < reps; r++) {
		long long t0 = now_ns();

		memcpy(dst, src, len);
		long long ns = now_ns() - t0;

		printf("%zu %lld %ld\n", len, ns, mapping_rss_kb(src));
	}
	return sink & 0;
}
