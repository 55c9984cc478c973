#!/bin/sh
# tests/bench/fleet.sh - a first deploy to a fleet of ten SSH hosts:
# `pushgate deploy`, which encodes the release once for all of them
# (SPEC §11), against ten `git archive | ssh tar -x` at once, and the
# memory of the whole pushgate process tree
#
#   make bench            (run.sh runs this after slowlink.sh)
#   PUSHGATE_BUILD=/abs/build sh tests/bench/fleet.sh [WORKDIR]
#
# The hosts: ten OpenSSH servers on 127.0.0.1 (tests/sshd.sh, one
# directory WORKDIR/fleet/sshdK each), every one started in its own
# mount namespace, as tests/integration/t1300-fleet.sh does:
#
#   unshare -m --propagation private \
#       sh -c 'mount --bind VIEWk TARGET && exec sh sshd.sh start DIRk 1'
#
# so all ten deploy to the one path TARGET/pg and host K's files land in
# VIEWk. The ten servers share this machine's home directory and its two
# CPUs, so their login shells skip the user's ~/.bashrc
# (SSHD_QUIET_BASHRC=1, see tests/sshd.sh) unless BENCH_LOGIN_RC=1: ten
# hosts would each run their own on their own CPUs, while here ten start
# at once on two, and a heavy one decides both figures (`pyenv init` in
# ~/.bashrc costs about a second of CPU per session, and its rehash takes
# a lock that ten sessions queue on). pushgate and the baseline get the
# same servers either way.
#
# Server 1's client key is added to every server's authorized_keys and
# the ten known_hosts files are put together; before measuring, each
# host touches a file under TARGET, which must appear in its own view
# only. TARGET and the views are on a fresh
# /dev/shm/pushgate-fleet-PID (tmpfs) when /dev/shm has room for the
# tree 2 x 10 times over (a pushgate release and a baseline copy on
# every host), else under WORKDIR/fleet/target (said in the output).
#
# WORKDIR (default ${TMPDIR:-/tmp}/pushgate-bench) is shared with run.sh,
# deploy.sh and slowlink.sh: WORKDIR/source.git, the generated history
# (history.sh), is reused, or generated once. WORKDIR/fleet/repo.git is
# a local clone with pushgate's hooks (install.sh) and one environment:
#
#   [environment "bench"]  branch = main, hosts = the ten hosts,
#   identity, known_hosts (as above), path = TARGET/pg, keep = 1,
#   parallel = 10 (every host uploads at once), no build
#
# REV is the tip of main (~5,000 files, ~112 MB as tar, mostly
# incompressible). Measured BENCH_REPS times (3), interleaved, medians
# kept:
#   pushgate  `pushgate -C REPO deploy --force --full bench REV` under
#             timeit, after `rm -rf VIEWk/pg/releases` on every host so
#             that each gets a full upload; its output must say
#             "encoded the release once for 10 hosts: ..." (else the
#             benchmark stops: the figures would not be of that), and
#             that line's time is kept as the encode column, and the
#             longest of the hosts' "uploaded ... in S s" lines as the
#             upload column
#   baseline  ten pipelines at once, one per host, each
#               git -C REPO archive REV |
#               ssh ... -p PORTk USER@127.0.0.1 'mkdir -p DIR && tar -x -C DIR'
#             (DIR = TARGET/base, emptied first) with the OpenSSH client
#             (-F /dev/null, BatchMode, IdentitiesOnly,
#             StrictHostKeyChecking=yes, the known_hosts file, the key),
#             started in the background and then all waited for, by one
#             script under one timeit; it fails if any of them fails
#   memory    the same pushgate deploy again (untimed: the sampling
#             costs CPU), under `treemem -s`, which every 10 ms adds up
#             over the whole process tree (pushgate, its ten workers and
#             their children) VmRSS and the Pss of /proc/PID/smaps_rollup,
#             and keeps the peak of each sum; the largest over the runs
#             is reported. RSS counts the pages the forked workers share
#             with the parent once per process; PSS shares them out: the
#             verdict (< 128 MB) uses the PSS sum, the RSS sum is shown
# After each deploy every view must hold the release (REVISION = REV),
# after each baseline every view the tree's files.
#
# Needs root (unshare -m, mount --bind). Without root, unshare, or a
# mount namespace that works, it prints a note and exits 0.
#
# Output: progress on stderr, the figures on stdout (fleet.awk). A
# benchmark, not a test: slow figures never fail it. It exits non-zero
# only on a setup error or when a measured command fails (its output is
# shown).
#
# Knobs (environment): BENCH_REPS (3), BENCH_COMMITS, BENCH_SMALL,
# BENCH_SEED (as run.sh: they name the history), BENCH_KEEP=1 (keep
# WORKDIR/fleet/repo.git, TARGET and the views), BENCH_LOGIN_RC=1 (the
# servers' login shells run ~/.bashrc, see above), CC (cc); run.sh skips
# this part with BENCH_FLEET=0 (or BENCH_DEPLOY=0).

set -eu

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}
# skip WHY: the benchmark cannot run here; say so in the figures
skip() {
	printf '\nnote: no fleet benchmark: %s\n' "$*"
	exit 0
}

here=$(cd "$(dirname "$0")" && pwd -P)
srcdir=$(cd "$here/../.." && pwd -P)
build=${PUSHGATE_BUILD:-$srcdir/build}
work=${1:-${TMPDIR:-/tmp}/pushgate-bench}
commits=${BENCH_COMMITS:-10000}
small=${BENCH_SMALL:-1000}
reps=${BENCH_REPS:-3}
seed=${BENCH_SEED:-1}
cc=${CC:-cc}
nhosts=10 # the fleet, all uploading at once (parallel = nhosts)

for n in "$commits" "$small" "$reps" "$seed"; do
	case $n in '' | *[!0-9]*) die "not a number: '$n'" ;; esac
done
test "$reps" -ge 1 || die 'need BENCH_REPS >= 1'

unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
	GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH GIT_CONFIG \
	GIT_CONFIG_PARAMETERS GIT_NAMESPACE
LC_ALL=C
export LC_ALL

# ---- can it run here? --------------------------------------------------------

test -x "$build/pushgate" || skip "$build/pushgate is not built (run make)"
test "$(id -u)" = 0 || skip 'it needs root (unshare -m, mount --bind)'
command -v unshare >/dev/null 2>&1 ||
	skip 'unshare is not installed (util-linux)'
for tool in ssh /usr/sbin/sshd tar git; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

mkdir -p "$work"
work=$(cd "$work" && pwd -P)
dep=$work/fleet
mkdir -p "$dep"
# shellcheck disable=SC2016 # expanded by the inner shell
if ! unshare -m --propagation private sh -c \
	'mount --bind "$0" "$0"' "$dep" >"$dep/probe.log" 2>&1; then
	skip "no private mount namespace here: $(head -n 1 "$dep/probe.log")"
fi

# ---- setup -------------------------------------------------------------------

repo=$dep/repo.git
results=$dep/results.txt
log=$dep/fleet.log
root=   # TARGET and the views
started=0 # servers 1..started may run

cleanup() {
	k=1
	while test "$k" -le "$started"; do
		sh "$srcdir/tests/sshd.sh" stop "$dep/sshd$k" || :
		k=$((k + 1))
	done
	if test "${BENCH_KEEP:-0}" != 1; then
		if test -n "$root"; then
			rm -rf "$root"
		fi
		rm -rf "$repo"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=tests/bench/history.sh
. "$here/history.sh"
bench_history
bench_compile timeit treemem
timeit=$work/bin/timeit
treemem=$work/bin/treemem

find "$dep" -mindepth 1 -maxdepth 1 ! -name probe.log -exec rm -rf {} +
: >"$results"
git clone -q --bare "$src" "$repo"
git -C "$repo" config gc.auto 0
PUSHGATE_BUILD=$build sh "$srcdir/install.sh" "$repo" >"$log" 2>&1 ||
	{
		cat "$log" >&2
		die "install.sh failed"
	}
rev=$(git -C "$repo" rev-parse --verify refs/heads/main)
files=$(git -C "$repo" ls-tree -r "$rev" | wc -l | tr -d ' ')
tip_bytes=$(git -C "$repo" archive "$rev" | wc -c | tr -d ' ')

# TARGET and the views: tmpfs when it has room for everything
need_kb=$((tip_bytes * 2 * nhosts / 1024 + 65536))
shm_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
target_note=
if test -n "$shm_kb" && test "$shm_kb" -ge "$need_kb"; then
	root=/dev/shm/pushgate-fleet-$$
	target_fs='tmpfs (/dev/shm)'
else
	root=$dep/target
	target_fs="disk ($root)"
	target_note="note: /dev/shm has ${shm_kb:-no} KB free, $need_kb KB needed: the views are on disk"
fi
target=$root/hosts
rm -rf "$root"
mkdir -p "$target"

# view K: what host K writes under TARGET
view() { printf '%s/view%s\n' "$root" "$1"; }

if test "${BENCH_LOGIN_RC:-0}" = 1; then
	SSHD_QUIET_BASHRC=0
	shells="run the user's ~/.bashrc (BENCH_LOGIN_RC=1)"
else
	SSHD_QUIET_BASHRC=1
	shells="skip the user's ~/.bashrc (BENCH_LOGIN_RC=1 runs it)"
fi
export SSHD_QUIET_BASHRC

say "starting $nhosts sshd, each in its own mount namespace"
hosts=
ports=
: >"$dep/known_hosts"
k=1
while test "$k" -le "$nhosts"; do
	mkdir -p "$(view "$k")"
	started=$k
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m --propagation private sh -c \
		'mount --bind "$1" "$2" && exec sh "$3" start "$4" 1' - \
		"$(view "$k")" "$target" "$srcdir/tests/sshd.sh" \
		"$dep/sshd$k" >"$log" 2>&1 ||
		{
			cat "$log" >&2
			die "cannot start sshd $k in a mount namespace"
		}
	# shellcheck disable=SC1090,SC1091 # written by sshd.sh
	p=$(. "$dep/sshd$k/env" && echo "$SSHD_PORT1")
	# shellcheck disable=SC1090,SC1091 # written by sshd.sh
	user=$(. "$dep/sshd$k/env" && echo "$SSHD_USER")
	ports="$ports${ports:+ }$p"
	hosts="$hosts${hosts:+ }$user@127.0.0.1:$p"
	cat "$dep/sshd$k/known_hosts" >>"$dep/known_hosts"
	if test "$k" != 1; then
		cat "$dep/sshd1/id_ed25519.pub" >>"$dep/sshd$k/authorized_keys"
	fi
	k=$((k + 1))
done
key=$dep/sshd1/id_ed25519
known_hosts=$dep/known_hosts

# the OpenSSH client, as the baseline uses it
ssh_opts="-F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes
-o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null"
# shellcheck disable=SC2086 # ssh_opts is a list of words
sshc() {
	ssh $ssh_opts -o "UserKnownHostsFile=$known_hosts" -i "$key" "$@"
}

# every host logs in with the one key and writes in its own view only
k=1
for p in $ports; do
	sshc -p "$p" "$user@127.0.0.1" "touch '$target/probe$k'" \
		</dev/null >"$log" 2>&1 ||
		{
			cat "$log" >&2
			die "cannot log in to host $k (port $p)"
		}
	if ! test -f "$(view "$k")/probe$k" || test -e "$target/probe$k"; then
		die "host $k does not write in its own view ($(view "$k"))"
	fi
	rm -f "$(view "$k")/probe$k"
	k=$((k + 1))
done
first=${ports%% *}
cipher=$(sshc -v -p "$first" "$user@127.0.0.1" true </dev/null 2>&1 |
	sed -n 's/.*kex: client->server cipher: \([^ ]*\) MAC: \([^ ]*\).*/\1 (MAC \2)/p' |
	head -n 1)
cipher=${cipher:-unknown}

(
	umask 077
	printf '[environment "bench"]\n'
	printf 'branch = main\n'
	printf 'hosts = %s\n' "$hosts"
	printf 'identity = %s\n' "$key"
	printf 'known_hosts = %s\n' "$known_hosts"
	printf 'path = %s/pg\n' "$target"
	printf 'keep = 1\n'
	printf 'parallel = %s\n' "$nhosts"
) >"$repo/hooks.ini"
chmod 600 "$repo/hooks.ini"
if ! "$build/pushgate" -C "$repo" check >"$log" 2>&1; then
	cat "$log" >&2
	die "pushgate check failed"
fi

# the baseline, timed as a whole by timeit: sh FILE ARGS
cat >"$dep/base.sh" <<'EOF'
# base.sh REPO REV DIR USER KNOWN_HOSTS KEY PORT...: on every PORT at
# once, git archive REV | ssh USER@127.0.0.1 'mkdir -p DIR && tar -x -C
# DIR'; then waits for all, and fails if any failed
repo=$1 rev=$2 dir=$3 user=$4 kh=$5 key=$6
shift 6
pids=
for port in "$@"; do
	git -C "$repo" archive "$rev" |
		ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
			-o StrictHostKeyChecking=yes \
			-o GlobalKnownHostsFile=/dev/null \
			-o "UserKnownHostsFile=$kh" -i "$key" -p "$port" \
			"$user@127.0.0.1" "mkdir -p '$dir' && tar -x -C '$dir'" &
	pids="$pids $!"
done
rc=0
for pid in $pids; do
	wait "$pid" || rc=1
done
exit "$rc"
EOF

# ---- measurements ------------------------------------------------------------

# record WAY REP FILE: the lines of FILE, prefixed
record() {
	awk -v w="$1" -v r="$2" '{ print w, r, $0 }' "$3" >>"$results"
}

# empty DIR: remove DIR (under TARGET) in every view
empty() {
	k=1
	while test "$k" -le "$nhosts"; do
		rm -rf "$(view "$k")/${1:?}"
		k=$((k + 1))
	done
}

# deploy WAY REP RUNNER...: the pushgate deploy under RUNNER (timeit or
# treemem -s), after emptying every host's releases; then checks the
# encode-once line and that every host has the release
deploy() {
	d_way=$1 d_rep=$2
	shift 2
	empty pg/releases
	: >"$dep/t.out"
	if ! "$@" "$dep/t.out" pushgate "$build/pushgate" -C "$repo" \
		deploy --force --full bench "$rev" >"$log" 2>&1; then
		cat "$log" >&2
		die "pushgate deploy failed ($d_way, run $d_rep)"
	fi
	sed -n 's/.*encoded the release once for \([0-9]*\) hosts: \([0-9]*\) entries, \([0-9.]*\) MB in \([0-9.]*\) s.*/encode \4 \1 \2 \3/p' \
		"$log" >"$dep/enc.out"
	if ! test "$(wc -l <"$dep/enc.out" | tr -d ' ')" = 1 ||
		! test "$(cut -d ' ' -f 3 "$dep/enc.out")" = "$nhosts"; then
		cat "$log" >&2
		die "pushgate did not say \"encoded the release once for" \
			"$nhosts hosts\" ($d_way, run $d_rep): the output is above"
	fi
	cat "$dep/enc.out" >>"$dep/t.out"
	sed -n 's/.*\] uploaded \([0-9]*\) entries, .* in \([0-9.]*\) s$/upload \2 \1/p' \
		"$log" >>"$dep/t.out"
	k=1
	while test "$k" -le "$nhosts"; do
		test "$(cat "$(view "$k")/pg/current/REVISION" 2>/dev/null)" = \
			"$rev" || {
			cat "$log" >&2
			die "host $k does not have the release ($d_way, run $d_rep)"
		}
		k=$((k + 1))
	done
	record "$d_way" "$d_rep" "$dep/t.out"
}

rep=1
while test "$rep" -le "$reps"; do
	say "pushgate deploy to $nhosts hosts, run $rep/$reps"
	deploy pg "$rep" "$timeit"

	say "baseline: $nhosts x git archive | ssh tar -x, run $rep/$reps"
	empty base
	: >"$dep/t.out"
	# shellcheck disable=SC2086 # ports is a list of words
	if ! "$timeit" "$dep/t.out" baseline sh "$dep/base.sh" "$repo" \
		"$rev" "$target/base" "$user" "$known_hosts" "$key" $ports \
		>"$log" 2>&1; then
		cat "$log" >&2
		die "the baseline failed (run $rep)"
	fi
	k=1
	while test "$k" -le "$nhosts"; do
		n=$(find "$(view "$k")/base" ! -type d | wc -l | tr -d ' ')
		test "$n" = "$files" ||
			die "baseline, host $k: $n files of $files (run $rep)"
		k=$((k + 1))
	done
	record base "$rep" "$dep/t.out"

	say "pushgate deploy to $nhosts hosts, memory, run $rep/$reps"
	deploy mem "$rep" "$treemem" -s
	rep=$((rep + 1))
done
empty base

# ---- report ------------------------------------------------------------------

awk -v reps="$reps" -v hosts="$nhosts" -v cipher="$cipher" -v shells="$shells" \
	-v target_fs="$target_fs" -v nproc="$(nproc 2>/dev/null || echo '?')" \
	-v files="$files" -v tip_bytes="$tip_bytes" \
	-f "$here/fleet.awk" "$results"
if test -n "$target_note"; then
	printf '%s\n' "$target_note"
fi
if test "${BENCH_KEEP:-0}" = 1; then
	printf '\nraw figures: %s (kept: %s, %s)\n' "$results" "$repo" "$root"
else
	printf '\nraw figures: %s\n' "$results"
fi
