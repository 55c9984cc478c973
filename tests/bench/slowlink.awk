# slowlink.awk - the figures of tests/bench/slowlink.sh from its results
#
#   awk -v reps=N -v rate=TEXT -v cipher=TEXT -v target_fs=TEXT \
#       -v nproc=N -v files=N -v tip_bytes=N -v one=PATH \
#       -v one_delta=N -v have_rsync=true|false -v src_desc=TEXT \
#       -v src_files=N -v src_bytes=N -v src_gz=N -f slowlink.awk results \
#       builds.log
#
# Input lines: SCEN LINK WAY REP MICROSECONDS BYTES, with SCEN one (the
# one-file change: WAY pg or rsync), full (the first deploy: pg or base)
# or comp (the source tree: src with compress = false, srcz with true),
# or promo (build once, promote: staging, then production), LINK lo (no
# qdisc) or rate (the token bucket). Medians per cell. A second input,
# the build's log (builds.log), counts the builds of each run.

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

function sec(v) { return v == "" ? "-" : sprintf("%.2f", v) }
function size(b) {
	if (b == "")
		return "-"
	if (b < 1048576)
		return sprintf("%d KB", (b + 512) / 1024)
	return sprintf("%.1f MB", b / 1048576)
}
function ratio(a, b,    r) {
	if (a == "" || b == "" || b == 0)
		return "-"
	r = a / b
	return sprintf(r >= 100 ? "%.0f" : r >= 10 ? "%.1f" : "%.2f", r)
}
function linkname(l) { return l == "lo" ? "loopback" : rate }

# row SCEN LINK WAY1 WAY2 [INV]: one line of a table, the ratios WAY1 /
# WAY2 (or WAY2 / WAY1 with INV)
function row(s, l, w1, w2, inv,    t1, b1, t2, b2) {
	t1 = med(s SUBSEP l SUBSEP w1 SUBSEP "t")
	b1 = med(s SUBSEP l SUBSEP w1 SUBSEP "b")
	t2 = med(s SUBSEP l SUBSEP w2 SUBSEP "t")
	b2 = med(s SUBSEP l SUBSEP w2 SUBSEP "b")
	if (t1 == "" && t2 == "")
		return
	printf fmt, linkname(l), sec(t1), size(b1), sec(t2), size(b2),
	    inv ? ratio(t2, t1) : ratio(t1, t2),
	    inv ? ratio(b2, b1) : ratio(b1, b2)
}

# the build's log (slowlink.sh's build.sh): "run N", then "ENV START END"
FILENAME ~ /builds\.log$/ {
	if ($1 == "run")
		run = $2
	else if (NF == 3) {
		nbuilds[$1, run]++
		bval[$1, ++bcnt[$1]] = $3 - $2
	}
	next
}

{
	k = $1 SUBSEP $2 SUBSEP $3
	val[k SUBSEP "t", ++cnt[k SUBSEP "t"]] = $5 / 1e6
	val[k SUBSEP "b", ++cnt[k SUBSEP "b"]] = $6
}

END {
	fmt = "%-10s %9s %10s %9s %10s %11s %12s\n"
	printf "\ndeploys over a slow link: a private network namespace"
	printf " whose loopback is\n"
	printf "rate-limited (tc tbf %s) or not (loopback); one SSH host on" \
	    " 127.0.0.1,\n", rate
	printf "%s, %s CPUs; seconds, and bytes on the wire (both" \
	    " directions),\n", target_fs, nproc
	printf "median of %d\n", reps

	printf "\none-file change: REV1 live, REV2 = REV1 with %s one" \
	    " line\n", one
	printf "longer (+%d bytes); the tree: %d files, %.1f MB as tar\n\n",
	    one_delta, files, tip_bytes / 1048576
	printf fmt, "link", "pushgate", "wire", "rsync", "wire",
	    "pg/rs time", "pg/rs bytes"
	row("one", "lo", "pg", "rsync")
	row("one", "rate", "pg", "rsync")
	printf "\n  pushgate:  pushgate -C REPO deploy bench REV2 (the whole"
	printf " command)\n"
	if (have_rsync == "true") {
		printf "  rsync:     rsync -a --link-dest=../REL1 SRC/"
		printf " HOST:DIR/REL2/ over OpenSSH;\n"
		printf "             SRC = git archive REV2 unpacked here,"
		printf " REL1 = REV1 on the host\n"
	} else {
		printf "  rsync:     not installed: no rsync column\n"
	}
	printf "  wire:      bytes through the link, both directions,"
	printf " TCP/IP headers included\n"
	printf "  both send the changed file and hard-link the rest from"
	printf " REL1; pushgate\n"
	printf "  checks REL1 by a SHA-1 of its listing, rsync lists it"
	printf " entry by entry\n"

	printf "\nfull first deploy of REV1 (%d files, %.1f MB as tar)\n\n",
	    files, tip_bytes / 1048576
	printf fmt, "link", "pushgate", "wire", "baseline", "wire",
	    "pg/bl time", "pg/bl bytes"
	row("full", "lo", "pg", "base")
	row("full", "rate", "pg", "base")
	printf "\n  pushgate:  pushgate -C REPO deploy --force --full bench REV1"
	printf " into an empty path\n"
	printf "  baseline:  git archive REV1 | ssh HOST 'mkdir -p DIR &&"
	printf " tar -x -C DIR'\n"

	printf "\ncompress = true: a full deploy of a source tree, %d files," \
	    " %.1f MB as tar\n", src_files, src_bytes / 1048576
	printf "(%.1f MB with gzip -6: %.1fx smaller)\n\n", src_gz / 1048576,
	    src_gz ? src_bytes / src_gz : 0
	printf fmt, "link", "false", "wire", "true", "wire",
	    "true/false", "true/false"
	printf fmt, "", "", "", "", "", "time", "bytes"
	row("comp", "lo", "src", "srcz", 1)
	row("comp", "rate", "src", "srcz", 1)
	printf "\n  false, true: pushgate -C REPO deploy --force --full ENV REV into"
	printf " an empty path,\n"
	printf "               ENV with compress = false or true (libssh2's"
	printf " zlib, level 6)\n"
	printf "  the tree:    %s\n", src_desc

	if (cnt["promo" SUBSEP "lo" SUBSEP "staging" SUBSEP "t"]) {
		printf "\nbuild once, promote: the source tree, its build gzips"
		printf " every text file\n(and stamps the time); loopback,"
		printf " median of %d\n\n", reps
		pfmt = "%-24s %8s %8s %11s\n"
		printf pfmt, "deploy", "time", "builds", "build time"
		promo_row("staging", "builds")
		promo_row("production", "promotes")
		printf "\n  pushgate -C PROMO deploy --force --full ENV REVS"
		printf " into an empty path, the\n"
		printf "  artifact store emptied before each run; builds: runs"
		printf " of the build during\n"
		printf "  that deploy (most in one run); production's"
		printf " BUILT_AT = staging's, every run\n"
	}
	printf "\n  OpenSSH client (rsync, baseline): cipher %s;\n", cipher
	printf "  pushgate: libssh2 negotiates its own\n"
}

# promo_row ENV WHAT: the promotion table's line for ENV
function promo_row(e, what,    r, most, i, j, n, a, t) {
	most = 0
	for (r = 1; r <= reps; r++)
		if (nbuilds[e, r] > most)
			most = nbuilds[e, r]
	n = bcnt[e]
	for (i = 1; i <= n; i++)
		a[i] = bval[e, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]
			a[j] = a[j - 1]
			a[j - 1] = t
		}
	printf pfmt, e " (" what ")", sec(med("promo" SUBSEP "lo" SUBSEP e \
	    SUBSEP "t")), most, n ? sec(n % 2 ? a[(n + 1) / 2] : \
	    (a[n / 2] + a[n / 2 + 1]) / 2) : "-"
}
