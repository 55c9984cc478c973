/*
 * driver.c - a main() for the fuzz targets of tests/fuzz/ without
 * libFuzzer, so that `make check` runs each of them for a moment with
 * any compiler (and under ASan and UBSan with SANITIZE=1). Linked with
 * one target into $(B)/fuzz/fuzz_NAME:
 *
 *   fuzz_NAME [-t SECONDS] [-n COUNT] [-s SEED] [-m MAXLEN] [-o FILE]
 *             PATH...
 *
 * First every input file is given to LLVMFuzzerTestOneInput() as it is
 * (the files of a directory PATH in name order, dot files left out),
 * then mutants of them: a copy of one file with 1 to 8 random edits (bit
 * flips, bytes set to random or to telling values, bytes inserted,
 * removed, repeated or copied from another file, a cut), made by a
 * pseudo-random generator seeded with SEED (default 1), so a run is the
 * same sequence of inputs each time. Mutants stop after COUNT of them
 * (default 100000) or once SECONDS have passed (default 2); none are
 * longer than MAXLEN bytes (default 8192, as `make fuzz`). With no PATH
 * the mutants grow from the empty input.
 *
 * A failure is a crash (a sanitizer's report, an abort by FUZZ_CHECK).
 * With -o, each input is written to FILE before it runs, so that after
 * a crash FILE holds the input that caused it: run the binary (or the
 * libFuzzer one of `make fuzz`) on that file to reproduce it. Prints one
 * line, "fuzz_NAME: N inputs (F files, M mutants), seed S, T s", and
 * exits 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	uint8_t *data;
	size_t len;
};

static struct input *inputs;
static size_t nr_inputs, alloc_inputs;
static uint64_t rng_state;
static const char *keep_path;	/* -o */
static int keep_fd = -1;

static void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz driver: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *xalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

/* splitmix64: small, fast and the same everywhere. */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number from 0 to n - 1 (n > 0). */
static size_t below(size_t n)
{
	return (size_t)(rng() % n);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long number(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || *s == '-')
		die("not a number for %s", what);
	return v;
}

static void add_input(const char *path, size_t max)
{
	FILE *fp = fopen(path, "rb");
	struct input *in;
	size_t n;

	if (!fp)
		die("cannot read '%s'", path);
	if (nr_inputs == alloc_inputs) {
		alloc_inputs = alloc_inputs ? 2 * alloc_inputs : 16;
		inputs = realloc(inputs, alloc_inputs * sizeof(*inputs));
		if (!inputs)
			die("out of memory");
	}
	in = &inputs[nr_inputs++];
	in->data = xalloc(max);
	in->len = 0;
	while (in->len < max &&
	       (n = fread(in->data + in->len, 1, max - in->len, fp)) > 0)
		in->len += n;
	if (ferror(fp))
		die("cannot read '%s'", path);
	fclose(fp);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, or the files of a directory in name order. */
static void add_path(const char *path, size_t max)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t nr = 0, alloc = 0, i;
	DIR *d;

	if (stat(path, &st) < 0)
		die("cannot read '%s'", path);
	if (!S_ISDIR(st.st_mode)) {
		add_input(path, max);
		return;
	}
	if (!(d = opendir(path)))
		die("cannot read '%s'", path);
	while ((de = readdir(d))) {
		size_t len = strlen(path) + strlen(de->d_name) + 2;

		if (de->d_name[0] == '.')
			continue;
		if (nr == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			names = realloc(names, alloc * sizeof(*names));
			if (!names)
				die("out of memory");
		}
		names[nr] = xalloc(len);
		snprintf(names[nr++], len, "%s/%s", path, de->d_name);
	}
	closedir(d);
	qsort(names, nr, sizeof(*names), by_name);
	for (i = 0; i < nr; i++) {
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			add_input(names[i], max);
		free(names[i]);
	}
	free(names);
}

/* Bytes that often mean something to a parser. */
static const uint8_t telling[] = {
	0, 1, 0x7f, 0x80, 0xff, 0xc0, 0xe2, 0xf4, '\n', '\r', '\t', ' ',
	'/', '.', '-', '0', '9', '=', ';', '#', '[', ']', '"', '\'', '\\',
	'*', ':', '@', ',', '{', '}'
};

#define NR_TELLING (sizeof(telling) / sizeof(telling[0]))

/* Make room for `n` bytes at `at` in buf (len bytes of max). */
static size_t open_gap(uint8_t *buf, size_t len, size_t max, size_t at,
		       size_t n)
{
	if (n > max - len)
		n = max - len;
	memmove(buf + at + n, buf + at, len - at);
	return n;
}

/* One random edit of buf (len bytes, at most max); the new length. */
static size_t mutate(uint8_t *buf, size_t len, size_t max)
{
	size_t at, n, i;
	const struct input *other;

	switch (below(10)) {
	case 0:		/* flip a bit */
		if (len)
			buf[below(len)] ^= (uint8_t)(1u << below(8));
		break;
	case 1:		/* a random byte */
		if (len)
			buf[below(len)] = (uint8_t)rng();
		break;
	case 2:		/* a telling byte */
		if (len)
			buf[below(len)] = telling[below(NR_TELLING)];
		break;
	case 3:		/* insert random or telling bytes */
		at = below(len + 1);
		n = open_gap(buf, len, max, at, 1 + below(8));
		for (i = 0; i < n; i++)
			buf[at + i] = below(2) ? (uint8_t)rng() :
				      telling[below(NR_TELLING)];
		len += n;
		break;
	case 4:		/* remove a run */
		if (len) {
			at = below(len);
			n = 1 + below(len - at < 16 ? len - at : 16);
			memmove(buf + at, buf + at + n, len - at - n);
			len -= n;
		}
		break;
	case 5:		/* repeat one byte many times: limits and caps */
		if (len) {
			uint8_t c = buf[below(len)];

			at = below(len + 1);
			n = open_gap(buf, len, max, at, 1 + below(256));
			memset(buf + at, c, n);
			len += n;
		}
		break;
	case 6:		/* copy a run inside */
		if (len) {
			uint8_t run[32];

			i = below(len);
			n = 1 + below(len - i < 32 ? len - i : 32);
			memcpy(run, buf + i, n);
			at = below(len + 1);
			n = open_gap(buf, len, max, at, n);
			memcpy(buf + at, run, n);
			len += n;
		}
		break;
	case 7:		/* insert a run of another input */
		if (nr_inputs) {
			other = &inputs[below(nr_inputs)];
			if (!other->len)
				break;
			i = below(other->len);
			n = 1 + below(other->len - i < 64 ?
				      other->len - i : 64);
			at = below(len + 1);
			n = open_gap(buf, len, max, at, n);
			memcpy(buf + at, other->data + i, n);
			len += n;
		}
		break;
	case 8:		/* cut the end */
		if (len)
			len = below(len + 1);
		break;
	default:	/* swap two bytes */
		if (len > 1) {
			uint8_t c;

			at = below(len);
			i = below(len);
			c = buf[at];
			buf[at] = buf[i];
			buf[i] = c;
		}
		break;
	}
	return len;
}

/*
 * Run the target on a copy of `len` bytes of data, in a buffer of its own
 * size (so that ASan sees a read past it), kept in -o's file first.
 */
static void run(const uint8_t *data, size_t len)
{
	uint8_t *copy = xalloc(len);

	/* the file stays open: two calls an input, not a new file each */
	if (keep_fd >= 0 &&
	    ((len && pwrite(keep_fd, data, len, 0) != (ssize_t)len) ||
	     ftruncate(keep_fd, (off_t)len) < 0))
		die("cannot write '%s'", keep_path);
	memcpy(copy, data, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
	unsigned long seconds = 2, count = 100000, seed = 1, max = 8192;
	unsigned long mutants = 0, edits, k;
	double start, took;
	uint8_t *buf;
	size_t i, len;
	int c;

	while ((c = getopt(argc, argv, "t:n:s:m:o:")) != -1) {
		switch (c) {
		case 't': seconds = number(optarg, "-t"); break;
		case 'n': count = number(optarg, "-n"); break;
		case 's': seed = number(optarg, "-s"); break;
		case 'm': max = number(optarg, "-m"); break;
		case 'o': keep_path = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-t SECONDS] [-n COUNT] "
				"[-s SEED] [-m MAXLEN] [-o FILE] PATH...\n",
				argv[0]);
			return 2;
		}
	}
	if (!max)
		die("-m must be at least 1");
	if (keep_path && (keep_fd = open(keep_path, O_WRONLY | O_CREAT |
					 O_TRUNC | O_CLOEXEC, 0600)) < 0)
		die("cannot write '%s'", keep_path);
	for (; optind < argc; optind++)
		add_path(argv[optind], max);
	rng_state = seed;
	start = now();
	for (i = 0; i < nr_inputs; i++)
		run(inputs[i].data, inputs[i].len);
	buf = xalloc(max);
	while (mutants < count && now() - start < (double)seconds) {
		if (nr_inputs) {
			const struct input *from = &inputs[below(nr_inputs)];

			len = from->len;
			memcpy(buf, from->data, len);
		} else {
			len = 0;
		}
		edits = 1 + below(8);
		for (k = 0; k < edits; k++)
			len = mutate(buf, len, max);
		run(buf, len);
		mutants++;
	}
	took = now() - start;
	printf("%s: %lu inputs (%zu files, %lu mutants), seed %lu, %.1f s\n",
	       base_name(argv[0]), (unsigned long)nr_inputs + mutants,
	       nr_inputs, mutants, seed, took);
	free(buf);
	for (i = 0; i < nr_inputs; i++) {
		free(inputs[i].data);
	}
	free(inputs);
	if (keep_fd >= 0)
		close(keep_fd);
	return 0;
}
