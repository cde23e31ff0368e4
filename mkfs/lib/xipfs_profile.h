/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page use flags and weights of profiles, shared by the reader (kernel
 * profile to path profile, profile.c) and the writer (path profiles,
 * xipset.c).  The text formats are in xipfs.rst, "Choosing XIP pages".
 */
#ifndef XIPFS_PROFILE_H
#define XIPFS_PROFILE_H

#define XIPFS_PROF_EXEC		1U	/* x: faulted through an executable mapping */
#define XIPFS_PROF_MMAP		2U	/* m: faulted through another mapping */
#define XIPFS_PROF_READ		4U	/* r: read with read()/splice/readahead */
#define XIPFS_PROF_NEAR		8U	/* a: only mapped alongside (fast profile) */
#define XIPFS_PROF_MAX_WEIGHT	15	/* touches, saturating */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A profile line's FLAGS (@len bytes at @s); 0 if a byte is not x, m, r, a. */
static inline unsigned int xipfs_prof_flags(const char *s, size_t len)
{
	unsigned int flags = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned int bit = s[i] == 'x' ? XIPFS_PROF_EXEC : s[i] == 'm' ? XIPFS_PROF_MMAP :
				   s[i] == 'r' ? XIPFS_PROF_READ : s[i] == 'a' ? XIPFS_PROF_NEAR : 0;

		if (!bit)
			return 0;
		flags |= bit;
	}
	return flags;
}

/*
 * Whether FLAGS and WEIGHT go together: a page only mapped alongside
 * (a, with the mapping's x or m) has weight 0; a touched one 1 to 15.
 */
static inline bool xipfs_prof_valid(unsigned int flags, uint64_t weight)
{
	if (flags & XIPFS_PROF_NEAR)
		return weight == 0 && !(flags & XIPFS_PROF_READ) &&
		       (flags & (XIPFS_PROF_EXEC | XIPFS_PROF_MMAP));
	return flags && weight >= 1 && weight <= XIPFS_PROF_MAX_WEIGHT;
}

#endif
