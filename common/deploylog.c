#include "deploylog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "report.h"
#include "strvec.h"
#include "timeutil.h"

/* A log while it is written: WRITING and the writer's pid. */
#define WRITING ".writing."

/* The name a finished log gets (see deploylog.h). */
static void final_name(struct buf *name, int64_t started, long pid,
		       const char *action, const char *release,
		       const char *commit)
{
	char stamp[TIMEUTIL_TEXT_MAX];

	timeutil_format(stamp, started, TIMEUTIL_COMPACT);
	buf_addf(name, "%s.%ld.%s.%s.%s.log", stamp, pid, action,
		 release && *release ? release : "-", commit);
}

void deploylog_start(struct deploylog *l, struct state *st, const char *env)
{
	struct buf path = BUF_INIT;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->started = (int64_t)time(NULL);
	if (state_log_path(st, &path, env, NULL) < 0 ||
	    buf_addf(&path, "/" WRITING "%ld", (long)getpid()) < 0) {
		report_warn("no deploy log: %s", report_str(error_last()));
		goto out;
	}
	l->fd = open(path.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
		     O_NOFOLLOW | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		report_warn("no deploy log: cannot create '%s': %s",
			    report_str(path.ptr), strerror(errno));
		goto out;
	}
	/*
	 * Held while anyone writes it (the workers too, who share the
	 * descriptor): deploylog_sweep() leaves it alone.
	 */
	if (flock(l->fd, LOCK_EX | LOCK_NB) < 0)
		error_clear();
	l->tmp = buf_detach(&path, NULL);
	l->env = xstrdup(env);
	report_log(l->fd);
out:
	error_clear();
	buf_release(&path);
}

void deploylog_finish(struct deploylog *l, struct state *st, bool keep,
		      const char *action, const char *release,
		      const char *commit)
{
	struct buf name = BUF_INIT, path = BUF_INIT;

	if (l->fd < 0)
		return;
	report_log(-1);
	close(l->fd);
	l->fd = -1;
	final_name(&name, l->started, (long)getpid(), action, release, commit);
	if (!keep) {
		unlink(l->tmp);
	} else if (state_log_path(st, &path, l->env, name.ptr) < 0) {
		report_warn("cannot keep the deploy log: %s",
			    report_str(error_last()));
		unlink(l->tmp);
	} else if (rename(l->tmp, path.ptr) < 0) {
		report_warn("cannot keep the deploy log: %s",
			    strerror(errno));
		unlink(l->tmp);
	} else {
		state_logs_trim(st, l->env, DEPLOYLOG_KEEP);
	}
	error_clear();
	free(l->tmp);
	free(l->env);
	l->tmp = l->env = NULL;
	buf_release(&name);
	buf_release(&path);
}

void deploylog_sweep(struct state *st, const char *env,
		     const struct deploylog_left *left)
{
	struct buf dir = BUF_INIT, path = BUF_INIT, name = BUF_INIT;
	struct dirent *de;
	DIR *d;

	if (state_log_path(st, &dir, env, NULL) < 0 || !(d = opendir(dir.ptr)))
		goto out;
	while ((de = readdir(d))) {
		const char *p = de->d_name + strlen(WRITING);
		char *end;
		long pid;
		int fd;

		if (strncmp(de->d_name, WRITING, strlen(WRITING)))
			continue;
		pid = strtol(p, &end, 10);
		/* a writer that lives, or the workers it left, still write */
		if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir.ptr, de->d_name);
		if (buf_error(&path) ||
		    (fd = open(path.ptr, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			buf_reset(&name);
			if (left && left->pid == pid) {
				buf_addf(&name, "%s/", dir.ptr);
				final_name(&name, left->started, pid,
					   left->action, left->release,
					   left->commit);
			}
			if (!name.len || buf_error(&name) ||
			    rename(path.ptr, name.ptr) < 0)
				unlink(path.ptr);
		}
		close(fd);
	}
	closedir(d);
	state_logs_trim(st, env, DEPLOYLOG_KEEP);
out:
	error_clear();
	buf_release(&dir);
	buf_release(&path);
	buf_release(&name);
}

/* Does the log `name` (as deploylog_finish() makes them) match? */
static bool matches(const char *name, const char *which)
{
	char copy[256];
	char *field[6], *save = NULL, *p;
	size_t n = 0, len = strlen(which), i;

	if (snprintf(copy, sizeof(copy), "%s", name) >= (int)sizeof(copy))
		return false;
	for (p = strtok_r(copy, ".", &save); p && n < 6;
	     p = strtok_r(NULL, ".", &save))
		field[n++] = p;
	if (n != 6 || strcmp(field[5], "log"))
		return false;
	if (!strcmp(field[3], which))
		return true;	/* the release id */
	if (len < 4 || len > strlen(field[4]))
		return false;
	for (i = 0; i < len; i++)
		if (!strchr("0123456789abcdef", which[i]))
			return false;
	return !strncmp(field[4], which, len);
}

int deploylog_find(struct buf *path, struct state *st, const char *env,
		   const char *which)
{
	struct strvec names = STRVEC_INIT;
	size_t i;
	int r;

	if ((r = state_logs_list(st, env, &names)) < 0)
		goto out;
	for (i = names.nr; i-- > 0;)
		if (!which || matches(names.v[i], which))
			break;
	if (i == (size_t)-1) {
		r = which ? error_set(ERR_NOTFOUND, "no log of '%s' for '%s'",
				      env, which) :
			    error_set(ERR_NOTFOUND, "no log of '%s' yet", env);
		goto out;
	}
	r = state_log_path(st, path, env, names.v[i]);
out:
	strvec_clear(&names);
	return r;
}
