#!/bin/sh
# shellcheck disable=SC2016,SC2034,SC2317
# t0500-hostile.sh - untrusted input (STYLE sections 1.4, 5 and 7): file
# names, ref names, commit subjects, push options, test output, tree shapes
# and pre-receive's stdin are data. Nothing they hold is executed, control
# characters reach the pusher escaped (ESC as \x1b), long text is clipped,
# and the hook never crashes.
# (shellcheck: test bodies are single-quoted and eval'ed by lib.sh.)

# shellcheck source=tests/integration/lib.sh
. "$(dirname -- "$0")/lib.sh"

nl='
'
esc=$(printf '\033')
# A C1 control: U+009B (CSI) in UTF-8, 0xc2 0x9b; its second byte alone is
# the 8-bit CSI of a terminal that does not speak UTF-8.
c1_byte=$(printf '\233')
c1_csi=$(printf '\302\233')
zero=0000000000000000000000000000000000000000

# no_raw_controls FILE: FILE holds no raw ESC, BEL or CR byte.
no_raw_controls()
{
	test_grep ! "$esc" "$1" &&
	test_grep ! "$(printf '\007')" "$1" &&
	test_grep ! "$(printf '\r')" "$1"
}

# longest_remote_line: length of the longest "remote: pushgate:" line of
# the last push (git's padding included).
longest_remote_line()
{
	awk '/^remote: pushgate:/ { if (length($0) > max) max = length($0) }
		END { print max + 0 }' "$TMP/push.err"
}

# hostile_files: create files whose names are shell code, quotes, spaces,
# a newline, non-ASCII and option look-alikes, and commit them.
hostile_files()
{
	for hostile_f_ in '$(touch PWNED)' '`touch PWNED2`' \
		"it's \"quoted\"" 'with  two spaces' "new${nl}line" \
		'ünïcödé €' '-rf' ';touch PWNED;' '|touch PWNED' '$PWD' \
		'%s%n%x' '\\x41' '$(touch PWNED)dir/inner `touch PWNED2`'
	do
		case "$hostile_f_" in
		*/*) mkdir -p -- "${hostile_f_%/*}" || return 1 ;;
		esac
		printf '%s\n' "$hostile_f_" >"./$hostile_f_" || return 1
	done
	git add -A &&
	git commit -q -m "$1"
}

# hostile_branches: the branch names pushed below, one per line. Ref
# names cannot hold spaces or control characters, so ${IFS} stands in.
hostile_branches='$(touch${IFS}PWNED)
`touch${IFS}PWNED2`
it'"'"'s"q"
;touch${IFS}PWNED;
|touch${IFS}PWNED
ünï-€
-rf
%s%n'

# push_hostile_branches [PUSH-OPTIONS...]: push HEAD to every hostile
# branch (and main) in one push.
push_hostile_branches()
{
	set -- "$@" origin HEAD:refs/heads/main
	while IFS= read -r push_hostile_b_
	do
		set -- "$@" "HEAD:refs/heads/$push_hostile_b_"
	done <<-EOF
	$hostile_branches
	EOF
	push "$@"
}

# push_hostile_trees [PUSH-OPTIONS...]: like push_hostile_branches, but
# each branch gets its own commit with its own tree (so that each is
# tested, none cached), made on top of HEAD without moving it.
push_hostile_trees()
{
	push_hostile_base_=$(git rev-parse HEAD) || return 1
	set -- "$@" origin
	while IFS= read -r push_hostile_b_
	do
		push_hostile_c_=$(printf "%s\n" "$push_hostile_b_" |
			git hash-object -w --stdin) &&
		push_hostile_t_=$(
			git ls-tree HEAD &&
			printf "100644 blob %s\tbranch.txt\n" \
				"$push_hostile_c_"
		) &&
		push_hostile_t_=$(printf "%s\n" "$push_hostile_t_" |
			git mktree) &&
		push_hostile_c_=$(git commit-tree -p "$push_hostile_base_" \
			-m "ok: tree for a hostile branch" "$push_hostile_t_") ||
			return 1
		set -- "$@" "$push_hostile_c_:refs/heads/$push_hostile_b_"
	done <<-EOF
	$hostile_branches
	EOF
	push "$@"
}

# run_pre_receive NAME: run NAME.git's pre-receive by hand, as git would
# (in the repository, GIT_DIR=.), stdin passed on.
run_pre_receive()
{
	(cd "$TMP/$1.git" && GIT_DIR=. && export GIT_DIR &&
		exec ./hooks/pre-receive)
}

test_expect_success 'setup: a repository with rules and a test' '
	setup_repo evil <<-\EOF &&
	[verify]
	commit_message = ^ok
	forbid_paths = *.pem
	max_file_size = 1M
	test = sh ./ci.sh
	test_branches = *
	EOF
	setup_clone evil &&
	cd evil-work &&
	cat >ci.sh <<-\EOF &&
	echo "ref: $PUSHGATE_REF"
	ls -A
	EOF
	git add ci.sh &&
	git commit -q -m "ok: ci" &&
	push origin main &&
	accepted refs/heads/main
'

test_expect_success 'hostile file names are exported and listed, nothing runs' '
	cd evil-work &&
	hostile_files "ok: hostile names" &&
	push origin main &&
	accepted refs/heads/main &&
	test_grep "^remote: pushgate:   | \$(touch PWNED)" "$TMP/push.err" &&
	test_grep "^remote: pushgate:   | ünïcödé €" "$TMP/push.err" &&
	no_raw_controls "$TMP/push.err" &&
	no_pwned
'

test_expect_success 'hostile file names in a rejection are escaped, nothing runs' '
	cd evil-work &&
	for f in "\$(touch PWNED).pem" "\`touch PWNED2\`.pem" \
		"esc${esc}[31mred${esc}[0m.pem" "bell$(printf "\\007").pem" \
		"cr$(printf "\\r")x.pem" "nl${nl}x.pem"
	do
		echo key >"$f" || return 1
	done &&
	git add -A &&
	git commit -q -m "ok: keys with hostile names" &&
	test_must_fail push origin main &&
	test_grep "REJECTED refs/heads/main" "$TMP/push.err" &&
	test_grep "\$(touch PWNED).pem" "$TMP/push.err" &&
	test_grep "\\\\x1b\\[31mred\\\\x1b\\[0m.pem" "$TMP/push.err" &&
	test_grep "bell\\\\x07.pem" "$TMP/push.err" &&
	test_grep "nl\\\\nx.pem" "$TMP/push.err" &&
	no_raw_controls "$TMP/push.err" &&
	no_pwned &&
	git reset -q --hard origin/main
'

test_expect_success 'a subject with $(...), backticks and ESC [31m: escaped, nothing runs' '
	cd evil-work &&
	git commit -q --allow-empty -m "bad \$(touch PWNED) \`touch PWNED2\` \"dq\" ${esc}[31mRED${esc}[0m ${esc}]0;title$(printf "\\007")" &&
	test_must_fail push origin main &&
	test_grep "REJECTED refs/heads/main" "$TMP/push.err" &&
	test_grep "bad \$(touch PWNED) \`touch PWNED2\` \"dq\"" "$TMP/push.err" &&
	test_grep "\\\\x1b\\[31mRED\\\\x1b\\[0m" "$TMP/push.err" &&
	no_raw_controls "$TMP/push.err" &&
	no_pwned &&
	git reset -q --hard origin/main
'

test_expect_success 'a push option with ESC is escaped in the warning' '
	cd evil-work &&
	git commit -q --allow-empty -m "ok: options" &&
	push -o "x${esc}[2Jy" -o "\$(touch PWNED)" origin main &&
	accepted refs/heads/main &&
	test_grep "warning.*x\\\\x1b\\[2Jy" "$TMP/push.err" &&
	no_raw_controls "$TMP/push.err" &&
	no_pwned
'

test_expect_success 'a C1 control character (8-bit CSI) is not echoed raw' '
	cd evil-work &&
	git commit -q --allow-empty -m "bad ${c1_csi}2J utf-8 csi, ${c1_byte}2J lone csi" &&
	test_must_fail push origin main &&
	test_grep "REJECTED refs/heads/main" "$TMP/push.err" &&
	test_grep "utf-8 csi" "$TMP/push.err" &&
	test_grep ! "$c1_byte" "$TMP/push.err" &&
	git reset -q --hard origin/main
'

test_expect_success 'hostile branch names: rejected by a rule, echoed as data' '
	cd evil-work &&
	git commit -q --allow-empty -m "bad subject on hostile branches" &&
	test_must_fail push_hostile_branches &&
	test_grep "REJECTED refs/heads/\$(touch\${IFS}PWNED)" "$TMP/push.err" &&
	test_grep "REJECTED refs/heads/\`touch\${IFS}PWNED2\`" "$TMP/push.err" &&
	test_grep "REJECTED refs/heads/;touch\${IFS}PWNED;" "$TMP/push.err" &&
	no_raw_controls "$TMP/push.err" &&
	no_pwned &&
	git reset -q --hard origin/main
'

test_expect_success 'hostile branch names: accepted and echoed as data, nothing runs' '
	cd evil-work &&
	git commit -q --allow-empty -m "ok: hostile branches" &&
	push_hostile_branches -o "\$(touch PWNED)" &&
	accepted refs/heads/main &&
	accepted "refs/heads/\$(touch\${IFS}PWNED)" &&
	accepted "refs/heads/ünï-€" &&
	accepted "refs/heads/-rf" &&
	git --git-dir="$TMP/evil.git" rev-parse --verify -q \
		"refs/heads/\$(touch\${IFS}PWNED)" &&
	no_raw_controls "$TMP/push.err" &&
	no_pwned
'

test_expect_success 'hostile branch names reach the test as PUSHGATE_REF only' '
	cd evil-work &&
	push_hostile_trees &&
	test "$(grep -c "^remote: pushgate: ok refs/heads/" "$TMP/push.err")" -eq 8 &&
	test_grep "^remote: pushgate:   | ref: refs/heads/\`touch\${IFS}PWNED2\`" \
		"$TMP/push.err" &&
	test_grep "^remote: pushgate:   | ref: refs/heads/it.s\"q\"" \
		"$TMP/push.err" &&
	test_grep "^remote: pushgate:   | ref: refs/heads/;touch\${IFS}PWNED;" \
		"$TMP/push.err" &&
	test_grep "^remote: pushgate:   | ref: refs/heads/%s%n" \
		"$TMP/push.err" &&
	test_grep ! "cached" "$TMP/push.err" &&
	no_raw_controls "$TMP/push.err" &&
	no_pwned
'

test_expect_success 'an over-long subject is clipped in the output' '
	cd evil-work &&
	long=$(printf "%05000d" 0 | tr 0 A) &&
	git commit -q --allow-empty -m "bad $long" &&
	test_must_fail push origin main &&
	test_grep "REJECTED refs/heads/main" "$TMP/push.err" &&
	test_grep "bad AAAAAAAAAA" "$TMP/push.err" &&
	longest=$(longest_remote_line) &&
	echo "longest remote line: $longest" &&
	test "$longest" -lt 1100 &&
	git reset -q --hard origin/main
'

test_expect_success 'an over-long ref name is clipped in the output' '
	setup_repo long <<-\EOF &&
	[verify]
	commit_message = ^ok
	EOF
	setup_clone long &&
	cd long-work &&
	git commit -q --allow-empty -m "ok: first" &&
	push origin main &&
	part=$(printf "%0200d" 0 | tr 0 b) &&
	ref=refs/heads/long &&
	for i in 1 2 3 4
	do
		ref=$ref/$part
	done &&
	git commit -q --allow-empty -m "bad subject on a long ref" &&
	test_must_fail push origin "HEAD:$ref" &&
	test_grep "REJECTED refs/heads/long/bbbbbbbbbb" "$TMP/push.err" &&
	longest=$(longest_remote_line) &&
	echo "longest remote line: $longest" &&
	test "$longest" -lt 1100 &&
	status=0 &&
	{ push origin "HEAD~1:$ref" || status=$?; } &&
	test "$status" -le 1 &&
	test_grep -e "^remote: pushgate: ok refs/heads/long/bbbbbbbbbb" \
		-e "REJECTED refs/heads/long/bbbbbbbbbb" "$TMP/push.err" &&
	longest=$(longest_remote_line) &&
	echo "longest remote line: $longest" &&
	test "$longest" -lt 1100 &&
	git reset -q --hard origin/main
'

# libgit2 cannot read a ref whose name is longer than 1024 bytes; git
# can. Either such a ref is refused, or it must not break later pushes.
test_expect_success 'a ref name longer than 1024 bytes does not break later pushes' '
	setup_repo long2 <<-\EOF &&
	[verify]
	commit_message = ^ok
	EOF
	setup_clone long2 &&
	cd long2-work &&
	git commit -q --allow-empty -m "ok: first" &&
	push origin main &&
	ref=refs/heads/$(printf "%0200d" 0 | tr 0 c) &&
	for i in 1 2 3 4 5
	do
		ref=$ref/$(printf "%0200d" 0 | tr 0 c)
	done &&
	echo "${#ref} bytes" &&
	test "${#ref}" -gt 1024 &&
	{ push origin "HEAD:$ref" || :; } &&
	git commit -q --allow-empty -m "ok: an ordinary commit" &&
	push origin main &&
	test_grep "^remote: pushgate: ok refs/heads/main" "$TMP/push.err"
'

test_expect_success 'a test printing 10 MB does not break the hook' '
	setup_repo loud <<-\EOF &&
	[verify]
	test = sh ./loud.sh
	test_branches = *
	EOF
	setup_clone loud &&
	cd loud-work &&
	cat >loud.sh <<-\EOF &&
	line=0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
	yes "$line" | head -n 100000
	head -c 10485760 /dev/zero | tr "\0" x
	echo
	echo LOUD-DONE
	EOF
	git add loud.sh &&
	git commit -q -m "a loud test" &&
	start=$(date +%s) &&
	push origin main &&
	end=$(date +%s) &&
	echo "push took $((end - start)) s" &&
	test "$((end - start))" -lt 120 &&
	accepted refs/heads/main &&
	test_grep "^remote: pushgate:   | LOUD-DONE" "$TMP/push.err" &&
	test_grep "^remote: pushgate:   | xxxxxxxxxx" "$TMP/push.err" &&
	longest=$(longest_remote_line) &&
	echo "longest remote line: $longest" &&
	test "$longest" -lt 1100
'

test_expect_success 'a tree 300 directories deep: clean verdict, no crash' '
	cd evil-work &&
	dir=. &&
	i=0 &&
	while test "$i" -lt 300
	do
		dir=$dir/d &&
		i=$((i + 1)) || return 1
	done &&
	mkdir -p "$dir" &&
	echo deep >"$dir/bottom.txt" &&
	git add d &&
	git commit -q -m "ok: a deep tree" &&
	status=0 &&
	{ push origin HEAD:deep || status=$?; } &&
	test "$status" -le 1 &&
	test_grep -e "REJECTED refs/heads/deep" \
		-e "^remote: pushgate: ok refs/heads/deep" "$TMP/push.err" &&
	test_grep ! -i "sanitizer\|segmentation\|core dumped\|abort" \
		"$TMP/push.err"
'

# A tree too deep for a work tree, written with git fast-import.
test_expect_success 'a tree 2000 directories deep: clean verdict, no crash' '
	cd evil-work &&
	path=d &&
	i=1 &&
	while test "$i" -lt 2000
	do
		path=$path/d &&
		i=$((i + 1)) || return 1
	done &&
	printf "%s\n" \
		"commit refs/heads/deeper" \
		"committer T <t@example.com> 1700000000 +0000" \
		"data 13" "ok: very deep" \
		"from $(git rev-parse HEAD)" \
		"M 100644 inline $path/f" \
		"data 5" "deep" "" >stream &&
	git fast-import --quiet <stream &&
	status=0 &&
	{ push origin deeper || status=$?; } &&
	test "$status" -le 1 &&
	test_grep -e "REJECTED refs/heads/deeper" \
		-e "^remote: pushgate: ok refs/heads/deeper" "$TMP/push.err" &&
	test_grep ! -i "sanitizer\|segmentation\|core dumped\|abort" \
		"$TMP/push.err"
'

test_expect_success 'pre-receive by hand on a deep tree: exit 0 or 1, no crash' '
	cd evil-work &&
	tip=$(git rev-parse deeper) &&
	echo "$tip" >revs &&
	git pack-objects --revs --stdout <revs >deep.pack &&
	git --git-dir="$TMP/evil.git" unpack-objects -q <deep.pack &&
	printf "%s %s refs/heads/by-hand\n" "$zero" "$tip" >in &&
	status=0 &&
	{ run_pre_receive evil <in >out 2>err || status=$?; } &&
	cat out err &&
	echo "exit $status" &&
	test "$status" -le 1 &&
	test_grep -e "REJECTED refs/heads/by-hand" -e "ok refs/heads/by-hand" err
'

# bad_input FILE: pre-receive given FILE on stdin exits exactly 1 and
# says "bad input".
bad_input()
{
	test_expect_code 1 run_pre_receive evil <"$1" >"$TMP/out" 2>"$TMP/err" &&
	cat "$TMP/err" &&
	test_grep "bad input" "$TMP/err" &&
	test_grep ! -i "sanitizer\|runtime error" "$TMP/err"
}

test_expect_success 'malformed stdin: a garbage line' '
	good=$(git --git-dir="$TMP/evil.git" rev-parse refs/heads/main) &&
	echo "hello world" >in &&
	bad_input in
'

test_expect_success 'malformed stdin: short ids' '
	printf "%s %s refs/heads/main\n" "${zero%??????????}" abc123 >in &&
	bad_input in
'

test_expect_success 'malformed stdin: no final newline' '
	printf "%s %s refs/heads/x" "$zero" "$good" >in &&
	bad_input in
'

test_expect_success 'malformed stdin: a NUL byte' '
	printf "%s %s refs/heads/x\\000y\n" "$zero" "$good" >in &&
	test "$(tr -d "\\000" <in | wc -c)" -eq "$(($(wc -c <in) - 1))" &&
	bad_input in &&
	printf "\\000\n" >in &&
	bad_input in
'

test_expect_success 'malformed stdin: CR LF, extra spaces, missing ref' '
	printf "%s %s refs/heads/x\r\n" "$zero" "$good" >in &&
	bad_input in &&
	printf "%s  %s refs/heads/x\n" "$zero" "$good" >in &&
	bad_input in &&
	printf "%s %s refs/heads/x \n" "$zero" "$good" >in &&
	bad_input in &&
	printf "%s %s\n" "$zero" "$good" >in &&
	bad_input in &&
	printf "%s %s \n" "$zero" "$good" >in &&
	bad_input in
'

test_expect_success 'malformed stdin: non-hex and uppercase ids, two null ids' '
	printf "%s %s refs/heads/x\n" "$zero" "$(echo "$good" | tr a-f A-F)" >in &&
	bad_input in &&
	printf "%s g%s refs/heads/x\n" "$zero" "${good#?}" >in &&
	bad_input in &&
	printf "%s %s refs/heads/x\n" "$zero" "$zero" >in &&
	bad_input in
'

test_expect_success 'malformed stdin: invalid ref names' '
	for ref in main HEAD refs/heads/a..b "refs/heads/a b" refs/heads/x.lock \
		"refs/heads/-x/../../y" refs/heads/ "refs/heads/a\\b"
	do
		printf "%s %s %s\n" "$zero" "$good" "$ref" >in &&
		bad_input in || return 1
	done
'

test_expect_success 'malformed stdin: a repeated ref, a good line then a bad one' '
	printf "%s %s refs/heads/x\n%s %s refs/heads/x\n" \
		"$zero" "$good" "$zero" "$good" >in &&
	bad_input in &&
	printf "%s %s refs/heads/x\ngarbage\n" "$zero" "$good" >in &&
	bad_input in
'

test_expect_success 'malformed stdin: an over-long line, too many lines' '
	long=$(printf "%010000d" 0 | tr 0 a) &&
	printf "%s %s refs/heads/%s\n" "$zero" "$good" "$long" >in &&
	bad_input in &&
	i=0 &&
	while test "$i" -le 1000
	do
		printf "%s %s refs/heads/b%d\n" "$zero" "$good" "$i" ||
			return 1
		i=$((i + 1))
	done >in &&
	bad_input in
'

test_expect_success 'malformed stdin: a megabyte of binary garbage' '
	head -c 1048576 /dev/urandom >in &&
	bad_input in
'

test_expect_success 'a well-formed line naming a missing object: exit 1, no crash' '
	printf "%s %s refs/heads/x\n" "$zero" \
		1234567890123456789012345678901234567890 >in &&
	test_expect_code 1 run_pre_receive evil <in >out 2>err &&
	cat err &&
	test_grep "REJECTED refs/heads/x" err
'

test_expect_success 'nothing hidden in any input ran' '
	no_pwned
'

test_done
