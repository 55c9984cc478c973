#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t2500-faults.sh - a fault matrix for deploys over SSH (SPEC sections 5,
# 6 and 8), on an environment of two hosts:
#
#   fault                                     how
#   post-receive killed during the upload     SIGKILL while both remote
#                                             tars wait (a full upload,
#                                             bigger than the channel)
#   pushgate deploy killed after host 1 of 2  batch = 1: SIGKILL while
#     switched                                host 2 runs `before`
#   post-receive killed during `after`        SIGKILL while both run it
#   pushgate deploy killed during the         SIGKILL while host 2 runs it
#     healthcheck
#   pushgate rollback killed during `after`   SIGKILL while host 2 runs it
#   host 1's disk fills up in the upload      releases/ on a 256 KiB tmpfs
#   host 2's network stalls in the upload     SIGSTOP of the sshd process
#                                             serving it, command_timeout 3
#
# After each fault (once what the deploy left running is done): every
# host's `current` is a complete release (every file of its commit, byte
# for byte), the one the history records as live, which is the good one
# from before the fault; the history records no success of the faulty
# deploy, and `pushgate status` says a killed one did not finish. Then
# the next deploy (or rollback) works, a killed deploy is recorded as
# failed ("interrupted") with its log, a failed one says why (no space,
# timed out), and nothing is left behind: no lock held or holder line, no
# temporary file in pushgate/, and on the hosts nothing but current,
# releases/ and shared/, no hidden or partial directory in releases/, and
# only releases that are FAILED or recorded as deployed.
#
# Two OpenSSH servers on 127.0.0.1 (tests/sshd.sh) are the hosts: host 1
# in this mount namespace, host 2 in its own (unshare -m, which needs
# root, as does the tmpfs), where $HOSTS, the parent of the deploy paths,
# is bind-mounted from $VIEW2 (as in t0700-deploy-ssh.sh). Both run every
# session through $BIN/session (sshd's ForceCommand), which notes the
# sshd process that serves the session and puts $BIN first on PATH,
# where a `tar` waits at a gate when a test arms it.
#
# Synchronisation is by conditions only. A gate NAME on host K is armed
# by creating $OUT/arm-NAME.PORTK; the next command that reaches it (tar,
# or a `before`, `after` or `healthcheck` running `sh $BIN/gate NAME`)
# consumes the arm, creates $OUT/at-NAME.PORTK and waits until
# $OUT/go-NAME.PORTK exists. The test waits for the at- file, does its
# harm, then creates the go- file.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

PUSHGATE_USER=tester
export PUSHGATE_USER

SSHD_SH=$PUSHGATE_SRCDIR/tests/sshd.sh
HOSTS=$TMP/hosts	# the deploy paths' parent, as host 1 sees it
VIEW2=$TMP/view2	# the same, as host 2 sees it
OUT=$TMP/out		# what the gates and hooks leave
BIN=$TMP/bin		# the sessions' helpers
mkdir "$HOSTS" "$VIEW2" "$OUT" "$BIN"
# Set when the servers start.
H1='' H2='' P1='' P2='' KEY='' KNOWN_HOSTS='' SSHD_USER=''

# Whatever happens, no gate keeps a command waiting once the script ends.
test_atexit 'for f in "$OUT"/at-*; do test -e "$f" && : >"$OUT/go-${f#"$OUT"/at-}"; done'

# --- helpers ----------------------------------------------------------------

# fault_env REPO [LINE...]: REPO's hooks.ini: "staging" deploys main to
# $HOSTS/REPO on both hosts, plus the LINEs.
fault_env()
{
	fault_env_repo_=$1
	shift
	{
		echo '[environment "staging"]'
		echo 'branch = main'
		echo "hosts = $H1 $H2"
		echo "path = $HOSTS/$fault_env_repo_"
		echo "identity = $KEY"
		echo "known_hosts = $KNOWN_HOSTS"
		echo 'mode = manual'
		echo 'connect_timeout = 5'
		for fault_env_line_ in "$@"
		do
			printf '%s\n' "$fault_env_line_"
		done
	} | write_hooks_ini "$fault_env_repo_"
}

# fault_repo REPO [LINE...]: a bare repository and its clone with
# fault_env's environment, and a first release of three files deployed
# on both hosts (the good one every fault must come back to).
fault_repo()
{
	fault_repo_name_=$1
	setup_repo "$fault_repo_name_" </dev/null &&
	fault_env "$@" &&
	setup_clone "$fault_repo_name_" &&
	(
		cd "$TMP/$fault_repo_name_-work" &&
		mkdir -p app/lib &&
		echo "<h1>one</h1>" >index.html &&
		echo "v1" >app/version &&
		printf '#!/bin/sh\necho run\n' >app/lib/run.sh &&
		chmod 755 app/lib/run.sh &&
		git add . &&
		git commit -q -m "first" &&
		push origin main
	) &&
	pg -C "$TMP/$fault_repo_name_.git" deploy staging &&
	test_grep "^pushgate: deployed .* to 'staging' on 2 hosts" \
		"$TMP/pg.err"
}

# next_commit REPO TEXT [KIB]: a commit in REPO's clone changing
# index.html to TEXT and adding a file of KIB KiB (default 512, so that
# an upload takes a while).
next_commit()
{
	(
		cd "$TMP/$1-work" &&
		echo "$2" >index.html &&
		awk -v seed="$2" -v n="$((${3:-512} * 64))" 'BEGIN { srand(length(seed)); for (i = 0; i < n; i++) printf "%08x%08x", rand() * 4294967295, i }' >data.bin &&
		git add index.html data.bin &&
		git commit -q -m "$2"
	)
}

# publish REPO: push REPO's main, which deploys nothing ("staging" is
# manual).
publish()
{
	(cd "$TMP/$1-work" && push origin main) &&
	test_grep "waiting for approval\|pushgate deploy staging" \
		"$TMP/push.err"
}

# port_of K: host K's port.
port_of()
{
	eval "printf '%s\n' \"\$P$1\""
}

# arm NAME K: the next command reaching gate NAME on host K stops there.
arm()
{
	: >"$OUT/arm-$1.$(port_of "$2")"
}

# reached NAME K: wait until a command waits at gate NAME on host K.
reached()
{
	test_wait_for 30 test -e "$OUT/at-$1.$(port_of "$2")"
}

# release NAME K: let the command waiting at gate NAME on host K go on.
release()
{
	rm -f "$OUT/at-$1.$(port_of "$2")" &&
	: >"$OUT/go-$1.$(port_of "$2")"
}

# hook_pid REPO: the pid of REPO's post-receive (the deploy process, not
# one of its workers), once it runs.
hook_pid()
{
	hook_pid_exe_=$TMP/$1.git/hooks/post-receive
	for hook_pid_p_ in /proc/[0-9]*
	do
		test "$(readlink "$hook_pid_p_/exe" 2>/dev/null)" = \
			"$hook_pid_exe_" || continue
		hook_pid_pp_=$(sed 's/^.*) //' "$hook_pid_p_/stat" 2>/dev/null |
			cut -d' ' -f2) || continue
		test "$(readlink "/proc/$hook_pid_pp_/exe" 2>/dev/null)" != \
			"$hook_pid_exe_" || continue
		echo "${hook_pid_p_#/proc/}"
		return 0
	done
	return 1
}

# push_bg REPO: push REPO's main with -o deploy (post-receive deploys
# it) in the background (its pid in push_pid; the output in
# $TMP/push.out and $TMP/push.err once push_wait returns).
push_bg()
{
	: >"$TMP/bg.err" &&
	(cd "$TMP/$1-work" && exec git push -o deploy origin main) \
		>"$TMP/push.out" 2>"$TMP/push.err" &
	push_pid=$!
}

# push_wait: wait for push_bg's push; its status.
push_wait()
{
	push_wait_status_=0
	wait "$push_pid" || push_wait_status_=$?
	{
		echo "--- git push (background): exit $push_wait_status_"
		cat "$TMP/push.out" "$TMP/push.err"
		echo "---"
	} >&2
	return "$push_wait_status_"
}

# pg_bg REPO ARGS...: `pushgate -C $TMP/REPO.git ARGS` in the background
# (its pid in pg_pid; the output in $TMP/bg.out and $TMP/bg.err, where
# the workers a killed pushgate leaves write too).
pg_bg()
{
	pg_bg_repo_=$1
	shift
	: >"$TMP/push.err" &&
	pushgate -C "$TMP/$pg_bg_repo_.git" "$@" >"$TMP/bg.out" \
		2>"$TMP/bg.err" &
	pg_pid=$!
}

# pg_wait: wait for pg_bg's pushgate; its status.
pg_wait()
{
	pg_wait_status_=0
	wait "$pg_pid" || pg_wait_status_=$?
	{
		echo "--- pushgate (background): exit $pg_wait_status_"
		cat "$TMP/bg.out" "$TMP/bg.err"
		echo "---"
	} >&2
	return "$pg_wait_status_"
}

# idle REPO: nothing holds the lock of REPO's "staging" (whatever a
# killed deploy left running has finished).
idle()
{
	flock -n "$TMP/$1.git/pushgate/locks/env-staging.lock" true
}

# settle REPO: wait until REPO's "staging" is idle.
settle()
{
	test_wait_for 60 idle "$1"
}

# last_ok REPO: the release of the last successful deploy or rollback
# of "staging" in REPO's history.
last_ok()
{
	awk -F '\t' '$2 == "staging" && $7 == "ok" { r = $5 } END { print r }' \
		"$TMP/$1.git/pushgate/history"
}

# no_success REPO REV [ACTION]: the history of REPO records no
# successful deploy (or ACTION) of REV, and `pushgate history` shows none.
no_success()
{
	no_success_rev_=$(git -C "$TMP/$1-work" rev-parse "$2") &&
	no_success_act_=${3:-deploy} &&
	awk -F '\t' -v c="$no_success_rev_" -v a="$no_success_act_" \
		'$3 == a && $4 == c && $7 == "ok"' \
		"$TMP/$1.git/pushgate/history" >"$TMP/ok-records" &&
	test_grep ! . "$TMP/ok-records" &&
	pg -C "$TMP/$1.git" history staging &&
	{
		grep " $no_success_act_ *$(printf '%.12s' "$no_success_rev_") " \
			"$TMP/pg.out" >"$TMP/rev-records" ||
			test "$?" -eq 1
	} &&
	test_grep ! " ok " "$TMP/rev-records"
}

# killed REPO GOOD REV [ACTION]: what a deploy (or ACTION) of REV to
# REPO's "staging", killed outright, must leave once what it left
# running is done: every host back on GOOD, complete, GOOD still the
# last success, no success of REV, and `pushgate status` (its text, its
# JSON and the page) saying that the deploy did not finish.
killed()
{
	settle "$1" &&
	echo "--- what the deploy and its workers said:" >&2 &&
	cat "$TMP/push.err" "$TMP/bg.err" >&2 &&
	no_crash "$TMP/push.err" "$TMP/bg.err" &&
	sound "$1" &&
	test "$(last_ok "$1")" = "$2" &&
	no_success "$1" "$3" "${4:-deploy}" &&
	test_expect_code 0 pg -C "$TMP/$1.git" status staging &&
	test_grep "^  stopped:  ${4:-deploy} $(cd "$TMP/$1-work" && short "$3") (by [a-z]*, since [-0-9: Z]*) did not finish: its process died" \
		"$TMP/pg.out" &&
	test_expect_code 0 pg -C "$TMP/$1.git" status --json staging &&
	jq -e --arg a "${4:-deploy}" \
		--arg c "$(git -C "$TMP/$1-work" rev-parse "$3")" \
		'.stopped.action == $a and .stopped.commit == $c
		and (.stopped.since | test("^[0-9-]+T[0-9:]+Z$"))
		and .busy == null' "$TMP/pg.out" >/dev/null &&
	pg -C "$TMP/$1.git" page &&
	test_grep "Stopped.*${4:-deploy} <code>$(cd "$TMP/$1-work" && short "$3")</code> by [a-z]* did not finish: its process died" \
		"$TMP/$1.git/pushgate/status.html"
}

# recorded_killed REPO REV [ACTION]: the deploy (or rollback) run after
# the killed deploy (or ACTION) of REV said that it recorded it, and the
# history has it once, failed, as interrupted; for a deploy, its log is
# kept, with what its workers did after it died.
recorded_killed()
{
	recorded_killed_rev_=$(git -C "$TMP/$1-work" rev-parse "$2") &&
	test_grep "^pushgate: the ${3:-deploy} of $(printf '%.12s' "$recorded_killed_rev_") to 'staging' (by [a-z]*, since [-0-9: Z]*) did not finish: its process died; recorded as failed" \
		"$TMP/pg.err" &&
	awk -F '\t' -v c="$recorded_killed_rev_" -v a="${3:-deploy}" \
		'$3 == a && $4 == c && $7 == "failed" && $9 ~ /^interrupted: the deploy process died/' \
		"$TMP/$1.git/pushgate/history" >"$TMP/record" &&
	cat "$TMP/record" &&
	test "$(wc -l <"$TMP/record")" = 1 &&
	case "$(field 6)" in
	tester|"$(id -un)") ;;
	*) false ;;
	esac &&
	if test "${3:-deploy}" = deploy
	then
		test -n "$(field 5)" &&
		pg -C "$TMP/$1.git" log staging "$(field 5)" &&
		test_grep "the deploy process died: undoing what it did here" \
			"$TMP/pg.out"
	fi
}

# whole_release DIR ID REPO: DIR/releases/ID is a complete release of the
# commit in its REVISION: the id names that commit, no FAILED, and
# exactly the files of the commit, byte for byte, besides REVISION.
whole_release()
{
	complete_dir_=$1/releases/$2
	complete_rev_=$(cat "$complete_dir_/REVISION") &&
	(cd "$TMP/$3-work" && check_release "$1" "$2" "$complete_rev_") &&
	test ! -e "$complete_dir_/FAILED" &&
	complete_want_=$TMP/tree-$complete_rev_ &&
	if ! test -d "$complete_want_"
	then
		mkdir "$complete_want_.new" &&
		git -C "$TMP/$3-work" archive "$complete_rev_" |
			tar -x -C "$complete_want_.new" &&
		echo "$complete_rev_" >"$complete_want_.new/REVISION" &&
		mv "$complete_want_.new" "$complete_want_"
	fi &&
	diff -r "$complete_want_" "$complete_dir_"
}

# views: the deploy paths' parent as host 1 and host 2 see it.
views()
{
	printf '%s\n' "$HOSTS" "$VIEW2"
}

# all_live REPO ID: on both hosts, current -> releases/ID, complete.
all_live()
{
	for all_live_v_ in $(views)
	do
		if ! {
			test "$(live_id "$all_live_v_/$1")" = "$2" &&
			whole_release "$all_live_v_/$1" "$2" "$1"
		}
		then
			echo "host view $all_live_v_: not live on $2" >&2
			return 1
		fi
	done
}

# sound REPO: what every fault must leave: on each host, current is a
# complete release, the one the history records as live; no deploy
# holds the lock; the history records no success it did not have.
sound()
{
	sound_ok_=$(last_ok "$1") &&
	test -n "$sound_ok_" &&
	all_live "$1" "$sound_ok_" &&
	idle "$1"
}

# clean REPO: nothing is left behind: on each host only current,
# releases/ and shared/, and in releases/ only FAILED releases and
# complete ones that the history records as deployed (no hidden, partial
# or unknown directories); in pushgate/ no
# temporary file, no checkout in tmp/, and no lock holder written.
clean()
{
	awk -F '\t' '$7 == "ok" { print $5 }' \
		"$TMP/$1.git/pushgate/history" >"$TMP/ok-releases" &&
	for clean_v_ in $(views)
	do
		clean_d_=$clean_v_/$1
		find "$clean_d_" -mindepth 1 -maxdepth 1 ! -name current \
			! -name releases ! -name shared >"$TMP/left" &&
		find "$clean_d_/releases" -mindepth 1 -maxdepth 1 -name ".*" \
			>>"$TMP/left" &&
		test_grep ! . "$TMP/left" || return 1
		for clean_r_ in $(list_releases "$clean_d_")
		do
			test -s "$clean_d_/releases/$clean_r_/FAILED" || {
				grep -q "^$clean_r_\$" "$TMP/ok-releases" &&
				whole_release "$clean_d_" "$clean_r_" "$1"
			} || {
				echo "$clean_d_/releases/$clean_r_: neither" \
					"FAILED nor a complete release the" \
					"history records as deployed" >&2
				return 1
			}
		done
	done &&
	clean_s_=$TMP/$1.git/pushgate &&
	find "$clean_s_" -name ".*" >"$TMP/left" &&
	find "$clean_s_/tmp" -mindepth 1 >>"$TMP/left" &&
	find "$clean_s_/locks" -name "*.lock" ! -empty >>"$TMP/left" &&
	test_grep ! . "$TMP/left" &&
	idle "$1"
}

# --- the hosts ----------------------------------------------------------------

test_expect_success 'two OpenSSH servers, with their own views of the deploy paths' '
	if test "$(id -u)" != 0
	then
		echo "two hosts at one deploy path need a mount namespace:" \
			"run as root (unshare -m)" >&2
		false
	fi &&
	cat >"$BIN/session" <<-EOF &&
	#!/bin/sh
	# sshd runs every session through here: note the sshd process
	# serving it (for a test that stalls the session), and put the
	# gates first on PATH.
	port=\$(echo "\$SSH_CONNECTION" | cut -d" " -f4)
	p=\$PPID
	while test "\$p" -gt 1 && test "\$(cat /proc/\$p/comm)" != sshd
	do
		p=\$(sed "s/^.*) //" /proc/\$p/stat | cut -d" " -f2)
	done
	echo "\$p" >"$OUT/sshd.\$port"
	PATH=$BIN:\$PATH
	export PATH
	exec /bin/sh -c "\$SSH_ORIGINAL_COMMAND"
	EOF
	cat >"$BIN/gate" <<-EOF &&
	#!/bin/sh
	# gate NAME: if armed for this host, say so and wait to be let go.
	port=\$(echo "\$SSH_CONNECTION" | cut -d" " -f4)
	test -e "$OUT/arm-\$1.\$port" || exit 0
	rm -f "$OUT/arm-\$1.\$port"
	: >"$OUT/at-\$1.\$port"
	i=0
	until test -e "$OUT/go-\$1.\$port"
	do
		i=\$((i + 1))
		test "\$i" -lt 1200 || exit 9
		sleep 0.05
	done
	rm -f "$OUT/go-\$1.\$port"
	EOF
	cat >"$BIN/tar" <<-EOF &&
	#!/bin/sh
	# tar, after the gate "upload" when it extracts (an upload).
	case " \$* " in
	*" --extract "*) sh "$BIN/gate" upload || exit ;;
	esac
	exec /bin/tar "\$@"
	EOF
	chmod 755 "$BIN/session" "$BIN/gate" "$BIN/tar" &&
	test_atexit "sh \"$SSHD_SH\" stop \"$TMP/sshd1\"" &&
	SSHD_FORCE_COMMAND=$BIN/session sh "$SSHD_SH" start "$TMP/sshd1" 1 &&
	test_atexit "sh \"$SSHD_SH\" stop \"$TMP/sshd2\"" &&
	SSHD_FORCE_COMMAND=$BIN/session unshare -m --propagation private \
		sh -c "mount --bind \"\$1\" \"\$2\" && exec sh \"\$3\" start \"\$4\" 1" \
		- "$VIEW2" "$HOSTS" "$SSHD_SH" "$TMP/sshd2" &&
	P1=$(. "$TMP/sshd1/env" && echo "$SSHD_PORT1") &&
	P2=$(. "$TMP/sshd2/env" && echo "$SSHD_PORT1") &&
	SSHD_USER=$(. "$TMP/sshd1/env" && echo "$SSHD_USER") &&
	H1=$SSHD_USER@127.0.0.1:$P1 &&
	H2=$SSHD_USER@127.0.0.1:$P2 &&
	KEY=$TMP/sshd1/id_ed25519 &&
	cat "$TMP/sshd1/id_ed25519.pub" >>"$TMP/sshd2/authorized_keys" &&
	cat "$TMP/sshd1/known_hosts" "$TMP/sshd2/known_hosts" >"$TMP/kh" &&
	KNOWN_HOSTS=$TMP/kh &&
	: the two views differ &&
	ssh -i "$KEY" -o UserKnownHostsFile="$KNOWN_HOSTS" \
		-o StrictHostKeyChecking=yes -o BatchMode=yes -p "$P2" \
		"$SSHD_USER@127.0.0.1" "touch \"$HOSTS/probe\"" </dev/null &&
	test -f "$VIEW2/probe" &&
	test ! -e "$HOSTS/probe" &&
	rm -f "$VIEW2/probe"
'

# --- the deploy process killed ---------------------------------------------

# A full upload (encoded once for both hosts), bigger than what the SSH
# channel takes before the remote tar reads: the workers left behind are
# still sending when the deploy process dies.
test_expect_success 'post-receive killed during the upload' '
	fault_repo up "incremental = off" &&
	good=$(last_ok up) &&
	next_commit up "<h1>two</h1>" 4096 &&
	arm upload 1 &&
	arm upload 2 &&
	push_bg up &&
	reached upload 1 &&
	reached upload 2 &&
	kill -KILL "$(hook_pid up)" &&
	release upload 1 &&
	release upload 2 &&
	push_wait &&
	test_grep "post-receive died of signal 9" "$TMP/push.err" &&
	killed up "$good" HEAD &&
	pg -C "$TMP/up.git" deploy staging &&
	pg_no_crash &&
	sound up &&
	test "$(last_ok up)" != "$good" &&
	recorded_killed up HEAD &&
	clean up
'

test_expect_success 'pushgate deploy killed after host 1 of 2 switched' '
	fault_repo batch "batch = 1" "before = sh \"$BIN/gate\" before" &&
	good=$(last_ok batch) &&
	next_commit batch "<h1>two</h1>" &&
	publish batch &&
	arm before 2 &&
	pg_bg batch deploy staging &&
	reached before 2 &&
	: batch 1, host 1 alone, switched and is healthy &&
	test "$(live_id "$HOSTS/batch")" != "$good" &&
	kill -KILL "$pg_pid" &&
	release before 2 &&
	test_expect_code 137 pg_wait &&
	killed batch "$good" HEAD &&
	pg -C "$TMP/batch.git" deploy staging &&
	pg_no_crash &&
	sound batch &&
	test "$(last_ok batch)" != "$good" &&
	recorded_killed batch HEAD &&
	clean batch
'

test_expect_success 'post-receive killed during after' '
	fault_repo after "after = sh \"$BIN/gate\" after" &&
	good=$(last_ok after) &&
	next_commit after "<h1>two</h1>" &&
	arm after 1 &&
	arm after 2 &&
	push_bg after &&
	reached after 1 &&
	reached after 2 &&
	kill -KILL "$(hook_pid after)" &&
	release after 1 &&
	release after 2 &&
	push_wait &&
	killed after "$good" HEAD &&
	pg -C "$TMP/after.git" deploy staging &&
	pg_no_crash &&
	sound after &&
	test "$(last_ok after)" != "$good" &&
	recorded_killed after HEAD &&
	clean after
'

test_expect_success 'pushgate deploy killed during the healthcheck' '
	fault_repo health "healthcheck = sh \"$BIN/gate\" healthcheck" &&
	good=$(last_ok health) &&
	next_commit health "<h1>two</h1>" &&
	publish health &&
	arm healthcheck 2 &&
	pg_bg health deploy staging &&
	reached healthcheck 2 &&
	kill -KILL "$pg_pid" &&
	release healthcheck 2 &&
	test_expect_code 137 pg_wait &&
	killed health "$good" HEAD &&
	pg -C "$TMP/health.git" deploy staging &&
	pg_no_crash &&
	sound health &&
	test "$(last_ok health)" != "$good" &&
	recorded_killed health HEAD &&
	clean health
'

test_expect_success 'pushgate rollback killed during after' '
	fault_repo rb "after = sh \"$BIN/gate\" after" &&
	first=$(last_ok rb) &&
	first_rev=$(git -C rb-work rev-parse HEAD) &&
	next_commit rb "<h1>two</h1>" &&
	publish rb &&
	pg -C "$TMP/rb.git" deploy staging &&
	pg_no_crash &&
	second=$(last_ok rb) &&
	test "$second" != "$first" &&
	all_live rb "$second" &&
	arm after 2 &&
	pg_bg rb rollback staging &&
	reached after 2 &&
	kill -KILL "$pg_pid" &&
	release after 2 &&
	test_expect_code 137 pg_wait &&
	killed rb "$second" "$first_rev" rollback &&
	pg -C "$TMP/rb.git" rollback staging &&
	pg_no_crash &&
	sound rb &&
	test "$(last_ok rb)" = "$first" &&
	recorded_killed rb "$first_rev" rollback &&
	clean rb
'

# --- a host whose disk fills up ---------------------------------------------

test_expect_success 'the releases of host 1 on a tmpfs that fills up during the upload' '
	mkdir -p "$HOSTS/full/releases" &&
	mount -t tmpfs -o size=256k,mode=0755 pushgate-test "$HOSTS/full/releases" &&
	test_atexit "umount \"$HOSTS/full/releases\"" &&
	fault_repo full &&
	good=$(last_ok full) &&
	next_commit full "<h1>two</h1>" &&
	publish full &&
	test_expect_code 1 pg -C "$TMP/full.git" deploy staging &&
	pg_no_crash &&
	test_grep "No space left on device" "$TMP/pg.err" &&
	sound full &&
	no_success full HEAD &&
	last_record full &&
	test "$(field 7)" = failed &&
	field 9 >reason &&
	test_grep "No space left on device" reason &&
	clean full &&
	(
		cd full-work &&
		git rm -q data.bin &&
		git commit -q -m "smaller"
	) &&
	publish full &&
	pg -C "$TMP/full.git" deploy staging &&
	pg_no_crash &&
	sound full &&
	test "$(last_ok full)" != "$good" &&
	clean full
'

# --- a host whose network stalls ----------------------------------------------

# running PID: process PID runs (not a zombie).
running()
{
	kill -0 "$1" 2>/dev/null &&
	test "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z
}

test_expect_success 'the session of host 2 stopped during the upload: command_timeout' '
	fault_repo stall "command_timeout = 3" &&
	good=$(last_ok stall) &&
	next_commit stall "<h1>two</h1>" &&
	publish stall &&
	arm upload 2 &&
	pg_bg stall deploy staging &&
	reached upload 2 &&
	spid=$(cat "$OUT/sshd.$P2") &&
	test_atexit "kill -CONT $spid" &&
	kill -STOP "$spid" &&
	start=$(date +%s) &&
	release upload 2 &&
	{
		test_wait_for 60 eval "! running $pg_pid"
		status=$?
		kill -CONT "$spid"
		test "$status" = 0
	} &&
	test "$(($(date +%s) - start))" -lt 30 &&
	test_expect_code 1 pg_wait &&
	test_grep "\[$H2\] failed: .*timed out" "$TMP/bg.err" &&
	no_crash "$TMP/bg.err" &&
	sound stall &&
	no_success stall HEAD &&
	last_record stall &&
	test "$(field 7)" = failed &&
	field 9 >reason &&
	test_grep "timed out" reason &&
	pg -C "$TMP/stall.git" deploy staging &&
	pg_no_crash &&
	sound stall &&
	test "$(last_ok stall)" != "$good" &&
	clean stall
'

test_done
