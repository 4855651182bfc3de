// SPDX-License-Identifier: GPL-2.0
/*
 * kcontigd: make user memory physically contiguous on demand.
 *
 * madvise(MADV_CONTIG) sets VM_CONTIG on the advised part of a vma and
 * registers the mm with kcontigd: an mm_slot on kcontigd_mm_head, found by
 * kcontigd_mm_slots_hash, and MMF_VM_CONTIG on the mm. From another
 * process (process_madvise()) it changes no vma: the range goes to the
 * slot's remote ranges, and every vma they overlap counts as advised
 * (contig_vma_advised()). The kcontigd thread visits the registered mms
 * round robin, one full pass at a time (full_scans counts passes), and
 * drops an mm that no longer has an advised vma. It sleeps without a
 * timeout while nothing is registered.
 *
 * Each advised vma gets an anchor (struct contig_anchor): a range of
 * frames, in one zone, congruent with the vma modulo 2 MiB, overlapping no
 * other anchor (contig_anchor_tree, one interval tree for all processes).
 * The defrag loop walks the vma and puts the page at vpn onto
 * anchor_pfn + vpn - anchor_vpn (or onto one of a few sub-anchors when no
 * single range of frames suits the vma): by exchange (mm/exchange.c) when a
 * movable page occupies the frame, by migration when it is free; both in
 * batches that share one TLB flush. See
 * Documentation/admin-guide/mm/kcontigd.rst.
 *
 * Names: mem_defrag is the subsystem (this file, CONFIG_MEM_DEFRAG, the
 * entry points other code calls: mem_defrag_*()), kcontigd the thread and
 * what belongs to it (its sysfs directory, tracepoints, mm slots, the pass
 * over the mms), contig_ the anchors and the walks over a vma. A walk is
 * driven by one struct contig_walk_control, as compaction's by
 * compact_control; exchange.c only exchanges and migrates.
 *
 * Lock ordering:
 *
 *   kcontigd_start_stop_lock (mutex: starting and stopping the thread)
 *   mmap_lock (read in kcontigd and /proc/pid/contig, write in madvise)
 *     folio locks, anon_vma / i_mmap locks (in exchange and migration)
 *     kcontigd_mm_lock (spinlock: the slot hash, the slot list)
 *       kcontigd_mm_slot.lock (spinlock: that mm's anchors, by address,
 *                              and the fields /proc/pid/contig reads)
 *         contig_anchor_lock (spinlock: the pfn ranges of all anchors
 *                             and their sums; never held across a move)
 *
 * mem_defrag_pause_mm() waits, under an mmap read lock at most and with
 * no other lock held, for kcontigd to leave that mm; kcontigd leaves as
 * soon as it sees the pause and never waits for the paused work.
 *
 * Lifetime of an mm_slot: it holds an mm_count reference (mmgrab). Before
 * touching an mm, kcontigd takes an mm_users reference (mmget_not_zero)
 * under kcontigd_mm_lock, so __mem_defrag_exit(), which __mmput() calls
 * once mm_users has dropped to zero, never runs while kcontigd works on
 * that mm. A slot is unlinked under kcontigd_mm_lock by exactly one of:
 * __mem_defrag_exit(), kcontigd finding mm_users already zero, or kcontigd
 * finding no advised vma left. The last happens under the mmap read lock,
 * so it cannot race with madvise(), which registers (and changes the remote
 * ranges) under the write lock.
 *
 * Lifetime of an anchor: it belongs to its mm's slot, keyed there by
 * (vm_start, vm_end), never by a vma pointer. Every visit matches anchors
 * with the mm's advised vmas under the mmap read lock. A vma split,
 * shrunk or merged inherits the targets of the anchors it overlaps, after
 * their ranges were released (so a split moves nothing); anchors whose vma
 * is gone are dropped. Whoever unlinks the slot drops all its anchors.
 */

#define pr_fmt(fmt) "kcontigd: " fmt

#include <linux/debugfs.h>
#include <linux/error-injection.h>
#include <linux/exchange.h>
#include <linux/freezer.h>
#include <linux/hugetlb.h>
#include <linux/interval_tree.h>
#include <linux/kobject.h>
#include <linux/kthread.h>
#include <linux/mem_defrag.h>
#include <linux/memory_hotplug.h>
#include <linux/mempolicy.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/page-isolation.h>
#include <linux/pagewalk.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/sort.h>
#include <linux/sysfs.h>
#include <linux/wait.h>

#include "internal.h"
#include "mm_slot.h"

#define CREATE_TRACE_POINTS
#include <trace/events/kcontigd.h>

#undef EM
#undef EMe
/* The enums count from 0 in list order: the names index by them. */
#define EM(a, b)	b,
#define EMe(a, b)	b
static const char * const contig_state_names[] = { CONTIG_STATES };
static const char * const contig_reason_names[] = { CONTIG_REASONS };
#undef EM
#undef EMe

#define KCONTIGD_MM_SLOTS_HASH_BITS	10

/* Tunables, see Documentation/ABI/testing/sysfs-kernel-mm-kcontigd. */
static bool kcontigd_enabled __read_mostly = true;
static unsigned int kcontigd_scan_sleep_millisecs __read_mostly = 10000;
static unsigned int kcontigd_pages_to_scan __read_mostly = 4096;
static unsigned int kcontigd_max_anchored_percent __read_mostly = 50;
static unsigned int kcontigd_max_anchored_percent_per_user __read_mostly = 25;
/* May a task without CAP_SYS_ADMIN ask? No by default: see the docs. */
static bool kcontigd_unprivileged __read_mostly;

#define KCONTIGD_SLEEP_MS_MAX		(3600U * 1000U)
#define KCONTIGD_PAGES_TO_SCAN_MAX	BIT(20)

struct contig_user;

struct kcontigd_mm_slot {
	struct mm_slot slot;
	spinlock_t lock;		/* the anchors: see the top */
	struct rb_root_cached anchors;	/* contig_anchor.vrange, by address */
	struct contig_user *user;	/* charged; NULL: CAP_SYS_ADMIN */
	unsigned long scan_addr;	/* where kcontigd's next visit starts */
	/* Ranges advised from other processes: see contig_remote_add(). */
	struct rb_root_cached remote;	/* contig_remote.it; the mmap lock */
	unsigned int nr_remote;
};

/*
 * A range process_madvise(MADV_CONTIG) advised from another process,
 * [it.start, it.last]. Disjoint and not adjacent: merged when added.
 */
struct contig_remote {
	struct interval_tree_node it;
};

/* Remote ranges an mm may have: each is a small allocation of its own. */
#define CONTIG_MAX_REMOTE	4096

static struct contig_user *contig_user_get(kuid_t uid);
static void contig_user_put(struct contig_user *user);

static DEFINE_HASHTABLE(kcontigd_mm_slots_hash, KCONTIGD_MM_SLOTS_HASH_BITS);
static LIST_HEAD(kcontigd_mm_head);
static DEFINE_SPINLOCK(kcontigd_mm_lock);
static unsigned int kcontigd_nr_mms;		/* under kcontigd_mm_lock */
static unsigned long kcontigd_full_scans;	/* written by kcontigd only */
static bool kcontigd_wake_pending;		/* a rescan was asked for */

static struct kmem_cache *kcontigd_slot_cache __ro_after_init;
static struct task_struct *kcontigd_thread;
static struct contig_walk_control *kcontigd_cc;	/* the thread's */
static DEFINE_MUTEX(kcontigd_start_stop_lock);
static DECLARE_WAIT_QUEUE_HEAD(kcontigd_wait);

/*
 * Work on an mm that fails on a page kcontigd holds: khugepaged and
 * MADV_COLLAPSE give up on a page they find isolated, locked or with a
 * reference more (MADV_COLLAPSE fails with EAGAIN), MADV_PAGEOUT skips
 * it. That is what a page kcontigd is moving has, and what the folios it
 * moved have until its CPU's LRU batch is drained. So such work pauses
 * kcontigd on its mm: it waits for kcontigd to leave the mm (batches run,
 * LRU batch drained), and kcontigd does not enter or stay in an mm while
 * it is paused. A huge page, or a page the owner wants out, beats a
 * contiguous range. Counted per hash bucket of mms: a collision pauses
 * kcontigd on another mm for a moment, no more.
 */
#define KCONTIGD_PAUSE_HASH_BITS	6
static atomic_t kcontigd_pauses[1 << KCONTIGD_PAUSE_HASH_BITS];
static struct mm_struct *kcontigd_visiting;	/* the mm kcontigd is in */
static DECLARE_WAIT_QUEUE_HEAD(kcontigd_visit_wait);

static atomic_t *kcontigd_pause_count(struct mm_struct *mm)
{
	return &kcontigd_pauses[hash_ptr(mm, KCONTIGD_PAUSE_HASH_BITS)];
}

static bool kcontigd_mm_paused(struct mm_struct *mm)
{
	return atomic_read(kcontigd_pause_count(mm));
}

/**
 * mem_defrag_pause_mm - keep kcontigd off an mm's pages
 * @mm: the mm khugepaged, MADV_COLLAPSE, MADV_PAGEOUT or a debugfs THP
 *      split (split_huge_pages_pid()) is to work on
 *
 * Waits until kcontigd has left @mm (its batches run, nothing of @mm's
 * vmas isolated, locked or referenced by it), and keeps it from walking
 * @mm's vmas until mem_defrag_resume_mm(). May sleep, for the batches
 * kcontigd is running at most (occupants evacuated from targets, then the
 * moves); the caller may hold @mm's mmap lock for read.
 *
 * A page of @mm that occupies the target frame of another mm's vma may
 * still be exchanged or migrated away meanwhile, for an instant and
 * under its folio lock, as compaction may: the paused work then sees a
 * busy page, as it would for compaction's.
 */
void mem_defrag_pause_mm(struct mm_struct *mm)
{
	atomic_inc(kcontigd_pause_count(mm));
	/* Pairs with the smp_mb() of kcontigd_enter_mm(). */
	smp_mb__after_atomic();
	wait_event(kcontigd_visit_wait, READ_ONCE(kcontigd_visiting) != mm);
}

/**
 * mem_defrag_resume_mm - end what mem_defrag_pause_mm() began
 * @mm: the mm it was for
 */
void mem_defrag_resume_mm(struct mm_struct *mm)
{
	atomic_dec(kcontigd_pause_count(mm));
}

/*
 * kcontigd is about to work on @mm, whose mmap lock it holds: may it? Not
 * while it is paused there.
 */
static bool kcontigd_enter_mm(struct mm_struct *mm)
{
	WRITE_ONCE(kcontigd_visiting, mm);
	/* Pairs with the smp_mb__after_atomic() of mem_defrag_pause_mm(). */
	smp_mb();
	return !kcontigd_mm_paused(mm);
}

/* kcontigd holds none of the mm's pages any more. */
static void kcontigd_leave_mm(void)
{
	WRITE_ONCE(kcontigd_visiting, NULL);
	wake_up_all(&kcontigd_visit_wait);
}

/* Should kcontigd let go of @mm: writers waiting, or paused? */
static bool kcontigd_mm_wanted(struct mm_struct *mm)
{
	return mmap_lock_is_contended(mm) || kcontigd_mm_paused(mm);
}

/* Ask kcontigd for a pass now rather than at the end of its sleep. */
static void kcontigd_wake(void)
{
	WRITE_ONCE(kcontigd_wake_pending, true);
	wake_up_interruptible(&kcontigd_wait);
}

static bool kcontigd_has_mms(void)
{
	return !list_empty_careful(&kcontigd_mm_head);
}

/*
 * Register @mm with kcontigd. Called with the mmap write lock held, which
 * excludes kcontigd dropping the slot (it does so under the read lock).
 */
static int kcontigd_register_mm(struct mm_struct *mm)
{
	struct kcontigd_mm_slot *mm_slot;

	mmap_assert_write_locked(mm);
	if (test_bit(MMF_VM_CONTIG, &mm->flags))
		return 0;

	mm_slot = mm_slot_alloc(kcontigd_slot_cache);
	if (!mm_slot)
		return -ENOMEM;
	/* Who asked first is charged for the mm's anchors. */
	if (!capable(CAP_SYS_ADMIN)) {
		mm_slot->user = contig_user_get(current_uid());
		if (!mm_slot->user) {
			mm_slot_free(kcontigd_slot_cache, mm_slot);
			return -ENOMEM;
		}
	}

	spin_lock_init(&mm_slot->lock);
	mm_slot->anchors = RB_ROOT_CACHED;
	mm_slot->remote = RB_ROOT_CACHED;
	mmgrab(mm);
	spin_lock(&kcontigd_mm_lock);
	mm_slot_insert(kcontigd_mm_slots_hash, mm, (&mm_slot->slot));
	list_add_tail(&mm_slot->slot.mm_node, &kcontigd_mm_head);
	WRITE_ONCE(kcontigd_nr_mms, kcontigd_nr_mms + 1);
	set_bit(MMF_VM_CONTIG, &mm->flags);
	spin_unlock(&kcontigd_mm_lock);

	trace_kcontigd_register(mm, true);
	return 0;
}

/* Unlink @mm's slot; returns it for kcontigd_free_slot(), or NULL. */
static struct kcontigd_mm_slot *kcontigd_unlink_mm(struct mm_struct *mm)
{
	struct mm_slot *slot;

	lockdep_assert_held(&kcontigd_mm_lock);
	slot = mm_slot_lookup(kcontigd_mm_slots_hash, mm);
	if (!slot)
		return NULL;

	hash_del(&slot->hash);
	list_del(&slot->mm_node);
	WRITE_ONCE(kcontigd_nr_mms, kcontigd_nr_mms - 1);
	return mm_slot_entry(slot, struct kcontigd_mm_slot, slot);
}

static void contig_drop_anchors(struct kcontigd_mm_slot *mm_slot,
				unsigned long generation);

static void contig_remote_free_all(struct kcontigd_mm_slot *mm_slot);

/* Free an unlinked slot, its anchors and its remote ranges. */
static void kcontigd_free_slot(struct kcontigd_mm_slot *mm_slot)
{
	struct mm_struct *mm = mm_slot->slot.mm;

	contig_drop_anchors(mm_slot, 0);
	contig_remote_free_all(mm_slot);
	contig_user_put(mm_slot->user);
	trace_kcontigd_register(mm, false);
	mm_slot_free(kcontigd_slot_cache, mm_slot);
	mmdrop(mm);
}

/**
 * __mem_defrag_exit - drop an exiting mm from kcontigd
 * @mm: the mm, whose mm_users has dropped to zero
 *
 * Called from __mmput() before exit_mmap(). kcontigd never holds a slot it
 * works on without an mm_users reference, so the slot can go right away.
 */
void __mem_defrag_exit(struct mm_struct *mm)
{
	struct kcontigd_mm_slot *mm_slot;

	spin_lock(&kcontigd_mm_lock);
	mm_slot = kcontigd_unlink_mm(mm);
	spin_unlock(&kcontigd_mm_lock);

	if (mm_slot)
		kcontigd_free_slot(mm_slot);
}

static struct contig_remote *contig_remote_of(struct interval_tree_node *n)
{
	return container_of(n, struct contig_remote, it);
}

/* Memory kcontigd can move: not hugetlb, DAX, PFN, I/O or mixed maps. */
static bool contig_vma_eligible(struct vm_area_struct *vma)
{
	return !(vma->vm_flags & VM_SPECIAL) && !is_vm_hugetlb_page(vma) &&
	       !vma_is_dax(vma);
}

/* The slot of @mm, or NULL; under kcontigd_mm_lock. */
static struct kcontigd_mm_slot *contig_slot_locked(struct mm_struct *mm)
{
	struct mm_slot *slot;

	lockdep_assert_held(&kcontigd_mm_lock);
	slot = mm_slot_lookup(kcontigd_mm_slots_hash, mm);
	return slot ? mm_slot_entry(slot, struct kcontigd_mm_slot, slot) : NULL;
}

/* The slot of @mm, or NULL; the caller holds its mmap write lock. */
static struct kcontigd_mm_slot *contig_slot_of(struct mm_struct *mm)
{
	struct kcontigd_mm_slot *mm_slot;

	spin_lock(&kcontigd_mm_lock);
	mm_slot = contig_slot_locked(mm);
	spin_unlock(&kcontigd_mm_lock);
	return mm_slot;
}

/* Take the remote range @n out of @mm_slot and free it. */
static void contig_remote_drop(struct kcontigd_mm_slot *mm_slot,
			       struct interval_tree_node *n)
{
	interval_tree_remove(n, &mm_slot->remote);
	mm_slot->nr_remote--;
	kfree(contig_remote_of(n));
}

/* Free every remote range of @mm_slot (unlinked, or under the write lock). */
static void contig_remote_free_all(struct kcontigd_mm_slot *mm_slot)
{
	struct interval_tree_node *n;

	while ((n = interval_tree_iter_first(&mm_slot->remote, 0, ULONG_MAX)))
		contig_remote_drop(mm_slot, n);
	mm_slot->nr_remote = 0;		/* none left, whatever it counted */
}

/*
 * Take [start, end) out of @mm_slot's remote ranges, under the mmap write
 * lock. A range that holds it on both sides is cut in two with *@spare,
 * which is then NULL; -ENOSPC when that would make more than
 * CONTIG_MAX_REMOTE ranges (nothing changed then).
 */
static int contig_remote_del(struct kcontigd_mm_slot *mm_slot,
			     unsigned long start, unsigned long end,
			     struct contig_remote **spare)
{
	struct interval_tree_node *n, *next;
	unsigned long last = end - 1;

	n = interval_tree_iter_first(&mm_slot->remote, start, last);
	/* Disjoint ranges: only the first can hold [start, end) inside. */
	if (n && n->start < start && n->last > last &&
	    (!*spare || mm_slot->nr_remote >= CONTIG_MAX_REMOTE))
		return -ENOSPC;
	for (; n; n = next) {
		next = interval_tree_iter_next(n, start, last);
		if (n->start >= start && n->last <= last) {
			contig_remote_drop(mm_slot, n);
			continue;
		}
		interval_tree_remove(n, &mm_slot->remote);
		if (n->start < start && n->last > last) {
			(*spare)->it.start = end;
			(*spare)->it.last = n->last;
			interval_tree_insert(&(*spare)->it, &mm_slot->remote);
			mm_slot->nr_remote++;
			*spare = NULL;
			n->last = start - 1;
		} else if (n->start < start) {
			n->last = start - 1;
		} else {
			n->start = end;
		}
		interval_tree_insert(n, &mm_slot->remote);
	}
	return 0;
}

/*
 * Add [start, end) to @mm_slot's remote ranges with @r, merged with those
 * it overlaps or touches (@r is then freed). 0, or -ENOSPC past
 * CONTIG_MAX_REMOTE ranges with @r freed.
 */
static int contig_remote_add(struct kcontigd_mm_slot *mm_slot,
			     struct contig_remote *r,
			     unsigned long start, unsigned long end)
{
	struct interval_tree_node *n;

	/* Those it touches too: one ending below start, one starting at end. */
	n = interval_tree_iter_first(&mm_slot->remote, start ? start - 1 : 0,
				     end);
	if (!n && mm_slot->nr_remote >= CONTIG_MAX_REMOTE) {
		kfree(r);
		return -ENOSPC;
	}
	for (; n; n = interval_tree_iter_first(&mm_slot->remote,
					       start ? start - 1 : 0, end)) {
		start = min(start, n->start);
		end = max(end, n->last + 1);
		contig_remote_drop(mm_slot, n);
	}
	r->it.start = start;
	r->it.last = end - 1;
	interval_tree_insert(&r->it, &mm_slot->remote);
	mm_slot->nr_remote++;
	return 0;
}

/*
 * Drop the remote ranges of @mm that no vma overlaps any more (unmapped
 * or moved by mremap() since): they must not advise whatever is mapped
 * there later. Under the mmap write lock, which kcontigd does not take.
 */
static void contig_remote_prune(struct kcontigd_mm_slot *mm_slot,
				struct mm_struct *mm)
{
	struct interval_tree_node *n, *next;

	for (n = interval_tree_iter_first(&mm_slot->remote, 0, ULONG_MAX); n;
	     n = next) {
		next = interval_tree_iter_next(n, 0, ULONG_MAX);
		if (!find_vma_intersection(mm, n->start, n->last + 1))
			contig_remote_drop(mm_slot, n);
	}
}

/*
 * Is @vma advised: by its process (VM_CONTIG), or from another one (a
 * remote range of @mm_slot overlaps it, and it is memory kcontigd can
 * move: a range may outlive the vma it was given for)? Under the mmap
 * lock.
 */
static bool contig_vma_advised(struct kcontigd_mm_slot *mm_slot,
			       struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_CONTIG) ||
	       (mm_slot && mm_slot->nr_remote &&
		interval_tree_iter_first(&mm_slot->remote, vma->vm_start,
					 vma->vm_end - 1) &&
		contig_vma_eligible(vma));
}

/*
 * MADV_CONTIG or MADV_NOCONTIG on [start, end) of @vma from another
 * process (process_madvise()), or MADV_NOCONTIG from the process itself:
 * the remote ranges of the mm's slot, the vma's flags and boundaries
 * untouched. Advice must not change the layout of another process's
 * address space (mainline's process_madvise() accepts only advices that
 * do not): a vma split there, and pieces that no longer merge, make the
 * owner's mremap() over them fail with EFAULT. The range nodes are
 * charged to the memory cgroup of the mm, which they live with.
 */
static int contig_remote_advise(struct vm_area_struct *vma,
				unsigned long start, unsigned long end,
				int advice)
{
	struct mm_struct *mm = vma->vm_mm;
	struct kcontigd_mm_slot *mm_slot = contig_slot_of(mm);
	struct mem_cgroup *memcg, *old;
	struct contig_remote *r;
	int err;

	mmap_assert_write_locked(mm);
	if (advice == MADV_NOCONTIG && (!mm_slot || !mm_slot->nr_remote))
		return 0;
	memcg = get_mem_cgroup_from_mm(mm);
	old = set_active_memcg(memcg);
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	set_active_memcg(old);
	mem_cgroup_put(memcg);
	if (!r)
		return -ENOMEM;
	if (advice == MADV_NOCONTIG) {
		err = contig_remote_del(mm_slot, start, end, &r);
		kfree(r);
		return err;
	}
	err = kcontigd_register_mm(mm);
	if (err) {
		kfree(r);
		return err;
	}
	mm_slot = contig_slot_of(mm);
	contig_remote_prune(mm_slot, mm);
	err = contig_remote_add(mm_slot, r, start, end);
	/* Even on failure: a slot with nothing advised is dropped by it. */
	kcontigd_wake();
	return err;
}

/**
 * mem_defrag_madvise - apply MADV_CONTIG or MADV_NOCONTIG to a vma
 * @vma: the vma, with the mmap write lock held
 * @vm_flags: the vma's new flags, updated here
 * @start: start of the advised part of @vma
 * @end: end of the advised part of @vma
 * @advice: MADV_CONTIG or MADV_NOCONTIG
 *
 * MADV_CONTIG is refused for memory kcontigd cannot move: hugetlb,
 * VM_PFNMAP, VM_MIXEDMAP, VM_IO and other VM_SPECIAL mappings, and DAX;
 * and to a task without CAP_SYS_ADMIN unless the unprivileged knob says
 * allow. MADV_NOCONTIG is always allowed. MADV_CONTIG from another
 * process (process_madvise()) leaves @vm_flags alone: the range is
 * recorded for kcontigd, which then works on every vma it overlaps.
 * MADV_NOCONTIG, from anyone, takes such ranges back; it clears
 * VM_CONTIG too, from another process only on a whole vma (no split).
 *
 * Return: 0, -EPERM for an unprivileged task when not allowed, -EINVAL
 * for a vma kcontigd cannot handle, -ENOMEM when the registration or a
 * remote range could not be allocated, -ENOSPC past CONTIG_MAX_REMOTE
 * remote ranges.
 */
int mem_defrag_madvise(struct vm_area_struct *vma, unsigned long *vm_flags,
		       unsigned long start, unsigned long end, int advice)
{
	bool remote = vma->vm_mm != current->mm;
	int err;

	trace_kcontigd_madvise(vma->vm_mm, start, end, advice);

	if (advice == MADV_NOCONTIG) {
		err = contig_remote_advise(vma, start, end, advice);
		/* So that root can end the owner's own advice, if whole. */
		if (!err && (!remote || (start == vma->vm_start &&
					 end == vma->vm_end)))
			*vm_flags &= ~VM_CONTIG;
		return err;
	}

	if (!READ_ONCE(kcontigd_unprivileged) && !capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!contig_vma_eligible(vma))
		return -EINVAL;

	if (remote)
		return contig_remote_advise(vma, start, end, advice);
	err = kcontigd_register_mm(vma->vm_mm);
	if (err)
		return err;

	*vm_flags |= VM_CONTIG;
	kcontigd_wake();
	return 0;
}

/*
 * Take the next registered mm's slot, moving it to the tail of the list,
 * with an mm_users reference on the mm the caller drops with mmput(): so
 * the slot stays linked until the caller is done. An mm found exiting is
 * dropped on the way. Returns NULL when nothing is registered.
 */
static struct kcontigd_mm_slot *kcontigd_next_mm(void)
{
	struct kcontigd_mm_slot *dead;
	struct mm_slot *slot;
	struct mm_struct *mm;

	for (;;) {
		spin_lock(&kcontigd_mm_lock);
		slot = list_first_entry_or_null(&kcontigd_mm_head,
						struct mm_slot, mm_node);
		if (!slot) {
			spin_unlock(&kcontigd_mm_lock);
			return NULL;
		}
		mm = slot->mm;
		if (mmget_not_zero(mm)) {
			list_move_tail(&slot->mm_node, &kcontigd_mm_head);
			spin_unlock(&kcontigd_mm_lock);
			return mm_slot_entry(slot, struct kcontigd_mm_slot, slot);
		}
		/*
		 * Exiting: __mem_defrag_exit() has not run yet and will find
		 * the slot gone. The slot and its anchors go here.
		 */
		dead = kcontigd_unlink_mm(mm);
		spin_unlock(&kcontigd_mm_lock);
		if (dead)
			kcontigd_free_slot(dead);
	}
}

/*
 * One (sub-)anchor: the vpns [vpn, vpn + nr) belong on the pfns
 * [pfn, pfn + nr). A vma has one, or up to CONTIG_MAX_SEGS consecutive ones
 * when no single range of frames suits it, cut on 2 MiB boundaries of the
 * virtual addresses (see contig_choose_anchor()).
 */
#define CONTIG_MAX_SEGS	4
struct contig_seg {
	struct interval_tree_node range;	/* the pfns, in the tree */
	unsigned long vpn, pfn, nr;
};

static const struct contig_seg *contig_seg_of(const struct contig_seg *seg,
					      unsigned int nr_segs,
					      unsigned long vpn)
{
	unsigned int i;

	for (i = 0; i < nr_segs; i++)
		if (vpn - seg[i].vpn < seg[i].nr)
			return &seg[i];
	return NULL;
}

/* Contiguity statistics of one vma: see "Contiguity metrics" in the docs. */
struct contig_stats {
	unsigned long resident;		/* pages mapped */
	unsigned long runs;		/* maximal runs, see contig_stats_add() */
	unsigned long largest;		/* pages in the largest run */
	unsigned long cur_len;		/* pages in the current run */
	unsigned long next_vpn;		/* vpn that would extend the run */
	unsigned long next_pfn;		/* pfn that would extend the run */
	/* optional */
	unsigned long *node_pages;	/* resident pages per node */
	unsigned int nr_segs;		/* count in_place against: */
	struct contig_seg seg[CONTIG_MAX_SEGS];
	unsigned long in_place;
	unsigned int *lens;		/* lengths of the first max_lens runs */
	unsigned long max_lens;
};

static void contig_stats_end_run(struct contig_stats *st)
{
	if (st->lens && st->cur_len && st->runs <= st->max_lens)
		st->lens[st->runs - 1] = st->cur_len;
}

/*
 * Account @nr pages mapped from @vpn on to consecutive pfns from @pfn. A
 * run goes on while both the virtual and the physical page numbers
 * increase by one per page; calls come in increasing @vpn order. Call
 * contig_stats_end_run() after the last one.
 */
static void contig_stats_add(struct contig_stats *st, unsigned long vpn,
			     unsigned long pfn, unsigned long nr)
{
	if (!nr)
		return;
	if (st->cur_len && vpn == st->next_vpn && pfn == st->next_pfn) {
		st->cur_len += nr;
	} else {
		contig_stats_end_run(st);
		st->runs++;
		st->cur_len = nr;
	}
	st->largest = max(st->largest, st->cur_len);
	st->resident += nr;
	st->next_vpn = vpn + nr;
	st->next_pfn = pfn + nr;
	if (st->node_pages)
		st->node_pages[pfn_to_nid(pfn)] += nr;
	/*
	 * A chunk is consecutive in both spaces and within one PMD, so within
	 * one segment: all in place or none.
	 */
	if (st->nr_segs) {
		const struct contig_seg *seg = contig_seg_of(st->seg,
							     st->nr_segs, vpn);

		if (seg && pfn - seg->pfn == vpn - seg->vpn)
			st->in_place += nr;
	}
}

static int contig_cmp_desc(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * R99: the fewest runs whose pages cover 99% of @resident, from the @nr
 * run lengths in @lens (sorted in place, longest first).
 */
static unsigned long contig_r99(unsigned int *lens, unsigned long nr,
				unsigned long resident)
{
	unsigned long need = DIV_ROUND_UP(resident * 99, 100), covered = 0, i;

	sort(lens, nr, sizeof(*lens), contig_cmp_desc, NULL);
	for (i = 0; i < nr && covered < need; i++)
		covered += lens[i];
	return i;
}

static int contig_stats_pmd_entry(pmd_t *pmd, unsigned long addr,
				  unsigned long end, struct mm_walk *walk)
{
	struct contig_stats *st = walk->private;
	struct vm_area_struct *vma = walk->vma;
	pte_t *start_pte, *pte;
	spinlock_t *ptl;	/* the pmd's or the pte table's lock */

	ptl = pmd_trans_huge_lock(pmd, vma);
	if (ptl) {
		pmd_t pmdval = *pmd;

		if (pmd_present(pmdval) && !is_huge_zero_pmd(pmdval))
			contig_stats_add(st, addr >> PAGE_SHIFT,
					 pmd_pfn(pmdval) +
					 ((addr & ~HPAGE_PMD_MASK) >> PAGE_SHIFT),
					 (end - addr) >> PAGE_SHIFT);
		spin_unlock(ptl);
		return 0;
	}

	start_pte = pte_offset_map_lock(walk->mm, pmd, addr, &ptl);
	if (!start_pte) {
		walk->action = ACTION_AGAIN;
		return 0;
	}
	for (pte = start_pte; addr < end; pte++, addr += PAGE_SIZE) {
		pte_t ptent = ptep_get(pte);

		if (!pte_present(ptent) || !vm_normal_page(vma, addr, ptent))
			continue;
		contig_stats_add(st, addr >> PAGE_SHIFT, pte_pfn(ptent), 1);
	}
	pte_unmap_unlock(start_pte, ptl);
	cond_resched();
	return 0;
}

static const struct mm_walk_ops contig_stats_walk_ops = {
	.pmd_entry	= contig_stats_pmd_entry,
	.walk_lock	= PGWALK_RDLOCK,
};

/* ------------------------------------------------------------------ anchors */

/*
 * kcontigd's view of one advised vma, in its mm's slot keyed by
 * (vm_start, vm_end) and revalidated against the vma under the mmap lock
 * at every visit. While anchored, the pfn ranges of its segments are in
 * contig_anchor_tree and no other anchor overlaps them: the page at vpn
 * belongs on seg->pfn + vpn - seg->vpn, seg being the segment that holds
 * vpn. Only kcontigd writes an anchor (and an exiting mm frees it); the
 * fields /proc/pid/contig reads (state, reason, holes, anchored, segments)
 * are written under the slot's lock, the others are kcontigd's alone.
 */
struct contig_anchor {
	struct interval_tree_node vrange;	/* [vm_start, vm_end - 1] */
	unsigned long vm_start, vm_end;
	unsigned int nr_segs;			/* when anchored */
	struct contig_seg seg[CONTIG_MAX_SEGS];
	bool anchored;
	unsigned long charged;			/* when anchored: see below */
	struct contig_user *user;		/* charged, or NULL */
	enum contig_state state;
	enum contig_reason reason;		/* why blocked, or holes */
	unsigned long generation;		/* last pass that saw the vma */
	unsigned long cursor;			/* next address to visit */
	unsigned int reanchors;
	bool counted_done;			/* in contig_vmas_done */
	unsigned int backoff;			/* passes between done checks */
	unsigned long next_check;		/* full_scans of the next check */
	unsigned long not_before;		/* jiffies: KSM let go just now */
	struct contig_walk {			/* the walk in progress */
		unsigned long in_place, moved, holes, failed;
		/* holes whose target frame another page holds, per segment */
		unsigned long taken[CONTIG_MAX_SEGS];
	} walk;
	/* the last complete walk */
	unsigned long in_place, holes;
};

/*
 * contig_anchor_lock protects contig_anchor_tree (the pfn ranges of every
 * anchored vma of every mm) and the sums below it. It is a leaf lock (see
 * the top of this file) and is never held across page moves.
 */
static DEFINE_SPINLOCK(contig_anchor_lock);
static struct rb_root_cached contig_anchor_tree = RB_ROOT_CACHED;
static unsigned long contig_anchored_pages;
static unsigned long contig_nr_anchors;
static unsigned long contig_charged_pages;	/* see contig_vma_charge() */

/*
 * What the anchors of one user's mms are charged, for the per-user limit:
 * one per user that registered an mm without CAP_SYS_ADMIN, referenced by
 * its slots. Under contig_anchor_lock.
 */
struct contig_user {
	struct hlist_node node;		/* in contig_users */
	kuid_t uid;
	unsigned int refs;
	unsigned long charged;
};

#define CONTIG_USERS_HASH_BITS	6
static DEFINE_HASHTABLE(contig_users, CONTIG_USERS_HASH_BITS);

/* The charge record of @uid, referenced; NULL when out of memory. */
static struct contig_user *contig_user_get(kuid_t uid)
{
	struct contig_user *user, *new;

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	spin_lock(&contig_anchor_lock);
	hash_for_each_possible(contig_users, user, node, __kuid_val(uid))
		if (uid_eq(user->uid, uid))
			goto found;
	user = new;
	new = NULL;
	if (user) {
		user->uid = uid;
		hash_add(contig_users, &user->node, __kuid_val(uid));
	}
found:
	if (user)
		user->refs++;
	spin_unlock(&contig_anchor_lock);
	kfree(new);
	return user;
}

static void contig_user_put(struct contig_user *user)
{
	if (!user)
		return;
	spin_lock(&contig_anchor_lock);
	if (--user->refs) {
		user = NULL;
	} else {
		WARN_ON_ONCE(user->charged);
		hash_del(&user->node);
	}
	spin_unlock(&contig_anchor_lock);
	kfree(user);
}

/*
 * What an anchor of @vma counts against max_anchored_percent and the
 * per-user limit: the 2 MiB granules of virtual memory it spans. An anchor
 * keeps others' anchors off the frames of its whole vma, populated or
 * not, and a vma of one page spoils a 2 MiB block for everyone else.
 */
static unsigned long contig_vma_charge(struct vm_area_struct *vma)
{
	return (ALIGN(vma->vm_end, HPAGE_PMD_SIZE) -
		ALIGN_DOWN(vma->vm_start, HPAGE_PMD_SIZE)) >> PAGE_SHIFT;
}

/* Sums over all anchors, so that no reader walks them. */
static atomic_long_t contig_nr_busy;		/* pending or working */
static atomic_long_t contig_pages_in_place;	/* of the last walks */

/* Counters, written by kcontigd only. */
static unsigned long kcontigd_pages_exchanged;
static unsigned long kcontigd_pages_migrated;
static unsigned long kcontigd_pages_failed;
static unsigned long kcontigd_occupants_evacuated;
static unsigned long kcontigd_alloc_contig_calls;
static unsigned long kcontigd_thp_split;
static unsigned long kcontigd_reanchors;

#define CONTIG_MAX_REANCHORS	3
/* How long a vma KSM stopped merging is left alone. */
#define CONTIG_KSM_SETTLE	(2 * HZ)
/* The longest kcontigd holds one mm's mmap lock in one go. */
#define CONTIG_LOCK_HOLD_MS	20
#define CONTIG_MAX_BACKOFF	32
/* First sleep after a pass without progress while work is left. */
#define CONTIG_RETRY_MS		10
#define CONTIG_FINE_CANDIDATES	16
/* Segments a new vma may inherit from the anchors it overlaps. */
#define CONTIG_MAX_INHERIT	(4 * CONTIG_MAX_SEGS)

static inline unsigned long contig_anchor_nr(struct contig_anchor *a)
{
	return (a->vm_end - a->vm_start) >> PAGE_SHIFT;
}

/* The target frame of the page at @addr, in the vma. */
static inline unsigned long contig_target(struct contig_anchor *a,
					  unsigned long addr)
{
	unsigned long vpn = addr >> PAGE_SHIFT;
	const struct contig_seg *seg = contig_seg_of(a->seg, a->nr_segs, vpn);

	return seg ? seg->pfn + vpn - seg->vpn : 0;
}

/* The end of the frames of the segment that holds @addr. */
static inline unsigned long contig_target_end(struct contig_anchor *a,
					      unsigned long addr)
{
	const struct contig_seg *seg = contig_seg_of(a->seg, a->nr_segs,
						     addr >> PAGE_SHIFT);

	return seg ? seg->pfn + seg->nr : 0;
}

static inline bool contig_state_busy(enum contig_state state)
{
	return state == CONTIG_PENDING || state == CONTIG_WORKING;
}

static struct contig_anchor *contig_anchor_of(struct interval_tree_node *n)
{
	return n ? container_of(n, struct contig_anchor, vrange) : NULL;
}

/* The anchor of the vma [@start, @end) in @mm_slot, or NULL. */
static struct contig_anchor *contig_anchor_find(struct kcontigd_mm_slot *mm_slot,
						unsigned long start,
						unsigned long end)
{
	struct interval_tree_node *n;

	lockdep_assert_held(&mm_slot->lock);
	for (n = interval_tree_iter_first(&mm_slot->anchors, start, start); n;
	     n = interval_tree_iter_next(n, start, start)) {
		struct contig_anchor *a = contig_anchor_of(n);

		if (a->vm_start == start && a->vm_end == end)
			return a;
	}
	return NULL;
}

/* Take @a out of the range tree; its pages are free to others' anchors. */
static void contig_unanchor(struct contig_anchor *a)
{
	unsigned int i;

	lockdep_assert_held(&contig_anchor_lock);
	if (!a->anchored)
		return;
	for (i = 0; i < a->nr_segs; i++)
		interval_tree_remove(&a->seg[i].range, &contig_anchor_tree);
	WRITE_ONCE(contig_anchored_pages,
		   contig_anchored_pages - contig_anchor_nr(a));
	WRITE_ONCE(contig_nr_anchors, contig_nr_anchors - 1);
	contig_charged_pages -= a->charged;
	if (a->user)
		a->user->charged -= a->charged;
	a->anchored = false;
}

/* Release the ranges of @mm_slot's anchors not seen in pass @generation. */
static void contig_release_stale(struct kcontigd_mm_slot *mm_slot,
				 unsigned long generation)
{
	struct rb_node *rb;

	spin_lock(&mm_slot->lock);
	spin_lock(&contig_anchor_lock);
	for (rb = rb_first_cached(&mm_slot->anchors); rb; rb = rb_next(rb)) {
		struct contig_anchor *a = rb_entry(rb, struct contig_anchor,
						   vrange.rb);

		if (a->generation != generation)
			contig_unanchor(a);
	}
	spin_unlock(&contig_anchor_lock);
	spin_unlock(&mm_slot->lock);
}

/* Drop the anchors of @mm_slot not seen in pass @generation (all if 0). */
static void contig_drop_anchors(struct kcontigd_mm_slot *mm_slot,
				unsigned long generation)
{
	struct rb_node *rb, *next;
	long busy = 0, in_place = 0;

	spin_lock(&mm_slot->lock);
	for (rb = rb_first_cached(&mm_slot->anchors); rb; rb = next) {
		struct contig_anchor *a = rb_entry(rb, struct contig_anchor,
						   vrange.rb);

		next = rb_next(rb);
		if (generation && a->generation == generation)
			continue;
		interval_tree_remove(&a->vrange, &mm_slot->anchors);
		spin_lock(&contig_anchor_lock);
		contig_unanchor(a);
		spin_unlock(&contig_anchor_lock);
		busy += contig_state_busy(a->state);
		in_place += a->in_place;
		kfree(a);
	}
	spin_unlock(&mm_slot->lock);
	atomic_long_sub(busy, &contig_nr_busy);
	atomic_long_sub(in_place, &contig_pages_in_place);
}

/*
 * A new anchor for @vma, pending, charged to the memcg of the vma's mm
 * (kcontigd allocates it, the process is what it serves).
 */
static struct contig_anchor *contig_anchor_alloc(struct vm_area_struct *vma,
						 unsigned long generation)
{
	struct mem_cgroup *memcg = get_mem_cgroup_from_mm(vma->vm_mm), *old;
	struct contig_anchor *a;

	old = set_active_memcg(memcg);
	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	set_active_memcg(old);
	mem_cgroup_put(memcg);
	if (!a)
		return NULL;
	a->vm_start = vma->vm_start;
	a->vm_end = vma->vm_end;
	a->vrange.start = vma->vm_start;
	a->vrange.last = vma->vm_end - 1;
	a->state = CONTIG_PENDING;
	a->generation = generation;
	a->cursor = vma->vm_start;
	a->not_before = jiffies;
	return a;
}

static void contig_set_state(struct kcontigd_mm_slot *mm_slot,
			     struct contig_anchor *a, enum contig_state state,
			     enum contig_reason reason)
{
	long delta = (long)contig_state_busy(state) -
		     (long)contig_state_busy(a->state);

	spin_lock(&mm_slot->lock);
	a->state = state;
	a->reason = reason;
	spin_unlock(&mm_slot->lock);
	if (delta)
		atomic_long_add(delta, &contig_nr_busy);
}

/*
 * The segments of a vma [@vpn, @vpn + @nr) that inherits the targets of
 * the @nr_old segments @old of the anchors it overlaps (a vma split,
 * shrunk or merged): every page keeps its target, segments that continue
 * each other in both spaces become one. Returns the number of segments
 * written to @seg; 0 unless @old covers every page of the vma with at most
 * CONTIG_MAX_SEGS segments.
 */
static unsigned int contig_segs_inherit(const struct contig_seg *old,
					unsigned int nr_old, unsigned long vpn,
					unsigned long nr, struct contig_seg *seg)
{
	unsigned long next = vpn, end = vpn + nr, len, pfn;
	unsigned int n = 0, i;

	while (next < end) {
		for (i = 0; i < nr_old; i++)
			if (next - old[i].vpn < old[i].nr)
				break;
		if (i == nr_old)
			return 0;
		len = min(old[i].vpn + old[i].nr, end) - next;
		pfn = old[i].pfn + next - old[i].vpn;
		if (n && seg[n - 1].pfn + seg[n - 1].nr == pfn) {
			seg[n - 1].nr += len;
		} else {
			if (n == CONTIG_MAX_SEGS)
				return 0;
			seg[n++] = (struct contig_seg){ .vpn = next, .pfn = pfn,
							.nr = len };
		}
		next += len;
	}
	return n;
}

/*
 * The segments @vma inherits from the anchors of @mm_slot it overlaps
 * that pass @generation has not matched (their ranges were released by
 * contig_release_stale()); 0 when they do not cover it.
 */
static unsigned int contig_inherit(struct kcontigd_mm_slot *mm_slot,
				   struct vm_area_struct *vma,
				   unsigned long generation,
				   struct contig_seg *seg)
{
	struct contig_seg old[CONTIG_MAX_INHERIT];
	unsigned long last = vma->vm_end - 1;
	struct interval_tree_node *n;
	unsigned int nr_old = 0, i;

	spin_lock(&mm_slot->lock);
	for (n = interval_tree_iter_first(&mm_slot->anchors, vma->vm_start, last);
	     n; n = interval_tree_iter_next(n, vma->vm_start, last)) {
		struct contig_anchor *a = contig_anchor_of(n);

		if (a->generation == generation)
			continue;
		for (i = 0; i < a->nr_segs && nr_old < CONTIG_MAX_INHERIT; i++)
			old[nr_old++] = a->seg[i];
	}
	spin_unlock(&mm_slot->lock);
	return contig_segs_inherit(old, nr_old, vma->vm_start >> PAGE_SHIFT,
				   vma_pages(vma), seg);
}

/* The node @vma's memory should be on: its bound policy, else the majority. */
static int contig_vma_node(struct vm_area_struct *vma)
{
	struct contig_stats st = { };
	int nid, best = NUMA_NO_NODE;

#ifdef CONFIG_NUMA
	struct mempolicy *pol = vma->vm_policy;

	if (pol && (pol->mode == MPOL_BIND || pol->mode == MPOL_PREFERRED) &&
	    !nodes_empty(pol->nodes))
		return first_node(pol->nodes);
#endif
	st.node_pages = kcalloc(nr_node_ids, sizeof(*st.node_pages),
				GFP_KERNEL);
	if (!st.node_pages)
		return numa_node_id();
	walk_page_range_vma(vma, vma->vm_start, vma->vm_end,
			    &contig_stats_walk_ops, &st);
	for_each_node(nid)
		if (best == NUMA_NO_NODE ||
		    st.node_pages[nid] > st.node_pages[best])
			best = nid;
	kfree(st.node_pages);
	if (best == NUMA_NO_NODE || !node_online(best))
		best = numa_node_id();
	return best;
}

/* Is @head (racily read) the head page of one of @vma's anon folios? */
static inline bool contig_page_own(struct page *head,
				   struct vm_area_struct *vma)
{
	return vma->anon_vma && READ_ONCE(head->mapping) ==
	       (void *)vma->anon_vma + PAGE_MAPPING_ANON;
}

/*
 * 1 for a pageblock that is not movable, not online, or reserved, or that
 * another's huge page fills, else 0. Memory reserved at boot (the memory
 * map, KASAN's shadow, firmware's) is in pageblocks marked movable; its
 * first page tells, as such reservations come in large pieces. A huge
 * page's frames are holes for every page of @vma but a folio of its size
 * (see contig_score_fine()); counting its block here keeps ranges of huge
 * pages from crowding out, in the first cut of candidates, ranges whose
 * occupants can be moved.
 */
static unsigned int contig_block_bad(unsigned long pfn,
				     struct vm_area_struct *vma)
{
	struct page *page = pfn_to_online_page(pfn), *head;
	int mt;

	if (!page || PageReserved(page))
		return 1;
	mt = get_pageblock_migratetype(page);
	if (!(mt == MIGRATE_MOVABLE || is_migrate_cma(mt)))
		return 1;
	/* Racy, as compaction's scanners read compound pages. */
	if (!PageCompound(page))
		return 0;
	head = compound_head(page);
	return compound_order(head) >= pageblock_order &&
	       !contig_page_own(head, vma);
}

/* Fine score of one candidate range: what its pages are now. */
struct contig_candidate {
	unsigned long pfn;
	unsigned long coarse;		/* non-movable pageblocks */
	unsigned long dirty_blocks;	/* pageblocks with an unmovable page */
	unsigned long unmovable;	/* pages that cannot be moved */
	unsigned long free;		/* free pages */
	unsigned long own;		/* pages of the vma already there */
	unsigned long offline;		/* frames with no online memory */
};

static void contig_score_fine(struct contig_candidate *c, unsigned long nr,
			      struct vm_area_struct *vma)
{
	unsigned long pfn = c->pfn, end = c->pfn + nr;

	unsigned long dirty_block = ULONG_MAX;

	c->unmovable = 0;
	c->dirty_blocks = 0;
	c->free = 0;
	c->own = 0;
	c->offline = 0;
	while (pfn < end) {
		struct page *page = pfn_to_online_page(pfn), *head;

		if (!page) {
			/* A hole in the zone: this range can never do. */
			c->offline++;
			return;
		}
		if (PageBuddy(page)) {
			unsigned long n = 1UL << min_t(unsigned int,
						       buddy_order_unsafe(page),
						       MAX_PAGE_ORDER);

			n = min(n, end - pfn);
			c->free += n;
			pfn += n;
			continue;
		}
		/*
		 * No reference is held: racy reads of page flags and mapping,
		 * as compaction's scanners do. Good enough to rank ranges.
		 */
		head = compound_head(page);
		if (PageReserved(page) || (!PageLRU(head) && page_count(page)) ||
		    (PageLRU(head) && folio_maybe_dma_pinned(page_folio(page)))) {
			/*
			 * One such page keeps alloc_contig_range() from taking
			 * any free frame of its pageblock: count blocks too.
			 */
			c->unmovable++;
			if (pageblock_start_pfn(pfn) != dirty_block) {
				dirty_block = pageblock_start_pfn(pfn);
				c->dirty_blocks++;
			}
		} else if (contig_page_own(head, vma)) {
			c->own++;
		} else if (PageCompound(page)) {
			/*
			 * Another's large folio: exchanged with a folio of
			 * its size at most, never split or evicted for a
			 * smaller one (see exchange_take_frames()).
			 */
			c->unmovable++;
		}
		pfn++;
		if (!(pfn & 1023))
			cond_resched();
	}
}

/*
 * Better: fewer pageblocks with unmovable pages, fewer unmovable pages,
 * then more free and own pages.
 */
static bool contig_candidate_better(struct contig_candidate *a,
				    struct contig_candidate *b)
{
	if (a->dirty_blocks != b->dirty_blocks)
		return a->dirty_blocks < b->dirty_blocks;
	if (a->unmovable != b->unmovable)
		return a->unmovable < b->unmovable;
	return a->free + a->own > b->free + b->own;
}

/*
 * The first pfn at or after @zstart congruent with @vpn modulo @align (a
 * power of two), so that the vma maps its target with PMDs (or PUDs).
 */
static inline unsigned long contig_first_candidate(unsigned long zstart,
						   unsigned long vpn,
						   unsigned long align)
{
	return zstart + ((vpn - zstart) & (align - 1));
}

/*
 * Does [pfn, pfn + nr) overlap an anchor other than @own (which may be
 * NULL: any anchor)?
 */
static bool contig_range_taken(unsigned long pfn, unsigned long nr,
			       const struct contig_anchor *own)
{
	unsigned long last = pfn + nr - 1;
	struct interval_tree_node *n;
	unsigned int i;

	lockdep_assert_held(&contig_anchor_lock);
	for (n = interval_tree_iter_first(&contig_anchor_tree, pfn, last); n;
	     n = interval_tree_iter_next(n, pfn, last)) {
		if (!own || !own->anchored)
			return true;
		for (i = 0; i < own->nr_segs; i++)
			if (n == &own->seg[i].range)
				break;
		if (i == own->nr_segs)
			return true;
	}
	return false;
}

/* Is frame @pfn an anchor's? Occupants evacuated from targets go elsewhere. */
static bool contig_pfn_anchored(unsigned long pfn)
{
	bool anchored;

	spin_lock(&contig_anchor_lock);
	anchored = contig_range_taken(pfn, 1, NULL);
	spin_unlock(&contig_anchor_lock);
	return anchored;
}

/*
 * Add @zone's candidates for a range of @nr frames congruent with @vpn
 * modulo @align to @best, which keeps the CONTIG_FINE_CANDIDATES with the
 * fewest bad pageblocks (non-movable, offline, or another's huge page: see
 * contig_block_bad()), counted through prefix sums over the zone's
 * pageblocks.
 */
static void contig_zone_candidates(struct zone *zone,
				   struct vm_area_struct *vma, unsigned long nr,
				   unsigned long vpn, unsigned long align,
				   const struct contig_seg *excl,
				   unsigned int nr_excl,
				   struct contig_candidate *best,
				   unsigned int *nr_best)
{
	unsigned long zstart = zone->zone_start_pfn, zend = zone_end_pfn(zone);
	unsigned long base = pageblock_start_pfn(zstart), nr_blocks, pfn, i;
	unsigned long candidates = 0, held;
	unsigned long *bad;
	ktime_t locked;
	unsigned int worst;

	nr_blocks = DIV_ROUND_UP(zend - base, pageblock_nr_pages);
	/* Failing is no news: the zone is tried again on the next pass. */
	bad = kvmalloc_array(nr_blocks + 1, sizeof(*bad),
			     GFP_KERNEL | __GFP_NOWARN);
	if (!bad)
		return;
	/* bad[i]: non-movable pageblocks among the zone's first i. */
	bad[0] = 0;
	for (i = 0; i < nr_blocks; i++) {
		bad[i + 1] = bad[i] +
			     contig_block_bad(base + i * pageblock_nr_pages, vma);
		if (!(i & 255))
			cond_resched();
	}

	/* Congruent candidates: pfn == vpn (mod align). */
	pfn = contig_first_candidate(zstart, vpn, align);
	spin_lock(&contig_anchor_lock);
	locked = ktime_get();
	for (; pfn + nr <= zend; pfn += align, candidates++) {
		struct contig_candidate c = {
			.pfn = pfn,
			.coarse = bad[(pfn + nr - 1 - base) / pageblock_nr_pages + 1] -
				  bad[(pfn - base) / pageblock_nr_pages],
		};

		if (contig_range_taken(pfn, nr, NULL))
			continue;
		for (i = 0; i < nr_excl; i++)
			if (pfn < excl[i].pfn + excl[i].nr &&
			    excl[i].pfn < pfn + nr)
				break;
		if (i < nr_excl)
			continue;
		if (*nr_best < CONTIG_FINE_CANDIDATES) {
			best[(*nr_best)++] = c;
			continue;
		}
		for (worst = 0, i = 1; i < *nr_best; i++)
			if (best[i].coarse > best[worst].coarse)
				worst = i;
		if (c.coarse < best[worst].coarse)
			best[worst] = c;
	}
	held = ktime_us_delta(ktime_get(), locked);
	spin_unlock(&contig_anchor_lock);
	trace_kcontigd_candidates(zone_to_nid(zone), zone_idx(zone), candidates,
				  held);
	kvfree(bad);
}

/*
 * Choose frames for the @nr pages of @vma from @vpn on: a range of one zone
 * of the vma's node, congruent with the virtual address modulo 2 MiB (1 GiB
 * for 1 GiB or more), overlapping no anchor (@vma's current one included,
 * so a re-anchor moves elsewhere) nor any of the @nr_excl segments in
 * @excl, and holding no hole in memory. Candidates of every zone of the
 * node are ranked by their non-movable pageblocks, then the best few by
 * what their pages are now. Returns 0 with @chosen filled in, or -ENOSPC
 * with *@reason set.
 */
static int contig_choose_range(struct vm_area_struct *vma, int nid,
			       unsigned long vpn, unsigned long nr,
			       const struct contig_seg *excl,
			       unsigned int nr_excl,
			       struct contig_candidate *chosen,
			       enum contig_reason *reason)
{
	unsigned long align = nr >= (SZ_1G >> PAGE_SHIFT) ?
			      (SZ_1G >> PAGE_SHIFT) : HPAGE_PMD_NR;
	struct contig_candidate best[CONTIG_FINE_CANDIDATES];
	unsigned int nr_best = 0, i, found = 0, zones = 0;
	pg_data_t *pgdat = NODE_DATA(nid);
	int z;

	for (z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &pgdat->node_zones[z];

		if (!populated_zone(zone) || zone->spanned_pages < nr)
			continue;
		zones++;
		contig_zone_candidates(zone, vma, nr, vpn, align, excl, nr_excl,
				       best, &nr_best);
	}
	if (!nr_best) {
		*reason = zones ? CONTIG_R_NO_FREE_RANGE :
				  CONTIG_R_LARGER_THAN_ZONE;
		return -ENOSPC;
	}
	for (i = 0; i < nr_best; i++) {
		contig_score_fine(&best[i], nr, vma);
		if (best[i].offline)
			continue;
		if (!found++ || contig_candidate_better(&best[i], chosen))
			*chosen = best[i];
	}
	if (!found) {
		*reason = CONTIG_R_NO_FREE_RANGE;
		return -ENOSPC;
	}
	return 0;
}

/*
 * Piece @i of @k of the vpns [vpn, vpn + nr) when cut for sub-anchors: the
 * cuts are on 2 MiB boundaries of the virtual addresses, @len pages apart
 * (a multiple of HPAGE_PMD_NR); the first piece also takes the unaligned
 * head, the last the rest. Returns the piece's first vpn, its size in *@n.
 */
static unsigned long contig_cut(unsigned long vpn, unsigned long nr,
				unsigned long len, unsigned int k,
				unsigned int i, unsigned long *n)
{
	unsigned long head = ALIGN(vpn, HPAGE_PMD_NR) - vpn;
	unsigned long start = i ? vpn + head + i * len : vpn;

	*n = i < k - 1 ? vpn + head + (i + 1) * len - start : vpn + nr - start;
	return start;
}

/*
 * Choose the segments of @vma's anchor: one range when a range without
 * unmovable pages fits the whole vma; otherwise the vma is cut into 2,
 * then CONTIG_MAX_SEGS, pieces each with its own range, and the cut is
 * taken if it leaves fewer unmovable pages in the way. The cuts lie on
 * 2 MiB boundaries of the virtual addresses, so that no PMD-mapped THP
 * straddles two pieces: the first piece also takes the unaligned head of
 * the vma, the last the rest. Returns the number of segments filled in
 * @seg, or -ENOSPC with *@reason set.
 */
static int contig_choose_anchor(struct vm_area_struct *vma,
				struct contig_seg *seg,
				enum contig_reason *reason)
{
	unsigned long nr = vma_pages(vma), vpn = vma->vm_start >> PAGE_SHIFT;
	unsigned long head = ALIGN(vpn, HPAGE_PMD_NR) - vpn;
	unsigned long unmovable = ULONG_MAX, cut_unmovable, len;
	struct contig_candidate c, cc[CONTIG_MAX_SEGS], chosen[CONTIG_MAX_SEGS];
	struct contig_seg cut[CONTIG_MAX_SEGS];
	int nid = contig_vma_node(vma), nr_segs = -ENOSPC;
	unsigned int k, i;

	if (!contig_choose_range(vma, nid, vpn, nr, NULL, 0, &c, reason)) {
		seg[0] = (struct contig_seg){ .vpn = vpn, .pfn = c.pfn,
					      .nr = nr };
		nr_segs = 1;
		unmovable = c.unmovable;
		chosen[0] = c;
	}
	for (k = 2; k <= CONTIG_MAX_SEGS && unmovable && nr > head; k *= 2) {
		len = round_down((nr - head) / k, HPAGE_PMD_NR);
		if (!len)
			break;
		cut_unmovable = 0;
		for (i = 0; i < k; i++) {
			unsigned long n, start = contig_cut(vpn, nr, len, k, i,
							    &n);

			if (contig_choose_range(vma, nid, start, n,
						cut, i, &c, reason))
				break;
			cut[i] = (struct contig_seg){ .vpn = start,
						      .pfn = c.pfn, .nr = n };
			cc[i] = c;
			cut_unmovable += c.unmovable;
		}
		if (i < k || cut_unmovable >= unmovable)
			continue;
		memcpy(seg, cut, k * sizeof(*seg));
		memcpy(chosen, cc, k * sizeof(*chosen));
		nr_segs = k;
		unmovable = cut_unmovable;
	}
	if (nr_segs > 0) {
		for (i = 0; i < nr_segs; i++)
			trace_kcontigd_anchor(vma->vm_mm,
					      seg[i].vpn << PAGE_SHIFT,
					      (seg[i].vpn + seg[i].nr) << PAGE_SHIFT,
					      seg[i].pfn, nid, chosen[i].unmovable,
					      chosen[i].free);
	}
	return nr_segs;
}

/*
 * Anchor @a at the @nr_segs segments @seg, replacing its current anchor if
 * it has one, within the max_anchored_percent limit and the per-user one;
 * it is working again, from the start of the vma. Returns 0, -ENOSPC (a
 * range is taken or over the global limit) or -EDQUOT (over the user's).
 */
static noinline int contig_install_anchor(struct kcontigd_mm_slot *mm_slot,
					  struct vm_area_struct *vma,
					  struct contig_anchor *a,
					  const struct contig_seg *seg,
					  unsigned int nr_segs)
{
	unsigned long nr = vma_pages(vma), charge = contig_vma_charge(vma);
	struct contig_user *user = mm_slot->user;
	unsigned long limit, user_limit, old;
	unsigned int i;
	int err = 0;

	limit = totalram_pages() / 100 *
		READ_ONCE(kcontigd_max_anchored_percent);
	user_limit = totalram_pages() / 100 *
		     READ_ONCE(kcontigd_max_anchored_percent_per_user);
	spin_lock(&mm_slot->lock);
	spin_lock(&contig_anchor_lock);
	old = a->anchored ? a->charged : 0;
	for (i = 0; i < nr_segs; i++)
		if (contig_range_taken(seg[i].pfn, seg[i].nr, a))
			err = -ENOSPC;
	if (contig_charged_pages - old + charge > limit)
		err = -ENOSPC;
	else if (user && user->charged - old + charge > user_limit)
		err = -EDQUOT;
	if (!err) {
		contig_unanchor(a);
		a->charged = charge;
		a->user = user;
		contig_charged_pages += charge;
		if (user)
			user->charged += charge;
		a->nr_segs = nr_segs;
		for (i = 0; i < nr_segs; i++) {
			a->seg[i] = seg[i];
			a->seg[i].range.start = seg[i].pfn;
			a->seg[i].range.last = seg[i].pfn + seg[i].nr - 1;
			interval_tree_insert(&a->seg[i].range,
					     &contig_anchor_tree);
		}
		a->anchored = true;
		WRITE_ONCE(contig_anchored_pages, contig_anchored_pages + nr);
		WRITE_ONCE(contig_nr_anchors, contig_nr_anchors + 1);
	}
	spin_unlock(&contig_anchor_lock);
	spin_unlock(&mm_slot->lock);
	if (err)
		return err;
	contig_set_state(mm_slot, a, CONTIG_WORKING, CONTIG_R_NONE);
	a->cursor = vma->vm_start;
	a->walk = (struct contig_walk){ };
	a->backoff = 1;
	count_vm_event(CONTIG_ANCHORS);
	return 0;
}

/* A range lost to another anchor (-ENOSPC), with nothing installed. */
ALLOW_ERROR_INJECTION(contig_install_anchor, ERRNO);

/* Give @a its first anchor; blocked with a reason when none fits. */
static int contig_anchor_vma(struct kcontigd_mm_slot *mm_slot,
			     struct vm_area_struct *vma,
			     struct contig_anchor *a)
{
	struct contig_seg seg[CONTIG_MAX_SEGS];
	enum contig_reason reason = CONTIG_R_NONE;
	int err, nr_segs;

	nr_segs = contig_choose_anchor(vma, seg, &reason);
	err = nr_segs < 0 ? nr_segs : 0;
	if (!err) {
		err = contig_install_anchor(mm_slot, vma, a, seg, nr_segs);
		if (err)
			reason = err == -EDQUOT ? CONTIG_R_USER_LIMIT :
						  CONTIG_R_ANCHOR_LIMIT;
	}
	if (err) {
		/* Its own retry time: blocked vmas are not all due at once. */
		contig_set_state(mm_slot, a, CONTIG_BLOCKED, reason);
		a->next_check = kcontigd_full_scans + CONTIG_MAX_BACKOFF;
		trace_kcontigd_blocked(vma->vm_mm, vma->vm_start, reason);
	}
	return err;
}

/*
 * Match the advised vmas of @mm_slot's mm with their anchors, under the
 * mmap read lock. A vma without one (new, split, shrunk, merged) gets a
 * new anchor: first the anchors no vma matched give up their ranges, then
 * a new vma they cover inherits its targets from them (nothing moves
 * again), and then they are dropped. Returns the number of advised vmas.
 */
static unsigned int contig_match_anchors(struct kcontigd_mm_slot *mm_slot,
					 unsigned long generation)
{
	struct mm_struct *mm = mm_slot->slot.mm;
	struct contig_seg seg[CONTIG_MAX_SEGS];
	struct vm_area_struct *vma;
	struct contig_anchor *a;
	unsigned int nr = 0, nr_new = 0, nr_segs;
	struct vma_iterator vmi;

	vma_iter_init(&vmi, mm, 0);

	mmap_assert_locked(mm);
	for_each_vma(vmi, vma) {
		if (!contig_vma_advised(mm_slot, vma))
			continue;
		nr++;
		spin_lock(&mm_slot->lock);
		a = contig_anchor_find(mm_slot, vma->vm_start, vma->vm_end);
		if (a)
			a->generation = generation;
		else
			nr_new++;
		spin_unlock(&mm_slot->lock);
	}
	if (nr_new) {
		contig_release_stale(mm_slot, generation);
		vma_iter_init(&vmi, mm, 0);
		for_each_vma(vmi, vma) {
			if (!contig_vma_advised(mm_slot, vma))
				continue;
			spin_lock(&mm_slot->lock);
			a = contig_anchor_find(mm_slot, vma->vm_start,
					       vma->vm_end);
			spin_unlock(&mm_slot->lock);
			if (a)
				continue;
			a = contig_anchor_alloc(vma, generation);
			if (!a)
				break;	/* the next pass tries again */
			nr_segs = contig_inherit(mm_slot, vma, generation, seg);
			spin_lock(&mm_slot->lock);
			interval_tree_insert(&a->vrange, &mm_slot->anchors);
			spin_unlock(&mm_slot->lock);
			atomic_long_inc(&contig_nr_busy);
			if (nr_segs &&
			    !contig_install_anchor(mm_slot, vma, a, seg, nr_segs))
				trace_kcontigd_inherit(mm, vma->vm_start,
						       vma->vm_end, nr_segs);
		}
	}
	contig_drop_anchors(mm_slot, generation);
	return nr;
}

/* ----------------------------------------------------------- defrag loop */

/*
 * Free frames held ahead of the walk. When a page's target is free,
 * kcontigd takes the whole free buddy block around it off the free lists
 * in one go (as compaction's free scanner does) and keeps the rest of the
 * block for the pages that follow: targets only grow along a walk. Held
 * frames are still in their free state; a frame is prepared as a page only
 * when a page moves into it, and what is left goes back to the free lists
 * whole, never through the per-CPU lists, when the walk skips past it and
 * at the end of every visit of the vma.
 */
struct contig_spare {
	unsigned long next;	/* first frame held */
	unsigned long end;	/* end of the frames held */
};

/*
 * Pages are moved in batches that share one TLB flush: exchanges
 * (exchange_batch_add(); their folios stay locked until the batch runs, so
 * nothing that may lock or migrate another folio - alloc_contig_range(),
 * THP moves, splits - runs while it holds pairs) and migrations into spare
 * frames (exchange_move_add(), one migrate_pages() call). A batch never
 * outlives one visit of a vma.
 */
#define CONTIG_BATCH	64
/* Pages per batch, 1 to CONTIG_BATCH: debugfs kcontigd_batch, to measure. */
static unsigned int contig_batch __read_mostly = CONTIG_BATCH;
/* Evacuate occupants in batches (debugfs kcontigd_evacuate, to measure). */
static bool contig_evacuate_on __read_mostly = true;

/*
 * One walk over the advised vmas of one mm, as compaction has its
 * compact_control: what the pass allows, the vma and anchor being walked,
 * what the visit of the current page found, and the batches. kcontigd has
 * one, allocated with the thread.
 */
struct contig_walk_control {
	/* The visit of one mm */
	struct kcontigd_mm_slot *mm_slot;
	unsigned long budget;		/* page visits left */
	unsigned long deadline;		/* jiffies: let the mmap lock go */
	unsigned long moved;		/* pages moved */
	bool walked;			/* a walk advanced, not yet at its end */
	/* The vma being walked */
	struct vm_area_struct *vma;
	struct contig_anchor *anchor;
	struct contig_spare spare;
	/* The page being visited, as the contig_move_*() leave it */
	unsigned long nr;		/* pages covered; 0: visit again */
	unsigned long pfn;		/* its frame, once found mapped */
	enum contig_reason reason;	/* of a hole or a failure */
	/* Exchanges waiting in a batch: where each page is mapped, its frame */
	struct exchange_batch *xbatch;
	unsigned long xaddr[CONTIG_BATCH];
	unsigned long xpfn[CONTIG_BATCH];
	int xrc[CONTIG_BATCH];
	/* Migrations into spare frames waiting in a batch, and where each is */
	struct exchange_moves *moves;
	unsigned long moves_addr[CONTIG_BATCH];
	/* Occupants to migrate off the targets; the addresses last tried so */
	struct exchange_evac evac;
	unsigned long evac_start, evac_end;
};

static struct contig_walk_control *contig_walk_control_alloc(void)
{
	struct contig_walk_control *cc = kzalloc(sizeof(*cc), GFP_KERNEL);

	if (!cc)
		return NULL;
	cc->xbatch = exchange_batch_alloc(CONTIG_BATCH);
	cc->moves = kzalloc(struct_size(cc->moves, move, CONTIG_BATCH),
			    GFP_KERNEL);
	if (!cc->xbatch || !cc->moves) {
		exchange_batch_free(cc->xbatch);
		kfree(cc->moves);
		kfree(cc);
		return NULL;
	}
	cc->moves->max = CONTIG_BATCH;
	exchange_evac_init(&cc->evac, CONTIG_BATCH, contig_pfn_anchored);
	return cc;
}

static void contig_walk_control_free(struct contig_walk_control *cc)
{
	if (!cc)
		return;
	exchange_batch_free(cc->xbatch);
	kfree(cc->moves);
	kfree(cc);
}

/* Does a page waiting in a batch sit in frame @pfn? */
static bool contig_queued(struct contig_walk_control *cc, unsigned long pfn)
{
	unsigned int i;

	for (i = 0; i < cc->moves->nr; i++)
		if (cc->moves->move[i].src_pfn == pfn)
			return true;
	return exchange_batch_holds(cc->xbatch, pfn);
}

static bool contig_batches_empty(struct contig_walk_control *cc)
{
	return !cc->moves->nr && !exchange_batch_nr(cc->xbatch);
}

/* Give the held frames below @end back to the free lists. */
static void contig_spare_release(struct contig_spare *s,
				 unsigned long end_pfn)
{
	unsigned long pfn = s->next, flags;
	struct zone *zone;

	end_pfn = min(end_pfn, s->end);
	if (pfn >= end_pfn)
		return;
	zone = page_zone(pfn_to_page(pfn));
	spin_lock_irqsave(&zone->lock, flags);
	while (pfn < end_pfn) {
		unsigned long order = pageblock_order;
		struct page *page = pfn_to_page(pfn);

		if (pfn & (pageblock_nr_pages - 1))
			order = __ffs(pfn);
		order = min_t(unsigned long, order, ilog2(end_pfn - pfn));

		__putback_isolated_page(page, order,
					get_pageblock_migratetype(page));
		pfn += 1UL << order;
	}
	spin_unlock_irqrestore(&zone->lock, flags);
	s->next = end_pfn;
}

/*
 * Take the free buddy block holding @pfn off the free lists; false if none
 * (an error injection point: as if the frame were in a per-CPU list).
 */
static noinline bool contig_spare_fill(struct contig_spare *s,
				       unsigned long pfn)
{
	struct page *page = pfn_to_online_page(pfn), *head;
	struct zone *zone;
	unsigned long flags, head_pfn;
	unsigned int order;
	bool taken = false;

	if (!page)
		return false;
	zone = page_zone(page);
	spin_lock_irqsave(&zone->lock, flags);
	for (order = 0; order < NR_PAGE_ORDERS; order++) {
		head_pfn = pfn & ~((1UL << order) - 1);
		head = pfn_to_page(head_pfn);
		if (!PageBuddy(head) || buddy_order(head) < order)
			continue;
		order = buddy_order(head);
		/* Isolated blocks belong to alloc_contig_range() or offlining. */
		if (!is_migrate_isolate_page(head) &&
		    __isolate_free_page(head, order)) {
			s->next = head_pfn;
			s->end = head_pfn + (1UL << order);
			taken = true;
		}
		break;
	}
	spin_unlock_irqrestore(&zone->lock, flags);
	return taken;
}
ALLOW_ERROR_INJECTION(contig_spare_fill, NULL);

/*
 * The free frames [@target, @target + 2^@order) as a page (a compound page
 * when @order > 0) ready to be migrated into, or NULL when they are not
 * all free. Frames of the block past @limit, the segment's end, are given
 * back at once.
 */
static struct page *contig_spare_take(struct contig_spare *s,
				      unsigned long target, unsigned int order,
				      unsigned long limit)
{
	unsigned long nr = 1UL << order;
	struct page *page;

	if (target + nr > limit)
		return NULL;
	if (target < s->next || target + nr > s->end) {
		contig_spare_release(s, s->end);
		if (!contig_spare_fill(s, target))
			return NULL;
		if (s->end > limit) {
			unsigned long next = s->next;

			s->next = limit;
			contig_spare_release(s, s->end);
			s->next = next;
			s->end = limit;
		}
		if (target + nr > s->end) {
			/* A free block, but smaller than wanted. */
			contig_spare_release(s, s->end);
			return NULL;
		}
	}
	contig_spare_release(s, target);
	s->next = target + nr;
	page = pfn_to_page(target);
	post_alloc_hook(page, order, __GFP_MOVABLE);
	set_page_refcounted(page);
	if (order)
		prep_compound_page(page, order);
	return page;
}

/*
 * Queue the folio of @page, mapped at @addr, for migration into @dst, a
 * frame of the spare; both references are consumed.
 */
static enum contig_outcome contig_queue_move(struct contig_walk_control *cc,
					     struct page *page,
					     struct page *dst,
					     unsigned long addr)
{
	int slot = exchange_move_add(cc->moves, page, dst);

	if (slot == -EPERM) {
		cc->reason = CONTIG_R_MLOCKED;
		return CONTIG_HOLE;
	}
	if (slot < 0) {
		cc->reason = CONTIG_R_BUSY;
		return CONTIG_FAILED;
	}
	cc->moves_addr[slot] = addr;
	return CONTIG_QUEUED;
}

/* The outcome of a refused or finished exchange. */
static enum contig_outcome contig_exchange_outcome(int rc,
						   enum contig_reason *why)
{
	switch (rc) {
	case 0:
		return CONTIG_EXCHANGED;
	case -EBUSY:
		*why = CONTIG_R_TARGET_PINNED;
		return CONTIG_HOLE;
	case -EPERM:
		*why = CONTIG_R_MLOCKED;
		return CONTIG_HOLE;
	case -EHWPOISON:
		*why = CONTIG_R_HWPOISON;
		return CONTIG_HOLE;
	default:
		*why = CONTIG_R_BUSY;
		return CONTIG_FAILED;
	}
}

/* The outcome of moving a folio onto free (or freeable) target frames. */
static enum contig_outcome contig_fallback_outcome(int rc,
						   enum contig_reason *why)
{
	switch (rc) {
	case 0:
		return CONTIG_MIGRATED;
	case -EBUSY:
		*why = CONTIG_R_UNMOVABLE;
		return CONTIG_HOLE;
	case -EPERM:
		*why = CONTIG_R_MLOCKED;
		return CONTIG_HOLE;
	default:
		*why = CONTIG_R_BUSY;
		return CONTIG_FAILED;
	}
}

/* A hole because another page holds the target frame (not the page's fault). */
static inline bool contig_target_taken(enum contig_reason why)
{
	return why == CONTIG_R_TARGET_PINNED || why == CONTIG_R_UNMOVABLE;
}

/* A hole for want of @target, held by another, of the page at @pfn off its node? */
static bool contig_hole_off_node(struct contig_walk_control *cc,
				 enum contig_outcome out, unsigned long pfn,
				 unsigned long target)
{
	return out == CONTIG_HOLE && contig_target_taken(cc->reason) &&
	       pfn_to_nid(pfn) != pfn_to_nid(target);
}

/*
 * A page that cannot have its frame @target, held by another page, still
 * belongs on its node (the vma's mempolicy, as mbind() asked): migrate it
 * there to any free frame. Consumes the caller's reference on @page and
 * returns its outcome: @out, the outcome so far, unless @page is a hole
 * off the node of @target; then it stays a hole once it is on its node or
 * the node is full, is visited again after the batches when some wait,
 * and fails (tried again, the vma not done) when its migration failed.
 */
static enum contig_outcome contig_place_on_node(struct contig_walk_control *cc,
						struct page *page,
						unsigned long target,
						enum contig_outcome out)
{
	int rc;

	if (!contig_hole_off_node(cc, out, page_to_pfn(page), target))
		goto put;
	if (folio_maybe_dma_pinned(page_folio(page))) {
		cc->reason = CONTIG_R_PINNED;
		goto put;
	}
	if (!contig_batches_empty(cc)) {
		out = CONTIG_RETRY;
		goto put;
	}
	rc = exchange_migrate_to_node(page, pfn_to_nid(target),
				      MIGRATE_SYNC_LIGHT);
	if (rc == -EAGAIN || rc == -EBUSY) {
		cc->reason = CONTIG_R_BUSY;
		return CONTIG_FAILED;
	}
	return CONTIG_HOLE;
put:
	put_page(page);
	return out;
}

/*
 * The order-0 page that the visit found at @addr, frame cc->pfn, if it is
 * still mapped there: referenced, or NULL.
 */
static struct page *contig_page_again(struct contig_walk_control *cc,
				      unsigned long addr)
{
	struct page *page = NULL;
	struct folio_walk fw;
	struct folio *folio;

	folio = folio_walk_start(&fw, cc->vma, addr, 0);
	if (!folio)
		return NULL;
	if (!folio_test_large(folio) && page_to_pfn(fw.page) == cc->pfn) {
		folio_get(folio);
		page = fw.page;
	}
	folio_walk_end(&fw, cc->vma);
	return page;
}

/*
 * The frame @target of the page at @addr holds an occupant that exchange
 * cannot swap with it (another kind, fs-private page cache), or none the
 * buddy lists know of yet (it sits in a per-CPU list). Migrate that
 * occupant away, in one batch with those of the targets of the next pages
 * of the segment that exchange cannot swap with their page either; the
 * pages then migrate into the frames left free, in the move batch, as if
 * the frames had been free all along. The batches are empty. True when
 * @target may be free now: visit @addr again.
 */
static bool contig_evacuate(struct contig_walk_control *cc,
			    unsigned long addr, unsigned long target)
{
	unsigned long limit = contig_target_end(cc->anchor, addr), end, moved;
	struct exchange_evac *ev = &cc->evac;
	struct page *tpage = pfn_to_page(target);
	int first, rc;

	first = exchange_evac_add(ev, target, NULL);
	if (first == -ENOENT)
		/* Freed into a per-CPU list: this CPU's, most likely. */
		lru_add_drain_cpu_zone(page_zone(tpage));
	else if (first)
		return false;
	end = min(cc->vma->vm_end,
		  addr + ((unsigned long)READ_ONCE(contig_batch) << PAGE_SHIFT));
	/* Its pages whose occupant stays take the slow way, not this again. */
	cc->evac_start = addr;
	cc->evac_end = end;
	for (addr += PAGE_SIZE; addr < end; addr += PAGE_SIZE) {
		unsigned long t = contig_target(cc->anchor, addr);
		struct folio_walk fw;
		struct folio *folio;

		if (contig_target_end(cc->anchor, addr) != limit) {
			cc->evac_end = addr;	/* the next segment */
			break;
		}
		if (t == cc->pfn)
			continue;	/* the page being moved */
		folio = folio_walk_start(&fw, cc->vma, addr, 0);
		if (!folio)
			continue;
		if (folio_test_large(folio) || page_to_pfn(fw.page) == t) {
			folio_walk_end(&fw, cc->vma);
			continue;
		}
		folio_get(folio);
		folio_walk_end(&fw, cc->vma);
		rc = exchange_evac_add(ev, t, folio);
		folio_put(folio);
		if (rc == -ENOSPC || rc == -EXDEV) {
			cc->evac_end = addr;
			break;
		}
	}
	moved = exchange_evac_run(ev, MIGRATE_SYNC_LIGHT);
	WRITE_ONCE(kcontigd_occupants_evacuated,
		   kcontigd_occupants_evacuated + moved);
	/* Free unless its occupant stayed: the visit again will tell. */
	return moved || first == -ENOENT;
}

/* Free the target frames at @target by alloc_contig_range(), then migrate. */
static int contig_take_and_migrate(struct page *page, unsigned long target)
{
	WRITE_ONCE(kcontigd_alloc_contig_calls,
		   kcontigd_alloc_contig_calls + 1);
	return exchange_fallback_migrate(page, target, MIGRATE_SYNC_LIGHT);
}

/*
 * Move the order-0 folio of @page, mapped at @addr, onto frame @target.
 * The caller's reference on it is consumed.
 */
static enum contig_outcome contig_move_small(struct contig_walk_control *cc,
					     struct page *page,
					     unsigned long addr,
					     unsigned long target)
{
	unsigned long limit = contig_target_end(cc->anchor, addr);
	struct page *tpage = pfn_to_online_page(target);
	enum contig_outcome out = CONTIG_HOLE;
	struct folio *tfolio;
	int rc;

	if (!tpage) {
		cc->reason = CONTIG_R_OFFLINE;
		goto put;
	}
	if (folio_maybe_dma_pinned(page_folio(page))) {
		cc->reason = CONTIG_R_PINNED;
		goto put;
	}
	if (!PageBuddy(tpage) && get_page_unless_zero(tpage)) {
		tfolio = page_folio(tpage);
		if (!folio_test_large(tfolio) && folio_test_lru(tfolio)) {
			rc = exchange_batch_add(cc->xbatch, page, tpage,
						MIGRATE_ASYNC);
			if (rc >= 0) {
				/* The batch has both references now. */
				cc->xaddr[rc] = addr;
				cc->xpfn[rc] = page_to_pfn(page);
				return CONTIG_QUEUED;
			}
			/* -EBUSY also when a folio could not be isolated. */
			if (rc == -EBUSY && !folio_maybe_dma_pinned(tfolio) &&
			    !folio_maybe_dma_pinned(page_folio(page)))
				rc = -EAGAIN;
			folio_put(tfolio);
			if (rc == -EAGAIN && !contig_batches_empty(cc)) {
				out = CONTIG_RETRY;	/* a lock was busy */
				goto put;
			}
			if (rc != -EOPNOTSUPP) {	/* migration may know how */
				out = contig_exchange_outcome(rc, &cc->reason);
				goto put;
			}
		} else {
			bool movable = folio_test_lru(tfolio) ||
				       __folio_test_movable(tfolio);

			folio_put(tfolio);
			if (!movable) {
				cc->reason = CONTIG_R_UNMOVABLE;
				goto put;
			}
		}
	}
	/* Free: migrate into the frame taken off the free lists. */
	tpage = contig_spare_take(&cc->spare, target, 0, limit);
	if (tpage)
		return contig_queue_move(cc, page, tpage, addr);
	/* In a per-CPU list, or an occupant only migration can move away. */
	if (!contig_batches_empty(cc)) {
		out = CONTIG_RETRY;
		goto put;
	}
	/*
	 * Once per page and visit, and only for a page migration takes (not
	 * an mlocked one under compact_unevictable_allowed=0, say): then the
	 * slow way, one frame.
	 */
	if (READ_ONCE(contig_evacuate_on) &&
	    (addr < cc->evac_start || addr >= cc->evac_end) &&
	    !exchange_migrate_check(page_folio(page)) &&
	    contig_evacuate(cc, addr, target)) {
		out = CONTIG_RETRY;
		goto put;
	}
	rc = contig_take_and_migrate(page, target);
	out = contig_fallback_outcome(rc, &cc->reason);
	if (!contig_hole_off_node(cc, out, cc->pfn, target))
		return out;
	/* The fallback took the reference: the page again, if still there. */
	page = contig_page_again(cc, addr);
	if (!page)
		return out;
put:
	return contig_place_on_node(cc, page, target, out);
}

/*
 * A large folio mapped whole by this vma (from its first page, at an
 * address aligned to its size): move it whole onto its target or leave
 * it where it is; it stays as large as it is. A folio this vma maps only
 * in part is split, but only when no other mapping maps it: not while a
 * PMD maps it whole somewhere (after fork and a COW of one of its pages,
 * say), as the split would split that PMD too. So kcontigd never undoes
 * what a THP fault, khugepaged or MADV_COLLAPSE built.
 * The caller's reference on @folio is consumed.
 */
static enum contig_outcome contig_move_large(struct contig_walk_control *cc,
					     struct folio *folio,
					     struct page *page, bool pmd_mapped,
					     unsigned long addr,
					     unsigned long target)
{
	unsigned long limit = contig_target_end(cc->anchor, addr);
	unsigned long nr = folio_nr_pages(folio), size = nr << PAGE_SHIFT;
	unsigned int order = folio_order(folio);
	enum contig_outcome out = CONTIG_SPLIT;
	struct page *tpage;
	int rc;

	if (pmd_mapped ||
	    (page == folio_page(folio, 0) &&
	     !folio_test_partially_mapped(folio) && IS_ALIGNED(addr, size) &&
	     addr + size <= cc->vma->vm_end)) {
		out = CONTIG_HOLE;
		if (folio_maybe_dma_pinned(folio)) {
			cc->reason = CONTIG_R_PINNED;
			goto put;
		}
		/* Whole, only within the segment: never into another's frames. */
		if (page != folio_page(folio, 0) || !IS_ALIGNED(target, nr) ||
		    target + nr > limit) {
			cc->reason = CONTIG_R_LARGE_FOLIO;
			goto put;
		}
		tpage = pfn_to_online_page(target);
		if (!tpage) {
			cc->reason = CONTIG_R_OFFLINE;
			goto put;
		}
		if (!PageBuddy(tpage) && get_page_unless_zero(tpage)) {
			struct folio *tfolio = page_folio(tpage);

			rc = -EINVAL;
			if (folio_order(tfolio) == order &&
			    tpage == folio_page(tfolio, 0) &&
			    folio_test_lru(tfolio))
				rc = exchange_pages(page, tpage, MIGRATE_ASYNC);
			folio_put(tfolio);
			if (!rc) {
				out = CONTIG_EXCHANGED;
				goto put;
			}
		}
		/* Free frames: migrate the folio into them whole. */
		tpage = contig_spare_take(&cc->spare, target, order, limit);
		if (tpage)
			return contig_queue_move(cc, page, tpage, addr);
		/* Else free them: their occupants migrate elsewhere first. */
		rc = contig_take_and_migrate(page, target);
		return contig_fallback_outcome(rc, &cc->reason);
	}
	/*
	 * Mapped here in part: split it and move its pages one by one, but
	 * leave it whole when a PMD or another process maps it.
	 */
	if (folio_entire_mapcount(folio) || folio_likely_mapped_shared(folio)) {
		cc->reason = CONTIG_R_LARGE_FOLIO;
		out = CONTIG_HOLE;
		goto put;
	}
	if (!folio_trylock(folio)) {
		cc->reason = CONTIG_R_BUSY;
		out = CONTIG_FAILED;
		goto put;
	}
	rc = split_folio(folio);
	folio_unlock(folio);
	if (rc) {
		bool pinned = folio_maybe_dma_pinned(folio);

		cc->reason = pinned ? CONTIG_R_PINNED : CONTIG_R_SPLIT_FAILED;
		out = pinned ? CONTIG_HOLE : CONTIG_FAILED;
		goto put;
	}
	WRITE_ONCE(kcontigd_thp_split, kcontigd_thp_split + 1);
put:
	folio_put(folio);
	return out;
}

/*
 * Put the page mapped at @addr onto its target. Sets cc->nr to the pages
 * the visit covered (0: visit @addr again, after a split or the batches)
 * and cc->pfn to the page's frame.
 */
static enum contig_outcome contig_move_one(struct contig_walk_control *cc,
					   unsigned long addr)
{
	struct vm_area_struct *vma = cc->vma;
	unsigned long target = contig_target(cc->anchor, addr), rest;
	enum contig_outcome out;
	struct folio_walk fw;
	struct folio *folio;
	struct page *page;
	bool pmd_mapped;

	cc->nr = 1;
	folio = folio_walk_start(&fw, vma, addr, 0);
	if (!folio) {
		/* Maybe a page a waiting exchange has unmapped. */
		if (contig_batches_empty(cc))
			return CONTIG_ABSENT;
		cc->nr = 0;
		return CONTIG_RETRY;
	}
	page = fw.page;
	cc->pfn = page_to_pfn(page);
	pmd_mapped = fw.level == FW_LEVEL_PMD;
	/* From @page, the rest of a large folio: one outcome for all. */
	rest = min_t(unsigned long,
		     folio_nr_pages(folio) - folio_page_idx(folio, page),
		     (vma->vm_end - addr) >> PAGE_SHIFT);
	if (cc->pfn == target) {
		/* In place as a whole: a PMD maps one frame range. */
		if (pmd_mapped)
			cc->nr = rest;
		folio_walk_end(&fw, vma);
		return CONTIG_IN_PLACE;
	}
	/* Large folios move or split only with the batches empty. */
	if (!contig_batches_empty(cc) &&
	    (folio_test_large(folio) || contig_queued(cc, cc->pfn))) {
		folio_walk_end(&fw, vma);
		cc->nr = 0;
		return CONTIG_RETRY;
	}
	folio_get(folio);
	folio_walk_end(&fw, vma);

	/* The move functions consume the reference. */
	if (folio_test_ksm(folio) || folio_is_zone_device(folio)) {
		cc->reason = CONTIG_R_UNSUPPORTED;
		out = CONTIG_HOLE;
		folio_put(folio);
	} else if (folio_test_large(folio)) {
		out = contig_move_large(cc, folio, page, pmd_mapped, addr,
					target);
		/*
		 * Split: visit its pages one by one. Failed or a hole: not
		 * 511 more split attempts on the same pinned or busy THP.
		 */
		cc->nr = out == CONTIG_SPLIT ? 0 : rest;
	} else {
		out = contig_move_small(cc, page, addr, target);
		if (out == CONTIG_RETRY)
			cc->nr = 0;	/* run the batches, then visit again */
	}
	return out;
}

/*
 * The segment of a settled multi-segment anchor worth a range of its own:
 * the one with the most holes whose target frame another page holds (a
 * page taken, pinned or unmovable, since the choice; each splits the
 * segment's run in two, one run more than the anchor needs), or -1.
 */
static int contig_taken_seg(const struct contig_anchor *a)
{
	int i, worst = -1;

	if (a->nr_segs < 2 || a->reanchors >= CONTIG_MAX_REANCHORS)
		return -1;
	for (i = 0; i < a->nr_segs; i++)
		if (a->walk.taken[i] &&
		    (worst < 0 || a->walk.taken[i] > a->walk.taken[worst]))
			worst = i;
	return worst;
}

/*
 * Give segment @i of @a, some of its frames held by others (counted by the
 * walk just ended), a range of its own elsewhere if one with fewer
 * unmovable pages fits it; the
 * other segments keep their frames, so only its pages move again. Returns
 * 0 when @a is working again, on its new range.
 */
static int contig_reanchor_seg(struct kcontigd_mm_slot *mm_slot,
			       struct vm_area_struct *vma,
			       struct contig_anchor *a, unsigned int i)
{
	unsigned long taken = a->walk.taken[i];
	struct contig_seg seg[CONTIG_MAX_SEGS];
	int nid = contig_vma_node(vma);
	enum contig_reason reason;
	struct contig_candidate c;

	a->reanchors++;
	memcpy(seg, a->seg, a->nr_segs * sizeof(*seg));
	if (contig_choose_range(vma, nid, seg[i].vpn, seg[i].nr, seg,
				a->nr_segs, &c, &reason))
		return -ENOSPC;
	if (c.unmovable >= taken)
		return -EEXIST;		/* no better than where it is */
	seg[i].pfn = c.pfn;
	if (contig_install_anchor(mm_slot, vma, a, seg, a->nr_segs))
		return -ENOSPC;
	trace_kcontigd_anchor(vma->vm_mm, seg[i].vpn << PAGE_SHIFT,
			      (seg[i].vpn + seg[i].nr) << PAGE_SHIFT, c.pfn,
			      nid, c.unmovable, c.free);
	WRITE_ONCE(kcontigd_reanchors, kcontigd_reanchors + 1);
	count_vm_event(CONTIG_REANCHORS);
	return 0;
}

/*
 * Did the walk just ended find more than 1 in 64 of the resident pages
 * holes for want of their target frames, held by others, with a re-anchor
 * left? Then the range was a poor choice (or has become one): the vma
 * gets another instead of settling with the holes.
 */
static bool contig_mostly_taken(const struct contig_anchor *a,
				unsigned long resident)
{
	unsigned long taken = 0;
	unsigned int i;

	for (i = 0; i < a->nr_segs; i++)
		taken += a->walk.taken[i];
	return taken * 64 > resident && a->reanchors < CONTIG_MAX_REANCHORS;
}

/* A walk reached the end of the vma: decide what comes next. */
static void contig_finish_walk(struct contig_walk_control *cc)
{
	struct kcontigd_mm_slot *mm_slot = cc->mm_slot;
	struct vm_area_struct *vma = cc->vma;
	struct contig_anchor *a = cc->anchor;
	unsigned long resident = a->walk.in_place + a->walk.holes +
				 a->walk.failed;
	struct contig_seg seg[CONTIG_MAX_SEGS];
	enum contig_reason reason;
	bool reanchor = false;
	int nr_segs, split = -1;

	atomic_long_add(a->walk.in_place - a->in_place, &contig_pages_in_place);
	spin_lock(&mm_slot->lock);
	a->in_place = a->walk.in_place;
	a->holes = a->walk.holes;
	spin_unlock(&mm_slot->lock);
	a->cursor = vma->vm_start;
	if (!a->walk.failed && !a->walk.moved)
		split = contig_taken_seg(a);
	if (split >= 0 &&
	    !contig_reanchor_seg(mm_slot, vma, a, split)) {
		/* Working again, on the segment's new range. */
	} else if (!a->walk.failed && !a->walk.moved &&
		   !contig_mostly_taken(a, resident)) {
		/* Stable: everything in place or a hole. */
		contig_set_state(mm_slot, a, CONTIG_DONE, a->walk.holes ?
				 CONTIG_R_HOLES : CONTIG_R_NONE);
		a->next_check = kcontigd_full_scans + a->backoff;
		a->backoff = min(a->backoff * 2, CONTIG_MAX_BACKOFF);
		/* All in place: later holes get their re-anchors afresh. */
		if (!a->walk.holes)
			a->reanchors = 0;
	} else if (a->walk.holes * 64 > resident &&
		   a->reanchors < CONTIG_MAX_REANCHORS) {
		reanchor = true;
	} else {
		contig_set_state(mm_slot, a, CONTIG_WORKING, CONTIG_R_NONE);
		a->backoff = 1;
	}
	a->walk = (struct contig_walk){ };

	trace_kcontigd_vma_end(vma->vm_mm, vma->vm_start, a->in_place,
			       a->holes, a->state);
	/* Once per time the vma gets all in place, not per maintenance walk. */
	if (a->state != CONTIG_DONE || a->holes) {
		a->counted_done = false;
	} else if (!a->counted_done) {
		a->counted_done = true;
		count_vm_event(CONTIG_VMAS_DONE);
	}
	if (!reanchor)
		return;

	a->reanchors++;
	/* The old range is still taken: the new one lies elsewhere. */
	nr_segs = contig_choose_anchor(vma, seg, &reason);
	if (nr_segs > 0 &&
	    !contig_install_anchor(mm_slot, vma, a, seg, nr_segs)) {
		WRITE_ONCE(kcontigd_reanchors, kcontigd_reanchors + 1);
		count_vm_event(CONTIG_REANCHORS);
	} else {
		contig_set_state(mm_slot, a, CONTIG_DONE, CONTIG_R_HOLES);
		a->next_check = kcontigd_full_scans + a->backoff;
	}
}

/* Count the outcome of moving the @nr pages at @addr, from frame @pfn. */
static void contig_account(struct contig_walk_control *cc, unsigned long addr,
			   unsigned long pfn, enum contig_outcome out,
			   unsigned long nr, enum contig_reason why)
{
	struct contig_anchor *a = cc->anchor;

	switch (out) {
	case CONTIG_ABSENT:
	case CONTIG_QUEUED:	/* counted when the batch runs */
	case CONTIG_RETRY:
		return;
	case CONTIG_IN_PLACE:
		a->walk.in_place += nr;
		count_vm_events(CONTIG_PAGES_IN_PLACE, nr);
		return;
	case CONTIG_EXCHANGED:
	case CONTIG_MIGRATED:
		a->walk.in_place += nr;
		a->walk.moved += nr;
		cc->moved += nr;
		if (out == CONTIG_EXCHANGED) {
			WRITE_ONCE(kcontigd_pages_exchanged,
				   kcontigd_pages_exchanged + nr);
			count_vm_events(CONTIG_PAGES_EXCHANGED, nr);
		} else {
			WRITE_ONCE(kcontigd_pages_migrated,
				   kcontigd_pages_migrated + nr);
			count_vm_events(CONTIG_PAGES_MIGRATED, nr);
		}
		break;
	case CONTIG_SPLIT:
		a->walk.moved++;	/* progress: visit again */
		cc->moved++;
		break;
	case CONTIG_HOLE:
		a->walk.holes += nr;
		if (contig_target_taken(why)) {
			const struct contig_seg *seg;

			seg = contig_seg_of(a->seg, a->nr_segs,
					    addr >> PAGE_SHIFT);
			if (seg)
				a->walk.taken[seg - a->seg] += nr;
		}
		break;
	case CONTIG_FAILED:
		a->walk.failed += nr;
		WRITE_ONCE(kcontigd_pages_failed, kcontigd_pages_failed + nr);
		count_vm_events(CONTIG_PAGES_FAILED, nr);
		break;
	}
	trace_kcontigd_page(cc->vma->vm_mm, cc->vma->vm_start, addr, pfn,
			    contig_target(a, addr), out, why);
}

/*
 * Finish the exchanges waiting in cc->xbatch, then migrate the pages
 * queued in cc->moves, and count the outcomes.
 */
static void contig_batches_run(struct contig_walk_control *cc)
{
	unsigned int i, nr = exchange_batch_nr(cc->xbatch);
	enum contig_outcome out;
	enum contig_reason why;

	exchange_batch_run(cc->xbatch, cc->xrc);
	for (i = 0; i < nr; i++) {
		why = CONTIG_R_NONE;
		out = contig_exchange_outcome(cc->xrc[i], &why);
		contig_account(cc, cc->xaddr[i], cc->xpfn[i], out, 1, why);
	}

	nr = cc->moves->nr;
	if (!nr)
		return;
	exchange_move_run(cc->moves, MIGRATE_SYNC_LIGHT);
	for (i = 0; i < nr; i++) {
		struct exchange_move *m = &cc->moves->move[i];

		contig_account(cc, cc->moves_addr[i], m->src_pfn,
			       m->done ? CONTIG_MIGRATED : CONTIG_FAILED,
			       m->nr, m->done ? CONTIG_R_NONE : CONTIG_R_BUSY);
	}
}

/* Should the walk stop here, to resume at the same place next pass? */
static bool contig_walk_yield(struct contig_walk_control *cc,
			      unsigned long visits)
{
	/* Let writers and other mms in. */
	return visits >= cc->budget || kthread_should_stop() ||
	       kcontigd_mm_wanted(cc->vma->vm_mm) ||
	       time_after(jiffies, cc->deadline);
}

/*
 * Work on the vma cc->vma with anchor cc->anchor for at most cc->budget
 * page visits. Returns the visits made.
 */
static unsigned long contig_defrag_vma(struct contig_walk_control *cc)
{
	struct kcontigd_mm_slot *mm_slot = cc->mm_slot;
	struct vm_area_struct *vma = cc->vma;
	struct contig_anchor *a = cc->anchor;
	unsigned long addr, next, visits = 0;
	enum contig_outcome out;

	/*
	 * KSM is to merge this vma's pages into shared ones, which stay where
	 * they are: moving its pages would only make ksmd's merges fail
	 * (their references and isolation look like a user's). KSM wins.
	 */
	if (vma->vm_flags & VM_MERGEABLE) {
		if (a->state != CONTIG_BLOCKED)
			contig_set_state(mm_slot, a, CONTIG_BLOCKED,
					 CONTIG_R_KSM);
		a->not_before = jiffies + CONTIG_KSM_SETTLE;
		return 1;
	}
	/*
	 * Un-merging copied every page just now: the owner is busy with
	 * them (and may be checking that no two map one frame, reading
	 * pagemap one page at a time, which an exchange of two of them in
	 * between would fool). Give it a moment before moving them.
	 */
	if (time_before(jiffies, a->not_before))
		return 1;
	if (a->anchored && a->state == CONTIG_BLOCKED)
		contig_set_state(mm_slot, a, CONTIG_WORKING, CONTIG_R_NONE);
	if (!a->anchored) {
		/*
		 * Retry a blocked vma CONTIG_MAX_BACKOFF passes after it was
		 * blocked. One that a pass could not reach (the mmap lock
		 * hold time ran out) stays due, and gets its turn next pass.
		 */
		if (a->state == CONTIG_BLOCKED &&
		    time_before(kcontigd_full_scans, a->next_check))
			return 1;
		if (contig_anchor_vma(mm_slot, vma, a))
			return 1;
	}
	/* A maintenance walk of a done vma: it stays done until it finds work. */
	if (a->state == CONTIG_DONE &&
	    time_before(kcontigd_full_scans, a->next_check))
		return 1;
	if (a->cursor == vma->vm_start)
		trace_kcontigd_vma_start(vma->vm_mm, vma->vm_start,
					 a->seg[0].pfn, a->reanchors);

	cc->spare = (struct contig_spare){ };
	cc->evac_start = 0;
	cc->evac_end = 0;
	for (addr = a->cursor; addr < vma->vm_end &&
	     !contig_walk_yield(cc, visits); addr += cc->nr << PAGE_SHIFT) {
		cc->reason = CONTIG_R_NONE;
		out = contig_move_one(cc, addr);
		visits += max(cc->nr, 1UL);
		contig_account(cc, addr, cc->pfn, out, cc->nr, cc->reason);
		/*
		 * Run the batches when asked to, when one is full, or when
		 * they hold the next target.
		 */
		next = addr + (cc->nr << PAGE_SHIFT);
		if (out == CONTIG_RETRY ||
		    cc->moves->nr >= READ_ONCE(contig_batch) ||
		    exchange_batch_nr(cc->xbatch) >= READ_ONCE(contig_batch) ||
		    (next < vma->vm_end && contig_queued(cc, contig_target(a, next))))
			contig_batches_run(cc);
		cond_resched();
	}
	contig_batches_run(cc);
	contig_spare_release(&cc->spare, cc->spare.end);
	/*
	 * The folios moved wait in this CPU's LRU batches, off the LRU and
	 * with a reference more: reclaim, MADV_PAGEOUT and MADV_COLLAPSE
	 * would find them busy. Put them on the LRU now, as madvise does.
	 */
	if (visits)
		lru_add_drain();
	if (visits && addr < vma->vm_end)
		cc->walked = true;
	if (a->state == CONTIG_DONE && (a->walk.moved || a->walk.failed))
		contig_set_state(mm_slot, a, CONTIG_WORKING, CONTIG_R_NONE);
	a->cursor = addr;
	if (addr >= vma->vm_end)
		contig_finish_walk(cc);
	return visits;
}

/*
 * Visit the mm of @mm_slot; the caller holds an mm_users reference. Every
 * advised vma is matched with its anchor (see contig_match_anchors()),
 * then walked within the pass's budget and the mmap lock hold time.
 * Returns the pages moved.
 */
/* Out of budget or time, or asked to let go of the mm? */
static bool contig_scan_out(struct contig_walk_control *cc)
{
	return !cc->budget || kthread_should_stop() ||
	       time_after(jiffies, cc->deadline) ||
	       kcontigd_mm_wanted(cc->mm_slot->slot.mm);
}

/*
 * Walk the advised vmas of cc->mm_slot's mm from where the last visit
 * stopped, wrapping around once: every vma gets its turn however many
 * there are, not only the lowest ones each pass.
 */
static void contig_scan_vmas(struct contig_walk_control *cc)
{
	struct kcontigd_mm_slot *mm_slot = cc->mm_slot;
	unsigned long start = mm_slot->scan_addr, used;
	struct vm_area_struct *vma;
	struct contig_anchor *a;
	struct vma_iterator vmi;
	int round;

	for (round = 0; round < 2; round++) {
		vma_iter_init(&vmi, mm_slot->slot.mm, round ? 0 : start);
		for_each_vma(vmi, vma) {
			if (round && vma->vm_start >= start)
				break;
			if (!contig_vma_advised(mm_slot, vma))
				continue;
			if (contig_scan_out(cc)) {
				mm_slot->scan_addr = vma->vm_start;
				return;
			}
			spin_lock(&mm_slot->lock);
			a = contig_anchor_find(mm_slot, vma->vm_start,
					       vma->vm_end);
			spin_unlock(&mm_slot->lock);
			if (!a)
				continue;
			cc->vma = vma;
			cc->anchor = a;
			used = contig_defrag_vma(cc);
			cc->budget -= min(used, cc->budget);
			if (contig_scan_out(cc)) {
				/* In the middle of its walk: resume it. */
				mm_slot->scan_addr = a->cursor != vma->vm_start ?
						     vma->vm_start : vma->vm_end;
				return;
			}
		}
	}
	mm_slot->scan_addr = 0;
}

static unsigned long kcontigd_scan_mm(struct contig_walk_control *cc,
				      struct kcontigd_mm_slot *mm_slot)
{
	unsigned long generation = kcontigd_full_scans + 1;
	struct mm_struct *mm = mm_slot->slot.mm;
	ktime_t locked;
	struct kcontigd_mm_slot *unused = NULL;
	unsigned int nr_vmas;

	cc->mm_slot = mm_slot;
	cc->budget = READ_ONCE(kcontigd_pages_to_scan);
	cc->deadline = jiffies + msecs_to_jiffies(CONTIG_LOCK_HOLD_MS);
	cc->moved = 0;

	mmap_read_lock(mm);
	if (!kcontigd_enter_mm(mm)) {
		/* Paused: come back next pass. */
		kcontigd_leave_mm();
		mmap_read_unlock(mm);
		return 0;
	}
	locked = ktime_get();
	nr_vmas = contig_match_anchors(mm_slot, generation);
	contig_scan_vmas(cc);
	kcontigd_leave_mm();
	trace_kcontigd_scan_mm(mm, nr_vmas,
			       ktime_us_delta(ktime_get(), locked));

	/* Under the read lock: madvise() cannot register concurrently. */
	if (!nr_vmas) {
		spin_lock(&kcontigd_mm_lock);
		unused = kcontigd_unlink_mm(mm);
		if (unused)
			clear_bit(MMF_VM_CONTIG, &mm->flags);
		spin_unlock(&kcontigd_mm_lock);
	}
	mmap_read_unlock(mm);

	if (unused)
		kcontigd_free_slot(unused);
	cc->vma = NULL;
	cc->anchor = NULL;
	return cc->moved;
}

/* Is some anchored vma still being worked on? */
static bool kcontigd_has_work(void)
{
	return atomic_long_read(&contig_nr_busy) > 0;
}

/*
 * One full pass over the mms registered when it starts, each with a budget
 * of pages_to_scan page visits. Returns the pages moved.
 */
static unsigned long kcontigd_do_scan(struct contig_walk_control *cc)
{
	struct kcontigd_mm_slot *mm_slot;
	unsigned long moved = 0;
	unsigned int nr;

	spin_lock(&kcontigd_mm_lock);
	nr = kcontigd_nr_mms;
	spin_unlock(&kcontigd_mm_lock);

	while (nr-- && !kthread_should_stop()) {
		struct mm_struct *mm;

		/* A pass over many mms can outlast the freezer's timeout. */
		if (try_to_freeze())
			continue;
		mm_slot = kcontigd_next_mm();
		if (!mm_slot)
			break;
		mm = mm_slot->slot.mm;
		moved += kcontigd_scan_mm(cc, mm_slot);
		mmput(mm);
		cond_resched();
	}
	WRITE_ONCE(kcontigd_full_scans, kcontigd_full_scans + 1);
	return moved;
}

static bool kcontigd_should_wake(void)
{
	return kthread_should_stop() || READ_ONCE(kcontigd_wake_pending);
}

/*
 * Sleep until woken, or for @ms while processes are registered; with none
 * registered there is no timer and only madvise() wakes the thread.
 */
static void kcontigd_wait_work(unsigned int ms)
{
	if (kcontigd_has_mms()) {
		trace_kcontigd_sleep(ms);
		wait_event_freezable_timeout(kcontigd_wait,
					     kcontigd_should_wake(),
					     msecs_to_jiffies(ms));
	} else {
		trace_kcontigd_sleep(0);
		wait_event_freezable(kcontigd_wait, kcontigd_should_wake());
	}
	trace_kcontigd_wake(kcontigd_full_scans);
}

/*
 * The thread; @data is its struct contig_walk_control.
 *
 * While a vma still has work (pending or working), a pass that moved pages
 * or advanced a walk without ending it is followed by the next one at
 * once, and one that did neither (its owner kept taking the mmap lock, an
 * anchor was only just chosen, a walk ended without moving anything as
 * its pages keep failing) by a sleep that starts at CONTIG_RETRY_MS and
 * doubles with each such pass, up to scan_sleep_millisecs; only moved
 * pages reset it. A back-off in time for a real lack of progress, never a
 * full sleep between two steps of one job. With no work left it sleeps
 * scan_sleep_millisecs between maintenance passes.
 */
static int kcontigd(void *data)
{
	struct contig_walk_control *cc = data;
	unsigned int retry_ms = 0;

	set_freezable();
	set_user_nice(current, MAX_NICE);

	while (!kthread_should_stop()) {
		unsigned int sleep_ms = READ_ONCE(kcontigd_scan_sleep_millisecs);
		unsigned long moved = 0;

		WRITE_ONCE(kcontigd_wake_pending, false);
		cc->walked = false;
		if (kcontigd_has_mms())
			moved = kcontigd_do_scan(cc);
		if (!kcontigd_has_work()) {
			retry_ms = 0;
		} else if (moved || cc->walked) {
			/* A walk in progress is progress, its end is not. */
			if (moved)
				retry_ms = 0;
			try_to_freeze();
			cond_resched();
			continue;
		} else {
			retry_ms = clamp(retry_ms * 2, CONTIG_RETRY_MS,
					 sleep_ms);
			sleep_ms = retry_ms;
		}
		kcontigd_wait_work(sleep_ms);
	}
	return 0;
}

/* Start or stop the thread to match kcontigd_enabled; caller holds the mutex. */
static int kcontigd_start_stop_locked(void)
{
	struct task_struct *thread;

	lockdep_assert_held(&kcontigd_start_stop_lock);
	if (kcontigd_enabled && !kcontigd_thread) {
		/* The thread may be stopped before it runs: the cc is ours. */
		kcontigd_cc = contig_walk_control_alloc();
		if (!kcontigd_cc)
			return -ENOMEM;
		thread = kthread_run(kcontigd, kcontigd_cc, "kcontigd");
		if (IS_ERR(thread)) {
			pr_err("cannot start the kcontigd thread: %ld\n",
			       PTR_ERR(thread));
			contig_walk_control_free(kcontigd_cc);
			kcontigd_cc = NULL;
			return PTR_ERR(thread);
		}
		kcontigd_thread = thread;
	} else if (!kcontigd_enabled && kcontigd_thread) {
		kthread_stop(kcontigd_thread);
		kcontigd_thread = NULL;
		contig_walk_control_free(kcontigd_cc);
		kcontigd_cc = NULL;
	}
	return 0;
}

/* Set kcontigd_enabled and start or stop the thread; on error keep the old. */
static int kcontigd_set_enabled(bool enable)
{
	bool old;
	int err;

	mutex_lock(&kcontigd_start_stop_lock);
	old = kcontigd_enabled;
	WRITE_ONCE(kcontigd_enabled, enable);
	err = kcontigd_start_stop_locked();
	if (err)
		WRITE_ONCE(kcontigd_enabled, old);
	mutex_unlock(&kcontigd_start_stop_lock);
	return err;
}

static void contig_show_vma(struct seq_file *m, struct vm_area_struct *vma,
			    bool show_anchor)
{
	enum contig_reason reason = CONTIG_R_NONE;
	enum contig_state state = CONTIG_PENDING;
	struct kcontigd_mm_slot *mm_slot;
	unsigned long holes = 0, r99 = 0;
	struct contig_stats st = { };
	struct contig_anchor *a;
	unsigned int i;

	/* kcontigd_mm_lock: the slot stays linked while we look. */
	spin_lock(&kcontigd_mm_lock);
	mm_slot = contig_slot_locked(vma->vm_mm);
	if (mm_slot) {
		spin_lock(&mm_slot->lock);
		a = contig_anchor_find(mm_slot, vma->vm_start, vma->vm_end);
		if (a) {
			state = a->state;
			reason = a->reason;
			holes = a->holes;
			if (a->anchored) {
				st.nr_segs = a->nr_segs;
				memcpy(st.seg, a->seg, sizeof(st.seg));
			}
		}
		spin_unlock(&mm_slot->lock);
	}
	spin_unlock(&kcontigd_mm_lock);

	/* Count the runs, then walk again to collect their lengths for R99. */
	walk_page_range_vma(vma, vma->vm_start, vma->vm_end,
			    &contig_stats_walk_ops, &st);
	contig_stats_end_run(&st);
	if (st.runs) {
		struct contig_stats again = {
			.max_lens = st.runs,
			.lens = kvmalloc_array(st.runs, sizeof(*st.lens),
					       GFP_KERNEL),
		};

		if (again.lens) {
			walk_page_range_vma(vma, vma->vm_start, vma->vm_end,
					    &contig_stats_walk_ops, &again);
			contig_stats_end_run(&again);
			r99 = contig_r99(again.lens, min(again.runs, st.runs),
					 again.resident);
			kvfree(again.lens);
		}
	}

	seq_printf(m, "%lx-%lx state=%s resident=%lu in_place=%lu runs=%lu largest=%lu r99=%lu holes=%lu",
		   vma->vm_start, vma->vm_end, contig_state_names[state],
		   st.resident, st.in_place, st.runs, st.largest, r99, holes);
	if (reason != CONTIG_R_NONE)
		seq_printf(m, " reason=%s", contig_reason_names[reason]);
	if (show_anchor) {
		for (i = 0; i < st.nr_segs; i++)
			seq_printf(m, "%s0x%lx:0x%lx", i ? "," : " anchor=",
				   st.seg[i].vpn << PAGE_SHIFT, st.seg[i].pfn);
		if (!st.nr_segs)
			seq_puts(m, " anchor=none");
	}
	seq_putc(m, '\n');
}

/*
 * contig_vma_advised() for a reader holding only the mmap read lock, not
 * the slot: kcontigd_mm_lock keeps the slot linked while it looks.
 */
static bool contig_vma_advised_lookup(struct vm_area_struct *vma)
{
	bool advised;

	if (vma->vm_flags & VM_CONTIG)
		return true;
	spin_lock(&kcontigd_mm_lock);
	advised = contig_vma_advised(contig_slot_locked(vma->vm_mm), vma);
	spin_unlock(&kcontigd_mm_lock);
	return advised;
}

/**
 * proc_pid_contig - show /proc/<pid>/contig
 * @m: the seq_file
 * @ns: the pid namespace of the proc mount
 * @pid: the pid
 * @task: the task
 *
 * One line per advised vma. Readers need PTRACE_MODE_READ on @task;
 * anchors (physical addresses) are shown to CAP_SYS_ADMIN only.
 *
 * Return: 0 or a negative errno.
 */
int proc_pid_contig(struct seq_file *m, struct pid_namespace *ns,
		    struct pid *pid, struct task_struct *task)
{
	bool show_anchor = file_ns_capable(m->file, &init_user_ns,
					   CAP_SYS_ADMIN);
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	struct mm_struct *mm;

	mm = mm_access(task, PTRACE_MODE_READ_FSCREDS);
	if (IS_ERR_OR_NULL(mm))
		return mm ? PTR_ERR(mm) : 0;

	if (mmap_read_lock_killable(mm)) {
		mmput(mm);
		return -EINTR;
	}
	vma_iter_init(&vmi, mm, 0);
	for_each_vma(vmi, vma) {
		if (contig_vma_advised_lookup(vma))
			contig_show_vma(m, vma, show_anchor);
	}
	mmap_read_unlock(mm);
	mmput(mm);
	return 0;
}

#ifdef CONFIG_SYSFS
static ssize_t enabled_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(kcontigd_enabled));
}

static ssize_t enabled_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	unsigned int val;
	int err;

	if (kstrtouint(buf, 10, &val) || val > 1)
		return -EINVAL;

	err = kcontigd_set_enabled(val);
	return err ? err : count;
}

static struct kobj_attribute enabled_attr = __ATTR_RW(enabled);

/* A store to a bounded unsigned int knob: -EINVAL and no change if out. */
static ssize_t kcontigd_store_uint(const char *buf, size_t count,
				   unsigned int *knob, unsigned int min,
				   unsigned int max)
{
	unsigned int val;

	if (kstrtouint(buf, 10, &val) || val < min || val > max)
		return -EINVAL;
	WRITE_ONCE(*knob, val);
	kcontigd_wake();
	return count;
}

#define KCONTIGD_UINT_ATTR(name, min, max)				\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%u\n", READ_ONCE(kcontigd_##name));	\
}									\
static ssize_t name##_store(struct kobject *kobj,			\
			    struct kobj_attribute *attr,		\
			    const char *buf, size_t count)		\
{									\
	return kcontigd_store_uint(buf, count, &kcontigd_##name,	\
				   min, max);				\
}									\
									\
static struct kobj_attribute name##_attr = __ATTR_RW(name)

KCONTIGD_UINT_ATTR(scan_sleep_millisecs, 1, KCONTIGD_SLEEP_MS_MAX);
KCONTIGD_UINT_ATTR(pages_to_scan, 1, KCONTIGD_PAGES_TO_SCAN_MAX);
KCONTIGD_UINT_ATTR(max_anchored_percent, 1, 100);
KCONTIGD_UINT_ATTR(max_anchored_percent_per_user, 1, 100);

static ssize_t unprivileged_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  READ_ONCE(kcontigd_unprivileged) ? "allow" : "deny");
}

static ssize_t unprivileged_store(struct kobject *kobj,
				  struct kobj_attribute *attr,
				  const char *buf, size_t count)
{
	if (sysfs_streq(buf, "allow"))
		WRITE_ONCE(kcontigd_unprivileged, true);
	else if (sysfs_streq(buf, "deny"))
		WRITE_ONCE(kcontigd_unprivileged, false);
	else
		return -EINVAL;
	return count;
}

static struct kobj_attribute unprivileged_attr = __ATTR_RW(unprivileged);

static ssize_t full_scans_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(kcontigd_full_scans));
}

static struct kobj_attribute full_scans_attr = __ATTR_RO(full_scans);

#define KCONTIGD_COUNTER_ATTR(name, expr)				\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%lu\n", (unsigned long)(expr));	\
}									\
									\
static struct kobj_attribute name##_attr = __ATTR_RO(name)

KCONTIGD_COUNTER_ATTR(pages_exchanged, READ_ONCE(kcontigd_pages_exchanged));
KCONTIGD_COUNTER_ATTR(pages_migrated, READ_ONCE(kcontigd_pages_migrated));
KCONTIGD_COUNTER_ATTR(pages_failed, READ_ONCE(kcontigd_pages_failed));
KCONTIGD_COUNTER_ATTR(occupants_evacuated,
		      READ_ONCE(kcontigd_occupants_evacuated));
KCONTIGD_COUNTER_ATTR(alloc_contig_calls,
		      READ_ONCE(kcontigd_alloc_contig_calls));
KCONTIGD_COUNTER_ATTR(thp_split, READ_ONCE(kcontigd_thp_split));
KCONTIGD_COUNTER_ATTR(reanchors, READ_ONCE(kcontigd_reanchors));
KCONTIGD_COUNTER_ATTR(anchors, READ_ONCE(contig_nr_anchors));
KCONTIGD_COUNTER_ATTR(anchored_pages, READ_ONCE(contig_anchored_pages));

static ssize_t pages_in_place_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read(&contig_pages_in_place));
}

static struct kobj_attribute pages_in_place_attr = __ATTR_RO(pages_in_place);

static ssize_t mms_registered_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(kcontigd_nr_mms));
}

static struct kobj_attribute mms_registered_attr = __ATTR_RO(mms_registered);

static ssize_t running_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	bool running;

	mutex_lock(&kcontigd_start_stop_lock);
	running = !!kcontigd_thread;
	mutex_unlock(&kcontigd_start_stop_lock);
	return sysfs_emit(buf, "%d\n", running);
}

static struct kobj_attribute running_attr = __ATTR_RO(running);

static struct attribute *kcontigd_attrs[] = {
	&enabled_attr.attr,
	&scan_sleep_millisecs_attr.attr,
	&pages_to_scan_attr.attr,
	&max_anchored_percent_attr.attr,
	&max_anchored_percent_per_user_attr.attr,
	&unprivileged_attr.attr,
	&full_scans_attr.attr,
	&mms_registered_attr.attr,
	&running_attr.attr,
	&pages_exchanged_attr.attr,
	&pages_migrated_attr.attr,
	&pages_in_place_attr.attr,
	&pages_failed_attr.attr,
	&occupants_evacuated_attr.attr,
	&alloc_contig_calls_attr.attr,
	&thp_split_attr.attr,
	&anchors_attr.attr,
	&anchored_pages_attr.attr,
	&reanchors_attr.attr,
	NULL,
};

static const struct attribute_group kcontigd_attr_group = {
	.attrs = kcontigd_attrs,
	.name = "kcontigd",
};

static int __init kcontigd_sysfs_init(void)
{
	int err = sysfs_create_group(mm_kobj, &kcontigd_attr_group);

	if (err)
		pr_err("cannot create /sys/kernel/mm/kcontigd: %d\n", err);
	return err;
}
#else
static inline int kcontigd_sysfs_init(void)
{
	return 0;
}
#endif /* CONFIG_SYSFS */

#ifdef CONFIG_DEBUG_FS
static int contig_batch_get(void *data, u64 *val)
{
	*val = READ_ONCE(contig_batch);
	return 0;
}

static int contig_batch_set(void *data, u64 val)
{
	if (val < 1 || val > CONTIG_BATCH)
		return -EINVAL;
	WRITE_ONCE(contig_batch, val);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(contig_batch_fops, contig_batch_get,
			 contig_batch_set, "%llu\n");

static void __init kcontigd_debugfs_init(void)
{
	debugfs_create_file_unsafe("kcontigd_batch", 0600, NULL, NULL,
				   &contig_batch_fops);
	debugfs_create_bool("kcontigd_evacuate", 0600, NULL,
			    &contig_evacuate_on);
}
#else
static inline void kcontigd_debugfs_init(void)
{
}
#endif

/* kcontigd=off: MADV_CONTIG registers memory, the thread waits for enabled. */
static int __init kcontigd_setup(char *str)
{
	bool on;

	if (kstrtobool(str, &on))
		pr_warn("kcontigd=%s is not on or off: ignored\n", str);
	else
		kcontigd_enabled = on;
	return 1;
}
__setup("kcontigd=", kcontigd_setup);

static int __init kcontigd_init(void)
{
	int err;

	/* Charged to the memcg of the process that asks (madvise). */
	kcontigd_slot_cache = KMEM_CACHE(kcontigd_mm_slot, SLAB_ACCOUNT);
	if (!kcontigd_slot_cache)
		return -ENOMEM;

	err = kcontigd_sysfs_init();
	if (err)
		return err;
	kcontigd_debugfs_init();

	err = kcontigd_set_enabled(kcontigd_enabled);
	if (!err)
		pr_info("%s; knobs in /sys/kernel/mm/kcontigd/\n",
			kcontigd_enabled ? "running" : "disabled (kcontigd=off)");
	return err;
}
subsys_initcall(kcontigd_init);

#ifdef CONFIG_MEM_DEFRAG_KUNIT_TEST
#include "tests/mem_defrag-kunit.h"
#endif
