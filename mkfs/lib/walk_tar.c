// SPDX-License-Identifier: GPL-2.0
/*
 * Tar source (libarchive; any compression filter it knows).  The image
 * lays file data out in inode order, not archive order, so file data is
 * kept in an unlinked spool file until the writer reads it.  The spool
 * stays sparse where the archive says a file is.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xw_internal.h"

/* File data starts on 64 KiB boundaries in the spool, so holes stay holes. */
#define SPOOL_ALIGN	(64 * 1024ULL)

static int spool_open(struct xw_tree *t)
{
	char *tmpl;

	if (t->spool_fd >= 0)
		return 0;
	if (asprintf(&tmpl, "%s/.xipfs-spool.XXXXXX",
		     t->opt.spool_dir ? t->opt.spool_dir : ".") < 0) {
		xw_error("out of memory");
		return -1;
	}
	t->spool_fd = mkstemp(tmpl);
	if (t->spool_fd < 0) {
		xw_error("%s: cannot create a temporary file in %s: %s", xw_image_name,
			 t->opt.spool_dir ? t->opt.spool_dir : ".", strerror(errno));
		free(tmpl);
		return -1;
	}
	unlink(tmpl);
	free(tmpl);
	return 0;
}

/* Walk to the parent of path, creating missing directories. */
static struct xw_inode *make_parents(struct xw_tree *t, char *path,
				     const char **leaf)
{
	struct xw_inode *cur = t->root;
	char *p = path;

	for (;;) {
		char *e = strchr(p, '/');
		struct xw_dentry *d;
		struct xw_inode *in;

		if (!e) {
			*leaf = p;
			return cur;
		}
		d = xw_dir_find(cur, p, e - p);
		if (d) {
			if (!S_ISDIR(d->inode->mode)) {
				*e = 0;
				xw_error("%s: not a directory in the archive", path);
				return NULL;
			}
			cur = d->inode;
		} else {
			in = xw_inode_new(t, S_IFDIR | 0755);
			if (!in)
				return NULL;
			xw_tree_time(t, in, 0, 0);
			if (xw_dir_add(cur, p, e - p, in))
				return NULL;
			cur = in;
		}
		p = e + 1;
	}
}

/*
 * Canonical form: no leading "/" or "./", no empty or "." components,
 * no trailing "/".  ".." is refused.  Returns 0, or -1 with a message.
 */
static int normalize(const char *in, char *out)
{
	const char *orig = in;
	char *o = out;

	/* Deeper trees could not be walked by path on Linux anyway. */
	if (strlen(in) >= 4096) {
		xw_error("%.64s...: archive path longer than 4095 bytes", in);
		return -1;
	}

	while (*in) {
		const char *e = strchrnul(in, '/');
		size_t len = e - in;

		if (len == 0 || (len == 1 && in[0] == '.')) {
			/* skip */
		} else if (len == 2 && in[0] == '.' && in[1] == '.') {
			xw_error("%s: \"..\" in an archive path", orig);
			return -1;
		} else if (len > XIPFS_NAME_MAX) {
			xw_error("%.*s...: name longer than %d bytes", 64, in,
				 XIPFS_NAME_MAX);
			return -1;
		} else {
			if (o != out)
				*o++ = '/';
			memmove(o, in, len);
			o += len;
		}
		in = *e ? e + 1 : e;
	}
	*o = 0;
	return 0;
}

static int read_data(struct xw_tree *t, struct archive *a,
		     struct xw_inode *in, const char *path)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	if (spool_open(t))
		return -1;
	in->src = XW_SRC_SPOOL;
	in->spool_off = t->spool_end;
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		const char *p = buf;

		if (off < 0 || (uint64_t)off + len > in->size) {
			xw_error("%s: archive data beyond the file size", path);
			return -1;
		}
		while (len) {
			ssize_t n = pwrite(t->spool_fd, p, len, in->spool_off + off);

			if (n <= 0) {
				xw_error("%s: writing %s to a temporary file: %s", xw_image_name, path,
					 n < 0 ? strerror(errno) : "short write");
				return -1;
			}
			p += n;
			off += n;
			len -= n;
		}
	}
	if (r != ARCHIVE_EOF) {
		xw_error("%s: %s", path, archive_error_string(a));
		return -1;
	}
	t->spool_end = (in->spool_off + in->size + SPOOL_ALIGN - 1) & ~(SPOOL_ALIGN - 1);
	/* The last block of a file ending in a hole: make the size real. */
	if (ftruncate(t->spool_fd, t->spool_end) && errno != EINVAL) {
		xw_error("%s: temporary file: %s", xw_image_name, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The entry's extended attributes: libarchive decodes pax SCHILY.xattr.*
 * and LIBARCHIVE.xattr.* records (and GNU tar's) into these.
 */
static int add_xattrs(struct xw_tree *t, struct archive_entry *e,
		      struct xw_inode *in, const char *path)
{
	const char *name;
	const void *value;
	size_t len;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &len) == ARCHIVE_OK)
		if (xw_xattr_set(t, in, name, value, len, path, false))
			return -1;
	return 0;
}

/* A POSIX ACL entry as the posix_acl_xattr form has it. */
struct acl_ent {
	uint16_t tag, perm;
	uint32_t id;
};

static int cmp_acl(const void *a, const void *b)
{
	const struct acl_ent *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * An ACL of the entry (pax SCHILY.acl.access/default, which libarchive
 * decodes into entries, not attributes) as the attribute @name, in the
 * posix_acl_xattr form: version 2, then (tag, perm, id) entries in the
 * kernel's order (tag codes ascending, ids ascending).  With an access
 * ACL's mask, the mode's group bits are the mask, as on a file system
 * (libarchive put the owning group's entry there).
 */
static int add_acl(struct xw_tree *t, struct archive_entry *e, struct xw_inode *in,
		   const char *path, int type, const char *name)
{
	static const struct { int la; uint16_t tag; } tags[] = {
		{ ARCHIVE_ENTRY_ACL_USER_OBJ, 0x01 }, { ARCHIVE_ENTRY_ACL_USER, 0x02 },
		{ ARCHIVE_ENTRY_ACL_GROUP_OBJ, 0x04 }, { ARCHIVE_ENTRY_ACL_GROUP, 0x08 },
		{ ARCHIVE_ENTRY_ACL_MASK, 0x10 }, { ARCHIVE_ENTRY_ACL_OTHER, 0x20 },
	};
	int n = archive_entry_acl_reset(e, type), ty, perm, tag, qual, k = 0, ret;
	const char *qname;
	struct acl_ent *ent;
	uint8_t *val;

	/* An access ACL always counts the three entries the mode holds. */
	if (n <= (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS ? 3 : 0))
		return 0;
	ent = calloc(n, sizeof(*ent));
	val = malloc(4 + 8 * (size_t)n);
	if (!ent || !val) {
		free(ent);
		free(val);
		xw_error("out of memory");
		return -1;
	}
	while (k < n && archive_entry_acl_next(e, type, &ty, &perm, &tag, &qual,
					       &qname) == ARCHIVE_OK) {
		size_t i;

		for (i = 0; i < sizeof(tags) / sizeof(tags[0]) && tags[i].la != tag; i++)
			;
		if (i == sizeof(tags) / sizeof(tags[0]))
			continue;
		ent[k].tag = tags[i].tag;
		ent[k].perm = perm & 7;
		ent[k].id = tag == ARCHIVE_ENTRY_ACL_USER || tag == ARCHIVE_ENTRY_ACL_GROUP ?
			    (uint32_t)qual : 0xffffffffU;
		if (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS && tag == ARCHIVE_ENTRY_ACL_MASK)
			in->mode = (in->mode & ~(mode_t)070) | (mode_t)(ent[k].perm << 3);
		k++;
	}
	qsort(ent, k, sizeof(*ent), cmp_acl);
	val[0] = 2;
	val[1] = val[2] = val[3] = 0;
	for (int i = 0; i < k; i++) {
		uint8_t *p = val + 4 + 8 * i;

		p[0] = ent[i].tag;
		p[1] = ent[i].tag >> 8;
		p[2] = ent[i].perm;
		p[3] = 0;
		for (int b = 0; b < 4; b++)
			p[4 + b] = ent[i].id >> (8 * b);
	}
	ret = xw_xattr_set(t, in, name, val, 4 + 8 * (size_t)k, path, false);
	free(ent);
	free(val);
	return ret;
}

static int add_entry(struct xw_tree *t, struct archive *a,
		     struct archive_entry *e, char *path)
{
	mode_t mode = archive_entry_mode(e);
	const char *hl = archive_entry_hardlink(e);
	struct xw_inode *dir, *in;
	struct xw_dentry *old;
	const char *leaf;

	if (!*path) {
		/* The root itself ("./"). */
		if (!S_ISDIR(mode)) {
			xw_error("archive root is not a directory");
			return -1;
		}
		in = t->root;
		goto meta;
	}
	if (xw_excluded(t, path))
		return 0;
	dir = make_parents(t, path, &leaf);
	if (!dir)
		return -1;
	old = xw_dir_find(dir, leaf, strlen(leaf));
	if (hl) {
		char *tp = malloc(strlen(hl) + 1);

		if (!tp || normalize(hl, tp)) {
			if (!tp)
				xw_error("out of memory");
			free(tp);
			return -1;
		}
		in = xw_tree_lookup(t, tp);
		if (!in || S_ISDIR(in->mode)) {
			xw_error("%s: hard link to %s, which is %s", path, tp,
				 in ? "a directory" : "not in the archive before it");
			free(tp);
			return -1;
		}
		free(tp);
		return xw_dir_add(dir, leaf, strlen(leaf), in);
	}
	if (old && S_ISDIR(old->inode->mode) && S_ISDIR(mode)) {
		in = old->inode;	/* an implicit directory made explicit */
		goto meta;
	}
	if (old && S_ISDIR(old->inode->mode)) {
		xw_error("%s: a directory and a non-directory in the archive", path);
		return -1;
	}
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		break;
	default:
		xw_error("%s: unsupported file type 0%o in the archive", path,
			 mode & S_IFMT);
		return -1;
	}
	in = xw_inode_new(t, mode);
	if (!in || xw_dir_add(dir, leaf, strlen(leaf), in))
		return -1;
meta:
	in->mode = mode & (S_IFMT | 07777);
	if (add_xattrs(t, e, in, path) ||
	    add_acl(t, e, in, path, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, "system.posix_acl_access") ||
	    add_acl(t, e, in, path, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, "system.posix_acl_default"))
		return -1;
	in->uid = archive_entry_uid(e);
	in->gid = archive_entry_gid(e);
	xw_tree_time(t, in, archive_entry_mtime(e),
		     archive_entry_mtime_is_set(e) ? archive_entry_mtime_nsec(e) : 0);
	if (S_ISREG(mode)) {
		if (archive_entry_size(e) < 0) {
			xw_error("%s: bad size in the archive", path);
			return -1;
		}
		in->size = archive_entry_size(e);
		return read_data(t, a, in, path);
	}
	if (S_ISLNK(mode)) {
		const char *target = archive_entry_symlink(e);
		size_t len = target ? strlen(target) : 0;

		if (!len || len > (1U << t->opt.page_shift) || len >= 4096) {
			xw_error("%s: symlink target %s", path,
				 len ? "too long" : "missing");
			return -1;
		}
		in->target = strdup(target);
		if (!in->target) {
			xw_error("out of memory");
			return -1;
		}
		in->size = len;
	}
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return xw_encode_dev(t, path, archive_entry_rdevmajor(e),
				     archive_entry_rdevminor(e), &in->rdev);
	return 0;
}

int xw_tree_add_tar(struct xw_tree *t, const char *tarfile)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	const char *name = strcmp(tarfile, "-") ? tarfile : NULL;
	int r, ret = 0;

	if (!a) {
		xw_error("out of memory");
		return -1;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_filename(a, name, 64 * 1024) != ARCHIVE_OK) {
		xw_error("%s: %s", tarfile, archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		const char *p = archive_entry_pathname(e);
		char *path;

		if (!p) {
			xw_error("%s: an entry without a name", tarfile);
			ret = -1;
			break;
		}
		path = malloc(strlen(p) + 1);
		if (!path) {
			xw_error("out of memory");
			ret = -1;
			break;
		}
		ret = normalize(p, path) || add_entry(t, a, e, path) ? -1 : 0;
		free(path);
		if (ret)
			break;
	}
	if (!ret && r != ARCHIVE_EOF) {
		xw_error("%s: %s", tarfile, archive_error_string(a));
		ret = -1;
	}
	archive_read_free(a);
	if (!ret)
		xw_tree_warn_excludes(t);
	return ret;
}
