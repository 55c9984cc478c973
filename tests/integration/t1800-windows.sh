#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t1800-windows.sh - deploy windows and holds (SPEC section 13), with the
# clock set by faketime(1) (libfaketime: the hooks and the CLI read the
# faked wall clock; never a variable of pushgate's own): a push in a
# closed window is accepted and its auto deploy held, recorded and
# notified; `deploy --pending` and the next push deploy it once the
# window allows, and do nothing more when run again; `manual = allow`
# lets a CLI deploy pass; `--override-window` is for approvers, with a
# reason the history keeps; a weekly window across the end of DST;
# `pushgate lock`/`unlock`; `pushgate windows --at`.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

command -v faketime >/dev/null 2>&1 ||
	test_bug_ "faketime is not installed (tests/deps.sh installs it)"

PUSHGATE_USER=tester
export PUSHGATE_USER
ME=$(id -un)
DEPLOY=$TMP/deploy
OUT=$TMP/out
mkdir "$DEPLOY" "$OUT"
# libfaketime after the sanitizers' runtime (make check SANITIZE=1), and
# the monotonic clock of deadlines left alone
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
FAKETIME_DONT_FAKE_MONOTONIC=1
export ASAN_OPTIONS FAKETIME_DONT_FAKE_MONOTONIC

# at TIME COMMAND...: COMMAND with the wall clock starting at TIME (UTC).
at()
{
	at_time_=$1
	shift
	TZ=UTC faketime "$at_time_" "$@"
}

# ini [LINE...]: hooks.ini of "w": staging (auto, main, local) with a
# notify that appends "EVENT COMMIT" to $OUT/events, the holiday freeze
# (Berlin time), and LINEs.
ini()
{
	{
		printf '[core]\nnotify = echo "$PUSHGATE_EVENT $PUSHGATE_COMMIT" >>%s\n' \
			"$OUT/events"
		printf '[environment "staging"]\nbranch = main\nhosts = local\n'
		printf 'path = %s\napprovers = %s\n' "$DEPLOY/w" "${APPROVERS:-alice}"
		printf '[window "freeze"]\nenvironments = staging\n'
		printf 'from = 2026-12-19T17:00\nuntil = 2027-01-04T08:00\n'
		printf 'timezone = Europe/Berlin\nmessage = holiday freeze\n'
		for ini_line_ in "$@"
		do
			printf '%s\n' "$ini_line_"
		done
	} | write_hooks_ini w
}

# records: how many history records there are.
records()
{
	nr_records w
}

test_expect_success 'setup: a release before the freeze' '
	setup_repo w </dev/null &&
	ini &&
	setup_clone w &&
	cd w-work &&
	commit_file index.html one "first" &&
	at "2026-12-18 10:00:00" git push -q origin main 2>"$TMP/push.err" &&
	deployed staging HEAD &&
	live=$(live_id "$DEPLOY/w")
'

test_expect_success 'a push inside the freeze: accepted, held, recorded and notified' '
	cd w-work &&
	commit_file index.html two "second" &&
	at "2026-12-24 12:00:00" git push origin main 2>"$TMP/push.err" &&
	cat "$TMP/push.err" &&
	accepted refs/heads/main &&
	test_grep "^remote: pushgate: .staging. held by window \"freeze\" until 2027-01-04 08:00 CET (2027-01-04 07:00Z): holiday freeze (1 commit waiting)" \
		"$TMP/push.err" &&
	test "$(live_id "$DEPLOY/w")" = "$live" &&
	last_record w &&
	test "$(field 3)" = deploy &&
	test "$(field 7)" = held &&
	test "$(field 4)" = "$(git rev-parse HEAD)" &&
	test_grep "^held $(git rev-parse HEAD)\$" "$OUT/events"
'

test_expect_success 'deploy --pending inside the freeze: still held, nothing recorded' '
	n=$(records) &&
	at "2026-12-31 23:00:00" pushgate -C "$TMP/w.git" deploy --pending \
		>"$TMP/pg.out" 2>"$TMP/pg.err" &&
	test_grep "^pushgate: .staging. still held by window \"freeze\" until 2027-01-04 08:00 CET" \
		"$TMP/pg.err" &&
	test "$(records)" = "$n" &&
	test "$(live_id "$DEPLOY/w")" = "$live"
'

test_expect_success 'a deploy from the CLI is held too (manual = deny): exit 1, recorded' '
	n=$(records) &&
	test_expect_code 1 at "2026-12-31 23:00:00" \
		pushgate -C "$TMP/w.git" deploy staging >"$TMP/pg.out" 2>"$TMP/pg.err" &&
	test_grep "^pushgate: .staging. held by window \"freeze\"" "$TMP/pg.err" &&
	test "$(records)" = "$((n + 1))" &&
	test "$(live_id "$DEPLOY/w")" = "$live"
'

test_expect_success '--override-window: refused to a non-approver, and without a reason' '
	test_expect_code 1 at "2026-12-31 23:00:00" \
		pushgate -C "$TMP/w.git" deploy staging --override-window "hotfix" \
		>"$TMP/pg.out" 2>"$TMP/pg.err" &&
	test_grep "only the approvers of .staging. may override its windows" "$TMP/pg.err" &&
	APPROVERS=$ME ini &&
	test_expect_code 2 pushgate -C "$TMP/w.git" deploy staging --override-window " " \
		>"$TMP/pg.out" 2>"$TMP/pg.err" &&
	test_grep "needs a reason" "$TMP/pg.err" &&
	test "$(live_id "$DEPLOY/w")" = "$live"
'

test_expect_success '--override-window by an approver: deployed, the reason recorded' '
	cd w-work &&
	at "2026-12-31 23:00:00" pushgate -C "$TMP/w.git" deploy staging \
		--override-window "hotfix for the payment page" \
		>"$TMP/pg.out" 2>"$TMP/pg.err" &&
	test_grep "window overridden by $ME: hotfix for the payment page" "$TMP/pg.err" &&
	test "$(cat "$DEPLOY/w/current/REVISION")" = "$(git rev-parse HEAD)" &&
	last_record w &&
	test "$(field 7)" = ok &&
	test "$(field 9)" = "window \"freeze\" overridden: hotfix for the payment page"
'

test_expect_success 'after the freeze, deploy --pending deploys what waits, once' '
	cd w-work &&
	commit_file index.html three "third" &&
	at "2027-01-02 09:00:00" git push origin main 2>"$TMP/push.err" &&
	test_grep "held by window \"freeze\"" "$TMP/push.err" &&
	at "2027-01-04 07:00:00" pushgate -C "$TMP/w.git" deploy --pending \
		>"$TMP/pg.out" 2>"$TMP/pg.err" &&
	test_grep "^pushgate: deployed $(short HEAD) to .staging." "$TMP/pg.err" &&
	test "$(cat "$DEPLOY/w/current/REVISION")" = "$(git rev-parse HEAD)" &&
	n=$(records) &&
	at "2027-01-04 07:05:00" pushgate -C "$TMP/w.git" deploy --pending \
		>"$TMP/pg.out" 2>"$TMP/pg.err" &&
	test_grep "is live, nothing pending" "$TMP/pg.err" &&
	test "$(records)" = "$n"
'

test_expect_success 'after the freeze, the next push (of another branch) deploys what waits' '
	cd w-work &&
	commit_file index.html four "fourth" &&
	at "2027-01-03 09:00:00" git push origin main 2>"$TMP/push.err" &&
	test_grep "held by window" "$TMP/push.err" &&
	git checkout -q -b topic &&
	commit_file notes.txt x "topic work" &&
	at "2027-01-05 09:00:00" git push origin topic 2>"$TMP/push.err" &&
	test_grep "^remote: pushgate: deployed $(short main) to .staging." "$TMP/push.err" &&
	test "$(cat "$DEPLOY/w/current/REVISION")" = "$(git rev-parse main)" &&
	git checkout -q main
'

test_expect_success 'a weekly window with manual = allow: pushes held, the CLI passes' '
	ini "[window \"weekend\"]" "environments = staging" \
		"start = 0 17 * * FRI" "end = 0 8 * * MON" \
		"timezone = Europe/Berlin" "manual = allow" &&
	cd w-work &&
	commit_file index.html five "fifth" &&
	at "2027-01-08 16:30:00" git push origin main 2>"$TMP/push.err" &&
	test_grep "held by window \"weekend\" until 2027-01-11 08:00 CET (2027-01-11 07:00Z)" \
		"$TMP/push.err" &&
	at "2027-01-09 12:00:00" pushgate -C "$TMP/w.git" deploy staging \
		>"$TMP/pg.out" 2>"$TMP/pg.err" &&
	test "$(cat "$DEPLOY/w/current/REVISION")" = "$(git rev-parse HEAD)"
'

test_expect_success 'across the end of DST: a nightly window at 02:30 Berlin, the first 02:30' '
	ini "[window \"nightly\"]" "environments = staging" \
		"start = 30 2 * * *" "duration = 3600" "timezone = Europe/Berlin" &&
	cd w-work &&
	commit_file index.html six "sixth" &&
	at "2026-10-25 00:45:00" git push origin main 2>"$TMP/push.err" &&
	test_grep "held by window \"nightly\" until 2026-10-25 02:30 CET (2026-10-25 01:30Z)" \
		"$TMP/push.err" &&
	at "2026-10-25 01:30:00" pushgate -C "$TMP/w.git" deploy --pending \
		>"$TMP/pg.out" 2>"$TMP/pg.err" &&
	test_grep "^pushgate: deployed $(short HEAD) to .staging." "$TMP/pg.err"
'

test_expect_success 'pushgate lock: every deploy waits, status shows it, rollbacks still run' '
	ini &&
	cd w-work &&
	at "2027-02-01 10:00:00" pushgate -C "$TMP/w.git" lock staging -m "database migration" \
		>"$TMP/pg.out" 2>"$TMP/pg.err" &&
	commit_file index.html seven "seventh" &&
	at "2027-02-01 10:05:00" git push origin main 2>"$TMP/push.err" &&
	: the lock read the faked clock, which runs on from 10:00:00 &&
	test_grep "^remote: pushgate: .staging. held by lock: database migration ($ME, 2027-02-01 10:00:0[0-9]Z) (1 commit waiting)" \
		"$TMP/push.err" &&
	pg -C "$TMP/w.git" status staging &&
	test_grep "^  held:     by lock: database migration ($ME, " "$TMP/pg.out" &&
	before=$(live_id "$DEPLOY/w") &&
	pg -C "$TMP/w.git" rollback staging &&
	test "$(live_id "$DEPLOY/w")" != "$before" &&
	pg -C "$TMP/w.git" unlock staging &&
	test_grep "no longer held" "$TMP/pg.err" &&
	at "2027-02-01 10:10:00" pushgate -C "$TMP/w.git" deploy --pending \
		>"$TMP/pg.out" 2>"$TMP/pg.err" &&
	test_grep "^pushgate: deployed $(short HEAD) to .staging." "$TMP/pg.err" &&
	pg -C "$TMP/w.git" unlock staging &&
	test_grep "was not held" "$TMP/pg.err"
'

test_expect_success 'pushgate windows --at: each window, its next changes, the verdict' '
	pg -C "$TMP/w.git" windows --at 2026-12-24T12:00Z staging &&
	test_grep "^  window freeze (deny): open - holiday freeze" "$TMP/pg.out" &&
	test_grep "^    closes 2027-01-04 08:00 CET (2027-01-04 07:00Z)" "$TMP/pg.out" &&
	test_grep "^  => held by window \"freeze\" until 2027-01-04 08:00 CET" "$TMP/pg.out" &&
	pg -C "$TMP/w.git" windows --at @1800000000 &&
	test_grep "^  => deploys may run" "$TMP/pg.out" &&
	test_expect_code 2 pg -C "$TMP/w.git" windows --at tomorrow &&
	test_grep "^pushgate: error: --at: " "$TMP/pg.err"
'

test_expect_success 'bad windows make hooks.ini invalid, line by line' '
	ini "[window \"bad\"]" "environments = staging nosuch" \
		"start = 0 25 * * *" "timezone = Mars/Olympus" &&
	test_expect_code 2 pg -C "$TMP/w.git" check &&
	test_grep "no environment .nosuch." "$TMP/pg.err" &&
	test_grep "invalid .start." "$TMP/pg.err" &&
	test_grep "invalid .timezone." "$TMP/pg.err" &&
	ini "[window \"both\"]" "environments = staging" \
		"start = 0 17 * * FRI" "end = 0 8 * * MON" "duration = 60" &&
	test_expect_code 2 pg -C "$TMP/w.git" check &&
	test_grep "window .both." "$TMP/pg.err"
'

test_done
