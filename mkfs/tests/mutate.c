// SPDX-License-Identifier: GPL-2.0
/*
 * Structure-aware mutations of a valid image (mutator.h), for the
 * kernel's fuzz runs (tests/xipfs/061, `make fuzz`) and by hand.
 *
 *   mutate IMAGE SEED OUT
 *       write the image of that seed to OUT; print "SEED: WHAT".
 *   mutate --what IMAGE SEED
 *       print "SEED: WHAT" only: which structure and field it changes.
 *   mutate --patch IMAGE NAME FIRST COUNT
 *       the images of seeds FIRST..FIRST+COUNT-1 as patches against
 *       IMAGE, for tests/helpers/xipfuzz: per image
 *         I NAME-SEED NAME LENGTH WHAT
 *         P OFFSET HEXBYTES          (the bytes that differ; repeated)
 *         E
 *       A few bytes per image instead of a whole copy: hundreds of
 *       images cost kilobytes in the guest's initramfs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mutator.h"

static uint8_t *load(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st)) {
		perror(path);
		exit(2);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
		perror(path);
		exit(2);
	}
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void usage(void)
{
	fprintf(stderr, "usage: mutate IMAGE SEED OUT\n"
			"       mutate --what IMAGE SEED\n"
			"       mutate --patch IMAGE NAME FIRST COUNT\n");
	exit(2);
}

static void patch(const uint8_t *base, size_t blen, const uint8_t *m, size_t mlen)
{
	size_t n = blen < mlen ? blen : mlen;

	for (size_t i = 0; i < n; i++) {
		size_t j = i, k;

		if (base[i] == m[i])
			continue;
		/* Extend over gaps of up to 8 equal bytes. */
		for (k = i; k < n && k - j <= 8; k++)
			if (base[k] != m[k])
				j = k;
		printf("P %zu ", i);
		for (k = i; k <= j; k++)
			printf("%02x", m[k]);
		printf("\n");
		i = j;
	}
}

int main(int argc, char **argv)
{
	char what[1024];
	uint8_t *base, *buf;
	size_t blen, len;

	if (argc == 6 && !strcmp(argv[1], "--patch")) {
		uint64_t first = strtoull(argv[4], NULL, 0), count = strtoull(argv[5], NULL, 0);

		base = load(argv[2], &blen);
		buf = malloc(blen + 1);
		if (!buf)
			return 2;
		for (uint64_t seed = first; seed < first + count; seed++) {
			memcpy(buf, base, blen);
			len = blen;
			if (xipfs_mutate(buf, &len, seed, what, sizeof(what))) {
				fprintf(stderr, "%s: not an image the library opens\n", argv[2]);
				return 2;
			}
			printf("I %s-%llu %s %zu %s\n", argv[3], (unsigned long long)seed,
			       argv[3], len, what);
			patch(base, blen, buf, len);
			printf("E\n");
		}
		free(base);
		free(buf);
		return fflush(stdout) ? 2 : 0;
	}
	if (argc == 4 && !strcmp(argv[1], "--what")) {
		uint64_t seed = strtoull(argv[3], NULL, 0);

		buf = load(argv[2], &len);
		if (xipfs_mutate(buf, &len, seed, what, sizeof(what)))
			return 2;
		printf("%llu: %s\n", (unsigned long long)seed, what);
		free(buf);
		return 0;
	}
	if (argc == 4 && argv[1][0] != '-') {
		uint64_t seed = strtoull(argv[2], NULL, 0);
		FILE *f;

		buf = load(argv[1], &len);
		if (xipfs_mutate(buf, &len, seed, what, sizeof(what))) {
			fprintf(stderr, "%s: not an image the library opens\n", argv[1]);
			return 2;
		}
		f = fopen(argv[3], "wb");
		if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
			perror(argv[3]);
			return 2;
		}
		printf("%llu: %s\n", (unsigned long long)seed, what);
		free(buf);
		return 0;
	}
	usage();
	return 2;
}
