// SPDX-License-Identifier: GPL-2.0
/*
 * xattrs: extended attributes and capabilities, for the guest (busybox
 * has no getfattr) and the host alike.
 *
 *   xattrs dump PATH...        every attribute of each PATH (not
 *                              following symlinks), names sorted:
 *                              "PATH NAME=VALUE", VALUE "text" when
 *                              printable, else 0xHEX; "PATH -" if none
 *   xattrs get PATH NAME SIZE  lgetxattr() into a SIZE-byte buffer: the
 *                              length and value, or the errno name
 *   xattrs set PATH NAME VALUE lsetxattr(): "ok" or the errno name
 *   xattrs runas UID PROG ARG...  drop to UID (and GID UID, no groups:
 *                              every capability goes) and exec PROG
 *   xattrs caps [FILE]         this process's effective and permitted
 *                              capability sets (capget()), and whether it
 *                              may open FILE for reading (a root-only
 *                              file: CAP_DAC_READ_SEARCH or root)
 *
 * A copy of this program with security.capability set is the case's
 * file-capability binary: run by a non-root user, "caps" shows the
 * capability that came from the attribute.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/capability.h>

#include "helpers.h"

static const char *errname(int err)
{
	switch (err) {
	case ENODATA: return "ENODATA";
	case ERANGE: return "ERANGE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EROFS: return "EROFS";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EUCLEAN: return "EUCLEAN";
	}
	return strerror(err);
}

static void put_value(const unsigned char *v, ssize_t len)
{
	ssize_t n = len && !v[len - 1] ? len - 1 : len;
	int text = 1;

	for (ssize_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] >= 0x7f || v[i] == '"' || v[i] == '\\')
			text = 0;
	if (text) {
		printf("\"%.*s\"", (int)n, (const char *)v);
		return;
	}
	printf("0x");
	for (ssize_t i = 0; i < len; i++)
		printf("%02x", v[i]);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int dump(const char *path)
{
	static unsigned char val[65536];
	char list[65536], *names[4096];
	ssize_t n = llistxattr(path, list, sizeof(list)), v;
	size_t k = 0;

	if (n < 0) {
		printf("%s listxattr: %s\n", path, errname(errno));
		return 1;
	}
	for (char *p = list; p < list + n && k < 4096; p += strlen(p) + 1)
		names[k++] = p;
	qsort(names, k, sizeof(*names), cmp_str);
	if (!k)
		printf("%s -\n", path);
	for (size_t i = 0; i < k; i++) {
		v = lgetxattr(path, names[i], val, sizeof(val));
		printf("%s %s=", path, names[i]);
		if (v < 0)
			printf("(%s)", errname(errno));
		else
			put_value(val, v);
		printf("\n");
	}
	return 0;
}

static int caps(const char *file)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int fd;

	if (syscall(SYS_capget, &h, d))
		die("capget");
	printf("CapEff %08x%08x CapPrm %08x%08x\n", d[1].effective, d[0].effective,
	       d[1].permitted, d[0].permitted);
	if (!file)
		return 0;
	fd = open(file, O_RDONLY);
	printf("open %s: %s\n", file, fd >= 0 ? "ok" : errname(errno));
	if (fd >= 0)
		close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char val[65536];
	int ret = 0;

	if (argc >= 3 && !strcmp(argv[1], "dump")) {
		for (int i = 2; i < argc; i++)
			ret |= dump(argv[i]);
		return ret;
	}
	if (argc == 5 && !strcmp(argv[1], "get")) {
		size_t size = strtoul(argv[4], NULL, 0);
		ssize_t n = lgetxattr(argv[2], argv[3], size ? val : NULL,
				      size < sizeof(val) ? size : sizeof(val));

		if (n < 0) {
			printf("%s\n", errname(errno));
			return 0;
		}
		printf("%zd", n);
		if (size) {
			printf(" ");
			put_value(val, n);
		}
		printf("\n");
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "set")) {
		printf("%s\n", lsetxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0) ?
		       errname(errno) : "ok");
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "runas")) {
		uid_t id = strtoul(argv[2], NULL, 0);

		if (setgroups(0, NULL) || setresgid(id, id, id) || setresuid(id, id, id))
			die("setting ids");
		execv(argv[3], argv + 3);
		dief("exec %s", argv[3]);
	}
	if ((argc == 2 || argc == 3) && !strcmp(argv[1], "caps"))
		return caps(argv[2]);
	fprintf(stderr, "usage: xattrs dump PATH... | get PATH NAME SIZE | set PATH NAME VALUE | runas UID PROG ARG... | caps [FILE]\n");
	return 2;
}
