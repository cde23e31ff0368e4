/* SPDX-License-Identifier: GPL-2.0 */
#include "../kshim.h"
#define static_assert(expr, ...) __static_assert(expr, ##__VA_ARGS__, #expr)
#define __static_assert(expr, msg, ...) _Static_assert(expr, msg)
