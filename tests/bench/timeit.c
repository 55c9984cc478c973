/*
 * timeit - run a command and append its wall time, exit code and peak RSS
 *
 *   timeit FILE LABEL COMMAND [ARG...]
 *
 * Runs COMMAND with this process's stdin, stdout, stderr and environment,
 * then appends one line "LABEL MICROSECONDS EXIT MAXRSS_KB" to FILE and
 * exits with COMMAND's exit code (128 + signal if it was killed, 127 if it
 * could not be run). The time is CLOCK_MONOTONIC around fork+exec+wait;
 * the peak RSS is wait4()'s ru_maxrss, the largest of the command and its
 * waited-for descendants (what /usr/bin/time -f %M reports).
 *
 * Part of the benchmark (tests/bench/run.sh); not built by the Makefile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	char line[512];
	long long us;
	pid_t pid;
	int status, rc, fd, n;

	if (argc < 4) {
		fputs("usage: timeit FILE LABEL COMMAND [ARG...]\n", stderr);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("timeit: fork");
		return 127;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "timeit: cannot run %s: %s\n", argv[3],
			strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("timeit: wait4");
			return 127;
		}
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
	n = snprintf(line, sizeof(line), "%s %lld %d %ld\n", argv[2], us, rc,
		     ru.ru_maxrss);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		fputs("timeit: label too long\n", stderr);
		return 127;
	}
	fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n || close(fd) != 0) {
		fprintf(stderr, "timeit: cannot write %s: %s\n", argv[1],
			strerror(errno));
		return 127;
	}
	return rc;
}
