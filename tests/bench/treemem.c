/*
 * treemem - run a command, time it, and follow the memory of its process
 * tree
 *
 *   treemem [-s] FILE LABEL COMMAND [ARG...]
 *
 * Like timeit: runs COMMAND with this process's stdin, stdout, stderr and
 * environment and appends "LABEL MICROSECONDS EXIT MAXRSS_KB" to FILE,
 * where MAXRSS_KB is wait4()'s ru_maxrss (the largest peak of the command
 * and of its waited-for descendants, exact but without saying which).
 * Then one line per process of the tree seen while it ran:
 *
 *   LABEL.proc DEPTH PID COMM HWM_KB ANON_KB FILE_KB
 *
 * DEPTH 0 is COMMAND itself, 1 its children (a forked worker), and so on;
 * HWM_KB is the last VmHWM read from /proc/PID/status (the process's own
 * peak resident set), ANON_KB and FILE_KB the largest RssAnon and
 * RssFile + RssShmem seen (anonymous memory versus mapped files, such as
 * a Git pack). The tree is walked through /proc/PID/task/TID/children
 * every POLL_MS milliseconds, so a process that lives less than that may
 * be missed, and growth in the last POLL_MS of a process's life too:
 * the per-process figures are lower bounds; MAXRSS_KB is exact.
 *
 * With -s, one more line, the memory of the whole tree at once:
 *
 *   LABEL.sum RSS_KB PSS_KB SAMPLES PROCS
 *
 * At each sample the VmRSS (/proc/PID/status) and the Pss
 * (/proc/PID/smaps_rollup) of every live process of the tree are added
 * up; RSS_KB and PSS_KB are the largest of those sums (not necessarily
 * at the same sample), SAMPLES the number of samples and PROCS the most
 * processes seen at once. The RSS sum counts a page shared by several
 * processes (a forked worker's copy of its parent, a mapped Git pack)
 * once per process; the PSS sum shares it out among them, so it is what
 * the tree costs the machine. PSS_KB is -1 where smaps_rollup cannot be
 * read (Linux before 4.14). Reading smaps_rollup walks each process's
 * page tables, hence an option: without -s the sampling stays as cheap
 * as it was.
 *
 * Exits with COMMAND's exit code (128 + signal if it was killed, 127 if it
 * could not be run). Part of the benchmark (tests/bench/deploy.sh, and
 * fleet.sh with -s); not built by the Makefile.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 10
#define MAX_PROCS 256
#define MAX_DEPTH 8

struct proc {
	pid_t pid;
	int depth;
	char comm[32];
	long hwm, anon, file;
};

static struct proc procs[MAX_PROCS];
static int nr_procs;

/* -s: the sums of the current sample, and their peaks */
static int sums;
static long tick_rss, tick_pss, peak_rss, peak_pss;
static int tick_procs, most_procs, no_pss;

static struct proc *find(pid_t pid, int depth)
{
	int i;

	for (i = 0; i < nr_procs; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	if (nr_procs == MAX_PROCS)
		return NULL;
	memset(&procs[nr_procs], 0, sizeof(procs[nr_procs]));
	procs[nr_procs].pid = pid;
	procs[nr_procs].depth = depth;
	return &procs[nr_procs++];
}

static long field(const char *status, const char *name)
{
	const char *p = strstr(status, name);

	return p ? strtol(p + strlen(name), NULL, 10) : -1;
}

/* The Pss of a process from /proc/PID/smaps_rollup, in KB; -1 if unread. */
static long pss_of(pid_t pid)
{
	char path[64], rollup[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, rollup, sizeof(rollup) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	rollup[n] = '\0';
	return field(rollup, "\nPss:");
}

/* Read /proc/PID/status into the record; 0 if the process is gone. */
static int sample(pid_t pid, int depth)
{
	char path[64], status[4096];
	struct proc *p;
	long hwm, anon, file, shmem;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, status, sizeof(status) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	status[n] = '\0';
	hwm = field(status, "\nVmHWM:");
	if (hwm < 0)
		return 0;	/* a zombie: its last sample stands */
	if (sums) {
		long rss = field(status, "\nVmRSS:"), pss = pss_of(pid);

		tick_procs++;
		if (rss > 0)
			tick_rss += rss;
		if (pss >= 0)
			tick_pss += pss;
		else if (access("/proc/self/smaps_rollup", R_OK) != 0)
			no_pss = 1;	/* not a process that just exited */
	}
	if (!(p = find(pid, depth)))
		return 1;
	if (!strncmp(status, "Name:\t", 6))
		sscanf(status + 6, "%31[^\n]", p->comm);
	anon = field(status, "\nRssAnon:");
	file = field(status, "\nRssFile:");
	shmem = field(status, "\nRssShmem:");
	if (hwm > p->hwm)
		p->hwm = hwm;
	if (anon > p->anon)
		p->anon = anon;
	if (file + shmem > p->file)
		p->file = file + shmem;
	return 1;
}

/* Sample pid and, through the children lists of its threads, its tree. */
static void walk(pid_t pid, int depth)
{
	char path[320], list[4096];
	struct dirent *de;
	DIR *dir;

	if (!sample(pid, depth) || depth >= MAX_DEPTH)
		return;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(dir = opendir(path)))
		return;
	while ((de = readdir(dir))) {
		char *s, *end;
		ssize_t n;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children",
			 (int)pid, de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, list, sizeof(list) - 1);
		close(fd);
		if (n <= 0)
			continue;
		list[n] = '\0';
		for (s = list;; s = end) {
			long child = strtol(s, &end, 10);

			if (end == s)
				break;
			walk((pid_t)child, depth + 1);
		}
	}
	closedir(dir);
}

static int append(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int append(int fd, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return write(fd, line, (size_t)n) == n ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1, tick = { 0, POLL_MS * 1000000L };
	struct rusage ru;
	long long us;
	pid_t pid, got;
	int status, rc, fd, i, samples = 0, bad = 0;

	if (argc > 1 && !strcmp(argv[1], "-s")) {
		sums = 1;
		argv++;
		argc--;
	}
	if (argc < 4) {
		fputs("usage: treemem [-s] FILE LABEL COMMAND [ARG...]\n",
		      stderr);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("treemem: fork");
		return 127;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "treemem: cannot run %s: %s\n", argv[3],
			strerror(errno));
		_exit(127);
	}
	for (;;) {
		got = wait4(pid, &status, WNOHANG, &ru);
		if (got == pid)
			break;
		if (got < 0 && errno != EINTR) {
			perror("treemem: wait4");
			return 127;
		}
		tick_rss = tick_pss = 0;
		tick_procs = 0;
		walk(pid, 0);
		if (tick_procs) {
			samples++;
			if (tick_rss > peak_rss)
				peak_rss = tick_rss;
			if (tick_pss > peak_pss)
				peak_pss = tick_pss;
			if (tick_procs > most_procs)
				most_procs = tick_procs;
		}
		nanosleep(&tick, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (long long)(t1.tv_sec - t0.tv_sec) * 1000000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000;
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
	else
		rc = 127;
	fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "treemem: cannot write %s: %s\n", argv[1],
			strerror(errno));
		return 127;
	}
	bad |= append(fd, "%s %lld %d %ld\n", argv[2], us, rc, ru.ru_maxrss);
	for (i = 0; i < nr_procs; i++) {
		struct proc *p = &procs[i];
		char *c;

		for (c = p->comm; *c; c++)
			if (*c == ' ' || *c < 0x21 || *c > 0x7e)
				*c = '_';
		bad |= append(fd, "%s.proc %d %d %s %ld %ld %ld\n", argv[2],
			      p->depth, (int)p->pid, p->comm[0] ? p->comm : "?",
			      p->hwm, p->anon, p->file);
	}
	if (sums)
		bad |= append(fd, "%s.sum %ld %ld %d %d\n", argv[2], peak_rss,
			      no_pss ? -1L : peak_pss, samples, most_procs);
	if (bad || close(fd) != 0) {
		fprintf(stderr, "treemem: cannot write %s\n", argv[1]);
		return 127;
	}
	return rc;
}
