#include "increment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "delta.h"
#include "errors.h"
#include "manifest.h"
#include "report.h"
#include "sink.h"
#include "strvec.h"
#include "timeutil.h"

#define BASE_MARK "pushgate-base="
/* Header text kept before the listing, and one record's longest text. */
#define HEADER_MAX (64 * 1024)
#define RECORD_MAX (4096 + 64)

/*
 * Beside the new release: the directory the sent entries land in, and
 * the file whose time seals it (taken before the live release is
 * listed: whatever changes in the copy after that is newer than the new
 * REVISION).
 */
#define INCOMING ".incoming-"
#define SEAL ".seal-"

static void add_path(struct buf *b, const char *root, const char *rest)
{
	struct buf p = BUF_INIT;

	buf_addstr(&p, root);
	if (rest)
		buf_addf(&p, "/%s", rest);
	if (!buf_inherit_error(b, &p))
		buf_addshq(b, p.ptr);
	buf_release(&p);
}

static void add_release(struct buf *b, const struct config_env *env,
			const char *prefix, const char *id, const char *rest)
{
	struct buf p = BUF_INIT;

	buf_addf(&p, "releases/%s%s", prefix, id);
	if (rest)
		buf_addf(&p, "/%s", rest);
	if (!buf_inherit_error(b, &p))
		add_path(b, env->path, p.ptr);
	buf_release(&p);
}

/*
 * find(1) operands that leave the `shared` paths out (whatever is under
 * them is the host's, not the release's): "\( -path ./a -o ... \) -prune
 * -o", each path a pattern with its wildcards escaped.
 */
static void add_prune(struct buf *cmd, const struct strvec *skip)
{
	struct buf pat = BUF_INIT;
	const char *p;
	size_t i;

	if (!skip->nr)
		return;
	buf_addstr(cmd, " \\(");
	for (i = 0; i < skip->nr; i++) {
		buf_reset(&pat);
		buf_addstr(&pat, "./");
		for (p = skip->v[i]; *p; p++) {
			if (strchr("*?[\\", *p))
				buf_addch(&pat, '\\');
			buf_addch(&pat, *p);
		}
		buf_addstr(cmd, i ? " -o -path " : " -path ");
		if (!buf_inherit_error(cmd, &pat))
			buf_addshq(cmd, pat.ptr);
	}
	buf_addstr(cmd, " \\) -prune -o");
	buf_release(&pat);
}

/*
 * Round trip 1: prepare, then check the base and sum it up:
 *	pushgate-base=ok, then the SHA-1 of its listing (what
 *	delta_listing_digest() computes for what was deployed), then
 *	"N TYPE BITS PATH" NUL-ended records for what is not a directory
 *	and changed after REVISION was written, or
 *	pushgate-base=current|link|revision|failed: it cannot be used.
 */
static void add_inspect(struct buf *cmd, const struct increment_opts *o,
			const struct strvec *skip)
{
	const struct config_env *env = o->env;
	const struct target_job *job = o->job;
	const char *base = job->base_release;

	buf_addf(cmd, "%s; if test \"$(readlink -- ", o->prepare);
	add_path(cmd, env->path, "current");
	buf_addf(cmd, " || true)\" != 'releases/%s'; then echo " BASE_MARK
		 "current; elif test -L ", base);
	add_release(cmd, env, "", base, NULL);
	buf_addstr(cmd, " || ! test -d ");
	add_release(cmd, env, "", base, NULL);
	buf_addstr(cmd, "; then echo " BASE_MARK "link; elif ! test -f ");
	add_release(cmd, env, "", base, "REVISION");
	buf_addstr(cmd, " || test -L ");
	add_release(cmd, env, "", base, "REVISION");
	buf_addstr(cmd, " || test \"$(cat -- ");
	add_release(cmd, env, "", base, "REVISION");
	buf_addf(cmd, ")\" != '%s'; then echo " BASE_MARK "revision; "
		 "elif test -e ", job->base_commit);
	add_release(cmd, env, "", base, "FAILED");
	buf_addstr(cmd, " || test -L ");
	add_release(cmd, env, "", base, "FAILED");
	buf_addstr(cmd, "; then echo " BASE_MARK "failed; else touch -- ");
	add_release(cmd, env, SEAL, job->release, NULL);
	buf_addstr(cmd, " && echo " BASE_MARK "ok && cd ");
	add_release(cmd, env, "", base, NULL);
	buf_addstr(cmd, " && { find . -mindepth 1");
	add_prune(cmd, skip);
	buf_addstr(cmd, " ! -path ./REVISION -printf '%y %m %P\\0' |"
		   " LC_ALL=C sort -z | sha1sum && exec find . -mindepth 1");
	add_prune(cmd, skip);
	buf_addstr(cmd, " ! -type d ! -path ./REVISION -newer REVISION"
		   " -printf 'N %y %m %P\\0'; }; fi");
}

/*
 * Round trip 1 again, when the sums differ: every entry of the base,
 * "N|O TYPE BITS PATH" (N: changed after REVISION was written).
 */
static void add_listing(struct buf *cmd, const struct increment_opts *o)
{
	buf_addstr(cmd, "cd ");
	add_release(cmd, o->env, "", o->job->base_release, NULL);
	buf_addstr(cmd, " && exec find . -mindepth 1"
		   " \\( -newer REVISION -printf 'N %y %m %P\\0' \\)"
		   " -o -printf 'O %y %m %P\\0'");
}

/* What round trip 1 said, parsed as it streams. */
struct listing {
	struct buf header;	/* text up to and with the base mark */
	char base[16];		/* "ok", "current", ... or "" */
	struct buf sum;		/* the line after "ok", with its newline */
	bool summed;		/* that line was read (or none is due) */
	struct buf rec;		/* the record being read */
	struct manifest *actual;
	bool *newer;
	size_t newer_alloc;
	bool bad;		/* a record did not parse */
};

static unsigned type_bits(char t)
{
	switch (t) {
	case 'd':
		return S_IFDIR;
	case 'f':
		return S_IFREG;
	case 'l':
		return S_IFLNK;
	default:
		return S_IFIFO;	/* nothing a release holds */
	}
}

static void take_record(struct listing *l)
{
	const char *p = l->rec.ptr, *path;
	unsigned long bits;
	char *end;
	size_t i;

	/* "N f 644 path" */
	if (l->rec.len < 7 || (p[0] != 'N' && p[0] != 'O') || p[1] != ' ' ||
	    p[3] != ' ') {
		l->bad = true;
		return;
	}
	bits = strtoul(p + 4, &end, 8);
	if (*end != ' ' || bits > 07777 || !end[1]) {
		l->bad = true;
		return;
	}
	path = end + 1;
	if (!strcmp(path, "REVISION"))
		return;		/* rewritten by every release */
	if (manifest_add(l->actual, path, type_bits(p[2]) | (unsigned)bits,
			 "") < 0) {
		error_clear();
		l->bad = true;
		return;
	}
	i = manifest_index(l->actual, path);
	if (i >= l->newer_alloc) {
		size_t n = l->newer_alloc ? 2 * l->newer_alloc : 1024;

		while (n <= i)
			n *= 2;
		l->newer = xreallocarray(l->newer, n, sizeof(*l->newer));
		memset(l->newer + l->newer_alloc, 0,
		       (n - l->newer_alloc) * sizeof(*l->newer));
		l->newer_alloc = n;
	}
	l->newer[i] = p[0] == 'N';
}

static void on_listing(const char *data, size_t len, void *payload)
{
	struct listing *l = payload;
	size_t i;

	for (i = 0; i < len && !l->bad; i++) {
		char c = data[i];

		if (strcmp(l->base, "ok")) {
			const char *mark;

			if (l->base[0] || buf_addch(&l->header, c) < 0)
				continue;	/* after a refusal: ignored */
			if (c != '\n')
				continue;
			mark = l->header.ptr + l->header.len - 1;
			while (mark > l->header.ptr && mark[-1] != '\n')
				mark--;
			if (!strncmp(mark, BASE_MARK, strlen(BASE_MARK)))
				snprintf(l->base, sizeof(l->base), "%.*s",
					 (int)(l->header.ptr + l->header.len -
					       1 - mark - strlen(BASE_MARK)),
					 mark + strlen(BASE_MARK));
			continue;
		}
		if (!l->summed) {
			if (buf_addch(&l->sum, c) < 0)
				l->bad = true;
			l->summed = c == '\n';
			continue;
		}
		if (c) {
			if (buf_addch(&l->rec, c) < 0)
				l->bad = true;
			continue;
		}
		take_record(l);
		buf_reset(&l->rec);
	}
}

static const char *base_refusal(const char *base)
{
	if (!strcmp(base, "current"))
		return "current is not the release pushgate recorded";
	if (!strcmp(base, "revision"))
		return "the live release's REVISION is not the recorded commit";
	if (!strcmp(base, "failed"))
		return "the live release is marked FAILED";
	if (!strcmp(base, "link"))
		return "the live release is not a plain directory";
	return "the live release could not be checked";
}

/* ---- round trip 2: what is sent --------------------------------------- */

/* The sink the release's entries go through: a prefix, and the plan. */
struct incoming {
	struct sink *next;		/* the host's upload */
	const struct manifest *plan_of;	/* the new release's manifest */
	const struct delta *plan;
	struct buf path;
	const struct target_job *job;
};

static const char *under_tree(struct incoming *in, const char *path)
{
	buf_reset(&in->path);
	buf_addf(&in->path, "tree/%s", path);
	return buf_error(&in->path) ? NULL : in->path.ptr;
}

static bool in_wants(void *self, const char *path)
{
	struct incoming *in = self;
	size_t i = manifest_index(in->plan_of, path);

	/* not in the manifest: REVISION, which every release writes */
	return i == (size_t)-1 || in->plan->send[i];
}

static int in_dir(void *self, const char *path, unsigned mode)
{
	struct incoming *in = self;
	const char *p = under_tree(in, path);

	return p ? sink_dir(in->next, p, mode) :
	       error_set(ERR_TOOBIG, "path too long");
}

static int in_file(void *self, const char *path, unsigned mode,
		   uint64_t size)
{
	struct incoming *in = self;
	const char *p = under_tree(in, path);

	return p ? sink_file(in->next, p, mode, size) :
	       error_set(ERR_TOOBIG, "path too long");
}

static int in_data(void *self, const void *data, size_t len)
{
	struct incoming *in = self;

	return sink_data(in->next, data, len);
}

static int in_symlink(void *self, const char *path, const char *target)
{
	struct incoming *in = self;
	const char *p = under_tree(in, path);

	return p ? sink_symlink(in->next, p, target) :
	       error_set(ERR_TOOBIG, "path too long");
}

static const struct sink_ops incoming_ops = {
	in_dir, in_wants, in_file, in_data, in_symlink
};

/* The list of paths to remove, then "tree/" with what is sent. */
static int produce(struct sink *sink, void *payload)
{
	struct incoming *in = payload;
	const struct strvec *rm = &in->plan->remove;
	struct buf list;
	struct sink s;
	size_t i;
	int r;

	buf_init(&list, SIZE_MAX / 2);
	for (i = 0; i < rm->nr; i++)
		buf_add(&list, rm->v[i], strlen(rm->v[i]) + 1);
	r = sink_file_data(sink, "remove", 0600, list.ptr, list.len);
	buf_release(&list);
	if (r < 0 || (r = sink_dir(sink, "tree", 0755)) < 0)
		return r;
	in->next = sink;
	sink_init(&s, &incoming_ops, in);
	return in->job->produce(&s, in->job->produce_payload);
}

static void add_assemble(struct buf *before, struct buf *after,
			 const struct increment_opts *o)
{
	const struct config_env *env = o->env;
	const struct target_job *job = o->job;
	const char *id = job->release, *dir = o->dir;

	buf_addstr(before, "set -e; cd ");
	add_path(before, env->path, "releases");
	/* into a directory of its own: never through a link to the base */
	buf_addf(before, "; mkdir -- '%s'; ", dir);
	if (env->incremental == CONFIG_INCREMENTAL_COPY)
		buf_addstr(before, "cp -a --reflink=auto -- ");
	else
		buf_addstr(before, "cp -al -- ");
	buf_addf(before, "'%s/.' '%s/'; rm -f -- '%s/REVISION'",
		 job->base_release, dir, dir);
	/* removals, the new entries linked over the copy, the seal */
	buf_addstr(after, "cd ");
	add_release(after, env, "", dir, NULL);
	buf_addf(after, " && xargs -0 -r rm -rf -- <'../" INCOMING "%s/remove'"
		 " && cp -al --remove-destination -- '../" INCOMING "%s/tree/.'"
		 " . && touch -h -r '../" SEAL "%s' REVISION && cd .. &&"
		 " rm -rf -- '" INCOMING "%s' '" SEAL "%s'", id, id, id, id, id);
}

/*
 * A failed assembly leaves the new release and the incoming directory:
 * both go (directories made writable first: a copy keeps the bits of
 * the base's, and the files are not touched), and the host gets a full
 * upload instead.
 */
static int clean_up(const struct increment_opts *o)
{
	struct host_result res = HOST_RESULT_INIT;
	struct buf cmd = BUF_INIT;
	const char *id = o->job->release, *dir = o->dir;
	int r;

	buf_addstr(&cmd, "cd ");
	add_path(&cmd, o->env->path, "releases");
	buf_addf(&cmd, " && { find '%s' '" INCOMING "%s' -type d ! -perm -u+w"
		 " -exec chmod u+w -- {} + 2>/dev/null; rm -rf -- '%s' '"
		 INCOMING "%s' '" SEAL "%s'; }", dir, id, dir, id, id);
	if ((r = buf_error(&cmd)) == 0)
		r = host_run(o->host, &res, cmd.ptr, o->env->command_timeout,
			     true, NULL, NULL);
	if (!r && res.status != 0)
		r = error_set(ERR_GENERIC, "cannot remove the partial release"
			      " (exit %d)", res.status);
	host_result_release(&res);
	buf_release(&cmd);
	return r;
}

/* 1,234,567 */
static void add_count(struct buf *b, uint64_t n)
{
	char digits[32];
	size_t len, i;

	len = (size_t)snprintf(digits, sizeof(digits), "%llu",
			       (unsigned long long)n);
	for (i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			buf_addch(b, ',');
		buf_addch(b, digits[i]);
	}
}

static void show_sent(const struct increment_opts *o,
		      const struct increment_result *res, double secs)
{
	struct buf line = BUF_INIT;

	buf_addf(&line, "[%s] sent ", o->label);
	add_count(&line, res->sent);
	buf_addf(&line, " changed entr%s (", res->sent == 1 ? "y" : "ies");
	if (res->bytes < 1000 * 1000)
		buf_addf(&line, "%llu KB", (unsigned long long)
			 ((res->bytes + 999) / 1000));
	else
		buf_addf(&line, "%.1f MB", (double)res->bytes / 1e6);
	buf_addstr(&line, "), reused ");
	add_count(&line, res->reused);
	buf_addf(&line, " from %s in %.2f s", o->job->base_release, secs);
	report_info("%s", line.ptr);
	buf_release(&line);
}

static uint64_t overhead(const struct delta *plan,
			 const struct target_job *job)
{
	uint64_t n = strlen(job->commit) + 1;
	size_t i;

	for (i = 0; i < plan->remove.nr; i++)
		n += strlen(plan->remove.v[i]) + 1;
	return n;
}

static void set_why(struct increment_result *out, const char *why)
{
	free(out->why);
	out->why = xstrdup(why);
}

static void listing_init(struct listing *l, bool summed)
{
	memset(l, 0, sizeof(*l));
	buf_init(&l->header, HEADER_MAX);
	buf_init(&l->sum, HEADER_MAX);
	buf_init(&l->rec, RECORD_MAX);
	l->summed = summed;
	l->actual = manifest_new();
	if (summed)
		snprintf(l->base, sizeof(l->base), "ok");
}

static void listing_release(struct listing *l)
{
	manifest_free(l->actual);
	free(l->newer);
	buf_release(&l->header);
	buf_release(&l->sum);
	buf_release(&l->rec);
}

/* Did the host list everything it was asked to, and nothing else? */
static bool listing_complete(const struct listing *l, int status)
{
	return !strcmp(l->base, "ok") && status == 0 && !l->bad &&
	       !l->rec.len && l->summed;
}

/*
 * The host's listing of the base summed up to what was deployed: the
 * base's entries are what it has, and the records read are the entries
 * changed since it was sealed. False if one of those is not in the base
 * (the base changed meanwhile: it is listed entry by entry).
 */
static bool take_base(struct listing *l, const struct manifest *base,
		      const struct strvec *skip)
{
	const struct manifest_entry *e;
	struct manifest *actual = manifest_new();
	bool *newer;
	size_t i, k, count;

	for (i = 0; i < manifest_count(base); i++) {
		e = manifest_at(base, i);
		if (!delta_skipped(skip, e->path) &&
		    manifest_add(actual, e->path, e->mode, "") < 0) {
			error_clear();
			manifest_free(actual);
			return false;
		}
	}
	count = manifest_count(actual);
	newer = xcalloc(count ? count : 1, sizeof(*newer));
	for (i = 0; i < manifest_count(l->actual); i++) {
		k = manifest_index(actual, manifest_at(l->actual, i)->path);
		if (k == (size_t)-1) {
			manifest_free(actual);
			free(newer);
			return false;
		}
		newer[k] = true;
	}
	manifest_free(l->actual);
	free(l->newer);
	l->actual = actual;
	l->newer = newer;
	l->newer_alloc = count;
	return true;
}

/*
 * What the host has in the base, into `l`: its sum first, and when that
 * is not what was deployed, every entry. 0 with *why set when it cannot
 * be known.
 */
static int learn_base(struct listing *l, const struct increment_opts *o,
		      const struct strvec *skip, const char **why)
{
	char want[DIGEST_HEX + 1];
	struct host_result res = HOST_RESULT_INIT;
	struct buf cmd = BUF_INIT;
	int r;

	delta_listing_digest(want, o->job->base, skip);
	if (l->sum.len >= DIGEST_HEX &&
	    !memcmp(l->sum.ptr, want, DIGEST_HEX) &&
	    take_base(l, o->job->base, skip))
		return 0;
	listing_release(l);
	listing_init(l, true);
	add_listing(&cmd, o);
	if ((r = buf_error(&cmd)) < 0)
		r = error_set(r, "the command line is too long");
	else
		r = host_run(o->host, &res, cmd.ptr, o->env->command_timeout,
			     false, on_listing, l);
	if (!r && !listing_complete(l, res.status))
		*why = "the live release could not be listed";
	host_result_release(&res);
	buf_release(&cmd);
	return r;
}

int increment_upload(struct increment_result *out,
		     const struct increment_opts *o)
{
	static const bool no_newer[1];
	const struct target_job *job = o->job;
	struct listing l;
	struct delta plan;
	struct delta_input in;
	struct incoming inc;
	struct host_upload up;
	struct host_upload_stats stats;
	struct host_result res = HOST_RESULT_INIT;
	struct buf cmd = BUF_INIT, before = BUF_INIT, after = BUF_INIT;
	struct buf dir = BUF_INIT;
	struct strvec skip = STRVEC_INIT;
	const char *why = NULL;
	double start = timeutil_now();
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&plan, 0, sizeof(plan));
	strvec_init(&plan.remove);
	listing_init(&l, false);
	for (i = 0; i < o->env->shared.nr; i++) {
		const char *s = o->env->shared.v[i];
		size_t n = strlen(s);

		strvec_pushf(&skip, "%.*s", (int)(n && s[n - 1] == '/' ?
						 n - 1 : n), s);
	}
	add_inspect(&cmd, o, &skip);
	if ((r = buf_error(&cmd)) < 0) {
		r = error_set(r, "the command line is too long");
		goto out;
	}
	r = host_run(o->host, &res, cmd.ptr, o->env->command_timeout, false,
		     on_listing, &l);
	out->output = buf_detach(&l.header, NULL);
	if (r < 0)
		goto out;
	if (res.status != 0 && strcmp(l.base, "ok")) {
		/* the prepare part failed, as a full upload's would */
		const char *end = out->output + strlen(out->output), *line;

		while (end > out->output && end[-1] == '\n')
			end--;
		for (line = end; line > out->output && line[-1] != '\n';)
			line--;
		r = error_set(ERR_GENERIC, "failed (exit %d)%s%.*s",
			      res.status, end > line ? ": " : "",
			      (int)(end - line), line);
		goto out;
	}
	if (strcmp(l.base, "ok"))
		why = base_refusal(l.base);
	else if (!listing_complete(&l, res.status))
		why = "the live release could not be listed";
	else if ((r = learn_base(&l, o, &skip, &why)) < 0)
		goto out;
	if (why) {
		set_why(out, why);
		/* only the seal was made, if anything: the full upload goes on */
		goto out;
	}
	/* plan against what the host has */
	memset(&in, 0, sizeof(in));
	in.base = job->base;
	in.next = job->next;
	in.actual = l.actual;
	in.newer = l.newer ? l.newer : no_newer;
	in.skip = &skip;
	if (delta_plan(&plan, &in) < 0) {
		set_why(out, error_last());
		error_clear();
		goto out;
	}
	/* round trip 2 */
	memset(&inc, 0, sizeof(inc));
	buf_init(&inc.path, RECORD_MAX);
	inc.plan_of = job->next;
	inc.plan = &plan;
	inc.job = job;
	add_assemble(&before, &after, o);
	buf_addf(&dir, "%s/releases/" INCOMING "%s", o->env->path,
		 job->release);
	if ((r = buf_error(&before)) < 0 || (r = buf_error(&after)) < 0 ||
	    (r = buf_error(&dir)) < 0) {
		r = error_set(r, "the command line is too long");
		goto out;
	}
	memset(&up, 0, sizeof(up));
	up.dir = dir.ptr;
	up.before = before.ptr;
	up.after = after.ptr;
	up.mtime = job->mtime;
	up.timeout = o->env->command_timeout;
	up.produce = produce;
	up.payload = &inc;
	up.cancelled = job->cancelled;
	r = host_upload(o->host, &up, &stats, NULL);
	buf_release(&inc.path);
	if (r == ERR_INVALID || r == ERR_TOOBIG) {
		/* the content itself is refused: a full upload would be too */
		struct error_saved saved;

		error_save(&saved);
		clean_up(o);
		r = error_restore(&saved, r);
		goto out;
	}
	if (r < 0) {
		struct buf failed = BUF_INIT;

		buf_addf(&failed, "assembling from the live release failed: %s",
			 error_last());
		if ((r = clean_up(o)) == 0)
			set_why(out, failed.ptr);
		buf_release(&failed);
		goto out;
	}
	out->done = true;
	out->sent = plan.nr_send;
	out->reused = plan.nr_reused;
	/* what was sent, but the list of removals and REVISION */
	out->bytes = stats.bytes > overhead(&plan, job) ?
		     stats.bytes - overhead(&plan, job) : 0;
	show_sent(o, out, timeutil_now() - start);
out:
	host_result_release(&res);
	delta_release(&plan);
	listing_release(&l);
	buf_release(&cmd);
	buf_release(&before);
	buf_release(&after);
	buf_release(&dir);
	strvec_clear(&skip);
	return r;
}

void increment_result_release(struct increment_result *r)
{
	free(r->output);
	free(r->why);
	memset(r, 0, sizeof(*r));
}
