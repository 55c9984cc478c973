#!/bin/sh
# deb.sh - `make deb`: build pushgate's Debian package and check it.
#
#   tests/deb.sh [OUTDIR]
#
# Copies the source tree (as it is, uncommitted changes included; without
# .git, build/ and build-san/) into OUTDIR/src, runs
# `dpkg-buildpackage -us -uc -b` there, so that the packages, .buildinfo
# and .changes land in OUTDIR (default build/deb, emptied first), then
# runs lintian on them and prints what it says. Nothing is written outside
# OUTDIR. OUTDIR/src is removed after a successful build.
#
# The build tools come from `tests/deps.sh --deb` (make deb runs it first).
# Exit status: 0 when the package was built and lintian found no error,
# 1 otherwise, 2 for a usage error.

set -eu

unset CDPATH
srcdir=$(cd -P -- "$(dirname -- "$0")/.." && pwd)

case "$#" in
0) out=$srcdir/build/deb ;;
1) out=$1 ;;
*)
	echo "usage: deb.sh [OUTDIR]" >&2
	exit 2
	;;
esac

die()
{
	echo "deb.sh: $*" >&2
	exit 1
}

for tool in dpkg-buildpackage dh lintian
do
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' not found (run 'sh tests/deps.sh --deb' as root)"
done

# OUTDIR is emptied: refuse anything that is clearly not ours to empty.
case "$out" in
'' | / | "$srcdir" | "$srcdir/") die "refusing OUTDIR '$out'" ;;
esac
rm -rf -- "$out"
mkdir -p -- "$out/src"
out=$(cd -P -- "$out" && pwd)

(cd "$srcdir" &&
	tar -cf - --exclude=./.git --exclude=./build --exclude=./build-san .) |
	(cd "$out/src" && tar -xf -) ||
	die "cannot copy the source tree into '$out/src'"

# Nothing of a calling make or test run reaches the package's build: not
# make's flags and variables (make check SANITIZE=1 DEVELOPER=1 runs this
# from t1900), nor the test driver's directories.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEFILES SANITIZE DEVELOPER \
	PUSHGATE_BUILD PUSHGATE_SRCDIR

echo "deb.sh: building in $out/src"
(cd "$out/src" && dpkg-buildpackage -us -uc -b) ||
	die "dpkg-buildpackage failed (see above; the tree is in '$out/src')"

set -- "$out"/pushgate_*.changes
test -f "$1" || die "dpkg-buildpackage made no .changes in '$out'"
changes=$1
rm -rf -- "$out/src"

echo "deb.sh: lintian $changes"
status=0
lintian --info --pedantic --display-info --display-experimental \
	--show-overrides --tag-display-limit 0 \
	"$changes" || status=$?
test "$status" -eq 0 ||
	die "lintian found errors (exit $status; see above)"
echo "deb.sh: built:"
ls -1 -- "$out"/*.deb
