// SPDX-License-Identifier: GPL-2.0
/*
 * exchange_folios() through /sys/kernel/debug/exchange_pages: for every kind
 * of page, the data stays with its virtual address while the frames swap,
 * every sharer sees the right data, counters follow the contents, and
 * refusals change nothing.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/io_uring.h>

#include "../kselftest_harness.h"
#include "exchange_util.h"

#define PM_SWAPPED	BIT_ULL(62)

static long psize;

/* Exchange a and b of this process and check frames and data. */
static int exchange_and_check(struct __test_metadata *_metadata, void *a,
			      int seed_a, void *b, int seed_b)
{
	uint64_t pa = pfn_of(getpid(), a), pb = pfn_of(getpid(), b);
	uint64_t ca, cb, fa, fb;
	int ret;

	EXPECT_NE(pa, 0);
	EXPECT_NE(pb, 0);
	ca = kpagecount(pa);
	cb = kpagecount(pb);
	fa = kpageflags(pa);
	fb = kpageflags(pb);
	ret = exchange_request(NULL, getpid(), a, b);
	EXPECT_EQ(ret, 0) TH_LOG("exchange: %s", strerror(-ret));
	if (ret)
		return ret;
	EXPECT_EQ(pfn_of(getpid(), a), pb);
	EXPECT_EQ(pfn_of(getpid(), b), pa);
	EXPECT_TRUE(check_page(a, psize, seed_a));
	EXPECT_TRUE(check_page(b, psize, seed_b));
	/* Mapcounts and the kind of page follow the contents. */
	EXPECT_EQ(kpagecount(pb), ca);
	EXPECT_EQ(kpagecount(pa), cb);
	EXPECT_EQ(!!(kpageflags(pb) & (1ULL << KPF_ANON)),
		  !!(fa & (1ULL << KPF_ANON)));
	EXPECT_EQ(!!(kpageflags(pa) & (1ULL << KPF_ANON)),
		  !!(fb & (1ULL << KPF_ANON)));
	EXPECT_EQ(!!(kpageflags(pb) & (1ULL << KPF_SWAPBACKED)),
		  !!(fa & (1ULL << KPF_SWAPBACKED)));
	return 0;
}

/*
 * The KSM knobs refuse_ksm changes, saved to be restored at teardown; run
 * comes first and is restored last.
 */
static const char * const ksm_knobs[] = {
	"run", "sleep_millisecs", "pages_to_scan", "smart_scan",
};

#define KSM_KNOBS	ARRAY_SIZE(ksm_knobs)

struct ksm_state {
	bool saved;
	char val[KSM_KNOBS][16];	/* "" if the knob does not exist */
};

static void ksm_path(char *path, size_t len, unsigned int knob)
{
	snprintf(path, len, "/sys/kernel/mm/ksm/%s", ksm_knobs[knob]);
}

/* Save the knobs, then let ksmd scan fast and merge at once. */
static int ksm_start(struct ksm_state *ksm)
{
	static const char * const fast[KSM_KNOBS] = { "1", "10", "1000", "0" };
	char path[64];
	unsigned int i;

	for (i = 0; i < KSM_KNOBS; i++) {
		ksm_path(path, sizeof(path), i);
		if (read_sysfs(path, ksm->val[i], sizeof(ksm->val[i])))
			ksm->val[i][0] = '\0';
	}
	if (!ksm->val[0][0])
		return -ENOENT;
	ksm->saved = true;
	for (i = KSM_KNOBS - 1; i > 0; i--) {
		ksm_path(path, sizeof(path), i);
		if (ksm->val[i][0])
			write_sysctl(path, fast[i]);
	}
	ksm_path(path, sizeof(path), 0);
	return write_sysctl(path, fast[0]);
}

/* Restore the knobs; unmerge everything if KSM was not running. */
static void ksm_restore(struct ksm_state *ksm)
{
	char path[64];
	unsigned int i;

	if (!ksm->saved)
		return;
	ksm_path(path, sizeof(path), 0);
	if (!strcmp(ksm->val[0], "0"))
		write_sysctl(path, "2");
	for (i = KSM_KNOBS - 1; i > 0; i--) {
		ksm_path(path, sizeof(path), i);
		if (ksm->val[i][0])
			write_sysctl(path, ksm->val[i]);
	}
	ksm_path(path, sizeof(path), 0);
	write_sysctl(path, ksm->val[0]);
	ksm->saved = false;
}

FIXTURE(xchg)
{
	long isolated_anon, isolated_file;
	struct ksm_state ksm;		/* refuse_ksm */
	struct swap_dev swap;		/* swapcache_* */
};

FIXTURE_SETUP(xchg)
{
	self->swap.id = -1;
	psize = sysconf(_SC_PAGESIZE);
	if (geteuid())
		SKIP(return, "needs root (debugfs, pagemap PFNs)");
	if (!exchange_present())
		SKIP(return, "no %s", EXCHANGE_DEBUGFS);
}

FIXTURE_TEARDOWN(xchg)
{
	ksm_restore(&self->ksm);
	swap_dev_teardown(&self->swap);
	if (geteuid() || !exchange_present())
		return;
	/*
	 * Nothing may stay isolated after an exchange, whatever its result.
	 * Compaction or khugepaged may hold pages isolated for a moment:
	 * a leak is what does not go away.
	 */
	EXPECT_TRUE(isolated_settles(10)) TH_LOG("nr_isolated %ld %ld",
						 vmstat("nr_isolated_anon"),
						 vmstat("nr_isolated_file"));
}

TEST_F(xchg, anon_anon)
{
	char *p = map_anon(4 * psize, 100);

	ASSERT_NE(p, NULL);
	exchange_and_check(_metadata, p, 100, p + 2 * psize, 102);
	/* And back again. */
	exchange_and_check(_metadata, p, 100, p + 2 * psize, 102);
	EXPECT_TRUE(check_page(p + psize, psize, 101));
	munmap(p, 4 * psize);
}

/* Exchange a page of ours with a page of a child, then check both sides. */
TEST_F(xchg, anon_anon_two_processes)
{
	char *mine = map_anon(psize, 7), *theirs, c, cmd[128];
	int to_child[2], to_parent[2], status;
	uint64_t pm, pc;
	pid_t pid;

	ASSERT_NE(mine, NULL);
	ASSERT_EQ(pipe(to_child), 0);
	ASSERT_EQ(pipe(to_parent), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char *p = map_anon(psize, 9);

		if (!p || write(to_parent[1], &p, sizeof(p)) != sizeof(p))
			_exit(1);
		if (read(to_child[0], &c, 1) != 1)
			_exit(2);
		_exit(check_page(p, psize, 9) ? 0 : 3);
	}
	ASSERT_EQ(read(to_parent[0], &theirs, sizeof(theirs)), sizeof(theirs));
	pm = pfn_of(getpid(), mine);
	pc = pfn_of(pid, theirs);
	ASSERT_NE(pc, 0);
	snprintf(cmd, sizeof(cmd), "%d %p %p pid2=%d", getpid(), mine, theirs,
		 pid);
	EXPECT_EQ(exchange_raw(cmd), 0);
	EXPECT_EQ(pfn_of(getpid(), mine), pc);
	EXPECT_EQ(pfn_of(pid, theirs), pm);
	EXPECT_TRUE(check_page(mine, psize, 7));
	ASSERT_EQ(write(to_child[1], "x", 1), 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	munmap(mine, psize);
}

/*
 * Contents of different kinds are never exchanged: a frame that changed
 * from anon to file (or shmem) while migration entries still point at it
 * would have zap, fork and mprotect take the wrong rss counter and page
 * table deposit. Nothing changes; migration moves such pages instead.
 */
TEST_F(xchg, refuse_mixed_kinds)
{
	char *anon = map_anon(psize, 11), *file, *shm;
	uint64_t pa, pf, ps;
	int fd;

	ASSERT_NE(anon, NULL);
	file = map_tmpfs(&fd, psize, 12);
	ASSERT_NE(file, NULL);
	shm = mmap(NULL, psize, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(shm, MAP_FAILED);
	fill_page(shm, psize, 13);
	pa = pfn_of(getpid(), anon);
	pf = pfn_of(getpid(), file);
	ps = pfn_of(getpid(), shm);
	EXPECT_EQ(exchange_request(NULL, getpid(), anon, file), -EOPNOTSUPP);
	EXPECT_EQ(exchange_request(NULL, getpid(), file, anon), -EOPNOTSUPP);
	EXPECT_EQ(exchange_request("async", getpid(), anon, shm), -EOPNOTSUPP);
	EXPECT_EQ(exchange_request(NULL, getpid(), shm, anon), -EOPNOTSUPP);
	EXPECT_EQ(pfn_of(getpid(), anon), pa);
	EXPECT_EQ(pfn_of(getpid(), file), pf);
	EXPECT_EQ(pfn_of(getpid(), shm), ps);
	EXPECT_TRUE(check_page(anon, psize, 11));
	EXPECT_TRUE(check_page(file, psize, 12));
	EXPECT_TRUE(check_page(shm, psize, 13));
	/* Two shmem-backed files are the same kind. */
	exchange_and_check(_metadata, shm, 13, file, 12);
	munmap(shm, psize);
	munmap(file, psize);
	munmap(anon, psize);
	close(fd);
}

/* Dirty data of both files reaches the files (read(2) and after msync). */
TEST_F(xchg, file_file_dirty)
{
	char *f1, *f2, buf[4096];
	int fd1 = -1, fd2 = -1;

	f1 = map_tmpfs(&fd1, 2 * psize, 21);
	f2 = map_tmpfs(&fd2, 2 * psize, 23);
	ASSERT_NE(f1, NULL);
	ASSERT_NE(f2, NULL);
	exchange_and_check(_metadata, f1 + psize, 22, f2, 23);
	/* Write after the exchange, through the new frames. */
	fill_page(f1 + psize, psize, 31);
	fill_page(f2, psize, 32);
	EXPECT_EQ(msync(f1, 2 * psize, MS_SYNC), 0);
	ASSERT_EQ(pread(fd1, buf, sizeof(buf), psize), sizeof(buf));
	EXPECT_TRUE(check_page(buf, psize, 31));
	ASSERT_EQ(pread(fd2, buf, sizeof(buf), 0), sizeof(buf));
	EXPECT_TRUE(check_page(buf, psize, 32));
	ASSERT_EQ(pread(fd1, buf, sizeof(buf), 0), sizeof(buf));
	EXPECT_TRUE(check_page(buf, psize, 21));
	munmap(f1, 2 * psize);
	munmap(f2, 2 * psize);
	close(fd1);
	close(fd2);
}

/* A COW-shared page after fork: parent and child both follow the frame. */
TEST_F(xchg, cow_shared_after_fork)
{
	char *p = map_anon(2 * psize, 51), c;
	int go[2], done[2], status;
	uint64_t before;
	pid_t pid;

	ASSERT_NE(p, NULL);
	ASSERT_EQ(pipe(go), 0);
	ASSERT_EQ(pipe(done), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (write(done[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		if (!check_page(p, psize, 51) || !check_page(p + psize, psize, 52))
			_exit(2);
		/* Both mappings of the shared page moved together. */
		if (write(done[1], "c", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(read(done[0], &c, 1), 1);
	before = pfn_of(getpid(), p);
	ASSERT_EQ(pfn_of(pid, p), before);
	EXPECT_EQ(kpagecount(before), 2);
	exchange_and_check(_metadata, p, 51, p + psize, 52);
	EXPECT_EQ(pfn_of(pid, p), pfn_of(getpid(), p));
	EXPECT_EQ(pfn_of(pid, p + psize), pfn_of(getpid(), p + psize));
	EXPECT_EQ(kpagecount(pfn_of(getpid(), p)), 2);
	ASSERT_EQ(write(go[1], "g", 1), 1);
	ASSERT_EQ(read(done[0], &c, 1), 1);
	/* COW still works after the exchange: the parent writes, the child keeps. */
	fill_page(p, psize, 53);
	EXPECT_NE(pfn_of(pid, p), pfn_of(getpid(), p));
	ASSERT_EQ(write(go[1], "g", 1), 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	munmap(p, 2 * psize);
}

TEST_F(xchg, map_shared_two_processes)
{
	char *f, *other, c;
	int fd, ofd, go[2], done[2], status;
	pid_t pid;

	f = map_tmpfs(&fd, psize, 62);
	ASSERT_NE(f, NULL);
	other = map_tmpfs(&ofd, psize, 61);
	ASSERT_NE(other, NULL);
	ASSERT_EQ(pipe(go), 0);
	ASSERT_EQ(pipe(done), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char *g = mmap(NULL, psize, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fd, 0);

		if (g == MAP_FAILED || !check_page(g, psize, 62))
			_exit(1);
		if (write(done[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		if (!check_page(g, psize, 62))
			_exit(3);
		fill_page(g, psize, 63);	/* seen by the parent */
		_exit(0);
	}
	ASSERT_EQ(read(done[0], &c, 1), 1);
	exchange_and_check(_metadata, f, 62, other, 61);
	ASSERT_EQ(write(go[1], "g", 1), 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	EXPECT_TRUE(check_page(f, psize, 63));
	munmap(f, psize);
	munmap(other, psize);
	close(ofd);
	close(fd);
}

TEST_F(xchg, mlocked)
{
	const char *knob = "/proc/sys/vm/compact_unevictable_allowed";
	char *p = map_anon(2 * psize, 71);
	uint64_t pa, pb;
	int ret;

	ASSERT_NE(p, NULL);
	ASSERT_EQ(mlock(p, psize), 0);
	ASSERT_EQ(write_sysctl(knob, "1"), 0);
	exchange_and_check(_metadata, p, 71, p + psize, 72);
	/* The mlocked contents keep their state at the new frame. */
	EXPECT_TRUE(kpageflags(pfn_of(getpid(), p)) & (1ULL << KPF_MLOCKED));
	EXPECT_FALSE(kpageflags(pfn_of(getpid(), p + psize)) &
		     (1ULL << KPF_MLOCKED));

	ASSERT_EQ(write_sysctl(knob, "0"), 0);
	pa = pfn_of(getpid(), p);
	pb = pfn_of(getpid(), p + psize);
	ret = exchange_request(NULL, getpid(), p, p + psize);
	EXPECT_EQ(ret, -EPERM);
	EXPECT_EQ(pfn_of(getpid(), p), pa);
	EXPECT_EQ(pfn_of(getpid(), p + psize), pb);
	EXPECT_TRUE(check_page(p, psize, 71));
	ASSERT_EQ(write_sysctl(knob, "1"), 0);
	munlock(p, psize);
	munmap(p, 2 * psize);
}

TEST_F(xchg, thp_thp)
{
	char *a = map_thp(1000), *b = map_thp(3000), *small;
	uint64_t pa, pb;
	size_t off;
	bool ok = true;

	ASSERT_NE(a, NULL);
	ASSERT_NE(b, NULL);
	if (!is_thp(a) || !is_thp(b))
		SKIP(return, "no THP could be allocated");
	pa = pfn_of(getpid(), a);
	pb = pfn_of(getpid(), b);
	ASSERT_EQ(exchange_request(NULL, getpid(), a + 5 * psize, b), 0);
	EXPECT_EQ(pfn_of(getpid(), a), pb);
	EXPECT_EQ(pfn_of(getpid(), b), pa);
	EXPECT_EQ(pfn_of(getpid(), a + 511 * psize), pb + 511);
	EXPECT_TRUE(is_thp(a));
	for (off = 0; off < THP_SIZE; off += psize) {
		ok &= check_page(a + off, psize, 1000 + off / psize);
		ok &= check_page(b + off, psize, 3000 + off / psize);
	}
	EXPECT_TRUE(ok);

	/* Unequal orders are refused, nothing changes. */
	small = map_anon(psize, 5);
	ASSERT_NE(small, NULL);
	EXPECT_EQ(exchange_request(NULL, getpid(), a, small), -EINVAL);
	EXPECT_EQ(pfn_of(getpid(), a), pb);
	EXPECT_TRUE(check_page(small, psize, 5));
}

/*
 * Contents on two NUMA nodes: each follows its frame to the other node,
 * and the per-node counters stay right (both are shmem: nothing to move).
 */
TEST_F(xchg, numa_nodes)
{
	char *shm, *file;
	long s0, s1, t0, t1;
	int node, status = -1, fd;
	void *pages[1];

	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "one NUMA node");
	file = map_tmpfs(&fd, psize, 81);
	ASSERT_NE(file, NULL);
	shm = mmap(NULL, psize, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(shm, MAP_FAILED);
	fill_page(shm, psize, 82);

	/* Put the shmem page on node 0 and the tmpfs page on node 1. */
	pages[0] = shm;
	node = 0;
	ASSERT_EQ(syscall(SYS_move_pages, 0, 1, pages, &node, &status, 0), 0);
	ASSERT_EQ(status, 0);
	pages[0] = file;
	node = 1;
	ASSERT_EQ(syscall(SYS_move_pages, 0, 1, pages, &node, &status, 0), 0);
	ASSERT_EQ(status, 1);

	s0 = stat_field("/sys/devices/system/node/node0/vmstat", "nr_shmem");
	s1 = stat_field("/sys/devices/system/node/node1/vmstat", "nr_shmem");
	exchange_and_check(_metadata, shm, 82, file, 81);
	t0 = stat_field("/sys/devices/system/node/node0/vmstat", "nr_shmem");
	t1 = stat_field("/sys/devices/system/node/node1/vmstat", "nr_shmem");
	EXPECT_EQ(t0, s0);
	EXPECT_EQ(t1, s1);
	/* move_pages(2) reports the node each page lives on now. */
	pages[0] = shm;
	ASSERT_EQ(syscall(SYS_move_pages, 0, 1, pages, NULL, &status, 0), 0);
	EXPECT_EQ(status, 1);
	pages[0] = file;
	ASSERT_EQ(syscall(SYS_move_pages, 0, 1, pages, NULL, &status, 0), 0);
	EXPECT_EQ(status, 0);
	munmap(shm, psize);
	munmap(file, psize);
	close(fd);
}

/* Pages charged to two memcgs: the charges follow the contents. */
TEST_F(xchg, memcg_charges_follow)
{
	static const char * const cgs[2] = { "xchg-a", "xchg-b" };
	int go[2], rdy[2], status[2], i;
	long before[2], after[2];
	char *addr[2], c;
	pid_t pid[2];

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK))
		SKIP(return, "no cgroup2 at /sys/fs/cgroup");
	write_sysctl("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	ASSERT_EQ(pipe(go), 0);
	ASSERT_EQ(pipe(rdy), 0);
	for (i = 0; i < 2; i++) {
		char path[128];

		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", cgs[i]);
		mkdir(path, 0755);
		if (access("/sys/fs/cgroup/xchg-a/memory.current", F_OK))
			SKIP(return, "no memory controller");
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0) {
			char *p;

			if (cg_enter(cgs[i]))
				_exit(1);
			p = map_anon(16 * psize, 90 + 16 * i);
			if (!p || write(rdy[1], &p, sizeof(p)) != sizeof(p))
				_exit(2);
			if (read(go[0], &c, 1) != 1)
				_exit(3);
			for (int j = 0; j < 16; j++)
				if (!check_page(p + j * psize, psize,
						90 + 16 * i + j))
					_exit(4);
			_exit(0);
		}
		ASSERT_EQ(read(rdy[0], &addr[i], sizeof(char *)),
			  sizeof(char *));
	}
	for (i = 0; i < 2; i++)
		before[i] = cg_read(cgs[i], "memory.current");

	/* Exchange every page of child 0 with one of child 1. */
	for (i = 0; i < 16; i++) {
		char *a0 = addr[0] + i * psize, *a1 = addr[1] + i * psize;
		uint64_t p0 = pfn_of(pid[0], a0), p1 = pfn_of(pid[1], a1);
		uint64_t cg0 = kpage_read("/proc/kpagecgroup", p0);
		uint64_t cg1 = kpage_read("/proc/kpagecgroup", p1);
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "%d %p %p pid2=%d", pid[0], a0, a1,
			 pid[1]);
		EXPECT_EQ(exchange_raw(cmd), 0);
		EXPECT_EQ(pfn_of(pid[0], a0), p1);
		EXPECT_EQ(pfn_of(pid[1], a1), p0);
		/* The charge moved with the contents: frame p1 is cg0's now. */
		EXPECT_NE(cg0, cg1);
		EXPECT_EQ(kpage_read("/proc/kpagecgroup", p1), cg0);
		EXPECT_EQ(kpage_read("/proc/kpagecgroup", p0), cg1);
	}
	for (i = 0; i < 2; i++)
		after[i] = cg_read(cgs[i], "memory.current");
	EXPECT_EQ(after[0], before[0]);
	EXPECT_EQ(after[1], before[1]);

	ASSERT_EQ(write(go[1], "gg", 2), 2);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(waitpid(pid[i], &status[i], 0), pid[i]);
		EXPECT_TRUE(WIFEXITED(status[i]));
		EXPECT_EQ(WEXITSTATUS(status[i]), 0);
	}
	rmdir("/sys/fs/cgroup/xchg-a");
	rmdir("/sys/fs/cgroup/xchg-b");
}

TEST_F(xchg, refuse_bad_requests)
{
	char *p = map_anon(2 * psize, 111), *hole;
	uint64_t pa = pfn_of(getpid(), p);
	char cmd[128];

	ASSERT_NE(p, NULL);
	hole = mmap(NULL, psize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(hole, MAP_FAILED);
	EXPECT_EQ(exchange_request(NULL, getpid(), p, p), -EINVAL);
	EXPECT_EQ(exchange_request(NULL, getpid(), p, hole), -ENOENT);
	EXPECT_EQ(exchange_request(NULL, getpid(), p, (void *)8), -ENOENT);
	EXPECT_EQ(exchange_request("bogus", getpid(), p, p + psize), -EINVAL);
	EXPECT_EQ(exchange_raw("1 2"), -EINVAL);
	EXPECT_EQ(exchange_raw("x 0x1000 0x2000"), -EINVAL);
	snprintf(cmd, sizeof(cmd), "%d %p %p", 999999, p, p + psize);
	EXPECT_EQ(exchange_raw(cmd), -ESRCH);
	EXPECT_EQ(pfn_of(getpid(), p), pa);
	EXPECT_TRUE(check_page(p, psize, 111));
	munmap(hole, psize);
	munmap(p, 2 * psize);
}

TEST_F(xchg, refuse_hugetlb)
{
	char *h, *p = map_anon(psize, 121);
	int ret;

	h = mmap(NULL, THP_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (h == MAP_FAILED)
		SKIP(return, "no hugetlb page (vm.nr_hugepages)");
	memset(h, 1, THP_SIZE);
	ret = exchange_request(NULL, getpid(), h, p);
	/* Refused as hugetlb, or for the order difference: nothing moves. */
	EXPECT_TRUE(ret == -EOPNOTSUPP || ret == -EINVAL)
		TH_LOG("got %d", ret);
	EXPECT_TRUE(check_page(p, psize, 121));
	munmap(h, THP_SIZE);
}

static int io_uring_pin(void *addr, size_t len)
{
	struct io_uring_params params = { };
	struct iovec iov = { .iov_base = addr, .iov_len = len };
	int fd;

	fd = syscall(__NR_io_uring_setup, 4, &params);
	if (fd < 0)
		return -errno;
	if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS,
		    &iov, 1)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

TEST_F(xchg, refuse_pinned)
{
	char *p = map_anon(2 * psize, 131);
	uint64_t pa, pb;
	int ring;

	ASSERT_NE(p, NULL);
	ring = io_uring_pin(p, psize);
	if (ring < 0)
		SKIP(return, "io_uring buffer registration failed: %s",
		     strerror(-ring));
	pa = pfn_of(getpid(), p);
	pb = pfn_of(getpid(), p + psize);
	EXPECT_EQ(exchange_request(NULL, getpid(), p, p + psize), -EBUSY);
	EXPECT_EQ(exchange_request(NULL, getpid(), p + psize, p), -EBUSY);
	EXPECT_EQ(exchange_request("fallback", getpid(), p, p + psize), -EBUSY);
	EXPECT_EQ(pfn_of(getpid(), p), pa);
	EXPECT_EQ(pfn_of(getpid(), p + psize), pb);
	EXPECT_TRUE(check_page(p, psize, 131));
	EXPECT_TRUE(check_page(p + psize, psize, 132));
	close(ring);
	munmap(p, 2 * psize);
}

/*
 * Wait until KSM has merged the private pages @a and @b: without a fork,
 * only KSM makes two of them share a frame. (KPF_KSM cannot tell: 6.12's
 * /proc/kpageflags sets it for every anon page.)
 */
static uint64_t wait_ksm_merge(void *a, void *b, int secs)
{
	int i;

	for (i = 0; i < secs * 20; i++) {
		uint64_t pfn = pfn_of(getpid(), a);

		if (pfn && pfn == pfn_of(getpid(), b))
			return pfn;
		usleep(50000);
	}
	return 0;
}

/* A KSM page is refused, in either position and by the fallback too. */
TEST_F_TIMEOUT(xchg, refuse_ksm, 60)
{
	char *twins, *other = map_anon(psize, 162);
	uint64_t ksm, po, count;
	int ret;

	ASSERT_NE(other, NULL);
	twins = mmap(NULL, 2 * psize, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(twins, MAP_FAILED);
	madvise(twins, 2 * psize, MADV_NOHUGEPAGE);
	fill_page(twins, psize, 161);
	fill_page(twins + psize, psize, 161);
	if (madvise(twins, 2 * psize, MADV_MERGEABLE))
		SKIP(return, "MADV_MERGEABLE: %s", strerror(errno));
	ret = ksm_start(&self->ksm);
	if (ret)
		SKIP(return, "cannot start ksmd: %s", strerror(-ret));
	ksm = wait_ksm_merge(twins, twins + psize, 20);
	if (!ksm)
		SKIP(return, "KSM did not merge the pages within 20 s");
	po = pfn_of(getpid(), other);
	count = kpagecount(ksm);
	ASSERT_NE(po, 0);
	ASSERT_NE(po, ksm);
	ASSERT_EQ(count, 2);

	ret = exchange_request(NULL, getpid(), twins, other);
	EXPECT_EQ(ret, -EOPNOTSUPP) TH_LOG("got %d", ret);
	ret = exchange_request(NULL, getpid(), other, twins + psize);
	EXPECT_EQ(ret, -EOPNOTSUPP) TH_LOG("got %d", ret);
	ret = exchange_request("async", getpid(), twins, other);
	EXPECT_EQ(ret, -EOPNOTSUPP) TH_LOG("got %d", ret);
	ret = exchange_request("fallback", getpid(), twins, other);
	EXPECT_EQ(ret, -EOPNOTSUPP) TH_LOG("got %d", ret);

	/* Nothing moved: still one KSM page for both, the other in place. */
	EXPECT_EQ(pfn_of(getpid(), twins), ksm);
	EXPECT_EQ(pfn_of(getpid(), twins + psize), ksm);
	EXPECT_EQ(pfn_of(getpid(), other), po);
	EXPECT_EQ(kpagecount(ksm), count);
	EXPECT_EQ(kpagecount(po), 1);
	EXPECT_TRUE(check_page(twins, psize, 161));
	EXPECT_TRUE(check_page(twins + psize, psize, 161));
	EXPECT_TRUE(check_page(other, psize, 162));
	munmap(twins, 2 * psize);
	munmap(other, psize);
}

/*
 * A child that keeps a mapping of @p (a swap entry, until it touches it)
 * and checks its data on request: 'c' to check, answered 'y' or 'n'; 'q'
 * to exit with status 0.
 */
struct reader {
	pid_t pid;
	int cmd;	/* write end */
	int reply;	/* read end */
};

static int reader_start(struct reader *r, const char *p, unsigned int seed)
{
	int cmd[2], reply[2];
	char c;

	if (pipe(cmd))
		return -errno;
	if (pipe(reply)) {
		close(cmd[0]);
		close(cmd[1]);
		return -errno;
	}
	r->pid = fork();
	if (r->pid < 0)
		return -errno;
	if (r->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(cmd[1]);
		close(reply[0]);
		while (read(cmd[0], &c, 1) == 1) {
			if (c == 'q')
				_exit(0);
			c = check_page(p, psize, seed) ? 'y' : 'n';
			if (write(reply[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(2);
	}
	close(cmd[0]);
	close(reply[1]);
	r->cmd = cmd[1];
	r->reply = reply[0];
	return 0;
}

/* Have the reader touch and check its page: 1 if it reads right. */
static int reader_check(struct reader *r)
{
	char c = 'c';

	if (write(r->cmd, &c, 1) != 1 || read(r->reply, &c, 1) != 1)
		return -1;
	return c == 'y';
}

/* The reader's exit status, or -1. */
static int reader_stop(struct reader *r)
{
	int status;

	if (write(r->cmd, "q", 1) != 1)
		kill(r->pid, SIGKILL);
	close(r->cmd);
	close(r->reply);
	if (waitpid(r->pid, &status, 0) != r->pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#define SWAPCACHE_SEED	151
#define SWAPCACHE_READERS	2

/*
 * Exchange a mapped swap cache page with @other (filled with @seed). On
 * zram, a swap-in fault skips the swap cache when the swap entry has no
 * other user, so two children keep the entry of the page: the fault that
 * brings it back in for us then leaves it in the swap cache. Afterwards
 * the first child faults it in through the swap cache, and swapoff maps
 * it into the second one.
 */
static void swapcache_exchange(struct __test_metadata *_metadata,
			       struct swap_dev *swap, char *other, int seed)
{
	struct reader kid[SWAPCACHE_READERS];
	uint64_t ps, po;
	const char *why;
	int i, ret;
	char *p;

	why = swap_dev_setup(swap);
	if (why)
		SKIP(return, "%s", why);
	/* The children share only the swap cache page. */
	ASSERT_EQ(madvise(other, psize, MADV_DONTFORK), 0);
	p = map_anon(psize, SWAPCACHE_SEED);
	ASSERT_NE(p, NULL);
	/* A page in a per-CPU LRU batch cannot be paged out yet: retry. */
	for (i = 0; i < 10 && !(pagemap_entry_of(getpid(), p) & PM_SWAPPED); i++) {
		madvise(p, psize, MADV_PAGEOUT);
		usleep(10000);
	}
	if (!(pagemap_entry_of(getpid(), p) & PM_SWAPPED))
		SKIP(return, "MADV_PAGEOUT did not swap the page out");
	for (i = 0; i < SWAPCACHE_READERS; i++)
		ASSERT_EQ(reader_start(&kid[i], p, SWAPCACHE_SEED), 0);

	/* A read fault: the page stays in the swap cache, mapped. */
	ASSERT_TRUE(check_page(p, psize, SWAPCACHE_SEED));
	ps = pfn_of(getpid(), p);
	ASSERT_NE(ps, 0);
	ASSERT_TRUE(pfn_has(ps, KPF_SWAPCACHE))
		TH_LOG("kpageflags %llx", (unsigned long long)kpageflags(ps));
	po = pfn_of(getpid(), other);
	ASSERT_FALSE(pfn_has(po, KPF_SWAPCACHE));

	ret = exchange_and_check(_metadata, p, SWAPCACHE_SEED, other, seed);
	ASSERT_EQ(ret, 0);
	/* The swap cache now holds the frame the other page was in. */
	EXPECT_TRUE(pfn_has(po, KPF_SWAPCACHE));
	EXPECT_FALSE(pfn_has(ps, KPF_SWAPCACHE));

	/* A swap-in fault finds the contents in their new frame. */
	EXPECT_EQ(reader_check(&kid[0]), 1);
	EXPECT_EQ(pfn_of(kid[0].pid, p), po);

	/* swapoff maps the swap cache page into the last holder. */
	EXPECT_EQ(swap_dev_off(swap), 0);
	EXPECT_EQ(pfn_of(getpid(), p), po);
	EXPECT_FALSE(pfn_has(po, KPF_SWAPCACHE));
	EXPECT_EQ(pfn_of(kid[1].pid, p), po);
	EXPECT_EQ(reader_check(&kid[1]), 1);
	EXPECT_EQ(reader_check(&kid[0]), 1);
	EXPECT_TRUE(check_page(p, psize, SWAPCACHE_SEED));
	EXPECT_TRUE(check_page(other, psize, seed));
	for (i = 0; i < SWAPCACHE_READERS; i++)
		EXPECT_EQ(reader_stop(&kid[i]), 0);
	munmap(p, psize);
}

TEST_F(xchg, swapcache_anon)
{
	char *anon = map_anon(psize, 152);

	ASSERT_NE(anon, NULL);
	swapcache_exchange(_metadata, &self->swap, anon, 152);
	munmap(anon, psize);
}

/*
 * The fallback: the occupant moves away, the source moves onto its frame.
 * alloc_contig_range() needs the target's whole pageblock movable, so the
 * target is taken from a pageblock that our own buffer fills.
 */
TEST_F_TIMEOUT(xchg, fallback_migrate, 120)
{
	const unsigned long pages = 4096, block = 512;
	char *p = map_anon(pages * psize, 141);
	uint64_t target, before_src;
	unsigned long i, src = 0;
	long occ;
	int ret;

	ASSERT_NE(p, NULL);
	occ = page_in_own_block(p, pages);
	if (occ < 0)
		SKIP(return, "no pageblock filled by the buffer");
	target = pfn_of(getpid(), p + occ * psize);
	for (i = 0; i < pages && !src; i++)
		if (pfn_of(getpid(), p + i * psize) / block != target / block)
			src = i;
	before_src = pfn_of(getpid(), p + src * psize);
	ret = exchange_request("fallback", getpid(), p + src * psize,
			       p + occ * psize);
	ASSERT_EQ(ret, 0) TH_LOG("fallback: %s", strerror(-ret));
	EXPECT_EQ(pfn_of(getpid(), p + src * psize), target);
	EXPECT_NE(pfn_of(getpid(), p + occ * psize), target);
	EXPECT_NE(pfn_of(getpid(), p + occ * psize), 0);
	EXPECT_NE(before_src, target);
	EXPECT_TRUE(check_page(p + src * psize, psize, 141 + src));
	EXPECT_TRUE(check_page(p + occ * psize, psize, 141 + occ));
	munmap(p, pages * psize);
}

/* Many rounds: counters add up, nothing leaks, MemFree stays put. */
TEST_F_TIMEOUT(xchg, no_leaks, 300)
{
	const int pages = 64, rounds = 1000;
	long free0, free1, ok0, ok1, fail0, fail1;
	char *p = map_anon(pages * psize, 200);
	int i, ret, succeeded = 0;
	unsigned int seed = 1;
	int *owner;

	ASSERT_NE(p, NULL);
	owner = calloc(pages, sizeof(*owner));
	ASSERT_NE(owner, NULL);
	for (i = 0; i < pages; i++)
		owner[i] = 200 + i;
	ok0 = vmstat("pgexchange_success");
	fail0 = vmstat("pgexchange_fail");
	free0 = stat_field("/proc/meminfo", "MemFree");
	for (i = 0; i < rounds; i++) {
		int x = rand_r(&seed) % pages, y = rand_r(&seed) % pages;

		ret = exchange_request(i & 1 ? "async" : NULL, getpid(),
				       p + x * psize, p + y * psize);
		if (x == y) {
			EXPECT_EQ(ret, -EINVAL);
			continue;
		}
		if (!ret)
			succeeded++;
	}
	free1 = stat_field("/proc/meminfo", "MemFree");
	ok1 = vmstat("pgexchange_success");
	fail1 = vmstat("pgexchange_fail");
	for (i = 0; i < pages; i++)
		EXPECT_TRUE(check_page(p + i * psize, psize, owner[i]));
	EXPECT_GE(succeeded, rounds * 9 / 10);
	EXPECT_EQ(ok1 - ok0, succeeded);
	EXPECT_EQ((ok1 - ok0) + (fail1 - fail0), rounds);
	/*
	 * No page is lost to the exchanges (in kB, generous for noise): free
	 * memory does not shrink. It may grow, as the kernel frees what it
	 * held (a debug kernel's KASAN quarantine, kmemleak).
	 */
	EXPECT_LT(free0 - free1, 2048) TH_LOG("MemFree %ld -> %ld kB",
					      free0, free1);
	free(owner);
	munmap(p, pages * psize);
}

TEST_HARNESS_MAIN
