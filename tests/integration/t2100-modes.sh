#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t2100-modes.sh - what a build leaves is deployed with safe permission
# bits: setuid, setgid and sticky bits, and write for group and others,
# never reach a host (at most 0755 and 0644), and the next deploy of the
# same output is still incremental (the manifest holds the same bits).
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

PUSHGATE_USER=tester
export PUSHGATE_USER
DEPLOY=$TMP/deploy
mkdir "$DEPLOY"

# mode PATH: the permission bits of PATH, in octal
mode()
{
	stat -c %a -- "$1"
}

test_expect_success 'setup: a build that leaves setuid, sticky and writable modes' '
	setup_repo m <<-EOF &&
	[verify]
	build = sh ./build.sh
	[environment "staging"]
	branch = main
	hosts = local
	path = $DEPLOY/m
	artifact = dist
	EOF
	setup_clone m &&
	cd m-work &&
	cat >build.sh <<-\EOF &&
	set -e
	mkdir -p dist/pub dist/bin
	printf "#!/bin/sh\necho tool\n" >dist/bin/tool
	printf "data\n" >dist/data
	printf "shared\n" >dist/group-writable
	chmod 4755 dist/bin/tool
	chmod 2775 dist/bin
	chmod 0666 dist/data
	chmod 0664 dist/group-writable
	chmod 1777 dist/pub
	EOF
	git add build.sh &&
	git commit -q -m "a build with unsafe modes" &&
	push origin main &&
	deployed staging HEAD
'

test_expect_success 'no setuid, setgid, sticky or group/world write on the host' '
	rel=$DEPLOY/m/current &&
	test "$(mode "$rel/bin/tool")" = 755 &&
	test "$(mode "$rel/bin")" = 755 &&
	test "$(mode "$rel/data")" = 644 &&
	test "$(mode "$rel/group-writable")" = 644 &&
	test "$(mode "$rel/pub")" = 755 &&
	test "$("$rel/bin/tool")" = tool
'

test_expect_success 'the next deploy of the same output is incremental' '
	cd m-work &&
	printf "x\n" >README &&
	git add README &&
	git commit -q -m "a change outside the build output" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "\[local\] sent 0 changed entries" "$TMP/push.err" &&
	test_grep ! "full upload" "$TMP/push.err" &&
	test "$(mode "$DEPLOY/m/current/bin/tool")" = 755
'

test_done
