// SPDX-License-Identifier: GPL-2.0
/*
 * contig_demo: what MADV_CONTIG does to a process, as seen from user space.
 *
 * Maps and populates a buffer, shows its physical runs (from pagemap, as
 * root), advises it with MADV_CONTIG, shows the vma flag in smaps and
 * kcontigd's view in /proc/self/contig, waits for kcontigd (up to the
 * given number of seconds), and shows the runs again with a data check.
 *
 *   contig_demo [MiB] [wait-seconds]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#ifndef MADV_CONTIG
#define MADV_CONTIG	26
#endif

struct runs {
	unsigned long resident, runs, largest;
};

/* Runs of consecutive pfns over consecutive virtual pages (pagemap). */
static int measure(char *buf, unsigned long pages, long psize, struct runs *r)
{
	unsigned long i, len = 0, prev = 0;
	uint64_t *pm;
	int fd;

	memset(r, 0, sizeof(*r));
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -errno;
	pm = malloc(pages * sizeof(*pm));
	if (!pm) {
		close(fd);
		return -ENOMEM;
	}
	if (pread(fd, pm, pages * sizeof(*pm),
		  (uintptr_t)buf / psize * sizeof(*pm)) !=
	    (ssize_t)(pages * sizeof(*pm))) {
		free(pm);
		close(fd);
		return -EIO;
	}
	close(fd);
	for (i = 0; i < pages; i++) {
		uint64_t e = pm[i];
		unsigned long pfn = e & ((1ULL << 55) - 1);

		if (!(e & (1ULL << 63))) {
			len = 0;
			continue;
		}
		r->resident++;
		if (len && pfn == prev + 1) {
			len++;
		} else {
			r->runs++;
			len = 1;
		}
		if (len > r->largest)
			r->largest = len;
		prev = pfn;
	}
	free(pm);
	return 0;
}

static void show_file_lines(const char *path, const char *prefix,
			    unsigned long start)
{
	char line[512];
	int in = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		printf("  (cannot read %s: %s)\n", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx", &s, &e) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = s <= start && start < e;
		if (in && (!prefix || !strncmp(line, prefix, strlen(prefix))))
			printf("  %s: %s", path, line);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	int wait_s = argc > 2 ? atoi(argv[2]) : 5;
	long psize = sysconf(_SC_PAGESIZE);
	unsigned long pages = (mib << 20) / psize, i, bad = 0;
	struct runs before, after;
	char *buf;

	buf = mmap(NULL, pages * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(buf, pages * psize, MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++)
		memset(buf + i * psize, (int)(i * 7 + 1), psize);

	if (measure(buf, pages, psize, &before)) {
		perror("pagemap");
		return 1;
	}
	printf("buffer: %lu MiB at %p, %lu resident pages\n", mib, buf,
	       before.resident);
	printf("before: runs=%lu largest=%lu pages\n", before.runs,
	       before.largest);

	if (madvise(buf, pages * psize, MADV_CONTIG)) {
		printf("madvise(MADV_CONTIG): %s\n", strerror(errno));
		return 1;
	}
	printf("madvise(MADV_CONTIG) = 0\n");
	show_file_lines("/proc/self/smaps", "VmFlags", (unsigned long)buf);
	show_file_lines("/proc/self/contig", NULL, (unsigned long)buf);

	sleep(wait_s);
	show_file_lines("/proc/self/contig", NULL, (unsigned long)buf);
	if (measure(buf, pages, psize, &after)) {
		perror("pagemap");
		return 1;
	}
	for (i = 0; i < pages; i++)
		if (buf[i * psize] != (char)(i * 7 + 1) ||
		    buf[i * psize + psize - 1] != (char)(i * 7 + 1))
			bad++;
	printf("after %ds: runs=%lu largest=%lu pages; data check: %s (%lu bad pages)\n",
	       wait_s, after.runs, after.largest, bad ? "FAILED" : "ok", bad);
	return bad ? 1 : 0;
}
