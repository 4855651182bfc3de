// SPDX-License-Identifier: GPL-2.0
/*
 * The MADV_CONTIG / MADV_NOCONTIG ABI: validation and errnos, VM_CONTIG
 * ("ct" in smaps VmFlags) across splits, merges, fork and mremap,
 * process_madvise() permissions and /proc/<pid>/contig.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "contig_util.h"

#define NOBODY	65534

static long page_size;

static int sys_pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

static long sys_process_madvise(int pidfd, void *addr, size_t len, int advice)
{
	struct iovec iov = { .iov_base = addr, .iov_len = len };

	return syscall(SYS_process_madvise, pidfd, &iov, 1, advice, 0);
}

/* An anonymous, populated, private mapping of @pages pages. */
static char *map_anon(unsigned long pages)
{
	char *p = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0x5a, pages * page_size);
	return p;
}

/* A child that sleeps until killed; returns its pid. */
static pid_t spawn_sleeper(uid_t uid, int *ready_fd)
{
	int pfd[2];
	pid_t pid;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		char *buf;

		if (uid && setuid(uid))
			_exit(1);
		/* setuid() cleared it; keep ptrace access for the same user. */
		prctl(PR_SET_DUMPABLE, 1);
		buf = map_anon(16);
		if (!buf)
			_exit(1);
		if (write(pfd[1], &buf, sizeof(buf)) != sizeof(buf))
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	*ready_fd = pfd[0];
	return pid;
}

FIXTURE(contig)
{
	char *buf;
	unsigned long pages;
};

FIXTURE_SETUP(contig)
{
	if (!kcontigd_present())
		SKIP(return, "kernel without kcontigd (no %s)", KCONTIGD_SYSFS);
	page_size = sysconf(_SC_PAGESIZE);
	self->pages = 16;
	self->buf = map_anon(self->pages);
	ASSERT_NE(self->buf, NULL);
}

FIXTURE_TEARDOWN(contig)
{
	if (self->buf)
		munmap(self->buf, self->pages * page_size);
}

TEST_F(contig, sets_and_clears_flag)
{
	ASSERT_EQ(vma_has_flag(getpid(), (unsigned long)self->buf, "ct"), 0);
	ASSERT_EQ(madvise(self->buf, self->pages * page_size, MADV_CONTIG), 0);
	ASSERT_EQ(vma_has_flag(getpid(), (unsigned long)self->buf, "ct"), 1);
	ASSERT_EQ(madvise(self->buf, self->pages * page_size, MADV_NOCONTIG), 0);
	ASSERT_EQ(vma_has_flag(getpid(), (unsigned long)self->buf, "ct"), 0);
}

TEST_F(contig, einval_unaligned_start)
{
	errno = 0;
	ASSERT_EQ(madvise(self->buf + 1, page_size, MADV_CONTIG), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(vma_has_flag(getpid(), (unsigned long)self->buf, "ct"), 0);
}

TEST_F(contig, einval_wrapping_range)
{
	errno = 0;
	ASSERT_EQ(madvise(self->buf, (size_t)-page_size, MADV_CONTIG), -1);
	ASSERT_EQ(errno, EINVAL);
}

TEST_F(contig, zero_length_is_noop)
{
	ASSERT_EQ(madvise(self->buf, 0, MADV_CONTIG), 0);
	ASSERT_EQ(vma_has_flag(getpid(), (unsigned long)self->buf, "ct"), 0);
}

TEST_F(contig, enomem_unmapped)
{
	/* A hole in the middle: the mapped parts are still advised. */
	ASSERT_EQ(munmap(self->buf + 4 * page_size, 4 * page_size), 0);
	errno = 0;
	ASSERT_EQ(madvise(self->buf, 12 * page_size, MADV_CONTIG), -1);
	ASSERT_EQ(errno, ENOMEM);

	/* Entirely unmapped. */
	errno = 0;
	ASSERT_EQ(madvise(self->buf + 4 * page_size, 4 * page_size,
			  MADV_CONTIG), -1);
	ASSERT_EQ(errno, ENOMEM);
}

/* VM_PFNMAP | VM_IO: the [vvar] mapping of every x86-64 process. */
TEST_F(contig, einval_pfnmap)
{
	unsigned long start = 0, end = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	ASSERT_NE(f, NULL);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vvar]"))
			sscanf(line, "%lx-%lx", &start, &end);
	fclose(f);
	if (!start)
		SKIP(return, "no [vvar] mapping");
	errno = 0;
	ASSERT_EQ(madvise((void *)start, end - start, MADV_CONTIG), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(vma_has_flag(getpid(), start, "ct"), 0);
}

TEST_F(contig, einval_hugetlb)
{
	size_t len = 2UL << 20;
	char *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		SKIP(return, "no hugetlb page available (vm.nr_hugepages)");
	errno = 0;
	EXPECT_EQ(madvise(p, len, MADV_CONTIG), -1);
	EXPECT_EQ(errno, EINVAL);
	munmap(p, len);
}

TEST_F(contig, shared_and_file_mappings_accepted)
{
	char path[] = "/tmp/contig-XXXXXX";
	char *shm, *file;
	int fd;

	shm = mmap(NULL, 4 * page_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(shm, MAP_FAILED);
	memset(shm, 1, 4 * page_size);
	ASSERT_EQ(madvise(shm, 4 * page_size, MADV_CONTIG), 0);
	ASSERT_EQ(vma_has_flag(getpid(), (unsigned long)shm, "ct"), 1);

	fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	unlink(path);
	ASSERT_EQ(ftruncate(fd, 4 * page_size), 0);
	file = mmap(NULL, 4 * page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, 0);
	ASSERT_NE(file, MAP_FAILED);
	memset(file, 2, 4 * page_size);
	ASSERT_EQ(madvise(file, 4 * page_size, MADV_CONTIG), 0);
	ASSERT_EQ(vma_has_flag(getpid(), (unsigned long)file, "ct"), 1);
	munmap(file, 4 * page_size);
	munmap(shm, 4 * page_size);
	close(fd);
}

/* Advising the middle splits the vma; the flag is exactly on the middle. */
TEST_F(contig, partial_advice_splits)
{
	unsigned long s, e, b = (unsigned long)self->buf;

	ASSERT_EQ(madvise(self->buf + 4 * page_size, 8 * page_size,
			  MADV_CONTIG), 0);
	ASSERT_EQ(vma_has_flag(getpid(), b, "ct"), 0);
	ASSERT_EQ(vma_has_flag(getpid(), b + 4 * page_size, "ct"), 1);
	ASSERT_EQ(vma_has_flag(getpid(), b + 11 * page_size, "ct"), 1);
	ASSERT_EQ(vma_has_flag(getpid(), b + 12 * page_size, "ct"), 0);
	ASSERT_EQ(vma_bounds(getpid(), b + 5 * page_size, &s, &e), 0);
	ASSERT_EQ(s, b + 4 * page_size);
	ASSERT_EQ(e, b + 12 * page_size);

	/* Undoing it lets the three vmas merge back into one. */
	ASSERT_EQ(madvise(self->buf + 4 * page_size, 8 * page_size,
			  MADV_NOCONTIG), 0);
	ASSERT_EQ(vma_bounds(getpid(), b + 5 * page_size, &s, &e), 0);
	ASSERT_EQ(s, b);
	ASSERT_EQ(e, b + 16 * page_size);
}

/* Adjacent advised ranges merge into one VM_CONTIG vma. */
TEST_F(contig, adjacent_advice_merges)
{
	unsigned long s, e, b = (unsigned long)self->buf;

	ASSERT_EQ(madvise(self->buf, 8 * page_size, MADV_CONTIG), 0);
	ASSERT_EQ(madvise(self->buf + 8 * page_size, 8 * page_size,
			  MADV_CONTIG), 0);
	ASSERT_EQ(vma_bounds(getpid(), b, &s, &e), 0);
	ASSERT_EQ(s, b);
	ASSERT_EQ(e, b + 16 * page_size);
	ASSERT_EQ(vma_has_flag(getpid(), b, "ct"), 1);
}

TEST_F(contig, mprotect_split_keeps_flag)
{
	unsigned long b = (unsigned long)self->buf;

	ASSERT_EQ(madvise(self->buf, 16 * page_size, MADV_CONTIG), 0);
	ASSERT_EQ(mprotect(self->buf + 4 * page_size, 4 * page_size,
			   PROT_READ), 0);
	ASSERT_EQ(vma_has_flag(getpid(), b, "ct"), 1);
	ASSERT_EQ(vma_has_flag(getpid(), b + 4 * page_size, "ct"), 1);
	ASSERT_EQ(vma_has_flag(getpid(), b + 8 * page_size, "ct"), 1);
	ASSERT_EQ(contig_nr_lines(getpid()), 3);
}

TEST_F(contig, munmap_part_keeps_rest)
{
	unsigned long b = (unsigned long)self->buf;

	ASSERT_EQ(madvise(self->buf, 16 * page_size, MADV_CONTIG), 0);
	ASSERT_EQ(munmap(self->buf + 4 * page_size, 4 * page_size), 0);
	ASSERT_EQ(vma_has_flag(getpid(), b, "ct"), 1);
	ASSERT_EQ(vma_has_flag(getpid(), b + 4 * page_size, "ct"), -1);
	ASSERT_EQ(vma_has_flag(getpid(), b + 8 * page_size, "ct"), 1);
	ASSERT_EQ(contig_nr_lines(getpid()), 2);
}

TEST_F(contig, mremap_move_and_grow_keep_flag)
{
	char *dst, *moved, *grown;
	unsigned long s, e;

	ASSERT_EQ(madvise(self->buf, 16 * page_size, MADV_CONTIG), 0);

	/* Move to a fresh place. */
	dst = mmap(NULL, 64 * page_size, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(dst, MAP_FAILED);
	moved = mremap(self->buf, 16 * page_size, 16 * page_size,
		       MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(moved, dst);
	self->buf = NULL;
	ASSERT_EQ(vma_has_flag(getpid(), (unsigned long)moved, "ct"), 1);
	ASSERT_EQ(moved[5 * page_size], 0x5a);

	/* Grow in place into the PROT_NONE reservation's former room. */
	ASSERT_EQ(munmap(moved + 16 * page_size, 48 * page_size), 0);
	grown = mremap(moved, 16 * page_size, 32 * page_size, MREMAP_MAYMOVE);
	ASSERT_NE(grown, MAP_FAILED);
	ASSERT_EQ(vma_has_flag(getpid(), (unsigned long)grown, "ct"), 1);
	ASSERT_EQ(vma_bounds(getpid(), (unsigned long)grown, &s, &e), 0);
	ASSERT_EQ(e - s, 32 * page_size);
	ASSERT_EQ(contig_nr_lines(getpid()), 1);
	munmap(grown, 32 * page_size);
}

TEST_F(contig, fork_child_not_advised)
{
	int status;
	pid_t pid;

	ASSERT_EQ(madvise(self->buf, 16 * page_size, MADV_CONTIG), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* The child sees the data but not the advice. */
		if (self->buf[0] != 0x5a)
			_exit(1);
		if (vma_has_flag(getpid(), (unsigned long)self->buf, "ct") != 0)
			_exit(2);
		if (contig_nr_lines(getpid()) != 0)
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
	ASSERT_EQ(vma_has_flag(getpid(), (unsigned long)self->buf, "ct"), 1);
}

TEST_F(contig, proc_contig_line)
{
	unsigned long b = (unsigned long)self->buf;
	char line[512];

	char enabled[16];
	int line_ok;

	if (geteuid())
		SKIP(return, "needs root to hold kcontigd off");
	ASSERT_EQ(contig_nr_lines(getpid()), 0);
	/* kcontigd off, or it may pick the vma up before the line is read. */
	ASSERT_EQ(knob_read("enabled", enabled, sizeof(enabled)), 0);
	ASSERT_EQ(knob_write("enabled", "0"), 0);
	ASSERT_EQ(madvise(self->buf, 16 * page_size, MADV_CONTIG), 0);
	line_ok = contig_line(getpid(), b, line, sizeof(line));
	EXPECT_EQ(line_ok, 0);
	TH_LOG("%s", line);
	EXPECT_NE(strstr(line, " state=pending "), NULL);
	EXPECT_EQ(contig_field(line, "resident"), 16);
	EXPECT_EQ(contig_field(line, "in_place"), 0);
	EXPECT_GE(contig_field(line, "runs"), 1);
	EXPECT_LE(contig_field(line, "runs"), 16);
	EXPECT_GE(contig_field(line, "largest"), 1);

	/*
	 * Resident counts only populated pages. Still with kcontigd off: a
	 * page it is moving is a migration entry for a moment, not resident.
	 */
	EXPECT_EQ(madvise(self->buf, 4 * page_size, MADV_DONTNEED), 0);
	EXPECT_EQ(contig_line(getpid(), b, line, sizeof(line)), 0);
	EXPECT_EQ(contig_field(line, "resident"), 12);
	EXPECT_EQ(contig_nr_lines(getpid()), 1);
	ASSERT_EQ(knob_write("enabled", enabled), 0);
}

/* Anchors are physical: root sees the field, others do not. */
TEST_F(contig, proc_contig_anchor_root_only)
{
	unsigned long b = (unsigned long)self->buf;
	char line[512], saved[16];
	int status;
	pid_t pid;

	if (geteuid())
		SKIP(return, "needs root");
	ASSERT_EQ(madvise(self->buf, 16 * page_size, MADV_CONTIG), 0);
	ASSERT_EQ(contig_line(getpid(), b, line, sizeof(line)), 0);
	ASSERT_NE(strstr(line, " anchor="), NULL);

	/* Let an unprivileged task advise (the default is deny). */
	if (knob_read("unprivileged", saved, sizeof(saved)) ||
	    knob_write("unprivileged", "allow"))
		saved[0] = '\0';
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* Own process, no CAP_SYS_ADMIN: the line without anchor. */
		if (setuid(NOBODY))
			_exit(1);
		if (madvise(self->buf, 16 * page_size, MADV_CONTIG))
			_exit(2);
		if (contig_line(getpid(), b, line, sizeof(line)))
			_exit(3);
		_exit(strstr(line, " anchor=") ? 4 : 0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	if (saved[0])
		knob_write("unprivileged", saved);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

/* Another user's /proc/<pid>/contig is not readable (PTRACE_MODE_READ). */
TEST_F(contig, proc_contig_needs_ptrace_read)
{
	char path[64], line[512];
	int status, fd;
	pid_t pid;

	if (geteuid())
		SKIP(return, "needs root");
	ASSERT_EQ(madvise(self->buf, 16 * page_size, MADV_CONTIG), 0);
	snprintf(path, sizeof(path), "/proc/%d/contig", getpid());
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		ssize_t n;

		if (setuid(NOBODY))
			_exit(1);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			_exit(0);
		n = read(fd, line, sizeof(line));
		_exit(n < 0 && (errno == EACCES || errno == EPERM) ? 0 : 2);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(contig, process_madvise_self)
{
	int pidfd = sys_pidfd_open(getpid());

	ASSERT_GE(pidfd, 0);
	ASSERT_EQ(sys_process_madvise(pidfd, self->buf, 16 * page_size,
				      MADV_CONTIG), 16 * page_size);
	ASSERT_EQ(vma_has_flag(getpid(), (unsigned long)self->buf, "ct"), 1);
	ASSERT_EQ(sys_process_madvise(pidfd, self->buf, 16 * page_size,
				      MADV_NOCONTIG), 16 * page_size);
	ASSERT_EQ(vma_has_flag(getpid(), (unsigned long)self->buf, "ct"), 0);
	close(pidfd);
}

/*
 * Root (CAP_SYS_NICE + ptrace read) may advise another process. The
 * advice leaves that process's address space as it is: no vma
 * split, no VM_CONTIG ("ct"), as for every advice mainline's
 * process_madvise() accepts (a split vma, and pieces that no longer
 * merge, would make the owner's mremap() over them fail). kcontigd works
 * on every vma the advised range overlaps, whole, until
 * process_madvise(MADV_NOCONTIG) takes the range back.
 */
TEST_F(contig, process_madvise_remote_keeps_vmas)
{
	int pidfd, rfd, status, n0;
	char *remote;
	pid_t pid;

	if (geteuid())
		SKIP(return, "needs root");
	pid = spawn_sleeper(0, &rfd);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(read(rfd, &remote, sizeof(remote)), sizeof(remote));
	pidfd = sys_pidfd_open(pid);
	ASSERT_GE(pidfd, 0);
	n0 = proc_nr_lines(pid, "maps");
	ASSERT_GT(n0, 0);

	/* The middle of the 16-page vma. */
	EXPECT_EQ(sys_process_madvise(pidfd, remote + 4 * page_size,
				      8 * page_size, MADV_CONTIG),
		  8 * page_size);
	EXPECT_EQ(proc_nr_lines(pid, "maps"), n0);
	EXPECT_EQ(vma_has_flag(pid, (unsigned long)remote, "ct"), 0);
	EXPECT_EQ(contig_nr_lines(pid), 1);

	/* Taken back in two halves: advised until the second. */
	EXPECT_EQ(sys_process_madvise(pidfd, remote + 4 * page_size,
				      4 * page_size, MADV_NOCONTIG),
		  4 * page_size);
	EXPECT_EQ(contig_nr_lines(pid), 1);
	EXPECT_EQ(sys_process_madvise(pidfd, remote, 16 * page_size,
				      MADV_NOCONTIG), 16 * page_size);
	EXPECT_EQ(contig_nr_lines(pid), 0);
	EXPECT_EQ(proc_nr_lines(pid, "maps"), n0);

	/* Cut in two by a NOCONTIG inside it: both ends stay advised. */
	EXPECT_EQ(sys_process_madvise(pidfd, remote, 16 * page_size,
				      MADV_CONTIG), 16 * page_size);
	EXPECT_EQ(sys_process_madvise(pidfd, remote + 4 * page_size,
				      8 * page_size, MADV_NOCONTIG),
		  8 * page_size);
	EXPECT_EQ(contig_nr_lines(pid), 1);
	EXPECT_EQ(sys_process_madvise(pidfd, remote, 4 * page_size,
				      MADV_NOCONTIG), 4 * page_size);
	EXPECT_EQ(contig_nr_lines(pid), 1);
	EXPECT_EQ(sys_process_madvise(pidfd, remote + 12 * page_size,
				      4 * page_size, MADV_NOCONTIG),
		  4 * page_size);
	EXPECT_EQ(contig_nr_lines(pid), 0);
	EXPECT_EQ(proc_nr_lines(pid, "maps"), n0);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(pidfd);
	close(rfd);
}

/*
 * Without CAP_SYS_NICE a process may not advise another one (EPERM), and
 * without ptrace read access it may not even look at its mm (EACCES).
 */
TEST_F(contig, process_madvise_remote_denied)
{
	int rfd_root, rfd_nobody, status;
	char *remote_root, *remote_nobody;
	pid_t root_pid, nobody_pid, pid;

	if (geteuid())
		SKIP(return, "needs root");
	root_pid = spawn_sleeper(0, &rfd_root);
	nobody_pid = spawn_sleeper(NOBODY, &rfd_nobody);
	ASSERT_GT(root_pid, 0);
	ASSERT_GT(nobody_pid, 0);
	ASSERT_EQ(read(rfd_root, &remote_root, sizeof(char *)), sizeof(char *));
	ASSERT_EQ(read(rfd_nobody, &remote_nobody, sizeof(char *)),
		  sizeof(char *));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd;

		if (setuid(NOBODY))
			_exit(1);
		prctl(PR_SET_DUMPABLE, 1);
		/* Same user, so ptrace read is fine: CAP_SYS_NICE is missing. */
		fd = sys_pidfd_open(nobody_pid);
		if (fd < 0)
			_exit(2);
		errno = 0;
		if (sys_process_madvise(fd, remote_nobody, 16 * page_size,
					MADV_CONTIG) != -1 || errno != EPERM)
			_exit(3);
		close(fd);
		/* Another user's process: no ptrace read access. */
		fd = sys_pidfd_open(root_pid);
		if (fd < 0)
			_exit(4);
		errno = 0;
		if (sys_process_madvise(fd, remote_root, 16 * page_size,
					MADV_CONTIG) != -1 || errno != EACCES)
			_exit(5);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	EXPECT_EQ(vma_has_flag(root_pid, (unsigned long)remote_root, "ct"), 0);
	EXPECT_EQ(vma_has_flag(nobody_pid, (unsigned long)remote_nobody, "ct"),
		  0);
	kill(root_pid, SIGKILL);
	kill(nobody_pid, SIGKILL);
	waitpid(root_pid, &status, 0);
	waitpid(nobody_pid, &status, 0);
}

TEST_F(contig, process_madvise_bad_advice_still_rejected)
{
	int pidfd = sys_pidfd_open(getpid());

	ASSERT_GE(pidfd, 0);
	errno = 0;
	/* MADV_DONTFORK is not a process_madvise() advice: unchanged rule. */
	ASSERT_EQ(sys_process_madvise(pidfd, self->buf, page_size,
				      MADV_DONTFORK), -1);
	ASSERT_EQ(errno, EINVAL);
	close(pidfd);
}

TEST_HARNESS_MAIN
