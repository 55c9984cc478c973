#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "errors.h"
#include "fsutil.h"

#define MAGIC "pushgate-manifest 1\n"
#define WRITE_CHUNK (64 * 1024)

struct manifest {
	struct manifest_entry *e;
	size_t nr, alloc;
	size_t *slots;		/* open addressing: index + 1, 0 empty */
	size_t nr_slots;	/* a power of two, at least twice nr */
	char artifact[128];
};

static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

struct manifest *manifest_new(void)
{
	struct manifest *m = xcalloc(1, sizeof(*m));

	memcpy(m->artifact, "-", 2);
	return m;
}

void manifest_free(struct manifest *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nr; i++)
		free(m->e[i].path);
	free(m->e);
	free(m->slots);
	free(m);
}

static size_t *slot_of(const struct manifest *m, const char *path)
{
	size_t i;

	if (!m->nr_slots)
		return NULL;
	for (i = hash(path) & (m->nr_slots - 1); m->slots[i];
	     i = (i + 1) & (m->nr_slots - 1))
		if (!strcmp(m->e[m->slots[i] - 1].path, path))
			return &m->slots[i];
	return &m->slots[i];
}

static void grow_slots(struct manifest *m)
{
	size_t n = m->nr_slots ? m->nr_slots * 2 : 64, i;

	free(m->slots);
	m->slots = xcalloc(n, sizeof(*m->slots));
	m->nr_slots = n;
	for (i = 0; i < m->nr; i++)
		*slot_of(m, m->e[i].path) = i + 1;
}

size_t manifest_index(const struct manifest *m, const char *path)
{
	size_t *s = slot_of(m, path);

	return s && *s ? *s - 1 : (size_t)-1;
}

const struct manifest_entry *manifest_get(const struct manifest *m,
					  const char *path)
{
	size_t i = manifest_index(m, path);

	return i == (size_t)-1 ? NULL : &m->e[i];
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	return !n || (n == MANIFEST_ID_HEX &&
		      strspn(id, "0123456789abcdef") == n);
}

int manifest_add(struct manifest *m, const char *path, unsigned mode,
		 const char *id)
{
	struct manifest_entry *e;
	size_t *s;

	if (!valid_id(id))
		return error_set(ERR_INVALID, "bad content id '%.50s'", id);
	if ((s = slot_of(m, path)) && *s) {
		e = &m->e[*s - 1];
		e->mode = mode;
		memcpy(e->id, id, strlen(id) + 1);
		return 0;
	}
	if (m->nr >= MANIFEST_MAX_ENTRIES)
		return error_set(ERR_TOOBIG, "more than %d entries in a release",
				 MANIFEST_MAX_ENTRIES);
	if (m->nr == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 256;
		m->e = xreallocarray(m->e, m->alloc, sizeof(*m->e));
	}
	e = &m->e[m->nr++];
	e->path = xstrdup(path);
	e->mode = mode;
	memcpy(e->id, id, strlen(id) + 1);
	if (m->nr * 2 > m->nr_slots)
		grow_slots(m);
	else
		*slot_of(m, path) = m->nr;
	return 0;
}

size_t manifest_count(const struct manifest *m)
{
	return m->nr;
}

const struct manifest_entry *manifest_at(const struct manifest *m, size_t i)
{
	return i < m->nr ? &m->e[i] : NULL;
}

const char *manifest_artifact(const struct manifest *m)
{
	return m->artifact;
}

void manifest_set_artifact(struct manifest *m, const char *key)
{
	snprintf(m->artifact, sizeof(m->artifact), "%s",
		 key && *key && !strpbrk(key, " \n") ? key : "-");
}

bool manifest_entry_same(const struct manifest_entry *a,
			 const struct manifest_entry *b)
{
	return a->mode == b->mode && !strcmp(a->id, b->id);
}

/* Write `b` out when it is full enough, or at the end. */
static int flush(int fd, struct buf *b, bool all)
{
	int r = 0;

	if ((all || b->len >= WRITE_CHUNK) && b->len) {
		r = fsutil_write_all(fd, b->ptr, b->len);
		buf_reset(b);
	}
	return r;
}

int manifest_write(const struct manifest *m, const char *path)
{
	struct buf tmp = BUF_INIT, b = BUF_INIT;
	size_t i;
	int fd = -1, r;

	buf_addf(&tmp, "%s.tmp-%ld", path, (long)getpid());
	if ((r = buf_error(&tmp)) < 0)
		goto out;
	fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		  O_CLOEXEC, 0600);
	if (fd < 0) {
		r = error_set_errno(ERR_SYS, "cannot create '%s'", tmp.ptr);
		goto out;
	}
	buf_addf(&b, MAGIC "artifact %s\n", m->artifact);
	for (i = 0; i < m->nr && !r; i++) {
		const struct manifest_entry *e = &m->e[i];

		buf_addf(&b, "%o %s ", e->mode, e->id[0] ? e->id : "-");
		buf_add(&b, e->path, strlen(e->path) + 1);
		if ((r = buf_error(&b)) == 0)
			r = flush(fd, &b, false);
	}
	if (!r)
		r = flush(fd, &b, true);
	if (!r && fsync(fd) < 0)
		r = error_set_errno(ERR_SYS, "cannot write '%s'", tmp.ptr);
	if (close(fd) < 0 && !r)
		r = error_set_errno(ERR_SYS, "cannot write '%s'", tmp.ptr);
	fd = -1;
	if (!r && rename(tmp.ptr, path) < 0)
		r = error_set_errno(ERR_SYS, "cannot rename to '%s'", path);
	if (r)
		unlink(tmp.ptr);
out:
	if (fd >= 0)
		close(fd);
	buf_release(&tmp);
	buf_release(&b);
	return r;
}

/* One record "MODE ID PATH" (NUL already cut off). */
static int parse_record(struct manifest *m, char *rec)
{
	char *sp1 = strchr(rec, ' '), *sp2, *end;
	unsigned long mode;

	if (!sp1 || !(sp2 = strchr(sp1 + 1, ' ')) || !sp2[1])
		return ERR_INVALID;
	*sp1 = *sp2 = '\0';
	errno = 0;
	mode = strtoul(rec, &end, 8);
	if (errno || *end || end == rec || mode > 0177777)
		return ERR_INVALID;
	return manifest_add(m, sp2 + 1, (unsigned)mode,
			    strcmp(sp1 + 1, "-") ? sp1 + 1 : "");
}

int manifest_read(struct manifest **out, const char *path)
{
	struct manifest *m = NULL;
	char chunk[WRITE_CHUNK];
	struct buf rec;
	int fd, r = 0, line = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return error_set_errno(errno == ENOENT ? ERR_NOTFOUND : ERR_SYS,
				       "cannot read '%s'", path);
	buf_init(&rec, 2 * 4096 + 128);
	m = manifest_new();
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk)), i;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = error_set_errno(ERR_SYS, "cannot read '%s'", path);
			break;
		}
		if (!n)
			break;
		for (i = 0; i < n && !r; i++) {
			char c = chunk[i];
			char end = line < 2 ? '\n' : '\0';

			if (c != end) {
				if (buf_addch(&rec, c) < 0)
					r = ERR_INVALID;
				continue;
			}
			if (line == 0 && strcmp(rec.ptr, "pushgate-manifest 1"))
				r = ERR_INVALID;
			else if (line == 1 && strncmp(rec.ptr, "artifact ", 9))
				r = ERR_INVALID;
			else if (line == 1)
				manifest_set_artifact(m, rec.ptr + 9);
			else if (line > 1 && (r = parse_record(m, rec.ptr)) ==
				 ERR_TOOBIG)
				break;
			line += line < 2;
			buf_reset(&rec);
		}
		if (r)
			break;
	}
	if (!r && (rec.len || line < 2))
		r = ERR_INVALID;
	close(fd);
	buf_release(&rec);
	if (r) {
		manifest_free(m);
		if (r == ERR_INVALID)
			return error_set(r, "'%s' is not a manifest", path);
		return r;
	}
	*out = m;
	return 0;
}
