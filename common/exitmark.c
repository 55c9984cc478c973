#include "exitmark.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include "buf.h"
#include "errors.h"

/* The byte that starts a marker (see exitmark.h). */
#define MARK_START '\037'

int exitmark_init(struct exitmark *m)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char nonce[EXITMARK_NONCE_BYTES];
	size_t got = 0, i;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	while (got < sizeof(nonce)) {
		n = getrandom(nonce + got, sizeof(nonce) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return error_set_errno(ERR_SYS,
					       "cannot get random bytes");
		got += (size_t)n;
	}
	m->prefix[0] = MARK_START;
	for (i = 0; i < sizeof(nonce); i++) {
		m->prefix[1 + 2 * i] = hex[nonce[i] >> 4];
		m->prefix[2 + 2 * i] = hex[nonce[i] & 15];
	}
	m->prefix[EXITMARK_PREFIX_LEN - 1] = ' ';
	m->prefix[EXITMARK_PREFIX_LEN] = '\0';
	return 0;
}

/*
 * The subshell confines whatever the command does to it (`exec`, `exit`,
 * redirections, `cd`). Meanwhile the shell's own stderr is /dev/null, so
 * that it does not add a notice ("Terminated") when the subshell dies by
 * a signal; the command gets the real stderr back (fd 3 only carries it
 * across, and is closed again). All of it is one compound command, which
 * the shell parses before it runs any of it: a syntax error in the
 * command is still shown. The command starts on the first line (line
 * numbers in messages stay right), and the newline after it ends a
 * trailing comment or here-document. `set --` keeps the status without
 * naming a variable.
 */
int exitmark_wrap(struct buf *out, const struct exitmark *m,
		  const char *command)
{
	buf_addstr(out, "{ exec 3>&2 2>/dev/null; ( exec 2>&3 3>&-; ");
	buf_addstr(out, command);
	buf_addf(out, "\n); }\nset -- \"$?\"\nexec 2>&3 3>&-\n"
		 "printf '\\%03o%s%%d\\n' \"$1\"\nexit \"$1\"\n",
		 (unsigned char)MARK_START, m->prefix + 1);
	return buf_error(out);
}

/* Whether `c` continues the marker after the m->held bytes so far. */
static bool continues(const struct exitmark *m, char c)
{
	size_t ndigits;

	if (m->held < EXITMARK_PREFIX_LEN)
		return c == m->prefix[m->held];
	ndigits = m->held - EXITMARK_PREFIX_LEN;
	if (c >= '0' && c <= '9')
		return ndigits < EXITMARK_DIGITS_MAX;
	return c == '\n' && ndigits > 0;
}

void exitmark_flush(struct exitmark *m, exitmark_fn fn, void *payload)
{
	size_t n = m->held < EXITMARK_PREFIX_LEN ? m->held :
		   EXITMARK_PREFIX_LEN;

	if (n)
		fn(m->prefix, n, payload);
	if (m->held > n)
		fn(m->digits, m->held - n, payload);
	m->held = 0;
}

/* The marker is complete: its status. */
static void found(struct exitmark *m)
{
	size_t i;

	m->status = 0;
	for (i = EXITMARK_PREFIX_LEN; i < m->held; i++)
		m->status = m->status * 10 +
			    (m->digits[i - EXITMARK_PREFIX_LEN] - '0');
	m->held = 0;
	m->found = true;
}

void exitmark_filter(struct exitmark *m, const char *data, size_t len,
		     exitmark_fn fn, void *payload)
{
	size_t i, start = 0;	/* data[start..i): output not passed yet */

	for (i = 0; i < len && !m->found; i++) {
		char c = data[i];

		if (m->held && !continues(m, c))
			exitmark_flush(m, fn, payload);	/* no marker */
		if (!m->held && c != MARK_START)
			continue;
		if (!m->held && i > start)
			fn(data + start, i - start, payload);
		start = i + 1;
		if (c == '\n') {
			found(m);
		} else {
			if (m->held >= EXITMARK_PREFIX_LEN)
				m->digits[m->held - EXITMARK_PREFIX_LEN] = c;
			m->held++;
		}
	}
	if (!m->held && len > start)
		fn(data + start, len - start, payload);
}
