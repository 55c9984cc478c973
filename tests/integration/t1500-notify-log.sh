#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t1500-notify-log.sh - notifications and deploy logs (SPEC section 14),
# on `local` hosts with real pushes and the real CLI: the notify command
# gets the PUSHGATE_* variables and a JSON document that jq parses, for
# hostile commit subjects and bodies too; exactly one notification per
# history record, for the events notify_on names; a failing or slow
# notify is a warning and a history note, never a changed result; a
# notify may itself deploy (the lock is released); every deploy and
# rollback keeps its whole output for `pushgate log`, and a failed
# deploy's final line names that command.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

command -v jq >/dev/null 2>&1 ||
	test_bug_ "jq is not installed (tests/deps.sh installs it)"

PUSHGATE_USER=tester
export PUSHGATE_USER

DEPLOY=$TMP/deploy
OUT=$TMP/out
mkdir "$DEPLOY" "$OUT"

# The notify command of the tests: keeps each document as
# $OUT/doc.N.json and each event's variables as $OUT/env.N, N counting
# from 1, and appends "EVENT ENV" to $OUT/events.
cat >"$TMP/notify.sh" <<EOF
#!/bin/sh
n=\$(( \$(wc -l <"$OUT/events" 2>/dev/null || echo 0) + 1 ))
cat >"$OUT/doc.\$n.json"
env | grep '^PUSHGATE_' | LC_ALL=C sort >"$OUT/env.\$n"
echo "\$PUSHGATE_EVENT \$PUSHGATE_ENV" >>"$OUT/events"
EOF
chmod +x "$TMP/notify.sh"

# ini REPO [LINE...]: hooks.ini with [core] notify = notify.sh and the
# environment "staging" deploying main to $DEPLOY/REPO, plus LINEs.
ini()
{
	ini_repo_=$1
	shift
	{
		printf '[core]\nnotify = %s\n' "$TMP/notify.sh"
		printf '[environment "staging"]\nbranch = main\nhosts = local\n'
		printf 'path = %s\n' "$DEPLOY/$ini_repo_"
		for ini_line_ in "$@"
		do
			printf '%s\n' "$ini_line_"
		done
	} | write_hooks_ini "$ini_repo_"
}

# events: how many notifications ran so far.
events()
{
	if test -f "$OUT/events"
	then
		wc -l <"$OUT/events" | tr -d ' '
	else
		echo 0
	fi
}

# gone PID: process PID has ended (a zombie that no one reaped yet has).
gone()
{
	! kill -0 "$1" 2>/dev/null ||
	test "$(sed "s/.*) //" "/proc/$1/stat" 2>/dev/null | cut -c 1)" = Z
}

# doc N FILTER: jq -e FILTER on document N (it must parse).
doc()
{
	jq -e "$2" "$OUT/doc.$1.json" >/dev/null || {
		echo "document $1 does not satisfy: $2" >&2
		cat "$OUT/doc.$1.json" >&2
		return 1
	}
}

test_expect_success 'setup' '
	setup_repo n </dev/null &&
	ini n &&
	setup_clone n
'

test_expect_success 'a deploy by push: one notification, its variables and document' '
	cd n-work &&
	commit_file index.html one "first" &&
	push origin main &&
	deployed staging HEAD &&
	test "$(events)" = 1 &&
	test_grep "^deployed staging\$" "$OUT/events" &&
	id=$(live_id "$DEPLOY/n") &&
	c=$(git rev-parse HEAD) &&
	test_grep "^PUSHGATE_EVENT=deployed\$" "$OUT/env.1" &&
	test_grep "^PUSHGATE_ENV=staging\$" "$OUT/env.1" &&
	test_grep "^PUSHGATE_COMMIT=$c\$" "$OUT/env.1" &&
	test_grep "^PUSHGATE_RESULT=ok\$" "$OUT/env.1" &&
	test_grep "^PUSHGATE_RELEASE=$id\$" "$OUT/env.1" &&
	test_grep "^PUSHGATE_PREVIOUS=\$" "$OUT/env.1" &&
	test_grep "^PUSHGATE_USER=tester\$" "$OUT/env.1" &&
	test_grep "^PUSHGATE_REASON=\$" "$OUT/env.1" &&
	test_grep "^PUSHGATE_REPOSITORY=$TMP/n.git\$" "$OUT/env.1" &&
	doc 1 ".event == \"deployed\" and .environment == \"staging\"
		and .branch == \"main\" and .result == \"ok\"
		and .reason == null and .release == \"$id\"
		and .commit.id == \"$c\" and .commit.subject == \"first\"
		and .commit.author.email == \"$(git log -1 --format=%ae)\"
		and .previous.release == null and .user == \"tester\"
		and .trigger == \"push\" and .repository == \"$TMP/n.git\"
		and (.duration_s | type) == \"number\"
		and (.started_at | test(\"^[0-9-]+T[0-9:]+Z$\"))
		and (.hosts | length) == 1 and .hosts[0].host == \"local\"
		and .hosts[0].result == \"ok\" and .hosts[0].error == null
		and .commits_total == 1 and .commits[0].id == \"$c\"" &&
	test "$(nr_records n)" = 1
'

# hostile_commit: a commit on HEAD whose message holds quotes,
# backslashes, control bytes, bytes that are not UTF-8 (written as an
# object: `git commit` would re-encode them as Latin-1), a literal \n,
# a tab and U+2028; HEAD (main) moves to it.
hostile_commit()
{
	printf "x\n" >>index.html &&
	git add index.html &&
	hostile_tree_=$(git write-tree) &&
	{
		printf "tree %s\nparent %s\n" "$hostile_tree_" "$(git rev-parse HEAD)" &&
		printf "author A U Thor <author@example.com> 1700000000 +0000\n" &&
		printf "committer A U Thor <author@example.com> 1700000000 +0000\n\n" &&
		printf "say \"hi\" \\\\ back\001\033[31m \377\376 caf\303\251\n\n" &&
		printf "body \"q\" \\\\n\n\ttab \342\200\250 end\n"
	} >raw &&
	hostile_commit_=$(git hash-object -t commit -w raw) &&
	git update-ref refs/heads/main "$hostile_commit_"
}

test_expect_success 'hostile subjects and bodies: the document still parses, bytes kept or replaced' '
	cd n-work &&
	hostile_commit &&
	push origin main &&
	deployed staging HEAD &&
	test "$(events)" = 2 &&
	doc 2 ".commit.subject == \"say \\\"hi\\\" \\\\ back\u0001\u001b[31m \ufffd\ufffd caf\u00e9\"" &&
	doc 2 ".commit.message | contains(\"body \\\"q\\\" \\\\n\n\ttab \u2028 end\")" &&
	doc 2 ".commit.author.email == \"author@example.com\"" &&
	doc 2 ".commits_total == 1 and .previous.release != null" &&
	prev=$(sed -n "s/^PUSHGATE_RELEASE=//p" "$OUT/env.1") &&
	doc 2 ".previous.release == \"$prev\""
'

test_expect_success 'a rollback: event rollback, with what it left' '
	from=$(live_id "$DEPLOY/n") &&
	pg -C "$TMP/n.git" rollback staging &&
	test "$(events)" = 3 &&
	test_grep "^rollback staging\$" "$OUT/events" &&
	doc 3 ".event == \"rollback\" and .action == \"rollback\"
		and .trigger == \"cli\" and .previous.release == \"$from\"
		and .commits_total == 0"
'

test_expect_success 'a deploy that fails before anything switches: event failed' '
	ini n "shared = .env" &&
	cd n-work &&
	commit_file index.html two "second" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test "$(events)" = 4 &&
	test_grep "^failed staging\$" "$OUT/events" &&
	doc 4 ".event == \"failed\" and .result == \"failed\"
		and (.reason | test(\"shared\"))
		and .hosts[0].result == \"failed\"
		and (.hosts[0].error | test(\".env\"))"
'

test_expect_success 'a deploy that fails after switching: event rolled-back' '
	ini n "before = echo before-output; exit 7" &&
	cd n-work &&
	commit_file index.html three "third" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test "$(events)" = 5 &&
	test_grep "^rolled-back staging\$" "$OUT/events" &&
	doc 5 ".event == \"rolled-back\" and .hosts[0].result == \"rolled-back\"
		and (.hosts[0].error | test(\"exit 7\"))"
'

test_expect_success 'a failed deploy names its log; the log holds the whole output' '
	cd n-work &&
	test_grep "^remote: pushgate: FAILED to deploy $(short HEAD) to .staging.: .*; the whole output: pushgate log staging [0-9TZ]*-$(short HEAD)" \
		"$TMP/push.err" &&
	rel=$(sed -n "s/.*the whole output: pushgate log staging \([^ ]*\).*/\1/p" \
		"$TMP/push.err") &&
	pg -C "$TMP/n.git" log staging "$rel" &&
	test_grep "^deploying $(short HEAD) to .staging." "$TMP/pg.out" &&
	test_grep "^  | before-output\$" "$TMP/pg.out" &&
	test_grep "^\[local\] failed: before failed (exit 7)" "$TMP/pg.out" &&
	test_grep "^FAILED to deploy $(short HEAD) to .staging." "$TMP/pg.out" &&
	pg -C "$TMP/n.git" log staging "$(git rev-parse --short=7 HEAD)" &&
	test_grep "^  | before-output\$" "$TMP/pg.out" &&
	pg -C "$TMP/n.git" log staging &&
	test_grep "^FAILED to deploy $(short HEAD)" "$TMP/pg.out"
'

test_expect_success 'exactly one notification per history record' '
	test "$(nr_records n)" = "$(events)"
'

test_expect_success 'pushgate log: unknown release, unknown environment' '
	test_expect_code 1 pg -C "$TMP/n.git" log staging 20200101T000000Z-abcdefabcdef &&
	test_grep "^pushgate: error: no log of .staging. for .20200101T000000Z-abcdefabcdef." "$TMP/pg.err" &&
	test_expect_code 2 pg -C "$TMP/n.git" log nosuch &&
	pg_no_crash
'

test_expect_success 'notify_on: only the events named' '
	ini n "notify_on = failed" &&
	n=$(events) &&
	cd n-work &&
	commit_file index.html four "fourth" &&
	push origin main &&
	deployed staging HEAD &&
	test "$(events)" = "$n"
'

test_expect_success 'a failing notify: a warning and a history note, the deploy still succeeds' '
	printf "[core]\nnotify = echo notify-said-this; exit 3\n[environment \"staging\"]\nbranch = main\nhosts = local\npath = %s\n" \
		"$DEPLOY/n" | write_hooks_ini n &&
	cd n-work &&
	commit_file index.html five "fifth" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "^remote: pushgate:   | notify-said-this" "$TMP/push.err" &&
	test_grep "^remote: pushgate: warning: notify (deployed) exited with 3; the deploy.s result stands" \
		"$TMP/push.err" &&
	last_record n &&
	test "$(field 3)" = notify &&
	test "$(field 7)" = failed &&
	test "$(field 9)" = "notify (deployed): exited with 3" &&
	pg -C "$TMP/n.git" history staging -n 2 &&
	test_grep "notify" "$TMP/pg.out" &&
	pg -C "$TMP/n.git" status staging &&
	test_grep "^  last:     deploy $(short HEAD) ok" "$TMP/pg.out"
'

test_expect_success 'a slow notify is killed at notify_timeout, whatever it started' '
	printf "[core]\nnotify = echo \$\$ >%s; sleep 300 & echo \$! >>%s; wait\nnotify_timeout = 1\n[environment \"staging\"]\nbranch = main\nhosts = local\npath = %s\n" \
		"$OUT/slow.pids" "$OUT/slow.pids" "$DEPLOY/n" | write_hooks_ini n &&
	cd n-work &&
	commit_file index.html six "sixth" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "^remote: pushgate: warning: notify (deployed) timed out after 1 s (killed)" \
		"$TMP/push.err" &&
	for pid in $(cat "$OUT/slow.pids")
	do
		gone "$pid" || return 1
	done &&
	last_record n &&
	test "$(field 9)" = "notify (deployed): timed out after 1 s (killed)"
'

test_expect_success 'a notify may deploy itself: the lock is released before it runs' '
	{
		printf "[environment \"staging\"]\nbranch = main\nhosts = local\npath = %s\n" "$DEPLOY/n"
		printf "notify = %s -C %s deploy production \$PUSHGATE_COMMIT\n" "$PUSHGATE_BUILD/pushgate" "$TMP/n.git"
		printf "notify_on = deployed\n"
		printf "[environment \"production\"]\nbranch = release\nmode = manual\nhosts = local\npath = %s\n" "$DEPLOY/n-prod"
	} | write_hooks_ini n &&
	cd n-work &&
	commit_file index.html seven "seventh" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "^remote: pushgate:   | pushgate: deployed $(short HEAD) to .production." "$TMP/push.err" &&
	test "$(cat "$DEPLOY/n-prod/current/index.html")" = seven
'

test_expect_success 'logs are kept per environment, the newest 50' '
	cd n-work &&
	logs=$TMP/n.git/pushgate/logs/staging &&
	i=10 &&
	while test "$i" -lt 70
	do
		: >"$logs/20000101T0000${i}Z.1.deploy.-.0000000000000000000000000000000000000000.log" &&
		i=$((i + 1)) || return 1
	done &&
	pg -C "$TMP/n.git" deploy staging --force &&
	test "$(ls "$logs" | wc -l)" -eq 50 &&
	pg -C "$TMP/n.git" log staging &&
	test_grep "^deployed $(short main) to .staging." "$TMP/pg.out"
'

test_expect_success 'contrib/notify: slack and ntfy send what the document says' '
	mkdir -p fakebin &&
	printf "#!/bin/sh\nprintf \"%%s\\\\n\" \"\$*\" >%s\ncat >%s\n" \
		"$OUT/curl.args" "$OUT/curl.data" >fakebin/curl &&
	chmod +x fakebin/curl &&
	printf "https://hooks.example.com/x\n" >webhook &&
	PATH=$TMP/fakebin:$PATH PUSHGATE_SLACK_WEBHOOK_FILE=$TMP/webhook \
		sh "$PUSHGATE_SRCDIR/contrib/notify/slack" <"$OUT/doc.5.json" &&
	test_grep "https://hooks.example.com/x" "$OUT/curl.args" &&
	jq -e ".text | test(\"rolled-back\") and test(\"staging\")" \
		"$OUT/curl.data" &&
	PATH=$TMP/fakebin:$PATH PUSHGATE_EVENT=rolled-back \
		sh "$PUSHGATE_SRCDIR/contrib/notify/ntfy" https://ntfy.example.com/t \
		<"$OUT/doc.5.json" &&
	test_grep "Priority: high" "$OUT/curl.args" &&
	test_grep "Title: rolled-back: staging" "$OUT/curl.args" &&
	test_grep "third" "$OUT/curl.data"
'

test_done
