/*
 * fuzz_cron - libFuzzer target for cron expressions (cron.c) and the
 * local times of deploy windows (tz.c), as hooks.ini and `pushgate
 * windows --at` give them: the input, as text, is parsed as a cron
 * expression (and when it parses, its next and previous occurrences
 * are searched in UTC), as a YYYY-MM-DDTHH:MM local time and as --at.
 * Built and run by tests/fuzz/run.sh (make fuzz), and by make check
 * through tests/fuzz/driver.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "errors.h"
#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	struct cron c;
	int64_t t, at = 1790000000;

	if (size > 4096)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cron_parse(&c, text) == 0) {
		(void)cron_next(&c, tz_utc(), at, &t);
		(void)cron_prev(&c, tz_utc(), at, &t);
	}
	(void)tz_parse_local(&t, text);
	(void)tz_parse_at(&t, text, NULL);
	error_clear();
	free(text);
	return 0;
}
