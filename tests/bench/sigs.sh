#!/bin/sh
# tests/bench/sigs.sh - what checking SSH commit signatures costs
#
#   PUSHGATE_BUILD=/abs/build sh tests/bench/sigs.sh [WORKDIR]
#
# WORKDIR (default ${TMPDIR:-/tmp}/pushgate-bench) is shared with run.sh.
# WORKDIR/sigs/repo.git holds BENCH_SIG_COMMITS (1000) commits on main,
# each changing one file and signed by `git commit -S` with
# gpg.format=ssh and an Ed25519 key of WORKDIR/sigs (made by ssh-keygen);
# it is made once and reused while WORKDIR/sigs/stamp matches.
#
# Ways, over every commit of main, BENCH_REPS times (3), median kept:
#   pushgate     sigcheck.c, linked against $PUSHGATE_BUILD/libpushgate.a
#                with the build's own flags: repo_commit_signature() and
#                sshsig_check() per commit, in one process (the loop only;
#                the allowed-signers file is loaded once before)
#   verify-commit  git -c gpg.ssh.allowedSignersFile=F verify-commit with
#                every commit id at once (git runs ssh-keygen per commit)
#   log          git -c gpg.ssh.allowedSignersFile=F log --show-signature
# Every way must find every signature good, else the script fails.
#
# Output: progress on stderr, the figures on stdout (microseconds per
# commit). A benchmark, not a test: slow figures never fail it.
#
# Knobs (environment): BENCH_SIG_COMMITS (1000), BENCH_REPS (3), CC (cc).

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
n=${BENCH_SIG_COMMITS:-1000}
reps=${BENCH_REPS:-3}
cc=${CC:-cc}

for v in "$n" "$reps"; do
	case $v in '' | *[!0-9]*) die "not a number: '$v'" ;; esac
done
if ! { test "$n" -ge 1 && test "$reps" -ge 1; }; then
	die 'need BENCH_SIG_COMMITS >= 1 and BENCH_REPS >= 1'
fi

unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
	GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH GIT_CONFIG \
	GIT_CONFIG_PARAMETERS GIT_NAMESPACE
LC_ALL=C
export LC_ALL

if ! test -f "$build/libpushgate.a" || ! test -f "$build/flags"; then
	printf '\nnote: no signature benchmark: %s is not built (run make)\n' \
		"$build/libpushgate.a"
	exit 0
fi
command -v ssh-keygen >/dev/null 2>&1 || die "ssh-keygen is not installed"

mkdir -p "$work"
work=$(cd "$work" && pwd -P)
sigs=$work/sigs
repo=$sigs/repo.git
signers=$sigs/allowed_signers
results=$sigs/results.txt

# shellcheck source=tests/bench/history.sh
. "$here/history.sh"
bench_compile timeit
timeit=$work/bin/timeit

# sigcheck.c with the flags the build used (the Makefile's $(B)/flags:
# the compile command on its first line, the link flags and libraries on
# its second)
compile=$(sed -n 1p "$build/flags")
link=$(sed -n 2p "$build/flags")
# shellcheck disable=SC2086 # lists of words
$compile -I"$srcdir/include" -o "$work/bin/sigcheck" "$here/sigcheck.c" \
	"$build/libpushgate.a" $link || die "cannot compile sigcheck.c"

# ---- the signed history, once ------------------------------------------------

stamp="sigs-1 $n $(ssh -V 2>&1) $(git --version)"
if test -d "$repo" && test -f "$sigs/stamp" &&
	test "$(cat "$sigs/stamp")" = "$stamp"; then
	say "reusing $repo"
else
	say "signing $n commits into $repo (once)"
	rm -rf "$sigs"
	mkdir -p "$sigs"
	ssh-keygen -q -t ed25519 -N '' -C bench@example.com -f "$sigs/key"
	printf 'bench@example.com %s\n' "$(cut -d ' ' -f 1,2 "$sigs/key.pub")" \
		>"$signers"
	git init -q -b main "$sigs/w"
	(
		cd "$sigs/w"
		git config user.name Bench
		git config user.email bench@example.com
		git config gpg.format ssh
		git config user.signingkey "$sigs/key"
		i=1
		while test "$i" -le "$n"; do
			printf 'change %d\n' "$i" >>file.txt
			git add file.txt
			git commit -q -S -m "feat: change $i"
			i=$((i + 1))
		done
	)
	git clone -q --bare "$sigs/w" "$repo"
	rm -rf "$sigs/w"
	printf '%s\n' "$stamp" >"$sigs/stamp"
fi
count=$(git -C "$repo" rev-list --count main)
test "$count" -eq "$n" || die "$repo has $count commits, not $n"
git -C "$repo" rev-list main >"$sigs/ids"

# ---- measurements --------------------------------------------------------------

: >"$results"
say "pushgate: $n commits, $reps runs in one process"
"$work/bin/sigcheck" "$repo" "$signers" main "$reps" >"$sigs/pushgate.out" ||
	die "sigcheck did not find every signature good"
awk '{ print "pushgate", $2, $3, $5 }' "$sigs/pushgate.out" >>"$results"

rep=1
while test "$rep" -le "$reps"; do
	say "git verify-commit, run $rep/$reps"
	: >"$sigs/t.out"
	# shellcheck disable=SC2046 # one argument per commit id
	"$timeit" "$sigs/t.out" verify-commit \
		git -C "$repo" -c gpg.ssh.allowedSignersFile="$signers" \
		verify-commit $(cat "$sigs/ids") >/dev/null 2>"$sigs/verify.err" ||
		die "git verify-commit failed (see $sigs/verify.err)"
	good=$(grep -c '^Good "git" signature for bench@example.com' \
		"$sigs/verify.err" || :)
	awk -v r="$rep" -v g="$good" '{ print $1, r, $2, g }' "$sigs/t.out" \
		>>"$results"

	say "git log --show-signature, run $rep/$reps"
	: >"$sigs/t.out"
	"$timeit" "$sigs/t.out" log \
		git -C "$repo" -c gpg.ssh.allowedSignersFile="$signers" \
		log --show-signature --format=%H main >"$sigs/log.out" 2>&1 ||
		die "git log --show-signature failed"
	good=$(grep -c '^Good "git" signature for bench@example.com' \
		"$sigs/log.out" || :)
	awk -v r="$rep" -v g="$good" '{ print $1, r, $2, g }' "$sigs/t.out" \
		>>"$results"
	rep=$((rep + 1))
done

# ---- report ------------------------------------------------------------------

# results.txt: WAY RUN MICROSECONDS GOOD
awk -v n="$n" -v reps="$reps" '
function median(way,   i, j, k, t, a) {
	k = 0
	for (i = 1; i <= reps; i++)
		a[++k] = us[way, i]
	for (i = 1; i <= k; i++)
		for (j = i + 1; j <= k; j++)
			if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return a[int((k + 1) / 2)]
}
{
	us[$1, $2] = $3
	if ($4 != n)
		bad = bad sprintf("\nwarning: %s run %s found %s good of %d",
				  $1, $2, $4, n)
}
END {
	p = median("pushgate")
	printf "\nSSH commit signatures: %d commits signed by git commit -S " \
	       "(Ed25519), median of %d\n", n, reps
	printf "%-44s %10s %12s\n", "way", "total", "per commit"
	printf "%-44s %8.1f ms %9.1f us\n", "pushgate (extract + sshsig_check)",
	       p / 1000, p / n
	w = median("verify-commit")
	printf "%-44s %8.1f ms %9.1f us  (%.0fx)\n",
	       "git verify-commit (all ids at once)", w / 1000, w / n, w / p
	l = median("log")
	printf "%-44s %8.1f ms %9.1f us  (%.0fx)\n",
	       "git log --show-signature", l / 1000, l / n, l / p
	if (bad != "")
		print bad
}' "$results"
printf '\nraw figures: %s\n' "$results"
