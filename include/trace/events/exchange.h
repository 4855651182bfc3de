/* SPDX-License-Identifier: GPL-2.0 */
/* Page exchange (mm/exchange.c): see Documentation/admin-guide/mm/kcontigd.rst. */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM exchange

#if !defined(_TRACE_EXCHANGE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_EXCHANGE_H

#include <linux/tracepoint.h>

/* exchange_folios() or exchange_pages() returned @result (0 or -errno). */
TRACE_EVENT(exchange_pages,
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
TRACE_EVENT(exchange_fallback,
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

/* exchange_evac_run() migrated a batch of occupants away from their frames. */
TRACE_EVENT(exchange_evacuate,
	TP_PROTO(int nid, unsigned int queued, unsigned int moved),
	TP_ARGS(nid, queued, moved),
	TP_STRUCT__entry(
		__field(int, nid)
		__field(unsigned int, queued)
		__field(unsigned int, moved)
	),
	TP_fast_assign(
		__entry->nid = nid;
		__entry->queued = queued;
		__entry->moved = moved;
	),
	TP_printk("nid=%d queued=%u moved=%u",
		  __entry->nid, __entry->queued, __entry->moved)
);

#endif /* _TRACE_EXCHANGE_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
