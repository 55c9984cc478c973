#!/bin/sh
# run.sh - the test driver behind `make check`.
#
#   tests/run.sh [FILTER...]
#
# Runs every cmocka unit binary $PUSHGATE_BUILD/tests/test_*, then every
# end-to-end script tests/integration/t[0-9]*.sh, and ends with the line
# `N passed, N failed`. Exits 1 if anything failed. With FILTER arguments
# only the binaries and scripts whose names contain one of them run
# (`tests/run.sh t0100`, `tests/run.sh test_config`).
#
# A unit binary's passes and failures are its cmocka "[       OK ]" and
# "[  FAILED  ]"/"[  ERROR   ]" lines; a skipped test counts as failed, and
# so does a binary that stops before its summary (a crash) or exits non-zero
# without reporting a failure. A script reports `# passed N failed M` as
# its last line (lib.sh's test_done); one that does not counts as one
# failure. The output of whatever failed is shown; PUSHGATE_TEST_VERBOSE=1
# shows everything.
#
# Environment: PUSHGATE_BUILD (default SRCDIR/build), PUSHGATE_TEST_TIMEOUT
# (seconds per binary or script; default 300 for a binary, 900 for a
# script), PUSHGATE_TEST_KEEP=1 (keep the scripts' temporary directories),
# PUSHGATE_TEST_UPDATE_EXPECTED=1 (rewrite tests/fixtures/*.expected from
# what the tests print instead of comparing: lib.sh's test_cmp_expected).

set -eu

unset CDPATH
srcdir=$(cd -P -- "$(dirname -- "$0")/.." && pwd)
PUSHGATE_BUILD=${PUSHGATE_BUILD:-$srcdir/build}
case "$PUSHGATE_BUILD" in
/*) ;;
*) PUSHGATE_BUILD=$(pwd)/$PUSHGATE_BUILD ;;
esac
PUSHGATE_SRCDIR=$srcdir
export PUSHGATE_BUILD PUSHGATE_SRCDIR
cd "$srcdir"

# cmocka's standard output format, which unit() reads.
CMOCKA_MESSAGE_OUTPUT=stdout
export CMOCKA_MESSAGE_OUTPUT
unset CMOCKA_XML_FILE CMOCKA_TEST_ABORT
verbose=${PUSHGATE_TEST_VERBOSE:-0}

logs=$(mktemp -d "${TMPDIR:-/tmp}/pushgate-run.XXXXXX")
current=
trap 'rm -rf -- "$logs"' EXIT
trap 'test -z "$current" || kill -TERM "$current" 2>/dev/null; exit 130' INT
trap 'test -z "$current" || kill -TERM "$current" 2>/dev/null; exit 143' \
	HUP PIPE TERM

passed=0
failed=0
selected=0

have()
{
	command -v "$1" >/dev/null 2>&1
}

# limited SECONDS CMD...: run CMD in the background (so that a signal to
# this script can stop it), killing its process group after SECONDS.
limited()
{
	limited_secs=$1
	shift
	if have timeout
	then
		timeout -k 10 "$limited_secs" "$@" &
	else
		"$@" &
	fi
	current=$!
	limited_status=0
	wait "$current" || limited_status=$?
	current=
	return "$limited_status"
}

# show FILE...: print files indented, for a failure.
show()
{
	for show_file in "$@"
	do
		test -s "$show_file" || continue
		sed 's/^/    /' "$show_file"
	done
}

# count PATTERN FILE: number of lines of FILE matching PATTERN.
count()
{
	grep -c -e "$1" "$2" || :
}

# unit BINARY: run one cmocka binary and add up its results.
unit()
{
	unit_name=${1##*/}
	unit_status=0
	limited "${PUSHGATE_TEST_TIMEOUT:-300}" "$1" \
		>"$logs/out" 2>"$logs/err" </dev/null || unit_status=$?

	unit_ok=$(count '^\[       OK \] ' "$logs/out")
	unit_failed=$(count '^\[  FAILED  \] ' "$logs/out")
	unit_errors=$(grep -e '^\[  ERROR   \] ' "$logs/err" |
		grep -c -v -e '^\[  ERROR   \] --- ' || :)
	unit_failed=$((unit_failed + unit_errors))
	unit_run=$(sed -n \
		's/^\[==========\] \([0-9][0-9]*\) test(s) run\.$/\1/p' \
		"$logs/out" | tail -n 1)
	unit_summary=$(sed -n 's/^ *\([0-9][0-9]*\) FAILED TEST(S)$/\1/p' \
		"$logs/err" | tail -n 1)
	unit_why=
	if test -z "$unit_run"
	then
		unit_failed=$((unit_failed + 1))
		unit_why="stopped before its summary (exit $unit_status)"
	else
		if test "$((unit_run - unit_ok))" -gt "$unit_failed"
		then
			unit_failed=$((unit_run - unit_ok))
		fi
		if test -n "$unit_summary" &&
			test "$unit_summary" -gt "$unit_failed"
		then
			unit_failed=$unit_summary
		fi
		if test "$unit_status" -ne 0 && test "$unit_failed" -eq 0
		then
			unit_failed=1
			unit_why="exit $unit_status without a failed test"
		fi
	fi
	passed=$((passed + unit_ok))
	failed=$((failed + unit_failed))
	if test "$unit_failed" -eq 0
	then
		echo "ok   $unit_name: $unit_ok passed"
		test "$verbose" != 1 || show "$logs/out" "$logs/err"
	else
		echo "FAIL $unit_name: $unit_ok passed," \
			"$unit_failed failed${unit_why:+ ($unit_why)}"
		show "$logs/out" "$logs/err"
	fi
}

# script FILE: run one end-to-end script and add up its results.
script()
{
	script_name=${1##*/}
	script_status=0
	limited "${PUSHGATE_TEST_TIMEOUT:-900}" sh "$1" \
		>"$logs/log" 2>&1 </dev/null || script_status=$?

	script_line=$(grep -E '^# passed [0-9]+ failed [0-9]+$' "$logs/log" |
		tail -n 1)
	script_why=
	if test -z "$script_line"
	then
		script_ok=0
		script_failed=1
		script_why="exit $script_status without '# passed N failed M'"
	else
		script_ok=${script_line#\# passed }
		script_ok=${script_ok%% *}
		script_failed=${script_line##* }
		if test "$script_status" -ne 0 && test "$script_failed" -eq 0
		then
			script_failed=1
			script_why="exit $script_status after reporting no failure"
		fi
	fi
	passed=$((passed + script_ok))
	failed=$((failed + script_failed))
	if test "$script_failed" -eq 0
	then
		echo "ok   $script_name: $script_ok passed"
		test "$verbose" != 1 || show "$logs/log"
	else
		echo "FAIL $script_name: $script_ok passed," \
			"$script_failed failed${script_why:+ ($script_why)}"
		show "$logs/log"
	fi
}

# Does NAME match a FILTER argument? (The filters are this script's "$@".)
selected_by()
{
	selected_by_name=$1
	shift
	test "$#" -eq 0 && return 0
	for selected_by_filter in "$@"
	do
		case "$selected_by_name" in
		*"$selected_by_filter"*) return 0 ;;
		esac
	done
	return 1
}

# Unit tests: every tests/unit/test_*.c must have been built.
for src in "$srcdir"/tests/unit/test_*.c
do
	test -f "$src" || continue
	name=${src##*/}
	name=${name%.c}
	selected_by "$name" "$@" || continue
	if ! test -x "$PUSHGATE_BUILD/tests/$name"
	then
		selected=$((selected + 1))
		failed=$((failed + 1))
		echo "FAIL $name: not built in $PUSHGATE_BUILD/tests" \
			"(run 'make unit')"
	fi
done
for bin in "$PUSHGATE_BUILD"/tests/test_*
do
	test -f "$bin" || continue
	test -x "$bin" || continue
	selected_by "${bin##*/}" "$@" || continue
	selected=$((selected + 1))
	unit "$bin"
done

# End-to-end scripts.
for file in "$srcdir"/tests/integration/t[0-9]*.sh
do
	test -f "$file" || continue
	selected_by "${file##*/}" "$@" || continue
	selected=$((selected + 1))
	script "$file"
done

status=0
if test "$#" -gt 0 && test "$selected" -eq 0
then
	echo "run.sh: no test matches: $*"
	status=1
fi
test "$failed" -eq 0 || status=1
echo "$passed passed, $failed failed"
exit "$status"
