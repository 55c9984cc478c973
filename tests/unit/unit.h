#ifndef UNIT_H
#define UNIT_H

/* Common includes and helpers for the cmocka unit tests. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"

/* Assert that `expr` returned 0, printing error_last() when it did not. */
#define assert_ok(expr) do { \
	int assert_ok_r_ = (expr); \
	if (assert_ok_r_ != 0) \
		print_error("%s = %d: %s\n", #expr, assert_ok_r_, \
			    error_last()); \
	assert_int_equal(assert_ok_r_, 0); \
} while (0)

#endif
