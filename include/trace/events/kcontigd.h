/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kcontigd

#if !defined(_TRACE_KCONTIGD_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_KCONTIGD_H

#include <linux/tracepoint.h>

/*
 * The state of a VM_CONTIG vma, the outcome of one page visit and the
 * reason for a state or an outcome: enums for mm/mem_defrag.c, names for
 * /proc/<pid>/contig and for __print_symbolic().
 */
#define CONTIG_STATES						\
	EM(CONTIG_PENDING,	"pending")	/* no anchor yet */	\
	EM(CONTIG_WORKING,	"working")	/* pages moving */	\
	EM(CONTIG_DONE,		"done")		/* nothing to move */	\
	EMe(CONTIG_BLOCKED,	"blocked")	/* see the reason */

#define CONTIG_OUTCOMES						\
	EM(CONTIG_ABSENT,	"absent")	/* nothing mapped */	\
	EM(CONTIG_IN_PLACE,	"in_place")				\
	EM(CONTIG_EXCHANGED,	"exchanged")				\
	EM(CONTIG_MIGRATED,	"migrated")				\
	EM(CONTIG_QUEUED,	"queued")	/* waits in a batch */	\
	EM(CONTIG_RETRY,	"retry")	/* run the batches first */ \
	EM(CONTIG_SPLIT,	"split")	/* visit its pages again */ \
	EM(CONTIG_HOLE,		"hole")		/* cannot go there */	\
	EMe(CONTIG_FAILED,	"failed")	/* transient */

#define CONTIG_REASONS						\
	EM(CONTIG_R_NONE,		"none")				\
	EM(CONTIG_R_LARGER_THAN_ZONE,	"larger-than-zone")		\
	EM(CONTIG_R_NO_FREE_RANGE,	"no-free-range")		\
	EM(CONTIG_R_ANCHOR_LIMIT,	"anchor-limit")			\
	EM(CONTIG_R_KSM,		"ksm")				\
	EM(CONTIG_R_HOLES,		"holes")			\
	EM(CONTIG_R_BUSY,		"busy")				\
	EM(CONTIG_R_PINNED,		"pinned")			\
	EM(CONTIG_R_TARGET_PINNED,	"target-pinned")		\
	EM(CONTIG_R_MLOCKED,		"mlocked")			\
	EM(CONTIG_R_HWPOISON,		"hwpoison")			\
	EM(CONTIG_R_UNMOVABLE,		"unmovable")			\
	EM(CONTIG_R_OFFLINE,		"offline")			\
	EM(CONTIG_R_LARGE_FOLIO,	"large-folio")			\
	EM(CONTIG_R_SPLIT_FAILED,	"split-failed")			\
	EM(CONTIG_R_UNSUPPORTED,	"unsupported")			\
	EMe(CONTIG_R_USER_LIMIT,	"user-limit")

#ifndef __KCONTIGD_DECLARE_TRACE_ENUMS_ONCE_ONLY
#define __KCONTIGD_DECLARE_TRACE_ENUMS_ONCE_ONLY
#undef EM
#undef EMe
#define EM(a, b)	a,
#define EMe(a, b)	a
enum contig_state { CONTIG_STATES };
enum contig_outcome { CONTIG_OUTCOMES };
enum contig_reason { CONTIG_REASONS };
#endif

#undef EM
#undef EMe
#define EM(a, b)	TRACE_DEFINE_ENUM(a);
#define EMe(a, b)	TRACE_DEFINE_ENUM(a);
CONTIG_STATES
CONTIG_OUTCOMES
CONTIG_REASONS
#undef EM
#undef EMe
#define EM(a, b)	{ a, b },
#define EMe(a, b)	{ a, b }

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
	TP_PROTO(struct mm_struct *mm, unsigned int nr_vmas,
		 unsigned long hold_us),
	TP_ARGS(mm, nr_vmas, hold_us),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(unsigned int, nr_vmas)
		__field(unsigned long, hold_us)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->nr_vmas = nr_vmas;
		__entry->hold_us = hold_us;
	),
	TP_printk("mm=%p nr_vmas=%u hold_us=%lu", __entry->mm,
		  __entry->nr_vmas, __entry->hold_us)
);

/*
 * The candidate ranges of one zone were ranked under contig_anchor_lock,
 * held for @hold_us.
 */
TRACE_EVENT(kcontigd_candidates,
	TP_PROTO(int nid, int zone, unsigned long candidates,
		 unsigned long hold_us),
	TP_ARGS(nid, zone, candidates, hold_us),
	TP_STRUCT__entry(
		__field(int, nid)
		__field(int, zone)
		__field(unsigned long, candidates)
		__field(unsigned long, hold_us)
	),
	TP_fast_assign(
		__entry->nid = nid;
		__entry->zone = zone;
		__entry->candidates = candidates;
		__entry->hold_us = hold_us;
	),
	TP_printk("nid=%d zone=%d candidates=%lu hold_us=%lu",
		  __entry->nid, __entry->zone, __entry->candidates,
		  __entry->hold_us)
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
		 enum contig_reason reason),
	TP_ARGS(mm, vm_start, reason),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(unsigned long, vm_start)
		__field(int, reason)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->vm_start = vm_start;
		__entry->reason = reason;
	),
	TP_printk("mm=%p vma_start=%lx reason=%s", __entry->mm,
		  __entry->vm_start,
		  __print_symbolic(__entry->reason, CONTIG_REASONS))
);

/* A vma split, shrunk or merged inherited its anchor from the old ones. */
TRACE_EVENT(kcontigd_inherit,
	TP_PROTO(struct mm_struct *mm, unsigned long vm_start,
		 unsigned long vm_end, unsigned int nr_segs),
	TP_ARGS(mm, vm_start, vm_end, nr_segs),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(unsigned long, vm_start)
		__field(unsigned long, vm_end)
		__field(unsigned int, nr_segs)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->vm_start = vm_start;
		__entry->vm_end = vm_end;
		__entry->nr_segs = nr_segs;
	),
	TP_printk("mm=%p vma=%lx-%lx nr_segs=%u", __entry->mm,
		  __entry->vm_start, __entry->vm_end, __entry->nr_segs)
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
		 enum contig_state state),
	TP_ARGS(mm, vm_start, in_place, holes, state),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(unsigned long, vm_start)
		__field(unsigned long, in_place)
		__field(unsigned long, holes)
		__field(int, state)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->vm_start = vm_start;
		__entry->in_place = in_place;
		__entry->holes = holes;
		__entry->state = state;
	),
	TP_printk("mm=%p vma_start=%lx in_place=%lu holes=%lu state=%s",
		  __entry->mm, __entry->vm_start, __entry->in_place,
		  __entry->holes,
		  __print_symbolic(__entry->state, CONTIG_STATES))
);

/* One page that was not in place: what kcontigd did with it. */
TRACE_EVENT(kcontigd_page,
	TP_PROTO(struct mm_struct *mm, unsigned long vma_start,
		 unsigned long addr, unsigned long pfn, unsigned long target_pfn,
		 enum contig_outcome outcome, enum contig_reason reason),
	TP_ARGS(mm, vma_start, addr, pfn, target_pfn, outcome, reason),
	TP_STRUCT__entry(
		__field(struct mm_struct *, mm)
		__field(unsigned long, vma_start)
		__field(unsigned long, addr)
		__field(unsigned long, pfn)
		__field(unsigned long, target_pfn)
		__field(int, outcome)
		__field(int, reason)
	),
	TP_fast_assign(
		__entry->mm = mm;
		__entry->vma_start = vma_start;
		__entry->addr = addr;
		__entry->pfn = pfn;
		__entry->target_pfn = target_pfn;
		__entry->outcome = outcome;
		__entry->reason = reason;
	),
	TP_printk("mm=%p vma_start=%lx addr=%lx pfn=0x%lx target_pfn=0x%lx outcome=%s reason=%s",
		  __entry->mm, __entry->vma_start, __entry->addr, __entry->pfn,
		  __entry->target_pfn,
		  __print_symbolic(__entry->outcome, CONTIG_OUTCOMES),
		  __print_symbolic(__entry->reason, CONTIG_REASONS))
);

#endif /* _TRACE_KCONTIGD_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
