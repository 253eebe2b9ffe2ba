/*  buf.c - a growable byte buffer meant to be reused, and JSON string output

    The optional head is room kept in front of the data, so that a buffer
    can be handed to lws_write, which needs LWS_PRE bytes before the payload.
*/
#include "buf.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

//  A buffer that grew past this is given back on reset, so that one huge
//  message does not pin its memory for the life of the actor.
#define BUF_KEEP_MAX (256 * 1024)

void
hc_buf_init (hc_buf_t *self, size_t head)
{
    memset (self, 0, sizeof (*self));
    self->head = head;
}

void
hc_buf_free (hc_buf_t *self)
{
    if (self->data)
        free (self->data - self->head);
    size_t head = self->head;
    memset (self, 0, sizeof (*self));
    self->head = head;
}

void
hc_buf_reset (hc_buf_t *self)
{
    if (self->cap > BUF_KEEP_MAX)
        hc_buf_free (self);
    self->len = 0;
    self->failed = false;
}

bool
hc_buf_ensure (hc_buf_t *self, size_t more)
{
    if (self->failed)
        return false;
    if (self->len + more + 1 <= self->cap)
        return true;
    size_t cap = self->cap ? self->cap : 256;
    while (cap < self->len + more + 1)
        cap *= 2;
    char *block = self->data ? self->data - self->head : NULL;
    block = (char *) realloc (block, self->head + cap);
    if (!block) {
        self->failed = true;
        return false;
    }
    self->data = block + self->head;
    self->cap = cap;
    return true;
}

void
hc_buf_append (hc_buf_t *self, const void *data, size_t size)
{
    if (size == 0 || !hc_buf_ensure (self, size))
        return;
    memcpy (self->data + self->len, data, size);
    self->len += size;
}

void
hc_buf_append_int (hc_buf_t *self, int64_t value)
{
    //  By hand, not snprintf: every log line and many frames have numbers
    char digits [24];
    char *p = digits + sizeof (digits);
    uint64_t magnitude = value < 0 ? 0 - (uint64_t) value : (uint64_t) value;
    do {
        *--p = (char) ('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (value < 0)
        *--p = '-';
    hc_buf_append (self, p, (size_t) (digits + sizeof (digits) - p));
}

void
hc_buf_append_json_str (hc_buf_t *self, hc_str_t s)
{
    static const char hex [] = "0123456789abcdef";
    //  Worst case every byte becomes \u00XX
    if (!hc_buf_ensure (self, s.len * 6 + 2))
        return;
    char *out = self->data + self->len;
    *out++ = '"';
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char) s.ptr [i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *out++ = (char) c;
            continue;
        }
        *out++ = '\\';
        switch (c) {
            case '"':  *out++ = '"'; break;
            case '\\': *out++ = '\\'; break;
            case '\b': *out++ = 'b'; break;
            case '\f': *out++ = 'f'; break;
            case '\n': *out++ = 'n'; break;
            case '\r': *out++ = 'r'; break;
            case '\t': *out++ = 't'; break;
            default:
                *out++ = 'u';
                *out++ = '0';
                *out++ = '0';
                *out++ = hex [c >> 4];
                *out++ = hex [c & 15];
        }
    }
    *out++ = '"';
    self->len = (size_t) (out - self->data);
}

const char *
hc_buf_cstr (hc_buf_t *self)
{
    if (!hc_buf_ensure (self, 0))
        return "";
    self->data [self->len] = 0;
    return self->data;
}

hc_str_t
hc_buf_str (const hc_buf_t *self)
{
    return (hc_str_t){self->data ? self->data : "", self->len};
}

void
hc_buf_redact (hc_buf_t *text, const char *secret)
{
    size_t secret_len = secret ? strlen (secret) : 0;
    if (secret_len == 0 || text->len < secret_len)
        return;
    hc_buf_t out;
    hc_buf_init (&out, 0);
    size_t from = 0;
    const char *hit;
    while ((hit = (const char *) memmem (text->data + from, text->len - from,
                                         secret, secret_len))) {
        size_t at = (size_t) (hit - text->data);
        hc_buf_append (&out, text->data + from, at - from);
        hc_buf_append_cstr (&out, "<redacted>");
        from = at + secret_len;
    }
    if (from == 0) {
        hc_buf_free (&out);
        return;                 //  the usual case: nothing to do
    }
    hc_buf_append (&out, text->data + from, text->len - from);
    hc_buf_reset (text);
    hc_buf_append (text, out.data, out.len);
    hc_buf_free (&out);
}

void
hc_buf_test (bool verbose)
{
    if (verbose)
        printf (" * buf: ");
    hc_buf_t buf;
    hc_buf_init (&buf, 16);
    hc_buf_append_json_str (&buf, HC_STR_LIT ("a\"b\\c\n\x01\xd0\x9f"));
    assert (strcmp (hc_buf_cstr (&buf), "\"a\\\"b\\\\c\\n\\u0001\xd0\x9f\"")
            == 0);
    hc_buf_reset (&buf);
    hc_buf_append_int (&buf, -42);
    hc_buf_append_char (&buf, ',');
    hc_buf_append_cstr (&buf, "x");
    assert (strcmp (hc_buf_cstr (&buf), "-42,x") == 0);
    hc_buf_reset (&buf);
    hc_buf_append_int (&buf, 0);
    hc_buf_append_int (&buf, INT64_MIN);
    hc_buf_append_int (&buf, INT64_MAX);
    assert (strcmp (hc_buf_cstr (&buf), "0-9223372036854775808"
                                        "9223372036854775807") == 0);
    hc_buf_reset (&buf);
    hc_buf_append_cstr (&buf, "-42,x");
    //  Growth keeps the head room in front of the data
    for (int i = 0; i < 10000; i++)
        hc_buf_append_char (&buf, 'y');
    assert (buf.len == 10005 && buf.cap >= buf.len);
    hc_buf_free (&buf);
    assert (buf.data == NULL && buf.head == 16);
    //  A secret, wherever it stands, is taken out
    hc_buf_init (&buf, 0);
    hc_buf_append_cstr (&buf, "a 123:SECRET b 123:SECRET");
    hc_buf_redact (&buf, "123:SECRET");
    assert (strcmp (hc_buf_cstr (&buf), "a <redacted> b <redacted>") == 0);
    hc_buf_redact (&buf, "");
    hc_buf_redact (&buf, NULL);
    assert (strcmp (hc_buf_cstr (&buf), "a <redacted> b <redacted>") == 0);
    hc_buf_free (&buf);
    if (verbose)
        printf ("OK\n");
}
