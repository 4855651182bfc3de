// SPDX-License-Identifier: GPL-2.0
/*
 * fragment: leave free memory in 4 KiB holes, or take what is left in
 * huge pages. Prints "ready" once done and sleeps until killed, keeping
 * what it holds.
 *
 *   fragment MiB                 anon: populate MiB mebibytes, free every
 *                                other page (movable, exchangeable pages
 *                                in between)
 *   fragment --file PATH MiB     page cache: write a file of MiB mebibytes
 *                                at PATH, write it back, drop every other
 *                                page from the cache and dirty one cached
 *                                page in 16 again (file-backed occupants
 *                                between the holes, as on a machine whose
 *                                memory is mostly page cache); the file is
 *                                unlinked, its cache lives while we sleep
 *   fragment --thp MiB           huge pages: fault up to MiB mebibytes of
 *                                PMD-sized transparent huge pages and stop
 *                                at the first fault that gets none, so
 *                                free 2 MiB blocks are taken and 4 KiB
 *                                holes are left alone (set THP defrag to
 *                                "never" first, or faults compact)
 *
 * --thp prints how many MiB it took ("thp MiB") before "ready".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define MIB		(1UL << 20)
#define PMD_SIZE_2M	(2UL << 20)
#define KPF_THP		22

static long psize;

static int anon_holes(unsigned long mib)
{
	unsigned long pages = mib * MIB / psize, i;
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
	return 0;
}

static int cache_holes(const char *path, unsigned long mib)
{
	unsigned long pages = mib * MIB / psize, i;
	char *page = malloc(psize);
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || !page) {
		perror(path);
		return 1;
	}
	unlink(path);
	for (i = 0; i < pages; i++) {
		memset(page, (int)i, psize);
		if (pwrite(fd, page, psize, i * psize) != psize) {
			perror("pwrite");
			return 1;
		}
	}
	if (fsync(fd)) {
		perror("fsync");
		return 1;
	}
	for (i = 1; i < pages; i += 2)
		posix_fadvise(fd, i * psize, psize, POSIX_FADV_DONTNEED);
	for (i = 0; i < pages; i += 16) {
		memset(page, (int)i, psize);
		if (pwrite(fd, page, psize, i * psize) != psize) {
			perror("pwrite");
			return 1;
		}
	}
	free(page);
	return 0;			/* fd stays open: the cache stays */
}

/* Is the page at @p the head or a tail of a PMD-mapped THP? */
static int is_thp(const void *p)
{
	uint64_t ent = 0, flags = 0;
	int pm, kf;

	pm = open("/proc/self/pagemap", O_RDONLY);
	kf = open("/proc/kpageflags", O_RDONLY);
	/* Present, with its pfn (we are root): look up its flags. */
	if (pm < 0 || kf < 0 ||
	    pread(pm, &ent, 8, (uintptr_t)p / psize * 8) != 8 ||
	    !(ent & (1ULL << 63)) ||
	    pread(kf, &flags, 8, (ent & ((1ULL << 55) - 1)) * 8) != 8)
		flags = 0;
	if (pm >= 0)
		close(pm);
	if (kf >= 0)
		close(kf);
	return !!(flags & (1ULL << KPF_THP));
}

static int thp_fill(unsigned long mib)
{
	unsigned long len = mib * MIB, off;
	char *raw, *p;

	raw = mmap(NULL, len + PMD_SIZE_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	p = (char *)(((uintptr_t)raw + PMD_SIZE_2M - 1) & ~(PMD_SIZE_2M - 1));
	if (madvise(p, len, MADV_HUGEPAGE)) {
		perror("madvise(MADV_HUGEPAGE)");
		return 1;
	}
	for (off = 0; off < len; off += PMD_SIZE_2M) {
		p[off] = 1;
		if (!is_thp(p + off)) {
			madvise(p + off, len - off, MADV_DONTNEED);
			break;
		}
	}
	printf("thp %lu MiB\n", off / MIB);
	return 0;
}

int main(int argc, char **argv)
{
	int ret;

	psize = sysconf(_SC_PAGESIZE);
	if (argc == 4 && !strcmp(argv[1], "--file"))
		ret = cache_holes(argv[2], strtoul(argv[3], NULL, 0));
	else if (argc == 3 && !strcmp(argv[1], "--thp"))
		ret = thp_fill(strtoul(argv[2], NULL, 0));
	else if (argc <= 2 && (argc < 2 || argv[1][0] != '-'))
		ret = anon_holes(argc > 1 ? strtoul(argv[1], NULL, 0) : 1024);
	else {
		fprintf(stderr, "usage: %s [MiB] | --file PATH MiB | --thp MiB\n",
			argv[0]);
		return 2;
	}
	if (ret)
		return ret;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
