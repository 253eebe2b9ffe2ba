/*  utf8.h - strict UTF-8 validation (RFC 3629: no overlongs, no surrogates,
    nothing above U+10FFFF)
*/
#ifndef UTF8_H_INCLUDED
#define UTF8_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

bool
    utf8_valid (const void *data, size_t size);

void
    utf8_test (bool verbose);

#endif
