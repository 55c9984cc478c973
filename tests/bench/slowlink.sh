#!/bin/sh
# tests/bench/slowlink.sh - deploys over a slow link: `pushgate deploy`
# against rsync and `git archive | ssh tar -x`, at loopback speed and
# rate-limited, and what `compress = true` does
#
#   make bench            (run.sh runs this after deploy.sh)
#   PUSHGATE_BUILD=/abs/build sh tests/bench/slowlink.sh [WORKDIR]
#
# Everything runs in a private network namespace (unshare -n) whose
# loopback is the only link: one OpenSSH server on 127.0.0.1
# (tests/sshd.sh), pushgate, ssh and rsync all talk over it. For the
# slow figures its root qdisc is a token bucket,
#
#   tc qdisc add dev lo root tbf rate RATE burst 256kb latency 50ms
#
# (RATE: BENCH_SLOW_RATE, 100mbit); for the loopback figures there is no
# qdisc. The setup steps between the measured commands always run
# without one. Bytes on the wire are lo's received bytes in
# /proc/net/dev, read inside the namespace before and after each
# measured command: both directions, with the TCP/IP headers, SSH
# handshakes included. Nothing else uses that loopback.
#
# WORKDIR (default ${TMPDIR:-/tmp}/pushgate-bench) is shared with run.sh
# and deploy.sh: WORKDIR/source.git, the generated history (history.sh),
# is reused, or generated once. WORKDIR/slow/repo.git is a local clone
# with pushgate's hooks (install.sh) and:
#   REV1  the tip of main (~5,000 files, ~105 MB, mostly incompressible)
#   REV2  REV1 plus one small text file changed (a line appended, so its
#         size changes), committed on main with REV1's dates, so that
#         `git archive` gives every unchanged file the same mtime in both
#         (as a working copy updated in place keeps them)
#   REVS  a real source tree, on branches `source` and `source-z`:
#         BENCH_SOURCE_DIR if set (any directory, e.g. one unpacked by
#         `apt-get source`); else the source code installed on this
#         machine (/usr/src and the Python standard library's *.py
#         files); else, when that is under 4 MB or BENCH_SOURCE_DIR is
#         `generated`, generated C-like text. The output says which.
# and a hooks.ini with three environments on the one server, no build:
#   bench  (main)      path TARGET/pg
#   src    (source)    path TARGET/src, compress = false
#   srcz   (source-z)  path TARGET/srcz, compress = true
# TARGET is a fresh /dev/shm/pushgate-slow-PID (tmpfs) when /dev/shm has
# room, else WORKDIR/slow/target.
#
# Measured, BENCH_REPS times (3), interleaved, medians kept:
#   one-file change, on loopback and at RATE:
#     pushgate  `pushgate -C REPO deploy bench REV2`, with REV1 live
#               (TARGET/pg removed, then REV1 deployed, untimed)
#     rsync     rsync -a --link-dest=../REL1 SRC/ HOST:TARGET/rs/REL2/
#               over OpenSSH; SRC is `git archive REV2` unpacked here,
#               REL1 `git archive REV1` unpacked in TARGET/rs (untimed)
#   full first deploy of REV1, on loopback and at RATE:
#     pushgate  `pushgate -C REPO deploy --force --full bench REV1` into an
#               empty TARGET/pg
#     baseline  git archive REV1 | ssh HOST 'mkdir -p DIR && tar -x -C DIR'
#   compression, a full deploy of REVS, on loopback and at RATE:
#     pushgate -C REPO deploy --force --full src REVS    (compress = false)
#     pushgate -C REPO deploy --force --full srcz REVS   (compress = true)
#     each into an empty TARGET/src or TARGET/srcz
#   build once, promote, on loopback: WORKDIR/slow/promo.git, a clone
#   of REPO whose [verify] build gzips every text file of REVS (as a
#   static site's build does, and not reproducibly: it stamps the time),
#   with `staging` (branch source) and `production` (branch source-z,
#   mode = manual, requires = staging), both `artifact = dist`:
#     pushgate -C PROMO deploy --force --full staging REVS     (builds)
#     pushgate -C PROMO deploy --force --full production REVS  (promotes)
#     each into an empty path, the artifact store emptied before each run;
#     the build logs its environment and start and end times
# The OpenSSH client runs with -F /dev/null, the server's key and
# known_hosts from sshd.sh, and its default cipher.
#
# Needs root (unshare -n and tc), iproute2's ip and tc, and rsync, which
# is installed with apt-get when missing (as tests/deps.sh installs the
# rest). Without root, unshare, ip, tc or a working tbf qdisc it prints
# a note and exits 0; without rsync (and no way to install it) the rsync
# columns are empty.
#
# Output: progress on stderr, the figures on stdout (slowlink.awk). A
# benchmark, not a test: slow figures never fail it. It exits non-zero
# only on a setup error or when a measured command fails (its output is
# shown).
#
# Knobs (environment): BENCH_SLOW_RATE (100mbit), BENCH_REPS (3),
# BENCH_SOURCE_DIR, BENCH_COMMITS, BENCH_SMALL, BENCH_SEED (as run.sh:
# they name the history), BENCH_KEEP=1 (keep WORKDIR/slow), CC (cc);
# run.sh skips this part with BENCH_SLOW=0 (or BENCH_DEPLOY=0).

set -eu

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}
# skip WHY: the benchmark cannot run here; say so in the figures
skip() {
	printf '\nnote: no slow-link benchmark: %s\n' "$*"
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
rate=${BENCH_SLOW_RATE:-100mbit}
cc=${CC:-cc}

for n in "$commits" "$small" "$reps" "$seed"; do
	case $n in '' | *[!0-9]*) die "not a number: '$n'" ;; esac
done
test "$reps" -ge 1 || die 'need BENCH_REPS >= 1'
case $rate in
'' | *[!0-9a-zA-Z.]*) die "BENCH_SLOW_RATE: not a tc rate: '$rate'" ;;
esac

unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
	GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH GIT_CONFIG \
	GIT_CONFIG_PARAMETERS GIT_NAMESPACE
LC_ALL=C
export LC_ALL

mkdir -p "$work"
work=$(cd "$work" && pwd -P)
dep=$work/slow

# the token bucket, as the header says
tbf() {
	tc qdisc replace dev lo root tbf rate "$rate" burst 256kb latency 50ms
}

# ---- outside the namespace: can it run here? then enter it --------------

if test "${BENCH_SLOW_INNER:-}" != 1; then
	test -x "$build/pushgate" ||
		skip "$build/pushgate is not built (run make)"
	test "$(id -u)" = 0 ||
		skip 'it needs root (unshare -n, tc)'
	for tool in unshare ip tc; do
		command -v "$tool" >/dev/null 2>&1 ||
			skip "$tool is not installed (util-linux, iproute2)"
	done
	for tool in ssh /usr/sbin/sshd tar git; do
		command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
	done
	mkdir -p "$dep"
	# shellcheck disable=SC2016 # expanded by the inner shell
	if ! BENCH_SLOW_RATE=$rate unshare -n sh -c 'ip link set lo up &&
		tc qdisc add dev lo root tbf rate "$BENCH_SLOW_RATE" \
			burst 256kb latency 50ms' >"$dep/probe.log" 2>&1; then
		skip "cannot rate-limit a private loopback:" \
			"$(head -n 1 "$dep/probe.log")"
	fi
	if ! command -v rsync >/dev/null 2>&1 &&
		command -v apt-get >/dev/null 2>&1; then
		say "installing rsync"
		if ! { apt-get update &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y \
				--no-install-recommends rsync; } \
			>"$dep/apt.log" 2>&1; then
			cat "$dep/apt.log" >&2
			die 'cannot install rsync'
		fi
	fi
	BENCH_SLOW_INNER=1
	export BENCH_SLOW_INNER
	# shellcheck disable=SC2016 # expanded by the inner shell
	exec unshare -n sh -c 'ip link set lo up && exec sh "$0" "$1"' \
		"$here/slowlink.sh" "$work"
fi

# ---- inside: the setup (without a qdisc) -----------------------------------

repo=$dep/repo.git
results=$dep/results.txt
log=$dep/slow.log
target=
sshd_up=false
have_rsync=false
if command -v rsync >/dev/null 2>&1; then
	have_rsync=true
fi

cleanup() {
	tc qdisc del dev lo root 2>/dev/null || :
	if $sshd_up; then
		sh "$srcdir/tests/sshd.sh" stop "$dep/sshd" || :
	fi
	if test -n "$target"; then
		rm -rf "$target"
	fi
	if test "${BENCH_KEEP:-0}" != 1; then
		rm -rf "$repo" "$dep/src2" "$dep/stage" "$dep/promo.git"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=tests/bench/history.sh
. "$here/history.sh"
bench_history
bench_compile timeit
timeit=$work/bin/timeit

find "$dep" -mindepth 1 -maxdepth 1 ! -name probe.log ! -name apt.log \
	-exec rm -rf {} +
: >"$results"
git clone -q --bare "$src" "$repo"
git -C "$repo" config gc.auto 0
PUSHGATE_BUILD=$build sh "$srcdir/install.sh" "$repo" >"$log" 2>&1 ||
	{
		cat "$log" >&2
		die "install.sh failed"
	}

# commit TREE PARENT DATE MESSAGE: a commit id (bench identity)
commit() {
	echo "$4" | GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com \
		GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com \
		GIT_AUTHOR_DATE="$3" GIT_COMMITTER_DATE="$3" \
		git -C "$repo" commit-tree "$1" ${2:+-p "$2"}
}

# REV2: one small text file of REV1, a line longer
rev1=$(git -C "$repo" rev-parse --verify refs/heads/main)
date1="$(git -C "$repo" log -1 --format=%ct "$rev1") +0000"
one=$(git -C "$repo" ls-tree -r -l "$rev1" |
	awk -F '\t' '{ split($1, m, " ") }
		m[1] == "100644" && m[4] >= 200 && m[4] <= 8192 &&
		$2 ~ /\.(c|h|py|js|md|txt)$/ { print $2; exit }')
test -n "$one" || die "no small text file in $rev1"
export GIT_INDEX_FILE="$dep/index"
git -C "$repo" read-tree "$rev1"
blob=$({
	git -C "$repo" cat-file blob "$rev1:$one"
	printf '%s\n' '# one line more (tests/bench/slowlink.sh)'
} | git -C "$repo" hash-object -w --stdin)
git -C "$repo" update-index --cacheinfo "100644,$blob,$one"
rev2=$(commit "$(git -C "$repo" write-tree)" "$rev1" "$date1" \
	'chore: one line more')
unset GIT_INDEX_FILE
rm -f "$dep/index"
git -C "$repo" update-ref refs/heads/main "$rev2" "$rev1"
one_delta=$(($(git -C "$repo" cat-file -s "$rev2:$one") -
	$(git -C "$repo" cat-file -s "$rev1:$one")))
files=$(git -C "$repo" ls-tree -r "$rev1" | wc -l | tr -d ' ')
tip_bytes=$(git -C "$repo" archive "$rev1" | wc -c | tr -d ' ')

# REVS: the source tree (see the header)
stage=$dep/stage
mkdir -p "$stage"
source_tree() {
	if test -n "${BENCH_SOURCE_DIR:-}" &&
		test "$BENCH_SOURCE_DIR" != generated; then
		test -d "$BENCH_SOURCE_DIR" ||
			die "BENCH_SOURCE_DIR: no directory '$BENCH_SOURCE_DIR'"
		(cd "$BENCH_SOURCE_DIR" && tar -cf - --exclude=.git .) |
			tar -xf - -C "$stage"
		source_desc="BENCH_SOURCE_DIR ($BENCH_SOURCE_DIR)"
		return 0
	fi
	if test "${BENCH_SOURCE_DIR:-}" != generated; then
		py=
		for d in /usr/lib/python3.*; do
			test -f "$d/os.py" && py=$d
		done
		{
			test -d /usr/src && find /usr/src -type f
			test -z "$py" || find "$py" -type f -name '*.py' \
				! -path '*-packages/*'
		} >"$dep/files.txt"
		tar -cf - -T "$dep/files.txt" 2>/dev/null |
			tar -xf - -C "$stage" || :
		if test "$(du -sk "$stage" | cut -f 1)" -ge 4096; then
			source_desc="installed here: /usr/src"
			test -z "$py" ||
				source_desc="$source_desc, $py/**.py"
			return 0
		fi
		rm -rf "$stage"
		mkdir -p "$stage"
	fi
	awk -v dir="$stage" -v seed="$seed" -f "$here/srcgen.awk"
	source_desc='GENERATED C-like text (srcgen.awk), not a real tree'
}
source_tree
export GIT_INDEX_FILE="$dep/index"
git -C "$repo" --work-tree="$stage" add -A .
revs=$(commit "$(git -C "$repo" write-tree)" "" "$date1" \
	'chore: a source tree')
unset GIT_INDEX_FILE
rm -f "$dep/index"
git -C "$repo" update-ref refs/heads/source "$revs"
git -C "$repo" update-ref refs/heads/source-z "$revs"
src_files=$(git -C "$repo" ls-tree -r "$revs" | wc -l | tr -d ' ')
src_bytes=$(git -C "$repo" archive "$revs" | wc -c | tr -d ' ')
src_gz=$(git -C "$repo" archive "$revs" | gzip -6 | wc -c | tr -d ' ')
rm -rf "$stage"

# the target: tmpfs when it has room for the tree three times over
need_kb=$((tip_bytes * 3 / 1024 + 65536))
shm_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
if test -n "$shm_kb" && test "$shm_kb" -ge "$need_kb"; then
	target=/dev/shm/pushgate-slow-$$
	target_fs='tmpfs (/dev/shm)'
else
	target=$dep/target
	target_fs="disk ($target)"
fi
rm -rf "$target"
mkdir -p "$target"

say "starting sshd in a private network namespace"
sh "$srcdir/tests/sshd.sh" start "$dep/sshd" 1 || die 'sshd.sh start failed'
sshd_up=true
# shellcheck disable=SC1091 # written by sshd.sh
. "$dep/sshd/env"
# shellcheck disable=SC2153 # set by the env file
port=$SSHD_PORT1
host=$SSHD_USER@127.0.0.1

(
	umask 077
	for e in 'bench main pg false' 'src source src false' \
		'srcz source-z srcz true'; do
		# shellcheck disable=SC2086 # four words
		set -- $e
		printf '[environment "%s"]\n' "$1"
		printf 'branch = %s\n' "$2"
		printf 'hosts = %s:%s\n' "$host" "$port"
		printf 'identity = %s\n' "$SSHD_KEY"
		printf 'known_hosts = %s\n' "$SSHD_KNOWN_HOSTS"
		printf 'path = %s/%s\n' "$target" "$3"
		printf 'keep = 2\n'
		printf 'compress = %s\n\n' "$4"
	done
) >"$repo/hooks.ini"
chmod 600 "$repo/hooks.ini"
if ! "$build/pushgate" -C "$repo" check >"$log" 2>&1; then
	cat "$log" >&2
	die "pushgate check failed"
fi

# the OpenSSH client, for the baseline and rsync (-e splits on spaces:
# sshd.sh keeps its paths free of them)
ssh_cmd="ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes
-o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null
-o UserKnownHostsFile=$SSHD_KNOWN_HOSTS -i $SSHD_KEY -p $port"
ssh_cmd=$(printf '%s' "$ssh_cmd" | tr '\n' ' ')
# shellcheck disable=SC2086 # ssh_cmd is a list of words
cipher=$($ssh_cmd -v "$host" true 2>&1 |
	sed -n 's/.*kex: client->server cipher: \([^ ]*\) MAC.*/\1/p' |
	head -n 1)
cipher=${cipher:-unknown}

cat >"$dep/base.sh" <<'EOF'
# base.sh REPO REV DIR SSH-COMMAND...: git archive | ssh tar -x
repo=$1 rev=$2 dir=$3
shift 3
git -C "$repo" archive "$rev" | "$@" "mkdir -p '$dir' && tar -x -C '$dir'"
EOF

# rsync's source (REV2) and its base on the target (REV1)
if $have_rsync; then
	mkdir -p "$dep/src2" "$target/rs/REL1"
	git -C "$repo" archive "$rev2" | tar -x -C "$dep/src2"
	git -C "$repo" archive "$rev1" | tar -x -C "$target/rs/REL1"
fi

# ---- measurements ------------------------------------------------------------

# link lo|rate: no qdisc, or the token bucket
link() {
	if test "$1" = rate; then
		tbf
	else
		tc qdisc del dev lo root 2>/dev/null || :
	fi
}

# lo's received bytes (= sent: a loopback)
lo_bytes() {
	sed -n 's/^ *lo: *//p' /proc/net/dev | awk '{ print $1 }'
}

# measure SCEN LINK WAY REP CMD...: CMD on LINK, timed and its bytes
# counted, then the link back to no qdisc
measure() {
	m_scen=$1 m_link=$2 m_way=$3 m_rep=$4
	shift 4
	: >"$dep/t.out"
	link "$m_link"
	b0=$(lo_bytes)
	if ! "$timeit" "$dep/t.out" x "$@" >"$log" 2>&1; then
		link lo
		cat "$log" >&2
		die "$m_way failed ($m_scen, $m_link)"
	fi
	b1=$(lo_bytes)
	link lo
	awk -v s="$m_scen" -v l="$m_link" -v w="$m_way" -v r="$m_rep" \
		-v b=$((b1 - b0)) '{ print s, l, w, r, $2, b }' \
		"$dep/t.out" >>"$results"
}

# pg ENV REV [--force]: pushgate deploy, untimed (setup)
pg() {
	if ! "$build/pushgate" -C "$repo" deploy ${3:+"$3"} "$1" "$2" \
		>"$log" 2>&1; then
		cat "$log" >&2
		die "pushgate deploy $1 failed"
	fi
}

for l in lo rate; do
	rep=1
	while test "$rep" -le "$reps"; do
		say "one-file change, $l, run $rep/$reps"
		rm -rf "$target/pg"
		pg bench "$rev1" --force
		measure one "$l" pg "$rep" \
			"$build/pushgate" -C "$repo" deploy bench "$rev2"
		if $have_rsync; then
			rm -rf "$target/rs/REL2"
			measure one "$l" rsync "$rep" \
				rsync -a --link-dest=../REL1 -e "$ssh_cmd" \
				"$dep/src2/" "$host:$target/rs/REL2/"
		fi
		rep=$((rep + 1))
	done
done
rm -rf "$target/rs" "$dep/src2"

for l in lo rate; do
	rep=1
	while test "$rep" -le "$reps"; do
		say "full first deploy, $l, run $rep/$reps"
		rm -rf "$target/pg"
		measure full "$l" pg "$rep" \
			"$build/pushgate" -C "$repo" deploy --force --full \
			bench "$rev1"
		rm -rf "$target/base"
		# shellcheck disable=SC2086 # ssh_cmd is a list of words
		measure full "$l" base "$rep" \
			sh "$dep/base.sh" "$repo" "$rev1" "$target/base" \
			$ssh_cmd "$host"
		rep=$((rep + 1))
	done
done
rm -rf "$target/pg" "$target/base"

for l in lo rate; do
	rep=1
	while test "$rep" -le "$reps"; do
		say "source tree, compress false/true, $l, run $rep/$reps"
		for e in src srcz; do
			rm -rf "${target:?}/$e"
			measure comp "$l" "$e" "$rep" \
				"$build/pushgate" -C "$repo" deploy --force \
				--full "$e" "$revs"
		done
		rep=$((rep + 1))
	done
done

# build once, promote (see the header)
promo=$dep/promo.git
builds=$dep/builds/builds.log
mkdir -p "$dep/builds"
git clone -q --bare "$repo" "$promo"
git -C "$promo" config gc.auto 0
PUSHGATE_BUILD=$build sh "$srcdir/install.sh" "$promo" >"$log" 2>&1 ||
	{
		cat "$log" >&2
		die "install.sh failed (promo.git)"
	}
cat >"$dep/build.sh" <<'EOF'
# build.sh LOG: dist/ = the tree, its text files gzipped beside them,
# and a time stamp; LOG gets "ENV START END" (seconds)
start=$(date +%s.%N)
mkdir dist
tar -cf - --exclude=./dist . | tar -xf - -C dist
find dist -type f \( -name '*.py' -o -name '*.c' -o -name '*.h' -o \
	-name '*.txt' -o -name '*.md' \) -exec gzip -k -9 -- {} +
date +%s%N >dist/BUILT_AT
echo "$PUSHGATE_ENV $start $(date +%s.%N)" >>"$1"
EOF
(
	umask 077
	# the build logs outside its sandbox, in a directory it may write
	printf '[verify]\nbuild = sh %s/build.sh %s\nsandbox_write = %s\n\n' \
		"$dep" "$builds" "$dep/builds"
	for e in 'staging source auto' 'production source-z manual'; do
		# shellcheck disable=SC2086 # three words
		set -- $e
		printf '[environment "%s"]\n' "$1"
		printf 'branch = %s\n' "$2"
		printf 'mode = %s\n' "$3"
		test "$1" = staging || printf 'requires = staging\n'
		printf 'hosts = %s:%s\n' "$host" "$port"
		printf 'identity = %s\n' "$SSHD_KEY"
		printf 'known_hosts = %s\n' "$SSHD_KNOWN_HOSTS"
		printf 'path = %s/%s\n' "$target" "$1"
		printf 'artifact = dist\n'
		printf 'keep = 2\n\n'
	done
) >"$promo/hooks.ini"
chmod 600 "$promo/hooks.ini"
: >"$builds"
rep=1
while test "$rep" -le "$reps"; do
	say "build once, promote, run $rep/$reps"
	rm -rf "$promo/pushgate/artifacts" "$target/staging" \
		"$target/production"
	echo "run $rep" >>"$builds"
	for e in staging production; do
		measure promo lo "$e" "$rep" \
			"$build/pushgate" -C "$promo" deploy --force --full \
			"$e" "$revs"
	done
	if ! cmp -s "$target/staging/current/BUILT_AT" \
		"$target/production/current/BUILT_AT"; then
		die "production did not get staging's build"
	fi
	rep=$((rep + 1))
done
rm -rf "$target/staging" "$target/production"

# ---- report ------------------------------------------------------------------

awk -v reps="$reps" -v rate="$rate" -v cipher="$cipher" \
	-v target_fs="$target_fs" -v nproc="$(nproc 2>/dev/null || echo '?')" \
	-v files="$files" -v tip_bytes="$tip_bytes" -v one="$one" \
	-v one_delta="$one_delta" -v have_rsync="$have_rsync" \
	-v src_desc="$source_desc" -v src_files="$src_files" \
	-v src_bytes="$src_bytes" -v src_gz="$src_gz" \
	-f "$here/slowlink.awk" "$results" "$builds"
printf '\nraw figures: %s\n' "$results"
