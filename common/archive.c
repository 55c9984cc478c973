#include "archive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errors.h"
#include "fsutil.h"
#include "sink.h"

/* The largest size the 11 octal digits of a ustar header hold. */
#define ARCHIVE_USTAR_MAX_SIZE 077777777777ULL

void archive_init(struct archive *a, archive_write_fn write, void *payload,
		  uint64_t mtime)
{
	memset(a, 0, sizeof(*a));
	a->write = write;
	a->payload = payload;
	a->mtime = mtime;
}

void archive_release(struct archive *a)
{
	size_t i;

	for (i = 0; i < a->links_alloc; i++)
		free(a->links[i]);
	free(a->links);
	free(a->out);
	a->links = NULL;
	a->out = NULL;
	a->links_nr = a->links_alloc = 0;
	a->out_len = 0;
}

/* FNV-1a over the first `len` bytes of `s`. */
static size_t hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static bool link_has(const struct archive *a, const char *s, size_t len)
{
	size_t i;

	if (!a->links_nr)
		return false;
	for (i = hash(s, len) & (a->links_alloc - 1); a->links[i];
	     i = (i + 1) & (a->links_alloc - 1))
		if (!strncmp(a->links[i], s, len) && !a->links[i][len])
			return true;
	return false;
}

static void link_insert(char **slots, size_t alloc, char *s)
{
	size_t i = hash(s, strlen(s)) & (alloc - 1);

	while (slots[i])
		i = (i + 1) & (alloc - 1);
	slots[i] = s;
}

static int link_add(struct archive *a, const char *path)
{
	size_t i;

	if (link_has(a, path, strlen(path)))
		return 0;
	if (a->links_nr >= ARCHIVE_MAX_SYMLINKS)
		return error_set(ERR_TOOBIG, "more than %d symlinks",
				 ARCHIVE_MAX_SYMLINKS);
	if (2 * (a->links_nr + 1) > a->links_alloc) {
		size_t n = a->links_alloc ? a->links_alloc * 2 : 64;
		char **slots = xcalloc(n, sizeof(*slots));

		for (i = 0; i < a->links_alloc; i++)
			if (a->links[i])
				link_insert(slots, n, a->links[i]);
		free(a->links);
		a->links = slots;
		a->links_alloc = n;
	}
	link_insert(a->links, a->links_alloc, xstrdup(path));
	a->links_nr++;
	return 0;
}

bool archive_is_symlink(const struct archive *a, const char *path)
{
	return link_has(a, path, strlen(path));
}

int archive_check_name(const struct archive *a, const char *path)
{
	const char *slash;
	int r;

	if ((r = fsutil_check_relpath(path)) < 0)
		return r;
	for (slash = strchr(path, '/'); a && slash;
	     slash = strchr(slash + 1, '/')) {
		size_t i = (size_t)(slash - path);

		if (link_has(a, path, i))
			return error_set(ERR_INVALID,
					 "entry '%.200s' would be written through the symlink '%.*s'",
					 path, (int)(i > 200 ? 200 : i), path);
	}
	return 0;
}

static int flush(struct archive *a)
{
	int r;

	if (!a->out_len)
		return 0;
	if ((r = a->write(a->out, a->out_len, a->payload)) < 0)
		return r;
	a->bytes += a->out_len;
	a->out_len = 0;
	return 0;
}

static int emit(struct archive *a, const void *data, size_t len)
{
	const unsigned char *p = data;
	int r;

	if (!a->out)
		a->out = xmalloc(ARCHIVE_BUFSZ);
	while (len) {
		size_t n = ARCHIVE_BUFSZ - a->out_len;

		if (n > len)
			n = len;
		memcpy(a->out + a->out_len, p, n);
		a->out_len += n;
		p += n;
		len -= n;
		if (a->out_len == ARCHIVE_BUFSZ && (r = flush(a)) < 0)
			return r;
	}
	return 0;
}

static int pad(struct archive *a, uint64_t size)
{
	static const unsigned char zeros[ARCHIVE_BLOCK];
	size_t rest = (size_t)(size % ARCHIVE_BLOCK);

	return rest ? emit(a, zeros, ARCHIVE_BLOCK - rest) : 0;
}

/* Close the previous file entry: all its data given, padding written. */
static int end_file(struct archive *a)
{
	int r;

	if (a->file_left)
		return error_set(ERR_INVALID,
				 "file entry ended %llu bytes short",
				 (unsigned long long)a->file_left);
	if (a->file_size && (r = pad(a, a->file_size)) < 0)
		return r;
	a->file_size = 0;
	return 0;
}

static void octal(char *field, size_t width, uint64_t v)
{
	/* width includes the terminating NUL */
	snprintf(field, width, "%0*llo", (int)(width - 1),
		 (unsigned long long)v);
}

static int header(struct archive *a, const char *name, char type,
		  unsigned mode, uint64_t size, const char *link)
{
	unsigned char h[ARCHIVE_BLOCK];
	unsigned sum = 0;
	size_t i;

	memset(h, 0, sizeof(h));
	memcpy(h, name, strnlen(name, 100));
	octal((char *)h + 100, 8, mode & 07777);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, a->mtime);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	if (link)
		memcpy(h + 157, link, strnlen(link, 100));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
	return emit(a, h, sizeof(h));
}

/* One pax record: "LEN key=value\n", LEN counting itself. */
static int pax_record(struct buf *b, const char *key, const char *value)
{
	size_t body = 1 + strlen(key) + 1 + strlen(value) + 1;
	size_t len = body + 1, digits;
	char tmp[32];

	for (;;) {
		digits = (size_t)snprintf(tmp, sizeof(tmp), "%zu", len);
		if (body + digits == len)
			break;
		len = body + digits;
	}
	return buf_addf(b, "%zu %s=%s\n", len, key, value);
}

/* Entry header, preceded by a pax header when a name does not fit. */
static int entry(struct archive *a, const char *path, char type,
		 unsigned mode, uint64_t size, const char *link)
{
	struct buf pax = BUF_INIT;
	int r;

	if ((r = end_file(a)) < 0 || (r = archive_check_name(a, path)) < 0)
		return r;
	buf_init(&pax, 2 * (ARCHIVE_MAX_PATH + ARCHIVE_MAX_LINK) + 64);
	if (strlen(path) >= 100)
		pax_record(&pax, "path", path);
	if (link && strlen(link) >= 100)
		pax_record(&pax, "linkpath", link);
	if (size > ARCHIVE_USTAR_MAX_SIZE) {
		char num[32];

		snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
		pax_record(&pax, "size", num);
	}
	if (pax.len) {
		if ((r = header(a, "././@PaxHeader", 'x', 0644, pax.len,
				NULL)) < 0 ||
		    (r = emit(a, pax.ptr, pax.len)) < 0 ||
		    (r = pad(a, pax.len)) < 0)
			goto out;
	}
	r = header(a, path, type, mode,
		   size > ARCHIVE_USTAR_MAX_SIZE ? 0 : size, link);
out:
	buf_release(&pax);
	return r;
}

int archive_add_dir(struct archive *a, const char *path, unsigned mode)
{
	return entry(a, path, '5', mode, 0, NULL);
}

int archive_add_file(struct archive *a, const char *path, unsigned mode,
		     uint64_t size)
{
	int r;

	if ((r = entry(a, path, '0', mode, size, NULL)) < 0)
		return r;
	a->file_left = size;
	a->file_size = size;
	return 0;
}

int archive_add_data(struct archive *a, const void *data, size_t len)
{
	if (len > a->file_left)
		return error_set(ERR_INVALID,
				 "file entry got more data than its size");
	a->file_left -= len;
	return emit(a, data, len);
}

int archive_add_symlink(struct archive *a, const char *path,
			const char *target)
{
	size_t len = strlen(target);
	int r;

	if (!len || len > ARCHIVE_MAX_LINK)
		return error_set(ERR_INVALID, "symlink '%.200s' has a bad target",
				 path);
	if ((r = entry(a, path, '2', 0777, 0, target)) < 0)
		return r;
	return link_add(a, path);
}

int archive_finish(struct archive *a)
{
	static const unsigned char zeros[2 * ARCHIVE_BLOCK];
	int r;

	if ((r = end_file(a)) < 0 || (r = emit(a, zeros, sizeof(zeros))) < 0)
		return r;
	return flush(a);
}

static int as_dir(void *self, const char *path, unsigned mode)
{
	return archive_add_dir(self, path, mode);
}

static int as_file(void *self, const char *path, unsigned mode,
		   uint64_t size)
{
	return archive_add_file(self, path, mode, size);
}

static int as_data(void *self, const void *data, size_t len)
{
	return archive_add_data(self, data, len);
}

static int as_symlink(void *self, const char *path, const char *target)
{
	return archive_add_symlink(self, path, target);
}

static const struct sink_ops archive_sink_ops = {
	as_dir, NULL, as_file, as_data, as_symlink
};

void archive_sink(struct sink *out, struct archive *a)
{
	sink_init(out, &archive_sink_ops, a);
}
