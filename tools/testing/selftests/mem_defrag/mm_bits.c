// SPDX-License-Identifier: GPL-2.0
/*
 * Moving a page must not change what the rest of mm sees in its page
 * table entry: a page write-protected with userfaultfd stays protected
 * (a write raises the event), a page not written since clear_refs stays
 * soft-clean, and a written one becomes soft-dirty as before. Each for
 * the three movers of kcontigd: exchange, migration onto a given frame
 * (the fallback), and kcontigd itself. Plus the race of PAGEMAP_SCAN's
 * async write-protect with migration, found by the mm selftest
 * pagemap_ioctl under kcontigd, driven both by move_pages(2) and by
 * exchange. And a vma KSM is to merge is left to KSM, and MADV_COLLAPSE,
 * MADV_PAGEOUT and a THP split of a range kcontigd is moving do all they
 * would without kcontigd.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>

#include "../kselftest_harness.h"
#include "contig_util.h"
#include "exchange_util.h"

#define PM_SOFT_DIRTY	BIT_ULL(55)
#define PM_UFFD_WP	BIT_ULL(57)
#define NPAGES		64
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

static long psize;

static const char * const bits_knobs[] = {
	"enabled", "scan_sleep_millisecs", "pages_to_scan",
};

FIXTURE(bits)
{
	char saved[ARRAY_SIZE(bits_knobs)][64];
	char *a, *b;		/* NPAGES each, faulted in turn */
	int uffd;
	bool kcontigd;		/* else only the move_pages(2) race runs */
};

/* Fault @a and @b page by page in turn, so neither is contiguous. */
static int map_interleaved(char **a, char **b, unsigned long pages)
{
	unsigned long i;

	*a = mmap(NULL, pages * psize, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	*b = mmap(NULL, pages * psize, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*a == MAP_FAILED || *b == MAP_FAILED)
		return -1;
	madvise(*a, pages * psize, MADV_NOHUGEPAGE);
	madvise(*b, pages * psize, MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++) {
		fill_page(*a + i * psize, psize, 1000 + i);
		fill_page(*b + i * psize, psize, 2000 + i);
	}
	return 0;
}

FIXTURE_SETUP(bits)
{
	unsigned int i;

	psize = sysconf(_SC_PAGESIZE);
	self->uffd = -1;
	if (geteuid())
		SKIP(return, "needs root (debugfs, pagemap PFNs)");
	ASSERT_EQ(map_interleaved(&self->a, &self->b, NPAGES), 0);
	self->kcontigd = exchange_present() && kcontigd_present();
	if (!self->kcontigd)
		return;
	for (i = 0; i < ARRAY_SIZE(bits_knobs); i++)
		ASSERT_EQ(knob_read(bits_knobs[i], self->saved[i], 64), 0);
	ASSERT_EQ(knob_write("enabled", "1"), 0);
	ASSERT_EQ(knob_write("scan_sleep_millisecs", "20"), 0);
	ASSERT_EQ(knob_write("pages_to_scan", "8192"), 0);
}

FIXTURE_TEARDOWN(bits)
{
	unsigned int i;

	if (geteuid())
		return;
	if (self->uffd >= 0)
		close(self->uffd);
	if (!self->kcontigd)
		return;
	for (i = 0; i < ARRAY_SIZE(bits_knobs); i++)
		knob_write(bits_knobs[i], self->saved[i]);
	EXPECT_TRUE(isolated_settles(10));
}

static int uffd_open(unsigned long long features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd;

	fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int uffd_register_wp(int fd, void *addr, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	return ioctl(fd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

static int uffd_wp(int fd, void *addr, size_t len, bool protect)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(fd, UFFDIO_WRITEPROTECT, &wp) ? -errno : 0;
}

/* Register @a and @b for write-protect faults and protect all of them. */
static int protect_both(struct _test_data_bits *self)
{
	size_t len = NPAGES * psize;

	self->uffd = uffd_open(0);
	if (self->uffd < 0)
		return self->uffd;
	return uffd_register_wp(self->uffd, self->a, len) ?:
	       uffd_register_wp(self->uffd, self->b, len) ?:
	       uffd_wp(self->uffd, self->a, len, true) ?:
	       uffd_wp(self->uffd, self->b, len, true);
}

/* How many pages of [p, p + pages) have @bit set in pagemap. */
static long count_bit(char *p, unsigned long pages, uint64_t bit)
{
	unsigned long i;
	long n = 0;

	for (i = 0; i < pages; i++)
		if (pagemap_entry_of(getpid(), p + i * psize) & bit)
			n++;
	return n;
}

static bool data_intact(char *a, char *b, unsigned long pages)
{
	unsigned long i;

	for (i = 0; i < pages; i++)
		if (!check_page(a + i * psize, psize, 1000 + i) ||
		    !check_page(b + i * psize, psize, 2000 + i))
			return false;
	return true;
}

struct writer {
	char *buf[2];
	unsigned long pages;
	int done;		/* __atomic */
};

static void *write_all(void *arg)
{
	struct writer *w = arg;
	unsigned long i;
	int k;

	for (k = 0; k < 2; k++)
		for (i = 0; i < w->pages; i++)
			w->buf[k][i * psize] ^= 0x5a;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Write every page of @a and @b from a thread and serve the faults:
 * each write to a protected page must arrive as one write-protect event
 * (unprotecting that page wakes the writer). Returns the number of
 * distinct pages that raised one, or -1 on an unexpected message.
 */
static long writes_trapped(int uffd, char *a, char *b, unsigned long pages)
{
	struct writer w = { .buf = { a, b }, .pages = pages };
	double deadline = now_seconds() + 60;
	char *seen = calloc(2 * pages, 1);
	struct uffd_msg msg;
	pthread_t th;
	long n = 0;

	if (!seen || pthread_create(&th, NULL, write_all, &w))
		return -1;
	while (now_seconds() < deadline) {
		struct pollfd pfd = { .fd = uffd, .events = POLLIN };
		unsigned long addr, idx;

		if (poll(&pfd, 1, 100) <= 0) {
			if (__atomic_load_n(&w.done, __ATOMIC_ACQUIRE))
				break;
			continue;
		}
		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT ||
		    !(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)) {
			n = -1;
			break;
		}
		addr = msg.arg.pagefault.address & ~(psize - 1);
		if (addr >= (uintptr_t)a && addr < (uintptr_t)a + pages * psize)
			idx = (addr - (uintptr_t)a) / psize;
		else
			idx = pages + (addr - (uintptr_t)b) / psize;
		if (idx < 2 * pages && !seen[idx]++)
			n++;
		uffd_wp(uffd, (void *)addr, psize, false);
	}
	if (!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE)) {
		uffd_wp(uffd, a, pages * psize, false);
		uffd_wp(uffd, b, pages * psize, false);
	}
	pthread_join(th, NULL);
	free(seen);
	return n;
}

enum mover { BY_EXCHANGE, BY_MIGRATION, BY_KCONTIGD };

/* Wait until kcontigd reports the vma at @p done; false on timeout. */
static bool kcontigd_done(void *p, double secs)
{
	double deadline = now_seconds() + secs;
	char line[512];

	do {
		if (!contig_line(getpid(), (unsigned long)p, line, sizeof(line)) &&
		    strstr(line, " state=done"))
			return true;
		usleep(100000);
	} while (now_seconds() < deadline);
	return false;
}

#define SPLIT_HUGE_PAGES	"/sys/kernel/debug/split_huge_pages"

/*
 * A THP split into 512 order-0 pages: frames in a pageblock that holds
 * nothing else, so the fallback can always free them. NULL without THP.
 */
static char *map_spare_frames(void)
{
	char *p = map_thp(3000), cmd[96];

	if (!p || !is_thp(p))
		return NULL;
	snprintf(cmd, sizeof(cmd), "%d,0x%lx,0x%lx", getpid(),
		 (unsigned long)p, (unsigned long)p + THP_SIZE);
	if (write_sysctl(SPLIT_HUGE_PAGES, cmd) || is_thp(p))
		return NULL;
	return p;
}

/*
 * Move the pages of @a (and with exchange those of @b) by @how; returns
 * how many pages of @a now sit on another frame, -1 on a failed request.
 * A fallback whose target in @b cannot be freed is retried onto a frame
 * of a split THP.
 */
static long move_pages_by(struct _test_data_bits *self, enum mover how)
{
	unsigned long i, busy = 0, next_spare = 0;
	uint64_t before[NPAGES], pfn_b[NPAGES];
	int tried_spare = 0;
	char *spare = NULL;
	long moved = 0;

	for (i = 0; i < NPAGES; i++) {
		before[i] = pfn_of(getpid(), self->a + i * psize);
		pfn_b[i] = pfn_of(getpid(), self->b + i * psize);
	}
	for (i = 0; how != BY_KCONTIGD && i < NPAGES; i++) {
		uint64_t want = pfn_b[i];
		int rc = exchange_request(how == BY_MIGRATION ? "fallback" : NULL,
					  getpid(), self->a + i * psize,
					  self->b + i * psize);

		/*
		 * The fallback cannot free a target in a pageblock that holds
		 * unmovable pages (fragmented memory after other tests): then
		 * onto a spare frame, else that page stays where it is (see
		 * min_moved()).
		 */
		if (rc == -EBUSY && how == BY_MIGRATION) {
			if (!tried_spare++)
				spare = map_spare_frames();
			while (rc == -EBUSY && spare &&
			       next_spare < THP_SIZE / psize) {
				char *t = spare + next_spare++ * psize;

				want = pfn_of(getpid(), t);
				rc = exchange_request("fallback", getpid(),
						      self->a + i * psize, t);
			}
			if (rc == -EBUSY) {
				busy++;
				continue;
			}
		}
		if (rc) {
			fprintf(stderr, "# page %lu: request: %s\n", i,
				strerror(-rc));
			return -1;
		}
		if (pfn_of(getpid(), self->a + i * psize) != want)
			return -1;
	}
	if (how == BY_KCONTIGD &&
	    (madvise(self->a, NPAGES * psize, MADV_CONTIG) ||
	     knob_write("enabled", "1") || !kcontigd_done(self->a, 120)))
		return -1;
	for (i = 0; i < NPAGES; i++)
		if (pfn_of(getpid(), self->a + i * psize) != before[i])
			moved++;
	if (busy || next_spare)
		ksft_print_msg("%lu targets busy (unmovable neighbours), %lu spare frames tried\n",
			       busy, next_spare);
	return moved;
}

/*
 * The fewest pages a mover must move for a case to count. Migration onto
 * b's frames leaves the targets in pageblocks with unmovable pages alone
 * (memory fragmented by the suites before): one moved page is enough to
 * check the bits on, and every page is checked.
 */
static long min_moved(enum mover how)
{
	return how == BY_MIGRATION ? 1 : NPAGES / 2;
}

static void uffd_wp_kept(struct __test_metadata *_metadata,
			 struct _test_data_bits *self, enum mover how)
{
	long moved, trapped;

	if (!self->kcontigd)
		SKIP(return, "kernel without exchange or kcontigd");
	ASSERT_EQ(protect_both(self), 0);
	ASSERT_EQ(count_bit(self->a, NPAGES, PM_UFFD_WP), NPAGES);
	moved = move_pages_by(self, how);
	ASSERT_GE(moved, min_moved(how));
	EXPECT_EQ(count_bit(self->a, NPAGES, PM_UFFD_WP), NPAGES);
	EXPECT_EQ(count_bit(self->b, NPAGES, PM_UFFD_WP), NPAGES);
	ASSERT_TRUE(data_intact(self->a, self->b, NPAGES));
	trapped = writes_trapped(self->uffd, self->a, self->b, NPAGES);
	ksft_print_msg("%ld of %d pages moved, %ld of %d writes trapped\n",
		       moved, NPAGES, trapped, 2 * NPAGES);
	EXPECT_EQ(trapped, 2 * NPAGES);
}

TEST_F_TIMEOUT(bits, uffd_wp_kept_by_exchange, 120)
{
	uffd_wp_kept(_metadata, self, BY_EXCHANGE);
}

TEST_F_TIMEOUT(bits, uffd_wp_kept_by_migration, 120)
{
	uffd_wp_kept(_metadata, self, BY_MIGRATION);
}

TEST_F_TIMEOUT(bits, uffd_wp_kept_by_kcontigd, 180)
{
	uffd_wp_kept(_metadata, self, BY_KCONTIGD);
}

static int clear_soft_dirty(void)
{
	return write_sysctl("/proc/self/clear_refs", "4");
}

static void soft_dirty_kept(struct __test_metadata *_metadata,
			    struct _test_data_bits *self, enum mover how)
{
	unsigned long i;
	long moved;

	if (!self->kcontigd)
		SKIP(return, "kernel without exchange or kcontigd");
	if (!(pagemap_entry_of(getpid(), self->a) & PM_SOFT_DIRTY))
		SKIP(return, "no soft-dirty (CONFIG_MEM_SOFT_DIRTY)");
	/* kcontigd must not move before clear_refs. */
	if (how == BY_KCONTIGD)
		ASSERT_EQ(knob_write("enabled", "0"), 0);
	ASSERT_EQ(clear_soft_dirty(), 0);
	ASSERT_EQ(count_bit(self->a, NPAGES, PM_SOFT_DIRTY), 0);
	moved = move_pages_by(self, how);
	ASSERT_GE(moved, min_moved(how));
	ASSERT_TRUE(data_intact(self->a, self->b, NPAGES));
	EXPECT_EQ(count_bit(self->a, NPAGES, PM_SOFT_DIRTY), 0);
	EXPECT_EQ(count_bit(self->b, NPAGES, PM_SOFT_DIRTY), 0);
	for (i = 0; i < NPAGES; i += 2)
		self->a[i * psize] ^= 1;
	EXPECT_EQ(count_bit(self->a, NPAGES, PM_SOFT_DIRTY), NPAGES / 2);
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(!!(pagemap_entry_of(getpid(), self->a + i * psize) &
			     PM_SOFT_DIRTY), !(i & 1));
	ksft_print_msg("%ld of %d pages moved\n", moved, NPAGES);
}

TEST_F_TIMEOUT(bits, soft_dirty_kept_by_exchange, 120)
{
	soft_dirty_kept(_metadata, self, BY_EXCHANGE);
}

TEST_F_TIMEOUT(bits, soft_dirty_kept_by_migration, 120)
{
	soft_dirty_kept(_metadata, self, BY_MIGRATION);
}

TEST_F_TIMEOUT(bits, soft_dirty_kept_by_kcontigd, 180)
{
	soft_dirty_kept(_metadata, self, BY_KCONTIGD);
}

/*
 * Async uffd-wp: PAGEMAP_SCAN write-protects what was written while the
 * pages are being migrated. A page it protects must trap its next write;
 * a write that does not fault escapes the tracking. The writers count
 * their own faults (getrusage) as the mm selftest pagemap_ioctl does.
 */
#define SCAN_WRITERS	2
#define SCAN_ROUNDS	3000
#define SCAN_SECS	40

struct scan_race {
	char *buf;
	pthread_barrier_t start, end;
	int stop;		/* __atomic */
	long escaped;
	enum mover how;
	char *other;
};

static long thread_faults(void)
{
	struct rusage r;

	getrusage(RUSAGE_THREAD, &r);
	return r.ru_minflt + r.ru_majflt;
}

static void *scan_writer(void *arg)
{
	struct scan_race *s = arg;
	static int next;
	int me = __atomic_fetch_add(&next, 1, __ATOMIC_SEQ_CST) % SCAN_WRITERS;
	char *mine = s->buf + me * (NPAGES / SCAN_WRITERS) * psize;
	long before, i;

	/*
	 * Always wait at the start barrier first: a writer that checked stop
	 * before it would exit while the main thread waits there for it.
	 */
	for (;;) {
		pthread_barrier_wait(&s->start);
		if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
			break;
		before = thread_faults();
		for (i = 0; i < NPAGES / SCAN_WRITERS; i++)
			__atomic_add_fetch((int *)(mine + i * psize), 1,
					   __ATOMIC_SEQ_CST);
		if (thread_faults() - before < NPAGES / SCAN_WRITERS)
			__atomic_add_fetch(&s->escaped, 1, __ATOMIC_SEQ_CST);
		pthread_barrier_wait(&s->end);
	}
	return NULL;
}

/* Keep migrating the pages of s->buf: between nodes, or by exchange. */
static void *scan_mover(void *arg)
{
	struct scan_race *s = arg;
	void *pages[NPAGES];
	int nodes[NPAGES], status[NPAGES], node = 1;
	unsigned long i;

	for (i = 0; i < NPAGES; i++)
		pages[i] = s->buf + i * psize;
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		if (s->how == BY_MIGRATION) {
			for (i = 0; i < NPAGES; i++)
				nodes[i] = node;
			syscall(SYS_move_pages, 0, NPAGES, pages, nodes, status, 0);
			node ^= 1;
		} else {
			for (i = 0; i < NPAGES; i++)
				exchange_request(NULL, getpid(), pages[i],
						 s->other + i * psize);
		}
	}
	return NULL;
}

static long scan_wp_written(char *buf)
{
	struct page_region rgns[NPAGES];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = (uintptr_t)buf,
		.end = (uintptr_t)buf + NPAGES * psize,
		.vec = (uintptr_t)rgns,
		.vec_len = NPAGES,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	static int fd = -1;
	long ret, n = 0, i;

	if (fd < 0)
		fd = open("/proc/self/pagemap", O_RDONLY);
	ret = ioctl(fd, PAGEMAP_SCAN, &arg);
	if (ret < 0)
		return -errno;
	for (i = 0; i < ret; i++)
		n += (rgns[i].end - rgns[i].start) / psize;
	return n;
}

static void scan_wp_race(struct __test_metadata *_metadata,
			 struct _test_data_bits *self, enum mover how)
{
	struct scan_race s = { .buf = self->a, .other = self->b, .how = how };
	pthread_t writers[SCAN_WRITERS], mover;
	long rounds, scans_failed = 0;
	double deadline;
	int i;

	if (how != BY_MIGRATION && !self->kcontigd)
		SKIP(return, "kernel without exchange or kcontigd");
	if (how == BY_MIGRATION && access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "needs two nodes");
	self->uffd = uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
	if (self->uffd < 0)
		SKIP(return, "no async uffd-wp: %s", strerror(-self->uffd));
	ASSERT_EQ(uffd_register_wp(self->uffd, self->a, NPAGES * psize), 0);
	ASSERT_EQ(uffd_wp(self->uffd, self->a, NPAGES * psize, true), 0);
	ASSERT_EQ(scan_wp_written(self->a), 0);

	pthread_barrier_init(&s.start, NULL, SCAN_WRITERS + 1);
	pthread_barrier_init(&s.end, NULL, SCAN_WRITERS + 1);
	for (i = 0; i < SCAN_WRITERS; i++)
		ASSERT_EQ(pthread_create(&writers[i], NULL, scan_writer, &s), 0);
	ASSERT_EQ(pthread_create(&mover, NULL, scan_mover, &s), 0);
	deadline = now_seconds() + SCAN_SECS;
	for (rounds = 0; rounds < SCAN_ROUNDS && !s.escaped &&
	     now_seconds() < deadline; rounds++) {
		pthread_barrier_wait(&s.start);
		/* Concurrently with the writes, then once more after them. */
		if (scan_wp_written(self->a) < 0)
			scans_failed++;
		pthread_barrier_wait(&s.end);
		if (scan_wp_written(self->a) < 0)
			scans_failed++;
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	pthread_barrier_wait(&s.start);
	for (i = 0; i < SCAN_WRITERS; i++)
		pthread_join(writers[i], NULL);
	pthread_join(mover, NULL);
	ksft_print_msg("%ld rounds, %ld with a write that did not fault\n",
		       rounds, s.escaped);
	EXPECT_EQ(scans_failed, 0);
	EXPECT_EQ(s.escaped, 0);
}

TEST_F_TIMEOUT(bits, scan_wp_races_move_pages, 300)
{
	scan_wp_race(_metadata, self, BY_MIGRATION);
}

TEST_F_TIMEOUT(bits, scan_wp_races_exchange, 300)
{
	scan_wp_race(_metadata, self, BY_EXCHANGE);
}

/*
 * A vma KSM is to merge is left to KSM: kcontigd marks it blocked
 * ("ksm") and moves none of its pages, so ksmd's merges cannot fail on
 * the references and isolation of a move (ksm_functional_tests under
 * kcontigd). Once unmergeable it is worked on again.
 */
TEST_F_TIMEOUT(bits, ksm_vma_left_to_ksm, 180)
{
	uint64_t before[NPAGES];
	char line[512];
	long moved = 0;
	unsigned long i;

	if (!self->kcontigd)
		SKIP(return, "kernel without exchange or kcontigd");
	if (madvise(self->a, NPAGES * psize, MADV_MERGEABLE))
		SKIP(return, "MADV_MERGEABLE: %s", strerror(errno));
	for (i = 0; i < NPAGES; i++)
		before[i] = pfn_of(getpid(), self->a + i * psize);
	ASSERT_EQ(madvise(self->a, NPAGES * psize, MADV_CONTIG), 0);
	/* Ten passes at least, with ksmd not running to merge meanwhile. */
	usleep(500000);
	ASSERT_EQ(contig_line(getpid(), (unsigned long)self->a, line,
			      sizeof(line)), 0);
	TH_LOG("%s", line);
	EXPECT_NE(strstr(line, " state=blocked"), NULL);
	EXPECT_NE(strstr(line, " reason=ksm"), NULL);
	for (i = 0; i < NPAGES; i++)
		moved += pfn_of(getpid(), self->a + i * psize) != before[i];
	EXPECT_EQ(moved, 0);

	ASSERT_EQ(madvise(self->a, NPAGES * psize, MADV_UNMERGEABLE), 0);
	EXPECT_TRUE(kcontigd_done(self->a, 120));
	moved = 0;
	for (i = 0; i < NPAGES; i++)
		moved += pfn_of(getpid(), self->a + i * psize) != before[i];
	EXPECT_GE(moved, NPAGES / 2);
	EXPECT_TRUE(data_intact(self->a, self->b, NPAGES));
}

/* As the mm selftest khugepaged asks: one retry on EAGAIN. */
static int collapse_retry(char *p, size_t len)
{
	if (!madvise(p, len, MADV_COLLAPSE))
		return 0;
	if (errno == EAGAIN && !madvise(p, len, MADV_COLLAPSE))
		return 0;
	return -errno;
}

/* The word in brackets of a THP mode file ("always madvise [never]"). */
static int thp_mode(const char *path, char *mode, size_t len)
{
	char buf[128], *l, *r;

	if (read_sysfs(path, buf, sizeof(buf)))
		return -1;
	l = strchr(buf, '[');
	r = l ? strchr(l, ']') : NULL;
	if (!r || (size_t)(r - l) > len)
		return -1;
	*r = '\0';
	snprintf(mode, len, "%s", l + 1);
	return 0;
}

static long kcontigd_moved(void)
{
	return knob_read_long("pages_exchanged") +
	       knob_read_long("pages_migrated");
}

#define COLLAPSE_PMDS	16
#define COLLAPSE_ROUNDS	16

/*
 * MADV_COLLAPSE of 4 KiB pages that kcontigd is moving just then
 * succeeds, as it does without kcontigd (the mm selftest khugepaged
 * under kcontigd: "Collapse multiple fully populated PTE table: Bad
 * return value", EAGAIN, because kcontigd held some of the pages
 * isolated, locked or in its CPU's LRU batch when the collapse looked).
 * Each round faults a fresh, fragmented 32 MiB range, advises it and,
 * once kcontigd is at work on it, collapses it whole with one retry on
 * EAGAIN, as that selftest does.
 */
TEST_F_TIMEOUT(bits, madv_collapse_not_refused, 300)
{
	unsigned long pages = COLLAPSE_PMDS * THP_SIZE / psize, i;
	long before, moved, moved_during = 0;
	char mode[32], *raw, *p, *b;
	int round, rc, failed = 0;

	if (!self->kcontigd)
		SKIP(return, "kernel without exchange or kcontigd");
	if (thp_mode(THP_ENABLED, mode, sizeof(mode)))
		SKIP(return, "no THP");
	/* 4 KiB faults; MADV_COLLAPSE does not depend on the mode. */
	ASSERT_EQ(write_sysctl(THP_ENABLED, "never"), 0);
	for (round = 0; round < COLLAPSE_ROUNDS; round++) {
		raw = mmap(NULL, (COLLAPSE_PMDS + 1) * THP_SIZE,
			   PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		b = mmap(NULL, pages * psize, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(raw, MAP_FAILED);
		ASSERT_NE(b, MAP_FAILED);
		p = (char *)(((uintptr_t)raw + THP_SIZE - 1) & ~(THP_SIZE - 1));
		for (i = 0; i < pages; i++) {
			fill_page(p + i * psize, psize, 1000 + i);
			fill_page(b + i * psize, psize, 2000 + i);
		}
		before = kcontigd_moved();
		ASSERT_EQ(madvise(p, pages * psize, MADV_CONTIG), 0);
		/* Until kcontigd has moved some of the range's pages. */
		for (i = 0; i < 2000 && kcontigd_moved() - before < 64; i++)
			usleep(1000);
		moved = kcontigd_moved();
		rc = collapse_retry(p, pages * psize);
		moved_during += kcontigd_moved() - moved;
		if (rc) {
			failed++;
			TH_LOG("round %d: MADV_COLLAPSE: %s", round,
			       strerror(-rc));
		}
		EXPECT_TRUE(data_intact(p, b, pages));
		munmap(raw, (COLLAPSE_PMDS + 1) * THP_SIZE);
		munmap(b, pages * psize);
	}
	write_sysctl(THP_ENABLED, mode);
	ksft_print_msg("%d of %d collapses refused; kcontigd moved %ld pages during them\n",
		       failed, COLLAPSE_ROUNDS, moved_during);
	EXPECT_EQ(failed, 0);
}

#define PM_SWAP		BIT_ULL(62)
#define PAGEOUT_PAGES	2048
#define PAGEOUT_ROUNDS	8

/*
 * MADV_PAGEOUT of pages that kcontigd is moving just then swaps them all
 * out, as it does without kcontigd (the mm selftest khugepaged under
 * kcontigd: "Swapout one page", "Swapout 65 of 512 pages": a page
 * isolated by kcontigd, or in its CPU's LRU batch, was skipped). Each
 * round faults a fresh, fragmented 8 MiB range on one CPU, advises it
 * and, once kcontigd is at work on it, pages it out.
 */
TEST_F_TIMEOUT(bits, madv_pageout_not_refused, 300)
{
	unsigned long pages = PAGEOUT_PAGES, i, swapped, kept = 0;
	long before, moved, moved_during = 0;
	struct swap_dev swap = { .id = -1 };
	int round, failed = 0;
	const char *why;
	cpu_set_t cpus;
	char *p, *b;

	if (!self->kcontigd)
		SKIP(return, "kernel without exchange or kcontigd");
	why = swap_dev_setup(&swap);
	if (why) {
		swap_dev_teardown(&swap);
		SKIP(return, "%s", why);
	}
	/* This CPU's LRU batch is the one MADV_PAGEOUT drains. */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	ASSERT_EQ(sched_setaffinity(0, sizeof(cpus), &cpus), 0);
	for (round = 0; round < PAGEOUT_ROUNDS; round++) {
		ASSERT_EQ(map_interleaved(&p, &b, pages), 0);
		before = kcontigd_moved();
		ASSERT_EQ(madvise(p, pages * psize, MADV_CONTIG), 0);
		/* Until kcontigd has moved some of the range's pages. */
		for (i = 0; i < 2000 && kcontigd_moved() - before < 64; i++)
			usleep(1000);
		moved = kcontigd_moved();
		ASSERT_EQ(madvise(p, pages * psize, MADV_PAGEOUT), 0);
		moved_during += kcontigd_moved() - moved;
		swapped = 0;
		for (i = 0; i < pages; i++)
			swapped += !!(pagemap_entry_of(getpid(), p + i * psize) &
				      PM_SWAP);
		if (swapped != pages) {
			failed++;
			kept += pages - swapped;
			TH_LOG("round %d: %lu of %lu pages not paged out",
			       round, pages - swapped, pages);
		}
		EXPECT_TRUE(data_intact(p, b, pages));
		munmap(p, pages * psize);
		munmap(b, pages * psize);
	}
	swap_dev_teardown(&swap);
	ksft_print_msg("%d of %d page-outs left %lu pages in; kcontigd moved %ld during them\n",
		       failed, PAGEOUT_ROUNDS, kept, moved_during);
	EXPECT_EQ(failed, 0);
}

#define SPLIT_THPS	16
#define SPLIT_ROUNDS	8

/*
 * A split of THPs asked through debugfs splits every one, kcontigd at
 * work on them or not (the mm selftest split_huge_page_test under
 * kcontigd: "Still AnonHugePages not split": a THP kcontigd was moving
 * whole, or had just moved into its CPU's LRU batch, had a reference
 * more and was skipped). Each round faults 16 THPs, advises them and,
 * once kcontigd is at work on them, splits them all.
 */
TEST_F_TIMEOUT(bits, thp_split_not_refused, 300)
{
	size_t len = SPLIT_THPS * THP_SIZE;
	int round, k, left, failed = 0;
	long before, moved_during = 0;
	char cmd[96], *raw, *p;
	unsigned long i;

	if (!self->kcontigd)
		SKIP(return, "kernel without exchange or kcontigd");
	if (access(SPLIT_HUGE_PAGES, W_OK))
		SKIP(return, "no %s", SPLIT_HUGE_PAGES);
	for (round = 0; round < SPLIT_ROUNDS; round++) {
		raw = mmap(NULL, len + THP_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(raw, MAP_FAILED);
		p = (char *)(((uintptr_t)raw + THP_SIZE - 1) & ~(THP_SIZE - 1));
		if (madvise(p, len, MADV_HUGEPAGE))
			SKIP(return, "MADV_HUGEPAGE: %s", strerror(errno));
		for (i = 0; i < len / psize; i++)
			fill_page(p + i * psize, psize, 5000 + i);
		if (!is_thp(p))
			SKIP(return, "no THP (THP mode never?)");
		before = kcontigd_moved();
		ASSERT_EQ(madvise(p, len, MADV_CONTIG), 0);
		/* Until kcontigd has moved one of them. */
		for (i = 0; i < 4000 && kcontigd_moved() - before < 512; i++)
			usleep(500);
		before = kcontigd_moved();
		snprintf(cmd, sizeof(cmd), "%d,0x%lx,0x%lx", getpid(),
			 (unsigned long)p, (unsigned long)p + len);
		ASSERT_EQ(write_sysctl(SPLIT_HUGE_PAGES, cmd), 0);
		moved_during += kcontigd_moved() - before;
		left = 0;
		for (k = 0; k < SPLIT_THPS; k++)
			left += is_thp(p + k * THP_SIZE);
		if (left) {
			failed++;
			TH_LOG("round %d: %d of %d THPs not split", round,
			       left, SPLIT_THPS);
		}
		for (i = 0; i < len / psize; i++)
			if (!check_page(p + i * psize, psize, 5000 + i))
				break;
		EXPECT_EQ(i, len / psize);
		munmap(raw, len + THP_SIZE);
	}
	ksft_print_msg("%d of %d splits left THPs; kcontigd moved %ld pages during them\n",
		       failed, SPLIT_ROUNDS, moved_during);
	EXPECT_EQ(failed, 0);
}

TEST_HARNESS_MAIN
