/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the mem_defrag selftests: the MADV_CONTIG ABI,
 * /proc/<pid>/smaps and /proc/<pid>/contig parsing, kcontigd's sysfs knobs.
 */
#ifndef __CONTIG_UTIL_H
#define __CONTIG_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <time.h>
#include <sys/mman.h>

#ifndef MADV_CONTIG
#define MADV_CONTIG	26
#endif
#ifndef MADV_NOCONTIG
#define MADV_NOCONTIG	27
#endif

#define KCONTIGD_SYSFS	"/sys/kernel/mm/kcontigd/"

static inline bool kcontigd_present(void)
{
	return access(KCONTIGD_SYSFS "enabled", F_OK) == 0;
}

/* Read knob @name into @buf (trailing newline stripped); 0 or -errno. */
static inline int knob_read(const char *name, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), KCONTIGD_SYSFS "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static inline long knob_read_long(const char *name)
{
	char buf[64];

	if (knob_read(name, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 0);
}

/* Write @val to knob @name; 0 or -errno of the write. */
static inline int knob_write(const char *name, const char *val)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), KCONTIGD_SYSFS "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

/*
 * Find the smaps entry of @pid's vma that contains @addr and copy its
 * VmFlags line into @flags. Returns 0, or -1 if no vma contains @addr.
 */
static inline int vma_flags(pid_t pid, unsigned long addr, char *flags,
			    size_t len)
{
	char path[64], line[512];
	bool in = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = addr >= start && addr < end;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(flags, len, "%s", line + 8);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -1;
}

/* 1 if @addr's vma has VmFlags mnemonic @mn, 0 if not, -1 if no vma. */
static inline int vma_has_flag(pid_t pid, unsigned long addr, const char *mn)
{
	char flags[512], *tok, *save;

	if (vma_flags(pid, addr, flags, sizeof(flags)))
		return -1;
	for (tok = strtok_r(flags, "\n ", &save); tok;
	     tok = strtok_r(NULL, "\n ", &save))
		if (!strcmp(tok, mn))
			return 1;
	return 0;
}

/* Bounds of @pid's vma containing @addr from /proc/pid/maps; 0 or -1. */
static inline int vma_bounds(pid_t pid, unsigned long addr,
			     unsigned long *start, unsigned long *end)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", start, end) == 2 &&
		    addr >= *start && addr < *end) {
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -1;
}

/*
 * Find the /proc/<pid>/contig line of the vma starting at @start and copy
 * it into @line. Returns 0, -1 if there is none, -errno if unreadable.
 */
static inline int contig_line(pid_t pid, unsigned long start, char *out,
			      size_t len)
{
	char path[64], line[512];
	int ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/contig", pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s == start) {
			snprintf(out, len, "%s", line);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* Number of lines in /proc/<pid>/<file>, or -errno. */
static inline int proc_nr_lines(pid_t pid, const char *file)
{
	char path[64], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/* Number of lines in /proc/<pid>/contig, or -errno. */
static inline int contig_nr_lines(pid_t pid)
{
	return proc_nr_lines(pid, "contig");
}

/* Value of "key=<number>" in a contig line, or -1. */
static inline long contig_field(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	if (!p)
		return -1;
	return strtol(p + strlen(pat), NULL, 10);
}

/* Pid of the kcontigd kernel thread, or 0 if it is not running. */
static inline pid_t kcontigd_pid(void)
{
	struct dirent *de;
	pid_t pid = 0;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "kcontigd\n"))
			pid = atoi(de->d_name);
		fclose(f);
		if (pid)
			break;
	}
	closedir(d);
	return pid;
}

static inline double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait up to @secs for knob @name to reach at least @val; true if so. */
static inline bool knob_wait_ge(const char *name, long val, double secs)
{
	double deadline = now_seconds() + secs;

	do {
		if (knob_read_long(name) >= val)
			return true;
		usleep(20000);
	} while (now_seconds() < deadline);
	return false;
}

/* Wait up to @secs for knob @name to equal @val; true if so. */
static inline bool knob_wait_eq(const char *name, long val, double secs)
{
	double deadline = now_seconds() + secs;

	do {
		if (knob_read_long(name) == val)
			return true;
		usleep(20000);
	} while (now_seconds() < deadline);
	return false;
}

/* What /proc/self/contig says of the vma at an address. */
struct contig_view {
	char state[16];
	long resident, in_place, holes, r99;
	unsigned long anchor_va, anchor_pfn;
};

static inline int contig_view(void *buf, struct contig_view *v)
{
	char line[512], *p;

	memset(v, 0, sizeof(*v));
	if (contig_line(getpid(), (unsigned long)buf, line, sizeof(line)))
		return -1;
	p = strstr(line, " state=");
	if (p)
		sscanf(p + 7, "%15s", v->state);
	v->resident = contig_field(line, "resident");
	v->in_place = contig_field(line, "in_place");
	v->holes = contig_field(line, "holes");
	v->r99 = contig_field(line, "r99");
	p = strstr(line, " anchor=0x");
	if (p)
		sscanf(p + 8, "%lx:%lx", &v->anchor_va, &v->anchor_pfn);
	return 0;
}

/* Wait until the vma at @buf is done or blocked; false on timeout. */
static inline bool wait_settled(void *buf, struct contig_view *v, double secs)
{
	double deadline = now_seconds() + secs;

	do {
		if (!contig_view(buf, v) && (!strcmp(v->state, "done") ||
					     !strcmp(v->state, "blocked")))
			return true;
		usleep(100000);
	} while (now_seconds() < deadline);
	return false;
}

#endif /* __CONTIG_UTIL_H */
