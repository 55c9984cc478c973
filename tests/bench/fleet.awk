# fleet.awk - the figures of tests/bench/fleet.sh from its results file
#
#   awk -v reps=N -v hosts=N -v cipher=TEXT -v shells=TEXT \
#       -v target_fs=TEXT -v nproc=N -v files=N -v tip_bytes=N \
#       -f fleet.awk results.txt
#
# Input lines, WAY pg (the timed deploys), mem (the deploys under the
# sampler) or base (the baseline):
#   pg|mem REP pushgate US EXIT MAXRSS_KB         (timeit, treemem -s)
#   pg|mem REP encode SECONDS HOSTS ENTRIES MB    (pushgate's own line)
#   pg|mem REP upload SECONDS ENTRIES             (one per host, its own)
#   mem REP pushgate.proc DEPTH PID COMM HWM_KB ANON_KB FILE_KB
#   mem REP pushgate.sum RSS_KB PSS_KB SAMPLES PROCS
#   base REP baseline US EXIT MAXRSS_KB           (timeit)
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
function big(kb, k) { if (mem[k] == "" || kb + 0 > mem[k] + 0) mem[k] = kb }

$3 == "pushgate" {
	add($1, $4 / 1e6)
	big($6, "maxrss")
	us[$1, $2] = $4
	next
}
$3 == "encode" { add($1 SUBSEP "encode", $4); entries = $6; next }
$3 == "upload" {
	# the slowest host of the run
	if (!(($1, $2) in slow) || $4 > slow[$1, $2])
		slow[$1, $2] = $4
	next
}
$3 == "pushgate.sum" {
	big($4, "rss")
	if ($5 < 0)
		no_pss = 1
	else
		big($5, "pss")
	big($6, "samples")
	# the mean sampling period of the run, in ms
	if ($6 > 0)
		period[$2] = $6
	big($7, "procs")
	next
}
$3 == "pushgate.proc" {
	role = $4 == 0 ? "parent" : $4 == 1 ? "worker" : "other"
	big($7, role)
	if ($4 == 1)
		workers[$2, $5] = 1
	next
}
$3 == "baseline" { add("base", $4 / 1e6) }

END {
	pg = med("pg")
	bl = med("base")
	enc = med("pg" SUBSEP "encode")
	rss = mem["rss"]
	pss = no_pss ? "" : mem["pss"]
	for (k in workers) {
		split(k, w, SUBSEP)
		nw[w[1]]++
	}
	most = 0
	for (r in nw)
		if (nw[r] > most)
			most = nw[r]
	for (k in slow) {
		split(k, w, SUBSEP)
		if (w[1] == "pg")
			add("upload", slow[k])
	}
	up = med("upload")
	# the longest mean sampling period of the memory runs
	tick = ""
	for (r in period)
		if (("mem", r) in us) {
			t = us["mem", r] / 1000 / period[r]
			if (tick == "" || t > tick)
				tick = t
		}

	printf "\nfirst deploy to a fleet of %d SSH hosts (OpenSSH on" \
	    " 127.0.0.1, each in its\n", hosts
	printf "own mount namespace; %s, %s CPUs): the tip of main,\n",
	    target_fs, nproc
	printf "%d files, %.1f MB as tar, to every host; seconds, median" \
	    " of %d\n\n", files, tip_bytes / 1048576, reps
	fmt = "%-6s %9s %9s %9s %9s %8s %8s %8s\n"
	printf fmt, "hosts", "pushgate", "(encode)", "(upload)", "baseline",
	    "pg/base", "RSS sum", "PSS sum"
	printf fmt, hosts, sec(pg), sec(enc), sec(up), sec(bl),
	    ratio(pg, bl), mb(rss), mb(pss)

	printf "\n  pushgate:   pushgate -C REPO deploy --force --full bench"
	printf " REV, the whole\n"
	printf "              command, every host's releases removed first"
	printf " (a full upload\n"
	printf "              each), parallel = %d\n", hosts
	printf "  (encode):   the release encoded once for the %d hosts" \
	    " (%s entries), as\n", hosts, entries == "" ? "-" : entries
	printf "              pushgate reports it (0.1 s resolution)\n"
	printf "  (upload):   the slowest host's upload, as pushgate reports"
	printf " it; the rest is\n"
	printf "              connecting, the switch and prune (through"
	printf " one remote shell per\n"
	printf "              host, started during the upload) and"
	printf " history\n"
	printf "  baseline:   %d x git archive REV | ssh HOST 'mkdir -p DIR" \
	    " && tar -x -C DIR',\n", hosts
	printf "              all at once, until the last one ends\n"
	printf "  RSS sum:    MB, the sum of VmRSS over pushgate's process"
	printf " tree (the parent,\n"
	printf "              its workers, their children), sampled every"
	printf " 10 ms in %d more\n", reps
	printf "              deploy(s)"
	printf " (untimed), its peak, largest of the runs: a page\n"
	printf "              the workers share with the parent counts once"
	printf " per process\n"
	printf "  PSS sum:    MB, the same with Pss (/proc/PID/smaps_rollup):"
	printf " shared pages\n"
	printf "              shared out among the processes: what the tree"
	printf " costs the machine\n"
	printf "  processes:  at most %s at once (%d workers in a run);" \
	    " own peaks (VmHWM):\n", mem["procs"] == "" ? "-" : mem["procs"],
	    most
	printf "              parent %s MB, largest worker %s MB; wait4" \
	    " ru_maxrss %s MB\n", mb(mem["parent"]), mb(mem["worker"]),
	    mb(mem["maxrss"])
	printf "              (%s samples in the longest run, one per %s ms" \
	    " at worst: the\n", mem["samples"] == "" ? "-" : mem["samples"],
	    tick == "" ? "-" : sprintf("%.0f", tick)
	printf "              sampler waits 10 ms after each); under the"
	printf " sampler the deploy\n"
	printf "              took %s s\n", sec(med("mem"))
	printf "  OpenSSH client (baseline): %s;\n", cipher
	printf "  pushgate: libssh2 negotiates its own cipher\n"
	printf "  the servers' login shells %s\n", shells

	printf "\ntargets for pushgate deploy to %d hosts\n", hosts
	if (pg != "" && bl != "")
		printf "  <= 0.7 x baseline: %s x, %s\n", ratio(pg, bl),
		    verdict(pg <= 0.7 * bl)
	if (pss != "")
		printf "  peak < 128 MB (PSS sum): %s MB, %s (RSS sum: %s MB)\n",
		    mb(pss), verdict(pss < 128 * 1024), mb(rss)
	else
		printf "  peak < 128 MB (RSS sum, no smaps_rollup here): %s MB," \
		    " %s\n", mb(rss), verdict(rss != "" && rss < 128 * 1024)
}
