# report.awk - the figures of tests/bench/run.sh from its results file
#
#   awk -v n_small=N -v n_full=N -v n_every=N -v reps=N -v every=N \
#       -v rss_note=TEXT -f report.awk results.txt
#
# Input lines: SCENARIO WAY RUN LABEL MICROSECONDS EXIT MAXRSS_KB with
# SCENARIO small, full or everyday; WAY pushgate, baseline or none; LABEL
# hook (the real hook alone), floor (rev-list in the same quarantine) or
# push (the whole git push). Times are reported in ms, medians per cell.

# median of the samples under key, in ms ("" when there are none)
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
		return a[(n + 1) / 2] / 1000
	return (a[n / 2] + a[n / 2 + 1]) / 2000
}

function ms(v) { return v == "" ? "-" : sprintf("%.1f", v) }
function mb(kb) { return kb ? sprintf("%.1f", kb / 1024) : "-" }
function verdict(ok) { return ok ? "met" : "MISSED" }

function ratio(a, b)
{
	if (a == "" || b == "" || b == 0)
		return "-"
	return sprintf("%.2f", a / b)
}

function per1k(v, n) { return v == "" ? "-" : sprintf("%.1f", v * 1000 / n) }

{
	key = $1 SUBSEP $2 SUBSEP $4
	val[key, ++cnt[key]] = $5
	# the floor is measured in every hooked push: pool the ways
	if ($2 != "none" && $4 == "floor") {
		key = $1 SUBSEP "*" SUBSEP "floor"
		val[key, ++cnt[key]] = $5
	}
	if ($4 == "hook" && $7 + 0 > rss[$1, $2] + 0)
		rss[$1, $2] = $7
}

END {
	split("small full everyday", scen, " ")
	name["small"] = sprintf("big push, %d commits", n_small)
	name["full"] = sprintf("big push, %d commits", n_full)
	name["everyday"] = sprintf("everyday push, %d commits", n_every)
	for (i = 1; i <= 3; i++) {
		s = scen[i]
		pg[s] = med(s SUBSEP "pushgate" SUBSEP "hook")
		bl[s] = med(s SUBSEP "baseline" SUBSEP "hook")
		fl[s] = med(s SUBSEP "*" SUBSEP "floor")
		nh[s] = med(s SUBSEP "none" SUBSEP "push")
	}

	printf "\npre-receive wall time inside git push, in ms"
	printf " (the hook process alone)\n\n"
	fmt = "%-27s %9s %9s %8s %7s %8s %9s %8s %8s\n"
	printf fmt, "scenario", "pushgate", "baseline", "floor", "pg/base",
	    "pg/floor", "no hook", "pg RSS", "base RSS"
	for (i = 1; i <= 3; i++) {
		s = scen[i]
		printf fmt, name[s], ms(pg[s]), ms(bl[s]), ms(fl[s]),
		    ratio(pg[s], bl[s]), ratio(pg[s], fl[s]), ms(nh[s]),
		    mb(rss[s, "pushgate"]), mb(rss[s, "baseline"])
	}
	printf "\n  big pushes: median of %d, each into a new repository;", reps
	printf " everyday: median of %d pushes in a row\n", every
	printf "  floor:    git rev-list --objects NEW --not --all"
	printf " in the same quarantine\n"
	printf "  no hook:  the whole git push (client + receive-pack)"
	printf " without a hook\n"
	printf "  RSS:      peak resident set of the hook and its children,"
	printf " MB%s\n", rss_note

	printf "\ntargets for the pushgate hook\n"
	for (i = 1; i <= 2; i++) {
		s = scen[i]
		if (pg[s] == "") {
			printf "  %-27s not measured\n", name[s]
			continue
		}
		line = ""
		if (bl[s] != "")
			line = sprintf("<= 0.5 x baseline: %s x, %s",
			    ratio(pg[s], bl[s]), verdict(pg[s] <= 0.5 * bl[s]))
		if (fl[s] != "")
			line = line (line == "" ? "" : "; ") \
			    sprintf("<= 1.5 x floor: %s x, %s",
			    ratio(pg[s], fl[s]), verdict(pg[s] <= 1.5 * fl[s]))
		printf "  %-27s %s\n", name[s], line
	}
	s = "everyday"
	if (pg[s] == "")
		printf "  %-27s not measured\n", name[s]
	else
		printf "  %-27s < 5 ms: %s ms, %s\n", name[s], ms(pg[s]),
		    verdict(pg[s] < 5)

	printf "\nlinearity: ms per 1,000 commits of a big push\n"
	fmt = "  %-14s %14s %14s %8s\n"
	printf fmt, "", n_small " commits", n_full " commits", "ratio"
	split("pushgate baseline floor none", w, " ")
	for (i = 1; i <= 4; i++) {
		if (w[i] == "floor") {
			a = fl["small"]
			b = fl["full"]
		} else if (w[i] == "none") {
			a = nh["small"]
			b = nh["full"]
		} else {
			a = pg["small"]
			b = pg["full"]
			if (w[i] == "baseline") {
				a = bl["small"]
				b = bl["full"]
			}
		}
		if (a == "" && b == "")
			continue
		x = per1k(a, n_small)
		y = per1k(b, n_full)
		printf fmt, w[i] == "none" ? "push, no hook" : w[i], x, y,
		    (x == "-" || y == "-" || x == 0) ? "-" : \
		    sprintf("%.2f", y / x)
	}
}
