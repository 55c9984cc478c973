#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t0300-config.sh - hooks.ini errors fail closed (SPEC section 3,
# STYLE section 7): pre-receive rejects every push and shows the
# `hooks.ini:LINE: message` lines to the pusher; `pushgate check` exits 2
# with the same lines, 0 on a good or missing configuration.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"

example=$PUSHGATE_SRCDIR/hooks.ini.example

# pushes_fail_closed: with the current (broken) hooks.ini of cfg.git,
# a fast-forward, a new branch, a new tag and a branch deletion are all
# rejected and no ref of the repository changes. Runs in $TMP/cfg-work.
pushes_fail_closed()
{
	pushes_before_=$(refs_of cfg) &&
	git commit -q --allow-empty -m "a harmless commit" &&
	test_must_fail push origin main &&
	test_grep "remote rejected" "$TMP/push.err" &&
	test_must_fail push origin main:brand-new &&
	git tag -f harmless &&
	test_must_fail push origin harmless &&
	test_must_fail push origin :spare &&
	test "$(refs_of cfg)" = "$pushes_before_" &&
	git tag -d harmless >/dev/null &&
	git reset -q --hard origin/main
}

# bad_config LINE PATTERN <ini: install the configuration, then check that
# a push is rejected showing `hooks.ini:LINE: ...PATTERN` to the pusher,
# and that `pushgate check` exits 2 printing the same on stderr.
bad_config()
{
	write_hooks_ini cfg &&
	(
		cd "$TMP/cfg-work" &&
		before=$(refs_of cfg) &&
		git commit -q --allow-empty -m "a harmless commit" &&
		test_must_fail push origin main &&
		test_grep "^remote: pushgate: .*hooks.ini:$1: .*$2" \
			"$TMP/push.err" &&
		test_grep "remote rejected" "$TMP/push.err" &&
		test_grep ! "pushgate: ok " "$TMP/push.err" &&
		test_grep ! -i "sanitizer\|runtime error" "$TMP/push.err" &&
		test "$(refs_of cfg)" = "$before" &&
		git reset -q --hard origin/main
	) &&
	test_expect_code 2 pushgate -C "$TMP/cfg.git" check \
		>"$TMP/check.out" 2>"$TMP/check.err" &&
	test_grep "hooks.ini:$1: .*$2" "$TMP/check.err"
}

good_ini='[verify]
protected = main
commit_message = .
max_file_size = 1M
'

test_expect_success 'setup: a good configuration accepts a push' '
	printf "%s" "$good_ini" | setup_repo cfg &&
	setup_clone cfg &&
	cd cfg-work &&
	commit_file a.txt one "first" &&
	push origin main main:spare &&
	accepted refs/heads/main &&
	accepted refs/heads/spare
'

test_expect_success 'pushgate -C REPO check: exit 0 on a good configuration' '
	pushgate -C "$TMP/cfg.git" check >out 2>err &&
	test_grep "ok" out &&
	test_grep ! "error" err
'

test_expect_success 'pushgate check inside the repository, without -C' '
	(cd cfg.git && pushgate check) >out 2>err &&
	test_grep "ok" out
'

test_expect_success 'a misspelled key rejects every push, with did-you-mean' '
	bad_config 3 "comit_message.*did you mean .commit_message." <<-\EOF &&
	[verify]
	protected = main
	comit_message = ^x
	EOF
	test_cmp_expected check-misspelled-key "$TMP/check.err" &&
	cd cfg-work &&
	pushes_fail_closed
'

test_expect_success 'a misspelled section name: did-you-mean' '
	bad_config 1 "verfy.*did you mean .*verify" <<-\EOF &&
	[verfy]
	protected = main
	EOF
	test_cmp_expected check-misspelled-section "$TMP/check.err"
'

test_expect_success 'a misspelled key in an environment: did-you-mean' '
	bad_config 4 "brnch.*did you mean .branch." <<-\EOF
	[verify]
	protected = main
	[environment "staging"]
	brnch = develop
	branch = develop
	path = /srv/app
	EOF
'

test_expect_success 'a bad size is an error' '
	bad_config 3 "max_file_size" <<-\EOF &&
	[verify]

	max_file_size = 10X
	EOF
	test_cmp_expected check-bad-size "$TMP/check.err"
'

test_expect_success 'a bad boolean is an error' '
	bad_config 2 "protect_tags" <<-\EOF
	[verify]
	protect_tags = maybe
	EOF
'

test_expect_success 'a bad regular expression is an error' '
	bad_config 2 "commit_message" <<-\EOF
	[verify]
	commit_message = ^(feat|fix
	EOF
'

test_expect_success 'a bad test_timeout is an error' '
	bad_config 2 "test_timeout" <<-\EOF
	[verify]
	test_timeout = soon
	EOF
'

test_expect_success 'an environment without branch is an error' '
	bad_config 3 "branch" <<-\EOF &&
	[verify]
	protected = main
	[environment "staging"]
	path = /srv/app
	EOF
	test_cmp_expected check-environment-without-branch "$TMP/check.err"
'

test_expect_success 'two environments on the same branch are an error' '
	bad_config "[0-9][0-9]*" "main" <<-\EOF &&
	[environment "staging"]
	branch = main
	path = /srv/staging
	[environment "prod"]
	branch = main
	path = /srv/prod
	EOF
	test_grep "staging" "$TMP/check.err" &&
	test_grep "prod" "$TMP/check.err"
'

test_expect_success 'a bad environment name is an error' '
	bad_config 1 "Prod" <<-\EOF
	[environment "Prod"]
	branch = main
	path = /srv/prod
	EOF
'

test_expect_success 'a relative environment path is an error' '
	bad_config 3 "path" <<-\EOF
	[environment "prod"]
	branch = main
	path = srv/prod
	EOF
'

test_expect_success 'a key outside any section is an error' '
	bad_config 1 "protected" <<-\EOF
	protected = main
	[verify]
	EOF
'

test_expect_success 'a duplicate key is an error' '
	bad_config 3 "protected" <<-\EOF
	[verify]
	protected = main
	protected = develop
	EOF
'

test_expect_success 'a line that is not INI is an error' '
	bad_config 2 "" <<-\EOF
	[verify]
	this is not a key value line
	EOF
'

test_expect_success 'every error is reported, not only the first' '
	bad_config 2 "max_file_size" <<-\EOF &&
	[verify]
	max_file_size = lots
	protected = main
	protect_tags = perhaps
	EOF
	test_grep "hooks.ini:4: .*protect_tags" "$TMP/check.err" &&
	test_grep "hooks.ini:4: .*protect_tags" "$TMP/push.err" &&
	test_cmp_expected check-every-error "$TMP/check.err"
'

test_expect_success 'fixing the configuration accepts pushes again' '
	printf "%s" "$good_ini" | write_hooks_ini cfg &&
	pushgate -C "$TMP/cfg.git" check &&
	cd cfg-work &&
	commit_file b.txt two "second" &&
	push origin main &&
	accepted refs/heads/main
'

test_expect_success 'a group-writable hooks.ini is refused, with the chmod hint' '
	chmod 660 cfg.git/hooks.ini &&
	cd cfg-work &&
	pushes_fail_closed &&
	test_grep "^remote: pushgate: .*chmod go-w" "$TMP/push.err" &&
	test_expect_code 2 pushgate -C "$TMP/cfg.git" check 2>"$TMP/check.err" &&
	test_grep "chmod go-w" "$TMP/check.err" &&
	test_cmp_expected check-group-writable "$TMP/check.err"
'

test_expect_success 'a world-writable hooks.ini is refused too' '
	chmod 602 cfg.git/hooks.ini &&
	cd cfg-work &&
	pushes_fail_closed &&
	test_grep "chmod go-w" "$TMP/push.err" &&
	test_expect_code 2 pushgate -C "$TMP/cfg.git" check &&
	chmod 600 "$TMP/cfg.git/hooks.ini" &&
	pushgate -C "$TMP/cfg.git" check
'

test_expect_success 'a symlinked hooks.ini is refused' '
	mv cfg.git/hooks.ini cfg.git/real.ini &&
	ln -s real.ini cfg.git/hooks.ini &&
	cd cfg-work &&
	pushes_fail_closed &&
	test_grep "^remote: pushgate: .*hooks.ini" "$TMP/push.err" &&
	test_expect_code 2 pushgate -C "$TMP/cfg.git" check 2>"$TMP/check.err" &&
	test_grep "hooks.ini" "$TMP/check.err"
'

test_expect_success 'a dangling symlink is not a missing hooks.ini' '
	rm cfg.git/hooks.ini &&
	ln -s nowhere.ini cfg.git/hooks.ini &&
	cd cfg-work &&
	pushes_fail_closed &&
	test_expect_code 2 pushgate -C "$TMP/cfg.git" check
'

test_expect_success 'a directory named hooks.ini is refused' '
	rm cfg.git/hooks.ini &&
	mkdir cfg.git/hooks.ini &&
	cd cfg-work &&
	pushes_fail_closed &&
	test_expect_code 2 pushgate -C "$TMP/cfg.git" check &&
	rmdir "$TMP/cfg.git/hooks.ini" &&
	mv "$TMP/cfg.git/real.ini" "$TMP/cfg.git/hooks.ini" &&
	pushgate -C "$TMP/cfg.git" check
'

test_expect_success 'no hooks.ini: pushgate check exits 0' '
	setup_repo none &&
	rm none.git/hooks.ini &&
	pushgate -C "$TMP/none.git" check >out 2>err &&
	test_grep ! "error" err
'

# config_loads NAME: `pushgate check` finds no configuration error in
# $TMP/NAME.git/hooks.ini. It may still exit 1 because it cannot reach
# the example's SSH hosts (SPEC section 7), but never 2, and prints no
# `hooks.ini:LINE:` problem.
config_loads()
{
	config_loads_status_=0
	pushgate -C "$TMP/$1.git" check >"$TMP/check.out" 2>"$TMP/check.err" ||
		config_loads_status_=$?
	echo "pushgate check: exit $config_loads_status_" >&2
	cat "$TMP/check.out" "$TMP/check.err" >&2
	test_grep ! "hooks.ini:[0-9]" "$TMP/check.err" &&
	test_grep ! "hooks.ini:[0-9]" "$TMP/check.out" &&
	test "$config_loads_status_" -le 1
}

# uncomment <FILE: FILE with the comment markers removed from the lines
# that hold a key (`# key = value`, `; key = value`) or a section header.
uncomment()
{
	sed -e "s/^[;#][[:blank:]]*\(\[[a-z][^]]*\]\)[[:blank:]]*\$/\1/" \
	    -e "s/^[;#][[:blank:]]*\([a-z][a-z_]*[[:blank:]]*=\)/\1/" "$1"
}

test_expect_success 'hooks.ini.example itself loads cleanly' '
	test -f "$example" &&
	setup_repo example <"$example" &&
	cmp "$example" example.git/hooks.ini &&
	config_loads example
'

test_expect_success 'the hooks.ini written by install.sh loads cleanly' '
	setup_repo fresh &&
	test -f fresh.git/hooks.ini &&
	config_loads fresh
'

test_expect_success 'the hooks.ini written by install.sh accepts a first push' '
	setup_clone fresh &&
	cd fresh-work &&
	commit_file README hello "hello" &&
	push origin main &&
	accepted refs/heads/main
'

# A window takes start with end, start with duration, or from with until:
# the example documents all of them in [window "weekend"], whose shape is
# start and end, so the other two are left commented there.
test_expect_success 'the installed hooks.ini with every key uncommented loads cleanly' '
	uncomment fresh.git/hooks.ini |
		sed "/^\[window \"weekend\"\]/,/^\[/{/^\(duration\|from\|until\) =/d;}" \
		>uncommented.ini &&
	test_grep "^start = " uncommented.ini &&
	test_grep "^from = " uncommented.ini &&
	grep -c "^[a-z][a-z_]* *=" uncommented.ini >nkeys &&
	test "$(cat nkeys)" -gt 40 &&
	grep -c "^\[" uncommented.ini >nsections &&
	test "$(cat nsections)" -ge 4 &&
	write_hooks_ini fresh <uncommented.ini &&
	config_loads fresh
'

test_done
