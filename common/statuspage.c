#include "statuspage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "fsutil.h"
#include "hold.h"
#include "report.h"
#include "strvec.h"
#include "target.h"
#include "timeutil.h"

/* U+FFFD REPLACEMENT CHARACTER in UTF-8 */
#define REPLACEMENT "\xef\xbf\xbd"
/* Bytes kept of one host's error in hosts/ENV. */
#define HOST_ERROR_MAX 400
/* Most bytes of a hosts/ENV file. */
#define HOSTS_FILE_MAX (256 * 1024)

void statuspage_html_escape(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, start, n;
	unsigned cp;

	while (i < len) {
		start = i;
		while (i < len && p[i] >= 0x20 && p[i] < 0x7f &&
		       p[i] != '&' && p[i] != '<' && p[i] != '>' &&
		       p[i] != '"' && p[i] != '\'')
			i++;
		if (i > start)
			buf_add(out, s + start, i - start);
		if (i >= len)
			break;
		switch (p[i]) {
		case '&': buf_addstr(out, "&amp;"); i++; continue;
		case '<': buf_addstr(out, "&lt;"); i++; continue;
		case '>': buf_addstr(out, "&gt;"); i++; continue;
		case '"': buf_addstr(out, "&quot;"); i++; continue;
		case '\'': buf_addstr(out, "&#39;"); i++; continue;
		case '\t': case '\n': buf_addch(out, (char)p[i]); i++; continue;
		default: break;
		}
		if (p[i] < 0x80) {	/* the other C0 controls, DEL */
			buf_addstr(out, REPLACEMENT);
			i++;
			continue;
		}
		n = buf_utf8_seq(p + i, len - i, &cp);
		if (!n || cp < 0xa0)	/* not UTF-8, or a C1 control */
			buf_addstr(out, REPLACEMENT);
		else
			buf_add(out, s + i, n);
		i += n ? n : 1;
	}
}

/* HTML text of a C string (NULL: nothing). */
static void esc(struct buf *out, const char *s)
{
	if (s)
		statuspage_html_escape(out, s, strlen(s));
}

void statuspage_order(const struct config *cfg, size_t *order)
{
	bool *placed = xcalloc(cfg->nr_envs ? cfg->nr_envs : 1,
			       sizeof(*placed));
	size_t nr = 0, i, k;

	while (nr < cfg->nr_envs) {
		bool progress = false;

		for (i = 0; i < cfg->nr_envs; i++) {
			const struct config_env *e = &cfg->envs[i];
			bool ready = !placed[i];

			for (k = 0; ready && k < e->requires.nr; k++) {
				const struct config_env *r =
					config_env_find(cfg, e->requires.v[k]);

				if (r && r != e && !placed[r - cfg->envs])
					ready = false;
			}
			if (!ready)
				continue;
			placed[i] = true;
			order[nr++] = i;
			progress = true;
			break;	/* start over: hooks.ini order first */
		}
		if (progress)
			continue;
		/* a cycle: the rest in hooks.ini's order */
		for (i = 0; i < cfg->nr_envs; i++)
			if (!placed[i]) {
				placed[i] = true;
				order[nr++] = i;
			}
	}
	free(placed);
}

/* ---- what the last deploy did on each host ------------------------- */

static void hosts_path(struct buf *out, struct state *st, const char *env)
{
	buf_addf(out, "%s/hosts/%s", st->dir, env);
}

/* The lines of hosts/ENV ("LABEL\tSTATE\tRELEASE\tTIME\tERROR"). */
static void hosts_read(struct strvec *out, struct state *st, const char *env)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	char *line, *next;
	int fd;

	buf_init(&text, HOSTS_FILE_MAX);
	hosts_path(&path, st, env);
	fd = fsutil_open_private_file(path.ptr);
	if (fd >= 0) {
		if (buf_read_fd(&text, fd) < 0)
			buf_reset(&text);
		close(fd);
	}
	error_clear();
	for (line = text.ptr; text.len && *line; line = next) {
		next = strchr(line, '\n');
		if (!next)
			break;
		*next++ = '\0';
		strvec_push(out, line);
	}
	buf_release(&path);
	buf_release(&text);
}

/* Split one hosts/ENV line into its 5 fields (in place). */
static bool hosts_fields(char *line, char **f)
{
	size_t i;

	for (i = 0; i < 5; i++) {
		f[i] = line;
		line = strchr(line, '\t');
		if (i < 4 && !line)
			return false;
		if (line)
			*line++ = '\0';
	}
	return true;
}

/* The line of `label` in `lines`, or NULL. */
static const char *hosts_find(const struct strvec *lines, const char *label)
{
	size_t i, n = strlen(label);

	for (i = 0; i < lines->nr; i++)
		if (!strncmp(lines->v[i], label, n) && lines->v[i][n] == '\t')
			return lines->v[i];
	return NULL;
}

static const char *host_state_name(enum deploy_host_state s)
{
	switch (s) {
	case DEPLOY_HOST_UNTOUCHED: return "untouched";
	case DEPLOY_HOST_OK: return "ok";
	case DEPLOY_HOST_FAILED: return "failed";
	case DEPLOY_HOST_STOPPED: return "stopped";
	case DEPLOY_HOST_ROLLED_BACK: return "rolled-back";
	case DEPLOY_HOST_ROLLBACK_INCOMPLETE: return "rollback-incomplete";
	}
	BUG("host_state_name: %d", (int)s);
}

/* Append `s` as one field: control characters become spaces, clipped. */
static void add_field(struct buf *out, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s && s[i] && i < max; i++)
		buf_addch(out, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ?
			  ' ' : s[i]);
}

int statuspage_note_hosts(struct state *st, const struct deploy_outcome *out)
{
	struct strvec old = STRVEC_INIT;
	struct buf text = BUF_INIT, path = BUF_INIT;
	int64_t now = (int64_t)time(NULL);
	size_t i;
	int r = 0;

	if (!out->nr_hosts || !out->env)
		return 0;
	buf_init(&text, HOSTS_FILE_MAX);
	hosts_read(&old, st, out->env);
	for (i = 0; i < out->nr_hosts; i++) {
		const struct deploy_host *h = &out->hosts[i];
		const char *prev = h->label ? hosts_find(&old, h->label) : NULL;
		char *f[5], *copy;

		if (!h->label)
			continue;
		if (h->state == DEPLOY_HOST_UNTOUCHED) {
			if (prev)
				buf_addf(&text, "%s\n", prev);
			continue;
		}
		add_field(&text, h->label, 256);
		buf_addf(&text, "\t%s\t", host_state_name(h->state));
		copy = prev ? xstrdup(prev) : NULL;
		if (h->state == DEPLOY_HOST_OK)
			add_field(&text, out->release, 256);
		else if (copy && hosts_fields(copy, f))
			add_field(&text, f[2], 256);	/* where it stayed */
		free(copy);
		buf_addf(&text, "\t%lld\t", (long long)now);
		add_field(&text, h->error ? h->error : h->note,
			  HOST_ERROR_MAX);
		if (h->rollback_error) {
			buf_addstr(&text, "; going back: ");
			add_field(&text, h->rollback_error, HOST_ERROR_MAX);
		}
		buf_addch(&text, '\n');
	}
	if ((r = buf_error(&text)) < 0)
		goto out;
	buf_addf(&path, "%s/hosts", st->dir);
	if ((r = fsutil_mkdir_p(path.ptr, 0700)) < 0)
		goto out;
	buf_reset(&path);
	hosts_path(&path, st, out->env);
	r = fsutil_write_file_atomic(path.ptr, text.ptr, text.len, 0600);
out:
	strvec_clear(&old);
	buf_release(&text);
	buf_release(&path);
	return r;
}

/* ---- one environment, gathered ------------------------------------- */

struct penv {
	struct status_env s;
	bool collected;
	bool has_text;
	struct repo_commit_text live;	/* of s.last.ok.commit */
	struct strvec subjects;		/* of s.waiting */
	struct hold_decision hd;
	struct buf hold_text;		/* "" when nothing holds it */
	struct strvec hosts;		/* lines of hosts/ENV */
	bool has_fail;
	struct history_record fail;	/* the newest failed record */
	struct strvec fail_keep;
};

struct fail_scan {
	const char *env;
	struct penv *pe;
};

static int scan_fail(const struct history_record *rec, void *payload)
{
	struct fail_scan *f = payload;
	struct penv *pe = f->pe;

	if (rec->result != HISTORY_FAILED || strcmp(rec->env, f->env))
		return 0;
	strvec_clear(&pe->fail_keep);
	pe->fail = *rec;
	pe->fail.env = strvec_push(&pe->fail_keep, rec->env);
	pe->fail.commit = strvec_push(&pe->fail_keep, rec->commit);
	pe->fail.release = strvec_push(&pe->fail_keep, rec->release);
	pe->fail.user = strvec_push(&pe->fail_keep, rec->user);
	pe->fail.reason = strvec_push(&pe->fail_keep, rec->reason);
	pe->fail.upload = strvec_push(&pe->fail_keep, rec->upload);
	pe->has_fail = true;
	return 0;
}

/* Everything but status_collect()'s part, which pe->s holds already. */
static int gather(struct penv *pe, const struct config *cfg,
		  struct repo *repo, struct state *st, int64_t now)
{
	const struct config_env *env = pe->s.env;
	struct fail_scan fs;
	struct repo_oid id;
	size_t i;
	int r;

	if (pe->s.last.ok.commit &&
	    repo_oid_from_hex(&id, pe->s.last.ok.commit) == 0 &&
	    repo_commit_text(repo, &pe->live, &id, 1024) == 0)
		pe->has_text = true;
	error_clear();
	for (i = 0; i < pe->s.nr_waiting; i++) {
		char subject[512];

		if (repo_commit_subject(repo, subject, sizeof(subject),
					&pe->s.waiting[i]) < 0)
			subject[0] = '\0';
		error_clear();
		strvec_push(&pe->subjects, subject);
	}
	if (hold_decide(&pe->hd, cfg, env, st, now, false) == 0)
		hold_describe(&pe->hold_text, &pe->hd);
	else
		pe->hd.by = HOLD_NONE;
	error_clear();
	hosts_read(&pe->hosts, st, env->name);
	fs.env = env->name;
	fs.pe = pe;
	if ((r = history_read(st, scan_fail, &fs)) < 0)
		return r;
	return 0;
}

static void penv_init(struct penv *pe)
{
	memset(pe, 0, sizeof(*pe));
	strvec_init(&pe->subjects);
	strvec_init(&pe->hosts);
	strvec_init(&pe->fail_keep);
	buf_init(&pe->hold_text, 64 * 1024);
}

/* Everything but pe->s. */
static void penv_release_own(struct penv *pe)
{
	if (pe->has_text)
		repo_commit_text_release(&pe->live);
	strvec_clear(&pe->subjects);
	strvec_clear(&pe->hosts);
	strvec_clear(&pe->fail_keep);
	buf_release(&pe->hold_text);
}

static void penv_release(struct penv *pe)
{
	status_env_release(&pe->s);
	penv_release_own(pe);
}

static const char *result_of(const struct penv *pe)
{
	if (!pe->s.last.any.commit)
		return "none";
	return history_result_name(pe->s.last.any.result);
}

static void json_time(struct json *j, const char *key, int64_t t)
{
	char when[TIMEUTIL_TEXT_MAX];

	timeutil_format(when, t, TIMEUTIL_ISO);
	json_str(j, key, when);
}

/* A string member, null when empty. */
static void json_opt(struct json *j, const char *key, const char *s)
{
	if (s && *s)
		json_str(j, key, s);
	else
		json_null(j, key);
}

/* "3 h 12 min" */
static void add_age(struct buf *out, int64_t secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		buf_addf(out, "%lld s", (long long)secs);
	else if (secs < 3600)
		buf_addf(out, "%lld min", (long long)(secs / 60));
	else if (secs < 86400)
		buf_addf(out, "%lld h %lld min", (long long)(secs / 3600),
			 (long long)(secs % 3600 / 60));
	else
		buf_addf(out, "%lld d %lld h", (long long)(secs / 86400),
			 (long long)(secs % 86400 / 3600));
}

/* The commands that deploy the newest waiting commit by hand. */
static void approve_commands(struct strvec *out, const struct penv *pe)
{
	char hex[REPO_OID_HEXSZ + 1];

	if (!pe->s.nr_waiting)
		return;
	repo_oid_to_hex(hex, &pe->s.waiting[0]);
	strvec_pushf(out, "git push origin %s:refs/deploy/%s", hex,
		     pe->s.env->name);
	strvec_pushf(out, "pushgate deploy %s %.12s", pe->s.env->name, hex);
}

/* ---- JSON ---------------------------------------------------------- */

void statuspage_record_json(struct json *j, const char *key,
			    const struct history_record *r)
{
	json_object_begin(j, key);
	json_time(j, "time", r->time);
	json_str(j, "environment", r->env);
	json_str(j, "action", history_action_name(r->action));
	json_str(j, "commit", r->commit);
	json_opt(j, "release", r->release);
	json_opt(j, "user", r->user);
	json_str(j, "result", history_result_name(r->result));
	json_double(j, "duration_s", r->duration, 1);
	json_opt(j, "reason", r->reason);
	json_opt(j, "upload", r->upload);
	json_object_end(j);
}

static void strvec_json(struct json *j, const char *key,
			const struct strvec *sv)
{
	size_t i;

	json_array_begin(j, key);
	for (i = 0; i < sv->nr; i++)
		json_str(j, NULL, sv->v[i]);
	json_array_end(j);
}

/*
 * A deploy that holds the environment's lock ("busy"), or died holding it
 * ("stopped"): null without one.
 */
static void holder_json(struct json *j, const char *key,
			const struct deploy_holder *d)
{
	if (!d) {
		json_null(j, key);
		return;
	}
	json_object_begin(j, key);
	json_str(j, "action", history_action_name(d->action));
	json_opt(j, "commit", d->commit);
	json_opt(j, "user", d->user);
	if (d->since)
		json_time(j, "since", d->since);
	else
		json_null(j, "since");
	json_object_end(j);
}

static void hosts_json(struct json *j, const struct penv *pe)
{
	const struct config_env *env = pe->s.env;
	size_t i;

	json_array_begin(j, "hosts");
	for (i = 0; i < env->nr_hosts; i++) {
		const char *label = env->hosts[i].label;
		const char *line = hosts_find(&pe->hosts, label);
		char *copy = line ? xstrdup(line) : NULL, *f[5];
		bool known = copy && hosts_fields(copy, f);
		int64_t since = known ? strtoll(f[3], NULL, 10) : 0;

		json_object_begin(j, NULL);
		json_str(j, "host", label);
		json_str(j, "state", known ? f[1] : "unknown");
		json_opt(j, "release", known ? f[2] : NULL);
		if (known && since > 0)
			json_time(j, "since", since);
		else
			json_null(j, "since");
		json_opt(j, "error", known ? f[4] : NULL);
		if (i < pe->s.nr_hosts) {	/* asked just now */
			json_opt(j, "current", pe->s.hosts[i].current);
			json_bool(j, "drift", pe->s.hosts[i].drift);
			json_opt(j, "unreachable", pe->s.hosts[i].error);
		}
		json_object_end(j);
		free(copy);
	}
	json_array_end(j);
}

static void penv_json(struct json *j, const char *key, const struct penv *pe,
		      int64_t now)
{
	const struct config_env *env = pe->s.env;
	const struct history_record *ok = &pe->s.last.ok;
	struct strvec cmds = STRVEC_INIT;
	char hex[REPO_OID_HEXSZ + 1];
	size_t i;

	json_object_begin(j, key);
	json_str(j, "name", env->name);
	json_str(j, "branch", env->branch);
	json_str(j, "mode", env->mode == CONFIG_MODE_AUTO ? "auto" :
		 "manual");
	json_str(j, "kind", env->kind == CONFIG_ENV_GITOPS ? "gitops" :
		 "release");
	strvec_json(j, "requires", &env->requires);
	json_str(j, "result", result_of(pe));
	if (ok->commit) {
		json_object_begin(j, "live");
		json_object_begin(j, "commit");
		json_str(j, "id", ok->commit);
		json_str(j, "subject", pe->has_text ? pe->live.subject : NULL);
		json_object_begin(j, "author");
		json_str(j, "name", pe->has_text ? pe->live.author_name :
			 NULL);
		json_str(j, "email", pe->has_text ? pe->live.author_email :
			 NULL);
		json_object_end(j);
		json_object_end(j);
		json_opt(j, "release", ok->release);
		json_time(j, "deployed_at", ok->time);
		json_opt(j, "user", ok->user);
		json_int(j, "live_for_s", now > ok->time ? now - ok->time : 0);
		json_object_end(j);
	} else {
		json_null(j, "live");
	}
	if (pe->s.last.any.commit)
		statuspage_record_json(j, "last", &pe->s.last.any);
	else
		json_null(j, "last");
	holder_json(j, "busy", pe->s.busy ? &pe->s.holder : NULL);
	holder_json(j, "stopped", pe->s.left ? &pe->s.left_by : NULL);
	hosts_json(j, pe);
	json_object_begin(j, "waiting");
	json_int(j, "total", (int64_t)pe->s.total_waiting);
	json_bool(j, "branch_missing", pe->s.no_branch);
	json_opt(j, "error", pe->s.waiting_error);
	json_array_begin(j, "commits");
	for (i = 0; i < pe->s.nr_waiting; i++) {
		repo_oid_to_hex(hex, &pe->s.waiting[i]);
		json_object_begin(j, NULL);
		json_str(j, "id", hex);
		json_str(j, "subject", i < pe->subjects.nr ?
			 pe->subjects.v[i] : "");
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
	json_object_begin(j, "approve");
	strvec_json(j, "approvers", &env->approvers);
	approve_commands(&cmds, pe);
	strvec_json(j, "commands", &cmds);
	json_object_end(j);
	if (pe->hd.by != HOLD_NONE) {
		json_object_begin(j, "hold");
		json_str(j, "by", pe->hd.by == HOLD_LOCK ? "lock" : "window");
		json_str(j, "text", pe->hold_text.ptr);
		json_opt(j, "window", pe->hd.by == HOLD_WINDOW ?
			 pe->hd.window->name : NULL);
		if (pe->hd.by == HOLD_WINDOW && pe->hd.has_until)
			json_time(j, "until", pe->hd.until);
		else
			json_null(j, "until");
		json_object_end(j);
	} else {
		json_null(j, "hold");
	}
	if (pe->has_fail)
		statuspage_record_json(j, "last_failure", &pe->fail);
	else
		json_null(j, "last_failure");
	json_object_end(j);
	strvec_clear(&cmds);
}

int statuspage_env_json(struct json *j, const char *key,
			const struct config *cfg, struct repo *repo,
			struct state *st, const struct status_env *s,
			int64_t now)
{
	struct penv pe;
	int r;

	penv_init(&pe);
	pe.s = *s;	/* borrowed: not released here */
	r = gather(&pe, cfg, repo, st, now);
	penv_json(j, key, &pe, now);
	penv_release_own(&pe);
	return r;
}

size_t statuspage_check_json(const struct config_env *env, struct state *st)
{
	struct buf line = BUF_INIT;
	struct json j;
	size_t k, bad = 0;

	for (k = 0; k < env->nr_hosts; k++) {
		const struct config_host *h = &env->hosts[k];
		struct target *t = NULL;
		bool ok = deploy_target_open(&t, env, k, st) == 0 &&
			  target_check(t) == 0;

		buf_reset(&line);
		json_init(&j, &line);
		json_object_begin(&j, NULL);
		json_str(&j, "check", "host");
		json_str(&j, "environment", env->name);
		json_str(&j, "host", h->label);
		json_str(&j, "kind", env->kind == CONFIG_ENV_GITOPS ? "gitops" :
			 h->local ? "local" : "ssh");
		json_str(&j, "result", ok ? "ok" : "failed");
		json_opt(&j, "error", ok ? NULL : error_last());
		json_object_end(&j);
		report_out("%s", line.ptr);
		error_clear();
		bad += !ok;
		target_close(t);
	}
	buf_release(&line);
	return bad;
}

/* ---- the page ------------------------------------------------------ */

static const char page_head[] =
"<!DOCTYPE html>\n"
"<html lang=\"en\">\n"
"<head>\n"
"<meta charset=\"utf-8\">\n"
"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
"style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; "
"form-action 'none'\">\n"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
"<meta name=\"referrer\" content=\"no-referrer\">\n";

static const char page_style[] =
"<style>\n"
":root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--fg:#1c2330;"
"--mut:#5b6574;--line:#dde1e6;--code:#eef0f3;--ok:#1a7f37;"
"--failed:#cf222e;--held:#b35900;--skipped:#6e40c9;--none:#8c959f}\n"
"@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;"
"--fg:#e6edf3;--mut:#9ba6b3;--line:#30363d;--code:#21262d;--ok:#3fb950;"
"--failed:#f85149;--held:#d29922;--skipped:#a371f7}}\n"
"*{box-sizing:border-box}\n"
"body{margin:0;background:var(--bg);color:var(--fg);"
"font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
"overflow-wrap:anywhere}\n"
"header,main{max-width:1240px;margin:0 auto;padding:12px 16px}\n"
"header h1{font-size:1.35rem;margin:4px 0}\n"
"header p,.mut{color:var(--mut)}\n"
"header p{margin:0;font-size:.9rem}\n"
"h2{font-size:1.1rem;margin:20px 0 8px}\n"
"code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
"background:var(--code);border-radius:4px;padding:0 3px}\n"
".cards{display:grid;gap:14px;"
"grid-template-columns:repeat(auto-fill,minmax(min(100%,360px),1fr))}\n"
".card{background:var(--card);border:1px solid var(--line);"
"border-radius:8px;overflow:hidden;min-width:0}\n"
".bar{height:6px;background:var(--none)}\n"
".card[data-result=ok] .bar{background:var(--ok)}\n"
".card[data-result=failed] .bar{background:var(--failed)}\n"
".card[data-result=held] .bar{background:var(--held)}\n"
".card[data-result=skipped] .bar{background:var(--skipped)}\n"
".card .in{padding:10px 14px 14px}\n"
".card h3{margin:0;font-size:1.15rem;display:flex;gap:8px;"
"align-items:baseline;flex-wrap:wrap}\n"
".badge{font-size:.75rem;font-weight:600;text-transform:uppercase;"
"letter-spacing:.04em;padding:1px 7px;border-radius:10px;color:#fff;"
"background:var(--none)}\n"
".card[data-result=ok] .badge{background:var(--ok)}\n"
".card[data-result=failed] .badge{background:var(--failed)}\n"
".card[data-result=held] .badge{background:var(--held)}\n"
".card[data-result=skipped] .badge{background:var(--skipped)}\n"
".meta{margin:2px 0 10px;font-size:.85rem;color:var(--mut)}\n"
"dl{display:grid;grid-template-columns:max-content minmax(0,1fr);"
"gap:5px 12px;margin:0;font-size:.92rem}\n"
"dt{color:var(--mut)}\n"
"dd{margin:0;min-width:0}\n"
"@media (max-width:480px){dl{grid-template-columns:minmax(0,1fr);gap:1px}"
"dt{font-size:.78rem;margin-top:6px}}\n"
".badge.hold{background:var(--held)}\n"
"ul{margin:0;padding:0;list-style:none}\n"
"li{min-width:0}\n"
".one{display:block;white-space:nowrap;overflow:hidden;"
"text-overflow:ellipsis}\n"
".st-ok{color:var(--ok)}\n"
".st-failed,.st-rollback-incomplete,.st-rolled-back{color:var(--failed)}\n"
".st-stopped,.st-unknown{color:var(--mut)}\n"
".warn{color:var(--failed)}\n"
".promo{background:var(--card);border:1px solid var(--line);"
"border-radius:8px;padding:8px 14px;margin:0}\n"
".promo li{padding:3px 0}\n"
".hist{background:var(--card);border:1px solid var(--line);"
"border-radius:8px;overflow:hidden}\n"
"table{width:100%;border-collapse:collapse;font-size:.85rem}\n"
"th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);"
"vertical-align:top}\n"
"th{color:var(--mut);font-weight:600}\n"
"td.r-ok{color:var(--ok)}td.r-failed{color:var(--failed)}"
"td.r-held{color:var(--held)}td.r-skipped{color:var(--skipped)}\n"
"td.why{max-width:32em}\n"
"@media (max-width:760px){\n"
"table,tbody,tr,td{display:block}\n"
"thead{display:none}\n"
"tr{padding:6px 10px;border-bottom:1px solid var(--line)}\n"
"td{border:0;padding:1px 0}\n"
"td::before{content:attr(data-l) \": \";color:var(--mut)}\n"
"td.why{max-width:none}\n"
"}\n"
"footer{max-width:1240px;margin:0 auto;padding:8px 16px 24px;"
"font-size:.8rem;color:var(--mut)}\n"
"</style>\n";

static void dt(struct buf *h, const char *name)
{
	buf_addf(h, "<dt>%s</dt><dd>", name);
}

/* "WHAT <code>COMMIT</code> by USER" of a deploy holding the lock. */
static void holder_html(struct buf *h, const char *what,
			const struct deploy_holder *d)
{
	buf_addf(h, "%s <code>%.12s</code> by ", what,
		 d->commit[0] ? d->commit : "?");
	esc(h, d->user[0] ? d->user : "unknown");
}

static void card_live(struct buf *h, const struct penv *pe, int64_t now)
{
	const struct history_record *ok = &pe->s.last.ok;
	char when[TIMEUTIL_TEXT_MAX];

	dt(h, "Live");
	if (!ok->commit) {
		buf_addstr(h, "<span class=\"mut\">nothing deployed yet</span>"
			   "</dd>\n");
		return;
	}
	buf_addf(h, "<code title=\"%.40s\">%.12s</code> ", ok->commit,
		 ok->commit);
	if (pe->has_text) {
		esc(h, pe->live.subject);
		buf_addstr(h, " <span class=\"mut\">by ");
		esc(h, pe->live.author_name);
		buf_addstr(h, "</span>");
	}
	buf_addstr(h, "</dd>\n");
	dt(h, "Release");
	buf_addstr(h, "<code>");
	esc(h, ok->release[0] ? ok->release : "-");
	buf_addstr(h, "</code></dd>\n");
	timeutil_format(when, ok->time, TIMEUTIL_HUMAN);
	dt(h, "Deployed at");
	buf_addf(h, "%s</dd>\n", when);	/* ...Z: UTC */
	dt(h, "By");
	esc(h, ok->user[0] ? ok->user : "unknown");
	buf_addstr(h, "</dd>\n");
	dt(h, "Live for");
	add_age(h, now - ok->time);
	buf_addstr(h, "</dd>\n");
}

static void card_hosts(struct buf *h, const struct penv *pe)
{
	const struct config_env *env = pe->s.env;
	size_t i;

	dt(h, env->kind == CONFIG_ENV_GITOPS ? "Remote" :
	   env->nr_hosts == 1 ? "Host" : "Hosts");
	buf_addstr(h, "<ul>");
	for (i = 0; i < env->nr_hosts; i++) {
		const char *line = hosts_find(&pe->hosts, env->hosts[i].label);
		char *copy = line ? xstrdup(line) : NULL, *f[5];
		bool known = copy && hosts_fields(copy, f);
		const char *state = known ? f[1] : "unknown";

		buf_addf(h, "<li><b>");
		esc(h, env->hosts[i].label);
		buf_addf(h, "</b> <span class=\"st-%s\">", state);
		esc(h, state);
		buf_addstr(h, "</span>");
		if (known && f[2][0]) {
			buf_addstr(h, " &middot; <code>");
			esc(h, f[2]);
			buf_addstr(h, "</code>");
		} else if (!known && pe->s.last.ok.commit) {
			buf_addstr(h, " <span class=\"mut\">(no result kept;"
				   " recorded release <code>");
			esc(h, pe->s.last.ok.release);
			buf_addstr(h, "</code>)</span>");
		}
		if (known && f[4][0]) {
			buf_addstr(h, "<br><span class=\"mut\">");
			esc(h, f[4]);
			buf_addstr(h, "</span>");
		}
		buf_addstr(h, "</li>");
		free(copy);
	}
	buf_addstr(h, "</ul></dd>\n");
}

static void card_waiting(struct buf *h, const struct penv *pe)
{
	const struct config_env *env = pe->s.env;
	struct strvec cmds = STRVEC_INIT;
	char hex[REPO_OID_HEXSZ + 1];
	size_t i;

	dt(h, "Waiting");
	if (pe->s.no_branch) {
		buf_addstr(h, "nothing (no branch <code>");
		esc(h, env->branch);
		buf_addstr(h, "</code>)</dd>\n");
	} else if (pe->s.waiting_error) {
		buf_addstr(h, "unknown: ");
		esc(h, pe->s.waiting_error);
		buf_addstr(h, "</dd>\n");
	} else if (!pe->s.total_waiting) {
		buf_addstr(h, "nothing: <code>");
		esc(h, env->branch);
		buf_addstr(h, "</code> is live</dd>\n");
	} else {
		buf_addf(h, "%zu commit%s on <code>", pe->s.total_waiting,
			 pe->s.total_waiting == 1 ? "" : "s");
		esc(h, env->branch);
		buf_addstr(h, "</code><ul>");
		for (i = 0; i < pe->s.nr_waiting; i++) {
			repo_oid_to_hex(hex, &pe->s.waiting[i]);
			buf_addf(h, "<li class=\"one\"><code>%.12s</code> ",
				 hex);
			esc(h, i < pe->subjects.nr ? pe->subjects.v[i] : "");
			buf_addstr(h, "</li>");
		}
		if (pe->s.total_waiting > pe->s.nr_waiting)
			buf_addf(h, "<li class=\"mut\">and %zu more</li>",
				 pe->s.total_waiting - pe->s.nr_waiting);
		buf_addstr(h, "</ul></dd>\n");
	}
	dt(h, "Approve");
	if (env->approvers.nr) {
		for (i = 0; i < env->approvers.nr; i++) {
			buf_addstr(h, i ? ", " : "");
			esc(h, env->approvers.v[i]);
		}
	} else {
		buf_addstr(h, "anyone who may push");
	}
	if (env->mode == CONFIG_MODE_AUTO)
		buf_addstr(h, " <span class=\"mut\">(auto: a push to the "
			   "branch deploys)</span>");
	approve_commands(&cmds, pe);
	for (i = 0; i < cmds.nr; i++) {
		buf_addstr(h, "<br><code>");
		esc(h, cmds.v[i]);
		buf_addstr(h, "</code>");
	}
	buf_addstr(h, "</dd>\n");
	strvec_clear(&cmds);
}

static void card(struct buf *h, const struct penv *pe, int64_t now)
{
	const struct config_env *env = pe->s.env;
	const char *result = result_of(pe);
	const struct history_record *any = &pe->s.last.any;
	char when[TIMEUTIL_TEXT_MAX];
	size_t i;

	buf_addstr(h, "<section class=\"card\" id=\"env-");
	esc(h, env->name);
	buf_addf(h, "\" data-result=\"%s\" data-commit=\"", result);
	esc(h, pe->s.last.ok.commit ? pe->s.last.ok.commit : "");
	buf_addstr(h, "\">\n<div class=\"bar\"></div><div class=\"in\">\n"
		   "<h3>");
	esc(h, env->name);
	buf_addf(h, " <span class=\"badge\">%s</span>%s</h3>\n",
		 !strcmp(result, "ok") ? "ok" : !strcmp(result, "none") ?
		 "nothing yet" : result, pe->hd.by == HOLD_NONE ? "" :
		 " <span class=\"badge hold\">on hold</span>");
	buf_addstr(h, "<p class=\"meta\">branch <code>");
	esc(h, env->branch);
	buf_addf(h, "</code> &middot; %s &middot; ",
		 env->mode == CONFIG_MODE_AUTO ? "auto" : "manual");
	if (env->kind == CONFIG_ENV_GITOPS)
		buf_addstr(h, "GitOps");
	else
		buf_addf(h, "%zu host%s", env->nr_hosts,
			 env->nr_hosts == 1 ? "" : "s");
	for (i = 0; i < env->requires.nr; i++) {
		buf_addstr(h, i ? ", " : " &middot; after ");
		esc(h, env->requires.v[i]);
	}
	buf_addstr(h, "</p>\n<dl>\n");
	if (any->commit && any->result != HISTORY_OK) {
		timeutil_format(when, any->time, TIMEUTIL_HUMAN);
		dt(h, "Last");
		buf_addf(h, "%s <code>%.12s</code> %s at %s",
			 history_action_name(any->action), any->commit,
			 history_result_name(any->result), when);
		buf_addstr(h, "</dd>\n");
	}
	card_live(h, pe, now);
	if (pe->s.busy) {
		dt(h, "Now");
		holder_html(h, pe->s.holder.action == HISTORY_ROLLBACK ?
			    "rolling back to" : "deploying", &pe->s.holder);
		buf_addstr(h, "</dd>\n");
	}
	if (pe->s.left) {
		dt(h, "Stopped");
		buf_addstr(h, "<span class=\"warn\">");
		holder_html(h, history_action_name(pe->s.left_by.action),
			    &pe->s.left_by);
		buf_addstr(h, " did not finish: its process died (the next "
			   "deploy records it)</span></dd>\n");
	}
	card_hosts(h, pe);
	card_waiting(h, pe);
	dt(h, "Window or lock");
	if (pe->hd.by == HOLD_NONE) {
		buf_addstr(h, "none: deploys may run</dd>\n");
	} else {
		buf_addstr(h, "<span class=\"warn\">");
		esc(h, pe->hold_text.ptr);
		buf_addstr(h, "</span>");
		if (pe->hd.by == HOLD_LOCK)
			buf_addf(h, "<br><code>pushgate unlock %s</code>",
				 env->name);
		buf_addstr(h, "</dd>\n");
	}
	dt(h, "Last failure");
	if (pe->has_fail) {
		timeutil_format(when, pe->fail.time, TIMEUTIL_HUMAN);
		buf_addf(h, "%s <code>%.12s</code>: ", when, pe->fail.commit);
		esc(h, pe->fail.reason[0] ? pe->fail.reason : "failed");
		buf_addstr(h, "</dd>\n");
	} else {
		buf_addstr(h, "<span class=\"mut\">none</span></dd>\n");
	}
	buf_addstr(h, "</dl>\n</div></section>\n");
}

/* ---- promotion ----------------------------------------------------- */

static void promotion(struct buf *h, struct json *j, struct repo *repo,
		      const struct penv *pes, size_t nr,
		      const struct config *cfg)
{
	struct buf text = BUF_INIT;
	bool any = false;
	size_t i, k;

	if (j)
		json_array_begin(j, "promotion");
	for (i = 0; i < nr; i++) {
		const struct penv *e = &pes[i];

		for (k = 0; k < e->s.env->requires.nr; k++) {
			const struct config_env *re =
				config_env_find(cfg, e->s.env->requires.v[k]);
			const struct penv *r = NULL;
			struct repo_oid *ids = NULL;
			size_t n, behind = 0, ahead = 0, x;
			bool counted = false;

			for (x = 0; x < nr; x++)
				if (pes[x].s.env == re)
					r = &pes[x];
			if (!r)
				continue;
			buf_reset(&text);
			if (!e->s.has_live && !r->s.has_live) {
				buf_addf(&text, "%s and %s have nothing "
					 "deployed yet", e->s.env->name,
					 r->s.env->name);
			} else if (!r->s.has_live) {
				buf_addf(&text, "%s has nothing deployed yet",
					 r->s.env->name);
			} else if (!e->s.has_live) {
				char hex[REPO_OID_HEXSZ + 1];

				repo_oid_to_hex(hex, &r->s.live);
				buf_addf(&text, "%s has nothing deployed yet; "
					 "%s is at %.12s", e->s.env->name,
					 r->s.env->name, hex);
			} else if (repo_commits_between(repo, &ids, &n,
							&behind, &e->s.live,
							&r->s.live, 0) < 0 ||
				   (free(ids), ids = NULL,
				    repo_commits_between(repo, &ids, &n, &ahead,
							 &r->s.live,
							 &e->s.live, 0) < 0)) {
				buf_addf(&text, "%s against %s: unknown (%s)",
					 e->s.env->name, r->s.env->name,
					 error_last());
			} else {
				counted = true;
				if (!behind && !ahead)
					buf_addf(&text, "%s is level with %s",
						 e->s.env->name,
						 r->s.env->name);
				else if (behind)
					buf_addf(&text, "%s is %zu commit%s "
						 "behind %s", e->s.env->name,
						 behind, behind == 1 ? "" : "s",
						 r->s.env->name);
				else
					buf_addf(&text, "%s is %zu commit%s "
						 "ahead of %s", e->s.env->name,
						 ahead, ahead == 1 ? "" : "s",
						 r->s.env->name);
				if (behind && ahead)
					buf_addf(&text, " (and %zu ahead)",
						 ahead);
			}
			free(ids);
			error_clear();
			if (h) {
				if (!any)
					buf_addstr(h, "<h2>Promotion</h2>\n"
						   "<ul class=\"promo\">\n");
				buf_addstr(h, "<li>");
				esc(h, text.ptr);
				buf_addstr(h, "</li>\n");
			}
			any = true;
			if (!j)
				continue;
			json_object_begin(j, NULL);
			json_str(j, "environment", e->s.env->name);
			json_str(j, "requires", r->s.env->name);
			if (counted) {
				json_int(j, "behind", (int64_t)behind);
				json_int(j, "ahead", (int64_t)ahead);
			} else {
				json_null(j, "behind");
				json_null(j, "ahead");
			}
			json_str(j, "text", text.ptr);
			json_object_end(j);
		}
	}
	if (h && any)
		buf_addstr(h, "</ul>\n");
	if (j)
		json_array_end(j);
	buf_release(&text);
}

/* ---- history ------------------------------------------------------- */

struct hist_out {
	struct buf *h;
	struct json *j;
	size_t nr;
};

static void td(struct buf *h, const char *label, const char *cls)
{
	buf_addf(h, "<td data-l=\"%s\"%s%s%s>", label, cls ? " class=\"" : "",
		 cls ? cls : "", cls ? "\"" : "");
}

static int hist_row(const struct history_record *r, void *payload)
{
	struct hist_out *o = payload;
	struct buf *h = o->h;
	char when[TIMEUTIL_TEXT_MAX], cls[32];

	o->nr++;
	if (o->j)
		statuspage_record_json(o->j, NULL, r);
	if (!h)
		return 0;
	timeutil_format(when, r->time, TIMEUTIL_HUMAN);
	buf_addstr(h, "<tr>");
	td(h, "time", NULL);
	buf_addf(h, "%s</td>", when);
	td(h, "env", NULL);
	esc(h, r->env);
	buf_addstr(h, "</td>");
	td(h, "action", NULL);
	buf_addf(h, "%s</td>", history_action_name(r->action));
	td(h, "commit", NULL);
	buf_addstr(h, "<code>");
	statuspage_html_escape(h, r->commit, strnlen(r->commit, 12));
	buf_addstr(h, "</code></td>");
	td(h, "release", NULL);
	esc(h, r->release);
	buf_addstr(h, "</td>");
	td(h, "by", NULL);
	esc(h, r->user);
	buf_addstr(h, "</td>");
	snprintf(cls, sizeof(cls), "r-%s", history_result_name(r->result));
	td(h, "result", cls);
	buf_addf(h, "%s</td>", history_result_name(r->result));
	td(h, "took", NULL);
	buf_addf(h, "%.1f s</td>", r->duration);
	td(h, "reason", "why");
	esc(h, r->reason);
	buf_addstr(h, "</td></tr>\n");
	return 0;
}

/* ---- the whole of it ----------------------------------------------- */

static const char *repo_name(struct repo *repo, struct buf *tmp)
{
	const char *p = repo_path(repo), *slash;
	size_t len = strlen(p);

	while (len > 1 && p[len - 1] == '/')
		len--;
	buf_add(tmp, p, len);
	slash = strrchr(tmp->ptr, '/');
	return slash && slash[1] ? slash + 1 : tmp->ptr;
}

int statuspage_render(struct buf *html, struct buf *json,
		      const struct config *cfg, struct repo *repo,
		      struct state *st, int64_t now)
{
	size_t *order = xcalloc(cfg->nr_envs ? cfg->nr_envs : 1,
				sizeof(*order));
	struct penv *pes = xcalloc(cfg->nr_envs ? cfg->nr_envs : 1,
				   sizeof(*pes));
	struct buf name = BUF_INIT;
	struct hist_out ho;
	struct json jw, *j = NULL;
	char when[TIMEUTIL_TEXT_MAX];
	const char *repo_label = repo_name(repo, &name);
	size_t i, nr = 0;
	int r = 0;

	statuspage_order(cfg, order);
	for (i = 0; i < cfg->nr_envs; i++)
		penv_init(&pes[i]);
	for (nr = 0; nr < cfg->nr_envs; nr++)
		if ((r = status_collect(&pes[nr].s, repo, st,
					&cfg->envs[order[nr]],
					STATUSPAGE_WAITING, false)) < 0 ||
		    (r = gather(&pes[nr], cfg, repo, st, now)) < 0)
			goto out;
	timeutil_format(when, now, TIMEUTIL_HUMAN);
	if (json) {
		j = &jw;
		json_init(j, json);
		json_object_begin(j, NULL);
		json_int(j, "format", 1);
		json_time(j, "generated_at", now);
		json_str(j, "repository", repo_label);
		json_array_begin(j, "environments");
		for (i = 0; i < nr; i++)
			penv_json(j, NULL, &pes[i], now);
		json_array_end(j);
	}
	if (html) {
		buf_addstr(html, page_head);
		buf_addstr(html, "<title>");
		esc(html, repo_label);
		buf_addstr(html, " &middot; pushgate</title>\n");
		buf_addstr(html, page_style);
		buf_addstr(html, "</head>\n<body>\n<header><h1>");
		esc(html, repo_label);
		buf_addf(html, "</h1><p>pushgate status &middot; %s "
			 "&middot; %zu environment%s</p></header>\n<main>\n",
			 when, nr, nr == 1 ? "" : "s");
		if (!nr)
			buf_addstr(html, "<p>No environments in hooks.ini."
				   "</p>\n");
		buf_addstr(html, "<div class=\"cards\">\n");
		for (i = 0; i < nr; i++)
			card(html, &pes[i], now);
		buf_addstr(html, "</div>\n");
	}
	promotion(html, j, repo, pes, nr, cfg);
	if (html)
		buf_addf(html, "<h2>History</h2>\n<div class=\"hist\"><table>\n"
			 "<thead><tr><th>time (UTC)</th><th>env</th>"
			 "<th>action</th><th>commit</th><th>release</th>"
			 "<th>by</th><th>result</th><th>took</th>"
			 "<th>reason</th></tr></thead>\n<tbody>\n");
	if (j)
		json_array_begin(j, "history");
	ho.h = html;
	ho.j = j;
	ho.nr = 0;
	if ((r = history_newest(NULL, st, NULL, STATUSPAGE_HISTORY, hist_row,
				&ho)) < 0)
		goto out;
	if (j) {
		json_array_end(j);
		json_object_end(j);
		buf_addch(json, '\n');
	}
	if (html) {
		if (!ho.nr)
			buf_addstr(html, "<tr><td colspan=\"9\">no deploys "
				   "yet</td></tr>\n");
		buf_addf(html, "</tbody></table></div>\n</main>\n<footer>"
			 "The last %d records; generated %s by pushgate "
			 "(status.json holds the same data).</footer>\n"
			 "</body>\n</html>\n", STATUSPAGE_HISTORY, when);
	}
	if ((html && (r = buf_error(html)) < 0) ||
	    (json && (r = buf_error(json)) < 0))
		goto out;
out:
	for (i = 0; i < cfg->nr_envs; i++)
		penv_release(&pes[i]);
	free(pes);
	free(order);
	buf_release(&name);
	return r;
}

/* Write `b` as DIR/NAME through a temporary file and a rename. */
static int write_one(const char *dir, const char *name, const struct buf *b,
		     mode_t mode)
{
	struct buf path = BUF_INIT;
	int r;

	buf_addf(&path, "%s/%s", dir, name);
	r = fsutil_write_file_atomic(path.ptr, b->ptr, b->len, mode);
	buf_release(&path);
	return r;
}

int statuspage_update(const struct config *cfg, struct repo *repo,
		      struct state *st)
{
	struct state_lock_opts lo = STATE_LOCK_OPTS_INIT;
	struct buf html, json;
	int lock, r;

	buf_init(&html, STATUSPAGE_MAX);
	buf_init(&json, STATUSPAGE_MAX);
	lo.timeout = 30;
	lo.holder = "status page";
	if ((lock = state_lock(st, "statuspage", &lo)) < 0)
		return lock;
	if ((r = statuspage_render(&html, &json, cfg, repo, st,
				   (int64_t)time(NULL))) < 0 ||
	    (r = write_one(st->dir, "status.html", &html, 0644)) < 0 ||
	    (r = write_one(st->dir, "status.json", &json, 0644)) < 0)
		goto out;
	if (cfg->status_page &&
	    ((r = fsutil_mkdir_p(cfg->status_page, 0755)) < 0 ||
	     (r = write_one(cfg->status_page, "status.html", &html,
			    0644)) < 0 ||
	     (r = write_one(cfg->status_page, "status.json", &json,
			    0644)) < 0))
		goto out;
out:
	state_unlock(lock);
	buf_release(&html);
	buf_release(&json);
	return r;
}

void statuspage_recorded(const struct deploy_opts *o,
			 const struct deploy_outcome *out)
{
	if (statuspage_note_hosts(o->st, out) < 0 ||
	    statuspage_update(o->cfg, o->repo, o->st) < 0)
		report_warn("the status page was not updated: %s",
			    report_str(error_last()));
	error_clear();
}
