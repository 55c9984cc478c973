#include "target.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errors.h"

int target_prepare(struct target *t, const struct target_job *job)
{
	return t->ops->prepare(t, job);
}

int target_activate(struct target *t, const struct target_job *job)
{
	return t->ops->activate(t, job);
}

int target_run_once(struct target *t, const struct target_job *job,
		    const char *which)
{
	return t->ops->run_once(t, job, which);
}

int target_revert(struct target *t, const struct target_job *job)
{
	return t->ops->revert(t, job);
}

int target_mark_failed(struct target *t, const struct target_job *job,
		       const char *reason)
{
	return t->ops->mark_failed(t, job, reason);
}

int target_discard(struct target *t, const struct target_job *job)
{
	return t->ops->discard(t, job);
}

int target_finish(struct target *t, const struct target_job *job)
{
	return t->ops->finish(t, job);
}

int target_current(struct target *t, char **out)
{
	*out = NULL;
	return t->ops->current(t, out);
}

int target_check(struct target *t)
{
	return t->ops->check(t);
}

void target_close(struct target *t)
{
	if (t)
		t->ops->close(t);
}

void target_init(struct target *t, const struct target_ops *ops,
		 const char *label)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->label = label;
}

void target_release(struct target *t)
{
	free(t->left);
	free(t->note);
	t->left = NULL;
	t->note = NULL;
}

void target_set_note(struct target *t, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(t->note);
	t->note = buf_detach(&b, NULL);
}
