/*  buf.h - a growable byte buffer meant to be reused, and JSON string output

    Appends never fail silently: on out-of-memory the buffer is marked
    failed and later appends do nothing, so callers check once at the end.
*/
#ifndef BUF_H_INCLUDED
#define BUF_H_INCLUDED

#include "hc_types.h"

typedef struct {
    char *data;             //  bytes, not NUL-terminated unless asked
    size_t len;             //  bytes used
    size_t cap;             //  bytes allocated
    size_t head;            //  bytes reserved in front of data (see reserve)
    bool failed;            //  an allocation failed since the last reset
} hc_buf_t;

void
    hc_buf_init (hc_buf_t *self, size_t head);
void
    hc_buf_free (hc_buf_t *self);
//  Empties the buffer, keeping its memory (shrinks it if it grew huge)
void
    hc_buf_reset (hc_buf_t *self);
bool
    hc_buf_ensure (hc_buf_t *self, size_t more);
void
    hc_buf_append (hc_buf_t *self, const void *data, size_t size);
void
    hc_buf_append_int (hc_buf_t *self, int64_t value);
//  Appends s as a JSON string, quotes included, escaped as JSON.stringify
//  does (s must be valid UTF-8)
void
    hc_buf_append_json_str (hc_buf_t *self, hc_str_t s);
//  A NUL-terminated view of the contents (the NUL is not counted in len)
const char *
    hc_buf_cstr (hc_buf_t *self);
hc_str_t
    hc_buf_str (const hc_buf_t *self);
//  Replaces every occurrence of secret (NULL or "": none) with
//  "<redacted>", so that credentials reach no line or message
void
    hc_buf_redact (hc_buf_t *self, const char *secret);

void
    hc_buf_test (bool verbose);

//  The short appends are inline: frames and log lines are written a few
//  bytes at a time
static inline void
hc_buf_append_str (hc_buf_t *self, hc_str_t s)
{
    hc_buf_append (self, s.ptr, s.len);
}

static inline void
hc_buf_append_cstr (hc_buf_t *self, const char *s)
{
    hc_buf_append (self, s, strlen (s));
}

static inline void
hc_buf_append_char (hc_buf_t *self, char c)
{
    //  hc_buf_ensure's test, without a call while there is room
    if ((!self->failed && self->len + 2 <= self->cap)
    ||  hc_buf_ensure (self, 1))
        self->data [self->len++] = c;
}

#endif
