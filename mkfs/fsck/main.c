// SPDX-License-Identifier: GPL-2.0
/*
 * fsck.xipfs: check an xipfs image.  Read-only: it reports, never repairs.
 * Exit codes follow fsck(8).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "xipfs_image.h"

#define VERSION "1.0"

#define FSCK_OK		0
#define FSCK_UNCORRECTED 4
#define FSCK_ERROR	8
#define FSCK_USAGE	16

static void usage(FILE *f)
{
	fputs("Usage: fsck.xipfs [-v] [-q] [-n] [--max-errors N] [--no-data] IMAGE\n"
	      "Check an xipfs image; nothing is ever changed.\n"
	      "  -v, --verbose        say what was checked\n"
	      "  -q, --quiet          print nothing, only set the exit code\n"
	      "  -n, -a, -p, -y       accepted for fsck(8) compatibility; ignored\n"
	      "  --max-errors N       show at most N problems (default 100)\n"
	      "  --no-data            don't decompress clusters\n"
	      "  -h, --help           this help\n"
	      "  -V, --version        the version\n"
	      "Exit status: 0 clean, 4 errors found, 8 operational error, 16 usage.\n",
	      f);
}

static void report(void *arg, const char *msg)
{
	const char *image = arg;

	fprintf(stderr, "fsck.xipfs: %s: %s\n", image, msg);
}

static void quiet_report(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "max-errors", required_argument, NULL, 'M' },
		{ "no-data", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct xipfs_check_opts opts = { .report = report };
	struct xipfs_check_stats st;
	struct xipfs_image *img;
	char err[512];
	bool verbose = false, quiet = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "vqnapyhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			verbose = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'n': case 'a': case 'p': case 'y':
			break;
		case 'M': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || v == 0 || v > 1000000) {
				fprintf(stderr, "fsck.xipfs: invalid --max-errors '%s'\n", optarg);
				return FSCK_USAGE;
			}
			opts.max_messages = (unsigned int)v;
			break;
		}
		case 'D':
			opts.skip_data = true;
			break;
		case 'h':
			usage(stdout);
			return FSCK_OK;
		case 'V':
			printf("fsck.xipfs %s (format version %d)\n", VERSION, XIPFS_VERSION);
			return FSCK_OK;
		default:
			usage(stderr);
			return FSCK_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return FSCK_USAGE;
	}
	opts.arg = argv[optind];
	if (quiet)
		opts.report = quiet_report;

	ret = xipfs_image_open(argv[optind], &img, err, sizeof(err));
	if (ret) {
		if (!quiet)
			fprintf(stderr, "fsck.xipfs: %s\n", err);
		/* A damaged superblock is a finding; an unreadable file is not. */
		return ret == -EUCLEAN ? FSCK_UNCORRECTED : FSCK_ERROR;
	}
	xipfs_check(img, &opts, &st);
	/* Information, not a problem: the structures were checked as found. */
	if (!quiet && !(img->sb.state & XIPFS_STATE_CLEAN))
		printf("%s: not cleanly unmounted: was mounted read-write (power cut or crash?)\n",
		       argv[optind]);
	if (verbose && !quiet) {
		const struct xipfs_sb *sb = &img->sb;

		printf("%s: %llu bytes, page size %u, %u inode slots\n", argv[optind],
		       (unsigned long long)sb->image_size, img->page_size, sb->inode_count);
		printf("superblock: checksum ok, features compat 0x%x ro_compat 0x%x incompat 0x%x\n",
		       sb->feature_compat, sb->feature_ro_compat, sb->feature_incompat);
		printf("state: %s%s\n", sb->state & XIPFS_STATE_CLEAN ? "clean" :
		       "not clean (mounted read-write, or not unmounted cleanly)",
		       sb->state & XIPFS_STATE_META_MODIFIED ? ", metadata modified in place" : "");
		printf("metadata: %llu bytes, checksum %s\n", (unsigned long long)sb->meta_size,
		       st.crc_checked ? "checked" : "not checked (modified by a read-write mount)");
		printf("inodes: %llu used (%llu compact, %llu extended): %llu directories, %llu files, %llu symlinks, %llu special\n",
		       (unsigned long long)st.inodes, (unsigned long long)st.compact_inodes,
		       (unsigned long long)st.extended_inodes, (unsigned long long)st.dirs,
		       (unsigned long long)st.files, (unsigned long long)st.symlinks,
		       (unsigned long long)st.specials);
		printf("directory entries: %llu\n", (unsigned long long)st.dirents);
		if (sb->feature_compat & XIPFS_FEATURE_COMPAT_XATTRS)
			printf("extended attributes: %llu on %llu inodes, %llu shared entries\n",
			       (unsigned long long)st.xattrs, (unsigned long long)st.xattr_inodes,
			       (unsigned long long)st.xattr_shared);
		printf("file pages: %llu: %llu XIP, %llu compressed, %llu holes, %llu tails\n",
		       (unsigned long long)st.pages, (unsigned long long)st.xip_pages,
		       (unsigned long long)st.comp_pages, (unsigned long long)st.holes,
		       (unsigned long long)st.tails);
		printf("grouped page maps: %llu files (one entry per group of pages)\n",
		       (unsigned long long)st.grouped_maps);
		if (sb->feature_incompat & XIPFS_FEATURE_INCOMPAT_EXTENT_MAPS)
			printf("extent maps: %llu files, %llu extents (one entry per run of pages)\n",
			       (unsigned long long)st.extent_maps, (unsigned long long)st.extents);
		if (sb->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_SHARED_DATA)
			printf("shared data: %llu files (%llu bytes) use an identical file's data\n",
			       (unsigned long long)st.shared_files,
			       (unsigned long long)st.shared_bytes);
		printf("clusters: %llu, %s %llu bytes\n", (unsigned long long)st.clusters,
		       opts.skip_data ? "not decompressed," : "decompressed to",
		       (unsigned long long)st.cluster_bytes);
		if (sb->feature_ro_compat & XIPFS_FEATURE_RO_COMPAT_DATA_CSUM)
			printf("data checksums: %llu clusters and %llu XIP pages checked%s\n",
			       (unsigned long long)st.csum_clusters,
			       (unsigned long long)st.csum_xip_pages,
			       img->csum ? "" : " (stale: metadata modified by a read-write mount)");
		else
			printf("data checksums: none (mkfs.xipfs -E checksums)\n");
		if (img->rw)
			printf("after a read-write mount: %llu dead clusters (not checked), %llu page maps moved to the data region\n",
			       (unsigned long long)st.dead_clusters,
			       (unsigned long long)st.moved_maps);
		printf("data region: %llu pages, %llu free (used by no XIP page, page map or live cluster)\n",
		       (unsigned long long)st.data_pages, (unsigned long long)st.free_pages);
		printf("stale page map entries past the end of files: %llu (ignored)\n",
		       (unsigned long long)st.stale_entries);
		printf("%llu problem%s\n", (unsigned long long)st.errors,
		       st.errors == 1 ? "" : "s");
	}
	xipfs_image_close(img);
	if (st.errors) {
		if (!quiet)
			fprintf(stderr, "fsck.xipfs: %s: %llu problem%s found\n", argv[optind],
				(unsigned long long)st.errors, st.errors == 1 ? "" : "s");
		return FSCK_UNCORRECTED;
	}
	return FSCK_OK;
}
