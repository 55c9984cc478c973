#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t1600-approve.sh - approval by push (SPEC section 14): `git push
# origin COMMIT:refs/deploy/ENV` passes every gate of `pushgate deploy`
# in pre-receive (the environment exists, the pusher approves a manual
# one, `requires`, build and tests), is deployed by post-receive, tip of
# the branch or not, and never stays; it works when the branch did not
# move, where `git push -o deploy` runs no hook at all.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

PUSHGATE_USER=tester
export PUSHGATE_USER

DEPLOY=$TMP/deploy
mkdir "$DEPLOY"

# as USER COMMAND...: COMMAND with USER as the pusher.
as()
{
	(
		PUSHGATE_USER=$1 &&
		export PUSHGATE_USER &&
		shift &&
		"$@"
	)
}

# no_deploy_refs: the repository holds no refs/deploy/ ref.
no_deploy_refs()
{
	git -C "$TMP/ap.git" for-each-ref refs/deploy/ >refs &&
	test_grep ! . refs
}

test_expect_success 'setup: staging (auto, develop) and production (manual, main, requires staging)' '
	setup_repo ap <<-EOF &&
	[verify]
	test = ! test -e broken
	[environment "staging"]
	branch = develop
	hosts = local
	path = $DEPLOY/staging
	[environment "production"]
	branch = main
	hosts = local
	path = $DEPLOY/production
	mode = manual
	approvers = alice
	requires = staging
	EOF
	setup_clone ap &&
	cd ap-work &&
	commit_file index.html one "first" &&
	push origin HEAD:main &&
	test_grep "production. waits for .* to be live on .staging. first" "$TMP/push.err" &&
	test ! -e "$DEPLOY/production/current"
'

test_expect_success 'the branch did not move: git push -o deploy runs no hook' '
	cd ap-work &&
	as alice push -o deploy origin HEAD:main &&
	test_grep "Everything up-to-date" "$TMP/push.err" &&
	test_grep ! "pushgate" "$TMP/push.err"
'

test_expect_success 'not an approver: refused in pre-receive, no ref left' '
	cd ap-work &&
	test_must_fail as bob push origin HEAD:refs/deploy/production &&
	rejected refs/deploy/production &&
	test_grep "bob" "$TMP/push.err" &&
	no_deploy_refs &&
	test ! -e "$DEPLOY/production/current"
'

test_expect_success 'requires not met: refused, with the environment to reach first' '
	cd ap-work &&
	test_must_fail as alice push origin HEAD:refs/deploy/production &&
	rejected refs/deploy/production &&
	test_grep "staging" "$TMP/push.err" &&
	no_deploy_refs
'

test_expect_success 'staging deployed, then alice approves production by push: deployed, ref gone' '
	cd ap-work &&
	push origin HEAD:develop &&
	deployed staging HEAD &&
	as alice push origin HEAD:refs/deploy/production &&
	accepted refs/deploy/production &&
	deployed production HEAD &&
	test "$(cat "$DEPLOY/production/current/REVISION")" = "$(git rev-parse HEAD)" &&
	no_deploy_refs &&
	last_record ap &&
	test "$(field 2)" = production &&
	test "$(field 6)" = alice &&
	test "$(field 7)" = ok &&
	test "$(git -C "$TMP/ap.git" rev-parse refs/environments/production)" = "$(git rev-parse HEAD)"
'

test_expect_success 'the same approval again: nothing to do, and the ref goes again' '
	cd ap-work &&
	as alice push origin HEAD:refs/deploy/production &&
	test_grep "already runs $(short HEAD): nothing to do" "$TMP/push.err" &&
	no_deploy_refs
'

test_expect_success 'an older commit, not the tip: deployed all the same' '
	cd ap-work &&
	old=$(git rev-parse HEAD) &&
	commit_file index.html two "second" &&
	push origin HEAD:develop &&
	deployed staging HEAD &&
	as tester push origin "$old:refs/deploy/staging" &&
	deployed staging "$old" &&
	test "$(cat "$DEPLOY/staging/current/REVISION")" = "$old" &&
	no_deploy_refs
'

test_expect_success 'tests fail for the commit: refused before anything deploys' '
	cd ap-work &&
	git checkout -q -b feature &&
	commit_file broken yes "breaks the tests" &&
	push origin HEAD:feature &&
	test_must_fail push origin HEAD:refs/deploy/staging &&
	test_grep "REJECTED refs/deploy/staging: tests failed" "$TMP/push.err" &&
	no_deploy_refs &&
	test "$(cat "$DEPLOY/staging/current/REVISION")" = "$old"
'

test_expect_success 'an environment that does not exist: refused with a clear reason' '
	cd ap-work &&
	test_must_fail push origin HEAD:refs/deploy/nosuch &&
	test_grep "REJECTED refs/deploy/nosuch: no environment .nosuch. in hooks.ini" \
		"$TMP/push.err" &&
	no_deploy_refs
'

test_expect_success 'a left-over refs/deploy/ ref may be deleted' '
	git -C "$TMP/ap.git" update-ref refs/deploy/staging "$old" &&
	cd ap-work &&
	push origin :refs/deploy/staging &&
	no_deploy_refs
'

test_done
