// SPDX-License-Identifier: GPL-2.0
/*
 * kcontigd: make user memory physically contiguous on demand.
 *
 * madvise(MADV_CONTIG) sets VM_CONTIG on the advised part of a vma and
 * registers the mm with kcontigd: an mm_slot on kcontigd_mm_head, found by
 * kcontigd_mm_slots_hash, and MMF_VM_CONTIG on the mm. The kcontigd thread
 * visits the registered mms round robin, one full pass at a time
 * (full_scans counts passes), and drops an mm that no longer has a
 * VM_CONTIG vma. It sleeps without a timeout while nothing is registered.
 *
 * Lock ordering:
 *
 *   kcontigd_start_stop_lock (mutex: starting and stopping the thread)
 *   mmap_lock (read in kcontigd and /proc/pid/contig, write in madvise)
 *     kcontigd_mm_lock (spinlock: the slot hash, the slot list, counters)
 *
 * Lifetime of an mm_slot: it holds an mm_count reference (mmgrab). Before
 * touching an mm, kcontigd takes an mm_users reference (mmget_not_zero)
 * under kcontigd_mm_lock, so __mem_defrag_exit(), which __mmput() calls
 * once mm_users has dropped to zero, never runs while kcontigd works on
 * that mm. A slot is unlinked under kcontigd_mm_lock by exactly one of:
 * __mem_defrag_exit(), kcontigd finding mm_users already zero, or kcontigd
 * finding no VM_CONTIG vma left. The last happens under the mmap read lock,
 * so it cannot race with madvise(), which registers under the write lock.
 */

#define pr_fmt(fmt) "kcontigd: " fmt

#include <linux/freezer.h>
#include <linux/hugetlb.h>
#include <linux/kobject.h>
#include <linux/kthread.h>
#include <linux/mem_defrag.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pagewalk.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>
#include <linux/wait.h>

#include "mm_slot.h"

#define CREATE_TRACE_POINTS
#include <trace/events/kcontigd.h>

#define KCONTIGD_MM_SLOTS_HASH_BITS	10

/* Tunables, see Documentation/ABI/testing/sysfs-kernel-mm-kcontigd. */
static bool kcontigd_enabled __read_mostly = true;
static unsigned int kcontigd_scan_sleep_millisecs __read_mostly = 10000;
static unsigned int kcontigd_pages_to_scan __read_mostly = 4096;
static unsigned int kcontigd_max_anchored_percent __read_mostly = 50;

#define KCONTIGD_SLEEP_MS_MAX		(3600U * 1000U)
#define KCONTIGD_PAGES_TO_SCAN_MAX	(1U << 20)

struct kcontigd_mm_slot {
	struct mm_slot slot;
};

static DEFINE_HASHTABLE(kcontigd_mm_slots_hash, KCONTIGD_MM_SLOTS_HASH_BITS);
static LIST_HEAD(kcontigd_mm_head);
static DEFINE_SPINLOCK(kcontigd_mm_lock);
static unsigned int kcontigd_nr_mms;		/* under kcontigd_mm_lock */
static unsigned long kcontigd_full_scans;	/* written by kcontigd only */
static bool kcontigd_wake_pending;		/* a rescan was asked for */

static struct kmem_cache *kcontigd_slot_cache __ro_after_init;
static struct task_struct *kcontigd_thread;
static DEFINE_MUTEX(kcontigd_start_stop_lock);
static DECLARE_WAIT_QUEUE_HEAD(kcontigd_wait);

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

	mmgrab(mm);
	spin_lock(&kcontigd_mm_lock);
	mm_slot_insert(kcontigd_mm_slots_hash, mm, (&mm_slot->slot));
	list_add_tail(&mm_slot->slot.mm_node, &kcontigd_mm_head);
	kcontigd_nr_mms++;
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
	kcontigd_nr_mms--;
	clear_bit(MMF_VM_CONTIG, &mm->flags);
	return mm_slot_entry(slot, struct kcontigd_mm_slot, slot);
}

static void kcontigd_free_slot(struct kcontigd_mm_slot *mm_slot)
{
	struct mm_struct *mm = mm_slot->slot.mm;

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

/**
 * mem_defrag_madvise - apply MADV_CONTIG or MADV_NOCONTIG to a vma
 * @vma: the vma, with the mmap write lock held
 * @vm_flags: the vma's new flags, updated here
 * @advice: MADV_CONTIG or MADV_NOCONTIG
 *
 * MADV_CONTIG is refused for memory kcontigd cannot move: hugetlb,
 * VM_PFNMAP, VM_MIXEDMAP, VM_IO and other VM_SPECIAL mappings, and DAX.
 *
 * Return: 0, -EINVAL for a vma kcontigd cannot handle, -ENOMEM when the
 * registration could not be allocated.
 */
int mem_defrag_madvise(struct vm_area_struct *vma, unsigned long *vm_flags,
		       int advice)
{
	int err;

	trace_kcontigd_madvise(vma->vm_mm, vma->vm_start, vma->vm_end, advice);

	if (advice == MADV_NOCONTIG) {
		*vm_flags &= ~VM_CONTIG;
		return 0;
	}

	if ((*vm_flags & VM_SPECIAL) || is_vm_hugetlb_page(vma) ||
	    vma_is_dax(vma))
		return -EINVAL;

	err = kcontigd_register_mm(vma->vm_mm);
	if (err)
		return err;

	*vm_flags |= VM_CONTIG;
	kcontigd_wake();
	return 0;
}

/*
 * Take the next registered mm, moving its slot to the tail of the list,
 * with an mm_users reference the caller drops with mmput(). An mm found
 * exiting is dropped on the way. Returns NULL when nothing is registered.
 */
static struct mm_struct *kcontigd_next_mm(void)
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
			return mm;
		}
		dead = kcontigd_unlink_mm(mm);
		spin_unlock(&kcontigd_mm_lock);
		if (dead)
			kcontigd_free_slot(dead);
	}
}

/* Visit one registered mm; the caller holds an mm_users reference. */
static void kcontigd_scan_mm(struct mm_struct *mm)
{
	struct kcontigd_mm_slot *unused = NULL;
	struct vm_area_struct *vma;
	unsigned int nr_vmas = 0;
	VMA_ITERATOR(vmi, mm, 0);

	mmap_read_lock(mm);
	for_each_vma(vmi, vma) {
		if (vma->vm_flags & VM_CONTIG)
			nr_vmas++;
	}
	trace_kcontigd_scan_mm(mm, nr_vmas);

	/* Under the read lock: madvise() cannot register concurrently. */
	if (!nr_vmas) {
		spin_lock(&kcontigd_mm_lock);
		unused = kcontigd_unlink_mm(mm);
		spin_unlock(&kcontigd_mm_lock);
	}
	mmap_read_unlock(mm);

	if (unused)
		kcontigd_free_slot(unused);
}

/* One full pass over the mms registered when it starts. */
static void kcontigd_do_scan(void)
{
	unsigned int nr;

	spin_lock(&kcontigd_mm_lock);
	nr = kcontigd_nr_mms;
	spin_unlock(&kcontigd_mm_lock);

	while (nr-- && !kthread_should_stop()) {
		struct mm_struct *mm = kcontigd_next_mm();

		if (!mm)
			break;
		kcontigd_scan_mm(mm);
		mmput(mm);
		cond_resched();
	}
	WRITE_ONCE(kcontigd_full_scans, kcontigd_full_scans + 1);
}

static bool kcontigd_should_wake(void)
{
	return kthread_should_stop() || READ_ONCE(kcontigd_wake_pending);
}

static void kcontigd_wait_work(void)
{
	if (kcontigd_has_mms()) {
		unsigned int ms = READ_ONCE(kcontigd_scan_sleep_millisecs);

		trace_kcontigd_sleep(ms);
		wait_event_freezable_timeout(kcontigd_wait,
					     kcontigd_should_wake(),
					     msecs_to_jiffies(ms));
	} else {
		/* Nothing registered: no timer, only madvise() wakes us. */
		trace_kcontigd_sleep(0);
		wait_event_freezable(kcontigd_wait, kcontigd_should_wake());
	}
	trace_kcontigd_wake(kcontigd_full_scans);
}

static int kcontigd(void *none)
{
	set_freezable();
	set_user_nice(current, MAX_NICE);

	while (!kthread_should_stop()) {
		WRITE_ONCE(kcontigd_wake_pending, false);
		if (kcontigd_has_mms())
			kcontigd_do_scan();
		kcontigd_wait_work();
	}
	return 0;
}

/* Start or stop the thread to match kcontigd_enabled; caller holds the mutex. */
static int kcontigd_start_stop_locked(void)
{
	struct task_struct *thread;

	lockdep_assert_held(&kcontigd_start_stop_lock);
	if (kcontigd_enabled && !kcontigd_thread) {
		thread = kthread_run(kcontigd, NULL, "kcontigd");
		if (IS_ERR(thread)) {
			pr_err("cannot start the kcontigd thread: %ld\n",
			       PTR_ERR(thread));
			return PTR_ERR(thread);
		}
		kcontigd_thread = thread;
	} else if (!kcontigd_enabled && kcontigd_thread) {
		kthread_stop(kcontigd_thread);
		kcontigd_thread = NULL;
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

/* Contiguity statistics of one vma: see "Contiguity metrics" in the docs. */
struct contig_stats {
	unsigned long resident;		/* pages mapped */
	unsigned long runs;		/* maximal runs, see contig_stats_add() */
	unsigned long largest;		/* pages in the largest run */
	unsigned long cur_len;		/* pages in the current run */
	unsigned long next_vpn;		/* vpn that would extend the run */
	unsigned long next_pfn;		/* pfn that would extend the run */
};

/*
 * Account @nr pages mapped from @vpn on to consecutive pfns from @pfn. A
 * run goes on while both the virtual and the physical page numbers
 * increase by one per page; calls come in increasing @vpn order.
 */
static void contig_stats_add(struct contig_stats *st, unsigned long vpn,
			     unsigned long pfn, unsigned long nr)
{
	if (!nr)
		return;
	if (st->cur_len && vpn == st->next_vpn && pfn == st->next_pfn) {
		st->cur_len += nr;
	} else {
		st->runs++;
		st->cur_len = nr;
	}
	st->largest = max(st->largest, st->cur_len);
	st->resident += nr;
	st->next_vpn = vpn + nr;
	st->next_pfn = pfn + nr;
}

static int contig_stats_pmd_entry(pmd_t *pmd, unsigned long addr,
				  unsigned long end, struct mm_walk *walk)
{
	struct contig_stats *st = walk->private;
	struct vm_area_struct *vma = walk->vma;
	pte_t *start_pte, *pte;
	spinlock_t *ptl;

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

static void contig_show_vma(struct seq_file *m, struct vm_area_struct *vma,
			    bool show_anchor)
{
	struct contig_stats st = { };

	walk_page_range_vma(vma, vma->vm_start, vma->vm_end,
			    &contig_stats_walk_ops, &st);

	/* No defrag engine yet: every vma is pending and nothing is moved. */
	seq_printf(m, "%lx-%lx state=pending resident=%lu in_place=0 runs=%lu largest=%lu",
		   vma->vm_start, vma->vm_end, st.resident, st.runs, st.largest);
	if (show_anchor)
		seq_puts(m, " anchor=none");
	seq_putc(m, '\n');
}

/**
 * proc_pid_contig - show /proc/<pid>/contig
 * @m: the seq_file
 * @ns: the pid namespace of the proc mount
 * @pid: the pid
 * @task: the task
 *
 * One line per VM_CONTIG vma. Readers need PTRACE_MODE_READ on @task;
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
		if (vma->vm_flags & VM_CONTIG)
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

	if (kstrtouint(buf, 0, &val) || val < min || val > max)
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
static struct kobj_attribute name##_attr = __ATTR_RW(name)

KCONTIGD_UINT_ATTR(scan_sleep_millisecs, 1, KCONTIGD_SLEEP_MS_MAX);
KCONTIGD_UINT_ATTR(pages_to_scan, 1, KCONTIGD_PAGES_TO_SCAN_MAX);
KCONTIGD_UINT_ATTR(max_anchored_percent, 1, 100);

static ssize_t full_scans_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(kcontigd_full_scans));
}
static struct kobj_attribute full_scans_attr = __ATTR_RO(full_scans);

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
	running = kcontigd_thread != NULL;
	mutex_unlock(&kcontigd_start_stop_lock);
	return sysfs_emit(buf, "%d\n", running);
}
static struct kobj_attribute running_attr = __ATTR_RO(running);

static struct attribute *kcontigd_attrs[] = {
	&enabled_attr.attr,
	&scan_sleep_millisecs_attr.attr,
	&pages_to_scan_attr.attr,
	&max_anchored_percent_attr.attr,
	&full_scans_attr.attr,
	&mms_registered_attr.attr,
	&running_attr.attr,
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

static int __init kcontigd_init(void)
{
	int err;

	kcontigd_slot_cache = KMEM_CACHE(kcontigd_mm_slot, 0);
	if (!kcontigd_slot_cache)
		return -ENOMEM;

	err = kcontigd_sysfs_init();
	if (err)
		return err;

	return kcontigd_set_enabled(kcontigd_enabled);
}
subsys_initcall(kcontigd_init);

#ifdef CONFIG_MEM_DEFRAG_KUNIT_TEST
#include "tests/mem_defrag-kunit.h"
#endif
