/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the page exchange selftests: the debugfs trigger, pagemap,
 * /proc/kpagecount, /proc/kpageflags and /proc/vmstat.
 */
#ifndef __EXCHANGE_UTIL_H
#define __EXCHANGE_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/swap.h>

#define EXCHANGE_DEBUGFS	"/sys/kernel/debug/exchange_pages"
#define PROC_KPAGECOUNT		"/proc/kpagecount"
#define PROC_KPAGEFLAGS		"/proc/kpageflags"
#define PROC_STAT_REFRESH	"/proc/sys/vm/stat_refresh"
#define PROC_VMSTAT		"/proc/vmstat"

#ifndef BIT_ULL
#define BIT_ULL(nr)		(1ULL << (nr))
#endif

/*
 * Flags and counters shared between threads or processes: relaxed atomic
 * accesses, which the compiler may neither tear, merge nor drop.
 */
#ifndef READ_ONCE
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#endif
#ifndef WRITE_ONCE
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)
#endif

#define PM_PFN_MASK		((1ULL << 55) - 1)
#define PM_PRESENT		BIT_ULL(63)

#define KPF_LOCKED		0
#define KPF_DIRTY		4
#define KPF_LRU			5
#define KPF_ACTIVE		6
#define KPF_MMAP		11
#define KPF_ANON		12
#define KPF_SWAPCACHE		13
#define KPF_SWAPBACKED		14
#define KPF_COMPOUND_HEAD	15
#define KPF_THP			22
#define KPF_UNEVICTABLE		18
#define KPF_MLOCKED		33

static inline bool exchange_present(void)
{
	return access(EXCHANGE_DEBUGFS, W_OK) == 0;
}

/* Run one exchange request; 0 or -errno of the write. */
static inline int exchange_request(const char *fmt_extra, pid_t pid1,
				   void *a1, void *a2)
{
	char cmd[160];
	int fd, n, ret = 0;

	fd = open(EXCHANGE_DEBUGFS, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = snprintf(cmd, sizeof(cmd), "%d %p %p%s%s", pid1, a1, a2,
		     fmt_extra ? " " : "", fmt_extra ? fmt_extra : "");
	if (write(fd, cmd, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

static inline int exchange_raw(const char *cmd)
{
	int fd, ret = 0;
	ssize_t n = strlen(cmd);

	fd = open(EXCHANGE_DEBUGFS, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, cmd, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/* The raw pagemap entry of @addr in @pid (0 if unreadable). */
static inline uint64_t pagemap_entry_of(pid_t pid, void *addr)
{
	char path[64];
	uint64_t e = 0;
	long psize = sysconf(_SC_PAGESIZE);
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (uintptr_t)addr / psize * sizeof(e)) !=
	    sizeof(e))
		e = 0;
	close(fd);
	return e;
}

/* PFN mapped at @addr in @pid (0 if none); needs root. */
static inline uint64_t pfn_of(pid_t pid, void *addr)
{
	uint64_t e = pagemap_entry_of(pid, addr);

	return (e & PM_PRESENT) ? (e & PM_PFN_MASK) : 0;
}

static inline uint64_t kpage_read(const char *file, uint64_t pfn)
{
	uint64_t v = 0;
	int fd = open(file, O_RDONLY);

	if (fd < 0)
		return ~0ULL;
	if (pread(fd, &v, sizeof(v), pfn * sizeof(v)) != sizeof(v))
		v = ~0ULL;
	close(fd);
	return v;
}

static inline uint64_t kpagecount(uint64_t pfn)
{
	return kpage_read(PROC_KPAGECOUNT, pfn);
}

static inline uint64_t kpageflags(uint64_t pfn)
{
	return kpage_read(PROC_KPAGEFLAGS, pfn);
}

/* Fold the per-CPU vmstat deltas into the global counters (root). */
static inline void stat_refresh(void)
{
	int fd = open(PROC_STAT_REFRESH, O_WRONLY);

	if (fd >= 0) {
		/* EINVAL means a counter is negative: the checks will say. */
		ssize_t ret = write(fd, "1", 1);

		(void)ret;
		close(fd);
	}
}

/*
 * A field of /proc/vmstat, a node's vmstat, /proc/meminfo-style files; -1
 * if absent. Counters are folded first: per-CPU deltas hide small changes.
 */
static inline long stat_field(const char *file, const char *key)
{
	char line[256], name[128];
	long val = -1, v;
	FILE *f;

	stat_refresh();
	f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127[^: ]%*[: ] %ld", name, &v) == 2 &&
		    !strcmp(name, key)) {
			val = v;
			break;
		}
	}
	fclose(f);
	return val;
}

static inline long vmstat(const char *key)
{
	return stat_field(PROC_VMSTAT, key);
}

/* Wait up to @secs for nr_isolated_anon and _file to be 0 again. */
static inline bool isolated_settles(int secs)
{
	int i;

	for (i = 0; i < secs * 10; i++) {
		if (!vmstat("nr_isolated_anon") && !vmstat("nr_isolated_file"))
			return true;
		usleep(100000);
	}
	return false;
}

/* Fill a page with a pattern derived from @seed; check it back. */
static inline void fill_page(void *p, size_t len, unsigned int seed)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / sizeof(*w); i++)
		w[i] = ((uint64_t)seed << 32) ^ (i * 0x9e3779b97f4a7c15ULL);
}

static inline bool check_page(const void *p, size_t len, unsigned int seed)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / sizeof(*w); i++)
		if (w[i] != (((uint64_t)seed << 32) ^
			     (i * 0x9e3779b97f4a7c15ULL)))
			return false;
	return true;
}

#define THP_SIZE	(2UL << 20)

static inline void *map_anon(size_t len, int seed)
{
	long psize = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t off;

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	for (off = 0; off < len; off += psize)
		fill_page(p + off, psize, seed + off / psize);
	return p;
}

/* A tmpfs file of @pages pages, mapped shared and filled. */
static inline void *map_tmpfs(int *fdp, size_t len, int seed)
{
	long psize = sysconf(_SC_PAGESIZE);
	char path[] = "/dev/shm/exchange-XXXXXX";
	size_t off;
	char *p;
	int fd;

	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	unlink(path);
	if (ftruncate(fd, len)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	for (off = 0; off < len; off += psize)
		fill_page(p + off, psize, seed + off / psize);
	*fdp = fd;
	return p;
}

/* Read a one-line sysfs file, without its newline. */
static inline int read_sysfs(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY), err;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static inline int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static inline char *map_thp(int seed)
{
	long psize = sysconf(_SC_PAGESIZE);
	char *raw, *p;
	size_t off;

	raw = mmap(NULL, 2 * THP_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)raw + THP_SIZE - 1) & ~(THP_SIZE - 1));
	if (madvise(p, THP_SIZE, MADV_HUGEPAGE))
		return NULL;
	for (off = 0; off < THP_SIZE; off += psize)
		fill_page(p + off, psize, seed + off / psize);
	return p;
}

static inline bool is_thp(void *p)
{
	uint64_t f = kpageflags(pfn_of(getpid(), p));

	return f != ~0ULL && (f & (1ULL << KPF_THP));
}

static inline bool pfn_has(uint64_t pfn, int kpf)
{
	uint64_t f = kpageflags(pfn);

	return pfn && f != ~0ULL && (f & (1ULL << kpf));
}

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A pageblock that @p's pages (@pages of them) fill: the index of the
 * page at its middle frame, or -1. alloc_contig_range() needs a movable
 * block, and ours is one.
 */
static inline long page_in_own_block(char *p, unsigned long pages)
{
	const unsigned long block = 512;
	long psize = sysconf(_SC_PAGESIZE);
	uint64_t *pfns = calloc(pages, sizeof(*pfns)), target = 0;
	unsigned long i, run = 1;
	long idx = -1;

	if (!pfns)
		return -1;
	for (i = 0; i < pages; i++)
		pfns[i] = pfn_of(getpid(), p + i * psize);
	qsort(pfns, pages, sizeof(*pfns), cmp_u64);
	for (i = 1; i < pages && !target; i++) {
		run = pfns[i] == pfns[i - 1] + 1 ? run + 1 : 1;
		if (run >= block && !(pfns[i - block + 1] % block))
			target = pfns[i - block / 2];
	}
	for (i = 0; target && i < pages; i++)
		if (pfn_of(getpid(), p + i * psize) == target)
			idx = i;
	free(pfns);
	return idx;
}

/* A zram swap device, for the tests that swap. */
struct swap_dev {
	int id;			/* zram device number, -1 if none */
	bool added;		/* hot-added here: hot-removed at teardown */
	bool on;		/* swapon() succeeded */
	char path[32];		/* /dev/zramN */
};

#define SWAP_DEV_SIZE	(32UL << 20)

/* The header mkswap(8) writes: version 1, no bad pages, no label. */
static inline int write_swap_header(const char *dev, size_t size)
{
	long psize = sysconf(_SC_PAGESIZE);
	/* version, last_page, nr_badpages, after 1024 bytes of boot block */
	uint32_t info[3] = { 1, size / psize - 1, 0 };
	char *page = calloc(1, psize);
	int fd, ret = 0;
	ssize_t n;

	if (!page)
		return -ENOMEM;
	memcpy(page + 1024, info, sizeof(info));
	memcpy(page + psize - 10, "SWAPSPACE2", 10);
	fd = open(dev, O_WRONLY);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	n = pwrite(fd, page, psize, 0);
	if (n < 0 || fsync(fd))
		ret = -errno;
	else if (n != psize)
		ret = -EIO;
	close(fd);
out:
	free(page);
	return ret;
}

/*
 * Swap on a zram device, at the highest priority so that reclaim picks it:
 * zram0 if it is unused, else a hot-added one. NULL, or why not.
 */
static inline const char *swap_dev_setup(struct swap_dev *s)
{
	static char why[128];
	char path[64], buf[16];
	int ret;

	s->id = -1;
	if (read_sysfs("/sys/block/zram0/initstate", buf, sizeof(buf)) == 0 &&
	    !strcmp(buf, "0")) {
		s->id = 0;
	} else if (read_sysfs("/sys/class/zram-control/hot_add", buf,
			      sizeof(buf)) == 0) {
		s->id = atoi(buf);
		s->added = true;
	} else {
		return "no zram device (CONFIG_ZRAM)";
	}
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", s->id);
	snprintf(buf, sizeof(buf), "%lu", SWAP_DEV_SIZE);
	ret = write_sysctl(path, buf);
	if (ret) {
		snprintf(why, sizeof(why), "zram%d disksize: %s", s->id,
			 strerror(-ret));
		return why;
	}
	snprintf(s->path, sizeof(s->path), "/dev/zram%d", s->id);
	ret = write_swap_header(s->path, SWAP_DEV_SIZE);
	if (ret) {
		snprintf(why, sizeof(why), "swap header on %s: %s", s->path,
			 strerror(-ret));
		return why;
	}
	if (swapon(s->path, SWAP_FLAG_PREFER | SWAP_FLAG_PRIO_MASK)) {
		snprintf(why, sizeof(why), "swapon %s: %s", s->path,
			 strerror(errno));
		return why;
	}
	s->on = true;
	return NULL;
}

/* swapoff(): every swapped page is read back in. 0 or -errno. */
static inline int swap_dev_off(struct swap_dev *s)
{
	if (!s->on)
		return 0;
	if (swapoff(s->path))
		return -errno;
	s->on = false;
	return 0;
}

static inline void swap_dev_teardown(struct swap_dev *s)
{
	char path[64], id[16];

	if (s->id < 0 || swap_dev_off(s))
		return;
	snprintf(path, sizeof(path), "/sys/block/zram%d/reset", s->id);
	write_sysctl(path, "1");
	if (s->added) {
		snprintf(id, sizeof(id), "%d", s->id);
		write_sysctl("/sys/class/zram-control/hot_remove", id);
	}
	s->id = -1;
}

/* The number a file of cgroup @cg (under /sys/fs/cgroup) starts with. */
static inline long cg_read(const char *cg, const char *file)
{
	char path[256], buf[64];
	long v = -1;
	int fd;

	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s", cg, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = atol(buf);
	close(fd);
	return v;
}

/* The value of "@key N" in a flat-keyed file of cgroup @cg; -1 if none. */
static inline long cg_key(const char *cg, const char *file, const char *key)
{
	char path[256], k[64];
	long v, found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s", cg, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", k, &v) == 2)
		if (!strcmp(k, key)) {
			found = v;
			break;
		}
	fclose(f);
	return found;
}

/* Moves the calling process into cgroup @cg ("" for the root). */
static inline int cg_enter(const char *cg)
{
	char path[256], pid[32];

	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", getpid());
	return write_sysctl(path, pid);
}

#endif /* __EXCHANGE_UTIL_H */
