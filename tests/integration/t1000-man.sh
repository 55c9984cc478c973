#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t1000-man.sh - the manual pages man/pushgate.1 and man/hooks.ini.5: they
# cover every verb of the CLI and every key of hooks.ini.example, are
# well-formed roff, render without warnings, and `make install` installs
# them.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"

man1=$PUSHGATE_SRCDIR/man/pushgate.1
man5=$PUSHGATE_SRCDIR/man/hooks.ini.5
example=$PUSHGATE_SRCDIR/hooks.ini.example

have()
{
	command -v "$1" >/dev/null 2>&1
}

# render PAGE OUT: PAGE as plain text in OUT, on lines long enough that
# nothing wraps, runs of spaces squeezed. Returns 2 if neither groff nor
# mandoc is installed.
render()
{
	if have groff
	then
		groff -man -Tascii -rLL=1000n -P-cbou "$1" >"$2.raw" || return 1
	elif have mandoc
	then
		mandoc -Tascii -Owidth=1000 "$1" |
			sed "s/.$(printf '\b')//g" >"$2.raw" || return 1
	else
		return 2
	fi
	tr -s ' ' <"$2.raw" >"$2" &&
	test -s "$2"
}

# well_formed PAGE NAME SECTION: the roff source of PAGE is plain man(7)
# that groff and mandoc read as intended, checked without either of them.
well_formed()
{
	# One .TH, first of all but comments: NAME SECTION DATE SOURCE MANUAL.
	grep -v '^\.\\"' "$1" | head -n 1 >th &&
	grep -E -x "\\.TH $2 $3 [0-9]{4}-[0-9]{2}-[0-9]{2} \"[^\"]+\" \"[^\"]+\"" th &&
	test "$(grep -c '^\.TH' "$1")" = 1 &&
	# NAME first, then "name \- what it is" on one line.
	grep '^\.SH' "$1" | head -n 1 >first-sh &&
	grep -x '\.SH NAME' first-sh &&
	sed -n '/^\.SH NAME$/{n;p;}' "$1" >name &&
	grep -E '^[a-z][a-z0-9.-]* \\- [^ ]' name &&
	# Every control line is a man(7) macro: a text line that starts with
	# a dot or a quote would be swallowed as an unknown request.
	{
		grep -E '^[.'\'']' "$1" |
		grep -v -E '^\.(\\"|TH|SH|SS|PP|LP|P|TP|IP|RS|RE|B|I|BR|RB|BI|IB|IR|RI|br|sp|nf|fi)( |$)' \
			>bad-macros || :
	} &&
	test_grep ! . bad-macros &&
	# Every backslash starts an escape meant as one: \e for a backslash.
	{
		grep -n '\\[^-e&f("%c ]' "$1" | grep -v '^[0-9]*:\.\\"' \
			>bad-escapes || :
	} &&
	test_grep ! . bad-escapes &&
	{
		grep -n -E '\\f[^BIRP]|\\\([^a-z]|\\\([a-z][^a-z]' "$1" \
			>bad-fonts || :
	} &&
	test_grep ! . bad-fonts &&
	# .nf and .fi, .RS and .RE pair up.
	test "$(grep -c '^\.nf' "$1")" = "$(grep -c '^\.fi' "$1")" &&
	test "$(grep -c '^\.RS' "$1")" = "$(grep -c '^\.RE' "$1")"
}

# has_sections PAGE SECTION...: PAGE has a `.SH SECTION` for each.
has_sections()
{
	has_sections_page_=$1
	shift
	for s in "$@"
	do
		grep -F -x -q ".SH $s" "$has_sections_page_" || {
			echo "no section '$s' in $has_sections_page_" >&2
			return 1
		}
	done
}

# tp_tags PAGE: "SECTION TAG" for every `.TP` entry whose tag is a plain
# `.B word` (a key or a variable) under a `.SH [section]` heading of PAGE;
# `[environment \(dqNAME\(dq]` counts as `[environment]`.
tp_tags()
{
	awk '
		/^\.SH \[/ { sec = $2; sub(/\].*/, "", sec); sec = sec "]" }
		/^\.SH / && !/^\.SH \[/ { sec = "" }
		prev == ".TP" && /^\.B [A-Za-z_]+$/ { print (sec == "" ? "-" : sec), $2 }
		{ prev = $0 }
	' "$1" | sort -u
}

# deroff PAGE: PAGE's source with \- as - and without font escapes, for
# looking up words when no formatter is installed.
deroff()
{
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\&//g' "$1"
}

test_expect_success 'the pages exist' '
	test -s "$man1" &&
	test -s "$man5"
'

test_expect_success 'every verb of pushgate --help is in pushgate.1' '
	pushgate --help >help &&
	sed -n "s/^  pushgate \([a-z][a-z-]*\) .*/\1/p" help >verbs &&
	test_grep -x deploy verbs &&
	while read -r verb
	do
		# in the SYNOPSIS, and as a COMMANDS entry
		grep -x -q "\.B $verb" "$man1" &&
		grep -q "^\.BR \"pushgate $verb " "$man1" || {
			echo "verb $verb is not documented in $man1" >&2
			return 1
		}
	done <verbs &&
	has_sections "$man1" COMMANDS OPTIONS
'

test_expect_success 'the global options and exit codes are in pushgate.1' '
	pushgate --help >help &&
	test_grep -e "\[-C DIR\]" help &&
	grep -q "^\.BI \\\\-C " "$man1" &&
	grep -q "\\\\-\\\\-help" "$man1" &&
	grep -q "\\\\-\\\\-version" "$man1" &&
	has_sections "$man1" "EXIT STATUS" &&
	sed -n "/^\.SH EXIT STATUS/,/^\.SH/p" "$man1" >exit-status &&
	for code in 0 1 2
	do
		test_grep -x "\.B $code" exit-status || return 1
	done
'

test_expect_success 'the usage line of every verb is in pushgate.1' '
	pushgate --help >help &&
	sed -n "s/^  \(pushgate [a-z][a-z-]* *.*\)/\1/p" help |
		sed "s/   *.*//" >usages &&
	test_grep "^pushgate deploy " usages &&
	status=0 &&
	render "$man1" page1.txt || status=$? &&
	if test "$status" = 0
	then
		while read -r usage
		do
			grep -F -q -- "$usage" page1.txt || {
				echo "usage line not in $man1: $usage" >&2
				return 1
			}
		done <usages
	elif test "$status" = 2
	then
		# no groff, no mandoc: every word of each line in the source
		deroff "$man1" >man1.txt &&
		while read -r usage
		do
			for word in $usage
			do
				word=$(printf "%s\n" "$word" | tr -d "[]") &&
				grep -F -q -- "$word" man1.txt || {
					echo "not in $man1: $word ($usage)" >&2
					return 1
				}
			done
		done <usages
	else
		return 1
	fi
'

# "[section] key" for every key of hooks.ini.example (`key =` or
# `# key =`).
example_keys()
{
	sed -n -e 's/^\(# \)\{0,1\}\[\([a-z]*\).*/[\2]/p' \
		-e 's/^\(# \)\{0,1\}\([a-z_][a-z_]*\) =.*/\2/p' "$example" |
		awk '/^\[/ { sec = $1; next } { print sec, $1 }' | sort -u
}

test_expect_success 'every key of hooks.ini.example is in hooks.ini.5' '
	example_keys >example-keys &&
	test "$(wc -l <example-keys)" -ge 30 &&
	test_grep -x "\[core\] user_vars" example-keys &&
	test_grep -x "\[environment\] command_timeout" example-keys &&
	while read -r section key
	do
		grep -x -q "\.B $key" "$man5" || {
			echo "key $key is not documented in $man5" >&2
			return 1
		}
	done <example-keys
'

test_expect_success 'each key is an entry of its own section' '
	example_keys >example-keys &&
	tp_tags "$man5" >man-keys &&
	test_grep -x "\[verify\] test_timeout" man-keys &&
	test_grep -x "\[environment\] branch" man-keys &&
	comm -23 example-keys man-keys >misplaced &&
	test_grep ! . misplaced
'

test_expect_success 'hooks.ini.5 names every PUSHGATE_ variable the code sets' '
	grep -h -o "\"PUSHGATE_[A-Z_]*[=\"]" "$PUSHGATE_SRCDIR"/common/*.c |
		tr -d "=\"" | sort -u >vars &&
	test_grep -x PUSHGATE_REF vars &&
	test_grep -x PUSHGATE_COMMIT vars &&
	while read -r var
	do
		grep -x -q "\.B $var" "$man5" || {
			echo "$var is not documented in $man5" >&2
			return 1
		}
	done <vars
'

test_expect_success 'hooks.ini.5 has the format, the example and the errors' '
	has_sections "$man5" NAME SYNOPSIS DESCRIPTION "FILE FORMAT" \
		"[core]" "[verify]" "[environment \\(dqNAME\\(dq]" \
		"COMMANDS AND THEIR ENVIRONMENT" EXAMPLE FILES "SEE ALSO" &&
	sed -n "/^\.SH EXAMPLE/,/^\.SH/p" "$man5" >example &&
	test_grep -x "mode = auto" example &&
	test_grep -x "mode = manual" example &&
	test_grep "^requires = " example &&
	test_grep "^approvers = " example &&
	test_grep "hooks.ini:\\\\fILINE\\\\fP: \\\\fImessage" "$man5" &&
	test_grep "did you mean" "$man5"
'

test_expect_success 'the roff source is well-formed' '
	well_formed "$man1" PUSHGATE 1 &&
	well_formed "$man5" HOOKS.INI 5 &&
	has_sections "$man1" NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS \
		"EXIT STATUS" FILES ENVIRONMENT EXAMPLES "SEE ALSO"
'

test_expect_success 'the pages render without warnings' '
	checked=0 &&
	if have groff
	then
		groff -man -Tutf8 -ww -z "$man1" "$man5" 2>warnings &&
		test_grep ! . warnings &&
		render "$man1" page1.txt &&
		render "$man5" page5.txt &&
		test_grep "^PUSHGATE(1)" page1.txt &&
		test_grep "^HOOKS.INI(5)" page5.txt &&
		test_grep "^ pushgate - continuous delivery" page1.txt &&
		checked=1
	fi &&
	if have mandoc
	then
		mandoc -Tlint -W warning "$man1" "$man5" >lint 2>&1 &&
		test_grep ! . lint &&
		checked=1
	fi &&
	if test "$checked" = 0
	then
		echo "neither groff nor mandoc: checking the roff source only" &&
		well_formed "$man1" PUSHGATE 1 &&
		well_formed "$man5" HOOKS.INI 5
	fi
'

# make_install DESTDIR: `make install PREFIX=/usr DESTDIR=...` with the
# binaries of this test run (PUSHGATE_BUILD), outside any outer make.
make_install()
{
	case "$PUSHGATE_BUILD" in
	*/build-san) make_install_san_=SANITIZE=1 ;;
	*) make_install_san_=SANITIZE= ;;
	esac
	(
		unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
		make --no-print-directory -C "$PUSHGATE_SRCDIR" install \
			PREFIX=/usr DESTDIR="$1" B="$PUSHGATE_BUILD" \
			"$make_install_san_"
	)
}

test_expect_success 'make install puts them in PREFIX/share/man' '
	make_install "$TMP/root" &&
	mandir=$TMP/root/usr/share/man &&
	cmp "$man1" "$mandir/man1/pushgate.1" &&
	cmp "$man5" "$mandir/man5/hooks.ini.5" &&
	test "$(test_mode "$mandir/man1/pushgate.1")" = -rw-r--r-- &&
	test "$(test_mode "$mandir/man5/hooks.ini.5")" = -rw-r--r-- &&
	test -x "$TMP/root/usr/bin/pushgate" &&
	test -f "$TMP/root/usr/share/pushgate/hooks.ini.example" &&
	if have man
	then
		man -M "$mandir" -w pushgate >where1 &&
		test_grep -x "$mandir/man1/pushgate.1" where1 &&
		man -M "$mandir" -w 5 hooks.ini >where5 &&
		test_grep -x "$mandir/man5/hooks.ini.5" where5
	fi
'

test_done
