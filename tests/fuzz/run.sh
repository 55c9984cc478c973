#!/bin/sh
# tests/fuzz/run.sh - build the libFuzzer targets of tests/fuzz/ and run
# each for a while (`make fuzz`).
#
#   sh tests/fuzz/run.sh [SECONDS [NAME...]]  (default: FUZZ_TIME or 60,
#                                              every target)
#
# What pushers, operators and pushgate's own state files feed pushgate is
# fuzzed with clang's libFuzzer under ASan and UBSan, one target each:
#
#   fuzz_config    hooks.ini: syntax, schema, values, windows
#   fuzz_cron      cron expressions and local times
#   fuzz_history   the deployment history: read, appended, read back
#   fuzz_json      the JSON writer, its output read back
#   fuzz_manifest  release manifests, and the incremental plans from them
#   fuzz_push      update lines, push options, the pusher; the plan of
#                  each update, escaping, PUSHGATE_* shell assignments
#   fuzz_sshsig    SSH signatures and allowed-signers files
#   fuzz_tar       release entry names and their tar encoding, read back
#   fuzz_tree      hostile trees in an in-memory repository: the [verify]
#                  walk and verdict, tree lists, exports into a directory,
#                  a tar stream and a checkout (nothing lands outside)
#   fuzz_tzif      TZif zone files
#
# Each target's header says what it checks besides "no crash, no leak,
# no undefined behaviour". libpushgate is built into build-fuzz/ with
# clang and -fsanitize=fuzzer-no-link; each target starts from its seeds
# in tests/fuzz/corpus/NAME/ (new finds go to build-fuzz/corpus/NAME/,
# not into the tree), with the words of tests/fuzz/NAME.dict if there is
# one. Per target it prints the inputs run, their rate,
# and libFuzzer's last status line (cov: edges covered, ft: features). A
# crash stops the run, leaves the input in build-fuzz/crash-*, and exits
# 1: reproduce it with build-fuzz/NAME FILE, or with the driver build of
# `make unit`, $(B)/fuzz/NAME FILE, under gdb or valgrind. Needs clang-14
# and libfuzzer-14-dev, which tests/deps.sh --fuzz installs (as root).
#
# `make check` runs the same targets for a moment without libFuzzer
# (tests/fuzz/driver.c, tests/integration/t2600-fuzz-smoke.sh).
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$srcdir"
seconds=${1:-${FUZZ_TIME:-60}}
test "$#" -eq 0 || shift
case $seconds in '' | *[!0-9]*)
	echo "fuzz: not a number of seconds: '$seconds'" >&2
	exit 2
	;;
esac
cc=${FUZZ_CC:-clang-14}
command -v "$cc" >/dev/null 2>&1 || {
	echo "fuzz: $cc not found (sh tests/deps.sh --fuzz installs it)" >&2
	exit 2
}
out=build-fuzz
san=-fsanitize=address,undefined
make -s B="$out" CC="$cc" SANITIZE= DEVELOPER= \
	CFLAGS="-O1 -g $san -fsanitize=fuzzer-no-link -fno-omit-frame-pointer" \
	"$out/libpushgate.a"
libs=$(pkg-config --libs libgit2 libssh2 inih libcrypto)
for name in "$@"; do
	test -f "tests/fuzz/$name.c" || {
		echo "fuzz: no target '$name' (tests/fuzz/$name.c)" >&2
		exit 2
	}
done
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	if test "$#" -gt 0; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	mkdir -p "$out/corpus/$name"
	# shellcheck disable=SC2086 # a list of flags
	"$cc" -O1 -g $san -fsanitize=fuzzer -std=c11 -D_POSIX_C_SOURCE=200809L \
		-D_DEFAULT_SOURCE -D_GNU_SOURCE -Iinclude -o "$out/$name" "$src" \
		"$out/libpushgate.a" $libs
	echo "fuzz: $name for $seconds s"
	seeds=
	if test -d "tests/fuzz/corpus/$name"; then
		seeds=tests/fuzz/corpus/$name
	fi
	dict=
	if test -f "tests/fuzz/$name.dict"; then
		dict=-dict=tests/fuzz/$name.dict
	fi
	# shellcheck disable=SC2086 # no seeds or dictionary: nothing
	"$out/$name" -max_total_time="$seconds" -max_len=8192 $dict \
		-artifact_prefix="$out/crash-$name-" -print_final_stats=1 \
		"$out/corpus/$name" $seeds 2>"$out/$name.log" || {
		tail -n 40 "$out/$name.log" >&2
		echo "fuzz: $name FAILED (input: $out/crash-$name-*)" >&2
		exit 1
	}
	grep -E "^stat::(number_of_executed_units|average_exec_per_sec)" \
		"$out/$name.log" | tail -n 2
	grep -E "^#[0-9]+[[:space:]]+DONE" "$out/$name.log" | tail -n 1
done
if test "$#" -gt 0; then
	echo "fuzz: $* ran $seconds s each without a finding"
else
	echo "fuzz: every target ran $seconds s without a finding"
fi
