// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of contigctl's pure code: size, duration, PID, address and
 * knob parsing; run, R99, coverage and histogram computation from PFN
 * arrays (checked against a slow reference on random arrays too); map
 * cells; /proc/PID/contig and smaps line parsing; JSON escaping and
 * output. No root, no kcontigd, no VM.
 *
 * Prints a line per failed check and ends with "N passed, N failed",
 * counting test cases; exits 1 if any failed.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "contigctl.h"

static int checks_failed;	/* in the current test case */

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("  %s:%d: %s\n", __FILE__, __LINE__, #cond);	\
		checks_failed++;					\
	}								\
} while (0)

#define CHECK_EQ_U64(a, b) do {						\
	unsigned long long __a = (a), __b = (b);			\
	if (__a != __b) {						\
		printf("  %s:%d: %s == %llu, expected %llu\n", __FILE__,\
		       __LINE__, #a, __a, __b);				\
		checks_failed++;					\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *__a = (a), *__b = (b);				\
	if (!__a || strcmp(__a, __b)) {					\
		printf("  %s:%d: %s == \"%s\", expected \"%s\"\n",	\
		       __FILE__, __LINE__, #a, __a ? __a : "(null)", __b);\
		checks_failed++;					\
	}								\
} while (0)

#define N	PFN_NONE

/*
 * @nr strings joined by @sep, in a buffer that the next call reuses: for
 * test lines longer than a line of source.
 */
static const char *join(const char *const *parts, size_t nr, const char *sep)
{
	static char buf[1024];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < nr; i++) {
		len += strlen(i ? sep : "") + strlen(parts[i]);
		if (len >= sizeof(buf))
			abort();
		if (i)
			strcat(buf, sep);
		strcat(buf, parts[i]);
	}
	return buf;
}

/* ------------------------------------------------------------ parsing */

static uint64_t size_of(const char *s, int *err)
{
	uint64_t v = 12345;

	*err = parse_size(s, &v);
	return v;
}

static void test_parse_size_valid(void)
{
	static const struct {
		const char *s;
		uint64_t bytes;
	} cases[] = {
		{ "0", 0 }, { "1", 1 }, { "4096", 4096 }, { "10B", 10 },
		{ "4K", 4096 }, { "4k", 4096 }, { "4KB", 4096 },
		{ "4kb", 4096 }, { "4KiB", 4096 }, { "4Ki", 4096 },
		{ "64M", 64ULL << 20 }, { "64MiB", 64ULL << 20 },
		{ "2G", 2ULL << 30 }, { "2g", 2ULL << 30 }, { "1T", 1ULL << 40 },
		{ "3P", 3ULL << 50 }, { "15E", 15ULL << 60 },
		{ "0x1000", 4096 }, { "0X1f", 31 },
		{ "18446744073709551615", UINT64_MAX },
		{ "007", 7 },
	};
	size_t i;
	int err;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = size_of(cases[i].s, &err);

		if (err || v != cases[i].bytes) {
			printf("  parse_size(\"%s\") = %d, %llu\n", cases[i].s,
			       err, (unsigned long long)v);
			checks_failed++;
		}
	}
}

static void test_parse_size_invalid(void)
{
	static const char * const bad[] = {
		"", "12Q", "-1", "+1", "1.5G", " 4K", "4K ", "K", "4KiBB",
		"4 K", "0x", "0xg", "4iB", "4Bi", "1e6", "4KK", "abc", "4\n",
	};
	size_t i;
	int err;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = size_of(bad[i], &err);

		if (err != -EINVAL || v != 12345) {
			printf("  parse_size(\"%s\") = %d, expected -EINVAL\n",
			       bad[i], err);
			checks_failed++;
		}
	}
	size_of("18446744073709551616", &err);
	CHECK(err == -ERANGE);
	size_of("16E", &err);
	CHECK(err == -ERANGE);
	size_of("17179869184G", &err);		/* 2^34 GiB = 2^64 */
	CHECK(err == -ERANGE);
	size_of("0x10000000000000000", &err);
	CHECK(err == -ERANGE);
}

static void test_parse_seconds(void)
{
	static const struct {
		const char *s;
		double secs;
	} good[] = {
		{ "0", 0 }, { "10", 10 }, { "2.5", 2.5 }, { ".5", 0.5 },
		{ "5.", 5 }, { "500ms", 0.5 }, { "3s", 3 }, { "1m", 60 },
		{ "1.5m", 90 }, { "2h", 7200 },
	};
	static const char * const bad[] = {
		"", ".", "-1", "+1", "abc", "1x", "1e3", "nan", "inf",
		"1.2.3", "1 s", "1sec", "ms", " 1", "0x10",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		double v = -1;

		if (parse_seconds(good[i].s, &v) ||
		    fabs(v - good[i].secs) > 1.0 / 1e9) {
			printf("  parse_seconds(\"%s\") = %g\n", good[i].s, v);
			checks_failed++;
		}
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		double v;

		if (parse_seconds(bad[i], &v) != -EINVAL) {
			printf("  parse_seconds(\"%s\") accepted\n", bad[i]);
			checks_failed++;
		}
	}
}

static void test_parse_pid(void)
{
	pid_t pid = 0;

	CHECK(!parse_pid("1", &pid) && pid == 1);
	CHECK(!parse_pid("4194304", &pid) && pid == 4194304);
	CHECK(!parse_pid("2147483647", &pid) && pid == 2147483647);
	CHECK(parse_pid("2147483648", &pid) == -EINVAL);
	CHECK(parse_pid("0", &pid) == -EINVAL);
	CHECK(parse_pid("-5", &pid) == -EINVAL);
	CHECK(parse_pid("12a", &pid) == -EINVAL);
	CHECK(parse_pid("", &pid) == -EINVAL);
	CHECK(parse_pid(" 1", &pid) == -EINVAL);
	CHECK(parse_pid("99999999999999999999999", &pid) == -EINVAL);
}

static void test_parse_addr(void)
{
	uint64_t a = 0;

	CHECK(!parse_addr("7f00", &a) && a == 0x7f00);
	CHECK(!parse_addr("0x7f00", &a) && a == 0x7f00);
	CHECK(!parse_addr("0X7F00", &a) && a == 0x7f00);
	CHECK(!parse_addr("7fffABCDe000", &a) && a == 0x7fffabcde000ULL);
	CHECK(!parse_addr("ffffffffffffffff", &a) && a == UINT64_MAX);
	CHECK(!parse_addr("0", &a) && a == 0);
	CHECK(parse_addr("10000000000000000", &a) == -ERANGE);
	CHECK(parse_addr("", &a) == -EINVAL);
	CHECK(parse_addr("0x", &a) == -EINVAL);
	CHECK(parse_addr("xyz", &a) == -EINVAL);
	CHECK(parse_addr("7f00 ", &a) == -EINVAL);
	CHECK(parse_addr("-7f00", &a) == -EINVAL);
	CHECK(parse_addr("7f00-8000", &a) == -EINVAL);
}

static void test_parse_uint(void)
{
	unsigned long v = 0;

	CHECK(!parse_uint("64", 1000, &v) && v == 64);
	CHECK(!parse_uint("1000", 1000, &v) && v == 1000);
	CHECK(parse_uint("1001", 1000, &v) == -ERANGE);
	CHECK(parse_uint("", 1000, &v) == -EINVAL);
	CHECK(parse_uint("6x", 1000, &v) == -EINVAL);
	CHECK(parse_uint("-1", 1000, &v) == -EINVAL);
}

static void test_parse_knob_arg(void)
{
	const char *val = NULL;
	char name[16];

	CHECK(!parse_knob_arg("pages_to_scan=100", name, sizeof(name), &val));
	CHECK_STR(name, "pages_to_scan");
	CHECK_STR(val, "100");
	CHECK(!parse_knob_arg("enabled=0", name, sizeof(name), &val));
	CHECK_STR(val, "0");
	CHECK(!parse_knob_arg("a=b=c", name, sizeof(name), &val));
	CHECK_STR(name, "a");
	CHECK_STR(val, "b=c");
	CHECK(parse_knob_arg("=5", name, sizeof(name), &val) == -EINVAL);
	CHECK(parse_knob_arg("a=", name, sizeof(name), &val) == -EINVAL);
	CHECK(parse_knob_arg("enabled", name, sizeof(name), &val) == -EINVAL);
	CHECK(parse_knob_arg("a b=1", name, sizeof(name), &val) == -EINVAL);
	CHECK(parse_knob_arg("../x=1", name, sizeof(name), &val) == -EINVAL);
	CHECK(parse_knob_arg("a=1\n2", name, sizeof(name), &val) == -EINVAL);
	CHECK(parse_knob_arg("sixteen_chars_xx=1", name, sizeof(name), &val) ==
	      -EINVAL);
	CHECK(!parse_knob_arg("fifteen_chars_x=1", name, sizeof(name), &val));
}

static void test_format_size(void)
{
	static const struct {
		uint64_t bytes;
		const char *s;
	} cases[] = {
		{ 0, "0B" }, { 1, "1B" }, { 1023, "1023B" }, { 1024, "1K" },
		{ 1536, "1.5K" }, { 4096, "4K" }, { 4ULL << 20, "4M" },
		{ (1ULL << 20) - 1, "1.0M" }, { 3ULL << 30, "3G" },
		{ (1ULL << 40) + (1ULL << 39), "1.5T" }, { 15ULL << 60, "15E" },
		{ UINT64_MAX, "16.0E" },
	};
	char buf[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		format_size(cases[i].bytes, buf, sizeof(buf));
		CHECK_STR(buf, cases[i].s);
	}
}

/* --------------------------------------------------------- statistics */

static struct contig_stats stats_of(const uint64_t *pfns, size_t nr,
				    unsigned long page_size)
{
	struct contig_stats st;

	memset(&st, 0xa5, sizeof(st));
	CHECK(!contig_stats_compute(pfns, nr, page_size, &st));
	return st;
}

static void test_stats_empty(void)
{
	uint64_t none[] = { N, N, N };
	struct contig_stats st;

	st = stats_of(NULL, 0, 4096);
	CHECK_EQ_U64(st.pages, 0);
	CHECK_EQ_U64(st.resident, 0);
	CHECK_EQ_U64(st.runs, 0);
	CHECK_EQ_U64(st.largest, 0);
	CHECK_EQ_U64(st.r99, 0);

	st = stats_of(none, 3, 4096);
	CHECK_EQ_U64(st.pages, 3);
	CHECK_EQ_U64(st.resident, 0);
	CHECK_EQ_U64(st.runs, 0);
	CHECK_EQ_U64(st.r99, 0);
	CHECK(contig_share(st.in_2m, st.resident) == 0.0);
}

static void test_stats_basic_runs(void)
{
	uint64_t one[] = { 42 };
	uint64_t seq[] = { 100, 101, 102, 103, 104, 105, 106, 107, 108, 109 };
	uint64_t down[] = { 5, 4, 3, 2, 1 };
	uint64_t same[] = { 7, 7 };
	struct contig_stats st;

	st = stats_of(one, 1, 4096);
	CHECK_EQ_U64(st.resident, 1);
	CHECK_EQ_U64(st.runs, 1);
	CHECK_EQ_U64(st.largest, 1);
	CHECK_EQ_U64(st.r99, 1);

	st = stats_of(seq, 10, 4096);
	CHECK_EQ_U64(st.runs, 1);
	CHECK_EQ_U64(st.largest, 10);
	CHECK_EQ_U64(st.r99, 1);

	/* Descending PFNs are not contiguous in virtual order. */
	st = stats_of(down, 5, 4096);
	CHECK_EQ_U64(st.runs, 5);
	CHECK_EQ_U64(st.largest, 1);
	CHECK_EQ_U64(st.r99, 5);

	st = stats_of(same, 2, 4096);
	CHECK_EQ_U64(st.runs, 2);
}

static void test_stats_holes_end_runs(void)
{
	/* The PFN after the hole continues the arithmetic, still a new run. */
	uint64_t gap_same_offset[] = { 10, 11, N, 13, 14 };
	/* The PFN after the hole is the one the run expected: new run too. */
	uint64_t gap_next_pfn[] = { 10, 11, N, 12, 13 };
	uint64_t leading[] = { N, N, 20, 21, N };
	struct contig_stats st;

	st = stats_of(gap_same_offset, 5, 4096);
	CHECK_EQ_U64(st.resident, 4);
	CHECK_EQ_U64(st.runs, 2);
	CHECK_EQ_U64(st.largest, 2);

	st = stats_of(gap_next_pfn, 5, 4096);
	CHECK_EQ_U64(st.runs, 2);
	CHECK_EQ_U64(st.largest, 2);

	st = stats_of(leading, 5, 4096);
	CHECK_EQ_U64(st.pages, 5);
	CHECK_EQ_U64(st.resident, 2);
	CHECK_EQ_U64(st.runs, 1);
}

/* PFN array with runs of the given lengths, far apart. */
static uint64_t *pfns_of_runs(const uint64_t *lens, size_t nr, size_t *pages)
{
	uint64_t *pfns, base = 1000000;
	size_t total = 0, i, j, k = 0;

	for (i = 0; i < nr; i++)
		total += lens[i];
	pfns = malloc(total * sizeof(*pfns));
	for (i = 0; i < nr; i++) {
		for (j = 0; j < lens[i]; j++)
			pfns[k++] = base + j;
		base -= 100000;		/* next run lower: no joining */
	}
	*pages = total;
	return pfns;
}

static uint64_t r99_of_runs(const uint64_t *lens, size_t nr)
{
	struct contig_stats st;
	uint64_t *pfns;
	size_t pages;

	pfns = pfns_of_runs(lens, nr, &pages);
	st = stats_of(pfns, pages, 4096);
	free(pfns);
	return st.r99;
}

static void test_stats_r99_exact(void)
{
	uint64_t a[] = { 90, 9, 1 };		/* 99 of 100 with two */
	uint64_t b[] = { 90, 8, 1, 1 };		/* 99 of 100 needs three */
	uint64_t c[] = { 1, 9, 90 };		/* order does not matter */
	uint64_t d[] = { 98, 1, 1 };		/* 99 needs both small ones */
	uint64_t e[] = { 99, 1 };
	uint64_t *singles;
	size_t i;

	CHECK_EQ_U64(r99_of_runs(a, 3), 2);
	CHECK_EQ_U64(r99_of_runs(b, 4), 3);
	CHECK_EQ_U64(r99_of_runs(c, 3), 2);
	CHECK_EQ_U64(r99_of_runs(d, 3), 2);
	CHECK_EQ_U64(r99_of_runs(e, 2), 1);

	/* 1000 single pages: 990 cover 99% exactly. */
	singles = malloc(1000 * sizeof(*singles));
	for (i = 0; i < 1000; i++)
		singles[i] = 1;
	CHECK_EQ_U64(r99_of_runs(singles, 1000), 990);
	/* 101 singles: 99% is 99.99 pages, so 100 runs. */
	CHECK_EQ_U64(r99_of_runs(singles, 101), 100);
	free(singles);
}

static void test_runs_to_cover(void)
{
	uint64_t lens[] = { 1, 5, 3, 1 };

	CHECK_EQ_U64(contig_runs_to_cover(lens, 4, 10, 100), 4);
	CHECK_EQ_U64(contig_runs_to_cover(lens, 4, 10, 50), 1);
	CHECK_EQ_U64(contig_runs_to_cover(lens, 4, 10, 51), 2);
	CHECK_EQ_U64(contig_runs_to_cover(lens, 4, 10, 80), 2);
	CHECK_EQ_U64(contig_runs_to_cover(lens, 4, 10, 81), 3);
	/* Sorted in place, longest first. */
	CHECK(lens[0] == 5 && lens[1] == 3 && lens[2] == 1 && lens[3] == 1);
	CHECK_EQ_U64(contig_runs_to_cover(lens, 0, 0, 99), 0);
}

static void test_stats_coverage(void)
{
	uint64_t lens[] = { 512, 16, 15, 1 };	/* 2 MiB, 64 KiB, less, 1 */
	struct contig_stats st;
	uint64_t *pfns;
	size_t pages;

	pfns = pfns_of_runs(lens, 4, &pages);
	st = stats_of(pfns, pages, 4096);
	CHECK_EQ_U64(st.resident, 544);
	CHECK_EQ_U64(st.in_64k, 528);
	CHECK_EQ_U64(st.in_2m, 512);
	CHECK_EQ_U64(st.in_1g, 0);
	CHECK(fabs(contig_share(st.in_2m, st.resident) - 512.0 / 544) < 1.0 / 1e12);

	/* With 64 KiB pages every run is at least 64 KiB; 2 MiB = 32. */
	st = stats_of(pfns, pages, 65536);
	CHECK_EQ_U64(st.in_64k, 544);
	CHECK_EQ_U64(st.in_2m, 512);
	free(pfns);
}

static void test_stats_coverage_1g(void)
{
	uint64_t lens[] = { 262144, 3 };	/* 1 GiB of 4 KiB pages */
	struct contig_stats st;
	uint64_t *pfns;
	size_t pages;

	pfns = pfns_of_runs(lens, 2, &pages);
	/* Runs must not touch: put the short one far away. */
	pfns[262144] = 5000000;
	pfns[262145] = 5000001;
	pfns[262146] = 5000002;
	st = stats_of(pfns, pages, 4096);
	CHECK_EQ_U64(st.runs, 2);
	CHECK_EQ_U64(st.largest, 262144);
	CHECK_EQ_U64(st.in_1g, 262144);
	CHECK_EQ_U64(st.in_2m, 262144);
	CHECK_EQ_U64(st.r99, 1);
	free(pfns);
}

static void test_stats_histogram(void)
{
	uint64_t lens[] = { 1, 2, 3, 4, 7, 8 };
	struct contig_stats st;
	uint64_t *pfns, runs = 0;
	size_t pages;
	int b;

	pfns = pfns_of_runs(lens, 6, &pages);
	st = stats_of(pfns, pages, 4096);
	CHECK_EQ_U64(st.hist_runs[0], 1);
	CHECK_EQ_U64(st.hist_pages[0], 1);
	CHECK_EQ_U64(st.hist_runs[1], 2);
	CHECK_EQ_U64(st.hist_pages[1], 5);
	CHECK_EQ_U64(st.hist_runs[2], 2);
	CHECK_EQ_U64(st.hist_pages[2], 11);
	CHECK_EQ_U64(st.hist_runs[3], 1);
	CHECK_EQ_U64(st.hist_pages[3], 8);
	for (b = 0; b < CONTIG_HIST_BUCKETS; b++)
		runs += st.hist_runs[b];
	CHECK_EQ_U64(runs, st.runs);
	free(pfns);
}

/* The slow, obvious version, for comparison on random arrays. */
static void reference_stats(const uint64_t *pfns, size_t nr,
			    unsigned long page_size, struct contig_stats *st)
{
	uint64_t *lens = calloc(nr + 1, sizeof(*lens));
	size_t i, k, nr_lens = 0;
	uint64_t covered = 0;

	memset(st, 0, sizeof(*st));
	st->pages = nr;
	for (i = 0; i < nr; i++) {
		if (pfns[i] == N)
			continue;
		st->resident++;
		if (i && pfns[i - 1] != N && pfns[i] == pfns[i - 1] + 1)
			lens[nr_lens - 1]++;
		else
			lens[nr_lens++] = 1;
	}
	st->runs = nr_lens;
	for (i = 0; i < nr_lens; i++) {
		if (lens[i] > st->largest)
			st->largest = lens[i];
		if (lens[i] * page_size >= 64 << 10)
			st->in_64k += lens[i];
		if (lens[i] * page_size >= 2 << 20)
			st->in_2m += lens[i];
	}
	/* Selection: repeatedly take the longest remaining run. */
	for (k = 0; k < nr_lens && covered * 100 < st->resident * 99; k++) {
		size_t best = 0;

		for (i = 1; i < nr_lens; i++)
			if (lens[i] > lens[best])
				best = i;
		covered += lens[best];
		lens[best] = 0;
	}
	st->r99 = k;
	free(lens);
}

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Whether @got is @want; prints the difference if not. */
static bool stats_match(int round, size_t nr, const struct contig_stats *got,
			const struct contig_stats *want)
{
	if (got->pages == want->pages && got->resident == want->resident &&
	    got->runs == want->runs && got->largest == want->largest &&
	    got->r99 == want->r99 && got->in_64k == want->in_64k &&
	    got->in_2m == want->in_2m)
		return true;
	printf("  round %d (%zu pages): got runs %llu r99 %llu, want runs %llu r99 %llu\n",
	       round, nr, (unsigned long long)got->runs,
	       (unsigned long long)got->r99, (unsigned long long)want->runs,
	       (unsigned long long)want->r99);
	return false;
}

static void test_stats_random_vs_reference(void)
{
	int round;

	for (round = 0; round < 200; round++) {
		size_t nr = rng() % 3000, i, pos;
		uint64_t *pfns = malloc((nr + 1) * sizeof(*pfns));
		struct contig_stats want, got;
		struct contig_acc acc;
		uint64_t pfn = 1000;

		/* Mostly runs, with holes, jumps and the odd repeat. */
		for (i = 0; i < nr; i++) {
			unsigned int r = rng() % 100;

			if (r < 5) {
				pfns[i] = N;
			} else if (r < 12) {
				pfn = rng() % 100000;
				pfns[i] = pfn;
			} else if (r < 13) {
				pfns[i] = pfn;
			} else {
				pfns[i] = ++pfn;
			}
		}
		reference_stats(pfns, nr, 4096, &want);

		/* Fed in random batches. */
		contig_acc_init(&acc, 4096);
		for (pos = 0; pos < nr;) {
			size_t n = 1 + rng() % 700;

			if (n > nr - pos)
				n = nr - pos;
			CHECK(!contig_acc_add(&acc, pfns + pos, n));
			pos += n;
		}
		CHECK(!contig_acc_finish(&acc, &got));
		contig_acc_free(&acc);

		if (!stats_match(round, nr, &got, &want)) {
			checks_failed++;
			free(pfns);
			return;
		}
		free(pfns);
	}
}

/* -------------------------------------------------------- runs, cells */

static void test_runs_list(void)
{
	uint64_t pfns[] = { 10, 11, N, 20, 21, 22, 5 };
	struct contig_run *runs = NULL;
	ssize_t n;

	n = contig_runs_list(pfns, 7, &runs);
	CHECK(n == 3);
	CHECK(runs[0].index == 0 && runs[0].pfn == 10 && runs[0].pages == 2);
	CHECK(runs[1].index == 3 && runs[1].pfn == 20 && runs[1].pages == 3);
	CHECK(runs[2].index == 6 && runs[2].pfn == 5 && runs[2].pages == 1);
	free(runs);

	runs = NULL;
	CHECK(contig_runs_list(pfns + 2, 1, &runs) == 0);
	free(runs);
}

static void test_cells_virtual(void)
{
	uint64_t pfns[] = { 10, 11, N, 20, 21, 22 };
	uint64_t odd[] = { 1, 3, 5, 7 };
	struct contig_cell cells[16];
	struct contig_run *runs;
	ssize_t nr_runs;
	int n;

	nr_runs = contig_runs_list(pfns, 6, &runs);
	n = contig_cells_virtual(runs, nr_runs, 6, cells, 3);
	CHECK(n == 3);
	CHECK(cells[0].run == 0 && cells[0].pieces == 1 && cells[0].used == 2);
	CHECK(cells[1].run == 1 && cells[1].pieces == 1 && cells[1].used == 1);
	CHECK(cells[2].run == 1 && cells[2].used == 2);

	/* More cells than pages: one page per cell. */
	n = contig_cells_virtual(runs, nr_runs, 6, cells, 16);
	CHECK(n == 6);
	CHECK(cells[2].run == CELL_EMPTY && cells[2].used == 0);
	CHECK(cells[5].run == 1);

	/* 4 pages into 3 cells: 2 pages per cell, 2 cells. */
	n = contig_cells_virtual(runs, nr_runs, 6, cells, 4);
	CHECK(n == 3);
	free(runs);

	nr_runs = contig_runs_list(odd, 4, &runs);
	CHECK(nr_runs == 4);
	n = contig_cells_virtual(runs, nr_runs, 4, cells, 2);
	CHECK(n == 2);
	CHECK(cells[0].run == CELL_MIXED && cells[0].pieces == 2);
	CHECK(cells[1].run == CELL_MIXED && cells[1].pieces == 2);

	/* A run past the range is refused. */
	CHECK(contig_cells_virtual(runs, nr_runs, 3, cells, 2) == -EINVAL);
	CHECK(contig_cells_virtual(runs, 0, 0, cells, 2) == 0);
	free(runs);
}

static void test_cells_physical(void)
{
	uint64_t pfns[] = { 100, 101, 50, 51 };
	struct contig_cell cells[64];
	struct contig_run *runs;
	uint64_t lo, hi;
	ssize_t nr_runs;
	int n, i;

	nr_runs = contig_runs_list(pfns, 4, &runs);
	CHECK(nr_runs == 2);
	n = contig_cells_physical(runs, nr_runs, &lo, &hi, cells, 26);
	CHECK(lo == 50 && hi == 102);
	CHECK(n == 26);
	CHECK(cells[0].run == 1 && cells[0].used == 2);
	CHECK(cells[25].run == 0 && cells[25].used == 2);
	for (i = 1; i < 25; i++)
		CHECK(cells[i].run == CELL_EMPTY);

	/* One cell for everything: two runs meet in it. */
	n = contig_cells_physical(runs, nr_runs, &lo, &hi, cells, 1);
	CHECK(n == 1 && cells[0].run == CELL_MIXED && cells[0].pieces == 2);
	CHECK(cells[0].used == 4);
	free(runs);

	CHECK(contig_cells_physical(NULL, 0, &lo, &hi, cells, 8) == 0);
	CHECK(lo == 0 && hi == 0);
}

/* ------------------------------------------------------ contig lines */

static void test_contig_line_basic(void)
{
	static const char *const words[] = {
		"7f0000000000-7f0000400000", "state=pending", "resident=1024",
		"in_place=0", "runs=3", "largest=1000\n",
	};
	struct contig_line cl;
	uint64_t v = 0;

	CHECK(!contig_line_parse(join(words, ARRAY_SIZE(words), " "), &cl));
	CHECK(cl.start == 0x7f0000000000ULL && cl.end == 0x7f0000400000ULL);
	CHECK(cl.nr == 5);
	CHECK_STR(contig_line_get(&cl, "state"), "pending");
	CHECK(!contig_line_get_u64(&cl, "resident", &v) && v == 1024);
	CHECK(!contig_line_get_u64(&cl, "in_place", &v) && v == 0);
	CHECK(!contig_line_get_u64(&cl, "largest", &v) && v == 1000);
	CHECK(contig_line_get_u64(&cl, "state", &v) == -EINVAL);
	CHECK(!contig_line_get(&cl, "anchor"));
	CHECK(contig_line_get_u64(&cl, "anchor", &v) == -ENOENT);
	/* Field order is kept. */
	CHECK_STR(cl.key[0], "state");
	CHECK_STR(cl.key[4], "largest");
	contig_line_free(&cl);
}

static void test_contig_line_future_keys(void)
{
	static const char *const words[] = {
		"1000-5000", "state=blocked", "resident=4", "in_place=2",
		"runs=2", "largest=2", "r99=2", "reason=pinned_page",
		"anchor=0x1000:0x8f000", "newkey=x=y",
	};
	struct contig_line cl;
	uint64_t v;

	CHECK(!contig_line_parse(join(words, ARRAY_SIZE(words), " "), &cl));
	CHECK(cl.nr == 9);
	CHECK_STR(contig_line_get(&cl, "reason"), "pinned_page");
	CHECK_STR(contig_line_get(&cl, "anchor"), "0x1000:0x8f000");
	CHECK_STR(contig_line_get(&cl, "newkey"), "x=y");
	CHECK(!contig_line_get_u64(&cl, "r99", &v) && v == 2);
	contig_line_free(&cl);

	/* anchor=none, tabs, doubled spaces, words without '='. */
	CHECK(!contig_line_parse("a000-b000\tstate=done  junk anchor=none =x\n",
				 &cl));
	CHECK(cl.start == 0xa000 && cl.end == 0xb000);
	CHECK(cl.nr == 2);
	CHECK_STR(contig_line_get(&cl, "anchor"), "none");
	contig_line_free(&cl);

	/* Only a range: valid, no fields. */
	CHECK(!contig_line_parse("1000-2000", &cl));
	CHECK(cl.nr == 0);
	contig_line_free(&cl);
}

static void test_contig_line_many_fields(void)
{
	char line[2048];
	struct contig_line cl;
	int i, len;

	len = snprintf(line, sizeof(line), "1000-2000");
	for (i = 0; i < 40; i++)
		len += snprintf(line + len, sizeof(line) - len, " k%d=%d", i, i);
	CHECK(!contig_line_parse(line, &cl));
	CHECK(cl.nr == CONTIG_LINE_MAX_FIELDS);
	CHECK_STR(contig_line_get(&cl, "k31"), "31");
	CHECK(!contig_line_get(&cl, "k32"));
	contig_line_free(&cl);
}

static void test_contig_line_malformed(void)
{
	static const char * const bad[] = {
		"", "\n", "garbage", "7f00 state=x", "zz-10 state=x",
		"2000-1000 state=x", "-1000 state=x", "1000- state=x",
		"0x1000-0x2000 state=x", "10000000000000000-1 state=x",
	};
	struct contig_line cl;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (contig_line_parse(bad[i], &cl) != -EINVAL) {
			printf("  contig_line_parse(\"%s\") accepted\n", bad[i]);
			checks_failed++;
			contig_line_free(&cl);
		}
		CHECK(!cl.buf);
	}
}

/* ------------------------------------------------------- maps, smaps */

/*
 * A maps line: @head, @pad spaces, @name and a newline, in a buffer that
 * the next call reuses. The kernel pads the name to a column.
 */
static const char *maps_text(const char *head, int pad, const char *name)
{
	static char line[512];

	snprintf(line, sizeof(line), "%s%*s%s\n", head, pad, "", name);
	return line;
}

static void test_maps_line(void)
{
	struct vma_info v;

	CHECK(!maps_line_parse(maps_text("55d4c3a00000-55d4c3a21000 rw-p 00000000 00:00 0",
					 26, "[heap]"), &v));
	CHECK(v.start == 0x55d4c3a00000ULL && v.end == 0x55d4c3a21000ULL);
	CHECK_STR(v.perms, "rw-p");
	CHECK_STR(v.name, "[heap]");
	CHECK(vma_is_anon(&v));

	CHECK(!maps_line_parse(maps_text("7f12a4000000-7f12a4028000 r-xp 00028000 fe:01 1234567",
					 20, "/usr/lib/x86_64-linux-gnu/libc.so.6"),
			       &v));
	CHECK_STR(v.name, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	CHECK(!vma_is_anon(&v));

	/* A space but no name. */
	CHECK(!maps_line_parse(maps_text("7f0000000000-7f0000400000 rw-p 00000000 00:00 0",
					 1, ""), &v));
	CHECK_STR(v.name, "");
	CHECK(vma_is_anon(&v));

	CHECK(!maps_line_parse("7f0000000000-7f0000400000 rw-p 00000000 00:00 0\n",
			       &v));
	CHECK_STR(v.name, "");

	CHECK(!maps_line_parse(maps_text("7f0000000000-7f0000400000 rw-s 00000000 00:01 42",
					 6, "/tmp/a b (deleted)"), &v));
	CHECK_STR(v.name, "/tmp/a b (deleted)");
	CHECK(!vma_is_anon(&v));

	CHECK(!maps_line_parse(maps_text("7f0000000000-7f0000400000 rw-p 00000000 00:00 0",
					 4, "[anon:jit heap]"), &v));
	CHECK(vma_is_anon(&v));
	CHECK(!maps_line_parse("7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0    [stack]\n",
			       &v));
	CHECK(!vma_is_anon(&v));

	/* smaps fields are not headers, even those starting with hex. */
	CHECK(maps_line_parse("Size:               4096 kB\n", &v) == -EINVAL);
	CHECK(maps_line_parse("AnonHugePages:         0 kB\n", &v) == -EINVAL);
	CHECK(maps_line_parse("VmFlags: rd wr mr mw me ac sd ct\n", &v) ==
	      -EINVAL);
	CHECK(maps_line_parse("Rss:                  16 kB\n", &v) == -EINVAL);
	CHECK(maps_line_parse("", &v) == -EINVAL);
}

static void test_vmflags(void)
{
	CHECK(vmflags_has(" rd wr mr mw me ac sd ct\n", "ct"));
	CHECK(vmflags_has("ct rd", "ct"));
	CHECK(!vmflags_has(" rd wr act\n", "ct"));
	CHECK(!vmflags_has(" rd wr ctx\n", "ct"));
	CHECK(!vmflags_has("", "ct"));
	CHECK(vmflags_has("\trd\tct", "ct"));
}

/* --------------------------------------------------------------- JSON */

static char *capture_string(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	json_string(f, s);
	fclose(f);
	return buf;
}

static void check_json_string(const char *in, const char *want, int line)
{
	char *got = capture_string(in);

	if (strcmp(got, want)) {
		printf("  %s:%d: json_string gave %s, expected %s\n", __FILE__,
		       line, got, want);
		checks_failed++;
	}
	free(got);
}

#define CHECK_JSON_STRING(in, want) check_json_string(in, want, __LINE__)

static void test_json_escape(void)
{
	CHECK_JSON_STRING("abc", "\"abc\"");
	CHECK_JSON_STRING("", "\"\"");
	CHECK_JSON_STRING("a\"b\\c", "\"a\\\"b\\\\c\"");
	CHECK_JSON_STRING("l1\nl2\tx\r", "\"l1\\nl2\\tx\\r\"");
	CHECK_JSON_STRING("\b\f", "\"\\b\\f\"");
	CHECK_JSON_STRING("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
	CHECK_JSON_STRING("/path/to (deleted)", "\"/path/to (deleted)\"");
}

static void test_json_utf8(void)
{
	CHECK_JSON_STRING("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	CHECK_JSON_STRING("\xe2\x82\xac", "\"\xe2\x82\xac\"");
	CHECK_JSON_STRING("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
	/* Not UTF-8: one U+FFFD per bad byte. */
	CHECK_JSON_STRING("a\377b", "\"a\\ufffdb\"");
	CHECK_JSON_STRING("\xc3", "\"\\ufffd\"");
	CHECK_JSON_STRING("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	CHECK_JSON_STRING("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_JSON_STRING("\xf4\x90\x80\x80",
			  "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	CHECK_JSON_STRING("\xe2\x82", "\"\\ufffd\\ufffd\"");
}

static void test_json_writer(void)
{
	static const char *const want[] = {
		"{\"pid\":42,\"big\":18446744073709551615,\"s\":\"x\\\"y\",",
		"\"t\":true,\"n\":null,\"addr\":\"0x7f0000001000\",",
		"\"share\":0.250,\"nan\":null,\"list\":[1,{\"num\":123,",
		"\"zero\":0,\"lead\":\"0123\",\"word\":\"pending\",",
		"\"empty\":\"\",\"huge\":\"123456789012345678901\"}],",
		"\"none\":[],\"obj\":{}}\n",
	};
	char *buf = NULL;
	size_t len = 0;
	struct json j;
	FILE *f = open_memstream(&buf, &len);

	json_init(&j, f, false);
	json_object_begin(&j, NULL);
	json_i64(&j, "pid", 42);
	json_u64(&j, "big", UINT64_MAX);
	json_str(&j, "s", "x\"y");
	json_bool(&j, "t", true);
	json_null(&j, "n");
	json_hex(&j, "addr", 0x7f0000001000ULL);
	json_double(&j, "share", 0.25, 3);
	json_double(&j, "nan", NAN, 3);
	json_array_begin(&j, "list");
	json_u64(&j, NULL, 1);
	json_object_begin(&j, NULL);
	json_auto(&j, "num", "123");
	json_auto(&j, "zero", "0");
	json_auto(&j, "lead", "0123");
	json_auto(&j, "word", "pending");
	json_auto(&j, "empty", "");
	json_auto(&j, "huge", "123456789012345678901");
	json_object_end(&j);
	json_array_end(&j);
	json_array_begin(&j, "none");
	json_array_end(&j);
	json_object_begin(&j, "obj");
	json_object_end(&j);
	json_object_end(&j);
	json_end(&j);
	fclose(f);
	CHECK_STR(buf, join(want, ARRAY_SIZE(want), ""));
	free(buf);
}

static void test_json_pretty(void)
{
	char *buf = NULL;
	size_t len = 0;
	struct json j;
	FILE *f = open_memstream(&buf, &len);

	json_init(&j, f, true);
	json_object_begin(&j, NULL);
	json_u64(&j, "a", 1);
	json_array_begin(&j, "b");
	json_u64(&j, NULL, 2);
	json_array_end(&j);
	json_array_begin(&j, "c");
	json_array_end(&j);
	json_object_end(&j);
	json_end(&j);
	fclose(f);
	CHECK_STR(buf, "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ],\n  \"c\": []\n}\n");
	free(buf);
}

/* ------------------------------------------------------------- runner */

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "parse_size_valid",		test_parse_size_valid },
	{ "parse_size_invalid",		test_parse_size_invalid },
	{ "parse_seconds",		test_parse_seconds },
	{ "parse_pid",			test_parse_pid },
	{ "parse_addr",			test_parse_addr },
	{ "parse_uint",			test_parse_uint },
	{ "parse_knob_arg",		test_parse_knob_arg },
	{ "format_size",		test_format_size },
	{ "stats_empty",		test_stats_empty },
	{ "stats_basic_runs",		test_stats_basic_runs },
	{ "stats_holes_end_runs",	test_stats_holes_end_runs },
	{ "stats_r99_exact",		test_stats_r99_exact },
	{ "runs_to_cover",		test_runs_to_cover },
	{ "stats_coverage",		test_stats_coverage },
	{ "stats_coverage_1g",		test_stats_coverage_1g },
	{ "stats_histogram",		test_stats_histogram },
	{ "stats_random_vs_reference",	test_stats_random_vs_reference },
	{ "runs_list",			test_runs_list },
	{ "cells_virtual",		test_cells_virtual },
	{ "cells_physical",		test_cells_physical },
	{ "contig_line_basic",		test_contig_line_basic },
	{ "contig_line_future_keys",	test_contig_line_future_keys },
	{ "contig_line_many_fields",	test_contig_line_many_fields },
	{ "contig_line_malformed",	test_contig_line_malformed },
	{ "maps_line",			test_maps_line },
	{ "vmflags",			test_vmflags },
	{ "json_escape",		test_json_escape },
	{ "json_utf8",			test_json_utf8 },
	{ "json_writer",		test_json_writer },
	{ "json_pretty",		test_json_pretty },
};

int main(void)
{
	int passed = 0, failed = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		checks_failed = 0;
		tests[i].fn();
		printf("%s %s\n", checks_failed ? "FAIL" : "ok  ", tests[i].name);
		if (checks_failed)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
