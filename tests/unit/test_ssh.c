#include "unit.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exitmark.h"
#include "ssh.h"

/*
 * Two throwaway OpenSSH servers on 127.0.0.1 (tests/sshd.sh), started by
 * the group setup and stopped by its teardown. Their login shells skip
 * the user's ~/.bashrc (SSHD_QUIET_BASHRC=1, as for the end-to-end
 * tests): the time limits tested here are of a second or two, which a
 * heavy one (pyenv's init) on a busy machine takes by itself.
 */
static char dir[PATH_MAX];
static char srcdir[PATH_MAX];
static char key[PATH_MAX];
static char known_hosts[PATH_MAX];
static char hostkey[2][PATH_MAX];
static char user[256];
static unsigned port[2];

/* Run a shell command built like printf; returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;
	int n, status;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	status = system(cmd);
	if (status < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* "<dir>/<name>" in one of four static buffers, used in turn. */
static const char *at(const char *name)
{
	static char paths[4][PATH_MAX + 64];
	static int which;
	char *p = paths[which];

	which = (which + 1) % 4;
	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

/* The whole of a small file, NUL-terminated, in a static buffer. */
static const char *slurp(const char *path)
{
	static char data[64 * 1024];
	size_t n = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY);

	data[0] = '\0';
	if (fd < 0)
		return data;
	while (n < sizeof(data) - 1 &&
	       (got = read(fd, data + n, sizeof(data) - 1 - n)) > 0)
		n += (size_t)got;
	data[n] = '\0';
	close(fd);
	return data;
}

static void spew(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The value of NAME='value' in DIR/env. */
static void env_value(char *out, size_t size, const char *env,
		      const char *name)
{
	const char *p = env;
	size_t len = strlen(name);

	out[0] = '\0';
	while (p && *p) {
		if (!strncmp(p, name, len) && p[len] == '=' &&
		    p[len + 1] == '\'') {
			const char *v = p + len + 2;
			const char *q = strchr(v, '\'');

			if (q && (size_t)(q - v) < size) {
				memcpy(out, v, (size_t)(q - v));
				out[q - v] = '\0';
			}
			return;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
}

static int group_setup(void **state)
{
	const char *env, *s = getenv("PUSHGATE_SRCDIR");
	char value[PATH_MAX];
	int i;

	(void)state;
	snprintf(srcdir, sizeof(srcdir), "%s", s && *s ? s : ".");
	snprintf(dir, sizeof(dir), "%s/test_ssh-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	if (sh("SSHD_QUIET_BASHRC=1 sh '%s/tests/sshd.sh' start '%s' 2",
	       srcdir, dir))
		return -1;
	if (sh("ssh-keygen -q -t ed25519 -N '' -f '%s/other_key'", dir))
		return -1;
	env = slurp(at("env"));
	env_value(key, sizeof(key), env, "SSHD_KEY");
	env_value(known_hosts, sizeof(known_hosts), env, "SSHD_KNOWN_HOSTS");
	env_value(user, sizeof(user), env, "SSHD_USER");
	for (i = 0; i < 2; i++) {
		char name[32];

		snprintf(name, sizeof(name), "SSHD_PORT%d", i + 1);
		env_value(value, sizeof(value), env, name);
		port[i] = (unsigned)strtoul(value, NULL, 10);
		snprintf(name, sizeof(name), "SSHD_HOSTKEY%d", i + 1);
		env_value(hostkey[i], sizeof(hostkey[i]), env, name);
	}
	if (!*key || !*known_hosts || !*user || !port[0] || !port[1])
		return -1;
	/* No agent from the caller: the tests that want one start it. */
	unsetenv("SSH_AUTH_SOCK");
	return 0;
}

static int group_teardown(void **state)
{
	int r;

	(void)state;
	r = sh("sh '%s/tests/sshd.sh' stop '%s'", srcdir, dir);
	if (sh("rm -rf '%s'", dir))
		r = -1;
	return r ? -1 : 0;
}

static struct ssh_opts opts_for(int server)
{
	struct ssh_opts opts = SSH_OPTS_INIT;

	opts.host = "127.0.0.1";
	opts.port = port[server];
	opts.user = user;
	opts.identity = key;
	opts.known_hosts = known_hosts;
	opts.connect_timeout = 10;
	return opts;
}

/*
 * Set while a test runs a second time with the persistent shell
 * (ssh_shell_start()): connect_to() starts it.
 */
static bool use_shell;

static int shell_on(void **state)
{
	(void)state;
	use_shell = true;
	return 0;
}

static int shell_off(void **state)
{
	(void)state;
	use_shell = false;
	return 0;
}

/* ssh_connect(), then the persistent shell if use_shell. */
static int connect_to(struct ssh **s, const struct ssh_opts *opts)
{
	int r = ssh_connect(s, opts);

	if (!r && use_shell)
		ssh_shell_start(*s);
	return r;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "[127.0.0.1]:PORT " + the key of server `server` (from its .pub). */
static void known_line(char *out, size_t size, unsigned p, int server)
{
	char type[64], b64[256];
	const char *pub = slurp(hostkey[server]);

	assert_int_equal(sscanf(pub, "%63s %255s", type, b64), 2);
	snprintf(out, size, "[127.0.0.1]:%u %s %s\n", p, type, b64);
}

/* ssh-keygen's fingerprint of server `server`'s host key. */
static const char *keygen_fingerprint(int server)
{
	static char fp[128];
	unsigned bits;

	assert_int_equal(sh("ssh-keygen -l -f '%s' >'%s'", hostkey[server],
			    at("fp.out")), 0);
	assert_int_equal(sscanf(slurp(at("fp.out")), "%u %127s", &bits, fp),
			 2);
	return fp;
}

struct collect {
	size_t total;
	char first[256];
};

static void collect_output(const char *data, size_t len, void *payload)
{
	struct collect *c = payload;
	size_t room = sizeof(c->first) - 1;

	if (c->total < room) {
		size_t n = len < room - c->total ? len : room - c->total;

		memcpy(c->first + c->total, data, n);
		c->first[c->total + n] = '\0';
	}
	c->total += len;
}

/*
 * ssh_run() with the result as most tests want it: the status, and the
 * output (caller frees) if `out` is not NULL. These commands leave
 * nothing behind, so the output is never held.
 */
static int run(struct ssh *s, int *status, char **out, const char *command,
	       unsigned timeout, ssh_output_fn fn, void *payload)
{
	struct ssh_run_opts opts = SSH_RUN_OPTS_INIT;
	struct ssh_result res = SSH_RESULT_INIT;
	int r;

	opts.command = command;
	opts.timeout = timeout;
	opts.on_output = fn;
	opts.payload = payload;
	r = ssh_run(&res, s, &opts);
	assert_false(res.output_held);
	*status = res.status;
	if (out) {
		*out = res.output;
		res.output = NULL;
	}
	ssh_result_release(&res);
	return r;
}

static void test_ssh__run_echo(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct collect c = { 0, "" };
	struct ssh *s = NULL;
	struct ssh_hostkey hk;
	char *out = NULL;
	int status = -2;

	(void)state;
	assert_ok(connect_to(&s, &opts));
	assert_ok(ssh_fetch_hostkey(&hk, &opts));
	assert_true(hk.known);
	assert_false(hk.changed);
	assert_string_equal(hk.type, "ssh-ed25519");
	assert_string_equal(hk.fingerprint, keygen_fingerprint(0));
	assert_ok(run(s, &status, &out, "echo hi", 10, collect_output,
		      &c));
	assert_int_equal(status, 0);
	assert_string_equal(out, "hi\n");
	assert_string_equal(c.first, "hi\n");
	assert_int_equal(c.total, 3);
	free(out);
	/* The session runs more commands, without a callback too. */
	assert_ok(run(s, &status, &out, "printf '%s' \"$USER\"", 0, NULL,
		      NULL));
	assert_int_equal(status, 0);
	free(out);
	assert_ok(run(s, &status, NULL, "true", 10, NULL, NULL));
	assert_int_equal(status, 0);

	/*
	 * Big output: all of it to the callback, the tail kept. (One
	 * stream: SSH orders nothing between stdout and stderr.)
	 */
	memset(&c, 0, sizeof(c));
	assert_ok(run(s, &status, &out,
		      "yes | head -c 3000000; echo end", 10,
		      collect_output, &c));
	assert_int_equal(status, 0);
	assert_int_equal(c.total, 3000004);
	assert_int_equal(strlen(out), SSH_OUTPUT_CAP);
	assert_string_equal(out + SSH_OUTPUT_CAP - 7, "\ny\nend\n");
	free(out);
	ssh_free(s);
}

static void test_ssh__exit_status(void **state)
{
	struct ssh_opts opts = opts_for(1);
	struct ssh *s = NULL;
	int status = -2;

	(void)state;
	assert_ok(connect_to(&s, &opts));
	assert_ok(run(s, &status, NULL, "exit 3", 10, NULL, NULL));
	assert_int_equal(status, 3);
	assert_ok(run(s, &status, NULL, "false", 10, NULL, NULL));
	assert_int_equal(status, 1);
	/* Killed by a signal: 128 + its number, as for a local child. */
	assert_ok(run(s, &status, NULL, "kill -TERM $$", 10, NULL, NULL));
	assert_int_equal(status, 128 + SIGTERM);
	assert_ok(run(s, &status, NULL, "kill -KILL $$", 10, NULL, NULL));
	assert_int_equal(status, 128 + SIGKILL);
	ssh_free(s);
}

static void test_ssh__stderr_captured(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	char *out = NULL;
	int status = -2;

	(void)state;
	assert_ok(connect_to(&s, &opts));
	assert_ok(run(s, &status, &out, "echo to-err >&2; exit 4", 10,
		      NULL, NULL));
	assert_int_equal(status, 4);
	assert_string_equal(out, "to-err\n");
	free(out);
	assert_ok(run(s, &status, &out,
		      "echo one; sleep 0.2; echo two >&2; sleep 0.2; "
		      "echo three", 10, NULL, NULL));
	assert_int_equal(status, 0);
	assert_string_equal(out, "one\ntwo\nthree\n");
	free(out);
	ssh_free(s);
}

/* Deterministic test data: byte i of the stream. */
static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

/* Write `total` bytes of pattern() in chunks of varying sizes. */
static int stream(struct ssh_channel *ch, size_t total)
{
	static const size_t sizes[] = { 10240, 1, 32700, 65536, 7, 1 << 20,
					32768, 300000, 4096 };
	static unsigned char chunk[1 << 20];
	size_t off = 0, k = 0, n, i;
	int r;

	while (off < total) {
		n = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];
		if (n > total - off)
			n = total - off;
		for (i = 0; i < n; i++)
			chunk[i] = pattern(off + i);
		if ((r = ssh_channel_write(ch, chunk, n)) < 0)
			return r;
		off += n;
	}
	return 0;
}

#define STREAM_SIZE (20 * 1024 * 1024)

/*
 * The last window adjustment arriving between a write that found the
 * window full and the read that follows it: the read takes it in and
 * reads no output, and the write must then be tried again rather than
 * the socket waited on, for nothing more will come (the server waits for
 * data). These functions stand in for libssh2's own in this program
 * (ssh.c calls them through us); armed, a read after a full window first
 * takes in every adjustment the server will send: OpenSSH sends one
 * once more than three of its 32 KB packets are unacknowledged, so
 * until the window is back within 96 KB of the largest it was (its
 * size), the data has not all been consumed, and more will come.
 *
 * So that the window fills however fast each side is (a sanitized
 * build is slow), the command reads nothing until the FIFO adjust_gate
 * was opened and closed: the first read after a full window does that.
 */
#define ADJUST_SLACK (3 * 32768)
static bool adjust_race;	/* armed */
static int adjust_fd = -1;	/* the socket of the last handshake */
static bool window_was_full;
static unsigned adjust_raced;	/* reads that took the last adjustment */
static unsigned long window_max;	/* the largest window written into */
static const char *adjust_gate;	/* a FIFO the command waits on, or NULL */

/*
 * Watched, every write records how far the sender is ahead of the
 * server (window_max less the window left) once the server has given
 * back part of its window (test_ssh__stream_ahead_limited()).
 */
static bool ahead_watch;
static unsigned long ahead_seen;	/* the window after the last write
					   (ULONG_MAX: none yet) */
static bool ahead_adjusted;	/* the window grew back */
static unsigned long ahead_max;	/* the most ahead after that */

int libssh2_session_handshake(LIBSSH2_SESSION *session, libssh2_socket_t sock)
{
	int (*real)(LIBSSH2_SESSION *, libssh2_socket_t) =
		(int (*)(LIBSSH2_SESSION *, libssh2_socket_t))
		dlsym(RTLD_NEXT, "libssh2_session_handshake");

	adjust_fd = sock;
	return real(session, sock);
}

ssize_t libssh2_channel_write_ex(LIBSSH2_CHANNEL *channel, int stream_id,
				 const char *buf, size_t buflen)
{
	ssize_t (*real)(LIBSSH2_CHANNEL *, int, const char *, size_t) =
		(ssize_t (*)(LIBSSH2_CHANNEL *, int, const char *, size_t))
		dlsym(RTLD_NEXT, "libssh2_channel_write_ex");
	unsigned long w = libssh2_channel_window_write_ex(channel, NULL);
	ssize_t n;

	if (w > window_max)
		window_max = w;
	n = real(channel, stream_id, buf, buflen);
	if (ahead_watch) {
		unsigned long after = libssh2_channel_window_write_ex(channel,
								      NULL);

		if (ahead_seen != ULONG_MAX && w > ahead_seen)
			ahead_adjusted = true;
		if (n > 0 && ahead_adjusted && window_max - after > ahead_max)
			ahead_max = window_max - after;
		ahead_seen = after;
	}
	if (adjust_race && buflen && (n == 0 || n == LIBSSH2_ERROR_EAGAIN) &&
	    !libssh2_channel_window_write_ex(channel, NULL))
		window_was_full = true;
	return n;
}

ssize_t libssh2_channel_read_ex(LIBSSH2_CHANNEL *channel, int stream_id,
				char *buf, size_t buflen)
{
	ssize_t (*real)(LIBSSH2_CHANNEL *, int, char *, size_t) =
		(ssize_t (*)(LIBSSH2_CHANNEL *, int, char *, size_t))
		dlsym(RTLD_NEXT, "libssh2_channel_read_ex");
	ssize_t n;

	if (!window_was_full)
		return real(channel, stream_id, buf, buflen);
	window_was_full = false;
	if (adjust_gate) {
		int fd = open(adjust_gate, O_WRONLY | O_CLOEXEC);

		if (fd >= 0)
			close(fd);
		adjust_gate = NULL;
	}
	for (;;) {
		struct pollfd pfd = { adjust_fd, POLLIN, 0 };

		n = real(channel, stream_id, buf, buflen);
		if (n != LIBSSH2_ERROR_EAGAIN)
			return n;	/* output, or the end: not the case */
		if (libssh2_channel_window_write_ex(channel, NULL) +
		    ADJUST_SLACK >= window_max)
			break;
		if (poll(&pfd, 1, 10000) != 1)
			return n;
	}
	adjust_raced++;
	return n;
}

/*
 * The write goes on once the read took the adjustment in: the upload
 * ends long before its time limit (a write waiting on the socket would
 * run into it: ERR_TIMEOUT).
 */
static void test_ssh__stream_adjust_during_read(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	struct ssh_channel *ch = NULL;
	char *out = NULL, cmd[PATH_MAX + 64];
	int status = -2, r;

	(void)state;
	unlink(at("gate"));
	assert_int_equal(mkfifo(at("gate"), 0600), 0);
	snprintf(cmd, sizeof(cmd), "cat '%s' >/dev/null; cat >/dev/null",
		 at("gate"));
	assert_ok(ssh_connect(&s, &opts));
	assert_ok(ssh_channel_open(&ch, s, cmd, 15));
	adjust_gate = at("gate");
	adjust_race = true;
	adjust_raced = 0;
	window_max = 0;
	r = stream(ch, 8 * 1024 * 1024);
	adjust_race = false;
	adjust_gate = NULL;
	window_was_full = false;
	assert_ok(r);
	assert_ok(ssh_channel_close(ch, &status, &out));
	assert_int_equal(status, 0);
	assert_string_equal(out, "");
	/* the case happened */
	assert_true(adjust_raced >= 1);
	free(out);
	ssh_free(s);
	unlink(at("gate"));
}

/*
 * Once the server gives its window back in small parts, the sender
 * keeps no more than about 512 KB ahead of it (send_room() in ssh.c),
 * however much slower the command is: what OpenSSH holds for a command
 * costs it CPU that grows with the amount. The command here starts two
 * processes per 64 KB it reads, far slower than the stream; without the
 * limit the sender fills the whole window (2 MB) and stays there.
 */
#define AHEAD_STREAM (8 * 1024 * 1024)
static void test_ssh__stream_ahead_limited(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	struct ssh_channel *ch = NULL;
	char *out = NULL, expect[32];
	int status = -2, r;

	(void)state;
	assert_ok(ssh_connect(&s, &opts));
	assert_ok(ssh_channel_open(&ch, s,
		"n=0; while k=$(dd bs=65536 count=1 iflag=fullblock "
		"2>/dev/null | wc -c) && test \"$k\" -gt 0; "
		"do n=$((n + k)); done; echo \"$n\"", 60));
	window_max = 0;
	ahead_seen = ULONG_MAX;
	ahead_adjusted = false;
	ahead_max = 0;
	ahead_watch = true;
	r = stream(ch, AHEAD_STREAM);
	ahead_watch = false;
	assert_ok(r);
	assert_ok(ssh_channel_close(ch, &status, &out));
	assert_int_equal(status, 0);
	snprintf(expect, sizeof(expect), "%d\n", AHEAD_STREAM);
	assert_string_equal(out, expect);
	assert_true(ahead_adjusted);
	assert_true(ahead_max >= 256 * 1024);
	assert_true(ahead_max <= 1024 * 1024);
	free(out);
	ssh_free(s);
}

static void test_ssh__stream_stdin(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	struct ssh_channel *ch = NULL;
	char *out = NULL;
	char expect[32];
	int status = -2;

	(void)state;
	assert_ok(ssh_connect(&s, &opts));
	assert_ok(ssh_channel_open(&ch, s, "cat >/dev/null", 60));
	assert_ok(stream(ch, STREAM_SIZE));
	assert_ok(ssh_channel_close(ch, &status, &out));
	assert_int_equal(status, 0);
	assert_string_equal(out, "");
	free(out);

	assert_ok(ssh_channel_open(&ch, s, "wc -c", 60));
	assert_ok(stream(ch, STREAM_SIZE));
	assert_ok(ssh_channel_close(ch, &status, &out));
	assert_int_equal(status, 0);
	snprintf(expect, sizeof(expect), "%d\n", STREAM_SIZE);
	assert_string_equal(out, expect);
	free(out);
	ssh_free(s);
}

/*
 * The command echoes everything back: we must read while we write, or
 * both sides block once the windows are full. The output kept is the
 * last SSH_OUTPUT_CAP bytes.
 */
static void test_ssh__stream_echo_keeps_tail(void **state)
{
	struct ssh_opts opts = opts_for(1);
	struct ssh *s = NULL;
	struct ssh_channel *ch = NULL;
	size_t total = 5 * 1024 * 1024 + 123, i;
	char *out = NULL;
	int status = -2;

	(void)state;
	assert_ok(ssh_connect(&s, &opts));
	assert_ok(ssh_channel_open(&ch, s, "cat", 60));
	assert_ok(stream(ch, total));
	assert_ok(ssh_channel_close(ch, &status, &out));
	assert_int_equal(status, 0);
	for (i = 0; i < SSH_OUTPUT_CAP; i++)
		if ((unsigned char)out[i] !=
		    pattern(total - SSH_OUTPUT_CAP + i))
			break;
	assert_int_equal(i, SSH_OUTPUT_CAP);
	assert_int_equal(out[SSH_OUTPUT_CAP], '\0');
	free(out);
	ssh_free(s);
}

/*
 * `compress`: the test servers (OpenSSH's default `Compression yes`)
 * offer zlib@openssh.com, which starts after authentication. Commands,
 * big compressible output and a stream echoed back (compressed both
 * ways) arrive intact; a connection that did not ask stays uncompressed.
 */
static void test_ssh__compress(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct collect c = { 0, "" };
	struct ssh *s = NULL;
	struct ssh_channel *ch = NULL;
	size_t total = 3 * 1024 * 1024 + 17, i;
	char *out = NULL;
	char expect[32];
	int status = -2;

	(void)state;
	assert_ok(ssh_connect(&s, &opts));
	assert_string_equal(ssh_compression(s), "none");
	ssh_free(s);

	opts.compress = true;
	assert_ok(connect_to(&s, &opts));
	assert_string_equal(ssh_compression(s), "zlib@openssh.com");
	assert_ok(run(s, &status, &out, "echo hi", 10, NULL, NULL));
	assert_int_equal(status, 0);
	assert_string_equal(out, "hi\n");
	free(out);

	assert_ok(run(s, &status, &out,
		      "yes | head -c 3000000; echo end", 10,
		      collect_output, &c));
	assert_int_equal(status, 0);
	assert_int_equal(c.total, 3000004);
	assert_int_equal(strlen(out), SSH_OUTPUT_CAP);
	assert_string_equal(out + SSH_OUTPUT_CAP - 7, "\ny\nend\n");
	free(out);

	assert_ok(ssh_channel_open(&ch, s, "wc -c", 60));
	assert_ok(stream(ch, STREAM_SIZE));
	assert_ok(ssh_channel_close(ch, &status, &out));
	assert_int_equal(status, 0);
	snprintf(expect, sizeof(expect), "%d\n", STREAM_SIZE);
	assert_string_equal(out, expect);
	free(out);

	assert_ok(ssh_channel_open(&ch, s, "cat", 60));
	assert_ok(stream(ch, total));
	assert_ok(ssh_channel_close(ch, &status, &out));
	assert_int_equal(status, 0);
	for (i = 0; i < SSH_OUTPUT_CAP; i++)
		if ((unsigned char)out[i] !=
		    pattern(total - SSH_OUTPUT_CAP + i))
			break;
	assert_int_equal(i, SSH_OUTPUT_CAP);
	assert_int_equal(out[SSH_OUTPUT_CAP], '\0');
	free(out);
	ssh_free(s);
}

/* A command that stops reading: like EPIPE, its exit status tells. */
static void test_ssh__stream_to_quitter(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	struct ssh_channel *ch = NULL;
	int status = -2;

	(void)state;
	assert_ok(ssh_connect(&s, &opts));
	assert_ok(ssh_channel_open(&ch, s, "head -c 1000 >/dev/null; exit 5",
				   30));
	assert_ok(stream(ch, STREAM_SIZE));
	assert_ok(ssh_channel_close(ch, &status, NULL));
	assert_int_equal(status, 5);
	assert_ok(run(s, &status, NULL, "true", 10, NULL, NULL));
	assert_int_equal(status, 0);
	ssh_free(s);
}

/*
 * A command that closes its output early (the server sends EOF) but goes
 * on reading: all of its input must still arrive.
 */
static void test_ssh__stream_after_remote_eof(void **state)
{
	struct ssh_opts opts = opts_for(1);
	struct ssh *s = NULL;
	struct ssh_channel *ch = NULL;
	char cmd[PATH_MAX + 64];
	struct stat st;
	int status = -2;

	(void)state;
	snprintf(cmd, sizeof(cmd), "exec >/dev/null 2>&1; cat >'%s'",
		 at("sink"));
	assert_ok(ssh_connect(&s, &opts));
	assert_ok(ssh_channel_open(&ch, s, cmd, 60));
	assert_ok(stream(ch, 5 * 1024 * 1024 + 1));
	assert_ok(ssh_channel_close(ch, &status, NULL));
	assert_int_equal(status, 0);
	assert_int_equal(stat(at("sink"), &st), 0);
	assert_int_equal(st.st_size, 5 * 1024 * 1024 + 1);
	ssh_free(s);
}

/* The server goes away in the middle of a command. */
static void test_ssh__connection_lost(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	char *out = NULL;
	int status = -2, r;
	double t;

	(void)state;
	assert_ok(ssh_connect(&s, &opts));
	t = now();
	/* The shell's parent is the server's process for our session. */
	r = run(s, &status, &out, "echo bye; kill -KILL $PPID; sleep 5",
		10, NULL, NULL);
	assert_true(r < 0);
	assert_true(now() - t < 3.0);
	assert_int_equal(status, -1);
	free(out);
	/* Later calls fail at once. */
	assert_true(run(s, &status, NULL, "true", 10, NULL, NULL) < 0);
	ssh_free(s);
}

static void test_ssh__command_timeout(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	struct ssh_channel *ch = NULL;
	char *out = NULL;
	int status = -2, r;
	double t;

	(void)state;
	assert_ok(connect_to(&s, &opts));
	t = now();
	r = run(s, &status, &out, "echo started; sleep 30", 1, NULL,
		NULL);
	t = now() - t;
	assert_int_equal(r, ERR_TIMEOUT);
	assert_string_equal(error_last(),
			    "remote command timed out after 1 s");
	assert_true(t >= 0.9 && t < 3.0);
	assert_int_equal(status, -1);
	assert_string_equal(out, "started\n");
	free(out);

	/* Endless output does not keep us past the deadline either. */
	t = now();
	r = run(s, &status, NULL, "yes", 1, NULL, NULL);
	assert_int_equal(r, ERR_TIMEOUT);
	assert_true(now() - t < 3.0);

	/* The same while feeding a command that does not read. */
	t = now();
	assert_ok(ssh_channel_open(&ch, s, "sleep 30", 1));
	r = stream(ch, STREAM_SIZE);
	assert_int_equal(r, ERR_TIMEOUT);
	assert_int_equal(ssh_channel_close(ch, &status, NULL), ERR_TIMEOUT);
	assert_string_equal(error_last(),
			    "remote command timed out after 1 s");
	t = now() - t;
	assert_true(t < 3.0);

	/* The session is still usable. */
	assert_ok(run(s, &status, &out, "echo ok", 10, NULL, NULL));
	assert_int_equal(status, 0);
	assert_string_equal(out, "ok\n");
	free(out);

	/*
	 * The persistent shell runs its commands under timeout(1), a
	 * second past ours: the host stops what we gave up on.
	 */
	if (use_shell) {
		char cmd[PATH_MAX + 64];
		long pid;

		snprintf(cmd, sizeof(cmd), "echo $$ >'%s'; exec sleep 30",
			 at("stuck.pid"));
		r = run(s, &status, NULL, cmd, 1, NULL, NULL);
		assert_int_equal(r, ERR_TIMEOUT);
		pid = strtol(slurp(at("stuck.pid")), NULL, 10);
		assert_true(pid > 1);
		t = now();
		while (kill((pid_t)pid, 0) == 0 && now() - t < 15.0)
			usleep(100000);
		assert_int_not_equal(kill((pid_t)pid, 0), 0);
		assert_true(now() - t < 10.0);
	}
	ssh_free(s);
}

/*
 * The persistent shell: stderr merged into stdout in order, and many
 * commands in a row, each with its own output and status, none taking
 * any of the next one's request.
 */
/* An ssh_stdin feed: `size` bytes of pattern(), through stream(). */
static int feed_pattern(struct ssh_channel *ch, void *payload)
{
	const struct ssh_stdin *in = payload;

	return stream(ch, (size_t)in->size);
}

/* ssh_run_stdin() of `command` with `size` bytes; the output is kept. */
static int run_stdin(struct ssh *s, int *status, char **out,
		     const char *command, size_t size)
{
	struct ssh_run_opts opts = SSH_RUN_OPTS_INIT;
	struct ssh_result res = SSH_RESULT_INIT;
	struct ssh_stdin in;
	int r;

	in.size = size;
	in.feed = feed_pattern;
	in.payload = &in;
	opts.command = command;
	opts.timeout = 30;
	r = ssh_run_stdin(&res, s, &opts, &in);
	assert_false(res.output_held);
	*status = res.status;
	*out = res.output;
	res.output = NULL;
	ssh_result_release(&res);
	return r;
}

/*
 * The PID of the persistent shell's driver that runs this command: the
 * farthest ancestor whose command line is the driver's (the pipelines'
 * subshells are copies of it).
 */
#define DRIVER_PID "p=$$ d=; while test \"$p\" -gt 1; do " \
	"case \"$(tr '\\0' ' ' </proc/$p/cmdline)\" in *'pg_r()'*) d=$p;; " \
	"esac; p=$(ps -o ppid= -p \"$p\" | tr -d ' '); done; echo \"$d\""

/*
 * Uploads of known size go through the persistent shell, one login shell
 * for the upload and the commands after it: the command gets exactly its
 * bytes (the next request is read where it begins), whether it reads
 * them all, some, or none (the driver drains the rest); one that fails
 * before it read them is sent no more, and the next command takes a new
 * shell.
 */
/* run_stdin() must succeed with `status` and `output`. */
static void check_stdin(struct ssh *s, const char *command, size_t size,
			int status, const char *output)
{
	char *out = NULL;
	int got = -2;

	assert_ok(run_stdin(s, &got, &out, command, size));
	assert_int_equal(got, status);
	assert_string_equal(out, output);
	free(out);
}

static void test_ssh__stdin_through_shell(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	char *out = NULL, *driver = NULL, expect[64];
	size_t sizes[] = { 0, 1, 32700, 32701, 3 * 1024 * 1024 + 17 };
	size_t i;
	int status = -2;

	(void)state;
	assert_ok(ssh_connect(&s, &opts));
	assert_ok(run_stdin(s, &status, &driver, "cat >/dev/null; "
			    DRIVER_PID, 1000));
	assert_int_equal(status, 0);
	assert_true(atoi(driver) > 1);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(expect, sizeof(expect), "%zu\n", sizes[i]);
		check_stdin(s, "wc -c", sizes[i], 0, expect);
	}
	/* the bytes themselves, in order */
	snprintf(expect, sizeof(expect), " %02x %02x %02x %02x\n",
		 pattern(70000), pattern(70001), pattern(70002),
		 pattern(70003));
	check_stdin(s, "od -An -tx1 -N4 -j70000", 100000, 0, expect);
	/* some read, or none: the rest is drained, status and all */
	check_stdin(s, "head -c 5 >/dev/null; echo ok", 2 * 1024 * 1024, 0,
		    "ok\n");
	/* all in the same shell, which still runs commands */
	assert_ok(run(s, &status, &out, DRIVER_PID, 10, NULL, NULL));
	assert_string_equal(out, driver);
	free(out);

	/* a failure before the command read its input: no more is sent */
	check_stdin(s, "echo failed; exit 4", 64 * 1024 * 1024, 4,
		    "failed\n");
	/* and the next command has a shell of its own */
	assert_ok(run(s, &status, &out, DRIVER_PID, 10, NULL, NULL));
	assert_int_equal(status, 0);
	assert_true(atoi(out) > 1);
	assert_string_not_equal(out, driver);
	free(out);
	check_stdin(s, "wc -c", 12345, 0, "12345\n");
	free(driver);
	ssh_free(s);
}

/*
 * An ssh_stdin feed of SSH_STDIN_CHUNKED: `total` bytes of pattern(),
 * announced in chunks of varying sizes, each written in pieces.
 */
static int feed_chunked(struct ssh_channel *ch, void *payload)
{
	static const size_t sizes[] = { 1, 32700, 700001, 3 << 20, 5,
					65536 };
	static unsigned char piece[100000];
	const size_t *total = payload;
	size_t off = 0, k = 0, end, n, i;
	int r;

	while (off < *total) {
		end = off + sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];
		if (end > *total)
			end = *total;
		if ((r = ssh_channel_chunk(ch, end - off)) < 0)
			return r;
		while (off < end) {
			n = end - off < sizeof(piece) ? end - off :
			    sizeof(piece);
			for (i = 0; i < n; i++)
				piece[i] = pattern(off + i);
			if ((r = ssh_channel_write(ch, piece, n)) < 0)
				return r;
			off += n;
		}
	}
	return 0;
}

/* A feed that starts a chunk before the last one is whole. */
static int feed_short_chunk(struct ssh_channel *ch, void *payload)
{
	int r;

	(void)payload;
	if ((r = ssh_channel_chunk(ch, 10)) < 0 ||
	    (r = ssh_channel_write(ch, "12345", 5)) < 0)
		return r;
	return ssh_channel_chunk(ch, 10);
}

/* ssh_run_stdin() of `command` with `total` bytes in chunks. */
static void check_chunked(struct ssh *s, const char *command, size_t total,
			  int status, const char *output)
{
	struct ssh_run_opts opts = SSH_RUN_OPTS_INIT;
	struct ssh_result res = SSH_RESULT_INIT;
	struct ssh_stdin in;

	in.size = SSH_STDIN_CHUNKED;
	in.feed = feed_chunked;
	in.payload = &total;
	opts.command = command;
	opts.timeout = 30;
	assert_ok(ssh_run_stdin(&res, s, &opts, &in));
	assert_false(res.output_held);
	assert_int_equal(res.status, status);
	assert_string_equal(res.output, output);
	ssh_result_release(&res);
}

/*
 * Stdin of a size not known beforehand goes through the shell in chunks
 * (SSH_STDIN_CHUNKED): the command gets every byte, in order, and only
 * those, across chunk boundaries; the rest of what it leaves unread is
 * drained; one that fails early is sent no more and the next command
 * takes a new shell. A chunk announced before the last one is whole is
 * refused.
 */
static void test_ssh__stdin_chunked(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	char *out = NULL, *driver = NULL, expect[64];
	size_t sizes[] = { 0, 1, 32701, 733702, 5 * 1024 * 1024 + 3 };
	size_t i;
	int status = -2;

	(void)state;
	assert_ok(ssh_connect(&s, &opts));
	assert_ok(run_stdin(s, &status, &driver, "cat >/dev/null; "
			    DRIVER_PID, 10));
	assert_true(atoi(driver) > 1);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(expect, sizeof(expect), "%zu\n", sizes[i]);
		check_chunked(s, "wc -c", sizes[i], 0, expect);
	}
	/* the bytes across the chunks' boundaries (at 1, 32701, 733702) */
	for (i = 0; i < 3; i++) {
		static const size_t at[] = { 0, 32699, 733700 };
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "od -An -tx1 -j%zu -N4", at[i]);
		snprintf(expect, sizeof(expect), " %02x %02x %02x %02x\n",
			 pattern(at[i]), pattern(at[i] + 1),
			 pattern(at[i] + 2), pattern(at[i] + 3));
		check_chunked(s, cmd, 800000, 0, expect);
	}
	assert_ok(run(s, &status, &out, DRIVER_PID, 10, NULL, NULL));
	assert_string_equal(out, driver);
	free(out);
	/* some read: the rest is drained, status and all */
	check_chunked(s, "head -c 5 >/dev/null; echo ok", 9 << 20, 0, "ok\n");
	/* a failure before the command read its input: no more is sent */
	check_chunked(s, "echo failed; exit 4", 64 << 20, 4, "failed\n");
	assert_ok(run(s, &status, &out, DRIVER_PID, 10, NULL, NULL));
	assert_int_equal(status, 0);
	assert_string_not_equal(out, driver);
	free(out);
	check_chunked(s, "wc -c", 12345, 0, "12345\n");
	/* a chunk that is not whole: refused, and the shell is given up */
	{
		struct ssh_run_opts ro = SSH_RUN_OPTS_INIT;
		struct ssh_result res = SSH_RESULT_INIT;
		struct ssh_stdin in = { SSH_STDIN_CHUNKED, feed_short_chunk,
					NULL };

		ro.command = "wc -c";
		ro.timeout = 30;
		assert_int_equal(ssh_run_stdin(&res, s, &ro, &in),
				 ERR_GENERIC);
		assert_non_null(strstr(error_last(), "before the last one"));
		ssh_result_release(&res);
	}
	check_chunked(s, "wc -c", 70000, 0, "70000\n");
	free(driver);
	ssh_free(s);
}

static void test_ssh__shell_order_and_many(void **state)
{
	struct ssh_opts opts = opts_for(1);
	struct ssh *s = NULL;
	char *out = NULL, cmd[128], expect[64];
	int status = -2, i;

	(void)state;
	assert_ok(ssh_connect(&s, &opts));
	ssh_shell_start(s);
	assert_ok(run(s, &status, &out, "echo 1; echo 2 >&2; echo 3; "
		      "echo 4 >&2; printf 5 >&2; exit 6", 10, NULL, NULL));
	assert_int_equal(status, 6);
	assert_string_equal(out, "1\n2\n3\n4\n5");
	free(out);
	for (i = 0; i < 100; i++) {
		snprintf(cmd, sizeof(cmd), "printf '%%s\\n' 'line\\%d'\n"
			 "echo \"$PWD\" >/dev/null; exit %d", i, i % 7);
		assert_ok(run(s, &status, &out, cmd, 10, NULL, NULL));
		snprintf(expect, sizeof(expect), "line\\%d\n", i);
		assert_string_equal(out, expect);
		assert_int_equal(status, i % 7);
		free(out);
	}
	ssh_free(s);
}

/*
 * A command that exits while a process it started keeps its output open
 * (an `after` that starts a server): its own status after SSH_DRAIN_TIME,
 * output_held set, and the process left running.
 */
static void test_ssh__background_holds_output(void **state)
{
	static const char *const holders[] = {
		"sleep 30",			/* stdout and stderr */
		"sleep 30 >/dev/null",		/* stderr only */
		"sleep 30 2>/dev/null",		/* stdout only */
	};
	struct ssh_opts opts = opts_for(0);
	struct ssh_run_opts ro = SSH_RUN_OPTS_INIT;
	struct ssh_result res = SSH_RESULT_INIT;
	struct collect c;
	struct ssh *s = NULL;
	char cmd[PATH_MAX + 128];
	size_t i;
	long pid;
	double t;
	int status = -2;

	(void)state;
	assert_ok(connect_to(&s, &opts));
	for (i = 0; i < sizeof(holders) / sizeof(holders[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s & echo $! >'%s'; echo done; "
			 "exit 5", holders[i], at("bg.pid"));
		memset(&c, 0, sizeof(c));
		ro.command = cmd;
		ro.timeout = 600;
		ro.on_output = collect_output;
		ro.payload = &c;
		t = now();
		assert_ok(ssh_run(&res, s, &ro));
		t = now() - t;
		assert_true(t >= SSH_DRAIN_TIME - 0.1);
		assert_true(t < SSH_DRAIN_TIME + 2.0);
		assert_int_equal(res.status, 5);
		assert_true(res.output_held);
		assert_string_equal(res.output, "done\n");
		assert_string_equal(c.first, "done\n");
		assert_int_equal(c.total, 5);
		ssh_result_release(&res);
		assert_int_equal(res.status, -1);
		assert_null(res.output);
		assert_false(res.output_held);

		/* Not waited for, and not killed either. */
		pid = strtol(slurp(at("bg.pid")), NULL, 10);
		assert_true(pid > 1);
		assert_int_equal(kill((pid_t)pid, 0), 0);
		assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	}

	/* One that floods the output does not keep us either. */
	memset(&c, 0, sizeof(c));
	snprintf(cmd, sizeof(cmd), "yes & echo $! >'%s'; exit 3",
		 at("bg.pid"));
	ro.command = cmd;
	t = now();
	assert_ok(ssh_run(&res, s, &ro));
	t = now() - t;
	assert_true(t < SSH_DRAIN_TIME + 2.0);
	assert_int_equal(res.status, 3);
	assert_true(res.output_held);
	assert_true(c.total > 0);
	assert_int_equal(strlen(res.output), SSH_OUTPUT_CAP);
	ssh_result_release(&res);
	pid = strtol(slurp(at("bg.pid")), NULL, 10);
	assert_true(pid > 1);
	kill((pid_t)pid, SIGKILL);	/* if the closed output did not */

	/* Output that comes within the drain time is all kept. */
	ro.command = "(sleep 0.3; echo late) & echo early; exit 2";
	ro.on_output = NULL;
	assert_ok(ssh_run(&res, s, &ro));
	assert_int_equal(res.status, 2);
	assert_false(res.output_held);
	assert_string_equal(res.output, "early\nlate\n");
	ssh_result_release(&res);

	/* The connection still serves commands. */
	assert_ok(run(s, &status, NULL, "exit 9", 10, NULL, NULL));
	assert_int_equal(status, 9);
	ssh_free(s);
}

/* The exit marker never shows in the output, whatever the output is. */
static void test_ssh__marker_hidden(void **state)
{
	static const struct {
		const char *command;
		const char *output;
		int status;
		bool exec_only;
	} cases[] = {
		{ "printf x", "x", 0, false },
		{ "echo hi; exit 3", "hi\n", 3, false },
		{ "printf 'a\\n\\n'", "a\n\n", 0, false },
		{ "", "", 0, false },
		/* output ending in what could start a marker */
		{ "printf 'x\\037'", "x\037", 0, false },
		{ "printf '\\0370'", "\0370", 0, false },
		/* a marker with the wrong nonce, and near misses */
		{ "printf '\\037%s 0\\n' 0123456789abcdef0123456789abcdef",
		  "\0370123456789abcdef0123456789abcdef 0\n", 0, false },
		{ "printf '\\037%s 7\\nafter\\n' "
		  "0123456789abcdef0123456789abcdef; exit 1",
		  "\0370123456789abcdef0123456789abcdef 7\nafter\n", 1,
		  false },
		/* command lines as pushgate builds them */
		{ "exec echo replaced", "replaced\n", 0, false },
		{ "cd / && pwd; echo b # a comment", "/\nb\n", 0, false },
		{ "echo one\necho two\n", "one\ntwo\n", 0, false },
		{ "cat <<EOF\nhere\nEOF", "here\n", 0, false },
		{ "cat", "", 0, false },
		/* no notice of the shell's ("Terminated") either */
		{ "kill -TERM $$", "", 128 + SIGTERM, false },
		/*
		 * (the persistent shell's /bin/sh, when it is dash, forks
		 * even for the last command and tells of its death, as any
		 * shell running more than one command does)
		 */
		{ "sh -c 'kill -TERM $$'", "", 128 + SIGTERM, true },
	};
	static const size_t sizes[] = {
		1, 16383, 16384, 16385, 16384 - EXITMARK_PREFIX_LEN, 65553,
	};
	struct ssh_opts opts = opts_for(1);
	struct collect c;
	struct ssh *s = NULL;
	char *out = NULL;
	size_t i;
	int status;

	(void)state;
	assert_ok(connect_to(&s, &opts));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (use_shell && cases[i].exec_only)
			continue;
		memset(&c, 0, sizeof(c));
		status = -2;
		assert_ok(run(s, &status, &out, cases[i].command, 10,
			      collect_output, &c));
		if (strcmp(out, cases[i].output) ||
		    status != cases[i].status)
			fail_msg("'%s': status %d, output '%s'",
				 cases[i].command, status, out);
		assert_string_equal(c.first, cases[i].output);
		assert_int_equal(c.total, strlen(cases[i].output));
		free(out);
	}

	/*
	 * A lot of output, in sizes around the server's reads (16 KiB), all
	 * of it and nothing more. (test_exitmark.c splits a marker at every
	 * byte; here it depends on the server's timing.)
	 */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char cmd[128];
		size_t k, n = sizes[i];

		snprintf(cmd, sizeof(cmd),
			 "head -c %zu /dev/zero | tr '\\0' a", n);
		memset(&c, 0, sizeof(c));
		assert_ok(run(s, &status, &out, cmd, 10, collect_output, &c));
		assert_int_equal(status, 0);
		assert_int_equal(c.total, n);
		/* the tail: all of it up to the cap */
		assert_int_equal(strlen(out),
				 n < SSH_OUTPUT_CAP ? n : SSH_OUTPUT_CAP);
		for (k = 0; out[k]; k++)
			if (out[k] != 'a')
				fail_msg("%zu bytes: byte %zu is %d", n, k,
					 out[k]);
		free(out);
	}
	memset(&c, 0, sizeof(c));
	assert_ok(run(s, &status, &out,
		      "i=0; while test $i -lt 2000; do "
		      "printf 'line %05d\\n' $i; i=$((i + 1)); done", 30,
		      collect_output, &c));
	assert_int_equal(status, 0);
	assert_int_equal(c.total, 2000 * 11);
	assert_int_equal(strlen(out), 2000 * 11);
	assert_string_equal(out + 1999 * 11, "line 01999\n");
	free(out);
	ssh_free(s);
}

/* The time-out counts from the start: output does not push it back. */
static void test_ssh__timeout_counts_from_start(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	char *out = NULL;
	int status = -2, r;
	double t;

	(void)state;
	assert_ok(connect_to(&s, &opts));
	t = now();
	r = run(s, &status, &out, "while :; do echo tick; sleep 0.2; done", 2,
		NULL, NULL);
	t = now() - t;
	assert_int_equal(r, ERR_TIMEOUT);
	assert_string_equal(error_last(),
			    "remote command timed out after 2 s");
	assert_true(t >= 1.9 && t < 4.0);
	assert_int_equal(status, -1);
	assert_int_equal(strncmp(out, "tick\ntick\n", 10), 0);
	free(out);
	ssh_free(s);
}

static void test_ssh__unknown_host_key(void **state)
{
	struct ssh_hostkey hk;
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	char line[1024], expect[256];
	int r;

	(void)state;
	/* Only the other server's key. */
	known_line(line, sizeof(line), port[1], 1);
	spew(at("kh-other"), line);
	opts.known_hosts = at("kh-other");
	r = ssh_connect(&s, &opts);
	assert_int_equal(r, ERR_NOTFOUND);
	assert_null(s);
	snprintf(expect, sizeof(expect),
		 "unknown host key for '127.0.0.1:%u' (ssh-ed25519 %s)",
		 port[0], keygen_fingerprint(0));
	assert_string_equal(error_last(), expect);
	assert_ok(ssh_fetch_hostkey(&hk, &opts));
	assert_false(hk.known);
	assert_false(hk.changed);
	assert_string_equal(hk.fingerprint, keygen_fingerprint(0));

	/* The key for the same address on another port does not count. */
	known_line(line, sizeof(line), port[1], 0);
	spew(at("kh-port"), line);
	opts.known_hosts = at("kh-port");
	assert_int_equal(ssh_connect(&s, &opts), ERR_NOTFOUND);

	/* No known_hosts file at all: every key is unknown. */
	opts.known_hosts = at("no-such-file");
	assert_int_equal(ssh_connect(&s, &opts), ERR_NOTFOUND);
	assert_non_null(strstr(error_last(), "SHA256:"));
	opts.known_hosts = NULL;
	assert_int_equal(ssh_connect(&s, &opts), ERR_NOTFOUND);

	/* Hashed entries (OpenSSH's HashKnownHosts) count. */
	assert_int_equal(sh("cp '%s' '%s' && ssh-keygen -q -H -f '%s' "
			    ">/dev/null 2>&1", known_hosts, at("kh-hashed"),
			    at("kh-hashed")), 0);
	assert_null(strstr(slurp(at("kh-hashed")), "127.0.0.1"));
	opts.known_hosts = at("kh-hashed");
	assert_ok(ssh_connect(&s, &opts));
	ssh_free(s);
	s = NULL;

	/* Lines libssh2 cannot read are skipped, the rest still counts. */
	known_line(line, sizeof(line), port[0], 0);
	spew(at("kh-junk"), "# comment\n\n@cert-authority * ssh-ed25519 AAAA\n"
	     "garbage\n");
	assert_int_equal(sh("cat '%s' >>'%s'", known_hosts, at("kh-junk")), 0);
	opts.known_hosts = at("kh-junk");
	assert_ok(ssh_connect(&s, &opts));
	ssh_free(s);
}

static void test_ssh__changed_host_key(void **state)
{
	struct ssh_hostkey hk;
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	char line[1024], expect[256];

	(void)state;
	/* Server 2's key recorded for server 1's address and port. */
	known_line(line, sizeof(line), port[0], 1);
	spew(at("kh-changed"), line);
	opts.known_hosts = at("kh-changed");
	assert_int_equal(ssh_connect(&s, &opts), ERR_INVALID);
	assert_null(s);
	snprintf(expect, sizeof(expect),
		 "host key for '127.0.0.1:%u' has changed (ssh-ed25519 %s)",
		 port[0], keygen_fingerprint(0));
	assert_string_equal(error_last(), expect);
	assert_ok(ssh_fetch_hostkey(&hk, &opts));
	assert_true(hk.changed);
	assert_false(hk.known);
}

static void test_ssh__fetch_and_trust(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh_hostkey hk;
	struct ssh *s = NULL;
	struct stat st;
	char line0[1024], line1[1024], text[4096], path[PATH_MAX + 64];
	const char *content;

	(void)state;
	snprintf(path, sizeof(path), "%s", at("newdir/sub/known_hosts"));
	/* A missing file (and directories) for an unknown key. */
	opts.known_hosts = path;
	assert_ok(ssh_fetch_hostkey(&hk, &opts));
	assert_false(hk.known);
	assert_false(hk.changed);
	assert_string_equal(hk.type, "ssh-ed25519");
	assert_string_equal(hk.fingerprint, keygen_fingerprint(0));
	assert_int_equal(ssh_connect(&s, &opts), ERR_NOTFOUND);
	assert_ok(ssh_trust_hostkey(&hk, &opts));
	assert_true(hk.known);
	assert_string_equal(hk.fingerprint, keygen_fingerprint(0));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(at("newdir/sub"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_ok(ssh_connect(&s, &opts));
	ssh_free(s);
	s = NULL;
	/* OpenSSH reads what we wrote. */
	assert_int_equal(sh("ssh-keygen -F '[127.0.0.1]:%u' -f '%s' "
			    ">/dev/null", port[0], path), 0);
	/* Trusting a known key changes nothing. */
	content = slurp(path);
	snprintf(text, sizeof(text), "%s", content);
	assert_ok(ssh_trust_hostkey(&hk, &opts));
	assert_string_equal(slurp(path), text);

	/* A changed key replaces the old entry; the rest stays. */
	known_line(line0, sizeof(line0), port[0], 1);
	known_line(line1, sizeof(line1), port[1], 1);
	snprintf(text, sizeof(text), "# keep me\n%s|1|junk\n%s", line0, line1);
	spew(path, text);
	assert_ok(ssh_fetch_hostkey(&hk, &opts));
	assert_true(hk.changed);
	assert_false(hk.known);
	assert_ok(ssh_trust_hostkey(&hk, &opts));
	assert_true(hk.known);
	assert_false(hk.changed);
	content = slurp(path);
	assert_non_null(strstr(content, "# keep me\n"));
	assert_non_null(strstr(content, "|1|junk\n"));
	assert_non_null(strstr(content, line1));
	assert_null(strstr(content, line0));
	assert_ok(ssh_connect(&s, &opts));
	ssh_free(s);
	s = NULL;
	opts = opts_for(1);
	opts.known_hosts = path;
	assert_ok(ssh_connect(&s, &opts));
	ssh_free(s);
	s = NULL;

	/* A changed key in a hashed entry is replaced too. */
	spew(path, line0);
	assert_int_equal(sh("ssh-keygen -q -H -f '%s' >/dev/null 2>&1",
			    path), 0);
	opts = opts_for(0);
	opts.known_hosts = path;
	assert_int_equal(ssh_connect(&s, &opts), ERR_INVALID);
	assert_ok(ssh_trust_hostkey(&hk, &opts));
	assert_null(strstr(slurp(path), "|1|"));
	assert_ok(ssh_connect(&s, &opts));
	ssh_free(s);
}

static void test_ssh__wrong_identity(void **state)
{
	struct ssh_hostkey hk;
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	char expect[512];

	(void)state;
	snprintf(expect, sizeof(expect),
		 "authentication failed for '%s@127.0.0.1:%u'", user,
		 port[0]);
	opts.identity = at("other_key");
	assert_int_equal(ssh_connect(&s, &opts), ERR_GENERIC);
	assert_null(s);
	assert_string_equal(error_last(), expect);
	assert_null(strstr(error_last(), dir));
	assert_ok(ssh_fetch_hostkey(&hk, &opts));
	assert_true(hk.known);

	opts.identity = at("no-such-key");
	assert_int_equal(ssh_connect(&s, &opts), ERR_GENERIC);
	assert_string_equal(error_last(), expect);

	/* No identity and no agent. */
	opts.identity = NULL;
	assert_int_equal(ssh_connect(&s, &opts), ERR_GENERIC);
	assert_string_equal(error_last(), expect);
}

static void test_ssh__connection_refused(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct ssh *s = NULL;
	char expect[128];
	double t;
	int fd;

	(void)state;
	/* A port nobody listens on: bind one, then close it. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	opts.port = ntohs(sin.sin_port);
	t = now();
	assert_int_equal(ssh_connect(&s, &opts), ERR_SYS);
	assert_true(now() - t < 1.0);
	snprintf(expect, sizeof(expect),
		 "cannot connect to '127.0.0.1:%u': Connection refused",
		 opts.port);
	assert_string_equal(error_last(), expect);

	/* IPv6 addresses are shown in brackets. */
	opts.host = "::1";
	assert_int_equal(ssh_connect(&s, &opts), ERR_SYS);
	snprintf(expect, sizeof(expect), "cannot connect to '[::1]:%u': ",
		 opts.port);
	assert_memory_equal(error_last(), expect, strlen(expect));

	opts.host = "no-such-host.invalid";
	assert_int_equal(ssh_connect(&s, &opts), ERR_SYS);
	assert_null(s);
}

/* A listening socket on 127.0.0.1 that never answers; its port. */
static int silent_listener(unsigned *port_out, int backlog)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port_out = ntohs(sin.sin_port);
	return fd;
}

static void test_ssh__connect_timeout(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh_hostkey hk;
	struct ssh *s = NULL;
	char expect[128];
	double t;
	int fd;

	(void)state;
	/* TCP connects, but no SSH banner ever comes. */
	fd = silent_listener(&opts.port, 8);
	opts.connect_timeout = 1;
	t = now();
	assert_int_equal(ssh_connect(&s, &opts), ERR_TIMEOUT);
	t = now() - t;
	assert_true(t >= 0.9 && t < 2.5);
	assert_null(s);
	snprintf(expect, sizeof(expect),
		 "connection to '127.0.0.1:%u' timed out after 1 s",
		 opts.port);
	assert_string_equal(error_last(), expect);
	t = now();
	assert_int_equal(ssh_fetch_hostkey(&hk, &opts), ERR_TIMEOUT);
	assert_true(now() - t < 2.5);
	assert_string_equal(hk.fingerprint, "");
	close(fd);
}

static void test_ssh__agent(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	char *out = NULL;
	const char *sock = at("agent.sock");
	const char *p;
	int status = -2, r;
	long pid;

	(void)state;
	assert_int_equal(sh("ssh-agent -s -a '%s' >'%s'", sock,
			    at("agent.out")), 0);
	p = strstr(slurp(at("agent.out")), "SSH_AGENT_PID=");
	assert_non_null(p);
	pid = strtol(p + strlen("SSH_AGENT_PID="), NULL, 10);
	assert_true(pid > 1);
	/* A key the server refuses first: the next one is tried. */
	r = sh("SSH_AUTH_SOCK='%s' ssh-add -q '%s' '%s' 2>/dev/null", sock,
	       at("other_key"), key);
	if (r == 0) {
		setenv("SSH_AUTH_SOCK", sock, 1);
		opts.identity = NULL;
		r = ssh_connect(&s, &opts);
		if (r == 0)
			r = run(s, &status, &out, "echo agent", 10, NULL,
				NULL);
		ssh_free(s);
		unsetenv("SSH_AUTH_SOCK");
	}
	kill((pid_t)pid, SIGTERM);
	assert_ok(r);
	assert_int_equal(status, 0);
	assert_string_equal(out, "agent\n");
	free(out);
}

/* Last: stops server 2. */
static void test_ssh__server_down(void **state)
{
	struct ssh_opts opts = opts_for(1);
	struct ssh *s = NULL;
	double t;

	(void)state;
	assert_int_equal(sh("sh '%s/tests/sshd.sh' stop-one '%s' 2", srcdir,
			    dir), 0);
	t = now();
	assert_int_equal(ssh_connect(&s, &opts), ERR_SYS);
	assert_true(now() - t < 1.0);
	assert_null(s);
	assert_non_null(strstr(error_last(), "cannot connect to"));
	/* Server 1 still answers. */
	opts = opts_for(0);
	assert_ok(ssh_connect(&s, &opts));
	ssh_free(s);
	ssh_free(NULL);
}

/*
 * The persistent shell started in the middle of a stream into another
 * channel (as an upload starts it): the stream arrives whole, and the
 * shell then runs commands.
 */
static void test_ssh__shell_during_stream(void **state)
{
	struct ssh_opts opts = opts_for(0);
	struct ssh *s = NULL;
	struct ssh_channel *ch = NULL;
	char *out = NULL;
	char expect[32];
	int status = -2;

	(void)state;
	assert_ok(ssh_connect(&s, &opts));
	assert_ok(ssh_channel_open(&ch, s, "wc -c", 60));
	assert_ok(stream(ch, 5 * 1024 * 1024 + 3));
	ssh_shell_start(s);
	assert_ok(stream(ch, 5 * 1024 * 1024 + 4));
	assert_ok(ssh_channel_close(ch, &status, &out));
	assert_int_equal(status, 0);
	snprintf(expect, sizeof(expect), "%d\n", 10 * 1024 * 1024 + 7);
	assert_string_equal(out, expect);
	free(out);
	assert_ok(run(s, &status, &out, "echo from the shell; exit 4", 10,
		      NULL, NULL));
	assert_int_equal(status, 4);
	assert_string_equal(out, "from the shell\n");
	free(out);
	ssh_free(s);
}

/* The tests above again, through the persistent shell (use_shell). */
static void test_ssh__shell_run_echo(void **state)
{
	test_ssh__run_echo(state);
}

static void test_ssh__shell_exit_status(void **state)
{
	test_ssh__exit_status(state);
}

static void test_ssh__shell_stderr_captured(void **state)
{
	test_ssh__stderr_captured(state);
}

static void test_ssh__shell_compress(void **state)
{
	test_ssh__compress(state);
}

static void test_ssh__shell_command_timeout(void **state)
{
	test_ssh__command_timeout(state);
}

static void test_ssh__shell_background_holds_output(void **state)
{
	test_ssh__background_holds_output(state);
}

static void test_ssh__shell_marker_hidden(void **state)
{
	test_ssh__marker_hidden(state);
}

static void test_ssh__shell_timeout_counts_from_start(void **state)
{
	test_ssh__timeout_counts_from_start(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssh__run_echo),
		cmocka_unit_test(test_ssh__exit_status),
		cmocka_unit_test(test_ssh__stderr_captured),
		cmocka_unit_test(test_ssh__stream_stdin),
		cmocka_unit_test(test_ssh__stream_echo_keeps_tail),
		cmocka_unit_test(test_ssh__stream_adjust_during_read),
		cmocka_unit_test(test_ssh__stream_ahead_limited),
		cmocka_unit_test(test_ssh__compress),
		cmocka_unit_test(test_ssh__stream_to_quitter),
		cmocka_unit_test(test_ssh__stream_after_remote_eof),
		cmocka_unit_test(test_ssh__connection_lost),
		cmocka_unit_test(test_ssh__command_timeout),
		cmocka_unit_test(test_ssh__background_holds_output),
		cmocka_unit_test(test_ssh__marker_hidden),
		cmocka_unit_test(test_ssh__timeout_counts_from_start),
		/* the same, through the persistent shell */
		cmocka_unit_test_setup_teardown(test_ssh__shell_run_echo,
						shell_on, shell_off),
		cmocka_unit_test_setup_teardown(test_ssh__shell_exit_status,
						shell_on, shell_off),
		cmocka_unit_test_setup_teardown(
			test_ssh__shell_stderr_captured, shell_on, shell_off),
		cmocka_unit_test_setup_teardown(test_ssh__shell_compress,
						shell_on, shell_off),
		cmocka_unit_test_setup_teardown(
			test_ssh__shell_command_timeout, shell_on, shell_off),
		cmocka_unit_test_setup_teardown(
			test_ssh__shell_background_holds_output, shell_on,
			shell_off),
		cmocka_unit_test_setup_teardown(test_ssh__shell_marker_hidden,
						shell_on, shell_off),
		cmocka_unit_test_setup_teardown(
			test_ssh__shell_timeout_counts_from_start, shell_on,
			shell_off),
		cmocka_unit_test(test_ssh__shell_order_and_many),
		cmocka_unit_test(test_ssh__stdin_through_shell),
		cmocka_unit_test(test_ssh__stdin_chunked),
		cmocka_unit_test(test_ssh__shell_during_stream),
		cmocka_unit_test(test_ssh__unknown_host_key),
		cmocka_unit_test(test_ssh__changed_host_key),
		cmocka_unit_test(test_ssh__fetch_and_trust),
		cmocka_unit_test(test_ssh__wrong_identity),
		cmocka_unit_test(test_ssh__connection_refused),
		cmocka_unit_test(test_ssh__connect_timeout),
		cmocka_unit_test(test_ssh__agent),
		cmocka_unit_test(test_ssh__server_down),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
