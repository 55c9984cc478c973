#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t2400-state.sh - the state kept in the repository (SPEC sections 6 and
# 10): kept artifacts while a deploy reads them, the history across its
# rotation, and the bounds of the caches. (A deploy killed halfway is
# t2500-faults.sh's.)
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
	mkdir "$TMP/gatebin" &&
	cat >"$TMP/gatebin/tar" <<-\EOF &&
	#!/bin/sh
	# tar, as the host runs it. While the fifo $T/gate exists, an
	# upload (tar --extract, through the persistent shell or a channel
	# of its own) says so in $T/uploading and waits until the test
	# writes a line into it; the deploy cannot finish meanwhile. The
	# fifo is used once; a test that failed without opening it leaves
	# no process waiting for long.
	case " $* " in
	*" --extract "*)
		if test -p "$T/gate"
		then
			: >"$T/uploading"
			timeout 300 sh -c "read -r _ <\"\$1\"" sh "$T/gate" ||
				exit 1
			rm -f "$T/gate"
		fi
		;;
	esac
	exec "$REAL_TAR" "$@"
	EOF
	sed -i "2i T='"'"'$OUT'"'"' REAL_TAR='"'"'$(command -v tar)'"'"'" \
		"$TMP/gatebin/tar" &&
	chmod +x "$TMP/gatebin/tar" &&
	cat >"$TMP/gate.sh" <<-\EOF &&
	#!/bin/sh
	# Run the command asked for, with the gated tar first in PATH.
	PATH=$G:$PATH
	export PATH
	/bin/sh -c "$SSH_ORIGINAL_COMMAND"
	status=$?
	: >"$T/ran"
	exit "$status"
	EOF
	sed -i "2i G='"'"'$TMP/gatebin'"'"'" "$TMP/gate.sh" &&
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

# --- the history -----------------------------------------------------------

# pad_history REPO: fill $TMP/REPO.git's history with another
# environment's records (about 1 KB each, as a year of deploys would
# leave) up to 16 bytes short of 1 MiB, where the next record rotates it.
pad_history()
{
	pad_history_f_=$TMP/$1.git/pushgate/history
	pad_history_left_=$((1048576 - 16 - $(stat -c %s "$pad_history_f_")))
	awk -v left="$pad_history_left_" 'BEGIN {
		for (i = 0; left > 0; i++) {
			n = left >= 1200 ? 1000 : left
			r = sprintf("%*s", n - 122, ""); gsub(/ /, "x", r)
			printf "2026-01-01T00:00:00Z\tother\tdeploy\t%040d\t20260101T000000Z-%012d\tbot\tok\t1.0\t%s\tfull\n", i, i, r
			left -= n
		}
	}' >>"$pad_history_f_" &&
	test "$(stat -c %s "$pad_history_f_")" = $((1048576 - 16))
}

test_expect_success 'the history is rotated past 1 MiB; history, status and rollback read across it' '
	setup_repo hist <<-EOF &&
	[environment "staging"]
	branch = main
	path = $DEPLOY/hist
	EOF
	setup_clone hist &&
	cd hist-work &&
	h=$TMP/hist.git/pushgate &&
	for v in h1 h2
	do
		commit_file app "$v" "$v" &&
		push origin main &&
		deployed staging HEAD || return 1
	done &&
	h2=$(git rev-parse HEAD) &&
	pad_history hist &&
	test ! -e "$h/history.1" &&
	commit_file app h3 h3 &&
	push origin main &&
	deployed staging HEAD &&
	h3=$(git rev-parse HEAD) &&
	test -f "$h/history.1" &&
	test "$(wc -l <"$h/history")" -lt 20 &&
	pg -C "$TMP/hist.git" history staging &&
	test "$(grep -c " staging " "$TMP/pg.out")" = 3 &&
	: a second rotation drops the padding, never what staging rests on &&
	pad_history hist &&
	commit_file app h4 h4 &&
	push origin main &&
	deployed staging HEAD &&
	test "$(stat -c %s "$h/history")" -le 1048576 &&
	test "$(stat -c %s "$h/history.1")" -le 1048576 &&
	ls "$h" | grep "^history" >"$OUT/files" &&
	printf "history\nhistory.1\n" >"$OUT/files.expected" &&
	test_cmp "$OUT/files.expected" "$OUT/files" &&
	pg -C "$TMP/hist.git" history -n 100000 &&
	test "$(grep -c " other " "$TMP/pg.out")" -lt 1100 &&
	pg -C "$TMP/hist.git" history staging &&
	test "$(grep -c " staging " "$TMP/pg.out")" = 4 &&
	pg -C "$TMP/hist.git" status staging &&
	test_grep "$(short HEAD)" "$TMP/pg.out" &&
	pg -C "$TMP/hist.git" rollback staging &&
	test "$(cat "$DEPLOY/hist/current/app")" = h3 &&
	pg -C "$TMP/hist.git" rollback staging "$h2" &&
	test "$(cat "$DEPLOY/hist/current/app")" = h2
'

test_expect_success 'a damaged line of the history is skipped with a warning' '
	h=$TMP/hist.git/pushgate &&
	printf "2026-01-01T00:00:00Z\tstaging\0junk\n" >>"$h/history" &&
	head -c 9000 /dev/zero | tr "\0" x >>"$h/history" &&
	echo >>"$h/history" &&
	pg -C "$TMP/hist.git" history staging &&
	test_grep "skipped 2 damaged lines of the history" "$TMP/pg.err" &&
	test "$(grep -c " staging " "$TMP/pg.out")" = 6 &&
	pg_no_crash &&
	cd hist-work &&
	commit_file app h5 h5 &&
	push origin main &&
	deployed staging HEAD &&
	last_record hist &&
	test "$(field 4)" = "$(git rev-parse HEAD)"
'

test_done
