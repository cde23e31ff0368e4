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
#define XIPFS_PROF_MAX_WEIGHT	15	/* touches, saturating */

#endif
