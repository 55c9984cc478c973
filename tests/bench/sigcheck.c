/*
 * sigcheck - check the SSH signature of every commit reachable from a
 * revision, in process, as pushgate does: repo_commit_signature() then
 * sshsig_check() against an allowed-signers file
 *
 *   sigcheck REPO ALLOWED_SIGNERS REV RUNS
 *
 * Loads the allowed-signers file and lists the commits once, then checks
 * every commit RUNS times, printing one line per run:
 *
 *	run N MICROSECONDS COMMITS VALID
 *
 * MICROSECONDS is the CLOCK_MONOTONIC time of reading and checking all
 * the commits of that run. Exits 1 if any commit is not VALID (its
 * verdict is printed on stderr), 2 on a usage or setup error.
 *
 * Part of the benchmark (tests/bench/sigs.sh), linked against
 * libpushgate.a there; not built by the Makefile.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "errors.h"
#include "repo.h"
#include "sshsig.h"

#define MAX_COMMITS 1000000

static long long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	struct repo_signature sig = REPO_SIGNATURE_INIT;
	struct sshsig_signers *signers = NULL;
	struct sshsig_verdict v;
	struct repo_oid tip, *list = NULL;
	struct repo *repo = NULL;
	size_t nr = 0, total = 0, i, valid;
	uint64_t runs, run;
	long long t0;
	int rc = 0;

	if (argc != 5 || parse_uint(argv[4], 1, 100, &runs) < 0) {
		fputs("usage: sigcheck REPO ALLOWED_SIGNERS REV RUNS\n",
		      stderr);
		return 2;
	}
	repo_library_init();
	if (repo_open(&repo, argv[1]) < 0 ||
	    sshsig_signers_load(&signers, argv[2], NULL) < 0 ||
	    repo_resolve_commit(repo, &tip, argv[3]) < 0 ||
	    repo_commits_between(repo, &list, &nr, &total, NULL, &tip,
				 MAX_COMMITS) < 0) {
		fprintf(stderr, "sigcheck: %s\n", error_last());
		rc = 2;
		goto out;
	}
	for (run = 1; run <= runs; run++) {
		valid = 0;
		t0 = now_us();
		for (i = 0; i < nr; i++) {
			if (repo_commit_signature(repo, &sig, &list[i]) < 0) {
				fprintf(stderr, "sigcheck: %s\n", error_last());
				rc = 2;
				goto out;
			}
			if (sshsig_check(signers, sig.signature.ptr,
					 sig.signature.len, sig.data.ptr,
					 sig.data.len, sig.email.ptr, sig.when,
					 &v) == SSHSIG_VALID)
				valid++;
			else if (run == 1)
				fprintf(stderr, "sigcheck: %s\n", v.message);
		}
		printf("run %llu %lld %zu %zu\n", (unsigned long long)run,
		       now_us() - t0, nr, valid);
		if (valid != nr)
			rc = 1;
	}
out:
	repo_signature_release(&sig);
	free(list);
	sshsig_signers_free(signers);
	repo_free(repo);
	repo_library_shutdown();
	return rc;
}
