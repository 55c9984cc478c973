/*
 * Unit tests for sshsig: allowed-signers files and SSH signatures, made
 * by the real ssh-keygen (tests/fixtures/sshsig/make.sh), and the
 * signature of a commit read with repo_commit_signature().
 */
#include "unit.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "fsutil.h"
#include "repo.h"
#include "sshsig.h"
#include "strvec.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The keys of the fixtures; all but "other" are in allowed_signers. */
static const char *const keys[] = {
	"ed25519", "ecdsa256", "ecdsa384", "ecdsa521", "rsa"
};

static struct sshsig_signers *signers;
static struct buf message = BUF_INIT;

/* tests/fixtures/sshsig/NAME */
static void fixture_path(struct buf *path, const char *name)
{
	const char *dir = getenv("PUSHGATE_SRCDIR");

	buf_reset(path);
	buf_addf(path, "%s/tests/fixtures/sshsig/%s", dir ? dir : ".", name);
}

/* The contents of a fixture file into `out` (emptied first). */
static void fixture(struct buf *out, const char *name)
{
	struct buf path = BUF_INIT;
	FILE *f;
	char chunk[4096];
	size_t n;

	fixture_path(&path, name);
	if (!(f = fopen(path.ptr, "rb")))
		fail_msg("cannot open %s (set PUSHGATE_SRCDIR)", path.ptr);
	buf_reset(out);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(out, chunk, n);
	fclose(f);
	buf_release(&path);
}

/* The fingerprint ssh-keygen -l printed for KEY (fixtures/fingerprints). */
static void fingerprint_of(char *out, size_t size, const char *key)
{
	struct buf text = BUF_INIT;
	const char *p;
	size_t n = strlen(key);

	fixture(&text, "fingerprints");
	for (p = text.ptr; *p; p = strchr(p, '\n') + 1) {
		if (!strncmp(p, key, n) && p[n] == ' ') {
			snprintf(out, size, "%.*s",
				 (int)strcspn(p + n + 1, "\n"), p + n + 1);
			buf_release(&text);
			return;
		}
	}
	fail_msg("no fingerprint for %s", key);
}

static int setup(void **state)
{
	struct buf path = BUF_INIT;
	int r;

	(void)state;
	fixture_path(&path, "allowed_signers");
	r = sshsig_signers_load(&signers, path.ptr, NULL);
	if (r < 0)
		fprintf(stderr, "%s\n", error_last());
	buf_release(&path);
	fixture(&message, "message");
	return r;
}

static int teardown(void **state)
{
	(void)state;
	sshsig_signers_free(signers);
	buf_release(&message);
	return 0;
}

/* Check fixture signature SIG (a file name) over `message`. */
static enum sshsig_result check_file(const struct sshsig_signers *s,
				     const char *sig, const char *email,
				     int64_t when, struct sshsig_verdict *v)
{
	struct buf armor = BUF_INIT;
	enum sshsig_result r;

	fixture(&armor, sig);
	r = sshsig_check(s, armor.ptr, armor.len, message.ptr, message.len,
			 email, when, v);
	buf_release(&armor);
	return r;
}

/* ---- blobs: the decoded signature, taken apart and put together ------ */

struct fields {
	uint32_t version;
	struct buf part[5];	/* key, namespace, reserved, hash, sig */
};

static void fields_release(struct fields *f)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(f->part); i++)
		buf_release(&f->part[i]);
}

/* The blob of an armored signature file. */
static void blob_of(struct buf *out, const char *sig)
{
	struct buf armor = BUF_INIT, b64 = BUF_INIT;
	const char *p;
	unsigned char *d;
	int n;

	fixture(&armor, sig);
	p = strchr(armor.ptr, '\n') + 1;
	for (; strncmp(p, "-----END", 8); p++)
		if (*p != '\n')
			buf_addch(&b64, *p);
	d = malloc(b64.len);
	n = EVP_DecodeBlock(d, (const unsigned char *)b64.ptr, (int)b64.len);
	assert_true(n > 0);
	while (b64.len && b64.ptr[--b64.len] == '=')
		n--;
	buf_reset(out);
	buf_add(out, d, (size_t)n);
	free(d);
	buf_release(&armor);
	buf_release(&b64);
}

/* The armor of `len` bytes of blob `p`. */
static void armor_of(struct buf *out, const void *p, size_t len)
{
	unsigned char *t = malloc(len / 3 * 4 + 8);
	int n = EVP_EncodeBlock(t, p, (int)len);
	int i;

	buf_reset(out);
	buf_addstr(out, "-----BEGIN SSH SIGNATURE-----\n");
	for (i = 0; i < n; i += 70)
		buf_addf(out, "%.*s\n", n - i < 70 ? n - i : 70,
			 (const char *)t + i);
	buf_addstr(out, "-----END SSH SIGNATURE-----\n");
	free(t);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put32(struct buf *b, uint32_t n)
{
	unsigned char d[4] = {
		(unsigned char)(n >> 24), (unsigned char)(n >> 16),
		(unsigned char)(n >> 8), (unsigned char)n
	};

	buf_add(b, d, 4);
}

static void put_str(struct buf *b, const void *p, size_t len)
{
	put32(b, (uint32_t)len);
	buf_add(b, p, len);
}

static void fields_of(struct fields *f, const char *sig)
{
	struct buf blob = BUF_INIT;
	const unsigned char *p;
	size_t i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < ARRAY_SIZE(f->part); i++)
		buf_init(&f->part[i], BUF_DEFAULT_CAP);
	blob_of(&blob, sig);
	assert_memory_equal(blob.ptr, "SSHSIG", 6);
	p = (const unsigned char *)blob.ptr + 6;
	f->version = get32(p);
	p += 4;
	for (i = 0; i < ARRAY_SIZE(f->part); i++) {
		uint32_t n = get32(p);

		buf_add(&f->part[i], p + 4, n);
		p += 4 + n;
	}
	assert_ptr_equal(p, (const unsigned char *)blob.ptr + blob.len);
	buf_release(&blob);
}

/* Put the fields together, armored; `extra` bytes are appended. */
static void armor_fields(struct buf *out, const struct fields *f,
			 const char *extra)
{
	struct buf blob = BUF_INIT;
	size_t i;

	buf_add(&blob, "SSHSIG", 6);
	put32(&blob, f->version);
	for (i = 0; i < ARRAY_SIZE(f->part); i++)
		put_str(&blob, f->part[i].ptr, f->part[i].len);
	buf_addstr(&blob, extra);
	armor_of(out, blob.ptr, blob.len);
	buf_release(&blob);
}

/* A signature field (type, bytes) with the type replaced. */
static void set_sig_type(struct fields *f, const char *type)
{
	struct buf sig = BUF_INIT;
	const unsigned char *p = (const unsigned char *)f->part[4].ptr;
	uint32_t n = get32(p);

	put_str(&sig, type, strlen(type));
	buf_add(&sig, p + 4 + n, f->part[4].len - 4 - n);
	buf_reset(&f->part[4]);
	buf_add(&f->part[4], sig.ptr, sig.len);
	buf_release(&sig);
}

static enum sshsig_result check_armor(const struct buf *armor,
				      struct sshsig_verdict *v)
{
	return sshsig_check(signers, armor->ptr, armor->len, message.ptr,
			    message.len, "ed25519@example.com", 1700000000,
			    v);
}

/* ---- every key type, good and bad ------------------------------------ */

static void test_sshsig__valid_every_key(void **state)
{
	struct sshsig_verdict v;
	char sig[64], email[64], fp[SSHSIG_FINGERPRINT_MAX], want[256];
	size_t i;

	(void)state;
	assert_int_equal(sshsig_signers_count(signers), ARRAY_SIZE(keys));
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		snprintf(sig, sizeof(sig), "%s.sig", keys[i]);
		snprintf(email, sizeof(email), "%s@example.com", keys[i]);
		fingerprint_of(fp, sizeof(fp), keys[i]);
		assert_int_equal(check_file(signers, sig, email, 1700000000,
					    &v), SSHSIG_VALID);
		assert_int_equal(v.result, SSHSIG_VALID);
		assert_string_equal(v.fingerprint, fp);
		assert_int_equal(v.line, i + 1);
		assert_string_equal(v.principals, email);
		snprintf(want, sizeof(want), "good signature by '%s' with %s "
			 "key %s", email, v.key_type, fp);
		assert_string_equal(v.message, want);
	}
	assert_int_equal(check_file(signers, "ed25519-sha256.sig",
				    "ed25519@example.com", 1700000000, &v),
			 SSHSIG_VALID);
	assert_string_equal(v.key_type, "ED25519");
	check_file(signers, "rsa.sig", "rsa@example.com", 0, &v);
	assert_string_equal(v.key_type, "RSA");
	check_file(signers, "ecdsa384.sig", "ecdsa384@example.com", 0, &v);
	assert_string_equal(v.key_type, "ECDSA");
}

static void test_sshsig__unknown_key(void **state)
{
	struct sshsig_verdict v;
	char fp[SSHSIG_FINGERPRINT_MAX], want[256];

	(void)state;
	fingerprint_of(fp, sizeof(fp), "other");
	assert_int_equal(check_file(signers, "other.sig", "other@example.com",
				    1700000000, &v), SSHSIG_UNKNOWN_KEY);
	assert_string_equal(v.fingerprint, fp);
	assert_int_equal(v.line, 0);
	snprintf(want, sizeof(want), "ED25519 key %s is not an allowed "
		 "signer (add it to the allowed signers to accept it)", fp);
	assert_string_equal(v.message, want);
	/* another key's signature for a listed email is no better */
	assert_int_equal(check_file(signers, "other.sig",
				    "ed25519@example.com", 1700000000, &v),
			 SSHSIG_UNKNOWN_KEY);
}

static void test_sshsig__tampered_data(void **state)
{
	struct sshsig_verdict v;
	struct buf armor = BUF_INIT, data = BUF_INIT;
	char sig[64], email[64];
	size_t i, at;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		snprintf(sig, sizeof(sig), "%s.sig", keys[i]);
		snprintf(email, sizeof(email), "%s@example.com", keys[i]);
		fixture(&armor, sig);
		for (at = 0; at < message.len; at += message.len / 3) {
			buf_reset(&data);
			buf_add(&data, message.ptr, message.len);
			data.ptr[at] ^= 1;
			assert_int_equal(sshsig_check(signers, armor.ptr,
						      armor.len, data.ptr,
						      data.len, email,
						      1700000000, &v),
					 SSHSIG_BAD_SIGNATURE);
			assert_non_null(strstr(v.message, "bad signature"));
		}
		/* one byte more, one less */
		assert_int_equal(sshsig_check(signers, armor.ptr, armor.len,
					      message.ptr, message.len - 1,
					      email, 1700000000, &v),
				 SSHSIG_BAD_SIGNATURE);
		buf_reset(&data);
		buf_add(&data, message.ptr, message.len);
		buf_addch(&data, '\n');
		assert_int_equal(sshsig_check(signers, armor.ptr, armor.len,
					      data.ptr, data.len, email,
					      1700000000, &v),
				 SSHSIG_BAD_SIGNATURE);
	}
	buf_release(&armor);
	buf_release(&data);
}

static void test_sshsig__tampered_signature(void **state)
{
	struct sshsig_verdict v;
	struct fields f;
	struct buf armor = BUF_INIT;
	size_t i;
	char sig[64];

	(void)state;
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		snprintf(sig, sizeof(sig), "%s.sig", keys[i]);
		fields_of(&f, sig);
		/* the last byte of the signature itself */
		f.part[4].ptr[f.part[4].len - 1] ^= 0x01;
		armor_fields(&armor, &f, "");
		assert_int_equal(sshsig_check(signers, armor.ptr, armor.len,
					      message.ptr, message.len,
					      keys[i], 0, &v),
				 SSHSIG_BAD_SIGNATURE);
		fields_release(&f);
		/* the reserved field is signed too */
		fields_of(&f, sig);
		buf_addstr(&f.part[2], "x");
		armor_fields(&armor, &f, "");
		assert_int_equal(sshsig_check(signers, armor.ptr, armor.len,
					      message.ptr, message.len,
					      keys[i], 0, &v),
				 SSHSIG_BAD_SIGNATURE);
		fields_release(&f);
	}
	buf_release(&armor);
}

static void test_sshsig__wrong_namespace(void **state)
{
	struct sshsig_verdict v;

	(void)state;
	assert_int_equal(check_file(signers, "file.sig", "ed25519@example.com",
				    1700000000, &v), SSHSIG_WRONG_NAMESPACE);
	assert_string_equal(v.message, "signed in the namespace 'file', not "
			    "'git' (sign commits with git commit -S)");
}

static void test_sshsig__not_ssh(void **state)
{
	static const char pgp[] = "-----BEGIN PGP SIGNATURE-----\n\n"
		"iQEzBAABCAAdFiEE\n-----END PGP SIGNATURE-----\n";
	static const char x509[] = "-----BEGIN SIGNED MESSAGE-----\n"
		"MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG\n"
		"-----END SIGNED MESSAGE-----\n";
	struct sshsig_verdict v;

	(void)state;
	assert_int_equal(sshsig_check(signers, pgp, strlen(pgp), "x", 1,
				      "a@b", 0, &v), SSHSIG_NOT_SSH);
	assert_string_equal(v.message, "a GPG signature: only SSH signatures "
			    "are accepted (sign with git -c gpg.format=ssh "
			    "commit -S)");
	assert_int_equal(sshsig_check(signers, x509, strlen(x509), "x", 1,
				      "a@b", 0, &v), SSHSIG_NOT_SSH);
	assert_string_equal(v.message, "an X.509 signature: only SSH "
			    "signatures are accepted (sign with git -c "
			    "gpg.format=ssh commit -S)");
	assert_int_equal(sshsig_check(signers, "-----BEGIN FOO-----\n", 20,
				      "x", 1, "a@b", 0, &v), SSHSIG_NOT_SSH);
	assert_string_equal(sshsig_result_str(SSHSIG_NOT_SSH),
			    "not an SSH signature");
}

static void test_sshsig__not_signed(void **state)
{
	struct sshsig_verdict v;

	(void)state;
	assert_int_equal(sshsig_check(signers, NULL, 0, "x", 1, "a@b", 0, &v),
			 SSHSIG_NOT_SIGNED);
	assert_string_equal(v.message, "the commit is not signed (sign it "
			    "with git -c gpg.format=ssh commit -S)");
	assert_int_equal(sshsig_check(signers, "", 0, "x", 1, "a@b", 0, &v),
			 SSHSIG_NOT_SIGNED);
	assert_string_equal(sshsig_result_str(SSHSIG_NOT_SIGNED),
			    "not signed");
}

/* ---- hostile signatures ---------------------------------------------- */

static void test_sshsig__garbage(void **state)
{
	static const struct {
		const char *armor;
		enum sshsig_result want;
		const char *message;
	} cases[] = {
		{ "garbage", SSHSIG_MALFORMED, "malformed signature: it does "
		  "not start with '-----BEGIN SSH SIGNATURE-----'" },
		{ "-----BEGIN SSH SIGNATURE-----", SSHSIG_MALFORMED,
		  "malformed signature: no line end after "
		  "'-----BEGIN SSH SIGNATURE-----'" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n",
		  SSHSIG_MALFORMED, "malformed signature: no "
		  "'-----END SSH SIGNATURE-----' line" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NI*0lH\n"
		  "-----END SSH SIGNATURE-----\n", SSHSIG_MALFORMED,
		  "malformed signature: invalid base64" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1N=IU0lH\n"
		  "-----END SSH SIGNATURE-----\n", SSHSIG_MALFORMED,
		  "malformed signature: invalid base64" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NIU\n"
		  "-----END SSH SIGNATURE-----\n", SSHSIG_MALFORMED,
		  "malformed signature: invalid base64" },
		{ "-----BEGIN SSH SIGNATURE-----\n====\n"
		  "-----END SSH SIGNATURE-----\n", SSHSIG_MALFORMED,
		  "malformed signature: invalid base64" },
		{ "-----BEGIN SSH SIGNATURE-----\n\n"
		  "-----END SSH SIGNATURE-----\n", SSHSIG_MALFORMED,
		  "malformed signature: no SSHSIG magic" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n"
		  "-----END SSH SIGNATURE-----\n", SSHSIG_MALFORMED,
		  "malformed signature: truncated" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n"
		  "-----END SSH SIGNATURE-----\n", SSHSIG_MALFORMED,
		  "malformed signature: truncated" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAv////8=\n"
		  "-----END SSH SIGNATURE-----\n", SSHSIG_UNSUPPORTED,
		  "unsupported SSH signature version 2 (only 1 is known)" },
		/* a length of 4 GB - 1 */
		{ "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAf////8=\n"
		  "-----END SSH SIGNATURE-----\n", SSHSIG_MALFORMED,
		  "malformed signature: truncated" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n"
		  "-----END SSH SIGNATURE-----\nmore", SSHSIG_MALFORMED,
		  "malformed signature: text after "
		  "'-----END SSH SIGNATURE-----'" },
		{ "\x01\x02\x03", SSHSIG_MALFORMED, NULL },
	};
	struct sshsig_verdict v;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		enum sshsig_result r;

		r = sshsig_check(signers, cases[i].armor,
				 strlen(cases[i].armor), "x", 1, "a@b", 0, &v);
		if (r != cases[i].want)
			fail_msg("case %zu: %s (%s)", i,
				 sshsig_result_str(r), v.message);
		if (cases[i].message)
			assert_string_equal(v.message, cases[i].message);
	}
}

static void test_sshsig__too_big(void **state)
{
	struct sshsig_verdict v;
	char *big = malloc(SSHSIG_ARMOR_MAX + 1);

	(void)state;
	memset(big, 'A', SSHSIG_ARMOR_MAX + 1);
	assert_int_equal(sshsig_check(signers, big, SSHSIG_ARMOR_MAX + 1, "x",
				      1, "a@b", 0, &v), SSHSIG_MALFORMED);
	assert_string_equal(v.message, "malformed signature: larger than "
			    "65536 bytes");
	free(big);
}

/* Every prefix of a good blob, and of its armor, is refused cleanly. */
static void test_sshsig__truncations(void **state)
{
	struct sshsig_verdict v;
	struct buf blob = BUF_INIT, armor = BUF_INIT, text = BUF_INIT;
	char sig[64], email[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		snprintf(sig, sizeof(sig), "%s.sig", keys[i]);
		snprintf(email, sizeof(email), "%s@example.com", keys[i]);
		blob_of(&blob, sig);
		for (n = 0; n < blob.len; n++) {
			armor_of(&armor, blob.ptr, n);
			assert_int_equal(sshsig_check(signers, armor.ptr,
						      armor.len, message.ptr,
						      message.len, email, 0,
						      &v), SSHSIG_MALFORMED);
		}
		armor_of(&armor, blob.ptr, blob.len);
		assert_int_equal(sshsig_check(signers, armor.ptr, armor.len,
					      message.ptr, message.len, email,
					      0, &v), SSHSIG_VALID);
		/* the armor, up to its END line without the line end */
		fixture(&text, sig);
		assert_int_equal(text.ptr[text.len - 1], '\n');
		for (n = 0; n < text.len - 1; n++) {
			enum sshsig_result r;

			r = sshsig_check(signers, text.ptr, n, message.ptr,
					 message.len, email, 0, &v);
			assert_int_not_equal(r, SSHSIG_VALID);
		}
	}
	buf_release(&blob);
	buf_release(&armor);
	buf_release(&text);
}

static void test_sshsig__crafted(void **state)
{
	struct sshsig_verdict v;
	struct fields f;
	struct buf armor = BUF_INIT;

	(void)state;
	/* as made: valid */
	fields_of(&f, "ed25519.sig");
	armor_fields(&armor, &f, "");
	assert_int_equal(check_armor(&armor, &v), SSHSIG_VALID);
	/* trailing bytes */
	armor_fields(&armor, &f, "x");
	assert_int_equal(check_armor(&armor, &v), SSHSIG_MALFORMED);
	assert_string_equal(v.message, "malformed signature: trailing bytes");
	/* a SHA-1 hash */
	buf_reset(&f.part[3]);
	buf_addstr(&f.part[3], "sha1");
	armor_fields(&armor, &f, "");
	assert_int_equal(check_armor(&armor, &v), SSHSIG_UNSUPPORTED);
	assert_string_equal(v.message, "unsupported signature: hash algorithm "
			    "'sha1' (only sha256 and sha512)");
	fields_release(&f);
	/* a signature type that is not the key's */
	fields_of(&f, "ed25519.sig");
	set_sig_type(&f, "ecdsa-sha2-nistp256");
	armor_fields(&armor, &f, "");
	assert_int_equal(check_armor(&armor, &v), SSHSIG_MALFORMED);
	assert_string_equal(v.message, "malformed signature: a "
			    "'ecdsa-sha2-nistp256' signature with a "
			    "ssh-ed25519 key");
	fields_release(&f);
	/* the key of a security key */
	fields_of(&f, "ed25519.sig");
	buf_reset(&f.part[0]);
	put_str(&f.part[0], "sk-ssh-ed25519@openssh.com", 26);
	armor_fields(&armor, &f, "");
	assert_int_equal(check_armor(&armor, &v), SSHSIG_UNSUPPORTED);
	assert_string_equal(v.message, "unsupported signature: its key type "
			    "'sk-ssh-ed25519@openssh.com' is not supported "
			    "(use ssh-ed25519, ecdsa-sha2-nistp* or ssh-rsa)");
	fields_release(&f);
	/* a namespace with control characters is shown safely */
	fields_of(&f, "ed25519.sig");
	buf_reset(&f.part[1]);
	buf_addstr(&f.part[1], "g\nit");
	armor_fields(&armor, &f, "");
	assert_int_equal(check_armor(&armor, &v), SSHSIG_WRONG_NAMESPACE);
	assert_string_equal(v.message, "signed in the namespace 'g?it', not "
			    "'git' (sign commits with git commit -S)");
	fields_release(&f);
	/* RSA: SHA-1 refused, SHA-256 accepted for the key type */
	fields_of(&f, "rsa.sig");
	set_sig_type(&f, "ssh-rsa");
	armor_fields(&armor, &f, "");
	assert_int_equal(sshsig_check(signers, armor.ptr, armor.len,
				      message.ptr, message.len,
				      "rsa@example.com", 0, &v),
			 SSHSIG_UNSUPPORTED);
	assert_string_equal(v.message, "unsupported signature: ssh-rsa "
			    "signatures use SHA-1 (sign with rsa-sha2-512, "
			    "as ssh-keygen does)");
	/* rsa-sha2-256 over a SHA-512 signature: parsed, does not verify */
	set_sig_type(&f, "rsa-sha2-256");
	armor_fields(&armor, &f, "");
	assert_int_equal(sshsig_check(signers, armor.ptr, armor.len,
				      message.ptr, message.len,
				      "rsa@example.com", 0, &v),
			 SSHSIG_BAD_SIGNATURE);
	fields_release(&f);
	/* an ECDSA signature whose (r, s) has trailing bytes */
	fields_of(&f, "ecdsa256.sig");
	{
		unsigned char *p = (unsigned char *)f.part[4].ptr;
		uint32_t tlen = get32(p), slen = get32(p + 4 + tlen);

		buf_addch(&f.part[4], 0);
		p = (unsigned char *)f.part[4].ptr + 4 + tlen;
		slen++;
		p[0] = (unsigned char)(slen >> 24);
		p[1] = (unsigned char)(slen >> 16);
		p[2] = (unsigned char)(slen >> 8);
		p[3] = (unsigned char)slen;
	}
	armor_fields(&armor, &f, "");
	assert_int_equal(sshsig_check(signers, armor.ptr, armor.len,
				      message.ptr, message.len,
				      "ecdsa256@example.com", 0, &v),
			 SSHSIG_BAD_SIGNATURE);
	fields_release(&f);
	buf_release(&armor);
}

/* ---- allowed-signers lines -------------------------------------------- */

/* The "ssh-ed25519 AAAA..." of a fixture key. */
static void key_text(struct buf *out, const char *key)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.pub", key);
	fixture(out, name);
	/* keep the type and the base64, drop the comment */
	buf_truncate(out, (size_t)(strchr(strchr(out->ptr, ' ') + 1, ' ') -
				   out->ptr));
}

/*
 * Signers from lines whose "KEY" is replaced by the ed25519 key (and
 * "OTHER" by other's); the test fails if they do not load.
 */
static struct sshsig_signers *signers_of(const char *lines)
{
	struct buf text = BUF_INIT, ed = BUF_INIT, other = BUF_INIT;
	struct sshsig_signers *s = NULL;
	const char *p;

	key_text(&ed, "ed25519");
	key_text(&other, "other");
	for (p = lines; *p; p++) {
		if (!strncmp(p, "KEY", 3)) {
			buf_add(&text, ed.ptr, ed.len);
			p += 2;
		} else if (!strncmp(p, "OTHER", 5)) {
			buf_add(&text, other.ptr, other.len);
			p += 4;
		} else {
			buf_addch(&text, *p);
		}
	}
	assert_ok(sshsig_signers_parse(&s, "signers", text.ptr, text.len,
				       NULL));
	buf_release(&text);
	buf_release(&ed);
	buf_release(&other);
	return s;
}

/* The result for ed25519.sig from `email` at `when` with these lines. */
static enum sshsig_result with(const char *lines, const char *email,
			       int64_t when, struct sshsig_verdict *v)
{
	struct sshsig_signers *s = signers_of(lines);
	enum sshsig_result r;

	r = check_file(s, "ed25519.sig", email, when, v);
	sshsig_signers_free(s);
	return r;
}

static void test_sshsig__principals(void **state)
{
	static const struct {
		const char *lines;
		const char *email;
		enum sshsig_result want;
		size_t line;
	} cases[] = {
		{ "a@x KEY\n", "a@x", SSHSIG_VALID, 1 },
		{ "a@x KEY\n", "b@x", SSHSIG_NOT_ALLOWED, 1 },
		{ "a@x KEY\n", "A@x", SSHSIG_NOT_ALLOWED, 1 },
		{ "a@x KEY\n", "", SSHSIG_NOT_ALLOWED, 1 },
		{ "*@example.com KEY\n", "ed25519@example.com",
		  SSHSIG_VALID, 1 },
		{ "*@example.com KEY\n", "ed25519@example.org",
		  SSHSIG_NOT_ALLOWED, 1 },
		{ "*@example.com KEY\n", "x@example.com.evil",
		  SSHSIG_NOT_ALLOWED, 1 },
		{ "?d25519@example.com KEY\n", "ed25519@example.com",
		  SSHSIG_VALID, 1 },
		{ "?d25519@example.com KEY\n", "d25519@example.com",
		  SSHSIG_NOT_ALLOWED, 1 },
		{ "a@x,b@x,c@y KEY\n", "b@x", SSHSIG_VALID, 1 },
		{ "a@x,b@x,c@y KEY\n", "c@x", SSHSIG_NOT_ALLOWED, 1 },
		{ "*@x,!bad@x KEY\n", "good@x", SSHSIG_VALID, 1 },
		{ "*@x,!bad@x KEY\n", "bad@x", SSHSIG_NOT_ALLOWED, 1 },
		/* a negation wins wherever it is */
		{ "!bad@x,*@x KEY\n", "bad@x", SSHSIG_NOT_ALLOWED, 1 },
		{ "!bad@x KEY\n", "good@x", SSHSIG_NOT_ALLOWED, 1 },
		{ "* KEY\n", "anyone@anywhere", SSHSIG_VALID, 1 },
		{ "*a*b*c* KEY\n", "xxaxxbxxcxx", SSHSIG_VALID, 1 },
		{ "*a*b*c* KEY\n", "xxaxxcxxbxx", SSHSIG_NOT_ALLOWED, 1 },
		{ "\"a@x\" KEY\n", "a@x", SSHSIG_VALID, 1 },
		/* the second line with the key allows it */
		{ "# comment\n\na@x KEY\nb@x KEY c\n", "b@x",
		  SSHSIG_VALID, 4 },
		{ "b@x OTHER\na@x KEY\n", "b@x", SSHSIG_NOT_ALLOWED, 2 },
		/* CRLF, leading space, a comment after the key */
		{ "  a@x KEY my laptop\r\n", "a@x", SSHSIG_VALID, 1 },
	};
	struct sshsig_verdict v;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		enum sshsig_result r = with(cases[i].lines, cases[i].email,
					    1700000000, &v);

		if (r != cases[i].want || v.line != cases[i].line)
			fail_msg("case %zu: %s at line %zu (%s)", i,
				 sshsig_result_str(r), v.line, v.message);
	}
	with("a@x,b@x KEY\n", "c@x", 0, &v);
	assert_int_equal(v.result, SSHSIG_NOT_ALLOWED);
	assert_string_equal(v.principals, "a@x,b@x");
	assert_string_equal(strstr(v.message, " may not"), " may not sign for "
			    "the committer 'c@x' (its allowed signers: "
			    "'a@x,b@x')");
}

static void test_sshsig__namespaces(void **state)
{
	static const struct {
		const char *lines;
		enum sshsig_result want;
	} cases[] = {
		{ "e@x namespaces=\"git\" KEY\n", SSHSIG_VALID },
		{ "e@x namespaces=\"file,git\" KEY\n", SSHSIG_VALID },
		{ "e@x NAMESPACES=\"g*\" KEY\n", SSHSIG_VALID },
		{ "e@x namespaces=\"file\" KEY\n", SSHSIG_WRONG_NAMESPACE },
		{ "e@x namespaces=\"!git,*\" KEY\n", SSHSIG_WRONG_NAMESPACE },
		/* a line that allows it beats one that does not */
		{ "e@x namespaces=\"file\" KEY\ne@x KEY\n", SSHSIG_VALID },
	};
	struct sshsig_verdict v;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		enum sshsig_result r = with(cases[i].lines, "e@x", 1700000000,
					    &v);

		if (r != cases[i].want)
			fail_msg("case %zu: %s (%s)", i, sshsig_result_str(r),
				 v.message);
	}
	with("e@x namespaces=\"file\" KEY\n", "e@x", 0, &v);
	assert_string_equal(strstr(v.message, " may not"), " may not sign in "
			    "the namespace 'git' (its allowed signers line "
			    "says namespaces=\"file\")");
}

static void test_sshsig__validity(void **state)
{
	/* 2024-01-01T00:00:00Z and 2024-01-01T12:00:00Z */
	const int64_t jan1 = 1704067200, noon = 1704110400;
	struct sshsig_verdict v;
	const char *tz = getenv("TZ");
	char *saved = tz ? strdup(tz) : NULL;

	(void)state;
	assert_int_equal(with("e@x valid-after=\"20240101Z\" KEY\n", "e@x",
			      jan1, &v), SSHSIG_VALID);
	assert_int_equal(with("e@x valid-after=\"20240101Z\" KEY\n", "e@x",
			      jan1 - 1, &v), SSHSIG_NOT_YET_VALID);
	assert_string_equal(strstr(v.message, " is not"), " is not yet valid "
			    "at the commit's time 2023-12-31 23:59:59Z (valid "
			    "from 2024-01-01 00:00:00Z)");
	assert_int_equal(v.line, 1);
	assert_int_equal(with("e@x valid-before=\"20240101120000Z\" KEY\n",
			      "e@x", noon, &v), SSHSIG_VALID);
	assert_int_equal(with("e@x valid-before=\"20240101120000Z\" KEY\n",
			      "e@x", noon + 1, &v), SSHSIG_EXPIRED);
	assert_string_equal(strstr(v.message, " had"), " had expired at the "
			    "commit's time 2024-01-01 12:00:01Z (valid until "
			    "2024-01-01 12:00:00Z)");
	assert_int_equal(with("e@x valid-before=\"202401011200z\" KEY\n",
			      "e@x", noon + 1, &v), SSHSIG_EXPIRED);
	assert_int_equal(with("e@x valid-after=\"20240101Z\","
			      "valid-before=\"20240101120000Z\" KEY\n", "e@x",
			      noon - 1, &v), SSHSIG_VALID);
	/* an expired line, then a valid one */
	assert_int_equal(with("e@x valid-before=\"20240101Z\" KEY\n"
			      "e@x valid-after=\"20240101Z\" KEY\n", "e@x",
			      noon, &v), SSHSIG_VALID);
	assert_int_equal(v.line, 2);
	/* the email is checked before the time */
	assert_int_equal(with("e@x valid-before=\"20240101Z\" KEY\n", "f@x",
			      noon, &v), SSHSIG_NOT_ALLOWED);
	/* without Z: local time, here two hours behind UTC */
	setenv("TZ", "XXX+2", 1);
	tzset();
	assert_int_equal(with("e@x valid-after=\"20240101\" KEY\n", "e@x",
			      jan1 + 7200, &v), SSHSIG_VALID);
	assert_int_equal(with("e@x valid-after=\"20240101\" KEY\n", "e@x",
			      jan1 + 7199, &v), SSHSIG_NOT_YET_VALID);
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

static void test_sshsig__cert_authority(void **state)
{
	struct sshsig_signers *s = NULL;
	struct buf text = BUF_INIT, key = BUF_INIT;

	(void)state;
	key_text(&key, "ed25519");
	buf_addf(&text, "*@example.com cert-authority %s\n", key.ptr);
	assert_int_equal(sshsig_signers_parse(&s, "signers", text.ptr,
					      text.len, NULL), ERR_INVALID);
	assert_null(s);
	assert_string_equal(error_last(), "signers:1: cert-authority: "
			    "certificates are not supported (list each "
			    "signer's own key)");
	buf_reset(&text);
	buf_addf(&text, "a@x %s\n*@x namespaces=\"git\",cert-authority %s\n",
		 key.ptr, key.ptr);
	assert_int_equal(sshsig_signers_parse(&s, "signers", text.ptr,
					      text.len, NULL), ERR_INVALID);
	assert_string_equal(error_last(), "signers:2: cert-authority: "
			    "certificates are not supported (list each "
			    "signer's own key)");
	buf_release(&text);
	buf_release(&key);
}

static void test_sshsig__parse_errors(void **state)
{
	static const struct {
		const char *lines;
		const char *error;
	} cases[] = {
		{ "a@x\n", "s:1: no key after the principals" },
		{ "\n# c\na@x   \n", "s:3: no key after the principals" },
		{ "\"a@x KEY\n", "s:1: invalid principals (a quote is not "
		  "closed?)" },
		{ "a@x ssh-ed25519\n", "s:1: no key after its type "
		  "'ssh-ed25519'" },
		{ "a@x ssh-ed25519 AAAA*\n", "s:1: invalid base64 in the "
		  "ssh-ed25519 key" },
		{ "a@x ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n", "s:1: the key "
		  "is not a valid Ed25519 key" },
		{ "a@x ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIDKIUw/4uvjxt2lngx7+"
		  "bo32rxcwf2OH3wWUK5FKiBqD\n", "s:1: the key is ssh-ed25519, "
		  "not ssh-rsa" },
		{ "a@x ssh-dss AAAA\n", "s:1: key type 'ssh-dss' is not "
		  "supported (use ssh-ed25519, ecdsa-sha2-nistp256/384/521 "
		  "or ssh-rsa)" },
		{ "a@x sk-ssh-ed25519@openssh.com AAAA\n", "s:1: key type "
		  "'sk-ssh-ed25519@openssh.com' is not supported (use "
		  "ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa)" },
		{ "a@x ssh-ed25519-cert-v01@openssh.com AAAA\n", "s:1: key "
		  "type 'ssh-ed25519-cert-v01@openssh.com' is not supported "
		  "(use ssh-ed25519, ecdsa-sha2-nistp256/384/521 or "
		  "ssh-rsa)" },
		{ "a@x foo=\"bar\" KEY\n", "s:1: unknown option 'foo' (use "
		  "namespaces, valid-after or valid-before)" },
		{ "a@x restrict KEY\n", "s:1: unknown option 'restrict' (use "
		  "namespaces, valid-after or valid-before)" },
		{ "a@x namespaces=git KEY\n", "s:1: an option's value must "
		  "be in double quotes, closed" },
		{ "a@x namespaces=\"git KEY\n", "s:1: a quote is not closed "
		  "in the options" },
		{ "a@x namespaces=\"git\"\n", "s:1: no key after the "
		  "options" },
		{ "a@x namespaces=\"git\",namespaces=\"file\" KEY\n",
		  "s:1: namespaces given twice" },
		{ "a@x namespaces=\"git\", KEY\n", "s:1: invalid options "
		  "'namespaces=\"git\",'" },
		{ "a@x namespaces=\"git\"x KEY\n", "s:1: invalid options "
		  "'namespaces=\"git\"x'" },
		{ "a@x valid-after=\"2024\" KEY\n", "s:1: invalid "
		  "valid-after time '2024' (use YYYYMMDD[HHMM[SS]], Z for "
		  "UTC)" },
		{ "a@x valid-after=\"20240231Z\" KEY\n", "s:1: invalid "
		  "valid-after time '20240231Z' (use YYYYMMDD[HHMM[SS]], Z "
		  "for UTC)" },
		{ "a@x valid-before=\"20241301Z\" KEY\n", "s:1: invalid "
		  "valid-before time '20241301Z' (use YYYYMMDD[HHMM[SS]], Z "
		  "for UTC)" },
		{ "a@x valid-before=\"202401012400Z\" KEY\n", "s:1: invalid "
		  "valid-before time '202401012400Z' (use "
		  "YYYYMMDD[HHMM[SS]], Z for UTC)" },
		{ "a@x valid-before=\"19600101Z\" KEY\n", "s:1: invalid "
		  "valid-before time '19600101Z' (use YYYYMMDD[HHMM[SS]], Z "
		  "for UTC)" },
		{ "a@x valid-before=\"20240101Z\",valid-before=\"20250101Z\" "
		  "KEY\n", "s:1: valid-before given twice" },
		{ "a@x valid-before=\"20240101Z\",valid-after=\"20240101Z\" "
		  "KEY\n", "s:1: valid-before is not after valid-after" },
		{ "a@x KEY\nb@x\0 KEY\n", "s:2: NUL byte in the line" },
	};
	struct sshsig_signers *s;
	struct buf text = BUF_INIT, ed = BUF_INIT;
	size_t i;
	const char *p;

	(void)state;
	key_text(&ed, "ed25519");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = strlen(cases[i].lines);

		/* the NUL case goes on after its NUL */
		if (strstr(cases[i].error, "NUL"))
			len += 1 + strlen(cases[i].lines + len + 1);
		buf_reset(&text);
		for (p = cases[i].lines; p < cases[i].lines + len; p++) {
			if (!strncmp(p, "KEY", 3)) {
				buf_add(&text, ed.ptr, ed.len);
				p += 2;
			} else {
				buf_add(&text, p, 1);
			}
		}
		s = NULL;
		if (sshsig_signers_parse(&s, "s", text.ptr, text.len, NULL) !=
		    ERR_INVALID)
			fail_msg("case %zu: accepted", i);
		assert_null(s);
		if (strcmp(error_last(), cases[i].error))
			fail_msg("case %zu: '%s', not '%s'", i, error_last(),
				 cases[i].error);
	}
	buf_release(&text);
	buf_release(&ed);
}

static void test_sshsig__every_error(void **state)
{
	struct sshsig_signers *s = NULL;
	struct strvec errors = STRVEC_INIT;
	struct buf text = BUF_INIT, ed = BUF_INIT;
	size_t i;

	(void)state;
	key_text(&ed, "ed25519");
	buf_addf(&text, "a@x %s\nb@x\n# fine\nc@x foo=\"1\" %s\nd@x %s\n"
		 "e@x ssh-rsa\n", ed.ptr, ed.ptr, ed.ptr);
	assert_int_equal(sshsig_signers_parse(&s, "f", text.ptr, text.len,
					      &errors), ERR_INVALID);
	assert_int_equal(errors.nr, 3);
	assert_string_equal(errors.v[0], "f:2: no key after the principals");
	assert_string_equal(errors.v[1], "f:4: unknown option 'foo' (use "
			    "namespaces, valid-after or valid-before)");
	assert_string_equal(errors.v[2], "f:6: no key after its type "
			    "'ssh-rsa'");
	assert_string_equal(error_last(), "f:2: no key after the principals "
			    "(and 2 more problems)");
	strvec_clear(&errors);
	/* at most SSHSIG_MAX_ERRORS, then a count */
	buf_reset(&text);
	for (i = 0; i < SSHSIG_MAX_ERRORS + 5; i++)
		buf_addstr(&text, "x\n");
	assert_int_equal(sshsig_signers_parse(&s, "f", text.ptr, text.len,
					      &errors), ERR_INVALID);
	assert_int_equal(errors.nr, SSHSIG_MAX_ERRORS + 1);
	assert_string_equal(errors.v[SSHSIG_MAX_ERRORS], "f: 5 more problems");
	strvec_clear(&errors);
	buf_release(&text);
	buf_release(&ed);
}

static void test_sshsig__limits(void **state)
{
	struct sshsig_signers *s = NULL;
	struct buf text = BUF_INIT, ed = BUF_INIT;
	char *big;

	(void)state;
	key_text(&ed, "ed25519");
	/* a line at the limit, then one past it */
	buf_init(&text, 2 * SSHSIG_LINE_MAX);
	buf_addf(&text, "a@x %s ", ed.ptr);
	while (text.len < SSHSIG_LINE_MAX)
		buf_addch(&text, 'c');
	buf_addch(&text, '\n');
	assert_ok(sshsig_signers_parse(&s, "f", text.ptr, text.len, NULL));
	assert_int_equal(sshsig_signers_count(s), 1);
	sshsig_signers_free(s);
	buf_truncate(&text, text.len - 1);
	buf_addstr(&text, "c\n");
	assert_int_equal(sshsig_signers_parse(&s, "f", text.ptr, text.len,
					      NULL), ERR_TOOBIG);
	assert_string_equal(error_last(), "f:1: line longer than 16384 bytes");
	assert_null(s);
	/* the whole file */
	big = malloc(SSHSIG_FILE_MAX + 1);
	memset(big, '\n', SSHSIG_FILE_MAX + 1);
	assert_ok(sshsig_signers_parse(&s, "f", big, SSHSIG_FILE_MAX, NULL));
	assert_int_equal(sshsig_signers_count(s), 0);
	sshsig_signers_free(s);
	assert_int_equal(sshsig_signers_parse(&s, "f", big,
					      SSHSIG_FILE_MAX + 1, NULL),
			 ERR_TOOBIG);
	assert_string_equal(error_last(), "f: larger than 1048576 bytes: not "
			    "an allowed-signers file");
	free(big);
	buf_release(&text);
	buf_release(&ed);
}

static void test_sshsig__load(void **state)
{
	struct sshsig_signers *s = NULL;
	char path[] = "/tmp/test_sshsig-XXXXXX";
	int fd;

	(void)state;
	assert_int_equal(sshsig_signers_load(&s, "/nonexistent/signers",
					     NULL), ERR_NOTFOUND);
	assert_null(s);
	assert_int_equal(sshsig_signers_load(&s, "/tmp", NULL), ERR_INVALID);
	assert_string_equal(error_last(), "'/tmp' is not a regular file");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a@x\n", 4), 4);
	close(fd);
	assert_int_equal(sshsig_signers_load(&s, path, NULL), ERR_INVALID);
	assert_non_null(strstr(error_last(), ":1: no key after the "
			       "principals"));
	assert_int_equal(strncmp(error_last(), path, strlen(path)), 0);
	unlink(path);
}

/* ---- a commit, through repo ------------------------------------------ */

static void test_sshsig__commit(void **state)
{
	char dir[] = "/tmp/test_sshsig-repo-XXXXXX", cmd[512], line[128];
	struct repo_signature sig = REPO_SIGNATURE_INIT;
	struct sshsig_verdict v;
	struct repo_oid id;
	struct repo *repo = NULL;
	const char *src = getenv("PUSHGATE_SRCDIR");
	FILE *ids;
	int seen = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/fixtures/sshsig/"
		 "commit-repo.sh' '%s/r' >/dev/null 2>&1", src ? src : ".",
		 dir);
	if (system(cmd) != 0)
		fail_msg("commit-repo.sh failed");
	repo_library_init();
	snprintf(cmd, sizeof(cmd), "%s/r", dir);
	assert_ok(repo_open(&repo, cmd));
	snprintf(cmd, sizeof(cmd), "%s/r/ids", dir);
	assert_non_null(ids = fopen(cmd, "r"));
	while (fgets(line, sizeof(line), ids)) {
		char *sp = strchr(line, ' ');

		*sp = '\0';
		sp[1 + REPO_OID_HEXSZ] = '\0';
		assert_ok(repo_oid_from_hex(&id, sp + 1));
		assert_ok(repo_commit_signature(repo, &sig, &id));
		assert_string_equal(sig.email.ptr, "ed25519@example.com");
		sshsig_check(signers, sig.signature.ptr, sig.signature.len,
			     sig.data.ptr, sig.data.len, sig.email.ptr,
			     sig.when, &v);
		if (!strcmp(line, "signed")) {
			assert_true(sig.is_signed);
			assert_true(sig.when > 1700000000);
			assert_int_equal(v.result, SSHSIG_VALID);
			/* the signed text has no gpgsig header */
			assert_null(strstr(sig.data.ptr, "gpgsig"));
			assert_int_equal(strncmp(sig.data.ptr, "tree ", 5), 0);
		} else if (!strcmp(line, "unsigned")) {
			assert_false(sig.is_signed);
			assert_int_equal(sig.signature.len, 0);
			assert_int_equal(v.result, SSHSIG_NOT_SIGNED);
		} else {
			assert_true(sig.is_signed);
			assert_int_equal(sig.when, 1700000000);
			assert_int_equal(v.result, SSHSIG_NOT_SSH);
			assert_int_equal(strncmp(v.message, "a GPG signature: "
						 "only SSH signatures are "
						 "accepted", 49), 0);
		}
		seen++;
	}
	fclose(ids);
	assert_int_equal(seen, 3);
	/* a missing commit */
	memset(&id, 0x11, sizeof(id));
	assert_int_equal(repo_commit_signature(repo, &sig, &id), ERR_NOTFOUND);
	repo_signature_release(&sig);
	repo_free(repo);
	repo_library_shutdown();
	assert_ok(fsutil_remove_tree(dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sshsig__valid_every_key),
		cmocka_unit_test(test_sshsig__unknown_key),
		cmocka_unit_test(test_sshsig__tampered_data),
		cmocka_unit_test(test_sshsig__tampered_signature),
		cmocka_unit_test(test_sshsig__wrong_namespace),
		cmocka_unit_test(test_sshsig__not_ssh),
		cmocka_unit_test(test_sshsig__not_signed),
		cmocka_unit_test(test_sshsig__garbage),
		cmocka_unit_test(test_sshsig__too_big),
		cmocka_unit_test(test_sshsig__truncations),
		cmocka_unit_test(test_sshsig__crafted),
		cmocka_unit_test(test_sshsig__principals),
		cmocka_unit_test(test_sshsig__namespaces),
		cmocka_unit_test(test_sshsig__validity),
		cmocka_unit_test(test_sshsig__cert_authority),
		cmocka_unit_test(test_sshsig__parse_errors),
		cmocka_unit_test(test_sshsig__every_error),
		cmocka_unit_test(test_sshsig__limits),
		cmocka_unit_test(test_sshsig__load),
		cmocka_unit_test(test_sshsig__commit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
