#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t1700-signatures.sh - [verify] signatures and allowed_signers (SPEC
# section 14), with commits signed by the real `git commit -S`
# (gpg.format=ssh, ssh-keygen) and pushed by the real git: a good
# signature passes; unsigned, an unknown key, a key not allowed for the
# committer's email, a tampered commit, an expired key and a GPG
# signature are refused, each with its reason; `tips` checks only what
# the refs point to; an allowed_signers file that cannot be read refuses
# every push, and `pushgate check` says why.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"

KEYS=$TMP/keys
mkdir "$KEYS"

# signers MODE: hooks.ini of repository "sig" with signatures = MODE
# and allowed_signers = $KEYS/allowed_signers.
signers()
{
	printf '[verify]\nsignatures = %s\nallowed_signers = %s\n' \
		"$1" "$KEYS/allowed_signers" | write_hooks_ini sig
}

# signed_commit KEY FILE CONTENT MESSAGE: commit FILE signed with KEY.
signed_commit()
{
	printf '%s\n' "$3" >"$2" &&
	git add -- "$2" &&
	git -c gpg.format=ssh -c "user.signingkey=$KEYS/$1" \
		commit -q -S -m "$4"
}

# refused_for REF TEXT: the last push was rejected for REF, saying TEXT.
refused_for()
{
	rejected "$1" &&
	test_grep "^remote: pushgate:   [0-9a-f]\{12\} .*$2" "$TMP/push.err"
}

test_expect_success 'setup: keys, allowed_signers, a repository' '
	for k in alice mallory carol
	do
		ssh-keygen -q -t ed25519 -N "" -C "$k" -f "$KEYS/$k" || return 1
	done &&
	{
		printf "alice@example.com %s\n" "$(cut -d " " -f 1,2 "$KEYS/alice.pub")" &&
		printf "carol@example.com valid-before=\"20200101\" %s\n" \
			"$(cut -d " " -f 1,2 "$KEYS/carol.pub")"
	} >"$KEYS/allowed_signers" &&
	setup_repo sig </dev/null &&
	signers all &&
	setup_clone sig &&
	cd sig-work &&
	git config user.email alice@example.com &&
	git config user.name Alice &&
	signed_commit alice a one "first, signed by alice" &&
	git -c "gpg.ssh.allowedSignersFile=$KEYS/allowed_signers" \
		verify-commit HEAD
'

test_expect_success 'a good signature by an allowed key: accepted' '
	cd sig-work &&
	push origin HEAD:main &&
	accepted refs/heads/main
'

test_expect_success 'an unsigned commit: refused, with how to sign' '
	cd sig-work &&
	commit_file b two "unsigned" &&
	test_must_fail push origin HEAD:main &&
	refused_for refs/heads/main "not signed" &&
	test_grep "REJECTED refs/heads/main: a new commit is not signed by an allowed key" \
		"$TMP/push.err" &&
	test_grep "fix: sign with an SSH key listed in allowed_signers" \
		"$TMP/push.err" &&
	git reset -q --hard HEAD^
'

test_expect_success 'a key that allowed_signers does not list: refused' '
	cd sig-work &&
	signed_commit mallory b two "signed by mallory" &&
	test_must_fail push origin HEAD:main &&
	refused_for refs/heads/main "$(ssh-keygen -l -f "$KEYS/mallory.pub" | cut -d " " -f 2)" &&
	git reset -q --hard HEAD^
'

test_expect_success 'an allowed key, but not for the committer email: refused' '
	cd sig-work &&
	git -c user.email=bob@example.com -c gpg.format=ssh \
		-c "user.signingkey=$KEYS/alice" commit -q -S --allow-empty \
		-m "bob commits with alice key" &&
	test_must_fail push origin HEAD:main &&
	refused_for refs/heads/main "bob@example.com" &&
	git reset -q --hard HEAD^
'

test_expect_success 'a tampered commit (signature kept, message changed): refused' '
	cd sig-work &&
	signed_commit alice b two "the real message" &&
	git cat-file commit HEAD | sed "s/the real message/a forged message/" >forged &&
	forged=$(git hash-object -t commit -w forged) &&
	git reset -q --hard "$forged" &&
	test_must_fail push origin HEAD:main &&
	refused_for refs/heads/main "bad signature with ED25519 key .*: the commit does not match its signature" &&
	git reset -q --hard HEAD^
'

test_expect_success 'a key past its valid-before: refused as expired' '
	cd sig-work &&
	git -c user.email=carol@example.com -c gpg.format=ssh \
		-c "user.signingkey=$KEYS/carol" commit -q -S --allow-empty \
		-m "carol, whose key expired in 2020" &&
	test_must_fail push origin HEAD:main &&
	refused_for refs/heads/main "had expired at the commit.s time .* (valid until 2020-01-01" &&
	git reset -q --hard HEAD^
'

test_expect_success 'a GPG signature: refused, saying only SSH signatures count' '
	cd sig-work &&
	tree=$(git write-tree) &&
	{
		printf "tree %s\nparent %s\n" "$tree" "$(git rev-parse HEAD)" &&
		printf "author Alice <alice@example.com> 1700000000 +0000\n" &&
		printf "committer Alice <alice@example.com> 1700000000 +0000\n" &&
		printf "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n =abcd\n -----END PGP SIGNATURE-----\n" &&
		printf "\nsigned with gpg\n"
	} >gpgcommit &&
	c=$(git hash-object -t commit -w gpgcommit) &&
	test_must_fail push origin "$c:refs/heads/main" &&
	refused_for refs/heads/main "GPG" &&
	no_crash
'

test_expect_success 'tips: an unsigned commit under a signed tip passes; all: it does not' '
	cd sig-work &&
	commit_file c three "unsigned, under the tip" &&
	signed_commit alice d four "signed tip" &&
	test_must_fail push origin HEAD:main &&
	refused_for refs/heads/main "not signed" &&
	signers tips &&
	push origin HEAD:main &&
	accepted refs/heads/main &&
	commit_file e five "unsigned tip" &&
	test_must_fail push origin HEAD:main &&
	test_grep "REJECTED refs/heads/main: the pushed commit is not signed" "$TMP/push.err"
'

test_expect_success 'an allowed_signers file that cannot be read: every push refused; check says why' '
	printf "[verify]\nsignatures = all\nallowed_signers = %s\n" "$KEYS/missing" |
		write_hooks_ini sig &&
	cd sig-work &&
	git reset -q --hard HEAD^ &&
	signed_commit alice f six "signed, but nothing to check it with" &&
	test_must_fail push origin HEAD:main &&
	test_grep "REJECTED refs/heads/main: cannot check signatures: allowed_signers:" \
		"$TMP/push.err" &&
	test_expect_code 1 pg -C "$TMP/sig.git" check &&
	test_grep "^allowed_signers: FAILED: .*missing" "$TMP/pg.out" &&
	signers all &&
	pg -C "$TMP/sig.git" check &&
	test_grep "^allowed_signers: ok (2 keys in " "$TMP/pg.out" &&
	push origin HEAD:main &&
	accepted refs/heads/main
'

test_expect_success 'signatures without allowed_signers: hooks.ini is invalid' '
	printf "[verify]\nsignatures = tips\n" | write_hooks_ini sig &&
	test_expect_code 2 pg -C "$TMP/sig.git" check &&
	test_grep "hooks.ini:2: signatures = tips needs allowed_signers" "$TMP/pg.err"
'

test_done
