// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipfs: reading an inode from the inode table.  Every field that later
 * code trusts (sizes, offsets, map capacity) is checked here once.
 */
#include <linux/slab.h>
#include "internal.h"

void xipfs_inode_once(void *ptr)
{
	struct xipfs_inode_info *xi = ptr;

	inode_init_once(&xi->vfs_inode);
	init_rwsem(&xi->map_sem);
	spin_lock_init(&xi->size_lock);
}

static const struct inode_operations xipfs_file_iops = {
	.setattr	= xipfs_setattr,
	.listxattr	= xipfs_listxattr,
	XIPFS_IOP_GET_ACL
};

static const struct inode_operations xipfs_symlink_iops = {
	.get_link	= simple_get_link,
	.setattr	= xipfs_setattr,
	.listxattr	= xipfs_listxattr,
};

static const struct inode_operations xipfs_special_iops = {
	.setattr	= xipfs_setattr,
	.listxattr	= xipfs_listxattr,
	XIPFS_IOP_GET_ACL
};

/* Check the type-specific fields of @di; 0 or -EFSCORRUPTED. */
static int xipfs_check_inode(struct super_block *sb, u64 ino,
			     const struct xipfs_inode *di, umode_t mode,
			     struct xipfs_map_form *form)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	u64 size = le64_to_cpu(di->i_size), data = le64_to_cpu(di->i_data);
	u32 cap = le32_to_cpu(di->i_map_cap);
	const struct xipfs_dir_header *dh;

	if (le32_to_cpu(di->i_mtime_nsec) >= NSEC_PER_SEC) {
		xipfs_corrupt(sb, "inode %llu: bad mtime nanoseconds", ino);
		return -EFSCORRUPTED;
	}
	if ((le16_to_cpu(di->i_flags) & XIPFS_INODE_MAP_FLAGS) && !S_ISREG(mode)) {
		xipfs_corrupt(sb, "inode %llu: page map flag on a non-regular file", ino);
		return -EFSCORRUPTED;
	}
	switch (mode & S_IFMT) {
	case S_IFREG:
		/* The page map must cover i_size and sit where a map may be. */
		if (size > (u64)cap << PAGE_SHIFT ||
		    !xipfs_map_ok(sbi, data, cap, le16_to_cpu(di->i_flags), form)) {
			xipfs_corrupt(sb, "inode %llu: bad page map (%u entries at %llu, size %llu)",
				      ino, cap, data, size);
			return -EFSCORRUPTED;
		}
		return 0;
	case S_IFDIR:
		if ((data & 7) || size < XIPFS_DIR_HEADER_SIZE ||
		    size > U32_MAX || !xipfs_meta(sbi, data, size)) {
			xipfs_corrupt(sb, "inode %llu: bad directory block (%llu bytes at %llu)",
				      ino, size, data);
			return -EFSCORRUPTED;
		}
		dh = xipfs_meta(sbi, data, sizeof(*dh));
		if ((u64)le32_to_cpu(dh->d_count) * XIPFS_DIRENT_SIZE >
		    size - XIPFS_DIR_HEADER_SIZE ||
		    !le32_to_cpu(dh->d_parent) ||
		    le32_to_cpu(dh->d_parent) >= sbi->inode_count) {
			xipfs_corrupt(sb, "inode %llu: bad directory header", ino);
			return -EFSCORRUPTED;
		}
		return 0;
	case S_IFLNK:
		if (!size || size >= PATH_MAX || !xipfs_meta(sbi, data, size)) {
			xipfs_corrupt(sb, "inode %llu: bad symlink (%llu bytes at %llu)",
				      ino, size, data);
			return -EFSCORRUPTED;
		}
		return 0;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return 0;
	}
	xipfs_corrupt(sb, "inode %llu: bad mode 0%o", ino, mode);
	return -EFSCORRUPTED;
}

/*
 * Read inode @ino from the inode table into @di, in the extended form
 * whatever its form on the medium, so that what is checked is what is
 * used and the rest of the driver knows one layout.  Returns the slots it
 * fills (1 compact, 2 extended), or -EFSCORRUPTED.
 */
int xipfs_read_inode(struct super_block *sb, u64 ino, struct xipfs_inode *di)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	const struct xipfs_inode_compact *p;
	struct xipfs_inode_compact ci;
	u16 flags;

	if (!ino || ino >= sbi->inode_count)
		goto bad;
	/*
	 * Without compact inodes every inode fills two slots from slot 1:
	 * an even number would name the second half of one, which a
	 * read-write mount would then store into.
	 */
	if (!(sbi->feature_incompat & XIPFS_FEATURE_INCOMPAT_COMPACT_INODES) &&
	    !(ino & 1))
		goto bad;
	p = xipfs_meta(sbi, sbi->inode_off + ino * XIPFS_INODE_SLOT,
		       XIPFS_INODE_SLOT);
	if (!p)
		goto bad;
	flags = le16_to_cpu(READ_ONCE(p->i_flags));
	if (flags & ~XIPFS_INODE_FLAG_ALL)
		goto bad;
	if (flags & XIPFS_INODE_EXTENDED) {
		/* Both slots in the table (and so in the metadata). */
		if (ino + 1 >= sbi->inode_count)
			goto bad;
		p = xipfs_meta(sbi, sbi->inode_off + ino * XIPFS_INODE_SLOT,
			       XIPFS_INODE_SIZE);
		if (!p)
			goto bad;
		memcpy(di, p, sizeof(*di));
		/* Checked again on the copy: the medium may change under us. */
		if ((le16_to_cpu(di->i_flags) & ~XIPFS_INODE_MAP_FLAGS) !=
		    XIPFS_INODE_EXTENDED)
			goto bad;
		return 2;
	}
	/* An image without the feature bit promised extended inodes only. */
	if (!(sbi->feature_incompat & XIPFS_FEATURE_INCOMPAT_COMPACT_INODES)) {
		xipfs_corrupt(sb, "inode %llu: compact inode in an image without compact inodes",
			      ino);
		return -EFSCORRUPTED;
	}
	memcpy(&ci, p, sizeof(ci));
	if ((le16_to_cpu(ci.i_flags) & ~XIPFS_INODE_MAP_FLAGS) || ci.i_reserved)
		goto bad;
	memset(di, 0, sizeof(*di));
	di->i_mode = ci.i_mode;
	di->i_flags = ci.i_flags;
	di->i_nlink = cpu_to_le32(le16_to_cpu(ci.i_nlink));
	di->i_uid = cpu_to_le32(le16_to_cpu(ci.i_uid));
	di->i_gid = cpu_to_le32(le16_to_cpu(ci.i_gid));
	di->i_size = cpu_to_le64(le32_to_cpu(ci.i_size));
	/* Unsigned seconds: a compact inode reaches 2106, not before 1970. */
	di->i_mtime = cpu_to_le64(le32_to_cpu(ci.i_mtime));
	di->i_data = ci.i_data;
	/* i_map_cap is the device number of a device inode. */
	switch (le16_to_cpu(ci.i_mode) & S_IFMT) {
	case S_IFCHR:
	case S_IFBLK:
		di->i_rdev = ci.i_map_cap;
		break;
	default:
		di->i_map_cap = ci.i_map_cap;
		break;
	}
	return 1;
bad:
	xipfs_corrupt(sb, "inode %llu: bad inode table slot", ino);
	return -EFSCORRUPTED;
}

static int xipfs_fill_inode(struct inode *inode)
{
	struct super_block *sb = inode->i_sb;
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct xipfs_inode_info *xi = XIPFS_I(inode);
	struct xipfs_inode di;
	struct timespec64 ts;
	umode_t mode;
	int err;

	err = xipfs_read_inode(sb, inode->i_ino, &di);
	if (err < 0)
		return err;
	mode = le16_to_cpu(di.i_mode);
	err = xipfs_check_inode(sb, inode->i_ino, &di, mode, &xi->form);
	if (err)
		return err;

	inode->i_mode = mode;
	set_nlink(inode, le32_to_cpu(di.i_nlink));
	i_uid_write(inode, le32_to_cpu(di.i_uid));
	i_gid_write(inode, le32_to_cpu(di.i_gid));
	ts.tv_sec = le64_to_cpu(di.i_mtime);
	ts.tv_nsec = le32_to_cpu(di.i_mtime_nsec);
	xipfs_inode_set_times(inode, ts);
	xi->data = le64_to_cpu(di.i_data);
	if (S_ISREG(mode)) {
		xi->map_shift = XIPFS_MAP_SHIFT(xi->data);
		xi->data = XIPFS_MAP_OFF(xi->data);
	}
	xi->map_cap = le32_to_cpu(di.i_map_cap);
	/* Without the feature bit i_xattr means nothing (as to older drivers). */
	xi->xattr = sbi->xattrs ? le64_to_cpu(di.i_xattr) : 0;
	inode->i_size = le64_to_cpu(di.i_size);
	xi->disk_size = inode->i_size;
	inode->i_blocks = round_up(inode->i_size, PAGE_SIZE) >> 9;

	switch (mode & S_IFMT) {
	case S_IFREG:
		inode->i_op = &xipfs_file_iops;
		inode->i_fop = &xipfs_file_fops;
		inode->i_mapping->a_ops = &xipfs_aops;
		break;
	case S_IFDIR:
		inode->i_op = &xipfs_dir_iops;
		inode->i_fop = &xipfs_dir_fops;
		break;
	case S_IFLNK:
		/* The target is not NUL-terminated on the medium. */
		inode->i_link = kmemdup_nul(xipfs_meta(sbi, xi->data,
						       inode->i_size),
					    inode->i_size, GFP_KERNEL);
		if (!inode->i_link)
			return -ENOMEM;
		if (strlen(inode->i_link) != inode->i_size) {
			xipfs_corrupt(sb, "inode %llu: NUL in symlink target",
				      xipfs_ino(inode));
			/* iget_failed() makes it S_IFREG: free_inode won't. */
			kfree(inode->i_link);
			inode->i_link = NULL;
			return -EFSCORRUPTED;
		}
		inode->i_op = &xipfs_symlink_iops;
		break;
	default:
		inode->i_op = &xipfs_special_iops;
		init_special_inode(inode, mode,
				   new_decode_dev(le32_to_cpu(di.i_rdev)));
		break;
	}
	return 0;
}

struct inode *xipfs_iget(struct super_block *sb, u64 ino)
{
	struct xipfs_sb_info *sbi = XIPFS_SB(sb);
	struct inode *inode;
	int err;

	if (!ino || ino >= sbi->inode_count) {
		xipfs_corrupt(sb, "inode number %llu out of range", ino);
		return ERR_PTR(-EFSCORRUPTED);
	}
	inode = iget_locked(sb, ino);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	if (!(xipfs_inode_state(inode) & I_NEW))
		return inode;
	err = xipfs_fill_inode(inode);
	if (err) {
		iget_failed(inode);
		return ERR_PTR(err);
	}
	unlock_new_inode(inode);
	return inode;
}
