// SPDX-License-Identifier: GPL-2.0
/*
 * Torture: several processes register vmas of every kind with kcontigd
 * (anon, THP, shmem, MAP_SHARED and MAP_PRIVATE files on every real
 * filesystem mounted under /run/fs) and, while kcontigd moves their pages,
 * write, verify, fork (the children verify their copy-on-write view),
 * exec, mremap, munmap and map again, mprotect, mlock, madvise
 * (DONTNEED, FREE, PAGEOUT, COLD, NOCONTIG and CONTIG again), move_pages,
 * migrate_pages, get pinned through io_uring fixed buffers, and exit.
 * stress-ng churns the rest of memory and the kcontigd, compaction and
 * khugepaged knobs flip at random. Every page carries a pattern derived
 * from its generation; each check compares the whole page.
 *
 * It must end with no corrupted page, no isolated page left, as many
 * anchors and registered mms as before, and none of the kernel's
 * "Bad rss-counter" or "pgtables_bytes" complaints.
 *
 * TORTURE_SECS sets the churn time (default 90 s), TORTURE_PROCS the
 * number of processes (default 4), TORTURE_SEED the random seed,
 * TORTURE_THINK_US the mean pause between two operations of a process
 * (default 1000; 0 keeps its mmap lock busiest).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/io_uring.h>

#include "../kselftest_harness.h"
#include "contig_util.h"
#include "exchange_util.h"

#define MIB		(1024UL * 1024)
#define REGION_LEN	(4 * MIB)
#define PAGE		4096UL
#define WORDS		(PAGE / sizeof(uint64_t))
#define GEN_FREE	0x80000000u	/* MADV_FREE: the data or zeroes */
#define MAX_REGIONS	16

enum kind { ANON, THP, SHMEM, FILE_SHARED, FILE_PRIVATE, NR_KINDS };

static const char * const kind_names[] = {
	"anon", "thp", "shmem", "file-shared", "file-private",
};

struct region {
	enum kind kind;
	char *base;
	size_t len;
	int fd;			/* shmem and files */
	unsigned int id;
	uint32_t *gen;		/* per page; 0: zeroes */
	uint32_t file_gen;	/* what a MAP_PRIVATE file page reverts to */
};

/* What one process reports at its exit, through a pipe. */
struct tally {
	unsigned long checked, corrupted, ops, forks, child_checked;
	unsigned long child_corrupted, pins, remaps, moves;
	char first[160];	/* the first corruption seen */
};

static uint64_t seed0;
static unsigned long think_us;
static struct region regions[MAX_REGIONS];
static unsigned int nr_regions;
static struct tally tally;
static uint64_t rng;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned long rand_below(unsigned long n)
{
	return n ? next_rand() % n : 0;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static uint64_t page_word(const struct region *r, unsigned long i,
			  uint32_t gen, unsigned long w)
{
	return mix(seed0 ^ ((uint64_t)r->id << 48) ^ ((uint64_t)i << 20) ^
		   gen) + w;
}

static void fill(struct region *r, unsigned long i, uint32_t gen)
{
	uint64_t *p = (uint64_t *)(r->base + i * PAGE);
	unsigned long w;

	for (w = 0; w < WORDS; w++)
		p[w] = page_word(r, i, gen, w);
}

static bool page_is(const struct region *r, const uint64_t *p,
		    unsigned long i, uint32_t gen)
{
	unsigned long w;

	for (w = 0; w < WORDS; w++)
		if (p[w] != (gen ? page_word(r, i, gen, w) : 0))
			return false;
	return true;
}

/* Check page @i of @r against what was last written there. */
static void verify(struct region *r, unsigned long i, const char *who)
{
	const uint64_t *p = (const uint64_t *)(r->base + i * PAGE);
	uint32_t gen = r->gen[i];
	bool ok;

	ok = page_is(r, p, i, gen & ~GEN_FREE);
	if (!ok && (gen & GEN_FREE))
		ok = page_is(r, p, i, 0);
	tally.checked++;
	if (ok)
		return;
	if (!tally.corrupted++)
		snprintf(tally.first, sizeof(tally.first),
			 "%s: %s region %u page %lu gen %u: word0 %llx pfn %llx",
			 who, kind_names[r->kind], r->id, i, gen,
			 (unsigned long long)p[0],
			 (unsigned long long)pfn_of(getpid(), (void *)p));
}

static void verify_range(struct region *r, unsigned long i, unsigned long n,
			 const char *who)
{
	for (; n && i < r->len / PAGE; i++, n--)
		verify(r, i, who);
}

static void write_range(struct region *r, unsigned long i, unsigned long n)
{
	for (; n && i < r->len / PAGE; i++, n--) {
		r->gen[i] = ((r->gen[i] & ~GEN_FREE) + 1) & ~GEN_FREE;
		if (!r->gen[i])
			r->gen[i] = 1;
		fill(r, i, r->gen[i]);
	}
}

static bool shared(const struct region *r)
{
	return r->kind == SHMEM || r->kind == FILE_SHARED;
}

/* Map [@at, @at + @len) of @r (its offset @off) as the region's kind. */
static void *map_piece(struct region *r, void *at, size_t len, off_t off)
{
	int flags = at ? MAP_FIXED : 0;
	void *p;

	switch (r->kind) {
	case ANON:
	case THP:
		p = mmap(at, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
		break;
	case FILE_PRIVATE:
		p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | flags,
			 r->fd, off);
		break;
	default:
		p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | flags,
			 r->fd, off);
		break;
	}
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, r->kind == THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	madvise(p, len, MADV_CONTIG);
	return p;
}

/* A 2 MiB-aligned place for @len bytes. */
static void *aligned_hole(size_t len)
{
	char *p = mmap(NULL, len + 2 * MIB, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + 2 * MIB - 1) & ~(2 * MIB - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + len + 2 * MIB - (a + len));
	return a;
}

static int add_region(enum kind kind, const char *dir)
{
	struct region *r = &regions[nr_regions];
	char path[256];
	void *at;

	r->kind = kind;
	r->len = REGION_LEN;
	r->id = nr_regions;
	r->fd = -1;
	r->gen = calloc(r->len / PAGE, sizeof(*r->gen));
	if (!r->gen)
		return -1;
	if (kind == SHMEM) {
		r->fd = memfd_create("torture", 0);
	} else if (kind == FILE_SHARED || kind == FILE_PRIVATE) {
		snprintf(path, sizeof(path), "%s/torture.%d.%u", dir, getpid(),
			 r->id);
		r->fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		unlink(path);
	}
	if (kind >= SHMEM && (r->fd < 0 || ftruncate(r->fd, r->len)))
		return -1;
	at = aligned_hole(r->len);
	if (!at)
		return -1;
	r->base = map_piece(r, at, r->len, 0);
	if (!r->base)
		return -1;
	nr_regions++;
	return 0;
}

/*
 * Populate every region a page of each at a time, so that their pages
 * interleave in memory and kcontigd has work; a MAP_PRIVATE file's pages
 * are written through the file (they are its data, generation 1).
 */
static int populate(void)
{
	unsigned long i, pages = REGION_LEN / PAGE;
	unsigned int k;

	for (i = 0; i < pages; i++)
		for (k = 0; k < nr_regions; k++)
			write_range(&regions[k], i, 1);
	for (k = 0; k < nr_regions; k++) {
		struct region *r = &regions[k];

		if (r->kind != FILE_PRIVATE)
			continue;
		for (i = 0; i < pages; i++)
			if (pwrite(r->fd, r->base + i * PAGE, PAGE, i * PAGE) !=
			    PAGE)
				return -1;
		madvise(r->base, r->len, MADV_DONTNEED);
		r->file_gen = 1;
	}
	return 0;
}

static void verify_all(const char *who, bool private_only)
{
	unsigned int k;

	for (k = 0; k < nr_regions; k++)
		if (!private_only || !shared(&regions[k]))
			verify_range(&regions[k], 0, regions[k].len / PAGE, who);
}

/* What a page of @r holds after its pages were dropped or remapped. */
static uint32_t gen_after_drop(const struct region *r, uint32_t gen)
{
	switch (r->kind) {
	case ANON:
	case THP:
		return 0;
	case FILE_PRIVATE:
		return r->file_gen;
	default:
		return gen;
	}
}

/* A forked child checks its copy-on-write view while the parent goes on. */
static void child_view(int out)
{
	unsigned long rounds = 3, n;

	tally = (struct tally){ };
	while (rounds--) {
		verify_all("child", true);
		/* Write some of its own; the parent must not see them. */
		for (n = 0; n < 16; n++) {
			struct region *r = &regions[rand_below(nr_regions)];

			if (!shared(r))
				write_range(r, rand_below(r->len / PAGE), 4);
		}
		usleep(20000);
	}
	verify_all("child", true);
	if (write(out, &tally, sizeof(tally)) != sizeof(tally))
		_exit(2);
	_exit(0);
}

struct child {
	pid_t pid;
	int fd;
};

static struct child children[4];

static void reap(bool wait_all)
{
	unsigned int c;
	struct tally t;
	int status;

	for (c = 0; c < 4; c++) {
		if (!children[c].pid)
			continue;
		if (waitpid(children[c].pid, &status,
			    wait_all ? 0 : WNOHANG) <= 0)
			continue;
		if (read(children[c].fd, &t, sizeof(t)) == sizeof(t)) {
			tally.child_checked += t.checked;
			tally.child_corrupted += t.corrupted;
			if (t.corrupted && !tally.corrupted && !tally.first[0])
				memcpy(tally.first, t.first, sizeof(t.first));
		} else {
			tally.child_corrupted++;
			snprintf(tally.first, sizeof(tally.first),
				 "a child died: status %#x", status);
		}
		close(children[c].fd);
		children[c].pid = 0;
	}
}

static void do_fork(void)
{
	unsigned int c;
	int fds[2];
	pid_t pid;

	for (c = 0; c < 4 && children[c].pid; c++)
		;
	if (c == 4 || pipe(fds))
		return;
	pid = fork();
	if (!pid) {
		close(fds[0]);
		child_view(fds[1]);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return;
	}
	children[c].pid = pid;
	children[c].fd = fds[0];
	tally.forks++;
}

static void do_exec(void)
{
	pid_t pid = fork();

	if (!pid) {
		execl("/bin/true", "true", NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Move the whole region @r to a new place. */
static void do_mremap(struct region *r)
{
	void *to = aligned_hole(r->len), *p;

	if (!to)
		return;
	p = mremap(r->base, r->len, r->len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (p == MAP_FAILED) {
		munmap(to, r->len);
		return;
	}
	r->base = p;
	tally.remaps++;
}

/* Unmap a 2 MiB piece of @r and map it afresh. */
static void do_remap_piece(struct region *r)
{
	unsigned long piece = rand_below(r->len / (2 * MIB)), i;
	unsigned long first = piece * 2 * MIB / PAGE, n = 2 * MIB / PAGE;
	char *at = r->base + piece * 2 * MIB;

	if (munmap(at, 2 * MIB) || !map_piece(r, at, 2 * MIB, piece * 2 * MIB))
		return;
	for (i = first; i < first + n; i++)
		r->gen[i] = gen_after_drop(r, r->gen[i] & ~GEN_FREE);
	tally.remaps++;
}

static void do_madvise(struct region *r, unsigned long i, unsigned long n)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_FREE, MADV_PAGEOUT, MADV_COLD,
		MADV_NOCONTIG, MADV_CONTIG,
	};
	int adv = advice[rand_below(ARRAY_SIZE(advice))];
	unsigned long j;

	if (i + n > r->len / PAGE)
		n = r->len / PAGE - i;
	if (adv == MADV_FREE && r->kind != ANON && r->kind != THP)
		adv = MADV_COLD;
	if (madvise(r->base + i * PAGE, n * PAGE, adv))
		return;
	for (j = i; j < i + n; j++) {
		if (adv == MADV_DONTNEED)
			r->gen[j] = gen_after_drop(r, r->gen[j] & ~GEN_FREE);
		else if (adv == MADV_FREE)
			r->gen[j] |= GEN_FREE;
	}
	/* Back under kcontigd, so that it keeps working on the region. */
	if (adv == MADV_NOCONTIG && rand_below(2))
		madvise(r->base, r->len, MADV_CONTIG);
}

static void do_move_pages(struct region *r)
{
	void *pages[16];
	int nodes[16], status[16];
	unsigned int j;

	for (j = 0; j < 16; j++) {
		pages[j] = r->base + rand_below(r->len / PAGE) * PAGE;
		nodes[j] = rand_below(2);
	}
	if (!syscall(SYS_move_pages, 0, 16, pages, nodes, status, 0))
		tally.moves++;
}

static void do_migrate_pages(void)
{
	unsigned long from = 1 << rand_below(2), to = 3 - from;

	syscall(SYS_migrate_pages, 0, 3, &from, &to);
}

/* Pin a range through io_uring fixed buffers for a while. */
static int ring = -1;
static bool ring_pinned;

static void do_pin(struct region *r)
{
	struct iovec iov;

	if (ring < 0)
		return;
	if (ring_pinned) {
		syscall(__NR_io_uring_register, ring,
			IORING_UNREGISTER_BUFFERS, NULL, 0);
		ring_pinned = false;
		return;
	}
	if (r->kind == FILE_SHARED || r->kind == FILE_PRIVATE)
		return;		/* long-term pins refuse file pages */
	iov.iov_base = r->base + rand_below(r->len / PAGE / 2) * PAGE;
	iov.iov_len = 64 * PAGE;
	if (!syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS,
		     &iov, 1)) {
		ring_pinned = true;
		tally.pins++;
	}
}

/* Shared file pages: what read(2) sees is what the mapping holds. */
static void check_file_read(struct region *r, unsigned long i)
{
	uint64_t buf[WORDS];

	if (r->kind != FILE_SHARED)
		return;
	if (pread(r->fd, buf, PAGE, i * PAGE) != PAGE) {
		tally.checked++;
		if (!tally.corrupted++)
			snprintf(tally.first, sizeof(tally.first),
				 "short read of region %u page %lu", r->id, i);
		return;
	}
	tally.checked++;
	if (!page_is(r, buf, i, r->gen[i]) && !tally.corrupted++)
		snprintf(tally.first, sizeof(tally.first),
			 "read(2) of region %u page %lu differs from its mapping",
			 r->id, i);
}

static void one_op(void)
{
	struct region *r = &regions[rand_below(nr_regions)];
	unsigned long pages = r->len / PAGE, i = rand_below(pages);
	unsigned long n = 1 + rand_below(32);
	unsigned int op = rand_below(100);

	if (n > pages - i)
		n = pages - i;
	tally.ops++;
	if (op < 30) {
		write_range(r, i, n);
	} else if (op < 55) {
		verify_range(r, i, n, "parent");
		check_file_read(r, i);
	} else if (op < 68) {
		do_madvise(r, i, n);
	} else if (op < 72) {
		if (!mprotect(r->base + i * PAGE, PAGE, PROT_READ)) {
			verify(r, i, "parent");
			mprotect(r->base + i * PAGE, PAGE,
				 PROT_READ | PROT_WRITE);
		}
	} else if (op < 76) {
		if (!mlock(r->base + i * PAGE, n * PAGE)) {
			verify_range(r, i, n, "parent");
			munlock(r->base + i * PAGE, n * PAGE);
		}
	} else if (op < 82) {
		do_move_pages(r);
	} else if (op < 83) {
		do_migrate_pages();
	} else if (op < 87) {
		do_pin(r);
	} else if (op < 90) {
		do_fork();
	} else if (op < 91) {
		do_exec();
	} else if (op < 94) {
		do_mremap(r);
	} else if (op < 97) {
		do_remap_piece(r);
	} else {
		reap(false);
	}
}

/* One torture process: its regions, its ops for @secs, its final check. */
static void worker(unsigned int w, double secs, int out)
{
	double end = now_seconds() + secs, next_full = 0;
	struct io_uring_params params = { };
	static const char * const fs[] = {
		"/run/fs/ext4", "/run/fs/xfs", "/run/fs/btrfs", "/tmp",
	};
	unsigned int f;

	rng = mix(seed0 + w + 1) | 1;
	tally = (struct tally){ };
	if (add_region(ANON, NULL) || add_region(ANON, NULL) ||
	    add_region(THP, NULL) || add_region(SHMEM, NULL))
		_exit(3);
	for (f = 0; f < ARRAY_SIZE(fs); f++) {
		if (access(fs[f], W_OK))
			continue;
		if (add_region(w & 1 ? FILE_PRIVATE : FILE_SHARED, fs[f]) ||
		    add_region(w & 1 ? FILE_SHARED : FILE_PRIVATE, fs[f]))
			_exit(4);
	}
	if (populate())
		_exit(5);
	ring = syscall(__NR_io_uring_setup, 4, &params);
	while (now_seconds() < end) {
		one_op();
		/* Think time: the mmap lock is free for kcontigd at times. */
		if (think_us)
			usleep(rand_below(2 * think_us));
		if (now_seconds() >= next_full) {
			unsigned int k;

			verify_all("parent", false);
			/* MADV_NOCONTIG and partial CONTIG must not add up. */
			for (k = 0; k < nr_regions; k++)
				madvise(regions[k].base, regions[k].len,
					MADV_CONTIG);
			next_full = now_seconds() + 2;
		}
	}
	reap(true);
	if (ring_pinned)
		syscall(__NR_io_uring_register, ring,
			IORING_UNREGISTER_BUFFERS, NULL, 0);
	verify_all("parent, at the end", false);
	if (write(out, &tally, sizeof(tally)) != sizeof(tally))
		_exit(6);
	_exit(0);
}

/* Flip kcontigd's, compaction's and khugepaged's knobs until killed. */
static void knob_flipper(void)
{
	static const char * const sleeps[] = { "0", "1", "10", "100" };
	static const char * const scans[] = { "256", "2048", "8192" };

	rng = mix(seed0 ^ 0x5a5a) | 1;
	for (;;) {
		switch (rand_below(6)) {
		case 0:
			knob_write("enabled", rand_below(8) ? "1" : "0");
			break;
		case 1:
			knob_write("scan_sleep_millisecs",
				   sleeps[rand_below(ARRAY_SIZE(sleeps))]);
			break;
		case 2:
			knob_write("pages_to_scan",
				   scans[rand_below(ARRAY_SIZE(scans))]);
			break;
		case 3:
			write_sysctl("/proc/sys/vm/compact_memory", "1");
			break;
		case 4:
			write_sysctl("/proc/sys/vm/drop_caches", "1");
			break;
		default:
			break;
		}
		usleep(100000 + rand_below(400000));
	}
}

static long kmsg_count(const char *what)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *p;
	long n = 0;

	if (len <= 0)
		return -1;
	buf = malloc(len + 1);
	if (!buf)
		return -1;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	if (len < 0) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	for (p = buf; (p = strstr(p, what)); p++)
		n++;
	free(buf);
	return n;
}

static double env_num(const char *name, double dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtod(v, NULL) : dflt;
}

static const char * const saved_knobs[] = {
	"enabled", "scan_sleep_millisecs", "pages_to_scan",
};

static const char * const saved_sysctls[] = {
	"/proc/sys/vm/compaction_proactiveness",
	"/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs",
	"/sys/kernel/mm/transparent_hugepage/khugepaged/alloc_sleep_millisecs",
	"/sys/kernel/mm/transparent_hugepage/khugepaged/pages_to_scan",
	"/proc/sys/kernel/numa_balancing",
};

static const char * const aggressive[] = { "100", "0", "0", "16384", "1" };

FIXTURE(torture) {
	char knobs[ARRAY_SIZE(saved_knobs)][64];
	char sysctls[ARRAY_SIZE(saved_sysctls)][64];
};

FIXTURE_SETUP(torture)
{
	unsigned int i;

	if (!kcontigd_present())
		SKIP(return, "kernel without kcontigd");
	if (geteuid())
		SKIP(return, "needs root (knobs, sysctls)");
	for (i = 0; i < ARRAY_SIZE(saved_knobs); i++)
		ASSERT_EQ(knob_read(saved_knobs[i], self->knobs[i], 64), 0);
	for (i = 0; i < ARRAY_SIZE(saved_sysctls); i++) {
		self->sysctls[i][0] = '\0';
		read_sysfs(saved_sysctls[i], self->sysctls[i], 64);
		write_sysctl(saved_sysctls[i], aggressive[i]);
	}
}

FIXTURE_TEARDOWN(torture)
{
	unsigned int i;

	if (!kcontigd_present() || geteuid())
		return;
	for (i = 0; i < ARRAY_SIZE(saved_knobs); i++)
		knob_write(saved_knobs[i], self->knobs[i]);
	for (i = 0; i < ARRAY_SIZE(saved_sysctls); i++)
		if (self->sysctls[i][0])
			write_sysctl(saved_sysctls[i], self->sysctls[i]);
}

static pid_t start_stress_ng(double secs)
{
	char t[32];
	pid_t pid;

	if (access("/usr/bin/stress-ng", X_OK))
		return 0;
	snprintf(t, sizeof(t), "%.0fs", secs);
	pid = fork();
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		setpgid(0, 0);
		execl("/usr/bin/stress-ng", "stress-ng", "--timeout", t,
		      "--vm", "1", "--vm-bytes", "64m", "--mmap", "1",
		      "--mmap-bytes", "32m", "--madvise", "1", "--fork", "1",
		      "--page-in", "--numa", "1", "--quiet", NULL);
		_exit(127);
	}
	return pid;
}

TEST_F_TIMEOUT(torture, churn, 100000)
{
	double secs = env_num("TORTURE_SECS", 90);
	unsigned int procs = env_num("TORTURE_PROCS", 4), w;
	long anchors0, mms0, rss0, pgt0, warn0, moved0, moved;
	unsigned long checked = 0, corrupted = 0, ops = 0, forks = 0;
	unsigned long cchecked = 0, ccorrupted = 0, pins = 0, remaps = 0;
	pid_t pids[64], flipper, stress;
	int fds[64], status;
	struct tally t;

	seed0 = env_num("TORTURE_SEED", time(NULL));
	think_us = env_num("TORTURE_THINK_US", 1000);
	if (procs > 64)
		procs = 64;
	TH_LOG("%u processes for %.0f s, seed %llu, think %lu us", procs, secs,
	       (unsigned long long)seed0, think_us);
	ASSERT_EQ(knob_write("enabled", "1"), 0);
	ASSERT_EQ(knob_write("scan_sleep_millisecs", "1"), 0);
	anchors0 = knob_read_long("anchors");
	mms0 = knob_read_long("mms_registered");
	rss0 = kmsg_count("Bad rss-counter");
	pgt0 = kmsg_count("pgtables_bytes");
	warn0 = kmsg_count("WARNING:");
	moved0 = knob_read_long("pages_exchanged") +
		 knob_read_long("pages_migrated");

	stress = start_stress_ng(secs);
	flipper = fork();
	ASSERT_GE(flipper, 0);
	if (!flipper)
		knob_flipper();
	for (w = 0; w < procs; w++) {
		int p[2];

		ASSERT_EQ(pipe(p), 0);
		pids[w] = fork();
		ASSERT_GE(pids[w], 0);
		if (!pids[w]) {
			close(p[0]);
			worker(w, secs, p[1]);
		}
		close(p[1]);
		fds[w] = p[0];
	}
	for (w = 0; w < procs; w++) {
		memset(&t, 0, sizeof(t));
		ASSERT_EQ(waitpid(pids[w], &status, 0), pids[w]);
		if (read(fds[w], &t, sizeof(t)) != sizeof(t)) {
			TH_LOG("process %u ended without its tally: status %#x",
			       w, status);
			corrupted++;
		}
		close(fds[w]);
		checked += t.checked;
		corrupted += t.corrupted;
		ops += t.ops;
		forks += t.forks;
		cchecked += t.child_checked;
		ccorrupted += t.child_corrupted;
		pins += t.pins;
		remaps += t.remaps;
		if (t.first[0])
			TH_LOG("process %u: %s", w, t.first);
	}
	kill(flipper, SIGKILL);
	waitpid(flipper, NULL, 0);
	if (stress > 0) {
		kill(-stress, SIGKILL);
		waitpid(stress, NULL, 0);
	}
	ASSERT_EQ(knob_write("enabled", "1"), 0);

	TH_LOG("ops %lu, pages checked %lu (children %lu), corrupted %lu (children %lu)",
	       ops, checked, cchecked, corrupted, ccorrupted);
	moved = knob_read_long("pages_exchanged") +
		knob_read_long("pages_migrated") - moved0;
	TH_LOG("forks %lu, pins %lu, remaps %lu; kcontigd moved %ld pages",
	       forks, pins, remaps, moved);
	EXPECT_GT(checked, 0);
	/* A run whose processes never got past their setup tortured nothing. */
	EXPECT_GT(ops, 0)
		TH_LOG("no operation ran in %.0f s: give the run more time", secs);
	/* Tortured while kcontigd worked, not beside an idle kcontigd. */
	EXPECT_GT(moved, 0);
	EXPECT_EQ(corrupted, 0);
	EXPECT_EQ(ccorrupted, 0);
	/* Everything goes back once every process has exited. */
	EXPECT_TRUE(isolated_settles(30));
	EXPECT_TRUE(knob_wait_eq("mms_registered", mms0, 60));
	EXPECT_TRUE(knob_wait_eq("anchors", anchors0, 60));
	TH_LOG("anchors %ld (was %ld), mms %ld (was %ld)",
	       knob_read_long("anchors"), anchors0,
	       knob_read_long("mms_registered"), mms0);
	EXPECT_EQ(kmsg_count("Bad rss-counter"), rss0);
	EXPECT_EQ(kmsg_count("pgtables_bytes"), pgt0);
	EXPECT_EQ(kmsg_count("WARNING:"), warn0);
}

TEST_HARNESS_MAIN
