// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile input, while a child's vma is being defragmented:
 *
 * - madvise() and process_madvise() with random addresses, lengths and
 *   advice values near ours (MADV_CONTIG, MADV_NOCONTIG and their
 *   neighbours), while another thread unmaps, maps, mremaps and mprotects
 *   the same addresses. Every call returns 0 or one of the errnos the
 *   advices document.
 * - every control file of the feature (the sysfs knobs and counters, the
 *   debugfs exchange_pages, exchange_bounce and kcontigd_batch, and
 *   /proc/PID/contig) gets random strings, huge, negative and partial
 *   numbers, from two writers at once. A knob either takes a value in its
 *   range or refuses it with EINVAL and keeps the one it had; every file
 *   stays readable.
 *
 * Both end with the child's data intact, kcontigd running and nothing
 * isolated; the runner fails the boot on any kernel warning.
 * FUZZ_SECS sets each test's time (default 20 s), FUZZ_SEED the seed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "contig_util.h"
#include "exchange_util.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define MIB		(1024UL * 1024)
#define SLOT		(4 * MIB)
#define NR_SLOTS	16
#define WINDOW		(SLOT * NR_SLOTS)
#define VICTIM_LEN	(16 * MIB)
#define VICTIM_SEED	77000

static long psize;
static double fuzz_secs;

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t fuzz_seed(void)
{
	const char *e = getenv("FUZZ_SEED");

	return e ? strtoull(e, NULL, 0) | 1 : (uint64_t)time(NULL) | 1;
}

/*
 * The vma kcontigd works on meanwhile: a child that fills 16 MiB,
 * advises it and re-advises it every second until told to stop, then
 * checks every page. Exit status 0 when the data is intact.
 */
static pid_t start_victim(int *stop_fd)
{
	int go[2];
	pid_t pid;

	if (pipe(go))
		return -1;
	pid = fork();
	if (pid == 0) {
		char *p = map_anon(VICTIM_LEN, VICTIM_SEED), c;
		size_t off;

		close(go[1]);
		if (!p || madvise(p, VICTIM_LEN, MADV_CONTIG))
			_exit(1);
		fcntl(go[0], F_SETFL, O_NONBLOCK);
		while (read(go[0], &c, 1) < 0 && errno == EAGAIN) {
			usleep(1000000);
			madvise(p, VICTIM_LEN, MADV_CONTIG);
		}
		for (off = 0; off < VICTIM_LEN; off += psize)
			if (!check_page(p + off, psize, VICTIM_SEED + off / psize))
				_exit(2);
		_exit(0);
	}
	close(go[0]);
	*stop_fd = go[1];
	return pid;
}

static int stop_victim(pid_t pid, int fd)
{
	int status;

	close(fd);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

FIXTURE(fuzz)
{
	pid_t victim;
	int victim_fd;
};

FIXTURE_SETUP(fuzz)
{
	const char *e = getenv("FUZZ_SECS");

	psize = sysconf(_SC_PAGESIZE);
	fuzz_secs = e ? atof(e) : 20;
	self->victim = 0;
	if (!kcontigd_present())
		SKIP(return, "kernel without kcontigd");
	if (geteuid())
		SKIP(return, "needs root (knobs, debugfs)");
	self->victim = start_victim(&self->victim_fd);
	ASSERT_GT(self->victim, 0);
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->victim <= 0)
		return;
	EXPECT_EQ(stop_victim(self->victim, self->victim_fd), 0)
		TH_LOG("the defragmented child's data changed");
	EXPECT_EQ(knob_read_long("running"), knob_read_long("enabled"));
	EXPECT_TRUE(isolated_settles(30));
}

/* --- madvise arguments, racing a thread that remaps them --- */

struct race {
	char *window;
	int stop;	/* READ_ONCE/WRITE_ONCE: read by the remapper */
	uint64_t seed;
	unsigned long ops;
};

/* Map [@s, @s + @len) again, anon and populated in part; never over others. */
static void slot_map(char *s, size_t len, uint64_t *rng)
{
	char *p = mmap(s, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	unsigned long i;

	if (p != s)
		return;
	for (i = 0; i < len / psize; i += 1 + xorshift(rng) % 8)
		p[i * psize] = 1;
}

static void *remapper(void *arg)
{
	struct race *r = arg;
	uint64_t rng = r->seed;

	while (!READ_ONCE(r->stop)) {
		char *s = r->window + xorshift(&rng) % NR_SLOTS * SLOT;
		char *d = r->window + xorshift(&rng) % NR_SLOTS * SLOT;

		switch (xorshift(&rng) % 6) {
		case 0:
			munmap(s, SLOT);
			slot_map(s, SLOT, &rng);
			break;
		case 1:
			mprotect(s, SLOT, xorshift(&rng) & 1 ? PROT_READ :
				 PROT_READ | PROT_WRITE);
			break;
		case 2:
			/* Move a slot onto another, then fill the first again. */
			if (s != d && mremap(s, SLOT, SLOT, MREMAP_MAYMOVE |
					     MREMAP_FIXED, d) == d)
				slot_map(s, SLOT, &rng);
			break;
		case 3:
			/* Shrink and grow in place. */
			if (mremap(s, SLOT, SLOT / 2, 0) == s &&
			    mremap(s, SLOT / 2, SLOT, 0) != s)
				slot_map(s + SLOT / 2, SLOT / 2, &rng);
			break;
		case 4:
			madvise(s, SLOT, MADV_DONTNEED);
			break;
		default:
			/* Map what is missing, then dirty a page (no fault). */
			slot_map(s, SLOT, &rng);
			madvise(s + xorshift(&rng) % (SLOT / psize) * psize,
				psize, MADV_POPULATE_WRITE);
			break;
		}
		r->ops++;
	}
	return NULL;
}

static const int advices[] = {
	MADV_CONTIG, MADV_CONTIG, MADV_CONTIG, MADV_NOCONTIG, MADV_NOCONTIG,
	MADV_COLLAPSE, MADV_DONTNEED_LOCKED, MADV_POPULATE_READ,
	MADV_POPULATE_WRITE, 28, 29, 31, -1, 1000, MADV_HUGEPAGE,
	MADV_NOHUGEPAGE, MADV_COLD,
};

/* What madvise(2) and the advices above document. */
static bool errno_documented(int err)
{
	switch (err) {
	case 0: case EINVAL: case ENOMEM: case EAGAIN: case EPERM:
	case EFAULT: case EINTR: case EBUSY: case EACCES: case ESRCH:
	case EHWPOISON:
		return true;
	}
	return false;
}

static unsigned long random_addr(uint64_t *rng, char *window)
{
	switch (xorshift(rng) % 8) {
	case 0:
		return 0;
	case 1:
		return -(unsigned long)psize;
	case 2:
		return 0xffff888000000000UL;	/* the kernel's direct map */
	case 3:		/* unaligned */
		return (unsigned long)window + xorshift(rng) % WINDOW;
	case 4:		/* around the window */
		return (unsigned long)window - SLOT +
		       xorshift(rng) % (WINDOW + 2 * SLOT) / psize * psize;
	default:
		return (unsigned long)window +
		       xorshift(rng) % WINDOW / psize * psize;
	}
}

static size_t random_len(uint64_t *rng)
{
	switch (xorshift(rng) % 8) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return -(size_t)psize;
	case 3:
		return 1UL << 47;
	case 4:
		return WINDOW;
	default:
		return (1 + xorshift(rng) % (2 * SLOT / psize)) * psize;
	}
}

#define MADVISE_RACE_SUMMARY "%lu calls (%lu ok, %lu EINVAL, %lu ENOMEM, %lu EPERM, %lu EAGAIN), %lu remaps; %lu undocumented errnos"

TEST_F_TIMEOUT(fuzz, madvise_arguments, 600)
{
	unsigned long calls = 0, bad = 0, by_errno[EHWPOISON + 1] = { };
	struct race r = { .seed = fuzz_seed() };
	int pidfd = syscall(SYS_pidfd_open, getpid(), 0), i;
	uint64_t rng = r.seed * 7 + 1;
	double deadline;
	pthread_t t;

	TH_LOG("seed %#llx", (unsigned long long)r.seed);
	ASSERT_GE(pidfd, 0);
	/* The window, between two PROT_NONE guards that stay. */
	r.window = mmap(NULL, WINDOW + 2 * SLOT, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(r.window, MAP_FAILED);
	r.window += SLOT;
	munmap(r.window, WINDOW);
	for (i = 0; i < NR_SLOTS; i++)
		slot_map(r.window + i * SLOT, SLOT, &rng);
	ASSERT_EQ(pthread_create(&t, NULL, remapper, &r), 0);

	deadline = now_seconds() + fuzz_secs;
	while (now_seconds() < deadline) {
		unsigned long addr = random_addr(&rng, r.window);
		size_t len = random_len(&rng);
		int advice = advices[xorshift(&rng) % ARRAY_SIZE(advices)];
		long ret;

		/* Zapping past the guards would take the test's own memory. */
		if (advice == MADV_DONTNEED_LOCKED &&
		    (addr < (unsigned long)r.window ||
		     addr + len > (unsigned long)r.window + WINDOW ||
		     addr + len < addr))
			len = 0;
		if (xorshift(&rng) % 4) {
			ret = madvise((void *)addr, len, advice);
		} else {
			struct iovec iov[3];
			int n = 1 + xorshift(&rng) % 3, k;

			for (k = 0; k < n; k++) {
				iov[k].iov_base = (void *)random_addr(&rng,
								      r.window);
				iov[k].iov_len = random_len(&rng);
			}
			ret = syscall(SYS_process_madvise, pidfd, iov, n,
				      advice, 0);
		}
		calls++;
		if (ret >= 0)
			errno = 0;
		if (!errno_documented(errno)) {
			if (!bad++)
				TH_LOG("madvise(%#lx, %#zx, %d): %s", addr, len,
				       advice, strerror(errno));
		} else {
			by_errno[errno]++;
		}
	}
	WRITE_ONCE(r.stop, 1);
	pthread_join(t, NULL);
	TH_LOG(MADVISE_RACE_SUMMARY, calls, by_errno[0], by_errno[EINVAL],
	       by_errno[ENOMEM], by_errno[EPERM], by_errno[EAGAIN], r.ops, bad);
	EXPECT_EQ(bad, 0);
	EXPECT_GT(by_errno[0], 0);
	munmap(r.window - SLOT, WINDOW + 2 * SLOT);
	close(pidfd);
}

/* --- control files --- */

struct knob {
	const char *name;
	long min, max;		/* numeric range; min > max: a word */
};

static const struct knob knobs[] = {
	{ "enabled", 0, 1 },
	{ "scan_sleep_millisecs", 1, 3600000 },
	{ "pages_to_scan", 1, 1048576 },
	{ "max_anchored_percent", 1, 100 },
	{ "max_anchored_percent_per_user", 1, 100 },
	{ "unprivileged", 1, 0 },
};

static const char * const read_only[] = {
	KCONTIGD_SYSFS "full_scans", KCONTIGD_SYSFS "mms_registered",
	KCONTIGD_SYSFS "running", KCONTIGD_SYSFS "pages_exchanged",
	KCONTIGD_SYSFS "pages_migrated", KCONTIGD_SYSFS "pages_in_place",
	KCONTIGD_SYSFS "pages_failed", KCONTIGD_SYSFS "thp_split",
	KCONTIGD_SYSFS "anchors", KCONTIGD_SYSFS "anchored_pages",
	KCONTIGD_SYSFS "reanchors",
};

#define DBG_EXCHANGE	"/sys/kernel/debug/exchange_pages"
#define DBG_BOUNCE	"/sys/kernel/debug/exchange_bounce"
#define DBG_BATCH	"/sys/kernel/debug/kcontigd_batch"

static const char * const tokens[] = {
	"0", "1", "-1", "2", "100", "101", "4096", "1048577", "3600001",
	"4294967295", "4294967296", "18446744073709551615",
	"99999999999999999999999", "0x10", "010", "1e3", " 5", "5 ", "5\n",
	"+7", "allow", "deny", "allowed", "", " ", "\n", "\0", "nan",
	"fallback", "async", "pid2=", "pid2=0", "pid2=-1", "Y", "N",
};

/* A random string: tokens, digits and bytes, up to @max - 1 bytes. */
static size_t random_input(uint64_t *rng, char *buf, size_t max)
{
	size_t n = 0, k = 1 + xorshift(rng) % 6;

	while (k-- && n < max - 1) {
		const char *t;
		char tmp[32];

		switch (xorshift(rng) % 4) {
		case 0:
			snprintf(tmp, sizeof(tmp), "%lld",
				 (long long)xorshift(rng) >>
				 (xorshift(rng) % 64));
			t = tmp;
			break;
		case 1:
			tmp[0] = xorshift(rng) % 256;
			tmp[1] = '\0';
			t = tmp;
			break;
		default:
			t = tokens[xorshift(rng) % ARRAY_SIZE(tokens)];
			break;
		}
		while (*t && n < max - 1)
			buf[n++] = *t++;
		if (xorshift(rng) % 2 && n < max - 1)
			buf[n++] = " \t"[xorshift(rng) % 2];
	}
	buf[n] = '\0';
	return n;
}

/* One write of @buf (@len bytes) to @path, or two when @split. */
static int write_file(const char *path, const char *buf, size_t len,
		      bool split)
{
	int fd = open(path, O_WRONLY), err = 0;
	size_t half = split ? len / 2 : len;

	if (fd < 0)
		return -errno;
	if (write(fd, buf, half) < 0)
		err = -errno;
	else if (half < len && write(fd, buf + half, len - half) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* The knob reads back as a value of its range. */
static bool knob_valid(const struct knob *k, char *val)
{
	char *end;
	long v;

	if (knob_read(k->name, val, 64))
		return false;
	if (k->min > k->max)
		return !strcmp(val, "allow") || !strcmp(val, "deny");
	v = strtol(val, &end, 10);
	return *val && !*end && v >= k->min && v <= k->max;
}

struct writer {
	uint64_t seed;
	double deadline;
	unsigned long writes, refused;
	char window[64];	/* an address of ours for exchange_pages */
};

static void *control_writer(void *arg)
{
	struct writer *w = arg;
	uint64_t rng = w->seed;
	char path[128], buf[160];

	while (now_seconds() < w->deadline) {
		unsigned int pick = xorshift(&rng) % 10;
		size_t len = random_input(&rng, buf, sizeof(buf));
		bool split = !(xorshift(&rng) % 4);

		if (pick < 5) {
			snprintf(path, sizeof(path), KCONTIGD_SYSFS "%s",
				 knobs[xorshift(&rng) % ARRAY_SIZE(knobs)].name);
		} else if (pick == 5) {
			snprintf(path, sizeof(path), "%s",
				 read_only[xorshift(&rng) %
					   ARRAY_SIZE(read_only)]);
		} else if (pick == 6) {
			snprintf(path, sizeof(path), DBG_BATCH);
		} else if (pick == 7) {
			snprintf(path, sizeof(path), DBG_BOUNCE);
		} else if (pick == 8) {
			/* Our own pid only: other processes stay out of it. */
			len = snprintf(buf, sizeof(buf), "%d %s %#lx %s",
				       getpid(), w->window,
				       (unsigned long)xorshift(&rng) % (1UL << 47),
				       xorshift(&rng) % 2 ? "fallback" : "");
			snprintf(path, sizeof(path), DBG_EXCHANGE);
		} else {
			snprintf(path, sizeof(path), "/proc/%d/contig",
				 getpid());
		}
		if (write_file(path, buf, len, split))
			w->refused++;
		w->writes++;
	}
	return NULL;
}

TEST_F_TIMEOUT(fuzz, control_files, 600)
{
	char saved[ARRAY_SIZE(knobs)][64], val[64], bounce[8] = "";
	char batch[16] = "";
	struct writer w[2] = { };
	char *mine = map_anon(2 * MIB, 5);
	unsigned int i, j;

	ASSERT_NE(mine, NULL);
	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		ASSERT_EQ(knob_read(knobs[i].name, saved[i], 64), 0);
	read_sysfs(DBG_BOUNCE, bounce, sizeof(bounce));
	read_sysfs(DBG_BATCH, batch, sizeof(batch));

	/* The rules first, one at a time: in range or EINVAL and unchanged. */
	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		static const char * const bad[] = {
			"-1", "4294967296", "18446744073709551616", "1x",
			"0x10", " ", "maybe", "\n",
		};

		for (j = 0; j < ARRAY_SIZE(bad); j++) {
			EXPECT_EQ(knob_write(knobs[i].name, bad[j]), -EINVAL)
				TH_LOG("%s <- '%s'", knobs[i].name, bad[j]);
			ASSERT_EQ(knob_read(knobs[i].name, val, 64), 0);
			EXPECT_STREQ(val, saved[i]);
		}
	}

	/* Then two writers at once, everything at random. */
	for (i = 0; i < 2; i++) {
		w[i].seed = fuzz_seed() + i * 0x9e3779b97f4a7c15ULL;
		w[i].deadline = now_seconds() + fuzz_secs;
		snprintf(w[i].window, sizeof(w[i].window), "%#lx",
			 (unsigned long)mine + i * MIB);
	}
	TH_LOG("seed %#llx", (unsigned long long)w[0].seed);
	{
		pthread_t t;

		ASSERT_EQ(pthread_create(&t, NULL, control_writer, &w[1]), 0);
		control_writer(&w[0]);
		pthread_join(t, NULL);
	}
	TH_LOG("%lu writes, %lu refused", w[0].writes + w[1].writes,
	       w[0].refused + w[1].refused);

	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		const char *name = knobs[i].name;
		bool valid = knob_valid(&knobs[i], val);

		EXPECT_TRUE(valid) TH_LOG("%s reads '%s'", name, val);
	}
	for (i = 0; i < ARRAY_SIZE(read_only); i++)
		EXPECT_EQ(read_sysfs(read_only[i], val, sizeof(val)), 0);
	EXPECT_GT(contig_nr_lines(self->victim), 0);
	EXPECT_TRUE(check_page(mine, psize, 5));

	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		EXPECT_EQ(knob_write(knobs[i].name, saved[i]), 0);
	if (bounce[0])
		write_sysctl(DBG_BOUNCE, bounce);
	if (batch[0])
		write_sysctl(DBG_BATCH, batch);
	EXPECT_TRUE(knob_wait_eq("running", knob_read_long("enabled"), 10));
	munmap(mine, 2 * MIB);
}

TEST_HARNESS_MAIN
