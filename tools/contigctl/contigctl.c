// SPDX-License-Identifier: GPL-2.0
/*
 * contigctl: see, request, wait for and tune physical contiguity.
 *
 * kcontigd makes the pages of a VMA marked with madvise(MADV_CONTIG)
 * physically contiguous. This tool shows how contiguous a process's VMAs
 * are (from /proc/PID/pagemap, with kcontigd's own view from
 * /proc/PID/contig), draws where their pages lie, asks kcontigd to work on
 * another process's memory through process_madvise(), waits for it, runs
 * unmodified programs with their large anonymous VMAs registered, and
 * reads and sets kcontigd's knobs in /sys/kernel/mm/kcontigd.
 *
 * See contigctl.8 for the commands, the --json keys and the exit statuses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "contigctl.h"
#include "proc.h"
#include "render.h"

#ifndef MADV_CONTIG
#define MADV_CONTIG		26
#endif
#ifndef MADV_NOCONTIG
#define MADV_NOCONTIG		27
#endif

#define CAP_SYS_NICE_BIT	23

#define DEFAULT_MIN_SIZE	(2ULL << 20)
#define DEFAULT_WAIT_INTERVAL	0.5
#define DEFAULT_RUN_INTERVAL	0.1
#define DEFAULT_MAP_TIMEOUT	300.0
#define MAP_WIDTH_ONE		64
#define MAP_WIDTH_TWO		36

static const char *cmd_name = "contigctl";
static long page_size;

static void __noreturn __printf(2, 3)
die(int status, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "contigctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void __printf(1, 2) warn(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "contigctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void __noreturn die_usage_hint(const char *what)
{
	if (!strcmp(cmd_name, "contigctl"))
		die(EXIT_USAGE, "%s (see 'contigctl --help')", what);
	die(EXIT_USAGE, "%s: %s (see 'contigctl %s --help')", cmd_name, what,
	    cmd_name);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int sys_pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

static long sys_process_madvise(int pidfd, uint64_t addr, uint64_t len,
				int advice)
{
	struct iovec iov = {
		.iov_base = (void *)(uintptr_t)addr,
		.iov_len = len,
	};

	return syscall(SYS_process_madvise, pidfd, &iov, 1, advice, 0);
}

/* ------------------------------------------------------ argument helpers */

static pid_t arg_pid(const char *s)
{
	pid_t pid;

	if (parse_pid(s, &pid))
		die(EXIT_USAGE, "%s: invalid PID '%s': expected a positive decimal number",
		    cmd_name, s);
	return pid;
}

static uint64_t arg_addr(const char *s)
{
	uint64_t addr;

	if (parse_addr(s, &addr))
		die(EXIT_USAGE,
		    "%s: invalid address '%s': expected hex, like 7f12a4000000 or 0x7f12a4000000",
		    cmd_name, s);
	return addr;
}

static uint64_t arg_size(const char *what, const char *s)
{
	uint64_t bytes;
	int err = parse_size(s, &bytes);

	if (err == -ERANGE)
		die(EXIT_USAGE, "%s: %s '%s' is too large", cmd_name, what, s);
	if (err)
		die(EXIT_USAGE,
		    "%s: invalid %s '%s': expected a number of bytes with an optional K, M, G, T suffix (binary)",
		    cmd_name, what, s);
	return bytes;
}

static double arg_seconds(const char *what, const char *s)
{
	double secs;

	if (parse_seconds(s, &secs))
		die(EXIT_USAGE, "%s: invalid %s '%s': expected seconds, like 10, 2.5, 500ms or 1m",
		    cmd_name, what, s);
	return secs;
}

/* Report getopt's '?' and ':' for argv[optind - 1]. */
static void __noreturn bad_option(int c, char **argv)
{
	char what[128];
	const char *arg = argv[optind - 1];

	if (c == ':')
		snprintf(what, sizeof(what), "option '%s' needs a value", arg);
	else if (optopt && arg[0] == '-' && arg[1] != '-')
		snprintf(what, sizeof(what), "unknown option '-%c'", optopt);
	else
		snprintf(what, sizeof(what), "unknown option '%s'", arg);
	die_usage_hint(what);
}

static void need_args(int have, int min, int max, const char *what)
{
	if (have < min)
		die_usage_hint(what);
	if (have > max)
		die_usage_hint("too many arguments");
}

/* ------------------------------------------------------ process helpers */

/* Make sure @pid is a live process with memory; its name goes to @comm. */
static void check_process(pid_t pid, char *comm, size_t len)
{
	switch (proc_state(pid, comm, len)) {
	case PROC_ALIVE:
		return;
	case PROC_GONE:
		die(EXIT_NOPROC, "no process with PID %d", pid);
	case PROC_ZOMBIE:
		die(EXIT_NOPROC, "process %d (%s) has exited", pid, comm);
	case PROC_NO_MM:
		die(EXIT_NOPROC, "process %d (%s) is a kernel thread: it has no user memory",
		    pid, comm);
	}
}

static void __noreturn die_no_access(pid_t pid)
{
	die(EXIT_PERM,
	    "no access to the memory of process %d: it needs ptrace read access (its owner or root)",
	    pid);
}

static void __noreturn die_gone(pid_t pid)
{
	die(EXIT_NOPROC, "process %d exited", pid);
}

static void load_vmas(pid_t pid, bool smaps, struct vma_info **vmas,
		      size_t *nr)
{
	int err = proc_read_vmas(pid, smaps, vmas, nr);

	if (err == -EACCES || err == -EPERM)
		die_no_access(pid);
	if (err == -ENOENT || err == -ESRCH)
		die_gone(pid);
	if (err)
		die(EXIT_FAIL, "cannot read the VMAs of process %d: %s", pid,
		    strerror(-err));
	if (!*nr && proc_state(pid, NULL, 0) != PROC_ALIVE)
		die_gone(pid);
}

static int find_vma_or_die(pid_t pid, const struct vma_info *vmas, size_t nr,
			   uint64_t addr)
{
	int i = proc_find_vma(vmas, nr, addr);

	if (i < 0)
		die(EXIT_NOVMA, "address 0x%" PRIx64 " is not in any VMA of process %d",
		    addr, pid);
	return i;
}

static void open_pfns(struct pfn_source *src, pid_t pid)
{
	int err = pfn_source_open(src, pid);

	if (err == -EPERM)
		die(EXIT_PERM,
		    "PFNs in /proc/%d/pagemap read as 0 without CAP_SYS_ADMIN: run as root to see physical contiguity",
		    pid);
	if (err == -EACCES)
		die_no_access(pid);
	if (err == -ENOENT || err == -ESRCH)
		die_gone(pid);
	if (err)
		die(EXIT_FAIL, "cannot read /proc/%d/pagemap: %s", pid,
		    strerror(-err));
}

static void need_kcontigd(void)
{
	if (!kcontigd_available())
		die(EXIT_NOKCONTIGD,
		    "this kernel has no kcontigd (no %s/enabled): it needs CONFIG_MEM_DEFRAG",
		    KCONTIGD_SYSFS);
}

/*
 * kcontigd's lines for @pid. Returns false when the file does not exist
 * (a kernel without kcontigd); dies when the process is gone or hidden.
 */
static bool load_contig(pid_t pid, struct contig_line **lines, size_t *nr)
{
	int err = proc_read_contig(pid, lines, nr);

	*nr = err ? 0 : *nr;
	if (!err)
		return true;
	if (proc_state(pid, NULL, 0) != PROC_ALIVE)
		die_gone(pid);
	if (err == -ENOENT)
		return false;
	if (err == -EACCES || err == -EPERM)
		die_no_access(pid);
	die(EXIT_FAIL, "cannot read /proc/%d/contig: %s", pid, strerror(-err));
}

static const struct contig_line *contig_for(const struct contig_line *lines,
					    size_t nr, const struct vma_info *vma)
{
	int i = proc_find_contig(lines, nr, vma->start);

	return i < 0 ? NULL : &lines[i];
}

static const char *vma_display_name(const struct vma_info *vma)
{
	return vma->name[0] ? vma->name : "[anon]";
}

static void json_contig_fields(struct json *j, const struct contig_line *cl)
{
	int i;

	if (!cl) {
		json_null(j, "kernel");
		return;
	}
	json_object_begin(j, "kernel");
	for (i = 0; i < cl->nr; i++)
		json_auto(j, cl->key[i], cl->val[i]);
	json_object_end(j);
}

/* ------------------------------------------------------------------ show */

static const char show_usage[] =
"Usage: contigctl show [OPTIONS] PID [ADDR]\n"
"\n"
"Contiguity of the VMAs of process PID (or only of the VMA holding ADDR):\n"
"resident pages, runs of physically contiguous pages, the largest run, R99\n"
"(the fewest runs covering 99% of the resident pages), the share of pages\n"
"in runs of at least 64K, 2M and 1G, and kcontigd's state. Needs root to\n"
"read PFNs.\n"
"\n"
"  -a, --all             every VMA (default: registered ones and large ones)\n"
"  -m, --min-size SIZE   what counts as large (default 2M)\n"
"  -H, --histogram       add the distribution of run lengths\n"
"  -k, --kernel-only     only kcontigd's view, no pagemap (works without root)\n"
"  -j, --json            JSON output (see contigctl(8) for the keys)\n"
"  -h, --help            this text\n";

struct show_opts {
	bool all, histogram, kernel_only, json;
	uint64_t min_size;
};

struct show_row {
	const struct vma_info *vma;
	const struct contig_line *cl;
	struct contig_stats st;
	bool have_stats;
};

static void format_pages(char *buf, size_t len, bool have, uint64_t val)
{
	if (have)
		snprintf(buf, len, "%" PRIu64, val);
	else
		snprintf(buf, len, "-");
}

static void format_share(char *buf, size_t len, bool have, uint64_t part,
			 uint64_t whole)
{
	if (have)
		snprintf(buf, len, "%.1f%%", 100.0 * contig_share(part, whole));
	else
		snprintf(buf, len, "-");
}

/* Kernel's number for @key when pagemap was not read. */
static bool kernel_value(const struct contig_line *cl, const char *key,
			 uint64_t *val)
{
	return cl && !contig_line_get_u64(cl, key, val);
}

/* kcontigd's number for @key, or "-". */
static void format_kernel(char *buf, size_t len, const struct contig_line *cl,
			  const char *key)
{
	uint64_t val;
	bool have = kernel_value(cl, key, &val);

	format_pages(buf, len, have, have ? val : 0);
}

static void show_histogram_text(const struct contig_stats *st)
{
	int b;

	printf("    %-21s %10s %12s %7s\n", "run length (pages)", "runs",
	       "pages", "share");
	for (b = 0; b < CONTIG_HIST_BUCKETS; b++) {
		uint64_t lo = 1ULL << b, hi = (b == 63) ? UINT64_MAX :
					      (1ULL << (b + 1)) - 1;
		char range[48];

		if (!st->hist_runs[b])
			continue;
		if (lo == hi)
			snprintf(range, sizeof(range), "%" PRIu64, lo);
		else
			snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64,
				 lo, hi);
		printf("    %-21s %10" PRIu64 " %12" PRIu64 " %6.1f%%\n", range,
		       st->hist_runs[b], st->hist_pages[b],
		       100.0 * contig_share(st->hist_pages[b], st->resident));
	}
}

static void show_text(pid_t pid, const char *comm, struct show_row *rows,
		      size_t nr, size_t nr_vmas, const struct show_opts *o,
		      bool have_kcontigd)
{
	bool anchors = false;
	char ps[16];
	size_t i;

	for (i = 0; i < nr; i++)
		if (rows[i].cl && contig_line_get(rows[i].cl, "anchor"))
			anchors = true;
	format_size(page_size, ps, sizeof(ps));
	printf("# process %d (%s): %zu of %zu VMAs; counts in %s pages%s%s\n",
	       pid, comm, nr, nr_vmas, ps,
	       have_kcontigd ? "" : "; no kcontigd in this kernel",
	       o->kernel_only ? "; kcontigd's view only" : "");
	printf("%-25s %7s %9s %8s %8s %8s %6s %6s %6s %2s %-8s %8s ",
	       "START-END", "SIZE", "RESIDENT", "RUNS", "LARGEST", "R99",
	       "COV64K", "COV2M", "COV1G", "CT", "STATE", "INPLACE");
	if (anchors)
		printf("%-28s ", "ANCHOR");
	printf("NAME\n");

	for (i = 0; i < nr; i++) {
		const struct show_row *r = &rows[i];
		const struct contig_stats *st = &r->st;
		char range[40], size[16], res[24], runs[24], big[24], r99[24];
		char c64[16], c2m[16], c1g[16], inplace[24];
		bool have = r->have_stats;

		snprintf(range, sizeof(range), "%" PRIx64 "-%" PRIx64,
			 r->vma->start, r->vma->end);
		format_size(r->vma->end - r->vma->start, size, sizeof(size));
		if (have) {
			format_pages(res, sizeof(res), true, st->resident);
			format_pages(runs, sizeof(runs), true, st->runs);
			format_pages(big, sizeof(big), true, st->largest);
			format_pages(r99, sizeof(r99), true, st->r99);
		} else {
			format_kernel(res, sizeof(res), r->cl, "resident");
			format_kernel(runs, sizeof(runs), r->cl, "runs");
			format_kernel(big, sizeof(big), r->cl, "largest");
			format_kernel(r99, sizeof(r99), r->cl, "r99");
		}
		format_share(c64, sizeof(c64), have, st->in_64k, st->resident);
		format_share(c2m, sizeof(c2m), have, st->in_2m, st->resident);
		format_share(c1g, sizeof(c1g), have, st->in_1g, st->resident);
		format_kernel(inplace, sizeof(inplace), r->cl, "in_place");

		printf("%-25s %7s %9s %8s %8s %8s %6s %6s %6s %2s %-8s %8s ",
		       range, size, res, runs, big, r99, c64, c2m, c1g,
		       r->vma->registered ? "y" : "-",
		       r->cl && contig_line_get(r->cl, "state") ?
		       contig_line_get(r->cl, "state") : "-", inplace);
		if (anchors)
			printf("%-28s ", r->cl && contig_line_get(r->cl, "anchor") ?
			       contig_line_get(r->cl, "anchor") : "-");
		printf("%s\n", vma_display_name(r->vma));
		if (o->histogram && have && st->runs)
			show_histogram_text(st);
	}
}

static void json_histogram(struct json *j, const struct contig_stats *st)
{
	int b;

	json_array_begin(j, "histogram");
	for (b = 0; b < CONTIG_HIST_BUCKETS; b++) {
		if (!st->hist_runs[b])
			continue;
		json_object_begin(j, NULL);
		json_u64(j, "min_pages", 1ULL << b);
		json_u64(j, "max_pages", b == 63 ? UINT64_MAX :
			 (1ULL << (b + 1)) - 1);
		json_u64(j, "runs", st->hist_runs[b]);
		json_u64(j, "pages", st->hist_pages[b]);
		json_object_end(j);
	}
	json_array_end(j);
}

/* A number from pagemap, or from kcontigd's line, or null. */
static void json_metric(struct json *j, const char *key, bool have,
			uint64_t val, const struct contig_line *cl,
			const char *cl_key)
{
	uint64_t v;

	if (have)
		json_u64(j, key, val);
	else if (kernel_value(cl, cl_key, &v))
		json_u64(j, key, v);
	else
		json_null(j, key);
}

static void show_json(pid_t pid, const char *comm, struct show_row *rows,
		      size_t nr, const struct show_opts *o, bool have_kcontigd)
{
	struct json j;
	size_t i;

	json_init(&j, stdout, true);
	json_object_begin(&j, NULL);
	json_i64(&j, "pid", pid);
	json_str(&j, "comm", comm);
	json_u64(&j, "page_size", page_size);
	json_bool(&j, "kcontigd", have_kcontigd);
	json_bool(&j, "pfns", !o->kernel_only);
	json_array_begin(&j, "vmas");
	for (i = 0; i < nr; i++) {
		const struct show_row *r = &rows[i];
		const struct contig_stats *st = &r->st;
		const struct contig_line *cl = r->cl;
		bool have = r->have_stats;
		uint64_t v;

		json_object_begin(&j, NULL);
		json_hex(&j, "start", r->vma->start);
		json_hex(&j, "end", r->vma->end);
		json_u64(&j, "size", r->vma->end - r->vma->start);
		json_str(&j, "perms", r->vma->perms);
		json_str(&j, "name", r->vma->name);
		json_bool(&j, "registered", r->vma->registered);
		json_u64(&j, "pages", (r->vma->end - r->vma->start) / page_size);
		json_metric(&j, "resident", have, st->resident, cl, "resident");
		json_metric(&j, "runs", have, st->runs, cl, "runs");
		json_metric(&j, "largest", have, st->largest, cl, "largest");
		json_metric(&j, "r99", have, st->r99, cl, "r99");
		if (have) {
			json_double(&j, "cov64k",
				    contig_share(st->in_64k, st->resident), 6);
			json_double(&j, "cov2m",
				    contig_share(st->in_2m, st->resident), 6);
			json_double(&j, "cov1g",
				    contig_share(st->in_1g, st->resident), 6);
		} else {
			json_null(&j, "cov64k");
			json_null(&j, "cov2m");
			json_null(&j, "cov1g");
		}
		if (cl && contig_line_get(cl, "state"))
			json_str(&j, "state", contig_line_get(cl, "state"));
		else
			json_null(&j, "state");
		if (kernel_value(cl, "in_place", &v))
			json_u64(&j, "in_place", v);
		else
			json_null(&j, "in_place");
		if (cl && contig_line_get(cl, "anchor"))
			json_str(&j, "anchor", contig_line_get(cl, "anchor"));
		else
			json_null(&j, "anchor");
		json_contig_fields(&j, cl);
		if (o->histogram && have)
			json_histogram(&j, st);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_end(&j);
}

static int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all",		no_argument,		NULL, 'a' },
		{ "min-size",		required_argument,	NULL, 'm' },
		{ "histogram",		no_argument,		NULL, 'H' },
		{ "kernel-only",	no_argument,		NULL, 'k' },
		{ "json",		no_argument,		NULL, 'j' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 }
	};
	struct show_opts o = { .min_size = DEFAULT_MIN_SIZE };
	struct contig_line *lines = NULL;
	struct pfn_source src = { .fd = -1 };
	struct vma_info *vmas;
	struct show_row *rows;
	size_t nr_vmas, nr_lines, nr = 0, i;
	bool have_kcontigd, have_addr;
	char comm[64] = "";
	uint64_t addr = 0;
	pid_t pid;
	int c;

	while ((c = getopt_long(argc, argv, ":am:Hkjh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o.all = true;
			break;
		case 'm':
			o.min_size = arg_size("size", optarg);
			break;
		case 'H':
			o.histogram = true;
			break;
		case 'k':
			o.kernel_only = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			fputs(show_usage, stdout);
			return EXIT_OK;
		default:
			bad_option(c, argv);
		}
	}
	need_args(argc - optind, 1, 2, "expected PID [ADDR]");
	pid = arg_pid(argv[optind]);
	have_addr = argc - optind == 2;
	if (have_addr)
		addr = arg_addr(argv[optind + 1]);

	check_process(pid, comm, sizeof(comm));
	load_vmas(pid, true, &vmas, &nr_vmas);
	have_kcontigd = load_contig(pid, &lines, &nr_lines);
	/* Advised from another process: a contig line, no "ct" flag. */
	for (i = 0; i < nr_vmas; i++)
		if (contig_for(lines, nr_lines, &vmas[i]))
			vmas[i].registered = true;
	if (!o.kernel_only)
		open_pfns(&src, pid);

	rows = calloc(nr_vmas ? nr_vmas : 1, sizeof(*rows));
	if (!rows)
		die(EXIT_FAIL, "out of memory");
	if (have_addr) {
		rows[nr++].vma = &vmas[find_vma_or_die(pid, vmas, nr_vmas, addr)];
	} else {
		for (i = 0; i < nr_vmas; i++) {
			const struct vma_info *v = &vmas[i];

			if (o.all || v->registered ||
			    v->end - v->start >= o.min_size)
				rows[nr++].vma = v;
		}
	}
	for (i = 0; i < nr; i++) {
		struct show_row *r = &rows[i];
		int err;

		r->cl = contig_for(lines, nr_lines, r->vma);
		if (o.kernel_only)
			continue;
		err = vma_stats(&src, r->vma, &r->st);
		if (err == -ESRCH)
			die_gone(pid);
		if (err)
			die(EXIT_FAIL,
			    "cannot read the pages of %" PRIx64 "-%" PRIx64 " in process %d: %s",
			    r->vma->start, r->vma->end, pid, strerror(-err));
		r->have_stats = true;
	}
	pfn_source_close(&src);

	if (o.json)
		show_json(pid, comm, rows, nr, &o, have_kcontigd);
	else
		show_text(pid, comm, rows, nr, nr_vmas, &o, have_kcontigd);

	free(rows);
	contig_lines_free(lines, nr_lines);
	free(vmas);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ wait */

/**
 * struct wait_ctx - one wait for a VMA to be done
 * @pid: the process
 * @addr: an address in the VMA
 * @timeout: seconds, negative for none
 * @interval: seconds between polls
 * @progress: show progress (a bar on a terminal, else lines on changes)
 * @tty: stdout is a terminal
 * @pidfd: tells when the process exits, -1 if the kernel has no pidfd
 * @start: first address of the VMA, once seen
 * @end: its end
 * @state: kcontigd's last state of it
 * @resident: its resident pages, last seen
 * @in_place: its pages in place, last seen
 * @first_in_place: pages in place when the wait began, for the rate
 * @reason: why it is blocked, if kcontigd says
 * @t0: when the wait began
 */
struct wait_ctx {
	pid_t pid;
	uint64_t addr;
	double timeout;
	double interval;
	bool progress;
	bool tty;
	int pidfd;
	uint64_t start, end;
	char state[32];
	uint64_t resident, in_place, first_in_place;
	char reason[128];
	double t0;
	struct contig_line last;
	bool have_last;
};

enum wait_result {
	WAIT_DONE,
	WAIT_BLOCKED,
	WAIT_TIMEOUT,
	WAIT_EXITED,
};

static const char * const wait_result_names[] = {
	[WAIT_DONE]	= "done",
	[WAIT_BLOCKED]	= "blocked",
	[WAIT_TIMEOUT]	= "timeout",
	[WAIT_EXITED]	= "exited",
};

static bool process_exited(struct wait_ctx *w)
{
	struct pollfd pfd = { .fd = w->pidfd, .events = POLLIN };

	if (w->pidfd >= 0)
		return poll(&pfd, 1, 0) > 0;
	return proc_state(w->pid, NULL, 0) != PROC_ALIVE;
}

/* Sleep @secs, or less if the process exits; true if it did. */
static bool sleep_or_exit(struct wait_ctx *w, double secs)
{
	struct pollfd pfd = { .fd = w->pidfd, .events = POLLIN };
	int ms = secs * 1000;

	if (w->pidfd >= 0)
		return poll(&pfd, 1, ms > 0 ? ms : 1) > 0;
	usleep(ms * 1000);
	return process_exited(w);
}

static void wait_progress(struct wait_ctx *w, bool changed)
{
	double elapsed = now() - w->t0;
	double rate = elapsed > 0 ?
		      (double)(w->in_place - w->first_in_place) / elapsed : 0;
	double share = contig_share(w->in_place, w->resident);
	char eta[32] = "-";

	if (!w->progress)
		return;
	if (rate > 0 && w->in_place < w->resident)
		snprintf(eta, sizeof(eta), "%.0fs",
			 (w->resident - w->in_place) / rate);
	if (w->tty) {
		int width = 30, fill = share * width + 0.5, i;

		printf("\r[");
		for (i = 0; i < width; i++)
			putchar(i < fill ? '#' : '-');
		printf("] %5.1f%% %" PRIu64 "/%" PRIu64 " in place, %.0f pages/s, ETA %s, %s   ",
		       100 * share, w->in_place, w->resident, rate, eta,
		       w->state);
		fflush(stdout);
	} else if (changed) {
		printf("%.1fs %" PRIx64 "-%" PRIx64 " %s %" PRIu64 "/%" PRIu64
		       " in place (%.1f%%) %.0f pages/s ETA %s\n",
		       elapsed, w->start, w->end, w->state, w->in_place,
		       w->resident, 100 * share, rate, eta);
		fflush(stdout);
	}
}

static void wait_end_progress(struct wait_ctx *w)
{
	if (w->progress && w->tty) {
		putchar('\n');
		fflush(stdout);
	}
}

/* Update @w from /proc/PID/contig; false if the VMA has no line. */
static bool wait_poll(struct wait_ctx *w, bool *changed)
{
	struct contig_line *lines;
	uint64_t resident = 0, in_place = 0;
	const char *state, *reason;
	size_t nr;
	int i, err;

	err = proc_read_contig(w->pid, &lines, &nr);
	if (err) {
		if (process_exited(w) || proc_state(w->pid, NULL, 0) != PROC_ALIVE)
			return false;
		if (err == -ENOENT)
			need_kcontigd();
		if (err == -EACCES || err == -EPERM)
			die_no_access(w->pid);
		die(EXIT_FAIL, "cannot read /proc/%d/contig: %s", w->pid,
		    strerror(-err));
	}
	i = proc_find_contig(lines, nr, w->addr);
	if (i < 0) {
		contig_lines_free(lines, nr);
		return false;
	}
	state = contig_line_get(&lines[i], "state");
	reason = contig_line_get(&lines[i], "reason");
	contig_line_get_u64(&lines[i], "resident", &resident);
	contig_line_get_u64(&lines[i], "in_place", &in_place);
	*changed = !w->have_last || strcmp(w->state, state ? state : "?") ||
		   resident != w->resident || in_place != w->in_place;
	w->start = lines[i].start;
	w->end = lines[i].end;
	snprintf(w->state, sizeof(w->state), "%s", state ? state : "?");
	snprintf(w->reason, sizeof(w->reason), "%s", reason ? reason : "");
	w->resident = resident;
	w->in_place = in_place;
	if (w->have_last)
		contig_line_free(&w->last);
	w->last = lines[i];
	w->have_last = true;
	lines[i].buf = NULL;	/* now owned by w->last */
	contig_lines_free(lines, nr);
	return true;
}

/* Why the VMA has no contig line: not mapped, or not registered. */
static void __noreturn wait_no_line(struct wait_ctx *w)
{
	struct vma_info *vmas;
	size_t nr;
	int i;

	if (w->have_last)
		die(EXIT_NOTREG, "%" PRIx64 "-%" PRIx64
		    " of process %d is no longer registered (released or unmapped)",
		    w->start, w->end, w->pid);
	load_vmas(w->pid, false, &vmas, &nr);
	i = find_vma_or_die(w->pid, vmas, nr, w->addr);
	die(EXIT_NOTREG, "%" PRIx64 "-%" PRIx64
	    " of process %d is not registered with kcontigd (see 'contigctl request')",
	    vmas[i].start, vmas[i].end, w->pid);
}

/**
 * wait_vma - poll kcontigd's view of a VMA until it is done or blocked
 * @w: what to wait for; updated with the last state seen
 *
 * Dies on errors (no VMA, not registered, no access, no kcontigd).
 *
 * Return: how the wait ended.
 */
static enum wait_result wait_vma(struct wait_ctx *w)
{
	bool changed;

	w->t0 = now();
	w->pidfd = sys_pidfd_open(w->pid);
	if (w->pidfd < 0 && errno == ESRCH)
		die_gone(w->pid);
	for (;;) {
		if (!wait_poll(w, &changed)) {
			/*
			 * An exiting process tears its mappings down before
			 * it is reported gone: give it a moment to finish.
			 */
			if (process_exited(w) ||
			    (w->have_last && sleep_or_exit(w, 1.0)))
				return WAIT_EXITED;
			wait_no_line(w);
		}
		if (w->first_in_place == UINT64_MAX)
			w->first_in_place = w->in_place;
		wait_progress(w, changed);
		if (!strcmp(w->state, "done"))
			return WAIT_DONE;
		if (!strcmp(w->state, "blocked"))
			return WAIT_BLOCKED;
		if (w->timeout >= 0 && now() - w->t0 >= w->timeout)
			return WAIT_TIMEOUT;
		if (sleep_or_exit(w, w->timeout >= 0 ?
				  fmin(w->interval, w->timeout - (now() - w->t0)) :
				  w->interval))
			return WAIT_EXITED;
	}
}

static void wait_ctx_init(struct wait_ctx *w, pid_t pid, uint64_t addr)
{
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->addr = addr;
	w->timeout = -1;
	w->interval = DEFAULT_WAIT_INTERVAL;
	w->pidfd = -1;
	w->first_in_place = UINT64_MAX;
	snprintf(w->state, sizeof(w->state), "?");
}

static void wait_ctx_free(struct wait_ctx *w)
{
	if (w->have_last)
		contig_line_free(&w->last);
	if (w->pidfd >= 0)
		close(w->pidfd);
}

static const char wait_usage[] =
"Usage: contigctl wait [OPTIONS] PID ADDR\n"
"\n"
"Wait until kcontigd is done with the VMA of process PID that holds ADDR,\n"
"showing progress: pages in place of resident pages, rate, time left.\n"
"Exit status 0 when done, 10 blocked, 9 timed out, 11 the process exited,\n"
"8 the VMA is not registered.\n"
"\n"
"  -t, --timeout SECS    give up after SECS (default: never)\n"
"  -i, --interval SECS   poll every SECS (default 0.5)\n"
"  -q, --quiet           no progress output\n"
"  -j, --json            print the outcome as JSON\n"
"  -h, --help            this text\n";

static int wait_status(enum wait_result res)
{
	switch (res) {
	case WAIT_DONE:
		return EXIT_OK;
	case WAIT_BLOCKED:
		return EXIT_BLOCKED;
	case WAIT_TIMEOUT:
		return EXIT_TIMEOUT;
	case WAIT_EXITED:
		break;
	}
	return EXIT_EXITED;
}

static void wait_report(struct wait_ctx *w, enum wait_result res)
{
	double elapsed = now() - w->t0;
	char range[48];

	snprintf(range, sizeof(range), "%" PRIx64 "-%" PRIx64, w->start,
		 w->end);
	switch (res) {
	case WAIT_DONE:
		printf("%s of process %d is done: %" PRIu64 "/%" PRIu64
		       " pages in place after %.1fs\n",
		       range, w->pid, w->in_place, w->resident, elapsed);
		break;
	case WAIT_BLOCKED:
		warn("%s of process %d is blocked%s%s: %" PRIu64 "/%" PRIu64 " pages in place",
		     range, w->pid, w->reason[0] ? ": " : "", w->reason,
		     w->in_place, w->resident);
		break;
	case WAIT_TIMEOUT:
		warn("timed out after %gs: %s of process %d is still %s (%" PRIu64 "/%" PRIu64
		     " pages in place)",
		     w->timeout, range, w->pid, w->state, w->in_place,
		     w->resident);
		break;
	case WAIT_EXITED:
		warn("process %d exited while waiting (%s was %s, %" PRIu64 "/%" PRIu64
		     " pages in place)",
		     w->pid, range, w->state, w->in_place, w->resident);
		break;
	}
}

static void wait_json(struct wait_ctx *w, enum wait_result res)
{
	struct json j;

	json_init(&j, stdout, true);
	json_object_begin(&j, NULL);
	json_i64(&j, "pid", w->pid);
	json_hex(&j, "start", w->start);
	json_hex(&j, "end", w->end);
	json_str(&j, "result", wait_result_names[res]);
	json_str(&j, "state", w->state);
	json_u64(&j, "resident", w->resident);
	json_u64(&j, "in_place", w->in_place);
	json_double(&j, "elapsed", now() - w->t0, 3);
	json_contig_fields(&j, w->have_last ? &w->last : NULL);
	json_object_end(&j);
	json_end(&j);
}

static int cmd_wait(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout",	required_argument,	NULL, 't' },
		{ "interval",	required_argument,	NULL, 'i' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	double timeout = -1, interval = DEFAULT_WAIT_INTERVAL;
	bool quiet = false, json = false;
	enum wait_result res;
	struct wait_ctx w;
	char comm[64] = "";
	uint64_t addr;
	pid_t pid;
	int c;

	while ((c = getopt_long(argc, argv, ":t:i:qjh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			timeout = arg_seconds("timeout", optarg);
			break;
		case 'i':
			interval = arg_seconds("interval", optarg);
			if (interval <= 0)
				die(EXIT_USAGE, "wait: the interval must be above 0");
			break;
		case 'q':
			quiet = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(wait_usage, stdout);
			return EXIT_OK;
		default:
			bad_option(c, argv);
		}
	}
	need_args(argc - optind, 2, 2, "expected PID ADDR");
	pid = arg_pid(argv[optind]);
	addr = arg_addr(argv[optind + 1]);

	need_kcontigd();
	check_process(pid, comm, sizeof(comm));
	wait_ctx_init(&w, pid, addr);
	w.timeout = timeout;
	w.interval = interval;
	w.progress = !quiet && !json;
	w.tty = isatty(STDOUT_FILENO);
	res = wait_vma(&w);
	wait_end_progress(&w);
	if (json)
		wait_json(&w, res);
	else
		wait_report(&w, res);
	wait_ctx_free(&w);
	return wait_status(res);
}

/* ------------------------------------------------------------------- map */

static const char map_usage[] =
"Usage: contigctl map [OPTIONS] PID ADDR\n"
"\n"
"Draw where the pages of the VMA holding ADDR lie: a virtual map (its\n"
"pages in address order) over a physical map (the frames from its lowest\n"
"to its highest PFN). A run has the same letter and colour in both; a\n"
"digit counts runs sharing a cell; '.' is nothing of the VMA. With --wait\n"
"or --after, a second picture is taken later and both go side by side.\n"
"Needs root to read PFNs.\n"
"\n"
"  -p, --png FILE        also write the picture(s) as a PNG image\n"
"  -w, --width CELLS     cells per line (default 64, 36 side by side)\n"
"  -W, --wait            take the second picture when kcontigd is done\n"
"  -t, --timeout SECS    for --wait: give up after SECS (default 300)\n"
"  -A, --after SECS      take the second picture SECS later\n"
"  -c, --color WHEN      auto (default: on a terminal), always, never\n"
"  -j, --json            print the runs as JSON instead of a drawing\n"
"  -h, --help            this text\n";

/* Read the VMA holding @addr and build a picture of it. */
static void map_snapshot(pid_t pid, uint64_t addr, struct map_view *view,
			 struct vma_info *out)
{
	struct pfn_source src = { .fd = -1 };
	struct vma_info *vmas;
	uint64_t *pfns;
	size_t nr;
	ssize_t nr_runs;
	int i, err;

	load_vmas(pid, true, &vmas, &nr);
	i = find_vma_or_die(pid, vmas, nr, addr);
	*out = vmas[i];
	free(vmas);

	open_pfns(&src, pid);
	view->pages = (out->end - out->start) / page_size;
	pfns = vma_pfns(&src, out, &err);
	pfn_source_close(&src);
	if (err == -ESRCH)
		die_gone(pid);
	if (!pfns)
		die(EXIT_FAIL, "cannot read the pages of process %d: %s", pid,
		    strerror(-err));
	if (contig_stats_compute(pfns, view->pages, page_size, &view->st))
		die(EXIT_FAIL, "out of memory");
	nr_runs = contig_runs_list(pfns, view->pages, &view->runs);
	if (nr_runs < 0)
		die(EXIT_FAIL, "out of memory");
	view->nr_runs = nr_runs;
	free(pfns);
}

static void map_json_view(struct json *j, const struct map_view *v,
			  const struct vma_info *vma)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	size_t i;

	json_object_begin(j, NULL);
	if (v->title)
		json_str(j, "title", v->title);
	else
		json_null(j, "title");
	json_hex(j, "start", vma->start);
	json_hex(j, "end", vma->end);
	json_u64(j, "pages", v->pages);
	json_u64(j, "resident", v->st.resident);
	json_u64(j, "runs", v->st.runs);
	json_u64(j, "largest", v->st.largest);
	json_u64(j, "r99", v->st.r99);
	for (i = 0; i < v->nr_runs; i++) {
		if (v->runs[i].pfn < lo)
			lo = v->runs[i].pfn;
		if (v->runs[i].pfn + v->runs[i].pages > hi)
			hi = v->runs[i].pfn + v->runs[i].pages;
	}
	if (v->nr_runs) {
		json_hex(j, "pfn_min", lo);
		json_hex(j, "pfn_end", hi);
	} else {
		json_null(j, "pfn_min");
		json_null(j, "pfn_end");
	}
	json_array_begin(j, "run_list");
	for (i = 0; i < v->nr_runs; i++) {
		json_object_begin(j, NULL);
		json_u64(j, "offset", v->runs[i].index);
		json_hex(j, "pfn", v->runs[i].pfn);
		json_u64(j, "pages", v->runs[i].pages);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static int cmd_map(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "png",	required_argument,	NULL, 'p' },
		{ "width",	required_argument,	NULL, 'w' },
		{ "wait",	no_argument,		NULL, 'W' },
		{ "timeout",	required_argument,	NULL, 't' },
		{ "after",	required_argument,	NULL, 'A' },
		{ "color",	required_argument,	NULL, 'c' },
		{ "colour",	required_argument,	NULL, 'c' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	double timeout = DEFAULT_MAP_TIMEOUT, after = -1;
	const char *png = NULL, *color_opt = "auto";
	struct map_view views[2] = { { 0 } };
	struct vma_info vma, vma2;
	unsigned long width = 0;
	bool wait = false, json = false, color;
	int c, nr_views = 1, status = EXIT_OK, i;
	char comm[64] = "";
	uint64_t addr;
	pid_t pid;

	while ((c = getopt_long(argc, argv, ":p:w:Wt:A:c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			png = optarg;
			break;
		case 'w':
			if (parse_uint(optarg, 1000, &width) || width < 8)
				die(EXIT_USAGE, "map: invalid width '%s': expected 8 to 1000 cells",
				    optarg);
			break;
		case 'W':
			wait = true;
			break;
		case 't':
			timeout = arg_seconds("timeout", optarg);
			break;
		case 'A':
			after = arg_seconds("delay", optarg);
			break;
		case 'c':
			color_opt = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(map_usage, stdout);
			return EXIT_OK;
		default:
			bad_option(c, argv);
		}
	}
	need_args(argc - optind, 2, 2, "expected PID ADDR");
	pid = arg_pid(argv[optind]);
	addr = arg_addr(argv[optind + 1]);
	if (!strcmp(color_opt, "auto"))
		color = isatty(STDOUT_FILENO);
	else if (!strcmp(color_opt, "always"))
		color = true;
	else if (!strcmp(color_opt, "never"))
		color = false;
	else
		die(EXIT_USAGE, "map: invalid --color '%s': expected auto, always or never",
		    color_opt);
	if (wait && after >= 0)
		die(EXIT_USAGE, "map: --wait and --after exclude each other");
	if (png && !render_png_supported())
		die(EXIT_FAIL, "map: this contigctl was built without libpng: no --png");
	if (wait)
		need_kcontigd();

	check_process(pid, comm, sizeof(comm));
	map_snapshot(pid, addr, &views[0], &vma);
	if (wait || after >= 0) {
		struct wait_ctx w;

		nr_views = 2;
		views[0].title = "before";
		views[1].title = "after";
		if (wait) {
			enum wait_result res;

			wait_ctx_init(&w, pid, addr);
			w.timeout = timeout;
			res = wait_vma(&w);
			if (res != WAIT_DONE)
				wait_report(&w, res);
			wait_ctx_free(&w);
			if (res == WAIT_EXITED)
				return EXIT_EXITED;
			status = wait_status(res);
		} else {
			usleep(after * 1e6);
		}
		check_process(pid, comm, sizeof(comm));
		map_snapshot(pid, addr, &views[1], &vma2);
		if (vma2.start != vma.start || vma2.end != vma.end)
			warn("the VMA changed from %" PRIx64 "-%" PRIx64 " to %" PRIx64 "-%" PRIx64,
			     vma.start, vma.end, vma2.start, vma2.end);
	}

	if (json) {
		struct json j;

		json_init(&j, stdout, true);
		json_object_begin(&j, NULL);
		json_i64(&j, "pid", pid);
		json_u64(&j, "page_size", page_size);
		json_array_begin(&j, "views");
		for (i = 0; i < nr_views; i++)
			map_json_view(&j, &views[i], i ? &vma2 : &vma);
		json_array_end(&j);
		json_object_end(&j);
		json_end(&j);
	} else {
		char size[16];

		format_size(vma.end - vma.start, size, sizeof(size));
		printf("process %d (%s), %" PRIx64 "-%" PRIx64 " (%s) %s\n",
		       pid, comm, vma.start, vma.end, size,
		       vma_display_name(&vma));
		if (!width)
			width = nr_views == 2 ? MAP_WIDTH_TWO : MAP_WIDTH_ONE;
		if (render_text(stdout, views, nr_views, width, color))
			die(EXIT_FAIL, "out of memory");
	}
	if (png) {
		int err = render_png(png, views, nr_views);

		if (err)
			die(EXIT_FAIL, "cannot write %s: %s", png, strerror(-err));
		if (!json)
			printf("wrote %s\n", png);
	}
	for (i = 0; i < nr_views; i++)
		free(views[i].runs);
	return status;
}

/* ------------------------------------------------------ request/release */

static const char request_usage[] =
"Usage: contigctl request [OPTIONS] PID ADDR [LEN]\n"
"       contigctl release [OPTIONS] PID ADDR [LEN]\n"
"\n"
"request asks kcontigd to make LEN bytes of process PID from ADDR on\n"
"physically contiguous: process_madvise(MADV_CONTIG). release withdraws it\n"
"(MADV_NOCONTIG). ADDR is hex and page-aligned; LEN takes K, M, G\n"
"suffixes and defaults to the rest of the VMA holding ADDR. Advising\n"
"another process needs CAP_SYS_NICE and ptrace read access.\n"
"\n"
"  -q, --quiet           print nothing on success\n"
"  -h, --help            this text\n";

static void __noreturn
die_madvise(int err, pid_t pid, uint64_t addr, uint64_t len, bool contig)
{
	const char *advice = contig ? "MADV_CONTIG" : "MADV_NOCONTIG";
	uint64_t end = addr + len;

	switch (err) {
	case EPERM:
		die(EXIT_PERM,
		    "advising the memory of another process needs CAP_SYS_NICE (run as root)");
	case EACCES:
		die(EXIT_PERM, "no ptrace read access to process %d (be its owner or root)",
		    pid);
	case ESRCH:
		die_gone(pid);
	case ENOMEM:
		die(EXIT_NOVMA, "%" PRIx64 "-%" PRIx64 " is not entirely mapped in process %d",
		    addr, end, pid);
	case EINVAL:
		die(EXIT_REFUSED, "the kernel refused %s for %" PRIx64 "-%" PRIx64
		    " of process %d: hugetlb, DAX, PFN-mapped, I/O and special mappings cannot be moved",
		    advice, addr, end, pid);
	case EAGAIN:
		die(EXIT_FAIL, "the kernel is short of resources for %s; try again",
		    advice);
	default:
		die(EXIT_FAIL, "process_madvise(%s) on process %d: %s", advice,
		    pid, strerror(err));
	}
}

static int do_request(int argc, char **argv, bool contig)
{
	static const struct option opts[] = {
		{ "quiet",	no_argument,	NULL, 'q' },
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL,		0,		NULL, 0 }
	};
	struct vma_info *vmas = NULL;
	uint64_t addr, len = 0;
	bool quiet = false, have_len;
	char comm[64] = "", size[16];
	size_t nr_vmas = 0;
	int c, pidfd, err;
	pid_t pid;
	long ret;

	while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(request_usage, stdout);
			return EXIT_OK;
		default:
			bad_option(c, argv);
		}
	}
	need_args(argc - optind, 2, 3, "expected PID ADDR [LEN]");
	pid = arg_pid(argv[optind]);
	addr = arg_addr(argv[optind + 1]);
	have_len = argc - optind == 3;
	if (have_len) {
		len = arg_size("length", argv[optind + 2]);
		if (!len)
			die(EXIT_USAGE, "%s: the length must not be 0", cmd_name);
		if (addr + len < addr)
			die(EXIT_USAGE,
			    "%s: 0x%" PRIx64 " + %s goes past the end of the address space",
			    cmd_name, addr, argv[optind + 2]);
	}
	if (addr % page_size)
		die(EXIT_USAGE, "%s: address 0x%" PRIx64 " is not page-aligned (page size %ld)",
		    cmd_name, addr, page_size);

	need_kcontigd();
	check_process(pid, comm, sizeof(comm));

	/*
	 * Check the range ourselves when the maps are readable, for a
	 * better message; when they are not, the kernel says why.
	 */
	err = proc_read_vmas(pid, false, &vmas, &nr_vmas);
	if (!err) {
		int i = find_vma_or_die(pid, vmas, nr_vmas, addr);

		if (!have_len)
			len = vmas[i].end - addr;
	} else if (!have_len) {
		len = page_size;
	}
	free(vmas);

	pidfd = sys_pidfd_open(pid);
	if (pidfd < 0) {
		if (errno == ESRCH)
			die_gone(pid);
		die(EXIT_FAIL, "pidfd_open(%d): %s", pid, strerror(errno));
	}
	ret = sys_process_madvise(pidfd, addr, len,
				  contig ? MADV_CONTIG : MADV_NOCONTIG);
	err = errno;
	close(pidfd);
	if (ret < 0)
		die_madvise(err, pid, addr, len, contig);
	if ((uint64_t)ret < len)
		warn("only 0x%lx of 0x%" PRIx64 " bytes advised", ret, len);
	if (!quiet) {
		format_size(len, size, sizeof(size));
		printf("process %d: %s %" PRIx64 "-%" PRIx64 " (%s)\n", pid,
		       contig ? "requested" : "released", addr, addr + len,
		       size);
	}
	return EXIT_OK;
}

static int cmd_request(int argc, char **argv)
{
	return do_request(argc, argv, true);
}

static int cmd_release(int argc, char **argv)
{
	return do_request(argc, argv, false);
}

/* ------------------------------------------------------------------- run */

static const char run_usage[] =
"Usage: contigctl run [OPTIONS] [--] CMD [ARGS...]\n"
"\n"
"Run CMD and request contiguity (MADV_CONTIG) for each of its private,\n"
"writable anonymous VMAs of at least SIZE as they appear. The exit status\n"
"is CMD's (128 + N if killed by signal N; 127 if it cannot be run).\n"
"Needs CAP_SYS_NICE.\n"
"\n"
"  -m, --min-size SIZE   smallest VMA to request (default 2M)\n"
"  -i, --interval SECS   look at CMD's VMAs every SECS (default 0.1)\n"
"  -v, --verbose         report each request on stderr\n"
"  -h, --help            this text\n";

struct range {
	uint64_t start, end;
};

struct run_state {
	pid_t child;
	uint64_t min_size;
	bool verbose;
	struct range *done;		/* ranges requested or refused */
	size_t nr_done, cap_done;
	unsigned long requests;
	bool stopped;			/* no more requests: permission */
};

/* The child's pid for the signal handler: a lock-free atomic int. */
static int run_child = -1;

static void run_forward_signal(int sig)
{
	int child = __atomic_load_n(&run_child, __ATOMIC_RELAXED);

	if (child > 0)
		kill(child, sig);
}

static bool run_covered(struct run_state *rs, const struct vma_info *v)
{
	size_t i;

	for (i = 0; i < rs->nr_done; i++) {
		if (rs->done[i].start <= v->start && v->end <= rs->done[i].end)
			return true;
	}
	return false;
}

static void run_remember(struct run_state *rs, const struct vma_info *v)
{
	if (rs->nr_done == rs->cap_done) {
		size_t cap = rs->cap_done ? rs->cap_done * 2 : 16;
		struct range *bigger = realloc(rs->done, cap * sizeof(*bigger));

		if (!bigger)
			return;
		rs->done = bigger;
		rs->cap_done = cap;
	}
	rs->done[rs->nr_done].start = v->start;
	rs->done[rs->nr_done].end = v->end;
	rs->nr_done++;
}

/* Request every large anonymous VMA of the child not requested yet. */
static void run_scan(struct run_state *rs, int pidfd)
{
	struct vma_info *vmas;
	size_t nr, i;

	if (rs->stopped || proc_read_vmas(rs->child, false, &vmas, &nr))
		return;
	for (i = 0; i < nr; i++) {
		const struct vma_info *v = &vmas[i];
		char size[16];
		long ret;

		if (!vma_is_anon(v) || v->perms[1] != 'w' ||
		    v->end - v->start < rs->min_size || run_covered(rs, v))
			continue;
		ret = sys_process_madvise(pidfd, v->start, v->end - v->start,
					  MADV_CONTIG);
		format_size(v->end - v->start, size, sizeof(size));
		if (ret >= 0) {
			rs->requests++;
			run_remember(rs, v);
			if (rs->verbose)
				warn("run: requested %" PRIx64 "-%" PRIx64 " (%s) of process %d",
				     v->start, v->end, size, rs->child);
		} else if (errno == EPERM || errno == EACCES) {
			warn("run: cannot advise process %d: %s; no more requests",
			     rs->child, strerror(errno));
			rs->stopped = true;
			break;
		} else if (errno == EINVAL) {
			run_remember(rs, v);
			warn("run: the kernel refused %" PRIx64 "-%" PRIx64 " (%s)",
			     v->start, v->end, size);
		}
		/* ENOMEM: unmapped meanwhile; the next scan sees the rest. */
	}
	free(vmas);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "min-size",	required_argument,	NULL, 'm' },
		{ "interval",	required_argument,	NULL, 'i' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct run_state rs = { .min_size = DEFAULT_MIN_SIZE };
	double interval = DEFAULT_RUN_INTERVAL;
	struct sigaction sa = { .sa_handler = run_forward_signal };
	int c, pidfd, status, exec_pipe[2], exec_err = 0;
	ssize_t n;

	while ((c = getopt_long(argc, argv, "+:m:i:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			rs.min_size = arg_size("size", optarg);
			break;
		case 'i':
			interval = arg_seconds("interval", optarg);
			if (interval <= 0)
				die(EXIT_USAGE, "run: the interval must be above 0");
			break;
		case 'v':
			rs.verbose = true;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return EXIT_OK;
		default:
			bad_option(c, argv);
		}
	}
	if (optind >= argc)
		die_usage_hint("expected a command to run");
	need_kcontigd();
	if (!cap_effective(CAP_SYS_NICE_BIT))
		die(EXIT_PERM,
		    "run: advising the command's memory needs CAP_SYS_NICE (run as root)");

	/* The pipe closes on exec; an errno comes through it if exec fails. */
	if (pipe2(exec_pipe, O_CLOEXEC))
		die(EXIT_FAIL, "pipe: %s", strerror(errno));
	fflush(stdout);
	rs.child = fork();
	if (rs.child < 0)
		die(EXIT_FAIL, "fork: %s", strerror(errno));
	if (!rs.child) {
		close(exec_pipe[0]);
		execvp(argv[optind], argv + optind);
		exec_err = errno;
		n = write(exec_pipe[1], &exec_err, sizeof(exec_err));
		_exit(127);
	}
	close(exec_pipe[1]);
	n = read(exec_pipe[0], &exec_err, sizeof(exec_err));
	close(exec_pipe[0]);
	if (n == sizeof(exec_err)) {
		waitpid(rs.child, NULL, 0);
		fprintf(stderr, "contigctl: run: cannot run '%s': %s\n",
			argv[optind], strerror(exec_err));
		return exec_err == ENOENT ? 127 : 126;
	}

	__atomic_store_n(&run_child, rs.child, __ATOMIC_RELAXED);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	pidfd = sys_pidfd_open(rs.child);
	if (pidfd < 0)
		warn("run: no pidfd for process %d (%s): nothing will be requested",
		     rs.child, strerror(errno));
	for (;;) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
		pid_t got;

		if (pidfd >= 0)
			run_scan(&rs, pidfd);
		got = waitpid(rs.child, &status, WNOHANG);
		if (got == rs.child)
			break;
		if (got < 0 && errno != EINTR)
			die(EXIT_FAIL, "waitpid: %s", strerror(errno));
		if (pidfd >= 0)
			poll(&pfd, 1, interval * 1000);
		else
			usleep(interval * 1e6);
	}
	if (pidfd >= 0)
		close(pidfd);
	if (rs.verbose)
		warn("run: %lu request%s", rs.requests,
		     rs.requests == 1 ? "" : "s");
	free(rs.done);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* ---------------------------------------------------------- status, set */

static const char status_usage[] =
"Usage: contigctl status [OPTIONS]\n"
"\n"
"kcontigd's state: its knobs and counters from /sys/kernel/mm/kcontigd and\n"
"the contig_* counters of /proc/vmstat.\n"
"\n"
"  -j, --json            JSON output\n"
"  -h, --help            this text\n";

struct knob {
	char name[256];
	char value[256];
	bool writable;
};

static int cmp_knob(const void *a, const void *b)
{
	return strcmp(((const struct knob *)a)->name,
		      ((const struct knob *)b)->name);
}

/* Every file of the kcontigd sysfs directory, sorted by name. */
static struct knob *read_knobs(size_t *nr)
{
	struct knob *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;

	dir = opendir(KCONTIGD_SYSFS);
	if (!dir)
		need_kcontigd();
	while ((de = readdir(dir))) {
		char path[512];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", KCONTIGD_SYSFS, de->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			list = realloc(list, cap * sizeof(*list));
			if (!list)
				die(EXIT_FAIL, "out of memory");
		}
		snprintf(list[n].name, sizeof(list[n].name), "%s", de->d_name);
		list[n].writable = st.st_mode & 0200;
		if (sysfs_read(KCONTIGD_SYSFS, de->d_name, list[n].value,
			       sizeof(list[n].value)))
			snprintf(list[n].value, sizeof(list[n].value), "?");
		n++;
	}
	closedir(dir);
	qsort(list, n, sizeof(*list), cmp_knob);
	*nr = n;
	return list;
}

static const struct knob *find_knob(const struct knob *k, size_t nr,
				    const char *name)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		if (!strcmp(k[i].name, name))
			return &k[i];
	}
	return NULL;
}

/* The contig_* lines of /proc/vmstat. */
static struct knob *read_vmstat(size_t *nr)
{
	struct knob *list = NULL;
	size_t n = 0, cap = 0;
	char line[256], name[128], value[64];
	FILE *f = fopen("/proc/vmstat", "r");

	*nr = 0;
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "contig_", 7) ||
		    sscanf(line, "%127s %63s", name, value) != 2)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			list = realloc(list, cap * sizeof(*list));
			if (!list)
				die(EXIT_FAIL, "out of memory");
		}
		snprintf(list[n].name, sizeof(list[n].name), "%s", name);
		snprintf(list[n].value, sizeof(list[n].value), "%s", value);
		list[n].writable = false;
		n++;
	}
	fclose(f);
	*nr = n;
	return list;
}

static void status_text(const struct knob *k, size_t nr,
			const struct knob *vm, size_t nr_vm)
{
	const struct knob *enabled = find_knob(k, nr, "enabled");
	const struct knob *running = find_knob(k, nr, "running");
	size_t i;
	int pass;

	printf("kcontigd: %s, %s\n",
	       running ? (strcmp(running->value, "0") ? "running" : "not running") :
	       "state unknown",
	       enabled ? (strcmp(enabled->value, "0") ? "enabled" : "disabled") :
	       "no 'enabled' knob");
	for (pass = 0; pass < 2; pass++) {
		printf("%s:\n", pass ? "counters" : "knobs");
		for (i = 0; i < nr; i++) {
			if (k[i].writable == !pass)
				printf("  %-24s %s\n", k[i].name, k[i].value);
		}
	}
	if (nr_vm) {
		printf("vmstat:\n");
		for (i = 0; i < nr_vm; i++)
			printf("  %-24s %s\n", vm[i].name, vm[i].value);
	}
}

static void status_json(const struct knob *k, size_t nr,
			const struct knob *vm, size_t nr_vm)
{
	struct json j;
	size_t i;
	int pass;

	json_init(&j, stdout, true);
	json_object_begin(&j, NULL);
	json_bool(&j, "kcontigd", true);
	for (pass = 0; pass < 2; pass++) {
		json_object_begin(&j, pass ? "counters" : "knobs");
		for (i = 0; i < nr; i++) {
			if (k[i].writable == !pass)
				json_auto(&j, k[i].name, k[i].value);
		}
		json_object_end(&j);
	}
	json_object_begin(&j, "vmstat");
	for (i = 0; i < nr_vm; i++)
		json_auto(&j, vm[i].name, vm[i].value);
	json_object_end(&j);
	json_object_end(&j);
	json_end(&j);
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL,		0,		NULL, 0 }
	};
	struct knob *knobs, *vm;
	size_t nr, nr_vm;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(status_usage, stdout);
			return EXIT_OK;
		default:
			bad_option(c, argv);
		}
	}
	need_args(argc - optind, 0, 0, "");
	need_kcontigd();
	knobs = read_knobs(&nr);
	vm = read_vmstat(&nr_vm);
	if (json)
		status_json(knobs, nr, vm, nr_vm);
	else
		status_text(knobs, nr, vm, nr_vm);
	free(knobs);
	free(vm);
	return EXIT_OK;
}

static const char set_usage[] =
"Usage: contigctl set KNOB=VALUE...\n"
"\n"
"Write kcontigd knobs in /sys/kernel/mm/kcontigd (root only) and show the\n"
"value the kernel kept. 'contigctl status' lists the knobs. A value the\n"
"kernel rejects leaves the knob unchanged (exit status 7).\n"
"\n"
"  -h, --help            this text\n";

static int cmd_set(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL,		0,		NULL, 0 }
	};
	struct knob *knobs;
	size_t nr;
	int c, i;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(set_usage, stdout);
			return EXIT_OK;
		default:
			bad_option(c, argv);
		}
	}
	need_args(argc - optind, 1, INT_MAX, "expected KNOB=VALUE");
	need_kcontigd();
	knobs = read_knobs(&nr);

	/* Check every argument before changing anything. */
	for (i = optind; i < argc; i++) {
		const struct knob *k;
		const char *value;
		char name[128];

		if (parse_knob_arg(argv[i], name, sizeof(name), &value))
			die(EXIT_USAGE, "set: invalid argument '%s': expected KNOB=VALUE",
			    argv[i]);
		k = find_knob(knobs, nr, name);
		if (!k)
			die(EXIT_USAGE, "set: unknown knob '%s' (see 'contigctl status')",
			    name);
		if (!k->writable)
			die(EXIT_USAGE, "set: '%s' is a read-only counter", name);
	}

	for (i = optind; i < argc; i++) {
		char name[128], now_val[256];
		const struct knob *k;
		const char *value;
		int err;

		parse_knob_arg(argv[i], name, sizeof(name), &value);
		k = find_knob(knobs, nr, name);
		err = sysfs_write(KCONTIGD_SYSFS, name, value);
		if (err == -EACCES || err == -EPERM)
			die(EXIT_PERM, "set: changing kcontigd knobs needs root");
		if (err == -EINVAL)
			die(EXIT_REFUSED, "set: the kernel rejected %s=%s (%s); %s stays %s",
			    name, value, strerror(-err), name, k->value);
		if (err)
			die(EXIT_FAIL, "set: writing %s=%s: %s", name, value,
			    strerror(-err));
		if (sysfs_read(KCONTIGD_SYSFS, name, now_val, sizeof(now_val)))
			snprintf(now_val, sizeof(now_val), "?");
		printf("%s: %s -> %s\n", name, k->value, now_val);
	}
	free(knobs);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ main */

static int cmd_help(int argc, char **argv);

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "show",	cmd_show,	show_usage },
	{ "map",	cmd_map,	map_usage },
	{ "request",	cmd_request,	request_usage },
	{ "release",	cmd_release,	request_usage },
	{ "wait",	cmd_wait,	wait_usage },
	{ "run",	cmd_run,	run_usage },
	{ "status",	cmd_status,	status_usage },
	{ "set",	cmd_set,	set_usage },
	{ "help",	cmd_help,	NULL },
};

static const char main_usage[] =
"Usage: contigctl [--help] [--version] COMMAND [ARGS]\n"
"\n"
"See, request, wait for and tune the physical contiguity that kcontigd\n"
"gives to the memory of a process.\n"
"\n"
"Commands:\n"
"  show PID [ADDR]           contiguity of a process's VMAs\n"
"  map PID ADDR              where a VMA's pages lie in physical memory\n"
"  request PID ADDR [LEN]    ask kcontigd to make a range contiguous\n"
"  release PID ADDR [LEN]    withdraw that request\n"
"  wait PID ADDR             wait until kcontigd is done with a VMA\n"
"  run [--min-size SIZE] -- CMD...\n"
"                            run CMD, requesting its large anonymous VMAs\n"
"  status                    kcontigd's state, knobs and counters\n"
"  set KNOB=VALUE...         change kcontigd's knobs\n"
"\n"
"'contigctl COMMAND --help' shows a command's options; see contigctl(8)\n"
"for the JSON keys and the exit statuses.\n";

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	}
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		fputs(main_usage, stdout);
		return EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd || !cmd->usage)
		die(EXIT_USAGE, "help: unknown command '%s'", argv[1]);
	fputs(cmd->usage, stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	const struct command *cmd;
	int c;

	page_size = sysconf(_SC_PAGESIZE);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(main_usage, stdout);
			return EXIT_OK;
		case 'V':
			printf("contigctl %s\n", CONTIGCTL_VERSION);
			return EXIT_OK;
		default:
			bad_option(c, argv);
		}
	}
	if (optind >= argc) {
		fputs(main_usage, stderr);
		return EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (!cmd)
		die(EXIT_USAGE, "unknown command '%s' (see 'contigctl --help')",
		    argv[optind]);
	cmd_name = cmd->name;
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: start afresh on the command's arguments */
	return cmd->fn(argc, argv);
}
