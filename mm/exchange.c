// SPDX-License-Identifier: GPL-2.0
/*
 * Exchange of two in-use folios.
 *
 * exchange_folios() swaps the contents *and* the identities of two folios of
 * the same order: afterwards every mapping of the first maps the frame that
 * held the second, and the other way round. Unlike two migrations it needs
 * no free page. kcontigd (mm/mem_defrag.c) uses it to move a page onto a
 * frame that holds someone else's movable page.
 *
 * An exchange, with both folios isolated from the LRU and locked:
 *
 *  1. unmap both with try_to_migrate(): every pte or pmd that mapped them
 *     becomes a migration entry pointing to the folio's own frame;
 *  2. freeze both reference counts at their expected values, so that no
 *     page-cache or swap-cache lookup sees the data half swapped, and swap
 *     the data through a per-CPU bounce page, with machine-check safe
 *     reads (or in place, to measure);
 *  3. swap the page-cache / swap-cache slots, ->mapping, ->index,
 *     ->private, the content flags, the memcg and the NUMA hint, move the
 *     node and zone counters of contents that change node, unfreeze;
 *  4. put both back on the LRU and turn the migration entries of each
 *     frame's old contents into ptes of the frame that holds them now
 *     (remove_migration_ptes() walks with the pgoff of the new holder).
 *
 * A failure to freeze, or a memory error while the data is swapped,
 * restores the original ptes; once the data is swapped nothing can fail.
 *
 * Lock ordering:
 *
 *   folio lock of the lower PFN, then of the higher (exchange_pages())
 *     anon_vma->rwsem / mapping->i_mmap_rwsem (rmap walks)
 *       page table locks
 *     mapping->i_pages xa_lock: one at a time, never two nested
 *     lruvec->lru_lock (isolation and putback)
 */

#define pr_fmt(fmt) "exchange: " fmt

#include <linux/backing-dev.h>
#include <linux/debugfs.h>
#include <linux/error-injection.h>
#include <linux/exchange.h>
#include <linux/fault-inject.h>
#include <linux/highmem.h>
#include <linux/huge_mm.h>
#include <linux/hugetlb.h>
#include <linux/ksm.h>
#include <linux/memcontrol.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mm_inline.h>
#include <linux/pagemap.h>
#include <linux/pagewalk.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/swap.h>
#include <linux/uaccess.h>

#define CREATE_TRACE_POINTS
#include <kunit/static_stub.h>
#include <trace/events/exchange.h>

#include "internal.h"
#include "swap.h"

/* Attempts at freezing both reference counts before giving up (-EAGAIN). */
#define EXCHANGE_FREEZE_TRIES	3

/*
 * Swap the data through a per-CPU bounce page, reading every frame with a
 * machine-check safe copy (the default); or, with debugfs exchange_bounce
 * set to 0, word by word in place, where a memory error is fatal (to
 * measure the difference).
 */
static bool exchange_use_bounce __read_mostly = true;
static DEFINE_PER_CPU(void *, exchange_bounce_page);

/*
 * debugfs fail_exchange_copy (Documentation/fault-injection/): make a
 * machine-check safe copy of the swap report an error half way through,
 * as a poisoned source line would, to test that the swap is undone.
 */
#ifdef CONFIG_FAULT_INJECTION
static DECLARE_FAULT_ATTR(fail_exchange_copy);
#endif

/* copy_mc_to_kernel() of one page: 0, or the number of bytes not copied. */
static unsigned long exchange_copy_mc(void *dst, void *src)
{
#ifdef CONFIG_FAULT_INJECTION
	if (should_fail(&fail_exchange_copy, PAGE_SIZE)) {
		memcpy(dst, src, PAGE_SIZE / 2);
		return PAGE_SIZE / 2;
	}
#endif
	return copy_mc_to_kernel(dst, src, PAGE_SIZE);
}

/*
 * Content flags: they travel with the data, the others stay with the frame.
 * PG_arch_1 is frame state (arm64's PG_dcache_clean, half of x86's PAT
 * memtype): it stays, and is cleared on both frames once their data has
 * changed (exchange_flush_frames()).
 */
static const unsigned int exchange_content_flags[] = {
	PG_referenced, PG_uptodate, PG_dirty, PG_active, PG_workingset,
	PG_owner_priv_1, PG_owner_2, PG_private, PG_private_2,
	PG_reclaim, PG_swapbacked, PG_unevictable,
#ifdef CONFIG_MMU
	PG_mlocked,
#endif
};

/* Where a folio's contents live in an xarray, and what it was before. */
struct exchange_ident {
	struct address_space *mapping;	/* ->mapping (anon_vma for anon) */
	pgoff_t index;
	void *private;			/* swap entry for swap cache */
	struct address_space *space;	/* page cache or swap cache, or NULL */
	pgoff_t slot;			/* index in @space */
	long entries;			/* slots in @space to rewrite */
	struct mem_cgroup *memcg;
	bool file_lru;			/* NR_ISOLATED_* kind when isolated */
	bool mapped;			/* had ptes: migration entries now */
	bool mlocked;
	bool deferred_split;
	bool partially_mapped;
	struct anon_vma *anon_vma;	/* reference held while unmapped */
};

static void exchange_get_ident(struct folio *folio, struct exchange_ident *id)
{
	id->mapping = folio->mapping;
	id->index = folio->index;
	id->private = folio->private;
	id->space = NULL;
	id->entries = 0;
	if (folio_test_swapcache(folio)) {
		id->space = swap_address_space(folio->swap);
		id->slot = swap_cache_index(folio->swap);
		id->entries = folio_nr_pages(folio);
	} else if (!folio_test_anon(folio) && folio->mapping) {
		id->space = folio->mapping;
		id->slot = folio->index;
		id->entries = 1;	/* one multi-index entry if large */
	}
	id->memcg = folio_memcg(folio);
}

/*
 * Are @a and @b of the same kind: both anon, or both file with the same
 * swap-backedness (shmem/tmpfs with shmem/tmpfs)? Zap, fork, mprotect and
 * THP split decode a migration entry into the folio of its frame and
 * decide from that folio's *current* kind which rss counter to change and
 * whether a page table was deposited. Between the identity swap and the
 * end of the remap a frame holds the other contents while some entries
 * still point at it: only same-kind exchanges make that harmless, as
 * migration, where anon folios stay anon until freed.
 */
static bool exchange_same_kind(struct folio *a, struct folio *b)
{
	if (folio_test_anon(a) != folio_test_anon(b))
		return false;
	return folio_test_anon(a) ||
	       folio_test_swapbacked(a) == folio_test_swapbacked(b);
}

/*
 * arm64 MTE tags are stored with the frame and exchange does not swap
 * them (migration copies them): PROT_MTE memory is refused.
 */
static bool exchange_mte_tagged(struct folio *folio)
{
#ifdef CONFIG_ARM64_MTE
	long i, nr = folio_nr_pages(folio);

	for (i = 0; i < nr; i++)
		if (page_mte_tagged(folio_page(folio, i)))
			return true;
#endif
	return false;
}

/*
 * Can a PMD mapping become a migration entry? Not without
 * ARCH_ENABLE_THP_MIGRATION (s390, mips64, sparc64): try_to_migrate()
 * BUGs on a PMD-mapped folio there. A function of its own so that the
 * KUnit suite can answer no on an architecture that says yes.
 */
static bool exchange_thp_migration_supported(void)
{
	KUNIT_STATIC_STUB_REDIRECT(exchange_thp_migration_supported);
	return thp_migration_supported();
}

/*
 * Cheap checks, valid before and after taking the folio locks. Writeback
 * is waited for only in MIGRATE_SYNC, and never here (see
 * exchange_lock_pair()).
 */
static int exchange_refuse(struct folio *a, struct folio *b,
			   enum migrate_mode mode)
{
	struct folio *f[2] = { a, b };
	int i;

	if (a == b || folio_order(a) != folio_order(b))
		return -EINVAL;
	for (i = 0; i < 2; i++) {
		if (folio_test_hugetlb(f[i]) || folio_test_ksm(f[i]) ||
		    folio_is_zone_device(f[i]) || __folio_test_movable(f[i]) ||
		    folio_contain_hwpoisoned_page(f[i]) ||
		    exchange_mte_tagged(f[i]))
			return -EOPNOTSUPP;
		/* A PMD mapping becomes a migration entry only if supported. */
		if (folio_test_pmd_mappable(f[i]) &&
		    !exchange_thp_migration_supported())
			return -EOPNOTSUPP;
		if (folio_maybe_dma_pinned(f[i]))
			return -EBUSY;
		if (folio_test_unevictable(f[i]) &&
		    !READ_ONCE(sysctl_compact_unevictable_allowed))
			return -EPERM;
		if (folio_test_writeback(f[i]) && mode != MIGRATE_SYNC)
			return -EINPROGRESS;
	}
	if (!exchange_same_kind(a, b))
		return -EOPNOTSUPP;
	return 0;
}

/* Checks that need the folio lock: contents that are still there. */
static int exchange_check_locked(struct folio *folio)
{
	if (folio_test_anon(folio)) {
		/* Neither mapped nor in swap cache: being freed. */
		if (!folio_mapped(folio) && !folio_test_swapcache(folio))
			return -EAGAIN;
		return 0;
	}
	if (!folio->mapping)
		return -EAGAIN;		/* truncated */
	/* fs-private data (buffer heads...) is not ours to move. */
	if (folio_test_private(folio) || folio_test_private_2(folio))
		return -EOPNOTSUPP;
	if (folio->mapping->a_ops->migrate_folio != migrate_folio &&
	    folio->mapping->a_ops->migrate_folio != filemap_migrate_folio)
		return -EOPNOTSUPP;
	return 0;
}

/* Replace every pte of @folio by a migration entry; false if it stays mapped. */
static bool exchange_unmap(struct folio *folio, struct exchange_ident *id)
{
	id->mlocked = folio_test_mlocked(folio);
	id->mapped = false;
	id->anon_vma = NULL;
	if (folio_test_anon(folio) && folio_mapped(folio)) {
		id->anon_vma = folio_get_anon_vma(folio);
		if (!id->anon_vma)
			return false;
	}
	if (folio_mapped(folio)) {
		try_to_migrate(folio, TTU_BATCH_FLUSH);
		id->mapped = true;
	}
	return true;
}

/*
 * Swap the data of two pages. Through the bounce page each frame is read
 * with copy_mc_to_kernel() before it is written: an uncorrected memory
 * error leaves both pages as they were and gives -EHWPOISON, as
 * folio_mc_copy() does for migration (the machine-check handler then
 * deals with the poisoned frame).
 */
static int exchange_page_data(struct page *pa, struct page *pb)
{
	unsigned long *a = kmap_local_page(pa);
	unsigned long *b = kmap_local_page(pb);
	int rc = 0;

	if (READ_ONCE(exchange_use_bounce)) {
		void *bounce = *get_cpu_ptr(&exchange_bounce_page);

		if (exchange_copy_mc(bounce, a)) {
			rc = -EHWPOISON;
		} else if (exchange_copy_mc(a, b)) {
			memcpy(a, bounce, PAGE_SIZE);	/* partly written */
			rc = -EHWPOISON;
		} else {
			memcpy(b, bounce, PAGE_SIZE);
		}
		put_cpu_ptr(&exchange_bounce_page);
	} else {
		unsigned int i;

		for (i = 0; i < PAGE_SIZE / sizeof(*a); i++)
			swap(a[i], b[i]);
	}
	kunmap_local(b);
	kunmap_local(a);
	return rc;
}

/*
 * Swap the data of two unmapped folios with frozen reference counts: 0, or
 * -EHWPOISON with the data as it was. The pages swapped before the error
 * are swapped back; they were read without error a moment ago.
 */
static int exchange_data(struct folio *a, struct folio *b)
{
	long i, nr = folio_nr_pages(a);

	for (i = 0; i < nr; i++)
		if (exchange_page_data(folio_page(a, i), folio_page(b, i)))
			break;
	if (i == nr)
		return 0;
	while (i--)
		exchange_page_data(folio_page(a, i), folio_page(b, i));
	return -EHWPOISON;
}

/* Point the slots of the contents described by @id at @folio. */
static void exchange_store_slots(struct exchange_ident *id,
				 struct folio *old, struct folio *folio)
{
	XA_STATE(xas, &id->space->i_pages, id->slot);
	long i;

	xas_lock_irq(&xas);
	for (i = 0; i < id->entries; i++) {
		VM_WARN_ON_ONCE_FOLIO(xas_load(&xas) != old, old);
		xas_store(&xas, folio);
		xas_next(&xas);
	}
	xas_unlock_irq(&xas);
}

/*
 * The contents described by @id moved from frame @from to frame @to: move
 * the per-node and per-zone counters that describe page cache and swap
 * cache contents (the mapped and LRU counters follow by themselves).
 */
static void exchange_move_stats(struct exchange_ident *id, struct folio *from,
				struct folio *to, bool dirty, bool swapbacked,
				bool swapcache)
{
	struct zone *oldzone = folio_zone(from), *newzone = folio_zone(to);
	long nr = folio_nr_pages(from);
	struct lruvec *old_lruvec, *new_lruvec;
	unsigned long flags;

	if (!id->space || oldzone == newzone)
		return;

	local_irq_save(flags);
	old_lruvec = mem_cgroup_lruvec(id->memcg, oldzone->zone_pgdat);
	new_lruvec = mem_cgroup_lruvec(id->memcg, newzone->zone_pgdat);
	__mod_lruvec_state(old_lruvec, NR_FILE_PAGES, -nr);
	__mod_lruvec_state(new_lruvec, NR_FILE_PAGES, nr);
	if (swapbacked && !swapcache) {
		__mod_lruvec_state(old_lruvec, NR_SHMEM, -nr);
		__mod_lruvec_state(new_lruvec, NR_SHMEM, nr);
		if (nr >= HPAGE_PMD_NR) {
			__mod_lruvec_state(old_lruvec, NR_SHMEM_THPS, -nr);
			__mod_lruvec_state(new_lruvec, NR_SHMEM_THPS, nr);
		}
	}
#ifdef CONFIG_SWAP
	if (swapcache) {
		__mod_lruvec_state(old_lruvec, NR_SWAPCACHE, -nr);
		__mod_lruvec_state(new_lruvec, NR_SWAPCACHE, nr);
	}
#endif
	if (dirty && !swapcache && mapping_can_writeback(id->mapping)) {
		__mod_lruvec_state(old_lruvec, NR_FILE_DIRTY, -nr);
		__mod_zone_page_state(oldzone, NR_ZONE_WRITE_PENDING, -nr);
		__mod_lruvec_state(new_lruvec, NR_FILE_DIRTY, nr);
		__mod_zone_page_state(newzone, NR_ZONE_WRITE_PENDING, nr);
	}
	local_irq_restore(flags);
}

static void exchange_flags(struct folio *a, struct folio *b)
{
	bool ya = folio_test_young(a), yb = folio_test_young(b);
	bool ia = folio_test_idle(a), ib = folio_test_idle(b);
	int cpupid_a, cpupid_b;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(exchange_content_flags); i++) {
		unsigned int bit = exchange_content_flags[i];
		bool fa = test_bit(bit, &a->flags);

		if (fa == test_bit(bit, &b->flags))
			continue;
		if (fa) {
			clear_bit(bit, &a->flags);
			set_bit(bit, &b->flags);
		} else {
			set_bit(bit, &a->flags);
			clear_bit(bit, &b->flags);
		}
	}

	if (ya != yb) {
		if (yb)
			folio_set_young(a);
		else
			folio_test_clear_young(a);
		if (ya)
			folio_set_young(b);
		else
			folio_test_clear_young(b);
	}
	if (ia != ib) {
		if (ib)
			folio_set_idle(a);
		else
			folio_clear_idle(a);
		if (ia)
			folio_set_idle(b);
		else
			folio_clear_idle(b);
	}

	cpupid_a = folio_last_cpupid(a);
	cpupid_b = folio_last_cpupid(b);
	folio_xchg_last_cpupid(a, cpupid_b);
	folio_xchg_last_cpupid(b, cpupid_a);
}

/*
 * PG_anon_exclusive is per page in a PTE-mapped THP, and try_to_migrate()
 * clears it only on the pages it unmaps: a page that was zapped while
 * exclusive (MADV_DONTNEED of 4 KiB of a THP) keeps it. Such a stale bit
 * stays with the frame and must not describe the new contents, or a later
 * fork and PMD split let a write fault reuse a shared page without a copy.
 * While both folios are frozen, every page of an anon frame loses it: the
 * exclusivity of the mapped pages is in their migration entries, and
 * remove_migration_ptes() sets the bit again from those.
 */
static void exchange_clear_anon_exclusive(struct folio *folio)
{
	long i, nr = folio_nr_pages(folio);

	if (!folio_test_anon(folio))
		return;
	for (i = 0; i < nr; i++)
		ClearPageAnonExclusive(folio_page(folio, i));
}

/*
 * NR_MLOCK is counted in the zone of the frame when PG_mlocked is set, and
 * remove_migration_ptes() does not count it again for a folio that has
 * the bit already. A folio mapped in a VM_LOCKED vma was munlocked by
 * try_to_migrate() (and is mlocked again on its new frame by the remap),
 * so this is for the rest: mlocked contents that change zone while they
 * keep the bit take their count along.
 */
static void exchange_move_mlock(struct folio *from, struct folio *to,
				bool mlocked)
{
	long nr = folio_nr_pages(from);

	if (!mlocked || folio_zone(from) == folio_zone(to))
		return;
	mod_zone_page_state(folio_zone(from), NR_MLOCK, -nr);
	mod_zone_page_state(folio_zone(to), NR_MLOCK, nr);
}

/*
 * Both frames hold new data: what PG_arch_1 said of them (clean D-cache
 * on arm64 and others) is stale, as for the new folio of a migration.
 */
static void exchange_flush_frames(struct folio *a, struct folio *b)
{
	clear_bit(PG_arch_1, &a->flags);
	clear_bit(PG_arch_1, &b->flags);
	flush_dcache_folio(a);
	flush_dcache_folio(b);
}

/*
 * Steps 2 and 3: freeze both counts, so that no page-cache lookup can see
 * the data half swapped, swap the data and make @a the holder of @b's
 * contents and the other way round.
 */
static noinline int exchange_identities(struct folio *a,
					struct exchange_ident *ia,
					struct folio *b,
					struct exchange_ident *ib,
					int extra_refs)
{
	int count_a = folio_expected_ref_count(a) + extra_refs;
	int count_b = folio_expected_ref_count(b) + extra_refs;
	bool dirty_a, dirty_b, sb_a, sb_b, sc_a, sc_b, ml_a, ml_b;

	if (!folio_ref_freeze(a, count_a))
		return -EAGAIN;
	if (!folio_ref_freeze(b, count_b)) {
		folio_ref_unfreeze(a, count_a);
		return -EAGAIN;
	}
	if (exchange_data(a, b)) {
		folio_ref_unfreeze(a, count_a);
		folio_ref_unfreeze(b, count_b);
		return -EHWPOISON;
	}

	/*
	 * Large anon folios: off the deferred split queue while frozen. The
	 * unlocked list_empty() is what migration reads too: the queue lock
	 * is taken by folio_unqueue_deferred_split() itself.
	 */
	ia->deferred_split = false;
	ib->deferred_split = false;
	if (folio_order(a) > 1 && folio_test_anon(a)) {
		/* Unlocked, as migration reads it. */
		ia->deferred_split = !data_race(list_empty(&a->_deferred_list));
		ia->partially_mapped = folio_test_partially_mapped(a);
		folio_unqueue_deferred_split(a);
	}
	if (folio_order(b) > 1 && folio_test_anon(b)) {
		/* Unlocked, as migration reads it. */
		ib->deferred_split = !data_race(list_empty(&b->_deferred_list));
		ib->partially_mapped = folio_test_partially_mapped(b);
		folio_unqueue_deferred_split(b);
	}

	dirty_a = folio_test_dirty(a);
	dirty_b = folio_test_dirty(b);
	sb_a = folio_test_swapbacked(a);
	sb_b = folio_test_swapbacked(b);
	sc_a = folio_test_swapcache(a);
	sc_b = folio_test_swapcache(b);
	ml_a = folio_test_mlocked(a);
	ml_b = folio_test_mlocked(b);

	/* No turning back from here. */
	if (ia->space)
		exchange_store_slots(ia, a, b);
	if (ib->space)
		exchange_store_slots(ib, b, a);

	a->mapping = ib->mapping;
	a->index = ib->index;
	a->private = ib->private;
	b->mapping = ia->mapping;
	b->index = ia->index;
	b->private = ia->private;
	exchange_flags(a, b);
	exchange_clear_anon_exclusive(a);
	exchange_clear_anon_exclusive(b);
	exchange_flush_frames(a, b);
#ifdef CONFIG_MEMCG
	swap(a->memcg_data, b->memcg_data);
#endif
	exchange_move_stats(ia, a, b, dirty_a, sb_a, sc_a);
	exchange_move_stats(ib, b, a, dirty_b, sb_b, sc_b);
	exchange_move_mlock(a, b, ml_a);
	exchange_move_mlock(b, a, ml_b);

	/* Each frame now carries the references of its new contents. */
	folio_ref_unfreeze(a, count_b);
	folio_ref_unfreeze(b, count_a);
	return 0;
}

/* Failing before the freeze (-EAGAIN) undoes an unmapped pair. */
ALLOW_ERROR_INJECTION(exchange_identities, ERRNO);

/*
 * Step 4 for one frame: @folio holds the contents described by @id (its
 * own when the exchange failed); their migration entries point to @old.
 */
static void exchange_remap(struct folio *old, struct folio *folio,
			   struct exchange_ident *id)
{
	if (id->mapped)
		remove_migration_ptes(old, folio, 0);
	if (id->deferred_split)
		deferred_split_folio(folio, id->partially_mapped);
	if (id->anon_vma)
		put_anon_vma(id->anon_vma);
}

/* Undo the caller's isolation: the frame's NR_ISOLATED_* kind is @file. */
static void exchange_release(struct folio *folio, bool file)
{
	folio_unlock(folio);
	mod_node_page_state(folio_pgdat(folio), NR_ISOLATED_ANON + file,
			    -folio_nr_pages(folio));
	folio_put(folio);
}

/* One exchange in flight: the two folios and what they were. */
struct exchange_pair {
	struct folio *a, *b;
	unsigned long pfn_a, pfn_b;
	struct exchange_ident ia, ib;
	bool file_a, file_b;
	int rc;			/* -EAGAIN once unmapping failed */
};

/*
 * First half of an exchange, for two locked, isolated folios: check them
 * and replace their ptes by migration entries, leaving the TLB flush to the
 * caller. Returns 0 when exchange_finish() must follow (with @p->rc set if
 * unmapping failed), or an errno with both put back already.
 */
static int exchange_prepare(struct exchange_pair *p, enum migrate_mode mode)
{
	struct folio *a = p->a, *b = p->b;
	int rc;

	VM_WARN_ON_ONCE_FOLIO(!folio_test_locked(a), a);
	VM_WARN_ON_ONCE_FOLIO(!folio_test_locked(b), b);
	p->file_a = folio_is_file_lru(a);
	p->file_b = folio_is_file_lru(b);
	p->ia = (struct exchange_ident){ };
	p->ib = (struct exchange_ident){ };
	p->rc = 0;

	rc = exchange_refuse(a, b, mode);
	/*
	 * Never wait for writeback here, with both locks held: a flusher
	 * may have one folio under writeback, not yet submitted, and wait
	 * for the other's lock. exchange_lock_pair() waits with none held.
	 */
	if (!rc && (folio_test_writeback(a) || folio_test_writeback(b)))
		rc = -EINPROGRESS;
	if (!rc)
		rc = exchange_check_locked(a);
	if (!rc)
		rc = exchange_check_locked(b);
	if (rc) {
		folio_add_lru(a);
		folio_add_lru(b);
		exchange_release(a, p->file_a);
		exchange_release(b, p->file_b);
		return rc;
	}

	exchange_get_ident(a, &p->ia);
	exchange_get_ident(b, &p->ib);
	if (!exchange_unmap(a, &p->ia) || !exchange_unmap(b, &p->ib)) {
		try_to_unmap_flush();
		p->rc = -EAGAIN;
	}
	return 0;
}

/*
 * Second half, once the TLB flush is done: swap the identities and the
 * data, then map, put back and unlock both. Returns 0 or -EAGAIN.
 */
static int exchange_finish(struct exchange_pair *p, int extra_refs)
{
	struct folio *a = p->a, *b = p->b;
	bool done = false;
	int rc = p->rc, try;

	if (!rc && (folio_mapped(a) || folio_mapped(b)))
		rc = -EAGAIN;
	if (!rc) {
		rc = -EAGAIN;
		for (try = 0; try < EXCHANGE_FREEZE_TRIES; try++) {
			rc = exchange_identities(a, &p->ia, b, &p->ib,
						 extra_refs);
			if (rc != -EAGAIN)
				break;
			cond_resched();
		}
		done = !rc;
	}

	/*
	 * Back on the LRU before the ptes return, so that mlocked folios get
	 * their mlock_count rebuilt by remove_migration_ptes(), as migration
	 * does.
	 */
	folio_add_lru(a);
	folio_add_lru(b);
	if (p->ia.mlocked || p->ib.mlocked)
		lru_add_drain();
	if (done) {
		exchange_remap(b, a, &p->ib);
		exchange_remap(a, b, &p->ia);
	} else {
		exchange_remap(a, a, &p->ia);
		exchange_remap(b, b, &p->ib);
	}
	exchange_release(a, p->file_a);
	exchange_release(b, p->file_b);
	return rc;
}

static int __exchange_folios(struct folio *a, struct folio *b,
			     enum migrate_mode mode, int extra_refs)
{
	struct exchange_pair p = { .a = a, .b = b };
	int rc;

	rc = exchange_prepare(&p, mode);
	if (rc)
		return rc;
	try_to_unmap_flush();
	return exchange_finish(&p, extra_refs);
}

/* Count and trace one exchange's outcome. */
static void exchange_account(unsigned long pfn_a, unsigned long pfn_b,
			     unsigned int order, int rc)
{
	if (rc)
		count_vm_event(PGEXCHANGE_FAIL);
	else if (order)
		count_vm_event(THP_EXCHANGE_SUCCESS);
	else
		count_vm_event(PGEXCHANGE_SUCCESS);
	trace_exchange_pages(pfn_a, pfn_b, order, rc);
}

/**
 * exchange_folios - swap the contents and identities of two folios
 * @a: a folio
 * @b: another folio of the same order
 * @mode: migration mode; folios under writeback are refused in every mode,
 *	as the caller holds both locks and waiting could deadlock
 *
 * @a and @b must be locked, isolated from the LRU with folio_isolate_lru()
 * and counted in NR_ISOLATED_ANON/FILE, as for migrate_pages(); the
 * isolation reference must be the caller's only one. On return, whatever
 * the result, both are back on the LRU, uncounted, unlocked, and the
 * isolation references are dropped.
 *
 * On success every mapping of @a's contents maps @a's old contents' new
 * frame, that is the frame of @b, and the other way round; page cache and
 * swap cache slots, memcg charges and node counters follow the contents.
 *
 * Return: 0 on success, or a negative errno with nothing changed; see
 * include/linux/exchange.h for what each one means.
 */
int exchange_folios(struct folio *a, struct folio *b, enum migrate_mode mode)
{
	unsigned long pfn_a = folio_pfn(a), pfn_b = folio_pfn(b);
	unsigned int order = folio_order(a);
	int rc;

	rc = __exchange_folios(a, b, mode, 1);
	exchange_account(pfn_a, pfn_b, order, rc);
	return rc;
}

/* Take @folio off its LRU list, counted as isolated, as migration does. */
static bool exchange_isolate_lru(struct folio *folio)
{
	if (!folio_isolate_lru(folio))
		return false;
	node_stat_mod_folio(folio, NR_ISOLATED_ANON + folio_is_file_lru(folio),
			    folio_nr_pages(folio));
	return true;
}

/*
 * Isolate @folio from the LRU and count it, as compaction does. Failing
 * it (-EBUSY, nothing done) is one of the error injection points.
 */
static noinline int exchange_isolate(struct folio *folio)
{
	if (exchange_isolate_lru(folio))
		return 0;
	/* It may still sit in a per-CPU batch on its way to the LRU. */
	lru_add_drain_all();
	return exchange_isolate_lru(folio) ? 0 : -EBUSY;
}
ALLOW_ERROR_INJECTION(exchange_isolate, ERRNO);

static void exchange_unisolate(struct folio *folio)
{
	node_stat_mod_folio(folio, NR_ISOLATED_ANON + folio_is_file_lru(folio),
			    -folio_nr_pages(folio));
	folio_putback_lru(folio);
}

/*
 * Lock both folios without deadlock: the lower PFN first; the second only
 * by trylock, waiting for it with the first unlocked when it is busy. In
 * MIGRATE_SYNC, writeback is waited for with neither lock held, then both
 * are taken again (writeback starts only under the folio lock).
 */
static int exchange_lock_pair(struct folio *a, struct folio *b,
			      enum migrate_mode mode)
{
	struct folio *first = folio_pfn(a) < folio_pfn(b) ? a : b;
	struct folio *second = first == a ? b : a;
	int try;

	for (try = 0; try < EXCHANGE_FREEZE_TRIES; try++) {
		if (mode == MIGRATE_ASYNC) {
			if (!folio_trylock(first))
				return -EAGAIN;
		} else {
			folio_lock(first);
		}
		if (!folio_trylock(second)) {
			folio_unlock(first);
			if (mode == MIGRATE_ASYNC)
				return -EAGAIN;
			folio_lock(second);
			folio_unlock(second);
			continue;
		}
		if (mode != MIGRATE_SYNC ||
		    (!folio_test_writeback(a) && !folio_test_writeback(b)))
			return 0;
		folio_unlock(second);
		folio_unlock(first);
		folio_wait_writeback(a);
		folio_wait_writeback(b);
	}
	return -EAGAIN;
}

/*
 * Check @a and @b, isolate both and lock them (in @lock_mode): 0, or an
 * errno with all of it undone.
 */
static int exchange_take_pair(struct folio *a, struct folio *b,
			      enum migrate_mode mode,
			      enum migrate_mode lock_mode)
{
	int rc;

	rc = exchange_refuse(a, b, mode);
	if (rc)
		return rc;
	rc = exchange_isolate(a);
	if (rc)
		return rc;
	rc = exchange_isolate(b);
	if (rc) {
		exchange_unisolate(a);
		return rc;
	}
	rc = exchange_lock_pair(a, b, lock_mode);
	if (rc) {
		exchange_unisolate(a);
		exchange_unisolate(b);
	}
	return rc;
}

/**
 * exchange_pages - exchange the folios of two pages
 * @pa: a page the caller holds a reference on
 * @pb: another page the caller holds a reference on
 * @mode: MIGRATE_ASYNC never sleeps on a folio lock; MIGRATE_SYNC alone
 *	waits for writeback, holding no folio lock meanwhile
 *
 * Isolates both folios, locks them in a deadlock-free order, exchanges
 * them with exchange_folios() and puts them back. The caller's references
 * are left as they were.
 *
 * Return: 0 or a negative errno (see include/linux/exchange.h).
 */
int exchange_pages(struct page *pa, struct page *pb, enum migrate_mode mode)
{
	struct folio *a = page_folio(pa), *b = page_folio(pb);
	unsigned long pfn_a = folio_pfn(a), pfn_b = folio_pfn(b);
	unsigned int order = folio_order(a);
	int rc;

	rc = exchange_take_pair(a, b, mode, mode);
	if (rc)
		goto out;
	/* The caller's references are the second ones to expect. */
	rc = __exchange_folios(a, b, mode, 2);
out:
	exchange_account(pfn_a, pfn_b, order, rc);
	return rc;
}

/*
 * A batch of exchanges whose TLB flushes are done at once: the pairs are
 * prepared one by one (isolated, locked, unmapped) and finished together
 * after one flush, as migrate_pages() does for a batch of migrations.
 */
struct exchange_batch {
	unsigned int nr;
	unsigned int max;
	struct exchange_pair pair[] __counted_by(max);
};

/**
 * exchange_batch_alloc - allocate an empty batch of exchanges
 * @max: the most pairs it will hold
 *
 * Return: the batch, or NULL when out of memory.
 */
struct exchange_batch *exchange_batch_alloc(unsigned int max)
{
	struct exchange_batch *eb;

	eb = kzalloc(struct_size(eb, pair, max), GFP_KERNEL);
	if (eb)
		eb->max = max;
	return eb;
}

/**
 * exchange_batch_free - free a batch from exchange_batch_alloc()
 * @eb: the batch, empty (run since its last exchange_batch_add()), or NULL
 */
void exchange_batch_free(struct exchange_batch *eb)
{
	if (eb)
		WARN_ON_ONCE(eb->nr);
	kfree(eb);
}

/**
 * exchange_batch_nr - how many exchanges wait in a batch
 * @eb: the batch
 *
 * Return: the number of pairs added since the batch last ran.
 */
unsigned int exchange_batch_nr(struct exchange_batch *eb)
{
	return eb->nr;
}

/**
 * exchange_batch_holds - is a frame part of a pair waiting in a batch?
 * @eb: the batch
 * @pfn: a frame
 *
 * The folios of the waiting pairs are isolated and locked: anything else
 * done to them must wait until the batch has run.
 *
 * Return: true if @pfn belongs to one of them.
 */
bool exchange_batch_holds(struct exchange_batch *eb, unsigned long pfn)
{
	unsigned int i;

	for (i = 0; i < eb->nr; i++) {
		struct exchange_pair *p = &eb->pair[i];
		unsigned long nr = folio_nr_pages(p->a);

		if ((pfn >= p->pfn_a && pfn < p->pfn_a + nr) ||
		    (pfn >= p->pfn_b && pfn < p->pfn_b + nr))
			return true;
	}
	return false;
}

/**
 * exchange_batch_add - start an exchange, to be finished with the batch
 * @eb: the batch, with room left
 * @pa: a page the caller holds a reference on
 * @pb: another page the caller holds a reference on
 * @mode: as for exchange_pages()
 *
 * Like exchange_pages() up to the TLB flush, which exchange_batch_run()
 * does once for all the pairs. While the batch holds pairs, the folios of
 * a new pair are only trylocked, so that holding several folio locks
 * cannot deadlock: -EAGAIN then says to run the batch and try again.
 *
 * Return: the pair's slot in the batch, and the batch owns the caller's
 * references; or a negative errno (see include/linux/exchange.h) with
 * nothing changed and the references still the caller's.
 */
int exchange_batch_add(struct exchange_batch *eb, struct page *pa,
		       struct page *pb, enum migrate_mode mode)
{
	struct folio *a = page_folio(pa), *b = page_folio(pb);
	struct exchange_pair *p;
	int rc;

	if (WARN_ON_ONCE(eb->nr >= eb->max))
		return -EAGAIN;
	rc = exchange_take_pair(a, b, mode, eb->nr ? MIGRATE_ASYNC : mode);
	if (rc)
		goto out;
	p = &eb->pair[eb->nr];
	p->a = a;
	p->b = b;
	p->pfn_a = folio_pfn(a);
	p->pfn_b = folio_pfn(b);
	/* Waiting for writeback while holding other locks is not for us. */
	rc = exchange_prepare(p, eb->nr ? MIGRATE_ASYNC : mode);
	if (!rc)
		return eb->nr++;
out:
	exchange_account(folio_pfn(a), folio_pfn(b), folio_order(a), rc);
	return rc;
}

/**
 * exchange_batch_run - finish the exchanges of a batch
 * @eb: the batch
 * @rcs: where to store each pair's result, 0 or a negative errno; room
 *	for exchange_batch_nr() entries
 *
 * Flushes the TLBs once, then finishes every pair, and drops the
 * references the batch owned. The batch is empty again on return.
 *
 * Return: the number of pairs exchanged.
 */
unsigned int exchange_batch_run(struct exchange_batch *eb, int *rcs)
{
	unsigned int i, done = 0;

	if (!eb->nr)
		return 0;
	try_to_unmap_flush();
	for (i = 0; i < eb->nr; i++) {
		struct exchange_pair *p = &eb->pair[i];
		unsigned int order = folio_order(p->a);

		rcs[i] = exchange_finish(p, 2);
		exchange_account(p->pfn_a, p->pfn_b, order, rcs[i]);
		done += !rcs[i];
		folio_put(p->a);
		folio_put(p->b);
	}
	eb->nr = 0;
	return done;
}

/*
 * Why alloc_contig_range() must not be asked to free [pfn, pfn + nr), or 0:
 * -EPERM for an unevictable occupant while vm.compact_unevictable_allowed
 * is 0, -EBUSY for part of a large folio. That one it would migrate whole,
 * and split when no frames of its size are free (migrate_pages() does on
 * -ENOMEM): another process's huge page made small for a page of ours.
 * Racy, as compaction's checks are: the occupants are not referenced.
 */
static int exchange_frames_refused(unsigned long pfn, unsigned long nr)
{
	bool unevictable = !READ_ONCE(sysctl_compact_unevictable_allowed);
	unsigned long end = pfn + nr;

	while (pfn < end) {
		struct page *page = pfn_to_online_page(pfn);

		if (page && PageBuddy(page)) {
			pfn += 1UL << min_t(unsigned int,
					    buddy_order_unsafe(page),
					    MAX_PAGE_ORDER);
			continue;
		}
		pfn++;
		if (!page)
			continue;
		/* Raw flag tests: the folio may be freed and reused meanwhile. */
		if (PageCompound(page))
			return -EBUSY;
		if (unevictable && PageLRU(page) &&
		    test_bit(PG_unevictable, &page->flags))
			return -EPERM;
	}
	return 0;
}

/*
 * Make the order-0 pages [head, head + 2^order), each with a reference
 * count of one, into one compound page, as alloc_contig_range() does with
 * __GFP_COMP for a range that is a whole free block.
 */
static void exchange_prep_compound(struct page *head, unsigned int order)
{
	unsigned long i;

	for (i = 1; i < (1UL << order); i++)
		set_page_count(head + i, 0);
	prep_compound_page(head, order);
}

/*
 * Take [pfn, pfn + nr) off the allocator, migrating its occupants away;
 * one compound page when @order > 0. 0 or -EBUSY (also for a large
 * occupant) / -EAGAIN / -EPERM (an mlocked occupant, with
 * vm.compact_unevictable_allowed=0).
 *
 * Not with __GFP_COMP: alloc_contig_range() then insists that the range is
 * exactly the free block it finds, and warns and leaks it when the freed
 * range merged with free neighbours (a target below pageblock order).
 */
static noinline int exchange_take_frames(unsigned long pfn, unsigned long nr,
					 unsigned int order)
{
	gfp_t gfp = GFP_KERNEL | __GFP_NOWARN;
	int rc;

	rc = exchange_frames_refused(pfn, nr);
	if (rc)
		return rc;
	rc = alloc_contig_range(pfn, pfn + nr, MIGRATE_MOVABLE, gfp);
	if (rc == -EBUSY) {
		/* An occupant still in a per-CPU LRU batch looks unmovable. */
		lru_add_drain_all();
		rc = alloc_contig_range(pfn, pfn + nr, MIGRATE_MOVABLE, gfp);
	}
	if (rc)
		return rc == -EINTR ? -EAGAIN : -EBUSY;
	if (order)
		exchange_prep_compound(pfn_to_page(pfn), order);
	return 0;
}

/* A target that cannot be freed (-EBUSY), with nothing taken. */
ALLOW_ERROR_INJECTION(exchange_take_frames, ERRNO);

/* Folios the fallback leaves alone: what migration would refuse or fail. */
static int exchange_migrate_refuse(struct folio *folio)
{
	if (folio_test_hugetlb(folio) || folio_test_ksm(folio) ||
	    folio_is_zone_device(folio) || __folio_test_movable(folio))
		return -EOPNOTSUPP;
	if (folio_maybe_dma_pinned(folio))
		return -EBUSY;
	if (folio_test_unevictable(folio) &&
	    !READ_ONCE(sysctl_compact_unevictable_allowed))
		return -EPERM;
	return 0;
}

/**
 * exchange_migrate_check - would the migration fallback move a folio?
 * @folio: the folio, referenced by the caller
 *
 * Return: 0, or why not, as exchange_fallback_migrate() would refuse it
 * (-EOPNOTSUPP, -EBUSY for a pinned folio, -EPERM for an unevictable one
 * while vm.compact_unevictable_allowed is 0). Racy, as a hint.
 */
int exchange_migrate_check(struct folio *folio)
{
	return exchange_migrate_refuse(folio);
}

/* migrate_pages() callbacks: each source goes to the frame paired with it. */
static struct folio *exchange_move_get(struct folio *src, unsigned long private)
{
	struct exchange_moves *mv = (struct exchange_moves *)private;
	unsigned int i;

	for (i = 0; i < mv->nr; i++) {
		struct exchange_move *m = &mv->move[i];

		if (m->src == src && !m->done &&
		    folio_order(src) == folio_order(m->dst)) {
			m->done = true;
			return m->dst;
		}
	}
	return NULL;
}

static void exchange_move_put(struct folio *dst, unsigned long private)
{
	struct exchange_moves *mv = (struct exchange_moves *)private;
	unsigned int i;

	for (i = 0; i < mv->nr; i++)
		if (mv->move[i].dst == dst)
			mv->move[i].done = false;
}

/**
 * exchange_move_add - queue a folio for migration into a frame the caller owns
 * @mv: the batch, with room left (@mv->nr < @mv->max)
 * @src: a page of the folio to move; the caller's reference is consumed
 * @dst: the first page of the frames to move it into, allocated by the
 *	caller (an order-0 page with a reference count of one, or a compound
 *	page of the folio's order); consumed too
 *
 * Isolates @src's folio and pairs it with @dst; exchange_move_run() moves
 * the whole batch with one migrate_pages() call, so with one TLB flush.
 *
 * Return: the slot in @mv->move, or a negative errno with @dst freed:
 * -EOPNOTSUPP or -EBUSY for a folio migration is not asked to move (see
 * exchange_fallback_migrate()), -EBUSY also when it is not on an LRU list.
 */
int exchange_move_add(struct exchange_moves *mv, struct page *src,
		      struct page *dst)
{
	struct folio *folio = page_folio(src);
	unsigned int order = folio_order(folio);
	struct exchange_move *m;
	int rc;

	rc = exchange_migrate_refuse(folio);
	/*
	 * Isolate only once the target is ours: a large isolated folio would
	 * make the migration inside alloc_contig_range() wait in
	 * too_many_isolated() for it to be put back.
	 */
	if (!rc)
		rc = exchange_isolate(folio);
	/* Isolated, or refused: either way the caller's reference goes. */
	folio_put(folio);
	if (rc || WARN_ON_ONCE(mv->nr >= mv->max)) {
		if (!rc) {
			exchange_unisolate(folio);
			rc = -EBUSY;
		}
		put_page(dst);
		trace_exchange_fallback(page_to_pfn(src), page_to_pfn(dst),
					order, rc);
		return rc;
	}
	if (!mv->nr)
		INIT_LIST_HEAD(&mv->list);
	m = &mv->move[mv->nr];
	m->src = folio;
	m->dst = page_rmappable_folio(dst);
	m->src_pfn = folio_pfn(folio);
	m->dst_pfn = page_to_pfn(dst);
	m->nr = 1UL << order;
	m->done = false;
	list_add_tail(&folio->lru, &mv->list);
	return mv->nr++;
}

/**
 * exchange_move_run - migrate a batch queued by exchange_move_add()
 * @mv: the batch
 * @mode: migration mode
 *
 * Afterwards @mv->move[i].done tells whether the i-th folio now lives in
 * its frame; the folios that did not move are back on the LRU and the
 * frames they did not use are freed. @mv is empty again on return.
 *
 * Return: the number of folios moved.
 */
unsigned int exchange_move_run(struct exchange_moves *mv,
			       enum migrate_mode mode)
{
	unsigned int i, succeeded = 0, moved = 0;

	if (!mv->nr)
		return 0;
	migrate_pages(&mv->list, exchange_move_get, exchange_move_put,
		      (unsigned long)mv, mode, MR_CONTIG, &succeeded);
	if (!list_empty(&mv->list))
		putback_movable_pages(&mv->list);
	for (i = 0; i < mv->nr; i++) {
		struct exchange_move *m = &mv->move[i];

		/* A moved folio is the user's now: not to be looked at. */
		trace_exchange_fallback(m->src_pfn, m->dst_pfn, ilog2(m->nr),
					m->done ? 0 : -EAGAIN);
		if (m->done)
			moved++;
		else
			folio_put(m->dst);
	}
	mv->nr = 0;
	return moved;
}

/*
 * Migrate @src's folio into @dst, frames the caller owns; both references
 * are consumed. 0 or a negative errno, as exchange_move_add().
 */
static int exchange_migrate_to(struct page *src, struct page *dst,
			       enum migrate_mode mode)
{
	DEFINE_FLEX(struct exchange_moves, mv, move, max, 1);
	int rc;

	rc = exchange_move_add(mv, src, dst);
	if (rc >= 0)
		rc = exchange_move_run(mv, mode) ? 0 : -EAGAIN;
	return rc;
}

/**
 * exchange_fallback_migrate - move a folio onto a given frame by migration
 * @src: a page of the folio to move; the caller's reference is consumed
 * @target_pfn: the first frame to move it to, aligned to the folio's size
 * @mode: migration mode for moving the folio in
 *
 * For when exchange_pages() is refused: take the frames at @target_pfn off
 * the allocator with alloc_contig_range(), which first migrates whatever
 * movable folio occupies them elsewhere, then migrate @src's folio into
 * them. Also the way to move a folio onto a frame that is free. The
 * caller's reference is dropped once the folio is isolated, as migration
 * wants no other reference than the isolation's.
 *
 * Return: 0 once @src's contents live at @target_pfn; -EINVAL for a
 * misaligned, invalid or offline target or one @src already occupies;
 * -EOPNOTSUPP for a target in device memory (ZONE_DEVICE) or a source
 * migration refuses; -EBUSY when
 * the target cannot be freed (unmovable or pinned occupant); -EAGAIN when
 * the folio could not be migrated. Nothing is leaked on failure, but the
 * occupant may have been moved already.
 */
int exchange_fallback_migrate(struct page *src, unsigned long target_pfn,
			      enum migrate_mode mode)
{
	struct folio *folio = page_folio(src);
	unsigned int order = folio_order(folio);
	unsigned long nr = 1UL << order, src_pfn = folio_pfn(folio);
	int rc;

	if (!IS_ALIGNED(target_pfn, nr) || !pfn_valid(target_pfn) ||
	    !pfn_valid(target_pfn + nr - 1) ||
	    (target_pfn <= src_pfn && src_pfn < target_pfn + nr))
		rc = -EINVAL;
	else if (!pfn_to_online_page(target_pfn))
		/*
		 * Device memory or offline: not the page allocator's frames.
		 * An aligned folio-sized range lies in one memory section.
		 */
		rc = is_zone_device_page(pfn_to_page(target_pfn)) ?
		     -EOPNOTSUPP : -EINVAL;
	else
		rc = exchange_migrate_refuse(folio);
	if (!rc)
		rc = exchange_take_frames(target_pfn, nr, order);
	if (rc) {
		folio_put(folio);
		trace_exchange_fallback(src_pfn, target_pfn, order, rc);
		return rc;
	}
	return exchange_migrate_to(src, pfn_to_page(target_pfn), mode);
}

/**
 * exchange_migrate_to_node - move an order-0 folio to any frame of a node
 * @src: a page of the folio to move; the caller's reference is consumed
 * @nid: the node to move it to
 * @mode: migration mode
 *
 * For a page whose own frame is held by another: at least on the node its
 * vma belongs on. The frame comes from the page allocator, without
 * reclaim (best effort), as a migration target of move_pages(2) would.
 *
 * Return: 0 once @src's contents live on @nid; -EINVAL for a large folio
 * or one already on @nid, -ENOMEM when @nid has no free frame, or as
 * exchange_move_add() and -EAGAIN when the migration failed.
 */
int exchange_migrate_to_node(struct page *src, int nid, enum migrate_mode mode)
{
	gfp_t gfp = (GFP_HIGHUSER_MOVABLE & ~__GFP_RECLAIM) | __GFP_THISNODE |
		    __GFP_NOWARN;
	struct folio *folio = page_folio(src);
	struct page *dst;

	if (folio_test_large(folio) || folio_nid(folio) == nid) {
		folio_put(folio);
		return -EINVAL;
	}
	dst = alloc_pages_node(nid, gfp, 0);
	if (!dst) {
		folio_put(folio);
		return -ENOMEM;
	}
	return exchange_migrate_to(src, dst, mode);
}

/*
 * Evacuation: the occupants of frames the caller wants (order-0 folios on
 * an LRU list that exchange cannot swap with the page meant for their
 * frame) are isolated into one list and migrated away with one
 * migrate_pages() call, to free frames on their node that the caller's
 * @keep_off does not refuse, as compaction migrates into the frames its
 * free scanner found. No pageblock is isolated, and the per-CPU lists are
 * drained once per batch, not once per frame as alloc_contig_range() does.
 */

/* Frames allocated for one frame of the pool before giving up. */
#define EXCHANGE_EVAC_TRIES	8

/**
 * exchange_evac_init - start an empty evacuation batch
 * @ev: the batch
 * @max: the most occupants it takes
 * @keep_off: frames the occupants must not go to (those of anchors, say)
 */
void exchange_evac_init(struct exchange_evac *ev, unsigned int max,
			bool (*keep_off)(unsigned long pfn))
{
	INIT_LIST_HEAD(&ev->list);
	INIT_LIST_HEAD(&ev->frames);
	INIT_LIST_HEAD(&ev->refused);
	ev->keep_off = keep_off;
	ev->zone = NULL;
	ev->nr = 0;
	ev->max = max;
}

/**
 * exchange_evac_add - isolate the occupant of a frame for evacuation
 * @ev: the batch
 * @pfn: the frame
 * @like: a folio (referenced by the caller) that would be exchanged onto
 *	@pfn, or NULL: an occupant exchange would swap with @like, or a
 *	page of @like's file, is left where it is
 *
 * Return: 0 when the occupant is queued; -ENOENT when the frame holds no
 * folio (free, maybe in a per-CPU list); -EEXIST when exchange can swap
 * it with @like; -EXDEV when it lies in another zone than the batch's;
 * -ENOSPC when the batch is full; or as exchange_move_add() (-EBUSY also
 * for part of a large folio and for a folio not on an LRU list).
 */
int exchange_evac_add(struct exchange_evac *ev, unsigned long pfn,
		      struct folio *like)
{
	struct page *page = pfn_to_online_page(pfn);
	struct folio *folio;
	int rc = 0;

	if (!page || is_zone_device_page(page))
		return -EOPNOTSUPP;
	if (ev->nr >= ev->max)
		return -ENOSPC;
	if (ev->zone && page_zone(page) != ev->zone)
		return -EXDEV;
	if (PageBuddy(page))
		return -ENOENT;
	/* A tail page has no references of its own: part of a large folio. */
	if (!get_page_unless_zero(page))
		return PageTail(page) ? -EBUSY : -ENOENT;
	folio = page_folio(page);
	/*
	 * A large occupant would be migrated whole, and split when no frames
	 * of its size are free (see exchange_frames_refused()).
	 */
	if (folio_test_large(folio) || !folio_test_lru(folio))
		rc = -EBUSY;
	else if (like && (folio->mapping == like->mapping ||
			  (exchange_same_kind(like, folio) &&
			   !folio_test_private(folio) &&
			   !folio_test_private_2(folio))))
		/* Exchanged, or a page of the same file: one of the caller's. */
		rc = -EEXIST;
	else
		rc = exchange_migrate_refuse(folio);
	if (!rc && !exchange_isolate_lru(folio))
		rc = -EBUSY;
	/* Isolated (the isolation has its own reference), or left alone. */
	folio_put(folio);
	if (rc)
		return rc;
	list_add_tail(&folio->lru, &ev->list);
	ev->zone = page_zone(page);
	ev->nr++;
	return 0;
}

/*
 * A free frame of the batch's node and zones, outside what @ev->keep_off
 * refuses, or NULL. As alloc_migration_target() (the same zones), but with
 * one light reclaim attempt at most (__GFP_NORETRY), as kcontigd is best
 * effort, and none at all with @reclaim false: not while migrate_pages()
 * holds folios locked and unmapped. Refused frames are held on
 * @ev->refused until the batch is done, so they are not handed out again.
 */
static struct folio *exchange_evac_alloc(struct exchange_evac *ev,
					 bool reclaim)
{
	gfp_t gfp = GFP_USER | __GFP_MOVABLE | __GFP_THISNODE |
		    __GFP_NORETRY | __GFP_NOWARN;
	int zidx = zone_idx(ev->zone), i;
	struct folio *dst;

	if (!reclaim)
		gfp &= ~__GFP_DIRECT_RECLAIM;
	if (is_highmem_idx(zidx) || zidx == ZONE_MOVABLE)
		gfp |= __GFP_HIGHMEM;
	for (i = 0; i < EXCHANGE_EVAC_TRIES; i++) {
		dst = __folio_alloc_node(gfp, 0, zone_to_nid(ev->zone));
		if (!dst || !ev->keep_off(folio_pfn(dst)))
			return dst;
		list_add(&dst->lru, &ev->refused);
	}
	return NULL;
}

/*
 * migrate_pages() callback: a frame of the pool; a new one only when a
 * retry used the pool up (a failed attempt frees its frame).
 */
static struct folio *exchange_evac_get(struct folio *src,
				       unsigned long private)
{
	struct exchange_evac *ev = (struct exchange_evac *)private;
	struct folio *dst;

	dst = list_first_entry_or_null(&ev->frames, struct folio, lru);
	if (!dst)
		return exchange_evac_alloc(ev, false);
	list_del(&dst->lru);
	return dst;
}

static void exchange_evac_free(struct list_head *folios)
{
	struct folio *folio, *next;

	list_for_each_entry_safe(folio, next, folios, lru) {
		list_del(&folio->lru);
		folio_put(folio);
	}
}

/**
 * exchange_evac_run - migrate the occupants queued by exchange_evac_add()
 * @ev: the batch
 * @mode: migration mode
 *
 * The frames the occupants go to are taken first, as compaction's free
 * scanner gathers its frames before it migrates: occupants that get none
 * stay where they are, and one without a frame does not end the batch.
 * The occupants that did not move are put back. The frames left behind
 * are given back to the buddy lists (the per-CPU lists of the batch's
 * zone are drained once, on every CPU: kcontigd may have changed CPU
 * while it migrated), where the caller can take them; others may take
 * them first. @ev is empty again on return.
 *
 * Return: the number of occupants moved away.
 */
unsigned int exchange_evac_run(struct exchange_evac *ev,
			       enum migrate_mode mode)
{
	unsigned int succeeded = 0, frames = 0, queued;
	struct folio *folio, *next;
	LIST_HEAD(stay);

	if (!ev->nr)
		return 0;
	while (frames < ev->nr && (folio = exchange_evac_alloc(ev, true))) {
		list_add(&folio->lru, &ev->frames);
		frames++;
	}
	/* No frame for the last ones: they stay. */
	queued = ev->nr;
	list_for_each_entry_safe_reverse(folio, next, &ev->list, lru) {
		if (queued <= frames)
			break;
		list_move(&folio->lru, &stay);
		queued--;
	}
	if (!list_empty(&stay))
		putback_movable_pages(&stay);
	if (frames)
		migrate_pages(&ev->list, exchange_evac_get, NULL,
			      (unsigned long)ev, mode, MR_CONTIG, &succeeded);
	if (!list_empty(&ev->list))
		putback_movable_pages(&ev->list);
	exchange_evac_free(&ev->frames);
	exchange_evac_free(&ev->refused);
	drain_all_pages(ev->zone);
	trace_exchange_evacuate(zone_to_nid(ev->zone), ev->nr, succeeded);
	ev->zone = NULL;
	ev->nr = 0;
	return succeeded;
}

#ifdef CONFIG_DEBUG_FS
/* Reference the page mapped at @addr in @mm; -ENOENT if there is none. */
static int exchange_get_user_page(struct mm_struct *mm, unsigned long addr,
				  struct page **pagep)
{
	struct vm_area_struct *vma;
	struct folio_walk fw;
	struct folio *folio;
	int rc = -ENOENT;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = vma_lookup(mm, addr);
	if (vma) {
		folio = folio_walk_start(&fw, vma, addr, 0);
		if (folio) {
			folio_get(folio);
			*pagep = fw.page;
			folio_walk_end(&fw, vma);
			rc = 0;
		}
	}
	mmap_read_unlock(mm);
	return rc;
}

/* The mm of process @pid, or an ERR_PTR. */
static struct mm_struct *exchange_get_mm(int pid)
{
	struct task_struct *task;
	struct mm_struct *mm;

	task = find_get_task_by_vpid(pid);
	if (!task)
		return ERR_PTR(-ESRCH);
	mm = get_task_mm(task);
	put_task_struct(task);
	return mm ? mm : ERR_PTR(-EINVAL);
}

/*
 * Write "PID ADDR1 ADDR2 [pid2=PID2] [fallback] [async]": exchange the
 * pages mapped at ADDR1 in PID and at ADDR2 in PID2 (default: PID), or
 * with "fallback" move ADDR1's page onto the frame of ADDR2's page by
 * migration. The write returns the exchange's errno.
 */
static int exchange_debugfs_run(char *cmd)
{
	enum migrate_mode mode = MIGRATE_SYNC;
	struct mm_struct *mm[2] = { };
	struct page *page[2] = { };
	unsigned long addr[2], target_pfn;
	bool fallback = false;
	int pid[2], i, rc;
	char *tok;

	tok = strsep(&cmd, " \t");
	if (!tok || kstrtoint(tok, 10, &pid[0]) || pid[0] <= 0)
		return -EINVAL;
	pid[1] = pid[0];
	for (i = 0; i < 2; i++) {
		tok = strsep(&cmd, " \t");
		if (!tok || kstrtoul(tok, 0, &addr[i]))
			return -EINVAL;
	}
	while ((tok = strsep(&cmd, " \t"))) {
		if (!*tok)
			continue;
		if (!strcmp(tok, "fallback"))
			fallback = true;
		else if (!strcmp(tok, "async"))
			mode = MIGRATE_ASYNC;
		else if (strncmp(tok, "pid2=", 5) ||
			 kstrtoint(tok + 5, 10, &pid[1]) || pid[1] <= 0)
			return -EINVAL;
	}

	for (i = 0; i < 2; i++) {
		mm[i] = exchange_get_mm(pid[i]);
		if (IS_ERR(mm[i])) {
			rc = PTR_ERR(mm[i]);
			mm[i] = NULL;
			goto out;
		}
		rc = exchange_get_user_page(mm[i], addr[i], &page[i]);
		if (rc)
			goto out;
	}
	if (fallback) {
		/* Only the isolation may hold references: give up ours. */
		target_pfn = ALIGN_DOWN(page_to_pfn(page[1]),
					folio_nr_pages(page_folio(page[0])));
		put_page(page[1]);
		page[1] = NULL;
		rc = exchange_fallback_migrate(page[0], target_pfn, mode);
		page[0] = NULL;
	} else {
		rc = exchange_pages(page[0], page[1], mode);
	}
out:
	for (i = 0; i < 2; i++) {
		if (page[i])
			put_page(page[i]);
		if (mm[i])
			mmput(mm[i]);
	}
	return rc;
}

static ssize_t exchange_debugfs_write(struct file *file,
				      const char __user *ubuf, size_t count,
				      loff_t *ppos)
{
	char buf[128];
	int rc;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	rc = exchange_debugfs_run(strim(buf));
	return rc ? rc : count;
}

static const struct file_operations exchange_debugfs_fops = {
	.owner = THIS_MODULE,
	.write = exchange_debugfs_write,
};
#endif /* CONFIG_DEBUG_FS */

static int __init exchange_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		void *page = (void *)__get_free_page(GFP_KERNEL);

		if (!page)
			return -ENOMEM;
		per_cpu(exchange_bounce_page, cpu) = page;
	}
#ifdef CONFIG_DEBUG_FS
	debugfs_create_file("exchange_pages", 0200, NULL, NULL,
			    &exchange_debugfs_fops);
	debugfs_create_bool("exchange_bounce", 0600, NULL,
			    &exchange_use_bounce);
#endif
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
	fault_create_debugfs_attr("fail_exchange_copy", NULL,
				  &fail_exchange_copy);
#endif
	return 0;
}
late_initcall(exchange_init);

#ifdef CONFIG_MEM_DEFRAG_KUNIT_TEST
#include "tests/exchange-kunit.h"
#endif
