/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests for the pure logic of kcontigd. Included at the end of
 * mm/mem_defrag.c so that static functions can be tested.
 */
#ifndef _MEM_DEFRAG_KUNIT_H
#define _MEM_DEFRAG_KUNIT_H

#include <kunit/test.h>

static void contig_stats_test_empty(struct kunit *test)
{
	struct contig_stats st = { };

	contig_stats_add(&st, 100, 200, 0);
	KUNIT_EXPECT_EQ(test, st.resident, 0UL);
	KUNIT_EXPECT_EQ(test, st.runs, 0UL);
	KUNIT_EXPECT_EQ(test, st.largest, 0UL);
}

static void contig_stats_test_one_run(struct kunit *test)
{
	struct contig_stats st = { };
	unsigned long i;

	for (i = 0; i < 10; i++)
		contig_stats_add(&st, 0x1000 + i, 0x5000 + i, 1);
	KUNIT_EXPECT_EQ(test, st.resident, 10UL);
	KUNIT_EXPECT_EQ(test, st.runs, 1UL);
	KUNIT_EXPECT_EQ(test, st.largest, 10UL);
}

static void contig_stats_test_pfn_break(struct kunit *test)
{
	struct contig_stats st = { };

	contig_stats_add(&st, 10, 100, 1);
	contig_stats_add(&st, 11, 101, 1);
	contig_stats_add(&st, 12, 50, 1);	/* pfn goes backwards */
	contig_stats_add(&st, 13, 51, 1);
	contig_stats_add(&st, 14, 52, 1);
	contig_stats_add(&st, 15, 54, 1);	/* pfn skips one */
	KUNIT_EXPECT_EQ(test, st.resident, 6UL);
	KUNIT_EXPECT_EQ(test, st.runs, 3UL);
	KUNIT_EXPECT_EQ(test, st.largest, 3UL);
}

/* A hole in the virtual range ends a run even if the pfns go on. */
static void contig_stats_test_vpn_hole(struct kunit *test)
{
	struct contig_stats st = { };

	contig_stats_add(&st, 10, 100, 1);
	contig_stats_add(&st, 12, 101, 1);
	KUNIT_EXPECT_EQ(test, st.runs, 2UL);
	KUNIT_EXPECT_EQ(test, st.largest, 1UL);
}

/* A PMD-mapped THP counts as 512 pages that join their neighbours. */
static void contig_stats_test_huge(struct kunit *test)
{
	struct contig_stats st = { };

	contig_stats_add(&st, 511, 1023, 1);
	contig_stats_add(&st, 512, 1024, 512);
	contig_stats_add(&st, 1024, 1536, 1);
	contig_stats_add(&st, 1025, 7, 512);
	KUNIT_EXPECT_EQ(test, st.resident, 1026UL);
	KUNIT_EXPECT_EQ(test, st.runs, 2UL);
	KUNIT_EXPECT_EQ(test, st.largest, 514UL);
}

/* Run lengths are collected for R99, the last one at contig_stats_end_run(). */
static void contig_stats_test_lengths(struct kunit *test)
{
	unsigned int lens[4] = { };
	struct contig_stats st = { .lens = lens, .max_lens = 4 };

	contig_stats_add(&st, 0, 100, 3);
	contig_stats_add(&st, 3, 7, 1);
	contig_stats_add(&st, 4, 8, 4);
	contig_stats_add(&st, 9, 50, 2);
	contig_stats_end_run(&st);
	KUNIT_EXPECT_EQ(test, st.runs, 3UL);
	KUNIT_EXPECT_EQ(test, lens[0], 3U);
	KUNIT_EXPECT_EQ(test, lens[1], 5U);
	KUNIT_EXPECT_EQ(test, lens[2], 2U);
}

/* in_place counts pages at anchor_pfn + vpn - anchor_vpn, chunk by chunk. */
static void contig_stats_test_in_place(struct kunit *test)
{
	struct contig_stats st = {
		.nr_segs = 1,
		.seg[0] = { .vpn = 1000, .pfn = 5000, .nr = 1000 },
	};

	contig_stats_add(&st, 1000, 5000, 1);	/* in place */
	contig_stats_add(&st, 1001, 9999, 1);	/* not */
	contig_stats_add(&st, 1002, 5002, 8);	/* in place, a chunk */
	contig_stats_add(&st, 1010, 5009, 1);	/* one off */
	KUNIT_EXPECT_EQ(test, st.in_place, 9UL);
	KUNIT_EXPECT_EQ(test, st.resident, 11UL);
}

static void contig_r99_test(struct kunit *test)
{
	unsigned int one[] = { 1000 };
	unsigned int even[100];
	unsigned int skew[] = { 1, 1, 990, 3, 5 };
	unsigned int i;

	KUNIT_EXPECT_EQ(test, contig_r99(one, 1, 1000), 1UL);
	KUNIT_EXPECT_EQ(test, contig_r99(one, 0, 0), 0UL);
	/* 100 runs of 1 page: 99 runs cover 99%. */
	for (i = 0; i < 100; i++)
		even[i] = 1;
	KUNIT_EXPECT_EQ(test, contig_r99(even, 100, 100), 99UL);
	/* 1000 pages: the 990-page run alone is 99%. */
	KUNIT_EXPECT_EQ(test, contig_r99(skew, 5, 1000), 1UL);
	KUNIT_EXPECT_EQ(test, skew[0], 990U);	/* sorted, longest first */
	/* Just under 99%: one more run is needed. */
	skew[0] = 989;
	skew[1] = 1;
	skew[2] = 1;
	skew[3] = 3;
	skew[4] = 6;
	KUNIT_EXPECT_EQ(test, contig_r99(skew, 5, 1000), 2UL);
}

/* The target frame of a page follows the anchor one to one. */
static void contig_target_test(struct kunit *test)
{
	struct contig_anchor a = {
		.nr_segs = 1,
		.seg[0] = { .vpn = 0x7f0000000UL, .pfn = 0x40200, .nr = 1024 },
	};

	KUNIT_EXPECT_EQ(test, contig_target(&a, 0x7f0000000UL << PAGE_SHIFT),
			0x40200UL);
	KUNIT_EXPECT_EQ(test,
			contig_target(&a, (0x7f0000000UL + 513) << PAGE_SHIFT),
			0x40200UL + 513);
	KUNIT_EXPECT_EQ(test,
			contig_target_end(&a, 0x7f0000000UL << PAGE_SHIFT),
			0x40200UL + 1024);
}

/* Sub-anchors: each vpn goes to the frames of the segment that holds it. */
static void contig_target_segments_test(struct kunit *test)
{
	struct contig_anchor a = {
		.nr_segs = 2,
		.seg = {
			{ .vpn = 0x1000, .pfn = 0x90000, .nr = 512 },
			{ .vpn = 0x1200, .pfn = 0x20000, .nr = 100 },
		},
	};
	struct contig_stats st = { .nr_segs = 2 };

	KUNIT_EXPECT_EQ(test, contig_target(&a, 0x1000UL << PAGE_SHIFT),
			0x90000UL);
	KUNIT_EXPECT_EQ(test, contig_target(&a, 0x11ffUL << PAGE_SHIFT),
			0x901ffUL);
	KUNIT_EXPECT_EQ(test, contig_target(&a, 0x1200UL << PAGE_SHIFT),
			0x20000UL);
	KUNIT_EXPECT_EQ(test, contig_target(&a, 0x1263UL << PAGE_SHIFT),
			0x20063UL);
	KUNIT_EXPECT_EQ(test, contig_target_end(&a, 0x1263UL << PAGE_SHIFT),
			0x20064UL);
	/* Outside every segment: no target. */
	KUNIT_EXPECT_EQ(test, contig_target(&a, 0x1264UL << PAGE_SHIFT), 0UL);

	memcpy(st.seg, a.seg, sizeof(st.seg));
	contig_stats_add(&st, 0x1000, 0x90000, 512);	/* in place */
	contig_stats_add(&st, 0x1200, 0x20000, 1);	/* in place */
	contig_stats_add(&st, 0x1201, 0x90201, 1);	/* wrong segment */
	KUNIT_EXPECT_EQ(test, st.in_place, 513UL);
	/* The second segment starts a new run. */
	KUNIT_EXPECT_EQ(test, st.runs, 3UL);
}

static void contig_first_candidate_test(struct kunit *test)
{
	unsigned long vpn, zstart, pfn;

	for (zstart = 0x40000; zstart < 0x40400; zstart += 0x7f) {
		for (vpn = 0x7f0000000UL; vpn < 0x7f0000000UL + 1100;
		     vpn += 37) {
			pfn = contig_first_candidate(zstart, vpn, 512);
			KUNIT_EXPECT_GE(test, pfn, zstart);
			KUNIT_EXPECT_LT(test, pfn, zstart + 512);
			KUNIT_EXPECT_EQ(test, (pfn - vpn) & 511, 0UL);
		}
	}
	/* 1 GiB alignment for big vmas. */
	pfn = contig_first_candidate(0x100000, 0x7f0050000UL, 1UL << 18);
	KUNIT_EXPECT_EQ(test, (pfn - 0x7f0050000UL) & ((1UL << 18) - 1), 0UL);
	KUNIT_EXPECT_EQ(test, pfn, 0x100000UL + 0x10000UL);
}

/*
 * Sub-anchor cuts lie on 2 MiB virtual boundaries whatever the vma's start
 * (the review's example: [0x1ff000, 0x800000), 1537 pages, in 2 pieces),
 * and the pieces cover the vma exactly, in order.
 */
static void contig_cut_test(struct kunit *test)
{
	static const struct {
		unsigned long vpn, nr;
		unsigned int k;
	} cases[] = {
		{ 0x1ff, 1537, 2 },
		{ 0x1ff, 4 * HPAGE_PMD_NR + 101, 4 },
		{ 0x12345, 5 * HPAGE_PMD_NR + 77, 4 },
		{ 0x400, 4 * HPAGE_PMD_NR, 4 },		/* aligned */
		{ 0x401, 4 * HPAGE_PMD_NR, 2 },
	};
	unsigned int c, i;

	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		unsigned long vpn = cases[c].vpn, nr = cases[c].nr;
		unsigned long head = ALIGN(vpn, HPAGE_PMD_NR) - vpn;
		unsigned long len = round_down((nr - head) / cases[c].k,
					       HPAGE_PMD_NR);
		unsigned long next = vpn, start, n;

		KUNIT_ASSERT_GT(test, len, 0UL);
		for (i = 0; i < cases[c].k; i++) {
			start = contig_cut(vpn, nr, len, cases[c].k, i, &n);
			KUNIT_EXPECT_EQ(test, start, next);
			KUNIT_EXPECT_GT(test, n, 0UL);
			if (i)
				KUNIT_EXPECT_EQ(test, start % HPAGE_PMD_NR,
						0UL);
			next = start + n;
		}
		KUNIT_EXPECT_EQ(test, next, vpn + nr);
	}
}

/*
 * A vma split, shrunk or merged inherits the targets its pages had: the
 * pieces of a split are sub-ranges, a merge of pieces that continue each
 * other in both spaces is one segment again, and a vma the old segments
 * do not cover (grown, or more than CONTIG_MAX_SEGS pieces) inherits
 * nothing.
 */
static void contig_segs_inherit_test(struct kunit *test)
{
	const struct contig_seg one = { .vpn = 0x1000, .pfn = 0x80000,
					.nr = 0x4000 };
	const struct contig_seg two[] = {
		{ .vpn = 0x1000, .pfn = 0x80000, .nr = 0x200 },
		{ .vpn = 0x1200, .pfn = 0x30000, .nr = 0x200 },
	};
	const struct contig_seg pieces[] = {	/* a split in three */
		{ .vpn = 0x1000, .pfn = 0x80000, .nr = 0x2003 },
		{ .vpn = 0x3003, .pfn = 0x82003, .nr = 1 },
		{ .vpn = 0x3004, .pfn = 0x82004, .nr = 0x1ffc },
	};
	const struct contig_seg many[] = {
		{ .vpn = 0x10, .pfn = 0x100, .nr = 1 },
		{ .vpn = 0x11, .pfn = 0x300, .nr = 1 },
		{ .vpn = 0x12, .pfn = 0x500, .nr = 1 },
		{ .vpn = 0x13, .pfn = 0x700, .nr = 1 },
		{ .vpn = 0x14, .pfn = 0x900, .nr = 1 },
	};
	struct contig_seg seg[CONTIG_MAX_SEGS];

	/* The middle page of a split, and the piece after it. */
	KUNIT_ASSERT_EQ(test, contig_segs_inherit(&one, 1, 0x3003, 1, seg), 1U);
	KUNIT_EXPECT_EQ(test, seg[0].pfn, 0x82003UL);
	KUNIT_EXPECT_EQ(test, seg[0].nr, 1UL);
	KUNIT_ASSERT_EQ(test, contig_segs_inherit(&one, 1, 0x3004, 0x1ffc, seg),
			1U);
	KUNIT_EXPECT_EQ(test, seg[0].vpn, 0x3004UL);
	KUNIT_EXPECT_EQ(test, seg[0].pfn, 0x82004UL);
	/* Merged back: one segment, as before the split. */
	KUNIT_ASSERT_EQ(test, contig_segs_inherit(pieces, 3, 0x1000, 0x4000, seg),
			1U);
	KUNIT_EXPECT_EQ(test, seg[0].pfn, 0x80000UL);
	KUNIT_EXPECT_EQ(test, seg[0].nr, 0x4000UL);
	/* Across two segments that do not continue each other: two. */
	KUNIT_ASSERT_EQ(test, contig_segs_inherit(two, 2, 0x1100, 0x200, seg), 2U);
	KUNIT_EXPECT_EQ(test, seg[0].nr, 0x100UL);
	KUNIT_EXPECT_EQ(test, seg[1].vpn, 0x1200UL);
	KUNIT_EXPECT_EQ(test, seg[1].pfn, 0x30000UL);
	KUNIT_EXPECT_EQ(test, seg[1].nr, 0x100UL);
	/* Grown past the old anchor, or before it: nothing. */
	KUNIT_EXPECT_EQ(test, contig_segs_inherit(&one, 1, 0x1000, 0x4001, seg),
			0U);
	KUNIT_EXPECT_EQ(test, contig_segs_inherit(&one, 1, 0xfff, 2, seg), 0U);
	KUNIT_EXPECT_EQ(test, contig_segs_inherit(NULL, 0, 0x1000, 1, seg), 0U);
	/* More pieces than an anchor holds: nothing; as many: all. */
	KUNIT_EXPECT_EQ(test, contig_segs_inherit(many, 5, 0x10, 5, seg), 0U);
	KUNIT_EXPECT_EQ(test, contig_segs_inherit(many, 5, 0x10, 4, seg),
			(unsigned int)CONTIG_MAX_SEGS);
}

/* The remote ranges of @slot as "start-end," (exclusive ends, in hex). */
static void contig_remote_str(struct kcontigd_mm_slot *slot, char *buf,
			      size_t len)
{
	struct interval_tree_node *n;
	size_t off = 0;

	buf[0] = 0;
	for (n = interval_tree_iter_first(&slot->remote, 0, ULONG_MAX); n;
	     n = interval_tree_iter_next(n, 0, ULONG_MAX))
		off += scnprintf(buf + off, len - off, "%lx-%lx,", n->start,
				 n->last + 1);
}

/* Add [start, end) to @slot's remote ranges. */
static int contig_remote_add_test(struct kcontigd_mm_slot *slot,
				  unsigned long start, unsigned long end)
{
	struct contig_remote *r = kzalloc(sizeof(*r), GFP_KERNEL);

	return r ? contig_remote_add(slot, r, start, end) : -ENOMEM;
}

/* Take [start, end) out of @slot's remote ranges, with a spare. */
static int contig_remote_del_test(struct kcontigd_mm_slot *slot,
				  unsigned long start, unsigned long end,
				  bool *used)
{
	struct contig_remote *r = kzalloc(sizeof(*r), GFP_KERNEL);
	int err;

	if (!r)
		return -ENOMEM;
	err = contig_remote_del(slot, start, end, &r);
	*used = !r;
	kfree(r);
	return err;
}

static void contig_remote_test(struct kunit *test)
{
	struct kcontigd_mm_slot slot = { .remote = RB_ROOT_CACHED };
	bool used;
	char buf[128];

	KUNIT_EXPECT_EQ(test, contig_remote_add_test(&slot, 0x1000, 0x2000), 0);
	KUNIT_EXPECT_EQ(test, contig_remote_add_test(&slot, 0x4000, 0x5000), 0);
	contig_remote_str(&slot, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "1000-2000,4000-5000,");
	/* Touching both: one range. */
	KUNIT_EXPECT_EQ(test, contig_remote_add_test(&slot, 0x2000, 0x4000), 0);
	contig_remote_str(&slot, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "1000-5000,");
	KUNIT_EXPECT_EQ(test, slot.nr_remote, 1U);
	/* Inside: unchanged; touching one side only, and from 0. */
	KUNIT_EXPECT_EQ(test, contig_remote_add_test(&slot, 0x2000, 0x3000), 0);
	KUNIT_EXPECT_EQ(test, contig_remote_add_test(&slot, 0x5000, 0x6000), 0);
	KUNIT_EXPECT_EQ(test, contig_remote_add_test(&slot, 0, 0x800), 0);
	contig_remote_str(&slot, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "0-800,1000-6000,");
	/* Cut in the middle with the spare, then trimmed at both ends. */
	KUNIT_EXPECT_EQ(test, contig_remote_del_test(&slot, 0x2000, 0x3000,
						     &used), 0);
	KUNIT_EXPECT_TRUE(test, used);
	contig_remote_str(&slot, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "0-800,1000-2000,3000-6000,");
	KUNIT_EXPECT_EQ(test, contig_remote_del_test(&slot, 0x1800, 0x3800,
						     &used), 0);
	KUNIT_EXPECT_FALSE(test, used);
	contig_remote_str(&slot, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "0-800,1000-1800,3800-6000,");
	/* Nothing there: nothing changes; several at once; an exact one. */
	KUNIT_EXPECT_EQ(test, contig_remote_del_test(&slot, 0x2000, 0x3000,
						     &used), 0);
	KUNIT_EXPECT_EQ(test, slot.nr_remote, 3U);
	KUNIT_EXPECT_EQ(test, contig_remote_del_test(&slot, 0, 0x2000, &used),
			0);
	KUNIT_EXPECT_EQ(test, contig_remote_del_test(&slot, 0x3800, 0x6000,
						     &used), 0);
	KUNIT_EXPECT_EQ(test, slot.nr_remote, 0U);
	/* A cut past the limit: refused, nothing changed. */
	KUNIT_EXPECT_EQ(test, contig_remote_add_test(&slot, 0x1000, 0x9000), 0);
	slot.nr_remote = CONTIG_MAX_REMOTE;
	KUNIT_EXPECT_EQ(test, contig_remote_del_test(&slot, 0x2000, 0x3000,
						     &used), -ENOSPC);
	KUNIT_EXPECT_EQ(test, contig_remote_add_test(&slot, 0x10000, 0x11000),
			-ENOSPC);
	contig_remote_str(&slot, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "1000-9000,");
	contig_remote_free_all(&slot);
	KUNIT_EXPECT_EQ(test, slot.nr_remote, 0U);
	KUNIT_EXPECT_NULL(test, interval_tree_iter_first(&slot.remote, 0,
							 ULONG_MAX));
}

static struct kunit_case mem_defrag_test_cases[] = {
	KUNIT_CASE(contig_stats_test_empty),
	KUNIT_CASE(contig_stats_test_one_run),
	KUNIT_CASE(contig_stats_test_pfn_break),
	KUNIT_CASE(contig_stats_test_vpn_hole),
	KUNIT_CASE(contig_stats_test_huge),
	KUNIT_CASE(contig_stats_test_lengths),
	KUNIT_CASE(contig_stats_test_in_place),
	KUNIT_CASE(contig_r99_test),
	KUNIT_CASE(contig_target_test),
	KUNIT_CASE(contig_target_segments_test),
	KUNIT_CASE(contig_first_candidate_test),
	KUNIT_CASE(contig_cut_test),
	KUNIT_CASE(contig_segs_inherit_test),
	KUNIT_CASE(contig_remote_test),
	{},
};

static struct kunit_suite mem_defrag_test_suite = {
	.name = "mem_defrag",
	.test_cases = mem_defrag_test_cases,
};

kunit_test_suite(mem_defrag_test_suite);

#endif /* _MEM_DEFRAG_KUNIT_H */
