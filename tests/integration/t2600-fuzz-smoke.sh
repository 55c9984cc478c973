#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t2600-fuzz-smoke.sh - every fuzz target of tests/fuzz/ runs for a moment
# in `make check`, without libFuzzer: `make unit` links each with
# tests/fuzz/driver.c into $PUSHGATE_BUILD/fuzz/, which gives it its
# seed corpus, then seeded mutants of it, for PUSHGATE_FUZZ_SECONDS
# (default 2) each; under `make check SANITIZE=1` they run with ASan and
# UBSan. A target passes when it exits 0 after running inputs; when it
# fails, the input that made it fail is shown (`od -c`), and kept in
# $TMP/NAME.input with PUSHGATE_TEST_KEEP=1. `make fuzz` is the real
# thing: libFuzzer, for minutes.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"

seconds=${PUSHGATE_FUZZ_SECONDS:-2}

# smoke NAME: run target NAME on its corpus and mutants; it must exit 0
# and say that it ran its files and some mutants.
smoke()
{
	smoke_bin=$PUSHGATE_BUILD/fuzz/$1
	smoke_corpus=$PUSHGATE_SRCDIR/tests/fuzz/corpus/$1
	test -x "$smoke_bin" || {
		echo "$smoke_bin is not built (run: make unit)"
		return 1
	}
	test -d "$smoke_corpus" || {
		echo "$1 has no seed corpus in tests/fuzz/corpus/$1"
		return 1
	}
	smoke_status=0
	"$smoke_bin" -t "$seconds" -o "$TMP/$1.input" "$smoke_corpus" \
		>"$TMP/$1.out" 2>"$TMP/$1.err" || smoke_status=$?
	cat "$TMP/$1.out" "$TMP/$1.err"
	if test "$smoke_status" -ne 0
	then
		echo "$1 failed (exit $smoke_status) on this input:"
		od -c "$TMP/$1.input" | head -n 64
		return 1
	fi
	smoke_n='[1-9][0-9]*'
	grep -E "^$1: $smoke_n inputs \\($smoke_n files, $smoke_n mutants\\)" \
		"$TMP/$1.out" >/dev/null
}

for src in "$PUSHGATE_SRCDIR"/tests/fuzz/fuzz_*.c
do
	name=${src##*/}
	name=${name%.c}
	test_expect_success "$name: its corpus and mutants for $seconds s" "
		smoke $name
	"
done

test_expect_success 'the driver: only the files with -n 0, the same each time' '
	corpus=$PUSHGATE_SRCDIR/tests/fuzz/corpus/fuzz_json &&
	files=$(find "$corpus" -type f ! -name ".*" | wc -l) &&
	"$PUSHGATE_BUILD/fuzz/fuzz_json" -n 0 "$corpus" >out &&
	grep -E "^fuzz_json: $files inputs \\($files files, 0 mutants\\)" out &&
	"$PUSHGATE_BUILD/fuzz/fuzz_json" -n 500 -s 7 -o input1 "$corpus" &&
	"$PUSHGATE_BUILD/fuzz/fuzz_json" -n 500 -s 7 -o input2 "$corpus" &&
	cmp input1 input2
'

test_done
