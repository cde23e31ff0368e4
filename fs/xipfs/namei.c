// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: lookup, a binary search in the directory block's sorted entries.
 */
#include "internal.h"

/* Bytewise order, a shorter name first when it is a prefix: as mkfs sorts. */
static int xipfs_namecmp(const u8 *a, unsigned int alen, const u8 *b,
			 unsigned int blen)
{
	int c = memcmp(a, b, min(alen, blen));

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static struct dentry *xipfs_lookup(struct inode *dir, struct dentry *dentry,
				   unsigned int flags)
{
	const struct xipfs_dir_header *dh;
	struct inode *inode = NULL;
	u32 lo = 0, hi;

	if (dentry->d_name.len > XIPFS_NAME_MAX)
		return ERR_PTR(-ENAMETOOLONG);

	dh = xipfs_meta(XIPFS_SB(dir->i_sb), XIPFS_I(dir)->data, sizeof(*dh));
	hi = le32_to_cpu(dh->d_count);
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		const struct xipfs_dirent *de;
		const u8 *name;
		int err, c;

		err = xipfs_dir_entry(dir, mid, &de, &name);
		if (err)
			return ERR_PTR(err);
		c = xipfs_namecmp(dentry->d_name.name, dentry->d_name.len,
				  name, de->d_name_len);
		if (!c) {
			inode = xipfs_iget(dir->i_sb, le32_to_cpu(de->d_ino));
			break;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return d_splice_alias(inode, dentry);
}

/*
 * The namespace of a read-write mount is fixed for now: these fail with
 * EOPNOTSUPP (not EROFS: the files themselves can be written) and say so.
 */
static int xipfs_no_dirop(struct inode *dir, const char *op)
{
	if (sb_rdonly(dir->i_sb))
		return -EROFS;
	pr_warn_ratelimited("xipfs (%s): %s: not supported yet: only existing files can be written\n",
			    dir->i_sb->s_id, op);
	return -EOPNOTSUPP;
}

static int xipfs_create(XIPFS_CREATE_PARAMS(idmap, dir, dentry, mode))
{
	return xipfs_no_dirop(dir, "create");
}

static XIPFS_MKDIR_RET xipfs_mkdir(struct xipfs_idmap *idmap,
				   struct inode *dir, struct dentry *dentry,
				   umode_t mode)
{
	return XIPFS_MKDIR_ERR(xipfs_no_dirop(dir, "mkdir"));
}

static int xipfs_mknod(struct xipfs_idmap *idmap, struct inode *dir,
		       struct dentry *dentry, umode_t mode, dev_t rdev)
{
	return xipfs_no_dirop(dir, "mknod");
}

static int xipfs_symlink(struct xipfs_idmap *idmap, struct inode *dir,
			 struct dentry *dentry, const char *target)
{
	return xipfs_no_dirop(dir, "symlink");
}

static int xipfs_link(struct dentry *old, struct inode *dir,
		      struct dentry *dentry)
{
	return xipfs_no_dirop(dir, "link");
}

static int xipfs_unlink(struct inode *dir, struct dentry *dentry)
{
	return xipfs_no_dirop(dir, "unlink");
}

static int xipfs_rmdir(struct inode *dir, struct dentry *dentry)
{
	return xipfs_no_dirop(dir, "rmdir");
}

static int xipfs_rename(struct xipfs_idmap *idmap, struct inode *old_dir,
			struct dentry *old_dentry, struct inode *new_dir,
			struct dentry *new_dentry, unsigned int flags)
{
	return xipfs_no_dirop(old_dir, "rename");
}

const struct inode_operations xipfs_dir_iops = {
	.lookup		= xipfs_lookup,
	.create		= xipfs_create,
	.mkdir		= xipfs_mkdir,
	.mknod		= xipfs_mknod,
	.symlink	= xipfs_symlink,
	.link		= xipfs_link,
	.unlink		= xipfs_unlink,
	.rmdir		= xipfs_rmdir,
	.rename		= xipfs_rename,
	.setattr	= xipfs_setattr,
	.listxattr	= xipfs_listxattr,
	XIPFS_IOP_GET_ACL
};
