#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t0800-workflow.sh - the delivery workflow (SPEC sections 3 `mode`,
# `requires` and `approvers`, 4.2, 6 and 7), on `local` hosts with real
# pushes: a manual environment waiting for approval, `git push -o deploy`
# by an approver and refused from anyone else, `requires` holding a commit
# back until it (or its tree) is live on another environment, and the
# CLI's deploy, rollback, status and history.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

# Pushes and CLI runs are made by "tester" unless a test says otherwise
# (`as USER CMD...`).
PUSHGATE_USER=tester
export PUSHGATE_USER
# The CLI's user is the login name of its real uid, whatever the
# environment says (SPEC section 8).
ME=$(id -un)

# Where the environments of this script deploy.
DEPLOY=$TMP/deploy
mkdir "$DEPLOY"

# as USER CMD...: run CMD (a command or a function) with PUSHGATE_USER=USER.
as()
{
	(
		PUSHGATE_USER=$1 &&
		export PUSHGATE_USER &&
		shift &&
		"$@"
	)
}

# waits_first ENV REV REQ: the last push says ENV waits for REV to be
# live on REQ first, and how to get it there.
waits_first()
{
	waits_s_=$(short "$2") &&
	test_grep "^remote: pushgate: '$1' waits for $waits_s_ to be live on '$3' first: pushgate deploy $3 $waits_s_" \
		"$TMP/push.err" &&
	test_grep ! "waits for approval" "$TMP/push.err" &&
	no_crash "$TMP/push.err"
}

# waits ENV REV: the last push says ENV waits for approval of REV, and
# how to give it.
waits()
{
	waits_s_=$(short "$2") &&
	test_grep "^remote: pushgate: '$1' waits for approval of $waits_s_: git push origin $waits_s_:refs/deploy/$1, or: pushgate deploy $1 $waits_s_" \
		"$TMP/push.err" &&
	no_crash "$TMP/push.err"
}

# live_rev DIR: the commit of the live release of DIR (its REVISION).
live_rev()
{
	cat -- "$1/current/REVISION"
}

# later_than T: the clock is past second T (of the epoch).
later_than()
{
	test "$(date +%s)" -gt "$1"
}

# new_second: wait (3 s at most) for the clock to reach the next second.
# Release ids have a resolution of one second (YYYYmmddTHHMMSSZ-COMMIT);
# the tests that compare releases by age start each deploy in a second
# of its own. (Two deploys within one second are tested on their own.)
new_second()
{
	new_second_=$(date +%s) &&
	test_wait_for 3 later_than "$new_second_"
}

# --- manual environments and approvers ----------------------------------

# man_ini [LINE...]: $TMP/man.git's hooks.ini: LINEs first (for [core]),
# then the manual environment "production" (branch main, approvers
# $MAN_APPROVERS: alice and bob unless set).
man_ini()
{
	{
		for man_ini_line_ in "$@"
		do
			printf '%s\n' "$man_ini_line_"
		done
		cat <<-EOF
		[environment "production"]
		branch = main
		hosts = local
		path = $DEPLOY/man
		mode = manual
		approvers = ${MAN_APPROVERS:-alice bob}
		EOF
	} | write_hooks_ini man
}

test_expect_success 'manual: a push waits for approval and deploys nothing' '
	setup_repo man </dev/null &&
	man_ini &&
	setup_clone man &&
	cd man-work &&
	commit_file index.html one "first" &&
	as alice push origin main &&
	waits production HEAD &&
	test_grep ! "deploying" "$TMP/push.err" &&
	test "$(rev_of man refs/heads/main)" = "$(git rev-parse HEAD)" &&
	test ! -e "$DEPLOY/man/current" &&
	no_ref man refs/environments/production &&
	test "$(nr_records man)" = 0
'

test_expect_success 'manual: -o deploy from a non-approver rejects the whole push' '
	cd man-work &&
	old=$(rev_of man refs/heads/main) &&
	commit_file index.html two "second" &&
	git checkout -q -b feature &&
	commit_file feature.txt f "a feature" &&
	git checkout -q main &&
	test_must_fail as mallory push -o deploy origin main feature &&
	rejected refs/heads/main &&
	test_grep "^remote: pushgate: .*.mallory. may not approve deploys to .production.: ask .alice. or .bob." \
		"$TMP/push.err" &&
	test "$(rev_of man refs/heads/main)" = "$old" &&
	no_ref man refs/heads/feature &&
	test ! -e "$DEPLOY/man/current" &&
	no_ref man refs/environments/production &&
	test "$(nr_records man)" = 0
'

test_expect_success 'manual: -o deploy from an approver deploys at once' '
	cd man-work &&
	as alice push -o deploy origin main &&
	deployed production HEAD &&
	test_grep ! "waits for approval" "$TMP/push.err" &&
	live_id "$DEPLOY/man" &&
	test "$(live_rev "$DEPLOY/man")" = "$(git rev-parse HEAD)" &&
	test "$(env_ref man production)" = "$(git rev-parse HEAD)" &&
	test "$(nr_records man)" = 1 &&
	last_record man &&
	test "$(field 2)" = production &&
	test "$(field 3)" = deploy &&
	test "$(field 4)" = "$(git rev-parse HEAD)" &&
	test "$(field 6)" = alice &&
	test "$(field 7)" = ok
'

test_expect_success 'manual: pushgate deploy by a non-approver is refused, by an approver done' '
	cd man-work &&
	live=$(live_id "$DEPLOY/man") &&
	commit_file index.html three "third" &&
	as bob push origin main &&
	waits production HEAD &&
	test_expect_code 1 pg -C "$TMP/man.git" deploy production &&
	test_grep "^pushgate: error: .$ME. may not approve deploys to .production.: ask .alice. or .bob." \
		"$TMP/pg.err" &&
	test_grep "^pushgate: fix: .production. is a manual environment" \
		"$TMP/pg.err" &&
	: an environment variable names nobody for the CLI &&
	test_expect_code 1 as bob pg -C "$TMP/man.git" deploy production &&
	test_grep "^pushgate: error: .$ME. may not approve" "$TMP/pg.err" &&
	test_expect_code 1 env GL_USER=bob USER=bob LOGNAME=bob \
		pushgate -C "$TMP/man.git" deploy production 2>"$TMP/pg.err" &&
	test_grep "^pushgate: error: .$ME. may not approve" "$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/man")" = "$live" &&
	test "$(nr_records man)" = 1 &&
	MAN_APPROVERS="alice $ME" man_ini &&
	pg -C "$TMP/man.git" deploy production &&
	no_crash "$TMP/pg.err" &&
	test_grep "^pushgate: deployed $(short HEAD) to .production." \
		"$TMP/pg.err" &&
	test "$(live_rev "$DEPLOY/man")" = "$(git rev-parse HEAD)" &&
	test "$(env_ref man production)" = "$(git rev-parse HEAD)" &&
	last_record man &&
	test "$(field 6)" = "$ME" &&
	test "$(field 7)" = ok &&
	man_ini
'

test_expect_success 'manual: the pusher is named by [core] user_vars' '
	man_ini "[core]" "user_vars = GL_USER" &&
	cd man-work &&
	old=$(rev_of man refs/heads/main) &&
	commit_file index.html four "fourth" &&
	test_must_fail env GL_USER=mallory PUSHGATE_USER=alice \
		git push -o deploy origin main 2>"$TMP/push.err" &&
	cat "$TMP/push.err" &&
	rejected refs/heads/main &&
	test_grep ".mallory. may not approve deploys to .production." \
		"$TMP/push.err" &&
	test "$(rev_of man refs/heads/main)" = "$old" &&
	env GL_USER=bob PUSHGATE_USER=mallory \
		git push -o deploy origin main 2>"$TMP/push.err" &&
	cat "$TMP/push.err" &&
	deployed production HEAD &&
	last_record man &&
	test "$(field 6)" = bob
'

test_expect_success 'manual: empty approvers means anyone may approve' '
	setup_repo anyone <<-EOF &&
	[environment "production"]
	branch = main
	hosts = local
	path = $DEPLOY/anyone
	mode = manual
	EOF
	setup_clone anyone &&
	cd anyone-work &&
	commit_file index.html one "first" &&
	as mallory push origin main &&
	waits production HEAD &&
	test ! -e "$DEPLOY/anyone/current" &&
	commit_file index.html two "second" &&
	as mallory push -o deploy origin main &&
	deployed production HEAD &&
	test "$(live_rev "$DEPLOY/anyone")" = "$(git rev-parse HEAD)" &&
	commit_file index.html three "third" &&
	as eve push origin main &&
	waits production HEAD &&
	as eve pg -C "$TMP/anyone.git" deploy production &&
	test "$(live_rev "$DEPLOY/anyone")" = "$(git rev-parse HEAD)" &&
	last_record anyone &&
	test "$(field 6)" = "$ME"
'

# --- requires -----------------------------------------------------------

test_expect_success 'requires: pushgate deploy refuses a commit not live on staging' '
	setup_repo flow <<-EOF &&
	[environment "staging"]
	branch = develop
	hosts = local
	path = $DEPLOY/flow-staging

	[environment "production"]
	branch = main
	hosts = local
	path = $DEPLOY/flow-production
	mode = manual
	requires = staging

	[environment "qa"]
	branch = qa
	hosts = local
	path = $DEPLOY/flow-qa
	requires = staging
	EOF
	setup_clone flow &&
	cd flow-work &&
	commit_file app.txt v1 "v1" &&
	c1=$(git rev-parse HEAD) &&
	push origin main &&
	waits_first production HEAD staging &&
	test_expect_code 1 pg -C "$TMP/flow.git" deploy production "$c1" &&
	test_grep "^pushgate: error: .production. requires this commit to be live on .staging. first" \
		"$TMP/pg.err" &&
	test_grep "^pushgate: fix: deploy it to .staging. first: pushgate deploy staging $(short "$c1")" \
		"$TMP/pg.err" &&
	test_expect_code 1 pg -C "$TMP/flow.git" deploy production &&
	test_grep "^pushgate: error: .*.production.*.staging." "$TMP/pg.err" &&
	test ! -e "$DEPLOY/flow-production/current" &&
	no_ref flow refs/environments/production &&
	test "$(nr_records flow)" = 0
'

test_expect_success 'requires: once live on staging, the same commit deploys' '
	cd flow-work &&
	push origin main:develop &&
	deployed staging "$c1" &&
	test "$(live_rev "$DEPLOY/flow-staging")" = "$c1" &&
	test "$(env_ref flow staging)" = "$c1" &&
	pg -C "$TMP/flow.git" deploy production "$c1" &&
	test_grep "^pushgate: deployed $(short "$c1") to .production." \
		"$TMP/pg.err" &&
	test "$(live_rev "$DEPLOY/flow-production")" = "$c1" &&
	test "$(env_ref flow production)" = "$c1"
'

# From here on develop holds c2 and main its twin c2b (same tree, other
# commit): what goes to develop next is pushed with --force.
test_expect_success 'requires: a commit with the identical tree counts as live' '
	cd flow-work &&
	commit_file app.txt v2 "v2" &&
	c2=$(git rev-parse HEAD) &&
	push origin HEAD:develop &&
	deployed staging "$c2" &&
	c2b=$(git commit-tree -p "$c1" -m "v2, the same tree again" "$c2^{tree}") &&
	test "$c2b" != "$c2" &&
	git reset -q --hard "$c2b" &&
	push origin main &&
	waits production "$c2b" &&
	pg -C "$TMP/flow.git" deploy production &&
	test "$(live_rev "$DEPLOY/flow-production")" = "$c2b" &&
	test "$(env_ref flow production)" = "$c2b"
'

test_expect_success 'requires: -o deploy of a commit not live on staging is rejected' '
	cd flow-work &&
	commit_file app.txt v3 "v3" &&
	c3=$(git rev-parse HEAD) &&
	test_must_fail push -o deploy origin main &&
	rejected refs/heads/main &&
	test_grep "^remote: pushgate: .*.production. requires this commit to be live on .staging. first" \
		"$TMP/push.err" &&
	test "$(rev_of flow refs/heads/main)" = "$c2b" &&
	test "$(live_rev "$DEPLOY/flow-production")" = "$c2b" &&
	push --force origin HEAD:develop &&
	deployed staging "$c3" &&
	push -o deploy origin main &&
	deployed production "$c3" &&
	test "$(live_rev "$DEPLOY/flow-production")" = "$c3"
'

test_expect_success 'requires on an auto environment: pre-receive rejects the push' '
	cd flow-work &&
	commit_file app.txt v4 "v4" &&
	c4=$(git rev-parse HEAD) &&
	test_must_fail push origin HEAD:qa HEAD:refs/heads/topic &&
	rejected refs/heads/qa &&
	test_grep "^remote: pushgate: .*.qa. requires this commit to be live on .staging. first" \
		"$TMP/push.err" &&
	no_ref flow refs/heads/qa &&
	no_ref flow refs/heads/topic &&
	test ! -e "$DEPLOY/flow-qa/current" &&
	no_ref flow refs/environments/qa
'

test_expect_success 'requires on an auto environment: accepted once live on staging' '
	cd flow-work &&
	push origin HEAD:develop &&
	deployed staging "$c4" &&
	push origin HEAD:qa &&
	deployed qa "$c4" &&
	test "$(live_rev "$DEPLOY/flow-qa")" = "$c4" &&
	test "$(env_ref flow qa)" = "$c4"
'

# --- pushgate deploy ------------------------------------------------------

test_expect_success 'deploy: setup, three commits deployed by three pushes' '
	setup_repo cli <<-EOF &&
	[environment "staging"]
	branch = main
	hosts = local
	path = $DEPLOY/cli
	EOF
	setup_clone cli &&
	cd cli-work &&
	for n in 1 2 3
	do
		new_second &&
		commit_file index.html "v$n" "version $n" &&
		push origin main &&
		deployed staging HEAD || return 1
	done &&
	k1=$(git rev-parse HEAD~2) &&
	k2=$(git rev-parse HEAD~1) &&
	k3=$(git rev-parse HEAD) &&
	test "$(live_rev "$DEPLOY/cli")" = "$k3" &&
	test "$(nr_records cli)" = 3
'

test_expect_success 'deploy: an older commit, named by its id' '
	cd cli-work &&
	new_second &&
	pg -C "$TMP/cli.git" deploy staging "$k1" &&
	no_crash "$TMP/pg.err" &&
	test_grep "^pushgate: deployed $(short "$k1") to .staging." \
		"$TMP/pg.err" &&
	id=$(live_id "$DEPLOY/cli") &&
	test "$(live_rev "$DEPLOY/cli")" = "$k1" &&
	test "$(env_ref cli staging)" = "$k1" &&
	test "$(list_releases "$DEPLOY/cli" | wc -l)" -eq 4 &&
	last_record cli &&
	test "$(field 3)" = deploy &&
	test "$(field 4)" = "$k1" &&
	test "$(field 5)" = "$id" &&
	test "$(field 6)" = "$ME" &&
	test "$(field 7)" = ok
'

test_expect_success 'deploy: an older commit, named main~1' '
	cd cli-work &&
	new_second &&
	pg -C "$TMP/cli.git" deploy staging main~1 &&
	test "$(live_rev "$DEPLOY/cli")" = "$k2" &&
	test "$(env_ref cli staging)" = "$k2"
'

test_expect_success 'deploy: the commit already live: nothing to do, exit 0' '
	cd cli-work &&
	id=$(live_id "$DEPLOY/cli") &&
	n=$(nr_records cli) &&
	pg -C "$TMP/cli.git" deploy staging main~1 &&
	test_grep "^pushgate: .staging. already runs $(short "$k2"): nothing to do" \
		"$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/cli")" = "$id" &&
	test "$(nr_records cli)" = "$n" &&
	pg -C "$TMP/cli.git" deploy staging "$k2" &&
	test_grep "already runs" "$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/cli")" = "$id"
'

test_expect_success 'deploy --force: the live commit again, as a new release' '
	cd cli-work &&
	id=$(live_id "$DEPLOY/cli") &&
	n=$(nr_records cli) &&
	new_second &&
	pg -C "$TMP/cli.git" deploy --force staging main~1 &&
	test_grep "^pushgate: deployed $(short "$k2") to .staging." \
		"$TMP/pg.err" &&
	new=$(live_id "$DEPLOY/cli") &&
	test "$new" != "$id" &&
	test "$(live_rev "$DEPLOY/cli")" = "$k2" &&
	test "$(nr_records cli)" = "$((n + 1))"
'

test_expect_success 'deploy: no REV deploys the tip of the branch' '
	cd cli-work &&
	new_second &&
	pg -C "$TMP/cli.git" deploy staging &&
	test "$(live_rev "$DEPLOY/cli")" = "$k3" &&
	test "$(env_ref cli staging)" = "$k3"
'

test_expect_success 'deploy: an unknown revision fails with one line' '
	cd cli-work &&
	id=$(live_id "$DEPLOY/cli") &&
	test_must_fail pg -C "$TMP/cli.git" deploy staging no-such-rev &&
	test "$(wc -l <"$TMP/pg.err")" -eq 1 &&
	test_grep "no-such-rev" "$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/cli")" = "$id"
'

# A forced redeploy made within the second of the live release gets the
# same release id (YYYYmmddTHHMMSSZ-COMMIT): it must neither fail nor
# touch the live release.
test_expect_success 'deploy --force of the live commit within the second it was deployed' '
	cd cli-work &&
	new_second &&
	pg -C "$TMP/cli.git" deploy staging "$k1" &&
	forced=0 &&
	{ pg -C "$TMP/cli.git" deploy --force staging "$k1" || forced=$?; } &&
	live_id "$DEPLOY/cli" &&
	test "$(live_rev "$DEPLOY/cli")" = "$k1" &&
	test "$forced" = 0
'

# --- rollback -------------------------------------------------------------

test_expect_success 'rollback: setup, three good releases A B C' '
	setup_repo rb <<-EOF &&
	[environment "staging"]
	branch = main
	hosts = local
	path = $DEPLOY/rb
	healthcheck = test ! -e BROKEN
	healthcheck_retries = 1
	EOF
	setup_clone rb &&
	cd rb-work &&
	new_second &&
	commit_file index.html A "release A" &&
	push origin main &&
	deployed staging HEAD &&
	ra=$(git rev-parse HEAD) && ida=$(live_id "$DEPLOY/rb") &&
	new_second &&
	commit_file index.html B "release B" &&
	push origin main &&
	deployed staging HEAD &&
	rb=$(git rev-parse HEAD) && idb=$(live_id "$DEPLOY/rb") &&
	new_second &&
	commit_file index.html C "release C" &&
	push origin main &&
	deployed staging HEAD &&
	rc=$(git rev-parse HEAD) && idc=$(live_id "$DEPLOY/rb") &&
	test "$ida" != "$idb" && test "$idb" != "$idc"
'

test_expect_success 'rollback ENV: the previous good release goes live again' '
	n=$(nr_records rb) &&
	pg -C "$TMP/rb.git" rollback staging &&
	no_crash "$TMP/pg.err" &&
	test_grep "^pushgate: rolled back $(short "$rb") to .staging." \
		"$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/rb")" = "$idb" &&
	test "$(env_ref rb staging)" = "$rb" &&
	test -d "$DEPLOY/rb/releases/$idc" &&
	test "$(nr_records rb)" = "$((n + 1))" &&
	last_record rb &&
	test "$(field 2)" = staging &&
	test "$(field 3)" = rollback &&
	test "$(field 4)" = "$rb" &&
	test "$(field 5)" = "$idb" &&
	test "$(field 6)" = "$ME" &&
	test "$(field 7)" = ok
'

test_expect_success 'rollback ENV again: one release further back' '
	pg -C "$TMP/rb.git" rollback staging &&
	test "$(live_id "$DEPLOY/rb")" = "$ida" &&
	test "$(env_ref rb staging)" = "$ra"
'

test_expect_success 'rollback ENV RELEASE-ID: that release goes live' '
	pg -C "$TMP/rb.git" rollback staging "$idc" &&
	test "$(live_id "$DEPLOY/rb")" = "$idc" &&
	test "$(env_ref rb staging)" = "$rc" &&
	last_record rb &&
	test "$(field 3)" = rollback &&
	test "$(field 5)" = "$idc"
'

test_expect_success 'rollback ENV COMMIT: the release of that commit goes live' '
	pg -C "$TMP/rb.git" rollback staging "$rb" &&
	test "$(live_id "$DEPLOY/rb")" = "$idb" &&
	test "$(env_ref rb staging)" = "$rb" &&
	pg -C "$TMP/rb.git" rollback staging main~2 &&
	test "$(live_id "$DEPLOY/rb")" = "$ida" &&
	test "$(env_ref rb staging)" = "$ra" &&
	pg -C "$TMP/rb.git" rollback staging "$(printf %.7s "$rc")" &&
	test "$(live_id "$DEPLOY/rb")" = "$idc" &&
	test "$(env_ref rb staging)" = "$rc"
'

test_expect_success 'rollback: a release whose deploy failed is refused' '
	cd rb-work &&
	new_second &&
	commit_file BROKEN yes "release D, fails its healthcheck" &&
	rd=$(git rev-parse HEAD) &&
	push origin main &&
	deploy_failed staging HEAD &&
	test "$(live_id "$DEPLOY/rb")" = "$idc" &&
	last_record rb &&
	test "$(field 7)" = failed &&
	idd=$(field 5) &&
	test -f "$DEPLOY/rb/releases/$idd/FAILED" &&
	test_expect_code 1 pg -C "$TMP/rb.git" rollback staging "$idd" &&
	test_grep "^pushgate: error: release .$idd. failed" "$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/rb")" = "$idc" &&
	test "$(env_ref rb staging)" = "$rc" &&
	test_expect_code 1 pg -C "$TMP/rb.git" rollback staging "$rd" &&
	test_grep "^pushgate: error: " "$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/rb")" = "$idc" &&
	test "$(env_ref rb staging)" = "$rc"
'

test_expect_success 'rollback: a release that never existed is refused' '
	test_expect_code 1 pg -C "$TMP/rb.git" rollback staging \
		20000101T000000Z-0123456789ab &&
	test_grep "^pushgate: error: " "$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/rb")" = "$idc"
'

test_expect_success 'rollback: a pruned release is refused and nothing changes' '
	setup_repo pr <<-EOF &&
	[environment "staging"]
	branch = main
	hosts = local
	path = $DEPLOY/pr
	keep = 2
	EOF
	setup_clone pr &&
	cd pr-work &&
	new_second &&
	commit_file index.html A "release A" &&
	push origin main &&
	pa=$(git rev-parse HEAD) && pida=$(live_id "$DEPLOY/pr") &&
	new_second &&
	commit_file index.html B "release B" &&
	push origin main &&
	pb=$(git rev-parse HEAD) && pidb=$(live_id "$DEPLOY/pr") &&
	new_second &&
	commit_file index.html C "release C" &&
	push origin main &&
	pc=$(git rev-parse HEAD) && pidc=$(live_id "$DEPLOY/pr") &&
	printf "%s\n" "$pidb" "$pidc" >expect &&
	list_releases "$DEPLOY/pr" >actual &&
	cmp expect actual &&
	test_expect_code 1 pg -C "$TMP/pr.git" rollback staging "$pida" &&
	test_grep "pruned" "$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/pr")" = "$pidc" &&
	test "$(env_ref pr staging)" = "$pc" &&
	list_releases "$DEPLOY/pr" >actual &&
	cmp expect actual &&
	test_expect_code 1 pg -C "$TMP/pr.git" rollback staging "$pa" &&
	test_grep "pruned" "$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/pr")" = "$pidc" &&
	test "$(env_ref pr staging)" = "$pc"
'

test_expect_success 'rollback ENV when the one before was pruned: refused' '
	pg -C "$TMP/pr.git" rollback staging &&
	test "$(live_id "$DEPLOY/pr")" = "$pidb" &&
	test_expect_code 1 pg -C "$TMP/pr.git" rollback staging &&
	test_grep "pruned" "$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/pr")" = "$pidb" &&
	test "$(env_ref pr staging)" = "$pb"
'

# Release ids name the second and then the commit: of two deploys within
# one second, the one whose commit id sorts first must still count as the
# newer one if it was deployed last. Deploy the larger id, then the
# smaller, in one second; rollback must go back to the larger.
test_expect_success 'rollback ENV after two deploys within one second: the one before' '
	setup_repo tick <<-EOF &&
	[environment "staging"]
	branch = main
	hosts = local
	path = $DEPLOY/tick
	EOF
	setup_clone tick &&
	cd tick-work &&
	for n in 1 2 3
	do
		new_second &&
		commit_file index.html "v$n" "version $n" &&
		push origin main &&
		deployed staging HEAD || return 1
	done &&
	t1=$(git rev-parse HEAD~2) &&
	t2=$(git rev-parse HEAD~1) &&
	hi=$(printf "%s\n" "$t1" "$t2" | LC_ALL=C sort | tail -n 1) &&
	lo=$(printf "%s\n" "$t1" "$t2" | LC_ALL=C sort | head -n 1) &&
	new_second &&
	pg -C "$TMP/tick.git" deploy staging "$hi" &&
	pg -C "$TMP/tick.git" deploy staging "$lo" &&
	test "$(live_rev "$DEPLOY/tick")" = "$lo" &&
	pg -C "$TMP/tick.git" rollback staging &&
	test "$(live_rev "$DEPLOY/tick")" = "$hi" &&
	test "$(env_ref tick staging)" = "$hi"
'

# --- status ---------------------------------------------------------------

test_expect_success 'status: before any deploy' '
	setup_repo st <<-EOF &&
	[environment "production"]
	branch = main
	hosts = local
	path = $DEPLOY/st
	mode = manual
	EOF
	pg -C "$TMP/st.git" status &&
	test_grep "^production (branch main, manual, 1 host)" "$TMP/pg.out" &&
	test_grep "^  live: *nothing deployed yet" "$TMP/pg.out" &&
	test_grep "^  host local *nothing deployed" "$TMP/pg.out" &&
	pg_no_crash
'

test_expect_success 'status: live release, who, last result, 2 commits waiting' '
	setup_clone st &&
	cd st-work &&
	commit_file index.html A "release A" &&
	as alice push -o deploy origin main &&
	deployed production HEAD &&
	sa=$(git rev-parse HEAD) && sida=$(live_id "$DEPLOY/st") &&
	commit_file index.html B "release B" &&
	sb=$(git rev-parse HEAD) &&
	commit_file index.html C "release C" &&
	sc=$(git rev-parse HEAD) &&
	push origin main &&
	waits production HEAD &&
	pg -C "$TMP/st.git" status &&
	test_grep "^  live: *$(short "$sa") release $sida, [0-9-]* [0-9:]*Z by alice" \
		"$TMP/pg.out" &&
	test_grep "^  last: *deploy $(short "$sa") ok at " "$TMP/pg.out" &&
	test_grep "^  waiting: *2 commits on .main." "$TMP/pg.out" &&
	test_grep "^  *$(short "$sb") release B" "$TMP/pg.out" &&
	test_grep "^  *$(short "$sc") release C" "$TMP/pg.out" &&
	test_grep "^  host local *ok (current -> releases/$sida)" \
		"$TMP/pg.out" &&
	pg -C "$TMP/st.git" status production &&
	test_grep "^  waiting: *2 commits on .main." "$TMP/pg.out"
'

test_expect_success 'status: drift when current was changed by hand, exit 1' '
	cd st-work &&
	new_second &&
	pg -C "$TMP/st.git" deploy production "$sb" &&
	sidb=$(live_id "$DEPLOY/st") &&
	test "$sidb" != "$sida" &&
	pg -C "$TMP/st.git" status &&
	test_grep "^  waiting: *1 commit on .main." "$TMP/pg.out" &&
	ln -sfn "releases/$sida" "$DEPLOY/st/current" &&
	test "$(live_id "$DEPLOY/st")" = "$sida" &&
	test_expect_code 1 pg -C "$TMP/st.git" status &&
	test_grep "^  host local *DRIFT: current -> $sida, recorded $sidb" \
		"$TMP/pg.out" &&
	test_expect_code 1 pg -C "$TMP/st.git" status production &&
	test_grep "DRIFT" "$TMP/pg.out" &&
	ln -sfn "releases/$sidb" "$DEPLOY/st/current" &&
	pg -C "$TMP/st.git" status &&
	test_grep ! "DRIFT" "$TMP/pg.out"
'

# --- history --------------------------------------------------------------

# expected_history REPO [ENV]: action and 12-digit commit of each record
# of REPO's history (of ENV), newest first.
expected_history()
{
	tac "$TMP/$1.git/pushgate/history" |
	awk -F '\t' -v env="${2-}" \
		'env == "" || $2 == env { print $3, substr($4, 1, 12) }'
}

# shown_history: action and commit of each line `pushgate history`
# printed after its header (the time takes two fields).
shown_history()
{
	sed 1d "$TMP/pg.out" | awk '{ print $4, $5 }'
}

test_expect_success 'history: a header, then one line per record, newest first' '
	pg -C "$TMP/rb.git" history &&
	head -n 1 "$TMP/pg.out" >header &&
	test_grep "^TIME  *ENV  *ACTION  *COMMIT  *RELEASE  *USER  *RESULT  *TOOK  *REASON" header &&
	test "$(wc -l <"$TMP/pg.out")" -eq "$(($(nr_records rb) + 1))" &&
	expected_history rb >expect &&
	shown_history >actual &&
	cmp expect actual &&
	sed -n 2p "$TMP/pg.out" >newest &&
	test_grep "^[0-9-]* [0-9:]*Z  *staging  *deploy  *$(short "$rd")  *$idd  *tester  *failed " newest
'

test_expect_success 'history -n N: the N newest records' '
	pg -C "$TMP/rb.git" history &&
	sed -n 1,3p "$TMP/pg.out" >expect &&
	pg -C "$TMP/rb.git" history -n 2 &&
	test "$(wc -l <"$TMP/pg.out")" -eq 3 &&
	cmp expect "$TMP/pg.out" &&
	pg -C "$TMP/rb.git" history -n 1 &&
	test "$(wc -l <"$TMP/pg.out")" -eq 2
'

test_expect_success 'history ENV: only that environment' '
	pg -C "$TMP/flow.git" history staging &&
	expected_history flow staging >expect &&
	test "$(wc -l <expect)" -ge 2 &&
	shown_history >actual &&
	cmp expect actual &&
	sed 1d "$TMP/pg.out" | awk "{ print \$3 }" | sort -u >envs &&
	echo staging >expect &&
	cmp expect envs &&
	pg -C "$TMP/flow.git" history -n 1 qa &&
	test "$(wc -l <"$TMP/pg.out")" -eq 2 &&
	test_grep "^[0-9-]* [0-9:]*Z  *qa  *deploy  *$(short "$c4") " "$TMP/pg.out"
'

test_expect_success 'history ENV -n N: the order SPEC section 7 gives' '
	pg -C "$TMP/flow.git" history staging -n 1 &&
	test "$(wc -l <"$TMP/pg.out")" -eq 2 &&
	test_grep "^[0-9-]* [0-9:]*Z  *staging  *deploy  *$(short "$c4") " "$TMP/pg.out"
'

test_expect_success 'history: a failed deploy shows its reason' '
	pg -C "$TMP/rb.git" history -n 10 staging &&
	grep "  failed  " "$TMP/pg.out" >failed &&
	test_grep "$(short "$rd")" failed &&
	test_grep "healthcheck" failed &&
	pg -C "$TMP/rb.git" status staging &&
	test_grep "^  last: *deploy $(short "$rd") failed at .*: .*healthcheck" \
		"$TMP/pg.out"
'

test_expect_success 'deploy: a deploy that fails exits 1 and changes nothing live' '
	id=$(live_id "$DEPLOY/rb") &&
	n=$(nr_records rb) &&
	test_expect_code 1 pg -C "$TMP/rb.git" deploy staging &&
	test_grep "^pushgate: FAILED to deploy $(short "$rd") to .staging.: " \
		"$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/rb")" = "$id" &&
	test "$(env_ref rb staging)" = "$rc" &&
	test "$(nr_records rb)" = "$((n + 1))" &&
	last_record rb &&
	test "$(field 7)" = failed
'

test_expect_success 'rollback of a manual environment: its approvers only' '
	setup_repo rbm <<-EOF &&
	[environment "production"]
	branch = main
	mode = manual
	approvers = $ME
	path = $TMP/rbm-deploy
	EOF
	setup_clone rbm &&
	cd rbm-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	pushgate -C "$TMP/rbm.git" deploy production &&
	commit_file a.txt two "two" &&
	push origin main &&
	pushgate -C "$TMP/rbm.git" deploy production &&
	before=$(readlink "$TMP/rbm-deploy/current") &&
	write_hooks_ini rbm <<-EOF &&
	[environment "production"]
	branch = main
	mode = manual
	approvers = alice
	path = $TMP/rbm-deploy
	EOF
	test_expect_code 1 env PUSHGATE_USER=alice \
		pushgate -C "$TMP/rbm.git" rollback production 2>err &&
	test_grep "$ME. may not approve deploys to .production." err &&
	test "$(readlink "$TMP/rbm-deploy/current")" = "$before" &&
	write_hooks_ini rbm <<-EOF &&
	[environment "production"]
	branch = main
	mode = manual
	approvers = alice $ME
	path = $TMP/rbm-deploy
	EOF
	pushgate -C "$TMP/rbm.git" rollback production &&
	test "$(readlink "$TMP/rbm-deploy/current")" != "$before"
'

test_done
