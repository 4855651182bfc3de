// SPDX-License-Identifier: GPL-2.0
/*
 * exchange_bench: page exchange throughput against the alternatives, all in
 * one boot on the same memory.
 *
 *   exchange_bench [MiB]
 *
 * (1) order-0 exchange of random page pairs through the debugfs trigger,
 *     in place (exchange_bounce=0: word swap, not machine-check safe) and
 *     through the bounce page with machine-check safe reads (the
 *     default); (2) the same pairs as two migrations (the "fallback"
 *     path); (3) move_pages(2) of the buffer between the two NUMA nodes;
 *     (4) memcpy of the buffer; (5) THP exchange of 2 MiB pairs, in both
 *     modes. Prints one line per measurement: "name ops ops/s MiB/s", MiB
 *     counting the data that moved.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define DEBUGFS "/sys/kernel/debug/exchange_pages"
#define BOUNCE "/sys/kernel/debug/exchange_bounce"
#define THP (2UL << 20)

static long psize;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret;

	if (fd < 0)
		return -1;
	ret = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return ret;
}

/* @ops exchanges of random pairs of @unit-sized blocks; returns seconds. */
static double run_pairs(int fd, char *buf, unsigned long blocks,
			unsigned long unit, int ops, const char *extra,
			int *failed)
{
	unsigned int seed = 42;
	char cmd[128];
	double t0 = now();
	int i, n;

	*failed = 0;
	for (i = 0; i < ops; i++) {
		unsigned long a = rand_r(&seed) % blocks, b;

		do
			b = rand_r(&seed) % blocks;
		while (b == a);
		n = snprintf(cmd, sizeof(cmd), "%d %p %p%s", getpid(),
			     buf + a * unit, buf + b * unit, extra);
		if (pwrite(fd, cmd, n, 0) != n)
			(*failed)++;
	}
	return now() - t0;
}

static void report(const char *name, int ops, int failed, double secs,
		   double mib)
{
	printf("%-28s %7d %10.0f %10.1f%s\n", name, ops - failed,
	       (ops - failed) / secs, mib / secs,
	       failed ? "  (some failed)" : "");
	if (failed)
		printf("#   %d of %d operations failed\n", failed, ops);
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	unsigned long pages, i, nr_thp;
	int fd, failed, ops;
	double secs;
	char *buf, *dst, *raw, *thp;
	void **addrs;
	int *nodes, *status;

	psize = sysconf(_SC_PAGESIZE);
	pages = (mib << 20) / psize;
	fd = open(DEBUGFS, O_WRONLY);
	if (fd < 0) {
		perror(DEBUGFS);
		return 1;
	}
	buf = mmap(NULL, pages * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, pages * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || dst == MAP_FAILED)
		return 1;
	madvise(buf, pages * psize, MADV_NOHUGEPAGE);
	memset(buf, 1, pages * psize);
	memset(dst, 2, pages * psize);

	printf("# %lu MiB, page size %ld\n", mib, psize);
	printf("%-28s %7s %10s %10s\n", "# measurement", "ops", "ops/s", "MiB/s");

	ops = pages / 2;
	write_str(BOUNCE, "0");
	secs = run_pairs(fd, buf, pages, psize, ops, "", &failed);
	report("exchange_4k_inplace", ops, failed, secs,
	       2.0 * (ops - failed) * psize / (1 << 20));
	write_str(BOUNCE, "1");
	secs = run_pairs(fd, buf, pages, psize, ops, "", &failed);
	report("exchange_4k_bounce", ops, failed, secs,
	       2.0 * (ops - failed) * psize / (1 << 20));
	secs = run_pairs(fd, buf, pages, psize, ops, " fallback", &failed);
	report("two_migrations_4k", ops, failed, secs,
	       2.0 * (ops - failed) * psize / (1 << 20));

	/* move_pages(2): every page to node 1 and back. */
	addrs = calloc(pages, sizeof(*addrs));
	nodes = calloc(pages, sizeof(*nodes));
	status = calloc(pages, sizeof(*status));
	for (i = 0; i < pages; i++)
		addrs[i] = buf + i * psize;
	for (int node = 1; node >= 0; node--) {
		for (i = 0; i < pages; i++)
			nodes[i] = node;
		secs = now();
		if (syscall(SYS_move_pages, 0, pages, addrs, nodes, status, 0))
			perror("move_pages");
		secs = now() - secs;
		report(node ? "move_pages_to_node1" : "move_pages_to_node0",
		       pages, 0, secs, (double)mib);
	}

	secs = now();
	for (i = 0; i < 4; i++)
		memcpy(dst, buf, pages * psize);
	secs = now() - secs;
	report("memcpy", 4, 0, secs, 4.0 * mib);

	/* THP pairs. */
	raw = mmap(NULL, pages * psize + THP, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	thp = (char *)(((uintptr_t)raw + THP - 1) & ~(THP - 1));
	nr_thp = pages * psize / THP;
	madvise(thp, nr_thp * THP, MADV_HUGEPAGE);
	memset(thp, 3, nr_thp * THP);
	ops = nr_thp * 4;
	write_str(BOUNCE, "0");
	secs = run_pairs(fd, thp, nr_thp, THP, ops, "", &failed);
	report("exchange_thp_inplace", ops, failed, secs,
	       2.0 * (ops - failed) * THP / (1 << 20));
	write_str(BOUNCE, "1");		/* the default */
	secs = run_pairs(fd, thp, nr_thp, THP, ops, "", &failed);
	report("exchange_thp", ops, failed, secs,
	       2.0 * (ops - failed) * THP / (1 << 20));
	return 0;
}
