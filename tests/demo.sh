#!/bin/sh
# demo.sh - `make demo`: pushgate end to end on this machine, in a
# throwaway directory. A bare repository with the hooks installed by
# install.sh, a `local` staging environment, a sample app pushed twice:
# the first release goes live, the second replaces it atomically.
#
#   PUSHGATE_BUILD=build sh tests/demo.sh [DIR]
set -eu

srcdir=$(cd -P -- "$(dirname -- "$0")/.." && pwd)
build=${PUSHGATE_BUILD:-$srcdir/build}
case $build in /*) ;; *) build=$srcdir/$build ;; esac
dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/pushgate-demo.XXXXXX")}
repo=$dir/app.git
work=$dir/app
site=$dir/srv/staging
PATH=$build:$PATH
export PATH

say() { printf '\n== %s\n' "$*"; }
unset GIT_DIR GIT_WORK_TREE
# Over a local path the hooks see the pusher's environment: name the
# pusher for the history, as an SSH or HTTP front end would.
PUSHGATE_USER=${USER:-$(id -un)}
export PUSHGATE_USER

say "1. install pushgate into a new bare repository: $repo"
PUSHGATE_BUILD=$build "$srcdir/install.sh" --init "$repo"

say "2. configure: tests on every push, staging deploys 'main' on this machine"
cat >"$repo/hooks.ini" <<INI
[verify]
commit_message = ^(feat|fix|docs|chore): .+
forbid_paths = *.pem *.key
test = sh ./test.sh

[environment "staging"]
branch = main
mode = auto
hosts = local
path = $site
shared = logs/
keep = 3
healthcheck = grep -q pushgate index.html
INI
chmod 600 "$repo/hooks.ini"
pushgate -C "$repo" check

say "3. a sample app, pushed with git"
git init -q -b main "$work"
cd "$work"
git config user.name "Demo User"
git config user.email demo@example.com
cat >index.html <<'HTML'
<h1>Hello from pushgate, release one</h1>
HTML
cat >test.sh <<'SH'
#!/bin/sh
echo "checking index.html"
grep -q '<h1>' index.html
SH
git add index.html test.sh
git commit -q -m "feat: first release"
git push "$repo" main

say "4. live: $site/current"
ls -l "$site"
cat "$site/current/index.html"

say "5. a commit that breaks the rules is refused"
git commit -q --allow-empty -m "quick fix"
if git push "$repo" main; then
	echo "demo: the push should have been rejected" >&2
	exit 1
fi
git reset -q --hard HEAD~1

say "6. a change: the new release replaces the old one atomically"
sed -i 's/release one/release two/' index.html
git commit -q -a -m "feat: second release"
git push "$repo" main
ls -l "$site" "$site/releases"
cat "$site/current/index.html"

say "7. what pushgate recorded"
pushgate -C "$repo" history
pushgate -C "$repo" status staging

say "done. Look around:"
echo "  the repository:     $repo (hooks.ini, pushgate/history)"
echo "  the work tree:      $work"
echo "  the deployed site:  $site (current -> releases/...)"
echo "  rollback:           pushgate -C $repo rollback staging"
echo "  clean up:           rm -rf $dir"
