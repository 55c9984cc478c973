#ifndef SSHSIG_H
#define SSHSIG_H

#include <stddef.h>
#include <stdint.h>

/*
 * SSH signatures of commits, checked in process (SPEC §14 `[verify]
 * signatures`): an OpenSSH allowed-signers file (ssh-keygen(1), "ALLOWED
 * SIGNERS") read once, then any number of armored SSHSIG signatures
 * (OpenSSH's PROTOCOL.sshsig, as `git commit -S` makes them with
 * gpg.format=ssh) checked against it, each for the committer's email and
 * the commit's committer time, as `git verify-commit` does with
 * gpg.ssh.allowedSignersFile.
 *
 * Keys: ssh-ed25519, ecdsa-sha2-nistp256/384/521 and ssh-rsa, whose
 * signatures must be rsa-sha2-256 or rsa-sha2-512 (SHA-1 "ssh-rsa"
 * signatures are refused). No certificates, no security keys (sk-*).
 *
 * A signature that does not pass is a result, not an error: everything
 * in it comes from whoever pushed, so each way it can fail is an enum
 * value with a message made for the pusher. Only a missing or invalid
 * allowed-signers file is an error. Nothing here prints.
 */

struct sshsig_signers;
struct strvec;

/* Largest allowed-signers file read, and its longest line. */
#define SSHSIG_FILE_MAX (1024 * 1024)
#define SSHSIG_LINE_MAX (16 * 1024)
/* Errors kept by sshsig_signers_load(); the rest are counted. */
#define SSHSIG_MAX_ERRORS 100
/* Largest armored signature read (an RSA-16384 one is ~5 KB). */
#define SSHSIG_ARMOR_MAX (64 * 1024)
/* The namespace every commit signature must carry (git's). */
#define SSHSIG_NAMESPACE "git"

/* Room for the texts of a verdict, NUL included. */
#define SSHSIG_FINGERPRINT_MAX 64	/* "SHA256:" + 43 base64 digits */
#define SSHSIG_KEYTYPE_MAX 16		/* "ED25519", "ECDSA", "RSA" */
#define SSHSIG_PRINCIPALS_MAX 128	/* clipped, then "..." */
#define SSHSIG_MESSAGE_MAX 512

enum sshsig_result {
	SSHSIG_VALID,		/* good, by a key allowed for the email */
	SSHSIG_NOT_SIGNED,	/* no signature at all */
	SSHSIG_NOT_SSH,		/* a GPG or X.509 signature */
	SSHSIG_MALFORMED,	/* not a well-formed SSH signature */
	SSHSIG_BAD_SIGNATURE,	/* an allowed key, but it does not verify */
	SSHSIG_UNKNOWN_KEY,	/* the key is in no allowed-signers line */
	SSHSIG_NOT_ALLOWED,	/* known key, not for this email */
	SSHSIG_EXPIRED,		/* commit time after valid-before */
	SSHSIG_NOT_YET_VALID,	/* commit time before valid-after */
	SSHSIG_WRONG_NAMESPACE,	/* not "git", or a namespaces= refusing it */
	SSHSIG_UNSUPPORTED	/* key type, hash or signature algorithm */
};

/*
 * What sshsig_check() found. Every text is one line of printable
 * characters (text from the signature or the commit is clipped and its
 * control characters shown as '?'), "" when it does not apply.
 */
struct sshsig_verdict {
	enum sshsig_result result;
	/*
	 * "good signature by 'EMAIL' with ED25519 key SHA256:...", or why
	 * not, naming the key and what to do.
	 */
	char message[SSHSIG_MESSAGE_MAX];
	/* The signing key, once the signature could be parsed that far. */
	char key_type[SSHSIG_KEYTYPE_MAX];
	char fingerprint[SSHSIG_FINGERPRINT_MAX];
	/*
	 * The allowed-signers line that decided (VALID, NOT_ALLOWED,
	 * EXPIRED, NOT_YET_VALID, a namespaces= refusal), 0 otherwise, and
	 * its principals as written.
	 */
	size_t line;
	char principals[SSHSIG_PRINCIPALS_MAX + 4];
};

/*
 * Read the allowed-signers file `path`: lines of
 *
 *	PRINCIPALS [OPTIONS] KEYTYPE BASE64-KEY [COMMENT]
 *
 * where PRINCIPALS is a comma-separated list of patterns matched against
 * the committer's email (`*` and `?` wildcards; a pattern starting with
 * `!` that matches refuses the line whatever else matches; case matters,
 * as in OpenSSH), and OPTIONS a comma-separated list of
 * namespaces="PATTERN,..." (must match "git"), valid-after="TIME" and
 * valid-before="TIME", TIME being YYYYMMDD[HHMM[SS]] in local time or
 * with a final Z in UTC (OpenSSH's rule); the commit must be from
 * valid-after to valid-before, both included. cert-authority lines are
 * refused (certificates are not supported), as are unknown options and
 * key types other than those above. Blank lines and lines starting with
 * '#' are skipped.
 *
 * Every problem is an "PATH:LINE: message" appended to `errors` (NULL:
 * not kept; at most SSHSIG_MAX_ERRORS, then one line counting the rest),
 * and the file is then refused: ERR_INVALID, with the first problem as
 * error_last(). ERR_TOOBIG past SSHSIG_FILE_MAX bytes or a line past
 * SSHSIG_LINE_MAX, ERR_NOTFOUND if the file does not exist, ERR_SYS /
 * ERR_INVALID if it cannot be read or is not a regular file. A file
 * without any key is valid (and then every signature is UNKNOWN_KEY).
 * *out is the caller's, to free with sshsig_signers_free().
 */
int sshsig_signers_load(struct sshsig_signers **out, const char *path,
			struct strvec *errors);

/*
 * The same from `len` bytes of text already in memory; `name` stands for
 * the path in messages.
 */
int sshsig_signers_parse(struct sshsig_signers **out, const char *name,
			 const char *text, size_t len, struct strvec *errors);

/* How many keys (lines) were read. */
size_t sshsig_signers_count(const struct sshsig_signers *signers);

/* Free; NULL is allowed. */
void sshsig_signers_free(struct sshsig_signers *signers);

/*
 * Check the armored signature `armored` (`len` bytes, as in the commit's
 * gpgsig header; NULL or empty: not signed) of `data` (the commit
 * without that header) for the committer `email` (NUL-terminated) at
 * `when` (the committer time, seconds since the epoch), and fill `out`.
 *
 * The key is looked up before any cryptography, so only keys of the
 * allowed-signers file are ever used to verify: an unknown key costs a
 * parse and a hash of its blob. A key on several lines is VALID when one
 * line allows it; otherwise the verdict names the line that came
 * closest (email matched, then namespaces, then time). Returns
 * out->result; cannot fail.
 */
enum sshsig_result sshsig_check(const struct sshsig_signers *signers,
				const char *armored, size_t len,
				const void *data, size_t data_len,
				const char *email, int64_t when,
				struct sshsig_verdict *out);

/* A short name of a result ("valid", "unknown key", ...), for records. */
const char *sshsig_result_str(enum sshsig_result result);

#endif
