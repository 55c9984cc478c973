# deploy.awk - the figures of tests/bench/deploy.sh from its results file
#
#   awk -v reps=N -v copies=N -v cipher=TEXT -v target_fs=TEXT -v nproc=N \
#       -f deploy.awk results.txt
#
# Input lines, TREE tip or big (or - for the ssh probes):
#   TREE pg REP pushgate US EXIT MAXRSS_KB         (timeit)
#   TREE pg REP upload SECONDS 0 0 ENTRIES          (pushgate's own line)
#   TREE mem REP pushgate US EXIT MAXRSS_KB        (treemem: not timed)
#   TREE mem REP pushgate.proc DEPTH PID COMM HWM_KB ANON_KB FILE_KB
#   TREE ssh REP baseline|floor US EXIT MAXRSS_KB   (timeit)
#   - ssh 0 session|command US EXIT MAXRSS_KB       (timeit)
#   TREE bytes 0 BYTES                              (git archive's output)
# Times are reported in seconds, medians per cell; memory in MB, the
# largest over the runs.

function med(key,    n, i, j, t, a) {
	n = cnt[key]
	if (!n)
		return ""
	for (i = 1; i <= n; i++)
		a[i] = val[key, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]
			a[j] = a[j - 1]
			a[j - 1] = t
		}
	if (n % 2)
		return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}

function add(key, v) { val[key, ++cnt[key]] = v }
function sec(v) { return v == "" ? "-" : sprintf("%.2f", v) }
function mb(kb) { return kb == "" ? "-" : sprintf("%.1f", kb / 1024) }
function ratio(a, b) {
	return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b)
}
function verdict(ok) { return ok ? "met" : "MISSED" }
function big(kb, k) { if (kb + 0 > mem[k] + 0) mem[k] = kb }

$2 == "bytes" { bytes[$1] = $4; next }
$4 == "upload" { add($1 SUBSEP "upload", $5); entries[$1] = $8; next }
$4 == "pushgate" {
	if ($2 == "pg")
		add($1 SUBSEP "pg", $5 / 1e6)
	big($7, $1 SUBSEP "maxrss")
	if ($6 != 0)
		failed[$1] = 1
	next
}
$4 == "pushgate.proc" {
	role = $5 == 0 ? "parent" : $5 == 1 ? "worker" : "export"
	big($8, $1 SUBSEP role)
	big($9, $1 SUBSEP role "-anon")
	big($10, $1 SUBSEP role "-file")
	next
}
$2 == "ssh" { add($1 SUBSEP $4, $5 / 1e6) }

END {
	split("tip big", tree, " ")
	name["tip"] = "tip of main"
	name["big"] = sprintf("%dx the tip", copies)

	printf "\ndeploy of a commit's tree to one SSH host (127.0.0.1, %s,", \
	    target_fs
	printf " %s CPUs), seconds, median of %d\n\n", nproc, reps
	fmt = "%-13s %8s %8s %9s %8s %9s %8s %8s %10s %8s\n"
	printf fmt, "tree", "entries", "tar MB", "pushgate", "(upload)",
	    "baseline", "floor", "pg/base", "base/floor", "peak MB"
	for (i = 1; i <= 2; i++) {
		t = tree[i]
		if (!(t in bytes))
			continue
		pg[t] = med(t SUBSEP "pg")
		bl[t] = med(t SUBSEP "baseline")
		fl[t] = med(t SUBSEP "floor")
		printf fmt, name[t], entries[t] == "" ? "-" : entries[t],
		    sprintf("%.1f", bytes[t] / 1048576), sec(pg[t]),
		    sec(med(t SUBSEP "upload")), sec(bl[t]), sec(fl[t]),
		    ratio(pg[t], bl[t]), ratio(bl[t], fl[t]),
		    mb(mem[t SUBSEP "maxrss"])
	}
	printf "\n  pushgate:   pushgate -C REPO deploy --force --full ENV REV, the"
	printf " whole command (lock,\n"
	printf "              connect, remote commands, upload, switch,"
	printf " prune, history)\n"
	printf "  (upload):   the upload alone, as pushgate reports it"
	printf " (0.1 s resolution)\n"
	printf "  baseline:   git archive REV | ssh HOST 'mkdir -p DIR &&"
	printf " tar -x -C DIR'\n"
	printf "  floor:      cat FILE | ssh HOST 'cat >/dev/null', FILE ="
	printf " git archive's output\n"
	printf "  OpenSSH client: cipher %s; pushgate: libssh2 negotiates" \
	    " its own\n", cipher
	printf "  peak MB:    max RSS of pushgate and its worker (wait4"
	printf " ru_maxrss), largest of the runs\n"
	s = med("-" SUBSEP "session")
	c = med("-" SUBSEP "command")
	printf "  this server: an OpenSSH session running `true` takes %s s;" \
	    " one more\n", sec(s)
	printf "              command on an open connection %s s (the" \
	    " user's shell starts\n", sec(c)
	printf "              once per remote command: pushgate starts" \
	    " one per host, for\n"
	printf "              the upload and every command after it; the" \
	    " baseline and the\n"
	printf "              floor one each)\n"

	printf "\nmemory of the pushgate deploy, MB (each process's own"
	printf " peak, sampled every 10 ms in\n"
	printf "untimed runs; anon = private memory, file = mapped files"
	printf " such as the Git pack, shared\nwith the page cache; the"
	printf " export, the worker's child, maps up to 256 MB of the pack)\n\n"
	fmt = "%-13s %8s %8s %8s %8s %12s %12s\n"
	printf fmt, "tree", "max RSS", "parent", "worker", "export",
	    "export anon", "export file"
	for (i = 1; i <= 2; i++) {
		t = tree[i]
		if (!(t in bytes))
			continue
		printf fmt, name[t], mb(mem[t SUBSEP "maxrss"]),
		    mb(mem[t SUBSEP "parent"]), mb(mem[t SUBSEP "worker"]),
		    mb(mem[t SUBSEP "export"]),
		    mb(mem[t SUBSEP "export-anon"]),
		    mb(mem[t SUBSEP "export-file"])
	}

	printf "\ntargets for pushgate deploy\n"
	for (i = 1; i <= 2; i++) {
		t = tree[i]
		if (!(t in bytes))
			continue
		line = ""
		if (pg[t] != "" && bl[t] != "")
			line = sprintf("<= 1.0 x baseline: %s x, %s; ",
			    ratio(pg[t], bl[t]), verdict(pg[t] <= bl[t]))
		m = mem[t SUBSEP "parent-anon"] + 0
		if (mem[t SUBSEP "worker-anon"] + 0 > m)
			m = mem[t SUBSEP "worker-anon"] + 0
		if (mem[t SUBSEP "export-anon"] + 0 > m)
			m = mem[t SUBSEP "export-anon"] + 0
		line = line sprintf("own memory (anon) < 64 MB: %s MB, %s" \
		    " (max RSS %s MB, with the mapped pack)", mb(m),
		    verdict(m > 0 && m < 64 * 1024),
		    mb(mem[t SUBSEP "maxrss"]))
		printf "  %-13s %s\n", name[t], line
	}
}
