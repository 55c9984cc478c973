#include "sshsig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "buf.h"
#include "confval.h"
#include "errors.h"
#include "knownhosts.h"
#include "strvec.h"
#include "timeutil.h"

/*
 * PROTOCOL.sshsig: the armor, the magic that starts both the signature
 * blob and the bytes that are signed, and the only version there is.
 */
#define ARMOR_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define ARMOR_END "-----END SSH SIGNATURE-----"
#define MAGIC "SSHSIG"
#define MAGIC_LEN 6
#define SIG_VERSION 1

/* RSA moduli we accept, in bits (OpenSSH's floor; its bignum cap). */
#define RSA_MIN_BITS 1024
#define RSA_MAX_BITS 16384
/*
 * Largest RSA public exponent, in bytes: real keys use 65537, and a huge
 * exponent would make each verification as slow as a signature.
 */
#define RSA_MAX_E 8
/* Ed25519 public keys and signatures, in bytes. */
#define ED25519_KEY 32
#define ED25519_SIG 64

enum kind { KIND_ED25519, KIND_ECDSA, KIND_RSA };

static const struct keytype {
	const char *name;	/* as written in files and key blobs */
	enum kind kind;
	const char *label;	/* as ssh-keygen -l shows the type */
	const char *curve;	/* ECDSA: the name inside the blob */
	const char *group;	/* ECDSA: OpenSSL's name of the curve */
	size_t coord;		/* ECDSA: bytes of one coordinate */
	const char *md;		/* ECDSA: the digest of its signatures */
} keytypes[] = {
	{ "ssh-ed25519", KIND_ED25519, "ED25519", NULL, NULL, 0, NULL },
	{ "ecdsa-sha2-nistp256", KIND_ECDSA, "ECDSA", "nistp256", "P-256",
	  32, "SHA256" },
	{ "ecdsa-sha2-nistp384", KIND_ECDSA, "ECDSA", "nistp384", "P-384",
	  48, "SHA384" },
	{ "ecdsa-sha2-nistp521", KIND_ECDSA, "ECDSA", "nistp521", "P-521",
	  66, "SHA512" },
	{ "ssh-rsa", KIND_RSA, "RSA", NULL, NULL, 0, NULL },
};

#define NKEYTYPES (sizeof(keytypes) / sizeof(keytypes[0]))

/*
 * One public key: its type, its blob in canonical form (what OpenSSH
 * would write for it, so that equal keys have equal blobs and the
 * fingerprint is ssh-keygen's), and for the keys of the allowed-signers
 * file the libcrypto key that verifies.
 */
struct key {
	const struct keytype *type;
	unsigned char *blob;
	size_t len;
	EVP_PKEY *pkey;
	char fingerprint[SSHSIG_FINGERPRINT_MAX];
};

/* One line of the allowed-signers file. */
struct signer {
	size_t line;
	char *principals;	/* the pattern list, as written */
	char *namespaces;	/* NULL: every namespace */
	bool git_ok;		/* namespaces allows "git" */
	int64_t valid_after;	/* 0: no bound */
	int64_t valid_before;	/* 0: no bound */
	struct key key;
};

struct sshsig_signers {
	struct signer *v;
	size_t nr, alloc;
};

/* ---- bytes from outside: bounded reads of SSH wire types ------------- */

struct reader {
	const unsigned char *p;
	size_t len;
};

static bool get_u32(struct reader *r, uint32_t *out)
{
	if (r->len < 4)
		return false;
	*out = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	       (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->len -= 4;
	return true;
}

static bool get_string(struct reader *r, const unsigned char **p,
		       size_t *len)
{
	uint32_t n;

	if (!get_u32(r, &n) || n > r->len)
		return false;
	*p = r->p;
	*len = n;
	r->p += n;
	r->len -= n;
	return true;
}

/*
 * A positive mpint of at most `max` significant bytes, its leading zero
 * bytes skipped (OpenSSH accepts them too). Zero is refused: no key or
 * signature we read has a zero in it.
 */
static bool get_mpint(struct reader *r, const unsigned char **p,
		      size_t *len, size_t max)
{
	const unsigned char *d;
	size_t n;

	if (!get_string(r, &d, &n) || !n || (d[0] & 0x80))
		return false;
	while (n && !d[0]) {
		d++;
		n--;
	}
	if (!n || n > max)
		return false;
	*p = d;
	*len = n;
	return true;
}

static bool bytes_are(const unsigned char *p, size_t len, const char *s)
{
	return len == strlen(s) && !memcmp(p, s, len);
}

/* ---- base64 ----------------------------------------------------------- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode base64 text into a new buffer (*out, the caller frees it).
 * Spaces, tabs and line ends are skipped when `lines`, refused
 * otherwise; '=' padding is optional, and nothing but padding and
 * space may follow it. False on anything else.
 */
static bool b64_decode(unsigned char **out, size_t *len_out,
		       const char *text, size_t len, bool lines)
{
	unsigned char *d = xmalloc(len / 4 * 3 + 3);
	uint32_t acc = 0;
	size_t i, n = 0, digits = 0, pad = 0;

	*out = NULL;
	*len_out = 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		int v;

		if (lines && (c == ' ' || c == '\t' || c == '\r' ||
			      c == '\n'))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64_value(c)) < 0)
			goto fail;
		acc = acc << 6 | (uint32_t)v;
		if (++digits % 4 == 0) {
			d[n++] = (unsigned char)(acc >> 16);
			d[n++] = (unsigned char)(acc >> 8);
			d[n++] = (unsigned char)acc;
			acc = 0;
		}
	}
	switch (digits % 4) {
	case 0:
		break;
	case 2:
		d[n++] = (unsigned char)(acc >> 4);
		break;
	case 3:
		d[n++] = (unsigned char)(acc >> 10);
		d[n++] = (unsigned char)(acc >> 2);
		break;
	default:
		goto fail;
	}
	/* padding only completes a last group of 2 or 3 digits */
	if (pad && (digits % 4 < 2 || pad != 4 - digits % 4))
		goto fail;
	*out = d;
	*len_out = n;
	return true;
fail:
	free(d);
	return false;
}

/* ---- keys ------------------------------------------------------------- */

static const struct keytype *keytype_named(const unsigned char *p,
					   size_t len)
{
	size_t i;

	for (i = 0; i < NKEYTYPES; i++)
		if (bytes_are(p, len, keytypes[i].name))
			return &keytypes[i];
	return NULL;
}

/*
 * Whether a word of an allowed-signers line names a key type, ours or
 * one we do not support (so that the line is refused for its key rather
 * than read as options).
 */
static bool looks_like_keytype(const char *w)
{
	static const char *const prefixes[] = {
		"ssh-", "ecdsa-", "sk-", "rsa-", "x509v3-"
	};
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(w, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static void key_release(struct key *k)
{
	free(k->blob);
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

static void put_string(struct buf *b, const void *p, size_t len)
{
	unsigned char n[4];

	n[0] = (unsigned char)(len >> 24);
	n[1] = (unsigned char)(len >> 16);
	n[2] = (unsigned char)(len >> 8);
	n[3] = (unsigned char)len;
	buf_add(b, n, 4);
	buf_add(b, p, len);
}

/* An mpint of a positive number given without leading zeros. */
static void put_mpint(struct buf *b, const unsigned char *p, size_t len)
{
	if (p[0] & 0x80) {
		unsigned char n[5] = { 0, 0, 0, 0, 0 };

		n[0] = (unsigned char)((len + 1) >> 24);
		n[1] = (unsigned char)((len + 1) >> 16);
		n[2] = (unsigned char)((len + 1) >> 8);
		n[3] = (unsigned char)(len + 1);
		buf_add(b, n, 5);
		buf_add(b, p, len);
	} else {
		put_string(b, p, len);
	}
}

static size_t bits_of(const unsigned char *p, size_t len)
{
	size_t bits = 8 * (len - 1);
	unsigned char c = p[0];

	while (c) {
		bits++;
		c >>= 1;
	}
	return bits;
}

/* The SHA-256 fingerprint of k->blob, as ssh-keygen -l shows it. */
static void fingerprint(struct key *k)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!EVP_Digest(k->blob, k->len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		BUG("sshsig: SHA-256 unavailable");
	knownhosts_fingerprint(k->fingerprint, sizeof(k->fingerprint), md);
}

enum parse_key_result { KEY_OK, KEY_MALFORMED, KEY_UNSUPPORTED };

/*
 * Read the public key blob `p` into `k` (type, canonical blob,
 * fingerprint; no libcrypto key). KEY_UNSUPPORTED for a key type we do
 * not verify, KEY_MALFORMED for anything else wrong; `why` then says
 * what, in words that follow "the key ".
 */
static enum parse_key_result parse_key(struct key *k, const unsigned char *p,
				       size_t len, char *why, size_t size)
{
	struct reader r = { p, len };
	struct buf canon = BUF_INIT;
	const unsigned char *name, *a, *b;
	size_t name_len, a_len, b_len;
	const struct keytype *t;
	struct confval_quote q;
	char type[SSHSIG_KEYTYPE_MAX * 4];

	memset(k, 0, sizeof(*k));
	if (!get_string(&r, &name, &name_len) || !name_len) {
		snprintf(why, size, "has no type");
		return KEY_MALFORMED;
	}
	if (!(t = keytype_named(name, name_len))) {
		snprintf(type, sizeof(type), "%.*s",
			 (int)(name_len < 64 ? name_len : 64),
			 (const char *)name);
		snprintf(why, size, "type '%s' is not supported",
			 confval_quote(&q, type));
		return KEY_UNSUPPORTED;
	}
	buf_init(&canon, 4 + 64 + 2 * (RSA_MAX_BITS / 8 + 16));
	put_string(&canon, name, name_len);
	switch (t->kind) {
	case KIND_ED25519:
		if (!get_string(&r, &a, &a_len) || a_len != ED25519_KEY) {
			snprintf(why, size, "is not a valid Ed25519 key");
			goto malformed;
		}
		put_string(&canon, a, a_len);
		break;
	case KIND_ECDSA:
		if (!get_string(&r, &a, &a_len) ||
		    !bytes_are(a, a_len, t->curve) ||
		    !get_string(&r, &b, &b_len) ||
		    b_len != 1 + 2 * t->coord || b[0] != 0x04) {
			snprintf(why, size, "is not a valid %s key", t->name);
			goto malformed;
		}
		put_string(&canon, a, a_len);
		put_string(&canon, b, b_len);
		break;
	case KIND_RSA:
		/* e, then n */
		if (!get_mpint(&r, &a, &a_len, RSA_MAX_E) || !(a[a_len - 1] & 1)
		    || (a_len == 1 && a[0] < 3) ||
		    !get_mpint(&r, &b, &b_len, RSA_MAX_BITS / 8)) {
			snprintf(why, size, "is not a valid RSA key");
			goto malformed;
		}
		if (bits_of(b, b_len) < RSA_MIN_BITS) {
			snprintf(why, size, "is an RSA key of %zu bits (at "
				 "least %d are needed)", bits_of(b, b_len),
				 RSA_MIN_BITS);
			goto malformed;
		}
		put_mpint(&canon, a, a_len);
		put_mpint(&canon, b, b_len);
		break;
	}
	if (r.len) {
		snprintf(why, size, "has trailing bytes");
		goto malformed;
	}
	if (buf_error(&canon))
		BUG("sshsig: key blob past its cap");
	k->type = t;
	k->blob = (unsigned char *)buf_detach(&canon, &k->len);
	fingerprint(k);
	return KEY_OK;
malformed:
	buf_release(&canon);
	return KEY_MALFORMED;
}

/* The libcrypto key of k, which parse_key() read; false if invalid. */
static bool make_pkey(struct key *k)
{
	struct reader r = { k->blob, k->len };
	const unsigned char *name, *a, *b;
	size_t name_len, a_len, b_len;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL, ec[3];
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	BIGNUM *e = NULL, *n = NULL;
	bool ok = false;

	/* parse_key() checked every length: these reads succeed */
	if (!get_string(&r, &name, &name_len) || !get_string(&r, &a, &a_len))
		BUG("sshsig: key blob changed");
	if (k->type->kind == KIND_ED25519) {
		k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
						      a, a_len);
		ok = k->pkey != NULL;
		goto out;
	}
	if (!get_string(&r, &b, &b_len))
		BUG("sshsig: key blob changed");
	if (k->type->kind == KIND_ECDSA) {
		ec[0] = OSSL_PARAM_construct_utf8_string(
			OSSL_PKEY_PARAM_GROUP_NAME, (char *)k->type->group, 0);
		ec[1] = OSSL_PARAM_construct_octet_string(
			OSSL_PKEY_PARAM_PUB_KEY, (void *)b, b_len);
		ec[2] = OSSL_PARAM_construct_end();
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
		    EVP_PKEY_fromdata(ctx, &k->pkey, EVP_PKEY_PUBLIC_KEY,
				      ec) <= 0)
			goto out;
	} else {
		/* a canonical mpint may start with a zero byte */
		e = BN_bin2bn(a, (int)a_len, NULL);
		n = BN_bin2bn(b, (int)b_len, NULL);
		bld = OSSL_PARAM_BLD_new();
		if (!e || !n || !bld ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
		    !(params = OSSL_PARAM_BLD_to_param(bld)))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
		if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
		    EVP_PKEY_fromdata(ctx, &k->pkey, EVP_PKEY_PUBLIC_KEY,
				      params) <= 0)
			goto out;
	}
	/* an EC point must lie on its curve */
	check = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	ok = check && EVP_PKEY_public_check(check) == 1;
out:
	if (!ok) {
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
	}
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	ERR_clear_error();
	return ok;
}

static bool key_equal(const struct key *a, const struct key *b)
{
	return a->type == b->type && a->len == b->len &&
	       !memcmp(a->blob, b->blob, a->len);
}

/* ---- patterns (OpenSSH's match.c) -------------------------------------- */

/*
 * Does `s` match the pattern `p` of `plen` bytes (`*` any run, `?` any
 * one byte)? Backtracks to the last star only, so it takes at most
 * strlen(s) * plen steps.
 */
static bool match_pattern(const char *s, const char *p, size_t plen)
{
	const char *retry = NULL;	/* where the last star resumes */
	size_t i = 0, star = 0;

	for (;;) {
		if (i < plen && p[i] == '*') {
			star = ++i;
			retry = s;
			continue;
		}
		if (i == plen && !*s)
			return true;
		if (*s && i < plen && (p[i] == '?' || p[i] == *s)) {
			s++;
			i++;
			continue;
		}
		if (!retry || !*retry)
			return false;
		s = ++retry;
		i = star;
	}
}

/*
 * A comma-separated list of patterns: 1 if one matches `s` and no
 * negated one ("!pattern") does, -1 if a negated one does, 0 otherwise.
 */
static int match_list(const char *s, const char *list)
{
	bool positive = false;

	while (*list) {
		size_t len = strcspn(list, ",");
		bool negated = *list == '!';

		if (match_pattern(s, list + negated, len - negated)) {
			if (negated)
				return -1;
			positive = true;
		}
		list += len;
		if (*list == ',')
			list++;
	}
	return positive ? 1 : 0;
}

/* ---- the allowed-signers file ------------------------------------------ */

struct parser {
	struct sshsig_signers *signers;
	const char *name;
	size_t line;
	struct strvec *errors;
	size_t problems;
	char first[ERROR_MSG_MAX];
};

static void problem(struct parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct parser *ps, const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* clipped: the path, then the message, fit in one error */
	if (!ps->problems++)
		snprintf(ps->first, sizeof(ps->first), "%.256s:%zu: %.700s",
			 ps->name, ps->line, msg);
	if (!ps->errors)
		return;
	if (ps->problems <= SSHSIG_MAX_ERRORS)
		strvec_pushf(ps->errors, "%s:%zu: %s", ps->name, ps->line,
			     msg);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The next word of *p into a new string: up to a space or tab, a part in
 * double quotes taken as it is (without its quotes) and ending the word,
 * as OpenSSH's strdelimw() does. NULL if a quote is not closed.
 */
static char *next_word(const char **p)
{
	const char *s = *p, *q;
	struct buf w = BUF_INIT;
	char *out;

	buf_init(&w, SSHSIG_LINE_MAX);
	while (*s && !is_space(*s) && *s != '"')
		buf_addch(&w, *s++);
	if (*s == '"') {
		if (!(q = strchr(s + 1, '"'))) {
			buf_release(&w);
			return NULL;
		}
		buf_add(&w, s + 1, (size_t)(q - s - 1));
		s = q + 1;
	}
	while (is_space(*s))
		s++;
	*p = s;
	out = buf_detach(&w, NULL);
	return out;
}

/* The end of an options word: the first space or tab out of quotes. */
static const char *options_end(const char *s)
{
	bool quoted = false;

	for (; *s && (quoted || !is_space(*s)); s++) {
		if (*s == '\\' && s[1] == '"')
			s++;
		else if (*s == '"')
			quoted = !quoted;
	}
	return quoted ? NULL : s;
}

/*
 * YYYYMMDD[HHMM[SS]][Z] into seconds since the epoch: local time, or UTC
 * with the Z (OpenSSH's parse_absolute_time()). False if invalid or
 * before 1970.
 */
static bool parse_time(const char *s, int64_t *out)
{
	size_t len = strlen(s), i;
	bool utc = false;
	struct tm tm, back;
	int f[6] = { 0, 1, 1, 0, 0, 0 };
	time_t t;

	if (len && (s[len - 1] == 'Z' || s[len - 1] == 'z')) {
		utc = true;
		len--;
	}
	if (len != 8 && len != 12 && len != 14)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	f[0] = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	       (s[3] - '0');
	for (i = 4; i < len; i += 2)
		f[i / 2 - 1] = (s[i] - '0') * 10 + (s[i + 1] - '0');
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	tm.tm_isdst = -1;
	back = tm;
	t = utc ? timegm(&tm) : mktime(&tm);
	/* normalised fields differ from the text: a 31st of April, 25:00 */
	if (t <= 0 || tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_min != back.tm_min ||
	    tm.tm_sec != back.tm_sec ||
	    (utc && tm.tm_hour != back.tm_hour))
		return false;
	*out = (int64_t)t;
	return true;
}

/*
 * A quoted option value (`"..."`, `\"` standing for a quote) at *p into
 * a new string; *p moves past it. NULL if there is no closing quote.
 */
static char *option_value(const char **p)
{
	const char *s = *p;
	struct buf v = BUF_INIT;

	if (*s != '"')
		return NULL;
	buf_init(&v, SSHSIG_LINE_MAX);
	for (s++; *s && *s != '"'; s++) {
		if (*s == '\\' && s[1] == '"')
			s++;
		buf_addch(&v, *s);
	}
	if (*s != '"') {
		buf_release(&v);
		return NULL;
	}
	*p = s + 1;
	return buf_detach(&v, NULL);
}

/* Does the option word at s start with NAME=, any case? */
static bool option_is(const char *s, const char *name)
{
	size_t n = strlen(name);

	return !strncasecmp(s, name, n) && s[n] == '=';
}

/* The options word `opts` of one line into `sg`; false after problem(). */
static bool parse_options(struct parser *ps, struct signer *sg,
			  const char *opts)
{
	struct confval_quote q;
	const char *s = opts;
	char *v;

	while (*s) {
		if (!strncasecmp(s, "cert-authority", 14) &&
		    (!s[14] || s[14] == ',')) {
			problem(ps, "cert-authority: certificates are not "
				"supported (list each signer's own key)");
			return false;
		} else if (option_is(s, "namespaces")) {
			s += strlen("namespaces=");
			if (sg->namespaces) {
				problem(ps, "namespaces given twice");
				return false;
			}
			if (!(sg->namespaces = option_value(&s)))
				goto quote;
		} else if (option_is(s, "valid-after") ||
			   option_is(s, "valid-before")) {
			bool after = s[6] == 'a' || s[6] == 'A';
			int64_t *t = after ? &sg->valid_after :
					     &sg->valid_before;
			const char *what = after ? "valid-after" :
						   "valid-before";

			s += strlen(what) + 1;
			if (*t) {
				problem(ps, "%s given twice", what);
				return false;
			}
			if (!(v = option_value(&s)))
				goto quote;
			if (!parse_time(v, t)) {
				problem(ps, "invalid %s time '%s' (use "
					"YYYYMMDD[HHMM[SS]], Z for UTC)", what,
					confval_quote(&q, v));
				free(v);
				return false;
			}
			free(v);
		} else {
			size_t n = strcspn(s, ",=");
			char name[64];

			snprintf(name, sizeof(name), "%.*s",
				 (int)(n < 60 ? n : 60), s);
			problem(ps, "unknown option '%s' (use namespaces, "
				"valid-after or valid-before)",
				confval_quote(&q, name));
			return false;
		}
		if (*s == ',' && s[1])
			s++;
		else if (*s) {
			problem(ps, "invalid options '%s'",
				confval_quote(&q, opts));
			return false;
		}
	}
	if (sg->valid_after && sg->valid_before &&
	    sg->valid_before <= sg->valid_after) {
		problem(ps, "valid-before is not after valid-after");
		return false;
	}
	return true;
quote:
	problem(ps, "an option's value must be in double quotes, closed");
	return false;
}

static void signer_release(struct signer *sg)
{
	free(sg->principals);
	free(sg->namespaces);
	key_release(&sg->key);
}

/* One line, without its end; blank and comment lines are skipped. */
static void parse_line(struct parser *ps, const char *line)
{
	struct signer sg;
	struct confval_quote q;
	const char *s = line, *end;
	char *type = NULL, *b64 = NULL, *opts = NULL;
	unsigned char *blob = NULL;
	size_t blob_len;
	char why[256];

	memset(&sg, 0, sizeof(sg));
	sg.line = ps->line;
	while (is_space(*s))
		s++;
	if (!*s || *s == '#')
		return;
	if (!(sg.principals = next_word(&s)) || !*sg.principals) {
		problem(ps, "invalid principals (a quote is not closed?)");
		goto out;
	}
	if (!*s) {
		problem(ps, "no key after the principals");
		goto out;
	}
	if (!looks_like_keytype(s)) {
		if (!(end = options_end(s))) {
			problem(ps, "a quote is not closed in the options");
			goto out;
		}
		opts = xstrndup(s, (size_t)(end - s));
		s = end;
		while (is_space(*s))
			s++;
		if (!parse_options(ps, &sg, opts))
			goto out;
		if (!*s) {
			problem(ps, "no key after the options");
			goto out;
		}
	}
	end = s + strcspn(s, " \t");
	type = xstrndup(s, (size_t)(end - s));
	for (s = end; is_space(*s); s++)
		;
	end = s + strcspn(s, " \t");
	b64 = xstrndup(s, (size_t)(end - s));
	if (!*b64) {
		problem(ps, "no key after its type '%s'",
			confval_quote(&q, type));
		goto out;
	}
	if (!keytype_named((const unsigned char *)type, strlen(type))) {
		problem(ps, "key type '%s' is not supported (use ssh-ed25519, "
			"ecdsa-sha2-nistp256/384/521 or ssh-rsa)",
			confval_quote(&q, type));
		goto out;
	}
	if (!b64_decode(&blob, &blob_len, b64, strlen(b64), false)) {
		problem(ps, "invalid base64 in the %s key", type);
		goto out;
	}
	if (parse_key(&sg.key, blob, blob_len, why, sizeof(why)) != KEY_OK) {
		problem(ps, "the key %s", why);
		goto out;
	}
	if (strcmp(sg.key.type->name, type)) {
		problem(ps, "the key is %s, not %s", sg.key.type->name, type);
		goto out;
	}
	if (!make_pkey(&sg.key)) {
		problem(ps, "the %s key is not a valid public key", type);
		goto out;
	}
	sg.git_ok = !sg.namespaces ||
		    match_list(SSHSIG_NAMESPACE, sg.namespaces) == 1;
	if (ps->signers->nr == ps->signers->alloc) {
		ps->signers->alloc = ps->signers->alloc ?
				     2 * ps->signers->alloc : 8;
		ps->signers->v = xreallocarray(ps->signers->v,
					       ps->signers->alloc,
					       sizeof(*ps->signers->v));
	}
	ps->signers->v[ps->signers->nr++] = sg;
	memset(&sg, 0, sizeof(sg));
out:
	signer_release(&sg);
	free(blob);
	free(b64);
	free(type);
	free(opts);
}

int sshsig_signers_parse(struct sshsig_signers **out, const char *name,
			 const char *text, size_t len, struct strvec *errors)
{
	struct parser ps;
	const char *p = text, *end = text + len;
	char *line = NULL;
	int r = 0;

	*out = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.signers = xcalloc(1, sizeof(*ps.signers));
	ps.name = name;
	ps.errors = errors;
	if (len > SSHSIG_FILE_MAX) {
		r = error_set(ERR_TOOBIG, "%s: larger than %d bytes: not an "
			      "allowed-signers file", name, SSHSIG_FILE_MAX);
		goto out;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		ps.line++;
		if (n > SSHSIG_LINE_MAX) {
			r = error_set(ERR_TOOBIG, "%s:%zu: line longer than "
				      "%d bytes", name, ps.line,
				      SSHSIG_LINE_MAX);
			goto out;
		}
		if (memchr(p, '\0', n)) {
			problem(&ps, "NUL byte in the line");
		} else {
			line = xstrndup(p, n);
			if (n && line[n - 1] == '\r')
				line[n - 1] = '\0';
			parse_line(&ps, line);
			free(line);
			line = NULL;
		}
		p += n + (nl != NULL);
	}
	if (ps.problems > SSHSIG_MAX_ERRORS && errors)
		strvec_pushf(errors, "%s: %zu more problems", name,
			     ps.problems - SSHSIG_MAX_ERRORS);
	if (ps.problems > 1)
		r = error_set(ERR_INVALID, "%s (and %zu more problems)",
			      ps.first, ps.problems - 1);
	else if (ps.problems)
		r = error_set(ERR_INVALID, "%s", ps.first);
out:
	if (r < 0)
		sshsig_signers_free(ps.signers);
	else
		*out = ps.signers;
	return r;
}

int sshsig_signers_load(struct sshsig_signers **out, const char *path,
			struct strvec *errors)
{
	struct buf text = BUF_INIT;
	struct stat st;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return error_set_errno(errno == ENOENT ? ERR_NOTFOUND : ERR_SYS,
				       "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		r = error_set_errno(ERR_SYS, "cannot stat '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = error_set(ERR_INVALID, "'%s' is not a regular file", path);
		goto out;
	}
	if (st.st_size > SSHSIG_FILE_MAX) {
		r = error_set(ERR_TOOBIG, "%s: larger than %d bytes: not an "
			      "allowed-signers file", path, SSHSIG_FILE_MAX);
		goto out;
	}
	buf_init(&text, SSHSIG_FILE_MAX);
	if ((r = buf_read_fd(&text, fd)) < 0) {
		if (r == ERR_TOOBIG)
			r = error_set(ERR_TOOBIG, "%s: larger than %d bytes: "
				      "not an allowed-signers file", path,
				      SSHSIG_FILE_MAX);
		else
			r = error_set_errno(r, "cannot read '%s'", path);
		goto out;
	}
	r = sshsig_signers_parse(out, path, text.ptr, text.len, errors);
out:
	buf_release(&text);
	close(fd);
	return r;
}

size_t sshsig_signers_count(const struct sshsig_signers *signers)
{
	return signers->nr;
}

void sshsig_signers_free(struct sshsig_signers *signers)
{
	size_t i;

	if (!signers)
		return;
	for (i = 0; i < signers->nr; i++)
		signer_release(&signers->v[i]);
	free(signers->v);
	free(signers);
}

/* ---- checking a signature ------------------------------------------------ */

static enum sshsig_result verdict(struct sshsig_verdict *out,
				  enum sshsig_result result,
				  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum sshsig_result verdict(struct sshsig_verdict *out,
				  enum sshsig_result result,
				  const char *fmt, ...)
{
	va_list ap;
	char *c;

	va_start(ap, fmt);
	vsnprintf(out->message, sizeof(out->message), fmt, ap);
	va_end(ap);
	for (c = out->message; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	out->result = result;
	return result;
}

/* The decoded parts of an SSHSIG blob, pointing into it. */
struct sig {
	const unsigned char *key, *ns, *reserved, *hash, *type, *bytes;
	size_t key_len, ns_len, reserved_len, hash_len, type_len, bytes_len;
};

/*
 * The armor of `text` into a new decoded blob (*blob, the caller's); a
 * verdict other than VALID if it is not an SSH signature's.
 */
static enum sshsig_result dearmor(struct sshsig_verdict *out,
				  unsigned char **blob, size_t *blob_len,
				  const char *text, size_t len)
{
	static const struct {
		const char *armor;
		const char *what;
	} others[] = {
		{ "-----BEGIN PGP SIGNATURE-----", "a GPG signature" },
		{ "-----BEGIN PGP MESSAGE-----", "a GPG signature" },
		{ "-----BEGIN SIGNED MESSAGE-----", "an X.509 signature" },
	};
	const char *end = text + len, *body, *tail;
	size_t i;

	while (text < end && (*text == ' ' || *text == '\t' ||
			      *text == '\r' || *text == '\n'))
		text++;
	len = (size_t)(end - text);
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (len >= strlen(others[i].armor) &&
		    !memcmp(text, others[i].armor, strlen(others[i].armor)))
			return verdict(out, SSHSIG_NOT_SSH, "%s: only SSH "
				       "signatures are accepted (sign with "
				       "git -c gpg.format=ssh commit -S)",
				       others[i].what);
	if (len < strlen(ARMOR_BEGIN) ||
	    memcmp(text, ARMOR_BEGIN, strlen(ARMOR_BEGIN))) {
		if (len >= 11 && !memcmp(text, "-----BEGIN ", 11))
			return verdict(out, SSHSIG_NOT_SSH, "not an SSH "
				       "signature: only SSH signatures are "
				       "accepted (sign with git -c "
				       "gpg.format=ssh commit -S)");
		return verdict(out, SSHSIG_MALFORMED, "malformed signature: "
			       "it does not start with '%s'", ARMOR_BEGIN);
	}
	body = text + strlen(ARMOR_BEGIN);
	if (body == end || (*body != '\n' && *body != '\r'))
		return verdict(out, SSHSIG_MALFORMED, "malformed signature: "
			       "no line end after '%s'", ARMOR_BEGIN);
	tail = memmem(body, (size_t)(end - body), ARMOR_END,
		      strlen(ARMOR_END));
	if (!tail)
		return verdict(out, SSHSIG_MALFORMED, "malformed signature: "
			       "no '%s' line", ARMOR_END);
	for (i = strlen(ARMOR_END); tail + i < end; i++)
		if (!strchr(" \t\r\n", tail[i]) || !tail[i])
			return verdict(out, SSHSIG_MALFORMED, "malformed "
				       "signature: text after '%s'",
				       ARMOR_END);
	if (!b64_decode(blob, blob_len, body, (size_t)(tail - body), true))
		return verdict(out, SSHSIG_MALFORMED, "malformed signature: "
			       "invalid base64");
	return SSHSIG_VALID;
}

/* Parse the SSHSIG blob; a verdict other than VALID if it is not one. */
static enum sshsig_result parse_sig(struct sshsig_verdict *out,
				    struct sig *sg, const unsigned char *blob,
				    size_t len)
{
	struct reader r = { blob, len }, inner;
	uint32_t version;

	if (len < MAGIC_LEN || memcmp(blob, MAGIC, MAGIC_LEN))
		return verdict(out, SSHSIG_MALFORMED, "malformed signature: "
			       "no SSHSIG magic");
	r.p += MAGIC_LEN;
	r.len -= MAGIC_LEN;
	if (!get_u32(&r, &version))
		goto truncated;
	if (version != SIG_VERSION)
		return verdict(out, SSHSIG_UNSUPPORTED, "unsupported SSH "
			       "signature version %u (only %d is known)",
			       (unsigned)version, SIG_VERSION);
	if (!get_string(&r, &sg->key, &sg->key_len) ||
	    !get_string(&r, &sg->ns, &sg->ns_len) ||
	    !get_string(&r, &sg->reserved, &sg->reserved_len) ||
	    !get_string(&r, &sg->hash, &sg->hash_len) ||
	    !get_string(&r, &inner.p, &inner.len))
		goto truncated;
	if (r.len)
		return verdict(out, SSHSIG_MALFORMED, "malformed signature: "
			       "trailing bytes");
	if (!get_string(&inner, &sg->type, &sg->type_len) ||
	    !get_string(&inner, &sg->bytes, &sg->bytes_len) || inner.len)
		return verdict(out, SSHSIG_MALFORMED, "malformed signature: "
			       "its signature field is not (type, bytes)");
	return SSHSIG_VALID;
truncated:
	return verdict(out, SSHSIG_MALFORMED, "malformed signature: "
		       "truncated");
}

/* A field of the signature as printable text for a message. */
static const char *field(struct confval_quote *q, const unsigned char *p,
			 size_t len)
{
	char s[CONFVAL_QUOTE_MAX + 2];
	size_t n = len < sizeof(s) - 1 ? len : sizeof(s) - 1;

	snprintf(s, sizeof(s), "%.*s", (int)n, (const char *)p);
	/* a NUL inside would cut the text short: show it */
	if (memchr(p, '\0', n))
		return confval_quote(q, "(binary)");
	return confval_quote(q, s);
}

/*
 * ECDSA's (mpint r, mpint s) into DER for libcrypto, in *der (free with
 * OPENSSL_free()); false if malformed.
 */
static bool ecdsa_der(unsigned char **der, int *der_len,
		      const unsigned char *p, size_t len, size_t coord)
{
	struct reader r = { p, len };
	const unsigned char *rp, *sp;
	size_t rlen, slen;
	ECDSA_SIG *sig = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	bool ok = false;

	*der = NULL;
	if (!get_mpint(&r, &rp, &rlen, coord) ||
	    !get_mpint(&r, &sp, &slen, coord) || r.len)
		return false;
	br = BN_bin2bn(rp, (int)rlen, NULL);
	bs = BN_bin2bn(sp, (int)slen, NULL);
	if (!br || !bs || !(sig = ECDSA_SIG_new()) ||
	    !ECDSA_SIG_set0(sig, br, bs))
		goto out;
	br = bs = NULL;		/* now the signature's */
	*der_len = i2d_ECDSA_SIG(sig, der);
	ok = *der_len > 0;
out:
	ECDSA_SIG_free(sig);
	BN_free(br);
	BN_free(bs);
	return ok;
}

/*
 * Does `sig` verify `tbs` with the allowed key `k`? The signature's type
 * was checked against the key's; `md` is the RSA digest (NULL
 * otherwise). False for a bad or malformed signature.
 */
static bool verify(const struct key *k, const char *md,
		   const unsigned char *sig, size_t sig_len,
		   const unsigned char *tbs, size_t tbs_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *der = NULL, *padded = NULL;
	const unsigned char *s = sig;
	size_t s_len = sig_len, size;
	int der_len = 0;
	bool ok = false;

	if (!ctx)
		BUG("sshsig: out of memory");
	switch (k->type->kind) {
	case KIND_ED25519:
		if (sig_len != ED25519_SIG)
			goto out;
		break;
	case KIND_ECDSA:
		if (!ecdsa_der(&der, &der_len, sig, sig_len, k->type->coord))
			goto out;
		md = k->type->md;
		s = der;
		s_len = (size_t)der_len;
		break;
	case KIND_RSA:
		/* OpenSSH may drop leading zeros: pad to the modulus */
		size = (size_t)EVP_PKEY_get_size(k->pkey);
		if (!sig_len || sig_len > size)
			goto out;
		if (sig_len < size) {
			padded = xcalloc(1, size);
			memcpy(padded + size - sig_len, sig, sig_len);
			s = padded;
			s_len = size;
		}
		break;
	}
	ok = EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, k->pkey,
				     NULL) == 1 &&
	     EVP_DigestVerify(ctx, s, s_len, tbs, tbs_len) == 1;
out:
	ERR_clear_error();
	free(padded);
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* Why a line with the right key does not allow the signature. */
enum refusal { R_PRINCIPAL, R_NAMESPACE, R_TIME, R_NONE };

static enum refusal refusal_of(const struct signer *sg, const char *email,
			       int64_t when)
{
	if (match_list(email, sg->principals) != 1)
		return R_PRINCIPAL;
	if (!sg->git_ok)
		return R_NAMESPACE;
	if ((sg->valid_after && when < sg->valid_after) ||
	    (sg->valid_before && when > sg->valid_before))
		return R_TIME;
	return R_NONE;
}

/* The decision once the signature verified with a known key. */
static enum sshsig_result decide(const struct sshsig_signers *signers,
				 const struct key *key, const char *email,
				 int64_t when, struct sshsig_verdict *out)
{
	const struct signer *best = NULL;
	enum refusal best_why = R_PRINCIPAL;
	struct confval_quote q, qp;
	char t[TIMEUTIL_TEXT_MAX], limit[TIMEUTIL_TEXT_MAX];
	size_t i;

	for (i = 0; i < signers->nr; i++) {
		const struct signer *sg = &signers->v[i];
		enum refusal why;

		if (!key_equal(&sg->key, key))
			continue;
		why = refusal_of(sg, email, when);
		if (!best || why > best_why) {
			best = sg;
			best_why = why;
		}
		if (why == R_NONE)
			break;
	}
	if (!best)
		BUG("sshsig: known key without its line");
	out->line = best->line;
	confval_quote(&qp, best->principals);
	snprintf(out->principals, sizeof(out->principals), "%s", qp.s);
	confval_quote(&q, email);
	timeutil_format(t, when, TIMEUTIL_HUMAN);
	switch (best_why) {
	case R_NONE:
		break;
	case R_PRINCIPAL:
		return verdict(out, SSHSIG_NOT_ALLOWED, "%s key %s may not "
			       "sign for the committer '%s' (its allowed "
			       "signers: '%s')", out->key_type,
			       out->fingerprint, q.s, qp.s);
	case R_NAMESPACE:
		return verdict(out, SSHSIG_WRONG_NAMESPACE, "%s key %s may "
			       "not sign in the namespace 'git' (its "
			       "allowed signers line says namespaces=\"%s\")",
			       out->key_type, out->fingerprint,
			       confval_quote(&qp, best->namespaces));
	case R_TIME:
		if (best->valid_after && when < best->valid_after) {
			timeutil_format(limit, best->valid_after,
					TIMEUTIL_HUMAN);
			return verdict(out, SSHSIG_NOT_YET_VALID, "%s key %s "
				       "is not yet valid at the commit's time "
				       "%s (valid from %s)", out->key_type,
				       out->fingerprint, t, limit);
		}
		timeutil_format(limit, best->valid_before, TIMEUTIL_HUMAN);
		return verdict(out, SSHSIG_EXPIRED, "%s key %s had expired at "
			       "the commit's time %s (valid until %s)",
			       out->key_type, out->fingerprint, t, limit);
	}
	return verdict(out, SSHSIG_VALID, "good signature by '%s' with %s "
		       "key %s", q.s, out->key_type, out->fingerprint);
}

enum sshsig_result sshsig_check(const struct sshsig_signers *signers,
				const char *armored, size_t len,
				const void *data, size_t data_len,
				const char *email, int64_t when,
				struct sshsig_verdict *out)
{
	unsigned char *blob = NULL, hash[EVP_MAX_MD_SIZE];
	const struct signer *found = NULL;
	struct confval_quote q;
	struct sig sg;
	struct key key;
	struct buf tbs = BUF_INIT;
	const EVP_MD *md;
	const char *rsa_md = NULL;
	unsigned hash_len = 0;
	size_t blob_len = 0, i;
	char why[256];
	enum sshsig_result r;

	memset(out, 0, sizeof(*out));
	memset(&key, 0, sizeof(key));
	if (!armored || !len) {
		r = verdict(out, SSHSIG_NOT_SIGNED, "the commit is not signed "
			    "(sign it with git -c gpg.format=ssh commit -S)");
		goto out;
	}
	if (len > SSHSIG_ARMOR_MAX) {
		r = verdict(out, SSHSIG_MALFORMED, "malformed signature: "
			    "larger than %d bytes", SSHSIG_ARMOR_MAX);
		goto out;
	}
	r = dearmor(out, &blob, &blob_len, armored, len);
	if (r == SSHSIG_VALID)
		r = parse_sig(out, &sg, blob, blob_len);
	if (r != SSHSIG_VALID)
		goto out;

	switch (parse_key(&key, sg.key, sg.key_len, why, sizeof(why))) {
	case KEY_OK:
		break;
	case KEY_MALFORMED:
		r = verdict(out, SSHSIG_MALFORMED, "malformed signature: its "
			    "key %s", why);
		goto out;
	case KEY_UNSUPPORTED:
		r = verdict(out, SSHSIG_UNSUPPORTED, "unsupported signature: "
			    "its key %s (use ssh-ed25519, ecdsa-sha2-nistp* "
			    "or ssh-rsa)", why);
		goto out;
	}
	snprintf(out->key_type, sizeof(out->key_type), "%s",
		 key.type->label);
	snprintf(out->fingerprint, sizeof(out->fingerprint), "%s",
		 key.fingerprint);

	if (!bytes_are(sg.ns, sg.ns_len, SSHSIG_NAMESPACE)) {
		r = verdict(out, SSHSIG_WRONG_NAMESPACE, "signed in the "
			    "namespace '%s', not '%s' (sign commits with "
			    "git commit -S)", field(&q, sg.ns, sg.ns_len),
			    SSHSIG_NAMESPACE);
		goto out;
	}
	if (bytes_are(sg.hash, sg.hash_len, "sha256")) {
		md = EVP_sha256();
	} else if (bytes_are(sg.hash, sg.hash_len, "sha512")) {
		md = EVP_sha512();
	} else {
		r = verdict(out, SSHSIG_UNSUPPORTED, "unsupported signature: "
			    "hash algorithm '%s' (only sha256 and sha512)",
			    field(&q, sg.hash, sg.hash_len));
		goto out;
	}
	if (key.type->kind == KIND_RSA) {
		if (bytes_are(sg.type, sg.type_len, "rsa-sha2-256")) {
			rsa_md = "SHA256";
		} else if (bytes_are(sg.type, sg.type_len, "rsa-sha2-512")) {
			rsa_md = "SHA512";
		} else if (bytes_are(sg.type, sg.type_len, "ssh-rsa")) {
			r = verdict(out, SSHSIG_UNSUPPORTED, "unsupported "
				    "signature: ssh-rsa signatures use SHA-1 "
				    "(sign with rsa-sha2-512, as ssh-keygen "
				    "does)");
			goto out;
		}
	}
	if (!rsa_md && !bytes_are(sg.type, sg.type_len, key.type->name)) {
		r = verdict(out, SSHSIG_MALFORMED, "malformed signature: a "
			    "'%s' signature with a %s key",
			    field(&q, sg.type, sg.type_len), key.type->name);
		goto out;
	}

	/* only keys of the file are used: no work for a stranger's */
	for (i = 0; i < signers->nr && !found; i++)
		if (key_equal(&signers->v[i].key, &key))
			found = &signers->v[i];
	if (!found) {
		r = verdict(out, SSHSIG_UNKNOWN_KEY, "%s key %s is not an "
			    "allowed signer (add it to the allowed signers "
			    "to accept it)", out->key_type, out->fingerprint);
		goto out;
	}

	if (!EVP_Digest(data, data_len, hash, &hash_len, md, NULL))
		BUG("sshsig: %s unavailable", EVP_MD_get0_name(md));
	buf_init(&tbs, SSHSIG_ARMOR_MAX + 256);
	buf_add(&tbs, MAGIC, MAGIC_LEN);
	put_string(&tbs, sg.ns, sg.ns_len);
	put_string(&tbs, sg.reserved, sg.reserved_len);
	put_string(&tbs, sg.hash, sg.hash_len);
	put_string(&tbs, hash, hash_len);
	if (buf_error(&tbs))
		BUG("sshsig: signed blob past its cap");
	if (!verify(&found->key, rsa_md, sg.bytes, sg.bytes_len,
		    (const unsigned char *)tbs.ptr, tbs.len)) {
		r = verdict(out, SSHSIG_BAD_SIGNATURE, "bad signature with "
			    "%s key %s: the commit does not match its "
			    "signature", out->key_type, out->fingerprint);
		goto out;
	}
	r = decide(signers, &key, email ? email : "", when, out);
out:
	buf_release(&tbs);
	key_release(&key);
	free(blob);
	return r;
}

const char *sshsig_result_str(enum sshsig_result result)
{
	switch (result) {
	case SSHSIG_VALID:
		return "valid";
	case SSHSIG_NOT_SIGNED:
		return "not signed";
	case SSHSIG_NOT_SSH:
		return "not an SSH signature";
	case SSHSIG_MALFORMED:
		return "malformed signature";
	case SSHSIG_BAD_SIGNATURE:
		return "bad signature";
	case SSHSIG_UNKNOWN_KEY:
		return "unknown key";
	case SSHSIG_NOT_ALLOWED:
		return "key not allowed for the committer";
	case SSHSIG_EXPIRED:
		return "key expired";
	case SSHSIG_NOT_YET_VALID:
		return "key not yet valid";
	case SSHSIG_WRONG_NAMESPACE:
		return "wrong namespace";
	case SSHSIG_UNSUPPORTED:
		return "unsupported algorithm";
	}
	return "unknown result";
}
