#ifndef DIGEST_H
#define DIGEST_H

#include <stddef.h>
#include <stdint.h>

/*
 * Content ids: the git blob id (SHA-1 of "blob LEN" NUL and the bytes),
 * as 40 lowercase hex digits, of bytes in memory or read from a file
 * descriptor in bounded chunks. The id a file has in a commit's tree is
 * the id it gets here, so built artifacts and plain trees are described
 * alike (see manifest.h). Through libcrypto, which libssh2 links
 * already.
 */

#define DIGEST_HEX 40

/* The blob id of `len` bytes of `data` into `out`. */
void digest_blob(char out[DIGEST_HEX + 1], const void *data, size_t len);

/*
 * The blob id of the next `size` bytes read from `fd`. ERR_SYS if the
 * file ends before (it changed while read) or cannot be read.
 */
int digest_blob_fd(char out[DIGEST_HEX + 1], int fd, uint64_t size);

/*
 * A plain SHA-1 (as sha1sum(1) prints it) of bytes given in any number
 * of pieces: digest_new(), digest_add()..., digest_end() (which frees).
 */
struct digest;

struct digest *digest_new(void);
void digest_add(struct digest *d, const void *data, size_t len);
void digest_end(struct digest *d, char out[DIGEST_HEX + 1]);

#endif
