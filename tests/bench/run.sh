#!/bin/sh
# tests/bench/run.sh - how long pre-receive takes inside a real `git push`
#
#   make bench
#   PUSHGATE_BUILD=/abs/build sh tests/bench/run.sh [WORKDIR]
#
# WORKDIR (default ${TMPDIR:-/tmp}/pushgate-bench) keeps the generated
# history between runs: WORKDIR/source.git is reused while
# WORKDIR/source.stamp matches the generator and its parameters (see
# history.sh, shared with deploy.sh). The helpers gen.c (a fast-import
# stream writer) and timeit.c (a CLOCK_MONOTONIC + wait4 timer) are
# compiled into WORKDIR/bin with $CC; report.awk turns
# WORKDIR/results.txt into the table.
#
# The history (see gen.c): BENCH_COMMITS commits on main (10000), ~1 in 25
# a merge, ~3,000 text files growing to ~5,000 files / ~105 MB at the tip,
# most of the bytes in incompressible binaries of 8 KB - 1 MB. Every
# commit passes the policy below, so each hook does all of its work and
# accepts.
#
# Scenarios, each pushed from the source repository into a fresh bare
# repository with every "way" in turn, BENCH_REPS times (3), median kept:
#   big push (small)   refs/heads/at-BENCH_SMALL (1000 commits) -> main
#   big push (full)    refs/heads/main (10000 commits) -> main
#   everyday push      after the full push, refs/heads/everyday-1..5 (10
#                      small commits each) -> main, median of the 5
# Ways:
#   pushgate   $PUSHGATE_BUILD/pre-receive, with hooks.ini (mode 0600):
#              [verify] protected, commit_message, max_file_size,
#              forbid_paths as below (skipped with a note if not built)
#   baseline   ../shared/bench/baseline-pre-receive.sh next to the source
#              tree (or $BENCH_BASELINE) with the same policy in BASE_*
#              variables (skipped with a note if absent)
#   no hook    nothing installed: the cost of the push itself
# A hooked repository's hooks/pre-receive is a wrapper that saves stdin,
# runs the real hook (hooks/real/pre-receive) under timeit, then times the
# floor `git rev-list --objects NEW --not --all` in the same quarantine
# environment, appending "label us exit maxrss_kb" lines to bench.out.
#
# Then it runs deploy.sh (`pushgate deploy` over SSH against
# `git archive | ssh tar -x`, see there), slowlink.sh (deploys over a
# rate-limited link in a private network namespace: a one-file change
# against rsync, a first deploy against `git archive | ssh tar -x`, and
# `compress = true` on a real source tree; root only, see there) and
# fleet.sh (a first deploy to ten SSH hosts, each in its own mount
# namespace, against ten `git archive | ssh tar -x` at once, and the
# memory of pushgate's whole process tree; root only, see there) on the
# same WORKDIR and history, then sigs.sh (the SSH signatures of 1,000
# commits signed by git commit -S, checked in process against git
# verify-commit; see there), page.sh (rendering and writing the status
# page with 1,000 history records), and last ops.sh (the cost of deciding
# deploy windows and of a notification per deploy).
#
# Output: progress on stderr, the figures on stdout. It is a benchmark,
# not a test: slow figures never fail it. It exits non-zero only when a
# push or deploy that should succeed fails (its output is shown) or on a
# setup error.
#
# Knobs (environment): BENCH_COMMITS (10000), BENCH_SMALL (1000),
# BENCH_REPS (3), BENCH_SEED (1), BENCH_BASELINE, BENCH_KEEP=1 (keep the
# target repositories under WORKDIR/run), CC (cc); deploy.sh also reads
# BENCH_DEPLOY_COPIES, slowlink.sh BENCH_SLOW_RATE and BENCH_SOURCE_DIR;
# BENCH_DEPLOY=0 skips the three deploy benchmarks, BENCH_SLOW=0 only the
# slow-link one, BENCH_FLEET=0 only the fleet one; BENCH_OPS=0 skips
# ops.sh (deciding windows, a notification per deploy); BENCH_SIGS=0 skips
# the signature benchmark, BENCH_SIG_COMMITS sets its commits (1000);
# BENCH_PAGE=0 skips the status page benchmark.

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
commits=${BENCH_COMMITS:-10000}
small=${BENCH_SMALL:-1000}
reps=${BENCH_REPS:-3}
seed=${BENCH_SEED:-1}
baseline=${BENCH_BASELINE:-$srcdir/../shared/bench/baseline-pre-receive.sh}
cc=${CC:-cc}
everyday_refs=5 # refs/heads/everyday-1..5 written by gen.c

policy_protected='main release/*'
policy_message='^(feat|fix|docs|chore): .{1,72}$'
policy_max_size=2M
policy_forbid='*.pem *.key id_rsa .env secrets/*'

for n in "$commits" "$small" "$reps" "$seed"; do
	case $n in '' | *[!0-9]*) die "not a number: '$n'" ;; esac
done
if ! { test "$small" -ge 1 && test "$small" -lt "$commits" &&
	test "$reps" -ge 1; }; then
	die 'need 1 <= BENCH_SMALL < BENCH_COMMITS and BENCH_REPS >= 1'
fi

# A push from here must not follow a repository or locale of the caller.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
	GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH GIT_CONFIG \
	GIT_CONFIG_PARAMETERS GIT_NAMESPACE
LC_ALL=C
export LC_ALL

mkdir -p "$work/bin"
work=$(cd "$work" && pwd -P)
src=$work/source.git
runs=$work/run
results=$work/results.txt
log=$work/push.log

# ---- helpers ---------------------------------------------------------------

# shellcheck source=tests/bench/history.sh
. "$here/history.sh"
bench_compile timeit
timeit=$work/bin/timeit

# ---- the history -----------------------------------------------------------

bench_history
n_full=$(git -C "$src" rev-list --count refs/heads/main)
n_small=$(git -C "$src" rev-list --count "refs/heads/at-$small")
size=$(git -C "$src" ls-tree -r -l refs/heads/main |
	awk '{ n++; s += $4 } END { printf "%d files, %.1f MB", n, s / 1048576 }')
say "history: $n_full commits on main (tip: $size), $n_small on at-$small"

# ---- ways ------------------------------------------------------------------

ways=
notes=
if test -x "$build/pre-receive"; then
	ways=pushgate
else
	notes="$notes
note: no pushgate column: $build/pre-receive is not built (run make)"
fi
if test -f "$baseline"; then
	ways="$ways baseline"
else
	notes="$notes
note: no baseline column (and no comparison): $baseline is absent"
fi
ways="$ways none"

# shq WORD: WORD single-quoted for sh
shq() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# write_wrapper FILE WAY: the timing hooks/pre-receive (see the header)
write_wrapper() {
	{
		printf '#!/bin/sh\n'
		printf '# by tests/bench/run.sh: times the real hook and\n'
		printf '# the floor, appending to bench.out (cwd = GIT_DIR)\n'
		printf 'set -u\n'
		if test "$2" = baseline; then
			for kv in "BASE_PROTECTED=$policy_protected" \
				"BASE_COMMIT_MESSAGE=$policy_message" \
				"BASE_MAX_FILE_SIZE=$policy_max_size" \
				"BASE_FORBID_PATHS=$policy_forbid"; do
				printf 'export %s=%s\n' "${kv%%=*}" "$(shq "${kv#*=}")"
			done
		fi
		cat <<'EOF'
cat >bench.stdin || exit 1
new=$(awk '$3 == "refs/heads/main" { print $2; exit }' bench.stdin)
hooks/bench-timeit bench.out hook hooks/real/pre-receive <bench.stdin
rc=$?
if test -n "$new"; then
	hooks/bench-timeit bench.out floor \
		git rev-list --objects "$new" --not --all </dev/null >/dev/null
fi
exit "$rc"
EOF
	} >"$1"
	chmod 755 "$1"
}

# setup_target DIR WAY: a fresh bare repository with WAY's hook
setup_target() {
	rm -rf "$1"
	git init -q --bare "$1"
	git -C "$1" config gc.auto 0
	git -C "$1" config receive.autogc false
	case $2 in
	none) return 0 ;;
	pushgate) real=$build/pre-receive ;;
	baseline) real=$baseline ;;
	*) die "unknown way $2" ;;
	esac
	mkdir -p "$1/hooks/real"
	cp "$real" "$1/hooks/real/pre-receive"
	chmod 755 "$1/hooks/real/pre-receive"
	cp "$timeit" "$1/hooks/bench-timeit"
	if test "$2" = pushgate; then
		(
			umask 077
			printf '[verify]\n'
			printf 'protected = %s\n' "$policy_protected"
			printf 'commit_message = %s\n' "$policy_message"
			printf 'max_file_size = %s\n' "$policy_max_size"
			printf 'forbid_paths = %s\n' "$policy_forbid"
		) >"$1/hooks.ini"
		chmod 600 "$1/hooks.ini"
	fi
	write_wrapper "$1/hooks/pre-receive" "$2"
}

# push TARGET REFSPEC SCENARIO WAY REP: push, record the timings
push() {
	: >"$1/bench.out"
	if ! "$timeit" "$1/bench.out" push \
		git -C "$src" push --quiet "$1" "$2" >"$log" 2>&1; then
		say "push of $2 into $1 ($4, $3, run $5) failed:"
		cat "$log" >&2
		exit 1
	fi
	case $4 in none) ;; *)
		grep -q '^hook ' "$1/bench.out" ||
			die "the $4 hook did not run in $1 (see $log)"
		if grep -q '^floor [0-9]* [1-9]' "$1/bench.out"; then
			say "warning: the floor rev-list failed in $1 (see $log)"
		fi
		;;
	esac
	awk -v s="$3" -v w="$4" -v r="$5" '{ print s, w, r, $0 }' \
		"$1/bench.out" >>"$results"
}

# ---- measurements ------------------------------------------------------------

: >"$results"
mkdir -p "$runs"
for scen in small full; do
	if test "$scen" = small; then
		ref=refs/heads/at-$small n=$n_small
	else
		ref=refs/heads/main n=$n_full
	fi
	rep=1
	while test "$rep" -le "$reps"; do
		for way in $ways; do
			say "big push of $n commits, $way, run $rep/$reps"
			setup_target "$runs/$scen-$way" "$way"
			push "$runs/$scen-$way" "$ref:refs/heads/main" "$scen" \
				"$way" "$rep"
		done
		rep=$((rep + 1))
	done
	if test "$scen" = small; then
		for way in $ways; do
			rm -rf "${runs:?}/$scen-$way"
		done
	fi
done
# the last full push of each way has landed: now the everyday pushes
k=1
while test "$k" -le "$everyday_refs"; do
	for way in $ways; do
		say "everyday push $k/$everyday_refs, $way"
		push "$runs/full-$way" "refs/heads/everyday-$k:refs/heads/main" \
			everyday "$way" "$k"
	done
	k=$((k + 1))
done
n_everyday=$(git -C "$src" rev-list --count main..everyday-1)
if test "${BENCH_KEEP:-0}" != 1; then
	rm -rf "$runs"
fi

# ---- report ------------------------------------------------------------------

rss_note=
case " $ways " in *" pushgate "*) ;; *) rss_note=' (no pushgate hook)' ;; esac

awk -v n_small="$n_small" -v n_full="$n_full" -v n_every="$n_everyday" \
	-v reps="$reps" -v every="$everyday_refs" -v rss_note="$rss_note" \
	-f "$here/report.awk" "$results"
if test -n "$notes"; then
	printf '%s\n' "$notes"
fi
printf '\nraw timings: %s\n' "$results"

# ---- then the deploy benchmark (same WORKDIR, same history) ----------------

if test "${BENCH_DEPLOY:-1}" != 0
then
	PUSHGATE_BUILD=$build sh "$here/deploy.sh" "$work"
	if test "${BENCH_SLOW:-1}" != 0
	then
		PUSHGATE_BUILD=$build sh "$here/slowlink.sh" "$work"
	fi
	if test "${BENCH_FLEET:-1}" != 0
	then
		PUSHGATE_BUILD=$build sh "$here/fleet.sh" "$work"
	fi
fi

# ---- then the signature benchmark (its own history, same WORKDIR) ----------

if test "${BENCH_SIGS:-1}" != 0
then
	PUSHGATE_BUILD=$build sh "$here/sigs.sh" "$work"
fi

# ---- the status page with a long history -----------------------------------

if test "${BENCH_PAGE:-1}" != 0
then
	PUSHGATE_BUILD=$build sh "$here/page.sh" "$work"
fi

# ---- and what operating it costs: windows, notifications --------------------

if test "${BENCH_OPS:-1}" != 0
then
	PUSHGATE_BUILD=$build sh "$here/ops.sh" "$work"
fi
