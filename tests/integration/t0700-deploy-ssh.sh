#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t0700-deploy-ssh.sh - post-receive deploys over SSH (SPEC sections 3
# [environment], 4.2-4.3, 5 and 6; STYLE section 9), with real pushes to
# real OpenSSH servers on 127.0.0.1 (tests/sshd.sh): the release on the
# host, host key checks, a host that is down, hostile names, a big file,
# and an environment of two hosts deploying all or nothing.
#
# The servers run on this machine, so a host's files are checked at the
# deploy path directly. Two hosts of one environment share the deploy
# path and would collide on one filesystem; so the second host of the
# two-host tests is an sshd started in its own mount namespace (unshare
# -m, which needs root), where $HOSTS (the parent of those environments'
# paths) is bind-mounted from $VIEW2. Host 1 writes under $HOSTS, host 2
# under $VIEW2, and the test reads both.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

PUSHGATE_USER=tester
export PUSHGATE_USER

SSHD_SH=$PUSHGATE_SRCDIR/tests/sshd.sh
DEPLOY=$TMP/deploy	# single-host environments
HOSTS=$TMP/hosts	# two-host environments, as host 1 sees them
VIEW2=$TMP/view2	# the same paths, as host 2 sees them
OUT=$TMP/out
mkdir "$DEPLOY" "$HOSTS" "$VIEW2" "$OUT"
# Set by the tests that start the servers.
H1='' H2='' H3='' P3='' FP1='' FP2='' KNOWN_HOSTS='' SSHD_KEY='' SSHD_USER=''
SSHD_PORT1='' SSHD_PORT2='' SSHD_HOSTKEY1='' SSHD_HOSTKEY2=''
SSHD_KNOWN_HOSTS='' SSHD_IPV6=''

# ssh_env REPO ENV PATH KNOWN_HOSTS HOSTS [LINE...]: $TMP/REPO.git's
# hooks.ini: environment ENV deploying main to PATH on HOSTS over SSH
# with the servers' client key, plus the LINEs.
ssh_env()
{
	ssh_env_repo_=$1
	{
		echo "[environment \"$2\"]"
		echo "branch = main"
		echo "hosts = $5"
		echo "path = $3"
		echo "identity = $SSHD_KEY"
		echo "known_hosts = $4"
		echo "connect_timeout = 5"
		shift 5
		for ssh_env_line_ in "$@"
		do
			printf '%s\n' "$ssh_env_line_"
		done
	} | write_hooks_ini "$ssh_env_repo_"
}

# new_repo REPO HOSTS PATH [LINE...]: a bare repository and its clone,
# with an environment "staging" deploying main to PATH on HOSTS (known
# hosts: $KNOWN_HOSTS).
new_repo()
{
	new_repo_name_=$1
	new_repo_hosts_=$2
	new_repo_path_=$3
	shift 3
	setup_repo "$new_repo_name_" </dev/null &&
	ssh_env "$new_repo_name_" staging "$new_repo_path_" "$KNOWN_HOSTS" \
		"$new_repo_hosts_" "$@" &&
	setup_clone "$new_repo_name_"
}

# remote_home: the home directory of the user the servers log in.
remote_home()
{
	getent passwd "$SSHD_USER" | cut -d: -f6
}

# --- the servers --------------------------------------------------------

test_expect_success 'start two OpenSSH servers on 127.0.0.1' '
	test_atexit "sh \"$SSHD_SH\" stop \"$TMP/sshd\"" &&
	sh "$SSHD_SH" start "$TMP/sshd" 2 &&
	. "$TMP/sshd/env" &&
	test -n "$SSHD_PORT1" && test -n "$SSHD_PORT2" &&
	KNOWN_HOSTS=$SSHD_KNOWN_HOSTS &&
	H1=$SSHD_USER@127.0.0.1:$SSHD_PORT1 &&
	H2=$SSHD_USER@127.0.0.1:$SSHD_PORT2 &&
	FP1=$(fingerprint "$SSHD_HOSTKEY1") &&
	FP2=$(fingerprint "$SSHD_HOSTKEY2") &&
	case "$FP1" in SHA256:?*) ;; *) false ;; esac &&
	test "$FP1" != "$FP2"
'

# --- one host --------------------------------------------------------

test_expect_success 'ssh: first deploy: layout and REVISION on the host' '
	new_repo one "$H1" "$DEPLOY/one" &&
	cd one-work &&
	commit_file index.html "<h1>one</h1>" "first" &&
	push origin main &&
	short=$(git rev-parse --short=12 HEAD) &&
	test_grep "^remote: pushgate: deploying $short to .staging. (1 host)" \
		"$TMP/push.err" &&
	test_grep "^remote: pushgate: \[$H1\] uploaded [0-9]* entries, [0-9.]* MB in [0-9.]* s" \
		"$TMP/push.err" &&
	deployed staging HEAD &&
	d=$DEPLOY/one &&
	test -d "$d/shared" &&
	test ! -e "$d/maintenance" &&
	s1=$(live_id "$d") &&
	check_release "$d" "$s1" HEAD &&
	test "$(list_releases "$d")" = "$s1" &&
	test "$(cat "$d/current/index.html")" = "<h1>one</h1>" &&
	ls -A "$d/current" | sort >actual &&
	printf "%s\n" REVISION index.html >expect &&
	cmp expect actual &&
	one1=$(git rev-parse HEAD)
'

test_expect_success 'ssh: refs/environments and history after the deploy' '
	cd one-work &&
	test "$(env_ref one staging)" = "$one1" &&
	test "$(nr_records one)" = 1 &&
	check_record one staging "$one1" ok &&
	test "$(field 5)" = "$s1"
'

test_expect_success 'ssh: second deploy switches; hooks run on the host with the variables' '
	ssh_env one staging "$DEPLOY/one" "$KNOWN_HOSTS" "$H1" \
		"after = { pwd -P; printf \"%s\\n\" \"\$PUSHGATE_ENV\" \"\$PUSHGATE_COMMIT\" \"\$PUSHGATE_RELEASE\" \"\$PUSHGATE_PREVIOUS\" \"\$PUSHGATE_USER\"; echo \"\$SSH_CONNECTION\" | cut -d\" \" -f4; } >\"$OUT/one-vars\"" &&
	cd one-work &&
	commit_file index.html "<h1>two</h1>" "second" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "^remote: pushgate: \[$H1\] after ok" "$TMP/push.err" &&
	d=$DEPLOY/one &&
	s2=$(live_id "$d") &&
	test "$s2" != "$s1" &&
	check_release "$d" "$s2" HEAD &&
	check_release "$d" "$s1" "$one1" &&
	printf "%s\n" "$d/releases/$s2" staging "$(git rev-parse HEAD)" \
		"$d/releases/$s2" "$d/releases/$s1" tester "$SSHD_PORT1" \
		>expect &&
	cat "$OUT/one-vars" &&
	cmp expect "$OUT/one-vars" &&
	test "$(env_ref one staging)" = "$(git rev-parse HEAD)" &&
	check_record one staging HEAD ok
'

test_expect_success 'ssh: file modes and symlinks are kept' '
	cd one-work &&
	mkdir -p bin lib/deep &&
	printf "#!/bin/sh\necho run\n" >bin/run &&
	chmod 755 bin/run &&
	echo data >lib/deep/data.txt &&
	: >empty &&
	ln -s bin/run run-link &&
	ln -s lib/deep dir-link &&
	ln -s does-not-exist dangling &&
	git add . &&
	git commit -q -m modes &&
	push origin main &&
	deployed staging HEAD &&
	r=$DEPLOY/one/current &&
	test "$(test_mode "$r/bin/run")" = -rwxr-xr-x &&
	test "$(test_mode "$r/lib/deep/data.txt")" = -rw-r--r-- &&
	test "$(test_mode "$r/REVISION")" = -rw-r--r-- &&
	test "$("$r/bin/run")" = run &&
	test -f "$r/empty" && test ! -s "$r/empty" &&
	test "$(readlink "$r/run-link")" = bin/run &&
	test "$(readlink "$r/dir-link")" = lib/deep &&
	test "$(readlink "$r/dangling")" = does-not-exist &&
	test "$(cat "$r/dir-link/data.txt")" = data
'

test_expect_success 'ssh: a 5 MB file arrives intact' '
	cd one-work &&
	awk "BEGIN { srand(11); for (i = 0; i < 5 * 1024 * 1024 / 16; i++) printf \"%08x%08x\", rand() * 4294967295, i }" >big.bin &&
	test "$(wc -c <big.bin)" = 5242880 &&
	git add big.bin &&
	git commit -q -m big &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "sent 1 changed entry (5\.[0-9] MB), reused [0-9]* from " "$TMP/push.err" &&
	cmp big.bin "$DEPLOY/one/current/big.bin"
'

# nl: a newline, for names that hold one.
nl='
'

# hostile_names (deploy-lib.sh), plus two names that look like options of
# the commands run on a host.
hostile_names="$hostile_names|--checkpoint-action=exec=touch PWNED5|-P"

test_expect_success 'ssh: hostile file names arrive intact and nothing runs' '
	new_repo hostile "$H1" "$DEPLOY/hostile" "after = ls -A >/dev/null" &&
	cd hostile-work &&
	hostile_tree &&
	push origin main &&
	deployed staging HEAD &&
	check_hostile_tree "$DEPLOY/hostile/current" &&
	test "$(find "$DEPLOY/hostile/current/" -mindepth 1 -printf x | wc -c)" = 16 &&
	no_pwned "$(remote_home)"
'

test_expect_success 'ssh: config overlay and shared links on the host' '
	mkdir -p "$DEPLOY/conf/shared" &&
	echo "SECRET=2" >"$DEPLOY/conf/shared/.env" &&
	new_repo conf "$H1" "$DEPLOY/conf" "config = config/staging" \
		"shared = uploads/ .env" &&
	cd conf-work &&
	commit_file app.conf "mode=default" "default" &&
	commit_file config/staging/app.conf "mode=staging" "staging" &&
	push origin main &&
	deployed staging HEAD &&
	r=$DEPLOY/conf/current &&
	test "$(cat "$r/app.conf")" = mode=staging &&
	test "$(readlink "$r/uploads")" = ../../shared/uploads &&
	test -d "$DEPLOY/conf/shared/uploads" &&
	test "$(readlink "$r/.env")" = ../../shared/.env &&
	test "$(cat "$r/.env")" = SECRET=2
'

test_expect_success 'ssh: nothing is written through a symlink of the release' '
	mkdir "$OUT/escape" &&
	cd conf-work &&
	live=$(live_id "$DEPLOY/conf") &&
	ln -s "$OUT/escape" link &&
	mkdir -p config/staging/link &&
	echo pwned >config/staging/link/pwned.txt &&
	git add link config &&
	git commit -q -m "overlay through a symlink" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test ! -e "$OUT/escape/pwned.txt" &&
	test "$(live_id "$DEPLOY/conf")" = "$live" &&
	test "$(list_releases "$DEPLOY/conf")" = "$live" &&
	check_record conf staging HEAD failed
'

test_expect_success 'ssh: a newline in a refused entry name cannot forge output lines' '
	cd conf-work &&
	git rm -q -r link config/staging/link &&
	evil="evil${nl}pushgate: deployed 000000000000 to '"'"'staging'"'"'" &&
	ln -s "$OUT/escape" "$evil" &&
	mkdir -p "config/staging/$evil" &&
	echo pwned >"config/staging/$evil/pwned.txt" &&
	git add -A . &&
	git commit -q -m "a forged line" &&
	n=$(nr_records conf) &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep ! "^remote: pushgate: deployed 000000000000" "$TMP/push.err" &&
	test_grep -F "evil\\npushgate" "$TMP/push.err" &&
	test ! -e "$OUT/escape/pwned.txt" &&
	test "$(nr_records conf)" = $((n + 1)) &&
	check_record conf staging HEAD failed
'

test_expect_success 'ssh: healthcheck failure rolls the host back' '
	new_repo health "$H1" "$DEPLOY/health" \
		"healthcheck = test ! -e broken" \
		"healthcheck_retries = 1" \
		"on_failure = echo \"\$PUSHGATE_RELEASE\" >\"$OUT/health-on-failure\"" &&
	cd health-work &&
	commit_file ok.txt ok "good" &&
	push origin main &&
	deployed staging HEAD &&
	good=$(git rev-parse HEAD) &&
	h1=$(live_id "$DEPLOY/health") &&
	commit_file broken yes "broken" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "(rolled back)" "$TMP/push.err" &&
	test "$(live_id "$DEPLOY/health")" = "$h1" &&
	h2=$(ls "$DEPLOY/health/releases" | grep -v "^$h1\$") &&
	check_release "$DEPLOY/health" "$h2" HEAD &&
	test -s "$DEPLOY/health/releases/$h2/FAILED" &&
	test "$(cat "$OUT/health-on-failure")" = "$DEPLOY/health/releases/$h2" &&
	test "$(env_ref health staging)" = "$good" &&
	check_record health staging HEAD failed
'

test_expect_success 'ssh: after starting a daemon that keeps the output open: not waited for' '
	new_repo daemon "$H1" "$DEPLOY/daemon" \
		"after = sleep 60 & echo \$! >\"$OUT/ssh-daemon.pid\"" \
		"command_timeout = 30" &&
	cd daemon-work &&
	commit_file a.txt one "one" &&
	start=$(date +%s) &&
	push origin main &&
	test "$(($(date +%s) - start))" -lt 20 &&
	deployed staging HEAD &&
	test_grep "^remote: pushgate: \[$H1\] after: a process it started kept its output open; not waiting for it" \
		"$TMP/push.err" &&
	pid=$(cat "$OUT/ssh-daemon.pid") &&
	kill -0 "$pid" &&
	kill "$pid"
'

test_expect_success 'ssh: a drifted host is put back by pushgate deploy' '
	cd one-work &&
	d=$DEPLOY/one &&
	live=$(live_id "$d") &&
	other=$(list_releases "$d" | grep -v "^$live\$" | tail -n 1) &&
	test -n "$other" &&
	ln -sfn "releases/$other" "$d/current" &&
	test_expect_code 1 pg -C "$TMP/one.git" status staging &&
	test_grep "DRIFT: current -> $other, recorded $live" "$TMP/pg.out" &&
	pg -C "$TMP/one.git" deploy staging &&
	pg_no_crash &&
	test_grep "^pushgate: \[$H1\] drifted: current -> $other, recorded $live: putting it back" \
		"$TMP/pg.err" &&
	test_grep "^pushgate: put back 1 drifted host of .staging." \
		"$TMP/pg.err" &&
	test "$(live_id "$d")" = "$live" &&
	pg -C "$TMP/one.git" status staging
'

test_expect_success 'ssh: compress = true deploys the same release' '
	new_repo zip "$H1" "$DEPLOY/zip" "compress = true" &&
	cd zip-work &&
	yes "compressible line" | head -n 20000 >big.txt &&
	git add big.txt &&
	git commit -q -m "big text" &&
	push origin main &&
	deployed staging HEAD &&
	cmp big.txt "$DEPLOY/zip/current/big.txt"
'

test_expect_success 'ssh: a deploy path with spaces and shell characters' '
	weird="$DEPLOY/we ird \$(touch PWNED) \`touch PWNED2\` x;y" &&
	mkdir -p "$weird/shared" &&
	echo env >"$weird/shared/.env" &&
	setup_repo weird </dev/null &&
	ssh_env weird staging "$weird" "$KNOWN_HOSTS" "$H1" "keep = 1" \
		"maintenance = true" "shared = uploads/ .env" \
		"after = test -e ../../maintenance" &&
	cat "$TMP/weird.git/hooks.ini" &&
	setup_clone weird &&
	cd weird-work &&
	for i in 1 2 3
	do
		commit_with_prefix "$i" v.txt "$i" "v$i" &&
		push origin main &&
		deployed staging HEAD || return 1
	done &&
	w1=$(live_id "$weird") &&
	check_release "$weird" "$w1" HEAD &&
	test "$(cat "$weird/current/.env")" = env &&
	test -d "$weird/current/uploads" &&
	test ! -e "$weird/maintenance" &&
	test "$(find "$weird/releases" -mindepth 1 -maxdepth 1 | wc -l)" = 2 &&
	no_pwned "$(remote_home)"
'

# --- host keys -----------------------------------------------------------

test_expect_success 'ssh: an IPv6 host, written user@[::1]:PORT' '
	test "$SSHD_IPV6" = 1 &&
	new_repo six "$SSHD_USER@[::1]:$SSHD_PORT1" "$DEPLOY/six" &&
	cd six-work &&
	commit_file index.html "<h1>six</h1>" "first" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "\[$SSHD_USER@\[::1\]:$SSHD_PORT1\] uploaded" \
		"$TMP/push.err" &&
	test "$(cat "$DEPLOY/six/current/index.html")" = "<h1>six</h1>"
'

test_expect_success 'unknown host key: refused with the fingerprint and the trust hint' '
	grep -v "^\[127\.0\.0\.1\]:$SSHD_PORT1 " "$SSHD_KNOWN_HOSTS" >"$TMP/kh-unknown" &&
	test_grep "$SSHD_PORT2" "$TMP/kh-unknown" &&
	setup_repo unknown </dev/null &&
	ssh_env unknown staging "$DEPLOY/unknown" "$TMP/kh-unknown" "$H1" &&
	setup_clone unknown &&
	cd unknown-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "unknown host key" "$TMP/push.err" &&
	test_grep -F "$FP1" "$TMP/push.err" &&
	test_grep "pushgate trust staging" "$TMP/push.err" &&
	test ! -e "$DEPLOY/unknown" &&
	no_env_ref unknown staging &&
	check_record unknown staging HEAD failed &&
	field 9 >reason &&
	test_grep "unknown host key" reason
'

test_expect_success 'unknown host key: a deployed environment stays unchanged' '
	ssh_env one staging "$DEPLOY/one" "$TMP/kh-unknown" "$H1" &&
	cd one-work &&
	d=$DEPLOY/one &&
	live=$(live_id "$d") &&
	list_releases "$d" >before &&
	ref=$(env_ref one staging) &&
	commit_file index.html "<h1>three</h1>" "third" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "unknown host key" "$TMP/push.err" &&
	test_grep -F "$FP1" "$TMP/push.err" &&
	test_grep "pushgate trust staging" "$TMP/push.err" &&
	test "$(live_id "$d")" = "$live" &&
	list_releases "$d" >after &&
	cmp before after &&
	test "$(env_ref one staging)" = "$ref" &&
	check_record one staging HEAD failed
'

test_expect_success 'changed host key: refused likewise' '
	{
		grep -v "^\[127\.0\.0\.1\]:$SSHD_PORT1 " "$SSHD_KNOWN_HOSTS" &&
		printf "[127.0.0.1]:%s %s\n" "$SSHD_PORT1" \
			"$(cut -d" " -f1,2 "$SSHD_HOSTKEY2")"
	} >"$TMP/kh-changed" &&
	ssh_env one staging "$DEPLOY/one" "$TMP/kh-changed" "$H1" &&
	cd one-work &&
	d=$DEPLOY/one &&
	live=$(live_id "$d") &&
	list_releases "$d" >before &&
	ref=$(env_ref one staging) &&
	commit_file index.html "<h1>three again</h1>" "third again" &&
	push origin main &&
	test_grep "FAILED to deploy $(git rev-parse --short=12 HEAD) to .staging." \
		"$TMP/push.err" &&
	no_crash &&
	test_grep "host key .*changed" "$TMP/push.err" &&
	test_grep -F "$FP1" "$TMP/push.err" &&
	test_grep "pushgate trust staging" "$TMP/push.err" &&
	test "$(live_id "$d")" = "$live" &&
	list_releases "$d" >after &&
	cmp before after &&
	test "$(env_ref one staging)" = "$ref" &&
	check_record one staging HEAD failed
'

test_expect_success 'changed host key: a new environment creates nothing on the host' '
	new_repo changed "$H1" "$DEPLOY/changed" &&
	ssh_env changed staging "$DEPLOY/changed" "$TMP/kh-changed" "$H1" &&
	cd changed-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "host key .*changed" "$TMP/push.err" &&
	test ! -e "$DEPLOY/changed" &&
	no_env_ref changed staging
'

test_expect_success 'the right key again: the waiting commit deploys' '
	ssh_env one staging "$DEPLOY/one" "$KNOWN_HOSTS" "$H1" &&
	cd one-work &&
	commit_file index.html "<h1>four</h1>" "fourth" &&
	push origin main &&
	deployed staging HEAD &&
	test "$(cat "$DEPLOY/one/current/index.html")" = "<h1>four</h1>"
'

test_expect_success 'an export that fails after whole entries went: the host fails too, nothing is left' '
	cd one-work &&
	head -c 3000000 /dev/urandom >a-big.bin &&
	git add a-big.bin &&
	git commit -q -m "three megabytes" &&
	push origin main &&
	deployed staging HEAD &&
	good=$(live_id "$DEPLOY/one") &&
	list_releases "$DEPLOY/one" >before &&
	: a symlink whose target holds a NUL: the export stops there, after &&
	: a-big.bin and index.html went whole, where a tar would stop well &&
	link=$(printf "to\000nul" | git -C "$TMP/one.git" hash-object -w --stdin) &&
	tree=$({ git -C "$TMP/one.git" ls-tree main &&
		printf "120000 blob %s\tz-link\n" "$link"; } |
		git -C "$TMP/one.git" mktree) &&
	bad=$(git -C "$TMP/one.git" commit-tree -p main -m "bad link" "$tree") &&
	test_expect_code 1 pg -C "$TMP/one.git" deploy --force staging "$bad" &&
	cat "$TMP/pg.out" "$TMP/pg.err" >both &&
	test_grep "symlink .z-link. has a bad target" both &&
	test "$(live_id "$DEPLOY/one")" = "$good" &&
	list_releases "$DEPLOY/one" >after &&
	test_cmp before after &&
	test_grep ! "$(echo "$bad" | cut -c1-12)" after
'

test_expect_success 'a server that is down: a clear failure, nothing changed' '
	new_repo down "$H2" "$DEPLOY/down" &&
	cd down-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deployed staging HEAD &&
	live=$(live_id "$DEPLOY/down") &&
	ref=$(env_ref down staging) &&
	sh "$SSHD_SH" stop-one "$TMP/sshd" 2 &&
	commit_file a.txt two "two" &&
	start=$(date +%s) &&
	push origin main &&
	test "$(($(date +%s) - start))" -lt 30 &&
	deploy_failed staging HEAD &&
	test_grep "\[$H2\] failed: .*connect" "$TMP/push.err" &&
	test "$(live_id "$DEPLOY/down")" = "$live" &&
	test "$(list_releases "$DEPLOY/down")" = "$live" &&
	test "$(env_ref down staging)" = "$ref" &&
	check_record down staging HEAD failed &&
	field 9 >reason &&
	test_grep "connect" reason
'

# --- two hosts -------------------------------------------------------------

# A third server, in a mount namespace where $HOSTS shows $VIEW2, with the
# same client key as the others; $KH_ALL knows all three.
test_expect_success 'two hosts: start a server with its own view of the deploy paths' '
	test_atexit "sh \"$SSHD_SH\" stop \"$TMP/sshd-ns\"" &&
	if test "$(id -u)" != 0
	then
		echo "two hosts with distinct files at one deploy path need a" \
			"mount namespace: run as root (unshare -m)" >&2
		false
	fi &&
	unshare -m --propagation private sh -c "mount --bind \"\$1\" \"\$2\" && exec sh \"\$3\" start \"\$4\" 1" \
		- "$VIEW2" "$HOSTS" "$SSHD_SH" "$TMP/sshd-ns" &&
	P3=$(. "$TMP/sshd-ns/env" && echo "$SSHD_PORT1") &&
	cat "$TMP/sshd/id_ed25519.pub" >>"$TMP/sshd-ns/authorized_keys" &&
	cat "$SSHD_KNOWN_HOSTS" "$TMP/sshd-ns/known_hosts" >"$TMP/kh-all" &&
	KNOWN_HOSTS=$TMP/kh-all &&
	H3=$SSHD_USER@127.0.0.1:$P3 &&
	: the two views differ &&
	ssh -i "$SSHD_KEY" -o UserKnownHostsFile="$TMP/kh-all" \
		-o StrictHostKeyChecking=yes -o BatchMode=yes -p "$P3" \
		"$SSHD_USER@127.0.0.1" "touch \"$HOSTS/probe\"" </dev/null &&
	test -f "$VIEW2/probe" &&
	test ! -e "$HOSTS/probe" &&
	rm -f "$VIEW2/probe"
'

test_expect_success 'two hosts: both get the release, in parallel' '
	new_repo multi "$H1 $H3" "$HOSTS/multi" \
		"before = touch \"$OUT/multi-before-\$(echo \"\$SSH_CONNECTION\" | cut -d\" \" -f4)\"; i=0; while test \"\$(ls \"$OUT\" | grep -c ^multi-before-)\" -lt 2 && test \$i -lt 100; do sleep 0.1; i=\$((i + 1)); done; test \"\$(ls \"$OUT\" | grep -c ^multi-before-)\" -ge 2" &&
	cd multi-work &&
	commit_file index.html "<h1>one</h1>" "first" &&
	push origin main &&
	test_grep "deploying $(git rev-parse --short=12 HEAD) to .staging. (2 hosts)" \
		"$TMP/push.err" &&
	deployed staging HEAD &&
	test_grep "^remote: pushgate: \[$H1\] uploaded" "$TMP/push.err" &&
	test_grep "^remote: pushgate: \[$H3\] uploaded" "$TMP/push.err" &&
	test -e "$OUT/multi-before-$SSHD_PORT1" &&
	test -e "$OUT/multi-before-$P3" &&
	m1=$(live_id "$HOSTS/multi") &&
	test "$(live_id "$VIEW2/multi")" = "$m1" &&
	check_release "$HOSTS/multi" "$m1" HEAD &&
	check_release "$VIEW2/multi" "$m1" HEAD &&
	test "$(cat "$VIEW2/multi/current/index.html")" = "<h1>one</h1>" &&
	test "$(env_ref multi staging)" = "$(git rev-parse HEAD)" &&
	test "$(nr_records multi)" = 1 &&
	check_record multi staging HEAD ok
'

test_expect_success 'two hosts: a healthcheck failing on the second rolls both back' '
	ssh_env multi staging "$HOSTS/multi" "$KNOWN_HOSTS" "$H1 $H3" \
		"healthcheck = test ! -e ../../unhealthy" \
		"healthcheck_retries = 1" \
		"on_failure = echo \"\$PUSHGATE_RELEASE\" >\"$OUT/multi-on-failure-\$(echo \"\$SSH_CONNECTION\" | cut -d\" \" -f4)\"" &&
	touch "$VIEW2/multi/unhealthy" &&
	cd multi-work &&
	good=$(git rev-parse HEAD) &&
	commit_file index.html "<h1>two</h1>" "second" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "(rolled back)" "$TMP/push.err" &&
	test_grep "\[$H3\] failed: healthcheck" "$TMP/push.err" &&
	test_grep "\[$H1\] rolled back to $m1" "$TMP/push.err" &&
	test_grep "\[$H3\] rolled back to $m1" "$TMP/push.err" &&
	test "$(live_id "$HOSTS/multi")" = "$m1" &&
	test "$(live_id "$VIEW2/multi")" = "$m1" &&
	m2=$(ls "$HOSTS/multi/releases" | grep -v "^$m1\$") &&
	test "$(ls "$VIEW2/multi/releases" | grep -v "^$m1\$")" = "$m2" &&
	check_release "$HOSTS/multi" "$m2" HEAD &&
	test -s "$HOSTS/multi/releases/$m2/FAILED" &&
	test -s "$VIEW2/multi/releases/$m2/FAILED" &&
	test "$(cat "$OUT/multi-on-failure-$SSHD_PORT1")" = "$HOSTS/multi/releases/$m2" &&
	test "$(cat "$OUT/multi-on-failure-$P3")" = "$HOSTS/multi/releases/$m2" &&
	test "$(env_ref multi staging)" = "$good" &&
	check_record multi staging HEAD failed &&
	field 9 >reason &&
	test_grep "$H3" reason &&
	rm -f "$VIEW2/multi/unhealthy"
'

test_expect_success 'two hosts: preparing fails on the second: no host switches' '
	echo "on host 1 only" >"$HOSTS/multi/shared/.env" &&
	ssh_env multi staging "$HOSTS/multi" "$KNOWN_HOSTS" "$H1 $H3" \
		"shared = .env" \
		"before = touch \"$OUT/multi-prepare-before\"" &&
	cd multi-work &&
	good=$(env_ref multi staging) &&
	list_releases "$HOSTS/multi" >before1 &&
	list_releases "$VIEW2/multi" >before2 &&
	commit_file index.html "<h1>three</h1>" "third" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "\[$H3\] failed: .*missing shared file" "$TMP/push.err" &&
	test_grep ! "(rolled back)" "$TMP/push.err" &&
	test ! -e "$OUT/multi-prepare-before" &&
	test "$(live_id "$HOSTS/multi")" = "$m1" &&
	test "$(live_id "$VIEW2/multi")" = "$m1" &&
	list_releases "$HOSTS/multi" >after1 &&
	list_releases "$VIEW2/multi" >after2 &&
	cmp before1 after1 &&
	cmp before2 after2 &&
	test "$(env_ref multi staging)" = "$good" &&
	check_record multi staging HEAD failed
'

test_expect_success 'two hosts: once both have the file, both deploy' '
	echo "on host 2 too" >"$VIEW2/multi/shared/.env" &&
	cd multi-work &&
	commit_file index.html "<h1>four</h1>" "fourth" &&
	push origin main &&
	deployed staging HEAD &&
	m4=$(live_id "$HOSTS/multi") &&
	test "$(live_id "$VIEW2/multi")" = "$m4" &&
	test "$(cat "$HOSTS/multi/current/.env")" = "on host 1 only" &&
	test "$(cat "$VIEW2/multi/current/.env")" = "on host 2 too" &&
	test -f "$OUT/multi-prepare-before"
'

test_expect_success 'two hosts: only the drifted one is put back; a gone release is uploaded again' '
	cd multi-work &&
	m=$(live_id "$HOSTS/multi") &&
	rm -rf "$VIEW2/multi/releases/$m" &&
	test_expect_code 1 pg -C "$TMP/multi.git" status staging &&
	test_grep "$H3 *DRIFT: current -> releases/$m (missing)" "$TMP/pg.out" &&
	touch "$OUT/multi-marker" &&
	pg -C "$TMP/multi.git" deploy staging &&
	pg_no_crash &&
	test_grep "\[$H3\] drifted: current -> releases/$m (missing), recorded $m: putting it back" \
		"$TMP/pg.err" &&
	test_grep ! "\[$H1\] drifted" "$TMP/pg.err" &&
	test_grep "\[$H3\] release $m is gone: uploading it again" "$TMP/pg.err" &&
	test "$(grep -c "\[$H1\] connected" "$TMP/pg.err")" = 1 &&
	test "$(live_id "$VIEW2/multi")" = "$m" &&
	check_release "$VIEW2/multi" "$m" HEAD &&
	test "$(live_id "$HOSTS/multi")" = "$m" &&
	find "$HOSTS/multi/current" -newer "$OUT/multi-marker" >newer &&
	test_grep ! . newer &&
	pg -C "$TMP/multi.git" status staging
'

test_expect_success 'two hosts: the second host down: nothing switches anywhere' '
	sh "$SSHD_SH" stop "$TMP/sshd-ns" &&
	cd multi-work &&
	good=$(env_ref multi staging) &&
	list_releases "$HOSTS/multi" >before1 &&
	commit_file index.html "<h1>five</h1>" "fifth" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "\[$H3\] failed: .*connect" "$TMP/push.err" &&
	test "$(live_id "$HOSTS/multi")" = "$m4" &&
	list_releases "$HOSTS/multi" >after1 &&
	cmp before1 after1 &&
	test "$(env_ref multi staging)" = "$good"
'

test_done
