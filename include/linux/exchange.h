/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exchange of two in-use folios: mm/exchange.c.
 */
#ifndef _LINUX_EXCHANGE_H
#define _LINUX_EXCHANGE_H

#include <linux/migrate_mode.h>
#include <linux/list.h>
#include <linux/mm_types.h>

/*
 * Why an exchange was refused; each has its own errno:
 *
 *   -EINVAL	 the same folio twice, or folios of different orders
 *   -EOPNOTSUPP a kind exchange does not handle: hugetlb, KSM, ZONE_DEVICE,
 *		 non-LRU movable, page cache with fs-private data, arm64
 *		 MTE-tagged memory, PMD-mappable THPs where THP migration is
 *		 not supported (s390, mips64, sparc64); or two folios of
 *		 different kinds: only anon with anon, and page cache with
 *		 page cache of the same swap-backedness (shmem with shmem),
 *		 are exchanged; migration moves the others
 *   -EBUSY	 pinned (folio_maybe_dma_pinned()), or not on an LRU list
 *   -EPERM	 unevictable (mlocked, SHM_LOCK, ramfs) while
 *		 vm.compact_unevictable_allowed is 0; the migration fallback
 *		 also refuses to move such a folio, or one occupying its target
 *   -EINPROGRESS under writeback, in MIGRATE_ASYNC or MIGRATE_SYNC_LIGHT mode,
 *		 or in exchange_folios(), whose caller holds both locks:
 *		 writeback is waited for only in MIGRATE_SYNC, with no folio
 *		 lock held
 *   -EAGAIN	 the folios changed under us (extra references, truncation)
 *		 and kept changing over a few retries
 *   -EHWPOISON	 an uncorrected memory error while the data was swapped;
 *		 both folios keep their data, frames and identities
 *   -ENOENT	 (exchange_pages) nothing mapped at an address
 */

/*
 * A batch of migrations into frames the caller owns (exchange_move_add(),
 * exchange_move_run()): one migrate_pages() call for all of them. Declare
 * with DEFINE_FLEX() or allocate with struct_size(), setting @max.
 */
struct exchange_move {
	struct folio *src;	/* isolated */
	struct folio *dst;	/* the frame it goes to */
	unsigned long src_pfn;	/* where it was */
	unsigned long dst_pfn;	/* where it goes */
	unsigned long nr;	/* its pages */
	bool done;		/* it lives in @dst now */
};

struct exchange_moves {
	struct list_head list;	/* the isolated sources, for migrate_pages() */
	unsigned int nr;
	unsigned int max;
	struct exchange_move move[] __counted_by(max);
};

/*
 * A batch of occupants to migrate away from their frames, to any free
 * frame of their node that @keep_off does not refuse (exchange_evac_*()).
 */
struct exchange_evac {
	struct list_head list;		/* the isolated occupants */
	struct list_head frames;	/* free frames they may go to */
	struct list_head refused;	/* frames allocated but kept off */
	bool (*keep_off)(unsigned long pfn);
	struct zone *zone;		/* of every occupant of the batch */
	unsigned int nr;
	unsigned int max;
};

#ifdef CONFIG_MEM_DEFRAG
void exchange_evac_init(struct exchange_evac *ev, unsigned int max,
			bool (*keep_off)(unsigned long pfn));
int exchange_evac_add(struct exchange_evac *ev, unsigned long pfn,
		      struct folio *like);
unsigned int exchange_evac_run(struct exchange_evac *ev,
			       enum migrate_mode mode);
int exchange_folios(struct folio *a, struct folio *b, enum migrate_mode mode);
int exchange_pages(struct page *a, struct page *b, enum migrate_mode mode);
int exchange_fallback_migrate(struct page *src, unsigned long target_pfn,
			      enum migrate_mode mode);
int exchange_migrate_to_node(struct page *src, int nid, enum migrate_mode mode);
int exchange_migrate_check(struct folio *folio);
int exchange_move_add(struct exchange_moves *mv, struct page *src,
		      struct page *dst);
unsigned int exchange_move_run(struct exchange_moves *mv,
			       enum migrate_mode mode);

struct exchange_batch;
struct exchange_batch *exchange_batch_alloc(unsigned int max);
void exchange_batch_free(struct exchange_batch *eb);
unsigned int exchange_batch_nr(struct exchange_batch *eb);
bool exchange_batch_holds(struct exchange_batch *eb, unsigned long pfn);
int exchange_batch_add(struct exchange_batch *eb, struct page *pa,
		       struct page *pb, enum migrate_mode mode);
unsigned int exchange_batch_run(struct exchange_batch *eb, int *rcs);
#else
static inline int exchange_pages(struct page *a, struct page *b,
				 enum migrate_mode mode)
{
	return -EOPNOTSUPP;
}
#endif

#endif /* _LINUX_EXCHANGE_H */
