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

static struct kunit_case mem_defrag_test_cases[] = {
	KUNIT_CASE(contig_stats_test_empty),
	KUNIT_CASE(contig_stats_test_one_run),
	KUNIT_CASE(contig_stats_test_pfn_break),
	KUNIT_CASE(contig_stats_test_vpn_hole),
	KUNIT_CASE(contig_stats_test_huge),
	{},
};

static struct kunit_suite mem_defrag_test_suite = {
	.name = "mem_defrag",
	.test_cases = mem_defrag_test_cases,
};
kunit_test_suite(mem_defrag_test_suite);

#endif /* _MEM_DEFRAG_KUNIT_H */
