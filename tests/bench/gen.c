/*
 * gen - write a deterministic synthetic history as a git fast-import stream
 *
 *   gen COMMITS SEED CHECKPOINT | git fast-import --done
 *
 * Part of the benchmark (tests/bench/run.sh); not built by the Makefile.
 *
 * refs/heads/main gets COMMITS commits: a root commit with ~3,000 text files
 * in nested directories, then commits that each replace a block of lines in
 * 1-5 text files, sometimes add (1 in 4.5) or delete (1 in 33) a text file,
 * and about 1 in 47 add or rewrite an incompressible binary file of
 * 8 KB - 1 MB. About 1 commit in 25 is a merge: a side branch
 * (refs/heads/topic) of 2-4 commits forks from main, main moves on by 1-2
 * commits that touch other files, and a merge commit whose tree is the
 * union of both sides joins them. With 10,000 commits the tip of main holds
 * ~5,000 files and ~100 MB.
 *
 * refs/heads/at-CHECKPOINT marks the first commit of main (never inside a
 * fork) whose history holds at least CHECKPOINT commits, and
 * refs/heads/everyday-1 .. everyday-5 each add 10 small text edits on top of
 * the previous one, starting from the tip of main.
 *
 * Every subject matches ^(feat|fix|docs|chore): .{1,72}$, no path matches
 * *.pem *.key id_rsa .env secrets/ANY, and no blob exceeds 1 MiB. Everything
 * (ids included) depends only on the arguments.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_TEXT	3000
#define BIN_MIN		8192
#define BIN_MAX		1048576
#define MERGE_GAP_MIN	15
#define MERGE_GAP_SPAN	11
#define EVERYDAY_REFS	5
#define EVERYDAY_LEN	10
#define TIME_BASE	1577836800L	/* 2020-01-01 */

enum owner { FREE, MAIN_SIDE, TOPIC_SIDE };

struct file {
	char *path;
	unsigned char *data;	/* text only; binaries are not kept */
	size_t len;
	size_t cap;
	unsigned long mark;	/* blob mark of the current content */
	long born;		/* commit number that added it */
	int binary;
	int alive;
	enum owner owner;	/* who touched it during the current fork */
};

static uint64_t rs[4];
static struct file **files;	/* one allocation each: stable pointers */
static size_t nfiles, capfiles;
static char **dirs, **bindirs;
static size_t ndirs, nbindirs;
static unsigned long next_mark = 1;
static unsigned long next_id = 1;
static long ncommit;		/* commits written so far */
static size_t ntext_alive, nbin_alive;

static const char *const pool[] = {
	"core", "net", "util", "io", "auth", "db", "cache", "http", "model",
	"view", "ui", "cli", "parser", "storage", "sched", "log", "metrics",
	"crypto", "config", "api", "jobs", "mail", "search", "billing",
	"admin", "export", "import", "queue", "session", "render", "i18n",
	"plugins", "events", "graph", "stream", "compat", "internal", "common",
};
static const char *const tops[] = {
	"src", "lib", "docs", "tests", "tools", "web", "pkg", "services",
};
static const char *const bintops[] = {
	"assets/img", "assets/fonts", "assets/media", "data/fixtures",
	"data/models", "vendor/blobs",
};
static const char *const words[] = {
	"the", "value", "buffer", "return", "if", "else", "for", "while",
	"index", "count", "error", "result", "node", "list", "map", "key",
	"size", "len", "ptr", "next", "prev", "head", "tail", "state", "ctx",
	"handle", "open", "close", "read", "write", "flush", "parse", "emit",
	"check", "update", "insert", "remove", "find", "lookup", "cache",
	"token", "stream", "offset", "limit", "flags", "mode", "path", "name",
	"config", "option", "default", "timeout", "retry", "lock", "unlock",
	"=", "+", "-", "*", "(", ")", "{", "}", ";", "0", "1", "42", "NULL",
};
static const char *const exts[] = {
	"c", "h", "md", "txt", "py", "js", "go", "rs", "json", "yml", "sh",
	"html", "css", "toml",
};
static const char *const binexts[] = {
	"png", "jpg", "woff2", "bin", "dat", "gz", "pdf",
};
static const char *const types[] = { "feat", "fix", "docs", "chore" };
static const char *const verbs[] = {
	"update", "rework", "simplify", "document", "tidy", "extend",
	"handle errors in", "speed up", "clean up", "refactor", "test",
};
static const char *const authors[] = {
	"Ada Lovelace <ada@example.com>",
	"Grace Hopper <grace@example.com>",
	"Ken Thompson <ken@example.com>",
	"Barbara Liskov <barbara@example.com>",
	"Dennis Ritchie <dmr@example.com>",
	"Frances Allen <fran@example.com>",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
die(const char *msg)
{
	fprintf(stderr, "gen: %s\n", msg);
	exit(1);
}

static void *
xrealloc(void *p, size_t n)
{
	if (!(p = realloc(p, n ? n : 1)))
		die("out of memory");
	return p;
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xrealloc(NULL, n), s, n);
}

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static uint64_t
rnd64(void)
{
	uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;

	rs[2] ^= rs[0];
	rs[3] ^= rs[1];
	rs[1] ^= rs[2];
	rs[0] ^= rs[3];
	rs[2] ^= t;
	rs[3] = rotl(rs[3], 45);
	return r;
}

/* uniform in [0, n) (the modulo bias is irrelevant here) */
static size_t
rnd(size_t n)
{
	return n ? (size_t)(rnd64() % n) : 0;
}

static int
chance(unsigned num, unsigned den)
{
	return rnd(den) < num;
}

static void
add_dir(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

/* A directory and, below depth 4, 2-6 (then 0-3) distinct children. */
static void
make_dirs(const char *base, int depth)
{
	char path[256];
	size_t used[NELEM(pool)] = { 0 };
	size_t i, k, n = depth < 3 ? 2 + rnd(5) : depth == 3 ? rnd(4) : 0;

	add_dir(&dirs, &ndirs, base);
	for (i = 0; i < n; i++) {
		do
			k = rnd(NELEM(pool));
		while (used[k]);
		used[k] = 1;
		snprintf(path, sizeof(path), "%s/%s", base, pool[k]);
		make_dirs(path, depth + 1);
	}
}

static struct file *
new_file(const char *dir, int binary)
{
	char path[512];
	struct file *f;
	const char *stem = words[rnd(24) + 1];

	if (binary)
		snprintf(path, sizeof(path), "%s/%s_%05lu.%s", dir, stem,
			 next_id++, binexts[rnd(NELEM(binexts))]);
	else
		snprintf(path, sizeof(path), "%s/%s_%05lu.%s", dir, stem,
			 next_id++, exts[rnd(NELEM(exts))]);
	if (nfiles == capfiles) {
		capfiles = capfiles ? 2 * capfiles : 4096;
		files = xrealloc(files, capfiles * sizeof(*files));
	}
	f = files[nfiles++] = xrealloc(NULL, sizeof(*f));
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	f->binary = binary;
	f->alive = 1;
	f->born = ncommit;
	if (binary)
		nbin_alive++;
	else
		ntext_alive++;
	return f;
}

static void
reserve(struct file *f, size_t n)
{
	if (n <= f->cap)
		return;
	f->cap = n + n / 2 + 64;
	f->data = xrealloc(f->data, f->cap);
}

/* Append one line of source-like text to buf at *len (room for 200). */
static size_t
make_line(unsigned char *buf)
{
	size_t len = 0, i, n, w;

	n = rnd(3);
	for (i = 0; i < n; i++)
		buf[len++] = '\t';
	if (chance(1, 12)) {
		buf[len++] = '\n';
		return len;
	}
	n = 2 + rnd(9);
	for (i = 0; i < n; i++) {
		const char *s = words[rnd(NELEM(words))];

		w = strlen(s);
		if (i)
			buf[len++] = ' ';
		memcpy(buf + len, s, w);
		len += w;
	}
	buf[len++] = '\n';
	return len;
}

static void
fill_text(struct file *f, size_t lines)
{
	unsigned char line[256];
	size_t i, n;

	f->len = 0;
	for (i = 0; i < lines; i++) {
		n = make_line(line);
		reserve(f, f->len + n);
		memcpy(f->data + f->len, line, n);
		f->len += n;
	}
}

/* Byte offset of the start of line `line` (or f->len past the end). */
static size_t
line_offset(const struct file *f, size_t line)
{
	size_t off = 0;

	while (line > 0 && off < f->len) {
		const unsigned char *nl = memchr(f->data + off, '\n',
						 f->len - off);

		off = nl ? (size_t)(nl - f->data) + 1 : f->len;
		line--;
	}
	return off;
}

static size_t
count_lines(const struct file *f)
{
	size_t i, n = 0;

	for (i = 0; i < f->len; i++)
		n += f->data[i] == '\n';
	return n;
}

/* Replace a block of lines: delete 1..maxdel, insert 1..maxins. */
static void
edit_block(struct file *f, size_t maxdel, size_t maxins)
{
	unsigned char block[256 * 16];
	size_t n = count_lines(f), start, del, ins, a, b, blen = 0, i;

	start = rnd(n ? n : 1);
	del = 1 + rnd(maxdel);
	if (start + del > n)
		del = n - start;
	ins = 1 + rnd(maxins);
	if (n > 300)
		ins = 1;
	if (ins > 16)
		ins = 16;
	for (i = 0; i < ins; i++)
		blen += make_line(block + blen);
	a = line_offset(f, start);
	b = line_offset(f, start + del);
	reserve(f, f->len - (b - a) + blen);
	memmove(f->data + a + blen, f->data + b, f->len - b);
	memcpy(f->data + a, block, blen);
	f->len = f->len - (b - a) + blen;
}

static void
emit_text_blob(struct file *f)
{
	f->mark = next_mark++;
	printf("blob\nmark :%lu\ndata %zu\n", f->mark, f->len);
	fwrite(f->data, 1, f->len, stdout);
	putchar('\n');
}

static void
emit_binary_blob(struct file *f)
{
	uint64_t chunk[8192];
	size_t size, left, n, i, span = BIN_MAX - BIN_MIN + 1, r1, r2;

	/* max of two uniforms: sizes lean towards the top of the range */
	r1 = rnd(span);
	r2 = rnd(span);
	size = BIN_MIN + (r1 > r2 ? r1 : r2);
	f->mark = next_mark++;
	f->len = size;
	printf("blob\nmark :%lu\ndata %zu\n", f->mark, size);
	for (left = size; left > 0; left -= n) {
		n = left < sizeof(chunk) ? left : sizeof(chunk);
		for (i = 0; i < (n + 7) / 8; i++)
			chunk[i] = rnd64();
		fwrite(chunk, 1, n, stdout);
	}
	putchar('\n');
}

/* A live file of the given kind that `who` may touch, or NULL. */
static struct file *
pick(int binary, enum owner who)
{
	size_t tries;

	if (binary ? !nbin_alive : !ntext_alive)
		return NULL;
	for (tries = 0; tries < 10000; tries++) {
		struct file *f = files[rnd(nfiles)];

		if (f->alive && f->binary == binary &&
		    (f->owner == FREE || f->owner == who))
			return f;
	}
	return NULL;
}

/* Files the commit being built changes: marks emitted, paths listed. */
struct change {
	struct file *f;
	int deleted;
};
static struct change changes[64];
static size_t nchanges;

/* topic-side files of the current fork, for the merge */
static struct file **touched;
static size_t ntouched, captouched;

static void
touch(struct file *f, enum owner who, int deleted)
{
	size_t i;

	for (i = 0; i < nchanges; i++)
		if (changes[i].f == f)
			break;
	if (i == nchanges) {
		if (nchanges == NELEM(changes))
			die("too many changes in one commit");
		nchanges++;
	}
	changes[i].f = f;
	changes[i].deleted = deleted;
	if (who == FREE)
		return;
	if (who == TOPIC_SIDE && f->owner != TOPIC_SIDE) {
		if (ntouched == captouched) {
			captouched = captouched ? 2 * captouched : 256;
			touched = xrealloc(touched,
					   captouched * sizeof(*touched));
		}
		touched[ntouched++] = f;
	}
	f->owner = who;
}

static void
op_edit(enum owner who, size_t maxdel, size_t maxins)
{
	struct file *f = pick(0, who);

	if (!f)
		return;
	edit_block(f, maxdel, maxins);
	emit_text_blob(f);
	touch(f, who, 0);
}

static void
op_add_text(enum owner who)
{
	struct file *f = new_file(dirs[rnd(ndirs)], 0);

	fill_text(f, 10 + rnd(110));
	emit_text_blob(f);
	touch(f, who, 0);
}

static void
op_delete_text(enum owner who)
{
	struct file *f = pick(0, who);

	if (!f || ntext_alive < 100)
		return;
	f->alive = 0;
	ntext_alive--;
	free(f->data);
	f->data = NULL;
	f->len = f->cap = 0;
	touch(f, who, 1);
}

static void
op_binary(enum owner who)
{
	struct file *f = NULL;

	if (chance(1, 4))
		f = pick(1, who);
	if (!f)
		f = new_file(bindirs[rnd(nbindirs)], 1);
	emit_binary_blob(f);
	touch(f, who, 0);
}

/* A commit header; the subject names `what` (the first change if NULL). */
static void
emit_header(const char *ref, unsigned long mark, const char *what)
{
	char rest[160], subject[160], body[256];
	const char *author = authors[rnd(NELEM(authors))];
	long when = TIME_BASE + ncommit * 1800L + (long)rnd(900);
	size_t blen = 0;

	if (!what)
		what = nchanges ? changes[0].f->path : "the tree";
	snprintf(rest, sizeof(rest), "%s %s", verbs[rnd(NELEM(verbs))], what);
	/* at most 72 characters after "type: " */
	snprintf(subject, sizeof(subject), "%s: %.72s",
		 types[rnd(NELEM(types))], rest);
	if (chance(1, 2))
		blen = (size_t)snprintf(body, sizeof(body),
			"\nTouches %zu file(s); commit %ld of the generated "
			"history.\n", nchanges, ncommit);
	printf("commit %s\nmark :%lu\n", ref, mark);
	printf("author %s %ld +0000\n", author, when);
	printf("committer %s %ld +0000\n", author, when);
	printf("data %zu\n%s\n%s\n", strlen(subject) + 1 + blen, subject,
	       blen ? body : "");
	ncommit++;
}

static void
emit_changes(void)
{
	size_t i;

	for (i = 0; i < nchanges; i++) {
		if (changes[i].deleted)
			printf("D %s\n", changes[i].f->path);
		else
			printf("M 100644 :%lu %s\n", changes[i].f->mark,
			       changes[i].f->path);
	}
	putchar('\n');
	nchanges = 0;
}

/* One ordinary commit on `ref` with parent `parent`; returns its mark. */
static unsigned long
ordinary(const char *ref, unsigned long parent, enum owner who)
{
	unsigned long mark;
	size_t i, k = 1 + rnd(5);

	for (i = 0; i < k; i++)
		op_edit(who, 6, 8);
	if (chance(2, 9))
		op_add_text(who);
	if (chance(1, 33))
		op_delete_text(who);
	if (chance(1, 47))
		op_binary(who);
	mark = next_mark++;
	emit_header(ref, mark, NULL);
	printf("from :%lu\n", parent);
	emit_changes();
	return mark;
}

static unsigned long
merge(unsigned long main_tip, unsigned long topic_tip, long fork_at)
{
	unsigned long mark = next_mark++;
	size_t i;

	emit_header("refs/heads/main", mark, "merge of topic into main");
	printf("from :%lu\nmerge :%lu\n", main_tip, topic_tip);
	for (i = 0; i < ntouched; i++) {
		struct file *f = touched[i];

		if (f->alive)
			printf("M 100644 :%lu %s\n", f->mark, f->path);
		else if (f->born < fork_at)
			printf("D %s\n", f->path);
	}
	putchar('\n');
	for (i = 0; i < nfiles; i++)
		files[i]->owner = FREE;
	ntouched = 0;
	return mark;
}

static unsigned long
root_commit(void)
{
	unsigned long mark;
	size_t i;

	for (i = 0; i < INITIAL_TEXT; i++) {
		struct file *f = new_file(dirs[rnd(ndirs)], 0);

		fill_text(f, 10 + rnd(110));
		emit_text_blob(f);
	}
	mark = next_mark++;
	printf("commit refs/heads/main\nmark :%lu\n", mark);
	printf("author %s %ld +0000\n", authors[0], TIME_BASE);
	printf("committer %s %ld +0000\n", authors[0], TIME_BASE);
	printf("data 27\nchore: initial import tree\n\n");
	for (i = 0; i < nfiles; i++)
		printf("M 100644 :%lu %s\n", files[i]->mark, files[i]->path);
	putchar('\n');
	ncommit++;
	return mark;
}

static long
parse_arg(const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max)
		die("usage: gen COMMITS SEED CHECKPOINT");
	return v;
}

int
main(int argc, char **argv)
{
	static char obuf[1 << 20];
	long commits, checkpoint, next_fork, fork_at = 0, seen_cp = 0;
	unsigned long main_tip, topic_tip = 0, tip;
	uint64_t seed;
	size_t i, j, topic_left = 0, main_left = 0, merges = 0;
	double bytes = 0;
	char ref[64];

	if (argc != 4)
		die("usage: gen COMMITS SEED CHECKPOINT");
	commits = parse_arg(argv[1], 1, 10000000);
	seed = (uint64_t)parse_arg(argv[2], 0, 0x7fffffffL);
	checkpoint = parse_arg(argv[3], 1, 10000000);
	for (i = 0; i < 4; i++)
		rs[i] = splitmix(&seed);
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));

	for (i = 0; i < NELEM(tops); i++)
		make_dirs(tops[i], 1);
	for (i = 0; i < NELEM(bintops); i++)
		add_dir(&bindirs, &nbindirs, bintops[i]);

	main_tip = root_commit();
	next_fork = MERGE_GAP_MIN + (long)rnd(MERGE_GAP_SPAN);
	while (ncommit < commits) {
		if (topic_left || main_left) {
			/* inside a fork: interleave both sides */
			if (topic_left && (!main_left || chance(1, 2))) {
				topic_tip = ordinary("refs/heads/topic",
						     topic_tip, TOPIC_SIDE);
				topic_left--;
			} else {
				main_tip = ordinary("refs/heads/main",
						    main_tip, MAIN_SIDE);
				main_left--;
			}
			if (!topic_left && !main_left) {
				main_tip = merge(main_tip, topic_tip, fork_at);
				merges++;
				next_fork = ncommit + MERGE_GAP_MIN +
					    (long)rnd(MERGE_GAP_SPAN);
			}
		} else if (ncommit >= next_fork && commits - ncommit >= 8) {
			topic_left = 2 + rnd(3);
			main_left = 1 + rnd(2);
			topic_tip = main_tip;
			fork_at = ncommit;
			continue;
		} else {
			main_tip = ordinary("refs/heads/main", main_tip, FREE);
		}
		if (!seen_cp && ncommit >= checkpoint && !topic_left &&
		    !main_left) {
			printf("reset refs/heads/at-%ld\nfrom :%lu\n\n",
			       checkpoint, main_tip);
			seen_cp = ncommit;
		}
	}

	for (i = 0; i < nfiles; i++)
		if (files[i]->alive)
			bytes += (double)files[i]->len;
	fprintf(stderr, "gen: %ld commits (%zu merges), tip: %zu text + %zu "
		"binary files, %.1f MB; at-%ld: %ld commits\n", ncommit,
		merges, ntext_alive, nbin_alive, bytes / 1048576.0,
		checkpoint, seen_cp);

	tip = main_tip;
	for (i = 1; i <= EVERYDAY_REFS; i++) {
		snprintf(ref, sizeof(ref), "refs/heads/everyday-%zu", i);
		for (j = 0; j < EVERYDAY_LEN; j++) {
			unsigned long mark;

			op_edit(FREE, 3, 3);
			if (chance(1, 3))
				op_edit(FREE, 3, 3);
			mark = next_mark++;
			emit_header(ref, mark, NULL);
			printf("from :%lu\n", tip);
			emit_changes();
			tip = mark;
		}
	}
	printf("done\n");
	if (fflush(stdout) != 0 || ferror(stdout))
		die("cannot write the stream");
	return 0;
}
