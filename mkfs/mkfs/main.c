// SPDX-License-Identifier: GPL-2.0
/*
 * mkfs.xipfs: build an xipfs image from a directory or a tar archive.
 * Option parsing only; the work is in the library (xipfs_writer.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xipfs_writer.h"

#define VERSION "1.0"

/* Defaults, and why (also in the man page). */
#define DEFAULT_ALG	"lz4hc"		/* fastest to decompress at a page fault */
#define DEFAULT_CLUSTER	(64 * 1024)	/* LZ4's window; bounded read amplification */

enum {
	OPT_XIP = 256, OPT_ALL_ROOT, OPT_FORCE_UID, OPT_FORCE_GID, OPT_EXCLUDE,
	OPT_PAGE_SIZE, OPT_FREE_SPACE, OPT_TAR, OPT_HELP, OPT_VERSION,
	OPT_FRAGMENTS, OPT_FLASH_SIZE, OPT_SIZE, OPT_ONE_FS, OPT_XATTRS,
	OPT_FILE_CONTEXTS,
};

/* -T: from 1970 to the end of year 9999, what every tool can show. */
#define MAX_TIMESTAMP	253402300799LL

static const struct option longopts[] = {
	{ "compress", required_argument, NULL, 'z' },
	{ "cluster-size", required_argument, NULL, 'C' },
	{ "xip", required_argument, NULL, OPT_XIP },
	{ "flash-size", required_argument, NULL, OPT_FLASH_SIZE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "timestamp", required_argument, NULL, 'T' },
	{ "all-root", no_argument, NULL, OPT_ALL_ROOT },
	{ "force-uid", required_argument, NULL, OPT_FORCE_UID },
	{ "force-gid", required_argument, NULL, OPT_FORCE_GID },
	{ "device-table", required_argument, NULL, 'D' },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "one-file-system", no_argument, NULL, OPT_ONE_FS },
	{ "xattrs", required_argument, NULL, OPT_XATTRS },
	{ "file-contexts", required_argument, NULL, OPT_FILE_CONTEXTS },
	{ "page-size", required_argument, NULL, OPT_PAGE_SIZE },
	{ "free-space", required_argument, NULL, OPT_FREE_SPACE },
	{ "extended", required_argument, NULL, 'E' },
	{ "fragments", no_argument, NULL, OPT_FRAGMENTS },
	{ "label", required_argument, NULL, 'L' },
	{ "tar", no_argument, NULL, OPT_TAR },
	{ "jobs", required_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: mkfs.xipfs [OPTIONS] IMAGE SOURCE\n"
"Build an xipfs image from the directory SOURCE (or, with --tar, a tar\n"
"archive; \"-\" reads it from stdin).  IMAGE (symlinks followed) is a file,\n"
"replaced by a new one only once that is complete; a device, written once\n"
"the image is known to fit; or /dev/null, a dry run.  Scratch files go to\n"
"$TMPDIR (else next to IMAGE, or /tmp for a device).\n"
"\n"
"  -z, --compress=ALG[,LEVEL]  lz4, lz4hc (default, level 9), zstd, zlib, xz\n"
"  -C, --cluster-size=SIZE     compression unit, page size..256K (default 64K)\n"
"      --xip=ITEM[,ITEM...]    which pages stay uncompressed for execute-in-place;\n"
"                              items apply in order, --xip may be repeated:\n"
"                                elf (default): read-only/executable ELF segments\n"
"                                none, all: no page, every page\n"
"                                  (these three start over)\n"
"                                list:FILE   XIP the pages FILE lists, whatever\n"
"                                  the budget (\"PATH [FIRST[-LAST],...]\")\n"
"                                profile:FILE  candidates, ranked by FILE's\n"
"                                  weights (a path profile: dump.xipfs --profile)\n"
"                                unlist:FILE   compress the pages FILE lists\n"
"                              with list/profile/unlist only, they apply to none\n"
"      --flash-size=SIZE       the image is at most SIZE bytes: XIP the candidates\n"
"                              that save the most RAM per flash byte and fit\n"
"      --size=SIZE             refuse an image over SIZE bytes (a partition)\n"
"                              before writing anything; a block device's\n"
"                              size is such a limit too\n"
"      --page-size=SIZE        4K (default), 8K, 16K, 32K or 64K\n"
"      --free-space=SIZE       room for read-write mounts\n"
"  -E, --extended=OPT[,OPT]    fragments: pack small files and the ends of\n"
"                                larger ones into shared clusters (smaller\n"
"                                images); nofragments (default);\n"
"                                span: with fragments, a piece may continue\n"
"                                in the next shared cluster (fuller clusters;\n"
"                                a read may decompress two); nospan (default);\n"
"                              maps=compact: each file's smallest page map,\n"
"                                per page, grouped or extents (default\n"
"                                without --free-space); maps=grouped: one\n"
"                                entry per group of up to 128 pages where a\n"
"                                file's pages allow, no extent maps (for\n"
"                                older kernels); maps=extents: an extent map\n"
"                                (an entry per run of pages) for every file;\n"
"                                maps=flat: one entry per page (default with\n"
"                                --free-space)\n"
"                              inodes=compact: 32-byte inodes where they fit\n"
"                                (16-bit ids and nlink, < 4 GiB, whole-second\n"
"                                mtime); the image then mounts read-only only\n"
"                                (default without --free-space); inodes=full:\n"
"                                every inode 64 bytes (default with it)\n"
"                              dedupe: identical files share their data; the\n"
"                                image then mounts read-only only (default\n"
"                                without --free-space); nodedupe (default\n"
"                                with it)\n"
"                              checksums: a CRC-32C per cluster and per XIP\n"
"                                page, checked by fsck, dump and the kernel;\n"
"                                the image then mounts read-only only;\n"
"                                nochecksums (default)\n"
"                              clusters=compact: a cluster table of 2 or 3\n"
"                                bytes per full cluster (default where it is\n"
"                                the smaller); clusters=full: 8 bytes per\n"
"                                cluster\n"
"      --fragments             the same as -E fragments\n"
"  -T, --timestamp=SECONDS     every inode's mtime and the build time\n"
"                              (default: SOURCE_DATE_EPOCH clamps mtimes; else\n"
"                              the build time is the newest mtime)\n"
"      --all-root              owner root:root for everything\n"
"      --force-uid=UID, --force-gid=GID\n"
"  -D, --device-table=FILE     genext2fs/makedevs device table\n"
"      --exclude=PATTERN       skip paths (relative to SOURCE; a leading / anchors\n"
"                              the pattern there) or names matching the glob;\n"
"                              may be repeated; one that matches nothing is\n"
"                              warned about\n"
"      --one-file-system       don't descend into directories on other file\n"
"                              systems (their mount points stay, empty)\n"
"      --xattrs=WHICH          extended attributes of SOURCE to store: all\n"
"                              (default: user., trusted., security., POSIX\n"
"                              ACLs; others are left out with a warning),\n"
"                              user (user.* only) or none\n"
"      --file-contexts=FILE    label every file's security.selinux from an\n"
"                              SELinux file_contexts FILE (POSIX regular\n"
"                              expressions; see the man page)\n"
"  -L, --label=LABEL           volume name, up to 16 bytes\n"
"      --tar                   SOURCE is a tar archive (any compression)\n"
"  -j, --jobs=N                compression threads (default: online CPUs)\n"
"  -q, --quiet                 no progress, no summary\n"
"  -v, --verbose               also list every file's page layout\n"
"  -h, --help, --version\n");
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "mkfs.xipfs: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'mkfs.xipfs --help'.\n");
	return 2;
}

/* A size with an optional K, M, G or T (binary) suffix. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'B' || *end == 'b') && shift)
		end++;
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

static int parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || end == s || *end || *out < min || *out > max ? -1 : 0;
}

/* One --xip value: comma-separated items, appended to *items. */
static int parse_xip(char *arg, struct xw_xip_item **items, unsigned int *n)
{
	static const struct { const char *name; enum xw_xip_policy kind; bool file; } k[] = {
		{ "none", XW_XIP_NONE, false }, { "all", XW_XIP_ALL, false },
		{ "elf", XW_XIP_ELF, false }, { "list:", XW_XIP_LIST, true },
		{ "profile:", XW_XIP_PROFILE, true }, { "unlist:", XW_XIP_UNLIST, true },
	};
	char *save = NULL;

	if (!*arg)
		return -1;
	for (char *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct xw_xip_item *it;
		size_t i;

		for (i = 0; i < sizeof(k) / sizeof(k[0]); i++)
			if (k[i].file ? !strncmp(tok, k[i].name, strlen(k[i].name)) &&
					tok[strlen(k[i].name)] :
				      !strcmp(tok, k[i].name))
				break;
		if (i == sizeof(k) / sizeof(k[0])) {
			bad("--xip: unknown policy '%s' (none, all, elf, list:FILE, profile:FILE, unlist:FILE)",
			    tok);
			return -2;
		}
		it = realloc(*items, (*n + 1) * sizeof(*it));
		if (!it)
			return -1;
		*items = it;
		it[*n].kind = k[i].kind;
		it[*n].file = k[i].file ? tok + strlen(k[i].name) : NULL;
		(*n)++;
	}
	return 0;
}

static int log2_exact(uint64_t v)
{
	if (!v || (v & (v - 1)))
		return -1;
	return __builtin_ctzll(v);
}

int main(int argc, char **argv)
{
	struct xw_options o = { .page_shift = 12 };
	struct xw_xip_item *xip = NULL;
	unsigned int nxip = 0;
	char **xipargs = NULL;
	size_t nxipargs = 0;
	struct xw_tree_options to = { 0 };
	const char **excludes = NULL;
	size_t nexcl = 0;
	const char *devtable = NULL, *alg = DEFAULT_ALG, *sde, *file_contexts = NULL;
	char *algdup = NULL;
	long long level = -1, force_uid = -1, force_gid = -1;
	uint64_t cluster = 0;
	bool tar = false, all_root = false;
	struct xw_tree *t = NULL;
	struct xw_output *out = NULL;
	struct xw_stats st;
	int c, ret = 1;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	o.workers = ncpu > 0 ? (ncpu > 64 ? 64 : (int)ncpu) : 1;
	while ((c = getopt_long(argc, argv, "z:C:T:D:L:E:j:qvh", longopts, NULL)) != -1) {
		long long v;
		uint64_t sz;

		switch (c) {
		case 'z': {
			char *comma;

			free(algdup);
			algdup = strdup(optarg);
			if (!algdup)
				return 1;
			alg = algdup;
			comma = strchr(algdup, ',');
			level = -1;
			if (comma) {
				*comma = 0;
				if (parse_int(comma + 1, 0, 1 << 20, &level)) {
					ret = bad("-z: bad level '%s'", comma + 1);
					goto out;
				}
			}
			break;
		}
		case 'C':
			if (parse_size(optarg, &cluster) || log2_exact(cluster) < 0) {
				ret = bad("-C: '%s' is not a power of two size", optarg);
				goto out;
			}
			break;
		case OPT_XIP: {
			/* The items point into a copy that lives as long as o. */
			char **a = realloc(xipargs, (nxipargs + 1) * sizeof(*a));
			int r;

			if (!a)
				goto out;
			xipargs = a;
			xipargs[nxipargs] = strdup(optarg);
			if (!xipargs[nxipargs])
				goto out;
			r = parse_xip(xipargs[nxipargs++], &xip, &nxip);
			if (r == -2) {
				ret = 2;
				goto out;
			}
			if (r) {
				ret = bad("--xip: '%s': empty policy", optarg);
				goto out;
			}
			break;
		}
		case OPT_FLASH_SIZE:
			if (parse_size(optarg, &o.flash_size) || !o.flash_size) {
				ret = bad("--flash-size: bad size '%s'", optarg);
				goto out;
			}
			break;
		case OPT_SIZE:
			if (parse_size(optarg, &o.size_limit) || !o.size_limit) {
				ret = bad("--size: bad size '%s'", optarg);
				goto out;
			}
			break;
		case 'T':
			if (parse_int(optarg, INT64_MIN, INT64_MAX, &v)) {
				ret = bad("-T: '%s' is not a number of seconds", optarg);
				goto out;
			}
			if (v < 0 || v > MAX_TIMESTAMP) {
				ret = bad("-T: %s is out of range (0 to 253402300799: 1970 to 9999-12-31)",
					  optarg);
				goto out;
			}
			to.have_fixed_time = true;
			to.fixed_time = v;
			break;
		case OPT_ALL_ROOT:
			all_root = true;
			break;
		case OPT_FORCE_UID:
		case OPT_FORCE_GID:
			if (parse_int(optarg, 0, UINT32_MAX, &v)) {
				ret = bad("'%s' is not a valid id", optarg);
				goto out;
			}
			*(c == OPT_FORCE_UID ? &force_uid : &force_gid) = v;
			break;
		case 'D':
			devtable = optarg;
			break;
		case OPT_EXCLUDE: {
			const char **e = realloc(excludes, (nexcl + 2) * sizeof(*e));

			if (!e)
				goto out;
			excludes = e;
			excludes[nexcl++] = optarg;
			excludes[nexcl] = NULL;
			break;
		}
		case OPT_PAGE_SIZE:
			if (parse_size(optarg, &sz) || log2_exact(sz) < XIPFS_MIN_PAGE_SHIFT ||
			    log2_exact(sz) > XIPFS_MAX_PAGE_SHIFT) {
				ret = bad("--page-size: '%s' is not 4K, 8K, 16K, 32K or 64K", optarg);
				goto out;
			}
			o.page_shift = log2_exact(sz);
			break;
		case OPT_FREE_SPACE:
			if (parse_size(optarg, &o.free_space) ||
			    o.free_space > (1ULL << 50)) {
				ret = bad("--free-space: bad size '%s'", optarg);
				goto out;
			}
			break;
		case 'L':
			if (strlen(optarg) > 16) {
				ret = bad("-L: label '%s' is longer than 16 bytes", optarg);
				goto out;
			}
			strcpy(o.label, optarg);
			break;
		case OPT_ONE_FS:
			to.one_file_system = true;
			break;
		case OPT_XATTRS:
			if (!strcmp(optarg, "all")) {
				to.xattrs = XW_XATTRS_ALL;
			} else if (!strcmp(optarg, "user")) {
				to.xattrs = XW_XATTRS_USER;
			} else if (!strcmp(optarg, "none")) {
				to.xattrs = XW_XATTRS_NONE;
			} else {
				ret = bad("--xattrs: '%s' is not all, user or none", optarg);
				goto out;
			}
			break;
		case OPT_FILE_CONTEXTS:
			file_contexts = optarg;
			break;
		case OPT_TAR:
			tar = true;
			break;
		case OPT_FRAGMENTS:
			o.fragments = true;
			break;
		case 'E': {
			char *opts = strdup(optarg), *tok, *save = NULL;

			if (!opts)
				goto out;
			for (tok = strtok_r(opts, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (!strcmp(tok, "fragments")) {
					o.fragments = true;
				} else if (!strcmp(tok, "nofragments") || !strcmp(tok, "^fragments")) {
					o.fragments = false;
				} else if (!strcmp(tok, "span")) {
					o.frag_span = true;
				} else if (!strcmp(tok, "nospan") || !strcmp(tok, "^span")) {
					o.frag_span = false;
				} else if (!strcmp(tok, "maps=grouped")) {
					o.maps = XW_MAPS_GROUPED;
				} else if (!strcmp(tok, "maps=flat")) {
					o.maps = XW_MAPS_FLAT;
				} else if (!strcmp(tok, "maps=compact")) {
					o.maps = XW_MAPS_COMPACT;
				} else if (!strcmp(tok, "maps=extents")) {
					o.maps = XW_MAPS_EXTENTS;
				} else if (!strcmp(tok, "inodes=compact")) {
					o.inodes = XW_INODES_COMPACT;
				} else if (!strcmp(tok, "inodes=full")) {
					o.inodes = XW_INODES_FULL;
				} else if (!strcmp(tok, "dedupe")) {
					o.dedupe = XW_DEDUPE_ON;
				} else if (!strcmp(tok, "nodedupe") || !strcmp(tok, "^dedupe")) {
					o.dedupe = XW_DEDUPE_OFF;
				} else if (!strcmp(tok, "checksums")) {
					o.checksums = true;
				} else if (!strcmp(tok, "nochecksums") || !strcmp(tok, "^checksums")) {
					o.checksums = false;
				} else if (!strcmp(tok, "clusters=compact")) {
					o.cltable = XW_CLTABLE_COMPACT;
				} else if (!strcmp(tok, "clusters=full")) {
					o.cltable = XW_CLTABLE_FULL;
				} else if (!strncmp(tok, "clusters=", 9)) {
					ret = bad("-E: unknown cluster table form '%s' (clusters=compact or clusters=full)", tok);
					free(opts);
					goto out;
				} else if (!strncmp(tok, "inodes=", 7)) {
					ret = bad("-E: unknown inode form '%s' (inodes=compact or inodes=full)", tok);
					free(opts);
					goto out;
				} else if (!strncmp(tok, "maps=", 5)) {
					ret = bad("-E: unknown page map form '%s' (maps=compact, maps=grouped, maps=extents or maps=flat)", tok);
					free(opts);
					goto out;
				} else {
					ret = bad("-E: unknown extended option '%s' (fragments, nofragments, span, nospan, maps=compact, maps=grouped, maps=extents, maps=flat, inodes=compact, inodes=full, dedupe, nodedupe, checksums, nochecksums, clusters=compact, clusters=full)", tok);
					free(opts);
					goto out;
				}
			}
			free(opts);
			break;
		}
		case 'j':
			if (parse_int(optarg, 1, 256, &v)) {
				ret = bad("-j: '%s' is not a thread count (1..256)", optarg);
				goto out;
			}
			o.workers = v;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			ret = 0;
			goto out;
		case OPT_VERSION:
			printf("mkfs.xipfs %s (format version %d)\n", VERSION, XIPFS_VERSION);
			ret = 0;
			goto out;
		default:
			fprintf(stderr, "Try 'mkfs.xipfs --help'.\n");
			ret = 2;
			goto out;
		}
	}
	if (argc - optind != 2) {
		ret = bad("%s", argc - optind < 2 ? "IMAGE and SOURCE are required" :
			  "too many arguments");
		goto out;
	}

	o.comp = xipfs_compressor_by_name(alg);
	if (!o.comp) {
		ret = bad("-z: unknown algorithm '%s' (lz4, lz4hc, zstd, zlib, xz)", alg);
		goto out;
	}
	if (level < 0)
		level = o.comp->default_level;
	if (level < o.comp->min_level || level > o.comp->max_level) {
		char msg[64];

		snprintf(msg, sizeof(msg), "%d..%d", o.comp->min_level, o.comp->max_level);
		ret = bad("-z: level out of range (%s)", msg);
		goto out;
	}
	o.level = level;
	if (!cluster)
		cluster = DEFAULT_CLUSTER > (1ULL << o.page_shift) ?
			  DEFAULT_CLUSTER : (1ULL << o.page_shift);
	if (cluster < (1ULL << o.page_shift) || cluster > XIPFS_MAX_CLUSTER_SIZE) {
		ret = bad("-C: the cluster size must be from the page size to 256K%s", "");
		goto out;
	}
	o.cluster_shift = log2_exact(cluster);

	sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde && !to.have_fixed_time) {
		long long v;

		if (parse_int(sde, 0, MAX_TIMESTAMP, &v)) {
			ret = bad("SOURCE_DATE_EPOCH='%s' is not a number of seconds from 0 to 253402300799", sde);
			goto out;
		}
		to.have_clamp_time = true;
		to.clamp_time = v;
	}
	to.excludes = excludes;
	to.page_shift = o.page_shift;
	to.quiet = o.quiet;
	/* IMAGE first: whatever is wrong with it is said before SOURCE is read. */
	out = xw_output_open(argv[optind], o.quiet);
	if (!out)
		goto out;
	to.have_image_id = xw_output_file_id(out, &to.image_dev, &to.image_ino);
	to.have_image_dir = xw_output_dir_id(out, &to.image_dir_dev, &to.image_dir_ino);
	to.spool_dir = xw_output_scratch_dir(out);
	t = xw_tree_new(&to);
	if (!t || (tar ? xw_tree_add_tar(t, argv[optind + 1]) :
		   xw_tree_add_dir(t, argv[optind + 1])))
		goto out;
	if (devtable && xw_tree_apply_devtable(t, devtable)) {
		ret = 1;
		goto out;
	}
	/* After the device table, so that the nodes it makes get labels too. */
	if (file_contexts && xw_tree_apply_file_contexts(t, file_contexts)) {
		ret = 1;
		goto out;
	}
	if (all_root)
		xw_tree_set_owner(t, 0, 0);
	xw_tree_set_owner(t, force_uid, force_gid);
	if (to.have_fixed_time) {
		o.build_time = to.fixed_time;
	} else if (to.have_clamp_time) {
		o.build_time = to.clamp_time;
	} else {
		o.build_time = xw_tree_newest_mtime(t, &o.build_time_nsec);
	}
	o.progress = !o.quiet && isatty(STDERR_FILENO);
	o.xip = xip;
	o.nxip = nxip;

	xw_catch_signals();
	ret = 1;
	if (xw_write_image_to(t, &o, out, &st))
		goto out;
	ret = 0;
	if (o.free_space && o.checksums)
		fprintf(stderr, "mkfs.xipfs: warning: %s: data checksums (-E checksums): the image mounts read-only only, its free space unused\n",
			argv[optind]);
	if (o.free_space && st.extent_files)
		fprintf(stderr, "mkfs.xipfs: warning: %s: %llu files have extent maps (-E maps=extents): the image mounts read-only only, its free space unused\n",
			argv[optind], (unsigned long long)st.extent_files);
	if (o.free_space && st.dedup_files)
		fprintf(stderr, "mkfs.xipfs: warning: %s: %llu files share data (-E dedupe): the image mounts read-only only, its free space unused (-E nodedupe for a read-write image)\n",
			argv[optind], (unsigned long long)st.dedup_files);
	if (!o.quiet) {
		printf("%s: %llu inodes (%llu files, %llu directories, %llu symlinks, %llu other)\n",
		       argv[optind], (unsigned long long)st.inodes,
		       (unsigned long long)st.files, (unsigned long long)st.dirs,
		       (unsigned long long)st.symlinks, (unsigned long long)st.specials);
		printf("  data pages %llu: %llu XIP, %llu compressed, %llu holes, %llu tails\n",
		       (unsigned long long)st.data_pages, (unsigned long long)st.xip_pages,
		       (unsigned long long)st.comp_pages, (unsigned long long)st.hole_pages,
		       (unsigned long long)st.tail_pages);
		printf("  %s level %d: %llu clusters (%llu stored), %llu -> %llu bytes (%.1f%%)\n",
		       o.comp->name, o.level, (unsigned long long)st.clusters,
		       (unsigned long long)st.stored_clusters,
		       (unsigned long long)st.comp_in, (unsigned long long)st.comp_out,
		       st.comp_in ? 100.0 * st.comp_out / st.comp_in : 0.0);
		if (st.clusters)
			printf("  cluster table: %s, %llu bytes (%llu exception words)\n",
			       st.ct_compact ? "compact" : "8-byte descriptors",
			       (unsigned long long)st.cltable_bytes,
			       (unsigned long long)st.ct_exceptions);
		if (o.fragments)
			printf("  fragments: %llu pieces (%llu pages, %llu duplicates) in %llu shared clusters\n",
			       (unsigned long long)st.frag_pieces,
			       (unsigned long long)st.frag_pages,
			       (unsigned long long)st.frag_dups,
			       (unsigned long long)st.shared_clusters);
		if (st.dedup_files)
			printf("  dedupe: %llu files (%llu bytes) share an identical file's data; the image mounts read-only only\n",
			       (unsigned long long)st.dedup_files,
			       (unsigned long long)st.dedup_bytes);
		if (o.checksums)
			printf("  data checksums: %llu bytes; the image mounts read-only only\n",
			       (unsigned long long)st.csum_bytes);
		printf("  page maps %llu bytes, %llu of %llu files grouped, %llu with extent maps (%llu extents)\n",
		       (unsigned long long)st.map_bytes, (unsigned long long)st.grouped_files,
		       (unsigned long long)st.files, (unsigned long long)st.extent_files,
		       (unsigned long long)st.extents);
		printf("  inodes: %llu compact, %llu extended\n",
		       (unsigned long long)st.compact_inodes,
		       (unsigned long long)(st.inodes - st.compact_inodes));
		if (st.xattrs)
			printf("  extended attributes: %llu on %llu inodes (%llu value bytes), %llu shared entries\n",
			       (unsigned long long)st.xattrs, (unsigned long long)st.xattr_inodes,
			       (unsigned long long)st.xattr_bytes,
			       (unsigned long long)st.xattr_shared);
		printf("  metadata %llu bytes, image %llu bytes%s\n",
		       (unsigned long long)st.meta_size, (unsigned long long)st.image_size,
		       xw_output_dry(out) ? " (dry run: nothing written)" : "");
		if (o.flash_size) {
			printf("  flash budget %llu bytes: %llu of %llu candidate pages XIP (%llu bytes)",
			       (unsigned long long)o.flash_size, (unsigned long long)st.chosen_pages,
			       (unsigned long long)st.cand_pages,
			       (unsigned long long)(st.chosen_pages << o.page_shift));
			if (st.pinned_pages)
				printf(", %llu pinned by list:", (unsigned long long)st.pinned_pages);
			printf("; image %llu bytes, %llu spare, %llu with every candidate compressed; %u layouts tried\n",
			       (unsigned long long)st.image_size,
			       (unsigned long long)(o.flash_size - st.image_size),
			       (unsigned long long)st.floor_size, st.builds);
			if (st.prof_pages)
				printf("  expected RAM saved: %llu of the profile's %llu candidate pages XIP, %llu KiB\n",
				       (unsigned long long)st.prof_chosen,
				       (unsigned long long)st.prof_pages,
				       (unsigned long long)((st.prof_chosen << o.page_shift) >> 10));
			else
				printf("  expected RAM saved: unknown without a profile (pages ranked by the ELF heuristic)\n");
		}
	}
out:
	xw_tree_free(t);
	xw_output_free(out);
	for (size_t i = 0; i < nxipargs; i++)
		free(xipargs[i]);
	free(xipargs);
	free(xip);
	free(excludes);
	free(algdup);
	return ret;
}
