/*
 * fuzz_tar - libFuzzer target for release entries and their tar
 * encoding (archive.c), which carry the file names and symlink targets
 * of pushed commits and builds to the deploy hosts. The input is a
 * program of entries: directories, files (their bytes given whole or in
 * pieces), symlinks, each with any name and mode, and names of any
 * length (a short run of bytes repeated, for the pax records of long
 * names); a file of more than 8 GiB may end it (its size goes into a pax
 * record; its data is never all given).
 *
 * Whether each entry is accepted is foretold by rules written here
 * (not absolute, no empty, "." or ".." component, at most 4096 bytes, no
 * proper prefix naming a symlink written before, a symlink target of 1
 * to 4096 bytes) and must match. The stream is then read back by a small
 * tar reader written here: every header's checksum, magic and fields,
 * the pax records (their lengths; path, linkpath), the padding, the end
 * marker, and that it holds exactly the accepted entries with their
 * names, modes, sizes, targets and bytes. Built and run by
 * tests/fuzz/run.sh (make fuzz), and by make check through
 * tests/fuzz/driver.c.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "buf.h"
#include "errors.h"
#include "fuzz.h"
#include "sink.h"

#define MAX_ENTRIES 64
#define MAX_NAME 8300	/* past ARCHIVE_MAX_PATH and ARCHIVE_MAX_LINK */

struct entry {
	char type;		/* '5', '0', '2' as in the tar header */
	char *name;
	unsigned mode;
	char *link;
	const uint8_t *data;	/* borrowed from the input */
	size_t size;
};

struct model {
	struct entry e[MAX_ENTRIES];
	size_t nr;
	const char *links[MAX_ENTRIES];	/* the symlinks written so far */
	size_t nr_links;
};

static bool is_link(const struct model *m, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < m->nr_links; i++)
		if (strlen(m->links[i]) == len && !memcmp(m->links[i], s, len))
			return true;
	return false;
}

/* The rules of archive.h, read the plain way. */
static bool name_ok(const struct model *m, const char *name)
{
	size_t len = strlen(name), start = 0, i;

	if (!len || len > ARCHIVE_MAX_PATH || name[0] == '/')
		return false;
	for (i = 0; i <= len; i++) {
		if (name[i] && name[i] != '/')
			continue;
		if (i == start || (i - start == 1 && name[start] == '.') ||
		    (i - start == 2 && name[start] == '.' &&
		     name[start + 1] == '.'))
			return false;
		if (name[i] == '/' && is_link(m, name, i))
			return false;
		start = i + 1;
	}
	return true;
}

/*
 * A name or target: a length byte; under 200, that many bytes; from 200
 * on, the next byte times 40 bytes made by repeating up to 55 bytes.
 * Cut at a NUL, as a C string is.
 */
static char *read_name(struct fuzz_in *in)
{
	unsigned n = fuzz_byte(in);
	char *s = malloc(MAX_NAME + 1);
	const uint8_t *p;
	size_t len, want, i;

	if (!s)
		abort();
	if (n < 200) {
		p = fuzz_bytes(in, n, &len);
		memcpy(s, p, len);
	} else {
		want = fuzz_byte(in) * 40u;
		p = fuzz_bytes(in, n - 200, &len);
		if (!len)
			p = (const uint8_t *)"a", len = 1;
		for (i = 0; i < want && i < MAX_NAME; i++)
			s[i] = (char)p[i % len];
		len = i;
	}
	s[len] = '\0';
	return s;
}

static int collect(const void *data, size_t len, void *payload)
{
	return buf_add(payload, data, len);
}

/* The reader of what was written. */
struct tar {
	const unsigned char *p, *end;
};

static const unsigned char *block(struct tar *t)
{
	const unsigned char *b = t->p;

	FUZZ_CHECK(t->end - t->p >= ARCHIVE_BLOCK);
	t->p += ARCHIVE_BLOCK;
	return b;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* An octal field of `width` bytes: digits then a NUL (as written). */
static uint64_t octal(const unsigned char *f, size_t width)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < width - 1; i++) {
		FUZZ_CHECK(f[i] >= '0' && f[i] <= '7');
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	FUZZ_CHECK(f[width - 1] == '\0');
	return v;
}

/* A NUL-padded text field: its length (at most width). */
static size_t field_len(const unsigned char *f, size_t width)
{
	size_t n = 0;

	while (n < width && f[n])
		n++;
	FUZZ_CHECK(all_zero(f + n, width - n));
	return n;
}

static void check_header(const unsigned char *h)
{
	unsigned sum = 0, i;

	for (i = 0; i < ARCHIVE_BLOCK; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	FUZZ_CHECK(h[154] == '\0' && h[155] == ' ');
	FUZZ_CHECK(octal(h + 148, 7) == sum);
	FUZZ_CHECK(!memcmp(h + 257, "ustar\0" "00", 8));
}

/* The pax records of an 'x' entry into path / linkpath. */
static void read_pax(struct tar *t, uint64_t size, struct buf *path,
		     struct buf *link)
{
	const unsigned char *p = t->p, *end;

	FUZZ_CHECK((uint64_t)(t->end - t->p) >= size);
	end = p + size;
	while (p < end) {
		const unsigned char *rec = p, *eq;
		size_t len = 0;

		FUZZ_CHECK(*p >= '1' && *p <= '9');
		while (p < end && *p >= '0' && *p <= '9')
			len = len * 10 + (size_t)(*p++ - '0');
		FUZZ_CHECK(p < end && *p++ == ' ');
		FUZZ_CHECK(len <= (size_t)(end - rec) &&
			   len > (size_t)(p - rec));
		FUZZ_CHECK(rec[len - 1] == '\n');
		eq = memchr(p, '=', len - (size_t)(p - rec));
		FUZZ_CHECK(eq);
		if ((size_t)(eq - p) == 4 && !memcmp(p, "path", 4))
			buf_add(path, eq + 1, (size_t)(rec + len - 1 - eq - 1));
		else if ((size_t)(eq - p) == 8 && !memcmp(p, "linkpath", 8))
			buf_add(link, eq + 1, (size_t)(rec + len - 1 - eq - 1));
		else
			FUZZ_CHECK(!"an unexpected pax record");
		p = rec + len;
	}
	t->p += size;
	if (size % ARCHIVE_BLOCK) {
		size_t pad = ARCHIVE_BLOCK - size % ARCHIVE_BLOCK;

		FUZZ_CHECK((size_t)(t->end - t->p) >= pad &&
			   all_zero(t->p, pad));
		t->p += pad;
	}
}

/* One entry read back against the one expected. */
static void read_entry(struct tar *t, const struct entry *want)
{
	struct buf path = BUF_INIT, link = BUF_INIT;
	const unsigned char *h = block(t);
	size_t n, name_len = strlen(want->name);
	uint64_t size;

	check_header(h);
	if (h[156] == 'x') {
		FUZZ_CHECK(!memcmp(h, "././@PaxHeader", 15));
		read_pax(t, octal(h + 124, 12), &path, &link);
		h = block(t);
		check_header(h);
	}
	FUZZ_CHECK(h[156] == want->type);
	/* the header holds what fits; the pax record, if any, the rest */
	n = field_len(h, 100);
	FUZZ_CHECK(n == (name_len < 100 ? name_len : 100));
	FUZZ_CHECK(!memcmp(h, want->name, n));
	FUZZ_CHECK(name_len >= 100 ?
		   path.len == name_len &&
		   !memcmp(path.ptr, want->name, name_len) : !path.len);
	FUZZ_CHECK(octal(h + 100, 8) == want->mode);
	size = octal(h + 124, 12);
	FUZZ_CHECK(size == want->size);
	if (want->type == '2') {
		size_t link_len = strlen(want->link);

		n = field_len(h + 157, 100);
		FUZZ_CHECK(n == (link_len < 100 ? link_len : 100));
		FUZZ_CHECK(!memcmp(h + 157, want->link, n));
		FUZZ_CHECK(link_len >= 100 ?
			   link.len == link_len &&
			   !memcmp(link.ptr, want->link, link_len) :
			   !link.len);
	} else {
		FUZZ_CHECK(!link.len && all_zero(h + 157, 100));
	}
	if (size) {
		size_t padded = (size + ARCHIVE_BLOCK - 1) / ARCHIVE_BLOCK *
				ARCHIVE_BLOCK;

		FUZZ_CHECK((size_t)(t->end - t->p) >= padded);
		FUZZ_CHECK(!memcmp(t->p, want->data, size));
		FUZZ_CHECK(all_zero(t->p + size, padded - size));
		t->p += padded;
	}
	buf_release(&path);
	buf_release(&link);
}

static void check_stream(const struct buf *out, const struct model *m)
{
	struct tar t;
	size_t i;

	t.p = (const unsigned char *)out->ptr;
	t.end = t.p + out->len;
	for (i = 0; i < m->nr; i++)
		read_entry(&t, &m->e[i]);
	FUZZ_CHECK(all_zero(block(&t), ARCHIVE_BLOCK));
	FUZZ_CHECK(all_zero(block(&t), ARCHIVE_BLOCK));
	FUZZ_CHECK(t.p == t.end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT;
	struct archive a;
	struct sink sink;
	struct model m;
	struct fuzz_in in;
	bool huge = false;
	size_t i;

	if (size > 8192)
		return 0;
	memset(&m, 0, sizeof(m));
	buf_init(&out, 64 << 20);
	archive_init(&a, collect, &out, 1700000000);
	archive_sink(&sink, &a);
	fuzz_in_init(&in, data, size);
	while (!fuzz_in_empty(&in) && m.nr < MAX_ENTRIES && !huge) {
		unsigned op = fuzz_byte(&in) % 5;
		unsigned mode = fuzz_byte(&in);
		char *name, *link = NULL;
		const uint8_t *bytes = NULL;
		size_t len = 0, half;
		bool ok;
		int r;

		mode |= fuzz_byte(&in) << 8;
		name = read_name(&in);
		ok = name_ok(&m, name);
		switch (op) {
		case 0:
			r = sink_dir(&sink, name, mode);
			break;
		case 1:
			bytes = fuzz_bytes(&in, fuzz_byte(&in), &len);
			r = sink_file_data(&sink, name, mode, bytes, len);
			break;
		case 2:
			link = read_name(&in);
			ok = ok && *link && strlen(link) <= ARCHIVE_MAX_LINK;
			r = sink_symlink(&sink, name, link);
			if (!r)
				m.links[m.nr_links++] = name;
			break;
		case 3:
			bytes = fuzz_bytes(&in, fuzz_byte(&in), &len);
			half = len ? fuzz_byte(&in) % (len + 1) : 0;
			if (!(r = archive_add_file(&a, name, mode, len))) {
				FUZZ_CHECK(!archive_add_data(&a, bytes, half));
				FUZZ_CHECK(!archive_add_data(&a, bytes + half,
							     len - half));
				FUZZ_CHECK(archive_add_data(&a, "x", 1) < 0);
			}
			break;
		default:
			/* past the ustar size field: a pax "size" record */
			r = archive_add_file(&a, name, mode,
					     (1ULL << 33) + fuzz_byte(&in));
			if (!r) {
				FUZZ_CHECK(!archive_add_data(&a, "abc", 3));
				huge = true;
			}
			break;
		}
		FUZZ_CHECK(ok == !r);
		if (!r && !huge) {
			struct entry *e = &m.e[m.nr++];

			e->type = op == 0 ? '5' : op == 2 ? '2' : '0';
			e->name = name;
			e->mode = mode & 07777;
			e->link = link;
			e->data = bytes;
			e->size = len;
			if (op == 2)
				e->mode = 0777;
		} else {
			free(name);
			free(link);
		}
		error_clear();
	}
	for (i = 0; i < m.nr; i++)
		FUZZ_CHECK(archive_is_symlink(&a, m.e[i].name) ==
			   is_link(&m, m.e[i].name, strlen(m.e[i].name)));
	if (huge) {
		/* the file is owed its data: the stream cannot end */
		FUZZ_CHECK(archive_finish(&a) < 0);
	} else {
		FUZZ_CHECK(!archive_finish(&a));
		FUZZ_CHECK(out.len == a.bytes);
		check_stream(&out, &m);
	}
	for (i = 0; i < m.nr; i++) {
		free(m.e[i].name);
		free(m.e[i].link);
	}
	archive_release(&a);
	buf_release(&out);
	error_clear();
	return 0;
}
