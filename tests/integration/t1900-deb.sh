#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t1900-deb.sh - the Debian package (README "Debian package"): `make deb`
# (tests/deb.sh) builds it from debian/ with dpkg-buildpackage and lintian
# finds no error in it; apt-get installs it, with the hooks and the CLI in
# /usr/bin, the manual pages under /usr/share/man, and install.sh,
# hooks.ini.example and the notify commands in /usr/share/pushgate; the
# packaged install.sh puts the packaged hooks into a new repository, whose
# pre-receive accepts a first push; and apt-get purge removes it all.
#
# The package is installed into this machine's dpkg database, so the
# script needs root (CI runs as root) and refuses to run where a pushgate
# package is installed already; it purges its own on exit, however the
# script ends, leaving the machine as it found it.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"

test "$(id -u)" = 0 ||
	test_bug_ "t1900 builds the Debian package and installs it into" \
		"this machine: run it as root (as CI does); 'make deb'" \
		"builds the package alone"

# pkg_status: dpkg's state of the package pushgate (installed,
# config-files, not-installed, ...), empty if dpkg never heard of it.
pkg_status()
{
	dpkg-query -W -f '${db:Status-Status}' pushgate 2>/dev/null || :
}

case "$(pkg_status)" in
'' | not-installed) ;;
*)
	test_bug_ "a pushgate package is on this machine (dpkg status" \
		"'$(pkg_status)'): this test would replace and purge it;" \
		"remove it first (apt-get purge pushgate)"
	;;
esac

DEB=$TMP/deb
DEBIAN_FRONTEND=noninteractive
export DEBIAN_FRONTEND

# sys CMD...: CMD as a user of the package runs it: the system's PATH,
# nothing of the build tree.
sys()
{
	env -u PUSHGATE_BUILD -u PUSHGATE_SRCDIR \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# in_package PATH: the package built holds PATH (as dpkg-deb -c names it,
# ./usr/...).
in_package()
{
	awk '{ print $6 }' "$TMP/contents" >"$TMP/names" &&
	test_grep -x -F "$1" "$TMP/names"
}

# Whatever happens below, the package does not stay installed.
test_atexit 'dpkg --purge pushgate'

test_expect_success 'make deb builds the package, and lintian finds no error' '
	sh "$PUSHGATE_SRCDIR/tests/deps.sh" --deb &&
	deb_status=0 &&
	{
		sh "$PUSHGATE_SRCDIR/tests/deb.sh" "$DEB" >deb.log 2>&1 ||
			deb_status=$?
	} &&
	cat deb.log &&
	test "$deb_status" -eq 0 &&
	test_grep "^deb.sh: lintian " deb.log &&
	test_grep ! "^E: " deb.log &&
	set -- "$DEB"/pushgate_*.deb &&
	test "$#" -eq 1 &&
	test -f "$1" &&
	deb=$1 &&
	! test -e "$DEB/src"
'

test_expect_success 'the package holds the hooks, the CLI, the manual pages and install.sh' '
	dpkg-deb -c "$deb" >"$TMP/contents" &&
	cat "$TMP/contents" &&
	for f in ./usr/bin/pre-receive ./usr/bin/post-receive \
		./usr/bin/pushgate ./usr/share/man/man1/pushgate.1.gz \
		./usr/share/man/man5/hooks.ini.5.gz \
		./usr/share/pushgate/install.sh \
		./usr/share/pushgate/hooks.ini.example \
		./usr/share/pushgate/notify/slack \
		./usr/share/doc/pushgate/copyright
	do
		in_package "$f" || return 1
	done &&
	dpkg-deb -f "$deb" Package Version Depends >fields &&
	cat fields &&
	test_grep "^Package: pushgate\$" fields &&
	test_grep "^Depends: .*\\bgit\\b" fields &&
	test_grep "^Depends: .*libgit2" fields
'

test_expect_success 'apt-get installs it' '
	apt-get install -y --no-install-recommends "$deb" &&
	test "$(pkg_status)" = installed &&
	test -x /usr/bin/pre-receive &&
	test -x /usr/bin/post-receive &&
	test -x /usr/bin/pushgate
'

test_expect_success '/usr/bin/pushgate --version is the version of the package' '
	sys pushgate --version >version &&
	cat version &&
	test "$(cat version)" = \
		"pushgate $(dpkg-query -W -f "\${Version}" pushgate)"
'

test_expect_success 'the manual pages are installed where man finds them' '
	test -f /usr/share/man/man1/pushgate.1.gz &&
	test -f /usr/share/man/man5/hooks.ini.5.gz &&
	if command -v man >/dev/null 2>&1
	then
		test "$(sys man -w pushgate)" = \
			/usr/share/man/man1/pushgate.1.gz &&
		test "$(sys man -w 5 hooks.ini)" = \
			/usr/share/man/man5/hooks.ini.5.gz
	fi
'

test_expect_success 'the packaged install.sh installs the packaged hooks into a new repository' '
	sys /usr/share/pushgate/install.sh --init "$TMP/app.git" >out 2>err &&
	cat out err &&
	cmp /usr/bin/pre-receive app.git/hooks/pre-receive &&
	cmp /usr/bin/post-receive app.git/hooks/post-receive &&
	test "$(test_mode app.git/hooks/pre-receive)" = -rwxr-xr-x &&
	test "$(test_mode app.git/hooks.ini)" = -rw------- &&
	test_grep "pushgate -C $TMP/app.git check" out &&
	sys pushgate -C "$TMP/app.git" check
'

test_expect_success 'the packaged pre-receive accepts a first push' '
	setup_clone app &&
	cd app-work &&
	commit_file README "hello" "Add README" &&
	push origin main &&
	accepted refs/heads/main &&
	no_crash &&
	test "$(rev_of app refs/heads/main)" = "$(git rev-parse HEAD)"
'

test_expect_success 'apt-get purge removes the package and its files' '
	apt-get purge -y pushgate &&
	case "$(pkg_status)" in
	"" | not-installed) ;;
	*) echo "pushgate still has dpkg status $(pkg_status)" && false ;;
	esac &&
	! test -e /usr/bin/pushgate &&
	! test -e /usr/bin/pre-receive &&
	! test -e /usr/bin/post-receive &&
	! test -e /usr/share/pushgate &&
	! test -e /usr/share/man/man1/pushgate.1.gz &&
	! test -e /usr/share/doc/pushgate
'

test_done
