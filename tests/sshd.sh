#!/bin/sh
# sshd.sh - throwaway OpenSSH servers on 127.0.0.1 for the tests and the
# benchmarks (OpenSSH regress's start_sshd in miniature).
#
#   tests/sshd.sh start DIR [N]    start N servers (default 2)
#   tests/sshd.sh stop DIR         stop every server started in DIR
#   tests/sshd.sh stop-one DIR K   stop server K only (a "host down" test)
#
# With SSHD_FORCE_COMMAND=/path/to/script in the environment, `start`
# makes the servers run that script for every session instead (sshd's
# ForceCommand: the command asked for is in $SSH_ORIGINAL_COMMAND), so
# that a test can watch what is run.
#
# With SSHD_QUIET_BASHRC=1 (the tests set it), the servers start every
# session with SHLVL=1 in its environment (sshd's SetEnv): bash, as a
# login shell, then counts itself nested and skips the user's ~/.bashrc,
# which it otherwise runs for every command sshd starts. A heavy one
# (pyenv's init, say) costs each session about a second of CPU, and would
# make the suite's time and timing depend on the machine's dotfiles. The
# single-host benchmarks leave it be: pushgate and the baselines pay the
# same login shells as on a real host. The fleet benchmark sets it (ten
# servers on one machine; see tests/bench/fleet.sh).
#
# `start` creates DIR if needed and writes there:
#   id_ed25519, id_ed25519.pub   a client key without a passphrase
#   authorized_keys              that key, for the current user
#   hostK_ed25519[.pub]          server K's host key
#   sshdK.config, sshdK.pid, sshdK.log
#   known_hosts                  "[127.0.0.1]:PORT key" for every server
#   env                          shell assignments, for `. DIR/env`:
#                                SSHD_PORT1..N, SSHD_HOSTKEY1..N (the .pub
#                                files), SSHD_COUNT, SSHD_KEY,
#                                SSHD_KNOWN_HOSTS, SSHD_USER, SSHD_DIR
#
# Each server is /usr/sbin/sshd -D in the background, listening on
# 127.0.0.1 only, on the first port that works from a base derived from
# our pid. It is up once its pid file exists (sshd writes it after binding)
# and the port answers with its own host key; both are waited for in
# bounded loops. Logins: public key only, for the current user. As root,
# /run/sshd (privilege separation) is created if missing; as any other
# user sshd runs unprivileged, which is enough to log in as that user.
#
# Exits 0 on success; on failure says why on stderr, stops what it started
# and exits 1.

set -eu

SSHD=/usr/sbin/sshd
PORT_TRIES=200		# ports tried in all, per `start`
UP_TICKS=100		# 0.1 s ticks to wait for a server to come up
DOWN_TICKS=100		# 0.1 s ticks to wait for a server to exit

say()
{
	echo "sshd.sh: $*" >&2
}

die()
{
	say "$*"
	exit 1
}

usage()
{
	die "usage: sshd.sh start DIR [N] | stop DIR | stop-one DIR K"
}

# Is process $1 alive? A zombie (nobody reaped it yet) counts as dead.
alive()
{
	kill -0 "$1" 2>/dev/null || return 1
	if test -r "/proc/$1/stat"
	then
		state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
		test "$state" != Z
	fi
}

# Is process $1 the sshd running with config $2? (Guards against a pid
# reused since the pid file was written.) True when /proc cannot tell.
is_ours()
{
	test -r "/proc/$1/cmdline" || return 0
	tr '\0' ' ' <"/proc/$1/cmdline" | grep -F -q -- "$2"
}

# Stop server $2 of directory $1, if it runs; wait until it has exited.
stop_one()
{
	pidfile=$1/sshd$2.pid
	test -f "$pidfile" || return 0
	pid=$(cat "$pidfile")
	case "$pid" in
	''|*[!0-9]*)
		rm -f -- "$pidfile"
		return 0
		;;
	esac
	if alive "$pid" && is_ours "$pid" "$1/sshd$2.config"
	then
		kill -TERM "$pid" 2>/dev/null || :
		ticks=0
		while alive "$pid"
		do
			ticks=$((ticks + 1))
			if test "$ticks" -gt "$DOWN_TICKS"
			then
				kill -KILL "$pid" 2>/dev/null || :
				break
			fi
			sleep 0.1
		done
	fi
	rm -f -- "$pidfile"
}

stop_all()
{
	for f in "$1"/sshd*.pid
	do
		test -f "$f" || continue
		k=${f##*/sshd}
		k=${k%.pid}
		stop_one "$1" "$k"
	done
}

# Does the server on port $1 present the host key in file $2?
answers()
{
	scan=$(ssh-keyscan -T 2 -t ed25519 -p "$1" 127.0.0.1 2>/dev/null) ||
		return 1
	want=$(cut -d' ' -f2 <"$2")
	case "$scan" in
	*" $want"*) return 0 ;;
	esac
	return 1
}

# Write server $2's config in directory $1 for port $3.
# The servers also listen on [::1] where the loopback has IPv6.
listen6=
if grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null
then
	listen6='ListenAddress ::1'
fi

write_config()
{
	cat >"$1/sshd$2.config" <<EOF
ListenAddress 127.0.0.1
$listen6
Port $3
HostKey "$1/host$2_ed25519"
PidFile "$1/sshd$2.pid"
AuthorizedKeysFile "$1/authorized_keys"
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers $user
AllowAgentForwarding no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
LogLevel ERROR
EOF
	if test "${SSHD_QUIET_BASHRC:-}" = 1
	then
		echo 'SetEnv SHLVL=1' >>"$1/sshd$2.config"
	fi
	if test -n "${SSHD_FORCE_COMMAND:-}"
	then
		printf 'ForceCommand %s\n' "$SSHD_FORCE_COMMAND" \
			>>"$1/sshd$2.config"
	fi
}

# Start server $2 of directory $1 on the first free port after $port;
# leaves $port at the one it took.
start_one()
{
	tries=0
	while :
	do
		tries=$((tries + 1))
		test "$tries" -le "$PORT_TRIES" ||
			die "no free port found for server $2 (see $1/sshd$2.log)"
		port=$((port + 1))
		test "$port" -le 65000 || port=20001
		write_config "$1" "$2" "$port"
		rm -f -- "$1/sshd$2.pid"
		"$SSHD" -D -f "$1/sshd$2.config" -E "$1/sshd$2.log" \
			</dev/null >/dev/null 2>&1 &
		pid=$!
		ticks=0
		while alive "$pid" && ! test -s "$1/sshd$2.pid"
		do
			ticks=$((ticks + 1))
			test "$ticks" -le "$UP_TICKS" || break
			sleep 0.1
		done
		if test -s "$1/sshd$2.pid" && alive "$pid"
		then
			# The pid file is written once the port is bound; make
			# sure it is our server that answers there.
			ticks=0
			until answers "$port" "$1/host$2_ed25519.pub"
			do
				ticks=$((ticks + 1))
				if test "$ticks" -gt 20 || ! alive "$pid"
				then
					break
				fi
				sleep 0.1
			done
			if alive "$pid" &&
				answers "$port" "$1/host$2_ed25519.pub"
			then
				return 0
			fi
		fi
		# Most likely the port was taken: try the next one.
		if alive "$pid"
		then
			kill -KILL "$pid" 2>/dev/null || :
		fi
		wait "$pid" 2>/dev/null || :
	done
}

start()
{
	dir=$1
	n=$2
	case "$n" in
	''|*[!0-9]*|0) usage ;;
	esac
	test -x "$SSHD" || die "$SSHD is not installed"
	mkdir -p -- "$dir"
	dir=$(cd -P -- "$dir" && pwd)
	case "$dir" in
	*[!A-Za-z0-9/._+-]*) die "unusual characters in '$dir'" ;;
	esac
	stop_all "$dir"
	user=$(id -un)
	if test "$(id -u)" = 0 && ! test -d /run/sshd
	then
		mkdir -m 0755 /run/sshd
	fi
	trap 'stop_all "$dir"' EXIT

	rm -f -- "$dir/id_ed25519" "$dir/id_ed25519.pub"
	ssh-keygen -q -t ed25519 -N '' -C pushgate-test -f "$dir/id_ed25519"
	cp -- "$dir/id_ed25519.pub" "$dir/authorized_keys"

	port=$((20000 + $$ % 20000))
	: >"$dir/known_hosts.tmp"
	: >"$dir/env.tmp"
	k=1
	while test "$k" -le "$n"
	do
		rm -f -- "$dir/host${k}_ed25519" "$dir/host${k}_ed25519.pub"
		ssh-keygen -q -t ed25519 -N '' -C "pushgate-test-host$k" \
			-f "$dir/host${k}_ed25519"
		start_one "$dir" "$k"
		printf '[127.0.0.1]:%s %s\n' "$port" \
			"$(cut -d' ' -f1,2 <"$dir/host${k}_ed25519.pub")" \
			>>"$dir/known_hosts.tmp"
		if test -n "$listen6"
		then
			printf '[::1]:%s %s\n' "$port" \
				"$(cut -d' ' -f1,2 <"$dir/host${k}_ed25519.pub")" \
				>>"$dir/known_hosts.tmp"
		fi
		printf "SSHD_PORT%s='%s'\n" "$k" "$port" >>"$dir/env.tmp"
		printf "SSHD_HOSTKEY%s='%s'\n" "$k" \
			"$dir/host${k}_ed25519.pub" >>"$dir/env.tmp"
		k=$((k + 1))
	done
	mv -f -- "$dir/known_hosts.tmp" "$dir/known_hosts"

	{
		printf "SSHD_COUNT='%s'\n" "$n"
		printf "SSHD_KEY='%s'\n" "$dir/id_ed25519"
		printf "SSHD_KNOWN_HOSTS='%s'\n" "$dir/known_hosts"
		printf "SSHD_IPV6='%s'\n" "${listen6:+1}"
		printf "SSHD_USER='%s'\n" "$user"
		printf "SSHD_DIR='%s'\n" "$dir"
	} >>"$dir/env.tmp"
	mv -f -- "$dir/env.tmp" "$dir/env"
	trap - EXIT
}

test $# -ge 2 || usage
cmd=$1
dir=$2
case "$cmd" in
start)
	test $# -le 3 || usage
	start "$dir" "${3:-2}"
	;;
stop)
	test $# -eq 2 || usage
	test -d "$dir" || exit 0
	dir=$(cd -P -- "$dir" && pwd)
	stop_all "$dir"
	;;
stop-one)
	test $# -eq 3 || usage
	case "$3" in
	''|*[!0-9]*) usage ;;
	esac
	test -d "$dir" || exit 0
	dir=$(cd -P -- "$dir" && pwd)
	stop_one "$dir" "$3"
	;;
*)
	usage
	;;
esac
