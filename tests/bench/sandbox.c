/*
 * sandbox - what the build and test sandbox costs
 *
 *   cc -O2 -Iinclude tests/bench/sandbox.c build/libpushgate.a ... \
 *	-o /tmp/sandbox && /tmp/sandbox RUNS REPO HIDDEN...
 *
 * Times, RUNS times each (interleaved): building the rules for a checkout
 * in REPO/pushgate/tmp with REPO and the HIDDEN paths left out (files,
 * then also TCP connects to port 22), and running /bin/true through
 * proc_run() unconfined and confined (REPO/pushgate/tmp/checkout must
 * exist). Prints the mean of each and the
 * number of file rules, in microseconds. A test run pays one build of
 * the rules (one per checkout) and the confinement of each command
 * (build, test). Not built by the Makefile; the figures are informative.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "errors.h"
#include "proc.h"
#include "sandbox.h"

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int run_true(const struct sandbox *sb)
{
	static const char *const argv[] = { "/bin/true", NULL };
	struct proc_opts po = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	int r;

	po.argv = argv;
	po.sandbox = sb;
	r = proc_run(&res, &po);
	if (!r && res.status)
		r = -1;
	proc_result_release(&res);
	return r;
}

int main(int argc, char **argv)
{
	static const unsigned ports[] = { 22 };
	struct sandbox_opts so = SANDBOX_OPTS_INIT;
	struct sandbox sb = SANDBOX_INIT, none = SANDBOX_INIT;
	const char *writable[2];
	char checkout[4096];
	double t, fs = 0, net = 0, plain = 0, boxed = 0;
	long n, i;
	size_t rules = 0;

	if (argc < 3) {
		fputs("usage: sandbox RUNS REPO [HIDDEN...]\n", stderr);
		return 2;
	}
	n = strtol(argv[1], NULL, 10);
	if (n < 1)
		n = 1;
	if (!sandbox_abi()) {
		printf("sandbox: this kernel does not offer Landlock\n");
		return 0;
	}
	snprintf(checkout, sizeof(checkout), "%s/pushgate/tmp/checkout",
		 argv[2]);
	writable[0] = checkout;
	writable[1] = NULL;
	so.writable = writable;
	so.hidden = (const char *const *)argv + 2;
	for (i = 0; i < n; i++) {
		so.nr_closed_ports = 0;
		t = now_us();
		if (sandbox_prepare(&sb, &so) < 0)
			goto fail;
		fs += now_us() - t;
		rules = sb.nr_rules;
		sandbox_release(&sb);
		so.closed_ports = ports;
		so.nr_closed_ports = 1;
		t = now_us();
		if (sandbox_prepare(&sb, &so) < 0)
			goto fail;
		net += now_us() - t;
		t = now_us();
		if (run_true(&none) < 0)
			goto fail;
		plain += now_us() - t;
		t = now_us();
		if (run_true(&sb) < 0)
			goto fail;
		boxed += now_us() - t;
		sandbox_release(&sb);
	}
	printf("sandbox (Landlock ABI %d, %ld runs, %zu file rules)\n",
	       sandbox_abi(), n, rules);
	printf("  rules for files             %8.0f us\n", fs / (double)n);
	printf("  rules for files and TCP     %8.0f us\n", net / (double)n);
	printf("  /bin/true unconfined        %8.0f us\n", plain / (double)n);
	printf("  /bin/true confined          %8.0f us\n", boxed / (double)n);
	printf("  per test run (rules, build and test confined): %.1f ms\n",
	       (net + 2 * (boxed - plain)) / (double)n / 1000);
	return 0;
fail:
	fprintf(stderr, "sandbox: %s\n", error_last());
	return 1;
}
