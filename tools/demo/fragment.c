// SPDX-License-Identifier: GPL-2.0
/*
 * fragment: leave free memory in 4 KiB holes. Maps and populates MiB
 * mebibytes, frees every other page, prints "ready" and sleeps until
 * killed, keeping the pages in between (movable, exchangeable).
 *
 *   fragment MiB
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 1024;
	long psize = sysconf(_SC_PAGESIZE);
	unsigned long pages = (mib << 20) / psize, i;
	char *buf;

	buf = mmap(NULL, pages * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(buf, pages * psize, MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++)
		memset(buf + i * psize, (int)i, psize);
	for (i = 1; i < pages; i += 2)
		madvise(buf + i * psize, psize, MADV_DONTNEED);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
