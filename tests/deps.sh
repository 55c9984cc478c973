#!/bin/sh
# deps.sh - install the Debian packages needed to build and test pushgate.
#
# Run by `make deps` (and so by `make check`, `make bench`, `make demo`).
# Silent when everything is present. As root it installs exactly the
# missing packages with apt-get; as any other user it prints the command to
# run and exits 1.

set -eu

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
for pair in pkg-config:pkg-config cc:gcc make:make git:git tar:tar \
	ssh-keygen:openssh-client shellcheck:shellcheck jq:jq \
	faketime:faketime
do
	tool=${pair%%:*}
	package=${pair#*:}
	have "$tool" || set -- "$@" "$package"
done
test -x /usr/sbin/sshd || set -- "$@" openssh-server
# the zones of the deploy-window tests
test -f /usr/share/zoneinfo/Europe/Berlin || set -- "$@" tzdata

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
