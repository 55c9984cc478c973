/*
 * fuzz_tree - libFuzzer target for what pushgate does with the trees of
 * pushed commits: the [verify] walk over the paths each new commit adds
 * or changes (gittree_changes(), which parses raw tree objects itself,
 * under policy_check_update() with forbid_paths and max_file_size), the
 * list of a commit's entries (gittree_list(), for manifests) and its
 * export (gittree_export()) into a directory, into a tar stream and as a
 * checkout (workspace_create()).
 *
 * The input is a program that builds objects, written straight into the
 * object database, so that trees can be anything a hostile pusher could
 * send: blobs; trees of entries with any mode text, any name bytes (NUL,
 * '/', "..", ".git" included), in git's order or not, pointing at any
 * earlier object or at a missing one; raw bytes as a tree; commits of a
 * tree with up to two parents; annotated tags of any object. The last
 * commit or tag made is pushed as a new branch. The repository is
 * made once, in a private directory; its objects live in a libgit2
 * mempack backend emptied after each input.
 *
 * Checked, whenever the calls concerned succeed:
 *
 *   - the walk reports only safe relative paths; the verdict of an
 *     accepted push means that no file or symlink exported from its
 *     tip matches a forbid_paths glob (by path or base name) or is
 *     larger than max_file_size, whatever directories the walk's memo
 *     skipped (the globs are of every depth policy_glob_depth() tells
 *     apart, and the same tree may sit at several depths), and that the
 *     tip has at most max_entries entries (exports refuse more: a few
 *     nested copies of a tree are enough);
 *   - the export writes exactly what gittree_list() lists, in the same
 *     order and of the same types; on disk there is exactly that (types,
 *     sizes, link targets), nothing else in the directory around it, and
 *     nothing in the directory beside it that a "../victim" link names;
 *   - the tar export and the checkout succeed exactly when the export
 *     into a directory does, and the checkout leaves nothing behind.
 *
 * Built and run by tests/fuzz/run.sh (make fuzz), and by make check
 * through tests/fuzz/driver.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/mempack.h>

#include "archive.h"
#include "buf.h"
#include "config.h"
#include "errors.h"
#include "fsutil.h"
#include "fuzz.h"
#include "gittree.h"
#include "policy.h"
#include "push.h"
#include "repo.h"
#include "sink.h"
#include "state.h"
#include "strvec.h"
#include "workspace.h"

#define MAX_OBJECTS 48
#define MAX_ENTRIES 8
#define MAX_NAME 12

/*
 * Globs of every depth policy_glob_depth() tells apart (0, 1, 2 and
 * any), so that the walk's memo of directories is put to the test; a
 * max_entries that a few nested copies of a tree go past.
 */
static const char config_text[] =
	"[verify]\n"
	"forbid_paths = *.pem .env conf/id_rsa secret/* *private*\n"
	"max_file_size = 100\n"
	"max_entries = 300\n"
	"commit_message = ^[^!]\n";

/* Mode texts: the usual ones, those of old gits, and nonsense. */
static const char *const modes[] = {
	"100644", "100755", "120000", "40000", "160000", "100644",
	"40000", "100664", "100600", "040000", "40755", "41000", "140000",
	"0", "177777", "10064", "1006440", "100644 ", "", "4000x"
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct object {
	git_oid id;
	git_object_t type;
};

/* What one input made. */
struct built {
	struct object obj[MAX_OBJECTS];
	size_t nr;
	const struct object *tip;	/* the last commit or tag */
	char subdir[MAX_NAME + 1];	/* exported, or "" for the root */
};

static struct config cfg;
static char main_ref[] = "refs/heads/main";
static struct repo *repo;
static git_odb_backend *mempack;
static struct state st = STATE_INIT;
static char base[600], out_dir[700], victim[700], git_dir[700];

static void setup(void)
{
	git_repository *g = NULL;
	const char *dir = fuzz_dir("fuzz_tree");

	snprintf(base, sizeof(base), "%s", dir);
	snprintf(out_dir, sizeof(out_dir), "%s/out", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(git_dir, sizeof(git_dir), "%s/repo.git", dir);
	repo_library_init();
	FUZZ_CHECK(!config_parse_string(&cfg, config_text, NULL));
	FUZZ_CHECK(!git_repository_init(&g, git_dir, 1));
	git_repository_free(g);
	FUZZ_CHECK(!repo_open(&repo, git_dir));
	FUZZ_CHECK(!git_mempack_new(&mempack));
	FUZZ_CHECK(!git_odb_add_backend(repo_odb(repo), mempack, 999));
	FUZZ_CHECK(!state_open(&st, git_dir));
	FUZZ_CHECK(!mkdir(victim, 0700));
}

static const struct object *add(struct built *b, const void *data,
				size_t len, git_object_t type)
{
	struct object *o;

	if (b->nr == MAX_OBJECTS)
		return NULL;
	o = &b->obj[b->nr];
	FUZZ_CHECK(!git_odb_write(&o->id, repo_odb(repo), data, len, type));
	o->type = type;
	b->nr++;
	return o;
}

/* The n-th object of `type` made so far (cycling), or NULL. */
static const struct object *pick(const struct built *b, unsigned n,
				 git_object_t type)
{
	size_t i, count = 0;

	for (i = 0; i < b->nr; i++)
		count += b->obj[i].type == type;
	if (!count)
		return NULL;
	n %= count;
	for (i = 0; i < b->nr; i++)
		if (b->obj[i].type == type && !n--)
			return &b->obj[i];
	return NULL;
}

struct raw_entry {
	const char *mode;
	char name[MAX_NAME];
	size_t len;
	unsigned char id[GIT_OID_RAWSZ];
};

static bool mode_is_dir(const char *mode)
{
	unsigned long m = strtoul(mode, NULL, 8);

	return (m & 0170000) == 0040000;
}

/* git's tree order: bytewise, a tree's name as if it ended in '/'. */
static int entry_cmp(const void *pa, const void *pb)
{
	const struct raw_entry *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->name, b->name, n);
	int ca, cb;

	if (c)
		return c;
	ca = n < a->len ? (unsigned char)a->name[n] :
	     mode_is_dir(a->mode) ? '/' : 0;
	cb = n < b->len ? (unsigned char)b->name[n] :
	     mode_is_dir(b->mode) ? '/' : 0;
	return ca - cb;
}

static void make_tree(struct built *b, struct fuzz_in *in)
{
	struct raw_entry e[MAX_ENTRIES];
	struct buf raw = BUF_INIT;
	unsigned n = fuzz_byte(in) % (MAX_ENTRIES + 1), flags, i;
	const uint8_t *p;
	size_t len;

	flags = fuzz_byte(in);
	for (i = 0; i < n; i++) {
		unsigned sel;

		e[i].mode = modes[fuzz_byte(in) % ARRAY_SIZE(modes)];
		p = fuzz_bytes(in, fuzz_byte(in) % (MAX_NAME + 1), &len);
		memcpy(e[i].name, p, len);
		e[i].len = len;
		sel = fuzz_byte(in);
		if (b->nr && sel < 240) {
			memcpy(e[i].id, b->obj[sel % b->nr].id.id,
			       GIT_OID_RAWSZ);
		} else {
			/* a missing object, or one of the bytes given */
			p = fuzz_bytes(in, GIT_OID_RAWSZ, &len);
			memset(e[i].id, 0x5a, GIT_OID_RAWSZ);
			memcpy(e[i].id, p, len);
		}
	}
	if (!(flags & 1))
		qsort(e, n, sizeof(*e), entry_cmp);
	for (i = 0; i < n; i++) {
		buf_addstr(&raw, e[i].mode);
		buf_addch(&raw, ' ');
		buf_add(&raw, e[i].name, e[i].len);
		buf_addch(&raw, '\0');
		buf_add(&raw, e[i].id, GIT_OID_RAWSZ);
	}
	add(b, raw.ptr, raw.len, GIT_OBJECT_TREE);
	buf_release(&raw);
}

static void make_commit(struct built *b, struct fuzz_in *in)
{
	const struct object *tree = pick(b, fuzz_byte(in), GIT_OBJECT_TREE);
	unsigned np = fuzz_byte(in) % 3, i;
	struct buf raw = BUF_INIT;
	char hex[GIT_OID_HEXSZ + 1];
	const uint8_t *msg;
	size_t len;

	if (!tree && !(tree = pick(b, 0, GIT_OBJECT_BLOB)))
		return;
	buf_addf(&raw, "tree %s\n", git_oid_tostr(hex, sizeof(hex),
						  &tree->id));
	for (i = 0; i < np; i++) {
		const struct object *parent = pick(b, fuzz_byte(in),
						   GIT_OBJECT_COMMIT);

		if (parent)
			buf_addf(&raw, "parent %s\n",
				 git_oid_tostr(hex, sizeof(hex), &parent->id));
	}
	buf_addstr(&raw, "author A U Thor <author@example.com> 1700000000 "
		   "+0000\ncommitter C O Mitter <c@example.com> 1700000000 "
		   "+0000\n\n");
	msg = fuzz_bytes(in, fuzz_byte(in) % 32, &len);
	buf_add(&raw, msg, len);
	if ((tree = add(b, raw.ptr, raw.len, GIT_OBJECT_COMMIT)))
		b->tip = tree;
	buf_release(&raw);
}

static void make_tag(struct built *b, struct fuzz_in *in)
{
	const struct object *target;
	struct buf raw = BUF_INIT;
	char hex[GIT_OID_HEXSZ + 1];

	if (!b->nr)
		return;
	target = &b->obj[fuzz_byte(in) % b->nr];
	buf_addf(&raw, "object %s\ntype %s\ntag v%zu\ntagger T <t@example.com>"
		 " 1700000000 +0000\n\nrelease\n",
		 git_oid_tostr(hex, sizeof(hex), &target->id),
		 git_object_type2string(target->type), b->nr);
	if ((target = add(b, raw.ptr, raw.len, GIT_OBJECT_TAG)))
		b->tip = target;
	buf_release(&raw);
}

static void build(struct built *b, struct fuzz_in *in)
{
	const uint8_t *p;
	size_t len;

	while (!fuzz_in_empty(in) && b->nr < MAX_OBJECTS) {
		switch (fuzz_byte(in) % 8) {
		case 0:
		case 1:
			p = fuzz_bytes(in, fuzz_byte(in), &len);
			add(b, p, len, GIT_OBJECT_BLOB);
			break;
		case 2:
		case 3:
			make_tree(b, in);
			break;
		case 4:
			make_commit(b, in);
			break;
		case 5:
			make_tag(b, in);
			break;
		case 6:
			p = fuzz_bytes(in, fuzz_byte(in), &len);
			add(b, p, len, GIT_OBJECT_TREE);
			break;
		default:
			p = fuzz_bytes(in, fuzz_byte(in) % (MAX_NAME + 1),
				       &len);
			memcpy(b->subdir, p, len);
			b->subdir[len] = '\0';
			break;
		}
	}
	if (!b->tip && b->nr < MAX_OBJECTS)
		make_commit(b, in);
}

/* What an export wrote, in order. */
struct written {
	struct strvec paths;
	struct strvec kinds;	/* "d", "f 644 SIZE", "l TARGET" */
	struct sink *next;
	bool in_file;
};

static int rec_dir(void *self, const char *path, unsigned mode)
{
	struct written *w = self;

	strvec_push(&w->paths, path);
	strvec_pushf(&w->kinds, "d %o", mode);
	return sink_dir(w->next, path, mode);
}

static int rec_file(void *self, const char *path, unsigned mode,
		    uint64_t size)
{
	struct written *w = self;

	strvec_push(&w->paths, path);
	strvec_pushf(&w->kinds, "f %o %llu", mode, (unsigned long long)size);
	return sink_file(w->next, path, mode, size);
}

static int rec_data(void *self, const void *data, size_t len)
{
	struct written *w = self;

	return sink_data(w->next, data, len);
}

static int rec_symlink(void *self, const char *path, const char *target)
{
	struct written *w = self;

	strvec_push(&w->paths, path);
	strvec_pushf(&w->kinds, "l %s", target);
	return sink_symlink(w->next, path, target);
}

static const struct sink_ops rec_ops = {
	rec_dir, NULL, rec_file, rec_data, rec_symlink
};

/* gittree_list(), in the words of struct written. */
static int rec_list(const char *path, unsigned mode, const char *id,
		    void *payload)
{
	struct written *w = payload;

	FUZZ_CHECK(!fsutil_check_relpath(path));
	strvec_push(&w->paths, path);
	if (S_ISDIR(mode)) {
		FUZZ_CHECK(!*id);
		strvec_pushf(&w->kinds, "d %o", mode & 07777);
	} else {
		FUZZ_CHECK(strlen(id) == GIT_OID_HEXSZ);
		strvec_pushf(&w->kinds, "%c %o", S_ISLNK(mode) ? 'l' : 'f',
			     mode & 07777);
	}
	return 0;
}

/* A path the walk reported: a safe relative path. */
static int rec_change(const struct gittree_change *c, void *payload)
{
	size_t *n = payload;

	FUZZ_CHECK(!fsutil_check_relpath(c->path));
	FUZZ_CHECK(c->name >= c->path && !strchr(c->name, '/'));
	(*n)++;
	return 0;
}

static int rec_disk(const struct fsutil_entry *e, void *payload)
{
	struct strvec *seen = payload;

	strvec_push(seen, e->path);
	return 0;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory `dir` (none if it is missing), sorted. */
static void list_dir(const char *dir, struct strvec *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d && errno == ENOENT)
		return;
	FUZZ_CHECK(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strvec_push(out, de->d_name);
	closedir(d);
	if (out->nr)
		qsort(out->v, out->nr, sizeof(*out->v), by_string);
}

/* The directory written holds what the export said, and only that. */
static void check_disk(const struct written *w)
{
	struct strvec seen = STRVEC_INIT, want = STRVEC_INIT, around =
		STRVEC_INIT;
	struct buf p = BUF_INIT;
	size_t i;

	list_dir(base, &around);
	FUZZ_CHECK(around.nr == 3 && !strcmp(around.v[0], "out") &&
		   !strcmp(around.v[1], "repo.git") &&
		   !strcmp(around.v[2], "victim"));
	strvec_clear(&around);
	list_dir(victim, &around);
	FUZZ_CHECK(!around.nr);
	FUZZ_CHECK(!fsutil_walk(out_dir, rec_disk, &seen));
	for (i = 0; i < w->paths.nr; i++) {
		const char *kind = w->kinds.v[i];
		struct stat sb;

		strvec_push(&want, w->paths.v[i]);
		buf_reset(&p);
		buf_addf(&p, "%s/%s", out_dir, w->paths.v[i]);
		FUZZ_CHECK(!lstat(p.ptr, &sb));
		if (kind[0] == 'd') {
			FUZZ_CHECK(S_ISDIR(sb.st_mode));
		} else if (kind[0] == 'f') {
			unsigned mode;
			unsigned long long size;

			FUZZ_CHECK(sscanf(kind, "f %o %llu", &mode,
					  &size) == 2);
			FUZZ_CHECK(S_ISREG(sb.st_mode) &&
				   (uint64_t)sb.st_size == size &&
				   (sb.st_mode & 07777) == mode);
		} else {
			char target[512];
			ssize_t n = readlink(p.ptr, target, sizeof(target));

			FUZZ_CHECK(S_ISLNK(sb.st_mode) && n >= 0 &&
				   (size_t)n == strlen(kind + 2) &&
				   !memcmp(target, kind + 2, (size_t)n));
		}
	}
	if (want.nr)
		qsort(want.v, want.nr, sizeof(*want.v), by_string);
	if (seen.nr)
		qsort(seen.v, seen.nr, sizeof(*seen.v), by_string);
	FUZZ_CHECK(seen.nr == want.nr);
	for (i = 0; i < seen.nr; i++)
		FUZZ_CHECK(!strcmp(seen.v[i], want.v[i]));
	strvec_clear(&seen);
	strvec_clear(&want);
	strvec_clear(&around);
	buf_release(&p);
}

/* A rejected push is fine; an accepted one exports nothing forbidden. */
static void check_verdict(const struct verdict *v, const struct written *w,
			  const char *subdir)
{
	struct buf full = BUF_INIT;
	size_t i, k;

	if (v->rejected)
		return;
	for (i = 0; i < w->paths.nr; i++) {
		const char *kind = w->kinds.v[i], *name;
		unsigned mode;
		unsigned long long size = 0;

		if (kind[0] == 'd')
			continue;
		buf_reset(&full);
		if (*subdir)
			buf_addf(&full, "%s/", subdir);
		buf_addstr(&full, w->paths.v[i]);
		name = strrchr(full.ptr, '/');
		name = name ? name + 1 : full.ptr;
		for (k = 0; k < cfg.forbid_paths.nr; k++)
			FUZZ_CHECK(fnmatch(cfg.forbid_paths.v[k], full.ptr,
					   0) &&
				   fnmatch(cfg.forbid_paths.v[k], name, 0));
		if (kind[0] == 'f')
			FUZZ_CHECK(sscanf(kind, "f %o %llu", &mode,
					  &size) == 2);
		else
			size = strlen(kind + 2);
		FUZZ_CHECK(size <= cfg.max_file_size);
	}
	buf_release(&full);
}

static int discard(const void *data, size_t len, void *payload)
{
	(void)data;
	*(uint64_t *)payload += len;
	return 0;
}

static void check(const struct built *b)
{
	struct push_update u;
	struct policy_opts po = POLICY_OPTS_INIT;
	struct gittree_changes_opts co = GITTREE_CHANGES_OPTS_INIT;
	struct verdict v = VERDICT_INIT;
	struct written w, listed;
	struct fsutil_writer fw;
	struct sink rec, fs_sink, tar_sink;
	struct archive tar;
	struct workspace ws = WORKSPACE_INIT;
	struct repo_oid tip, commit;
	struct strvec left = STRVEC_INIT;
	char tmp[800];
	const char *subdir = b->subdir;
	uint64_t tar_bytes = 0;
	size_t changes = 0;
	int r_policy, r_fs, r_list, r_tar, r_ws;

	memcpy(tip.id, b->tip->id.id, REPO_OID_RAWSZ);
	memset(&u, 0, sizeof(u));
	memset(u.old_hex, '0', PUSH_HEX_LEN);
	git_oid_tostr(u.new_hex, sizeof(u.new_hex), &b->tip->id);
	u.ref = main_ref;
	u.is_create = true;
	po.cfg = &cfg;
	po.repo = repo;
	r_policy = policy_check_update(&v, &po, &u);
	error_clear();
	if (repo_peel_commit(repo, &commit, &tip) < 0) {
		error_clear();
		verdict_release(&v);
		return;
	}
	co.change = rec_change;
	co.payload = &changes;
	if (gittree_changes(repo, &commit, &co) < 0)
		error_clear();

	/* into a directory, through a recorder */
	memset(&w, 0, sizeof(w));
	memset(&listed, 0, sizeof(listed));
	if (fsutil_writer_open(&fw, out_dir, true) < 0)
		FUZZ_CHECK(!"cannot open the export directory");
	fsutil_writer_sink(&fs_sink, &fw);
	w.next = &fs_sink;
	sink_init(&rec, &rec_ops, &w);
	r_fs = gittree_export(repo, &commit, *subdir ? subdir : ".",
			      cfg.max_entries, &rec);
	if (fsutil_writer_close(&fw) < 0 && !r_fs)
		FUZZ_CHECK(!"the writer failed after a complete export");
	error_clear();
	r_list = gittree_list(repo, &commit, *subdir ? subdir : ".",
			      cfg.max_entries, rec_list, &listed);
	error_clear();
	if (!r_fs) {
		size_t i;

		FUZZ_CHECK(!r_list && listed.paths.nr == w.paths.nr);
		for (i = 0; i < w.paths.nr; i++) {
			FUZZ_CHECK(!strcmp(listed.paths.v[i], w.paths.v[i]));
			FUZZ_CHECK(listed.kinds.v[i][0] == w.kinds.v[i][0]);
			if (w.kinds.v[i][0] == 'f')
				FUZZ_CHECK(!strncmp(listed.kinds.v[i],
						    w.kinds.v[i], 5));
		}
		check_disk(&w);
		if (!r_policy)
			check_verdict(&v, &w, subdir);
	}
	FUZZ_CHECK(!fsutil_remove_tree(out_dir));

	/* as a tar stream */
	archive_init(&tar, discard, &tar_bytes, 1700000000);
	archive_sink(&tar_sink, &tar);
	r_tar = gittree_export(repo, &commit, *subdir ? subdir : ".",
			       cfg.max_entries, &tar_sink);
	if (!r_tar)
		r_tar = archive_finish(&tar);
	archive_release(&tar);
	error_clear();
	FUZZ_CHECK(!r_tar == !r_fs);

	/* as a checkout of the whole tree */
	r_ws = workspace_create(&ws, &st, repo, &commit, cfg.max_entries);
	error_clear();
	if (!*subdir)
		FUZZ_CHECK(!r_ws == !r_fs);
	workspace_remove(&ws);
	snprintf(tmp, sizeof(tmp), "%s/tmp", st.dir);
	list_dir(tmp, &left);
	FUZZ_CHECK(!left.nr);

	strvec_clear(&left);
	strvec_clear(&w.paths);
	strvec_clear(&w.kinds);
	strvec_clear(&listed.paths);
	strvec_clear(&listed.kinds);
	verdict_release(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct built b;
	struct fuzz_in in;

	if (size > 8192)
		return 0;
	if (!repo)
		setup();
	memset(&b, 0, sizeof(b));
	fuzz_in_init(&in, data, size);
	build(&b, &in);
	if (b.tip)
		check(&b);
	FUZZ_CHECK(!git_mempack_reset(mempack));
	error_clear();
	return 0;
}
