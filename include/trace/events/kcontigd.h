/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kcontigd

#if !defined(_TRACE_KCONTIGD_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_KCONTIGD_H

#include <linux/tracepoint.h>

/* A range was advised with MADV_CONTIG or MADV_NOCONTIG. */
TRACE_EVENT(kcontigd_madvise,
	TP_PROTO(struct mm_struct *mm, unsigned long start, unsigned long end,
		 int advice),
	TP_ARGS(mm, start, end, advice),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(unsigned long, start)
		__field(unsigned long, end)
		__field(int, advice)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->start = start;
		__entry->end = end;
		__entry->advice = advice;
	),
	TP_printk("mm=%p range=%lx-%lx advice=%d", __entry->mm,
		  __entry->start, __entry->end, __entry->advice)
);

/* An mm was added to (registered=1) or dropped from kcontigd's list. */
TRACE_EVENT(kcontigd_register,
	TP_PROTO(struct mm_struct *mm, bool registered),
	TP_ARGS(mm, registered),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(bool, registered)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->registered = registered;
	),
	TP_printk("mm=%p registered=%d", __entry->mm, __entry->registered)
);

/* One visit of a registered mm: how many VM_CONTIG vmas it has. */
TRACE_EVENT(kcontigd_scan_mm,
	TP_PROTO(struct mm_struct *mm, unsigned int nr_vmas),
	TP_ARGS(mm, nr_vmas),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(unsigned int, nr_vmas)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->nr_vmas = nr_vmas;
	),
	TP_printk("mm=%p nr_vmas=%u", __entry->mm, __entry->nr_vmas)
);

/* kcontigd goes to sleep; timeout_ms == 0 means until woken. */
TRACE_EVENT(kcontigd_sleep,
	TP_PROTO(unsigned int timeout_ms),
	TP_ARGS(timeout_ms),
	TP_STRUCT__entry(
		__field(unsigned int, timeout_ms)
	),
	TP_fast_assign(
		__entry->timeout_ms = timeout_ms;
	),
	TP_printk("timeout_ms=%u", __entry->timeout_ms)
);

/* kcontigd woke up; full_scans is the counter before the next pass. */
TRACE_EVENT(kcontigd_wake,
	TP_PROTO(unsigned long full_scans),
	TP_ARGS(full_scans),
	TP_STRUCT__entry(
		__field(unsigned long, full_scans)
	),
	TP_fast_assign(
		__entry->full_scans = full_scans;
	),
	TP_printk("full_scans=%lu", __entry->full_scans)
);

/* kcontigd chose an anchor for a vma (or a new one, re-anchoring). */
TRACE_EVENT(kcontigd_anchor,
	TP_PROTO(struct mm_struct *mm, unsigned long vm_start,
		 unsigned long vm_end, unsigned long anchor_pfn, int nid,
		 unsigned long unmovable, unsigned long free),
	TP_ARGS(mm, vm_start, vm_end, anchor_pfn, nid, unmovable, free),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(unsigned long, vm_start)
		__field(unsigned long, vm_end)
		__field(unsigned long, anchor_pfn)
		__field(int, nid)
		__field(unsigned long, unmovable)
		__field(unsigned long, free)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->vm_start = vm_start;
		__entry->vm_end = vm_end;
		__entry->anchor_pfn = anchor_pfn;
		__entry->nid = nid;
		__entry->unmovable = unmovable;
		__entry->free = free;
	),
	TP_printk("mm=%p vma=%lx-%lx anchor_pfn=0x%lx nid=%d unmovable=%lu free=%lu",
		  __entry->mm, __entry->vm_start, __entry->vm_end,
		  __entry->anchor_pfn, __entry->nid, __entry->unmovable,
		  __entry->free)
);

/* No anchor could be found for a vma. */
TRACE_EVENT(kcontigd_blocked,
	TP_PROTO(struct mm_struct *mm, unsigned long vm_start,
		 const char *reason),
	TP_ARGS(mm, vm_start, reason),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(unsigned long, vm_start)
		__string(reason, reason)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->vm_start = vm_start;
		__assign_str(reason);
	),
	TP_printk("mm=%p vma_start=%lx reason=%s", __entry->mm,
		  __entry->vm_start, __get_str(reason))
);

/* A walk over a vma starts. */
TRACE_EVENT(kcontigd_vma_start,
	TP_PROTO(struct mm_struct *mm, unsigned long vm_start,
		 unsigned long anchor_pfn, unsigned int reanchors),
	TP_ARGS(mm, vm_start, anchor_pfn, reanchors),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(unsigned long, vm_start)
		__field(unsigned long, anchor_pfn)
		__field(unsigned int, reanchors)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->vm_start = vm_start;
		__entry->anchor_pfn = anchor_pfn;
		__entry->reanchors = reanchors;
	),
	TP_printk("mm=%p vma_start=%lx anchor_pfn=0x%lx reanchors=%u",
		  __entry->mm, __entry->vm_start, __entry->anchor_pfn,
		  __entry->reanchors)
);

/* A walk over a vma ended. */
TRACE_EVENT(kcontigd_vma_end,
	TP_PROTO(struct mm_struct *mm, unsigned long vm_start,
		 unsigned long in_place, unsigned long holes,
		 const char *state),
	TP_ARGS(mm, vm_start, in_place, holes, state),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(unsigned long, vm_start)
		__field(unsigned long, in_place)
		__field(unsigned long, holes)
		__string(state, state)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->vm_start = vm_start;
		__entry->in_place = in_place;
		__entry->holes = holes;
		__assign_str(state);
	),
	TP_printk("mm=%p vma_start=%lx in_place=%lu holes=%lu state=%s",
		  __entry->mm, __entry->vm_start, __entry->in_place,
		  __entry->holes, __get_str(state))
);

/* One page that was not in place: what kcontigd did with it. */
TRACE_EVENT(kcontigd_page,
	TP_PROTO(struct mm_struct *mm, unsigned long vma_start,
		 unsigned long addr, unsigned long pfn, unsigned long target_pfn,
		 const char *outcome, const char *reason),
	TP_ARGS(mm, vma_start, addr, pfn, target_pfn, outcome, reason),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(unsigned long, vma_start)
		__field(unsigned long, addr)
		__field(unsigned long, pfn)
		__field(unsigned long, target_pfn)
		__string(outcome, outcome)
		__string(reason, reason)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->vma_start = vma_start;
		__entry->addr = addr;
		__entry->pfn = pfn;
		__entry->target_pfn = target_pfn;
		__assign_str(outcome);
		__assign_str(reason);
	),
	TP_printk("mm=%p vma_start=%lx addr=%lx pfn=0x%lx target_pfn=0x%lx outcome=%s reason=%s",
		  __entry->mm, __entry->vma_start, __entry->addr, __entry->pfn,
		  __entry->target_pfn, __get_str(outcome), __get_str(reason))
);

/* exchange_folios() or exchange_pages() returned @result (0 or -errno). */
TRACE_EVENT(kcontigd_exchange,
	TP_PROTO(unsigned long pfn_a, unsigned long pfn_b, unsigned int order,
		 int result),
	TP_ARGS(pfn_a, pfn_b, order, result),
	TP_STRUCT__entry(
		__field(unsigned long, pfn_a)
		__field(unsigned long, pfn_b)
		__field(unsigned int, order)
		__field(int, result)
	),
	TP_fast_assign(
		__entry->pfn_a = pfn_a;
		__entry->pfn_b = pfn_b;
		__entry->order = order;
		__entry->result = result;
	),
	TP_printk("pfn_a=0x%lx pfn_b=0x%lx order=%u result=%d",
		  __entry->pfn_a, __entry->pfn_b, __entry->order,
		  __entry->result)
);

/* exchange_fallback_migrate() moved (or failed to move) a folio. */
TRACE_EVENT(kcontigd_exchange_fallback,
	TP_PROTO(unsigned long src_pfn, unsigned long target_pfn,
		 unsigned int order, int result),
	TP_ARGS(src_pfn, target_pfn, order, result),
	TP_STRUCT__entry(
		__field(unsigned long, src_pfn)
		__field(unsigned long, target_pfn)
		__field(unsigned int, order)
		__field(int, result)
	),
	TP_fast_assign(
		__entry->src_pfn = src_pfn;
		__entry->target_pfn = target_pfn;
		__entry->order = order;
		__entry->result = result;
	),
	TP_printk("src_pfn=0x%lx target_pfn=0x%lx order=%u result=%d",
		  __entry->src_pfn, __entry->target_pfn, __entry->order,
		  __entry->result)
);

#endif /* _TRACE_KCONTIGD_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
