/*  msg_enc.c - the encoder: packs a message by walking its kind's table

    Writes msgpack into one reused buffer directly, each value with one
    bounds check and no call per byte run (msgpack-c's packer calls its
    writer twice per string, key names included: most of a small
    message's cost). The encodings are msgpack-c's: the shortest form of
    every number and length.
*/
#include "msg.h"

#include <assert.h>
#include <stdlib.h>

#define ENC_MIN 512             //  first size of the buffer

struct _msg_enc_t {
    uint8_t *data;              //  the last encoded body
    size_t size;
    size_t cap;
    bool failed;                //  out of memory during this message
};

msg_enc_t *
msg_enc_new (void)
{
    return (msg_enc_t *) calloc (1, sizeof (msg_enc_t));
}

void
msg_enc_destroy (msg_enc_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free ((*self_p)->data);
        free (*self_p);
        *self_p = NULL;
    }
}

const char *
msg_enc_data (msg_enc_t *self)
{
    return (const char *) self->data;
}

size_t
msg_enc_size (msg_enc_t *self)
{
    return self->size;
}

//  Grows the buffer to hold n more bytes; false (and the message fails)
//  without memory
static bool
s_grow (msg_enc_t *self, size_t n)
{
    size_t cap = self->cap ? self->cap : ENC_MIN;
    while (cap - self->size < n)
        cap *= 2;
    uint8_t *data = self->failed ? NULL
                  : (uint8_t *) realloc (self->data, cap);
    if (!data) {
        self->failed = true;
        return false;
    }
    self->data = data;
    self->cap = cap;
    return true;
}

//  Room for n more bytes at the end, or NULL
static inline uint8_t *
s_room (msg_enc_t *self, size_t n)
{
    if (self->cap - self->size < n && !s_grow (self, n))
        return NULL;
    uint8_t *at = self->data + self->size;
    self->size += n;
    return at;
}

//  A type byte and an n-byte big-endian number
static void
s_put (msg_enc_t *self, uint8_t type, uint64_t value, size_t n)
{
    uint8_t *at = s_room (self, 1 + n);
    if (!at)
        return;
    at [0] = type;
    for (size_t i = 0; i < n; i++)
        at [n - i] = (uint8_t) (value >> (8 * i));
}

static void
s_put_uint (msg_enc_t *self, uint64_t v)
{
    if (v < 0x80)
        s_put (self, (uint8_t) v, 0, 0);
    else
    if (v <= UINT8_MAX)
        s_put (self, 0xcc, v, 1);
    else
    if (v <= UINT16_MAX)
        s_put (self, 0xcd, v, 2);
    else
    if (v <= UINT32_MAX)
        s_put (self, 0xce, v, 4);
    else
        s_put (self, 0xcf, v, 8);
}

static void
s_put_int (msg_enc_t *self, int64_t v)
{
    if (v >= 0)
        s_put_uint (self, (uint64_t) v);
    else
    if (v >= -32)
        s_put (self, (uint8_t) (int8_t) v, 0, 0);
    else
    if (v >= INT8_MIN)
        s_put (self, 0xd0, (uint64_t) v, 1);
    else
    if (v >= INT16_MIN)
        s_put (self, 0xd1, (uint64_t) v, 2);
    else
    if (v >= INT32_MIN)
        s_put (self, 0xd2, (uint64_t) v, 4);
    else
        s_put (self, 0xd3, (uint64_t) v, 8);
}

//  A map or array header: fix form under 16, else 16 or 32 bits
static void
s_put_count (msg_enc_t *self, uint8_t fix, uint8_t type16, size_t n)
{
    if (n < 16)
        s_put (self, (uint8_t) (fix | n), 0, 0);
    else
    if (n <= UINT16_MAX)
        s_put (self, type16, n, 2);
    else
        s_put (self, (uint8_t) (type16 + 1), n, 4);
}

//  A str (or, raw, a bin) header and its bytes
static void
s_put_bytes (msg_enc_t *self, hc_str_t s, bool raw)
{
    size_t n = s.len < 32 && !raw ? 0 : s.len <= UINT8_MAX ? 1
             : s.len <= UINT16_MAX ? 2 : 4;
    uint8_t type = n == 0 ? (uint8_t) (0xa0 | s.len)
                 : (uint8_t) ((raw ? 0xc4 : 0xd9) + (n == 4 ? 2 : n - 1));
    uint8_t *at = s_room (self, 1 + n + s.len);
    if (!at)
        return;
    at [0] = type;
    for (size_t i = 0; i < n; i++)
        at [n - i] = (uint8_t) (s.len >> (8 * i));
    if (s.len)
        memcpy (at + 1 + n, s.ptr, s.len);
}

static void
s_put_fields (msg_enc_t *self, const hc_field_t *fields, size_t n)
{
    s_put_count (self, 0x80, 0xde, n);
    for (size_t i = 0; i < n; i++) {
        const hc_field_t *f = &fields [i];
        s_put_bytes (self, f->key, false);
        switch (f->type) {
            case HC_V_STR:  s_put_bytes (self, f->str, false); break;
            case HC_V_RAW:  s_put_bytes (self, f->str, true); break;
            case HC_V_INT:  s_put_int (self, f->num); break;
            case HC_V_BOOL: s_put (self, f->flag ? 0xc3 : 0xc2, 0, 0); break;
            case HC_V_NULL: s_put (self, 0xc0, 0, 0); break;
            case HC_V_OBJ:  s_put_fields (self, f->obj, f->obj_n); break;
        }
    }
}

//  True when the key goes on the wire
static bool
s_present (const msg_key_t *spec, const void *m)
{
    if (spec->required)
        return true;
    switch (spec->type) {
        case MSG_STR:
        case MSG_BIN:
            return hc_str_present (*MSG_AT_CONST (m, spec->offset, hc_str_t));
        case MSG_TRUE:
            return *MSG_AT_CONST (m, spec->offset, bool);
        case MSG_IDS:
            return *MSG_AT_CONST (m, spec->offset, const hc_str_t *) != NULL;
        case MSG_FIELDS:
            return *MSG_AT_CONST (m, spec->count_offset, size_t) > 0;
        default:
            return true;        //  numbers are always there
    }
}

static void
s_put_value (msg_enc_t *self, const msg_key_t *spec, const void *m)
{
    switch (spec->type) {
        case MSG_U64:
            s_put_uint (self, *MSG_AT_CONST (m, spec->offset, uint64_t));
            break;
        case MSG_U32:
            s_put_uint (self, *MSG_AT_CONST (m, spec->offset, uint32_t));
            break;
        case MSG_U16:
            s_put_uint (self, *MSG_AT_CONST (m, spec->offset, uint16_t));
            break;
        case MSG_ENUM:
            s_put_uint (self, (uint8_t) *MSG_AT_CONST (m, spec->offset, int));
            break;
        case MSG_I64:
            s_put_int (self, *MSG_AT_CONST (m, spec->offset, int64_t));
            break;
        case MSG_BOOL:
        case MSG_TRUE:
            s_put (self, *MSG_AT_CONST (m, spec->offset, bool) ? 0xc3 : 0xc2,
                   0, 0);
            break;
        case MSG_STR:
        case MSG_BIN:
            s_put_bytes (self, *MSG_AT_CONST (m, spec->offset, hc_str_t),
                         spec->type == MSG_BIN);
            break;
        case MSG_CONNS: {
            const uint64_t *conns = *MSG_AT_CONST (m, spec->offset,
                                               const uint64_t *);
            size_t n = *MSG_AT_CONST (m, spec->count_offset, size_t);
            s_put_count (self, 0x90, 0xdc, n);
            for (size_t i = 0; i < n; i++)
                s_put_uint (self, conns [i]);
            break;
        }
        case MSG_IDS: {
            const hc_str_t *ids = *MSG_AT_CONST (m, spec->offset,
                                             const hc_str_t *);
            size_t n = *MSG_AT_CONST (m, spec->count_offset, size_t);
            s_put_count (self, 0x90, 0xdc, n);
            for (size_t i = 0; i < n; i++)
                s_put_bytes (self, ids [i], false);
            break;
        }
        case MSG_FIELDS:
            s_put_fields (self, *MSG_AT_CONST (m, spec->offset,
                                               const hc_field_t *),
                          *MSG_AT_CONST (m, spec->count_offset, size_t));
            break;
    }
}

int
msg_encode (msg_enc_t *self, const msg_kind_t *kind, const void *m)
{
    //  One pass: the map's header is a fixmap (no kind has 16 keys) whose
    //  count is written once the keys present are known
    assert (kind->keys_n < 16);
    if (kind->check && kind->check (m))
        return -1;
    self->size = 0;
    self->failed = false;
    s_put (self, 0x80, 0, 0);
    uint8_t entries = 0;
    for (size_t k = 0; k < kind->keys_n; k++) {
        const msg_key_t *spec = &kind->keys [k];
        if (!s_present (spec, m))
            continue;
        if (MSG_BOUNDED (spec) && msg_key_refused (spec, m))
            return -1;
        //  Keys are a letter or two: a fixstr
        size_t len = strlen (spec->key);
        assert (len < 32);
        uint8_t *at = s_room (self, 1 + len);
        if (at) {
            at [0] = (uint8_t) (0xa0 | len);
            memcpy (at + 1, spec->key, len);
        }
        s_put_value (self, spec, m);
        entries++;
    }
    if (self->failed)
        return -1;
    self->data [0] = (uint8_t) (0x80 | entries);
    return 0;
}
