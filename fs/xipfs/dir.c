// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: directory blocks and readdir.  A block is read in place; each
 * entry and its name are checked against the block before use.
 */
#include "internal.h"

/*
 * Entry @i of directory @dir, with its name; -EFSCORRUPTED when the entry
 * or its name falls outside the block (the block itself is inside the
 * metadata, and d_count fits it: both checked when the inode was read).
 */
int xipfs_dir_entry(struct inode *dir, u32 i, const struct xipfs_dirent **de,
		    const u8 **name)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(dir->i_sb);
	u64 block = XIPFS_I(dir)->data, size = dir->i_size;
	const struct xipfs_dirent *d;
	u32 off, len;

	d = xipfs_meta(sbi, block + XIPFS_DIR_HEADER_SIZE +
		       (u64)i * XIPFS_DIRENT_SIZE, XIPFS_DIRENT_SIZE);
	if (!d)
		return -EFSCORRUPTED;
	off = le32_to_cpu(d->d_name_off);
	len = d->d_name_len;
	if (!len || off > size || len > size - off) {
		xipfs_corrupt(dir->i_sb, "directory %llu: entry %u: name out of the block",
			      xipfs_ino(dir), i);
		return -EFSCORRUPTED;
	}
	*name = xipfs_meta(sbi, block + off, len);
	if (!*name)
		return -EFSCORRUPTED;
	/*
	 * A name readdir may not return: "." or ".." would send a tree
	 * walker round in circles; '/' and NUL cannot be in a name.
	 */
	if ((len <= 2 && !memcmp(*name, "..", len)) ||
	    memchr(*name, '/', len) || memchr(*name, 0, len)) {
		xipfs_corrupt(dir->i_sb, "directory %llu: entry %u: invalid name",
			      xipfs_ino(dir), i);
		return -EFSCORRUPTED;
	}
	*de = d;
	return 0;
}

static int xipfs_readdir(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	const struct xipfs_dir_header *dh;
	u32 count;

	/* In the metadata, with d_count entries fitting the block: iget. */
	dh = xipfs_meta(XIPFS_SB(dir->i_sb), XIPFS_I(dir)->data, sizeof(*dh));
	count = le32_to_cpu(dh->d_count);
	if (ctx->pos == 0) {
		if (!dir_emit_dot(file, ctx))
			return 0;
		ctx->pos = 1;
	}
	if (ctx->pos == 1) {
		/* ".." is not stored as an entry: the header names it. */
		if (!dir_emit(ctx, "..", 2, le32_to_cpu(dh->d_parent), DT_DIR))
			return 0;
		ctx->pos = 2;
	}
	/* Position n >= 2 is entry n - 2: stable for telldir/seekdir. */
	while (ctx->pos - 2 < count) {
		const struct xipfs_dirent *de;
		const u8 *name;
		u32 ino;
		int err;

		err = xipfs_dir_entry(dir, ctx->pos - 2, &de, &name);
		if (err)
			return err;
		ino = le32_to_cpu(de->d_ino);
		if (!ino || ino >= XIPFS_SB(dir->i_sb)->inode_count) {
			xipfs_corrupt(dir->i_sb, "directory %llu: entry %lld: bad inode %u",
				      xipfs_ino(dir), ctx->pos - 2, ino);
			return -EFSCORRUPTED;
		}
		if (!dir_emit(ctx, name, de->d_name_len, ino,
			      de->d_type < 16 ? de->d_type : DT_UNKNOWN))
			return 0;
		ctx->pos++;
	}
	return 0;
}

const struct file_operations xipfs_dir_fops = {
	.llseek		= generic_file_llseek,
	.read		= generic_read_dir,
	.iterate_shared	= xipfs_readdir,
};
