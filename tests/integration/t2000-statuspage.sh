#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t2000-statuspage.sh - looking at it (SPEC section 15), on `local` hosts
# with real pushes and the real CLI: every history record writes
# pushgate/status.html and status.json again and copies them to
# [core] status_page; a real browser (chromium-headless-shell, installed
# when missing) finds one card per environment with its stable hooks
# (id="env-NAME", data-result, data-commit) and keeps a hostile commit
# subject as text; the page loads nothing; status.json, status --json,
# history --json and check --json parse with jq whatever the commit
# subjects and user names hold; and a reader never sees half a page
# while deploys rewrite it.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

command -v jq >/dev/null 2>&1 ||
	test_bug_ "jq is not installed (tests/deps.sh installs it)"

CHROME=/usr/bin/chromium-headless-shell
if ! test -x "$CHROME"
then
	if test "$(id -u)" = 0 && command -v apt-get >/dev/null 2>&1
	then
		DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends chromium-headless-shell \
			>"$TMP/apt.log" 2>&1 ||
			{ apt-get update >>"$TMP/apt.log" 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y \
				--no-install-recommends chromium-headless-shell \
				>>"$TMP/apt.log" 2>&1; } ||
			test_bug_ "cannot install chromium-headless-shell: $(tail -n 3 "$TMP/apt.log")"
	else
		test_bug_ "needs $CHROME (as root: apt-get install chromium-headless-shell)"
	fi
fi

PUSHGATE_USER=tester
export PUSHGATE_USER

DEPLOY=$TMP/deploy
WWW=$TMP/www
mkdir "$DEPLOY"
STATE=$TMP/s.git/pushgate
HOSTILE="\"><script>document.title='x'</script><img src=x onerror=alert(1)>"

# dom FILE: the DOM chromium builds from FILE, serialised, into $TMP/dom.
dom()
{
	"$CHROME" --no-sandbox --headless --disable-gpu --dump-dom \
		"file://$1" >"$TMP/dom" 2>"$TMP/chrome.err" &&
	test_grep "</html>" "$TMP/dom"
}

# card ENV: the start tag of ENV's card in $TMP/dom, into $TMP/card.
card()
{
	grep -o "<section [^>]*id=\"env-$1\"[^>]*>" "$TMP/dom" >"$TMP/card" &&
	test "$(wc -l <"$TMP/card")" = 1 &&
	cat "$TMP/card"
}

# attr NAME: attribute NAME of the tag in $TMP/card.
attr()
{
	sed -n "s/.* $1=\"\([^\"]*\)\".*/\1/p" "$TMP/card"
}

# json_lines FILE: every line of FILE is a JSON object (jq parses it).
json_lines()
{
	test -s "$1" &&
	while IFS= read -r json_lines_l_
	do
		printf '%s\n' "$json_lines_l_" |
			jq -e 'type == "object"' >/dev/null || {
			echo "not a JSON object: $json_lines_l_" >&2
			return 1
		}
	done <"$1"
}

test_expect_success 'setup: staging deploys main, production is manual and requires it' '
	setup_repo s </dev/null &&
	cat <<-EOF | write_hooks_ini s &&
	[core]
	status_page = $WWW
	[environment "staging"]
	branch = main
	hosts = local
	path = $DEPLOY/staging
	healthcheck = test ! -e broken
	healthcheck_retries = 1
	[environment "production"]
	branch = production
	mode = manual
	requires = staging
	approvers = tester
	hosts = local
	path = $DEPLOY/production
	EOF
	setup_clone s &&
	test ! -e "$STATE/status.html"
'

test_expect_success 'a deploy writes the page and status.json, and copies both' '
	cd s-work &&
	commit_file index.html one "first" &&
	push origin main &&
	deployed staging HEAD &&
	test -s "$STATE/status.html" &&
	test -s "$STATE/status.json" &&
	test_cmp "$STATE/status.html" "$WWW/status.html" &&
	test_cmp "$STATE/status.json" "$WWW/status.json" &&
	test "$(test_mode "$WWW/status.html")" = -rw-r--r-- &&
	# no temporary file left behind
	test "$(ls -A "$WWW" | wc -l)" = 2 &&
	jq -e ".environments | length == 2" "$WWW/status.json" >/dev/null
'

test_expect_success 'the browser finds a card per environment, in promotion order' '
	c=$(git -C s-work rev-parse HEAD) &&
	dom "$WWW/status.html" &&
	card staging &&
	test "$(attr data-result)" = ok &&
	test "$(attr data-commit)" = "$c" &&
	card production &&
	test "$(attr data-result)" = none &&
	test "$(attr data-commit)" = "" &&
	grep -o "id=\"env-[a-z]*\"" "$TMP/dom" >order &&
	printf "id=\"env-staging\"\nid=\"env-production\"\n" >expect &&
	test_cmp expect order &&
	# the promotion line and the command that approves
	test_grep "production has nothing deployed yet; staging is at" \
		"$TMP/dom" &&
	test_grep "<title>s.git · pushgate</title>" "$TMP/dom"
'

test_expect_success 'a hostile commit subject stays text in the browser' '
	cd s-work &&
	commit_file index.html two "$HOSTILE" &&
	push origin main &&
	deployed staging HEAD &&
	c=$(git rev-parse HEAD) &&
	dom "$WWW/status.html" &&
	card staging &&
	test "$(attr data-commit)" = "$c" &&
	test_grep ! -i "<script" "$TMP/dom" &&
	test_grep ! -i "<img" "$TMP/dom" &&
	test_grep ! -i "onerror=alert(1)>" "$TMP/dom" &&
	test_grep "<title>s.git · pushgate</title>" "$TMP/dom" &&
	test_grep -F "&lt;script&gt;document.title=" "$TMP/dom" &&
	# the source too: no script, no external load, the CSP
	test_grep ! -i "<script" "$WWW/status.html" &&
	test_grep ! -i -E "(src|href)=\"?[^\" >]*http" "$WWW/status.html" &&
	test_grep ! -i -E "<(link|iframe|object|embed|base|form)" \
		"$WWW/status.html" &&
	test_grep -F "default-src '"'"'none'"'"'" "$WWW/status.html" &&
	test_grep -F "img-src '"'"'none'"'"'" "$WWW/status.html"
'

test_expect_success 'a failed deploy: data-result failed and the last failure' '
	cd s-work &&
	commit_file broken yes "break the healthcheck" &&
	push origin main &&
	deploy_failed staging HEAD &&
	dom "$WWW/status.html" &&
	card staging &&
	test "$(attr data-result)" = failed &&
	test "$(attr data-commit)" = "$(git rev-parse HEAD~1)" &&
	test_grep "healthcheck failed" "$TMP/dom" &&
	jq -e ".environments[0].last_failure.reason | test(\"healthcheck\")" \
		"$WWW/status.json" >/dev/null &&
	jq -e ".environments[0].hosts[0].state == \"rolled-back\"" \
		"$WWW/status.json" >/dev/null &&
	git rm -q broken &&
	git commit -q -m "fix the healthcheck" &&
	push origin main &&
	deployed staging HEAD &&
	jq -e ".environments[0].result == \"ok\"
		and .environments[0].hosts[0].state == \"ok\"" \
		"$WWW/status.json" >/dev/null
'

test_expect_success 'an approval deploys production; promotion and waiting commits' '
	cd s-work &&
	git push -q origin HEAD~2:refs/heads/production &&
	git push -q origin HEAD~2:refs/deploy/production 2>"$TMP/push.err" &&
	commit_file index.html three "third" &&
	push origin main &&
	git push -q origin HEAD:refs/heads/production &&
	pg -C "$TMP/s.git" page &&
	test_grep "wrote .*status.html" "$TMP/pg.out" &&
	jq -e ".environments[1].name == \"production\"
		and .environments[1].result == \"ok\"
		and .environments[1].live.commit.id == \"$(git rev-parse HEAD~3)\"
		and .environments[1].waiting.total == 3
		and (.environments[1].waiting.commits | length) == 3
		and .environments[1].waiting.commits[0].subject == \"third\"
		and .environments[1].approve.approvers == [\"tester\"]
		and (.environments[1].approve.commands[0] | test(\"^git push origin [0-9a-f]{40}:refs/deploy/production$\"))
		and .promotion[0].behind == 3 and .promotion[0].ahead == 0
		and .promotion[0].text == \"production is 3 commits behind staging\"" \
		"$WWW/status.json" >/dev/null &&
	dom "$WWW/status.html" &&
	test_grep "production is 3 commits behind staging" "$TMP/dom"
'

test_expect_success 'a lock shows on the page at once' '
	pg -C s.git lock production -m "freeze <b>now</b>" &&
	jq -e ".environments[1].hold.by == \"lock\"
		and (.environments[1].hold.text | test(\"freeze <b>now</b>\"))" \
		"$WWW/status.json" >/dev/null &&
	dom "$WWW/status.html" &&
	test_grep -F "freeze &lt;b&gt;now&lt;/b&gt;" "$TMP/dom" &&
	pg -C s.git unlock production &&
	jq -e ".environments[1].hold == null" "$WWW/status.json" >/dev/null
'

test_expect_success 'JSON outputs parse with hostile subjects and user names' '
	cd s-work &&
	echo four >index.html &&
	git add index.html &&
	git commit -q -m four &&
	# git commit would re-encode bytes that are not UTF-8: write the
	# commit object itself
	{
		git cat-file commit HEAD | sed "/^\$/q" &&
		printf "quote \" back \\\\ tab\ttab \\033[31m bad \\377\\376 end\n\nbody\n"
	} >raw &&
	c=$(git hash-object -t commit -w raw) &&
	git reset -q --hard "$c" &&
	(
		PUSHGATE_USER="o'"'"'brien \"the\" <admin>" &&
		push origin main
	) &&
	deployed staging HEAD &&
	jq -e ".environments[0].live.user == \"o'"'"'brien \\\"the\\\" <admin>\"
		and (.environments[0].live.commit.subject | test(\"^quote \\\" back \"))
		and (.environments[0].live.commit.subject | test(\"\\ufffd\"))
		and .history[0].user == \"o'"'"'brien \\\"the\\\" <admin>\"" \
		"$WWW/status.json" >/dev/null &&
	cd "$TMP" &&
	pg -C s.git history --json &&
	json_lines "$TMP/pg.out" &&
	test "$(wc -l <"$TMP/pg.out")" = "$(nr_records s)" &&
	head -n 1 "$TMP/pg.out" | jq -e ".environment == \"staging\"
		and .action == \"deploy\" and .result == \"ok\"
		and (.commit | test(\"^[0-9a-f]{40}$\"))
		and (.time | test(\"^[0-9-]+T[0-9:]+Z$\"))
		and (.duration_s | type) == \"number\"
		and .user == \"o'"'"'brien \\\"the\\\" <admin>\"" >/dev/null &&
	pg -C s.git history --json -n 2 production &&
	test "$(wc -l <"$TMP/pg.out")" = 1 &&
	pg -C s.git status --json &&
	json_lines "$TMP/pg.out" &&
	test "$(wc -l <"$TMP/pg.out")" = 2 &&
	head -n 1 "$TMP/pg.out" | jq -e ".name == \"staging\"
		and .hosts[0].drift == false
		and (.hosts[0].current | test(\"^[0-9]{8}T\"))
		and (.live.commit.subject | test(\"\\ufffd\"))" >/dev/null &&
	pg -C s.git check --json &&
	json_lines "$TMP/pg.out" &&
	test "$(wc -l <"$TMP/pg.out")" = 3 &&
	head -n 1 "$TMP/pg.out" | jq -e ".check == \"hooks.ini\"
		and .result == \"ok\" and .environments == 2" >/dev/null &&
	sed -n 2p "$TMP/pg.out" | jq -e ".check == \"host\"
		and .environment == \"staging\" and .host == \"local\"
		and .kind == \"local\" and .result == \"ok\"
		and .error == null" >/dev/null &&
	pg_no_crash &&
	# the page keeps them as text
	dom "$WWW/status.html" &&
	test_grep -F "o&#39;brien" "$WWW/status.html" &&
	test_grep ! -i "<admin>" "$TMP/dom"
'

test_expect_success 'pushgate page writes the page again on demand' '
	rm -f "$STATE/status.html" "$WWW/status.json" &&
	pg -C s.git page &&
	test -s "$STATE/status.html" &&
	test -s "$WWW/status.json" &&
	test_grep "copied them to $WWW" "$TMP/pg.out"
'

test_expect_success 'a reader never sees half a page while deploys rewrite it' '
	# deploys in the background: 200, or as many as fit in 60 s
	(
		end=$(( $(date +%s) + 60 )) &&
		n=0 &&
		while test "$n" -lt 200 && test "$(date +%s)" -lt "$end"
		do
			pushgate -C s.git deploy --force staging \
				>/dev/null 2>>"$TMP/loop.err" || exit 1
			n=$((n + 1))
		done &&
		echo "$n" >"$TMP/loop.n"
	) &
	loop=$! &&
	reads=0 && bad=0 &&
	: >"$TMP/sums" &&
	while test "$reads" -lt 200 || kill -0 "$loop" 2>/dev/null
	do
		cat "$WWW/status.html" >page &&
		cat "$WWW/status.json" >doc &&
		reads=$((reads + 1)) &&
		if ! test "$(tail -c 8 page)" = "</html>" ||
			! test "$(grep -c "<section class=\"card\" id=\"env-" page)" = 2 ||
			! jq -e ".environments | length == 2" doc >/dev/null
		then
			bad=$((bad + 1)) &&
			cp page "$TMP/bad-page.$bad"
		fi &&
		cksum <page >>"$TMP/sums" || return 1
	done &&
	wait "$loop" &&
	echo "$reads reads, $bad bad, $(cat "$TMP/loop.n") deploys," \
		"$(sort -u "$TMP/sums" | wc -l) versions seen" &&
	test "$bad" = 0 &&
	test "$(cat "$TMP/loop.n")" -ge 20 &&
	test "$(sort -u "$TMP/sums" | wc -l)" -ge 2 &&
	test_grep ! -i "sanitizer\|runtime error\|BUG\|warning" "$TMP/loop.err"
'

test_done
