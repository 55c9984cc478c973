# shellcheck shell=sh
# lib.sh - helpers for pushgate's end-to-end tests (git's t/test-lib.sh in
# miniature). Each tests/integration/tNNNN-topic.sh starts with
#
#	#!/bin/sh
#	. "$(dirname "$0")/lib.sh"
#
# then runs any number of
#
#	test_expect_success 'what it checks' '
#		setup_repo app &&
#		setup_clone app &&
#		cd "$TMP/app-work" &&
#		commit_file README "hello" "Add README" &&
#		push origin main &&
#		test_grep "pushgate: ACCEPTED" "$TMP/push.err"
#	'
#
# and ends with `test_done`, which prints `# passed N failed M` as the
# script's last line (tests/run.sh reads it) and exits 1 if M > 0.
#
# Each test body is eval'ed in the script's own shell, so variables it sets
# are seen by later tests; its steps must be &&-chained (set -e does not
# apply inside a test). Every test starts in $TMP with stdin from /dev/null;
# its output is kept and shown only when it fails (or always with
# PUSHGATE_TEST_VERBOSE=1, or `-v` on the script's command line).
#
# Every script gets a fresh directory $TMP, which is also $HOME (with a git
# identity, init.defaultBranch=main and protocol.file.allow=always in
# $HOME/.gitconfig). It is removed on exit unless PUSHGATE_TEST_KEEP=1.
#
# PUSHGATE_BUILD (absolute; set by `make check`, default SRCDIR/build) holds
# the binaries and is put first on PATH; PUSHGATE_SRCDIR is the source tree.
#
# Besides the framework (test_expect_success, test_must_fail,
# test_expect_code, test_grep, test_cmp, test_cmp_expected, test_wait_for,
# test_atexit), it holds the helpers the scripts share, each defined once
# here: repositories and commits (setup_repo, write_hooks_ini,
# setup_clone, commit_file, refs_of, rev_of, no_ref, git_short,
# fingerprint), running things (push, pg) and what they said (accepted,
# rejected, remote_lines, no_crash, pg_no_crash, no_pwned). deploy-lib.sh
# adds those of the deploy tests.
#
# Messages users see are compared verbatim with tests/fixtures/NAME.expected
# by test_cmp_expected NAME FILE, after ids, times, durations, temporary
# paths and ports are replaced by fixed tokens. After a deliberate change
# of such a message, PUSHGATE_TEST_UPDATE_EXPECTED=1 make check rewrites
# the files; review them with git diff.

set -eu

# Where things are.
if test -z "${PUSHGATE_SRCDIR-}"
then
	PUSHGATE_SRCDIR=$(cd -P -- "$(dirname -- "$0")/../.." && pwd)
fi
PUSHGATE_BUILD=${PUSHGATE_BUILD:-$PUSHGATE_SRCDIR/build}
case "$PUSHGATE_BUILD" in
/*) ;;
*) PUSHGATE_BUILD=$(pwd)/$PUSHGATE_BUILD ;;
esac
export PUSHGATE_SRCDIR PUSHGATE_BUILD
PATH=$PUSHGATE_BUILD:$PATH

test_verbose=${PUSHGATE_TEST_VERBOSE:-0}
for test_arg_ in "$@"
do
	case "$test_arg_" in
	-v|--verbose) test_verbose=1 ;;
	esac
done

# A predictable environment: nothing from the caller's git, ssh-agent,
# locale or pusher identity leaks into the tests.
unset CDPATH GIT_DIR GIT_WORK_TREE GIT_COMMON_DIR GIT_INDEX_FILE \
	GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
	GIT_QUARANTINE_PATH GIT_CONFIG GIT_CONFIG_PARAMETERS \
	GIT_CONFIG_COUNT GIT_CONFIG_GLOBAL GIT_CONFIG_SYSTEM \
	GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE \
	GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL GIT_COMMITTER_DATE EMAIL \
	GIT_PUSH_OPTION_COUNT XDG_CONFIG_HOME SSH_AUTH_SOCK SSH_AGENT_PID \
	PUSHGATE_USER GL_USER GL_USERNAME REMOTE_USER
LC_ALL=C
LANG=C
TZ=UTC
GIT_CONFIG_NOSYSTEM=1
# tests/sshd.sh: the test servers' login shells skip the machine's
# ~/.bashrc (where it can), so that no dotfile slows or changes a test.
SSHD_QUIET_BASHRC=1
export LC_ALL LANG TZ GIT_CONFIG_NOSYSTEM SSHD_QUIET_BASHRC

# Fail the script itself (a bug in the test, not a failed test).
test_bug_()
{
	echo "lib.sh: error: $*" >&2
	exit 1
}

# The script's private directories: $test_base_ holds lib.sh's own files,
# $TMP (inside it) is the tests' playground and $HOME.
test_base_=$(mktemp -d "${TMPDIR:-/tmp}/pushgate-test.XXXXXX") ||
	test_bug_ "cannot create a temporary directory"
test_base_=$(cd -P -- "$test_base_" && pwd)
TMP=$test_base_/tmp
mkdir "$TMP"
HOME=$TMP
export TMP HOME

test_count=0
test_passed=0
test_failed=0
test_atexit_cmds_=
test_running_=

# fd 9 keeps the script's stdout, for reports made while a test's output
# is redirected.
exec 9>&1

# test_atexit 'commands': run the commands when the script exits, however
# it exits (last registered runs first). For servers a test starts, e.g.
#	test_atexit 'kill "$(cat "$TMP/sshd.pid")"'
test_atexit()
{
	test "$#" -eq 1 || test_bug_ "usage: test_atexit 'commands'"
	test_atexit_cmds_="$1
$test_atexit_cmds_"
}

test_exit_()
{
	test_status_=$?
	set +e
	trap - EXIT
	cd / || :
	if test -n "$test_running_"
	then
		{
			echo "not ok $test_count - $test_running_"
			echo "#	the script exited (status $test_status_)" \
				"inside this test; output:"
			sed 's/^/#	/' "$test_base_/output"
			echo "# passed $test_passed failed $((test_failed + 1))"
		} >&9
		test "$test_status_" -ne 0 || test_status_=1
	fi
	if test -n "$test_atexit_cmds_"
	then
		eval "$test_atexit_cmds_" >/dev/null 2>&1
	fi
	if test "${PUSHGATE_TEST_KEEP:-0}" != 1
	then
		rm -rf -- "$test_base_"
	fi
	exit "$test_status_"
}
trap test_exit_ EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

git config --global user.name 'Pushgate Tester'
git config --global user.email 'tester@example.com'
git config --global init.defaultBranch main
git config --global protocol.file.allow always
git config --global advice.detachedHead false

# test_expect_success 'title' 'commands'
test_expect_success()
{
	test "$#" -eq 2 ||
		test_bug_ "usage: test_expect_success 'title' 'commands'"
	test_count=$((test_count + 1))
	cd "$TMP" || test_bug_ "cannot enter $TMP"
	test_running_=$1
	if test_eval_ "$2" >"$test_base_/output" 2>&1 </dev/null
	then
		test_running_=
		test_passed=$((test_passed + 1))
		echo "ok $test_count - $1"
		if test "$test_verbose" = 1
		then
			sed 's/^/#	/' "$test_base_/output"
		fi
	else
		test_running_=
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		printf '%s\n' "$2" | sed 's/^/#	/'
		echo "#	--- output:"
		sed 's/^/#	/' "$test_base_/output"
	fi
}

test_eval_()
{
	eval "$1"
}

# test_done: print the summary line and exit (1 if a test failed).
test_done()
{
	if test "${PUSHGATE_TEST_KEEP:-0}" = 1
	then
		echo "# kept $TMP"
	fi
	echo "# passed $test_passed failed $test_failed"
	test "$test_failed" -eq 0 || exit 1
	exit 0
}

# test_must_fail cmd...: succeeds when cmd exits with a failure status;
# fails when it succeeds, dies by a signal (status > 128) or cannot run.
test_must_fail()
{
	test_must_fail_status_=0
	"$@" || test_must_fail_status_=$?
	case "$test_must_fail_status_" in
	0)
		echo "test_must_fail: command succeeded: $*" >&2
		return 1
		;;
	126|127)
		echo "test_must_fail: command not found or not" \
			"executable: $*" >&2
		return 1
		;;
	esac
	if test "$test_must_fail_status_" -gt 128
	then
		echo "test_must_fail: died by signal" \
			"$((test_must_fail_status_ - 128)): $*" >&2
		return 1
	fi
	return 0
}

# test_expect_code N cmd...: succeeds when cmd exits with status N.
test_expect_code()
{
	test_expect_code_want_=$1
	shift
	test_expect_code_status_=0
	"$@" || test_expect_code_status_=$?
	test "$test_expect_code_status_" -eq "$test_expect_code_want_" &&
		return 0
	echo "test_expect_code: expected exit $test_expect_code_want_," \
		"got $test_expect_code_status_: $*" >&2
	return 1
}

# test_grep [!] [grep options] PATTERN FILE: succeeds when a line of FILE
# matches (or, after `!`, when none does); otherwise prints FILE.
test_grep()
{
	test_grep_negate_=false
	if test "$#" -gt 0 && test "$1" = '!'
	then
		test_grep_negate_=true
		shift
	fi
	test "$#" -ge 2 || test_bug_ "usage: test_grep [!] PATTERN FILE"
	for test_grep_file_ in "$@"
	do
		: the last argument is the file
	done
	test_grep_status_=0
	grep "$@" >/dev/null || test_grep_status_=$?
	if test "$test_grep_status_" -eq 0 && test "$test_grep_negate_" = false
	then
		return 0
	fi
	if test "$test_grep_status_" -eq 1 && test "$test_grep_negate_" = true
	then
		return 0
	fi
	if test "$test_grep_negate_" = true
	then
		echo "test_grep: unexpected match for: ! $*" >&2
	else
		echo "test_grep: no match for: $*" >&2
	fi
	if test -f "$test_grep_file_"
	then
		echo "--- $test_grep_file_:" >&2
		cat -- "$test_grep_file_" >&2
		echo "---" >&2
	else
		echo "test_grep: '$test_grep_file_' does not exist" >&2
	fi
	return 1
}

# test_wait_for SECONDS cmd...: run cmd every 0.1 s until it succeeds;
# fails after SECONDS (for a pidfile or a port, never a fixed sleep).
test_wait_for()
{
	test_wait_for_left_=$(($1 * 10))
	shift
	until "$@"
	do
		test_wait_for_left_=$((test_wait_for_left_ - 1))
		if test "$test_wait_for_left_" -le 0
		then
			echo "test_wait_for: gave up waiting for: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}

# test_mode FILE: prints FILE's permissions as `ls -l` shows them
# (e.g. -rw-------).
test_mode()
{
	# Only the first field is used: any file name is fine.
	# shellcheck disable=SC2012
	ls -ld -- "$1" | cut -c1-10
}

# setup_repo NAME: a bare repository $TMP/NAME.git made by install.sh
# --init. If stdin has content (a here-document), it becomes the
# repository's hooks.ini (mode 0600), replacing the example.
setup_repo()
{
	test "$#" -eq 1 || test_bug_ "usage: setup_repo NAME <hooks.ini"
	setup_repo_git_=$TMP/$1.git
	: >"$test_base_/hooks.ini"
	if ! test -t 0
	then
		cat >"$test_base_/hooks.ini" || return 1
	fi
	sh "$PUSHGATE_SRCDIR/install.sh" --init "$setup_repo_git_" ||
		return 1
	if test -s "$test_base_/hooks.ini"
	then
		write_hooks_ini "$1" <"$test_base_/hooks.ini" || return 1
	fi
}

# write_hooks_ini NAME: replace $TMP/NAME.git/hooks.ini with stdin (0600).
write_hooks_ini()
{
	test "$#" -eq 1 || test_bug_ "usage: write_hooks_ini NAME <hooks.ini"
	write_hooks_ini_dst_=$TMP/$1.git/hooks.ini
	(umask 077 && cat >"$write_hooks_ini_dst_.new") &&
	chmod 600 "$write_hooks_ini_dst_.new" &&
	mv -f "$write_hooks_ini_dst_.new" "$write_hooks_ini_dst_"
}

# setup_clone NAME: clone $TMP/NAME.git into $TMP/NAME-work (no cd).
setup_clone()
{
	test "$#" -eq 1 || test_bug_ "usage: setup_clone NAME"
	git clone -q "$TMP/$1.git" "$TMP/$1-work"
}

# commit_file PATH CONTENT MESSAGE: write CONTENT and a newline to PATH
# (creating its directories) in the current work tree, and commit it.
commit_file()
{
	test "$#" -eq 3 ||
		test_bug_ "usage: commit_file PATH CONTENT MESSAGE"
	case "$1" in
	*/*) mkdir -p -- "${1%/*}" || return 1 ;;
	esac
	printf '%s\n' "$2" >"$1" &&
	git add -- "$1" &&
	git commit -q -m "$3"
}

# push ARGS...: `git push ARGS`, stdout into $TMP/push.out and stderr
# (where the hooks' "remote: pushgate: ..." lines are) into $TMP/push.err;
# returns git's exit status. Both are also copied to the test's output.
# git pads each "remote:" line with trailing spaces: do not anchor a
# pattern for one with `$`.
push()
{
	push_status_=0
	git push "$@" >"$TMP/push.out" 2>"$TMP/push.err" || push_status_=$?
	{
		echo "--- git push $*: exit $push_status_"
		cat "$TMP/push.out" "$TMP/push.err"
		echo "---"
	} >&2
	return "$push_status_"
}

# --- what a push or a pushgate run said -------------------------------

# accepted REF: the last push printed "ok REF" as its own line.
accepted()
{
	test_grep "^remote: pushgate: ok $1 *\$" "$TMP/push.err"
}

# rejected REF: the last push rejected REF with a reason, and git says so
# (and the hook did not get there by crashing: see no_crash).
rejected()
{
	test_grep "^remote: pushgate: REJECTED $1[: ]" "$TMP/push.err" &&
	test_grep "\[remote rejected\]" "$TMP/push.err" &&
	no_crash "$TMP/push.err"
}

# no_crash [FILE...]: no sanitizer report or BUG() in the FILEs (default:
# $TMP/push.err, the last push's output).
no_crash()
{
	test "$#" -gt 0 || set -- "$TMP/push.err"
	for no_crash_file_ in "$@"
	do
		test_grep ! -i "sanitizer\|runtime error\|BUG" \
			"$no_crash_file_" || return 1
	done
}

# pg ARGS...: `pushgate ARGS`, stdout into $TMP/pg.out and stderr into
# $TMP/pg.err; returns pushgate's exit status. Both are also copied to the
# test's output.
pg()
{
	pg_status_=0
	pushgate "$@" >"$TMP/pg.out" 2>"$TMP/pg.err" || pg_status_=$?
	{
		echo "--- pushgate $*: exit $pg_status_"
		cat "$TMP/pg.out" "$TMP/pg.err"
		echo "---"
	} >&2
	return "$pg_status_"
}

# pg_no_crash: the last pg run printed no sanitizer report or BUG(), on
# stdout or stderr.
pg_no_crash()
{
	no_crash "$TMP/pg.out" "$TMP/pg.err"
}

# no_pwned [DIR...]: no file PWNED* was created by a shell that executed
# a file name, ref name or message meant as data: none anywhere under
# $TMP (which holds the repositories, clones and deploy paths) or the
# current directory, nor directly in /, /tmp, the source tree or a DIR.
no_pwned()
{
	{
		find "$TMP" "$PWD" -name "PWNED*" &&
		find / /tmp "$PUSHGATE_SRCDIR" "$@" -maxdepth 1 -name "PWNED*"
	} >"$TMP/pwned"
	test_grep ! . "$TMP/pwned"
}

# --- repositories and commits ----------------------------------------

# refs_of NAME: every ref of $TMP/NAME.git with its value.
refs_of()
{
	git --git-dir="$TMP/$1.git" for-each-ref \
		--format="%(refname) %(objectname)"
}

# rev_of NAME REF: the value of REF in $TMP/NAME.git (fails if missing).
rev_of()
{
	git --git-dir="$TMP/$1.git" rev-parse -q --verify "$2"
}

# no_ref NAME REF: $TMP/NAME.git has no REF.
no_ref()
{
	! git --git-dir="$TMP/$1.git" rev-parse -q --verify "$2" >/dev/null
}

# git_short REV: the short id git itself prints for REV in the current
# repository (git rev-parse --short: 7 digits or more), a prefix of the
# longer ids pushgate prints. (deploy-lib.sh's short gives pushgate's
# 12 digits.)
git_short()
{
	git rev-parse --short "$1"
}

# fingerprint PUBFILE: the SHA256 fingerprint of a public key file, as
# OpenSSH prints it.
fingerprint()
{
	ssh-keygen -l -E sha256 -f "$1" | cut -d' ' -f2
}

# --- comparing files ---------------------------------------------------

# test_cmp EXPECTED ACTUAL: the two files are the same (both shown if
# not).
test_cmp()
{
	test "$#" -eq 2 || test_bug_ "usage: test_cmp EXPECTED ACTUAL"
	cmp "$1" "$2" || {
		echo "--- $1" && cat "$1" && echo "--- $2" && cat "$2"
		return 1
	}
}

# remote_lines [FILE]: the "remote:" lines of FILE (default: the last
# push's $TMP/push.err), which is what the hooks said; git's own lines
# are left out.
remote_lines()
{
	test "$#" -le 1 || test_bug_ "usage: remote_lines [FILE]"
	remote_lines_status_=0
	grep '^remote:' "${1:-$TMP/push.err}" || remote_lines_status_=$?
	test "$remote_lines_status_" -le 1
}

# test_normalise_: stdin to stdout with what changes from run to run
# replaced by a fixed token, for test_cmp_expected:
#	$TMP, $PUSHGATE_BUILD, $PUSHGATE_SRCDIR   those directories, where
#	             they are a whole path or its start
#	<release>    a release id, 20261126T051500Z-1a2b3c4d5e6f
#	<time>       a date and time, 2026-11-26T05:15:00Z or 2026-11-26 05:15:00
#	<commit>     a full commit id (40 or 64 hex digits)
#	<short>      the 12 hex digits pushgate prints for a commit
#	<seconds> s  a duration with a fraction, "3.1 s", "0.03 s"
#	<port>       the port of 127.0.0.1:N, [127.0.0.1]:N, [::1]:N, port N
# and the spaces git pads "remote:" lines with are dropped.
test_normalise_()
{
	test_normalise_tmp_=$(test_sed_quote_ "$TMP") &&
	test_normalise_build_=$(test_sed_quote_ "$PUSHGATE_BUILD") &&
	test_normalise_src_=$(test_sed_quote_ "$PUSHGATE_SRCDIR") &&
	test_normalise_h_='[0-9a-f]' &&
	test_normalise_d_='[0-9]' &&
	test_normalise_b_='[^0-9A-Za-z_]' &&
	test_normalise_p_='[^0-9A-Za-z_./-]' &&
	sed -E \
		-e "s/(^|$test_normalise_p_)$test_normalise_tmp_(\/|$test_normalise_p_|\$)/\\1\$TMP\\2/g" \
		-e "s/(^|$test_normalise_p_)$test_normalise_build_(\/|$test_normalise_p_|\$)/\\1\$PUSHGATE_BUILD\\2/g" \
		-e "s/(^|$test_normalise_p_)$test_normalise_src_(\/|$test_normalise_p_|\$)/\\1\$PUSHGATE_SRCDIR\\2/g" \
		-e '/^remote:/s/ +$//' \
		-e "s/$test_normalise_d_{8}T$test_normalise_d_{6}Z-$test_normalise_h_{12}/<release>/g" \
		-e "s/$test_normalise_d_{4}-$test_normalise_d_{2}-$test_normalise_d_{2}[T ]$test_normalise_d_{2}:$test_normalise_d_{2}:$test_normalise_d_{2}(\\.$test_normalise_d_+)?Z?/<time>/g" \
		-e ':commit' \
		-e "s/(^|$test_normalise_b_)($test_normalise_h_{64}|$test_normalise_h_{40})($test_normalise_b_|\$)/\\1<commit>\\3/" \
		-e 't commit' \
		-e ':short' \
		-e "s/(^|$test_normalise_b_)$test_normalise_h_{12}($test_normalise_b_|\$)/\\1<short>\\2/" \
		-e 't short' \
		-e "s/(^|$test_normalise_b_)$test_normalise_d_+\\.$test_normalise_d_+ s($test_normalise_b_|\$)/\\1<seconds> s\\2/g" \
		-e "s/(127\\.0\\.0\\.1|\\[127\\.0\\.0\\.1\\]|\\[::1\\]):$test_normalise_d_+/\\1:<port>/g" \
		-e "s/(^|$test_normalise_b_)port $test_normalise_d_+/\\1port <port>/g"
}

# test_sed_quote_ STRING: STRING as a sed regular expression (ERE) that
# matches it literally, with "/" escaped for s/// as well.
test_sed_quote_()
{
	printf '%s\n' "$1" | sed -e 's/[]\/$*.^|[(){}+?]/\\&/g'
}

# test_cmp_expected NAME FILE: FILE, normalised (see test_normalise_ for
# the ids, times, paths and ports that change from run to run), is
# exactly tests/fixtures/NAME.expected; if not, the differences are shown
# (diff -u EXPECTED ACTUAL). For the messages users see (STYLE.md section
# 10). With PUSHGATE_TEST_UPDATE_EXPECTED=1 in the environment the
# expected file is (re)written from FILE instead, to be reviewed with git
# diff before it is committed:
#	PUSHGATE_TEST_UPDATE_EXPECTED=1 make check
test_cmp_expected()
{
	test "$#" -eq 2 || test_bug_ "usage: test_cmp_expected NAME FILE"
	case "$1" in
	'' | *[!a-z0-9-]*) test_bug_ "test_cmp_expected: bad name '$1'" ;;
	esac
	test_cmp_expected_want_=$PUSHGATE_SRCDIR/tests/fixtures/$1.expected
	test_cmp_expected_got_=$TMP/$1.actual
	test_normalise_ <"$2" >"$test_cmp_expected_got_" || return 1
	if test "${PUSHGATE_TEST_UPDATE_EXPECTED:-0}" = 1
	then
		cp -- "$test_cmp_expected_got_" "$test_cmp_expected_want_" &&
		echo "test_cmp_expected: wrote $test_cmp_expected_want_" >&2
		return
	fi
	if ! test -f "$test_cmp_expected_want_"
	then
		echo "test_cmp_expected: no $test_cmp_expected_want_" \
			"(PUSHGATE_TEST_UPDATE_EXPECTED=1 writes it); got:" >&2
		cat -- "$test_cmp_expected_got_" >&2
		return 1
	fi
	diff -u -- "$test_cmp_expected_want_" "$test_cmp_expected_got_" >&2 &&
		return 0
	echo "test_cmp_expected: $2 differs from tests/fixtures/$1.expected" \
		"(above; PUSHGATE_TEST_UPDATE_EXPECTED=1 rewrites it)" >&2
	return 1
}
