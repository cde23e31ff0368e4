// SPDX-License-Identifier: GPL-2.0
/*
 * xipdir: check that a directory's readdir positions are stable.
 *
 *   xipdir DIR
 *
 * Reads DIR once, noting telldir() before each entry; then seekdir()s to
 * every noted position, in reverse order, and checks that readdir()
 * returns the same entry there; then looks every name up with stat().
 * Prints the number of entries and "positions stable" or what differs.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

struct ent {
	long pos;
	char name[256];
};

int main(int argc, char **argv)
{
	struct ent *ents = NULL;
	size_t n = 0, cap = 0, i, bad = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int dfd;

	if (argc != 2) {
		fprintf(stderr, "usage: xipdir DIR\n");
		return 2;
	}
	d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 1;
	}
	for (;;) {
		long pos = telldir(d);

		de = readdir(d);
		if (!de)
			break;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			ents = realloc(ents, cap * sizeof(*ents));
			if (!ents)
				return 1;
		}
		ents[n].pos = pos;
		snprintf(ents[n].name, sizeof(ents[n].name), "%s", de->d_name);
		n++;
	}
	for (i = n; i-- > 0;) {
		seekdir(d, ents[i].pos);
		de = readdir(d);
		if (!de || strcmp(de->d_name, ents[i].name)) {
			printf("position %ld: %s, want %s\n", ents[i].pos,
			       de ? de->d_name : "(end)", ents[i].name);
			bad++;
		}
	}
	dfd = dirfd(d);
	for (i = 0; i < n; i++) {
		if (fstatat(dfd, ents[i].name, &st, AT_SYMLINK_NOFOLLOW)) {
			printf("lookup failed: %s\n", ents[i].name);
			bad++;
		}
	}
	printf("%zu entries\n", n);
	if (!bad)
		printf("positions stable, every name found\n");
	closedir(d);
	return bad != 0;
}
