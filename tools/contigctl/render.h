/* SPDX-License-Identifier: GPL-2.0 */
/*
 * contigctl: drawing where a VMA's pages lie, on a terminal and as PNG.
 */
#ifndef _CONTIGCTL_RENDER_H
#define _CONTIGCTL_RENDER_H

#include "contigctl.h"

/**
 * struct map_view - one picture of a VMA
 * @title: "before", "after", or NULL for a lone picture
 * @runs: its runs, in virtual order
 * @nr_runs: how many
 * @pages: pages in the VMA
 * @st: its statistics
 */
struct map_view {
	const char *title;
	struct contig_run *runs;
	size_t nr_runs;
	uint64_t pages;
	struct contig_stats st;
};

int render_text(FILE *f, const struct map_view *views, int nr_views,
		int width, bool color);
int render_png(const char *path, const struct map_view *views, int nr_views);
bool render_png_supported(void);

#endif /* _CONTIGCTL_RENDER_H */
