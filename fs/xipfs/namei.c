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

const struct inode_operations xipfs_dir_iops = {
	.lookup		= xipfs_lookup,
};
