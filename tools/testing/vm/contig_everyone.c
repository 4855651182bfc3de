// SPDX-License-Identifier: GPL-2.0
/*
 * contig_everyone: put the memory of every process under kcontigd.
 *
 *   contig_everyone [PERIOD_MS]
 *
 * Every PERIOD_MS (default 100) milliseconds, for every process but
 * itself, process_madvise(MADV_CONTIG) each private writable mapping
 * listed in /proc/PID/maps, so that what a test program allocates is
 * registered within a period of its creation. Runs until killed; prints
 * on exit (SIGTERM) how many requests it made and how many failed with
 * an errno other than the expected races (ESRCH, ENOMEM for a vma gone).
 * The third column of make check-upstream.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MADV_CONTIG	26

static volatile sig_atomic_t stop;
static unsigned long requests, refused, odd;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void advise_pid(int pid)
{
	char path[64], line[512], perms[8];
	unsigned long start, end;
	struct iovec iov;
	FILE *maps;
	int pidfd;

	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "r");
	while (maps && fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3 ||
		    perms[1] != 'w' || perms[3] != 'p')
			continue;
		iov.iov_base = (void *)start;
		iov.iov_len = end - start;
		requests++;
		if (syscall(SYS_process_madvise, pidfd, &iov, 1, MADV_CONTIG,
			    0) >= 0)
			continue;
		refused++;
		if (errno != ESRCH && errno != ENOMEM && errno != EINVAL &&
		    errno != EAGAIN && errno != ENOSPC && errno != EBUSY) {
			if (!odd++)
				fprintf(stderr, "contig_everyone: pid %d %lx-%lx: %s\n",
					pid, start, end, strerror(errno));
		}
	}
	if (maps)
		fclose(maps);
	close(pidfd);
}

int main(int argc, char **argv)
{
	long period_ms = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
	struct timespec ts = {
		.tv_sec = period_ms / 1000,
		.tv_nsec = period_ms % 1000 * 1000000L,
	};
	int self = getpid();

	if (period_ms <= 0) {
		fprintf(stderr, "usage: contig_everyone [PERIOD_MS > 0]\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	while (!stop) {
		DIR *proc = opendir("/proc");
		struct dirent *d;

		while (proc && (d = readdir(proc)) && !stop) {
			int pid = atoi(d->d_name);

			if (pid > 1 && pid != self)
				advise_pid(pid);
		}
		if (proc)
			closedir(proc);
		nanosleep(&ts, NULL);
	}
	printf("contig_everyone: %lu requests, %lu refused, %lu with an unexpected errno\n",
	       requests, refused, odd);
	return odd ? 1 : 0;
}
