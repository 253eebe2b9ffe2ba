/*  config_value.c - the text of a setting read as a number, a duration, a
    size or one of a list of words
*/
#include "config_value.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
hc_parse_int (const char *text, int64_t *value)
{
    if (!*text || isspace ((unsigned char) *text))
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll (text, &end, 10);
    if (errno || end == text || *end)
        return -1;
    *value = v;
    return 0;
}

//  An integer followed by one of the given units; no unit uses the first
static int
s_parse_with_unit (const char *text, const char *const *units,
                   const int64_t *factors, size_t units_n, int64_t *value)
{
    if (!isdigit ((unsigned char) *text))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull (text, &end, 10);
    if (errno || v > INT64_MAX)
        return -1;
    int64_t factor = factors [0];
    if (*end) {
        int i = hc_parse_word (end, units, units_n);
        if (i < 0)
            return -1;
        factor = factors [i];
    }
    if (v > (unsigned long long) (INT64_MAX / factor))
        return -1;
    *value = (int64_t) v * factor;
    return 0;
}

int
hc_parse_duration_ms (const char *text, int64_t *ms)
{
    static const char *const units [] = {"s", "ms", "m", "h"};
    static const int64_t factors [] = {1000, 1, 60000, 3600000};
    return s_parse_with_unit (text, units, factors, 4, ms);
}

int
hc_parse_size (const char *text, int64_t *bytes)
{
    static const char *const units [] = {
        "B", "K", "KB", "KiB", "k", "M", "MB", "MiB", "G", "GB", "GiB"};
    static const int64_t factors [] = {
        1, 1024, 1024, 1024, 1024, 1 << 20, 1 << 20, 1 << 20,
        1 << 30, 1 << 30, 1 << 30};
    return s_parse_with_unit (text, units, factors, 11, bytes);
}

int
hc_parse_word (const char *text, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (text, names [i]) == 0)
            return (int) i;
    return -1;
}

//  ---------------------------------------------------------------------
//  Self test

void
hc_config_value_test (bool verbose)
{
    if (verbose)
        printf (" * config_value: ");
    int64_t v = 7;
    assert (hc_parse_int ("-42", &v) == 0 && v == -42);
    assert (hc_parse_int ("", &v) == -1 && v == -42);
    assert (hc_parse_int (" 1", &v) == -1);
    assert (hc_parse_int ("8888abc", &v) == -1);
    assert (hc_parse_int ("99999999999999999999", &v) == -1);
    assert (hc_parse_duration_ms ("250ms", &v) == 0 && v == 250);
    assert (hc_parse_duration_ms ("30", &v) == 0 && v == 30000);
    assert (hc_parse_duration_ms ("2m", &v) == 0 && v == 120000);
    assert (hc_parse_duration_ms ("1h", &v) == 0 && v == 3600000);
    assert (hc_parse_duration_ms ("-1s", &v) == -1);
    assert (hc_parse_duration_ms ("5 s", &v) == -1);
    assert (hc_parse_duration_ms ("s", &v) == -1);
    assert (hc_parse_duration_ms ("9223372036854775807h", &v) == -1);
    assert (hc_parse_size ("64KiB", &v) == 0 && v == 65536);
    assert (hc_parse_size ("1MiB", &v) == 0 && v == 1048576);
    assert (hc_parse_size ("100", &v) == 0 && v == 100);
    assert (hc_parse_size ("99999999999999999999", &v) == -1);
    assert (hc_parse_size ("1x", &v) == -1);
    static const char *const words [] = {"off", "on"};
    assert (hc_parse_word ("on", words, 2) == 1);
    assert (hc_parse_word ("On", words, 2) == -1);
    if (verbose)
        printf ("OK\n");
}
