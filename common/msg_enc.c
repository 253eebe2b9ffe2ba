/*  msg_enc.c - the encoder: packs a message by walking its kind's table

    One reused sbuffer; the table is walked twice (count the keys present
    and check their bounds, then pack them).
*/
#include "msg.h"

#include <assert.h>
#include <msgpack.h>
#include <stdlib.h>

struct _msg_enc_t {
    msgpack_sbuffer buf;        //  the last encoded body
    msgpack_packer pk;          //  writes into buf
};

msg_enc_t *
msg_enc_new (void)
{
    msg_enc_t *self = (msg_enc_t *) calloc (1, sizeof (msg_enc_t));
    if (!self)
        return NULL;
    msgpack_sbuffer_init (&self->buf);
    msgpack_packer_init (&self->pk, &self->buf, msgpack_sbuffer_write);
    return self;
}

void
msg_enc_destroy (msg_enc_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        msgpack_sbuffer_destroy (&(*self_p)->buf);
        free (*self_p);
        *self_p = NULL;
    }
}

const char *
msg_enc_data (msg_enc_t *self)
{
    return self->buf.data;
}

size_t
msg_enc_size (msg_enc_t *self)
{
    return self->buf.size;
}

static void
s_pack_str (msgpack_packer *pk, hc_str_t s)
{
    msgpack_pack_str (pk, s.len);
    msgpack_pack_str_body (pk, s.ptr, s.len);
}

static void
s_pack_bin (msgpack_packer *pk, hc_str_t s)
{
    msgpack_pack_bin (pk, s.len);
    msgpack_pack_bin_body (pk, s.ptr, s.len);
}

static void
s_pack_bool (msgpack_packer *pk, bool value)
{
    if (value)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
}

static void
s_pack_fields (msgpack_packer *pk, const hc_field_t *fields, size_t n)
{
    msgpack_pack_map (pk, n);
    for (size_t i = 0; i < n; i++) {
        const hc_field_t *f = &fields [i];
        s_pack_str (pk, f->key);
        switch (f->type) {
            case HC_V_STR:  s_pack_str (pk, f->str); break;
            case HC_V_RAW:  s_pack_bin (pk, f->str); break;
            case HC_V_INT:  msgpack_pack_int64 (pk, f->num); break;
            case HC_V_BOOL: s_pack_bool (pk, f->flag); break;
            case HC_V_NULL: msgpack_pack_nil (pk); break;
            case HC_V_OBJ:  s_pack_fields (pk, f->obj, f->obj_n); break;
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
s_pack_value (msgpack_packer *pk, const msg_key_t *spec, const void *m)
{
    switch (spec->type) {
        case MSG_U64:
            msgpack_pack_uint64 (pk, *MSG_AT_CONST (m, spec->offset, uint64_t));
            break;
        case MSG_U32:
            msgpack_pack_uint32 (pk, *MSG_AT_CONST (m, spec->offset, uint32_t));
            break;
        case MSG_U16:
            msgpack_pack_uint16 (pk, *MSG_AT_CONST (m, spec->offset, uint16_t));
            break;
        case MSG_ENUM:
            msgpack_pack_uint8 (pk, (uint8_t) *MSG_AT_CONST (m, spec->offset, int));
            break;
        case MSG_I64:
            msgpack_pack_int64 (pk, *MSG_AT_CONST (m, spec->offset, int64_t));
            break;
        case MSG_BOOL:
        case MSG_TRUE:
            s_pack_bool (pk, *MSG_AT_CONST (m, spec->offset, bool));
            break;
        case MSG_STR:
            s_pack_str (pk, *MSG_AT_CONST (m, spec->offset, hc_str_t));
            break;
        case MSG_BIN:
            s_pack_bin (pk, *MSG_AT_CONST (m, spec->offset, hc_str_t));
            break;
        case MSG_CONNS: {
            const uint64_t *conns = *MSG_AT_CONST (m, spec->offset,
                                               const uint64_t *);
            size_t n = *MSG_AT_CONST (m, spec->count_offset, size_t);
            msgpack_pack_array (pk, n);
            for (size_t i = 0; i < n; i++)
                msgpack_pack_uint64 (pk, conns [i]);
            break;
        }
        case MSG_IDS: {
            const hc_str_t *ids = *MSG_AT_CONST (m, spec->offset,
                                             const hc_str_t *);
            size_t n = *MSG_AT_CONST (m, spec->count_offset, size_t);
            msgpack_pack_array (pk, n);
            for (size_t i = 0; i < n; i++)
                s_pack_str (pk, ids [i]);
            break;
        }
        case MSG_FIELDS:
            s_pack_fields (pk, *MSG_AT_CONST (m, spec->offset, const hc_field_t *),
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
    msgpack_sbuffer_clear (&self->buf);
    msgpack_pack_map (&self->pk, 0);
    uint8_t entries = 0;
    for (size_t k = 0; k < kind->keys_n; k++) {
        const msg_key_t *spec = &kind->keys [k];
        if (!s_present (spec, m))
            continue;
        if (MSG_BOUNDED (spec) && msg_key_refused (spec, m))
            return -1;
        s_pack_str (&self->pk, hc_str (spec->key));
        s_pack_value (&self->pk, spec, m);
        entries++;
    }
    if (self->buf.data)
        self->buf.data [0] = (char) (0x80 | entries);
    return 0;
}
