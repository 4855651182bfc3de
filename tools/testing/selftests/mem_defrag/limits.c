// SPDX-License-Identifier: GPL-2.0
/*
 * Fair shares: who may use MADV_CONTIG (the unprivileged knob), and the
 * per-user limit on anchors, charged in 2 MiB granules of virtual memory.
 * Each attack runs as one unprivileged user (uid 65534) while a second
 * one (uid 65533) asks for an ordinary buffer, which must still be
 * anchored and made contiguous: a huge unpopulated mapping that would
 * take the whole global budget, and thousands of one-page vmas that would
 * spoil one 2 MiB block each.
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "contig_util.h"
#include "exchange_util.h"

#define MIB		(1024UL * 1024)
#define USER_A		65534
#define USER_B		65533
#define MPOL_BIND_	2

static long psize;

static const char * const limits_knobs[] = {
	"enabled", "scan_sleep_millisecs", "pages_to_scan", "unprivileged",
	"max_anchored_percent", "max_anchored_percent_per_user",
};

FIXTURE(limits)
{
	char saved[ARRAY_SIZE(limits_knobs)][64];
};

FIXTURE_SETUP(limits)
{
	unsigned int i;

	psize = sysconf(_SC_PAGESIZE);
	if (!kcontigd_present())
		SKIP(return, "kernel without kcontigd");
	if (geteuid())
		SKIP(return, "needs root (knobs, setuid)");
	/* A kernel without the knobs of the limits runs the attacks alone. */
	for (i = 0; i < ARRAY_SIZE(limits_knobs); i++)
		if (knob_read(limits_knobs[i], self->saved[i], 64))
			self->saved[i][0] = '\0';
	ASSERT_EQ(knob_write("enabled", "1"), 0);
	ASSERT_EQ(knob_write("scan_sleep_millisecs", "20"), 0);
	ASSERT_EQ(knob_write("pages_to_scan", "8192"), 0);
	ASSERT_EQ(knob_write("max_anchored_percent", "50"), 0);
	if (self->saved[3][0]) {
		ASSERT_EQ(knob_write("unprivileged", "allow"), 0);
		ASSERT_EQ(knob_write("max_anchored_percent_per_user", "25"), 0);
	}
}

FIXTURE_TEARDOWN(limits)
{
	unsigned int i;

	if (!kcontigd_present() || geteuid())
		return;
	for (i = 0; i < ARRAY_SIZE(limits_knobs); i++)
		if (self->saved[i][0])
			knob_write(limits_knobs[i], self->saved[i]);
}

/* Become @uid, allocating from node 0 only, readable by the parent. */
static int become(uid_t uid)
{
	unsigned long mask = 1;

	if (uid && (setgid(uid) || setuid(uid)))
		return -1;
	prctl(PR_SET_DUMPABLE, 1);
	return syscall(SYS_set_mempolicy, MPOL_BIND_, &mask, 2);
}

/*
 * A child that becomes @uid, runs @fn (0 on success), reports over a pipe
 * and waits until the parent closes the other one. Returns its pid.
 */
struct child {
	pid_t pid;
	int go;		/* close to let it exit */
	char *buf;	/* what @fn reports */
};

static int start_child(struct child *c, uid_t uid, char *(*fn)(void))
{
	int ready[2], go[2];
	char *buf;

	if (pipe(ready) || pipe(go))
		return -1;
	c->pid = fork();
	if (c->pid == 0) {
		char x;

		close(go[1]);
		if (become(uid))
			_exit(1);
		buf = fn();
		if (write(ready[1], &buf, sizeof(buf)) != sizeof(buf))
			_exit(2);
		if (read(go[0], &x, 1) < 0)
			_exit(3);
		_exit(buf ? 0 : 4);
	}
	close(ready[1]);
	close(go[0]);
	c->go = go[1];
	if (c->pid < 0 || read(ready[0], &c->buf, sizeof(c->buf)) !=
			  sizeof(c->buf))
		return -1;
	close(ready[0]);
	return 0;
}

static int stop_child(struct child *c)
{
	int status;

	close(c->go);
	if (waitpid(c->pid, &status, 0) != c->pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* How many vmas of @pid are in @state ("pending", "blocked", ...). */
static long count_state(pid_t pid, const char *state, const char *reason)
{
	char path[64], line[512], want[64], why[64];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/contig", pid);
	snprintf(want, sizeof(want), " state=%s ", state);
	snprintf(why, sizeof(why), " reason=%s", reason ? reason : "");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, want) && (!reason || strstr(line, why)))
			n++;
	fclose(f);
	return n;
}

/* Wait until no vma of @pid waits for its first anchor. */
static bool all_tried(pid_t pid, double secs)
{
	double deadline = now_seconds() + secs;

	do {
		if (count_state(pid, "pending", NULL) == 0)
			return true;
		usleep(100000);
	} while (now_seconds() < deadline);
	return false;
}

/* Wait until the vma of @pid at @buf is in @state. */
static bool wait_state(pid_t pid, char *buf, const char *state, double secs)
{
	double deadline = now_seconds() + secs;
	char line[512], want[64];

	snprintf(want, sizeof(want), " state=%s ", state);
	do {
		if (!contig_line(pid, (unsigned long)buf, line, sizeof(line)) &&
		    strstr(line, want))
			return true;
		usleep(100000);
	} while (now_seconds() < deadline);
	return false;
}

/* User B's ordinary request: 16 MiB, populated, advised. */
static char *ordinary_buffer(void)
{
	size_t len = 16 * MIB;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 0x5b, len);
	return madvise(p, len, MADV_CONTIG) ? NULL : p;
}

/*
 * Attack 1: unpopulated MAP_NORESERVE vmas, 40 of 64 MiB and 64 of 2 MiB
 * (2.6 GiB, more than max_anchored_percent of the 4 GiB test VM), kept
 * apart by a PROT_NONE page each: with only the global limit they fill it
 * to the last 2 MiB granule.
 */
static char *noreserve_vmas(void)
{
	char *first = NULL, *p;
	int i;

	for (i = 0; i < 40 + 64; i++) {
		size_t len = (i < 40 ? 64 : 2) * MIB;

		p = mmap(NULL, len + psize, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED || mprotect(p + len, psize, PROT_NONE) ||
		    madvise(p, len, MADV_CONTIG))
			return NULL;
		if (!first)
			first = p;
	}
	return first;
}

/*
 * Attack 2: 2048 one-page vmas at the same offset in 2 MiB, kept apart by
 * PROT_NONE memory so they do not merge: charged by the page, each would
 * take a 2 MiB block of its own, more blocks than node 0 has.
 */
#define ONE_PAGE_VMAS	2048
static char *one_page_vmas(void)
{
	size_t len = (size_t)ONE_PAGE_VMAS * 2 * MIB;
	char *p = mmap(NULL, len + 2 * MIB, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int i;

	if (p == MAP_FAILED)
		return NULL;
	p = (char *)(((unsigned long)p + 2 * MIB - 1) & ~(2 * MIB - 1));
	for (i = 0; i < ONE_PAGE_VMAS; i++) {
		char *page = p + i * 2 * MIB + 5 * psize;

		if (mprotect(page, psize, PROT_READ | PROT_WRITE))
			return NULL;
		*page = 1;
		if (madvise(page, psize, MADV_CONTIG))
			return NULL;
	}
	return p;
}

static void attack_leaves_room(struct __test_metadata *_metadata,
			       char *(*attack)(void), const char *name)
{
	struct child a, b;
	long blocked;

	ASSERT_EQ(start_child(&a, USER_A, attack), 0);
	ASSERT_NE(a.buf, NULL);
	ASSERT_TRUE(all_tried(a.pid, 240));
	blocked = count_state(a.pid, "blocked", "user-limit");
	TH_LOG("%s: %ld vmas, %ld blocked by the user limit; anchors=%ld charged",
	       name, (long)contig_nr_lines(a.pid), blocked,
	       knob_read_long("anchors"));
	EXPECT_GT(blocked, 0);

	ASSERT_EQ(start_child(&b, USER_B, ordinary_buffer), 0);
	ASSERT_NE(b.buf, NULL);
	EXPECT_TRUE(wait_state(b.pid, b.buf, "done", 120)) {
		char line[512] = "";

		contig_line(b.pid, (unsigned long)b.buf, line, sizeof(line));
		TH_LOG("second user: %s", line);
	}
	EXPECT_EQ(stop_child(&b), 0);
	EXPECT_EQ(stop_child(&a), 0);
}

TEST_F_TIMEOUT(limits, huge_noreserve_leaves_room, 600)
{
	attack_leaves_room(_metadata, noreserve_vmas, "noreserve");
}

TEST_F_TIMEOUT(limits, one_page_vmas_leave_room, 600)
{
	attack_leaves_room(_metadata, one_page_vmas, "one-page vmas");
}

static char *advise_own(void)
{
	char *p = mmap(NULL, 16 * psize, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 1, 16 * psize);
	errno = 0;
	if (!madvise(p, 16 * psize, MADV_CONTIG))
		return (char *)1;	/* allowed */
	if (errno != EPERM)
		return NULL;
	/* Undoing is always allowed. */
	return madvise(p, 16 * psize, MADV_NOCONTIG) ? NULL : (char *)2;
}

/* deny: EPERM for a task without CAP_SYS_ADMIN, root unaffected; allow. */
TEST_F(limits, unprivileged_knob)
{
	char val[64], *p;
	struct child c;

	ASSERT_EQ(knob_write("unprivileged", "deny"), 0);
	ASSERT_EQ(knob_read("unprivileged", val, sizeof(val)), 0);
	EXPECT_STREQ(val, "deny");
	ASSERT_EQ(start_child(&c, USER_A, advise_own), 0);
	EXPECT_EQ(c.buf, (char *)2);	/* EPERM, NOCONTIG fine */
	EXPECT_EQ(stop_child(&c), 0);

	p = mmap(NULL, 16 * psize, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(p, MAP_FAILED);
	EXPECT_EQ(madvise(p, 16 * psize, MADV_CONTIG), 0);
	munmap(p, 16 * psize);

	ASSERT_EQ(knob_write("unprivileged", "allow"), 0);
	ASSERT_EQ(start_child(&c, USER_A, advise_own), 0);
	EXPECT_EQ(c.buf, (char *)1);
	EXPECT_EQ(stop_child(&c), 0);

	/* Anything else is refused and changes nothing. */
	EXPECT_EQ(knob_write("unprivileged", "maybe"), -EINVAL);
	EXPECT_EQ(knob_write("unprivileged", "1"), -EINVAL);
	EXPECT_EQ(knob_write("max_anchored_percent_per_user", "0"), -EINVAL);
	EXPECT_EQ(knob_write("max_anchored_percent_per_user", "101"), -EINVAL);
	ASSERT_EQ(knob_read("unprivileged", val, sizeof(val)), 0);
	EXPECT_STREQ(val, "allow");
}

/* The debugfs files of the feature: root's only (debugfs is 0700). */
static const char * const debugfs_files[] = {
	"/sys/kernel/debug/exchange_pages",
	"/sys/kernel/debug/exchange_bounce",
	"/sys/kernel/debug/kcontigd_batch",
	"/sys/kernel/debug/fail_exchange_copy/probability",
};

static char *open_debugfs(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(debugfs_files); i++) {
		int fd = open(debugfs_files[i], O_RDWR);

		if (fd < 0)
			fd = open(debugfs_files[i], O_RDONLY);
		if (fd >= 0 || errno != EACCES)
			return NULL;
	}
	return (char *)1;
}

/* An unprivileged user can neither read nor write them (EACCES). */
TEST_F(limits, debugfs_root_only)
{
	struct child c;

	if (access(debugfs_files[0], W_OK))
		SKIP(return, "no %s (CONFIG_DEBUG_FS)", debugfs_files[0]);
	ASSERT_EQ(start_child(&c, USER_A, open_debugfs), 0);
	EXPECT_EQ(c.buf, (char *)1);
	EXPECT_EQ(stop_child(&c), 0);
}

/* CPU time of @pid so far, in seconds. */
static double cpu_seconds(pid_t pid)
{
	unsigned long utime = 0, stime = 0;
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_sysfs(path, buf, sizeof(buf)))
		return -1;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* After the comm: state, then fields 4 to 13, then utime, stime. */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

static unsigned long refaults;

/*
 * The attack: throw away and refault an advised 8 MiB vma, and advise it
 * again, in a loop for 10 s: each round undoes kcontigd's work and asks
 * for it again at once. An unadvised buffer takes the frames just freed
 * first, so that no page comes back onto its target by chance.
 */
static char *refault_loop(void)
{
	size_t len = 8 * MIB;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *thief = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double deadline = now_seconds() + 10;

	if (p == MAP_FAILED || thief == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	madvise(thief, len, MADV_NOHUGEPAGE);
	while (now_seconds() < deadline) {
		madvise(p, len, MADV_DONTNEED);
		memset(thief, 4, len);
		memset(p, 3, len);
		madvise(thief, len, MADV_DONTNEED);
		if (madvise(p, len, MADV_CONTIG))
			return NULL;
		refaults++;
	}
	return (char *)refaults;
}

/*
 * An unprivileged user cannot make kcontigd spin: with the default knobs,
 * kcontigd spends less than a quarter of one CPU on the attack above.
 */
TEST_F_TIMEOUT(limits, refault_loop_bounds_kcontigd, 120)
{
	long moved = knob_read_long("pages_exchanged") +
		     knob_read_long("pages_migrated");
	pid_t kd = kcontigd_pid();
	double t0, c0, wall, cpu;
	struct child c;

	ASSERT_GT(kd, 0);
	ASSERT_EQ(knob_write("scan_sleep_millisecs", "10000"), 0);
	ASSERT_EQ(knob_write("pages_to_scan", "4096"), 0);
	/* kcontigd's CPU is measured: no earlier test's vma in its work. */
	EXPECT_TRUE(knob_wait_eq("anchors", 0, 60))
		TH_LOG("%ld anchors left from earlier tests",
		       knob_read_long("anchors"));
	t0 = now_seconds();
	c0 = cpu_seconds(kd);
	ASSERT_GE(c0, 0);
	ASSERT_EQ(start_child(&c, USER_A, refault_loop), 0);
	wall = now_seconds() - t0;
	cpu = cpu_seconds(kd) - c0;
	moved = knob_read_long("pages_exchanged") +
		knob_read_long("pages_migrated") - moved;
	EXPECT_EQ(stop_child(&c), 0);
	TH_LOG("%lu rounds in %.1f s: kcontigd moved %ld pages, used %.2f s of CPU (%.0f%%)",
	       (unsigned long)c.buf, wall, moved, cpu, 100 * cpu / wall);
	EXPECT_NE(c.buf, NULL);
	EXPECT_LT(cpu, wall / 4);
}

#define TEST_CG	"/sys/fs/cgroup/kcontigd-limits"

/* "slab" of the test cgroup's memory.stat, in bytes; -1 if unreadable. */
static long cg_slab(void)
{
	char line[256];
	long val = -1;
	FILE *f = fopen(TEST_CG "/memory.stat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "slab %ld", &val) == 1)
			break;
	fclose(f);
	return val;
}

/* 2048 one-page vmas, packed (so anchors share 2 MiB blocks), advised. */
static char *packed_vmas(void)
{
	char *p = mmap(NULL, 2 * ONE_PAGE_VMAS * psize, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int i;

	if (p == MAP_FAILED)
		return NULL;
	for (i = 0; i < ONE_PAGE_VMAS; i++) {
		char *page = p + 2 * i * psize;

		if (mprotect(page + psize, psize, PROT_NONE))
			return NULL;
		*page = 1;
		if (madvise(page, psize, MADV_CONTIG))
			return NULL;
	}
	return p;
}

static uid_t as_root_in_cg;

static char *join_cg_then_packed(void)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", getpid());
	if (write_sysctl(TEST_CG "/cgroup.procs", pid))
		return NULL;
	return packed_vmas();
}

/* MADV_NOCONTIG on the @n one-page vmas of @pid from @p, 2 pages apart. */
static int uncontig_remote(pid_t pid, char *p, int n)
{
	struct iovec iov[512];
	int fd = syscall(SYS_pidfd_open, pid, 0), i, k, ret = 0;

	if (fd < 0)
		return -errno;
	for (i = 0; i < n && !ret; i += k) {
		for (k = 0; k < 512 && i + k < n; k++) {
			iov[k].iov_base = p + 2 * (i + k) * psize;
			iov[k].iov_len = psize;
		}
		if (syscall(SYS_process_madvise, fd, iov, k, MADV_NOCONTIG, 0) !=
		    k * psize)
			ret = -errno ?: -EIO;
	}
	close(fd);
	return ret;
}

/* Wait until the anchors knob reads @want. */
static bool anchors_back_to(long want, double secs)
{
	double deadline = now_seconds() + secs;

	do {
		if (knob_read_long("anchors") == want)
			return true;
		usleep(100000);
	} while (now_seconds() < deadline);
	return false;
}

/*
 * How much the test cgroup's slab shrinks when a child in it un-advises
 * its 2048 vmas (so that kcontigd drops their anchors, if any); *@anchors
 * is how many anchors it had.
 */
static long slab_freed_by_uncontig(struct __test_metadata *_metadata,
				   long *anchors)
{
	long slab_with, slab_without, anchors0 = knob_read_long("anchors");
	bool enabled = knob_read_long("enabled") == 1;
	struct child c;

	if (start_child(&c, as_root_in_cg, join_cg_then_packed) || !c.buf)
		return -1;
	if (enabled && !all_tried(c.pid, 240))
		return -1;
	*anchors = knob_read_long("anchors") - anchors0;
	sleep(3);	/* memcg stats are flushed at least every 2 s */
	slab_with = cg_slab();
	if (uncontig_remote(c.pid, c.buf, ONE_PAGE_VMAS) ||
	    !anchors_back_to(anchors0, 60))
		return -1;
	sleep(3);
	slab_without = cg_slab();
	TH_LOG("kcontigd %s, %ld anchors: cgroup slab %ld -> %ld bytes",
	       enabled ? "on" : "off", *anchors, slab_with, slab_without);
	if (stop_child(&c))
		return -1;
	return slab_with - slab_without;
}

/*
 * The anchors kcontigd allocates for a process are charged to the
 * process's memory cgroup: un-advising its vmas, which drops them,
 * frees at least their size more than it does with kcontigd off.
 */
TEST_F_TIMEOUT(limits, anchors_charged_to_memcg, 600)
{
	long control, freed, none, anchors;

	if (access("/sys/fs/cgroup/cgroup.subtree_control", W_OK))
		SKIP(return, "no cgroup2 at /sys/fs/cgroup");
	write_sysctl("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	rmdir(TEST_CG);
	ASSERT_EQ(mkdir(TEST_CG, 0755), 0);
	ASSERT_EQ(knob_write("max_anchored_percent", "100"), 0);
	ASSERT_EQ(knob_write("enabled", "0"), 0);
	control = slab_freed_by_uncontig(_metadata, &none);
	ASSERT_EQ(knob_write("enabled", "1"), 0);
	freed = slab_freed_by_uncontig(_metadata, &anchors);
	ASSERT_NE(control, -1);
	ASSERT_NE(freed, -1);
	EXPECT_EQ(none, 0);
	EXPECT_GT(anchors, ONE_PAGE_VMAS / 2);
	/* An anchor is a kmalloc of well over 256 bytes. */
	EXPECT_GE(freed - control, anchors * 256);
	rmdir(TEST_CG);
}

TEST_HARNESS_MAIN
