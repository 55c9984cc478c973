#!/bin/sh
# tests/bench/ops.sh - what operating the pipeline costs: deciding deploy
# windows, a notification per deploy, and the build and test sandbox
#
#   make bench            (run.sh runs this last)
#   PUSHGATE_BUILD=/abs/build sh tests/bench/ops.sh [WORKDIR]
#
# windows  windows.c, linked against $PUSHGATE_BUILD/libpushgate.a with
#          the build's flags: ten windows in four zones decided 100,000
#          times at instants spread over 2026 (microseconds per decision)
# notify   BENCH_OPS_DEPLOYS (20) deploys of a small tree to a `local`
#          host, `pushgate deploy --force` each, with no notify and with
#          `notify = cat >/dev/null` (the document read and dropped),
#          interleaved; the medians and their difference are the cost of
#          a notification (building the document with its commits, one
#          fork and exec of /bin/sh)
# sandbox  sandbox.c, linked the same way: building the Landlock rules of
#          a checkout (files; files and TCP ports) and running /bin/true
#          unconfined and confined, 50 times each; the cost per test run
#
# Output: progress on stderr, the figures on stdout. A benchmark, not a
# test: it fails only on a setup error.
set -eu

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}

here=$(cd "$(dirname "$0")" && pwd -P)
srcdir=$(cd "$here/../.." && pwd -P)
build=${PUSHGATE_BUILD:-$srcdir/build}
work=${1:-${TMPDIR:-/tmp}/pushgate-bench}
deploys=${BENCH_OPS_DEPLOYS:-20}
cc=${CC:-cc}
case $deploys in '' | *[!0-9]*) die "not a number: '$deploys'" ;; esac

unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
	GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH GIT_CONFIG \
	GIT_CONFIG_PARAMETERS GIT_NAMESPACE
LC_ALL=C
export LC_ALL

if ! test -f "$build/libpushgate.a" || ! test -f "$build/flags" ||
	! test -x "$build/pushgate"; then
	printf '\nnote: no operations benchmark: %s is not built (run make)\n' \
		"$build"
	exit 0
fi
mkdir -p "$work"
work=$(cd "$work" && pwd -P)
ops=$work/ops
rm -rf "$ops"
mkdir -p "$ops" "$work/bin"

# shellcheck source=tests/bench/history.sh
. "$here/history.sh"
bench_compile timeit
timeit=$work/bin/timeit

# ---- windows -----------------------------------------------------------------

compile=$(sed -n 1p "$build/flags")
link=$(sed -n 2p "$build/flags")
# shellcheck disable=SC2086 # lists of words
$compile -I"$srcdir/include" -o "$work/bin/windows" "$here/windows.c" \
	"$build/libpushgate.a" $link || die "cannot compile windows.c"
say "deciding ten windows 100,000 times"
"$work/bin/windows" 100000 >"$ops/windows.out" || die "windows failed"

# ---- sandbox -----------------------------------------------------------------

# shellcheck disable=SC2086 # lists of words
$compile -I"$srcdir/include" -o "$work/bin/sandbox" "$here/sandbox.c" \
	"$build/libpushgate.a" $link || die "cannot compile sandbox.c"
mkdir -p "$ops/box.git/pushgate/tmp/checkout"
say "building sandboxes and running /bin/true in them, 50 times"
"$work/bin/sandbox" 50 "$ops/box.git" "${HOME:-/root}/.ssh" \
	>"$ops/sandbox.out" || die "sandbox failed"

# ---- notify ------------------------------------------------------------------

repo=$ops/repo.git
say "a repository with a small tree, deployed to a local host"
sh "$srcdir/install.sh" --init "$repo" >"$ops/install.log" 2>&1 ||
	die "install.sh failed: $(cat "$ops/install.log")"
git init -q "$ops/work"
(
	cd "$ops/work"
	i=0
	while test "$i" -lt 50; do
		printf 'file %s\n' "$i" >"f$i.txt"
		i=$((i + 1))
	done
	git add . &&
		git -c user.name=b -c user.email=b@example.com commit -q -m tree &&
		git push -q "$repo" HEAD:refs/heads/main
) || die "cannot make the repository"

# ini NOTIFY: hooks.ini with that notify line (or none)
ini() {
	(
		umask 077
		printf '%s\n' "$1"
		printf '[environment "ops"]\nbranch = main\nhosts = local\n'
		printf 'path = %s/target\nkeep = 2\n' "$ops"
	) >"$repo/hooks.ini"
}

: >"$ops/results.txt"
rep=1
while test "$rep" -le "$deploys"; do
	for way in plain notify; do
		if test "$way" = notify; then
			ini '[core]
notify = cat >/dev/null'
		else
			ini ''
		fi
		"$timeit" "$ops/results.txt" "$way" "$build/pushgate" -C "$repo" \
			deploy --force ops >"$ops/deploy.log" 2>&1 ||
			die "deploy failed ($way): $(cat "$ops/deploy.log")"
	done
	rep=$((rep + 1))
done

# ---- report ------------------------------------------------------------------

awk -v n="$deploys" '
function med(w,    k, i, j, t, a) {
	k = cnt[w]
	for (i = 1; i <= k; i++)
		a[i] = v[w, i]
	for (i = 2; i <= k; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
{ v[$1, ++cnt[$1]] = $2 / 1000 }
END {
	p = med("plain")
	q = med("notify")
	printf "\nnotification overhead per deploy (a local host, 50 files, "
	printf "median of %d)\n", n
	printf "  deploy without notify  %7.1f ms\n", p
	printf "  deploy with notify     %7.1f ms\n", q
	printf "  the notification       %7.1f ms\n", q - p
}' "$ops/results.txt"
printf '\ndeploy windows\n  '
cat "$ops/windows.out"
printf '\n'
cat "$ops/sandbox.out"
printf '\nraw figures: %s\n' "$ops/results.txt"
