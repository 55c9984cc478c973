/*
 * statuspage - what writing the status page costs with a long history
 *
 *   statuspage GIT_DIR RECORDS RUNS
 *
 * Opens the repository and its hooks.ini as the CLI does, appends
 * deploy records to its history until it holds RECORDS of them (spread
 * over its environments, some failed, hostile subjects aside), then
 * renders the page and status.json RUNS times (statuspage_render: the
 * reading and the writing of the text, no file written) and writes them
 * RUNS times (statuspage_update: the same plus the temporary files,
 * fsync and renames, and the copy to [core] status_page), printing
 *
 *	render MEDIAN_US MIN_US BYTES_HTML BYTES_JSON
 *	update MEDIAN_US MIN_US
 *
 * Exits 1 if a run fails, 2 on a usage or setup error. Part of the
 * benchmark (tests/bench/page.sh), linked against libpushgate.a there;
 * not built by the Makefile.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "gate.h"
#include "history.h"
#include "statuspage.h"

#define MAX_RUNS 10000

static long long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int count(const struct history_record *r, void *payload)
{
	(void)r;
	(*(size_t *)payload)++;
	return 0;
}

int main(int argc, char **argv)
{
	struct gate g = GATE_INIT;
	struct strvec errors = STRVEC_INIT;
	static long long t[MAX_RUNS];
	struct buf html, json;
	uint64_t want, runs;
	size_t have = 0, i;
	int64_t now = (int64_t)time(NULL);

	if (argc != 4 || parse_uint(argv[2], 0, 10000000, &want) < 0 ||
	    parse_uint(argv[3], 1, MAX_RUNS, &runs) < 0) {
		fprintf(stderr, "usage: statuspage GIT_DIR RECORDS RUNS\n");
		return 2;
	}
	repo_library_init();
	if (gate_open(&g, argv[1], 0, &errors) < 0 || !g.cfg.nr_envs) {
		fprintf(stderr, "statuspage: cannot open %s: %s\n", argv[1],
			errors.nr ? errors.v[0] : error_last());
		return 2;
	}
	if (history_read(&g.st, count, &have) < 0)
		return 2;
	for (i = have; i < want; i++) {
		struct history_record r;
		char release[64];

		memset(&r, 0, sizeof(r));
		r.time = now - (int64_t)(want - i) * 60;
		r.env = g.cfg.envs[i % g.cfg.nr_envs].name;
		r.action = HISTORY_DEPLOY;
		r.commit = "0123456789abcdef0123456789abcdef01234567";
		snprintf(release, sizeof(release), "20260101T%06zuZ-0123456789ab",
			 i % 1000000);
		r.release = release;
		r.user = i % 3 ? "ada" : "o'brien \"<admin>\"";
		r.result = i % 17 ? HISTORY_OK : HISTORY_FAILED;
		r.duration = 1.5;
		r.reason = r.result == HISTORY_OK ? "" :
			   "web1: healthcheck failed (exit 1) <b>";
		r.upload = "incremental";
		if (history_add(&g.st, &r) < 0)
			return 2;
	}
	for (i = 0; i < runs; i++) {
		long long t0 = now_us();

		buf_init(&html, STATUSPAGE_MAX);
		buf_init(&json, STATUSPAGE_MAX);
		if (statuspage_render(&html, &json, &g.cfg, g.repo, &g.st,
				      now) < 0) {
			fprintf(stderr, "statuspage: %s\n", error_last());
			return 1;
		}
		t[i] = now_us() - t0;
		if (i + 1 < runs) {
			buf_release(&html);
			buf_release(&json);
		}
	}
	qsort(t, runs, sizeof(t[0]), cmp_ll);
	printf("render %lld %lld %zu %zu\n", t[runs / 2], t[0], html.len,
	       json.len);
	buf_release(&html);
	buf_release(&json);
	for (i = 0; i < runs; i++) {
		long long t0 = now_us();

		if (statuspage_update(&g.cfg, g.repo, &g.st) < 0) {
			fprintf(stderr, "statuspage: %s\n", error_last());
			return 1;
		}
		t[i] = now_us() - t0;
	}
	qsort(t, runs, sizeof(t[0]), cmp_ll);
	printf("update %lld %lld\n", t[runs / 2], t[0]);
	gate_release(&g);
	strvec_clear(&errors);
	repo_library_shutdown();
	return 0;
}
