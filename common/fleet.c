#include "fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errors.h"
#include "fsutil.h"
#include "timeutil.h"

/* The phase number that tells a worker to stop. */
#define PHASE_QUIT 0xffffu

struct request {
	uint32_t phase;
	uint32_t arg_len;
};

struct member {
	pid_t pid;
	int cmd_fd;		/* parent -> worker */
	int res_fd;		/* worker -> parent */
};

struct fleet {
	struct member *m;
	size_t n;
	struct sigaction old_pipe;
};

/* In a worker: the process that forked it (0 in any other process). */
static pid_t worker_parent;

bool fleet_parent_gone(void)
{
	return worker_parent && getppid() != worker_parent;
}

static int read_full(int fd, void *p, size_t len)
{
	char *c = p;

	while (len) {
		ssize_t n = read(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static void worker_main(const struct fleet_ops *ops, void *payload,
			size_t index, int cmd_fd, int res_fd)
{
	void *state = ops->start(index, payload);
	char arg[FLEET_ARG_MAX + 1];
	struct request req;
	bool quit = false;

	while (read_full(cmd_fd, &req, sizeof(req)) == 0 &&
	       !(quit = req.phase == PHASE_QUIT) &&
	       req.arg_len <= FLEET_ARG_MAX &&
	       read_full(cmd_fd, arg, req.arg_len) == 0) {
		struct fleet_reply reply;
		int r;

		double start = timeutil_now();

		arg[req.arg_len] = '\0';
		memset(&reply, 0, sizeof(reply));
		error_clear();
		r = ops->run(state, req.phase, req.arg_len ? arg : NULL,
			     &reply);
		reply.code = r;
		reply.seconds = timeutil_now() - start;
		if (r < 0)
			snprintf(reply.msg, sizeof(reply.msg), "%s",
				 error_last());
		if (fsutil_write_all(res_fd, &reply, sizeof(reply)) < 0)
			break;
	}
	/*
	 * No request to stop, and nobody to answer: the parent died (killed
	 * outright) in the middle of the work, which is left to this worker
	 * to undo.
	 */
	if (!quit && ops->abandoned)
		ops->abandoned(state);
	ops->stop(state);
}

int fleet_start(struct fleet **out, size_t n, const struct fleet_ops *ops,
		void *payload)
{
	struct sigaction ign;
	struct fleet *f;
	pid_t self = getpid();
	size_t i;
	int r = 0;

	*out = NULL;
	if (!n || n > FLEET_MAX)
		BUG("fleet_start: %zu members", n);
	f = xcalloc(1, sizeof(*f));
	f->m = xcalloc(n, sizeof(*f->m));
	/* a worker that died must not take the parent down with EPIPE */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &f->old_pipe);
	for (i = 0; i < n; i++) {
		int cmd[2], res[2];
		pid_t pid;

		if (pipe2(cmd, O_CLOEXEC) < 0) {
			r = error_set_errno(ERR_SYS, "cannot create a pipe");
			break;
		}
		if (pipe2(res, O_CLOEXEC) < 0) {
			close(cmd[0]);
			close(cmd[1]);
			r = error_set_errno(ERR_SYS, "cannot create a pipe");
			break;
		}
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			close(cmd[0]);
			close(cmd[1]);
			close(res[0]);
			close(res[1]);
			r = error_set_errno(ERR_SYS, "cannot fork");
			break;
		}
		if (pid == 0) {
			size_t k;

			/* not getppid(): the parent may be gone already */
			worker_parent = self;
			for (k = 0; k < i; k++) {
				close(f->m[k].cmd_fd);
				close(f->m[k].res_fd);
			}
			close(cmd[1]);
			close(res[0]);
			worker_main(ops, payload, i, cmd[0], res[1]);
			_exit(0);
		}
		close(cmd[0]);
		close(res[1]);
		f->m[i].pid = pid;
		f->m[i].cmd_fd = cmd[1];
		f->m[i].res_fd = res[0];
		f->n = i + 1;
	}
	if (r < 0) {
		fleet_stop(f);
		return r;
	}
	*out = f;
	return 0;
}

static int send_request(int fd, unsigned phase, const char *arg)
{
	struct request req;
	size_t len = arg ? strlen(arg) : 0;
	int r;

	if (len > FLEET_ARG_MAX)
		len = FLEET_ARG_MAX;
	req.phase = phase;
	req.arg_len = (uint32_t)len;
	if ((r = fsutil_write_all(fd, &req, sizeof(req))) < 0)
		return r;
	return len ? fsutil_write_all(fd, arg, len) : 0;
}

/* The reply of a member whose request or answer was lost. */
static void lost(struct fleet_reply *reply, const char *name)
{
	memset(reply, 0, sizeof(*reply));
	reply->code = ERR_GENERIC;
	snprintf(reply->msg, sizeof(reply->msg),
		 "the worker process died during '%s'", name);
}

/* Wait for one of the members in flight to answer; its index. */
static size_t wait_reply(struct fleet *f, const bool *in_flight,
			 struct pollfd *fds, size_t *which)
{
	size_t i, n = 0;
	int rc;

	for (i = 0; i < f->n; i++) {
		if (!in_flight[i])
			continue;
		fds[n].fd = f->m[i].res_fd;
		fds[n].events = POLLIN;
		fds[n].revents = 0;
		which[n++] = i;
	}
	do
		rc = poll(fds, n, -1);
	while (rc < 0 && errno == EINTR);
	for (i = 0; rc > 0 && i < n; i++)
		if (fds[i].revents)
			return which[i];
	return which[0];	/* poll failed: read (and block) in order */
}

size_t fleet_run_limit(struct fleet *f, unsigned phase, const char *name,
		       const char *arg, const bool *pick, size_t limit,
		       fleet_reply_fn fn, void *payload)
{
	struct fleet_reply *replies = xcalloc(f->n, sizeof(*replies));
	bool *in_flight = xcalloc(f->n, sizeof(*in_flight));
	struct pollfd *fds = xcalloc(f->n, sizeof(*fds));
	size_t *which = xcalloc(f->n, sizeof(*which));
	size_t i, next = 0, busy = 0, failed = 0;

	if (!limit)
		limit = f->n;
	for (;;) {
		/* start members, in order, while there is room */
		for (; next < f->n && busy < limit; next++) {
			if (pick && !pick[next])
				continue;
			if (send_request(f->m[next].cmd_fd, phase, arg) < 0) {
				error_clear();
				lost(&replies[next], name);
				continue;
			}
			in_flight[next] = true;
			busy++;
		}
		if (!busy)
			break;
		i = wait_reply(f, in_flight, fds, which);
		if (read_full(f->m[i].res_fd, &replies[i],
			      sizeof(replies[i])) < 0)
			lost(&replies[i], name);
		replies[i].msg[sizeof(replies[i].msg) - 1] = '\0';
		in_flight[i] = false;
		busy--;
	}
	/* handed over in member order, whatever the order they came in */
	for (i = 0; i < f->n; i++) {
		if (pick && !pick[i])
			continue;
		if (replies[i].code < 0)
			failed++;
		if (fn)
			fn(i, &replies[i], payload);
	}
	free(replies);
	free(in_flight);
	free(fds);
	free(which);
	return failed;
}

size_t fleet_run(struct fleet *f, unsigned phase, const char *name,
		 const char *arg, const bool *pick, fleet_reply_fn fn,
		 void *payload)
{
	return fleet_run_limit(f, phase, name, arg, pick, 0, fn, payload);
}

void fleet_stop(struct fleet *f)
{
	struct request quit = { PHASE_QUIT, 0 };
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++) {
		if (fsutil_write_all(f->m[i].cmd_fd, &quit, sizeof(quit)) < 0)
			error_clear();
		close(f->m[i].cmd_fd);
		close(f->m[i].res_fd);
		while (waitpid(f->m[i].pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	sigaction(SIGPIPE, &f->old_pipe, NULL);
	free(f->m);
	free(f);
}
