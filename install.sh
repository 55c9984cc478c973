#!/bin/sh
# install.sh - install pushgate's hooks into a bare Git repository.
#
#   ./install.sh [--init] [--force] /srv/git/app.git
#
# Builds the binaries if they are not built yet (`make -C SRCDIR`), copies
# pre-receive and post-receive into REPO/hooks/, writes REPO/hooks.ini from
# hooks.ini.example unless one exists, and sets
# receive.advertisePushOptions=true. Running it again is harmless: it
# replaces older pushgate hooks and never touches an existing hooks.ini.
#
#   --init    create the bare repository if it does not exist
#   --force   replace hooks that are not pushgate's
#
# The binaries are taken from $PUSHGATE_BUILD if set, else from
# SRCDIR/build in a source tree, else from PREFIX/bin when this script is
# installed as PREFIX/share/pushgate/install.sh by `make install`.
#
# Exit status: 0 success, 1 failure, 2 usage error.

set -eu

usage="usage: install.sh [--init] [--force] /path/to/repo.git"

die()
{
	echo "install.sh: $*" >&2
	exit 1
}

usage_error()
{
	test "$#" -eq 0 || echo "install.sh: $*" >&2
	echo "$usage" >&2
	exit 2
}

init=false
force=false
while test "$#" -gt 0
do
	case "$1" in
	--init) init=true ;;
	--force) force=true ;;
	-h|--help)
		echo "$usage"
		exit 0
		;;
	--) shift; break ;;
	-*) usage_error "unknown option '$1'" ;;
	*) break ;;
	esac
	shift
done
test "$#" -eq 1 || usage_error
repo=$1
test -n "$repo" || usage_error "empty repository path"

srcdir=$(cd -P -- "$(dirname -- "$0")" && pwd)

unset CDPATH

# This script may have been started by git: its variables would redirect
# the git commands below to another repository.
unset GIT_DIR GIT_WORK_TREE GIT_COMMON_DIR GIT_INDEX_FILE \
	GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
	GIT_QUARANTINE_PATH GIT_CONFIG GIT_CONFIG_PARAMETERS

example=$srcdir/hooks.ini.example
test -f "$example" || die "'$example' not found"

is_bare()
{
	test "$(git --git-dir="$1" rev-parse --is-bare-repository \
		2>/dev/null)" = true
}
not_bare()
{
	die "'$1' is not a bare Git repository (create one with" \
		"'git init --bare', or use --init on a new path)"
}

# The repository is checked before the build, and created after it.
create=false
if ! test -e "$repo" && ! test -h "$repo"
then
	test "$init" = true ||
		die "'$repo' does not exist (use --init to create it)"
	create=true
elif test "$init" = true && test -d "$repo" && test -z "$(ls -A -- "$repo")"
then
	create=true
else
	test -d "$repo" || die "'$repo' is not a directory"
	is_bare "$repo" || not_bare "$repo"
fi

# Where the binaries are, building them if needed.
if test -n "${PUSHGATE_BUILD-}"
then
	build=$PUSHGATE_BUILD
elif test -f "$srcdir/Makefile"
then
	build=$srcdir/build
else
	build=$srcdir/../../bin
fi
built()
{
	test -f "$build/pre-receive" && test -x "$build/pre-receive" &&
	test -f "$build/post-receive" && test -x "$build/post-receive"
}
if ! built
then
	test -f "$srcdir/Makefile" ||
		die "no pre-receive and post-receive in '$build'" \
			"(set PUSHGATE_BUILD to the directory holding them)"
	command -v make >/dev/null 2>&1 ||
		die "cannot build pushgate: 'make' not found" \
			"(run 'sh $srcdir/tests/deps.sh' as root)"
	echo "install.sh: building pushgate in $srcdir"
	if test "$build" = "$srcdir/build-san"
	then
		make -C "$srcdir" SANITIZE=1 || die "build failed (see above)"
	else
		make -C "$srcdir" || die "build failed (see above)"
	fi
	built || die "the build did not produce pre-receive and" \
		"post-receive in '$build' (check PUSHGATE_BUILD)"
fi
for hook in pre-receive post-receive
do
	grep -q pushgate-hook-marker "$build/$hook" ||
		die "'$build/$hook' is not a pushgate hook (no marker)"
done

if test "$create" = true
then
	mkdir -p -- "$repo"
	git init -q --bare -- "$repo" ||
		die "cannot create a bare repository in '$repo'"
	echo "install.sh: created bare repository $repo"
fi
repo=$(cd -P -- "$repo" && pwd)
is_bare "$repo" || not_bare "$repo"

hooks=$repo/hooks
mkdir -p -- "$hooks"

# Refuse before changing anything if a hook is not ours.
foreign=
for hook in pre-receive post-receive
do
	dst=$hooks/$hook
	if test -d "$dst"
	then
		die "'$dst' is a directory: move it away first"
	elif test -e "$dst" || test -h "$dst"
	then
		if ! grep -q pushgate-hook-marker "$dst" 2>/dev/null
		then
			foreign="$foreign $hook"
		fi
	fi
done
if test -n "$foreign" && test "$force" != true
then
	for hook in pre-receive post-receive
	do
		case "$foreign " in
		*" $hook "*)
			echo "install.sh: '$hooks/$hook' is not a pushgate" \
				"hook; refusing to overwrite it (move it away," \
				"or use --force to replace it)" >&2
			;;
		esac
	done
	exit 1
fi

# Install each hook under a temporary name, then rename it into place.
tmp=
trap 'test -z "$tmp" || rm -f -- "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
for hook in pre-receive post-receive
do
	dst=$hooks/$hook
	case "$foreign " in
	*" $hook "*)
		cp -p -- "$dst" "$dst.pushgate-replaced" 2>/dev/null ||
			rm -f -- "$dst.pushgate-replaced"
		echo "install.sh: replacing foreign hook '$dst'" \
			"(a copy is in '$dst.pushgate-replaced')"
		;;
	esac
	tmp=$hooks/.$hook.pushgate-install.$$
	rm -f -- "$tmp"
	cp -- "$build/$hook" "$tmp"
	chmod 755 "$tmp"
	mv -f -- "$tmp" "$dst"
	tmp=
done

# The hooks run as the repository's owner and refuse a hooks.ini they
# cannot trust: when root installs into a repository owned by someone else,
# the files it writes there (other than the hooks) go to that owner.
owner=
if test "$(id -u)" = 0
then
	# Fields 3 and 4 come before the name: any name is fine.
	# shellcheck disable=SC2012
	owner=$(ls -nd -- "$repo" | awk '{ print $3 ":" $4 }')
	case "$owner" in
	0:*) owner= ;;
	esac
fi
give_to_owner()
{
	test -z "$owner" || chown "$owner" "$1"
}

# The configuration: written once, never overwritten.
config=$repo/hooks.ini
if test -e "$config" || test -h "$config"
then
	config_state="existing file, left as it was"
else
	tmp=$repo/.hooks.ini.pushgate-install.$$
	rm -f -- "$tmp"
	# The example is a complete, realistic setup. The copy starts inert:
	# every setting commented out, so that nothing is enforced or
	# deployed until the administrator chooses it.
	(umask 077 && {
		echo "# pushgate configuration, from hooks.ini.example."
		echo "# Every setting is commented out: uncomment and edit what you"
		echo "# need, then run: pushgate check"
		echo
		sed -e 's/^\([^#;[:space:]]\)/# \1/' -- "$example"
	} >"$tmp")
	chmod 600 "$tmp"
	give_to_owner "$tmp"
	mv -f -- "$tmp" "$config"
	tmp=
	config_state="new, from hooks.ini.example (all settings commented out)"
fi

git config --file "$repo/config" receive.advertisePushOptions true
give_to_owner "$repo/config"

hooks_path=$(git config --file "$repo/config" core.hooksPath 2>/dev/null) ||
	hooks_path=
if test -n "$hooks_path"
then
	echo "install.sh: warning: core.hooksPath is set to '$hooks_path'" \
		"in '$repo/config': git will not run the hooks installed in" \
		"'$hooks'" >&2
fi

if command -v pushgate >/dev/null 2>&1
then
	cli=pushgate
else
	cli=$build/pushgate
fi
cat <<EOF
pushgate is installed in $repo
  hooks:  $hooks/pre-receive, $hooks/post-receive
  config: $config ($config_state)
Next:
  1. edit $config: [verify] rules, build/test commands and
     [environment "NAME"] sections (every key is described in it)
  2. check it, and the deploy hosts: $cli -C $repo check
EOF
