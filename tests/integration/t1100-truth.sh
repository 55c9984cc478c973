#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t1100-truth.sh - what today's workflow must tell truthfully (SPEC
# section 8), on `local` hosts with real pushes and the real CLI: a
# drifted host put back by `pushgate deploy ENV`, `status` during a
# deploy and a deploy waiting for the lock naming its holder,
# PUSHGATE_RELEASE and PUSHGATE_PREVIOUS in rollbacks, a command failing
# during a rollback reported as "rollback incomplete", a background
# process keeping a command's output open, options after the arguments,
# and the CLI finishing its work when its reader goes away, and never
# leaving a checkout behind when it is interrupted.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

PUSHGATE_USER=tester
export PUSHGATE_USER
ME=$(id -un)

DEPLOY=$TMP/deploy
OUT=$TMP/out
mkdir "$DEPLOY" "$OUT"

# env_ini REPO [LINE...]: $TMP/REPO.git's hooks.ini: the environment
# "staging" deploying main to $DEPLOY/REPO on this machine, plus LINEs.
env_ini()
{
	env_ini_repo_=$1
	shift
	{
		printf '[environment "staging"]\nbranch = main\nhosts = local\n'
		printf 'path = %s\n' "$DEPLOY/$env_ini_repo_"
		for env_ini_line_ in "$@"
		do
			printf '%s\n' "$env_ini_line_"
		done
	} | write_hooks_ini "$env_ini_repo_"
}

# new_repo REPO [LINE...]: a bare repository with env_ini's hooks.ini and
# its clone $TMP/REPO-work.
new_repo()
{
	new_repo_name_=$1
	shift
	setup_repo "$new_repo_name_" </dev/null &&
	env_ini "$new_repo_name_" "$@" &&
	setup_clone "$new_repo_name_"
}

# pg_bg NAME ARGS...: `pushgate ARGS` in the background, its output in
# $OUT/NAME.out and $OUT/NAME.err, its pid in $OUT/NAME.pid and its exit
# status, once it ends, in $OUT/NAME.status.
pg_bg()
{
	pg_bg_name_=$1
	shift
	(
		pg_bg_status_=0
		pushgate "$@" >"$OUT/$pg_bg_name_.out" \
			2>"$OUT/$pg_bg_name_.err" || pg_bg_status_=$?
		echo "$pg_bg_status_" >"$OUT/$pg_bg_name_.status.tmp"
		mv "$OUT/$pg_bg_name_.status.tmp" "$OUT/$pg_bg_name_.status"
	) &
	echo $! >"$OUT/$pg_bg_name_.pid"
}

# no_checkout REPO: no checkout was left in $TMP/REPO.git/pushgate/tmp.
no_checkout()
{
	find "$TMP/$1.git/pushgate/tmp" -mindepth 1 -maxdepth 1 >left &&
	test_grep ! . left
}

# --- options after the arguments -------------------------------------

test_expect_success 'setup: two releases A and B, B live' '
	new_repo drift &&
	cd drift-work &&
	commit_file index.html A "A" &&
	a=$(git rev-parse HEAD) &&
	push origin main &&
	deployed staging HEAD &&
	ida=$(live_id "$DEPLOY/drift") &&
	commit_file index.html B "B" &&
	b=$(git rev-parse HEAD) &&
	push origin main &&
	deployed staging HEAD &&
	idb=$(live_id "$DEPLOY/drift")
'

test_expect_success 'options may follow the arguments' '
	n=$(nr_records drift) &&
	pg -C "$TMP/drift.git" deploy staging --force &&
	test_grep "^pushgate: deployed $(short "$b") to .staging." \
		"$TMP/pg.err" &&
	test "$(nr_records drift)" = "$((n + 1))" &&
	pg -C "$TMP/drift.git" history staging -n 1 &&
	test "$(wc -l <"$TMP/pg.out")" -eq 2 &&
	pg -C "$TMP/drift.git" history -n 1 staging &&
	test "$(wc -l <"$TMP/pg.out")" -eq 2 &&
	idb=$(live_id "$DEPLOY/drift") &&
	test_expect_code 2 pg -C "$TMP/drift.git" deploy staging --frobnicate &&
	test_grep "^pushgate: error: usage: pushgate deploy" "$TMP/pg.err"
'

# --- drift ----------------------------------------------------------------

test_expect_success 'deploy of the live commit with no drift: nothing to do, no record' '
	n=$(nr_records drift) &&
	pg -C "$TMP/drift.git" deploy staging &&
	test_grep "already runs $(short "$b"): nothing to do" "$TMP/pg.err" &&
	test "$(nr_records drift)" = "$n" &&
	test "$(live_id "$DEPLOY/drift")" = "$idb"
'

test_expect_success 'a host pointed at another release is put back' '
	ln -sfn "releases/$ida" "$DEPLOY/drift/current" &&
	test_expect_code 1 pg -C "$TMP/drift.git" status staging &&
	test_grep "DRIFT: current -> $ida, recorded $idb" "$TMP/pg.out" &&
	pg -C "$TMP/drift.git" deploy staging &&
	pg_no_crash &&
	test_grep "^pushgate: \[local\] drifted: current -> $ida, recorded $idb: putting it back" \
		"$TMP/pg.err" &&
	test_grep "^pushgate: put back 1 drifted host of .staging. on $(short "$b") in [0-9.]* s (release $idb)" \
		"$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/drift")" = "$idb" &&
	test_cmp_expected truth-drift-repointed "$TMP/pg.err" &&
	last_record drift &&
	test "$(field 3)" = deploy &&
	test "$(field 5)" = "$idb" &&
	test "$(field 6)" = "$ME" &&
	test "$(field 7)" = ok &&
	test "$(field 9)" = "drift repaired on local" &&
	pg -C "$TMP/drift.git" status staging &&
	test_grep "ok (current -> releases/$idb)" "$TMP/pg.out"
'

test_expect_success 'a host whose live release is gone gets it again' '
	cd drift-work &&
	rm -rf "$DEPLOY/drift/releases/$idb" "$DEPLOY/drift/current" &&
	test_expect_code 1 pg -C "$TMP/drift.git" status staging &&
	pg -C "$TMP/drift.git" deploy staging &&
	pg_no_crash &&
	test_grep "drifted: current -> (none), recorded $idb" "$TMP/pg.err" &&
	test_grep "release $idb is gone: uploading it again" "$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/drift")" = "$idb" &&
	check_release "$DEPLOY/drift" "$idb" "$b" &&
	test "$(cat "$DEPLOY/drift/current/index.html")" = B &&
	test -d "$DEPLOY/drift/releases/$ida" &&
	pg -C "$TMP/drift.git" status staging
'

# --- a deploy in progress ----------------------------------------------

test_expect_success 'status during a deploy says deploying, not DRIFT; a waiting deploy names the holder' '
	env_ini drift \
		"before = n=0; until test -e \"$OUT/go\" || test \$n -ge 600; do sleep 0.1; n=\$((n + 1)); done" &&
	rm -f "$OUT/go" &&
	pg_bg first -C "$TMP/drift.git" deploy staging --force &&
	test_wait_for 30 test_grep -q "\[local\] before" "$OUT/first.err" &&
	pg -C "$TMP/drift.git" status staging &&
	test_grep "^  now:      deploying $(short "$b") (by $ME, since [0-9-]* [0-9:]*Z)" \
		"$TMP/pg.out" &&
	test_grep ! "DRIFT" "$TMP/pg.out" &&
	pg_bg second -C "$TMP/drift.git" deploy staging --force &&
	test_wait_for 30 test_grep -q "waiting for the deploy of $(short "$b") to .staging. (by $ME, since " \
		"$OUT/second.err" &&
	: a third one, interrupted while it waits, gives up at once &&
	pg_bg third -C "$TMP/drift.git" deploy staging --force &&
	test_wait_for 30 test_grep -q "waiting for the deploy" "$OUT/third.err" &&
	third=$(pgrep -P "$(cat "$OUT/third.pid")" -x pushgate) &&
	kill -INT "$third" &&
	test_wait_for 30 test -e "$OUT/third.status" &&
	cat "$OUT/third.err" &&
	test "$(cat "$OUT/third.status")" = 130 &&
	test_grep "interrupted while waiting for lock" "$OUT/third.err" &&
	test ! -e "$OUT/first.status" &&
	touch "$OUT/go" &&
	test_wait_for 60 test -e "$OUT/first.status" &&
	test_wait_for 60 test -e "$OUT/second.status" &&
	test "$(cat "$OUT/first.status")" = 0 &&
	test "$(cat "$OUT/second.status")" = 0 &&
	cat "$OUT/first.err" "$OUT/second.err" &&
	test_grep "^pushgate: deployed" "$OUT/second.err" &&
	pg -C "$TMP/drift.git" status staging &&
	test_grep ! "now:" "$TMP/pg.out"
'

# --- rollbacks: the variables and what fails -----------------------------

test_expect_success 'an automatic rollback: after and on_failure see the right releases' '
	new_repo vars \
		"before = echo \"before \$(basename \"\$PUSHGATE_RELEASE\") \$(basename \"\$PUSHGATE_PREVIOUS\")\" >>\"$OUT/vars\"" \
		"after = echo \"after \$(basename \"\$PUSHGATE_RELEASE\") \$(basename \"\$PUSHGATE_PREVIOUS\")\" >>\"$OUT/vars\"" \
		"healthcheck = test ! -e broken" \
		"healthcheck_retries = 1" \
		"on_failure = echo \"on_failure \$(basename \"\$PUSHGATE_RELEASE\") \$(basename \"\$PUSHGATE_PREVIOUS\")\" >>\"$OUT/vars\"" &&
	cd vars-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deployed staging HEAD &&
	v1=$(live_id "$DEPLOY/vars") &&
	commit_file broken yes "broken" &&
	push origin main &&
	deploy_failed staging HEAD &&
	v2=$(ls "$DEPLOY/vars/releases" | grep -v "^$v1\$") &&
	printf "%s\n" "before $v1 " "after $v1 " "before $v2 $v1" \
		"after $v2 $v1" "after $v1 $v2" "on_failure $v2 $v1" >expect &&
	test_cmp expect "$OUT/vars"
'

test_expect_success 'pushgate rollback: RELEASE is the one made live, PREVIOUS the one left' '
	cd vars-work &&
	git rm -q broken &&
	git commit -q -m "fixed" &&
	push origin main &&
	deployed staging HEAD &&
	v3=$(live_id "$DEPLOY/vars") &&
	: >"$OUT/vars" &&
	pg -C "$TMP/vars.git" rollback staging &&
	test "$(live_id "$DEPLOY/vars")" = "$v1" &&
	printf "%s\n" "before $v1 $v3" "after $v1 $v3" >expect &&
	test_cmp expect "$OUT/vars"
'

test_expect_success 'a command failing during a rollback: rollback incomplete, recorded, exit 1' '
	env_ini vars \
		"healthcheck = test ! -e broken" \
		"healthcheck_retries = 1" \
		"on_failure = echo cannot page anyone; exit 3" &&
	cd vars-work &&
	commit_file broken yes "broken again" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "^remote: pushgate: \[local\] rollback incomplete: on_failure failed (exit 3)" \
		"$TMP/push.err" &&
	test_grep "^remote: pushgate: FAILED to deploy $(short HEAD) to .staging.: local: healthcheck failed (exit 1); rollback incomplete on local: on_failure failed (exit 3)" \
		"$TMP/push.err" &&
	test_grep ! "(rolled back)" "$TMP/push.err" &&
	remote_lines >"$TMP/remote" &&
	test_cmp_expected truth-rollback-incomplete "$TMP/remote" &&
	test "$(live_id "$DEPLOY/vars")" = "$v1" &&
	last_record vars &&
	test "$(field 7)" = failed &&
	field 9 >reason &&
	test_grep "rollback incomplete on local: on_failure failed (exit 3)" reason &&
	: the CLI says so with its exit status &&
	test_expect_code 1 pg -C "$TMP/vars.git" deploy staging --force &&
	test_grep "rollback incomplete on local" "$TMP/pg.err"
'

# --- a process that keeps the output open --------------------------------

test_expect_success 'after starting a daemon that keeps the output open: not waited for' '
	new_repo daemon \
		"after = sleep 60 & echo \$! >\"$OUT/daemon.pid\"" \
		"command_timeout = 30" &&
	cd daemon-work &&
	commit_file a.txt one "one" &&
	start=$(date +%s) &&
	push origin main &&
	test "$(($(date +%s) - start))" -lt 20 &&
	deployed staging HEAD &&
	test_grep "^remote: pushgate: \[local\] after: a process it started kept its output open; not waiting for it" \
		"$TMP/push.err" &&
	pid=$(cat "$OUT/daemon.pid") &&
	kill -0 "$pid" &&
	kill "$pid"
'

# --- the deploy-time build -------------------------------------------

test_expect_success 'a build at deploy time gets the same PUSHGATE_ variables, PUSHGATE_REF too' '
	setup_repo rebuild </dev/null &&
	write_hooks_ini rebuild <<-EOF &&
	[verify]
	build = mkdir -p dist && env | grep ^PUSHGATE_ | sort >dist/vars
	[environment "staging"]
	branch = main
	path = $DEPLOY/rebuild
	artifact = dist
	EOF
	setup_clone rebuild &&
	cd rebuild-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "^PUSHGATE_REF=refs/heads/main\$" "$DEPLOY/rebuild/current/vars" &&
	: once the kept build is gone, the deploy builds again, saying so &&
	rm -rf "$TMP/rebuild.git/pushgate/artifacts" &&
	pg -C "$TMP/rebuild.git" deploy staging --force &&
	test_grep "^pushgate: building $(short HEAD) for .staging.: no kept artifact" \
		"$TMP/pg.err" &&
	vars=$DEPLOY/rebuild/current/vars &&
	test_grep "^PUSHGATE_ENV=staging\$" "$vars" &&
	test_grep "^PUSHGATE_COMMIT=$(git rev-parse HEAD)\$" "$vars" &&
	test_grep "^PUSHGATE_REF=refs/heads/main\$" "$vars" &&
	test_grep "^PUSHGATE_USER=$ME\$" "$vars" &&
	test_grep "^PUSHGATE_PREVIOUS=\$" "$vars" &&
	no_checkout rebuild
'

# --- the CLI's reader goes away, the CLI is interrupted -------------------

test_expect_success 'a reader that goes away does not stop a deploy halfway' '
	cd drift-work &&
	env_ini drift &&
	n=$(nr_records drift) &&
	before=$(live_id "$DEPLOY/drift") &&
	pushgate -C "$TMP/drift.git" deploy staging --force 2>&1 | head -n 1 &&
	test "$(nr_records drift)" = "$((n + 1))" &&
	last_record drift &&
	test "$(field 7)" = ok &&
	test "$(live_id "$DEPLOY/drift")" != "$before" &&
	test "$(live_id "$DEPLOY/drift")" = "$(field 5)" &&
	no_checkout drift
'

test_expect_success 'an interrupted test run stops, and no checkout is left' '
	cd drift-work &&
	for sig in TERM INT HUP
	do
		rm -f "$OUT/testing" "$OUT/test-pid" &&
		env_ini drift "[verify]" \
			"test = echo \$\$ >\"$OUT/test-pid\"; touch \"$OUT/testing\"; n=0; until test \$n -ge 600; do sleep 0.1; n=\$((n + 1)); done" \
			"test_timeout = 120" "sandbox_write = $OUT" &&
		: a new tree each time, so that no cached result applies &&
		commit_file "$sig.txt" "$sig" "$sig" &&
		git push -q origin HEAD:refs/heads/other &&
		rm -f "$OUT/int.status" &&
		pg_bg int -C "$TMP/drift.git" deploy staging other &&
		test_wait_for 30 test -e "$OUT/testing" &&
		test -d "$(ls -d "$TMP"/drift.git/pushgate/tmp/checkout-*)" &&
		pid=$(pgrep -P "$(cat "$OUT/int.pid")" -x pushgate) &&
		kill -"$sig" "$pid" &&
		test_wait_for 30 test -e "$OUT/int.status" &&
		cat "$OUT/int.err" &&
		test "$(cat "$OUT/int.status")" -gt 128 &&
		test_grep "interrupted" "$OUT/int.err" &&
		no_checkout drift &&
		test_wait_for 10 eval "! kill -0 $(cat "$OUT/test-pid") 2>/dev/null" ||
		return 1
	done
'

test_done
