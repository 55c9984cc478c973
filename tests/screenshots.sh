#!/bin/sh
# screenshots.sh - `make screenshots`: the status page of a demo
# repository, rendered by a real browser at desktop and phone width.
#
#   PUSHGATE_BUILD=/abs/build sh tests/screenshots.sh [OUTDIR]
#
# Builds a throwaway bare repository with three `local` environments
# (staging deploys main on push; production and europe are manual and
# require staging), pushes and deploys some history (a deploy whose
# healthcheck fails among it, commit subjects long enough to wrap),
# holds europe with `pushgate lock`, then has chromium-headless-shell
# (installed with apt-get when missing and run as root) take
# OUTDIR/status-1280.png (1280x800) and OUTDIR/status-390.png (390x844),
# and full-length OUTDIR/status-*-full.png. OUTDIR defaults to
# build/screenshots/; the page itself is kept there as status.html.
set -eu

srcdir=$(cd -P -- "$(dirname -- "$0")/.." && pwd)
build=${PUSHGATE_BUILD:-$srcdir/build}
case $build in /*) ;; *) build=$srcdir/$build ;; esac
out=${1:-$srcdir/build/screenshots}
chrome=/usr/bin/chromium-headless-shell
PATH=$build:$PATH
export PATH
unset GIT_DIR GIT_WORK_TREE
LC_ALL=C
TZ=UTC
export LC_ALL TZ

say() { printf 'screenshots: %s\n' "$*" >&2; }

if ! test -x "$chrome"
then
	if test "$(id -u)" = 0 && command -v apt-get >/dev/null 2>&1
	then
		say "installing chromium-headless-shell"
		DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends chromium-headless-shell >&2
	else
		say "needs $chrome: apt-get install chromium-headless-shell"
		exit 1
	fi
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/pushgate-shots.XXXXXX")
trap 'rm -rf -- "$dir"' EXIT
repo=$dir/shop.git
work=$dir/work
HOME=$dir
export HOME
git config --global user.name "Ada Lovelace"
git config --global user.email ada@example.com
git config --global init.defaultBranch main

sh "$srcdir/install.sh" --init "$repo" >/dev/null
cat >"$repo/hooks.ini" <<INI
[core]
status_page = $dir/www

[environment "staging"]
branch = main
hosts = local
path = $dir/srv/staging
healthcheck = test ! -e broken

[environment "production"]
branch = production
mode = manual
requires = staging
approvers = ada grace
hosts = local
path = $dir/srv/production

[environment "europe"]
branch = europe
mode = manual
requires = production
approvers = grace
hosts = local
path = $dir/srv/europe
INI
chmod 600 "$repo/hooks.ini"

git clone -q "$repo" "$work" 2>/dev/null
cd "$work"
commit() {
	printf '%s\n' "$1" >>app.txt
	git add app.txt
	git commit -q -m "$1"
}
push() {
	PUSHGATE_USER=$1 git push -q origin "HEAD:${2:-main}" \
		>/dev/null 2>&1 || :
}
# approve USER ENV: USER deploys HEAD to ENV by pushing refs/deploy/ENV
approve() {
	PUSHGATE_USER=$1 git push -q origin "HEAD:refs/deploy/$2" \
		>/dev/null 2>&1 || :
}
commit "feat: first storefront with product list and cart"
push ada
push ada production
push ada europe
approve grace production
approve grace europe
commit "fix: prices in the cart are rounded half to even, as the accountants asked, instead of always up"
push linus
touch broken
git add broken
git commit -q -m "chore: add a marker file that the healthcheck refuses"
push margaret
git rm -q broken
git commit -q -m "fix: remove the marker file again"
push ada
push ada production
approve ada production
push ada europe
commit "feat: a very long subject line that goes on and on to show how the page wraps or clips text that does not fit in a card on a phone"
push ada
commit "docs: explain how to deploy"
push ada
push ada production
pushgate -C "$repo" lock europe \
	-m "EU data-centre maintenance until Monday" >/dev/null 2>&1
pushgate -C "$repo" page >/dev/null

mkdir -p "$out"
cp "$repo/pushgate/status.html" "$out/status.html"
cp "$repo/pushgate/status.json" "$out/status.json"
shot() {
	"$chrome" --no-sandbox --headless --disable-gpu --hide-scrollbars \
		--screenshot="$out/$1" --window-size="$2" \
		"file://$out/status.html" >/dev/null 2>&1
	say "wrote $out/$1"
}
shot status-1280.png 1280,800
shot status-390.png 390,844
shot status-1280-full.png 1280,2200
shot status-390-full.png 390,4200
