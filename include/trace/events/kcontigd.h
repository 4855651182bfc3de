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

#endif /* _TRACE_KCONTIGD_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
