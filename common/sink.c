#include "sink.h"

#include <errno.h>
#include <unistd.h>

#include "errors.h"

/* Bytes read from a file descriptor at a time. */
#define SINK_CHUNK (64 * 1024)

void sink_init(struct sink *s, const struct sink_ops *ops, void *self)
{
	s->ops = ops;
	s->self = self;
	s->entries = 0;
	s->bytes = 0;
}

bool sink_wants(struct sink *s, const char *path)
{
	return !s->ops->wants || s->ops->wants(s->self, path);
}

int sink_dir(struct sink *s, const char *path, unsigned mode)
{
	s->entries++;
	return s->ops->dir(s->self, path, mode);
}

int sink_file(struct sink *s, const char *path, unsigned mode,
	      uint64_t size)
{
	s->entries++;
	return s->ops->file(s->self, path, mode, size);
}

int sink_data(struct sink *s, const void *data, size_t len)
{
	int r = s->ops->data(s->self, data, len);

	if (!r)
		s->bytes += len;
	return r;
}

int sink_symlink(struct sink *s, const char *path, const char *target)
{
	s->entries++;
	return s->ops->symlink(s->self, path, target);
}

int sink_file_data(struct sink *s, const char *path, unsigned mode,
		   const void *data, size_t len)
{
	int r;

	if ((r = sink_file(s, path, mode, len)) < 0)
		return r;
	return len ? sink_data(s, data, len) : 0;
}

int sink_file_fd(struct sink *s, const char *path, unsigned mode, int fd,
		 uint64_t size)
{
	static char chunk[SINK_CHUNK];
	uint64_t left;
	int r;

	if ((r = sink_file(s, path, mode, size)) < 0)
		return r;
	for (left = size; left;) {
		ssize_t n = read(fd, chunk, left < sizeof(chunk) ?
				 (size_t)left : sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return error_set(ERR_SYS, "'%.200s' changed while read",
					 path);
		if ((r = sink_data(s, chunk, (size_t)n)) < 0)
			return r;
		left -= (uint64_t)n;
	}
	return 0;
}

static int filter_dir(void *self, const char *path, unsigned mode)
{
	struct sink_filter *f = self;
	int r;

	if ((r = f->refuse(path, f->payload)) < 0)
		return r;
	return sink_dir(f->next, path, mode);
}

static bool filter_wants(void *self, const char *path)
{
	struct sink_filter *f = self;

	return sink_wants(f->next, path);
}

static int filter_file(void *self, const char *path, unsigned mode,
		       uint64_t size)
{
	struct sink_filter *f = self;
	int r;

	if ((r = f->refuse(path, f->payload)) < 0)
		return r;
	return sink_file(f->next, path, mode, size);
}

static int filter_data(void *self, const void *data, size_t len)
{
	struct sink_filter *f = self;

	return sink_data(f->next, data, len);
}

static int filter_symlink(void *self, const char *path, const char *target)
{
	struct sink_filter *f = self;
	int r;

	if ((r = f->refuse(path, f->payload)) < 0)
		return r;
	return sink_symlink(f->next, path, target);
}

static const struct sink_ops filter_ops = {
	filter_dir, filter_wants, filter_file, filter_data, filter_symlink
};

void sink_filter_init(struct sink *s, struct sink_filter *f,
		      struct sink *next, sink_check_fn refuse, void *payload)
{
	f->next = next;
	f->refuse = refuse;
	f->payload = payload;
	sink_init(s, &filter_ops, f);
}
