#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t1200-incremental.sh - releases that cost what changed (SPEC sections 9
# and 10), with real pushes, on `local` hosts and over SSH to a real
# OpenSSH server on 127.0.0.1: a random sequence of commits (adds,
# deletes, renames, 644 <-> 755, symlinks made, retargeted and removed,
# file <-> directory swaps, hostile names) where every incremental
# release is identical to a full deploy of the same commit and no older
# release ever changes; a live release tampered with (appended to,
# chmod'ed, junk added, a `before` writing a tracked file) whose changes
# never reach the next; the fallbacks to a full upload, each saying why;
# `incremental = copy`; and a build that runs once, its artifact
# promoted from staging to production and restored by a rollback.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

PUSHGATE_USER=tester
export PUSHGATE_USER

SSHD_SH=$PUSHGATE_SRCDIR/tests/sshd.sh
DEPLOY=$TMP/deploy
OUT=$TMP/out
mkdir "$DEPLOY" "$OUT"
SSHD_KEY='' SSHD_USER='' SSHD_PORT1='' SSHD_KNOWN_HOSTS=''

# same_release A B: the release directories A and B hold the same
# entries (paths, types, bits, bytes, symlink targets), REVISION aside.
same_release()
{
	for same_release_d_ in "$1" "$2"
	do
		(cd "$same_release_d_" && find . -mindepth 1 ! -name REVISION \
			-printf '%y %m %l %P\0' | sort -z) >"$OUT/shape.$$" ||
			return 1
		if test "$same_release_d_" = "$1"
		then
			mv "$OUT/shape.$$" "$OUT/shape-a"
		else
			mv "$OUT/shape.$$" "$OUT/shape-b"
		fi
	done &&
	cmp "$OUT/shape-a" "$OUT/shape-b" &&
	diff -r --no-dereference -x REVISION "$1" "$2"
}

# sums DIR: every release under DIR/releases, its entries and their
# bytes, one line each (to tell that a release did not change).
sums()
{
	for sums_r_ in "$1"/releases/*
	do
		test -d "$sums_r_" || continue
		printf '%s %s\n' "${sums_r_##*/}" "$(cd "$sums_r_" &&
			find . -printf '%y %m %s %l %P\0' | sort -z |
			md5sum | cut -c1-32) $(cd "$sums_r_" &&
			find . -type f -print0 | sort -z |
			xargs -0 -r cat | md5sum | cut -c1-32)"
	done
}

# still_there BEFORE AFTER: every release listed in BEFORE is in AFTER,
# unchanged.
still_there()
{
	while read -r still_there_id_ still_there_rest_
	do
		grep -F -x -q -- "$still_there_id_ $still_there_rest_" "$2" || {
			echo "release $still_there_id_ changed or went" >&2
			return 1
		}
	done <"$1"
}

# rnd N: a pseudo-random number from 0 to N-1 in $rnd_ (seeded, so that
# a failure can be replayed with the same sequence).
rnd_state_=${PUSHGATE_TEST_SEED:-20261204}
rnd()
{
	rnd_state_=$(( (rnd_state_ * 1103515245 + 12345) % 2147483648 ))
	rnd_=$(( (rnd_state_ / 65536) % $1 ))
}

# Names the random edits pick from: spaces, quotes, a leading dash,
# non-ASCII and a newline among them.
nl_='
'
names_="plain.txt|with space.txt|quo'te|dq\"x|-dash|$(printf 'caf\303\251')|new${nl_}line|a/b/deep.txt|a/other|bin/run.sh|x"

# pick: one of the names in $pick_.
pick()
{
	rnd 11
	pick_i_=0
	pick_ifs_=$IFS
	IFS='|'
	set -f
	for pick_ in $names_
	do
		test "$pick_i_" = "$rnd_" && break
		pick_i_=$((pick_i_ + 1))
	done
	set +f
	IFS=$pick_ifs_
}

# make_parent PATH: the directories above PATH exist as directories (a
# file or symlink in the way is removed from the tree first).
make_parent()
{
	case "$1" in */*) ;; *) return 0 ;; esac
	make_parent_dir_=${1%/*}
	make_parent_at_=
	make_parent_ifs_=$IFS
	IFS=/
	set -f
	for make_parent_c_ in $make_parent_dir_
	do
		make_parent_at_=${make_parent_at_:+$make_parent_at_/}$make_parent_c_
		if test -L "$make_parent_at_" || { test -e "$make_parent_at_" &&
			! test -d "$make_parent_at_"; }
		then
			git rm -qf -- "$make_parent_at_" >/dev/null
			rm -f -- "$make_parent_at_"
		fi
	done
	set +f
	IFS=$make_parent_ifs_
	mkdir -p -- "$make_parent_dir_"
}

# edit: one random change to the work tree, staged; the kinds of change
# made so far are listed in $ops_done_.
ops_done_=
edit()
{
	pick
	rnd 9
	ops_done_="$ops_done_ $rnd_"
	case "$rnd_" in
	0|1) # add or rewrite a file
		if test -d "$pick_" && ! test -L "$pick_"
		then
			git rm -rqf -- "$pick_"
		fi
		make_parent "$pick_"
		if test -L "$pick_" || test -e "$pick_"
		then
			rm -f -- "$pick_"
		fi
		printf 'content %s %s\n' "$rnd_state_" "$pick_" >"$pick_"
		git add -- "$pick_"
		;;
	2) # delete
		git rm -rqf --ignore-unmatch -- "$pick_"
		;;
	3) # rename
		if test -f "$pick_" && ! test -L "$pick_"
		then
			rnd_dst_=moved-$rnd_state_
			git mv -- "$pick_" "$rnd_dst_"
		fi
		;;
	4) # 644 <-> 755
		if test -f "$pick_" && ! test -L "$pick_"
		then
			if test -x "$pick_"
			then
				chmod 644 -- "$pick_"
			else
				chmod 755 -- "$pick_"
			fi
			git add -- "$pick_"
		fi
		;;
	5) # a symlink, made or retargeted
		git rm -rqf --ignore-unmatch -- "$pick_"
		make_parent "$pick_"
		rm -rf -- "$pick_"
		ln -s -- "target-$rnd_state_" "$pick_"
		git add -- "$pick_"
		;;
	6) # a file becomes a directory
		git rm -rqf --ignore-unmatch -- "$pick_"
		rm -rf -- "$pick_"
		make_parent "$pick_"
		mkdir -p -- "$pick_"
		printf 'inside %s\n' "$rnd_state_" >"$pick_/inside"
		git add -- "$pick_"
		;;
	7) # a directory becomes a file
		rnd_dir_=${pick_%%/*}
		if test -d "$rnd_dir_" && ! test -L "$rnd_dir_"
		then
			git rm -rqf -- "$rnd_dir_"
			rm -rf -- "$rnd_dir_"
			printf 'was a dir %s\n' "$rnd_state_" >"$rnd_dir_"
			git add -- "$rnd_dir_"
		fi
		;;
	8) # change a file in place (content only)
		if test -f "$pick_" && ! test -L "$pick_"
		then
			printf 'more %s\n' "$rnd_state_" >>"$pick_"
			git add -- "$pick_"
		fi
		;;
	esac
}

# --- setup ------------------------------------------------------------

test_expect_success 'setup: an OpenSSH server, and environments on three branches' '
	test_atexit "sh \"$SSHD_SH\" stop \"$TMP/sshd\"" &&
	sh "$SSHD_SH" start "$TMP/sshd" 1 &&
	. "$TMP/sshd/env" &&
	setup_repo rand <<-EOF &&
	[environment "local"]
	branch = main
	path = $DEPLOY/local
	keep = 100

	[environment "ssh"]
	branch = ssh
	hosts = $SSHD_USER@127.0.0.1:$SSHD_PORT1
	identity = $SSHD_KEY
	known_hosts = $SSHD_KNOWN_HOSTS
	path = $DEPLOY/ssh
	keep = 100

	[environment "full"]
	branch = full
	path = $DEPLOY/full
	incremental = off
	keep = 100
	EOF
	setup_clone rand
'

test_expect_success 'a random sequence of 36 commits: each incremental release equals a full one' '
	cd rand-work &&
	commit_file plain.txt first "first" &&
	git push -q origin HEAD:main HEAD:ssh HEAD:full 2>"$TMP/push.err" &&
	n=1 &&
	sums "$DEPLOY/local" >after-local &&
	sums "$DEPLOY/ssh" >after-ssh &&
	while test "$n" -le 36
	do
		: the sums after the last deploy are the ones before this one &&
		mv after-local before-local &&
		mv after-ssh before-ssh &&
		edits=0 &&
		rnd 3 && k=$((rnd_ + 1)) &&
		while test "$edits" -lt "$k"
		do
			edit || return 1
			edits=$((edits + 1))
		done &&
		git commit -q --allow-empty -m "random $n" &&
		push origin HEAD:main HEAD:ssh HEAD:full &&
		no_crash &&
		test_grep ! "FAILED\|full upload" "$TMP/push.err" &&
		test_grep "\[local\] sent [0-9]* changed entr" "$TMP/push.err" &&
		test_grep "127.0.0.1:[0-9]*\] sent [0-9]* changed entr" \
			"$TMP/push.err" &&
		test_grep "\[local\] uploaded [0-9]* entries" "$TMP/push.err" &&
		full=$DEPLOY/full/releases/$(live_id "$DEPLOY/full") &&
		same_release "$DEPLOY/local/releases/$(live_id "$DEPLOY/local")" \
			"$full" &&
		same_release "$DEPLOY/ssh/releases/$(live_id "$DEPLOY/ssh")" \
			"$full" &&
		check_release "$DEPLOY/local" "$(live_id "$DEPLOY/local")" HEAD &&
		sums "$DEPLOY/local" >after-local &&
		sums "$DEPLOY/ssh" >after-ssh &&
		still_there before-local after-local &&
		still_there before-ssh after-ssh || return 1
		n=$((n + 1))
	done &&
	: every kind of change came up &&
	for op in 0 1 2 3 4 5 6 7 8
	do
		case " $ops_done_ " in
		*" $op "*) ;;
		*) echo "change $op never came up" >&2; return 1 ;;
		esac
	done &&
	test "$(list_releases "$DEPLOY/local" | wc -l)" = 37 &&
	history=$TMP/rand.git/pushgate/history &&
	test "$(grep -c "	full	deploy	.*	ok	.*	full\$" "$history")" = 37 &&
	test "$(grep -c "	local	deploy	.*	ok	.*	incremental\$" "$history")" = 36 &&
	test "$(grep -c "	ssh	deploy	.*	ok	.*	incremental\$" "$history")" = 36
'

# --- a tampered live release ---------------------------------------------

test_expect_success 'what was done to the live release never reaches the next' '
	setup_repo tamper <<-EOF &&
	[environment "staging"]
	branch = main
	path = $DEPLOY/tamper
	[environment "full"]
	branch = full
	path = $DEPLOY/tamper-full
	incremental = off
	EOF
	setup_clone tamper &&
	cd tamper-work &&
	mkdir -p dir &&
	printf "one\n" >dir/appended &&
	printf "two\n" >chmoded &&
	printf "three\n" >kept &&
	git add . &&
	git commit -q -m "base" &&
	push origin HEAD:main HEAD:full &&
	live=$DEPLOY/tamper/releases/$(live_id "$DEPLOY/tamper") &&
	printf "appended after deploy\n" >>"$live/dir/appended" &&
	chmod 600 "$live/chmoded" &&
	printf "junk\n" >"$live/junk" &&
	mkdir "$live/junkdir" &&
	printf "junk\n" >"$live/junkdir/f" &&
	sums "$DEPLOY/tamper" >before &&
	commit_file other "four" "other" &&
	push origin HEAD:main HEAD:full &&
	test_grep "\[local\] sent" "$TMP/push.err" &&
	new=$DEPLOY/tamper/releases/$(live_id "$DEPLOY/tamper") &&
	test "$(cat "$new/dir/appended")" = one &&
	test "$(test_mode "$new/chmoded")" = -rw-r--r-- &&
	test ! -e "$new/junk" &&
	test ! -e "$new/junkdir" &&
	same_release "$new" \
		"$DEPLOY/tamper-full/releases/$(live_id "$DEPLOY/tamper-full")" &&
	sums "$DEPLOY/tamper" >after &&
	still_there before after
'

test_expect_success 'a before command that writes a tracked file: the next release is clean' '
	write_hooks_ini tamper <<-EOF &&
	[environment "staging"]
	branch = main
	path = $DEPLOY/tamper
	before = echo written by before >>kept
	EOF
	cd tamper-work &&
	commit_file five "five" "five" &&
	push origin main &&
	deployed staging HEAD &&
	test "$(wc -l <"$DEPLOY/tamper/current/kept")" = 2 &&
	commit_file six "six" "six" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "\[local\] sent" "$TMP/push.err" &&
	printf "three\nwritten by before\n" >expect &&
	test_cmp expect "$DEPLOY/tamper/current/kept"
'

# --- fallbacks ----------------------------------------------------------

test_expect_success 'a drifted current: a full upload, saying why' '
	write_hooks_ini tamper <<-EOF &&
	[environment "staging"]
	branch = main
	path = $DEPLOY/tamper
	EOF
	cd tamper-work &&
	live=$(live_id "$DEPLOY/tamper") &&
	other=$(list_releases "$DEPLOY/tamper" | grep -v "^$live\$" | head -n 1) &&
	ln -sfn "releases/$other" "$DEPLOY/tamper/current" &&
	commit_file seven "seven" "seven" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "\[local\] full upload: current is not the release pushgate recorded" \
		"$TMP/push.err" &&
	test_grep "\[local\] uploaded" "$TMP/push.err" &&
	last_record tamper &&
	test "$(field 10)" = full
'

test_expect_success 'a live release whose REVISION is wrong or missing: a full upload' '
	cd tamper-work &&
	live=$DEPLOY/tamper/releases/$(live_id "$DEPLOY/tamper") &&
	echo 0000000000000000000000000000000000000000 >"$live/REVISION" &&
	commit_file eight "eight" "eight" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "full upload: the live release.s REVISION is not the recorded commit" \
		"$TMP/push.err" &&
	live=$DEPLOY/tamper/releases/$(live_id "$DEPLOY/tamper") &&
	rm "$live/REVISION" &&
	commit_file nine "nine" "nine" &&
	push origin main &&
	test_grep "full upload: the live release.s REVISION is not the recorded commit" \
		"$TMP/push.err" &&
	deployed staging HEAD
'

test_expect_success 'a live release marked FAILED: a full upload' '
	cd tamper-work &&
	live=$DEPLOY/tamper/releases/$(live_id "$DEPLOY/tamper") &&
	echo "by hand" >"$live/FAILED" &&
	commit_file ten "ten" "ten" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "full upload: the live release is marked FAILED" \
		"$TMP/push.err"
'

test_expect_success 'a live release that is a symlink to a directory: a full upload, the directory untouched' '
	cd tamper-work &&
	live=$(live_id "$DEPLOY/tamper") &&
	mv "$DEPLOY/tamper/releases/$live" "$DEPLOY/tamper/real" &&
	ln -s ../real "$DEPLOY/tamper/releases/$live" &&
	(cd "$DEPLOY/tamper/real" && find . -printf "%y %m %s %T@ %P\n" | sort) >real-before &&
	commit_file ten-b "ten-b" "ten-b" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "full upload: the live release is not a plain directory" \
		"$TMP/push.err" &&
	(cd "$DEPLOY/tamper/real" && find . -printf "%y %m %s %T@ %P\n" | sort) >real-after &&
	test_cmp real-before real-after &&
	test ! -L "$DEPLOY/tamper/releases/$(live_id "$DEPLOY/tamper")"
'

test_expect_success 'the next deploy is incremental again; --full and off send everything' '
	cd tamper-work &&
	commit_file eleven "eleven" "eleven" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "\[local\] sent 1 changed entry (1 KB), reused [0-9]* from " \
		"$TMP/push.err" &&
	pg -C "$TMP/tamper.git" deploy staging --force --full &&
	test_grep "\[local\] uploaded" "$TMP/pg.err" &&
	test_grep ! "sent\|full upload" "$TMP/pg.err" &&
	last_record tamper &&
	test "$(field 10)" = full &&
	write_hooks_ini tamper <<-EOF &&
	[environment "staging"]
	branch = main
	path = $DEPLOY/tamper
	incremental = off
	EOF
	commit_file twelve "twelve" "twelve" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "\[local\] uploaded" "$TMP/push.err" &&
	test_grep ! "sent\|full upload" "$TMP/push.err"
'

test_expect_success 'a first deploy is a full upload, and says nothing of a base' '
	setup_repo first <<-EOF &&
	[environment "staging"]
	branch = main
	path = $DEPLOY/first
	EOF
	setup_clone first &&
	cd first-work &&
	commit_file a "a" "a" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "\[local\] uploaded" "$TMP/push.err" &&
	test_grep ! "full upload\|sent" "$TMP/push.err"
'

test_expect_success 'incremental = copy: the same release, with files of its own' '
	write_hooks_ini first <<-EOF &&
	[environment "staging"]
	branch = main
	path = $DEPLOY/first
	incremental = copy
	EOF
	cd first-work &&
	commit_file b "b" "b" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "\[local\] sent 1 changed entry" "$TMP/push.err" &&
	test "$(stat -c %h "$DEPLOY/first/current/a")" = 1 &&
	test "$(cat "$DEPLOY/first/current/a")" = a &&
	write_hooks_ini first <<-EOF &&
	[environment "staging"]
	branch = main
	path = $DEPLOY/first
	EOF
	commit_file c "c" "c" &&
	push origin main &&
	deployed staging HEAD &&
	test "$(stat -c %h "$DEPLOY/first/current/a")" = 2
'

# --- build once, promote ------------------------------------------------

test_expect_success 'a build that is not reproducible runs once; production gets staging'"'"'s bytes' '
	setup_repo promote <<-EOF &&
	[core]
	artifacts_keep = 1
	[verify]
	build = echo built >>"$OUT/builds" && mkdir -p dist && date +%s%N >dist/stamp && cp app dist/app
	sandbox_write = $OUT
	[environment "staging"]
	branch = develop
	path = $DEPLOY/promote-staging
	artifact = dist
	[environment "production"]
	branch = main
	path = $DEPLOY/promote-production
	artifact = dist
	mode = manual
	requires = staging
	EOF
	setup_clone promote &&
	cd promote-work &&
	commit_file app "v1" "v1" &&
	v1=$(git rev-parse HEAD) &&
	push origin HEAD:develop &&
	deployed staging HEAD &&
	test "$(wc -l <"$OUT/builds")" = 1 &&
	push origin HEAD:main &&
	pg -C "$TMP/promote.git" deploy production &&
	test_grep "^pushgate: deployed $(short HEAD) to .production." \
		"$TMP/pg.err" &&
	test_grep "using the artifact built for $(short HEAD)" "$TMP/pg.err" &&
	test_grep ! "running build\|building" "$TMP/pg.err" &&
	test "$(wc -l <"$OUT/builds")" = 1 &&
	cmp "$DEPLOY/promote-staging/current/stamp" \
		"$DEPLOY/promote-production/current/stamp" &&
	cp "$DEPLOY/promote-production/current/stamp" "$OUT/stamp-v1"
'

test_expect_success 'a rollback restores the first artifact'"'"'s bytes; a dropped artifact is built again' '
	cd promote-work &&
	commit_file app "v2" "v2" &&
	push origin HEAD:develop &&
	deployed staging HEAD &&
	push origin HEAD:main &&
	pg -C "$TMP/promote.git" deploy production &&
	test "$(wc -l <"$OUT/builds")" = 2 &&
	! cmp -s "$OUT/stamp-v1" "$DEPLOY/promote-production/current/stamp" &&
	pg -C "$TMP/promote.git" rollback production &&
	cmp "$OUT/stamp-v1" "$DEPLOY/promote-production/current/stamp" &&
	: artifacts_keep = 1, v1 and v2 live or previous: both kept &&
	test "$(kept_artifacts promote | wc -l)" = 2 &&
	commit_file app "v3" "v3" &&
	push origin HEAD:develop &&
	deployed staging HEAD &&
	test "$(wc -l <"$OUT/builds")" = 3 &&
	: staging now runs v3 after v2, production v1 after v2: v1, v2, v3 kept &&
	test "$(kept_artifacts promote | wc -l)" = 3
'

test_done
