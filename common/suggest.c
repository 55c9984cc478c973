#include "suggest.h"

#include <stdint.h>
#include <string.h>

size_t suggest_distance(const char *a, const char *b)
{
	/* three rows of the dynamic programme: i-2, i-1 and i */
	size_t rows[3][SUGGEST_MAX_LEN + 1];
	size_t *before = rows[0], *prev = rows[1], *cur = rows[2], *t;
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (lb > SUGGEST_MAX_LEN || la > 2 * SUGGEST_MAX_LEN)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t d = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && before[j - 2] + 1 < d)
				d = before[j - 2] + 1;
			cur[j] = d;
		}
		t = before;
		before = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

const char *suggest_closest(const char *word, const char *const *cands,
			    size_t nr)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, i;

	for (i = 0; i < nr; i++) {
		size_t len = strlen(cands[i]);
		size_t limit = len / 3 > 2 ? len / 3 : 2;
		size_t d = suggest_distance(word, cands[i]);

		if (d <= limit && d < len && d < best_d) {
			best = cands[i];
			best_d = d;
		}
	}
	return best;
}
