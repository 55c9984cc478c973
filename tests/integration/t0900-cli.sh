#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t0900-cli.sh - the pushgate command line (SPEC section 7; README "The
# CLI"): usage errors and exit codes of every verb, `pushgate check`
# against `local` hosts and real OpenSSH servers on 127.0.0.1
# (tests/sshd.sh: up, down, unknown and changed host keys), and `pushgate
# trust` adding a host key to known_hosts after confirmation.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"

PUSHGATE_USER=tester
export PUSHGATE_USER

SSHD_SH=$PUSHGATE_SRCDIR/tests/sshd.sh
DEPLOY=$TMP/deploy
mkdir "$DEPLOY"

# one_line: the last pushgate run wrote exactly one line to stderr.
one_line()
{
	test "$(wc -l <"$TMP/pg.err")" -eq 1 || {
		echo "stderr has $(wc -l <"$TMP/pg.err") lines, not 1" >&2
		return 1
	}
}

# usage_fails CODE ARGS...: `pushgate -C $TMP/cli.git ARGS` exits with
# CODE (a usage error: 2), says why on stderr, prints nothing on stdout,
# and does not crash. (That it is one line is checked on its own below.)
usage_fails()
{
	usage_fails_code_=$1
	shift
	test_expect_code "$usage_fails_code_" pg -C "$TMP/cli.git" "$@" &&
	test_grep "^pushgate: error: " "$TMP/pg.err" &&
	test_grep ! . "$TMP/pg.out" &&
	pg_no_crash
}

# local_block NAME PATH: an environment NAME deploying branch NAME to
# PATH on this machine.
local_block()
{
	printf '[environment "%s"]\nbranch = %s\nhosts = local\npath = %s\n\n' \
		"$1" "$1" "$2"
}

# ssh_block NAME HOST KNOWN_HOSTS: an environment NAME deploying branch
# NAME to $DEPLOY/NAME on HOST over SSH, with the servers' client key.
ssh_block()
{
	printf '[environment "%s"]\nbranch = %s\nhosts = %s\npath = %s\n' \
		"$1" "$1" "$2" "$DEPLOY/$1" &&
	printf 'identity = %s\nknown_hosts = %s\nconnect_timeout = 5\n\n' \
		"$SSHD_KEY" "$3"
}

# has_key KNOWN_HOSTS PORT PUBFILE: KNOWN_HOSTS holds PUBFILE's key for
# [127.0.0.1]:PORT, as OpenSSH reads it.
has_key()
{
	test -f "$1" &&
	ssh-keygen -F "[127.0.0.1]:$2" -f "$1" >"$TMP/found" &&
	cat "$TMP/found" &&
	grep -F -q -- "$(cut -d' ' -f2 <"$3")" "$TMP/found"
}

# lacks_key KNOWN_HOSTS PUBFILE: KNOWN_HOSTS does not exist or does not
# hold PUBFILE's key.
lacks_key()
{
	! test -f "$1" ||
	! grep -F -q -- "$(cut -d' ' -f2 <"$2")" "$1"
}

# --- usage and exit codes ---------------------------------------------

test_expect_success 'setup: a repository with one local environment' '
	setup_repo cli <<-EOF &&
	[environment "staging"]
	branch = develop
	hosts = local
	path = $DEPLOY/staging
	EOF
	mkdir plain
'

test_expect_success 'no arguments: usage on stderr, exit 2' '
	test_expect_code 2 pg &&
	test_grep "^pushgate: .*usage: pushgate" "$TMP/pg.err" &&
	one_line &&
	test_grep ! . "$TMP/pg.out" &&
	test_expect_code 2 pg -C "$TMP/cli.git" &&
	one_line
'

test_expect_success 'an unknown verb: exit 2, naming it' '
	usage_fails 2 frobnicate &&
	test_grep "unknown command .frobnicate." "$TMP/pg.err" &&
	usage_fails 2 Deploy &&
	usage_fails 2 "" &&
	test_expect_code 2 pg frobnicate &&
	one_line
'

test_expect_success 'an unknown global option: exit 2' '
	usage_fails 2 -x status &&
	usage_fails 2 --bogus status
'

test_expect_success 'pushgate --help and -h: the usage on stdout, exit 0' '
	pg --help &&
	test_grep ! . "$TMP/pg.err" &&
	test_grep "^usage: pushgate \[-C DIR\] COMMAND" "$TMP/pg.out" &&
	test_grep "pushgate deploy \[--dry-run\] \[--force\] \[--full\] \[--override-window REASON\] ENV \[REV\]" "$TMP/pg.out" &&
	test_grep "pushgate deploy --pending \[ENV\]" "$TMP/pg.out" &&
	test_grep "pushgate lock ENV -m REASON" "$TMP/pg.out" &&
	test_grep "pushgate windows \[--at TIME\] \[ENV\]" "$TMP/pg.out" &&
	test_grep "pushgate rollback \[--dry-run\] ENV \[RELEASE-or-COMMIT\]" "$TMP/pg.out" &&
	test_grep "pushgate status \[--json\] \[ENV\]" "$TMP/pg.out" &&
	test_grep "pushgate history \[-n N\] \[--json\] \[ENV\]" "$TMP/pg.out" &&
	test_grep "pushgate check \[--json\] \[ENV\]" "$TMP/pg.out" &&
	test_grep "pushgate trust \[--yes\] ENV" "$TMP/pg.out" &&
	test_grep "Exit codes: 0 success, 1 .*, 2 usage" "$TMP/pg.out" &&
	test_cmp_expected pushgate-help "$TMP/pg.out" &&
	cp "$TMP/pg.out" help &&
	pg -h &&
	cmp help "$TMP/pg.out" &&
	pg -C /nonexistent --help &&
	cmp help "$TMP/pg.out"
'

test_expect_success 'pushgate VERB --help: that verb'\''s usage, exit 0, anywhere' '
	for verb in deploy rollback status history log lock unlock windows check trust
	do
		pg "$verb" --help &&
		test_grep "^usage: pushgate $verb" "$TMP/pg.out" &&
		test_grep ! . "$TMP/pg.err" &&
		pg -C /nonexistent "$verb" --help &&
		test_grep "^usage: pushgate $verb" "$TMP/pg.out" &&
		pg -C "$TMP/cli.git" "$verb" -h &&
		test_grep "^usage: pushgate $verb" "$TMP/pg.out" || return 1
	done &&
	pg deploy --help &&
	test_grep "^usage: pushgate deploy \[--dry-run\] \[--force\] \[--full\] \[--override-window REASON\] ENV \[REV\]" \
		"$TMP/pg.out" &&
	test_grep "^usage: pushgate deploy --pending \[ENV\]" "$TMP/pg.out"
'

test_expect_success 'pushgate --version: exit 0' '
	pg --version &&
	test_grep "^pushgate [0-9]" "$TMP/pg.out"
'

test_expect_success 'history: a bad -n is a usage error' '
	for n in 0 abc -1 "" 5x 1.5 99999999999999999999
	do
		usage_fails 2 history -n "$n" &&
		test_grep "usage: pushgate history" "$TMP/pg.err" || return 1
	done &&
	usage_fails 2 history -n &&
	usage_fails 2 history -x &&
	usage_fails 2 history staging develop
'

test_expect_success 'wrong arguments for each verb: exit 2 with its usage' '
	usage_fails 2 deploy &&
	test_grep "usage: pushgate deploy" "$TMP/pg.err" &&
	test_cmp_expected pushgate-deploy-usage "$TMP/pg.err" &&
	usage_fails 2 deploy staging develop extra &&
	usage_fails 2 deploy --bogus staging &&
	usage_fails 2 rollback &&
	test_grep "usage: pushgate rollback" "$TMP/pg.err" &&
	usage_fails 2 rollback staging a b &&
	usage_fails 2 rollback --bogus &&
	usage_fails 2 status staging extra &&
	test_grep "usage: pushgate status" "$TMP/pg.err" &&
	usage_fails 2 status --bogus &&
	usage_fails 2 check staging extra &&
	test_grep "usage: pushgate check" "$TMP/pg.err" &&
	usage_fails 2 check --bogus &&
	usage_fails 2 trust &&
	test_grep "usage: pushgate trust" "$TMP/pg.err" &&
	usage_fails 2 trust staging extra &&
	usage_fails 2 trust --bogus staging
'

test_expect_success 'every usage error is one line on stderr' '
	for args in "" "frobnicate" "-x status" "--bogus status" \
		"history -n 0" "history -n" "history -x" "history a b" \
		"deploy" "deploy --bogus staging" "rollback" "rollback --bogus" \
		"status --bogus" "check --bogus" "trust" "trust --bogus staging"
	do
		# shellcheck disable=SC2086
		test_expect_code 2 pg -C "$TMP/cli.git" $args &&
		one_line || return 1
	done
'

test_expect_success 'an unknown environment: exit 2 for every verb' '
	for args in "deploy nosuch" "deploy nosuch develop" \
		"rollback nosuch" "status nosuch" "history nosuch" \
		"history -n 3 nosuch" "check nosuch" "trust nosuch" \
		"trust --yes nosuch"
	do
		# shellcheck disable=SC2086
		usage_fails 2 $args &&
		test_grep "^pushgate: error: no environment .nosuch. in hooks.ini" \
			"$TMP/pg.err" || return 1
	done
'

test_expect_success '-C a directory that does not exist: one clear line, non-zero' '
	for verb in status history check "deploy staging"
	do
		# shellcheck disable=SC2086
		test_must_fail pg -C /nonexistent $verb &&
		one_line &&
		test_grep "^pushgate: error: .*/nonexistent" "$TMP/pg.err" &&
		test_grep ! . "$TMP/pg.out" &&
		pg_no_crash || return 1
	done
'

test_expect_success '-C a directory that is not a repository: one clear line, non-zero' '
	test_must_fail pg -C "$TMP/plain" status &&
	one_line &&
	test_grep "^pushgate: error: .*plain" "$TMP/pg.err" &&
	pg_no_crash
'

test_expect_success 'inside the bare repository, without -C' '
	(cd "$TMP/cli.git" && pg status) &&
	test_grep "^staging (branch develop, auto, 1 host)" "$TMP/pg.out" &&
	(cd "$TMP/cli.git" && pg history) &&
	test_grep "^TIME " "$TMP/pg.out" &&
	(cd "$TMP/cli.git" && pg check) &&
	test_grep "^staging: local: ok" "$TMP/pg.out"
'

# --- check: hooks.ini ---------------------------------------------------

test_expect_success 'check: no hooks.ini: exit 0, no rules' '
	setup_repo none </dev/null &&
	rm "$TMP/none.git/hooks.ini" &&
	pg -C "$TMP/none.git" check &&
	test_grep "^hooks.ini: ok (absent" "$TMP/pg.out" &&
	pg -C "$TMP/none.git" status &&
	test_expect_code 2 pg -C "$TMP/none.git" deploy staging &&
	test_grep "no environment .staging." "$TMP/pg.err"
'

test_expect_success 'check: the example hooks.ini install.sh writes: exit 0' '
	setup_repo example </dev/null &&
	pg -C "$TMP/example.git" check &&
	test_grep "^hooks.ini: ok (present, 0 environments)" "$TMP/pg.out"
'

test_expect_success 'check: a bad hooks.ini: exit 2, hooks.ini:LINE for each error' '
	setup_repo bad <<-EOF &&
	[environment "staging"]
	branch = develop
	hosts = local
	path = $DEPLOY/bad
	mdoe = manual
	keep = many
	EOF
	test_expect_code 2 pg -C "$TMP/bad.git" check &&
	test_grep "^pushgate: error: hooks.ini:5: .*mdoe.*did you mean .mode." \
		"$TMP/pg.err" &&
	test_grep "^pushgate: error: hooks.ini:6: .*keep" "$TMP/pg.err" &&
	test_grep ! "ok" "$TMP/pg.out" &&
	pg_no_crash &&
	for verb in status history "deploy staging" "rollback staging" \
		"trust staging" "check staging"
	do
		# shellcheck disable=SC2086
		test_expect_code 2 pg -C "$TMP/bad.git" $verb &&
		test_grep "hooks.ini:5:" "$TMP/pg.err" || return 1
	done
'

test_expect_success 'check: a hooks.ini others may write: exit 2 (chmod go-w)' '
	setup_repo loose <<-EOF &&
	[environment "staging"]
	branch = develop
	hosts = local
	path = $DEPLOY/loose
	EOF
	pg -C "$TMP/loose.git" check &&
	chmod 666 "$TMP/loose.git/hooks.ini" &&
	test_expect_code 2 pg -C "$TMP/loose.git" check &&
	test_grep "chmod go-w" "$TMP/pg.err" &&
	chmod 600 "$TMP/loose.git/hooks.ini" &&
	pg -C "$TMP/loose.git" check
'

test_expect_success 'check: a local path that cannot be created: exit 1' '
	echo a file >"$TMP/afile" &&
	{
		local_block staging "$DEPLOY/staging" &&
		local_block broken "$TMP/afile/deploy"
	} | write_hooks_ini cli &&
	test_expect_code 1 pg -C "$TMP/cli.git" check &&
	test_grep "^staging: local: ok" "$TMP/pg.out" &&
	test_grep "^broken: local: FAILED: " "$TMP/pg.out" &&
	pg_no_crash &&
	pg -C "$TMP/cli.git" check staging &&
	test_grep ! "broken" "$TMP/pg.out" &&
	test_expect_code 1 pg -C "$TMP/cli.git" check broken
'

# --- check and trust over SSH -------------------------------------------

test_expect_success 'start two OpenSSH servers on 127.0.0.1' '
	test_atexit "sh \"$SSHD_SH\" stop \"$TMP/sshd\"" &&
	sh "$SSHD_SH" start "$TMP/sshd" 2 &&
	. "$TMP/sshd/env" &&
	H1=$SSHD_USER@127.0.0.1:$SSHD_PORT1 &&
	H2=$SSHD_USER@127.0.0.1:$SSHD_PORT2 &&
	FP1=$(fingerprint "$SSHD_HOSTKEY1") &&
	FP2=$(fingerprint "$SSHD_HOSTKEY2") &&
	case "$FP1" in SHA256:?*) ;; *) false ;; esac &&
	test "$FP1" != "$FP2"
'

test_expect_success 'check: a local and an SSH environment, every host ok: exit 0' '
	{
		local_block staging "$DEPLOY/staging" &&
		ssh_block production "$H1" "$SSHD_KNOWN_HOSTS"
	} | write_hooks_ini cli &&
	pg -C "$TMP/cli.git" check &&
	pg_no_crash &&
	test_grep "^hooks.ini: ok (present, 2 environments)" "$TMP/pg.out" &&
	test_grep "^staging: local: ok (local, $DEPLOY/staging writable, tar present)" \
		"$TMP/pg.out" &&
	test_grep "^production: $H1: ok (host key and login ok, $DEPLOY/production writable, tar present)" \
		"$TMP/pg.out" &&
	test -d "$DEPLOY/production" &&
	pg -C "$TMP/cli.git" check production &&
	test_grep "^production: $H1: ok" "$TMP/pg.out" &&
	test_grep ! "^staging" "$TMP/pg.out"
'

test_expect_success 'check: an unknown host key: exit 1, with its fingerprint and what to run' '
	mkdir -p "$TMP/kh" &&
	{
		local_block staging "$DEPLOY/staging" &&
		ssh_block production "$H1" "$SSHD_KNOWN_HOSTS" &&
		ssh_block fresh "$H1" "$TMP/kh/fresh" &&
		ssh_block fresh2 "$H1" "$TMP/kh/fresh2" &&
		ssh_block changed "$H1" "$TMP/kh/changed" &&
		ssh_block down "$H2" "$SSHD_KNOWN_HOSTS"
	} | write_hooks_ini cli &&
	test_expect_code 1 pg -C "$TMP/cli.git" check fresh &&
	pg_no_crash &&
	test_grep "^fresh: $H1: FAILED: .*unknown host key" "$TMP/pg.out" &&
	test_grep "^fresh: $H1: FAILED: .*$FP1" "$TMP/pg.out" &&
	test_grep "^fresh: $H1: FAILED: .*pushgate trust fresh" "$TMP/pg.out" &&
	test ! -e "$TMP/kh/fresh" &&
	test_expect_code 1 pg -C "$TMP/cli.git" check &&
	test_grep "^production: $H1: ok" "$TMP/pg.out" &&
	test_grep "^down: $H2: ok" "$TMP/pg.out" &&
	test_grep "^fresh: $H1: FAILED" "$TMP/pg.out"
'

test_expect_success 'check: a changed host key: exit 1, naming pushgate trust' '
	printf "[127.0.0.1]:%s %s\n" "$SSHD_PORT1" \
		"$(cut -d" " -f1,2 <"$SSHD_HOSTKEY2")" >"$TMP/kh/changed" &&
	test_expect_code 1 pg -C "$TMP/cli.git" check changed &&
	test_grep "^changed: $H1: FAILED: .*host key .* has changed" \
		"$TMP/pg.out" &&
	test_grep "^changed: $H1: FAILED: .*$FP1" "$TMP/pg.out" &&
	test_grep "^changed: $H1: FAILED: .*pushgate trust changed" \
		"$TMP/pg.out"
'

test_expect_success 'trust: answered n: the key is shown, not added, exit 1' '
	echo n | test_expect_code 1 pg -C "$TMP/cli.git" trust fresh &&
	pg_no_crash &&
	test_grep "^$H1: ssh-ed25519 $FP1 (unknown)" "$TMP/pg.out" &&
	test_grep "\[y/N\]" "$TMP/pg.err" &&
	test_grep "^$H1: not trusted" "$TMP/pg.out" &&
	lacks_key "$TMP/kh/fresh" "$SSHD_HOSTKEY1" &&
	test_expect_code 1 pg -C "$TMP/cli.git" check fresh
'

test_expect_success 'trust: no answer (end of input) adds nothing, exit 1' '
	test_expect_code 1 pg -C "$TMP/cli.git" trust fresh </dev/null &&
	test_grep "^$H1: not trusted" "$TMP/pg.out" &&
	lacks_key "$TMP/kh/fresh" "$SSHD_HOSTKEY1"
'

test_expect_success 'trust: answered y: added, exit 0, and check passes' '
	echo y | pg -C "$TMP/cli.git" trust fresh &&
	pg_no_crash &&
	test_grep "^$H1: ssh-ed25519 $FP1 (unknown)" "$TMP/pg.out" &&
	test_grep "^$H1: added to $TMP/kh/fresh" "$TMP/pg.out" &&
	has_key "$TMP/kh/fresh" "$SSHD_PORT1" "$SSHD_HOSTKEY1" &&
	test "$(wc -l <"$TMP/kh/fresh")" -eq 1 &&
	ssh-keygen -l -E sha256 -f "$TMP/kh/fresh" >listed &&
	test_grep " $FP1 " listed &&
	pg -C "$TMP/cli.git" check fresh &&
	test_grep "^fresh: $H1: ok (host key and login ok" "$TMP/pg.out"
'

test_expect_success 'trust: a key already trusted: no question, nothing written, exit 0' '
	cp "$TMP/kh/fresh" before &&
	pg -C "$TMP/cli.git" trust fresh </dev/null &&
	test_grep "^$H1: ssh-ed25519 $FP1 (already trusted)" "$TMP/pg.out" &&
	test_grep ! "y/N" "$TMP/pg.err" &&
	cmp before "$TMP/kh/fresh"
'

test_expect_success 'trust --yes: added without asking, other lines kept' '
	other="example.com $(cut -d" " -f1,2 <"$SSHD_HOSTKEY2")" &&
	printf "# my hosts\n%s\n" "$other" >"$TMP/kh/fresh2" &&
	test_expect_code 1 pg -C "$TMP/cli.git" check fresh2 &&
	pg -C "$TMP/cli.git" trust --yes fresh2 </dev/null &&
	pg_no_crash &&
	test_grep ! "y/N" "$TMP/pg.err" &&
	test_grep "^$H1: ssh-ed25519 $FP1 (unknown)" "$TMP/pg.out" &&
	test_grep "^$H1: added to " "$TMP/pg.out" &&
	has_key "$TMP/kh/fresh2" "$SSHD_PORT1" "$SSHD_HOSTKEY1" &&
	test_grep -x -F "# my hosts" "$TMP/kh/fresh2" &&
	test_grep -x -F "$other" "$TMP/kh/fresh2" &&
	pg -C "$TMP/cli.git" check fresh2
'

test_expect_success 'trust: a changed key is shown as such and replaced after yes' '
	test_expect_code 1 pg -C "$TMP/cli.git" trust changed </dev/null &&
	test_grep "^$H1: ssh-ed25519 $FP1 (CHANGED" "$TMP/pg.out" &&
	lacks_key "$TMP/kh/changed" "$SSHD_HOSTKEY1" &&
	echo y | pg -C "$TMP/cli.git" trust changed &&
	has_key "$TMP/kh/changed" "$SSHD_PORT1" "$SSHD_HOSTKEY1" &&
	lacks_key "$TMP/kh/changed" "$SSHD_HOSTKEY2" &&
	pg -C "$TMP/cli.git" check changed
'

test_expect_success 'trust: a local environment has no key to trust, exit 0' '
	pg -C "$TMP/cli.git" trust staging </dev/null &&
	test_grep "^local: local, no host key" "$TMP/pg.out"
'

test_expect_success 'check: a host that is down: exit 1, the others still ok' '
	pg -C "$TMP/cli.git" check down &&
	sh "$SSHD_SH" stop-one "$TMP/sshd" 2 &&
	test_expect_code 1 pg -C "$TMP/cli.git" check down &&
	pg_no_crash &&
	test_grep "^down: $H2: FAILED: " "$TMP/pg.out" &&
	test_expect_code 1 pg -C "$TMP/cli.git" check &&
	test_grep "^down: $H2: FAILED: " "$TMP/pg.out" &&
	test_grep "^production: $H1: ok" "$TMP/pg.out" &&
	test_grep "^staging: local: ok" "$TMP/pg.out" &&
	pg -C "$TMP/cli.git" check production
'

test_expect_success 'trust: a host that is down: exit 1' '
	test_expect_code 1 pg -C "$TMP/cli.git" trust --yes down </dev/null &&
	test_grep "^$H2: FAILED: " "$TMP/pg.out" &&
	pg_no_crash
'

test_done
