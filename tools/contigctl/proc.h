/* SPDX-License-Identifier: GPL-2.0 */
/*
 * contigctl: reading processes and kcontigd through /proc and /sys.
 */
#ifndef _CONTIGCTL_PROC_H
#define _CONTIGCTL_PROC_H

#include "contigctl.h"

#define KCONTIGD_SYSFS		"/sys/kernel/mm/kcontigd"

/* pagemap ABI, Documentation/admin-guide/mm/pagemap.rst */
#define PM_PFN_MASK		((1ULL << 55) - 1)
#define PM_FILE			(1ULL << 61)
#define PM_SWAP			(1ULL << 62)
#define PM_PRESENT		(1ULL << 63)

enum proc_state {
	PROC_ALIVE,
	PROC_GONE,		/* no /proc/PID: never existed or reaped */
	PROC_ZOMBIE,		/* exited, not yet reaped: no memory left */
	PROC_NO_MM,		/* a kernel thread */
};

/**
 * struct pfn_source - what turns pagemap entries into PFNs
 * @pid: the process
 * @fd: its open /proc/PID/pagemap
 * @zero_pfn: PFN of the shared zero page, PFN_NONE if unknown
 * @page_size: the base page size
 */
struct pfn_source {
	pid_t pid;
	int fd;
	uint64_t zero_pfn;
	unsigned long page_size;
};

enum proc_state proc_state(pid_t pid, char *comm, size_t len);
int proc_read_vmas(pid_t pid, bool smaps, struct vma_info **vmas, size_t *nr);
int proc_find_vma(const struct vma_info *vmas, size_t nr, uint64_t addr);
int proc_read_contig(pid_t pid, struct contig_line **lines, size_t *nr);
void contig_lines_free(struct contig_line *lines, size_t nr);
int proc_find_contig(const struct contig_line *lines, size_t nr,
		     uint64_t addr);
int pfns_visible(uint64_t *zero_pfn);
int pfn_source_open(struct pfn_source *src, pid_t pid);
void pfn_source_close(struct pfn_source *src);
int pfn_source_read(struct pfn_source *src, const struct vma_info *vma,
		    uint64_t first, size_t nr, uint64_t *pfns);
int vma_stats(struct pfn_source *src, const struct vma_info *vma,
	      struct contig_stats *st);
uint64_t *vma_pfns(struct pfn_source *src, const struct vma_info *vma,
		   int *err);

bool kcontigd_available(void);
int sysfs_read(const char *dir, const char *name, char *buf, size_t len);
int sysfs_write(const char *dir, const char *name, const char *val);
bool cap_effective(unsigned int cap);

#endif /* _CONTIGCTL_PROC_H */
