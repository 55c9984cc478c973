#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t2700-session.sh - one remote shell per SSH host (ssh_shell_start):
# the commands of a deploy go through one persistent login shell instead
# of one exec channel each, with real pushes to a real OpenSSH server on
# 127.0.0.1 (tests/sshd.sh).
#
# The server runs every session through a forced command ($TMP/login.sh)
# that logs what the session is (an upload, the persistent shell, or a
# command over an exec channel of its own) into $TMP/sessions, greets
# like a chatty .bashrc on stdout and stderr, and can play a login shell
# that cannot run the shell's driver ($TMP/no-shell) or whose start-up
# reads its stdin ($TMP/slurp). Its PATH starts with $TMP/fakebin,
# whose timeout(1) ignores the limit of a hook while $TMP/stuck exists
# (a command stuck past its own timeout).
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

PUSHGATE_USER=tester
export PUSHGATE_USER

SSHD_SH=$PUSHGATE_SRCDIR/tests/sshd.sh
DEPLOY=$TMP/deploy
SESSIONS=$TMP/sessions
mkdir "$DEPLOY" "$TMP/fakebin"
# Set by the test that starts the server.
H1='' SSHD_KEY='' SSHD_KNOWN_HOSTS='' SSHD_USER='' SSHD_PORT1=''

# env_ini REPO [LINE...]: $TMP/REPO.git's hooks.ini: environment
# "staging" deploying main to $DEPLOY/REPO on the server, plus LINEs.
env_ini()
{
	env_ini_repo_=$1
	shift
	{
		printf '[environment "staging"]\nbranch = main\n'
		printf 'hosts = %s\npath = %s\n' "$H1" "$DEPLOY/$env_ini_repo_"
		printf 'identity = %s\nknown_hosts = %s\n' "$SSHD_KEY" \
			"$SSHD_KNOWN_HOSTS"
		printf 'connect_timeout = 5\n'
		for env_ini_line_ in "$@"
		do
			printf '%s\n' "$env_ini_line_"
		done
	} | write_hooks_ini "$env_ini_repo_"
}

# new_repo REPO [LINE...]: a bare repository and its clone, deploying
# as env_ini says.
new_repo()
{
	new_repo_name_=$1
	shift
	setup_repo "$new_repo_name_" </dev/null &&
	env_ini "$new_repo_name_" "$@" &&
	setup_clone "$new_repo_name_"
}

# sessions: the kinds of the SSH sessions since the last `: >$SESSIONS`,
# one a line, in order.
sessions()
{
	cat "$SESSIONS"
}

# nr_sessions [KIND]: how many sessions (of KIND) were logged.
nr_sessions()
{
	if test "$#" -eq 0
	then
		wc -l <"$SESSIONS" | tr -d ' '
	else
		grep -c "^$1\$" "$SESSIONS" || :
	fi
}

# line_of PATTERN: the number of the first line of $TMP/push.err that
# matches PATTERN (grep -E), or nothing.
line_of()
{
	grep -n -E -- "$1" "$TMP/push.err" | head -n 1 | cut -d: -f1
}

test_expect_success 'start an OpenSSH server that logs its sessions' '
	real_timeout=$(command -v timeout) &&
	test -n "$real_timeout" &&
	cat >"$TMP/login.sh" <<-EOF &&
	#!/bin/sh
	# What this session is: the persistent shell runs its driver (which
	# reads requests into pg_l), an upload runs tar --extract, the rest
	# is one command over an exec channel of its own.
	case \$SSH_ORIGINAL_COMMAND in
	*"tar --extract"*) kind=upload ;;
	*"read -r pg_l"*) kind=shell ;;
	*) kind=exec ;;
	esac
	echo "\$kind" >>"$SESSIONS"
	if test "\$kind" = shell
	then
		echo "\$\$" >"$TMP/shell.pid"
		# a login shell that cannot run the driver
		test ! -e "$TMP/no-shell" || exit 1
		# start-up files that read stdin (until it ends)
		test ! -e "$TMP/slurp" || cat >/dev/null
	fi
	PATH=$TMP/fakebin:\$PATH
	export PATH
	echo "welcome to the test host"
	echo "a note from .bashrc" >&2
	exec /bin/sh -c "\$SSH_ORIGINAL_COMMAND"
	EOF
	chmod 755 "$TMP/login.sh" &&
	cat >"$TMP/fakebin/timeout" <<-EOF &&
	#!/bin/sh
	# While $TMP/stuck exists, a hook (command_timeout = 3: "-k 5 3 ...")
	# ignores its limit and sleeps, noting its pid.
	if test -e "$TMP/stuck" && test "\$3" = 3
	then
		echo "\$\$" >"$TMP/stuck.pid"
		exec sleep 30
	fi
	exec "$real_timeout" "\$@"
	EOF
	chmod 755 "$TMP/fakebin/timeout" &&
	test_atexit "sh \"$SSHD_SH\" stop \"$TMP/sshd\"" &&
	SSHD_FORCE_COMMAND=$TMP/login.sh sh "$SSHD_SH" start "$TMP/sshd" 1 &&
	. "$TMP/sshd/env" &&
	H1=$SSHD_USER@127.0.0.1:$SSHD_PORT1
'

test_expect_success 'a first deploy with maintenance and hooks: one login shell, the upload too' '
	new_repo one "maintenance = true" \
		"before = echo before ran in \$(pwd)" \
		"after = echo after ran" \
		"healthcheck = test -f index.html" &&
	cd one-work &&
	: a release of several chunks, as the export runs ahead &&
	head -c 6000000 /dev/urandom >big.bin &&
	git add big.bin &&
	commit_file index.html "<h1>one</h1>" "first" &&
	: >"$SESSIONS" &&
	push origin main &&
	deployed staging HEAD &&
	id=$(live_id "$DEPLOY/one") &&
	check_release "$DEPLOY/one" "$id" HEAD &&
	cmp big.bin "$DEPLOY/one/current/big.bin" &&
	test ! -e "$DEPLOY/one/maintenance" &&
	test_grep "before ran in $DEPLOY/one/releases/$id" "$TMP/push.err" &&
	test_grep "after ran" "$TMP/push.err" &&
	test_grep "\[$H1\] healthcheck ok" "$TMP/push.err" &&
	: the greeting of the login shell is no command output &&
	test_grep ! "welcome to the test host" "$TMP/push.err" &&
	test_grep ! "a note from .bashrc" "$TMP/push.err" &&
	sessions &&
	test "$(nr_sessions)" = 1 &&
	test "$(nr_sessions shell)" = 1
'

test_expect_success 'an incremental deploy and pushgate status: one shell each' '
	cd one-work &&
	commit_file index.html "<h1>two</h1>" "second" &&
	: >"$SESSIONS" &&
	push origin main &&
	deployed staging HEAD &&
	test "$(cat "$DEPLOY/one/current/index.html")" = "<h1>two</h1>" &&
	sessions &&
	test "$(nr_sessions shell)" = 1 &&
	test "$(nr_sessions exec)" = 0 &&
	: >"$SESSIONS" &&
	pg -C "$TMP/one.git" status staging &&
	test "$(sessions)" = shell &&
	: >"$SESSIONS" &&
	pg -C "$TMP/one.git" check &&
	test "$(sessions)" = shell
'

test_expect_success 'the dry run says how the host runs the commands, and connects nothing' '
	: >"$SESSIONS" &&
	pg -C "$TMP/one.git" deploy --dry-run --force staging &&
	test_grep "^\[$H1\] remote shell: one login shell runs the upload and the commands below, each as /bin/sh -c COMMAND under timeout -k 5 601\$" \
		"$TMP/pg.out" &&
	test_grep "^\[$H1\] switch: " "$TMP/pg.out" &&
	test "$(nr_sessions)" = 0
'

test_expect_success 'stdout and stderr of a command keep their order' '
	env_ini one "before = echo line-one; echo line-two >&2; echo line-three; echo line-four >&2" &&
	cd one-work &&
	commit_file index.html "<h1>three</h1>" "third" &&
	push origin main &&
	deployed staging HEAD &&
	n1=$(line_of "line-one") && n2=$(line_of "line-two") &&
	n3=$(line_of "line-three") && n4=$(line_of "line-four") &&
	test -n "$n1" && test "$n1" -lt "$n2" && test "$n2" -lt "$n3" &&
	test "$n3" -lt "$n4"
'

test_expect_success 'a hook that exits 3 fails the deploy as before, in the same shell' '
	env_ini one "before = echo about to fail; exit 3" &&
	cd one-work &&
	live=$(live_id "$DEPLOY/one") &&
	commit_file index.html "<h1>four</h1>" "fourth" &&
	: >"$SESSIONS" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "before failed (exit 3)" "$TMP/push.err" &&
	test_grep "about to fail" "$TMP/push.err" &&
	test "$(live_id "$DEPLOY/one")" = "$live" &&
	sessions &&
	: an incremental upload: a channel of its own &&
	test "$(nr_sessions upload)" = 1 &&
	test "$(nr_sessions shell)" = 1 &&
	test "$(nr_sessions exec)" = 0
'

test_expect_success 'a command that fails (exit 1) is named by its output' '
	env_ini one "shared = missing.conf" &&
	cd one-work &&
	commit_file index.html "<h1>five</h1>" "fifth" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "missing.conf" "$TMP/push.err" &&
	test_grep ! "welcome to the test host" "$TMP/push.err"
'

test_expect_success 'a daemon keeping its output open: not waited for, and the next command gets a new shell' '
	env_ini one "after = sleep 60 & echo \$! >\"$TMP/daemon.pid\"" \
		"healthcheck = true" "command_timeout = 30" &&
	cd one-work &&
	commit_file index.html "<h1>six</h1>" "sixth" &&
	: >"$SESSIONS" &&
	start=$(date +%s) &&
	push origin main &&
	test "$(($(date +%s) - start))" -lt 20 &&
	deployed staging HEAD &&
	test_grep "\[$H1\] after: a process it started kept its output open; not waiting for it" \
		"$TMP/push.err" &&
	test_grep "\[$H1\] healthcheck ok" "$TMP/push.err" &&
	pid=$(cat "$TMP/daemon.pid") &&
	kill -0 "$pid" &&
	kill "$pid" &&
	sessions &&
	test "$(nr_sessions shell)" = 2 &&
	test "$(nr_sessions exec)" = 0
'

test_expect_success 'a command past its timeout: the shell is closed, the command stopped, the deploy rolled back' '
	env_ini one "before = true" "command_timeout = 3" &&
	cd one-work &&
	live=$(live_id "$DEPLOY/one") &&
	commit_file index.html "<h1>seven</h1>" "seventh" &&
	: >"$TMP/stuck" &&
	rm -f "$TMP/stuck.pid" &&
	: >"$SESSIONS" &&
	push origin main &&
	rm -f "$TMP/stuck" &&
	deploy_failed staging HEAD &&
	test_grep "before: remote command timed out after 3 s" \
		"$TMP/push.err" &&
	test "$(live_id "$DEPLOY/one")" = "$live" &&
	: the steps after it went through a new shell &&
	sessions &&
	test "$(nr_sessions shell)" = 2 &&
	test "$(nr_sessions exec)" = 0 &&
	: the host stopped the command, at 3 + 1 s &&
	pid=$(cat "$TMP/stuck.pid") &&
	test_wait_for 15 sh -c "! kill -0 $pid 2>/dev/null"
'

test_expect_success 'the next deploy after a timeout works' '
	cd one-work &&
	commit_file index.html "<h1>eight</h1>" "eighth" &&
	: >"$SESSIONS" &&
	push origin main &&
	deployed staging HEAD &&
	test "$(cat "$DEPLOY/one/current/index.html")" = "<h1>eight</h1>" &&
	test "$(nr_sessions shell)" = 1
'

test_expect_success 'a login shell that cannot run the shell: one exec channel per command' '
	env_ini one "before = echo before ran" "after = echo after ran" &&
	cd one-work &&
	commit_file index.html "<h1>nine</h1>" "ninth" &&
	: >"$TMP/no-shell" &&
	: >"$SESSIONS" &&
	push origin main &&
	rm -f "$TMP/no-shell" &&
	deployed staging HEAD &&
	test "$(cat "$DEPLOY/one/current/index.html")" = "<h1>nine</h1>" &&
	test_grep "before ran" "$TMP/push.err" &&
	test_grep "after ran" "$TMP/push.err" &&
	sessions &&
	test "$(nr_sessions shell)" = 1 &&
	test "$(nr_sessions exec)" -ge 3
'

test_expect_success 'a login shell reading its stdin gets no command: exec channels after 10 s' '
	env_ini one "before = echo before ran" &&
	cd one-work &&
	commit_file index.html "<h1>slurp</h1>" "slurp" &&
	: >"$TMP/slurp" &&
	: >"$SESSIONS" &&
	push origin main &&
	rm -f "$TMP/slurp" &&
	deployed staging HEAD &&
	test "$(cat "$DEPLOY/one/current/index.html")" = "<h1>slurp</h1>" &&
	test_grep "before ran" "$TMP/push.err" &&
	sessions &&
	test "$(nr_sessions shell)" = 1 &&
	test "$(nr_sessions exec)" -ge 2
'

test_expect_success 'a shell that dies between commands: the next ones take exec channels' '
	rm -f "$TMP/healthy" &&
	env_ini one "healthcheck_retries = 2" \
		"healthcheck = test -e \"$TMP/healthy\" || { : >\"$TMP/healthy\"; kill -9 \$(cat \"$TMP/shell.pid\"); exit 1; }" &&
	cd one-work &&
	commit_file index.html "<h1>ten</h1>" "tenth" &&
	: >"$SESSIONS" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "healthcheck attempt 1 of 2 failed" "$TMP/push.err" &&
	test "$(cat "$DEPLOY/one/current/index.html")" = "<h1>ten</h1>" &&
	sessions &&
	test "$(nr_sessions shell)" = 1 &&
	test "$(nr_sessions exec)" -ge 1
'

test_done
