/* SPDX-License-Identifier: GPL-2.0 */
#include "../kshim.h"
#define IS_ERR(p) ((unsigned long)(p) >= (unsigned long)-4095)
#define PTR_ERR(p) ((long)(p))
