/*  config_value.h - the text of a setting read as a number, a duration, a
    size or one of a list of words

    Durations are whole numbers with a unit: 250ms, 30s, 5m, 1h (no unit
    means seconds). Sizes: 65536, 64KiB, 1MiB (K/KB/KiB all mean 1024).
    No sign, space or other trailing text is taken. Each returns 0, or -1
    with the output untouched.
*/
#ifndef CONFIG_VALUE_H_INCLUDED
#define CONFIG_VALUE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  A decimal integer, a sign allowed, nothing around it
int
    hc_parse_int (const char *text, int64_t *value);
int
    hc_parse_duration_ms (const char *text, int64_t *ms);
int
    hc_parse_size (const char *text, int64_t *bytes);
//  The index of text in names [0..n), or -1
int
    hc_parse_word (const char *text, const char *const *names, size_t n);

void
    hc_config_value_test (bool verbose);

#endif
