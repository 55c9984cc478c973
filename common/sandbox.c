#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "errors.h"
#include "strvec.h"

/*
 * The Landlock interface, written out from the kernel's UAPI
 * (linux/landlock.h) because the distribution's header may predate the
 * ABI versions we use; the kernel tells which it has.
 */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2

#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_REFER (1ULL << 13)	/* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15)	/* ABI 5 */

#define LL_NET_CONNECT_TCP (1ULL << 1)	/* ABI 4 */

#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)			/* ABI 6 */

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;	/* ABI 4 */
	uint64_t scoped;		/* ABI 6 */
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

/* Rights on files (the rest apply to directories only). */
#define LL_FS_FILE_RIGHTS (LL_FS_EXECUTE | LL_FS_WRITE_FILE | \
	LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
#define LL_FS_READ_RIGHTS (LL_FS_EXECUTE | LL_FS_READ_FILE | \
	LL_FS_READ_DIR | LL_FS_IOCTL_DEV)
/* Devices that commands open for writing: `>/dev/null` and such. */
static const char *const write_devices[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/random",
	"/dev/urandom"
};

static long ll_create(const struct ll_ruleset_attr *attr, size_t size,
		      unsigned flags)
{
	return syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

int sandbox_abi(void)
{
	static int abi = -1;
	long v;

	if (abi < 0) {
		v = ll_create(NULL, 0, LL_CREATE_RULESET_VERSION);
		abi = v < 0 ? 0 : (int)v;
	}
	return abi;
}

/* Every filesystem right this ABI knows. */
static uint64_t fs_rights(int abi)
{
	uint64_t r = (LL_FS_MAKE_SYM << 1) - 1;

	if (abi >= 2)
		r |= LL_FS_REFER;
	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	if (abi >= 5)
		r |= LL_FS_IOCTL_DEV;
	return r;
}

/* The ruleset attribute's size for this ABI (older kernels want less). */
static size_t attr_size(int abi)
{
	if (abi >= SANDBOX_ABI_SCOPE)
		return sizeof(struct ll_ruleset_attr);
	if (abi >= SANDBOX_ABI_NET)
		return offsetof(struct ll_ruleset_attr, scoped);
	return offsetof(struct ll_ruleset_attr, handled_access_net);
}

struct builder {
	struct sandbox *sb;
	uint64_t handled;
	const struct strvec *hidden;	/* canonical absolute paths */
};

/*
 * Grant `rights` beneath the object `fd` refers to (directory rights are
 * dropped for a file). Symbolic links are skipped: access through one is
 * decided on its target, which has rules of its own.
 */
static int add_fd_rule(struct builder *b, int fd, uint64_t rights,
		       const char *path)
{
	struct ll_path_beneath_attr pb;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return error_set_errno(ERR_SYS, "sandbox: cannot stat '%s'",
				       path);
	if (S_ISLNK(st.st_mode))
		return 0;
	if (!S_ISDIR(st.st_mode))
		rights &= LL_FS_FILE_RIGHTS;
	rights &= b->handled;
	if (!rights)
		return 0;
	if (b->sb->nr_rules >= SANDBOX_MAX_RULES)
		return error_set(ERR_TOOBIG, "sandbox: more than %d rules "
				 "(directories beside the hidden paths)",
				 SANDBOX_MAX_RULES);
	pb.allowed_access = rights;
	pb.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, b->sb->fs_fd, LL_RULE_PATH_BENEATH,
		    &pb, 0) < 0)
		return error_set_errno(ERR_SYS, "sandbox: cannot add a rule "
				       "for '%s'", path);
	b->sb->nr_rules++;
	return 0;
}

/* A rule for `path` (which must exist unless `optional`). */
static int add_path_rule(struct builder *b, const char *path,
			 uint64_t rights, bool optional)
{
	int fd, r;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (optional)
			return 0;
		return error_set_errno(ERR_SYS, "sandbox: cannot open '%s'",
				       path);
	}
	r = add_fd_rule(b, fd, rights, path);
	close(fd);
	return r;
}

/* Is `path` (length len) a hidden path, or an ancestor of one? */
static void classify(const struct builder *b, const char *path, size_t len,
		     bool *hidden, bool *ancestor)
{
	size_t i;

	*hidden = *ancestor = false;
	for (i = 0; i < b->hidden->nr; i++) {
		const char *h = b->hidden->v[i];

		if (strncmp(h, path, len))
			continue;
		if (!h[len])
			*hidden = true;
		else if (h[len] == '/' || len == 1)
			*ancestor = true;
	}
}

/*
 * Grant reading to everything in directory `path` except the hidden
 * paths, descending into the entries that lead to one.
 */
static int grant_dir(struct builder *b, const char *path)
{
	struct buf child = BUF_INIT;
	struct dirent *de;
	bool hidden, ancestor;
	DIR *d;
	int dfd, fd, r = 0;

	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return 0;	/* gone or unreadable: stays unreadable */
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return error_set_errno(ERR_SYS, "sandbox: cannot list '%s'",
				       path);
	}
	while (!r && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		buf_reset(&child);
		buf_addstr(&child, path);
		if (child.len > 1)
			buf_addch(&child, '/');
		if ((r = buf_addstr(&child, de->d_name)) < 0)
			break;
		classify(b, child.ptr, child.len, &hidden, &ancestor);
		if (hidden)
			continue;
		fd = openat(dfd, de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;	/* vanished: nothing to grant */
		if (ancestor) {
			struct stat st;

			/* hidden paths are canonical: no link leads there */
			if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
				r = grant_dir(b, child.ptr);
		} else {
			r = add_fd_rule(b, fd, LL_FS_READ_RIGHTS, child.ptr);
		}
		close(fd);
	}
	closedir(d);
	buf_release(&child);
	return r;
}

/* The hidden paths, resolved; those that do not exist are left out. */
static int resolve_hidden(struct strvec *out, const char *const *hidden)
{
	char *real;

	for (; hidden && *hidden; hidden++) {
		if (**hidden != '/')
			BUG("sandbox: relative hidden path '%s'", *hidden);
		if (!(real = realpath(*hidden, NULL))) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return error_set_errno(ERR_SYS, "sandbox: cannot "
					       "resolve '%s'", *hidden);
		}
		if (!strcmp(real, "/")) {
			free(real);
			return error_set(ERR_INVALID, "sandbox: cannot hide "
					 "'/'");
		}
		strvec_push(out, real);
		free(real);
	}
	return 0;
}

static int prepare_fs(struct sandbox *sb, const struct sandbox_opts *o)
{
	struct strvec hidden = STRVEC_INIT;
	struct ll_ruleset_attr attr = { 0, 0, 0 };
	struct builder b;
	const char *const *w;
	size_t i;
	int r;

	attr.handled_access_fs = fs_rights(sb->abi);
	if (sb->abi >= SANDBOX_ABI_SCOPE)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
	sb->fs_fd = (int)ll_create(&attr, attr_size(sb->abi), 0);
	if (sb->fs_fd < 0)
		return error_set_errno(ERR_SYS, "sandbox: cannot create "
				       "the Landlock rules");
	b.sb = sb;
	b.handled = attr.handled_access_fs;
	b.hidden = &hidden;
	if ((r = resolve_hidden(&hidden, o->hidden)) < 0)
		goto out;
	r = hidden.nr ? grant_dir(&b, "/")
		      : add_path_rule(&b, "/", LL_FS_READ_RIGHTS, false);
	for (i = 0; !r && i < sizeof(write_devices) / sizeof(*write_devices);
	     i++)
		r = add_path_rule(&b, write_devices[i],
				  LL_FS_READ_FILE | LL_FS_WRITE_FILE |
				  LL_FS_TRUNCATE | LL_FS_IOCTL_DEV, true);
	if (!r)
		r = add_path_rule(&b, "/dev/shm", b.handled, true);
	for (w = o->writable; !r && w && *w; w++)
		r = add_path_rule(&b, *w, b.handled, false);
out:
	strvec_clear(&hidden);
	return r;
}

static int prepare_net(struct sandbox *sb, const struct sandbox_opts *o)
{
	struct ll_ruleset_attr attr = { 0, LL_NET_CONNECT_TCP, 0 };
	struct ll_net_port_attr np;
	unsigned port;
	size_t i;
	bool closed;

	sb->net_fd = (int)ll_create(&attr, attr_size(sb->abi), 0);
	if (sb->net_fd < 0)
		return error_set_errno(ERR_SYS, "sandbox: cannot create "
				       "the Landlock network rules");
	/* an allow list: every port but the closed ones */
	for (port = 1; port <= 65535; port++) {
		for (closed = false, i = 0; i < o->nr_closed_ports; i++)
			closed |= o->closed_ports[i] == port;
		if (closed)
			continue;
		np.allowed_access = LL_NET_CONNECT_TCP;
		np.port = port;
		if (syscall(SYS_landlock_add_rule, sb->net_fd,
			    LL_RULE_NET_PORT, &np, 0) < 0)
			return error_set_errno(ERR_SYS, "sandbox: cannot add "
					       "a rule for port %u", port);
	}
	return 0;
}

int sandbox_prepare(struct sandbox *sb, const struct sandbox_opts *o)
{
	struct error_saved saved;
	int r;

	sb->fs_fd = sb->net_fd = -1;
	sb->nr_rules = 0;
	if (!(sb->abi = sandbox_abi()))
		return error_set(ERR_NOTFOUND, "this kernel does not offer "
				 "Landlock");
	r = prepare_fs(sb, o);
	if (!r && o->nr_closed_ports && sb->abi >= SANDBOX_ABI_NET)
		r = prepare_net(sb, o);
	if (r < 0) {
		error_save(&saved);
		sandbox_release(sb);
		return error_restore(&saved, r);
	}
	return 0;
}

int sandbox_enter(const struct sandbox *sb)
{
	if (sb->fs_fd < 0)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	if (sb->net_fd >= 0 &&
	    syscall(SYS_landlock_restrict_self, sb->net_fd, 0) < 0)
		return -1;
	return (int)syscall(SYS_landlock_restrict_self, sb->fs_fd, 0);
}

bool sandbox_active(const struct sandbox *sb)
{
	return sb->fs_fd >= 0;
}

void sandbox_release(struct sandbox *sb)
{
	if (sb->fs_fd >= 0)
		close(sb->fs_fd);
	if (sb->net_fd >= 0)
		close(sb->net_fd);
	sb->fs_fd = sb->net_fd = -1;
	sb->nr_rules = 0;
}
