#include "knownhosts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh2.h>

#include "buf.h"
#include "errors.h"
#include "fsutil.h"

/*
 * libssh2 parses the file, hashed host names included. It allocates a
 * known-hosts collection through a session; this module uses one of its
 * own, never connected, so that it needs nothing from the caller's.
 */
struct knownhosts {
	LIBSSH2_SESSION *session;	/* allocator and error text only */
	LIBSSH2_KNOWNHOSTS *known;
	char *path;		/* NULL: no file */
	char *host;
	unsigned port;
	char *label;		/* "host:port", for messages */
	struct buf text;	/* the file as read, for knownhosts_add() */
};

/* Host key types we accept, in the order we prefer them (OpenSSH's). */
static const struct keytype {
	int mask;		/* LIBSSH2_KNOWNHOST_KEY_* */
	const char *name;	/* as the key blob names it */
	/* Host key algorithms for this key type, best first. */
	const char *algorithms[4];
} keytypes[] = {
	{ LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519", { "ssh-ed25519" } },
	{ LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256",
	  { "ecdsa-sha2-nistp256" } },
	{ LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384",
	  { "ecdsa-sha2-nistp384" } },
	{ LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521",
	  { "ecdsa-sha2-nistp521" } },
	{ LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa",
	  { "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa" } },
};

#define NKEYTYPES (sizeof(keytypes) / sizeof(keytypes[0]))

/* The longest key type name a blob may give (see key_name()). */
#define KEY_NAME_MAX 64

/* "WHAT 'LABEL' failed: libssh2's message". */
static int lib_error(const struct knownhosts *kh, const char *what)
{
	char *msg = NULL;

	libssh2_session_last_error(kh->session, &msg, NULL, 0);
	return error_set(ERR_GENERIC, "%s '%s' failed: %s", what, kh->label,
			 msg && *msg ? msg : "unknown libssh2 error");
}

/*
 * The name at the start of a key blob (a 32-bit length, then printable
 * ASCII), into `out`; false if there is none that fits.
 */
static bool key_name(char *out, size_t size, const void *key, size_t len)
{
	const unsigned char *blob = key;
	size_t n = 0, i;

	if (len >= 4)
		n = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 |
		    (size_t)blob[2] << 8 | blob[3];
	if (!n || n >= size || n > len - 4)
		return false;
	for (i = 0; i < n; i++) {
		if (blob[4 + i] <= ' ' || blob[4 + i] > '~')
			return false;
		out[i] = (char)blob[4 + i];
	}
	out[n] = '\0';
	return true;
}

static const struct keytype *keytype_of(const void *key, size_t len)
{
	char name[KEY_NAME_MAX];
	size_t i;

	if (!key_name(name, sizeof(name), key, len))
		return NULL;
	for (i = 0; i < NKEYTYPES; i++)
		if (!strcmp(keytypes[i].name, name))
			return &keytypes[i];
	return NULL;
}

void knownhosts_key_type(char *out, size_t size, const void *key,
			 size_t len)
{
	if (!key_name(out, size, key, len))
		snprintf(out, size, "unknown");
}

bool knownhosts_key_supported(const void *key, size_t len)
{
	return keytype_of(key, len) != NULL;
}

void knownhosts_fingerprint(char *out, size_t size,
			    const unsigned char sha256[32])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789+/";
	char text[48];		/* 43 characters for 32 bytes */
	size_t i, n = 0;

	for (i = 0; i < 32; i += 3) {
		uint32_t v = (uint32_t)sha256[i] << 16;

		if (i + 1 < 32)
			v |= (uint32_t)sha256[i + 1] << 8;
		if (i + 2 < 32)
			v |= sha256[i + 2];
		text[n++] = b64[(v >> 18) & 63];
		text[n++] = b64[(v >> 12) & 63];
		if (i + 1 < 32)
			text[n++] = b64[(v >> 6) & 63];
		if (i + 2 < 32)
			text[n++] = b64[v & 63];
	}
	text[n] = '\0';
	snprintf(out, size, "SHA256:%s", text);
}

/* A new, empty collection of known hosts in kh->known. */
static int new_collection(struct knownhosts *kh)
{
	if (!kh->session)
		kh->session = libssh2_session_init_ex(NULL, NULL, NULL, NULL);
	if (kh->session)
		kh->known = libssh2_knownhost_init(kh->session);
	if (!kh->known)
		return error_set(ERR_GENERIC, "cannot allocate known hosts");
	return 0;
}

/* Read kh->path into kh->text; a missing file is an empty one. */
static int read_file(struct knownhosts *kh)
{
	const char *path = kh->path;
	struct stat st;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT)
			return error_set_errno(ERR_SYS, "cannot open '%s'",
					       path);
		return 0;
	}
	if (fstat(fd, &st) < 0) {
		r = error_set_errno(ERR_SYS, "cannot stat '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = error_set(ERR_INVALID, "'%s' is not a regular file", path);
		goto out;
	}
	if ((r = buf_read_fd(&kh->text, fd)) < 0) {
		char why[ERROR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", error_last());
		r = error_set(r, "cannot read '%s': %s", path, why);
	}
out:
	close(fd);
	return r;
}

int knownhosts_load(struct knownhosts **out, const char *path,
		    const char *host, unsigned port, const char *label)
{
	struct knownhosts *kh;
	struct buf line = BUF_INIT;
	const char *p, *end, *nl;
	int r;

	*out = NULL;
	kh = xcalloc(1, sizeof(*kh));
	kh->path = path ? xstrdup(path) : NULL;
	kh->host = xstrdup(host);
	kh->port = port;
	kh->label = xstrdup(label);
	buf_init(&kh->text, KNOWNHOSTS_FILE_MAX);
	buf_init(&line, KNOWNHOSTS_LINE_MAX);
	if ((r = new_collection(kh)) < 0)
		goto out;
	if (!path)
		goto out;
	if ((r = read_file(kh)) < 0)
		goto out;
	end = kh->text.ptr + kh->text.len;
	for (p = kh->text.ptr; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		buf_reset(&line);
		if (memchr(p, '\0', (size_t)(nl - p)) ||
		    buf_add(&line, p, (size_t)(nl - p)) < 0 ||
		    buf_addch(&line, '\n') < 0)
			continue;
		/* Skipped if libssh2 cannot parse it (see above). */
		libssh2_knownhost_readline(kh->known, line.ptr, line.len,
					   LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	}
out:
	buf_release(&line);
	if (r < 0) {
		knownhosts_free(kh);
		return r;
	}
	*out = kh;
	return 0;
}

/*
 * libssh2 frees a collection through its session, so the collection
 * goes before the session.
 */
void knownhosts_free(struct knownhosts *kh)
{
	if (!kh)
		return;
	if (kh->known)
		libssh2_knownhost_free(kh->known);
	if (kh->session)
		libssh2_session_free(kh->session);
	buf_release(&kh->text);
	free(kh->label);
	free(kh->host);
	free(kh->path);
	free(kh);
}

static bool supported(const char *const *algs, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(algs[i], name))
			return true;
	return false;
}

int knownhosts_algorithms(struct buf *out, const struct knownhosts *kh,
			  const char *const *algs, size_t nalgs)
{
	const char *const *name;
	bool known[NKEYTYPES];
	size_t i, start = out->len;
	int pass, rc, r;

	for (i = 0; i < NKEYTYPES; i++) {
		/* A dummy key: MISMATCH means an entry of this type exists. */
		rc = libssh2_knownhost_checkp(kh->known, kh->host,
					      (int)kh->port, "x", 1,
					      LIBSSH2_KNOWNHOST_TYPE_PLAIN |
					      LIBSSH2_KNOWNHOST_KEYENC_RAW |
					      keytypes[i].mask, NULL);
		known[i] = rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
	}
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < NKEYTYPES; i++) {
			if (known[i] != !pass)
				continue;
			for (name = keytypes[i].algorithms; *name; name++) {
				if (!supported(algs, nalgs, *name))
					continue;
				if (out->len > start &&
				    (r = buf_addch(out, ',')) < 0)
					return r;
				if ((r = buf_addstr(out, *name)) < 0)
					return r;
			}
		}
	}
	if (out->len == start)
		return error_set(ERR_GENERIC,
				 "no usable host key type for '%s'", kh->label);
	return 0;
}

int knownhosts_check(enum knownhosts_match *out, const struct knownhosts *kh,
		     const void *key, size_t len)
{
	const struct keytype *kt = keytype_of(key, len);
	int rc;

	*out = KNOWNHOSTS_NOTFOUND;
	if (!kt)
		BUG("knownhosts_check: unsupported key type");
	rc = libssh2_knownhost_checkp(kh->known, kh->host, (int)kh->port,
				      key, len, LIBSSH2_KNOWNHOST_TYPE_PLAIN |
				      LIBSSH2_KNOWNHOST_KEYENC_RAW | kt->mask,
				      NULL);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		*out = KNOWNHOSTS_MATCH;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		*out = KNOWNHOSTS_CHANGED;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		break;
	default:
		return lib_error(kh, "checking the host key of");
	}
	return 0;
}

/*
 * Does the known_hosts line `line` hold another key of the type of `key`
 * (whose libssh2 mask is `mask`) for exactly `name`? (Such a line is
 * replaced by knownhosts_add().)
 */
static bool line_has_other_key(const struct knownhosts *kh, const char *line,
			       size_t len, const char *name,
			       const void *key, size_t key_len, int mask)
{
	LIBSSH2_KNOWNHOSTS *one;
	struct buf tmp = BUF_INIT;
	bool other = false;

	buf_init(&tmp, KNOWNHOSTS_LINE_MAX);
	one = libssh2_knownhost_init(kh->session);
	if (one && !memchr(line, '\0', len) && buf_add(&tmp, line, len) >= 0 &&
	    buf_addch(&tmp, '\n') >= 0 &&
	    !libssh2_knownhost_readline(one, tmp.ptr, tmp.len,
					LIBSSH2_KNOWNHOST_FILE_OPENSSH))
		/* check(), unlike checkp(), looks at this name only. */
		other = libssh2_knownhost_check(one, name, key, key_len,
						LIBSSH2_KNOWNHOST_TYPE_PLAIN |
						LIBSSH2_KNOWNHOST_KEYENC_RAW |
						mask, NULL) ==
			LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
	if (one)
		libssh2_knownhost_free(one);
	buf_release(&tmp);
	return other;
}

/* Create the directory of `path` (mode 0700) if it is missing. */
static int make_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int r = 0;

	if (!slash || slash == path)
		return 0;
	dir = xstrndup(path, (size_t)(slash - path));
	if (!fsutil_exists(dir))
		r = fsutil_mkdir_p(dir, 0700);
	free(dir);
	return r;
}

int knownhosts_add(struct knownhosts *kh, const void *key, size_t key_len)
{
	const struct keytype *kt = keytype_of(key, key_len);
	struct buf out = BUF_INIT, name = BUF_INIT;
	LIBSSH2_KNOWNHOSTS *one = NULL;
	struct libssh2_knownhost *entry = NULL;
	const char *p, *end, *nl;
	char line[KNOWNHOSTS_LINE_MAX];
	size_t len = 0;
	int rc, r;

	if (!kt)
		BUG("knownhosts_add: unsupported key type");
	if (!kh->path)
		BUG("knownhosts_add: no file");
	buf_init(&out, KNOWNHOSTS_FILE_MAX + KNOWNHOSTS_LINE_MAX);
	if (kh->port == 22)
		r = buf_addstr(&name, kh->host);
	else
		r = buf_addf(&name, "[%s]:%u", kh->host, kh->port);
	if (r < 0)
		goto out;
	end = kh->text.ptr + kh->text.len;
	for (p = kh->text.ptr; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (line_has_other_key(kh, p, (size_t)(nl - p), name.ptr,
				       key, key_len, kt->mask))
			continue;
		if ((r = buf_add(&out, p, (size_t)(nl - p))) < 0 ||
		    (r = buf_addch(&out, '\n')) < 0)
			goto out;
	}
	one = libssh2_knownhost_init(kh->session);
	if (!one) {
		r = error_set(ERR_GENERIC, "cannot allocate known hosts");
		goto out;
	}
	rc = libssh2_knownhost_addc(one, name.ptr, NULL, key, key_len, NULL,
				    0, LIBSSH2_KNOWNHOST_TYPE_PLAIN |
				    LIBSSH2_KNOWNHOST_KEYENC_RAW | kt->mask,
				    &entry);
	if (!rc)
		rc = libssh2_knownhost_writeline(one, entry, line,
				sizeof(line), &len,
				LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	if (rc) {
		r = lib_error(kh, "adding the host key of");
		goto out;
	}
	if ((r = buf_add(&out, line, len)) < 0 ||
	    (r = make_parent(kh->path)) < 0 ||
	    (r = fsutil_write_file_atomic(kh->path, out.ptr, out.len,
					  0600)) < 0)
		goto out;
out:
	if (one)
		libssh2_knownhost_free(one);
	buf_release(&name);
	buf_release(&out);
	return r;
}
