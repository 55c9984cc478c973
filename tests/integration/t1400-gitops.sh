#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t1400-gitops.sh - GitOps environments (SPEC §12): a push hands the
# artifact to a Git repository that Argo CD or Flux would watch. The
# "Git server" is a bare repository served by a real OpenSSH server on
# 127.0.0.1 (tests/sshd.sh); pushgate reaches it through libgit2 only,
# while the tests read it with git. Checked: the first deploy and its
# trailers, updates that touch only gitops_path, a deleted file, a
# no-op, a rollback, a commit landing between pushgate's fetch and push
# (made by the server's pre-receive hook), drift, host keys and
# identities that fail closed, and what a GitOps tool would render.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/integration/deploy-lib.sh
. "$(dirname -- "$0")/deploy-lib.sh"

PUSHGATE_USER=tester
export PUSHGATE_USER
# Under SANITIZE=1: whole stacks, so that tests/lsan.supp can name the
# libgit2 SSH transport's own leaks (and nothing else) by function.
LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}fast_unwind_on_malloc=0"
export LSAN_OPTIONS

SSHD_SH=$PUSHGATE_SRCDIR/tests/sshd.sh
SERVER=$TMP/server.git	# the repository Argo CD would watch
OUT=$TMP/out
mkdir "$OUT"
SSHD_KEY='' SSHD_USER='' SSHD_PORT1='' SSHD_KNOWN_HOSTS='' REMOTE=''
KEY='' KH=''	# the identity and known_hosts gitops_env writes

# gitops_env REPO [LINE...]: REPO's hooks.ini: environment "k8s"
# deploying main's deploy/ directory into apps/web of $REMOTE, with the
# servers' client key and known_hosts (or $KEY and $KH when set).
gitops_env()
{
	gitops_env_repo_=$1
	shift
	{
		echo '[environment "k8s"]'
		echo 'branch = main'
		echo "gitops_remote = $REMOTE"
		echo 'gitops_path = apps/web'
		echo 'artifact = deploy'
		echo "identity = ${KEY:-$SSHD_KEY}"
		echo "known_hosts = ${KH:-$SSHD_KNOWN_HOSTS}"
		for gitops_env_line_ in "$@"
		do
			printf '%s\n' "$gitops_env_line_"
		done
	} | write_hooks_ini "$gitops_env_repo_"
}

# server_tree REV [PATH]: the id of the tree at PATH (default: the root)
# of REV in the server's repository.
server_tree()
{
	git --git-dir="$SERVER" rev-parse "$1:${2:-}"
}

# same_as_artifact DIR REV: `git archive` of apps/web at the server's
# REV holds exactly the files of DIR (what Argo CD would check out).
same_as_artifact()
{
	rm -rf "$OUT/rendered" &&
	mkdir "$OUT/rendered" &&
	git --git-dir="$SERVER" archive "$2:apps/web" |
		tar -x -C "$OUT/rendered" &&
	diff -r "$1" "$OUT/rendered"
}

# handed REV: the last push handed REV to GitOps.
handed()
{
	test_grep "^remote: pushgate: handed $(short "$1") to GitOps: 'k8s' is " \
		"$TMP/push.err" &&
	no_crash
}

# live_id_of ENV: the release id of the last record of app.git for ENV.
live_id_of()
{
	last_record app >/dev/null && field 5
}

test_expect_success 'a Git server over SSH, with history outside gitops_path' '
	test_atexit "sh \"$SSHD_SH\" stop \"$TMP/sshd\"" &&
	sh "$SSHD_SH" start "$TMP/sshd" 1 &&
	. "$TMP/sshd/env" &&
	REMOTE=ssh://$SSHD_USER@127.0.0.1:$SSHD_PORT1$SERVER &&
	git init -q --bare "$SERVER" &&
	git init -q seed &&
	(
		cd seed &&
		mkdir -p apps/other infra &&
		echo "kind: Namespace" >apps/other/ns.yaml &&
		echo "team infra" >infra/README &&
		git add . &&
		git commit -q -m "cluster: initial layout" &&
		git push -q "$SERVER" HEAD:main
	) &&
	setup_repo app </dev/null &&
	gitops_env app &&
	setup_clone app &&
	pg -C "$TMP/app.git" check &&
	test_grep "k8s: $REMOTE: ok" "$TMP/pg.out"
'

test_expect_success 'first deploy: apps/web holds the artifact; the commit has the trailers' '
	cd app-work &&
	mkdir -p deploy/base &&
	printf "resources:\n- cm.yaml\n" >deploy/kustomization.yaml &&
	printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  version: \"1\"\n" >deploy/cm.yaml &&
	echo "not deployed" >README &&
	printf "#!/bin/sh\necho hook\n" >deploy/base/run.sh &&
	chmod 755 deploy/base/run.sh &&
	git add . &&
	git commit -q -m "web: first version" &&
	before=$(server_tree main apps/other) &&
	push origin main &&
	handed HEAD &&
	test_grep "is committed on main of $REMOTE" "$TMP/push.err" &&
	same_as_artifact deploy main &&
	test -x "$OUT/rendered/base/run.sh" &&
	test "$(server_tree main apps/other)" = "$before" &&
	test "$(git --git-dir="$SERVER" rev-list --count main)" = 2 &&
	git --git-dir="$SERVER" log -1 --format=%s main >subject &&
	echo "deploy(k8s): $(short HEAD) web: first version" >expect &&
	test_cmp expect subject &&
	git --git-dir="$SERVER" log -1 --format="%an" main >author &&
	echo pushgate >expect &&
	test_cmp expect author &&
	git --git-dir="$SERVER" log -1 --format=%B main |
		git interpret-trailers --parse >trailers &&
	id=$(live_id_of k8s) &&
	printf "Pushgate-Environment: k8s\nPushgate-Release: %s\nPushgate-Source-Commit: %s\nPushgate-User: tester\n" \
		"$id" "$(git rev-parse HEAD)" >expect &&
	test_cmp expect trailers &&
	test "$(env_ref app k8s)" = "$(git rev-parse HEAD)" &&
	check_record app k8s HEAD ok
'

test_expect_success 'an update changes apps/web only; a deleted file disappears' '
	cd app-work &&
	old_tip=$(git --git-dir="$SERVER" rev-parse main) &&
	other=$(server_tree main apps/other) &&
	infra=$(server_tree main infra) &&
	sed -i "s/\"1\"/\"2\"/" deploy/cm.yaml &&
	git rm -q deploy/base/run.sh &&
	git commit -q -a -m "web: second version" &&
	push origin main &&
	handed HEAD &&
	same_as_artifact deploy main &&
	test ! -e "$OUT/rendered/base" &&
	test "$(server_tree main apps/other)" = "$other" &&
	test "$(server_tree main infra)" = "$infra" &&
	test "$(git --git-dir="$SERVER" rev-parse main^)" = "$old_tip" &&
	git --git-dir="$SERVER" diff --name-only main^ main >changed &&
	printf "apps/web/base/run.sh\napps/web/cm.yaml\n" >expect &&
	test_cmp expect changed
'

test_expect_success 'a commit that leaves the artifact as it is: already live, no commit' '
	cd app-work &&
	tip=$(git --git-dir="$SERVER" rev-parse main) &&
	echo "docs only" >README &&
	git commit -q -a -m "docs: readme" &&
	push origin main &&
	handed HEAD &&
	test_grep "is already live on main" "$TMP/push.err" &&
	test "$(git --git-dir="$SERVER" rev-parse main)" = "$tip" &&
	test "$(env_ref app k8s)" = "$(git rev-parse HEAD)" &&
	check_record app k8s HEAD ok
'

test_expect_success 'rollback: a new commit restores the earlier apps/web' '
	cd app-work &&
	tip=$(git --git-dir="$SERVER" rev-parse main) &&
	first=$(git --git-dir="$SERVER" rev-parse main~1) &&
	pg -C "$TMP/app.git" rollback k8s "$(git rev-parse HEAD~2)" &&
	pg_no_crash &&
	test "$(git --git-dir="$SERVER" rev-parse main^)" = "$tip" &&
	test "$(server_tree main apps/web)" = "$(server_tree "$first" apps/web)" &&
	git --git-dir="$SERVER" log -1 --format=%s main >subject &&
	test_grep "^rollback(k8s): $(short HEAD~2) web: first version" subject &&
	git --git-dir="$SERVER" merge-base --is-ancestor "$tip" main
'

test_expect_success 'a commit lands between fetch and push: redone on the new tip, no force' '
	cd app-work &&
	cat >"$SERVER/hooks/pre-receive" <<-EOF &&
	#!/bin/sh
	# The first push after this hook is installed loses a race: a
	# commit lands on main first (written outside the quarantine).
	test -e "$OUT/raced" && exit 0
	: >"$OUT/raced"
	unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
	tip=\$(git rev-parse main)
	export GIT_INDEX_FILE="$OUT/race.index"
	git read-tree "\$tip"
	blob=\$(echo "landed first" | git hash-object -w --stdin)
	git update-index --add --cacheinfo "100644,\$blob,infra/competing"
	commit=\$(echo "infra: a competing change" | git commit-tree \$(git write-tree) -p "\$tip")
	git update-ref refs/heads/main "\$commit" "\$tip"
	EOF
	chmod 755 "$SERVER/hooks/pre-receive" &&
	sed -i "s/\"2\"/\"3\"/" deploy/cm.yaml &&
	git commit -q -a -m "web: third version" &&
	push origin main &&
	handed HEAD &&
	test -e "$OUT/raced" &&
	test_grep "main moved meanwhile" "$TMP/push.err" &&
	test "$(git --git-dir="$SERVER" show main:infra/competing)" = "landed first" &&
	same_as_artifact deploy main &&
	git --git-dir="$SERVER" log -1 --format=%s main^ >subject &&
	echo "infra: a competing change" >expect &&
	test_cmp expect subject &&
	rm -f "$SERVER/hooks/pre-receive"
'

test_expect_success 'status: drift when apps/web is not what pushgate pushed' '
	pg -C "$TMP/app.git" status k8s &&
	test_grep "remote $REMOTE ok" "$TMP/pg.out" &&
	git clone -q "$SERVER" meddle &&
	(
		cd meddle &&
		echo "hand edit" >apps/web/extra.yaml &&
		git add . &&
		git commit -q -m "someone edits apps/web by hand" &&
		git push -q origin HEAD:main
	) &&
	test_expect_code 1 pg -C "$TMP/app.git" status k8s &&
	test_grep "remote $REMOTE DRIFT" "$TMP/pg.out" &&
	: a deploy puts it back &&
	pg -C "$TMP/app.git" deploy --force k8s &&
	same_as_artifact "$TMP/app-work/deploy" main &&
	pg -C "$TMP/app.git" status k8s &&
	test_grep "remote $REMOTE ok" "$TMP/pg.out"
'

test_expect_success 'what Argo CD would render: kubectl kustomize of apps/web' '
	if ! command -v kubectl >/dev/null 2>&1
	then
		DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends kubernetes-client >&2 ||
			return 1
	fi &&
	rm -rf render && mkdir render &&
	git --git-dir="$SERVER" archive main:apps/web | tar -x -C render &&
	kubectl kustomize render >rendered.yaml &&
	cat rendered.yaml &&
	test_grep "name: web" rendered.yaml &&
	test_grep "version: \"3\"" rendered.yaml
'

test_expect_success 'an unknown host key: refused before anything is sent' '
	: >"$TMP/empty_kh" &&
	KH=$TMP/empty_kh &&
	gitops_env app &&
	cd app-work &&
	tip=$(git --git-dir="$SERVER" rev-parse main) &&
	sed -i "s/\"3\"/\"4\"/" deploy/cm.yaml &&
	git commit -q -a -m "web: fourth version" &&
	push origin main &&
	deploy_failed k8s HEAD &&
	test_grep "unknown host key for .$REMOTE. (ssh-ed25519 SHA256:" \
		"$TMP/push.err" &&
	test_grep "pushgate trust k8s" "$TMP/push.err" &&
	test "$(git --git-dir="$SERVER" rev-parse main)" = "$tip" &&
	: pushgate trust records the key of the Git server, with its port &&
	pg -C "$TMP/app.git" trust --yes k8s &&
	test_grep "^\[127.0.0.1\]:$SSHD_PORT1 ssh-ed25519 " "$TMP/empty_kh" &&
	pg -C "$TMP/app.git" deploy k8s &&
	same_as_artifact "$TMP/app-work/deploy" main
'

test_expect_success 'a changed host key: refused likewise' '
	ssh-keygen -q -t ed25519 -N "" -f "$TMP/other_host" &&
	printf "[127.0.0.1]:%s %s\n" "$SSHD_PORT1" \
		"$(cut -d" " -f1,2 "$TMP/other_host.pub")" >"$TMP/changed_kh" &&
	KH=$TMP/changed_kh &&
	gitops_env app &&
	cd app-work &&
	tip=$(git --git-dir="$SERVER" rev-parse main) &&
	pg_status=0 &&
	pg -C "$TMP/app.git" deploy --force k8s || pg_status=$? &&
	test "$pg_status" != 0 &&
	test_grep "host key for .$REMOTE. has changed" "$TMP/pg.err" &&
	test "$(git --git-dir="$SERVER" rev-parse main)" = "$tip"
'

test_expect_success 'a key the server does not accept: a clear failure' '
	ssh-keygen -q -t ed25519 -N "" -f "$TMP/stranger" &&
	KH= &&
	KEY=$TMP/stranger &&
	gitops_env app &&
	cd app-work &&
	tip=$(git --git-dir="$SERVER" rev-parse main) &&
	pg_status=0 &&
	pg -C "$TMP/app.git" deploy --force k8s || pg_status=$? &&
	test "$pg_status" != 0 &&
	test_grep "refused the key" "$TMP/pg.err" &&
	test "$(git --git-dir="$SERVER" rev-parse main)" = "$tip" &&
	: the right key again: it deploys &&
	KEY= &&
	gitops_env app &&
	pg -C "$TMP/app.git" deploy k8s &&
	same_as_artifact "$TMP/app-work/deploy" main
'

test_done
