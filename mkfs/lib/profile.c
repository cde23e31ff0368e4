// SPDX-License-Identifier: GPL-2.0
/*
 * An image's pages as path lists, the format mkfs.xipfs --xip=list: and
 * --xip=profile: read ("Choosing XIP pages" in xipfs.rst):
 *  - the XIP set of an image (dump.xipfs --xip-list), so that what is XIP
 *    now can be fed to the next build;
 *  - a kernel profile (inode numbers and page runs, taken on a mounted
 *    image) turned into a path profile with the image it was taken on
 *    (dump.xipfs --profile).
 * The image is untrusted, as everywhere in the reader; so is the profile.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xipfs_image.h"
#include "xipfs_profile.h"

/* Append name (escaped for the list format) to buf at *len; -ENOMEM. */
static int put_escaped(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (*len + 5 > *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			char *p = realloc(*buf, ncap);

			if (!p)
				return -ENOMEM;
			*buf = p;
			*cap = ncap;
		}
		if (c <= 0x20 || c == 0x7f || c == '\\')
			*len += sprintf(*buf + *len, "\\x%02x", c);
		else
			(*buf)[(*len)++] = (char)c;
	}
	(*buf)[*len] = 0;
	return 0;
}

void xipfs_paths_free(struct xipfs_image *img, char **paths)
{
	if (!paths)
		return;
	for (uint32_t i = 0; i < img->sb.inode_count; i++)
		free(paths[i]);
	free(paths);
}

int xipfs_paths(struct xipfs_image *img, char ***out)
{
	uint32_t n = img->sb.inode_count, *queue, head = 0, tail = 0;
	char **paths;
	int ret = 0;

	*out = NULL;
	if (n <= XIPFS_ROOT_INO)
		return 0;
	paths = calloc(n, sizeof(*paths));
	queue = malloc((size_t)n * sizeof(*queue));
	if (!paths || !queue) {
		free(paths);
		free(queue);
		return -ENOMEM;
	}
	paths[XIPFS_ROOT_INO] = strdup("/");
	if (!paths[XIPFS_ROOT_INO]) {
		ret = -ENOMEM;
		goto out;
	}
	queue[tail++] = XIPFS_ROOT_INO;
	/* Breadth first; a directory enters the queue once (its first path). */
	while (head < tail) {
		uint32_t dino = queue[head++];
		struct xipfs_dinode din, in;
		struct xipfs_dir d;
		struct xipfs_dirent_info e;

		ret = xipfs_read_inode(img, dino, &din);
		if (!ret && !S_ISDIR(din.mode))
			continue;
		if (!ret)
			ret = xipfs_dir_open(img, &din, &d);
		for (uint32_t i = 0; !ret && i < d.count; i++) {
			size_t len, cap;
			char *p;

			ret = xipfs_dir_entry(img, &d, i, &e);
			if (ret)
				break;
			if (e.ino >= n || e.ino < XIPFS_ROOT_INO) {
				snprintf(img->err, sizeof(img->err),
					 "directory inode %u: entry %u names inode %u, out of range",
					 dino, i, e.ino);
				ret = -EUCLEAN;
				break;
			}
			if (paths[e.ino])
				continue;
			ret = xipfs_read_inode(img, e.ino, &in);
			if (ret)
				break;
			len = strlen(paths[dino]);
			cap = len + 2;
			p = malloc(cap);
			if (!p) {
				ret = -ENOMEM;
				break;
			}
			memcpy(p, paths[dino], len + 1);
			if (len > 1)
				p[len++] = '/';
			p[len] = 0;
			ret = put_escaped(&p, &len, &cap, e.name, e.name_len);
			if (ret) {
				free(p);
				break;
			}
			paths[e.ino] = p;
			if (S_ISDIR(in.mode))
				queue[tail++] = e.ino;
		}
		if (ret)
			break;
	}
out:
	free(queue);
	if (ret) {
		xipfs_paths_free(img, paths);
		return ret;
	}
	*out = paths;
	return 0;
}

int xipfs_xip_list(struct xipfs_image *img, FILE *f, uint64_t *files, uint64_t *pages)
{
	char **paths;
	int ret = xipfs_paths(img, &paths);

	*files = *pages = 0;
	if (ret)
		return ret;
	for (uint32_t ino = XIPFS_ROOT_INO; paths && ino < img->sb.inode_count; ino++) {
		struct xipfs_dinode in;
		uint64_t np, first = 0, run = 0;
		bool any = false;

		if (!paths[ino])
			continue;
		ret = xipfs_read_inode(img, ino, &in);
		if (ret)
			break;
		if (!S_ISREG(in.mode))
			continue;
		np = xipfs_size_pages(img, in.size);
		for (uint64_t p = 0; p <= np; p++) {
			uint64_t e = 0;

			if (p < np) {
				ret = xipfs_pte_get(img, &in, p, &e);
				if (ret)
					break;
			}
			if (p < np && xipfs_pte_type(e) == XIPFS_PTE_TYPE_XIP &&
			    !(e & XIPFS_PTE_RESERVED_MASK)) {
				if (!run++)
					first = p;
				continue;
			}
			if (!run)
				continue;
			fprintf(f, "%s%s%llu", any ? "," : paths[ino], any ? "" : " ",
				(unsigned long long)first);
			if (run > 1)
				fprintf(f, "-%llu", (unsigned long long)(first + run - 1));
			*pages += run;
			any = true;
			run = 0;
		}
		if (ret)
			break;
		if (any) {
			fputc('\n', f);
			(*files)++;
		}
	}
	xipfs_paths_free(img, paths);
	return ret;
}

/* One run of a kernel profile. */
struct krun {
	uint64_t ino, first, last;
	unsigned int flags, weight;
	unsigned int line;
};

__attribute__((format(printf, 3, 4)))
static int perr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A decimal number, all of the token; false on anything else. */
static bool parse_u64(const char *s, size_t len, uint64_t *v)
{
	*v = 0;
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || *v > (UINT64_MAX - 9) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return true;
}

static int krun_cmp(const void *a, const void *b)
{
	const struct krun *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static void put_flags(FILE *f, unsigned int flags)
{
	if (flags & XIPFS_PROF_EXEC)
		fputc('x', f);
	if (flags & XIPFS_PROF_MMAP)
		fputc('m', f);
	if (flags & XIPFS_PROF_READ)
		fputc('r', f);
	if (flags & XIPFS_PROF_NEAR)
		fputc('a', f);
}

/* The header: "xipfs-profile 1 page_size=N uuid=HEX [more key=value]". */
static int check_header(struct xipfs_image *img, char *line, const char *name,
			char *err, size_t errlen)
{
	char *save = NULL, *tok = strtok_r(line, " \t", &save);
	char want[33], *uuid = NULL, *psz = NULL;
	uint64_t ps;

	if (!tok || strcmp(tok, "xipfs-profile"))
		return perr(err, errlen, "%s: not an xipfs kernel profile (its first line must be \"xipfs-profile 1 page_size=N uuid=HEX\")",
			    name);
	tok = strtok_r(NULL, " \t", &save);
	/* Version 2 added fast profiles' "a" pages of weight 0. */
	if (!tok || (strcmp(tok, "1") && strcmp(tok, "2")))
		return perr(err, errlen, "%s: profile format version %s is not supported (this tool reads versions 1 and 2)",
			    name, tok ? tok : "(none)");
	while ((tok = strtok_r(NULL, " \t", &save))) {
		if (!strncmp(tok, "page_size=", 10))
			psz = tok + 10;
		else if (!strncmp(tok, "uuid=", 5))
			uuid = tok + 5;
		/* Other keys: later additions that do not change the lines. */
	}
	if (!psz || !uuid)
		return perr(err, errlen, "%s: the header has no %s", name,
			    !psz ? "page_size=" : "uuid=");
	if (!parse_u64(psz, strlen(psz), &ps))
		return perr(err, errlen, "%s: bad page_size=%s in the header", name, psz);
	if (ps != img->page_size)
		return perr(err, errlen, "%s: page size mismatch: the profile was taken with %llu-byte pages, the image has %u-byte pages",
			    name, (unsigned long long)ps, img->page_size);
	for (int i = 0; i < 16; i++)
		sprintf(want + 2 * i, "%02x", img->sb.uuid[i]);
	if (strlen(uuid) != 32 || strspn(uuid, "0123456789abcdef") != 32)
		return perr(err, errlen, "%s: bad uuid=%s in the header (32 lowercase hex digits)",
			    name, uuid);
	if (strcmp(uuid, want))
		return perr(err, errlen, "%s: uuid mismatch: the profile was taken on the image with uuid %s, this image's is %s (rebuilt since?)",
			    name, uuid, want);
	return 0;
}

/* "<ino> <first>[-<last>] <flags> <weight>" */
static int parse_run(char *line, unsigned int lno, const char *name, struct krun *r,
		     char *err, size_t errlen)
{
	char *tok[5], *save = NULL;
	int n = 0;
	size_t dash;

	for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == 4)
			return perr(err, errlen, "%s:%u: too many fields (expected \"INO FIRST[-LAST] FLAGS WEIGHT\")",
				    name, lno);
		tok[n++] = t;
	}
	if (n != 4)
		return perr(err, errlen, "%s:%u: expected \"INO FIRST[-LAST] FLAGS WEIGHT\"", name, lno);
	memset(r, 0, sizeof(*r));
	r->line = lno;
	if (!parse_u64(tok[0], strlen(tok[0]), &r->ino))
		return perr(err, errlen, "%s:%u: bad inode number '%s'", name, lno, tok[0]);
	dash = strcspn(tok[1], "-");
	if (!parse_u64(tok[1], dash, &r->first))
		return perr(err, errlen, "%s:%u: bad page range '%s'", name, lno, tok[1]);
	r->last = r->first;
	if (tok[1][dash] && (!parse_u64(tok[1] + dash + 1, strlen(tok[1] + dash + 1), &r->last) ||
			     r->last < r->first))
		return perr(err, errlen, "%s:%u: bad page range '%s'", name, lno, tok[1]);
	r->flags = xipfs_prof_flags(tok[2], strlen(tok[2]));
	if (!r->flags)
		return perr(err, errlen, "%s:%u: bad flags '%s' (one or more of x, m, r, a)",
			    name, lno, tok[2]);
	{
		uint64_t w;

		if (!parse_u64(tok[3], strlen(tok[3]), &w) || !xipfs_prof_valid(r->flags, w))
			return perr(err, errlen, "%s:%u: bad weight '%s' for flags '%s' (1 to %d; 0 with a, x or m and no r)",
				    name, lno, tok[3], tok[2], XIPFS_PROF_MAX_WEIGHT);
		r->weight = (unsigned int)w;
	}
	return 0;
}

int xipfs_profile_convert(struct xipfs_image *img, FILE *in, const char *name, FILE *out,
			  struct xipfs_profile_stats *st, char *err, size_t errlen)
{
	struct krun *runs = NULL;
	size_t nruns = 0, cap = 0, bufcap = 0;
	char *buf = NULL, **paths = NULL;
	ssize_t len;
	unsigned int lno = 0;
	bool header = false;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	err[0] = 0;
	while ((len = getline(&buf, &bufcap, in)) >= 0) {
		char *p = buf;

		lno++;
		if ((size_t)len != strlen(buf)) {
			ret = perr(err, errlen, "%s:%u: a NUL byte in the line", name, lno);
			goto out;
		}
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
			       buf[len - 1] == ' ' || buf[len - 1] == '\t'))
			buf[--len] = 0;
		if (!header) {
			ret = check_header(img, buf, name, err, errlen);
			if (ret)
				goto out;
			header = true;
			continue;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		if (nruns == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct krun *r = realloc(runs, ncap * sizeof(*r));

			if (!r) {
				ret = -ENOMEM;
				goto out;
			}
			runs = r;
			cap = ncap;
		}
		ret = parse_run(p, lno, name, &runs[nruns], err, errlen);
		if (ret)
			goto out;
		nruns++;
	}
	if (ferror(in)) {
		ret = perr(err, errlen, "%s: %s", name, strerror(errno));
		goto out;
	}
	if (!header) {
		ret = perr(err, errlen, "%s: empty file: not an xipfs kernel profile", name);
		goto out;
	}
	st->lines = nruns;
	if (nruns > 1)
		qsort(runs, nruns, sizeof(*runs), krun_cmp);
	for (size_t i = 1; i < nruns; i++)
		if (runs[i].ino == runs[i - 1].ino && runs[i].first <= runs[i - 1].last) {
			ret = perr(err, errlen, "%s:%u: the pages of inode %llu overlap line %u's",
				   name, runs[i].line, (unsigned long long)runs[i].ino,
				   runs[i - 1].line);
			goto out;
		}
	ret = xipfs_paths(img, &paths);
	if (ret) {
		snprintf(err, errlen, "%s", ret == -ENOMEM ? "out of memory" : xipfs_image_error(img));
		goto out;
	}
	for (size_t i = 0; i < nruns;) {
		size_t j = i;
		struct xipfs_dinode ii;
		uint64_t np;
		bool any = false;
		/* The run being printed, merged with runs that continue it. */
		struct krun cur = { 0 };
		bool have = false;

		while (j < nruns && runs[j].ino == runs[i].ino)
			j++;
		if (runs[i].ino >= img->sb.inode_count || !paths || !paths[runs[i].ino] ||
		    xipfs_read_inode(img, (uint32_t)runs[i].ino, &ii) || !S_ISREG(ii.mode)) {
			st->missing_inodes++;
			st->missing_lines += j - i;
			if (!st->first_missing_line)
				st->first_missing_line = runs[i].line;
			i = j;
			continue;
		}
		np = xipfs_size_pages(img, ii.size);
		for (size_t k = i; k <= j; k++) {
			struct krun r;

			if (k < j) {
				r = runs[k];
				if (r.last >= np) {
					uint64_t cut = r.first >= np ? r.last - r.first + 1 : r.last - np + 1;

					st->past_eof_pages += cut;
					st->past_eof_lines++;
					if (!st->first_past_eof_line)
						st->first_past_eof_line = r.line;
					if (r.first >= np)
						continue;
					r.last = np - 1;
				}
				if (have && r.first == cur.last + 1 && r.flags == cur.flags &&
				    r.weight == cur.weight) {
					cur.last = r.last;
					continue;
				}
			}
			if (have) {
				fprintf(out, "%s%s%llu", any ? "," : paths[cur.ino], any ? "" : " ",
					(unsigned long long)cur.first);
				if (cur.last > cur.first)
					fprintf(out, "-%llu", (unsigned long long)cur.last);
				fputc(':', out);
				put_flags(out, cur.flags);
				fprintf(out, ":%u", cur.weight);
				st->pages += cur.last - cur.first + 1;
				any = true;
			}
			if (k < j) {
				cur = r;
				have = true;
			}
		}
		if (any) {
			fputc('\n', out);
			st->files++;
		}
		i = j;
	}
out:
	xipfs_paths_free(img, paths);
	free(runs);
	free(buf);
	return ret;
}
