#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t2200-sandbox.sh - the sandbox build and test run in ([verify] sandbox,
# sandbox_hide, sandbox_write): pushed code that tries to read the deploy
# key, the known_hosts file, ~/.ssh and hooks.ini, to write hooks.ini, a
# ref or pushgate/, to connect to a deploy host's SSH port or signal the
# hook, and fails at every one; the push is judged on its tests only. The
# deploy-time build runs in the same sandbox. Where the kernel offers no
# Landlock (tests/tools/nolandlock fakes that with a seccomp filter),
# `auto` warns and `required` rejects.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

PUSHGATE_USER=tester
export PUSHGATE_USER

SSHD_SH=$PUSHGATE_SRCDIR/tests/sshd.sh
NOLANDLOCK=$PUSHGATE_BUILD/tests/nolandlock
OUT=$TMP/out
REPO=$TMP/box.git
mkdir "$OUT" "$TMP/deploy"
SSHD_KEY='' SSHD_USER='' SSHD_PORT1='' SSHD_KNOWN_HOSTS=''

# box_config [LINE...]: box.git's hooks.ini: the LINEs in [verify], the
# tests of feature/* branches, and an environment deploying main over SSH
# to the test server (whose key, port and known_hosts the sandbox hides).
box_config()
{
	{
		echo "[verify]"
		for box_config_line_ in "$@"
		do
			printf '%s\n' "$box_config_line_"
		done
		echo "test_branches = feature/*"
		echo "[environment \"staging\"]"
		echo "branch = main"
		echo "hosts = $SSHD_USER@127.0.0.1:$SSHD_PORT1"
		echo "path = $TMP/deploy/box"
		echo "identity = $SSHD_KEY"
		echo "known_hosts = $SSHD_KNOWN_HOSTS"
	} | write_hooks_ini box
}

# attacks: ci.sh, which tries everything and reports each attempt as
# "NAME: WORKED" or "NAME: blocked" on its output and in $OUT/report,
# then exits 0 (so that only its tests could reject the push).
attacks()
{
	cat <<-EOF
	#!/bin/sh
	report=$OUT/report
	: >"\$report"
	try() {
		name=\$1
		shift
		if "\$@" >"\$TMPDIR/try.out" 2>&1
		then
			echo "\$name: WORKED" | tee -a "\$report"
			cat "\$TMPDIR/try.out"
		else
			echo "\$name: blocked" | tee -a "\$report"
		fi
	}
	hook=\$(cut -d" " -f4 "/proc/\$PPID/stat")
	try read-identity cat "$SSHD_KEY"
	try read-known-hosts cat "$SSHD_KNOWN_HOSTS"
	try read-home-ssh cat "$TMP/.ssh/id_secret"
	try read-hooks-ini cat "$REPO/hooks.ini"
	try list-repo ls "$REPO"
	try write-hooks-ini sh -c "echo '[verify]' >>'$REPO/hooks.ini'"
	try write-ref git --git-dir="$REPO" update-ref refs/heads/evil HEAD
	try write-ref-file sh -c "git rev-parse HEAD >'$REPO/refs/heads/evil2'"
	try write-pushgate sh -c ": >'$REPO/pushgate/planted'"
	try write-cache mkdir "$REPO/pushgate/cache/planted"
	try write-tmp sh -c ": >/tmp/pushgate-sandbox-planted.\$\$"
	try connect-deploy-host bash -c "exec 3<>/dev/tcp/127.0.0.1/$SSHD_PORT1"
	try signal-hook kill -0 "\$hook"
	try write-checkout sh -c ": >built-here"
	try write-tmpdir sh -c ": >\"\$TMPDIR/scratch\""
	try write-home sh -c ": >\"\$HOME/.cache-entry\""
	try write-sandbox-write sh -c ": >'$OUT/allowed'"
	try write-dev-null sh -c "echo x >/dev/null"
	exit 0
	EOF
}

# blocked NAME...: the last push's tests said each NAME was blocked.
blocked()
{
	for blocked_ in "$@"
	do
		test_grep "^remote: pushgate:   | $blocked_: blocked" \
			"$TMP/push.err" || return 1
	done
}

# worked NAME...: the last push's tests said each NAME worked.
worked()
{
	for worked_ in "$@"
	do
		test_grep "^remote: pushgate:   | $worked_: WORKED" \
			"$TMP/push.err" || return 1
	done
}

test_expect_success 'setup: a deploy host, its key, a repository' '
	test_atexit "sh \"$SSHD_SH\" stop \"$TMP/sshd\"" &&
	sh "$SSHD_SH" start "$TMP/sshd" 1 &&
	. "$TMP/sshd/env" &&
	test -n "$SSHD_PORT1" &&
	test_grep "PRIVATE KEY" "$SSHD_KEY" &&
	mkdir -m 700 "$TMP/.ssh" &&
	echo "-----BEGIN HOME SECRET-----" >"$TMP/.ssh/id_secret" &&
	setup_repo box </dev/null &&
	setup_clone box &&
	cd box-work &&
	commit_file README "box" "initial" &&
	git push -q origin HEAD:main &&
	box_config "test = sh ./ci.sh" "sandbox_write = $OUT"
'

test_expect_success 'a test that tries to take the keys and the repository fails at each step; the push passes on its exit' '
	cp "$REPO/hooks.ini" "$TMP/hooks.before" &&
	cd box-work &&
	git checkout -q -b feature/evil &&
	attacks >ci.sh &&
	git add ci.sh &&
	git commit -q -m "an innocent test" &&
	push origin feature/evil &&
	accepted refs/heads/feature/evil &&
	blocked read-identity read-known-hosts read-home-ssh read-hooks-ini \
		list-repo write-hooks-ini write-ref write-ref-file \
		write-pushgate write-cache write-tmp connect-deploy-host \
		signal-hook &&
	worked write-checkout write-tmpdir write-home write-sandbox-write \
		write-dev-null &&
	test "$(grep -c ": blocked" "$OUT/report")" = 13 &&
	test "$(grep -c ": WORKED" "$OUT/report")" = 5 &&
	test_grep ! "PRIVATE KEY\|HOME SECRET\|^remote: .*identity = " \
		"$TMP/push.err" &&
	cmp "$TMP/hooks.before" "$REPO/hooks.ini" &&
	no_ref box refs/heads/evil &&
	no_ref box refs/heads/evil2 &&
	test ! -e "$REPO/pushgate/planted" &&
	test ! -e "$REPO/pushgate/cache/planted" &&
	test -z "$(find /tmp -maxdepth 1 -name "pushgate-sandbox-planted.*")" &&
	test -e "$OUT/allowed" &&
	: the private HOME and TMPDIR are gone with the checkout &&
	test -z "$(ls -A "$REPO/pushgate/tmp")"
'

test_expect_success 'in the sandbox, a failing test still rejects the push' '
	cd box-work &&
	printf "%s\n" "cat \"$SSHD_KEY\" || exit 7" >ci.sh &&
	git commit -q -am "a test that needs the key" &&
	test_must_fail push origin feature/evil &&
	rejected refs/heads/feature/evil &&
	test_grep "^remote: pushgate: test failed (exit 7)" "$TMP/push.err" &&
	test_grep ! "PRIVATE KEY" "$TMP/push.err"
'

test_expect_success 'sandbox = off: the same test reads what the sandbox hides' '
	box_config "test = sh ./ci.sh" "sandbox = off" &&
	cd box-work &&
	printf "%s\n" "cat \"$REPO/hooks.ini\" >/dev/null && echo hooks.ini: read" >ci.sh &&
	git commit -q -am "read hooks.ini" &&
	push origin feature/evil &&
	accepted refs/heads/feature/evil &&
	test_grep "^remote: pushgate:   | hooks.ini: read" "$TMP/push.err"
'

test_expect_success 'no Landlock, sandbox = auto: a warning, and the tests run' '
	box_config "test = sh ./ci.sh" &&
	cd box-work &&
	printf "%s\n" "echo tests ran" >ci.sh &&
	git commit -q -am "no landlock" &&
	push_status=0 &&
	"$NOLANDLOCK" git push origin feature/evil >"$TMP/push.out" \
		2>"$TMP/push.err" || push_status=$? &&
	cat "$TMP/push.err" &&
	test "$push_status" = 0 &&
	accepted refs/heads/feature/evil &&
	test_grep "^remote: pushgate: warning: build and test run WITHOUT a sandbox: this kernel does not offer Landlock" \
		"$TMP/push.err" &&
	test_grep "^remote: pushgate:   | tests ran" "$TMP/push.err"
'

test_expect_success 'no Landlock, sandbox = required: the push is rejected, nothing runs' '
	box_config "test = sh ./ci.sh" "sandbox = required" &&
	cd box-work &&
	printf "%s\n" "echo tests ran again" >ci.sh &&
	git commit -q -am "required" &&
	push_status=0 &&
	"$NOLANDLOCK" git push origin feature/evil >"$TMP/push.out" \
		2>"$TMP/push.err" || push_status=$? &&
	cat "$TMP/push.err" &&
	test "$push_status" != 0 &&
	rejected refs/heads/feature/evil &&
	test_grep "sandbox = required, but this kernel does not offer Landlock" \
		"$TMP/push.err" &&
	test_grep ! "tests ran" "$TMP/push.err" &&
	: with Landlock, required runs them &&
	push origin feature/evil &&
	accepted refs/heads/feature/evil &&
	test_grep "^remote: pushgate:   | tests ran" "$TMP/push.err"
'

test_expect_success 'sandbox_write inside the repository is refused' '
	box_config "test = sh ./ci.sh" "sandbox_write = $REPO/pushgate" &&
	cd box-work &&
	echo "# again" >>ci.sh &&
	git commit -q -am "write the repository" &&
	test_must_fail push origin feature/evil &&
	test_grep "sandbox_write: .$REPO/pushgate. is inside the repository" \
		"$TMP/push.err" &&
	box_config "test = sh ./ci.sh" "sandbox_write = $TMP" &&
	test_must_fail push origin feature/evil &&
	test_grep "sandbox_write: .$TMP. holds the repository" "$TMP/push.err"
'

test_expect_success 'sandbox_hide hides more' '
	mkdir "$TMP/other.git" &&
	echo "other secret" >"$TMP/other.git/hooks.ini" &&
	box_config "test = sh ./ci.sh" "sandbox_hide = $TMP/other.git" &&
	cd box-work &&
	printf "%s\n" "cat \"$TMP/other.git/hooks.ini\" || echo other: blocked" >ci.sh &&
	git commit -q -am "read another repository" &&
	push origin feature/evil &&
	accepted refs/heads/feature/evil &&
	test_grep "^remote: pushgate:   | other: blocked" "$TMP/push.err" &&
	test_grep ! "other secret" "$TMP/push.err"
'

test_expect_success 'the build a deploy runs (no kept artifact) is sandboxed too' '
	{
		echo "[verify]"
		echo "build = mkdir -p dist && { cat \"$REPO/hooks.ini\" >/dev/null 2>&1 && echo open || echo sealed; } >dist/verdict"
		echo "[environment \"staging\"]"
		echo "branch = main"
		echo "path = $TMP/deploy/local-staging"
		echo "artifact = dist"
		echo "[environment \"production\"]"
		echo "branch = prod"
		echo "mode = manual"
		echo "path = $TMP/deploy/local-production"
		echo "artifact = dist"
	} | write_hooks_ini box &&
	cd box-work &&
	git checkout -q main &&
	commit_file app "v1" "v1" &&
	push origin main &&
	deployed staging HEAD &&
	test "$(cat "$TMP/deploy/local-staging/current/verdict")" = sealed &&
	rm -rf "$REPO/pushgate/artifacts" &&
	pg -C "$REPO" deploy production main &&
	test_grep "building .* no kept artifact" "$TMP/pg.err" &&
	test "$(cat "$TMP/deploy/local-production/current/verdict")" = sealed
'

test_done
