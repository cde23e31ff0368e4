/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The writer half of the image library: build an in-memory tree from a
 * directory or a tar archive, adjust it (device table, ownership), then
 * write a reproducible image.  mkfs.xipfs is a thin front end over this.
 */
#ifndef XIPFS_WRITER_H
#define XIPFS_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "compress.h"

struct xw_tree;

/*
 * --xip: a sequence of items, applied in order (xipfs.rst, "Choosing XIP
 * pages").  none, all and elf start over from that policy's set; list
 * pins pages XIP, profile makes them candidates with a value, unlist
 * (and "-PATH" lines in any file) makes them compressed.  No items: elf.
 * Items but no none/all/elf: they apply to none.  Without a flash budget
 * every candidate is XIP; with one, the best candidates that fit.
 */
enum xw_xip_policy {
	XW_XIP_NONE,		/* every page compressed */
	XW_XIP_ALL,		/* every page of every regular file XIP */
	XW_XIP_ELF,		/* read-only / executable PT_LOAD pages of ELF files */
	XW_XIP_LIST,		/* the paths (and page ranges) of a list file */
	XW_XIP_PROFILE,		/* candidates, with values, from a path profile */
	XW_XIP_UNLIST,		/* the pages of a list file compressed */
};

struct xw_xip_item {
	enum xw_xip_policy kind;
	const char *file;	/* LIST, PROFILE, UNLIST */
};

/*
 * Page map form (i_data's group shift, see "Grouped page maps"; the
 * inode's EXTENT_MAP flag, see "Extent maps").
 */
enum xw_maps {
	XW_MAPS_AUTO,		/* compact, but flat with free space (rw images) */
	XW_MAPS_FLAT,		/* one entry per page: G = 0 */
	XW_MAPS_GROUPED,	/* each file's largest G its pages allow */
	XW_MAPS_COMPACT,	/* each file's smallest: flat, grouped or extents */
	XW_MAPS_EXTENTS,	/* an extent map for every file with pages */
};

/* Inode form (see the inode table in the format header). */
enum xw_inodes {
	XW_INODES_AUTO,		/* compact where they fit, but not with free space */
	XW_INODES_FULL,		/* every inode extended: read-write mountable */
	XW_INODES_COMPACT,	/* compact where they fit */
};

/* Whole-file dedupe (RO_COMPAT_SHARED_DATA: such an image mounts read-only). */
enum xw_dedupe {
	XW_DEDUPE_AUTO,		/* on, but off with free space (rw images) */
	XW_DEDUPE_OFF,
	XW_DEDUPE_ON,
};

/* Cluster table form (see "Compact cluster table" in the format header). */
enum xw_cltable {
	XW_CLTABLE_AUTO,	/* compact when it is smaller than the 8-byte table */
	XW_CLTABLE_COMPACT,	/* compact (INCOMPAT_COMPACT_CLUSTERS) when there are clusters */
	XW_CLTABLE_FULL,	/* 8-byte descriptors */
};

struct xw_options {
	unsigned int page_shift;	/* 12..16 */
	unsigned int cluster_shift;	/* page_shift..18 */
	const struct xipfs_compressor *comp;
	int level;
	const struct xw_xip_item *xip;	/* --xip items in order; none: elf */
	unsigned int nxip;
	/*
	 * --flash-size: the image (free space included) is at most this many
	 * bytes, made so by choosing which candidate pages are XIP; 0: no
	 * budget, every candidate is XIP.
	 */
	uint64_t flash_size;
	/* --size: the image (free space included) is at most this many bytes. */
	uint64_t size_limit;
	uint64_t free_space;		/* bytes for rw mounts; 0: none */
	char label[17];
	int64_t build_time;
	uint32_t build_time_nsec;
	int workers;			/* compression threads */
	int verbose;			/* 0, 1 (-v) */
	bool quiet;
	bool progress;			/* progress line on stderr */
	/*
	 * Pack small files and the last partial cluster of larger files
	 * (any run of compressed pages shorter than a cluster) into shared
	 * clusters (INCOMPAT_SHARED_CLUSTERS).
	 */
	bool fragments;
	bool frag_span;			/* a piece may continue in the next one */
	enum xw_maps maps;
	enum xw_inodes inodes;
	enum xw_dedupe dedupe;
	enum xw_cltable cltable;
	/* Data checksums (RO_COMPAT_DATA_CSUM: the image mounts read-only). */
	bool checksums;
};

struct xw_stats {
	uint64_t inodes, files, dirs, symlinks, specials, hardlinks;
	uint64_t data_pages, xip_pages, comp_pages, hole_pages, tail_pages;
	uint64_t clusters, stored_clusters;
	uint64_t shared_clusters, frag_pieces, frag_dups, frag_pages;
	uint64_t comp_in, comp_out;	/* bytes into and out of the compressor */
	uint64_t map_bytes;		/* page maps, capacity included */
	uint64_t grouped_files;		/* files with a grouped map (G > 0) */
	uint64_t extent_files, extents;	/* files with an extent map, their extents */
	uint64_t compact_inodes;	/* of inodes (the others are extended) */
	uint64_t dedup_files, dedup_bytes;	/* files sharing an identical one's data */
	/* extended attributes: inodes with some, attributes, shared entries */
	uint64_t xattr_inodes, xattrs, xattr_shared, xattr_bytes;
	uint64_t meta_size, image_size;
	uint64_t csum_bytes;		/* the data checksum table */
	/* The cluster table's bytes; compact: its exception words (else 0) */
	uint64_t cltable_bytes, ct_exceptions;
	bool ct_compact;
	/* With flash_size: what the budget chose (writer.c, xipset.c). */
	uint64_t cand_pages, chosen_pages;	/* candidates, and those made XIP */
	uint64_t pinned_pages;			/* XIP whatever the budget (list:) */
	uint64_t prof_pages, prof_chosen;	/* candidates a profile names */
	uint64_t floor_size;			/* every candidate compressed */
	unsigned int builds;			/* trial layouts computed */
};

/* Which extended attributes of the source mkfs stores (--xattrs). */
enum xw_xattrs {
	XW_XATTRS_ALL,			/* every one the format has a prefix for */
	XW_XATTRS_USER,			/* user.* only */
	XW_XATTRS_NONE,
};

/* Source timestamps policy, applied while the tree is built. */
struct xw_tree_options {
	bool have_fixed_time;		/* -T: every inode's mtime = fixed_time */
	bool have_clamp_time;		/* SOURCE_DATE_EPOCH: clamp to clamp_time */
	int64_t fixed_time, clamp_time;
	const char *const *excludes;	/* NULL-terminated globs, or NULL */
	const char *spool_dir;		/* where --tar keeps file data */
	unsigned int page_shift;	/* symlink target limit */
	/*
	 * The existing image, left out of a SOURCE directory that holds it,
	 * and its directory, whose .xipfs-image.XXXXXX files (the temporary
	 * image of a run killed before it could remove it) are left out too.
	 */
	bool have_image_id, have_image_dir;
	dev_t image_dev, image_dir_dev;
	ino_t image_ino, image_dir_ino;
	bool quiet;			/* no notes (leaving the image out) */
	bool one_file_system;		/* don't descend into other file systems */
	enum xw_xattrs xattrs;
};

struct xw_tree *xw_tree_new(const struct xw_tree_options *opt);
void xw_tree_free(struct xw_tree *t);
/* Sources.  Return 0, or -1 after printing why. */
int xw_tree_add_dir(struct xw_tree *t, const char *dir);
/* Warn about each --exclude pattern that matched nothing. */
void xw_tree_warn_excludes(const struct xw_tree *t);
int xw_tree_add_tar(struct xw_tree *t, const char *tarfile /* "-": stdin */);
int xw_tree_apply_devtable(struct xw_tree *t, const char *file);
/*
 * --file-contexts: label every inode's security.selinux from an SELinux
 * file_contexts file (writer_xattr.c has the subset understood).  0 or -1.
 */
int xw_tree_apply_file_contexts(struct xw_tree *t, const char *file);
/* Ownership overrides; -1 leaves the field alone. */
void xw_tree_set_owner(struct xw_tree *t, int64_t uid, int64_t gid);
/* The newest mtime in the tree (the default build time). */
int64_t xw_tree_newest_mtime(const struct xw_tree *t, uint32_t *nsec);

/*
 * Where the image goes, checked before the source is read (writer.c):
 * IMAGE's symlinks are followed; an existing regular file is replaced by
 * a new file renamed over it once complete (owner and mode kept), a
 * device is opened (a block device exclusively) and its size read, and
 * /dev/null makes a dry run.  NULL after a message.
 */
struct xw_output;
struct xw_output *xw_output_open(const char *image, bool quiet);
void xw_output_free(struct xw_output *out);
/* An existing regular IMAGE's identity, to leave it out of SOURCE. */
bool xw_output_file_id(const struct xw_output *out, dev_t *dev, ino_t *ino);
bool xw_output_dir_id(const struct xw_output *out, dev_t *dev, ino_t *ino);
/* Where scratch files (and --tar's spool) go: $TMPDIR, else by IMAGE. */
const char *xw_output_scratch_dir(const struct xw_output *out);
bool xw_output_dry(const struct xw_output *out);

/*
 * Write the image: to a regular file atomically (temp file + rename), to
 * a device in place; every size limit (--size, --flash-size, the device)
 * is checked before the first write.  0 or -1.
 */
int xw_write_image_to(struct xw_tree *t, const struct xw_options *opt,
		      struct xw_output *out, struct xw_stats *st);
int xw_write_image(struct xw_tree *t, const struct xw_options *opt,
		   const char *image, struct xw_stats *st);

/*
 * Catch SIGINT, SIGTERM and SIGHUP: remove the half-written image (the
 * temporary file) and die of the signal.
 */
void xw_catch_signals(void);

/*
 * XIP page ranges of an ELF file, from its program headers: pages of
 * PT_LOAD segments that are executable or not writable.  rd reads len
 * bytes at off (0 or -1).  Returns the number of ranges stored in
 * r[0..max) as [first, last] page pairs, 0 if not an ELF file (or none),
 * -1 on a read error.
 */
struct xw_range { uint64_t first, last; };
typedef int (*xw_reader)(void *ctx, void *buf, size_t len, uint64_t off);
int xw_elf_xip_ranges(xw_reader rd, void *ctx, uint64_t size,
		      unsigned int page_shift, struct xw_range *r, int max);
/* The same; with exec_only, only the executable segments' pages. */
int xw_elf_ranges(xw_reader rd, void *ctx, uint64_t size, unsigned int page_shift,
		  struct xw_range *r, int max, bool exec_only);

void xw_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern const char *xw_progname;
/* IMAGE as given, for messages about writing it and its temporary files. */
extern const char *xw_image_name;

#endif
