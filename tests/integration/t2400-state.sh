#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t2400-state.sh - the state kept in the repository (SPEC sections 6 and
# 10): kept artifacts while a deploy reads them, the history across its
# rotation, the bounds of the caches, and a deploy killed mid-upload.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

PUSHGATE_USER=tester
export PUSHGATE_USER

SSHD_SH=$PUSHGATE_SRCDIR/tests/sshd.sh
DEPLOY=$TMP/deploy
OUT=$TMP/out
mkdir "$DEPLOY" "$OUT"
SSHD_USER='' SSHD_PORT1='' SSHD_KEY='' SSHD_KNOWN_HOSTS=''

# push_bg NAME ARGS...: `git push ARGS` in the background, its output in
# $OUT/NAME.out and .err and its exit status, once done, in $OUT/NAME.rc;
# its pid in $OUT/NAME.pid. Returns at once.
push_bg()
{
	push_bg_name_=$1
	shift
	rm -f -- "$OUT/$push_bg_name_.rc"
	{
		push_bg_status_=0
		git push "$@" >"$OUT/$push_bg_name_.out" \
			2>"$OUT/$push_bg_name_.err" || push_bg_status_=$?
		echo "$push_bg_status_" >"$OUT/$push_bg_name_.rc"
	} </dev/null &
	echo "$!" >"$OUT/$push_bg_name_.pid"
}

# bg_done NAME: the background push NAME has finished (see push_bg).
bg_done()
{
	test -f "$OUT/$1.rc"
}

# age REPO [WHEN]: every kept artifact of $TMP/REPO.git last used WHEN
# (default: two hours ago), older than the hour during which none is
# dropped: from then on only a claim or a read protects it.
age()
{
	find "$TMP/$1.git/pushgate/artifacts" -mindepth 1 -maxdepth 1 -type d \
		-name '????????????????????????????????????????' \
		-exec touch -d "${2:-2 hours ago}" {} +
}

# artifact_of REPO CONTENT: the kept artifact (its directory) whose file
# app holds CONTENT.
artifact_of()
{
	grep -l -x -F "$2" "$TMP/$1.git/pushgate/artifacts"/*/app |
		sed "s,/app\$,,"
}

test_expect_success 'setup: an SSH host whose upload waits for the test' '
	cat >"$TMP/gate.sh" <<-\EOF &&
	#!/bin/sh
	# While the fifo $T/gate exists, an upload (mkdir ... && tar
	# --extract ...) says so in $T/uploading and waits until the test
	# writes a line into it; the deploy cannot finish reading its
	# release meanwhile (larger than what the pipes and the channel
	# buffer). The fifo is used once.
	case $SSH_ORIGINAL_COMMAND in
	*"tar --extract"*)
		if test -p "$T/gate"
		then
			: >"$T/uploading"
			read -r _ <"$T/gate"
			rm -f "$T/gate"
		fi
		;;
	esac
	/bin/sh -c "$SSH_ORIGINAL_COMMAND"
	status=$?
	: >"$T/ran"
	exit "$status"
	EOF
	sed -i "2i T='"'"'$OUT'"'"'" "$TMP/gate.sh" &&
	chmod +x "$TMP/gate.sh" &&
	SSHD_FORCE_COMMAND=$TMP/gate.sh sh "$SSHD_SH" start "$TMP/sshd" 1 &&
	test_atexit "sh \"$SSHD_SH\" stop \"$TMP/sshd\"" &&
	. "$TMP/sshd/env"
'

# --- kept artifacts ------------------------------------------------------

test_expect_success 'a prune keeps the artifact a deploy reads and the one a waiting deploy claimed' '
	setup_repo art <<-EOF &&
	[core]
	artifacts_keep = 1
	[verify]
	build = mkdir -p dist/d && head -c 24000000 /dev/zero | split -b 8192 -a 4 -d - dist/d/ && cp app dist/app && date +%s%N >dist/stamp
	[environment "staging"]
	branch = main
	hosts = $SSHD_USER@127.0.0.1:$SSHD_PORT1
	path = $DEPLOY/art
	artifact = dist
	identity = $SSHD_KEY
	known_hosts = $SSHD_KNOWN_HOSTS
	[environment "other"]
	branch = other
	path = $DEPLOY/other
	artifact = dist
	[environment "prod"]
	branch = release
	mode = manual
	path = $DEPLOY/prod
	artifact = dist
	EOF
	setup_clone art &&
	cd art-work &&
	commit_file app v1 v1 &&
	mkfifo "$OUT/gate" &&
	push_bg p1 origin main &&
	test_wait_for 120 test -f "$OUT/uploading" &&
	: the first deploy is reading its artifact, the second waits for it &&
	commit_file app v2 v2 &&
	v2=$(git rev-parse HEAD) &&
	push_bg p2 origin main &&
	test_wait_for 120 grep -q "waiting for the deploy of" "$OUT/p2.err" &&
	kept_artifacts art >"$OUT/claimed" &&
	test "$(wc -l <"$OUT/claimed")" = 2 &&
	: a newer build that nothing claims, which artifacts_keep = 1 keeps &&
	git checkout -q -b release &&
	commit_file app r1 r1 &&
	push origin release &&
	test_grep "tests passed for refs/heads/release" "$TMP/push.err" &&
	age art &&
	touch -d "3 hours ago" "$(artifact_of art v1)" "$(artifact_of art v2)" &&
	: another environment deploys twice and prunes &&
	git checkout -q -b other &&
	commit_file app v3 v3 &&
	push origin other &&
	deployed other HEAD &&
	commit_file app v4 v4 &&
	push origin other &&
	deployed other HEAD &&
	kept_artifacts art >"$OUT/kept" &&
	grep -x -f "$OUT/claimed" "$OUT/kept" >"$OUT/survived" &&
	test_cmp "$OUT/claimed" "$OUT/survived" &&
	echo go >"$OUT/gate" &&
	test_wait_for 120 bg_done p1 &&
	test_wait_for 120 bg_done p2 &&
	cat "$OUT/p1.err" "$OUT/p2.err" &&
	test "$(cat "$OUT/p1.rc")" = 0 &&
	test "$(cat "$OUT/p2.rc")" = 0 &&
	test_grep "deployed $(short "$v2") to .staging." "$OUT/p2.err" &&
	test_grep "using the artifact built for $(short "$v2")" "$OUT/p2.err" &&
	test_grep ! "building" "$OUT/p2.err" &&
	test "$(ls "$DEPLOY/art/current/d" | wc -l)" = 2930 &&
	test "$(cat "$DEPLOY/art/current/app")" = v2 &&
	no_crash "$OUT/p1.err" "$OUT/p2.err"
'

test_expect_success 'a build waiting for its deploy is kept an hour, then the store is bounded again' '
	cd art-work &&
	git checkout -q release &&
	commit_file app v5 v5 &&
	v5=$(git rev-parse HEAD) &&
	push origin release &&
	test_grep "tests passed for refs/heads/release" "$TMP/push.err" &&
	kept_artifacts art >"$OUT/before" &&
	git checkout -q other &&
	commit_file app v6 v6 &&
	push origin other &&
	deployed other HEAD &&
	: the build of v5 is fresh: kept although artifacts_keep = 1 &&
	pg -C "$TMP/art.git" deploy --dry-run prod "$v5" &&
	test_grep "^artifact: the kept build" "$TMP/pg.out" &&
	age art &&
	touch -d "3 hours ago" "$(artifact_of art v5)" &&
	commit_file app v7 v7 &&
	push origin other &&
	deployed other HEAD &&
	: kept: live and previous of staging and other, and the newest other &&
	test "$(kept_artifacts art | wc -l)" = 5 &&
	pg -C "$TMP/art.git" deploy --dry-run prod "$v5" &&
	test_grep "^artifact: no artifact kept for $(short "$v5")" "$TMP/pg.out" &&
	: no lock file is left for an artifact that is gone &&
	(cd "$TMP/art.git/pushgate/artifacts" && ls) >"$OUT/store" &&
	cat "$OUT/store" &&
	sed -n "s/\.lock\$//p" "$OUT/store" >"$OUT/locks" &&
	kept_artifacts art >"$OUT/keys" &&
	{ grep -v -x -f "$OUT/keys" "$OUT/locks" || :; } >"$OUT/stale" &&
	test_grep ! . "$OUT/stale"
'

test_done
