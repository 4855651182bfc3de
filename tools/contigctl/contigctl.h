/* SPDX-License-Identifier: GPL-2.0 */
/*
 * contigctl: shared declarations.
 *
 * The pure parts (statistics, parsers, JSON output, map cells) live in
 * stats.c, parse.c and json.c and touch no file but the FILE * they are
 * given, so that tests/contigctl_test.c can link them without main().
 * proc.c reads /proc and /sys, render.c draws maps, contigctl.c holds the
 * subcommands.
 */
#ifndef _CONTIGCTL_H
#define _CONTIGCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define CONTIGCTL_VERSION	"0.1"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#define __noreturn		__attribute__((noreturn))

/*
 * Exit statuses. They are part of the interface (see contigctl.8): scripts
 * tell the cases apart by them, so never renumber one.
 */
enum contigctl_exit {
	EXIT_OK		= 0,	/* done; for wait: the VMA is done */
	EXIT_FAIL	= 1,	/* an unexpected system error */
	EXIT_USAGE	= 2,	/* bad command line: option, number, size... */
	EXIT_NOPROC	= 3,	/* no such process, or it has exited */
	EXIT_NOVMA	= 4,	/* address or range not mapped in the process */
	EXIT_PERM	= 5,	/* not allowed: root, CAP_SYS_NICE, ptrace */
	EXIT_NOKCONTIGD	= 6,	/* the kernel has no kcontigd */
	EXIT_REFUSED	= 7,	/* the kernel refused the request or value */
	EXIT_NOTREG	= 8,	/* wait: the VMA is not registered */
	EXIT_TIMEOUT	= 9,	/* wait: --timeout expired */
	EXIT_BLOCKED	= 10,	/* wait: kcontigd gave up on the VMA */
	EXIT_EXITED	= 11,	/* wait: the process exited while waiting */
};

/* ------------------------------------------------------------ stats.c */

/* A page that is not resident (not present, swapped, or the zero page). */
#define PFN_NONE		UINT64_MAX

/* Histogram bucket k counts runs of 2^k to 2^(k+1) - 1 pages. */
#define CONTIG_HIST_BUCKETS	64

/**
 * struct contig_stats - contiguity of one range of virtual pages
 *
 * A run is a maximal stretch of resident pages in which both the virtual
 * page number and the PFN grow by exactly one from page to page; a page
 * that is not resident ends the run.
 */
struct contig_stats {
	uint64_t pages;			/* virtual pages looked at */
	uint64_t resident;		/* resident pages among them */
	uint64_t runs;			/* number of runs */
	uint64_t largest;		/* pages in the largest run */
	uint64_t r99;			/* fewest runs covering 99% of resident */
	uint64_t in_64k;		/* resident pages in runs >= 64 KiB */
	uint64_t in_2m;			/* ... >= 2 MiB */
	uint64_t in_1g;			/* ... >= 1 GiB */
	uint64_t hist_runs[CONTIG_HIST_BUCKETS];
	uint64_t hist_pages[CONTIG_HIST_BUCKETS];
};

/**
 * struct contig_acc - accumulates contig_stats over batches of pages
 *
 * Feed the PFNs of consecutive virtual pages in order, in as many batches
 * as convenient, then call contig_acc_finish(). Run lengths are kept so
 * that R99 is exact.
 */
struct contig_acc {
	unsigned long page_size;
	struct contig_stats st;
	uint64_t cur_len;		/* pages in the run being built */
	uint64_t next_pfn;		/* PFN that continues it */
	uint64_t *lens;			/* lengths of the finished runs */
	size_t nr_lens, cap_lens;
};

void contig_acc_init(struct contig_acc *acc, unsigned long page_size);
int contig_acc_add(struct contig_acc *acc, const uint64_t *pfns, size_t nr);
int contig_acc_finish(struct contig_acc *acc, struct contig_stats *st);
void contig_acc_free(struct contig_acc *acc);
int contig_stats_compute(const uint64_t *pfns, size_t nr,
			 unsigned long page_size, struct contig_stats *st);
uint64_t contig_runs_to_cover(uint64_t *lens, size_t nr, uint64_t total,
			      unsigned int percent);
double contig_share(uint64_t part, uint64_t whole);

/**
 * struct contig_run - one run of a range, for maps and --json
 * @index: offset of its first page from the start of the range, in pages
 * @pfn: PFN of its first page
 * @pages: its length
 */
struct contig_run {
	uint64_t index;
	uint64_t pfn;
	uint64_t pages;
};

ssize_t contig_runs_list(const uint64_t *pfns, size_t nr,
			 struct contig_run **runs);

/* Cell values of a map: a run number (>= 0), or one of these. */
#define CELL_EMPTY		(-1)	/* nothing resident in the cell */
#define CELL_MIXED		(-2)	/* pieces of several runs */

/**
 * struct contig_cell - one cell of a map: a block of pages or of frames
 * @run: the run all its resident pages belong to, CELL_EMPTY or CELL_MIXED
 * @pieces: number of stretches of different runs inside the cell
 * @used: resident pages (virtual map) or frames of the VMA (physical map)
 */
struct contig_cell {
	int64_t run;
	uint32_t pieces;
	uint64_t used;
};

int contig_cells_virtual(const struct contig_run *runs, size_t nr_runs,
			 uint64_t pages, struct contig_cell *cells,
			 size_t nr_cells);
int contig_cells_physical(const struct contig_run *runs, size_t nr_runs,
			  uint64_t *pfn_lo, uint64_t *pfn_hi,
			  struct contig_cell *cells, size_t nr_cells);
uint64_t div_round_up(uint64_t a, uint64_t b);

/* ------------------------------------------------------------ parse.c */

int parse_size(const char *s, uint64_t *bytes);
int parse_seconds(const char *s, double *secs);
int parse_pid(const char *s, pid_t *pid);
int parse_addr(const char *s, uint64_t *addr);
int parse_uint(const char *s, unsigned long max, unsigned long *val);
int parse_knob_arg(const char *arg, char *knob, size_t knob_len,
		   const char **value);
void format_size(uint64_t bytes, char *buf, size_t len);

/**
 * struct vma_info - one VMA from /proc/PID/smaps
 * @start: first address
 * @end: address past the last
 * @perms: permissions as in maps, "rw-p"
 * @name: file path, [heap], [stack]... or "" for anonymous memory
 * @rss_kb: Rss of the VMA
 * @registered: VmFlags has "ct" (MADV_CONTIG)
 */
struct vma_info {
	uint64_t start;
	uint64_t end;
	char perms[5];
	char name[256];
	uint64_t rss_kb;
	bool registered;
};

int maps_line_parse(const char *line, struct vma_info *vma);
bool vmflags_has(const char *vmflags, const char *mnemonic);
bool vma_is_anon(const struct vma_info *vma);

/**
 * struct contig_line - one line of /proc/PID/contig
 * @start: first address of the VMA
 * @end: address past its last
 * @nr: number of key=value fields
 * @key: field names, in the order of the line
 * @val: their values
 * @buf: storage for the strings, freed by contig_line_free()
 */
#define CONTIG_LINE_MAX_FIELDS	32
struct contig_line {
	uint64_t start;
	uint64_t end;
	int nr;
	const char *key[CONTIG_LINE_MAX_FIELDS];
	const char *val[CONTIG_LINE_MAX_FIELDS];
	char *buf;
};

int contig_line_parse(const char *line, struct contig_line *cl);
const char *contig_line_get(const struct contig_line *cl, const char *key);
int contig_line_get_u64(const struct contig_line *cl, const char *key,
			uint64_t *val);
void contig_line_free(struct contig_line *cl);
bool is_decimal(const char *s);

/* ------------------------------------------------------------- json.c */

/**
 * struct json - a small JSON writer with stable key order
 * @f: where it writes
 * @depth: nesting depth
 * @pretty: indent, one member per line
 * @first: per depth, nothing written yet in the current container
 */
#define JSON_MAX_DEPTH		16
struct json {
	FILE *f;
	int depth;
	bool pretty;
	bool first[JSON_MAX_DEPTH];
};

void json_string(FILE *f, const char *s);
void json_init(struct json *j, FILE *f, bool pretty);
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_str(struct json *j, const char *key, const char *val);
void json_u64(struct json *j, const char *key, uint64_t val);
void json_i64(struct json *j, const char *key, int64_t val);
void json_double(struct json *j, const char *key, double val, int decimals);
void json_bool(struct json *j, const char *key, bool val);
void json_null(struct json *j, const char *key);
void json_hex(struct json *j, const char *key, uint64_t val);
void json_auto(struct json *j, const char *key, const char *val);
void json_end(struct json *j);

#endif /* _CONTIGCTL_H */
