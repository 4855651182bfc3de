/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit tests for the refusals of exchange_pages(). Included at the end of
 * mm/exchange.c.
 *
 * Every case is refused by exchange_refuse(), which exchange_pages() runs
 * before it isolates anything, so the folios need not be on an LRU list:
 * they are plain kernel allocations. Each case checks the errno, and that
 * the refusal left the reference counts and the data of both folios as
 * they were, with the folios in either position.
 */
#ifndef _EXCHANGE_KUNIT_H
#define _EXCHANGE_KUNIT_H

#include <kunit/test.h>
#include <linux/string.h>

#define EXCHANGE_TEST_FILL_A	0xa5
#define EXCHANGE_TEST_FILL_B	0x5a

/*
 * A non-LRU movable page that never moves: compaction may find it while
 * a case runs, and is told that it cannot isolate it.
 */
static bool exchange_test_isolate(struct page *page, isolate_mode_t mode)
{
	return false;
}

static int exchange_test_migrate(struct page *dst, struct page *src,
				 enum migrate_mode mode)
{
	return -EAGAIN;
}

static void exchange_test_putback(struct page *page)
{
}

static const struct movable_operations exchange_test_mops = {
	.isolate_page = exchange_test_isolate,
	.migrate_page = exchange_test_migrate,
	.putback_page = exchange_test_putback,
};

/*
 * Deferred action: clear what a case may have set on @data, a folio, so
 * that the page allocator finds nothing wrong with it, and free it.
 */
static void exchange_test_release(void *data)
{
	struct folio *folio = data;

	folio_test_clear_writeback(folio);
	if (__folio_test_movable(folio)) {
		folio_lock(folio);
		__ClearPageMovable(&folio->page);
		folio_unlock(folio);
	}
	folio_put(folio);
}

/* An order-@order folio filled with @fill, freed when the case ends. */
static struct folio *exchange_test_alloc(struct kunit *test,
					 unsigned int order, int fill)
{
	struct folio *folio = folio_alloc(GFP_KERNEL, order);
	int rc;

	KUNIT_ASSERT_NOT_NULL(test, folio);
	/* On failure, this has freed the folio already. */
	rc = kunit_add_action_or_reset(test, exchange_test_release, folio);
	KUNIT_ASSERT_EQ(test, rc, 0);
	memset(folio_address(folio), fill, folio_size(folio));
	return folio;
}

static void exchange_test_expect_intact(struct kunit *test,
					struct folio *folio, int refs, int fill)
{
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), refs);
	KUNIT_EXPECT_NULL(test, memchr_inv(folio_address(folio), fill,
					   folio_size(folio)));
}

/*
 * exchange_pages() of @pa and @pb, and of @pb and @pa, must both fail
 * with @err, leaving the folios' references and their data, @fill_a and
 * @fill_b, as they were.
 */
static void exchange_test_refused(struct kunit *test, struct page *pa,
				  int fill_a, struct page *pb, int fill_b,
				  enum migrate_mode mode, int err)
{
	struct folio *a = page_folio(pa), *b = page_folio(pb);
	int refs_a = folio_ref_count(a), refs_b = folio_ref_count(b);

	KUNIT_EXPECT_EQ(test, exchange_pages(pa, pb, mode), err);
	exchange_test_expect_intact(test, a, refs_a, fill_a);
	exchange_test_expect_intact(test, b, refs_b, fill_b);

	KUNIT_EXPECT_EQ(test, exchange_pages(pb, pa, mode), err);
	exchange_test_expect_intact(test, a, refs_a, fill_a);
	exchange_test_expect_intact(test, b, refs_b, fill_b);
}

/* Non-LRU movable pages belong to their driver: -EOPNOTSUPP. */
static void exchange_test_movable(struct kunit *test)
{
	struct folio *a = exchange_test_alloc(test, 0, EXCHANGE_TEST_FILL_A);
	struct folio *b = exchange_test_alloc(test, 0, EXCHANGE_TEST_FILL_B);

	folio_lock(a);
	__SetPageMovable(&a->page, &exchange_test_mops);
	folio_unlock(a);
	KUNIT_ASSERT_TRUE(test, __folio_test_movable(a));

	exchange_test_refused(test, &a->page, EXCHANGE_TEST_FILL_A,
			      &b->page, EXCHANGE_TEST_FILL_B,
			      MIGRATE_ASYNC, -EOPNOTSUPP);
	exchange_test_refused(test, &a->page, EXCHANGE_TEST_FILL_A,
			      &b->page, EXCHANGE_TEST_FILL_B,
			      MIGRATE_SYNC, -EOPNOTSUPP);
	KUNIT_EXPECT_TRUE(test, __folio_test_movable(a));
}

/* Under writeback in MIGRATE_ASYNC mode: -EINPROGRESS, without waiting. */
static void exchange_test_writeback_async(struct kunit *test)
{
	struct folio *a = exchange_test_alloc(test, 0, EXCHANGE_TEST_FILL_A);
	struct folio *b = exchange_test_alloc(test, 0, EXCHANGE_TEST_FILL_B);

	KUNIT_ASSERT_FALSE(test, folio_test_set_writeback(a));
	exchange_test_refused(test, &a->page, EXCHANGE_TEST_FILL_A,
			      &b->page, EXCHANGE_TEST_FILL_B,
			      MIGRATE_ASYNC, -EINPROGRESS);
	/* Nor in SYNC_LIGHT, as migration: only MIGRATE_SYNC waits. */
	exchange_test_refused(test, &a->page, EXCHANGE_TEST_FILL_A,
			      &b->page, EXCHANGE_TEST_FILL_B,
			      MIGRATE_SYNC_LIGHT, -EINPROGRESS);
	KUNIT_EXPECT_TRUE(test, folio_test_writeback(a));
}

/* Pinned for DMA: -EBUSY, in every mode. */
static void exchange_test_pinned(struct kunit *test)
{
	struct folio *a = exchange_test_alloc(test, 0, EXCHANGE_TEST_FILL_A);
	struct folio *b = exchange_test_alloc(test, 0, EXCHANGE_TEST_FILL_B);

	/* What pin_user_pages() adds to an order-0 folio. */
	folio_ref_add(a, GUP_PIN_COUNTING_BIAS);
	KUNIT_EXPECT_TRUE(test, folio_maybe_dma_pinned(a));
	exchange_test_refused(test, &a->page, EXCHANGE_TEST_FILL_A,
			      &b->page, EXCHANGE_TEST_FILL_B,
			      MIGRATE_ASYNC, -EBUSY);
	exchange_test_refused(test, &a->page, EXCHANGE_TEST_FILL_A,
			      &b->page, EXCHANGE_TEST_FILL_B,
			      MIGRATE_SYNC, -EBUSY);
	folio_ref_sub(a, GUP_PIN_COUNTING_BIAS);
}

/* Folios of different orders: -EINVAL, whichever page of the large one. */
static void exchange_test_unequal_orders(struct kunit *test)
{
	struct folio *a = exchange_test_alloc(test, 0, EXCHANGE_TEST_FILL_A);
	struct folio *b = exchange_test_alloc(test, 1, EXCHANGE_TEST_FILL_B);

	exchange_test_refused(test, &a->page, EXCHANGE_TEST_FILL_A,
			      folio_page(b, 0), EXCHANGE_TEST_FILL_B,
			      MIGRATE_SYNC, -EINVAL);
	exchange_test_refused(test, &a->page, EXCHANGE_TEST_FILL_A,
			      folio_page(b, 1), EXCHANGE_TEST_FILL_B,
			      MIGRATE_ASYNC, -EINVAL);
}

/* A folio with itself, or two pages of one folio: -EINVAL. */
static void exchange_test_same_folio(struct kunit *test)
{
	struct folio *a = exchange_test_alloc(test, 0, EXCHANGE_TEST_FILL_A);
	struct folio *b = exchange_test_alloc(test, 1, EXCHANGE_TEST_FILL_B);

	exchange_test_refused(test, &a->page, EXCHANGE_TEST_FILL_A,
			      &a->page, EXCHANGE_TEST_FILL_A,
			      MIGRATE_SYNC, -EINVAL);
	exchange_test_refused(test, folio_page(b, 0), EXCHANGE_TEST_FILL_B,
			      folio_page(b, 1), EXCHANGE_TEST_FILL_B,
			      MIGRATE_SYNC, -EINVAL);
}

static bool exchange_test_no_thp_migration(void)
{
	return false;
}

/*
 * PMD-sized folios where THP migration is not supported: -EOPNOTSUPP
 * before anything is isolated (try_to_migrate() would BUG on a PMD
 * mapping). x86_64 supports it: the check is told otherwise.
 */
static void exchange_test_no_thp_migration_refused(struct kunit *test)
{
	struct folio *a = exchange_test_alloc(test, HPAGE_PMD_ORDER,
					      EXCHANGE_TEST_FILL_A);
	struct folio *b = exchange_test_alloc(test, HPAGE_PMD_ORDER,
					      EXCHANGE_TEST_FILL_B);

	kunit_activate_static_stub(test, exchange_thp_migration_supported,
				   exchange_test_no_thp_migration);
	exchange_test_refused(test, folio_page(a, 0), EXCHANGE_TEST_FILL_A,
			      folio_page(b, 0), EXCHANGE_TEST_FILL_B,
			      MIGRATE_SYNC, -EOPNOTSUPP);
	exchange_test_refused(test, folio_page(a, 7), EXCHANGE_TEST_FILL_A,
			      folio_page(b, 511), EXCHANGE_TEST_FILL_B,
			      MIGRATE_ASYNC, -EOPNOTSUPP);
	kunit_deactivate_static_stub(test, exchange_thp_migration_supported);
}

/*
 * Frame state stays with the frame: PG_arch_1 (arm64's clean D-cache,
 * half of x86's PAT memtype) is not a content flag, exchange_flags()
 * leaves it where it is and exchange_flush_frames() clears it on both.
 * Content state travels: PG_dirty here.
 */
static void exchange_test_frame_flags(struct kunit *test)
{
	static const unsigned int frame_flags[] = {
		PG_locked, PG_lru, PG_head, PG_reserved, PG_writeback,
		PG_arch_1,
	};
	struct folio *a = exchange_test_alloc(test, 0, EXCHANGE_TEST_FILL_A);
	struct folio *b = exchange_test_alloc(test, 0, EXCHANGE_TEST_FILL_B);
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(exchange_content_flags); i++)
		for (j = 0; j < ARRAY_SIZE(frame_flags); j++)
			KUNIT_EXPECT_NE(test, exchange_content_flags[i],
					frame_flags[j]);

	set_bit(PG_arch_1, &a->flags);
	set_bit(PG_dirty, &a->flags);
	exchange_flags(a, b);
	KUNIT_EXPECT_TRUE(test, test_bit(PG_arch_1, &a->flags));
	KUNIT_EXPECT_FALSE(test, test_bit(PG_arch_1, &b->flags));
	KUNIT_EXPECT_FALSE(test, test_bit(PG_dirty, &a->flags));
	KUNIT_EXPECT_TRUE(test, test_bit(PG_dirty, &b->flags));
	exchange_flush_frames(a, b);
	KUNIT_EXPECT_FALSE(test, test_bit(PG_arch_1, &a->flags));
	KUNIT_EXPECT_FALSE(test, test_bit(PG_arch_1, &b->flags));
	clear_bit(PG_dirty, &b->flags);
}

static struct kunit_case exchange_test_cases[] = {
	KUNIT_CASE(exchange_test_movable),
	KUNIT_CASE(exchange_test_writeback_async),
	KUNIT_CASE(exchange_test_pinned),
	KUNIT_CASE(exchange_test_unequal_orders),
	KUNIT_CASE(exchange_test_same_folio),
	KUNIT_CASE(exchange_test_frame_flags),
	KUNIT_CASE(exchange_test_no_thp_migration_refused),
	{},
};

static struct kunit_suite exchange_test_suite = {
	.name = "exchange",
	.test_cases = exchange_test_cases,
};

kunit_test_suite(exchange_test_suite);

#endif /* _EXCHANGE_KUNIT_H */
