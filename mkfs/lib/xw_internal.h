/* SPDX-License-Identifier: GPL-2.0 */
/* The writer's in-memory tree, shared by the writer's source files. */
#ifndef XIPFS_XW_INTERNAL_H
#define XIPFS_XW_INTERNAL_H

#include <sys/stat.h>

#include "xipfs_writer.h"

struct xw_inode;

struct xw_dentry {
	char *name;			/* not NUL-terminated in the image */
	size_t len;
	struct xw_inode *inode;
};

enum xw_src { XW_SRC_NONE, XW_SRC_PATH, XW_SRC_SPOOL };

/* An extended attribute (writer_xattr.c). */
struct xw_xattr {
	uint8_t prefix;			/* enum xipfs_xattr_prefix */
	uint8_t name_len;
	uint16_t value_len;
	char *name;			/* after the prefix */
	uint8_t *value;
	int64_t shared;			/* shared table index, or -1 */
};

/* An inode's attribute body, built before it is placed. */
struct xw_xbody {
	struct xw_xbody *first;		/* the equal body placed: this one or an earlier */
	uint64_t off;			/* i_xattr, if first == this */
	uint32_t len;
	uint32_t ino_idx;		/* its inode's place in tree->inodes */
	unsigned char buf[];
};

struct xw_inode {
	struct xw_tree *tree;
	mode_t mode;
	uint32_t uid, gid, nlink, ino;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint64_t size;			/* REG: bytes; LNK: target length */
	uint32_t rdev;			/* new_encode_dev() form */
	char *target;			/* LNK */
	struct xw_inode *parent;	/* DIR */
	struct xw_dentry *kids;		/* DIR: sorted before numbering */
	size_t nkids, kids_cap;
	char *path;			/* first path in the image, for messages */

	/* REG data source */
	enum xw_src src;
	char *src_path;			/* XW_SRC_PATH */
	dev_t src_dev;
	ino_t src_ino;
	struct timespec src_mtime;	/* to notice a file changed while read */
	uint64_t spool_off;		/* XW_SRC_SPOOL */

	/* REG, filled by the writer */
	uint64_t *map;
	uint64_t npages;
	struct xw_range *xip;		/* XIP page ranges */
	int nxip;
	/*
	 * Per page, while --xip items are resolved (xipset.c): XW_XS_* state
	 * in bits 0-1, the page's value class above; NULL: all off.
	 */
	uint8_t *xs;
	uint64_t data_off;		/* i_data once laid out (without G) */
	unsigned int map_shift;		/* G: one map entry per 2^G pages */
	bool end_run;			/* with G: pages from run_start on */
	uint64_t run_start;		/* derive from map[run_start] */
	bool extent_map;		/* an extent map (G = 0), of nextents */
	uint64_t nextents;
	bool extended;			/* a 64-byte inode (two slots) */
	struct xw_xattr *xattrs;	/* sorted by (prefix, name) once laid out */
	size_t nxattrs;
	uint64_t xattr_off;		/* i_xattr once laid out */
	/*
	 * Dedupe (dedupe.c): an earlier file with the same bytes, whose data
	 * (page map entries) this one shares; NULL: none.
	 */
	struct xw_inode *dup;
};

struct xw_tree {
	struct xw_tree_options opt;
	struct xw_inode *root;
	/*
	 * In numbering order once numbered; [0] unused.  Inode numbers are
	 * table slots (writer.c), so inodes[i]->ino >= i.
	 */
	struct xw_inode **inodes;
	uint32_t ninodes;		/* including [0] */
	uint32_t nslots;		/* inode table slots, including slot 0 */
	int spool_fd;
	uint64_t spool_end;
	void *hardlinks;		/* tsearch tree for (dev, ino) */
	struct xw_inode **all;		/* every inode, for freeing */
	size_t nall, all_cap;
	/*
	 * (directory, name) -> entry index, so that building big
	 * directories is not quadratic.  Once numbering has sorted the
	 * entries, lookups bisect instead.
	 */
	struct xw_hent { struct xw_inode *dir; size_t idx; } *ht;
	size_t ht_cap, ht_n;
	bool sorted;
	dev_t root_dev;			/* --one-file-system: SOURCE's device */
	uint64_t *excl_hits;		/* per --exclude pattern */
	/* attributes the format cannot store, warned about */
	uint64_t xattr_skipped;
	/* the shared attribute table, once laid out (writer_xattr.c) */
	struct xw_xattr **xshared;
	uint32_t nxshared, xshared_size;
	uint64_t xshared_off;
	struct xw_xbody **xbodies;	/* in inode order */
	size_t nxbodies;
};

struct xw_inode *xw_inode_new(struct xw_tree *t, mode_t mode);
/* Add name to dir; replaces an existing entry of that name. */
int xw_dir_add(struct xw_inode *dir, const char *name, size_t len,
	       struct xw_inode *child);
struct xw_dentry *xw_dir_find(struct xw_inode *dir, const char *name, size_t len);
/* Look a path (relative to the root, '/'-separated) up; NULL if absent. */
struct xw_inode *xw_tree_lookup(struct xw_tree *t, const char *path);
/* Apply the tree's time policy to a source mtime. */
void xw_tree_time(const struct xw_tree *t, struct xw_inode *in,
		  int64_t sec, uint32_t nsec);
bool xw_excluded(const struct xw_tree *t, const char *relpath);
int xw_encode_dev(struct xw_tree *t, const char *path, unsigned int major,
		  unsigned int minor, uint32_t *out);
/* Sort directories, number inodes breadth-first, fill paths. */
int xw_tree_number(struct xw_tree *t);
int xw_pread_full(int fd, const char *path, void *buf, size_t len, uint64_t off);
int xw_pwrite_full(int fd, const char *what, const void *buf, size_t len,
		   uint64_t off);
int xw_name_cmp(const char *a, size_t al, const char *b, size_t bl);
/*
 * Whole-file dedupe: point in->dup of every regular file whose bytes are
 * those of an earlier one (inode order) at the first such file.  0 or -1.
 */
int xw_dedupe_find(struct xw_tree *t);

/*
 * Give @in the attribute @name (full, "user.foo"), replacing one of that
 * name, subject to the tree's --xattrs policy unless @force.  A name no
 * prefix of the format covers is skipped with a warning; a value longer
 * than 65535 bytes is an error (it cannot be stored faithfully).  @path
 * is for messages.  0 or -1.
 */
int xw_xattr_set(struct xw_tree *t, struct xw_inode *in, const char *name,
		 const void *value, size_t len, const char *path, bool force);
/* Read a source file's attributes (lllistxattr/lgetxattr).  0 or -1. */
int xw_xattr_read_path(struct xw_tree *t, struct xw_inode *in, const char *path);
void xw_xattr_free(struct xw_inode *in);
/*
 * Lay out the shared table and every inode's body from metadata offset
 * @pos (4-byte aligned); returns the end.  xw_xattr_emit() writes them
 * into the metadata buffer @m that starts at image offset @meta_off.
 */
uint64_t xw_xattr_layout(struct xw_tree *t, uint64_t pos);
void xw_xattr_emit(const struct xw_tree *t, unsigned char *m, uint64_t meta_off);

#endif
