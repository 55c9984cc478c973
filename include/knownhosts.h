#ifndef KNOWNHOSTS_H
#define KNOWNHOSTS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The OpenSSH known_hosts file, as seen for one host: which key types it
 * holds for the host, whether it holds the very key a server presents,
 * and adding that key (for `pushgate trust`). Also the names and
 * fingerprints of host keys, as OpenSSH shows them. Key blobs are the
 * SSH wire form ("ssh-ed25519" + key), as the server sends them.
 */

struct knownhosts;
struct buf;

/* Longest fingerprint text: "SHA256:" + 43 base64 characters. */
#define KNOWNHOSTS_FINGERPRINT_MAX 64
/* Largest known_hosts file read, and its longest line. */
#define KNOWNHOSTS_FILE_MAX (16 * 1024 * 1024)
#define KNOWNHOSTS_LINE_MAX (16 * 1024)

enum knownhosts_match {
	KNOWNHOSTS_NOTFOUND,	/* no entry of this key type for the host */
	KNOWNHOSTS_MATCH,	/* an entry holds this very key */
	KNOWNHOSTS_CHANGED	/* entries hold another key of this type */
};

/*
 * Read the known_hosts file `path` (NULL: none) for `host` (name or
 * address, IPv6 without brackets) and `port`; `label` ("host:port")
 * names the host in messages. A missing file is an empty one. Lines that
 * cannot be parsed (markers such as @cert-authority, key types libssh2
 * does not know) are skipped: they can only make a key unknown, never
 * accept one. ERR_SYS / ERR_INVALID when the file cannot be read or is
 * not a regular file, ERR_TOOBIG past KNOWNHOSTS_FILE_MAX. Free with
 * knownhosts_free().
 */
int knownhosts_load(struct knownhosts **out, const char *path,
		    const char *host, unsigned port, const char *label);

/* Free; NULL is allowed. */
void knownhosts_free(struct knownhosts *kh);

/*
 * Append to `out` the host key algorithms to ask the server for, comma
 * separated: those of the key types the file holds for the host first
 * (as OpenSSH does, so that a server with several keys presents the one
 * we know), then the others (an unknown key is then reported, rather
 * than a failed key exchange). Only names in `supported` (the `n`
 * algorithms the SSH library offers) are used; DSA never is. ERR_GENERIC
 * if none is left.
 */
int knownhosts_algorithms(struct buf *out, const struct knownhosts *kh,
			  const char *const *supported, size_t n);

/* Whether `key` is of a type we accept (see knownhosts_algorithms()). */
bool knownhosts_key_supported(const void *key, size_t len);

/*
 * Look `key` (of a supported type) up for the host. ERR_GENERIC if the
 * lookup itself failed.
 */
int knownhosts_check(enum knownhosts_match *out, const struct knownhosts *kh,
		     const void *key, size_t len);

/*
 * Add `key` (of a supported type) for the host to the file loaded, which
 * is then rewritten atomically (mode 0600; its directory is created,
 * mode 0700, if missing): every line as it was (comments, hashed
 * entries, lines libssh2 does not understand), except those holding
 * another key of the same type for this very name, plus one line for
 * the key. The host is named "host" for port 22, else "[host]:port".
 */
int knownhosts_add(struct knownhosts *kh, const void *key, size_t len);

/*
 * The key type named at the start of `key` ("ssh-ed25519"), else
 * "unknown", into `out` (NUL-terminated, cut to `size`).
 */
void knownhosts_key_type(char *out, size_t size, const void *key,
			 size_t len);

/*
 * OpenSSH's form of a SHA-256 digest of a key, "SHA256:" + unpadded
 * base64, into `out` (KNOWNHOSTS_FINGERPRINT_MAX bytes suffice).
 */
void knownhosts_fingerprint(char *out, size_t size,
			    const unsigned char sha256[32]);

#endif
