#!/bin/sh
# tests/bench/deploy.sh - how long `pushgate deploy` takes to ship a
# release to an SSH host, against `git archive | ssh tar -x`
#
#   make bench            (run.sh runs this after its own figures)
#   PUSHGATE_BUILD=/abs/build sh tests/bench/deploy.sh [WORKDIR]
#
# WORKDIR (default ${TMPDIR:-/tmp}/pushgate-bench) is shared with run.sh:
# WORKDIR/source.git, the generated history (see history.sh and gen.c),
# is reused, or generated once. The tip of main holds ~5,000 files /
# ~105 MB, most of it incompressible.
#
# Setup: one OpenSSH server on 127.0.0.1 (tests/sshd.sh, own keys and
# known_hosts, stopped at the end); WORKDIR/deploy/repo.git, a local
# clone of the history with pushgate's hooks (install.sh), a second
# commit refs/heads/bench-big whose tree is the tip's tree
# BENCH_DEPLOY_COPIES times over (copy0/ ... copy9/: ~53,000 entries,
# ~1.1 GB; no new blobs), and a hooks.ini with one environment:
#
#   [environment "bench"]  branch = main, hosts = USER@127.0.0.1:PORT,
#   identity, known_hosts (from sshd.sh), path = TARGET/pg, keep = 1,
#   no build (the release is the commit's tree, streamed from the odb)
#
# TARGET is a fresh /dev/shm/pushgate-bench-PID (tmpfs: the remote tar
# writes to memory, not a disk) when /dev/shm has room for the largest
# tree twice over, else WORKDIR/deploy/target (said in the output).
#
# For each tree (tip, then big), BENCH_REPS times (3), interleaved, the
# median kept:
#   pushgate  `pushgate -C REPO deploy --force --full bench REV` (the whole
#             command: lock, connect, the remote commands, upload, switch,
#             prune, history) under timeit, as the baseline, after
#             `rm -rf TARGET/pg/releases` so every run uploads everything;
#             its own "uploaded ... in S s" line is kept as the upload
#             column
#   baseline  git -C REPO archive REV | ssh ... 'mkdir -p DIR && tar -x
#             -C DIR' with the OpenSSH client, into a fresh DIR
#   floor     cat FILE | ssh ... 'cat >/dev/null', FILE holding exactly
#             git archive's output (the same bytes, from the target file
#             system)
# The OpenSSH client runs with -F /dev/null, the same key and
# known_hosts, and its default cipher (named in the output).
#
# Memory: after each timed run, the same deploy again, untimed, under
# treemem, which reports wait4's ru_maxrss (the peak of the process and
# its waited-for worker: exact) and, sampled from /proc every 10 ms, each
# process's own peak and how much of it was anonymous memory versus
# mapped files (the Git pack). The verdict is on the largest anonymous
# peak (memory of the process's own, which must not grow with the tree);
# the mapped pack is shared with the page cache and bounded by the
# export's windows (256 MB). Not timed: the sampling costs CPU, which
# the baseline would not pay.
#
# Also measured, to read the figures: one OpenSSH session running `true`,
# and one more command over an open connection (ControlMaster), i.e. what
# each remote command costs on this server (the login shell's start-up
# is paid once per command; pushgate pays it once per host: one shell
# runs the upload and every command after it).
#
# Output: progress on stderr, the figures on stdout. A benchmark, not a
# test: slow figures never fail it. It exits non-zero only on a setup
# error or when a deploy or a baseline fails (its output is shown).
#
# Knobs (environment): BENCH_REPS (3), BENCH_DEPLOY_COPIES (10; 0 skips
# the big tree), BENCH_COMMITS, BENCH_SMALL, BENCH_SEED (as run.sh: they
# name the history), BENCH_KEEP=1 (keep WORKDIR/deploy), CC (cc).

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
copies=${BENCH_DEPLOY_COPIES:-10}
cc=${CC:-cc}

for n in "$commits" "$small" "$reps" "$seed" "$copies"; do
	case $n in '' | *[!0-9]*) die "not a number: '$n'" ;; esac
done
test "$reps" -ge 1 || die 'need BENCH_REPS >= 1'

unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
	GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH GIT_CONFIG \
	GIT_CONFIG_PARAMETERS GIT_NAMESPACE
LC_ALL=C
export LC_ALL

if ! test -x "$build/pushgate"; then
	printf '\nnote: no deploy benchmark: %s is not built (run make)\n' \
		"$build/pushgate"
	exit 0
fi
for tool in ssh /usr/sbin/sshd tar; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

mkdir -p "$work"
work=$(cd "$work" && pwd -P)
dep=$work/deploy
repo=$dep/repo.git
results=$dep/results.txt
log=$dep/deploy.log
target=
sshd_up=false

cleanup() {
	if $sshd_up; then
		sh "$srcdir/tests/sshd.sh" stop "$dep/sshd" || :
	fi
	if test -n "$target"; then
		rm -rf "$target"
	fi
	rm -f "$dep/ctl"
	if test "${BENCH_KEEP:-0}" != 1; then
		rm -rf "$repo"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the history and the repository -------------------------------------

# shellcheck source=tests/bench/history.sh
. "$here/history.sh"
bench_history
bench_compile timeit treemem
timeit=$work/bin/timeit
treemem=$work/bin/treemem

rm -rf "$dep"
mkdir -p "$dep"
: >"$results"
git clone -q --bare "$src" "$repo"
git -C "$repo" config gc.auto 0
PUSHGATE_BUILD=$build sh "$srcdir/install.sh" "$repo" >"$log" 2>&1 ||
	{
		cat "$log" >&2
		die "install.sh failed"
	}
tip=$(git -C "$repo" rev-parse --verify refs/heads/main)
trees=tip
if test "$copies" -gt 0; then
	t=$(git -C "$repo" rev-parse --verify 'refs/heads/main^{tree}')
	k=0
	big=$(while test "$k" -lt "$copies"; do
		printf '040000 tree %s\tcopy%d\n' "$t" "$k"
		k=$((k + 1))
	done | git -C "$repo" mktree)
	big=$(echo "bench: $copies copies of the tip" |
		GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com \
			GIT_COMMITTER_NAME=bench \
			GIT_COMMITTER_EMAIL=bench@example.com \
			GIT_AUTHOR_DATE='1700000000 +0000' \
			GIT_COMMITTER_DATE='1700000000 +0000' \
			git -C "$repo" commit-tree "$big" -p "$tip")
	git -C "$repo" update-ref refs/heads/bench-big "$big"
	trees="tip big"
fi

# rev_of TREE, bytes_of TREE (the sum of the blob sizes)
rev_of() {
	case $1 in tip) echo "$tip" ;; big) echo "$big" ;; esac
}
blob_bytes() {
	git -C "$repo" ls-tree -r -l "$(rev_of "$1")" |
		awk '{ s += $4 } END { printf "%.0f\n", s }'
}

# ---- the target ------------------------------------------------------------

largest=0
for t in $trees; do
	n=$(blob_bytes "$t")
	test "$n" -le "$largest" || largest=$n
done
# the stream file + one unpacked copy, each a little over the blobs
need_kb=$((largest * 23 / 10240 + 65536))
shm_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
target_note=
if test -n "$shm_kb" && test "$shm_kb" -ge "$need_kb"; then
	target=/dev/shm/pushgate-bench-$$
	target_fs='tmpfs (/dev/shm)'
else
	target=$dep/target
	target_fs="disk ($target)"
	target_note="note: /dev/shm has ${shm_kb:-no} KB free, $need_kb KB needed: the target is on disk"
fi
rm -rf "$target"
mkdir -p "$target"

# ---- the server --------------------------------------------------------------

say "starting sshd"
sh "$srcdir/tests/sshd.sh" start "$dep/sshd" 1 || die 'sshd.sh start failed'
sshd_up=true
# shellcheck disable=SC1091 # written by sshd.sh
. "$dep/sshd/env"
# shellcheck disable=SC2153 # set by the env file
port=$SSHD_PORT1
host=$SSHD_USER@127.0.0.1

(
	umask 077
	printf '[environment "bench"]\n'
	printf 'branch = main\n'
	printf 'hosts = %s:%s\n' "$host" "$port"
	printf 'identity = %s\n' "$SSHD_KEY"
	printf 'known_hosts = %s\n' "$SSHD_KNOWN_HOSTS"
	printf 'path = %s/pg\n' "$target"
	printf 'keep = 1\n'
) >"$repo/hooks.ini"
chmod 600 "$repo/hooks.ini"
if ! "$build/pushgate" -C "$repo" check >"$log" 2>&1; then
	cat "$log" >&2
	die "pushgate check failed"
fi

# the OpenSSH client, as the baseline uses it
ssh_opts="-F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes
-o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null"
# shellcheck disable=SC2086 # ssh_opts is a list of words
sshc() {
	ssh $ssh_opts -o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS" \
		-i "$SSHD_KEY" -p "$port" "$@"
}
cipher=$(sshc -v "$host" true 2>&1 |
	sed -n 's/.*kex: client->server cipher: \([^ ]*\) MAC: \([^ ]*\).*/\1 (MAC \2)/p' |
	head -n 1)
cipher=${cipher:-unknown}

# the helpers timed by timeit: sh FILE ARGS
cat >"$dep/base.sh" <<'EOF'
# base.sh REPO REV DIR SSH-ARGS...: git archive | ssh tar -x
repo=$1 rev=$2 dir=$3
shift 3
git -C "$repo" archive "$rev" |
	ssh "$@" "mkdir -p '$dir' && tar -x -C '$dir'"
EOF
cat >"$dep/floor.sh" <<'EOF'
# floor.sh FILE SSH-ARGS...: cat FILE | ssh cat >/dev/null
file=$1
shift
cat "$file" | ssh "$@" 'cat >/dev/null'
EOF

# ---- measurements ------------------------------------------------------------

# record TREE WAY REP FILE: the lines of FILE, prefixed
record() {
	awk -v t="$1" -v w="$2" -v r="$3" '{ print t, w, r, $0 }' "$4" \
		>>"$results"
}

# pg_deploy TOOL REV: a full deploy of REV under TOOL (timeit or treemem),
# whose figures go to t.out and output to the log
pg_deploy() {
	rm -rf "$target/pg/releases"
	: >"$dep/t.out"
	if ! "$1" "$dep/t.out" pushgate "$build/pushgate" -C "$repo" \
		deploy --force --full bench "$2" >"$log" 2>&1; then
		cat "$log" >&2
		die "pushgate deploy of $2 under ${1##*/} failed"
	fi
}

# the cost of an OpenSSH session, and of one more remote command
: >"$dep/t.out"
rep=1
while test "$rep" -le "$reps"; do
	# shellcheck disable=SC2086 # ssh_opts is a list of words
	"$timeit" "$dep/t.out" session ssh $ssh_opts \
		-o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS" -i "$SSHD_KEY" \
		-p "$port" "$host" true || die 'ssh true failed'
	rep=$((rep + 1))
done
if sshc -o ControlMaster=yes -o "ControlPath=$dep/ctl" -f -N "$host"; then
	rep=1
	while test "$rep" -le "$reps"; do
		# shellcheck disable=SC2086 # ssh_opts is a list of words
		"$timeit" "$dep/t.out" command ssh $ssh_opts \
			-o "ControlPath=$dep/ctl" -p "$port" "$host" true ||
			die 'ssh true over the master connection failed'
		rep=$((rep + 1))
	done
	sshc -o "ControlPath=$dep/ctl" -O exit "$host" 2>/dev/null || :
fi
record - ssh 0 "$dep/t.out"

for t in $trees; do
	rev=$(rev_of "$t")
	file=$target/stream.tar
	git -C "$repo" archive "$rev" >"$file"
	bytes=$(wc -c <"$file" | tr -d ' ')
	echo "$t bytes 0 $bytes" >>"$results"
	rep=1
	while test "$rep" -le "$reps"; do
		say "deploy of the $t tree ($((bytes / 1048576)) MB), run $rep/$reps"
		pg_deploy "$timeit" "$rev"
		sed -n 's/.*uploaded \([0-9]*\) entries, .* in \([0-9.]*\) s$/upload \2 0 0 \1/p' \
			"$log" >>"$dep/t.out"
		record "$t" pg "$rep" "$dep/t.out"
		pg_deploy "$treemem" "$rev"
		record "$t" mem "$rep" "$dep/t.out"

		rm -rf "$target/base"
		: >"$dep/t.out"
		# shellcheck disable=SC2086 # ssh_opts is a list of words
		if ! "$timeit" "$dep/t.out" baseline sh "$dep/base.sh" \
			"$repo" "$rev" "$target/base" $ssh_opts \
			-o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS" \
			-i "$SSHD_KEY" -p "$port" "$host" >"$log" 2>&1; then
			cat "$log" >&2
			die "the baseline for $t failed"
		fi
		# shellcheck disable=SC2086 # ssh_opts is a list of words
		"$timeit" "$dep/t.out" floor sh "$dep/floor.sh" "$file" \
			$ssh_opts -o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS" \
			-i "$SSHD_KEY" -p "$port" "$host" >"$log" 2>&1 ||
			{
				cat "$log" >&2
				die "the floor for $t failed"
			}
		record "$t" ssh "$rep" "$dep/t.out"
		rep=$((rep + 1))
	done
	rm -rf "$target/pg" "$target/base" "$file"
done

# ---- report ------------------------------------------------------------------

awk -v reps="$reps" -v copies="$copies" -v cipher="$cipher" \
	-v target_fs="$target_fs" -v nproc="$(nproc 2>/dev/null || echo '?')" \
	-f "$here/deploy.awk" "$results"
if test -n "$target_note"; then
	printf '%s\n' "$target_note"
fi
if test "${BENCH_KEEP:-0}" = 1; then
	printf '\nraw figures: %s (kept: %s)\n' "$results" "$repo"
else
	printf '\nraw figures: %s\n' "$results"
fi
