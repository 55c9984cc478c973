/*
 * Unit tests for the pure decisions of the deploy engine: release ids,
 * which releases pruning removes, which release a rollback makes live,
 * what an update of a push deploys and when, and the deploy gate's
 * verdict.
 */
#include "unit.h"

#include <stdlib.h>

#include "config.h"
#include "deploy.h"
#include "history.h"
#include "policy.h"
#include "push.h"
#include "receive.h"
#include "release.h"
#include "rollback.h"

#define A40 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B40 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C40 "cccccccccccccccccccccccccccccccccccccccc"
#define D40 "dddddddddddddddddddddddddddddddddddddddd"

/* ---- release ids ---------------------------------------------------- */

static void test_deploy__release_id_make(void **state)
{
	char id[RELEASE_ID_MAX];

	(void)state;
	/* 2026-11-26T05:15:00Z */
	release_id_make(id, 1795670100, "1a2b3c4d5e6f7a8b9c0d" "1a2b3c4d5e6f7a8b9c0d");
	assert_string_equal(id, "20261126T051500Z-1a2b3c4d5e6f");
	assert_true(release_id_valid(id));
	assert_true(release_id_looks_like(id));
	release_id_make(id, 0, A40);
	assert_string_equal(id, "19700101T000000Z-aaaaaaaaaaaa");
}

static void test_deploy__release_id_valid(void **state)
{
	static const char *const good[] = {
		"20261126T051500Z-1a2b3c4d5e6f", "a", "A.b_c-d", "0",
	};
	static const char *const bad[] = {
		"", ".hidden", "-dash", "a/b", "a b", "..", "a\nb", "caf\xc3\xa9",
		"x$(touch y)", "0123456789012345678901234567890123456789"
		"012345678901234567890123",	/* 64: one past the limit */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_true(release_id_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(release_id_valid(bad[i]));
	/* 63 characters: at the limit */
	assert_true(release_id_valid("012345678901234567890123456789012345678"
				     "901234567890123456789012"));
}

static void test_deploy__release_id_looks_like(void **state)
{
	(void)state;
	assert_true(release_id_looks_like("20261126T051500Z-1a2b3c4d5e6f"));
	assert_true(release_id_looks_like("20261126T"));
	assert_false(release_id_looks_like("2026112T051500Z"));	/* 7 digits */
	assert_false(release_id_looks_like("1a2b3c4d5e6f"));
	assert_false(release_id_looks_like("main~1"));
	assert_false(release_id_looks_like("12345678"));
	assert_false(release_id_looks_like(""));
}

static void test_deploy__release_from_link(void **state)
{
	(void)state;
	assert_string_equal(release_from_link("releases/2026T-abc"),
			    "2026T-abc");
	assert_null(release_from_link("releases/"));
	assert_null(release_from_link("releases/a/b"));
	assert_null(release_from_link("/srv/app/releases/x"));
	assert_null(release_from_link("../releases/x"));
	assert_null(release_from_link("releases/.x"));
	assert_null(release_from_link("elsewhere"));
}

/* ---- pruning -------------------------------------------------------- */

/* Prune `list` ("G id" or "F id" words) and compare with `want`. */
static void prune(const char *list, unsigned keep, const char *live,
		  const char *previous, const char *want)
{
	struct release_entry e[32];
	const char *drop[32];
	char *copy = strdup(list), *w, *save = NULL;
	char got[512] = "";
	size_t nr = 0, n, i;

	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		e[nr].failed = w[0] == 'F';
		e[nr++].id = w + 1;
	}
	n = release_prune_select(drop, e, nr, keep, live, previous);
	for (i = 0; i < n; i++) {
		strcat(got, i ? " " : "");
		strcat(got, drop[i]);
	}
	assert_string_equal(got, want);
	free(copy);
}

static void test_deploy__prune_select(void **state)
{
	(void)state;
	/* within keep: nothing, failed ones included */
	prune("G1 F2 G3", 5, "3", "1", "");
	prune("G1 F2 G3", 3, "3", "1", "");
	/* over keep: the failed one goes first, then the oldest good */
	prune("G1 F2 G3 G4", 3, "4", "3", "2");
	prune("G1 F2 G3 G4", 2, "4", "3", "1 2");
	/* failed ones first even when newer than good ones */
	prune("G1 G2 G3 F4 G5", 4, "5", "3", "4");
	/* live and previous never go, whatever they are */
	prune("F1 F2 G3", 1, "1", "2", "3");
	prune("G1 G2", 1, "1", "2", "");
	prune("G1 G2 G3", 1, "3", NULL, "1 2");
	prune("G1 G2 G3", 1, NULL, NULL, "1 2");
	/* any order in, oldest first out */
	prune("G5 G1 F4 G3 G2", 2, "5", "3", "1 2 4");
	prune("", 5, NULL, NULL, "");
}

/* ---- rollback choice ------------------------------------------------ */

static struct history_record rec(const char *env, enum history_action a,
				 const char *commit, const char *release,
				 enum history_result r)
{
	struct history_record h;

	memset(&h, 0, sizeof(h));
	h.env = env;
	h.action = a;
	h.commit = commit;
	h.release = release;
	h.user = "";
	h.result = r;
	h.reason = "";
	return h;
}

static const struct history_record *records(size_t *nr)
{
	static struct history_record h[8];

	h[0] = rec("staging", HISTORY_DEPLOY, A40, "R1", HISTORY_OK);
	h[1] = rec("staging", HISTORY_DEPLOY, B40, "R2", HISTORY_OK);
	h[2] = rec("prod", HISTORY_DEPLOY, A40, "R3", HISTORY_OK);
	h[3] = rec("staging", HISTORY_DEPLOY, C40, "R4", HISTORY_FAILED);
	h[4] = rec("staging", HISTORY_DEPLOY, D40, "R5", HISTORY_OK);
	h[5] = rec("staging", HISTORY_DEPLOY, C40, "R6", HISTORY_OK);
	h[6] = rec("staging", HISTORY_DEPLOY, C40, "-", HISTORY_SKIPPED);
	*nr = 7;
	return h;
}

static int pick(struct rollback_target *out, const struct history_record *h,
		size_t nr, const char *env, const char *want_release,
		const char *want_commit)
{
	struct rollback_pick p;
	size_t i;

	rollback_pick_init(&p, env, want_release, want_commit);
	for (i = 0; i < nr; i++)
		rollback_pick_live(&p, &h[i]);
	for (i = 0; i < nr; i++)
		rollback_pick_feed(&p, &h[i]);
	return rollback_pick_result(out, &p);
}

static void test_deploy__rollback_choice(void **state)
{
	struct history_record more[9];
	struct rollback_target t;
	const struct history_record *h;
	char hex[REPO_OID_HEXSZ + 1];
	size_t nr;

	(void)state;
	h = records(&nr);
	/* the previous good release: R6 is live, R5 is the one before */
	assert_ok(pick(&t, h, nr, "staging", NULL, NULL));
	assert_string_equal(t.release, "R5");
	repo_oid_to_hex(hex, &t.commit);
	assert_string_equal(hex, D40);
	/* a named release */
	assert_ok(pick(&t, h, nr, "staging", "R2", NULL));
	assert_string_equal(t.release, "R2");
	/* a commit: its newest good release */
	assert_ok(pick(&t, h, nr, "staging", NULL, C40));
	assert_string_equal(t.release, "R6");
	assert_ok(pick(&t, h, nr, "staging", NULL, A40));
	assert_string_equal(t.release, "R1");
	/* a failed release is refused, an unknown one not found */
	assert_int_equal(pick(&t, h, nr, "staging", "R4", NULL), ERR_INVALID);
	assert_non_null(strstr(error_last(), "failed"));
	assert_int_equal(pick(&t, h, nr, "staging", "R9", NULL),
			 ERR_NOTFOUND);
	/* another environment's release is not ours */
	assert_int_equal(pick(&t, h, nr, "staging", "R3", NULL),
			 ERR_NOTFOUND);
	/* prod has nothing before its only release */
	assert_int_equal(pick(&t, h, nr, "prod", NULL, NULL), ERR_NOTFOUND);
	assert_non_null(strstr(error_last(), "no earlier good release"));

	/* after a rollback to R5, the one before is R2 (R4 failed) */
	memcpy(more, h, nr * sizeof(*h));
	more[nr] = rec("staging", HISTORY_ROLLBACK, D40, "R5", HISTORY_OK);
	assert_ok(pick(&t, more, nr + 1, "staging", NULL, NULL));
	assert_string_equal(t.release, "R2");
	/* a rollback record is never a target itself */
	more[nr + 1] = rec("staging", HISTORY_ROLLBACK, B40, "R2", HISTORY_OK);
	assert_ok(pick(&t, more, nr + 2, "staging", NULL, NULL));
	assert_string_equal(t.release, "R1");
}

/* ---- the plan of an update ------------------------------------------ */

#define PLAN_INI \
	"[environment \"staging\"]\nbranch = develop\npath = /srv/s\n" \
	"[environment \"production\"]\nbranch = main\npath = /srv/p\n" \
	"mode = manual\napprovers = alice\n"

static enum receive_when plan(const struct config *cfg, const char *ref,
			      bool deleting, const char *option,
			      const char **env_out)
{
	struct push push = PUSH_INIT;
	struct push_update u;
	struct receive_plan p;

	memset(&u, 0, sizeof(u));
	u.ref = (char *)ref;
	u.is_delete = deleting;
	if (option)
		strvec_push(&push.options, option);
	receive_plan(&p, cfg, &push, &u);
	*env_out = p.env ? p.env->name : NULL;
	strvec_clear(&push.options);
	return p.when;
}

static void test_deploy__receive_plan(void **state)
{
	struct strvec errors = STRVEC_INIT;
	struct config cfg;
	const char *env;

	(void)state;
	assert_ok(config_parse_string(&cfg, PLAN_INI, &errors));
	assert_int_equal(plan(&cfg, "refs/heads/develop", false, NULL, &env),
			 RECEIVE_NOW);
	assert_string_equal(env, "staging");
	assert_int_equal(plan(&cfg, "refs/heads/main", false, NULL, &env),
			 RECEIVE_WAIT);
	assert_string_equal(env, "production");
	assert_int_equal(plan(&cfg, "refs/heads/main", false, "deploy",
			      &env), RECEIVE_NOW);
	/* other options approve nothing */
	assert_int_equal(plan(&cfg, "refs/heads/main", false, "deploy=1",
			      &env), RECEIVE_WAIT);
	assert_int_equal(plan(&cfg, "refs/heads/main", true, "deploy", &env),
			 RECEIVE_NONE);
	assert_null(env);
	assert_int_equal(plan(&cfg, "refs/heads/feature", false, "deploy",
			      &env), RECEIVE_NONE);
	assert_int_equal(plan(&cfg, "refs/tags/main", false, NULL, &env),
			 RECEIVE_NONE);
	assert_int_equal(plan(&cfg, "refs/heads/develop/x", false, NULL,
			      &env), RECEIVE_NONE);
	config_release(&cfg);
	strvec_clear(&errors);
}

/* ---- the deploy gate's verdict -------------------------------------- */

static void test_deploy__gate_verdict(void **state)
{
	struct strvec errors = STRVEC_INIT, missing = STRVEC_INIT;
	struct verdict v = VERDICT_INIT;
	const struct config_env *prod;
	struct config cfg;

	(void)state;
	assert_ok(config_parse_string(&cfg, PLAN_INI
				      "[environment \"qa\"]\nbranch = qa\n"
				      "path = /srv/q\n", &errors));
	prod = config_env_find(&cfg, "production");
	assert_true(policy_may_approve(prod, "alice"));
	assert_false(policy_may_approve(prod, "mallory"));
	assert_false(policy_may_approve(prod, NULL));

	policy_deploy_verdict(&v, prod, "alice", true, NULL, A40);
	assert_false(v.rejected);
	verdict_release(&v);

	policy_deploy_verdict(&v, prod, "mallory", false, NULL, A40);
	assert_true(v.rejected);
	assert_string_equal(v.reason, "'mallory' may not approve deploys to"
			    " 'production': ask 'alice'");
	assert_int_equal(v.hints.nr, 1);
	verdict_release(&v);

	policy_deploy_verdict(&v, prod, NULL, false, NULL, A40);
	assert_string_equal(v.reason, "'an unknown user' may not approve"
			    " deploys to 'production': ask 'alice'");
	verdict_release(&v);

	strvec_push(&missing, "staging");
	policy_deploy_verdict(&v, prod, "alice", true, &missing, A40);
	assert_true(v.rejected);
	assert_string_equal(v.reason, "'production' requires this commit to"
			    " be live on 'staging' first");
	assert_int_equal(v.hints.nr, 1);
	assert_string_equal(v.hints.v[0], "deploy it to 'staging' first:"
			    " pushgate deploy staging aaaaaaaaaaaa");
	verdict_release(&v);

	strvec_push(&missing, "qa");
	policy_deploy_verdict(&v, prod, "alice", true, &missing, A40);
	assert_string_equal(v.reason, "'production' requires this commit to"
			    " be live on 'staging' and 'qa' first");
	assert_int_equal(v.hints.nr, 2);
	verdict_release(&v);

	/* an approver refusal says nothing of requires */
	policy_deploy_verdict(&v, prod, "eve", false, &missing, A40);
	assert_non_null(strstr(v.reason, "may not approve"));
	assert_null(strstr(v.reason, "requires"));
	verdict_release(&v);

	strvec_clear(&missing);
	config_release(&cfg);
	strvec_clear(&errors);
}

/* ---- fleets: the switching order (SPEC §11) --------------------------- */

/* The batches of `nr` hosts as text: "0 0 1 1 2" (- for not picked). */
static void batches_of(char *out, size_t len, unsigned batch, bool canary,
		       size_t nr, const bool *pick, size_t *nr_batches)
{
	struct config_env env;
	size_t batch_of[16], i;
	int n;

	memset(&env, 0, sizeof(env));
	env.nr_hosts = nr;
	env.batch = batch;
	env.canary = canary;
	memset(batch_of, 0xff, sizeof(batch_of));
	*nr_batches = deploy_plan_batches(&env, pick, batch_of);
	out[0] = '\0';
	for (i = 0; i < nr; i++) {
		n = (int)strlen(out);
		if (pick && !pick[i])
			snprintf(out + n, len - (size_t)n, "%s-", i ? " " : "");
		else
			snprintf(out + n, len - (size_t)n, "%s%zu",
				 i ? " " : "", batch_of[i]);
	}
}

static void test_deploy__batches(void **state)
{
	const bool some[5] = { false, true, true, false, true };
	char got[64];
	size_t nr;

	(void)state;
	batches_of(got, sizeof(got), 0, false, 5, NULL, &nr);
	assert_string_equal(got, "0 0 0 0 0");
	assert_int_equal(nr, 1);
	batches_of(got, sizeof(got), 2, false, 5, NULL, &nr);
	assert_string_equal(got, "0 0 1 1 2");
	assert_int_equal(nr, 3);
	/* the canary alone, then the rest in batches */
	batches_of(got, sizeof(got), 2, true, 5, NULL, &nr);
	assert_string_equal(got, "0 1 1 2 2");
	assert_int_equal(nr, 3);
	batches_of(got, sizeof(got), 0, true, 5, NULL, &nr);
	assert_string_equal(got, "0 1 1 1 1");
	assert_int_equal(nr, 2);
	batches_of(got, sizeof(got), 3, false, 12, NULL, &nr);
	assert_string_equal(got, "0 0 0 1 1 1 2 2 2 3 3 3");
	assert_int_equal(nr, 4);
	/* a batch larger than the fleet, one host, a canary of one */
	batches_of(got, sizeof(got), 9, false, 3, NULL, &nr);
	assert_string_equal(got, "0 0 0");
	batches_of(got, sizeof(got), 0, true, 1, NULL, &nr);
	assert_string_equal(got, "0");
	assert_int_equal(nr, 1);
	/* only the picked hosts count (a repair of some) */
	batches_of(got, sizeof(got), 1, true, 5, some, &nr);
	assert_string_equal(got, "- 0 1 - 2");
	assert_int_equal(nr, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deploy__batches),
		cmocka_unit_test(test_deploy__release_id_make),
		cmocka_unit_test(test_deploy__release_id_valid),
		cmocka_unit_test(test_deploy__release_id_looks_like),
		cmocka_unit_test(test_deploy__release_from_link),
		cmocka_unit_test(test_deploy__prune_select),
		cmocka_unit_test(test_deploy__rollback_choice),
		cmocka_unit_test(test_deploy__receive_plan),
		cmocka_unit_test(test_deploy__gate_verdict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
