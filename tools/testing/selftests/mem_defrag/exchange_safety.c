// SPDX-License-Identifier: GPL-2.0
/*
 * What exchange must never break, each from a defect found by review:
 * COW isolation after exchanging a partially unmapped THP, per-node
 * mlock counters, compact_unevictable_allowed on every path, compound
 * targets below pageblock order, and the refusals the header promises
 * (hugetlb of equal order, fs-private page cache of ext4 and btrfs),
 * with real page cache on xfs exchanged both ways; and a memory error in
 * the middle of the data swap (injected through debugfs
 * fail_exchange_copy) leaves both contents where they were.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "exchange_util.h"

#define UNEVICTABLE_KNOB	"/proc/sys/vm/compact_unevictable_allowed"
#define MTHP_64K_KNOB \
	"/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled"
#define SPLIT_DEBUGFS		"/sys/kernel/debug/split_huge_pages"

static long psize;

FIXTURE(safety)
{
	char unevictable[16];
};

FIXTURE_SETUP(safety)
{
	psize = sysconf(_SC_PAGESIZE);
	if (geteuid())
		SKIP(return, "needs root (debugfs, pagemap PFNs)");
	if (!exchange_present())
		SKIP(return, "no %s", EXCHANGE_DEBUGFS);
	ASSERT_EQ(read_sysfs(UNEVICTABLE_KNOB, self->unevictable,
			     sizeof(self->unevictable)), 0);
}

FIXTURE_TEARDOWN(safety)
{
	if (geteuid() || !exchange_present())
		return;
	write_sysctl(UNEVICTABLE_KNOB, self->unevictable);
	EXPECT_TRUE(isolated_settles(10));
}

/* "Mlocked:" of a node's meminfo, in kB; -1 if unreadable. */
static long node_mlocked_kb(int node)
{
	char path[64], line[128], name[64];
	long v, val = -1;
	FILE *f;

	stat_refresh();
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo",
		 node);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Node %*d %63[^:]: %ld", name, &v) == 2 &&
		    !strcmp(name, "Mlocked"))
			val = v;
	fclose(f);
	return val;
}

static int move_to_node(void *addr, int node)
{
	int status = -1;

	if (syscall(SYS_move_pages, 0, 1, &addr, &node, &status, 0))
		return -errno;
	return status;
}

/* The node @addr's page is on (move_pages(2) without nodes), or -errno. */
static int page_node(void *addr)
{
	int status = -1;

	if (syscall(SYS_move_pages, 0, 1, &addr, NULL, &status, 0))
		return -errno;
	return status;
}

/*
 * A THP that lost one 4 KiB page while exclusive (MADV_DONTNEED, as
 * jemalloc does) keeps PG_anon_exclusive on that unmapped tail. Exchange
 * it with a whole THP, fork, split the PMD and write in the parent: the
 * child must still read the old data, not share the parent's write.
 */
TEST_F_TIMEOUT(safety, thp_partially_unmapped_cow, 120)
{
	const int hole = 7;
	char *a = map_thp(1000), *t = map_thp(3000), c;
	int go[2], status;
	pid_t pid;

	ASSERT_NE(a, NULL);
	ASSERT_NE(t, NULL);
	if (!is_thp(a) || !is_thp(t))
		SKIP(return, "no THP could be allocated");
	ASSERT_EQ(madvise(t + hole * psize, psize, MADV_DONTNEED), 0);
	ASSERT_EQ(exchange_request(NULL, getpid(), a, t), 0);
	ASSERT_TRUE(is_thp(a));
	ASSERT_TRUE(check_page(a + hole * psize, psize, 1000 + hole));

	ASSERT_EQ(pipe(go), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(check_page(a + hole * psize, psize, 1000 + hole) ? 0 : 1);
	}
	/* Split the shared PMD in the parent, then write the page. */
	ASSERT_EQ(mprotect(a + 100 * psize, psize, PROT_READ), 0);
	fill_page(a + hole * psize, psize, 5555);
	ASSERT_EQ(write(go[1], "g", 1), 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0)
		TH_LOG("the child saw the parent's write: COW was bypassed");
	EXPECT_TRUE(check_page(a + hole * psize, psize, 5555));
	munmap(a, THP_SIZE);
	munmap(t, THP_SIZE);
}

/* Mlocked contents moving to another node take their NR_MLOCK along. */
TEST_F(safety, mlocked_across_nodes)
{
	char *p = map_anon(2 * psize, 61);
	long m0, m1;

	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "one NUMA node");
	ASSERT_NE(p, NULL);
	ASSERT_EQ(write_sysctl(UNEVICTABLE_KNOB, "1"), 0);
	ASSERT_EQ(move_to_node(p, 0), 0);
	ASSERT_EQ(move_to_node(p + psize, 1), 1);
	m0 = node_mlocked_kb(0);
	m1 = node_mlocked_kb(1);
	ASSERT_EQ(mlock(p, psize), 0);
	EXPECT_EQ(node_mlocked_kb(0), m0 + psize / 1024);

	ASSERT_EQ(exchange_request(NULL, getpid(), p, p + psize), 0);
	EXPECT_EQ(page_node(p), 1);
	EXPECT_EQ(node_mlocked_kb(0), m0) TH_LOG("node 0 kept the mlock count");
	EXPECT_EQ(node_mlocked_kb(1), m1 + psize / 1024)
		TH_LOG("node 1 did not get it");
	ASSERT_EQ(munlock(p, psize), 0);
	EXPECT_EQ(node_mlocked_kb(0), m0);
	EXPECT_EQ(node_mlocked_kb(1), m1);
	EXPECT_TRUE(check_page(p, psize, 61));
	munmap(p, 2 * psize);
}

/*
 * With vm.compact_unevictable_allowed=0 no mlocked page is moved, by
 * exchange, by the migration fallback, or as the occupant that the
 * fallback evacuates; with 1 they all are.
 */
TEST_F_TIMEOUT(safety, unevictable_honoured_by_fallback, 120)
{
	const unsigned long pages = 4096;
	char *p = map_anon(pages * psize, 71);
	char *src = map_anon(psize, 72);
	uint64_t psrc, pocc;
	long occ;
	int ret;

	ASSERT_NE(p, NULL);
	ASSERT_NE(src, NULL);
	occ = page_in_own_block(p, pages);
	if (occ < 0)
		SKIP(return, "no pageblock filled by the buffer");

	ASSERT_EQ(write_sysctl(UNEVICTABLE_KNOB, "0"), 0);
	/* An mlocked source. */
	ASSERT_EQ(mlock(src, psize), 0);
	psrc = pfn_of(getpid(), src);
	ret = exchange_request("fallback", getpid(), src, p + occ * psize);
	EXPECT_EQ(ret, -EPERM) TH_LOG("mlocked source: %d", ret);
	EXPECT_EQ(pfn_of(getpid(), src), psrc);
	ASSERT_EQ(munlock(src, psize), 0);

	/* An mlocked occupant of the target frame. */
	ASSERT_EQ(mlock(p + occ * psize, psize), 0);
	pocc = pfn_of(getpid(), p + occ * psize);
	ret = exchange_request("fallback", getpid(), src, p + occ * psize);
	EXPECT_EQ(ret, -EPERM) TH_LOG("mlocked occupant: %d", ret);
	EXPECT_EQ(pfn_of(getpid(), p + occ * psize), pocc);
	EXPECT_EQ(pfn_of(getpid(), src), psrc);

	/*
	 * Allowed: the occupant moves away and the source takes its frame.
	 * alloc_contig_range() may find the block busy for a moment (a page
	 * of it on its way through a per-CPU batch): a few tries.
	 */
	ASSERT_EQ(write_sysctl(UNEVICTABLE_KNOB, "1"), 0);
	for (int i = 0; i < 10; i++) {
		ret = exchange_request("fallback", getpid(), src,
				       p + occ * psize);
		if (ret != -EBUSY)
			break;
		usleep(100000);
	}
	/*
	 * What is under test is the refusal above; here the block can stay
	 * busy (an unmovable page the kernel put there meanwhile).
	 */
	EXPECT_TRUE(ret == 0 || ret == -EBUSY) TH_LOG("allowed: %d", ret);
	if (ret)
		TH_LOG("the target block stayed busy: not moved");
	else
		EXPECT_EQ(pfn_of(getpid(), src), pocc);
	EXPECT_TRUE(check_page(src, psize, 72));
	EXPECT_TRUE(check_page(p + occ * psize, psize, 71 + occ));
	munlock(p + occ * psize, psize);
	munmap(src, psize);
	munmap(p, pages * psize);
}

/* The bracketed choice of a THP "enabled" file ("always", "never"...). */
static void knob_choice(const char *line, char *out, size_t len)
{
	const char *b = strchr(line, '['), *e = b ? strchr(b, ']') : NULL;

	snprintf(out, len, "%.*s", b && e ? (int)(e - b - 1) : 5,
		 b && e ? b + 1 : "never");
}

/*
 * The migration fallback onto frames below pageblock order whose free
 * neighbours merge with them: a 64 KiB mTHP moved into 16 frames of a
 * 2 MiB block that is free around them. alloc_contig_range() must not be
 * asked for a compound page there (it warns and leaks the range).
 */
TEST_F_TIMEOUT(safety, fallback_mthp_into_free_neighbours, 120)
{
	const unsigned long nr = 16;
	char line[128], old[32], cmd[128], *raw, *m, *t;
	uint64_t base, pm;
	unsigned long i;
	int ret;

	if (read_sysfs(MTHP_64K_KNOB, line, sizeof(line)))
		SKIP(return, "no 64 KiB mTHP");
	if (access(SPLIT_DEBUGFS, W_OK))
		SKIP(return, "no %s", SPLIT_DEBUGFS);
	knob_choice(line, old, sizeof(old));
	ASSERT_EQ(write_sysctl(MTHP_64K_KNOB, "always"), 0);
	raw = mmap(NULL, 2 * nr * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(raw, MAP_FAILED);
	m = (char *)(((uintptr_t)raw + nr * psize - 1) & ~(nr * psize - 1));
	for (i = 0; i < nr; i++)
		fill_page(m + i * psize, psize, 900 + i);
	write_sysctl(MTHP_64K_KNOB, old);
	pm = pfn_of(getpid(), m);
	if (!pfn_has(pm, KPF_THP) || pm % nr ||
	    pfn_of(getpid(), m + (nr - 1) * psize) != pm + nr - 1)
		SKIP(return, "no 64 KiB mTHP could be allocated");

	/* A THP, split, with only its pages 16..31 still ours. */
	t = map_thp(3000);
	ASSERT_NE(t, NULL);
	if (!is_thp(t))
		SKIP(return, "no THP could be allocated");
	base = pfn_of(getpid(), t);
	ASSERT_EQ(madvise(t, nr * psize, MADV_DONTNEED), 0);
	ASSERT_EQ(madvise(t + 2 * nr * psize, THP_SIZE - 2 * nr * psize,
			  MADV_DONTNEED), 0);
	snprintf(cmd, sizeof(cmd), "%d,0x%lx,0x%lx", getpid(),
		 (unsigned long)t, (unsigned long)t + THP_SIZE);
	ASSERT_EQ(write_sysctl(SPLIT_DEBUGFS, cmd), 0);
	ASSERT_EQ(pfn_of(getpid(), t + nr * psize), base + nr);
	ASSERT_FALSE(pfn_has(base + nr, KPF_THP));

	ret = exchange_request("fallback", getpid(), m, t + nr * psize);
	ASSERT_EQ(ret, 0) TH_LOG("fallback: %s", strerror(-ret));
	EXPECT_EQ(pfn_of(getpid(), m), base + nr);
	EXPECT_EQ(pfn_of(getpid(), m + (nr - 1) * psize), base + 2 * nr - 1);
	EXPECT_TRUE(pfn_has(base + nr, KPF_THP));
	for (i = 0; i < nr; i++) {
		EXPECT_TRUE(check_page(m + i * psize, psize, 900 + i));
		EXPECT_TRUE(check_page(t + (nr + i) * psize, psize,
				       3000 + nr + i));
	}
	munmap(t, THP_SIZE);
	munmap(raw, 2 * nr * psize);
}

#define FAIL_PAGE_DIR	"/sys/kernel/debug/fail_page_alloc/"

/* Fail (or stop failing) every allocation of order 9 or more of this thread. */
static int fail_huge_allocs(bool on)
{
	if (!on)
		return write_sysctl(FAIL_PAGE_DIR "probability", "0") |
		       write_sysctl("/proc/thread-self/make-it-fail", "0") |
		       write_sysctl(FAIL_PAGE_DIR "task-filter", "N") |
		       write_sysctl(FAIL_PAGE_DIR "min-order", "1") |
		       write_sysctl(FAIL_PAGE_DIR "ignore-gfp-wait", "Y") |
		       write_sysctl(FAIL_PAGE_DIR "ignore-gfp-highmem", "Y");
	return write_sysctl(FAIL_PAGE_DIR "ignore-gfp-wait", "N") |
	       write_sysctl(FAIL_PAGE_DIR "ignore-gfp-highmem", "N") |
	       write_sysctl(FAIL_PAGE_DIR "min-order", "9") |
	       write_sysctl(FAIL_PAGE_DIR "verbose", "0") |
	       write_sysctl(FAIL_PAGE_DIR "interval", "1") |
	       write_sysctl(FAIL_PAGE_DIR "times", "-1") |
	       write_sysctl(FAIL_PAGE_DIR "task-filter", "Y") |
	       write_sysctl("/proc/thread-self/make-it-fail", "1") |
	       write_sysctl(FAIL_PAGE_DIR "probability", "100");
}

/*
 * The migration fallback onto a frame of a THP that is not the source's
 * leaves the THP whole (-EBUSY). alloc_contig_range() would migrate it
 * whole, and split it when no free 2 MiB block can take it (migrate_pages()
 * does on -ENOMEM): another's huge page made small for one page. Made
 * certain here by failing this thread's allocations of order 9 and up.
 */
TEST_F_TIMEOUT(safety, fallback_never_splits_occupant_thp, 120)
{
	char *t = map_thp(4000), *src = map_anon(psize, 4100);
	long splits;
	uint64_t pt, ps;
	unsigned long i;
	int ret;

	ASSERT_NE(t, NULL);
	ASSERT_NE(src, NULL);
	if (!is_thp(t))
		SKIP(return, "no THP could be allocated");
	if (access(FAIL_PAGE_DIR "min-order", W_OK) ||
	    access("/proc/thread-self/make-it-fail", W_OK))
		SKIP(return, "no fail_page_alloc (CONFIG_FAIL_PAGE_ALLOC)");
	pt = pfn_of(getpid(), t);
	ps = pfn_of(getpid(), src);
	splits = vmstat("thp_split_page");
	ASSERT_EQ(fail_huge_allocs(true), 0);
	/* Its first frame: alloc_contig_range() isolates from head pages. */
	ret = exchange_request("fallback", getpid(), src, t);
	fail_huge_allocs(false);
	TH_LOG("fallback: %d, thp_split_page +%ld", ret,
	       vmstat("thp_split_page") - splits);
	EXPECT_EQ(ret, -EBUSY);
	EXPECT_TRUE(is_thp(t));
	EXPECT_EQ(pfn_of(getpid(), t), pt);
	EXPECT_EQ(pfn_of(getpid(), src), ps);
	EXPECT_EQ(vmstat("thp_split_page"), splits);
	EXPECT_TRUE(check_page(src, psize, 4100));
	for (i = 0; i < THP_SIZE / psize; i++)
		if (!check_page(t + i * psize, psize, 4000 + i)) {
			EXPECT_TRUE(false) TH_LOG("THP page %lu changed", i);
			break;
		}
	munmap(t, THP_SIZE);
	munmap(src, psize);
}

/* hugetlb is refused even against a THP of the same order. */
TEST_F(safety, refuse_hugetlb_equal_order)
{
	char *h, *t = map_thp(121);
	uint64_t ph, pt;

	ASSERT_NE(t, NULL);
	if (!is_thp(t))
		SKIP(return, "no THP could be allocated");
	h = mmap(NULL, THP_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (h == MAP_FAILED)
		SKIP(return, "no hugetlb page (vm.nr_hugepages)");
	fill_page(h, psize, 122);
	ph = pfn_of(getpid(), h);
	pt = pfn_of(getpid(), t);
	EXPECT_EQ(exchange_request(NULL, getpid(), h, t), -EOPNOTSUPP);
	EXPECT_EQ(exchange_request(NULL, getpid(), t, h), -EOPNOTSUPP);
	EXPECT_EQ(pfn_of(getpid(), h), ph);
	EXPECT_EQ(pfn_of(getpid(), t), pt);
	EXPECT_TRUE(check_page(h, psize, 122));
	EXPECT_TRUE(check_page(t, psize, 121));
	munmap(h, THP_SIZE);
}

/*
 * A file of @pages pages on the filesystem mounted at @dir, written with
 * one pwrite(2) per page (so order-0 page cache folios), mapped shared.
 */
static char *map_fs_file(const char *dir, int *fdp, int pages, int seed)
{
	char path[128], *buf, *p;
	int fd, i;

	snprintf(path, sizeof(path), "%s/exchange-%d", dir, seed);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return NULL;
	unlink(path);
	buf = malloc(psize);
	for (i = 0; buf && i < pages; i++) {
		fill_page(buf, psize, seed + i);
		if (pwrite(fd, buf, psize, (off_t)i * psize) != psize)
			break;
	}
	free(buf);
	if (i < pages || fsync(fd)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, pages * psize, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	if (p == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	for (i = 0; i < pages; i++)
		if (!check_page(p + i * psize, psize, seed + i))
			return NULL;
	*fdp = fd;
	return p;
}

static bool fs_mounted(const char *dir)
{
	struct stat a, b;
	char parent[128];

	snprintf(parent, sizeof(parent), "%s/..", dir);
	return !stat(dir, &a) && !stat(parent, &b) && a.st_dev != b.st_dev;
}

/* Page cache with buffer heads (ext4) or btrfs private state: refused. */
static void refuse_fs_private(struct __test_metadata *_metadata,
			      const char *dir)
{
	uint64_t p0, p1;
	char *p;
	int fd;

	if (!fs_mounted(dir))
		SKIP(return, "%s is not mounted", dir);
	p = map_fs_file(dir, &fd, 2, 130);
	ASSERT_NE(p, NULL);
	p0 = pfn_of(getpid(), p);
	p1 = pfn_of(getpid(), p + psize);
	EXPECT_EQ(exchange_request(NULL, getpid(), p, p + psize), -EOPNOTSUPP);
	EXPECT_EQ(exchange_request("async", getpid(), p + psize, p),
		  -EOPNOTSUPP);
	EXPECT_EQ(pfn_of(getpid(), p), p0);
	EXPECT_EQ(pfn_of(getpid(), p + psize), p1);
	EXPECT_TRUE(check_page(p, psize, 130));
	EXPECT_TRUE(check_page(p + psize, psize, 131));
	munmap(p, 2 * psize);
	close(fd);
}

TEST_F(safety, refuse_ext4_buffer_heads)
{
	refuse_fs_private(_metadata, "/run/fs/ext4");
}

TEST_F(safety, refuse_btrfs_page_cache)
{
	refuse_fs_private(_metadata, "/run/fs/btrfs");
}

/*
 * xfs page cache (no private data on order-0 folios) is exchanged, dirty
 * or clean; what is written afterwards reaches the disk from the new
 * frames (checked with O_DIRECT reads, which bypass the page cache).
 */
TEST_F(safety, xfs_page_cache_to_disk)
{
	const char *dir = "/run/fs/xfs";
	char *p, *buf;
	uint64_t p0, p3;
	int fd, dfd, i;
	char path[128];

	if (!fs_mounted(dir))
		SKIP(return, "%s is not mounted", dir);
	snprintf(path, sizeof(path), "%s/direct-%d", dir, getpid());
	p = map_fs_file(dir, &fd, 4, 140);
	ASSERT_NE(p, NULL);
	p0 = pfn_of(getpid(), p);
	p3 = pfn_of(getpid(), p + 3 * psize);
	/* Clean pages. */
	ASSERT_EQ(exchange_request(NULL, getpid(), p, p + 3 * psize), 0);
	EXPECT_EQ(pfn_of(getpid(), p), p3);
	EXPECT_EQ(pfn_of(getpid(), p + 3 * psize), p0);
	/* Dirty pages, then written back from their new frames. */
	fill_page(p + psize, psize, 151);
	fill_page(p + 2 * psize, psize, 152);
	ASSERT_EQ(exchange_request(NULL, getpid(), p + psize, p + 2 * psize), 0);
	fill_page(p, psize, 150);
	ASSERT_EQ(msync(p, 4 * psize, MS_SYNC), 0);
	ASSERT_EQ(fsync(fd), 0);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	dfd = open(path, O_RDONLY | O_DIRECT);
	ASSERT_GE(dfd, 0);
	ASSERT_EQ(posix_memalign((void **)&buf, psize, psize), 0);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(pread(dfd, buf, psize, (off_t)i * psize), psize);
		EXPECT_TRUE(check_page(buf, psize, i == 3 ? 143 : 150 + i))
			TH_LOG("page %d on disk", i);
	}
	free(buf);
	close(dfd);
	munmap(p, 4 * psize);
	close(fd);
}

#define FAIL_COPY_DIR	"/sys/kernel/debug/fail_exchange_copy/"

/*
 * Make the @nth page copy of this thread's next exchange fail: the
 * fail_exchange_copy attribute filtered to this thread (make-it-fail),
 * once, after a budget ("space") of @nth - 1 copies. Unlike fail-nth,
 * which counts every fault-injection check of the thread (slab and page
 * allocations too, more of them in a kernel with memory debuggers), this
 * counts only the copies. @nth 0 disarms.
 */
static int fail_copy_nth(int nth)
{
	char v[32];

	if (!nth)
		return write_sysctl(FAIL_COPY_DIR "probability", "0") |
		       write_sysctl(FAIL_COPY_DIR "space", "0") |
		       write_sysctl(FAIL_COPY_DIR "task-filter", "N") |
		       write_sysctl("/proc/thread-self/make-it-fail", "0");
	snprintf(v, sizeof(v), "%ld", (long)(nth - 1) * psize + 1);
	return write_sysctl(FAIL_COPY_DIR "space", v) |
	       write_sysctl(FAIL_COPY_DIR "times", "1") |
	       write_sysctl(FAIL_COPY_DIR "interval", "1") |
	       write_sysctl(FAIL_COPY_DIR "task-filter", "Y") |
	       write_sysctl("/proc/thread-self/make-it-fail", "1") |
	       write_sysctl(FAIL_COPY_DIR "probability", "100");
}

/* 0 once the armed failure was injected (times counted down). */
static long fail_copy_left(void)
{
	char v[16];

	if (read_sysfs(FAIL_COPY_DIR "times", v, sizeof(v)))
		return -1;
	return atol(v);
}

static bool fail_copy_present(void)
{
	return !access(FAIL_COPY_DIR "space", W_OK) &&
	       !access("/proc/thread-self/make-it-fail", W_OK);
}

/*
 * Exchange @a and @b (@pages pages each, filled from @sa and @sb) with the
 * @nth copy failing: -EHWPOISON, and each content still on its own frame.
 */
static void copy_error_case(struct __test_metadata *_metadata, char *a,
			    char *b, int pages, int sa, int sb, int nth)
{
	uint64_t pa = pfn_of(getpid(), a), pb = pfn_of(getpid(), b);
	int i;

	ASSERT_EQ(fail_copy_nth(nth), 0);
	EXPECT_EQ(exchange_request(NULL, getpid(), a, b), -EHWPOISON);
	EXPECT_EQ(fail_copy_left(), 0)
		TH_LOG("copy %d was never reached: nothing was injected", nth);
	ASSERT_EQ(fail_copy_nth(0), 0);
	EXPECT_EQ(pfn_of(getpid(), a), pa);
	EXPECT_EQ(pfn_of(getpid(), b), pb);
	for (i = 0; i < pages; i++) {
		EXPECT_TRUE(check_page(a + i * psize, psize, sa + i))
			TH_LOG("page %d of the first content changed", i);
		EXPECT_TRUE(check_page(b + i * psize, psize, sb + i))
			TH_LOG("page %d of the second content changed", i);
	}
}

/*
 * A memory error while the data of two pages is swapped: in the read of
 * the first page (copy 1, into the bounce page) or in the middle of the
 * second (copy 2, which has already overwritten half of the first frame).
 */
TEST_F(safety, copy_error_leaves_both_pages)
{
	char *a = mmap(NULL, 2 * psize, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int nth;

	if (!fail_copy_present())
		SKIP(return, "no %s or make-it-fail (CONFIG_FAULT_INJECTION)",
		     FAIL_COPY_DIR);
	ASSERT_NE(a, MAP_FAILED);
	ASSERT_EQ(write_sysctl(FAIL_COPY_DIR "verbose", "0"), 0);
	fill_page(a, psize, 300);
	fill_page(a + psize, psize, 301);
	for (nth = 1; nth <= 2; nth++)
		copy_error_case(_metadata, a, a + psize, 1, 300, 301, nth);
	/* Nothing armed: the same pair exchanges. */
	EXPECT_EQ(exchange_request(NULL, getpid(), a, a + psize), 0);
	EXPECT_TRUE(check_page(a, psize, 300));
	EXPECT_TRUE(check_page(a + psize, psize, 301));
	munmap(a, 2 * psize);
}

/*
 * The same in page 300 of two THPs: the 300 pages already swapped are
 * swapped back, and the folios are whole and mapped as before.
 */
TEST_F_TIMEOUT(safety, copy_error_in_thp_undoes_swapped_pages, 120)
{
	char *a = map_thp(4000), *b = map_thp(5000);
	uint64_t pa, pb;

	if (!fail_copy_present())
		SKIP(return, "no %s or make-it-fail (CONFIG_FAULT_INJECTION)",
		     FAIL_COPY_DIR);
	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	if (!is_thp(a) || !is_thp(b))
		SKIP(return, "no THP could be allocated");
	ASSERT_EQ(write_sysctl(FAIL_COPY_DIR "verbose", "0"), 0);
	/* Two copies per page: the second copy of page 300. */
	copy_error_case(_metadata, a, b, THP_SIZE / psize, 4000, 5000,
			2 * 300 + 2);
	EXPECT_TRUE(is_thp(a));
	EXPECT_TRUE(is_thp(b));
	pa = pfn_of(getpid(), a);
	pb = pfn_of(getpid(), b);
	EXPECT_EQ(exchange_request(NULL, getpid(), a, b), 0);
	EXPECT_EQ(pfn_of(getpid(), a), pb);
	EXPECT_EQ(pfn_of(getpid(), b), pa);
	EXPECT_TRUE(check_page(a + 300 * psize, psize, 4300));
	EXPECT_TRUE(check_page(b + 299 * psize, psize, 5299));
	munmap(a, THP_SIZE);
	munmap(b, THP_SIZE);
}

TEST_HARNESS_MAIN
