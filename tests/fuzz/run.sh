#!/bin/sh
# tests/fuzz/run.sh - build the libFuzzer targets of tests/fuzz/ and run
# each for a while (`make fuzz`).
#
#   sh tests/fuzz/run.sh [SECONDS]     (default: FUZZ_TIME or 60)
#
# The parsers of untrusted or hand-written input are fuzzed with clang's
# libFuzzer under ASan and UBSan: SSH signatures and allowed-signers files
# (fuzz_sshsig), cron expressions and local times (fuzz_cron), TZif zone
# files (fuzz_tzif). libpushgate is built into build-fuzz/ with clang and
# -fsanitize=fuzzer-no-link; each target starts from its seeds in
# tests/fuzz/corpus/NAME/ (new finds go to build-fuzz/corpus/NAME/, not
# into the tree). A crash stops the run, leaves the input in
# build-fuzz/crash-*, and exits 1. Needs clang-14 and libfuzzer-14-dev,
# which tests/deps.sh --fuzz installs (as root).
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
	# shellcheck disable=SC2086 # no seeds: nothing
	"$out/$name" -max_total_time="$seconds" -max_len=8192 \
		-artifact_prefix="$out/crash-$name-" -print_final_stats=1 \
		"$out/corpus/$name" $seeds 2>"$out/$name.log" || {
		tail -n 40 "$out/$name.log" >&2
		echo "fuzz: $name FAILED (input: $out/crash-$name-*)" >&2
		exit 1
	}
	grep -E "^stat::(number_of_executed_units|average_exec_per_sec)" \
		"$out/$name.log" | tail -n 2
done
echo "fuzz: every target ran $seconds s without a finding"
