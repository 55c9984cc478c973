#include "digest.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "errors.h"

/* Bytes read from a descriptor at a time. */
#define CHUNK (64 * 1024)

static void to_hex(char out[DIGEST_HEX + 1], const unsigned char *md)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < DIGEST_HEX / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[DIGEST_HEX] = '\0';
}

static EVP_MD_CTX *start(uint64_t size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char head[32];
	int n;

	if (!ctx)
		BUG("digest: out of memory");
	n = snprintf(head, sizeof(head), "blob %llu",
		     (unsigned long long)size);
	if (!EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) ||
	    !EVP_DigestUpdate(ctx, head, (size_t)n + 1))
		BUG("digest: SHA-1 unavailable");
	return ctx;
}

static void finish(EVP_MD_CTX *ctx, char out[DIGEST_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (!EVP_DigestFinal_ex(ctx, md, &len) || len != DIGEST_HEX / 2)
		BUG("digest: SHA-1 failed");
	EVP_MD_CTX_free(ctx);
	to_hex(out, md);
}

void digest_blob(char out[DIGEST_HEX + 1], const void *data, size_t len)
{
	EVP_MD_CTX *ctx = start(len);

	if (len && !EVP_DigestUpdate(ctx, data, len))
		BUG("digest: SHA-1 failed");
	finish(ctx, out);
}

int digest_blob_fd(char out[DIGEST_HEX + 1], int fd, uint64_t size)
{
	static unsigned char chunk[CHUNK];
	EVP_MD_CTX *ctx = start(size);
	uint64_t left = size;

	while (left) {
		ssize_t n = read(fd, chunk, left < CHUNK ? (size_t)left : CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			EVP_MD_CTX_free(ctx);
			return n < 0 ? error_set_errno(ERR_SYS, "cannot read") :
			       error_set(ERR_SYS, "the file changed while read");
		}
		if (!EVP_DigestUpdate(ctx, chunk, (size_t)n))
			BUG("digest: SHA-1 failed");
		left -= (uint64_t)n;
	}
	finish(ctx, out);
	return 0;
}

struct digest *digest_new(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL))
		BUG("digest: SHA-1 unavailable");
	return (struct digest *)ctx;
}

void digest_add(struct digest *d, const void *data, size_t len)
{
	if (len && !EVP_DigestUpdate((EVP_MD_CTX *)d, data, len))
		BUG("digest: SHA-1 failed");
}

void digest_end(struct digest *d, char out[DIGEST_HEX + 1])
{
	finish((EVP_MD_CTX *)d, out);
}
