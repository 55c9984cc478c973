#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t0100-install.sh - install.sh (SPEC section 2).
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"

install=$PUSHGATE_SRCDIR/install.sh
example=$PUSHGATE_SRCDIR/hooks.ini.example

# is_bare DIR: DIR is a bare repository.
is_bare()
{
	test "$(git --git-dir="$1" rev-parse --is-bare-repository)" = true
}

# installed_hooks_ok REPO: both hooks are the built ones, mode 755.
installed_hooks_ok()
{
	for h in pre-receive post-receive
	do
		cmp "$PUSHGATE_BUILD/$h" "$1/hooks/$h" &&
		test "$(test_mode "$1/hooks/$h")" = -rwxr-xr-x || return 1
	done
}

# no_leftovers REPO: no temporary file of install.sh is left behind.
no_leftovers()
{
	ls -A "$1" "$1/hooks" >leftovers &&
	test_grep ! pushgate-install leftovers
}

test_expect_success '--init creates a bare repository with the hooks' '
	sh "$install" --init "$TMP/app.git" >out 2>err &&
	is_bare "$TMP/app.git" &&
	installed_hooks_ok "$TMP/app.git" &&
	no_leftovers "$TMP/app.git"
'

# The example with every setting commented out, as install.sh writes it.
sed -e "s/^\([^#;[:space:]]\)/# \1/" "$example" >inert.expected

test_expect_success 'hooks.ini is the example, inert, mode 0600' '
	tail -n +5 app.git/hooks.ini >inert.actual &&
	cmp inert.expected inert.actual &&
	! grep -v "^[#;]" app.git/hooks.ini | grep -q "[^[:space:]]" &&
	test "$(test_mode app.git/hooks.ini)" = -rw-------
'

test_expect_success 'push options are advertised' '
	test "$(git config --file app.git/config \
		receive.advertisePushOptions)" = true
'

test_expect_success 'it says what to edit next' '
	test_grep "$TMP/app.git/hooks.ini" out &&
	test_grep "pushgate.* check" out
'

test_expect_success 'a second run changes nothing, keeps an edited hooks.ini' '
	echo "; edited by the admin" >>app.git/hooks.ini &&
	cp app.git/hooks.ini edited &&
	sh "$install" app.git &&
	sh "$install" --init app.git &&
	cmp edited app.git/hooks.ini &&
	test "$(test_mode app.git/hooks.ini)" = -rw------- &&
	installed_hooks_ok app.git &&
	test "$(git config --file app.git/config --get-all \
		receive.advertisePushOptions)" = true &&
	no_leftovers app.git
'

test_expect_success 'a foreign pre-receive is refused without --force' '
	printf "#!/bin/sh\nexit 0\n" >app.git/hooks/pre-receive &&
	cp app.git/hooks/pre-receive foreign &&
	test_expect_code 1 sh "$install" app.git 2>err &&
	test_grep "pre-receive" err &&
	test_grep -e "--force" err &&
	cmp foreign app.git/hooks/pre-receive &&
	cmp "$PUSHGATE_BUILD/post-receive" app.git/hooks/post-receive
'

test_expect_success '--force replaces a foreign hook' '
	sh "$install" --force app.git &&
	installed_hooks_ok app.git &&
	cmp edited app.git/hooks.ini &&
	no_leftovers app.git
'

test_expect_success 'an older pushgate hook is replaced without --force' '
	printf "#!/bin/sh\n# pushgate-hook-marker (old)\n" \
		>app.git/hooks/post-receive &&
	sh "$install" app.git &&
	installed_hooks_ok app.git
'

test_expect_success 'an existing bare repository with sample hooks' '
	git init -q --bare plain.git &&
	ls plain.git/hooks/pre-receive.sample &&
	! test -e plain.git/hooks/pre-receive &&
	sh "$install" plain.git &&
	installed_hooks_ok plain.git &&
	tail -n +5 plain.git/hooks.ini >inert.actual &&
	cmp inert.expected inert.actual &&
	test "$(git config --file plain.git/config \
		receive.advertisePushOptions)" = true
'

test_expect_success 'the installed hooks accept a push with push options' '
	setup_clone plain &&
	cd plain-work &&
	commit_file README "hello" "Add README" &&
	push -o ci.skip origin main &&
	git --git-dir="$TMP/plain.git" rev-parse --verify refs/heads/main
'

test_expect_success 'a non-bare repository is refused' '
	git init -q work &&
	test_expect_code 1 sh "$install" work 2>err &&
	test_grep "not a bare" err &&
	test_expect_code 1 sh "$install" --init work/.git 2>err &&
	test_grep "not a bare" err &&
	! test -e work/hooks.ini &&
	! test -e work/.git/hooks.ini &&
	! test -e work/.git/hooks/pre-receive
'

test_expect_success 'a plain directory, or a missing one without --init' '
	mkdir stuff &&
	echo data >stuff/file &&
	test_must_fail sh "$install" stuff 2>err &&
	test_grep "not a bare" err &&
	test_must_fail sh "$install" --init stuff 2>err &&
	test_must_fail sh "$install" missing.git 2>err &&
	test_grep -e "--init" err &&
	! test -e missing.git
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 sh "$install" 2>err &&
	test_grep "^usage: install.sh" err &&
	test_expect_code 2 sh "$install" --frobnicate app.git 2>err &&
	test_grep "^usage: install.sh" err &&
	test_expect_code 2 sh "$install" app.git plain.git 2>err &&
	test_grep "^usage: install.sh" err
'

# A copy of install.sh in a fake source tree whose Makefile "builds" hooks
# (scripts carrying the marker), and a fake `make install` layout.
fake_hook='#!/bin/sh
# pushgate-hook-marker (fake)
exit 0'

test_expect_success 'the binaries are built when missing' '
	mkdir src &&
	cp "$install" src/install.sh &&
	cp "$example" src/hooks.ini.example &&
	printf "%s\n" "$fake_hook" >src/hook &&
	printf "all:\n\tmkdir -p build\n" >src/Makefile &&
	printf "\tcp hook build/pre-receive\n" >>src/Makefile &&
	printf "\tcp hook build/post-receive\n" >>src/Makefile &&
	printf "\tchmod 755 build/pre-receive build/post-receive\n" \
		>>src/Makefile &&
	(unset PUSHGATE_BUILD && sh src/install.sh --init built.git) &&
	test -x src/build/pre-receive &&
	cmp src/hook built.git/hooks/pre-receive &&
	cmp src/hook built.git/hooks/post-receive
'

test_expect_success 'installed by make install: binaries from PREFIX/bin' '
	mkdir -p prefix/bin prefix/share/pushgate &&
	cp "$install" "$example" prefix/share/pushgate/ &&
	for h in pre-receive post-receive
	do
		printf "%s\n" "$fake_hook" >prefix/bin/$h &&
		chmod 755 prefix/bin/$h || return 1
	done &&
	(unset PUSHGATE_BUILD &&
		sh prefix/share/pushgate/install.sh --init prefixed.git) &&
	cmp prefix/bin/pre-receive prefixed.git/hooks/pre-receive
'

test_done
