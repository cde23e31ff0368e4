// SPDX-License-Identifier: GPL-2.0
/*
 * The --xip=elf policy: the pages the ELF loader maps without ever
 * writing them (PT_LOAD segments that are executable or not writable)
 * are worth executing in place; everything else compresses better.
 * Any ELF class and byte order, since images are built for other
 * machines.  Nothing in the file is trusted: every count and offset is
 * checked against the file size before use.
 */
#include <elf.h>
#include <endian.h>
#include <stddef.h>
#include <string.h>

#include "xipfs_writer.h"

struct elf_ctx {
	bool is64, be;
};

static uint16_t g16(const struct elf_ctx *c, const void *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return c->be ? be16toh(v) : le16toh(v);
}

static uint32_t g32(const struct elf_ctx *c, const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return c->be ? be32toh(v) : le32toh(v);
}

static uint64_t g64(const struct elf_ctx *c, const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return c->be ? be64toh(v) : le64toh(v);
}

#define FIELD(c, p, T, f) ((c)->is64 ? \
	(sizeof(((Elf64_##T *)0)->f) == 8 ? g64(c, (const char *)(p) + offsetof(Elf64_##T, f)) : \
	 sizeof(((Elf64_##T *)0)->f) == 4 ? g32(c, (const char *)(p) + offsetof(Elf64_##T, f)) : \
	 g16(c, (const char *)(p) + offsetof(Elf64_##T, f))) : \
	(sizeof(((Elf32_##T *)0)->f) == 4 ? g32(c, (const char *)(p) + offsetof(Elf32_##T, f)) : \
	 g16(c, (const char *)(p) + offsetof(Elf32_##T, f))))

int xw_elf_ranges(xw_reader rd, void *ctx, uint64_t size, unsigned int page_shift,
		  struct xw_range *r, int max, bool exec_only)
{
	unsigned char eh[sizeof(Elf64_Ehdr)];
	struct elf_ctx c;
	uint64_t phoff, phnum, phentsize, page = 1ULL << page_shift;
	uint64_t npages = (size + page - 1) >> page_shift;
	int n = 0;

	if (size < sizeof(Elf32_Ehdr))
		return 0;
	if (rd(ctx, eh, size < sizeof(eh) ? sizeof(Elf32_Ehdr) : sizeof(eh), 0))
		return -1;
	if (memcmp(eh, ELFMAG, SELFMAG) || eh[EI_VERSION] != EV_CURRENT)
		return 0;
	if (eh[EI_CLASS] != ELFCLASS32 && eh[EI_CLASS] != ELFCLASS64)
		return 0;
	if (eh[EI_DATA] != ELFDATA2LSB && eh[EI_DATA] != ELFDATA2MSB)
		return 0;
	c.is64 = eh[EI_CLASS] == ELFCLASS64;
	c.be = eh[EI_DATA] == ELFDATA2MSB;
	if (c.is64 && size < sizeof(Elf64_Ehdr))
		return 0;
	phoff = FIELD(&c, eh, Ehdr, e_phoff);
	phnum = FIELD(&c, eh, Ehdr, e_phnum);
	phentsize = FIELD(&c, eh, Ehdr, e_phentsize);
	if (phentsize < (c.is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
		return 0;
	/* PN_XNUM (a count in section 0) only happens in core files. */
	if (phnum == 0 || phnum >= PN_XNUM)
		return 0;
	if (phoff > size || phnum * phentsize > size - phoff)
		return 0;
	for (uint64_t i = 0; i < phnum; i++) {
		unsigned char ph[sizeof(Elf64_Phdr)];
		uint64_t off, filesz, first, last;
		uint32_t type, flags;

		if (rd(ctx, ph, c.is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr),
		       phoff + i * phentsize))
			return -1;
		type = FIELD(&c, ph, Phdr, p_type);
		flags = FIELD(&c, ph, Phdr, p_flags);
		off = FIELD(&c, ph, Phdr, p_offset);
		filesz = FIELD(&c, ph, Phdr, p_filesz);
		if (type != PT_LOAD || !filesz)
			continue;
		if ((flags & PF_W) && !(flags & PF_X))
			continue;
		if (exec_only && !(flags & PF_X))
			continue;
		if (off >= size)
			continue;
		if (filesz > size - off)
			filesz = size - off;
		first = off >> page_shift;
		last = (off + filesz - 1) >> page_shift;
		if (last >= npages)
			last = npages - 1;
		/* Merge with the previous range when they touch. */
		if (n && first <= r[n - 1].last + 1 && last + 1 >= r[n - 1].first) {
			if (first < r[n - 1].first)
				r[n - 1].first = first;
			if (last > r[n - 1].last)
				r[n - 1].last = last;
			continue;
		}
		if (n == max)
			break;
		r[n].first = first;
		r[n].last = last;
		n++;
	}
	return n;
}

int xw_elf_xip_ranges(xw_reader rd, void *ctx, uint64_t size,
		      unsigned int page_shift, struct xw_range *r, int max)
{
	return xw_elf_ranges(rd, ctx, size, page_shift, r, max, false);
}
