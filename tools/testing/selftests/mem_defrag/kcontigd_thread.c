// SPDX-License-Identifier: GPL-2.0
/*
 * The kcontigd thread and its sysfs knobs: validation (bad value -> EINVAL,
 * old value kept), start and stop through "enabled", no wakeups while
 * nothing is registered, registration and unregistration of mms, and no
 * leaked mm_slot after many register/exit cycles, and a freezer (suspend's
 * freezer test level) that succeeds while kcontigd is busy.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/aio_abi.h>

#include "../kselftest_harness.h"
#include "contig_util.h"
#include "exchange_util.h"

static const char * const knobs[] = {
	"enabled", "scan_sleep_millisecs", "pages_to_scan",
	"max_anchored_percent",
};

#define NR_KNOBS ARRAY_SIZE(knobs)

FIXTURE(kcontigd)
{
	char saved[NR_KNOBS][64];
};

FIXTURE_SETUP(kcontigd)
{
	unsigned int i;

	if (!kcontigd_present())
		SKIP(return, "kernel without kcontigd (no %s)", KCONTIGD_SYSFS);
	if (geteuid())
		SKIP(return, "needs root");
	for (i = 0; i < NR_KNOBS; i++)
		ASSERT_EQ(knob_read(knobs[i], self->saved[i],
				    sizeof(self->saved[i])), 0);
}

FIXTURE_TEARDOWN(kcontigd)
{
	unsigned int i;

	if (!kcontigd_present() || geteuid())
		return;
	for (i = 0; i < NR_KNOBS; i++)
		EXPECT_EQ(knob_write(knobs[i], self->saved[i]), 0);
}

/* Every bad value is refused with EINVAL and leaves the knob as it was. */
TEST_F(kcontigd, knobs_reject_bad_values)
{
	static const struct {
		const char *knob;
		const char *bad[8];
	} cases[] = {
		{ "enabled", { "2", "-1", "abc", "1x", "on", NULL } },
		{ "scan_sleep_millisecs",
		  { "0", "-1", "abc", "3600001", "99999999999", "1.5", NULL } },
		{ "pages_to_scan",
		  { "0", "-5", "x", "1048577", "4294967296", "0x10", "0o7",
		    NULL } },
		{ "max_anchored_percent",
		  { "0", "101", "-1", "fifty", "50%", "0x10", NULL } },
	};
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char before[64], after[64];

		ASSERT_EQ(knob_read(cases[i].knob, before, sizeof(before)), 0);
		for (j = 0; cases[i].bad[j]; j++) {
			int ret = knob_write(cases[i].knob, cases[i].bad[j]);

			EXPECT_EQ(ret, -EINVAL)
				TH_LOG("%s <- '%s' gave %d", cases[i].knob,
				       cases[i].bad[j], ret);
			ASSERT_EQ(knob_read(cases[i].knob, after,
					    sizeof(after)), 0);
			EXPECT_STREQ(before, after);
		}
	}
}

TEST_F(kcontigd, knobs_accept_good_values)
{
	char v[64];

	ASSERT_EQ(knob_write("scan_sleep_millisecs", "1"), 0);
	ASSERT_EQ(knob_read("scan_sleep_millisecs", v, sizeof(v)), 0);
	EXPECT_STREQ(v, "1");
	ASSERT_EQ(knob_write("scan_sleep_millisecs", "3600000\n"), 0);
	ASSERT_EQ(knob_read("scan_sleep_millisecs", v, sizeof(v)), 0);
	EXPECT_STREQ(v, "3600000");
	ASSERT_EQ(knob_write("pages_to_scan", "1048576"), 0);
	ASSERT_EQ(knob_read("pages_to_scan", v, sizeof(v)), 0);
	EXPECT_STREQ(v, "1048576");
	ASSERT_EQ(knob_write("max_anchored_percent", "100"), 0);
	ASSERT_EQ(knob_read("max_anchored_percent", v, sizeof(v)), 0);
	EXPECT_STREQ(v, "100");
	/* Plain decimal: a leading zero is no octal prefix. */
	ASSERT_EQ(knob_write("pages_to_scan", "010"), 0);
	ASSERT_EQ(knob_read("pages_to_scan", v, sizeof(v)), 0);
	EXPECT_STREQ(v, "10");
}

TEST_F(kcontigd, counters_are_read_only)
{
	EXPECT_NE(knob_write("full_scans", "0"), 0);
	EXPECT_NE(knob_write("mms_registered", "0"), 0);
	EXPECT_NE(knob_write("running", "1"), 0);
}

TEST_F_TIMEOUT(kcontigd, stop_and_start_thread, 60)
{
	pid_t before, after;
	int i;

	ASSERT_EQ(knob_write("enabled", "1"), 0);
	before = kcontigd_pid();
	ASSERT_GT(before, 0);
	ASSERT_EQ(knob_read_long("running"), 1);

	ASSERT_EQ(knob_write("enabled", "0"), 0);
	EXPECT_EQ(knob_read_long("enabled"), 0);
	EXPECT_EQ(knob_read_long("running"), 0);
	/* The exited thread is reaped asynchronously: give /proc a moment. */
	for (i = 0; i < 250 && kcontigd_pid(); i++)
		usleep(20000);
	EXPECT_EQ(kcontigd_pid(), 0);
	/* Stopping twice is fine. */
	ASSERT_EQ(knob_write("enabled", "0"), 0);

	ASSERT_EQ(knob_write("enabled", "1"), 0);
	after = kcontigd_pid();
	EXPECT_GT(after, 0);
	EXPECT_NE(after, before);
	EXPECT_EQ(knob_read_long("running"), 1);
}

/* Registration wakes the thread; a full pass follows promptly. */
TEST_F_TIMEOUT(kcontigd, madvise_wakes_thread, 60)
{
	long page = sysconf(_SC_PAGESIZE), scans, regs;
	char *p;

	ASSERT_EQ(knob_write("enabled", "1"), 0);
	/* A long sleep: only the wakeup can make the pass happen soon. */
	ASSERT_EQ(knob_write("scan_sleep_millisecs", "3600000"), 0);
	p = mmap(NULL, 8 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(p, MAP_FAILED);
	memset(p, 1, 8 * page);

	regs = knob_read_long("mms_registered");
	scans = knob_read_long("full_scans");
	ASSERT_EQ(madvise(p, 8 * page, MADV_CONTIG), 0);
	EXPECT_EQ(knob_read_long("mms_registered"), regs + 1);
	EXPECT_TRUE(knob_wait_ge("full_scans", scans + 1, 20));

	/* Advising again does not register the mm twice. */
	ASSERT_EQ(madvise(p, 4 * page, MADV_CONTIG), 0);
	EXPECT_EQ(knob_read_long("mms_registered"), regs + 1);
	munmap(p, 8 * page);
}

/* With no VM_CONTIG vma left, kcontigd drops the mm on its next pass. */
TEST_F_TIMEOUT(kcontigd, unregisters_when_no_vma_left, 60)
{
	long page = sysconf(_SC_PAGESIZE), regs;
	char *p;

	ASSERT_EQ(knob_write("enabled", "1"), 0);
	ASSERT_EQ(knob_write("scan_sleep_millisecs", "50"), 0);
	p = mmap(NULL, 8 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(p, MAP_FAILED);
	memset(p, 1, 8 * page);
	regs = knob_read_long("mms_registered");
	ASSERT_EQ(madvise(p, 8 * page, MADV_CONTIG), 0);
	ASSERT_EQ(knob_read_long("mms_registered"), regs + 1);

	ASSERT_EQ(madvise(p, 8 * page, MADV_NOCONTIG), 0);
	EXPECT_TRUE(knob_wait_eq("mms_registered", regs, 20));

	/* And the same mm can register again. */
	ASSERT_EQ(madvise(p, 8 * page, MADV_CONTIG), 0);
	EXPECT_EQ(knob_read_long("mms_registered"), regs + 1);
	munmap(p, 8 * page);
	EXPECT_TRUE(knob_wait_eq("mms_registered", regs, 20));
}

static long ctxt_switches(pid_t pid)
{
	char path[64], line[256];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* While nothing is registered, kcontigd does not wake up at all. */
TEST_F_TIMEOUT(kcontigd, no_wakeups_when_idle, 60)
{
	long before, after;
	pid_t pid;

	ASSERT_EQ(knob_write("enabled", "1"), 0);
	if (!knob_wait_eq("mms_registered", 0, 20))
		SKIP(return, "other processes are registered");
	ASSERT_EQ(knob_write("scan_sleep_millisecs", "10"), 0);
	pid = kcontigd_pid();
	ASSERT_GT(pid, 0);
	usleep(200000);		/* let the knob write's pass finish */
	before = ctxt_switches(pid);
	sleep(2);
	after = ctxt_switches(pid);
	ASSERT_GE(before, 0);
	EXPECT_EQ(after, before);
}

/* Many processes register and exit: no mm_slot is left behind. */
TEST_F_TIMEOUT(kcontigd, no_leaked_slots, 120)
{
	long page = sysconf(_SC_PAGESIZE), regs;
	int round, i;

	ASSERT_EQ(knob_write("scan_sleep_millisecs", "1"), 0);
	regs = knob_read_long("mms_registered");
	/* Half the rounds with the thread stopped: exit alone cleans up. */
	for (round = 0; round < 2; round++) {
		ASSERT_EQ(knob_write("enabled", round ? "1" : "0"), 0);
		for (i = 0; i < 100; i++) {
			int status;
			pid_t pid = fork();

			ASSERT_GE(pid, 0);
			if (pid == 0) {
				char *p = mmap(NULL, 4 * page,
					       PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS,
					       -1, 0);

				if (p == MAP_FAILED)
					_exit(1);
				memset(p, i, 4 * page);
				if (madvise(p, 4 * page, MADV_CONTIG))
					_exit(2);
				/* Some exit at once, some after a pass. */
				if (i & 1)
					usleep(2000);
				_exit(0);
			}
			ASSERT_EQ(waitpid(pid, &status, 0), pid);
			ASSERT_TRUE(WIFEXITED(status));
			ASSERT_EQ(WEXITSTATUS(status), 0);
		}
		EXPECT_TRUE(knob_wait_eq("mms_registered", regs, 20))
			TH_LOG("mms_registered %ld, expected %ld",
			       knob_read_long("mms_registered"), regs);
	}
}

/* A registered process that is killed while kcontigd runs. */
TEST_F_TIMEOUT(kcontigd, kill_while_registered, 120)
{
	long page = sysconf(_SC_PAGESIZE), regs;
	pid_t pids[16];
	int i, status;

	ASSERT_EQ(knob_write("enabled", "1"), 0);
	ASSERT_EQ(knob_write("scan_sleep_millisecs", "1"), 0);
	regs = knob_read_long("mms_registered");
	for (i = 0; i < 16; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (pids[i] == 0) {
			char *p = mmap(NULL, 64 * page, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				_exit(1);
			memset(p, 3, 64 * page);
			for (;;) {
				madvise(p, 64 * page, MADV_CONTIG);
				madvise(p + 8 * page, 8 * page, MADV_NOCONTIG);
			}
		}
	}
	usleep(300000);
	for (i = 0; i < 16; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], &status, 0);
	}
	EXPECT_TRUE(knob_wait_eq("mms_registered", regs, 20));
}

#define AIO_READS	8
#define AIO_READ_SIZE	(8UL << 20)
#define AIO_DEV		"/dev/vda"

/*
 * Register, wait for the anchor, start O_DIRECT AIO reads and exit: the
 * exit waits in exit_aio() for the reads with mm_users already zero,
 * which is when kcontigd may find the mm dying before mem_defrag_exit().
 */
static void exit_with_aio_inflight(long page)
{
	struct iocb cb[AIO_READS], *cbp[AIO_READS];
	aio_context_t ctx = 0;
	char line[512], *p, *buf;
	int fd, i;

	p = mmap(NULL, 64 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(1);
	memset(p, 5, 64 * page);
	if (madvise(p, 64 * page, MADV_CONTIG))
		_exit(2);
	for (i = 0; i < 5000; i++) {
		if (!contig_line(getpid(), (unsigned long)p, line,
				 sizeof(line)) && !strstr(line, "anchor=none"))
			break;
		usleep(1000);
	}
	if (i == 5000)
		_exit(3);
	fd = open(AIO_DEV, O_RDONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&buf, page,
				     AIO_READS * AIO_READ_SIZE))
		_exit(4);
	if (syscall(__NR_io_setup, AIO_READS, &ctx))
		_exit(5);
	for (i = 0; i < AIO_READS; i++) {
		memset(&cb[i], 0, sizeof(cb[i]));
		cb[i].aio_lio_opcode = IOCB_CMD_PREAD;
		cb[i].aio_fildes = fd;
		cb[i].aio_buf = (unsigned long)(buf + i * AIO_READ_SIZE);
		cb[i].aio_nbytes = AIO_READ_SIZE;
		cb[i].aio_offset = i * AIO_READ_SIZE;
		cbp[i] = &cb[i];
	}
	if (syscall(__NR_io_submit, ctx, AIO_READS, cbp) != AIO_READS)
		_exit(6);
	_exit(0);
}

/*
 * Processes exit while kcontigd scans every millisecond and their exit is
 * held open by in-flight AIO: their anchors must all be dropped, whoever
 * sees the mm go first.
 */
TEST_F_TIMEOUT(kcontigd, anchors_dropped_when_exit_races, 600)
{
	long page = sysconf(_SC_PAGESIZE), anchors, pages;
	int i;

	if (access(AIO_DEV, R_OK))
		SKIP(return, "no %s to read from", AIO_DEV);
	ASSERT_EQ(knob_write("enabled", "1"), 0);
	ASSERT_EQ(knob_write("scan_sleep_millisecs", "1"), 0);
	anchors = knob_read_long("anchors");
	pages = knob_read_long("anchored_pages");
	for (i = 0; i < 20; i++) {
		int status;
		pid_t pid = fork();

		ASSERT_GE(pid, 0);
		if (pid == 0)
			exit_with_aio_inflight(page);
		ASSERT_EQ(waitpid(pid, &status, 0), pid);
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(WEXITSTATUS(status), 0);
	}
	EXPECT_TRUE(knob_wait_eq("anchors", anchors, 10))
		TH_LOG("anchors %ld, expected %ld", knob_read_long("anchors"),
		       anchors);
	EXPECT_EQ(knob_read_long("anchored_pages"), pages);
}

#define PM_TEST		"/sys/power/pm_test"
#define PM_STATE	"/sys/power/state"

/*
 * A child that keeps kcontigd busy: a 4 MiB vma populated in the holes of
 * another, advised, and every 100 ms a quarter of it dropped and faulted
 * again (into frames away from its anchor), so its work is never done.
 */
static void keep_busy(long page)
{
	size_t len = 4UL << 20, off, part = len >> 2;
	char *holes = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int i;

	if (holes == MAP_FAILED || p == MAP_FAILED)
		_exit(1);
	madvise(holes, 2 * len, MADV_NOHUGEPAGE);
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(holes, 7, 2 * len);
	for (off = page; off < 2 * len; off += 2 * page)
		madvise(holes + off, page, MADV_DONTNEED);
	memset(p, 8, len);
	if (madvise(p, len, MADV_CONTIG))
		_exit(2);
	for (i = 0;; i++) {
		usleep(100000);
		madvise(p + (i & 3) * part, part, MADV_DONTNEED);
		memset(p + (i & 3) * part, 9, part);
	}
}

static long pages_moved(void)
{
	return knob_read_long("pages_exchanged") +
	       knob_read_long("pages_migrated");
}

/* Is a vma of one of @pids still being moved? */
static bool some_vma_working(const pid_t *pids, int n)
{
	char path[64], line[512];
	bool working = false;
	int i;

	for (i = 0; i < n && !working; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/contig", pids[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (!working && fgets(line, sizeof(line), f))
			working = strstr(line, " state=working ");
		fclose(f);
	}
	return working;
}

/*
 * Suspend's freezer test level freezes every task, kthreads included, and
 * thaws them: with 16 mms keeping kcontigd busy at a 1 ms scan sleep, the
 * freeze must succeed within a 2 s freeze timeout while their vmas are
 * still being worked on, and kcontigd moves pages again after the thaw.
 */
TEST_F_TIMEOUT(kcontigd, freezes_while_busy, 300)
{
	long page = sysconf(_SC_PAGESIZE), moved = pages_moved();
	char saved_timeout[32], states[64];
	pid_t pids[16];
	int i, round, status;

	if (access(PM_TEST, W_OK) ||
	    read_sysfs("/sys/power/pm_freeze_timeout", saved_timeout,
		       sizeof(saved_timeout)))
		SKIP(return, "no %s (CONFIG_PM_SLEEP_DEBUG)", PM_TEST);
	ASSERT_EQ(read_sysfs(PM_STATE, states, sizeof(states)), 0);
	if (!strstr(states, "freeze"))
		SKIP(return, "no suspend-to-idle in %s", PM_STATE);
	ASSERT_EQ(knob_write("enabled", "1"), 0);
	ASSERT_EQ(knob_write("scan_sleep_millisecs", "1"), 0);
	for (i = 0; i < 16; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			keep_busy(page);
		}
	}
	ASSERT_EQ(write_sysctl("/sys/module/suspend/parameters/pm_test_delay",
			       "1"), 0);
	ASSERT_EQ(write_sysctl("/sys/power/pm_freeze_timeout", "2000"), 0);
	ASSERT_EQ(write_sysctl(PM_TEST, "freezer"), 0);
	/* The children start moving within seconds. */
	for (i = 0; i < 600 && pages_moved() == moved; i++)
		usleep(100000);
	ASSERT_GT(pages_moved(), moved);
	for (round = 0; round < 3; round++) {
		/* kcontigd has work left when the freeze starts. */
		EXPECT_TRUE(some_vma_working(pids, 16))
			TH_LOG("round %d: no vma left to work on", round);
		EXPECT_EQ(write_sysctl(PM_STATE, "freeze"), 0)
			TH_LOG("round %d: freezing failed (see the console)",
			       round);
		usleep(200000);
	}
	moved = pages_moved();
	for (i = 0; i < 600 && pages_moved() == moved; i++)
		usleep(100000);
	EXPECT_GT(pages_moved(), moved)
		TH_LOG("kcontigd did not resume after the thaw");
	write_sysctl(PM_TEST, "none");
	write_sysctl("/sys/power/pm_freeze_timeout", saved_timeout);
	for (i = 0; i < 16; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], &status, 0);
	}
}

TEST_HARNESS_MAIN
