// SPDX-License-Identifier: GPL-2.0
/*
 * contig_demo: what MADV_CONTIG does to a process, as seen from user space.
 *
 * Maps and populates a buffer, shows its physical runs (from pagemap, as
 * root), advises it with MADV_CONTIG, shows the vma flag in smaps and
 * kcontigd's view in /proc/self/contig, waits until kcontigd says the vma
 * is done (at most the given number of seconds), and shows the runs again
 * with the time taken and a data check.
 *
 *   contig_demo [MiB] [wait-seconds] [--thp] [--busy] [--move-pages NODE]
 *
 * --busy keeps the owner working while kcontigd works, as an application
 * that goes on after madvise() does: a second thread, every 100 ms, reads
 * its own /proc/self/pagemap for the buffer and mallocs, touches and frees
 * 512 KiB (above glibc's mmap threshold: an mmap and a munmap, each taking
 * the mmap lock for writing).
 *
 * --thp backs the buffer with transparent huge pages where it can
 * (MADV_HUGEPAGE) instead of forbidding them. --move-pages then times
 * move_pages(2) of the same buffer to NODE, the kernel's own way of moving
 * that much memory, and prints kcontigd's throughput as a ratio of it.
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
#include <sys/syscall.h>
#include <pthread.h>

#ifndef MADV_CONTIG
#define MADV_CONTIG	26
#endif
#ifndef MADV_NOCONTIG
#define MADV_NOCONTIG	27
#endif
#define MPOL_MF_MOVE	(1 << 1)

struct runs {
	unsigned long resident, runs, largest, r99;
};

static int cmp_desc(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The fewest runs covering 99% of the resident pages. */
static unsigned long r99_of(unsigned long *lens, unsigned long n,
			    unsigned long resident)
{
	unsigned long need = (resident * 99 + 99) / 100, covered = 0, i;

	qsort(lens, n, sizeof(*lens), cmp_desc);
	for (i = 0; i < n && covered < need; i++)
		covered += lens[i];
	return i;
}

/* Runs of consecutive pfns over consecutive virtual pages (pagemap). */
static int measure(char *buf, unsigned long pages, long psize, struct runs *r)
{
	unsigned long i, len = 0, prev = 0, *lens;
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
	lens = calloc(pages + 1, sizeof(*lens));
	if (!lens) {
		free(pm);
		return -ENOMEM;
	}
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
		lens[r->runs - 1] = len;
		if (len > r->largest)
			r->largest = len;
		prev = pfn;
	}
	r->r99 = r99_of(lens, r->runs, r->resident);
	free(lens);
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

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The /proc/self/contig line of the vma at @buf into @line; "" if none. */
static void contig_line(char *buf, char *line, size_t len)
{
	unsigned long s, e;
	FILE *f = fopen("/proc/self/contig", "r");

	line[0] = 0;
	if (!f)
		return;
	while (fgets(line, len, f))
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 &&
		    s <= (unsigned long)buf && (unsigned long)buf < e)
			break;
	if (ferror(f) || feof(f))
		line[0] = 0;
	fclose(f);
}

/* The value of field @key ("state=", "in_place=", ...) in @line, or "". */
static void contig_field(const char *line, const char *key, char *val)
{
	const char *p = strstr(line, key);

	val[0] = 0;
	if (p)
		sscanf(p + strlen(key), "%31s", val);
}

/* Time move_pages(2) of the buffer to @node; MiB/s, or 0 on failure. */
static double time_move_pages(char *buf, unsigned long pages, long psize,
			      int node, unsigned long mib)
{
	void **addrs = calloc(pages, sizeof(*addrs));
	int *nodes = calloc(pages, sizeof(*nodes));
	int *status = calloc(pages, sizeof(*status));
	unsigned long i, moved = 0;
	double t, mibs = 0;
	long rc;

	if (!addrs || !nodes || !status)
		goto out;
	for (i = 0; i < pages; i++) {
		addrs[i] = buf + i * psize;
		nodes[i] = node;
	}
	t = now();
	rc = syscall(SYS_move_pages, 0, pages, addrs, nodes, status,
		     MPOL_MF_MOVE);
	t = now() - t;
	for (i = 0; i < pages; i++)
		moved += status[i] == node;
	printf("move_pages to node %d: rc=%ld, %lu of %lu pages on node %d, %.2f s, %.1f MiB/s\n",
	       node, rc, moved, pages, node, t, mib * moved / pages / t);
	if (rc >= 0 && moved == pages)
		mibs = mib / t;
out:
	free(addrs);
	free(nodes);
	free(status);
	return mibs;
}

struct busy {
	char *buf;
	unsigned long pages;
	volatile int stop;
	unsigned long rounds;
};

/* The owner's other work: pagemap reads and 512 KiB malloc/free. */
static void *busy_owner(void *arg)
{
	struct busy *b = arg;
	uint64_t *pm = malloc(b->pages * sizeof(*pm));
	long psize = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY);

	while (!b->stop && pm && fd >= 0) {
		char *p = malloc(512 << 10);
		ssize_t n;

		n = pread(fd, pm, b->pages * sizeof(*pm),
			  (uintptr_t)b->buf / psize * sizeof(*pm));
		if (p) {
			memset(p, 1, 512 << 10);
			free(p);
		}
		if (n < 0)
			break;
		b->rounds++;
		usleep(100000);
	}
	if (fd >= 0)
		close(fd);
	free(pm);
	return NULL;
}

int main(int argc, char **argv)
{
	struct busy busy = { };
	pthread_t busy_thread;
	int busy_on = 0;
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	int wait_s = argc > 2 ? atoi(argv[2]) : 120;
	long psize = sysconf(_SC_PAGESIZE);
	unsigned long pages = (mib << 20) / psize, i, bad = 0;
	double t0, elapsed, t_in_place = 0, mp;
	int thp = 0, move_node = -1, a;
	struct runs before, after;
	char state[32], val[32], line[512];
	char *buf;

	for (a = 3; a < argc; a++) {
		if (!strcmp(argv[a], "--thp")) {
			thp = 1;
		} else if (!strcmp(argv[a], "--busy")) {
			busy_on = 1;
		} else if (!strcmp(argv[a], "--move-pages") && a + 1 < argc) {
			move_node = atoi(argv[++a]);
		} else {
			fprintf(stderr, "usage: %s [MiB] [wait-seconds] [--thp] [--busy] [--move-pages NODE]\n",
				argv[0]);
			return 2;
		}
	}
	if (!mib || wait_s <= 0) {
		fprintf(stderr, "%s: MiB and wait-seconds must be positive\n",
			argv[0]);
		return 2;
	}

	/* 2 MiB aligned, so that every part of it can be a huge page. */
	buf = mmap(NULL, pages * psize + (2UL << 20), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	buf = (char *)(((uintptr_t)buf + (2UL << 20) - 1) & ~((2UL << 20) - 1));
	madvise(buf, pages * psize, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++)
		memset(buf + i * psize, (int)(i * 7 + 1), psize);

	if (measure(buf, pages, psize, &before)) {
		perror("pagemap");
		return 1;
	}
	printf("buffer: %lu MiB at %p, %lu resident pages%s\n", mib, buf,
	       before.resident, thp ? ", MADV_HUGEPAGE" : "");
	if (thp)
		show_file_lines("/proc/self/smaps", "AnonHugePages",
				(unsigned long)buf);
	printf("before: runs=%lu largest=%lu pages R99=%lu\n", before.runs,
	       before.largest, before.r99);

	if (madvise(buf, pages * psize, MADV_CONTIG)) {
		printf("madvise(MADV_CONTIG): %s\n", strerror(errno));
		return 1;
	}
	printf("madvise(MADV_CONTIG) = 0\n");
	if (busy_on) {
		busy.buf = buf;
		busy.pages = pages;
		if (pthread_create(&busy_thread, NULL, busy_owner, &busy)) {
			perror("pthread_create");
			return 1;
		}
		printf("busy owner: pagemap read + 512 KiB malloc/free every 100 ms\n");
	}
	show_file_lines("/proc/self/smaps", "VmFlags", (unsigned long)buf);
	show_file_lines("/proc/self/contig", NULL, (unsigned long)buf);

	/*
	 * Wait for kcontigd: the first time every resident page is in place
	 * is when the work is done; the state turns to done one check later.
	 */
	t0 = now();
	for (;;) {
		contig_line(buf, line, sizeof(line));
		contig_field(line, " state=", state);
		contig_field(line, " in_place=", val);
		if (!t_in_place && strtoul(val, NULL, 10) == before.resident) {
			t_in_place = now() - t0;
			printf("all %lu pages in place after %.2f s\n",
			       before.resident, t_in_place);
		}
		if (!strcmp(state, "done") || !strcmp(state, "blocked") ||
		    now() - t0 > wait_s) {
			/* What the kernel said, in the line the state came from. */
			printf("state %s after %.1f s\n", state, now() - t0);
			printf("  /proc/self/contig: %s", line);
			break;
		}
		usleep(50000);
	}
	elapsed = t_in_place ? t_in_place : now() - t0;
	if (busy_on) {
		busy.stop = 1;
		pthread_join(busy_thread, NULL);
		printf("busy owner: %lu rounds\n", busy.rounds);
	}
	if (measure(buf, pages, psize, &after)) {
		perror("pagemap");
		return 1;
	}
	for (i = 0; i < pages; i++)
		if (buf[i * psize] != (char)(i * 7 + 1) ||
		    buf[i * psize + psize - 1] != (char)(i * 7 + 1))
			bad++;
	printf("after:  runs=%lu largest=%lu pages R99=%lu\n", after.runs,
	       after.largest, after.r99);
	printf("time %.2f s, %.1f MiB/s; data check: %s (%lu bad pages)\n",
	       elapsed, mib / (elapsed > 0 ? elapsed : 1), bad ? "FAILED" : "ok",
	       bad);
	if (move_node >= 0) {
		/* Off the buffer first, or kcontigd would move it back. */
		madvise(buf, pages * psize, MADV_NOCONTIG);
		mp = time_move_pages(buf, pages, psize, move_node, mib);
		if (mp > 0 && t_in_place)
			printf("kcontigd / move_pages throughput: %.2fx\n",
			       mib / t_in_place / mp);
	}
	return bad ? 1 : 0;
}
