// SPDX-License-Identifier: GPL-2.0
/*
 * Stress page exchange: thousands of random exchanges among the pages of
 * several processes that keep writing, forking, munmapping and mremapping
 * at the same time. Every process checks all its pages at the end.
 *
 * Then two hammers on windows that review found: exchanges between anon
 * and shmem pages while their owner zaps and forks them (the rss counters
 * and page table deposits must stay right), and sync exchanges of xfs page
 * cache while it is written back (no deadlock on two folio locks).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "exchange_util.h"

#define WORKERS		4
#define PAGES		128
#define EXCHANGES	3000

static long psize;

/*
 * Shared with the parent: where each worker's buffer is right now. base
 * and stop cross processes (READ_ONCE/WRITE_ONCE); only the parent uses
 * pid and only the worker result.
 */
struct worker_info {
	pid_t pid;
	uintptr_t base;
	int stop;
	int result;
};

static void worker(struct worker_info *me, unsigned int seed)
{
	unsigned int *owner = calloc(PAGES, sizeof(*owner));
	char *buf, *spare;
	int i, round = 0;

	buf = mmap(NULL, PAGES * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	spare = mmap(NULL, PAGES * psize, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!owner || buf == MAP_FAILED || spare == MAP_FAILED)
		_exit(10);
	madvise(buf, PAGES * psize, MADV_NOHUGEPAGE);
	for (i = 0; i < PAGES; i++) {
		owner[i] = seed * 100000 + i;
		fill_page(buf + i * psize, psize, owner[i]);
	}
	WRITE_ONCE(me->base, (uintptr_t)buf);

	while (!READ_ONCE(me->stop)) {
		int x = rand_r(&seed) % PAGES;

		switch (round++ % 16) {
		case 0: {		/* fork: the child writes COW copies */
			pid_t pid = fork();

			if (pid == 0) {
				for (i = 0; i < PAGES; i += 7) {
					if (!check_page(buf + i * psize, psize,
							owner[i]))
						_exit(1);
					fill_page(buf + i * psize, psize, 7);
				}
				_exit(0);
			}
			if (pid > 0) {
				int status;

				waitpid(pid, &status, 0);
				if (!WIFEXITED(status) || WEXITSTATUS(status))
					me->result = 20;
			}
			break;
		}
		case 5:			/* drop a page and populate it again */
			munmap(buf + x * psize, psize);
			if (mmap(buf + x * psize, psize, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				 -1, 0) == MAP_FAILED)
				_exit(11);
			owner[x] = seed + round;
			fill_page(buf + x * psize, psize, owner[x]);
			break;
		case 9: {		/* move a page away and back */
			char *away = mremap(buf + x * psize, psize, psize,
					    MREMAP_MAYMOVE | MREMAP_FIXED,
					    spare + x * psize);

			if (away == MAP_FAILED ||
			    mremap(away, psize, psize,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   buf + x * psize) == MAP_FAILED)
				_exit(12);
			break;
		}
		default:		/* rewrite a page */
			owner[x] = seed + round;
			fill_page(buf + x * psize, psize, owner[x]);
			break;
		}
	}
	for (i = 0; i < PAGES; i++)
		if (!check_page(buf + i * psize, psize, owner[i]))
			me->result = 30 + (i & 63);
	_exit(me->result);
}

FIXTURE(stress) {
};

FIXTURE_SETUP(stress)
{
	psize = sysconf(_SC_PAGESIZE);
	if (geteuid())
		SKIP(return, "needs root");
	if (!exchange_present())
		SKIP(return, "no %s", EXCHANGE_DEBUGFS);
}

FIXTURE_TEARDOWN(stress)
{
}

TEST_F_TIMEOUT(stress, random_exchanges_among_busy_processes, 600)
{
	struct worker_info *w;
	unsigned int seed = 12345;
	int i, ok = 0, errors[256] = { };
	long isolated;

	w = mmap(NULL, WORKERS * sizeof(*w), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(w, MAP_FAILED);
	memset(w, 0, WORKERS * sizeof(*w));
	for (i = 0; i < WORKERS; i++) {
		pid_t pid = fork();

		ASSERT_GE(pid, 0);
		if (pid == 0)
			worker(&w[i], i + 1);
		w[i].pid = pid;
	}
	for (i = 0; i < WORKERS; i++)
		while (!READ_ONCE(w[i].base))
			usleep(1000);

	for (i = 0; i < EXCHANGES; i++) {
		int a = rand_r(&seed) % WORKERS, b = rand_r(&seed) % WORKERS;
		char cmd[160];
		int ret;

		snprintf(cmd, sizeof(cmd), "%d 0x%lx 0x%lx pid2=%d%s",
			 w[a].pid,
			 (unsigned long)(READ_ONCE(w[a].base) +
					 (rand_r(&seed) % PAGES) * psize),
			 (unsigned long)(READ_ONCE(w[b].base) +
					 (rand_r(&seed) % PAGES) * psize),
			 w[b].pid, i % 3 ? "" : " async");
		ret = exchange_raw(cmd);
		if (!ret)
			ok++;
		else
			errors[-ret & 255]++;
	}
	for (i = 0; i < WORKERS; i++)
		WRITE_ONCE(w[i].stop, 1);
	for (i = 0; i < WORKERS; i++) {
		int status;

		ASSERT_EQ(waitpid(w[i].pid, &status, 0), w[i].pid);
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(WEXITSTATUS(status), 0)
			TH_LOG("worker %d: data check failed (%d)", i,
			       WEXITSTATUS(status));
	}
	TH_LOG("%d of %d exchanges done", ok, EXCHANGES);
	for (i = 1; i < 256; i++)
		if (errors[i])
			TH_LOG("%d failed with %s", errors[i], strerror(i));
	/* Most requests find both pages mapped and succeed. */
	EXPECT_GE(ok, EXCHANGES / 2);
	isolated = vmstat("nr_isolated_anon") + vmstat("nr_isolated_file");
	EXPECT_EQ(isolated, 0);
}

/* Open /dev/kmsg positioned at its end, to read what the kernel logs next. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * Count the kernel messages since kmsg_open() that contain @a or @b: the
 * rss-counter and page table checks of mms that were freed.
 */
static int kmsg_count(int fd, const char *a, const char *b)
{
	char rec[2048];
	ssize_t len;
	int n = 0;

	/* Freed mms are checked when their last lazy reference goes. */
	usleep(200000);
	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (len <= 0)
			break;
		rec[len] = '\0';
		if (strstr(rec, a) || strstr(rec, b)) {
			n++;
			printf("# kernel: %s", rec);
		}
	}
	return n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define MIXED_PAGES	16
#define MIXED_VIEWS	64	/* mappings of the shmem pages: long rmap walks */
#define MIXED_SECS	10

/*
 * The owner of the pages: zaps and refaults its anon pages, zaps one
 * view of its shmem pages and forks, until told to stop.
 */
static void mixed_owner(char *anon, char **views, int *stop)
{
	unsigned int seed = 7, round = 0;
	int i, j;

	/* Shared file mappings are not copied by fork: map every view. */
	for (i = 0; i < MIXED_VIEWS; i++)
		for (j = 0; j < MIXED_PAGES; j++)
			views[i][j * psize] = 1;
	WRITE_ONCE(stop[1], 1);
	while (!READ_ONCE(stop[0])) {
		int i = rand_r(&seed) % MIXED_PAGES;

		switch (round++ % 8) {
		case 0: {
			pid_t pid = fork();

			if (pid == 0)
				_exit(0);
			if (pid > 0)
				waitpid(pid, NULL, 0);
			break;
		}
		case 1:
			madvise(views[1 + rand_r(&seed) % (MIXED_VIEWS - 1)] +
				i * psize, psize, MADV_DONTNEED);
			break;
		default:
			madvise(anon + i * psize, psize, MADV_DONTNEED);
			anon[i * psize] = 1;
			break;
		}
	}
	_exit(0);
}

TEST_F_TIMEOUT(stress, mixed_kinds_under_zap_and_fork, 300)
{
	int kmsg = kmsg_open(), fd, i, ok = 0, tries = 0, status;
	int *stop;
	char *anon, *views[MIXED_VIEWS];
	double end;
	pid_t pid;

	ASSERT_GE(kmsg, 0);
	stop = mmap(NULL, psize, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(stop, MAP_FAILED);
	fd = memfd_create("mixed", 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(ftruncate(fd, MIXED_PAGES * psize), 0);
	for (i = 0; i < MIXED_VIEWS; i++) {
		views[i] = mmap(NULL, MIXED_PAGES * psize,
				PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ASSERT_NE(views[i], MAP_FAILED);
	}
	anon = mmap(NULL, MIXED_PAGES * psize, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(anon, MAP_FAILED);
	madvise(anon, MIXED_PAGES * psize, MADV_NOHUGEPAGE);
	memset(anon, 1, MIXED_PAGES * psize);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		mixed_owner(anon, views, stop);
	while (!READ_ONCE(stop[1]))
		usleep(1000);

	end = now() + MIXED_SECS;
	while (now() < end) {
		char cmd[160];
		unsigned int x = tries % MIXED_PAGES, y = (tries / 3) % MIXED_PAGES;

		snprintf(cmd, sizeof(cmd), "%d %p %p%s", pid,
			 anon + x * psize, views[0] + y * psize,
			 tries & 1 ? " async" : "");
		ok += !exchange_raw(cmd);
		tries++;
	}
	WRITE_ONCE(stop[0], 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	TH_LOG("%d of %d anon/shmem exchanges done", ok, tries);
	EXPECT_EQ(kmsg_count(kmsg, "Bad rss-counter", "pgtables_bytes"), 0);
	EXPECT_EQ(vmstat("nr_isolated_anon") + vmstat("nr_isolated_file"), 0);
	close(kmsg);
	close(fd);
}

#define WB_PAGES	32
#define WB_SECS		15
#define WB_DIR		"/run/fs/xfs"
#define HUNG_TASK_KNOB	"/proc/sys/kernel/hung_task_timeout_secs"

/* Shared with the writers: READ_ONCE/WRITE_ONCE. */
struct wb_shared {
	int stop;
	int round;	/* the last round written in full */
};

/*
 * Until stopped: rewrite every page and start its writeback (@fsyncer 0),
 * or write back and wait, again and again (@fsyncer 1).
 */
static void wb_writer(char *p, int fd, struct wb_shared *sh, int fsyncer)
{
	int round = 0, i;

	while (!READ_ONCE(sh->stop)) {
		if (fsyncer) {
			fsync(fd);
			continue;
		}
		round++;
		for (i = 0; i < WB_PAGES; i++)
			fill_page(p + i * psize, psize, round * 100 + i);
		WRITE_ONCE(sh->round, round);
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	_exit(0);
}

/*
 * Sync exchanges between dirty pages of one xfs file while two writers
 * keep dirtying it and writing it back (fsync and sync_file_range). An
 * exchange that waits for writeback of one folio while holding the lock
 * of the other deadlocks with a flusher that has the first under
 * writeback, not yet submitted, and waits for the second's lock; the
 * hung task detector (20 s here) reports it.
 */
TEST_F_TIMEOUT(stress, xfs_sync_exchanges_under_writeback, 300)
{
	char path[128], hung[32] = "120", *p, *buf;
	int fd, dfd, i, ok = 0, tries = 0, errs[256] = { };
	struct wb_shared *sh;
	unsigned int seed = 3;
	pid_t pid[2];
	double end;
	struct stat a, b;

	if (stat(WB_DIR, &a) || stat(WB_DIR "/..", &b) || a.st_dev == b.st_dev)
		SKIP(return, WB_DIR " is not mounted");
	snprintf(path, sizeof(path), WB_DIR "/wb-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(fd, 0);
	unlink(path);
	buf = malloc(psize);
	ASSERT_NE(buf, NULL);
	for (i = 0; i < WB_PAGES; i++) {
		fill_page(buf, psize, i);
		ASSERT_EQ(pwrite(fd, buf, psize, (off_t)i * psize), psize);
	}
	free(buf);
	ASSERT_EQ(fsync(fd), 0);
	p = mmap(NULL, WB_PAGES * psize, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	for (i = 0; i < WB_PAGES; i++)
		ASSERT_TRUE(check_page(p + i * psize, psize, i));
	sh = mmap(NULL, psize, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(sh, MAP_FAILED);
	read_sysfs(HUNG_TASK_KNOB, hung, sizeof(hung));
	write_sysctl(HUNG_TASK_KNOB, "20");

	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0)
			wb_writer(p, fd, sh, i);
	}
	end = now() + WB_SECS;
	while (now() < end) {
		char cmd[160];
		int x = rand_r(&seed) % WB_PAGES, y = rand_r(&seed) % WB_PAGES;
		int ret;

		if (x == y)
			continue;
		snprintf(cmd, sizeof(cmd), "%d %p %p", getpid(),
			 p + x * psize, p + y * psize);
		ret = exchange_raw(cmd);
		if (!ret)
			ok++;
		else
			errs[-ret & 255]++;
		tries++;
	}
	WRITE_ONCE(sh->stop, 1);
	for (i = 0; i < 2; i++) {
		int status;

		ASSERT_EQ(waitpid(pid[i], &status, 0), pid[i]);
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	write_sysctl(HUNG_TASK_KNOB, hung);
	TH_LOG("%d of %d sync exchanges done", ok, tries);
	for (i = 1; i < 256; i++)
		if (errs[i])
			TH_LOG("%d failed with %s", errs[i], strerror(i));
	EXPECT_GT(ok, 0);

	/* The last full round is on disk, read around the page cache. */
	ASSERT_EQ(fsync(fd), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	dfd = open(path, O_RDONLY | O_DIRECT);
	ASSERT_GE(dfd, 0);
	ASSERT_EQ(posix_memalign((void **)&buf, psize, psize), 0);
	for (i = 0; i < WB_PAGES; i++) {
		ASSERT_EQ(pread(dfd, buf, psize, (off_t)i * psize), psize);
		EXPECT_TRUE(check_page(buf, psize,
				       READ_ONCE(sh->round) * 100 + i))
			TH_LOG("page %d", i);
		EXPECT_TRUE(check_page(p + i * psize, psize,
				       READ_ONCE(sh->round) * 100 + i));
	}
	free(buf);
	close(dfd);
	munmap(p, WB_PAGES * psize);
	close(fd);
	EXPECT_EQ(vmstat("nr_isolated_anon") + vmstat("nr_isolated_file"), 0);
}

TEST_HARNESS_MAIN
