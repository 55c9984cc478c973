#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t1300-fleet.sh - an environment of twelve SSH hosts (SPEC §11): batches,
# a canary, a failure in a later batch rolling every batch back, the
# once-per-deploy commands on the primary host, and `parallel` observed
# on the servers.
#
# Every host is an OpenSSH server on 127.0.0.1 (tests/sshd.sh) started in
# its own mount namespace (unshare -m, which needs root), where $HOSTS,
# the parent of the deploy paths, is bind-mounted from $TMP/viewK: all
# twelve deploy to one path, and host K's files are read in viewK. The
# servers run every session through $TMP/watch.sh (sshd's ForceCommand),
# which counts the uploads running at once when asked to.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

PUSHGATE_USER=tester
export PUSHGATE_USER

SSHD_SH=$PUSHGATE_SRCDIR/tests/sshd.sh
N=12
HOSTS=$TMP/hosts	# the deploy paths' parent, as every host sees it
OUT=$TMP/out
WATCH=$TMP/watch	# what watch.sh saw
mkdir "$HOSTS" "$OUT" "$WATCH"
# Set when the servers start: H1..H12 (user@127.0.0.1:PORT), P1..P12,
# ALL (every H), the client key and the known hosts of all twelve.
ALL='' KEY='' KNOWN_HOSTS='' SSHD_USER=''

# host K: its label; port K: its port; view K: its deploy paths' parent
host() { eval "printf '%s\n' \"\$H$1\""; }
port() { eval "printf '%s\n' \"\$P$1\""; }
view() { printf '%s\n' "$TMP/view$1"; }

# fleet_repo REPO [LINE...]: a bare repository and its clone, with an
# environment "staging" deploying main to $HOSTS/REPO on the twelve.
fleet_repo()
{
	fleet_repo_name_=$1
	shift
	setup_repo "$fleet_repo_name_" </dev/null &&
	fleet_env "$fleet_repo_name_" "$@" &&
	setup_clone "$fleet_repo_name_"
}

# fleet_env REPO [LINE...]: REPO's hooks.ini, as fleet_repo writes it.
fleet_env()
{
	fleet_env_repo_=$1
	shift
	{
		echo '[environment "staging"]'
		echo 'branch = main'
		echo "hosts = $ALL"
		echo "path = $HOSTS/$fleet_env_repo_"
		echo "identity = $KEY"
		echo "known_hosts = $KNOWN_HOSTS"
		echo 'connect_timeout = 10'
		for fleet_env_line_ in "$@"
		do
			printf '%s\n' "$fleet_env_line_"
		done
	} | write_hooks_ini "$fleet_env_repo_"
}

# live_on REPO ID K...: release ID is live on each host K.
live_on()
{
	live_on_repo_=$1
	live_on_id_=$2
	shift 2
	for live_on_k_ in "$@"
	do
		test "$(live_id "$(view "$live_on_k_")/$live_on_repo_")" = \
			"$live_on_id_" || {
			echo "host $live_on_k_ is not on $live_on_id_" >&2
			return 1
		}
	done
}

# line_of PATTERN: the number of the first line of the last push's output
# matching PATTERN (a grep -E pattern), or nothing.
line_of()
{
	grep -n -E -e "$1" "$TMP/push.err" | head -n 1 | cut -d: -f1
}

# --- the fleet ------------------------------------------------------------

test_expect_success 'twelve OpenSSH servers, each with its own view of the deploy paths' '
	if test "$(id -u)" != 0
	then
		echo "twelve hosts at one deploy path need mount namespaces:" \
			"run as root (unshare -m)" >&2
		false
	fi &&
	mkdir "$TMP/watchbin" &&
	cat >"$TMP/watchbin/tar" <<-EOF &&
	#!/bin/sh
	# tar, as the hosts run it. While $WATCH/on exists, an upload
	# (tar --extract, through the persistent shell or an exec channel)
	# first notes itself in $WATCH; then, while fewer uploads than
	# the number in $WATCH/on run with it, it waits, up to 20 s, for
	# one more; and it logs the most it saw. Only an upload that no
	# other can join waits the whole time, however slow the hosts.
	case " \$* " in
	*" --extract "*)
		if test -e "$WATCH/on"
		then
			: >"$WATCH/run.\$\$"
			running() { ls "$WATCH" | grep -c "^run\\\\."; }
			want=\$(cat "$WATCH/on")
			most=\$(running)
			i=0
			while test \$i -lt 200 && test "\$most" -lt "\$want" &&
				test "\$(running)" -le "\$most"
			do
				sleep 0.1
				i=\$((i + 1))
			done
			now=\$(running)
			test "\$now" -le "\$most" || most=\$now
			echo "\$most" >>"$WATCH/most"
			$(command -v tar) "\$@"
			status=\$?
			rm -f "$WATCH/run.\$\$"
			exit "\$status"
		fi
		;;
	esac
	exec $(command -v tar) "\$@"
	EOF
	chmod 755 "$TMP/watchbin/tar" &&
	cat >"$TMP/watch.sh" <<-EOF &&
	#!/bin/sh
	# Run the command asked for, with the watching tar first in PATH.
	PATH=$TMP/watchbin:\$PATH
	export PATH
	exec /bin/sh -c "\$SSH_ORIGINAL_COMMAND"
	EOF
	chmod 755 "$TMP/watch.sh" &&
	: >"$TMP/kh" &&
	k=1 &&
	while test "$k" -le "$N"
	do
		mkdir "$(view "$k")" &&
		test_atexit "sh \"$SSHD_SH\" stop \"$TMP/sshd$k\"" &&
		SSHD_FORCE_COMMAND=$TMP/watch.sh unshare -m --propagation private \
			sh -c "mount --bind \"\$1\" \"\$2\" && exec sh \"\$3\" start \"\$4\" 1" \
			- "$(view "$k")" "$HOSTS" "$SSHD_SH" "$TMP/sshd$k" || return 1
		p=$(. "$TMP/sshd$k/env" && echo "$SSHD_PORT1") &&
		SSHD_USER=$(. "$TMP/sshd$k/env" && echo "$SSHD_USER") &&
		eval "P$k=\$p" &&
		eval "H$k=\$SSHD_USER@127.0.0.1:\$p" &&
		ALL="$ALL${ALL:+ }$SSHD_USER@127.0.0.1:$p" &&
		cat "$TMP/sshd$k/known_hosts" >>"$TMP/kh" &&
		cat "$TMP/sshd1/id_ed25519.pub" >>"$TMP/sshd$k/authorized_keys" ||
			return 1
		k=$((k + 1))
	done &&
	KEY=$TMP/sshd1/id_ed25519 &&
	KNOWN_HOSTS=$TMP/kh &&
	: every host writes in its own view &&
	ssh -i "$KEY" -o UserKnownHostsFile="$KNOWN_HOSTS" \
		-o StrictHostKeyChecking=yes -o BatchMode=yes -p "$P12" \
		"$SSHD_USER@127.0.0.1" "touch \"$HOSTS/probe\"" </dev/null &&
	test -f "$(view 12)/probe" &&
	test ! -e "$(view 1)/probe" &&
	test ! -e "$HOSTS/probe" &&
	rm -f "$(view 12)/probe"
'

test_expect_success 'batches of three: four batches in order, every host live, hosts counted' '
	fleet_repo fleet "batch = 3" &&
	cd fleet-work &&
	commit_file index.html "<h1>one</h1>" "first" &&
	push origin main &&
	grep -q "deployed $(short HEAD) to .staging. on 12 hosts in " \
		"$TMP/push.err" &&
	: the release was encoded once, before any upload &&
	test "$(grep -c "encoded the release once for 12 hosts: 2 entries" \
		"$TMP/push.err")" = 1 &&
	test "$(line_of "encoded the release once")" -lt \
		"$(line_of "\] uploaded ")" &&
	deployed staging HEAD &&
	id=$(live_id "$(view 1)/fleet") &&
	live_on fleet "$id" 1 2 3 4 5 6 7 8 9 10 11 12 &&
	test "$(cat "$(view 12)/fleet/current/index.html")" = "<h1>one</h1>" &&
	k=2 &&
	while test "$k" -le "$N"
	do
		diff -r "$(view 1)/fleet/current/" "$(view "$k")/fleet/current/" ||
			return 1
		k=$((k + 1))
	done &&
	test_grep "batch 1/4: $H1 $H2 $H3 *\$" "$TMP/push.err" &&
	test_grep "batch 4/4: $H10 $H11 $H12 *\$" "$TMP/push.err" &&
	: every host was prepared before the first batch &&
	first=$(line_of "batch 1/4") &&
	k=1 &&
	while test "$k" -le "$N"
	do
		up=$(line_of "\[$(host "$k")\] (uploaded|sent) ") &&
		test -n "$up" && test "$up" -lt "$first" || return 1
		k=$((k + 1))
	done &&
	: each batch switches after the one before it, and only its hosts &&
	b=1 &&
	while test "$b" -le 4
	do
		start=$(line_of "batch $b/4") &&
		end=$(line_of "batch $((b + 1))/4") &&
		end=${end:-100000} &&
		k=$((3 * b - 2)) &&
		while test "$k" -le $((3 * b))
		do
			sw=$(line_of "\[$(host "$k")\] current -> ") &&
			test -n "$sw" && test "$sw" -gt "$start" &&
			test "$sw" -lt "$end" || return 1
			k=$((k + 1))
		done
		b=$((b + 1))
	done &&
	check_record fleet staging HEAD ok
'

test_expect_success 'parallel = 2: never more than two uploads at once, and two at times' '
	fleet_env fleet "parallel = 2" &&
	echo 2 >"$WATCH/on" &&
	test_atexit "rm -f \"$WATCH/on\"" &&
	pg -C "$TMP/fleet.git" deploy --force staging &&
	rm -f "$WATCH/on" &&
	cat "$WATCH/most" &&
	test "$(wc -l <"$WATCH/most")" -eq "$N" &&
	test "$(sort -n "$WATCH/most" | tail -n 1)" -eq 2 &&
	: and without a limit, more at once &&
	fleet_env fleet "parallel = 12" &&
	: >"$WATCH/most" &&
	echo 3 >"$WATCH/on" &&
	pg -C "$TMP/fleet.git" deploy --force staging &&
	rm -f "$WATCH/on" &&
	test "$(sort -n "$WATCH/most" | tail -n 1)" -gt 2
'

test_expect_success 'before_once and after_once run once, on the primary, around the batches' '
	fleet_env fleet "batch = 4" "primary = $H5" \
		"before_once = echo \"before \$(echo \"\$SSH_CONNECTION\" | cut -d\" \" -f4) \$(basename \"\$PWD\")\" >>\"$OUT/once\"" \
		"after_once = echo \"after \$(echo \"\$SSH_CONNECTION\" | cut -d\" \" -f4)\" >>\"$OUT/once\"" &&
	cd fleet-work &&
	commit_file index.html "<h1>two</h1>" "second" &&
	push origin main &&
	deployed staging HEAD &&
	id=$(live_id "$(view 5)/fleet") &&
	live_on fleet "$id" 1 2 3 4 5 6 7 8 9 10 11 12 &&
	printf "before %s %s\nafter %s\n" "$P5" "$id" "$P5" >expect &&
	test_cmp expect "$OUT/once" &&
	: before_once after every upload, before the first switch &&
	once=$(line_of "\[$H5\] before_once ok") &&
	test -n "$once" &&
	test "$once" -lt "$(line_of "current -> ")" &&
	test "$once" -lt "$(line_of "batch 1/3")" &&
	k=1 &&
	while test "$k" -le "$N"
	do
		test "$(line_of "\[$(host "$k")\] (uploaded|sent) ")" -lt "$once" ||
			return 1
		k=$((k + 1))
	done &&
	: after_once after the last switch &&
	after=$(line_of "\[$H5\] after_once ok") &&
	test "$after" -gt "$(grep -n "current -> " "$TMP/push.err" |
		tail -n 1 | cut -d: -f1)"
'

test_expect_success 'a failing before_once: no host switches, the release is marked FAILED' '
	fleet_env fleet "before_once = echo migration failed; exit 4" &&
	cd fleet-work &&
	good=$(live_id "$(view 1)/fleet") &&
	commit_file index.html "<h1>three</h1>" "third" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "\[$H1\] failed: before_once" "$TMP/push.err" &&
	test_grep ! "current -> " "$TMP/push.err" &&
	live_on fleet "$good" 1 2 3 4 5 6 7 8 9 10 11 12 &&
	bad=$(ls "$(view 7)/fleet/releases" | sort | tail -n 1) &&
	test "$bad" != "$good" &&
	test -s "$(view 7)/fleet/releases/$bad/FAILED"
'

test_expect_success 'a canary failing its healthcheck: no other host switched' '
	fleet_env fleet "canary = true" "batch = 4" \
		"healthcheck = test ! -e ../../unhealthy" \
		"healthcheck_retries = 1" &&
	touch "$(view 1)/fleet/unhealthy" &&
	cd fleet-work &&
	good=$(live_id "$(view 1)/fleet") &&
	commit_file index.html "<h1>four</h1>" "fourth" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "batch 1/4: $H1 *\$" "$TMP/push.err" &&
	test_grep ! "batch 2/4" "$TMP/push.err" &&
	test_grep "\[$H1\] rolled back to $good" "$TMP/push.err" &&
	test "$(grep -c "current -> " "$TMP/push.err")" = 1 &&
	live_on fleet "$good" 1 2 3 4 5 6 7 8 9 10 11 12 &&
	rm -f "$(view 1)/fleet/unhealthy"
'

test_expect_success 'a host of batch 3 fails: batches 1 to 3 go back, on_failure wherever it switched' '
	fleet_env fleet "batch = 3" \
		"healthcheck = test ! -e ../../unhealthy" \
		"healthcheck_retries = 1" \
		"on_failure = echo \"\$PUSHGATE_RELEASE\" >\"$OUT/failed-\$(echo \"\$SSH_CONNECTION\" | cut -d\" \" -f4)\"" &&
	touch "$(view 8)/fleet/unhealthy" &&
	cd fleet-work &&
	good=$(live_id "$(view 1)/fleet") &&
	commit_file index.html "<h1>five</h1>" "fifth" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "(rolled back)" "$TMP/push.err" &&
	test_grep "batch 3/4: $H7 $H8 $H9 *\$" "$TMP/push.err" &&
	test_grep ! "batch 4/4" "$TMP/push.err" &&
	test_grep "\[$H8\] failed: healthcheck" "$TMP/push.err" &&
	live_on fleet "$good" 1 2 3 4 5 6 7 8 9 10 11 12 &&
	bad=$(ls "$(view 1)/fleet/releases" | sort | tail -n 1) &&
	k=1 &&
	while test "$k" -le 9
	do
		test_grep "\[$(host "$k")\] rolled back to $good" \
			"$TMP/push.err" &&
		test "$(cat "$OUT/failed-$(port "$k")")" = \
			"$HOSTS/fleet/releases/$bad" || return 1
		k=$((k + 1))
	done &&
	for k in 10 11 12
	do
		test ! -e "$OUT/failed-$(port "$k")" &&
		test_grep ! "\[$(host "$k")\] rolled back" "$TMP/push.err" &&
		test -s "$(view "$k")/fleet/releases/$bad/FAILED" || return 1
	done &&
	test "$(env_ref fleet staging)" != "$(git rev-parse HEAD)" &&
	rm -f "$(view 8)/fleet/unhealthy"
'

test_done
