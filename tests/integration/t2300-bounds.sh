#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t2300-bounds.sh - bounded work ([verify] max_entries and push_timeout):
# a tree bomb (a few dozen tree objects naming each other twice, 2^40
# paths in all) is refused at once by pre-receive, with or without
# forbid_paths and max_file_size, as a tip or as a commit in between;
# deploys refuse a tree over max_entries before exporting anything; and
# pre-receive gets push_timeout for the whole push, however many tips it
# tests.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

# bomb_tree LEVELS: print the id of a tree, written into the current
# repository, of 2^(LEVELS+1) paths: a tree of two files, then LEVELS
# trees, each holding the one below under two names.
bomb_tree()
{
	bomb_tree_b_=$(echo boom | git hash-object -w --stdin) &&
	bomb_tree_t_=$(printf '100644 blob %s\ta.pem\n100644 blob %s\tb.pem\n' \
		"$bomb_tree_b_" "$bomb_tree_b_" | git mktree) &&
	bomb_tree_n_=0 &&
	while test "$bomb_tree_n_" -lt "$1"
	do
		bomb_tree_t_=$(printf '040000 tree %s\ta\n040000 tree %s\tb\n' \
			"$bomb_tree_t_" "$bomb_tree_t_" | git mktree) ||
			return 1
		bomb_tree_n_=$((bomb_tree_n_ + 1))
	done &&
	echo "$bomb_tree_t_"
}

# bomb_commit LEVELS: a commit on top of HEAD (HEAD does not move) whose
# tree is HEAD's plus bomb/, a bomb_tree of LEVELS levels.
bomb_commit()
{
	bomb_commit_t_=$(bomb_tree "$1") &&
	bomb_commit_t_=$(
		git ls-tree HEAD &&
		printf '040000 tree %s\tbomb\n' "$bomb_commit_t_"
	) &&
	bomb_commit_t_=$(printf '%s\n' "$bomb_commit_t_" | git mktree) &&
	git commit-tree -p HEAD -m "a tree bomb" "$bomb_commit_t_"
}

# timed_push ARGS...: push (see lib.sh) under `timeout 60`, failing if
# the push was still running then (status 124): "promptly" means well
# within a minute, whatever the machine's load.
timed_push()
{
	timed_push_status_=0
	timeout 60 git push "$@" >"$TMP/push.out" 2>"$TMP/push.err" ||
		timed_push_status_=$?
	{
		echo "--- timeout 60 git push $*: exit $timed_push_status_"
		cat "$TMP/push.out" "$TMP/push.err"
		echo "---"
	} >&2
	if test "$timed_push_status_" -eq 124
	then
		echo "the push was still running after 60 s" >&2
		return 125
	fi
	return "$timed_push_status_"
}

# too_large REF N: the last push rejected REF because a tree has more
# than N entries.
too_large()
{
	rejected "$1" &&
	test_grep "^remote: pushgate: REJECTED $1: tree too large: more than $2 entries" \
		"$TMP/push.err" &&
	test_grep "^remote: pushgate:   fix: .*max_entries" "$TMP/push.err"
}

# timed_pg ARGS...: pg (see lib.sh) under `timeout 60`, as timed_push.
timed_pg()
{
	timed_pg_status_=0
	timeout 60 pushgate "$@" >"$TMP/pg.out" 2>"$TMP/pg.err" ||
		timed_pg_status_=$?
	{
		echo "--- timeout 60 pushgate $*: exit $timed_pg_status_"
		cat "$TMP/pg.out" "$TMP/pg.err"
		echo "---"
	} >&2
	if test "$timed_pg_status_" -eq 124
	then
		echo "pushgate was still running after 60 s" >&2
		return 125
	fi
	return "$timed_pg_status_"
}

# pid_gone PID: no process PID is left.
pid_gone()
{
	! kill -0 "$1" 2>/dev/null
}

# bounds_config [LINE...]: bounds.git's hooks.ini, the LINEs in [verify].
bounds_config()
{
	{
		echo "[verify]"
		for bounds_config_line_ in "$@"
		do
			echo "$bounds_config_line_"
		done
	} | write_hooks_ini bounds
}

test_expect_success 'setup: a repository and a clone with one commit' '
	setup_repo bounds </dev/null &&
	bounds_config &&
	setup_clone bounds &&
	cd bounds-work &&
	commit_file README "hello" "first" &&
	push origin main &&
	accepted refs/heads/main
'

test_expect_success 'a tree bomb of 2^40 paths is refused at once, with no rules' '
	cd bounds-work &&
	bomb=$(bomb_commit 39) &&
	test "$(git cat-file -p "$bomb:bomb/a/b/a" | wc -l)" -eq 2 &&
	test_must_fail timed_push origin "$bomb:refs/heads/main" &&
	too_large refs/heads/main 1000000 &&
	test_grep "^remote: pushgate:   $(short "$bomb") is the pushed commit" \
		"$TMP/push.err" &&
	test "$(rev_of bounds refs/heads/main)" = "$(git rev-parse HEAD)"
'

test_expect_success 'without a hooks.ini it is accepted, as everything is (SPEC 3)' '
	setup_repo bare </dev/null &&
	rm "$TMP/bare.git/hooks.ini" &&
	cd bounds-work &&
	bomb=$(bomb_commit 39) &&
	timed_push "$TMP/bare.git" "$bomb:refs/heads/main" &&
	accepted refs/heads/main &&
	test "$(rev_of bare refs/heads/main)" = "$bomb"
'

for rules in "forbid_paths = *.pem" "max_file_size = 1M" \
	"forbid_paths = bomb/*" "forbid_paths = .env
max_file_size = 1K"
do
	test_expect_success "a tree bomb is refused at once with $rules" '
		bounds_config "$rules" &&
		cd bounds-work &&
		bomb=$(bomb_commit 39) &&
		test_must_fail timed_push origin "$bomb:refs/heads/main" &&
		too_large refs/heads/main 1000000 &&
		test "$(rev_of bounds refs/heads/main)" = "$(git rev-parse HEAD)"
	'
done

test_expect_success 'and as a tag, or as a new branch, next to a good ref' '
	bounds_config "forbid_paths = *.pem" &&
	cd bounds-work &&
	bomb=$(bomb_commit 39) &&
	git tag -a -m "boom" boom "$bomb" &&
	commit_file ok.txt "ok" "fine" &&
	test_must_fail timed_push origin main "$bomb:refs/heads/bomb" \
		refs/tags/boom &&
	too_large refs/heads/bomb 1000000 &&
	too_large refs/tags/boom 1000000 &&
	test_grep "^remote: pushgate: 2 of 3 refs rejected" "$TMP/push.err" &&
	no_ref bounds refs/tags/boom &&
	no_ref bounds refs/heads/bomb &&
	git tag -d boom >/dev/null &&
	git reset -q --hard origin/main
'

test_expect_success 'a bomb in a commit between: refused with the rules that walk it' '
	cd bounds-work &&
	bomb=$(bomb_commit 39) &&
	gone=$(git commit-tree -p "$bomb" -m "bomb gone" "HEAD^{tree}") &&
	bounds_config "forbid_paths = *.pem" &&
	test_must_fail timed_push origin "$gone:refs/heads/main" &&
	too_large refs/heads/main 1000000 &&
	test_grep "^remote: pushgate:   $(short "$bomb") adds or changes them" \
		"$TMP/push.err" &&
	bounds_config "max_file_size = 1M" &&
	test_must_fail timed_push origin "$gone:refs/heads/main" &&
	too_large refs/heads/main 1000000 &&
	bounds_config "forbid_paths = bomb/*" "max_entries = 100000" &&
	test_must_fail timed_push origin "$gone:refs/heads/main" &&
	too_large refs/heads/main 100000 &&
	test "$(rev_of bounds refs/heads/main)" = "$(git rev-parse HEAD)"
'

test_expect_success 'copies under the rules are judged once: the details are complete' '
	bounds_config "forbid_paths = *.pem" &&
	cd bounds-work &&
	bomb=$(bomb_commit 12) &&
	test_must_fail timed_push origin "$bomb:refs/heads/main" &&
	rejected refs/heads/main &&
	test_grep "forbidden path" "$TMP/push.err" &&
	test_grep "^remote: pushgate:   $(short "$bomb") bomb/a/a/a/a/a/a/a/a/a/a/a/a/a.pem (matches" \
		"$TMP/push.err" &&
	test "$(grep -c "^remote: pushgate:   $(short "$bomb") bomb/.*\.pem (matches" "$TMP/push.err")" -eq 10 &&
	test_grep "^remote: pushgate:   \.\.\. and 8182 more" "$TMP/push.err"
'

test_expect_success 'a tree at max_entries is accepted, one past it is not' '
	cd bounds-work &&
	bomb=$(bomb_commit 3) &&
	n=$(git ls-tree -r -t "$bomb" | wc -l) &&
	test "$n" -eq 32 &&
	bounds_config "max_entries = 31" &&
	test_must_fail timed_push origin "$bomb:refs/heads/main" &&
	too_large refs/heads/main 31 &&
	bounds_config "max_entries = 32" &&
	timed_push origin "$bomb:refs/heads/main" &&
	accepted refs/heads/main &&
	git fetch -q origin &&
	git reset -q --hard origin/main
'

test_expect_success 'max_entries: 0 and past 2000000 are errors' '
	bounds_config "max_entries = 0" &&
	cd bounds-work &&
	commit_file c.txt "c" "c" &&
	test_must_fail push origin main &&
	test_grep "hooks.ini:2: invalid .max_entries.: .0. is not a number from 1 to 2000000" \
		"$TMP/push.err" &&
	bounds_config "max_entries = 2000001" "push_timeout = 0" &&
	test_must_fail push origin main &&
	test_grep "hooks.ini:2: invalid .max_entries.: .2000001. is not a number" \
		"$TMP/push.err" &&
	test_grep "hooks.ini:3: invalid .push_timeout.: .0. is not a number from 1 to 86400" \
		"$TMP/push.err" &&
	git reset -q --hard origin/main
'

# --- deploys --------------------------------------------------------------

# dep_config [LINE...]: dep.git's hooks.ini: a test, an environment
# deploying main here, and the LINEs in [verify].
dep_config()
{
	{
		echo "[verify]"
		echo "test = true"
		for dep_config_line_ in "$@"
		do
			echo "$dep_config_line_"
		done
		echo "[environment \"prod\"]"
		echo "branch = main"
		echo "path = $TMP/srv/prod"
	} | write_hooks_ini dep
}

# into_dep COMMIT: put COMMIT into dep.git under refs/bombs/, as a fetch
# would (no hook runs): a commit that did not come through a push.
into_dep()
{
	git update-ref "refs/bombs/$1" "$1" &&
	git --git-dir="$TMP/dep.git" fetch -q "$TMP/dep-work" \
		"refs/bombs/$1:refs/bombs/$1"
}

# releases: the releases of prod, one per line.
releases()
{
	ls "$TMP/srv/prod/releases"
}

test_expect_success 'deploy: setup, an environment with a test' '
	setup_repo dep </dev/null &&
	dep_config &&
	setup_clone dep &&
	cd dep-work &&
	commit_file README "hello" "first" &&
	push origin main &&
	accepted refs/heads/main &&
	deployed prod HEAD
'

test_expect_success 'deploy: a tree bomb pushed is refused before it is tested' '
	cd dep-work &&
	bomb=$(bomb_commit 39) &&
	test_must_fail timed_push origin "$bomb:refs/heads/main" &&
	too_large refs/heads/main 1000000 &&
	test_grep ! "testing refs/heads/main" "$TMP/push.err" &&
	test_grep ! "deploying" "$TMP/push.err"
'

test_expect_success 'deploy: pushgate deploy refuses a commit over max_entries' '
	cd dep-work &&
	bomb=$(bomb_commit 39) &&
	into_dep "$bomb" &&
	live=$(readlink "$TMP/srv/prod/current") &&
	releases >before &&
	test_expect_code 1 timed_pg -C "$TMP/dep.git" deploy prod "$bomb" &&
	test_grep "cannot deploy to .prod.: tree too large: more than 1000000 entries" \
		"$TMP/pg.err" &&
	test_grep "fix: .*max_entries" "$TMP/pg.out" "$TMP/pg.err" &&
	pg_no_crash &&
	test "$(readlink "$TMP/srv/prod/current")" = "$live" &&
	releases >after &&
	test_cmp before after
'

test_expect_success 'deploy: a deploy of such a tip refuses to export it' '
	cd dep-work &&
	bomb=$(bomb_commit 39) &&
	into_dep "$bomb" &&
	good=$(rev_of dep refs/heads/main) &&
	live=$(readlink "$TMP/srv/prod/current") &&
	releases >before &&
	git --git-dir="$TMP/dep.git" update-ref refs/heads/main "$bomb" &&
	test_expect_code 1 timed_pg -C "$TMP/dep.git" deploy --pending prod &&
	git --git-dir="$TMP/dep.git" update-ref refs/heads/main "$good" &&
	test_grep "tree too large: more than 1000000 entries" \
		"$TMP/pg.out" "$TMP/pg.err" &&
	pg_no_crash &&
	test "$(readlink "$TMP/srv/prod/current")" = "$live" &&
	releases >after &&
	test_cmp before after
'

test_expect_success 'deploy: at max_entries it deploys, one past it is refused' '
	cd dep-work &&
	small=$(bomb_commit 3) &&
	into_dep "$small" &&
	n=$(git ls-tree -r -t "$small" | wc -l) &&
	dep_config "max_entries = $((n - 1))" &&
	test_expect_code 1 timed_pg -C "$TMP/dep.git" deploy prod "$small" &&
	test_grep "tree too large: more than $((n - 1)) entries" "$TMP/pg.err" &&
	dep_config "max_entries = $n" &&
	timed_pg -C "$TMP/dep.git" deploy prod "$small" &&
	pg_no_crash &&
	id=$(live_id "$TMP/srv/prod") &&
	check_release "$TMP/srv/prod" "$id" "$small" &&
	test -f "$TMP/srv/prod/current/bomb/a/b/a/b.pem"
'

test_expect_success 'deploy: a build that makes more than max_entries is not deployed' '
	setup_repo built </dev/null &&
	{
		echo "[verify]" &&
		echo "build = sh ./build.sh" &&
		echo "max_entries = 20" &&
		echo "[environment \"prod\"]" &&
		echo "branch = main" &&
		echo "path = $TMP/srv/built" &&
		echo "artifact = out"
	} | write_hooks_ini built &&
	setup_clone built &&
	cd built-work &&
	cat >build.sh <<-\EOF &&
	mkdir out &&
	for n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21
	do
		echo "$n" >"out/f$n" || exit 1
	done
	EOF
	git add build.sh &&
	git commit -q -m "a build of 21 files" &&
	timed_push origin main &&
	accepted refs/heads/main &&
	deploy_failed prod HEAD &&
	test_grep "artifact too large: more than 20 entries" "$TMP/push.err" &&
	! test -e "$TMP/srv/built/current"
'

# --- push_timeout ---------------------------------------------------------

OUT=$TMP/out
mkdir "$OUT"

test_expect_success 'push_timeout: setup, a test that blocks on slow branches' '
	setup_repo budget </dev/null &&
	setup_clone budget &&
	cd budget-work &&
	cat >ci.sh <<-EOF &&
	case "\$PUSHGATE_REF" in
	refs/heads/*-slow) ;;
	*) exit 0 ;;
	esac
	echo \$\$ >>"$OUT/slow.pids"
	echo "BLOCKED on \$PUSHGATE_REF"
	until test -e "$OUT/never"; do sleep 0.1; done
	EOF
	git add ci.sh &&
	git commit -q -m "ci" &&
	{
		echo "[verify]" &&
		echo "test = sh ./ci.sh" &&
		echo "test_timeout = 60" &&
		echo "push_timeout = 4" &&
		echo "test_branches = *" &&
		echo "sandbox_write = $OUT"
	} | write_hooks_ini budget &&
	push origin main &&
	accepted refs/heads/main
'

test_expect_success 'push_timeout: blocked tests stop when the push runs out of it' '
	cd budget-work &&
	commit_file a.txt "a" "a" &&
	test_must_fail timed_push origin HEAD:refs/heads/b-slow \
		HEAD:refs/heads/c-slow HEAD:refs/heads/a-fast &&
	test_grep "^remote: pushgate: REJECTED refs/heads/[bc]-slow: tests stopped: push_timeout (4 s) ran out" \
		"$TMP/push.err" &&
	test_grep "^remote: pushgate:   fix: .*push_timeout" "$TMP/push.err" &&
	test_grep ! "test_timeout" "$TMP/push.err" &&
	test "$(grep -c "BLOCKED on" "$TMP/push.err")" -eq 1 &&
	no_crash &&
	no_ref budget refs/heads/b-slow &&
	no_ref budget refs/heads/c-slow &&
	no_ref budget refs/heads/a-fast &&
	while read -r pid
	do
		test_wait_for 10 pid_gone "$pid" || return 1
	done <"$OUT/slow.pids"
'

test_expect_success 'push_timeout: a push within it is accepted' '
	cd budget-work &&
	timed_push origin HEAD:refs/heads/a-fast HEAD:refs/heads/d-fast &&
	accepted refs/heads/a-fast &&
	accepted refs/heads/d-fast
'

test_done
