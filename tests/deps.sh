#!/bin/sh
# deps.sh - install the Debian packages needed to build and test pushgate.
#
#   tests/deps.sh [--deb | --fuzz]
#
# Run by `make deps` (and so by `make check`, `make bench`, `make demo`).
# With --deb (`make deb`), the packages that build the Debian package and
# check it instead: the libraries, the compiler, dpkg-dev, debhelper and
# lintian, but not the tools of the tests. With --fuzz (`make fuzz`),
# the libraries, make, clang-14 and libFuzzer. Silent when everything is
# present. As root it installs exactly the missing packages with apt-get;
# as any other user it prints the command to run and exits 1.

set -eu

deb=false
fuzz=false
case "$#:${1-}" in
0:) ;;
1:--deb) deb=true ;;
1:--fuzz) fuzz=true ;;
*)
	echo "usage: deps.sh [--deb | --fuzz]" >&2
	exit 2
	;;
esac

# Is the Debian package $1 installed? (Used only when pkg-config is absent.)
installed()
{
	command -v dpkg-query >/dev/null 2>&1 &&
	dpkg-query -W -f '${Status}\n' "$1" 2>/dev/null |
		grep -q 'install ok installed'
}

have()
{
	command -v "$1" >/dev/null 2>&1
}

# The missing packages accumulate in "$@" (each is listed only once below).
set --

# Libraries, found through pkg-config.
for pair in libgit2:libgit2-dev libssh2:libssh2-1-dev inih:libinih-dev \
	libcrypto:libssl-dev \
	cmocka:libcmocka-dev
do
	module=${pair%%:*}
	package=${pair#*:}
	if have pkg-config
	then
		pkg-config --exists "$module" || set -- "$@" "$package"
	else
		installed "$package" || set -- "$@" "$package"
	fi
done

# Tools.
if test "$deb" = true
then
	# dpkg-buildpackage checks the Build-Depends of debian/control, and
	# build-essential besides.
	tools="pkg-config:pkg-config cc:gcc make:make \
		dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian"
	installed build-essential || set -- "$@" build-essential
elif test "$fuzz" = true
then
	tools="pkg-config:pkg-config make:make clang-14:clang-14"
	installed libfuzzer-14-dev || set -- "$@" libfuzzer-14-dev
else
	tools="pkg-config:pkg-config cc:gcc make:make git:git tar:tar \
		ssh-keygen:openssh-client shellcheck:shellcheck jq:jq \
		faketime:faketime"
fi
for pair in $tools
do
	tool=${pair%%:*}
	package=${pair#*:}
	have "$tool" || set -- "$@" "$package"
done
if test "$deb" = false
then
	test -x /usr/sbin/sshd || set -- "$@" openssh-server
	# the zones of the deploy-window tests
	test -f /usr/share/zoneinfo/Europe/Berlin || set -- "$@" tzdata
fi

test "$#" -eq 0 && exit 0

if test "$(id -u)" != 0
then
	echo "deps.sh: missing packages: $*; as root, run:" \
		"apt-get update && apt-get install -y --no-install-recommends $*" >&2
	exit 1
fi
if ! have apt-get
then
	echo "deps.sh: missing packages: $* (no apt-get here: install them" \
		"with your package manager)" >&2
	exit 1
fi

echo "deps.sh: installing $*"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
