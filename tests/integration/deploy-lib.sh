# shellcheck shell=sh
# deploy-lib.sh - helpers shared by pushgate's end-to-end deploy tests
# (t0600-deploy-local.sh, t0700-deploy-ssh.sh, t0800-workflow.sh): what
# the last push said about a deploy, the release layout of a deploy path
# (current, releases/ID, REVISION), refs/environments/*, the deploy
# history, commits with a chosen id prefix, and trees of hostile file
# names. A script sources it right after lib.sh, whose helpers ($TMP,
# test_grep, commit_file, ...) it uses:
#
#	. "$(dirname -- "$0")/lib.sh"
#	. "$(dirname -- "$0")/deploy-lib.sh"
#
# It defines functions and the variable hostile_names only, and runs no
# test. (Not named tNNNN-*.sh: tests/run.sh does not run it.)

# short REV: the 12 digits pushgate prints for REV (a full id, used as
# is, or a name the current repository resolves).
short()
{
	case "$1" in
	????????????????????????????????????????)
		short_=$1
		;;
	*)
		short_=$(git rev-parse --verify "$1") || return 1
		;;
	esac
	printf '%.12s\n' "$short_"
}

# deployed ENV REV: the last push says REV was deployed to ENV (with
# "on N hosts" for more than one).
deployed()
{
	test_grep "^remote: pushgate: deployed $(short "$2") to '$1' \(on [0-9]* hosts \)\{0,1\}in [0-9.]* s (release " \
		"$TMP/push.err" &&
	no_crash
}

# deploy_failed ENV REV: the last push says the deploy of REV to ENV
# failed.
deploy_failed()
{
	test_grep "^remote: pushgate: FAILED to deploy $(short "$2") to '$1': " \
		"$TMP/push.err" &&
	no_crash
}

# live_id DIR: the id of the release DIR/current points at; fails unless
# current is a relative symlink "releases/ID" to an existing directory.
live_id()
{
	live_id_=$(readlink -- "$1/current") || return 1
	case "$live_id_" in
	releases/*/*|releases/|releases/.*) return 1 ;;
	releases/*) ;;
	*)
		echo "current -> '$live_id_' is not releases/ID" >&2
		return 1
		;;
	esac
	test -d "$1/$live_id_" || {
		echo "current -> '$live_id_', which does not exist" >&2
		return 1
	}
	echo "${live_id_#releases/}"
}

# check_release DIR ID REV: releases/ID of DIR is a complete release of
# REV: the id is YYYYmmddTHHMMSSZ-<12 hex of REV> and REVISION holds the
# full commit id and a newline.
check_release()
{
	check_release_hex_=$(git rev-parse "$3") &&
	check_release_short_=$(printf '%.12s' "$check_release_hex_") &&
	case "$2" in
	[0-9][0-9][0-9][0-9][0-1][0-9][0-3][0-9]T[0-2][0-9][0-5][0-9][0-6][0-9]Z-"$check_release_short_")
		;;
	*)
		echo "bad release id '$2' for $check_release_hex_" >&2
		return 1
		;;
	esac &&
	test -d "$1/releases/$2" &&
	printf '%s\n' "$check_release_hex_" >"$TMP/revision.expected" &&
	cmp "$TMP/revision.expected" "$1/releases/$2/REVISION"
}

# list_releases DIR: the release ids of DIR, one a line, sorted (every
# entry of DIR/releases, dot-files included).
list_releases()
{
	find "$1/releases" -mindepth 1 -maxdepth 1 -printf "%f\n" | sort
}

# kept_artifacts REPO: the keys of the built artifacts kept in
# $TMP/REPO.git's store, one a line.
kept_artifacts()
{
	if test -d "$TMP/$1.git/pushgate/artifacts"
	then
		find "$TMP/$1.git/pushgate/artifacts" -mindepth 1 -maxdepth 1 \
			-type d -printf "%f\n" | sort
	fi
}

# env_ref REPO ENV: refs/environments/ENV of $TMP/REPO.git.
env_ref()
{
	git --git-dir="$TMP/$1.git" rev-parse -q --verify \
		"refs/environments/$2"
}

# no_env_ref REPO ENV: $TMP/REPO.git has no refs/environments/ENV.
no_env_ref()
{
	! git --git-dir="$TMP/$1.git" rev-parse -q --verify \
		"refs/environments/$2" >/dev/null
}

# last_record REPO: the last line of the repository's history, which is
# also left in $TMP/record.
last_record()
{
	tail -n 1 "$TMP/$1.git/pushgate/history" >"$TMP/record" &&
	cat "$TMP/record"
}

# field N: field N of $TMP/record (tab-separated: time env action commit
# release user result duration reason).
field()
{
	cut -f "$1" <"$TMP/record"
}

# check_record REPO ENV REV RESULT [RELEASE]: the last history record is
# a deploy of REV to ENV by tester with RESULT (and RELEASE).
check_record()
{
	last_record "$1" >/dev/null &&
	cat "$TMP/record" &&
	test "$(field 2)" = "$2" &&
	test "$(field 3)" = deploy &&
	test "$(field 4)" = "$(git rev-parse "$3")" &&
	test "$(field 6)" = tester &&
	test "$(field 7)" = "$4" &&
	if test "$#" -ge 5
	then
		test "$(field 5)" = "$5"
	fi
}

# nr_records REPO: how many records the history has.
nr_records()
{
	if test -f "$TMP/$1.git/pushgate/history"
	then
		wc -l <"$TMP/$1.git/pushgate/history" | tr -d ' '
	else
		echo 0
	fi
}

# commit_with_prefix X PATH CONTENT MESSAGE: commit_file, then amend the
# message until the commit id starts with the hex digit X (bounded): the
# release ids of deploys made within one second then sort in deploy
# order even though the engine orders them by commit id, or a test can
# choose how they sort.
commit_with_prefix()
{
	commit_with_prefix_x_=$1
	shift
	commit_file "$@" || return 1
	commit_with_prefix_n_=0
	until case "$(git rev-parse HEAD)" in
		"$commit_with_prefix_x_"*) true ;;
		*) false ;;
		esac
	do
		commit_with_prefix_n_=$((commit_with_prefix_n_ + 1))
		if test "$commit_with_prefix_n_" -gt 400
		then
			echo "commit_with_prefix: no id starting with $commit_with_prefix_x_" >&2
			return 1
		fi
		git commit -q --amend -m "$3 ($commit_with_prefix_n_)" ||
			return 1
	done
}

# hostile_names: file names a shell would mangle or execute, separated by
# "|" (one holds a newline), for hostile_tree and check_hostile_tree. A
# script may append names of its own, e.g.
#	hostile_names="$hostile_names|-P"
hostile_nl_='
'
# The quotes and backslashes kept in the value are parts of names.
# shellcheck disable=SC2089
hostile_names="with space.txt|single'quote|double\"quote|\$(touch PWNED)|\`touch PWNED2\`|semi;touch PWNED3|new${hostile_nl_}line|$(printf "caf\303\251 \346\227\245\346\234\254.txt")|-leading-dash|back\\slash|star*and?glob[1]|dir \$(touch PWNED4)/in'side \`x\`.txt"

# hostile_tree: commit the files of hostile_names in the current work
# tree, each holding its own name.
hostile_tree()
{
	hostile_tree_ifs_=$IFS
	set -f
	IFS='|'
	# Split at "|" only, globbing off; the quotes in the names are theirs.
	# shellcheck disable=SC2086,SC2090
	set -- $hostile_names
	IFS=$hostile_tree_ifs_
	set +f
	for hostile_name_ in "$@"
	do
		case "$hostile_name_" in
		*/*) mkdir -p -- "${hostile_name_%/*}" || return 1 ;;
		esac
		printf "%s" "$hostile_name_" >"./$hostile_name_" || return 1
	done &&
	git add -A . &&
	git commit -q -m "hostile names"
}

# check_hostile_tree DIR: DIR holds the files of hostile_tree, intact.
check_hostile_tree()
{
	check_hostile_tree_dir_=$1
	check_hostile_tree_ifs_=$IFS
	set -f
	IFS='|'
	# Split at "|" only, globbing off; the quotes in the names are theirs.
	# shellcheck disable=SC2086,SC2090
	set -- $hostile_names
	IFS=$check_hostile_tree_ifs_
	set +f
	for hostile_name_ in "$@"
	do
		test -f "$check_hostile_tree_dir_/$hostile_name_" || {
			echo "missing: $hostile_name_" >&2
			return 1
		}
		test "$(cat "$check_hostile_tree_dir_/$hostile_name_")" = \
			"$hostile_name_" || {
			echo "bad content: $hostile_name_" >&2
			return 1
		}
	done
}
