#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t1810-terminal.sh - a terminal that helps: outcome lines coloured only
# on a terminal (script(1) gives the CLI one) and never with NO_COLOR,
# and never in the deploy log; upload progress for a transfer longer
# than two seconds, in the push output (an OpenSSH server on 127.0.0.1,
# tests/sshd.sh, whose ForceCommand holds `tar` back for three seconds);
# "did you mean" for unknown environments and commands; `pushgate help`.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

command -v script >/dev/null 2>&1 ||
	test_bug_ "script(1) is not installed (bsdutils)"

PUSHGATE_USER=tester
export PUSHGATE_USER
SSHD_SH=$PUSHGATE_SRCDIR/tests/sshd.sh
DEPLOY=$TMP/deploy
mkdir "$DEPLOY"
ESC=$(printf '\033')
SSHD_KEY='' SSHD_USER='' SSHD_PORT1='' SSHD_KNOWN_HOSTS=''

# on_tty COMMAND...: COMMAND with a terminal for its output (script),
# what it printed in $TMP/tty.out
on_tty()
{
	on_tty_cmd_=
	for on_tty_arg_ in "$@"
	do
		on_tty_q_=$(printf '%s\n' "$on_tty_arg_" | sed "s/'/'\\\\''/g")
		on_tty_cmd_="$on_tty_cmd_ '$on_tty_q_'"
	done
	script -qec "$on_tty_cmd_" /dev/null >"$TMP/tty.out" 2>&1
}

test_expect_success 'setup: a local environment' '
	setup_repo t </dev/null &&
	printf "[environment \"staging\"]\nbranch = main\nhosts = local\npath = %s\n" \
		"$DEPLOY/t" | write_hooks_ini t &&
	setup_clone t &&
	cd t-work &&
	commit_file index.html one "first" &&
	push origin main &&
	deployed staging HEAD
'

test_expect_success 'on a terminal the outcome is coloured; NO_COLOR and pipes are plain' '
	on_tty env -u NO_COLOR TERM=xterm pushgate -C "$TMP/t.git" deploy --force staging &&
	test_grep "${ESC}\[1;32mdeployed " "$TMP/tty.out" &&
	on_tty env NO_COLOR=1 TERM=xterm pushgate -C "$TMP/t.git" deploy --force staging &&
	test_grep "deployed " "$TMP/tty.out" &&
	test_grep ! "$ESC" "$TMP/tty.out" &&
	env -u NO_COLOR TERM=xterm pushgate -C "$TMP/t.git" deploy --force staging \
		2>"$TMP/pipe.err" &&
	test_grep "deployed " "$TMP/pipe.err" &&
	test_grep ! "$ESC" "$TMP/pipe.err" &&
	pg -C "$TMP/t.git" log staging &&
	test_grep ! "$ESC" "$TMP/pg.out"
'

test_expect_success 'a failure is red on a terminal' '
	printf "[environment \"staging\"]\nbranch = main\nhosts = local\npath = %s\nbefore = exit 3\n" \
		"$DEPLOY/t" | write_hooks_ini t &&
	! on_tty env -u NO_COLOR TERM=xterm pushgate -C "$TMP/t.git" deploy --force staging &&
	test_grep "${ESC}\[1;31mFAILED to deploy " "$TMP/tty.out"
'

test_expect_success 'did you mean: environments and commands' '
	test_expect_code 2 pg -C "$TMP/t.git" deploy stagng &&
	test_grep "no environment .stagng. in hooks.ini: did you mean staging" "$TMP/pg.err" &&
	test_expect_code 2 pg -C "$TMP/t.git" statsu &&
	test_grep "unknown command .statsu. (did you mean status?" "$TMP/pg.err" &&
	test_expect_code 2 pg -C "$TMP/t.git" deploy zzzzzzzz &&
	test_grep ! "did you mean" "$TMP/pg.err"
'

test_expect_success 'pushgate help VERB is pushgate VERB --help' '
	pg help deploy &&
	cp "$TMP/pg.out" help.out &&
	pg deploy --help &&
	test_cmp help.out "$TMP/pg.out" &&
	pg help &&
	test_grep "^usage: pushgate \[-C DIR\] COMMAND" "$TMP/pg.out" &&
	test_expect_code 2 pg help frobnicate
'

# unchanged REPO DEPLOYDIR: what a dry run must leave as it found it
state_of()
{
	{
		ls "$2/releases"
		readlink "$2/current"
		cat "$TMP/$1.git/pushgate/history"
		git -C "$TMP/$1.git" for-each-ref
		ls "$TMP/$1.git/pushgate/logs/staging"
		ls "$TMP/$1.git/pushgate/tmp"
	} 2>&1
}

test_expect_success 'deploy --dry-run: the plan, every command, and nothing changed' '
	printf "[environment \"staging\"]\nbranch = main\nhosts = local\npath = %s\nbefore = echo before-ran >>%s\nshared = logs/\n" \
		"$DEPLOY/t" "$TMP/before.log" | write_hooks_ini t &&
	cd t-work &&
	commit_file index.html two "second" &&
	git push -q origin HEAD:refs/heads/next 2>/dev/null &&
	state_of t "$DEPLOY/t" >before.state &&
	pg -C "$TMP/t.git" deploy --dry-run staging next &&
	test_grep "^dry run: nothing is changed" "$TMP/pg.out" &&
	test_grep "^deploy $(short HEAD) second to .staging." "$TMP/pg.out" &&
	test_grep "^release:  [0-9]\{8\}T[0-9]\{6\}Z-$(short HEAD) " "$TMP/pg.out" &&
	test_grep "^upload:   1 changed entry to send, 0 paths to remove, " "$TMP/pg.out" &&
	test_grep "^\[local\] before: .*echo before-ran" "$TMP/pg.out" &&
	test_grep "^\[local\] switch: ln -sfn -- .releases/" "$TMP/pg.out" &&
	test_grep "^\[local\] link shared: " "$TMP/pg.out" &&
	test ! -e "$TMP/before.log" &&
	state_of t "$DEPLOY/t" >after.state &&
	test_cmp before.state after.state &&
	pg -C "$TMP/t.git" status staging &&
	test_grep ! "now:" "$TMP/pg.out" &&
	pg -C "$TMP/t.git" deploy staging next &&
	test -f "$TMP/before.log"
'

test_expect_success 'rollback --dry-run: the release it would make live, nothing changed' '
	state_of t "$DEPLOY/t" >before.state &&
	pg -C "$TMP/t.git" rollback --dry-run staging &&
	test_grep "^roll back to " "$TMP/pg.out" &&
	test_grep "^windows:  rollbacks are never held" "$TMP/pg.out" &&
	test_grep "^\[local\] check release: " "$TMP/pg.out" &&
	state_of t "$DEPLOY/t" >after.state &&
	test_cmp before.state after.state
'

test_expect_success 'setup: an SSH host whose tar starts three seconds late' '
	mkdir "$TMP/slow-bin" &&
	cat >"$TMP/slow-bin/tar" <<-\EOF &&
	#!/bin/sh
	# the upload (tar --extract, through the persistent shell) waits:
	# the sender sees a transfer of more than two seconds
	case " $* " in
	*" --extract "*) sleep 3 ;;
	esac
	exec "$REAL_TAR" "$@"
	EOF
	sed -i "2i REAL_TAR='"'"'$(command -v tar)'"'"'" "$TMP/slow-bin/tar" &&
	chmod +x "$TMP/slow-bin/tar" &&
	cat >"$TMP/slow-tar.sh" <<-\EOF &&
	#!/bin/sh
	PATH=$PUSHGATE_TEST_DIR/slow-bin:$PATH
	# a host whose tar is not GNU tar, or fails, while the test asks
	for what in bsdtar badtar busydd
	do
		if test -f "$PUSHGATE_TEST_DIR/$what-on"
		then
			PATH=$PUSHGATE_TEST_DIR/$what-bin:$PATH
			export PATH
		fi
	done
	exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"
	EOF
	sed -i "2i PUSHGATE_TEST_DIR='"'"'$TMP'"'"'" "$TMP/slow-tar.sh" &&
	chmod +x "$TMP/slow-tar.sh" &&
	SSHD_FORCE_COMMAND=$TMP/slow-tar.sh sh "$SSHD_SH" start "$TMP/sshd" 1 &&
	test_atexit "sh \"$SSHD_SH\" stop \"$TMP/sshd\"" &&
	. "$TMP/sshd/env" &&
	setup_repo p </dev/null &&
	{
		printf "[environment \"staging\"]\nbranch = main\n"
		printf "hosts = %s@127.0.0.1:%s\npath = %s\n" "$SSHD_USER" "$SSHD_PORT1" "$DEPLOY/p"
		printf "identity = %s\nknown_hosts = %s\n" "$SSHD_KEY" "$SSHD_KNOWN_HOSTS"
	} | write_hooks_ini p &&
	setup_clone p
'

test_expect_success 'a transfer longer than two seconds shows its progress in the push' '
	cd p-work &&
	head -c 8000000 /dev/urandom >big.bin &&
	git add big.bin &&
	git commit -q -m "eight megabytes" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "^remote: pushgate: \[$SSHD_USER@127.0.0.1:$SSHD_PORT1\] uploading: [0-9.]* MB sent, [0-9.]* MB/s" \
		"$TMP/push.err"
'

test_expect_success 'pushgate check: a tar that is not GNU tar is named' '
	mkdir -p "$TMP/bsdtar-bin" &&
	printf "#!/bin/sh\necho \"bsdtar 3.6.2 - libarchive 3.6.2\"\n" \
		>"$TMP/bsdtar-bin/tar" &&
	chmod +x "$TMP/bsdtar-bin/tar" &&
	: >"$TMP/bsdtar-on" &&
	test_expect_code 1 pg -C "$TMP/p.git" check &&
	test_grep "tar is not GNU tar" "$TMP/pg.out" &&
	rm -f "$TMP/bsdtar-on" &&
	pg -C "$TMP/p.git" check
'

test_expect_success 'pushgate check: a dd without iflag=count_bytes is named' '
	mkdir -p "$TMP/busydd-bin" &&
	printf "#!/bin/sh\necho \"dd: invalid input flag\" >&2\nexit 1\n" \
		>"$TMP/busydd-bin/dd" &&
	chmod +x "$TMP/busydd-bin/dd" &&
	: >"$TMP/busydd-on" &&
	test_expect_code 1 pg -C "$TMP/p.git" check &&
	test_grep "dd is not GNU dd" "$TMP/pg.out" &&
	rm -f "$TMP/busydd-on" &&
	pg -C "$TMP/p.git" check
'

test_expect_success 'a tar that fails on the host: its own words name the failure' '
	mkdir -p "$TMP/badtar-bin" &&
	printf "#!/bin/sh\necho \"tar: simulated write error\" >&2\nexit 2\n" \
		>"$TMP/badtar-bin/tar" &&
	chmod +x "$TMP/badtar-bin/tar" &&
	: >"$TMP/badtar-on" &&
	cd p-work &&
	test_expect_code 1 pg -C "$TMP/p.git" deploy --full --force staging &&
	rm -f "$TMP/badtar-on" &&
	test_grep "FAILED to deploy .*tar: simulated write error" "$TMP/pg.err" &&
	test_grep ! "FAILED to deploy .*pushgate-current=" "$TMP/pg.err"
'

test_done
