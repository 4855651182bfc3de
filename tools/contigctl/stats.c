// SPDX-License-Identifier: GPL-2.0
/*
 * Contiguity statistics of a range of virtual pages, from the PFN of each
 * page: runs, largest run, R99, coverage by runs of at least 64 KiB, 2 MiB
 * and 1 GiB, a run-length histogram, and the cells of a map.
 *
 * The vocabulary is the one of /proc/PID/contig (see "Contiguity metrics"
 * in the design): a run goes on while both the virtual page number and the
 * PFN grow by one per page; a page that is not resident ends it. Nothing
 * here does I/O.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "contigctl.h"

uint64_t div_round_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

void contig_acc_init(struct contig_acc *acc, unsigned long page_size)
{
	memset(acc, 0, sizeof(*acc));
	acc->page_size = page_size;
}

static unsigned int ilog2_u64(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

/* Close the run being built, if any. */
static int contig_acc_end_run(struct contig_acc *acc)
{
	struct contig_stats *st = &acc->st;
	uint64_t len = acc->cur_len;
	unsigned int bucket;

	if (!len)
		return 0;
	if (acc->nr_lens == acc->cap_lens) {
		size_t cap = acc->cap_lens ? acc->cap_lens * 2 : 256;
		uint64_t *lens = realloc(acc->lens, cap * sizeof(*lens));

		if (!lens)
			return -ENOMEM;
		acc->lens = lens;
		acc->cap_lens = cap;
	}
	acc->lens[acc->nr_lens++] = len;
	st->runs++;
	if (len > st->largest)
		st->largest = len;
	bucket = ilog2_u64(len);
	st->hist_runs[bucket]++;
	st->hist_pages[bucket] += len;
	acc->cur_len = 0;
	return 0;
}

/**
 * contig_acc_add - account the next @nr virtual pages
 * @acc: the accumulator
 * @pfns: PFN of each page, PFN_NONE for a page that is not resident
 * @nr: number of pages
 *
 * The first page of @pfns follows the last page of the previous call.
 *
 * Return: 0 or -ENOMEM.
 */
int contig_acc_add(struct contig_acc *acc, const uint64_t *pfns, size_t nr)
{
	struct contig_stats *st = &acc->st;
	size_t i;

	for (i = 0; i < nr; i++) {
		uint64_t pfn = pfns[i];

		st->pages++;
		if (pfn == PFN_NONE) {
			if (contig_acc_end_run(acc))
				return -ENOMEM;
			continue;
		}
		st->resident++;
		if (!acc->cur_len || pfn != acc->next_pfn) {
			if (contig_acc_end_run(acc))
				return -ENOMEM;
		}
		acc->cur_len++;
		acc->next_pfn = pfn + 1;
	}
	return 0;
}

/**
 * contig_acc_finish - close the last run and compute the totals
 * @acc: the accumulator; it can be freed or reused afterwards
 * @st: where the statistics go
 *
 * Return: 0 or -ENOMEM.
 */
int contig_acc_finish(struct contig_acc *acc, struct contig_stats *st)
{
	uint64_t t64k, t2m, t1g;
	size_t i;

	if (contig_acc_end_run(acc))
		return -ENOMEM;

	/* A threshold below one page (64 KiB pages) counts every run. */
	t64k = div_round_up(64ULL << 10, acc->page_size);
	t2m = div_round_up(2ULL << 20, acc->page_size);
	t1g = div_round_up(1ULL << 30, acc->page_size);
	for (i = 0; i < acc->nr_lens; i++) {
		uint64_t len = acc->lens[i];

		if (len >= t64k)
			acc->st.in_64k += len;
		if (len >= t2m)
			acc->st.in_2m += len;
		if (len >= t1g)
			acc->st.in_1g += len;
	}
	acc->st.r99 = contig_runs_to_cover(acc->lens, acc->nr_lens,
					   acc->st.resident, 99);
	*st = acc->st;
	return 0;
}

void contig_acc_free(struct contig_acc *acc)
{
	free(acc->lens);
	acc->lens = NULL;
	acc->nr_lens = 0;
	acc->cap_lens = 0;
}

/**
 * contig_stats_compute - statistics of one array of PFNs
 * @pfns: PFN of each consecutive virtual page, PFN_NONE if not resident
 * @nr: number of pages
 * @page_size: the page size, for the 64 KiB / 2 MiB / 1 GiB thresholds
 * @st: the result
 *
 * Return: 0 or -ENOMEM.
 */
int contig_stats_compute(const uint64_t *pfns, size_t nr,
			 unsigned long page_size, struct contig_stats *st)
{
	struct contig_acc acc;
	int err;

	contig_acc_init(&acc, page_size);
	err = contig_acc_add(&acc, pfns, nr);
	if (!err)
		err = contig_acc_finish(&acc, st);
	contig_acc_free(&acc);
	return err;
}

static int cmp_u64_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/**
 * contig_runs_to_cover - fewest runs that cover @percent of @total pages
 * @lens: run lengths; sorted in place, longest first
 * @nr: number of runs
 * @total: pages to cover (the resident pages)
 * @percent: 1..100
 *
 * Taking the longest runs first gives the fewest. Integer arithmetic, so
 * the answer is exact: the smallest k with 100 * (sum of the k longest)
 * >= @percent * @total.
 *
 * Return: the number of runs; 0 when @total is 0.
 */
uint64_t contig_runs_to_cover(uint64_t *lens, size_t nr, uint64_t total,
			      unsigned int percent)
{
	uint64_t covered = 0;
	size_t i;

	if (!total)
		return 0;
	qsort(lens, nr, sizeof(*lens), cmp_u64_desc);
	for (i = 0; i < nr; i++) {
		covered += lens[i];
		if (covered * 100 >= total * percent)
			return i + 1;
	}
	return nr;
}

/* @part / @whole, or 0 when @whole is 0. */
double contig_share(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0.0;
}

/**
 * contig_runs_list - the runs of an array of PFNs, in virtual order
 * @pfns: PFN of each consecutive virtual page, PFN_NONE if not resident
 * @nr: number of pages
 * @runs: set to a malloc()ed array the caller frees
 *
 * Return: the number of runs, or -ENOMEM.
 */
ssize_t contig_runs_list(const uint64_t *pfns, size_t nr,
			 struct contig_run **runs)
{
	struct contig_run *list = NULL, *cur = NULL;
	size_t n = 0, cap = 0, i;

	for (i = 0; i < nr; i++) {
		uint64_t pfn = pfns[i];

		if (pfn == PFN_NONE) {
			cur = NULL;
			continue;
		}
		if (cur && pfn == cur->pfn + cur->pages) {
			cur->pages++;
			continue;
		}
		if (n == cap) {
			struct contig_run *bigger;

			cap = cap ? cap * 2 : 64;
			bigger = realloc(list, cap * sizeof(*list));
			if (!bigger) {
				free(list);
				return -ENOMEM;
			}
			list = bigger;
		}
		cur = &list[n++];
		cur->index = i;
		cur->pfn = pfn;
		cur->pages = 1;
	}
	*runs = list;
	return n;
}

static void cells_clear(struct contig_cell *cells, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		cells[i].run = CELL_EMPTY;
		cells[i].pieces = 0;
		cells[i].used = 0;
	}
}

/* Put @len units of run @run from unit @first on into cells of @per units. */
static void cells_add(struct contig_cell *cells, uint64_t per, int64_t run,
		      uint64_t first, uint64_t len)
{
	uint64_t pos = first, end = first + len;

	while (pos < end) {
		struct contig_cell *cell = &cells[pos / per];
		uint64_t cell_end = (pos / per + 1) * per;
		uint64_t n = (cell_end < end ? cell_end : end) - pos;

		if (cell->run == CELL_EMPTY) {
			cell->run = run;
			cell->pieces = 1;
		} else if (cell->run != run) {
			cell->run = CELL_MIXED;
			cell->pieces++;
		}
		cell->used += n;
		pos += n;
	}
}

/**
 * contig_cells_virtual - a map of a range in virtual order
 * @runs: its runs from contig_runs_list()
 * @nr_runs: how many
 * @pages: pages in the range
 * @cells: at least @nr_cells cells
 * @nr_cells: most cells to use
 *
 * Each cell covers the same number of consecutive virtual pages, as few as
 * possible so that @nr_cells suffice; run numbers are indexes in @runs.
 *
 * Return: the number of cells used, or -EINVAL.
 */
int contig_cells_virtual(const struct contig_run *runs, size_t nr_runs,
			 uint64_t pages, struct contig_cell *cells,
			 size_t nr_cells)
{
	uint64_t per;
	size_t i;

	if (!nr_cells || !pages)
		return pages ? -EINVAL : 0;
	per = div_round_up(pages, nr_cells);
	nr_cells = div_round_up(pages, per);
	cells_clear(cells, nr_cells);
	for (i = 0; i < nr_runs; i++) {
		if (runs[i].index + runs[i].pages > pages)
			return -EINVAL;
		cells_add(cells, per, i, runs[i].index, runs[i].pages);
	}
	return nr_cells;
}

static int cmp_run_pfn(const void *a, const void *b)
{
	const struct contig_run *x = *(const struct contig_run * const *)a;
	const struct contig_run *y = *(const struct contig_run * const *)b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn ? 1 : 0;
}

/**
 * contig_cells_physical - a map of the frames that hold a range
 * @runs: its runs from contig_runs_list()
 * @nr_runs: how many
 * @pfn_lo: set to the lowest PFN of the range
 * @pfn_hi: set to one past its highest PFN
 * @cells: at least @nr_cells cells
 * @nr_cells: most cells to use
 *
 * The cells cover [@pfn_lo, @pfn_hi) in physical order, each the same
 * number of frames; a cell shows which run its frames belong to, so a
 * run's colour in the virtual map finds its place in physical memory.
 *
 * Return: the number of cells used, or -EINVAL / -ENOMEM.
 */
int contig_cells_physical(const struct contig_run *runs, size_t nr_runs,
			  uint64_t *pfn_lo, uint64_t *pfn_hi,
			  struct contig_cell *cells, size_t nr_cells)
{
	const struct contig_run **order;
	uint64_t lo = UINT64_MAX, hi = 0, per;
	size_t i;

	*pfn_lo = *pfn_hi = 0;
	if (!nr_runs)
		return 0;
	if (!nr_cells)
		return -EINVAL;
	order = malloc(nr_runs * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (i = 0; i < nr_runs; i++) {
		order[i] = &runs[i];
		if (runs[i].pfn < lo)
			lo = runs[i].pfn;
		if (runs[i].pfn + runs[i].pages > hi)
			hi = runs[i].pfn + runs[i].pages;
	}
	qsort(order, nr_runs, sizeof(*order), cmp_run_pfn);
	per = div_round_up(hi - lo, nr_cells);
	nr_cells = div_round_up(hi - lo, per);
	cells_clear(cells, nr_cells);
	for (i = 0; i < nr_runs; i++)
		cells_add(cells, per, order[i] - runs, order[i]->pfn - lo,
			  order[i]->pages);
	free(order);
	*pfn_lo = lo;
	*pfn_hi = hi;
	return nr_cells;
}
