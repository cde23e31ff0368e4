// SPDX-License-Identifier: GPL-2.0
/*
 * mtdpoint: a regression check for the arm64 NOR board.  xipfs executes
 * in place only when the flash's MTD device can point() at its memory and
 * the memory is not RAM; this module asks and prints what it gets:
 *
 *   mtdpoint: 4000000.flash: size 0x4000000 retlen 0x1000
 *             phys 0x4000000 pfn_valid 0 head 46584950...
 *
 * One line on success, one line naming the failing step otherwise.
 * Loading always succeeds so that the caller reads the answer from dmesg.
 * warn=1 also WARNs, to check that the board's console scan sees it.
 */
#include <linux/module.h>
#include <linux/mtd/mtd.h>
#include <linux/mm.h>

static char *dev = "4000000.flash";
module_param(dev, charp, 0444);
MODULE_PARM_DESC(dev, "MTD device name to point at");
static bool warn;
module_param(warn, bool, 0444);
MODULE_PARM_DESC(warn, "WARN once loaded (checks the console scan)");

static int __init mtdpoint_init(void)
{
	struct mtd_info *mtd;
	size_t retlen = 0;
	void *virt = NULL;
	resource_size_t phys = 0;
	int err;

	mtd = get_mtd_device_nm(dev);
	if (IS_ERR(mtd)) {
		pr_info("mtdpoint: %s: get_mtd_device_nm: %ld\n", dev,
			PTR_ERR(mtd));
		return 0;
	}
	err = mtd_point(mtd, 0, PAGE_SIZE, &retlen, &virt, &phys);
	if (err) {
		pr_info("mtdpoint: %s: mtd_point: %d\n", dev, err);
	} else {
		pr_info("mtdpoint: %s: size %#llx retlen %#zx phys %#llx pfn_valid %d head %*phN\n",
			dev, (unsigned long long)mtd->size, retlen,
			(unsigned long long)phys, pfn_valid(PHYS_PFN(phys)),
			16, virt);
		mtd_unpoint(mtd, 0, retlen);
	}
	put_mtd_device(mtd);
	WARN(warn, "mtdpoint: warning on request\n");
	return 0;
}

static void __exit mtdpoint_exit(void)
{
}

module_init(mtdpoint_init);
module_exit(mtdpoint_exit);
MODULE_DESCRIPTION("Print what mtd_point() gives for an MTD device");
MODULE_LICENSE("GPL");
