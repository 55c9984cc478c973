#include "notify.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "history.h"
#include "hookenv.h"
#include "json.h"
#include "proc.h"
#include "report.h"
#include "strvec.h"
#include "timeutil.h"

/* The document is built in memory: bounded by the caps above. */
#define DOCUMENT_CAP (8 * 1024 * 1024)

/* $GIT_DIR, the parent of the state directory. */
static char *repository_path(const struct state *st)
{
	const char *slash = strrchr(st->dir, '/');

	return xstrndup(st->dir, slash && slash != st->dir ?
			(size_t)(slash - st->dir) : strlen(st->dir));
}

static void add_time(struct json *j, const char *key, int64_t t)
{
	char text[TIMEUTIL_TEXT_MAX];

	timeutil_format(text, t, TIMEUTIL_ISO);
	json_str(j, key, text);
}

/* {id, subject, message, author {name, email}, time} */
static void add_commit(struct json *j, const char *key,
		       const struct notify_event *ev,
		       const struct repo_oid *id)
{
	struct repo_commit_text t;
	char hex[REPO_OID_HEXSZ + 1];

	repo_oid_to_hex(hex, id);
	json_object_begin(j, key);
	json_str(j, "id", hex);
	if (repo_commit_text(ev->repo, &t, id, NOTIFY_MAX_MESSAGE) == 0) {
		json_str(j, "subject", t.subject);
		json_str(j, "message", t.message);
		json_object_begin(j, "author");
		json_str(j, "name", t.author_name);
		json_str(j, "email", t.author_email);
		json_object_end(j);
		add_time(j, "time", t.time);
		repo_commit_text_release(&t);
	} else {
		error_clear();
	}
	json_object_end(j);
}

/* The commits since the previous release, newest first (at most 50). */
static void add_commits(struct json *j, const struct notify_event *ev)
{
	struct repo_oid *ids = NULL;
	size_t nr = 0, total = 0, i;

	if (repo_commits_between(ev->repo, &ids, &nr, &total,
				 ev->previous_commit, ev->commit,
				 NOTIFY_MAX_COMMITS) < 0) {
		error_clear();
		nr = total = 0;
	}
	json_int(j, "commits_total", (int64_t)total);
	json_array_begin(j, "commits");
	for (i = 0; i < nr; i++)
		add_commit(j, NULL, ev, &ids[i]);
	json_array_end(j);
	free(ids);
}

static void event_id(struct buf *out, const struct notify_event *ev)
{
	char stamp[TIMEUTIL_TEXT_MAX], hex[REPO_OID_HEXSZ + 1];

	timeutil_format(stamp, ev->finished_at, TIMEUTIL_COMPACT);
	repo_oid_to_hex(hex, ev->commit);
	buf_addf(out, "%s-%s-%s-%.12s", ev->env->name, ev->action, stamp,
		 hex);
}

/* The JSON document notify reads on stdin. */
static void document(struct buf *out, const struct notify_event *ev,
		     const char *repository)
{
	struct buf id = BUF_INIT;
	struct json j;
	size_t i;

	event_id(&id, ev);
	json_init(&j, out);
	json_object_begin(&j, NULL);
	json_str(&j, "id", id.ptr);
	json_str(&j, "event", ev->event);
	json_str(&j, "action", ev->action);
	json_str(&j, "repository", repository);
	json_str(&j, "environment", ev->env->name);
	json_str(&j, "branch", ev->env->branch);
	json_str(&j, "result", ev->result);
	json_str(&j, "reason", ev->reason && *ev->reason ? ev->reason : NULL);
	add_commit(&j, "commit", ev, ev->commit);
	json_object_begin(&j, "previous");
	json_str(&j, "release", ev->previous && *ev->previous ?
		 ev->previous : NULL);
	if (ev->previous_commit) {
		char hex[REPO_OID_HEXSZ + 1];

		repo_oid_to_hex(hex, ev->previous_commit);
		json_str(&j, "commit", hex);
	} else {
		json_null(&j, "commit");
	}
	json_object_end(&j);
	json_str(&j, "release", *ev->release ? ev->release : NULL);
	json_str(&j, "user", ev->user && *ev->user ? ev->user : NULL);
	json_str(&j, "trigger", ev->trigger);
	add_time(&j, "started_at", ev->started_at);
	add_time(&j, "finished_at", ev->finished_at);
	json_double(&j, "duration_s", ev->duration, 3);
	json_array_begin(&j, "hosts");
	for (i = 0; i < ev->nr_hosts; i++) {
		const struct notify_host *h = &ev->hosts[i];

		json_object_begin(&j, NULL);
		json_str(&j, "host", h->host);
		json_str(&j, "result", h->result);
		json_double(&j, "duration_s", h->duration, 3);
		json_str(&j, "error", h->error);
		json_object_end(&j);
	}
	json_array_end(&j);
	add_commits(&j, ev);
	json_object_end(&j);
	buf_addch(out, '\n');
	buf_release(&id);
}

static void build_env(struct strvec *env, const struct notify_event *ev,
		      const char *repository)
{
	struct strvec extra = STRVEC_INIT;
	struct hookenv he = HOOKENV_INIT;
	char hex[REPO_OID_HEXSZ + 1];

	repo_oid_to_hex(hex, ev->commit);
	he.env = ev->env->name;
	he.commit = hex;
	he.release = ev->release;
	he.previous = ev->previous;
	he.user = ev->user;
	hookenv_strvec(&extra, &he);
	strvec_pushf(&extra, "PUSHGATE_EVENT=%s", ev->event);
	strvec_pushf(&extra, "PUSHGATE_RESULT=%s", ev->result);
	strvec_pushf(&extra, "PUSHGATE_REASON=%s",
		     ev->reason ? ev->reason : "");
	strvec_pushf(&extra, "PUSHGATE_REPOSITORY=%s", repository);
	proc_safe_env(env, (const char *const *)extra.v);
	strvec_clear(&extra);
}

/* The note of a notify that did not succeed. */
static void note(const struct notify_event *ev, const char *why,
		 double duration)
{
	struct history_record rec;
	char hex[REPO_OID_HEXSZ + 1];
	struct buf reason = BUF_INIT;

	buf_addf(&reason, "notify (%s): %s", ev->event, why);
	repo_oid_to_hex(hex, ev->commit);
	memset(&rec, 0, sizeof(rec));
	rec.time = (int64_t)time(NULL);
	rec.env = ev->env->name;
	rec.action = HISTORY_NOTIFY;
	rec.commit = hex;
	rec.release = ev->release;
	rec.user = ev->user ? ev->user : "";
	rec.result = HISTORY_FAILED;
	rec.duration = duration;
	rec.reason = reason.ptr;
	rec.upload = "";
	if (history_add(ev->st, &rec) < 0)
		error_clear();
	buf_release(&reason);
}

static void on_output(const char *data, size_t len, void *payload)
{
	(void)payload;
	report_stream(data, len);
}

void notify_run(const struct notify_event *ev)
{
	const char *cmd = config_notify_command(ev->cfg, ev->env);
	unsigned timeout = config_notify_timeout(ev->cfg, ev->env);
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct proc_opts po = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	struct strvec env = STRVEC_INIT;
	struct buf doc, why = BUF_INIT;
	char *repository = NULL;
	double start = timeutil_now(), took;
	int r;

	if (!cmd || !config_notify_wants(ev->cfg, ev->env, ev->event))
		return;
	repository = repository_path(ev->st);
	buf_init(&doc, DOCUMENT_CAP);
	document(&doc, ev, repository);
	if (buf_error(&doc) < 0) {
		report_warn("notify (%s) not run: %s", ev->event,
			    report_str(error_last()));
		note(ev, "the document is too large", 0);
		goto out;
	}
	build_env(&env, ev, repository);
	po.argv = argv;
	po.env = (const char *const *)env.v;
	po.cwd = repository;
	po.input = doc.ptr;
	po.input_len = doc.len;
	po.timeout = timeout;
	po.on_output = on_output;
	r = proc_run(&res, &po);
	report_stream_flush();
	took = timeutil_now() - start;
	if (r < 0)
		buf_addf(&why, "cannot run: %s", error_last());
	else if (res.timed_out)
		buf_addf(&why, "timed out after %u s (killed)", timeout);
	else if (res.status)
		buf_addf(&why, "exited with %d", res.status);
	/* silent when it worked: the deploy's own line stays the last */
	if (why.len) {
		report_warn("notify (%s) %s; the deploy's result stands",
			    ev->event, report_str(why.ptr));
		note(ev, why.ptr, took);
	}
	proc_result_release(&res);
out:
	error_clear();
	strvec_clear(&env);
	buf_release(&doc);
	buf_release(&why);
	free(repository);
}
