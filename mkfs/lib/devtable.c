// SPDX-License-Identifier: GPL-2.0
/*
 * Device table (genext2fs / makedevs format), so that device nodes and
 * ownership can go into an image built without root:
 *
 *   # name      type mode uid gid major minor start inc count
 *   /dev        d    755  0   0   -     -     -     -   -
 *   /dev/ttyS   c    660  0   5   4     64    0     1   4
 *
 * type: f (existing file), d (directory, created if missing), c, b, p.
 * With count > 0, nodes name<start>..name<start+count-1> are made, the
 * minor number advancing by inc.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_internal.h"

static int num(const char *s, int base, unsigned long *v)
{
	char *end;

	if (!strcmp(s, "-")) {
		*v = 0;
		return 0;
	}
	errno = 0;
	*v = strtoul(s, &end, base);
	return errno || *end || end == s || *v > UINT32_MAX ? -1 : 0;
}

static int add_node(struct xw_tree *t, const char *file, unsigned int line,
		    const char *path, char type, mode_t perm, uint32_t uid,
		    uint32_t gid, unsigned int maj, unsigned int min)
{
	char *dup = strdup(path), *slash;
	struct xw_inode *parent, *in;
	mode_t fmt = type == 'c' ? S_IFCHR : type == 'b' ? S_IFBLK :
		     type == 'p' ? S_IFIFO : type == 'd' ? S_IFDIR : S_IFREG;
	const char *leaf;
	int ret = -1;

	if (!dup) {
		xw_error("out of memory");
		return -1;
	}
	slash = strrchr(dup, '/');
	*slash = 0;
	leaf = slash + 1;
	parent = xw_tree_lookup(t, dup);
	if (!*leaf) {
		in = t->root;	/* "/" itself */
	} else if (!parent || !S_ISDIR(parent->mode)) {
		xw_error("%s:%u: %s: parent directory not in the image", file, line, path);
		goto out;
	} else {
		struct xw_dentry *d = xw_dir_find(parent, leaf, strlen(leaf));

		in = d ? d->inode : NULL;
	}
	if (in && (in->mode & S_IFMT) != fmt) {
		xw_error("%s:%u: %s exists with another type", file, line, path);
		goto out;
	}
	if (!in) {
		if (type == 'f') {
			xw_error("%s:%u: %s: no such file in the image", file, line, path);
			goto out;
		}
		if (strlen(leaf) > XIPFS_NAME_MAX) {
			xw_error("%s:%u: name longer than %d bytes", file, line,
				 XIPFS_NAME_MAX);
			goto out;
		}
		in = xw_inode_new(t, fmt);
		if (!in || xw_dir_add(parent, leaf, strlen(leaf), in))
			goto out;
		/* No source mtime: the build time SOURCE_DATE_EPOCH names, else 0. */
		xw_tree_time(t, in, t->opt.have_clamp_time ? t->opt.clamp_time : 0, 0);
	}
	in->mode = fmt | (perm & 07777);
	in->uid = uid;
	in->gid = gid;
	if (type == 'c' || type == 'b')
		ret = xw_encode_dev(t, path, maj, min, &in->rdev);
	else
		ret = 0;
out:
	free(dup);
	return ret;
}

int xw_tree_apply_devtable(struct xw_tree *t, const char *file)
{
	FILE *f = fopen(file, "r");
	char *buf = NULL;
	size_t cap = 0;
	unsigned int line = 0;
	int ret = 0;

	if (!f) {
		xw_error("%s: %s", file, strerror(errno));
		return -1;
	}
	while (!ret && getline(&buf, &cap, f) >= 0) {
		char name[4097], type[2];
		char f_mode[32], f_uid[32], f_gid[32], f_maj[32], f_min[32];
		char f_start[32], f_inc[32], f_count[32];
		unsigned long mode, uid, gid, maj, min, start, inc, count;
		char *p = buf;
		int n;

		line++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		n = sscanf(p, "%4096s %1s %31s %31s %31s %31s %31s %31s %31s %31s",
			   name, type, f_mode, f_uid, f_gid, f_maj, f_min,
			   f_start, f_inc, f_count);
		{
			const char *bad = NULL, *why = "";

			if (n != 10)
				why = "10 fields";
			else if (name[0] != '/')
				bad = "name", why = "an absolute path";
			else if (!strchr("fdcbp", type[0]))
				bad = "type", why = "f, d, c, b or p";
			else if (num(f_mode, 8, &mode) || mode > 07777)
				bad = "mode", why = "octal, at most 7777";
			else if (num(f_uid, 10, &uid))
				bad = "uid", why = "a number below 2^32 or -";
			else if (num(f_gid, 10, &gid))
				bad = "gid", why = "a number below 2^32 or -";
			else if (num(f_maj, 10, &maj))
				bad = "major", why = "a number or -";
			else if (num(f_min, 10, &min))
				bad = "minor", why = "a number or -";
			else if (num(f_start, 10, &start))
				bad = "start", why = "a number or -";
			else if (num(f_inc, 10, &inc))
				bad = "inc", why = "a number or -";
			else if (num(f_count, 10, &count))
				bad = "count", why = "a number or -";
			if (n != 10) {
				xw_error("%s:%u: %d field%s, expected 10: \"/name type mode uid gid major minor start inc count\"",
					 file, line, n < 0 ? 0 : n, n == 1 ? "" : "s");
				ret = -1;
				break;
			}
			if (bad) {
				const char *val = !strcmp(bad, "name") ? name : !strcmp(bad, "type") ? type :
						  !strcmp(bad, "mode") ? f_mode : !strcmp(bad, "uid") ? f_uid :
						  !strcmp(bad, "gid") ? f_gid : !strcmp(bad, "major") ? f_maj :
						  !strcmp(bad, "minor") ? f_min : !strcmp(bad, "start") ? f_start :
						  !strcmp(bad, "inc") ? f_inc : f_count;

				xw_error("%s:%u: %s '%s': expected %s", file, line, bad, val, why);
				ret = -1;
				break;
			}
		}
		if (count && (type[0] == 'c' || type[0] == 'b')) {
			if (count > 65536) {
				xw_error("%s:%u: count too large", file, line);
				ret = -1;
				break;
			}
			for (unsigned long i = 0; !ret && i < count; i++) {
				char node[4200];

				snprintf(node, sizeof(node), "%s%lu", name, start + i);
				ret = add_node(t, file, line, node, type[0], mode, uid,
					       gid, maj, min + i * inc);
			}
		} else {
			ret = add_node(t, file, line, name, type[0], mode, uid,
				       gid, maj, min);
		}
	}
	free(buf);
	fclose(f);
	return ret;
}
