#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t0600-deploy-local.sh - post-receive deploys to a `local` host (SPEC
# sections 3 [environment], 4.2-4.3, 5 and 6), with real pushes: the
# release layout, the switch, artifact/config/shared, maintenance,
# hooks and their variables, pruning, failure and rollback, hostile file
# names, concurrent pushes and manual environments.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

# Every push is made by "tester" (the first of the default user_vars).
PUSHGATE_USER=tester
export PUSHGATE_USER

# Where the environments of this script deploy, and what hooks write.
DEPLOY=$TMP/deploy
OUT=$TMP/out
mkdir "$DEPLOY" "$OUT"

# push_as USER ARGS...: push (lib.sh) with PUSHGATE_USER=USER, which is
# tester again afterwards; returns git's exit status.
push_as()
{
	push_as_status_=0
	PUSHGATE_USER=$1
	shift
	push "$@" || push_as_status_=$?
	PUSHGATE_USER=tester
	return "$push_as_status_"
}

# local_env REPO ENV BRANCH [LINE...]: $TMP/REPO.git's hooks.ini, with one
# local environment ENV deploying BRANCH to $DEPLOY/REPO, plus the LINEs.
local_env()
{
	local_env_repo_=$1
	{
		echo "[environment \"$2\"]"
		echo "branch = $3"
		echo "path = $DEPLOY/$1"
		shift 3
		for local_env_line_ in "$@"
		do
			printf '%s\n' "$local_env_line_"
		done
	} | write_hooks_ini "$local_env_repo_"
}

# new_repo REPO [LINE...]: a bare repository and its clone, with an
# environment "staging" deploying main locally (see local_env).
new_repo()
{
	new_repo_name_=$1
	shift
	setup_repo "$new_repo_name_" </dev/null &&
	local_env "$new_repo_name_" staging main "$@" &&
	setup_clone "$new_repo_name_"
}

# --- the release layout ----------------------------------------------

test_expect_success 'first push: release layout, REVISION, relative current' '
	new_repo app &&
	cd app-work &&
	commit_file index.html "<h1>one</h1>" "first" &&
	push origin main &&
	test_grep "^remote: pushgate: deploying $(git rev-parse --short=12 HEAD) to .staging. (1 host)" \
		"$TMP/push.err" &&
	test_grep "^remote: pushgate: \[local\] uploaded [0-9]* entries, [0-9.]* MB in [0-9.]* s" \
		"$TMP/push.err" &&
	deployed staging HEAD &&
	d=$DEPLOY/app &&
	test -d "$d/releases" &&
	test -d "$d/shared" &&
	test -h "$d/current" &&
	test ! -e "$d/maintenance" &&
	id1=$(live_id "$d") &&
	check_release "$d" "$id1" HEAD &&
	test "$(readlink "$d/current")" = "releases/$id1" &&
	test "$(list_releases "$d")" = "$id1" &&
	test_grep "(release $id1)" "$TMP/push.err" &&
	remote_lines >"$TMP/remote" &&
	test_cmp_expected deploy-local-first-push "$TMP/remote" &&
	test "$(cat "$d/current/index.html")" = "<h1>one</h1>" &&
	ls -A "$d/current" | sort >actual &&
	printf "%s\n" REVISION index.html >expect &&
	cmp expect actual &&
	c1=$(git rev-parse HEAD)
'

test_expect_success 'first push: refs/environments/staging and history' '
	cd app-work &&
	test "$(env_ref app staging)" = "$c1" &&
	test "$(nr_records app)" = 1 &&
	check_record app staging "$c1" ok "$id1" &&
	case "$(field 1)" in
	[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z) ;;
	*) false ;;
	esac &&
	case "$(field 8)" in
	[0-9]*) ;;
	*) false ;;
	esac &&
	test "$(awk -F "\t" "{ print NF }" "$TMP/record")" -ge 8 &&
	git fetch -q origin "refs/environments/*:refs/remotes/origin/env/*" &&
	test "$(git rev-parse origin/env/staging)" = "$c1"
'

test_expect_success 'second push switches current and keeps the first release' '
	cd app-work &&
	commit_file index.html "<h1>two</h1>" "second" &&
	c2=$(git rev-parse HEAD) &&
	push origin main &&
	deployed staging HEAD &&
	d=$DEPLOY/app &&
	id2=$(live_id "$d") &&
	test "$id2" != "$id1" &&
	check_release "$d" "$id2" "$c2" &&
	check_release "$d" "$id1" "$c1" &&
	printf "%s\n" "$id1" "$id2" | sort >expect &&
	list_releases "$d" >actual &&
	cmp expect actual &&
	test "$(cat "$d/current/index.html")" = "<h1>two</h1>" &&
	test "$(cat "$d/releases/$id1/index.html")" = "<h1>one</h1>" &&
	test "$(env_ref app staging)" = "$c2" &&
	test "$(nr_records app)" = 2 &&
	check_record app staging "$c2" ok "$id2" &&
	ls -A "$d" | sort >actual &&
	printf "%s\n" current releases shared >expect &&
	cmp expect actual
'

test_expect_success 'a push to a branch without environment deploys nothing' '
	cd app-work &&
	git checkout -q -b topic &&
	commit_file topic.txt topic "topic" &&
	push origin topic &&
	test_grep ! "deploying" "$TMP/push.err" &&
	test "$(live_id "$DEPLOY/app")" = "$id2" &&
	test "$(nr_records app)" = 2 &&
	git checkout -q main
'

test_expect_success 'file modes, symlinks, empty and nested files are kept' '
	new_repo modes &&
	cd modes-work &&
	mkdir -p bin lib/deep/er &&
	printf "#!/bin/sh\necho run\n" >bin/run &&
	chmod 755 bin/run &&
	printf "data\n" >lib/deep/er/data.txt &&
	chmod 644 lib/deep/er/data.txt &&
	: >empty &&
	ln -s bin/run run-link &&
	ln -s lib/deep dir-link &&
	ln -s does-not-exist dangling &&
	git add . &&
	git commit -q -m modes &&
	push origin main &&
	deployed staging HEAD &&
	r=$DEPLOY/modes/current &&
	test -f "$r/bin/run" && test -x "$r/bin/run" &&
	test "$(test_mode "$r/bin/run")" = -rwxr-xr-x &&
	test "$(test_mode "$r/lib/deep/er/data.txt")" = -rw-r--r-- &&
	test "$(test_mode "$r/REVISION")" = -rw-r--r-- &&
	test "$("$r/bin/run")" = run &&
	test -f "$r/empty" && test ! -s "$r/empty" &&
	test -h "$r/run-link" && test "$(readlink "$r/run-link")" = bin/run &&
	test -h "$r/dir-link" && test "$(readlink "$r/dir-link")" = lib/deep &&
	test -h "$r/dangling" &&
	test "$(readlink "$r/dangling")" = does-not-exist &&
	test "$(cat "$r/dir-link/er/data.txt")" = data &&
	test -d "$r/lib/deep/er" && test ! -h "$r/lib"
'

# --- the hooks and their variables -------------------------------------

test_expect_success 'after sees PUSHGATE_ENV, _COMMIT, _RELEASE, _PREVIOUS, _USER' '
	new_repo vars \
		"after = { pwd -P; printf \"%s\\n\" \"\$PUSHGATE_ENV\" \"\$PUSHGATE_COMMIT\" \"\$PUSHGATE_RELEASE\" \"\$PUSHGATE_PREVIOUS\" \"\$PUSHGATE_USER\"; } >\"$OUT/vars\"" &&
	cd vars-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deployed staging HEAD &&
	d=$(cd -P "$DEPLOY/vars" && pwd) &&
	v1=$(live_id "$d") &&
	printf "%s\n" "$d/releases/$v1" staging "$(git rev-parse HEAD)" \
		"$DEPLOY/vars/releases/$v1" "" tester >expect &&
	cat "$OUT/vars" &&
	cmp expect "$OUT/vars" &&
	commit_file a.txt two "two" &&
	push origin main &&
	deployed staging HEAD &&
	v2=$(live_id "$d") &&
	printf "%s\n" "$d/releases/$v2" staging "$(git rev-parse HEAD)" \
		"$DEPLOY/vars/releases/$v2" "$DEPLOY/vars/releases/$v1" \
		tester >expect &&
	cmp expect "$OUT/vars"
'

test_expect_success 'a hostile pusher name reaches the hooks as data only' '
	cd vars-work &&
	commit_file a.txt three "three" &&
	hostile="x\$(touch PWNED)\`touch PWNED2\`'"'"'\" ;y" &&
	push_as "$hostile" origin main &&
	deployed staging HEAD &&
	test "$(sed -n 6p "$OUT/vars")" = "$hostile" &&
	last_record vars &&
	test "$(field 6)" = "$hostile" &&
	no_pwned
'

test_expect_success 'maintenance exists during before and after, not afterwards' '
	new_repo maint \
		"maintenance = true" \
		"before = test -e ../../maintenance && test -f ../../maintenance && touch \"$OUT/maint-before\"" \
		"after = test -e ../../maintenance && touch \"$OUT/maint-after\"" &&
	cd maint-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deployed staging HEAD &&
	test -f "$OUT/maint-before" &&
	test -f "$OUT/maint-after" &&
	test ! -e "$DEPLOY/maint/maintenance" &&
	live_id "$DEPLOY/maint" &&
	rm -f "$OUT/maint-before" "$OUT/maint-after" &&
	commit_file a.txt two "two" &&
	push origin main &&
	deployed staging HEAD &&
	test -f "$OUT/maint-before" &&
	test -f "$OUT/maint-after" &&
	test ! -e "$DEPLOY/maint/maintenance"
'

test_expect_success 'maintenance is off again after a failed deploy' '
	local_env maint staging main \
		"maintenance = true" \
		"healthcheck = exit 1" \
		"healthcheck_retries = 1" &&
	cd maint-work &&
	before=$(live_id "$DEPLOY/maint") &&
	commit_file a.txt three "three" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test ! -e "$DEPLOY/maint/maintenance" &&
	test "$(live_id "$DEPLOY/maint")" = "$before"
'

test_expect_success 'without maintenance = true there is no maintenance file' '
	new_repo nomaint \
		"before = test ! -e ../../maintenance" \
		"after = test ! -e ../../maintenance" &&
	cd nomaint-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deployed staging HEAD &&
	test ! -e "$DEPLOY/nomaint/maintenance"
'

# --- artifact, config and shared -----------------------------------------

test_expect_success 'artifact with build: only the built directory is deployed' '
	setup_repo built </dev/null &&
	write_hooks_ini built <<-EOF &&
	[verify]
	build = mkdir -p dist/css && cp src/index.html dist/index.html && echo built >dist/css/site.css
	[environment "staging"]
	branch = main
	path = $DEPLOY/built
	artifact = dist
	EOF
	setup_clone built &&
	cd built-work &&
	commit_file src/index.html "<h1>built</h1>" "source" &&
	commit_file README "not deployed" "readme" &&
	push origin main &&
	deployed staging HEAD &&
	r=$DEPLOY/built/current &&
	(cd "$r" && find . | sort) >actual &&
	printf "%s\n" . ./REVISION ./css ./css/site.css ./index.html >expect &&
	cmp expect actual &&
	test "$(cat "$r/index.html")" = "<h1>built</h1>" &&
	test "$(cat "$r/css/site.css")" = built &&
	check_release "$DEPLOY/built" "$(live_id "$DEPLOY/built")" HEAD &&
	test_grep "using the artifact built for $(short HEAD)" "$TMP/push.err" &&
	: the build stays in the store, for the next environments &&
	kept_artifacts built >kept &&
	test "$(wc -l <kept)" = 1
'

test_expect_success 'a rejected push keeps only the builds whose tests passed' '
	cd built-work &&
	write_hooks_ini built <<-EOF &&
	[verify]
	build = mkdir -p dist && cp src/index.html dist/index.html
	test = test ! -e broken
	test_branches = feature
	[environment "staging"]
	branch = main
	path = $DEPLOY/built
	artifact = dist
	EOF
	commit_file src/index.html "<h1>next</h1>" "next" &&
	git branch -f feature HEAD &&
	git checkout -q feature &&
	commit_file broken yes "broken" &&
	git checkout -q main &&
	test_must_fail push origin main feature &&
	test_grep "REJECTED refs/heads/feature: tests failed" "$TMP/push.err" &&
	test_grep "tests passed for refs/heads/main" "$TMP/push.err" &&
	kept_artifacts built >kept &&
	test "$(wc -l <kept)" = 2 &&
	: the passing tip comes again: neither tested nor built again &&
	push origin main &&
	test_grep "tests passed before on the same tree (cached)" \
		"$TMP/push.err" &&
	test_grep ! "running build" "$TMP/push.err" &&
	test_grep "using the artifact built for $(short HEAD)" "$TMP/push.err" &&
	deployed staging HEAD
'

test_expect_success 'artifact without build: a directory of the tree' '
	new_repo sub "artifact = web/public" &&
	cd sub-work &&
	commit_file web/public/index.html "<h1>sub</h1>" "page" &&
	commit_file web/public/img/logo.txt "logo" "logo" &&
	commit_file web/private.txt "secret" "private" &&
	commit_file top.txt "top" "top" &&
	push origin main &&
	deployed staging HEAD &&
	r=$DEPLOY/sub/current &&
	(cd "$r" && find . | sort) >actual &&
	printf "%s\n" . ./REVISION ./img ./img/logo.txt ./index.html >expect &&
	cmp expect actual &&
	test "$(cat "$r/img/logo.txt")" = logo
'

test_expect_success 'config overlay: config/staging/app.conf wins over app.conf' '
	new_repo conf "config = config/staging" &&
	cd conf-work &&
	commit_file app.conf "mode=default" "default config" &&
	commit_file other.conf "other=default" "other config" &&
	commit_file config/staging/app.conf "mode=staging" "staging config" &&
	commit_file config/staging/extra/new.conf "new=staging" "new file" &&
	commit_file config/production/app.conf "mode=production" "prod config" &&
	push origin main &&
	deployed staging HEAD &&
	r=$DEPLOY/conf/current &&
	test "$(cat "$r/app.conf")" = mode=staging &&
	test "$(cat "$r/other.conf")" = other=default &&
	test "$(cat "$r/extra/new.conf")" = new=staging &&
	check_release "$DEPLOY/conf" "$(live_id "$DEPLOY/conf")" HEAD
'

test_expect_success 'config overlay on a built artifact' '
	setup_repo confb </dev/null &&
	write_hooks_ini confb <<-EOF &&
	[verify]
	build = mkdir -p dist && cp app.conf dist/app.conf && cp app.conf dist/keep.conf
	[environment "staging"]
	branch = main
	path = $DEPLOY/confb
	artifact = dist
	config = config/staging
	EOF
	setup_clone confb &&
	cd confb-work &&
	commit_file app.conf "mode=default" "default" &&
	commit_file config/staging/app.conf "mode=staging" "staging" &&
	push origin main &&
	deployed staging HEAD &&
	r=$DEPLOY/confb/current &&
	test "$(cat "$r/app.conf")" = mode=staging &&
	test "$(cat "$r/keep.conf")" = mode=default
'

test_expect_success 'shared: a dir entry is created and linked, a file entry linked' '
	new_repo share &&
	mkdir -p "$DEPLOY/share/shared" &&
	echo "SECRET=1" >"$DEPLOY/share/shared/.env" &&
	local_env share staging main "shared = uploads/ data/cache/ .env" &&
	cd share-work &&
	commit_file index.html one "one" &&
	commit_file uploads/placeholder.txt "in the tree" "uploads in tree" &&
	push origin main &&
	deployed staging HEAD &&
	d=$DEPLOY/share &&
	r=$d/releases/$(live_id "$d") &&
	test -d "$d/shared/uploads" && test ! -h "$d/shared/uploads" &&
	test -d "$d/shared/data/cache" &&
	test -h "$r/uploads" &&
	test "$(readlink "$r/uploads")" = ../../shared/uploads &&
	test -h "$r/data/cache" &&
	test "$(readlink "$r/data/cache")" = ../../../shared/data/cache &&
	test -d "$r/data" && test ! -h "$r/data" &&
	test -h "$r/.env" &&
	test "$(readlink "$r/.env")" = ../../shared/.env &&
	test "$(cat "$d/current/.env")" = SECRET=1 &&
	test ! -e "$d/shared/uploads/placeholder.txt" &&
	echo upload >"$d/current/uploads/u1" &&
	test -f "$d/shared/uploads/u1"
'

test_expect_success 'shared: the next release sees the same shared files' '
	cd share-work &&
	commit_file index.html two "two" &&
	push origin main &&
	deployed staging HEAD &&
	test "$(cat "$DEPLOY/share/current/uploads/u1")" = upload &&
	test "$(cat "$DEPLOY/share/current/.env")" = SECRET=1
'

test_expect_success 'shared: a missing shared file fails the deploy before any switch' '
	local_env share staging main "shared = uploads/ .env config/db.yml" \
		"before = touch \"$OUT/share-before\"" &&
	cd share-work &&
	d=$DEPLOY/share &&
	live=$(live_id "$d") &&
	list_releases "$d" >releases.before &&
	good=$(env_ref share staging) &&
	n=$(nr_records share) &&
	commit_file index.html three "three" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "missing shared file" "$TMP/push.err" &&
	test_grep "config/db.yml" "$TMP/push.err" &&
	test ! -e "$OUT/share-before" &&
	test "$(live_id "$d")" = "$live" &&
	list_releases "$d" >releases.after &&
	cmp releases.before releases.after &&
	test "$(env_ref share staging)" = "$good" &&
	test "$(nr_records share)" = $((n + 1)) &&
	check_record share staging HEAD failed &&
	field 9 >reason &&
	test_grep "missing shared file" reason
'

test_expect_success 'shared: once the file exists the same commit deploys' '
	mkdir -p "$DEPLOY/share/shared/config" &&
	echo "db: test" >"$DEPLOY/share/shared/config/db.yml" &&
	cd share-work &&
	commit_file index.html four "four" &&
	push origin main &&
	deployed staging HEAD &&
	r=$DEPLOY/share/current &&
	test "$(readlink "$r/config/db.yml")" = ../../../shared/config/db.yml &&
	test "$(cat "$r/config/db.yml")" = "db: test" &&
	test -f "$OUT/share-before"
'

# stamp ID: the time part of a release id.
stamp()
{
	echo "${1%%-*}"
}

test_expect_success 'release ids sort in deploy order, even within one second' '
	new_repo order &&
	cd order-work &&
	tries=0 &&
	while :
	do
		tries=$((tries + 1)) &&
		commit_with_prefix f v.txt "f$tries" "newer id first" &&
		first=$(git rev-parse HEAD) &&
		commit_with_prefix 0 v.txt "0$tries" "older id second" &&
		second=$(git rev-parse HEAD) &&
		push origin "$first:refs/heads/main" &&
		deployed staging "$first" &&
		o1=$(live_id "$DEPLOY/order") &&
		push origin main &&
		deployed staging "$second" &&
		o2=$(live_id "$DEPLOY/order") &&
		if test "$(stamp "$o1")" = "$(stamp "$o2")" || test "$tries" -ge 5
		then
			break
		fi || return 1
	done &&
	echo "tries: $tries, releases: $o1 $o2" &&
	list_releases "$DEPLOY/order" | tail -n 1 >actual &&
	echo "$o2" >expect &&
	cmp expect actual
'

# --- pruning --------------------------------------------------------------

test_expect_success 'keep = 2: after 4 pushes the live and the previous release remain' '
	new_repo prune "keep = 2" &&
	cd prune-work &&
	ids= &&
	for i in 1 2 3 4
	do
		commit_with_prefix "$i" v.txt "$i" "version $i" &&
		push origin main &&
		deployed staging HEAD &&
		id=$(live_id "$DEPLOY/prune") &&
		ids="$ids $id" &&
		list_releases "$DEPLOY/prune" >"releases.$i" &&
		test "$(wc -l <"releases.$i")" -le 2 || return 1
	done &&
	set -- $ids &&
	p3=$3 && p4=$4 &&
	printf "%s\n" "$p3" "$p4" | sort >expect &&
	cmp expect releases.4 &&
	test "$(live_id "$DEPLOY/prune")" = "$p4" &&
	test "$(cat "$DEPLOY/prune/current/v.txt")" = 4 &&
	test "$(cat "$DEPLOY/prune/releases/$p3/v.txt")" = 3 &&
	test_grep "pruned 1 old release" "$TMP/push.err"
'

test_expect_success 'keep = 1 still keeps the previous release' '
	local_env prune staging main "keep = 1" &&
	cd prune-work &&
	commit_with_prefix 5 v.txt 5 "version 5" &&
	push origin main &&
	deployed staging HEAD &&
	id5=$(live_id "$DEPLOY/prune") &&
	printf "%s\n" "$p4" "$id5" | sort >expect &&
	list_releases "$DEPLOY/prune" >actual &&
	cmp expect actual
'

# --- failures and rollback ------------------------------------------------

test_expect_success 'healthcheck failure: previous release stays live, on_failure runs' '
	new_repo health \
		"after = echo \"\$PUSHGATE_RELEASE\" >>\"$OUT/health-after\"" \
		"healthcheck = test ! -e broken" \
		"healthcheck_retries = 2" \
		"on_failure = printf \"%s\\n\" \"\$PUSHGATE_RELEASE\" >\"$OUT/on-failure\"" &&
	cd health-work &&
	commit_file ok.txt ok "good" &&
	push origin main &&
	deployed staging HEAD &&
	good=$(git rev-parse HEAD) &&
	d=$DEPLOY/health &&
	h1=$(live_id "$d") &&
	test ! -e "$OUT/on-failure" &&
	commit_file broken yes "broken" &&
	bad=$(git rev-parse HEAD) &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "(rolled back)" "$TMP/push.err" &&
	test_grep "healthcheck attempt 1 of 2 failed" "$TMP/push.err" &&
	test "$(live_id "$d")" = "$h1" &&
	test "$(cat "$d/current/REVISION")" = "$good" &&
	h2=$(ls "$d/releases" | grep -v "^$h1\$") &&
	check_release "$d" "$h2" "$bad" &&
	test -s "$d/releases/$h2/FAILED" &&
	cat "$d/releases/$h2/FAILED" &&
	test_grep healthcheck "$d/releases/$h2/FAILED" &&
	test "$(cat "$OUT/on-failure")" = "$DEPLOY/health/releases/$h2" &&
	printf "%s\n" "$d/releases/$h1" "$d/releases/$h2" "$d/releases/$h1" \
		>expect &&
	cmp expect "$OUT/health-after" &&
	test "$(env_ref health staging)" = "$good" &&
	check_record health staging "$bad" failed "$h2" &&
	field 9 >reason &&
	test_grep healthcheck reason
'

test_expect_success 'a failed release counts toward keep and stays while within it' '
	cd health-work &&
	git rm -q broken &&
	git commit -q -m "fixed" &&
	push origin main &&
	deployed staging HEAD &&
	h3=$(live_id "$DEPLOY/health") &&
	printf "%s\n" "$h1" "$h2" "$h3" | sort >expect &&
	list_releases "$DEPLOY/health" >actual &&
	cmp expect actual &&
	test -s "$DEPLOY/health/releases/$h2/FAILED" &&
	test "$(env_ref health staging)" = "$(git rev-parse HEAD)"
'

test_expect_success 'over keep, the failed release goes before older good ones' '
	local_env health staging main "keep = 3" &&
	cd health-work &&
	commit_file more.txt more "more" &&
	push origin main &&
	deployed staging HEAD &&
	h4=$(live_id "$DEPLOY/health") &&
	printf "%s\n" "$h1" "$h3" "$h4" | sort >expect &&
	list_releases "$DEPLOY/health" >actual &&
	cmp expect actual &&
	test_grep "pruned 1 old release" "$TMP/push.err"
'

test_expect_success 'a failing before: nothing switches, the release is marked FAILED' '
	new_repo before "before = echo before-out; exit 7" \
		"on_failure = touch \"$OUT/before-on-failure\"" &&
	cd before-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "before failed (exit 7)" "$TMP/push.err" &&
	test ! -e "$DEPLOY/before/current" &&
	test ! -h "$DEPLOY/before/current" &&
	no_env_ref before staging &&
	b1=$(list_releases "$DEPLOY/before") &&
	test -s "$DEPLOY/before/releases/$b1/FAILED" &&
	check_record before staging HEAD failed "$b1"
'

test_expect_success 'a failing first deploy leaves no current behind' '
	new_repo first "healthcheck = false" "healthcheck_retries = 1" &&
	cd first-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test ! -e "$DEPLOY/first/current" &&
	test ! -h "$DEPLOY/first/current" &&
	f1=$(list_releases "$DEPLOY/first") &&
	test -s "$DEPLOY/first/releases/$f1/FAILED" &&
	no_env_ref first staging
'

test_expect_success 'a healthcheck that passes on its second attempt deploys' '
	new_repo retry \
		"healthcheck = test -e \"$OUT/retry-seen\" || { touch \"$OUT/retry-seen\"; exit 1; }" \
		"healthcheck_retries = 3" &&
	cd retry-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deployed staging HEAD &&
	test_grep "healthcheck attempt 1 of 3 failed" "$TMP/push.err" &&
	test_grep ! "attempt 2 of 3" "$TMP/push.err" &&
	check_release "$DEPLOY/retry" "$(live_id "$DEPLOY/retry")" HEAD
'

test_expect_success 'command_timeout: a hanging after is killed, then rolled back' '
	new_repo hang \
		"after = test -e \"$OUT/hang-armed\" || exit 0; sleep 300 & echo \$! >\"$OUT/hang-pid\"; wait" \
		"command_timeout = 1" &&
	cd hang-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deployed staging HEAD &&
	live=$(live_id "$DEPLOY/hang") &&
	touch "$OUT/hang-armed" &&
	commit_file a.txt two "two" &&
	start=$(date +%s) &&
	push origin main &&
	test "$(($(date +%s) - start))" -lt 60 &&
	deploy_failed staging HEAD &&
	test_grep "after: .*timed out after 1 s" "$TMP/push.err" &&
	test "$(live_id "$DEPLOY/hang")" = "$live" &&
	: the rollback runs the armed after again, which hangs too &&
	test_grep "\[local\] rollback incomplete: after: command timed out after 1 s" \
		"$TMP/push.err" &&
	test_grep "^remote: pushgate: FAILED to deploy .*; rollback incomplete on local: after: command timed out" \
		"$TMP/push.err" &&
	test_grep ! "(rolled back)" "$TMP/push.err" &&
	last_record hang &&
	field 9 >reason &&
	test_grep "rollback incomplete on local" reason &&
	pid=$(head -n 1 "$OUT/hang-pid") &&
	test_wait_for 10 eval "! kill -0 $pid 2>/dev/null" &&
	test_grep ! "after: after:" "$TMP/push.err"
'

test_expect_success 'nothing is written through a symlink of the release' '
	new_repo escape "config = cfg" &&
	mkdir "$OUT/escape" &&
	cd escape-work &&
	commit_file cfg/app.conf conf "config" &&
	push origin main &&
	deployed staging HEAD &&
	live=$(live_id "$DEPLOY/escape") &&
	ln -s "$OUT/escape" link &&
	mkdir -p cfg/link &&
	echo pwned >cfg/link/pwned.txt &&
	git add link cfg &&
	git commit -q -m "overlay through a symlink" &&
	push origin main &&
	deploy_failed staging HEAD &&
	test_grep "link" "$TMP/push.err" &&
	test ! -e "$OUT/escape/pwned.txt" &&
	test "$(live_id "$DEPLOY/escape")" = "$live" &&
	test "$(list_releases "$DEPLOY/escape")" = "$live" &&
	check_record escape staging HEAD failed &&
	test_grep ! "upload: upload:" "$TMP/push.err"
'

test_expect_success 'one push, two branches: each environment deploys' '
	setup_repo two </dev/null &&
	write_hooks_ini two <<-EOF &&
	[environment "staging"]
	branch = develop
	path = $DEPLOY/two-staging
	[environment "qa"]
	branch = qa
	path = $DEPLOY/two-qa
	EOF
	setup_clone two &&
	cd two-work &&
	commit_file a.txt dev "dev" &&
	git branch -q develop &&
	commit_file a.txt qa "qa" &&
	git branch -q qa &&
	push origin develop qa &&
	deployed staging develop &&
	deployed qa qa &&
	test "$(cat "$DEPLOY/two-staging/current/a.txt")" = dev &&
	test "$(cat "$DEPLOY/two-qa/current/a.txt")" = qa &&
	test "$(env_ref two staging)" = "$(git rev-parse develop)" &&
	test "$(env_ref two qa)" = "$(git rev-parse qa)" &&
	test "$(nr_records two)" = 2
'

test_expect_success 'deleting an environment branch deploys nothing' '
	cd two-work &&
	live=$(live_id "$DEPLOY/two-qa") &&
	push origin :qa &&
	test_grep ! "deploying" "$TMP/push.err" &&
	no_crash &&
	test "$(live_id "$DEPLOY/two-qa")" = "$live" &&
	test "$(nr_records two)" = 2
'

test_expect_success 'a 5 MB file arrives intact' '
	new_repo big &&
	cd big-work &&
	awk "BEGIN { srand(7); for (i = 0; i < 5 * 1024 * 1024 / 16; i++) printf \"%08x%08x\", rand() * 4294967295, i }" >big.bin &&
	test "$(wc -c <big.bin)" = 5242880 &&
	git add big.bin &&
	git commit -q -m big &&
	push origin main &&
	deployed staging HEAD &&
	cmp big.bin "$DEPLOY/big/current/big.bin"
'

test_expect_success 'a deploy path with spaces and shell characters' '
	weird="$DEPLOY/we ird \$(touch PWNED) \`touch PWNED2\` x;y" &&
	mkdir -p "$weird/shared" &&
	echo env >"$weird/shared/.env" &&
	setup_repo weird </dev/null &&
	local_env weird staging main "keep = 1" "maintenance = true" \
		"shared = uploads/ .env" "after = test -e ../../maintenance" &&
	sed -i "s|^path = .*|path = $weird|" "$TMP/weird.git/hooks.ini" &&
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
	no_pwned
'

# --- hostile file names ---------------------------------------------------

test_expect_success 'hostile file names arrive intact and nothing runs' '
	new_repo hostile "after = ls -A >/dev/null" &&
	cd hostile-work &&
	hostile_tree &&
	push origin main &&
	deployed staging HEAD &&
	check_hostile_tree "$DEPLOY/hostile/current" &&
	test "$(find "$DEPLOY/hostile/current/" -mindepth 1 -printf x | wc -c)" = 14 &&
	no_pwned
'

test_expect_success 'hostile file names in a built artifact arrive intact' '
	setup_repo hostileb </dev/null &&
	write_hooks_ini hostileb <<-EOF &&
	[verify]
	build = mkdir dist && cp -R src/. dist/
	[environment "staging"]
	branch = main
	path = $DEPLOY/hostileb
	artifact = dist
	EOF
	setup_clone hostileb &&
	cd hostileb-work &&
	mkdir src &&
	(cd src && hostile_tree) &&
	push origin main &&
	deployed staging HEAD &&
	check_hostile_tree "$DEPLOY/hostileb/current" &&
	no_pwned
'

# --- concurrency ----------------------------------------------------------

# bg_push NAME ARGS...: `git push ARGS` in the background, output in
# $TMP/NAME.out and exit status in $TMP/NAME.status (written last).
bg_push()
{
	bg_push_name_=$1
	shift
	rm -f "$TMP/$bg_push_name_.status" "$TMP/$bg_push_name_.out"
	{
		bg_push_status_=0
		git push "$@" >"$TMP/$bg_push_name_.out" 2>&1 ||
			bg_push_status_=$?
		echo "$bg_push_status_" >"$TMP/$bg_push_name_.status.new"
		mv "$TMP/$bg_push_name_.status.new" "$TMP/$bg_push_name_.status"
	} &
}

# branch_is REPO REV: refs/heads/main of $TMP/REPO.git is REV.
branch_is()
{
	test "$(git --git-dir="$TMP/$1.git" rev-parse -q --verify \
		refs/heads/main)" = "$2"
}

# The `before` hook of conc.git logs its start and end, fails if another
# `before` of the environment runs at the same time, and while $OUT/hold
# exists waits (bounded: 60 s) for $OUT/go.
test_expect_success 'concurrent pushes serialize; a late older commit is skipped' '
	setup_repo conc </dev/null &&
	write_hooks_ini conc <<-EOF &&
	[environment "staging"]
	branch = main
	path = $DEPLOY/conc
	before = mkdir "$OUT/conc-running" || exit 9; echo "start \$PUSHGATE_COMMIT" >>"$OUT/conc-log"; touch "$OUT/conc-started"; i=0; while test -e "$OUT/hold" && test ! -e "$OUT/go" && test \$i -lt 600; do sleep 0.1; i=\$((i + 1)); done; echo "end \$PUSHGATE_COMMIT" >>"$OUT/conc-log"; rmdir "$OUT/conc-running"
	EOF
	setup_clone conc &&
	cd conc-work &&
	commit_file v.txt a "commit a" && ca=$(git rev-parse HEAD) &&
	commit_file v.txt b "commit b" && cb=$(git rev-parse HEAD) &&
	commit_file v.txt c "commit c" && cc=$(git rev-parse HEAD) &&
	touch "$OUT/hold" &&
	url=$TMP/conc.git &&
	bg_push a "$url" "$ca:refs/heads/main" &&
	test_wait_for 60 test -e "$OUT/conc-started" &&
	bg_push b "$url" "$cb:refs/heads/main" &&
	test_wait_for 60 branch_is conc "$cb" &&
	bg_push c "$url" "$cc:refs/heads/main" &&
	test_wait_for 60 branch_is conc "$cc" &&
	test ! -e "$TMP/a.status" &&
	test ! -e "$DEPLOY/conc/current" &&
	touch "$OUT/go" &&
	test_wait_for 120 test -e "$TMP/a.status" &&
	test_wait_for 120 test -e "$TMP/b.status" &&
	test_wait_for 120 test -e "$TMP/c.status" &&
	cat "$TMP/a.out" "$TMP/b.out" "$TMP/c.out" &&
	test "$(cat "$TMP/a.status")" = 0 &&
	test "$(cat "$TMP/b.status")" = 0 &&
	test "$(cat "$TMP/c.status")" = 0 &&
	test_grep "deployed $(printf %.12s "$ca") to .staging." "$TMP/a.out" &&
	test_grep "deployed $(printf %.12s "$cc") to .staging." "$TMP/c.out" &&
	test_grep "skipped .staging.: $(printf %.12s "$cb") is no longer the tip" \
		"$TMP/b.out" &&
	test_grep ! -i "sanitizer\|runtime error" "$TMP/a.out" "$TMP/b.out" "$TMP/c.out" &&
	test ! -e "$OUT/conc-running" &&
	printf "%s\n" "start $ca" "end $ca" "start $cc" "end $cc" >expect &&
	cmp expect "$OUT/conc-log" &&
	id=$(live_id "$DEPLOY/conc") &&
	check_release "$DEPLOY/conc" "$id" "$cc" &&
	test "$(cat "$DEPLOY/conc/current/v.txt")" = c &&
	test "$(env_ref conc staging)" = "$cc" &&
	cat "$TMP/conc.git/pushgate/history" &&
	cut -f 3,4,7 "$TMP/conc.git/pushgate/history" | sort >actual &&
	printf "deploy\t%s\tok\ndeploy\t%s\tskipped\ndeploy\t%s\tok\n" \
		"$ca" "$cb" "$cc" | sort >expect &&
	cmp expect actual &&
	awk -F "\t" "\$7 == \"ok\" { print \$4 }" \
		"$TMP/conc.git/pushgate/history" >actual &&
	printf "%s\n" "$ca" "$cc" >expect &&
	cmp expect actual &&
	list_releases "$DEPLOY/conc" >actual &&
	test "$(wc -l <actual)" = 2 &&
	rm -f "$OUT/hold" "$OUT/go"
'

test_expect_success 'two pushes started together: the branch tip ends up live' '
	cd conc-work &&
	: >"$OUT/conc-log" &&
	commit_file v.txt d "commit d" && cd_=$(git rev-parse HEAD) &&
	commit_file v.txt e "commit e" && ce=$(git rev-parse HEAD) &&
	url=$TMP/conc.git &&
	bg_push d "$url" "$cd_:refs/heads/main" &&
	bg_push e "$url" "$ce:refs/heads/main" &&
	test_wait_for 120 test -e "$TMP/d.status" &&
	test_wait_for 120 test -e "$TMP/e.status" &&
	cat "$TMP/d.out" "$TMP/e.out" "$OUT/conc-log" &&
	test_grep ! "FAILED" "$TMP/d.out" &&
	test_grep ! "FAILED" "$TMP/e.out" &&
	test ! -e "$OUT/conc-running" &&
	tip=$(git --git-dir="$url" rev-parse main) &&
	case "$tip" in
	"$cd_"|"$ce") ;;
	*) false ;;
	esac &&
	check_release "$DEPLOY/conc" "$(live_id "$DEPLOY/conc")" "$tip" &&
	test "$(env_ref conc staging)" = "$tip" &&
	awk -F "\t" "\$7 == \"ok\" { c = \$4 } END { print c }" \
		"$TMP/conc.git/pushgate/history" >actual &&
	echo "$tip" >expect &&
	cmp expect actual &&
	awk -F "\t" "\$7 != \"ok\" && \$7 != \"skipped\"" \
		"$TMP/conc.git/pushgate/history" >bad &&
	test_grep ! . bad
'

# --- manual environments --------------------------------------------------

test_expect_success 'a manual environment is not deployed; the push says how to approve' '
	setup_repo man </dev/null &&
	write_hooks_ini man <<-EOF &&
	[environment "production"]
	branch = main
	mode = manual
	path = $DEPLOY/man
	EOF
	setup_clone man &&
	cd man-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	short=$(git rev-parse --short=12 HEAD) &&
	test_grep "production.* waits for approval of $short" "$TMP/push.err" &&
	test_grep "git push origin $short:refs/deploy/production" "$TMP/push.err" &&
	test_grep "pushgate deploy production $short" "$TMP/push.err" &&
	test_grep ! "deploying" "$TMP/push.err" &&
	no_crash &&
	test ! -e "$DEPLOY/man/current" &&
	test ! -e "$DEPLOY/man/releases" &&
	no_env_ref man production &&
	test "$(nr_records man)" = 0
'

test_expect_success 'a manual environment: push -o deploy by an approver deploys' '
	write_hooks_ini man <<-EOF &&
	[environment "production"]
	branch = main
	mode = manual
	approvers = alice tester
	path = $DEPLOY/man
	EOF
	cd man-work &&
	commit_file a.txt two "two" &&
	push -o deploy origin main &&
	deployed production HEAD &&
	test_grep ! "waits for approval" "$TMP/push.err" &&
	check_release "$DEPLOY/man" "$(live_id "$DEPLOY/man")" HEAD &&
	test "$(env_ref man production)" = "$(git rev-parse HEAD)" &&
	check_record man production HEAD ok
'

test_expect_success 'a manual environment: push -o deploy by anyone else is rejected' '
	cd man-work &&
	live=$(live_id "$DEPLOY/man") &&
	old=$(git --git-dir="$TMP/man.git" rev-parse main) &&
	commit_file a.txt three "three" &&
	test_must_fail push_as mallory -o deploy origin main &&
	test_grep "REJECTED refs/heads/main" "$TMP/push.err" &&
	test_grep "alice" "$TMP/push.err" &&
	no_crash &&
	test "$(git --git-dir="$TMP/man.git" rev-parse main)" = "$old" &&
	test "$(live_id "$DEPLOY/man")" = "$live"
'

test_expect_success 'requires: an auto environment takes only what its requirement runs' '
	setup_repo req </dev/null &&
	write_hooks_ini req <<-EOF &&
	[environment "staging"]
	branch = develop
	path = $DEPLOY/req-staging
	[environment "production"]
	branch = main
	requires = staging
	path = $DEPLOY/req-production
	EOF
	setup_clone req &&
	cd req-work &&
	commit_file a.txt one "one" &&
	test_must_fail push origin HEAD:main &&
	test_grep "REJECTED refs/heads/main" "$TMP/push.err" &&
	test_grep "staging" "$TMP/push.err" &&
	test ! -e "$DEPLOY/req-production/current" &&
	push origin HEAD:develop &&
	deployed staging HEAD &&
	push origin HEAD:main &&
	deployed production HEAD &&
	test "$(env_ref req production)" = "$(git rev-parse HEAD)"
'

test_expect_success 'a killed deploy does not block the next one' '
	new_repo killed &&
	write_hooks_ini killed <<-EOF &&
	[core]
	lock_timeout = 5
	[environment "staging"]
	branch = main
	path = $DEPLOY/killed
	before = test -e "$OUT/kill-armed" || exit 0; echo \$PPID >"$OUT/kill-worker"; i=0; while test ! -e "$OUT/kill-go" && test \$i -lt 600; do sleep 0.1; i=\$((i + 1)); done
	EOF
	cd killed-work &&
	commit_file a.txt one "one" &&
	push origin main &&
	deployed staging HEAD &&
	live=$(live_id "$DEPLOY/killed") &&
	touch "$OUT/kill-armed" &&
	commit_file a.txt two "two" &&
	bg_push k "$TMP/killed.git" HEAD:refs/heads/main &&
	test_wait_for 60 test -s "$OUT/kill-worker" &&
	worker=$(cat "$OUT/kill-worker") &&
	hook=$(ps -o ppid= -p "$worker" | tr -d " ") &&
	ps -o pid=,args= -p "$hook" &&
	case "$(ps -o args= -p "$hook")" in
	*post-receive*) ;;
	*) false ;;
	esac &&
	kill -KILL "$hook" "$worker" &&
	test_wait_for 60 test -e "$TMP/k.status" &&
	touch "$OUT/kill-go" &&
	rm -f "$OUT/kill-armed" &&
	test "$(live_id "$DEPLOY/killed")" = "$live" &&
	commit_file a.txt three "three" &&
	push origin main &&
	deployed staging HEAD &&
	check_release "$DEPLOY/killed" "$(live_id "$DEPLOY/killed")" HEAD
'

test_done
