#ifndef EXITMARK_H
#define EXITMARK_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The exit marker of a remote command. The command runs in a subshell,
 * after which the shell prints a marker holding a nonce and the
 * subshell's exit status. Finding the marker in the output tells that
 * the command itself has exited, and how, even while a process it
 * started keeps the output open (the channel then reports neither the
 * end of the output nor an exit status). The nonce is random for every
 * command, so that no output forges a marker by accident. The filter
 * takes the marker out of the output, also when it arrives split across
 * reads.
 *
 * The marker is "\037" (ASCII unit separator), the nonce in hex, a
 * space, the status in decimal and a newline. It needs no newline before
 * it: a trailing newline of the output is never held back, so that the
 * last line a command printed shows at once; only output ending in a
 * beginning of the marker (a rare control byte first) waits for the next
 * bytes to tell.
 */

struct buf;

/* Random bytes in a nonce, written as twice as many hex digits. */
#define EXITMARK_NONCE_BYTES 16
/* Bytes of the marker before the status: "\037", the nonce, " ". */
#define EXITMARK_PREFIX_LEN (2 + 2 * EXITMARK_NONCE_BYTES)
/* Most digits of a status ($? is 0 to 255). */
#define EXITMARK_DIGITS_MAX 3
/* Most bytes exitmark_wrap() adds to a command. */
#define EXITMARK_WRAP_MAX 256

/* One command's marker and the state of the filter looking for it. */
struct exitmark {
	char prefix[EXITMARK_PREFIX_LEN + 1];	/* NUL-terminated */
	char digits[EXITMARK_DIGITS_MAX];
	size_t held;		/* bytes of a possible marker held back */
	bool found;
	int status;		/* the command's exit status, once found */
};

/* Receives the output that is not the marker, in order. */
typedef void (*exitmark_fn)(const char *data, size_t len, void *payload);

/*
 * Start a marker with a new nonce (getrandom()); nothing is allocated.
 * ERR_SYS if no random bytes could be had.
 */
int exitmark_init(struct exitmark *m);

/*
 * Append to `out` the shell command line that runs `command` (any text a
 * POSIX shell accepts as a complete command list: several lines, `;`,
 * `&&`, `exec` and comments included) in a subshell, then prints m's
 * marker with the subshell's status on stdout, and exits with that
 * status. Adds at most EXITMARK_WRAP_MAX bytes; ERR_TOOBIG past out's
 * cap.
 */
int exitmark_wrap(struct buf *out, const struct exitmark *m,
		  const char *command);

/*
 * Pass the next `len` bytes of the command's stdout through the filter:
 * everything but the marker goes to `fn`, in order, though a possible
 * beginning of the marker is held back until the next bytes tell. Once
 * the marker is found (m->found, m->status), whatever follows goes to
 * `fn` as it is.
 */
void exitmark_filter(struct exitmark *m, const char *data, size_t len,
		     exitmark_fn fn, void *payload);

/*
 * The output ended: pass on what is held back, which was no marker. The
 * filter may go on after that.
 */
void exitmark_flush(struct exitmark *m, exitmark_fn fn, void *payload);

#endif
