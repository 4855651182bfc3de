// SPDX-License-Identifier: GPL-2.0
/*
 * Reading a process and kcontigd: /proc/PID/stat, smaps, pagemap and
 * contig, /sys/kernel/mm/kcontigd. Errors come back as negative errnos,
 * the subcommands turn them into messages and exit statuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "proc.h"

/* Entries of pagemap read at once. */
#define PAGEMAP_BATCH		4096

/* Kernel threads have no VmSize line in /proc/PID/status. */
static bool proc_has_mm(pid_t pid)
{
	char path[64], line[256];
	bool has_mm = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return true;	/* gone: the caller's next open says so */
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmSize:", 7)) {
			has_mm = true;
			break;
		}
	}
	fclose(f);
	return has_mm;
}

/**
 * proc_state - is @pid a process with memory to look at
 * @pid: the process
 * @comm: receives its command name (may be NULL)
 * @len: size of @comm
 *
 * Return: PROC_ALIVE, or why not.
 */
enum proc_state proc_state(pid_t pid, char *comm, size_t len)
{
	char path[64], buf[512], *lparen, *rparen;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return PROC_GONE;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return PROC_GONE;
	buf[n] = '\0';

	/* "pid (comm) S ...": comm may hold spaces and parentheses. */
	lparen = strchr(buf, '(');
	rparen = strrchr(buf, ')');
	if (!lparen || !rparen || rparen < lparen || rparen[1] != ' ')
		return PROC_GONE;
	if (comm)
		snprintf(comm, len, "%.*s", (int)(rparen - lparen - 1),
			 lparen + 1);
	if (rparen[2] == 'Z' || rparen[2] == 'X')
		return PROC_ZOMBIE;

	return proc_has_mm(pid) ? PROC_ALIVE : PROC_NO_MM;
}

/**
 * proc_read_vmas - read every VMA of @pid
 * @pid: the process
 * @smaps: read /proc/PID/smaps for Rss and VmFlags; else the cheaper maps
 * @vmas: set to a malloc()ed array
 * @nr: set to its length
 *
 * Return: 0 or -errno of the open or read (-EACCES without ptrace access,
 * -ENOENT when the process is gone).
 */
int proc_read_vmas(pid_t pid, bool smaps, struct vma_info **vmas, size_t *nr)
{
	struct vma_info *list = NULL, *cur = NULL;
	size_t n = 0, cap = 0;
	char path[64], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, smaps ? "smaps" : "maps");
	f = fopen(path, "r");
	if (!f)
		return -errno;
	errno = 0;
	while (fgets(line, sizeof(line), f)) {
		struct vma_info vma;
		unsigned long long kb;

		if (!maps_line_parse(line, &vma)) {
			if (n == cap) {
				struct vma_info *bigger;

				cap = cap ? cap * 2 : 64;
				bigger = realloc(list, cap * sizeof(*list));
				if (!bigger) {
					free(list);
					fclose(f);
					return -ENOMEM;
				}
				list = bigger;
			}
			cur = &list[n++];
			*cur = vma;
			continue;
		}
		if (!cur)
			continue;
		if (sscanf(line, "Rss: %llu kB", &kb) == 1)
			cur->rss_kb = kb;
		else if (!strncmp(line, "VmFlags:", 8))
			cur->registered = vmflags_has(line + 8, "ct");
	}
	if (ferror(f)) {
		int err = errno ? -errno : -EIO;

		free(list);
		fclose(f);
		return err;
	}
	fclose(f);
	*vmas = list;
	*nr = n;
	return 0;
}

/* Index of the VMA holding @addr, or -1. */
int proc_find_vma(const struct vma_info *vmas, size_t nr, uint64_t addr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		if (addr >= vmas[i].start && addr < vmas[i].end)
			return i;
	}
	return -1;
}

/**
 * proc_read_contig - read kcontigd's view of @pid from /proc/PID/contig
 * @pid: the process
 * @lines: set to a malloc()ed array, release with contig_lines_free()
 * @nr: set to its length
 *
 * Return: 0; -ENOENT when the file does not exist (a kernel without
 * kcontigd, or the process is gone); -EACCES without ptrace access.
 */
int proc_read_contig(pid_t pid, struct contig_line **lines, size_t *nr)
{
	struct contig_line *list = NULL;
	size_t n = 0, cap = 0;
	char path[64], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/contig", pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	errno = 0;
	while (fgets(line, sizeof(line), f)) {
		if (n == cap) {
			struct contig_line *bigger;

			cap = cap ? cap * 2 : 16;
			bigger = realloc(list, cap * sizeof(*list));
			if (!bigger) {
				contig_lines_free(list, n);
				fclose(f);
				return -ENOMEM;
			}
			list = bigger;
		}
		if (!contig_line_parse(line, &list[n]))
			n++;
	}
	if (ferror(f)) {
		int err = errno ? -errno : -EIO;

		contig_lines_free(list, n);
		fclose(f);
		return err;
	}
	fclose(f);
	*lines = list;
	*nr = n;
	return 0;
}

void contig_lines_free(struct contig_line *lines, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		contig_line_free(&lines[i]);
	free(lines);
}

/* Index of the contig line whose range holds @addr, or -1. */
int proc_find_contig(const struct contig_line *lines, size_t nr,
		     uint64_t addr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		if (addr >= lines[i].start && addr < lines[i].end)
			return i;
	}
	return -1;
}

/**
 * pfns_visible - can this process see PFNs in pagemap
 * @zero_pfn: set to the PFN of the shared zero page, or PFN_NONE
 *
 * pagemap shows PFNs only to openers with CAP_SYS_ADMIN and zeroes them
 * for others. Read our own pagemap for a page mapped to the zero page:
 * its PFN also tells which entries of other processes are the zero page,
 * which the kernel does not count as resident.
 *
 * Return: 1 if visible, 0 if hidden, -errno if it cannot be told.
 */
int pfns_visible(uint64_t *zero_pfn)
{
	long page_size = sysconf(_SC_PAGESIZE);
	char *p;
	uint64_t entry;
	int fd, ret;

	*zero_pfn = PFN_NONE;
	p = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	/*
	 * Read the page to map the zero page there. GCC and clang keep an
	 * atomic load even when its value is unused.
	 */
	(void)__atomic_load_n(p, __ATOMIC_RELAXED);

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (pread(fd, &entry, sizeof(entry),
		  (uintptr_t)p / page_size * sizeof(entry)) != sizeof(entry)) {
		ret = -EIO;
	} else if (!(entry & PM_PRESENT)) {
		ret = -ENODATA;
	} else {
		ret = (entry & PM_PFN_MASK) != 0;
		if (ret)
			*zero_pfn = entry & PM_PFN_MASK;
	}
	close(fd);
out:
	munmap(p, page_size);
	return ret;
}

int pfn_source_open(struct pfn_source *src, pid_t pid)
{
	char path[64];
	int visible;

	visible = pfns_visible(&src->zero_pfn);
	if (visible < 0)
		return visible;
	if (!visible)
		return -EPERM;
	src->page_size = sysconf(_SC_PAGESIZE);
	src->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	src->fd = open(path, O_RDONLY);
	if (src->fd < 0)
		return -errno;
	return 0;
}

void pfn_source_close(struct pfn_source *src)
{
	if (src->fd >= 0)
		close(src->fd);
	src->fd = -1;
}

/**
 * pfn_source_read - PFNs of @nr pages of @vma from its page @first on
 * @src: the process's pagemap
 * @vma: the VMA
 * @first: index of the first page in @vma
 * @nr: number of pages
 * @pfns: receives a PFN per page, PFN_NONE for pages the kernel does not
 *        count as resident: not present, swapped, the zero page or, in
 *        anonymous memory, the huge zero page (pagemap marks it as file)
 *
 * Return: 0, -ESRCH if the process has exited, or -errno.
 */
int pfn_source_read(struct pfn_source *src, const struct vma_info *vma,
		    uint64_t first, size_t nr, uint64_t *pfns)
{
	uint64_t vpn = vma->start / src->page_size + first;
	bool anon = vma_is_anon(vma);
	size_t done = 0, i;

	while (done < nr) {
		size_t want = (nr - done) * sizeof(uint64_t);
		ssize_t got;

		got = pread(src->fd, pfns + done, want,
			    (vpn + done) * sizeof(uint64_t));
		if (got < 0)
			return errno == ESRCH ? -ESRCH : -errno;
		if (got == 0) {
			/* Past the end of user space ([vsyscall]), or no mm. */
			if (proc_state(src->pid, NULL, 0) != PROC_ALIVE)
				return -ESRCH;
			memset(pfns + done, 0, want);
			break;
		}
		done += got / sizeof(uint64_t);
	}
	for (i = 0; i < nr; i++) {
		uint64_t e = pfns[i];

		if (!(e & PM_PRESENT) || (anon && (e & PM_FILE)) ||
		    (e & PM_PFN_MASK) == src->zero_pfn)
			pfns[i] = PFN_NONE;
		else
			pfns[i] = e & PM_PFN_MASK;
	}
	return 0;
}

/* Statistics of @vma; a VMA with no Rss is not read at all. */
int vma_stats(struct pfn_source *src, const struct vma_info *vma,
	      struct contig_stats *st)
{
	uint64_t pages = (vma->end - vma->start) / src->page_size, pos;
	struct contig_acc acc;
	uint64_t *buf;
	int err = 0;

	contig_acc_init(&acc, src->page_size);
	if (!vma->rss_kb) {
		memset(st, 0, sizeof(*st));
		st->pages = pages;
		return 0;
	}
	buf = malloc(PAGEMAP_BATCH * sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	for (pos = 0; pos < pages && !err; pos += PAGEMAP_BATCH) {
		size_t n = pages - pos < PAGEMAP_BATCH ? pages - pos :
			   PAGEMAP_BATCH;

		err = pfn_source_read(src, vma, pos, n, buf);
		if (!err)
			err = contig_acc_add(&acc, buf, n);
	}
	if (!err)
		err = contig_acc_finish(&acc, st);
	contig_acc_free(&acc);
	free(buf);
	return err;
}

/* Every PFN of @vma in a malloc()ed array, or NULL with *@err set. */
uint64_t *vma_pfns(struct pfn_source *src, const struct vma_info *vma,
		   int *err)
{
	uint64_t pages = (vma->end - vma->start) / src->page_size;
	uint64_t *pfns = malloc((pages ? pages : 1) * sizeof(*pfns));

	if (!pfns) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = pfn_source_read(src, vma, 0, pages, pfns);
	if (*err) {
		free(pfns);
		return NULL;
	}
	return pfns;
}

bool kcontigd_available(void)
{
	return access(KCONTIGD_SYSFS "/enabled", F_OK) == 0;
}

/* Read @dir/@name into @buf without the trailing newline; 0 or -errno. */
int sysfs_read(const char *dir, const char *name, char *buf, size_t len)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

/* Write @val to @dir/@name in one write(); 0 or the kernel's -errno. */
int sysfs_write(const char *dir, const char *name, const char *val)
{
	size_t len = strlen(val);
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	if (close(fd))
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Whether capability number @cap is in our effective set. */
bool cap_effective(unsigned int cap)
{
	unsigned long long caps = 0;
	char line[256];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			found = true;
			break;
		}
	}
	fclose(f);
	return found && cap < 64 && (caps >> cap & 1);
}
