#include "gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errors.h"

static int load_config(struct gate *g, struct strvec *errors)
{
	struct buf path = BUF_INIT;
	size_t before = errors->nr;
	int r;

	buf_addf(&path, "%s/hooks.ini", repo_path(g->repo));
	r = config_load(&g->cfg, path.ptr, errors);
	if (r < 0) {
		if (errors->nr == before)
			strvec_pushf(errors, "cannot read hooks.ini: %s",
				     error_last());
		strvec_push(errors, "hooks.ini is invalid: fix it on the server"
			    " (pushgate check lists the errors)");
		r = ERR_INVALID;
	}
	buf_release(&path);
	return r;
}

int gate_open(struct gate *g, const char *dir, unsigned flags,
	      struct strvec *errors)
{
	int r;

	config_init(&g->cfg);
	if (flags & GATE_READ_PUSH) {
		/* read all of stdin first: git waits for us to consume it */
		if ((r = push_read(&g->push, stdin)) < 0 ||
		    (r = push_read_options(&g->push)) < 0) {
			strvec_pushf(errors, "bad input from git: %s",
				     error_last());
			return r;
		}
	}
	if ((r = repo_open(&g->repo, (flags & GATE_FROM_ENV) ? NULL : dir)) <
	    0) {
		strvec_push(errors, error_last());
		return r;
	}
	if ((r = load_config(g, errors)) < 0)
		return r;
	if ((r = state_open(&g->st, repo_path(g->repo))) < 0) {
		strvec_pushf(errors, "cannot use the state directory: %s",
			     error_last());
		return r;
	}
	if (flags & GATE_READ_PUSH)
		push_read_user(&g->push, &g->cfg.user_vars);
	return 0;
}

void gate_release(struct gate *g)
{
	push_release(&g->push);
	state_release(&g->st);
	config_release(&g->cfg);
	repo_free(g->repo);
	g->repo = NULL;
}
