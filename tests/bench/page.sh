#!/bin/sh
# tests/bench/page.sh - what writing the status page costs (SPEC §15)
#
#   PUSHGATE_BUILD=/abs/build sh tests/bench/page.sh [WORKDIR]
#
# WORKDIR (default ${TMPDIR:-/tmp}/pushgate-bench) is shared with run.sh.
# WORKDIR/page/repo.git gets three `local` environments (staging,
# production requiring it, europe requiring production), a branch of
# BENCH_PAGE_COMMITS (200) commits of which staging has the tip live and
# production one 50 commits older, and a history of BENCH_PAGE_RECORDS
# (1000) records; statuspage.c, linked against
# $PUSHGATE_BUILD/libpushgate.a with the build's own flags, then renders
# the page BENCH_PAGE_RUNS (50) times and writes it as many times.
#
# Output: progress on stderr, the figures on stdout (milliseconds,
# medians). A benchmark, not a test: slow figures never fail it (the
# target is under 20 ms to render with 1,000 records).
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
commits=${BENCH_PAGE_COMMITS:-200}
records=${BENCH_PAGE_RECORDS:-1000}
runs=${BENCH_PAGE_RUNS:-50}
for v in "$commits" "$records" "$runs"; do
	case $v in '' | *[!0-9]*) die "not a number: '$v'" ;; esac
done
test "$commits" -ge 60 || die 'need BENCH_PAGE_COMMITS >= 60'

unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
	GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH GIT_CONFIG \
	GIT_CONFIG_PARAMETERS GIT_NAMESPACE
LC_ALL=C
export LC_ALL

if ! test -f "$build/libpushgate.a" || ! test -f "$build/flags" ||
	! test -x "$build/pushgate"; then
	printf '\nnote: no status page benchmark: %s is not built (run make)\n' \
		"$build"
	exit 0
fi
mkdir -p "$work"
work=$(cd "$work" && pwd -P)
page=$work/page
repo=$page/repo.git
rm -rf "$page"
mkdir -p "$page/bin"

compile=$(sed -n 1p "$build/flags")
link=$(sed -n 2p "$build/flags")
# shellcheck disable=SC2086 # lists of words
$compile -I"$srcdir/include" -o "$page/bin/statuspage" \
	"$here/statuspage.c" "$build/libpushgate.a" $link ||
	die "cannot compile statuspage.c"

say "a repository with $commits commits and three environments"
git init -q --bare "$repo"
git init -q -b main "$page/w"
(
	cd "$page/w"
	git config user.name Bench
	git config user.email bench@example.com
	i=0
	while test "$i" -lt "$commits"; do
		i=$((i + 1))
		echo "$i" >file
		git add file
		git commit -q -m "change $i: a subject of a usual length, <b>"
	done
	git push -q "$repo" main main~50:refs/heads/production \
		main~80:refs/heads/europe
) || die "cannot make the repository"
git -C "$repo" update-ref refs/environments/staging main
git -C "$repo" update-ref refs/environments/production production
git -C "$repo" update-ref refs/environments/europe europe
cat >"$repo/hooks.ini" <<INI
[core]
status_page = $page/www
[environment "staging"]
branch = main
hosts = local
path = $page/srv/staging
[environment "production"]
branch = production
mode = manual
requires = staging
hosts = local
path = $page/srv/production
[environment "europe"]
branch = europe
mode = manual
requires = production
hosts = local
path = $page/srv/europe
INI
chmod 600 "$repo/hooks.ini"

say "rendering the page with $records history records, $runs times"
"$page/bin/statuspage" "$repo" "$records" "$runs" >"$page/results.txt" ||
	die "statuspage failed"
awk -v records="$records" '
	$1 == "render" {
		printf "\n| status page, %d records | median | fastest |\n", records
		printf "|---|---|---|\n"
		printf "| render (HTML %.0f KB, JSON %.0f KB) | %.2f ms | %.2f ms |\n",
			$4 / 1024, $5 / 1024, $2 / 1000, $3 / 1000
	}
	$1 == "update" {
		printf "| write both, twice (temp file, fsync, rename) | %.2f ms | %.2f ms |\n",
			$2 / 1000, $3 / 1000
	}
' "$page/results.txt"
