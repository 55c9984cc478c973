#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t0400-tests.sh - the test gate of pre-receive (SPEC sections 3 and 4.1,
# STYLE section 8): build and test run in a fresh checkout of the tips of
# environment branches and test_branches, under test_timeout, with a clean
# environment, and a tree that passed is not tested again.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"

# What the build and test commands write, outside their checkout.
OUT=$TMP/out
mkdir "$OUT"

# gate_config [LINE...]: gate.git's hooks.ini: the LINEs in [verify], plus
# test_branches = feature/*, sandbox_write = $OUT (where the tests' ci.sh
# reports what it saw) and an environment "staging" deploying develop
# (locally, under $TMP: nothing to do with the tests here).
gate_config()
{
	{
		echo "[verify]"
		for gate_config_line_ in "$@"
		do
			echo "$gate_config_line_"
		done
		echo "test_branches = feature/*"
		echo "sandbox_write = $OUT"
		echo "[environment \"staging\"]"
		echo "branch = develop"
		echo "path = $TMP/deploy/staging"
	} | write_hooks_ini gate
}

# ci_commit FILE MESSAGE <script: write FILE from stdin and commit it.
ci_commit()
{
	cat >"$1" &&
	git add -- "$1" &&
	git commit -q -m "$2"
}

# no_checkout_left: nothing is left under gate.git/pushgate/tmp/.
no_checkout_left()
{
	if test -d "$TMP/gate.git/pushgate/tmp"
	then
		ls -A "$TMP/gate.git/pushgate/tmp" >"$TMP/left" &&
		test_grep ! . "$TMP/left"
	fi
}

# count FILE: number of lines in FILE (0 if it does not exist).
count()
{
	if test -f "$1"
	then
		wc -l <"$1" | tr -d " "
	else
		echo 0
	fi
}

# pid_gone PID: no such process (a zombie nobody reaped counts as gone).
pid_gone()
{
	kill -0 "$1" 2>/dev/null || return 0
	pid_gone_state_=$(sed -n "s/^.*) \\(.\\).*/\\1/p" "/proc/$1/stat" \
		2>/dev/null) || return 1
	test "$pid_gone_state_" = Z
}

test_expect_success 'setup: a passing test; main is neither tested nor deployed' '
	setup_repo gate &&
	gate_config "test = sh ./ci.sh" &&
	setup_clone gate &&
	cd gate-work &&
	ci_commit ci.sh "add ci" <<-EOF &&
	echo "ci says hello"
	echo "\$PUSHGATE_REF" >>"$OUT/pass.log"
	EOF
	push origin main &&
	accepted refs/heads/main &&
	test_grep ! "ci says hello" "$TMP/push.err" &&
	! test -e "$OUT/pass.log"
'

test_expect_success 'a passing test accepts the push, its output streamed' '
	cd gate-work &&
	push origin main:develop &&
	accepted refs/heads/develop &&
	test_grep "^remote: pushgate:   | ci says hello" "$TMP/push.err" &&
	test "$(cat "$OUT/pass.log")" = refs/heads/develop &&
	no_checkout_left
'

test_expect_success 'a failing test rejects, its output shown to the pusher' '
	cd gate-work &&
	git checkout -q -b develop origin/develop &&
	before=$(rev_of gate refs/heads/develop) &&
	ci_commit ci.sh "break ci" <<-EOF &&
	echo "FAIL-OUT one"
	echo "FAIL-ERR two" >&2
	pwd >"$OUT/cwd"
	exit 3
	EOF
	test_must_fail push origin develop &&
	rejected refs/heads/develop &&
	test_grep "^remote: pushgate:   | FAIL-OUT one" "$TMP/push.err" &&
	test_grep "^remote: pushgate:   | FAIL-ERR two" "$TMP/push.err" &&
	test "$(rev_of gate refs/heads/develop)" = "$before" &&
	no_checkout_left
'

test_expect_success 'the test ran in a fresh checkout under pushgate/tmp/, since removed' '
	checkout=$(cat "$OUT/cwd") &&
	case "$checkout" in
	"$TMP/gate.git/pushgate/tmp/"?*) ;;
	*) echo "checkout in $checkout" && false ;;
	esac &&
	! test -e "$checkout"
'

test_expect_success 'only environment branches and test_branches are tested' '
	cd gate-work &&
	push origin develop:topic &&
	accepted refs/heads/topic &&
	test_grep ! "FAIL-OUT" "$TMP/push.err" &&
	git tag v-broken &&
	push origin v-broken &&
	accepted refs/tags/v-broken &&
	test_grep ! "FAIL-OUT" "$TMP/push.err" &&
	test_must_fail push origin develop:feature/x &&
	rejected refs/heads/feature/x &&
	test_grep "FAIL-OUT one" "$TMP/push.err" &&
	! rev_of gate refs/heads/feature/x &&
	push origin :topic &&
	no_checkout_left
'

test_expect_success 'build runs before test, in the same checkout' '
	gate_config "build = sh ./build.sh" "test = sh ./ci.sh" &&
	cd gate-work &&
	ci_commit build.sh "add build" <<-EOF &&
	echo "built \$PUSHGATE_COMMIT" >artifact.txt
	echo build >>"$OUT/order"
	EOF
	ci_commit ci.sh "fix ci" <<-EOF &&
	cat artifact.txt
	echo test >>"$OUT/order"
	EOF
	push origin develop &&
	accepted refs/heads/develop &&
	test_grep "^remote: pushgate:   | built $(git rev-parse HEAD)" \
		"$TMP/push.err" &&
	printf "build\ntest\n" >expect &&
	cmp expect "$OUT/order" &&
	no_checkout_left
'

test_expect_success 'a failing build rejects without running test' '
	cd gate-work &&
	before=$(rev_of gate refs/heads/develop) &&
	ci_commit build.sh "break the build" <<-EOF &&
	echo "BUILD-BROKEN"
	exit 2
	EOF
	ci_commit ci.sh "ci that records it ran" <<-EOF &&
	echo ran >"$OUT/test-ran"
	EOF
	test_must_fail push origin develop &&
	rejected refs/heads/develop &&
	test_grep "^remote: pushgate:   | BUILD-BROKEN" "$TMP/push.err" &&
	! test -e "$OUT/test-ran" &&
	test "$(rev_of gate refs/heads/develop)" = "$before" &&
	no_checkout_left &&
	git reset -q --hard origin/develop
'

test_expect_success 'test_timeout kills the test and all its processes' '
	gate_config "test = sh ./ci.sh" "test_timeout = 2" &&
	cd gate-work &&
	before=$(rev_of gate refs/heads/develop) &&
	ci_commit ci.sh "a test that hangs" <<-EOF &&
	echo \$\$ >"$OUT/test.pid"
	(trap "" TERM; exec sleep 600) &
	echo \$! >"$OUT/child.pid"
	echo "HANGING"
	sleep 600
	EOF
	start=$(date +%s) &&
	test_must_fail push origin develop &&
	end=$(date +%s) &&
	echo "push took $((end - start)) s" &&
	test "$((end - start))" -lt 30 &&
	rejected refs/heads/develop &&
	test_grep "timed out" "$TMP/push.err" &&
	test_grep "^remote: pushgate:   | HANGING" "$TMP/push.err" &&
	test "$(rev_of gate refs/heads/develop)" = "$before" &&
	test -s "$OUT/test.pid" &&
	test -s "$OUT/child.pid" &&
	test_wait_for 10 pid_gone "$(cat "$OUT/test.pid")" &&
	test_wait_for 10 pid_gone "$(cat "$OUT/child.pid")" &&
	no_checkout_left &&
	git reset -q --hard origin/develop
'

# A pusher whose git stops reading (kill -STOP, a stuck network) fills the
# pipes between the hook and the client; the output is then dropped and
# counted, never waited for, so test_timeout still ends the test.
# push_bg REF: push REF in the background (its git is $!); the exit status
# lands in $OUT/push_bg.status once it is done.
push_bg()
{
	push_bg_status_=0
	git push origin "$1" >"$TMP/push.out" 2>"$TMP/push.err" ||
		push_bg_status_=$?
	echo "$push_bg_status_" >"$OUT/push_bg.status"
}

test_expect_success 'a client that stops reading does not stop test_timeout; the lines it missed are counted' '
	gate_config "test = sh ./ci.sh" "test_timeout = 4" &&
	cd gate-work &&
	before=$(rev_of gate refs/heads/develop) &&
	rm -f "$OUT/flood.pid" "$OUT/push_bg.status" &&
	ci_commit ci.sh "a test that floods its output" <<-EOF || return 1
	echo \$\$ >"$OUT/flood.pid"
	while :; do echo "FLOOD line of output to fill every pipe on the way"; done
	EOF
	push_bg develop &
	client=$! &&
	test_wait_for 30 test -s "$OUT/flood.pid" &&
	git=$(pgrep -P "$client" -x git) &&
	kill -STOP "$git" &&
	: the test still ends at its deadline while the client is stopped &&
	test_wait_for 30 pid_gone "$(cat "$OUT/flood.pid")" &&
	kill -CONT "$git" &&
	test_wait_for 60 test -s "$OUT/push_bg.status" &&
	test "$(cat "$OUT/push_bg.status")" != 0 &&
	test_grep "tests timed out after 4 s" "$TMP/push.err" &&
	test_grep "^remote: pushgate: ([0-9]* lines not shown: the client was not reading)" \
		"$TMP/push.err" &&
	test "$(rev_of gate refs/heads/develop)" = "$before" &&
	no_checkout_left &&
	git reset -q --hard origin/develop
'

test_expect_success 'a test that passes is cached: the same tree is not tested again' '
	gate_config "test = sh ./ci.sh" &&
	cd gate-work &&
	ci_commit ci.sh "counting ci" <<-EOF &&
	echo run >>"$OUT/count"
	EOF
	push origin develop &&
	accepted refs/heads/develop &&
	test "$(count "$OUT/count")" -eq 1 &&
	git commit -q --allow-empty -m "same tree, new commit" &&
	push origin develop &&
	accepted refs/heads/develop &&
	test_grep "cached" "$TMP/push.err" &&
	test "$(count "$OUT/count")" -eq 1 &&
	push origin develop:feature/same &&
	accepted refs/heads/feature/same &&
	test_grep "cached" "$TMP/push.err" &&
	test "$(count "$OUT/count")" -eq 1 &&
	no_checkout_left
'

test_expect_success 'two tips with the same tree in one push: tested once' '
	cd gate-work &&
	echo "# a new tree" >>ci.sh &&
	git commit -q -a -m "new tree" &&
	git branch feature/twin &&
	push origin develop feature/twin &&
	accepted refs/heads/develop &&
	accepted refs/heads/feature/twin &&
	test "$(count "$OUT/count")" -eq 2
'

test_expect_success 'a changed test or build command invalidates the cache' '
	cd gate-work &&
	gate_config "test = sh ./ci.sh changed" &&
	git commit -q --allow-empty -m "same tree, other command" &&
	push origin develop &&
	accepted refs/heads/develop &&
	test_grep ! "cached" "$TMP/push.err" &&
	test "$(count "$OUT/count")" -eq 3 &&
	gate_config "build = true" "test = sh ./ci.sh changed" &&
	git commit -q --allow-empty -m "same tree, a build command" &&
	push origin develop &&
	test "$(count "$OUT/count")" -eq 4 &&
	gate_config "test = sh ./ci.sh" &&
	git commit -q --allow-empty -m "back to the first command" &&
	push origin develop &&
	test_grep "cached" "$TMP/push.err" &&
	test "$(count "$OUT/count")" -eq 4
'

test_expect_success 'a failure is not cached' '
	cd gate-work &&
	before=$(rev_of gate refs/heads/develop) &&
	ci_commit ci.sh "failing, counting ci" <<-EOF &&
	echo fail >>"$OUT/fails"
	exit 1
	EOF
	test_must_fail push origin develop &&
	test_must_fail push origin develop &&
	test_grep ! "cached" "$TMP/push.err" &&
	test "$(count "$OUT/fails")" -eq 2 &&
	test "$(rev_of gate refs/heads/develop)" = "$before" &&
	git reset -q --hard origin/develop
'

test_expect_success 'the test environment: PUSHGATE_*, and nothing of git, ssh or the pusher' '
	cd gate-work &&
	ci_commit ci.sh "ci that shows its environment" <<-EOF &&
	env >"$OUT/env.txt"
	EOF
	(
		SSH_AUTH_SOCK=$TMP/agent.sock &&
		AWS_SECRET_ACCESS_KEY=hunter2 &&
		PUSHGATE_USER=alice &&
		export SSH_AUTH_SOCK AWS_SECRET_ACCESS_KEY PUSHGATE_USER &&
		push origin develop
	) &&
	accepted refs/heads/develop &&
	cat "$OUT/env.txt" &&
	test_grep "^PUSHGATE_COMMIT=$(git rev-parse HEAD)\$" "$OUT/env.txt" &&
	test_grep "^PUSHGATE_REF=refs/heads/develop\$" "$OUT/env.txt" &&
	test_grep "^PUSHGATE_ENV=staging\$" "$OUT/env.txt" &&
	test_grep "^PATH=" "$OUT/env.txt" &&
	test_grep ! "^GIT_DIR=" "$OUT/env.txt" &&
	test_grep ! "^GIT_QUARANTINE_PATH=" "$OUT/env.txt" &&
	test_grep "^GIT_CEILING_DIRECTORIES=" "$OUT/env.txt" &&
	{ grep "^GIT_" "$OUT/env.txt" || :; } |
		{ grep -v "^GIT_CEILING_DIRECTORIES=" || :; } >git-vars &&
	test ! -s git-vars &&
	test_grep ! "^SSH_AUTH_SOCK=" "$OUT/env.txt" &&
	test_grep ! "hunter2" "$OUT/env.txt"
'

test_expect_success 'the test environment of a test_branches tip' '
	cd gate-work &&
	git commit -q --allow-empty -m "same tree" &&
	git checkout -q -b feature/env &&
	echo "another tree" >other.txt &&
	git add other.txt &&
	git commit -q -m "feature work" &&
	push origin feature/env &&
	accepted refs/heads/feature/env &&
	test_grep "^PUSHGATE_COMMIT=$(git rev-parse HEAD)\$" "$OUT/env.txt" &&
	test_grep "^PUSHGATE_REF=refs/heads/feature/env\$" "$OUT/env.txt" &&
	git checkout -q develop
'

test_expect_success 'a test may run git itself (init and commit in a temp dir)' '
	cd gate-work &&
	ci_commit ci.sh "ci that uses git" <<-\EOF &&
	set -e
	d=$(mktemp -d)
	cd "$d"
	git init -q
	echo data >file
	git add file
	git -c user.name=ci -c user.email=ci@example.com commit -q -m "in ci"
	git log --format="GIT-IN-CI %s"
	cd /
	rm -rf "$d"
	EOF
	push origin develop &&
	accepted refs/heads/develop &&
	test_grep "^remote: pushgate:   | GIT-IN-CI in ci" "$TMP/push.err" &&
	no_checkout_left
'

test_expect_success 'a deleted branch is not tested' '
	cd gate-work &&
	push origin :feature/env &&
	accepted refs/heads/feature/env &&
	test_grep ! "running" "$TMP/push.err"
'

test_expect_success 'a test that exits leaving a process behind: push returns, process killed' '
	gate_config "test = sh ./ci.sh" "test_timeout = 60" &&
	cd gate-work &&
	ci_commit ci.sh "ci that leaves a process behind" <<-EOF &&
	(trap "" TERM; exec sleep 600) &
	echo \$! >"$OUT/straggler.pid"
	echo "LEFT-BEHIND"
	EOF
	start=$(date +%s) &&
	status=0 &&
	{ push origin develop || status=$?; } &&
	end=$(date +%s) &&
	echo "push took $((end - start)) s, exit $status" &&
	test "$((end - start))" -lt 30 &&
	test_grep "^remote: pushgate:   | LEFT-BEHIND" "$TMP/push.err" &&
	test_wait_for 10 pid_gone "$(cat "$OUT/straggler.pid")" &&
	no_checkout_left
'

# A build that runs git in its checkout (husky, `git describe`, version
# stamps) must not find the server repository around it: the checkout is
# under gate.git/pushgate/tmp/, and git looks upwards for a repository.
test_expect_success 'git in a test does not reach the server repository' '
	gate_config "test = sh ./ci.sh" &&
	cd gate-work &&
	ci_commit ci.sh "ci that runs git in its checkout" <<-EOF &&
	git rev-parse --absolute-git-dir >"$OUT/gitdir" 2>&1 ||
		echo "no repository" >>"$OUT/gitdir"
	git config core.hooksPath .husky >/dev/null 2>&1 || :
	exit 0
	EOF
	push origin develop &&
	{
		hooks_path=$(git config --file "$TMP/gate.git/config" \
			core.hooksPath) || hooks_path=
	} &&
	echo "core.hooksPath in gate.git/config: $hooks_path" &&
	{ git config --file "$TMP/gate.git/config" --unset-all \
		core.hooksPath || :; } &&
	cat "$OUT/gitdir" &&
	test_grep ! "gate.git" "$OUT/gitdir" &&
	test -z "$hooks_path"
'

test_expect_success 'a checkout left by a killed run is removed by the next one' '
	tmpdir=$TMP/gate.git/pushgate/tmp &&
	mkdir -p "$tmpdir/checkout-killed/src" "$tmpdir/checkout-running" &&
	: >"$tmpdir/checkout-killed/src/file" &&
	touch -d "2 days ago" "$tmpdir/checkout-killed" &&
	gate_config "test = true" &&
	cd gate-work &&
	commit_file swept.txt x "sweep" &&
	push origin develop &&
	test ! -e "$tmpdir/checkout-killed" &&
	test -d "$tmpdir/checkout-running" &&
	rmdir "$tmpdir/checkout-running"
'

test_done
