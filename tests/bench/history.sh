# tests/bench/history.sh - helpers shared by run.sh and deploy.sh (sourced)
#
# The caller sets: here (this directory), work (absolute WORKDIR), cc,
# commits, small, seed, and defines say and die.
#
#   bench_compile PROG...   compile $here/PROG.c into $work/bin/PROG
#   bench_history           make sure $work/source.git holds the history
#                           of gen.c for (commits, seed, small); sets src
#
# WORKDIR/source.git is reused while WORKDIR/source.stamp matches the
# generator and its parameters, so run.sh and deploy.sh share one copy.

# shellcheck shell=sh disable=SC2154 # the caller's variables

bench_compile() {
	mkdir -p "$work/bin"
	for prog in "$@"; do
		"$cc" -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
			-o "$work/bin/$prog" "$here/$prog.c" ||
			die "cannot compile $here/$prog.c"
	done
}

bench_history() {
	src=$work/source.git
	stamp="gen-1 $(cksum <"$here/gen.c") $commits $small $seed"
	if test -d "$src" && test -f "$work/source.stamp" &&
		test "$(cat "$work/source.stamp")" = "$stamp"; then
		say "reusing $src"
		return 0
	fi
	bench_compile gen
	say "generating $commits commits into $src (once; ~30 s)"
	rm -rf "$src" "$work/source.stamp"
	git init -q --bare "$src"
	git -C "$src" config gc.auto 0
	mkdir -p "$src/info"
	# random bytes never delta: spare pack-objects the search on each push
	for ext in png jpg woff2 bin dat gz pdf; do
		printf '*.%s -delta\n' "$ext"
	done >"$src/info/attributes"
	"$work/bin/gen" "$commits" "$seed" "$small" |
		git -C "$src" fast-import --quiet --done ||
		die 'fast-import failed'
	git -C "$src" update-ref -d refs/heads/topic
	printf '%s\n' "$stamp" >"$work/source.stamp"
}
