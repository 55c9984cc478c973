#!/bin/sh
# lint.sh - `make lint`: the rules of STYLE.md that a script can check.
#
#   a. no banned function is called in common/, hooks/ or include/
#   b. a module includes only headers of strictly lower levels (its own
#      header excepted); the levels are STYLE.md section 2's
#   c. <ini.h> only in inifile.c, <libssh2.h> only in ssh.c, sshconn.c
#      and knownhosts.c, <git2.h> only in push.c, repo.c, gittree.c and
#      gitremote.c, <openssl/*.h> only in digest.c and sshsig.c
#   d. every include/*.h compiles on its own, and twice (include guard)
#   e. no // comments in C files
#   f. shellcheck finds nothing in the shell scripts (POSIX sh, sourced
#      files followed); a warning that is wrong for one line is disabled
#      on that line with a comment saying why
#
# Prints one line per problem and exits 1 if there is any.

set -eu

unset CDPATH
cd "$(dirname -- "$0")/.."

problems=0
problem()
{
	echo "lint: $*"
	problems=$((problems + 1))
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pushgate-lint.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# The C files that exist, one per line.
for f in common/*.c hooks/*.c include/*.h tests/unit/*.c tests/unit/*.h \
	tests/fuzz/*.c
do
	test -f "$f" && echo "$f"
done >"$tmp/files"
grep -v '^tests/' "$tmp/files" >"$tmp/product" || :

# Blank comments and the contents of string and character literals (line
# numbers kept), then look for banned calls (a) and // comments (e).
# shellcheck disable=SC2016
awk_lint='
function report(what) {
	printf "lint: %s:%d: %s: %s\n", FILENAME, FNR, what, $0
}
FNR == 1 { state = "" }
{
	line = $0
	out = ""
	len = length(line)
	i = 1
	while (i <= len) {
		c = substr(line, i, 1)
		d = substr(line, i, 2)
		if (state == "comment") {
			if (d == "*/") {
				state = ""
				out = out "  "
				i += 2
			} else {
				out = out " "
				i++
			}
			continue
		}
		if (state == "\"" || state == "'\''") {
			if (c == "\\") {
				out = out "  "
				i += 2
			} else if (c == state) {
				state = ""
				out = out c
				i++
			} else {
				out = out " "
				i++
			}
			continue
		}
		if (d == "/*") {
			state = "comment"
			out = out "  "
			i += 2
			continue
		}
		if (d == "//") {
			report("// comment (use /* */)")
			break
		}
		if (c == "\"" || c == "'\''")
			state = c
		out = out c
		i++
	}
	if (state != "comment" && substr(line, len, 1) != "\\")
		state = ""
	rest = out
	while (banned && \
	    match(rest, "(^|[^A-Za-z0-9_])(" banned ")[ \t]*[(]")) {
		name = substr(rest, RSTART, RLENGTH)
		rest = substr(rest, RSTART + RLENGTH)
		sub(/^[^A-Za-z0-9_]/, "", name)
		sub(/[ \t]*[(]$/, "", name)
		report("banned function " name "()")
	}
}
'
banned='strcpy|strcat|sprintf|vsprintf|strtok|gets|atoi|atol|system'
banned="$banned|popen|mktemp|tmpnam|alloca"

# (a) and (e) for the product; (e) only for the unit tests.
: >"$tmp/awk.out"
while read -r f
do
	case "$f" in
	tests/*) b= ;;
	*) b=$banned ;;
	esac
	awk -v banned="$b" "$awk_lint" "$f" >>"$tmp/awk.out"
done <"$tmp/files"
cat "$tmp/awk.out"
problems=$((problems + $(grep -c . "$tmp/awk.out" || :)))

# (b) Include levels, in tens: L1 is 10-19 and so on. Within L1, buf
# sits below strvec and fsutil, which build their strings with it; the
# parts of ssh sit below it: exitmark, knownhosts, then sshconn (the
# connection); sshsig (SSH signatures) sits beside sshconn, above
# knownhosts, whose fingerprints it shows. Within L2, config sits above
# inifile and schema, which read its syntax and apply its tables.
level()
{
	case "$1" in
	errors) echo 0 ;;
	buf) echo 10 ;;
	sink) echo 12 ;;
	strvec|fsutil|timeutil|suggest|confval|digest|json|oidmap) echo 15 ;;
	sandbox) echo 16 ;;
	exitmark|manifest|tz) echo 16 ;;
	cron) echo 17 ;;
	window) echo 18 ;;
	delta) echo 17 ;;
	knownhosts) echo 17 ;;
	sshconn|sshsig) echo 18 ;;
	inifile|schema|push|repo|state|proc|ssh|archive|report) echo 20 ;;
	hookenv|fleet) echo 20 ;;
	gittree|gitremote) echo 21 ;;
	history) echo 22 ;;
	config) echo 25 ;;
	policy|workspace|host|gate|hold) echo 30 ;;
	testrun|target) echo 40 ;;
	increment) echo 41 ;;
	release|gitops) echo 42 ;;
	artifact|notify|deploylog) echo 43 ;;
	deploy) echo 44 ;;
	rollback) echo 43 ;;
	status|receive) echo 46 ;;
	statuspage) echo 47 ;;
	*) echo none ;;
	esac
}

# Prints the names included by file $1, one per line, with their
# delimiters ("buf.h" or <git2.h>).
includes()
{
	grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' "$1" |
		sed -e 's/^[^"<]*//' -e 's/^\(["<][^">]*[">]\).*/\1/' || :
}

while read -r f
do
	base=${f##*/}
	module=${base%.*}
	case "$f" in
	hooks/*) mine=50 ;;
	*)
		mine=$(level "$module")
		if test "$mine" = none
		then
			problem "$f: module '$module' has no level" \
				"(add it to STYLE.md section 2 and tests/lint.sh)"
			continue
		fi
		;;
	esac
	includes "$f" >"$tmp/includes"
	while read -r inc
	do
		name=${inc#?}
		name=${name%?}
		case "$inc" in
		\"*) ;;
		*) test -f "include/$name" || continue ;;
		esac
		if ! test -f "include/$name"
		then
			problem "$f: includes \"$name\", which is not in include/"
			continue
		fi
		theirs=${name%.h}
		test "$theirs" = "$module" && continue
		level=$(level "$theirs")
		if test "$level" = none
		then
			problem "$f: includes $name, whose module has no level"
		elif test "$level" -ge "$mine"
		then
			problem "$f (L$mine) includes $name (L$level):" \
				"only lower levels may be included"
		fi
	done <"$tmp/includes"
done <"$tmp/product"

# (c) Library headers stay in the module that owns them.
while read -r f
do
	includes "$f" >"$tmp/includes"
	while read -r inc
	do
		case "$inc" in
		'<ini.h>')
			test "$f" = common/inifile.c ||
				problem "$f: only common/inifile.c may include $inc"
			;;
		'<libssh2.h>'|'<libssh2_'*)
			case "$f" in
			common/ssh.c|common/sshconn.c|common/knownhosts.c) ;;
			*) problem "$f: only common/ssh.c, common/sshconn.c and" \
				"common/knownhosts.c may include $inc" ;;
			esac
			;;
		'<openssl/'*)
			case "$f" in
			common/digest.c|common/sshsig.c) ;;
			*) problem "$f: only common/digest.c and" \
				"common/sshsig.c may include $inc" ;;
			esac
			;;
		'<git2.h>'|'<git2/'*)
			case "$f" in
			common/push.c|common/repo.c|common/gittree.c) ;;
			common/gitremote.c) ;;
			*) problem "$f: only common/push.c, common/repo.c," \
				"common/gittree.c and common/gitremote.c may" \
				"include $inc" ;;
			esac
			;;
		esac
	done <"$tmp/includes"
done <"$tmp/product"

# (d) Every header compiles on its own, and when included twice.
cc=${CC:-cc}
for h in include/*.h
do
	test -f "$h" || continue
	name=${h#include/}
	printf '#include "%s"\n' "$name" >"$tmp/once.c"
	printf '#include "%s"\n#include "%s"\n' "$name" "$name" >"$tmp/twice.c"
	if ! "$cc" -std=c11 -D_GNU_SOURCE -Iinclude -fsyntax-only -x c \
		"$tmp/once.c" >"$tmp/cc.out" 2>&1
	then
		problem "$h: does not compile on its own:"
		sed 's/^/    /' "$tmp/cc.out"
	elif ! "$cc" -std=c11 -D_GNU_SOURCE -Iinclude -fsyntax-only -x c \
		"$tmp/twice.c" >"$tmp/cc.out" 2>&1
	then
		problem "$h: cannot be included twice (include guard?):"
		sed 's/^/    /' "$tmp/cc.out"
	fi
done

# (f) shellcheck on every shell script, as POSIX sh (-s sh). The
# integration scripts source lib.sh and deploy-lib.sh, the benchmarks
# history.sh: -x follows their `# shellcheck source=PATH` directives, whose
# paths are relative to the top of the tree, where this runs.
set --
for f in install.sh .ci/run tests/*.sh tests/integration/*.sh \
	tests/bench/*.sh tests/fuzz/*.sh tests/fixtures/*.sh tests/fixtures/*/*.sh \
	contrib/notify/*
do
	test -f "$f" && set -- "$@" "$f"
done
if ! command -v shellcheck >/dev/null 2>&1
then
	problem "shellcheck not found (install it: sh tests/deps.sh)"
elif ! shellcheck -s sh -x -f gcc -- "$@" >"$tmp/shellcheck.out" \
	2>&1
then
	sed 's/^/lint: /' "$tmp/shellcheck.out"
	n=$(grep -c . "$tmp/shellcheck.out" || :)
	test "$n" -gt 0 || n=1
	problems=$((problems + n))
fi

if test "$problems" -gt 0
then
	echo "lint: $problems problem(s)"
	exit 1
fi
