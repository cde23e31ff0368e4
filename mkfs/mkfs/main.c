// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

int main(void)
{
	fputs("mkfs.xipfs: not implemented yet\n", stderr);
	return 8;
}
