#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t0200-verify.sh - the [verify] rules of pre-receive (SPEC sections 3
# and 4.1), pushed to with the real git client.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"

# big_file PATH BYTES: a file of exactly BYTES bytes.
big_file()
{
	case "$1" in
	*/*) mkdir -p -- "${1%/*}" || return 1 ;;
	esac
	head -c "$2" /dev/zero | tr "\\0" x >"$1" &&
	test "$(wc -c <"$1")" -eq "$2"
}

# --- protected -----------------------------------------------------------

test_expect_success 'protected: setup, first push accepted' '
	setup_repo prot <<-\EOF &&
	[verify]
	protected = main release/*
	EOF
	setup_clone prot &&
	cd prot-work &&
	commit_file a.txt one "first" &&
	push origin main &&
	accepted refs/heads/main &&
	test "$(rev_of prot refs/heads/main)" = "$(git rev-parse HEAD)"
'

test_expect_success 'protected: a fast-forward is accepted' '
	cd prot-work &&
	commit_file a.txt two "second" &&
	push origin main &&
	accepted refs/heads/main &&
	test "$(rev_of prot refs/heads/main)" = "$(git rev-parse HEAD)"
'

test_expect_success 'protected: a non-fast-forward is refused' '
	cd prot-work &&
	old=$(git rev-parse HEAD) &&
	git reset -q --hard HEAD~1 &&
	commit_file b.txt other "rewritten history" &&
	test_must_fail push --force origin main &&
	rejected refs/heads/main &&
	test_grep "fast-forward" "$TMP/push.err" &&
	remote_lines >"$TMP/remote" &&
	test_cmp_expected verify-protected-rewind "$TMP/remote" &&
	test "$(rev_of prot refs/heads/main)" = "$old" &&
	git reset -q --hard "$old"
'

test_expect_success 'protected: deleting it is refused' '
	cd prot-work &&
	old=$(git rev-parse HEAD) &&
	test_must_fail push origin :main &&
	rejected refs/heads/main &&
	test_grep "delete" "$TMP/push.err" &&
	remote_lines >"$TMP/remote" &&
	test_cmp_expected verify-protected-delete "$TMP/remote" &&
	test "$(rev_of prot refs/heads/main)" = "$old"
'

test_expect_success 'protected glob release/*: ff accepted, rewind and delete refused' '
	cd prot-work &&
	git checkout -q -b release/1.0 &&
	commit_file r.txt r1 "release one" &&
	push origin release/1.0 &&
	accepted refs/heads/release/1.0 &&
	commit_file r.txt r2 "release two" &&
	push origin release/1.0 &&
	accepted refs/heads/release/1.0 &&
	good=$(git rev-parse HEAD) &&
	test_must_fail push --force origin HEAD~1:release/1.0 &&
	rejected refs/heads/release/1.0 &&
	test "$(rev_of prot refs/heads/release/1.0)" = "$good" &&
	test_must_fail push origin :release/1.0 &&
	rejected refs/heads/release/1.0 &&
	test "$(rev_of prot refs/heads/release/1.0)" = "$good" &&
	git checkout -q main
'

test_expect_success 'protected glob does not match a look-alike name' '
	cd prot-work &&
	push origin main:releases &&
	accepted refs/heads/releases &&
	push --force origin main~1:releases &&
	accepted refs/heads/releases &&
	push origin :releases &&
	no_ref prot refs/heads/releases
'

test_expect_success 'an unprotected branch may be force-pushed and deleted' '
	cd prot-work &&
	git checkout -q -b topic &&
	commit_file t.txt t1 "topic one" &&
	push origin topic &&
	accepted refs/heads/topic &&
	git reset -q --hard HEAD~1 &&
	commit_file t.txt t2 "topic rewritten" &&
	push --force origin topic &&
	accepted refs/heads/topic &&
	test "$(rev_of prot refs/heads/topic)" = "$(git rev-parse HEAD)" &&
	push origin :topic &&
	no_ref prot refs/heads/topic &&
	git checkout -q main
'

# --- protect_tags --------------------------------------------------------

test_expect_success 'protect_tags: new lightweight and annotated tags accepted' '
	setup_repo tags <<-\EOF &&
	[verify]
	protect_tags = true
	EOF
	setup_clone tags &&
	cd tags-work &&
	commit_file a.txt one "first" &&
	commit_file a.txt two "second" &&
	push origin main &&
	git tag v1 HEAD~1 &&
	git tag -a -m "version two" v2 HEAD &&
	push origin v1 v2 &&
	accepted refs/tags/v1 &&
	accepted refs/tags/v2 &&
	test "$(rev_of tags refs/tags/v1)" = "$(git rev-parse HEAD~1)" &&
	test "$(rev_of tags refs/tags/v2)" = "$(git rev-parse v2)"
'

test_expect_success 'protect_tags: moving an existing tag is refused' '
	cd tags-work &&
	before=$(refs_of tags) &&
	git tag -f v1 HEAD &&
	test_must_fail push --force origin v1 &&
	rejected refs/tags/v1 &&
	git tag -f -a -m "moved" v2 HEAD~1 &&
	test_must_fail push --force origin v2 &&
	rejected refs/tags/v2 &&
	test "$(refs_of tags)" = "$before"
'

test_expect_success 'protect_tags: deleting an existing tag is refused' '
	cd tags-work &&
	before=$(refs_of tags) &&
	test_must_fail push origin :refs/tags/v1 &&
	rejected refs/tags/v1 &&
	test_must_fail push origin :refs/tags/v2 &&
	rejected refs/tags/v2 &&
	test "$(refs_of tags)" = "$before"
'

test_expect_success 'protect_tags = false: tags may be moved and deleted' '
	write_hooks_ini tags <<-\EOF &&
	[verify]
	protect_tags = false
	EOF
	cd tags-work &&
	push --force origin v1 &&
	accepted refs/tags/v1 &&
	test "$(rev_of tags refs/tags/v1)" = "$(git rev-parse HEAD)" &&
	push origin :refs/tags/v2 &&
	no_ref tags refs/tags/v2
'

# --- commit_message ------------------------------------------------------

test_expect_success 'commit_message: a matching subject is accepted' '
	setup_repo msg <<-\EOF &&
	[verify]
	commit_message = ^(feat|fix|docs)(\([a-z]+\))?: .+
	EOF
	setup_clone msg &&
	cd msg-work &&
	commit_file a.txt one "feat: first" &&
	git commit -q --allow-empty -m "fix(core): second

this body line matches nothing and is not checked" &&
	push origin main &&
	accepted refs/heads/main
'

test_expect_success 'commit_message: a bad subject is rejected, naming commit and subject' '
	cd msg-work &&
	before=$(refs_of msg) &&
	commit_file b.txt b "Bad subject here" &&
	test_must_fail push origin main &&
	rejected refs/heads/main &&
	test_grep "commit_message" "$TMP/push.err" &&
	test_grep "$(git_short HEAD)[0-9a-f]* Bad subject here" "$TMP/push.err" &&
	remote_lines >"$TMP/remote" &&
	test_cmp_expected verify-commit-message "$TMP/remote" &&
	test "$(refs_of msg)" = "$before" &&
	git reset -q --hard origin/main
'

test_expect_success 'commit_message: a bad commit in the middle of three is caught' '
	cd msg-work &&
	before=$(refs_of msg) &&
	commit_file c.txt 1 "feat: one" &&
	commit_file c.txt 2 "WIP in the middle" &&
	bad=$(git_short HEAD) &&
	commit_file c.txt 3 "fix: three" &&
	tip=$(git_short HEAD) &&
	test_must_fail push origin main &&
	rejected refs/heads/main &&
	test_grep "$bad[0-9a-f]* WIP in the middle" "$TMP/push.err" &&
	test_grep ! "$tip[0-9a-f]* fix: three" "$TMP/push.err" &&
	test "$(refs_of msg)" = "$before"
'

test_expect_success 'commit_message: a subject longer than 8 KiB is checked whole' '
	setup_repo longmsg <<-\EOF &&
	[verify]
	commit_message = ^feat: [a-z]+$
	EOF
	setup_clone longmsg &&
	cd longmsg-work &&
	long=$(head -c 9000 /dev/zero | tr "\0" a) &&
	commit_file a.txt one "feat: ${long}" &&
	push origin main &&
	accepted refs/heads/main &&
	commit_file a.txt two "feat: ${long}X" &&
	test_must_fail push origin main &&
	rejected refs/heads/main
'

test_expect_success 'commit_message: only the bad commits are listed, all of them' '
	cd msg-work &&
	commit_file c.txt 4 "also bad" &&
	test_must_fail push origin main &&
	test_grep "WIP in the middle" "$TMP/push.err" &&
	test_grep "also bad" "$TMP/push.err" &&
	test_grep ! "feat: one" "$TMP/push.err" &&
	git reset -q --hard origin/main
'

test_expect_success 'commit_message: commits already in the repository are not checked again' '
	cd msg-work &&
	cp "$TMP/msg.git/hooks.ini" "$TMP/msg.ini" &&
	rm "$TMP/msg.git/hooks.ini" &&
	commit_file old.txt old "legacy commit, pushed before the rule" &&
	push origin main &&
	accepted refs/heads/main &&
	write_hooks_ini msg <"$TMP/msg.ini" &&
	push origin main:refs/heads/copy &&
	accepted refs/heads/copy &&
	test_grep ! REJECTED "$TMP/push.err" &&
	commit_file new.txt new "feat: on top of a legacy commit" &&
	push origin main &&
	accepted refs/heads/main
'

# --- max_file_size -------------------------------------------------------

test_expect_success 'max_file_size 1K: exactly 1024 bytes accepted' '
	setup_repo size <<-\EOF &&
	[verify]
	max_file_size = 1K
	EOF
	setup_clone size &&
	cd size-work &&
	big_file data/exact.bin 1024 &&
	git add data &&
	git commit -q -m "exactly at the limit" &&
	push origin main &&
	accepted refs/heads/main
'

test_expect_success 'max_file_size 1K: 1025 bytes rejected, size and path shown' '
	cd size-work &&
	before=$(refs_of size) &&
	big_file data/over.bin 1025 &&
	git add data &&
	git commit -q -m "one byte too many" &&
	test_must_fail push origin main &&
	rejected refs/heads/main &&
	test_grep "max_file_size" "$TMP/push.err" &&
	test_grep "data/over.bin" "$TMP/push.err" &&
	test_grep "1025" "$TMP/push.err" &&
	test_grep ! "exact.bin" "$TMP/push.err" &&
	remote_lines >"$TMP/remote" &&
	test_cmp_expected verify-max-file-size "$TMP/remote" &&
	test "$(refs_of size)" = "$before" &&
	git reset -q --hard origin/main
'

test_expect_success 'max_file_size: a big blob added then removed is still caught' '
	cd size-work &&
	big_file tmp.bin 5000 &&
	git add tmp.bin &&
	git commit -q -m "add a big file" &&
	git rm -q tmp.bin &&
	git commit -q -m "remove it again" &&
	test_must_fail push origin main &&
	rejected refs/heads/main &&
	test_grep "tmp.bin" "$TMP/push.err" &&
	test_grep "5000" "$TMP/push.err" &&
	git reset -q --hard origin/main
'

test_expect_success 'max_file_size with the M suffix' '
	write_hooks_ini size <<-\EOF &&
	[verify]
	max_file_size = 1M
	EOF
	cd size-work &&
	big_file m/exact.bin 1048576 &&
	git add m &&
	git commit -q -m "one mebibyte" &&
	push origin main &&
	accepted refs/heads/main &&
	big_file m/over.bin 1048577 &&
	git add m &&
	git commit -q -m "one byte more" &&
	test_must_fail push origin main &&
	rejected refs/heads/main &&
	test_grep "1048577" "$TMP/push.err" &&
	test_grep "m/over.bin" "$TMP/push.err" &&
	git reset -q --hard origin/main
'

test_expect_success 'max_file_size with a lowercase k suffix' '
	write_hooks_ini size <<-\EOF &&
	[verify]
	max_file_size = 2k
	EOF
	cd size-work &&
	big_file k/exact.bin 2048 &&
	git add k &&
	git commit -q -m "two kibibytes" &&
	push origin main &&
	accepted refs/heads/main &&
	big_file k/over.bin 2049 &&
	git add k &&
	git commit -q -m "one byte more" &&
	test_must_fail push origin main &&
	test_grep "2049" "$TMP/push.err" &&
	git reset -q --hard origin/main
'

# --- forbid_paths --------------------------------------------------------

test_expect_success 'forbid_paths: base-name glob *.pem deep in a directory' '
	setup_repo paths <<-\EOF &&
	[verify]
	forbid_paths = *.pem secrets/*
	EOF
	setup_clone paths &&
	cd paths-work &&
	commit_file README ok "first" &&
	push origin main &&
	accepted refs/heads/main &&
	before=$(refs_of paths) &&
	commit_file config/deep/er/still/server.pem key "add a key" &&
	test_must_fail push origin main &&
	rejected refs/heads/main &&
	test_grep "forbid" "$TMP/push.err" &&
	test_grep "config/deep/er/still/server.pem" "$TMP/push.err" &&
	remote_lines >"$TMP/remote" &&
	test_cmp_expected verify-forbid-paths "$TMP/remote" &&
	test "$(refs_of paths)" = "$before" &&
	git reset -q --hard origin/main
'

test_expect_success 'forbid_paths: full-path glob secrets/*' '
	cd paths-work &&
	before=$(refs_of paths) &&
	commit_file secrets/token.txt abc "add a token" &&
	test_must_fail push origin main &&
	rejected refs/heads/main &&
	test_grep "secrets/token.txt" "$TMP/push.err" &&
	test "$(refs_of paths)" = "$before" &&
	git reset -q --hard origin/main
'

test_expect_success 'forbid_paths: a full-path glob does not match deeper down' '
	cd paths-work &&
	commit_file docs/secrets/howto.md text "docs about secrets" &&
	commit_file pem.txt text "a file named like the glob" &&
	push origin main &&
	accepted refs/heads/main
'

test_expect_success 'forbid_paths: merging an accepted branch is not charged with its files' '
	cd paths-work &&
	cp "$TMP/paths.git/hooks.ini" "$TMP/paths.ini" &&
	rm "$TMP/paths.git/hooks.ini" &&
	git checkout -q -b vendor &&
	commit_file vendor/ca.pem cert "vendored certificate" &&
	push origin vendor &&
	accepted refs/heads/vendor &&
	write_hooks_ini paths <"$TMP/paths.ini" &&
	git checkout -q main &&
	commit_file main.txt m "work on main" &&
	git merge -q --no-ff -m "merge vendor" vendor &&
	push origin main &&
	accepted refs/heads/main &&
	test "$(rev_of paths refs/heads/main)" = "$(git rev-parse HEAD)"
'

test_expect_success 'forbid_paths: changing an accepted forbidden file is refused' '
	cd paths-work &&
	before=$(refs_of paths) &&
	commit_file vendor/ca.pem new-cert "update the certificate" &&
	test_must_fail push origin main &&
	rejected refs/heads/main &&
	test_grep "vendor/ca.pem" "$TMP/push.err" &&
	test "$(refs_of paths)" = "$before" &&
	git reset -q --hard origin/main
'

test_expect_success 'forbid_paths: removing a forbidden file is accepted' '
	cd paths-work &&
	git rm -q vendor/ca.pem &&
	git commit -q -m "drop the certificate" &&
	push origin main &&
	accepted refs/heads/main
'

test_expect_success 'forbid_paths: merging a new branch with a forbidden file is refused' '
	cd paths-work &&
	before=$(refs_of paths) &&
	git checkout -q -b sneaky &&
	commit_file keys/id.pem secret "a key on a side branch" &&
	git checkout -q main &&
	git merge -q --no-ff -m "merge sneaky" sneaky &&
	test_must_fail push origin main &&
	rejected refs/heads/main &&
	test_grep "keys/id.pem" "$TMP/push.err" &&
	test "$(refs_of paths)" = "$before" &&
	git reset -q --hard origin/main
'

# --- refs/environments/ --------------------------------------------------

test_expect_success 'refs/environments/ cannot be created, even without hooks.ini' '
	setup_repo envs &&
	rm "$TMP/envs.git/hooks.ini" &&
	setup_clone envs &&
	cd envs-work &&
	commit_file a.txt one "first" &&
	push origin main &&
	accepted refs/heads/main &&
	test_must_fail push origin HEAD:refs/environments/prod &&
	rejected refs/environments/prod &&
	no_ref envs refs/environments/prod
'

test_expect_success 'refs/environments/ cannot be created with a configuration' '
	write_hooks_ini envs <<-\EOF &&
	[verify]
	protected = main
	EOF
	cd envs-work &&
	test_must_fail push origin HEAD:refs/environments/staging &&
	rejected refs/environments/staging &&
	no_ref envs refs/environments/staging
'

test_expect_success 'refs/environments/ cannot be moved or deleted by a client' '
	cd envs-work &&
	first=$(git rev-parse HEAD) &&
	git --git-dir="$TMP/envs.git" update-ref refs/environments/prod "$first" &&
	commit_file a.txt two "second" &&
	push origin main &&
	test_must_fail push --force origin HEAD:refs/environments/prod &&
	rejected refs/environments/prod &&
	test "$(rev_of envs refs/environments/prod)" = "$first" &&
	test_must_fail push origin :refs/environments/prod &&
	rejected refs/environments/prod &&
	test "$(rev_of envs refs/environments/prod)" = "$first"
'

# --- whole pushes --------------------------------------------------------

test_expect_success 'multi-ref push: one bad ref rejects all, refs unchanged' '
	setup_repo multi <<-\EOF &&
	[verify]
	commit_message = ^ok:
	EOF
	setup_clone multi &&
	cd multi-work &&
	commit_file base.txt base "ok: base" &&
	push origin main main:old &&
	accepted refs/heads/main &&
	accepted refs/heads/old &&
	git branch a &&
	git branch b &&
	git branch c &&
	git checkout -q a && commit_file a.txt a "ok: on a" &&
	git checkout -q b && commit_file b.txt b "not ok on b" &&
	git checkout -q c && commit_file c.txt c "ok: on c" &&
	git checkout -q main && commit_file m.txt m "ok: on main" &&
	refs_of multi >before &&
	test_must_fail push origin a b c main :old &&
	rejected refs/heads/b &&
	test_grep ! "pushgate: ok " "$TMP/push.err" &&
	test "$(grep -c "\[remote rejected\]" "$TMP/push.err")" -eq 5 &&
	refs_of multi >after &&
	test_cmp before after
'

test_expect_success 'a rejected push leaves no new object and a clean repository' '
	cd multi-work &&
	git checkout -q b &&
	bad=$(git rev-parse HEAD) &&
	blob=$(git rev-parse HEAD:b.txt) &&
	test_must_fail push origin b &&
	! git --git-dir="$TMP/multi.git" cat-file -e "$bad" &&
	! git --git-dir="$TMP/multi.git" cat-file -e "$blob" &&
	git --git-dir="$TMP/multi.git" fsck --no-progress --strict 2>fsck.err &&
	test_grep ! . fsck.err &&
	ls "$TMP/multi.git/objects" >objdirs &&
	test_grep ! "incoming" objdirs &&
	git checkout -q main
'

test_expect_success 'multi-ref push: all good refs accepted, one ok line each' '
	cd multi-work &&
	git tag -a -m "ok: tag" t1 main &&
	push origin a c main t1 :old &&
	accepted refs/heads/a &&
	accepted refs/heads/c &&
	accepted refs/heads/main &&
	accepted refs/tags/t1 &&
	accepted refs/heads/old &&
	test "$(grep -c "^remote: pushgate: ok " "$TMP/push.err")" -eq 5 &&
	no_ref multi refs/heads/old &&
	test "$(rev_of multi refs/heads/c)" = "$(git rev-parse c)"
'

test_expect_success 'an annotated tag is checked through its commit' '
	cd multi-work &&
	before=$(refs_of multi) &&
	git checkout -q -b tagged main &&
	commit_file t.txt t "bad subject under a tag" &&
	git tag -a -m "ok: a fine tag message" vbad HEAD &&
	bad=$(git_short HEAD) &&
	git checkout -q main &&
	test_must_fail push origin vbad &&
	rejected refs/tags/vbad &&
	test_grep "$bad[0-9a-f]* bad subject under a tag" "$TMP/push.err" &&
	test "$(refs_of multi)" = "$before"
'

test_expect_success 'a lightweight tag is checked like a branch' '
	cd multi-work &&
	git tag vlight tagged &&
	test_must_fail push origin vlight &&
	rejected refs/tags/vlight &&
	no_ref multi refs/tags/vlight
'

# --- no configuration, push options --------------------------------------

test_expect_success 'without hooks.ini everything is accepted' '
	setup_repo open &&
	rm "$TMP/open.git/hooks.ini" &&
	setup_clone open &&
	cd open-work &&
	commit_file a.txt one "anything goes" &&
	big_file big.bin 3000000 &&
	git add big.bin &&
	git commit -q -m "big" &&
	commit_file key.pem k "a key" &&
	push origin main &&
	accepted refs/heads/main &&
	git tag v1 &&
	push origin v1 &&
	git reset -q --hard HEAD~1 &&
	push --force origin main &&
	accepted refs/heads/main &&
	git tag -f v1 &&
	push --force origin v1 &&
	accepted refs/tags/v1 &&
	push origin :v1 &&
	no_ref open refs/tags/v1 &&
	push origin main:other &&
	push origin :other &&
	accepted refs/heads/other &&
	no_ref open refs/heads/other
'

test_expect_success 'an empty hooks.ini accepts everything too' '
	: | write_hooks_ini open &&
	cd open-work &&
	commit_file b.txt b "still anything" &&
	push --force origin HEAD:other &&
	accepted refs/heads/other
'

test_expect_success 'an unknown push option: one-line warning, push accepted' '
	cd open-work &&
	commit_file c.txt c "with an option" &&
	push -o foo origin HEAD:other &&
	accepted refs/heads/other &&
	test_grep "^remote: pushgate: .*warning.*foo" "$TMP/push.err" &&
	test "$(grep -c "foo" "$TMP/push.err")" -eq 1
'

test_expect_success 'an unknown push option under [verify] rules: still accepted' '
	write_hooks_ini open <<-\EOF &&
	[verify]
	commit_message = ^ok
	EOF
	cd open-work &&
	commit_file d.txt d "ok: with two options" &&
	push -o foo -o bar=baz origin HEAD:other &&
	accepted refs/heads/other &&
	test "$(grep -c "warning" "$TMP/push.err")" -eq 2
'

test_done
