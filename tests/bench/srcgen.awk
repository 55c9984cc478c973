# srcgen.awk - C-like source text for tests/bench/slowlink.sh, when the
# machine has no real source tree to measure compression on
#
#   awk -v dir=DIR -v seed=N [-v files=1500] -f srcgen.awk
#
# Writes DIR/src/modNN/fileNNNN.c: functions made of a small vocabulary
# of identifiers, types and statements, with comments, about 10 KB per
# file (15 MB with the default 1,500 files). It compresses somewhat
# better than real code (the vocabulary is small); slowlink.sh says
# when its figures come from it.

function pick(a, n) { return a[int(rand() * n) + 1] }

# TYPE NAME, with a random type ("char *name", "int name")
function decl(name,    t) {
	t = pick(types, nt)
	return t (t ~ /\*$/ ? "" : " ") name
}

function ident() {
	return pick(words, nw) (rand() < 0.4 ? "_" pick(words, nw) : "")
}

function statement(f,    r, a, b) {
	r = rand()
	a = ident()
	b = ident()
	if (r < 0.25)
		printf "\t%s = %s + %d;\n", a, b, int(rand() * 64) > f
	else if (r < 0.45)
		printf "\tif (%s->%s < %s)\n\t\treturn error_set(ERR_%s, " \
		    "\"%s: %%s\", %s);\n", a, b, ident(), toupper(pick(words,
		    nw)), b, a > f
	else if (r < 0.6)
		printf "\tfor (i = 0; i < %s->nr; i++)\n\t\t%s(%s, i);\n", a,
		    ident(), b > f
	else if (r < 0.75)
		printf "\t/* %s the %s before the %s */\n", pick(verbs, nv), a,
		    b > f
	else
		printf "\t%s = %s(%s, %s);\n", a, ident(), b, ident() > f
}

BEGIN {
	if (files == "")
		files = 1500
	srand(seed)
	nw = split("buf len size count index result value error state " \
	    "node list entry name path key data offset flags mode next " \
	    "prev head tail ctx opts out host env tree blob commit ref " \
	    "release target deploy config line word table item", words, " ")
	nt = split("int|size_t|char *|bool|unsigned long|void *|" \
	    "struct buf *|const char *|uint64_t", types, "|")
	nv = split("check free grow find keep drop read write open close " \
	    "parse walk", verbs, " ")
	for (k = 0; k < files; k++) {
		d = sprintf("%s/src/mod%02d", dir, k % 40)
		if (k < 40)
			system("mkdir -p '" d "'")
		f = sprintf("%s/file%04d.c", d, k)
		printf "/*\n * file%04d.c - %s the %s of a %s\n */\n\n", k,
		    pick(verbs, nv), ident(), ident() > f
		printf "#include \"%s.h\"\n#include <stdlib.h>\n\n",
		    pick(words, nw) > f
		size = 0
		while (size < 10000) {
			name = ident()
			printf "static %s(%s, %s)\n{\n\tsize_t i;\n",
			    decl(name), decl(ident()), decl(ident()) > f
			n = 4 + int(rand() * 12)
			for (j = 0; j < n; j++)
				statement(f)
			printf "\treturn 0;\n}\n\n" > f
			size += 80 + n * 50
		}
		close(f)
	}
}
