/*
 * fuzz_tzif - libFuzzer target for the TZif reader (tz.c): the input is
 * written as the zone file Fuzz/Zone under a private TZDIR, loaded as
 * hooks.ini's `timezone` would be, and when it loads, instants across
 * its range are converted both ways. The directory is removed when the
 * process exits. Built and run by tests/fuzz/run.sh (make fuzz), and by
 * make check through tests/fuzz/driver.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "errors.h"
#include "fuzz.h"
#include "tz.h"

static char path[600];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t instants[] = {
		0, 1774746000, 1792890000, 2147483648LL, 4102444800LL
	};
	struct tz *z = NULL;
	size_t i;

	if (!path[0]) {
		const char *dir = fuzz_dir("fuzz_tzif");

		snprintf(path, sizeof(path), "%s/Fuzz", dir);
		mkdir(path, 0700);
		setenv("TZDIR", dir, 1);
		snprintf(path, sizeof(path), "%s/Fuzz/Zone", dir);
	}
	fuzz_write(path, data, size);
	if (tz_load(&z, "Fuzz/Zone") == 0) {
		for (i = 0; i < sizeof(instants) / sizeof(*instants); i++)
			(void)tz_to_utc(z, tz_to_local(z, instants[i], NULL));
		tz_free(z);
	}
	error_clear();
	return 0;
}
