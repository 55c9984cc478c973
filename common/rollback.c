#include "rollback.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"

void rollback_pick_init(struct rollback_pick *p, const char *env,
		      const char *want_release, const char *want_commit)
{
	memset(p, 0, sizeof(*p));
	p->env = env;
	p->want_release = want_release;
	p->want_commit = want_commit;
}

void rollback_pick_live(struct rollback_pick *p, const struct history_record *r)
{
	if (!strcmp(r->env, p->env) && r->result == HISTORY_OK)
		snprintf(p->live, sizeof(p->live), "%s", r->release);
}

void rollback_pick_feed(struct rollback_pick *p, const struct history_record *r)
{
	bool take;

	if (strcmp(r->env, p->env) || r->action != HISTORY_DEPLOY ||
	    !r->release[0])
		return;
	if (p->want_release)
		take = !strcmp(r->release, p->want_release);
	else if (p->want_commit)
		take = !strcmp(r->commit, p->want_commit);
	else
		take = strcmp(r->release, p->live) < 0;
	if (!take)
		return;
	if (r->result != HISTORY_OK) {
		if (p->want_release)
			p->failed = true;
		return;
	}
	/* the newest match wins: records are read oldest first */
	if (!p->want_commit && !p->want_release &&
	    strcmp(r->release, p->release) < 0)
		return;
	p->failed = false;
	snprintf(p->release, sizeof(p->release), "%s", r->release);
	snprintf(p->commit, sizeof(p->commit), "%s", r->commit);
}

int rollback_pick_result(struct rollback_target *out, const struct rollback_pick *p)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (p->failed)
		return error_set(ERR_INVALID,
				 "release '%s' failed: pushgate never rolls back to a failed release",
				 p->want_release);
	if (!p->release[0]) {
		if (p->want_release || p->want_commit)
			return error_set(ERR_NOTFOUND,
					 "no successful deploy of '%s' to '%s' in the history",
					 p->want_release ? p->want_release :
					 p->want_commit, p->env);
		return error_set(ERR_NOTFOUND,
				 "'%s' has no earlier good release to roll back to",
				 p->env);
	}
	if ((r = repo_oid_from_hex(&out->commit, p->commit)) < 0)
		return error_set(r, "bad history record for '%s'", p->release);
	snprintf(out->release, sizeof(out->release), "%s", p->release);
	return 0;
}

static int feed_live(const struct history_record *rec, void *payload)
{
	rollback_pick_live(payload, rec);
	return 0;
}

static int feed(const struct history_record *rec, void *payload)
{
	rollback_pick_feed(payload, rec);
	return 0;
}

int rollback_choose(struct rollback_target *out, struct state *st,
			 const char *env, const char *want_release,
			 const char *want_commit)
{
	struct rollback_pick p;
	int r;

	memset(out, 0, sizeof(*out));
	rollback_pick_init(&p, env, want_release, want_commit);
	if ((r = history_read(st, feed_live, &p)) < 0 ||
	    (r = history_read(st, feed, &p)) < 0)
		return error_set(r, "cannot read the history: %s",
				 error_last());
	return rollback_pick_result(out, &p);
}
