// SPDX-License-Identifier: GPL-2.0
/*
 * contig_target: a process with known memory for contigctl_test.sh.
 *
 * Maps a few regions of PAGES pages each, one VMA per region (unmapped
 * holes of at least 2 MiB keep them from merging), fills them in known
 * ways, prints where they are and waits to be killed:
 *
 *   plain   written in order
 *   frag    written page by page interleaved with a filler mapping that
 *           is then unmapped, so that no two neighbours are contiguous
 *   holes   written, then every 8th page dropped (MADV_DONTNEED)
 *   zero    first half written, second half only read (the zero page,
 *           which does not count as resident)
 *   thp     2 MiB aligned, MADV_HUGEPAGE, written
 *   hugetlb one MAP_HUGETLB huge page, if the pool has one (-H)
 *
 * Output, one item per line: "pid N", "region NAME 0xADDR PAGES" for
 * each region, "hole 0xADDR" for the unmapped hole after the first one,
 * then "ready".
 *
 *   contig_target [-p PAGES] [-H] [-c SECS]
 *
 * -c SECS: instead of waiting, check for up to SECS seconds that every
 * region but hugetlb is registered (a line in /proc/self/contig), print
 * "registered NAME" or "unregistered NAME" for each and exit 0 if all
 * are (contigctl run's test).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif

#define HPAGE_SIZE	(2UL << 20)

struct region {
	const char *name;
	char *addr;
	unsigned long pages;
};

static struct region regions[8];
static int nr_regions;
static long page_size;
static char *hole;

static void fail(const char *what)
{
	fprintf(stderr, "contig_target: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void add_region(const char *name, char *addr, unsigned long pages)
{
	regions[nr_regions].name = name;
	regions[nr_regions].addr = addr;
	regions[nr_regions].pages = pages;
	nr_regions++;
}

/*
 * Map @pages pages of private anonymous memory at @at (in the reserved
 * area), without THP unless @thp.
 */
static char *map_at(char *at, unsigned long pages, bool thp)
{
	char *p = mmap(at, pages * page_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap");
	if (madvise(p, pages * page_size, thp ? MADV_HUGEPAGE :
		    MADV_NOHUGEPAGE) && thp)
		fprintf(stderr, "contig_target: no THP: %s\n", strerror(errno));
	return p;
}

static void fill_page(char *page, unsigned long index)
{
	memset(page, 0x11 + index % 200, page_size);
}

static void make_regions(unsigned long pages)
{
	unsigned long size = pages * page_size;
	unsigned long stride = (size + 2 * HPAGE_SIZE - 1) & ~(HPAGE_SIZE - 1);
	unsigned long reserved = 5 * stride + HPAGE_SIZE;
	char *base, *area, *p, *filler;
	unsigned long i;
	int r;

	/*
	 * Reserve address space so that nothing else lands between the
	 * regions; each region starts HPAGE_SIZE-aligned. What the regions
	 * do not use is unmapped at the end.
	 */
	base = mmap(NULL, reserved, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		fail("mmap reservation");
	area = (char *)(((uintptr_t)base + HPAGE_SIZE - 1) & ~(HPAGE_SIZE - 1));

	p = map_at(area, pages, false);
	for (i = 0; i < pages; i++)
		fill_page(p + i * page_size, i);
	add_region("plain", p, pages);

	p = map_at(area + stride, pages, false);
	filler = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (filler == MAP_FAILED)
		fail("mmap filler");
	madvise(filler, pages * page_size, MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++) {
		fill_page(p + i * page_size, i);
		fill_page(filler + i * page_size, i);
	}
	munmap(filler, pages * page_size);
	add_region("frag", p, pages);

	p = map_at(area + 2 * stride, pages, false);
	for (i = 0; i < pages; i++)
		fill_page(p + i * page_size, i);
	for (i = 0; i < pages; i += 8)
		madvise(p + i * page_size, page_size, MADV_DONTNEED);
	add_region("holes", p, pages);

	p = map_at(area + 3 * stride, pages, false);
	for (i = 0; i < pages / 2; i++)
		fill_page(p + i * page_size, i);
	if (madvise(p + pages / 2 * page_size, (pages - pages / 2) * page_size,
		    MADV_POPULATE_READ))
		fail("MADV_POPULATE_READ");
	add_region("zero", p, pages);

	p = map_at(area + 4 * stride, pages, true);
	for (i = 0; i < pages; i++)
		fill_page(p + i * page_size, i);
	add_region("thp", p, pages);

	if (area > base)
		munmap(base, area - base);
	for (r = 0; r < nr_regions; r++) {
		char *end = regions[r].addr + size;
		char *next = r + 1 < nr_regions ? regions[r + 1].addr :
			     base + reserved;

		if (next > end)
			munmap(end, next - end);
	}
	hole = regions[0].addr + size;
}

static void make_hugetlb(void)
{
	char *p = mmap(NULL, HPAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

	if (p == MAP_FAILED) {
		printf("nohugetlb %s\n", strerror(errno));
		return;
	}
	p[0] = 1;
	add_region("hugetlb", p, HPAGE_SIZE / page_size);
}

/*
 * Whether kcontigd works on the VMA holding @addr: it has a line in
 * /proc/self/contig (requested from another process, it has no "ct").
 */
static bool registered(const char *addr)
{
	unsigned long start, end;
	char line[1024];
	bool ret = false;
	FILE *f = fopen("/proc/self/contig", "r");

	if (!f)
		return false;
	while (!ret && fgets(line, sizeof(line), f))
		ret = sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		      start <= (uintptr_t)addr && (uintptr_t)addr < end;
	fclose(f);
	return ret;
}

static int check_registered(double secs)
{
	struct timespec ts;
	double deadline;
	int i, missing;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec + ts.tv_nsec / 1e9 + secs;
	for (;;) {
		missing = 0;
		for (i = 0; i < nr_regions; i++)
			if (strcmp(regions[i].name, "hugetlb") &&
			    !registered(regions[i].addr))
				missing++;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (!missing || ts.tv_sec + ts.tv_nsec / 1e9 >= deadline)
			break;
		usleep(50000);
	}
	for (i = 0; i < nr_regions; i++)
		if (strcmp(regions[i].name, "hugetlb"))
			printf("%s %s\n", registered(regions[i].addr) ?
			       "registered" : "unregistered", regions[i].name);
	return missing ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long pages = 1024;
	double check = -1;
	bool hugetlb = false;
	int opt, i;

	page_size = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "p:Hc:")) != -1) {
		switch (opt) {
		case 'p':
			pages = strtoul(optarg, NULL, 0);
			break;
		case 'H':
			hugetlb = true;
			break;
		case 'c':
			check = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr, "usage: contig_target [-p PAGES] [-H] [-c SECS]\n");
			return 2;
		}
	}
	if (pages < 16) {
		fprintf(stderr, "contig_target: at least 16 pages\n");
		return 2;
	}

	printf("pid %d\n", getpid());
	make_regions(pages);
	if (hugetlb)
		make_hugetlb();
	for (i = 0; i < nr_regions; i++)
		printf("region %s %p %lu\n", regions[i].name, regions[i].addr,
		       regions[i].pages);
	printf("hole %p\n", hole);
	printf("ready\n");

	if (check >= 0)
		return check_registered(check);
	for (;;)
		pause();
}
