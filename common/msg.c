/*  msg.c - the msgpack codec for every message that crosses an actor boundary

    Encoding packs into one reused sbuffer. Decoding unpacks with one reused
    zone (msgpack_unpack: the only msgpack-c entry point that both references
    the caller's bytes instead of copying them and reuses its zone) and then
    checks the map against a small per-message schema.
*/
#include "msg.h"
#include "utf8.h"

#include <assert.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>

struct _msg_enc_t {
    msgpack_sbuffer buf;        //  the last encoded body
    msgpack_packer pk;          //  writes into buf
};

struct _msg_dec_t {
    msgpack_zone zone;          //  object tree of the last decode
    const char *error;          //  why the last decode failed
    uint64_t conns [MSG_MAX_CONNS];       //  decoded OUT recipients
    hc_field_t fields [MSG_MAX_FIELDS];   //  decoded frame members
    size_t fields_used;         //  slots of fields taken by this decode
    hc_str_t ids [MSG_MAX_P2P_IDS];       //  decoded p2p callees
};

//  ---------------------------------------------------------------------
//  Encoder

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

static msgpack_packer *
s_begin (msg_enc_t *self, size_t map_entries)
{
    msgpack_sbuffer_clear (&self->buf);
    msgpack_pack_map (&self->pk, map_entries);
    return &self->pk;
}

static void
s_pack_str (msgpack_packer *pk, hc_str_t s)
{
    msgpack_pack_str (pk, s.len);
    msgpack_pack_str_body (pk, s.ptr, s.len);
}

static void
s_pack_key (msgpack_packer *pk, const char *key)
{
    s_pack_str (pk, hc_str (key));
}

static void
s_pack_bin (msgpack_packer *pk, hc_str_t s)
{
    msgpack_pack_bin (pk, s.len);
    msgpack_pack_bin_body (pk, s.ptr, s.len);
}

//  Counts members (nested included) and depth so that we never produce a
//  message that our own decoder would refuse.
static int
s_fields_check (const hc_field_t *fields, size_t n, int depth, size_t *total)
{
    if (depth > MSG_MAX_DEPTH)
        return -1;
    *total += n;
    if (*total > MSG_MAX_FIELDS)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (fields [i].type == HC_V_OBJ
        &&  s_fields_check (fields [i].obj, fields [i].obj_n, depth + 1, total))
            return -1;
    return 0;
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
            case HC_V_BOOL:
                if (f->flag)
                    msgpack_pack_true (pk);
                else
                    msgpack_pack_false (pk);
                break;
            case HC_V_NULL: msgpack_pack_nil (pk); break;
            case HC_V_OBJ:  s_pack_fields (pk, f->obj, f->obj_n); break;
        }
    }
}

int
msg_enc_open (msg_enc_t *self, const msg_open_t *m)
{
    msgpack_packer *pk = s_begin (self, 3);
    s_pack_key (pk, "c");
    msgpack_pack_uint64 (pk, m->conn);
    s_pack_key (pk, "d");
    msgpack_pack_uint8 (pk, (uint8_t) m->dialect);
    s_pack_key (pk, "p");
    s_pack_str (pk, m->peer);
    return 0;
}

int
msg_enc_close (msg_enc_t *self, const msg_close_t *m)
{
    msgpack_packer *pk = s_begin (self, 1);
    s_pack_key (pk, "c");
    msgpack_pack_uint64 (pk, m->conn);
    return 0;
}

int
msg_enc_sig (msg_enc_t *self, const msg_sig_t *m)
{
    size_t entries = 2 + hc_str_present (m->room) + hc_str_present (m->user)
                   + hc_str_present (m->to) + hc_str_present (m->payload);
    msgpack_packer *pk = s_begin (self, entries);
    s_pack_key (pk, "c");
    msgpack_pack_uint64 (pk, m->conn);
    s_pack_key (pk, "o");
    msgpack_pack_uint8 (pk, (uint8_t) m->op);
    if (hc_str_present (m->room)) {
        s_pack_key (pk, "r");
        s_pack_str (pk, m->room);
    }
    if (hc_str_present (m->user)) {
        s_pack_key (pk, "u");
        s_pack_str (pk, m->user);
    }
    if (hc_str_present (m->to)) {
        s_pack_key (pk, "t");
        s_pack_str (pk, m->to);
    }
    if (hc_str_present (m->payload)) {
        s_pack_key (pk, "x");
        s_pack_bin (pk, m->payload);
    }
    return 0;
}

int
msg_enc_p2p (msg_enc_t *self, const msg_p2p_t *m)
{
    size_t total = 0;
    if (m->callees_n > MSG_MAX_P2P_IDS
    ||  s_fields_check (m->payload, m->payload_n, MSG_MAX_DEPTH, &total))
        return -1;
    for (size_t i = 0; i < m->payload_n; i++)
        if (m->payload [i].type != HC_V_RAW)
            return -1;
    if (m->user_key.len > MSG_MAX_KEY || m->kind.len > MSG_MAX_KEY)
        return -1;
    for (size_t i = 0; i < m->callees_n; i++)
        if (m->callees [i].len > MSG_MAX_KEY)
            return -1;
    struct {
        const char *key;
        hc_str_t value;
        bool raw;               //  bin (raw JSON) rather than str
    } optional [] = {
        {"uk", m->user_key, false}, {"ur", m->user_raw, true},
        {"n", m->name, true},       {"ph", m->photo, true},
        {"dv", m->device, true},    {"an", m->answer, true},
        {"ic", m->ice_params, true}, {"k", m->kind, false},
        {"si", m->stream_id, true},
    };
    size_t optional_n = sizeof (optional) / sizeof (optional [0]);
    size_t entries = 2 + (m->is_update ? 1 : 0) + (m->callees ? 1 : 0)
                   + (m->payload_n ? 1 : 0);
    for (size_t i = 0; i < optional_n; i++)
        entries += hc_str_present (optional [i].value);
    msgpack_packer *pk = s_begin (self, entries);
    s_pack_key (pk, "c");
    msgpack_pack_uint64 (pk, m->conn);
    s_pack_key (pk, "r");
    msgpack_pack_uint8 (pk, (uint8_t) m->route);
    for (size_t i = 0; i < optional_n; i++)
        if (hc_str_present (optional [i].value)) {
            s_pack_key (pk, optional [i].key);
            if (optional [i].raw)
                s_pack_bin (pk, optional [i].value);
            else
                s_pack_str (pk, optional [i].value);
        }
    if (m->is_update) {
        s_pack_key (pk, "iu");
        msgpack_pack_true (pk);
    }
    if (m->callees) {
        s_pack_key (pk, "cs");
        msgpack_pack_array (pk, m->callees_n);
        for (size_t i = 0; i < m->callees_n; i++)
            s_pack_str (pk, m->callees [i]);
    }
    if (m->payload_n) {
        s_pack_key (pk, "pl");
        s_pack_fields (pk, m->payload, m->payload_n);
    }
    return 0;
}

int
msg_enc_out (msg_enc_t *self, const msg_out_t *m)
{
    size_t total = 0;
    if (m->conns_n == 0 || m->conns_n > MSG_MAX_CONNS
    ||  s_fields_check (m->fields, m->fields_n, 1, &total))
        return -1;
    msgpack_packer *pk = s_begin (self, 2);
    s_pack_key (pk, "c");
    msgpack_pack_array (pk, m->conns_n);
    for (size_t i = 0; i < m->conns_n; i++)
        msgpack_pack_uint64 (pk, m->conns [i]);
    s_pack_key (pk, "f");
    s_pack_fields (pk, m->fields, m->fields_n);
    return 0;
}

int
msg_enc_kick (msg_enc_t *self, const msg_kick_t *m)
{
    if (m->reason.len > 123)        //  what fits in a close frame
        return -1;
    msgpack_packer *pk = s_begin (self, 3);
    s_pack_key (pk, "c");
    msgpack_pack_uint64 (pk, m->conn);
    s_pack_key (pk, "k");
    msgpack_pack_uint16 (pk, m->code);
    s_pack_key (pk, "r");
    s_pack_str (pk, m->reason);
    return 0;
}

int
msg_enc_log (msg_enc_t *self, const msg_log_t *m)
{
    size_t total = 0;
    if (s_fields_check (m->fields, m->fields_n, MSG_MAX_DEPTH, &total))
        return -1;
    for (size_t i = 0; i < m->fields_n; i++)
        if (m->fields [i].type != HC_V_STR && m->fields [i].type != HC_V_INT)
            return -1;
    msgpack_packer *pk = s_begin (self, 5);
    s_pack_key (pk, "l");
    msgpack_pack_uint8 (pk, (uint8_t) m->level);
    s_pack_key (pk, "t");
    msgpack_pack_int64 (pk, m->time_us);
    s_pack_key (pk, "a");
    s_pack_str (pk, m->actor);
    s_pack_key (pk, "e");
    s_pack_str (pk, m->event);
    s_pack_key (pk, "f");
    s_pack_fields (pk, m->fields, m->fields_n);
    return 0;
}

int
msg_enc_hello (msg_enc_t *self, const msg_hello_t *m)
{
    msgpack_packer *pk = s_begin (self, 1);
    s_pack_key (pk, "g");
    msgpack_pack_uint32 (pk, m->gateway);
    return 0;
}

int
msg_enc_welcome (msg_enc_t *self, const msg_welcome_t *m)
{
    msgpack_packer *pk = s_begin (self, 10);
    s_pack_key (pk, "e");
    msgpack_pack_uint64 (pk, m->epoch);
    s_pack_key (pk, "f");
    if (m->fresh)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    const msg_rooms_stats_t *st = &m->stats;
    const char *keys [] = {"sr", "sm", "sq", "sb", "su", "sl", "sw", "sg"};
    uint64_t values [] = {st->rooms, st->members, st->queued_frames,
                          st->queued_bytes, st->p2p_users, st->p2p_linked,
                          st->p2p_waiting, st->p2p_grace};
    for (size_t i = 0; i < sizeof (values) / sizeof (values [0]); i++) {
        s_pack_key (pk, keys [i]);
        msgpack_pack_uint64 (pk, values [i]);
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  Decoder

msg_dec_t *
msg_dec_new (void)
{
    msg_dec_t *self = (msg_dec_t *) calloc (1, sizeof (msg_dec_t));
    if (!self)
        return NULL;
    if (!msgpack_zone_init (&self->zone, MSGPACK_ZONE_CHUNK_SIZE)) {
        free (self);
        return NULL;
    }
    return self;
}

void
msg_dec_destroy (msg_dec_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        msgpack_zone_destroy (&(*self_p)->zone);
        free (*self_p);
        *self_p = NULL;
    }
}

const char *
msg_dec_error (msg_dec_t *self)
{
    return self->error ? self->error : "no error";
}

static int
s_fail (msg_dec_t *self, const char *why)
{
    self->error = why;
    return -1;
}

//  msgpack-c allocates a container's elements as soon as it reads its
//  header, trusting the declared count: five bytes can ask for 128 GiB.
//  Every element takes at least one byte, so a body is plausible only if
//  no container declares more elements than bytes are left. One pass, no
//  allocation; the real parse follows. Returns where the value ends, or
//  NULL.
static const uint8_t *
s_plausible (const uint8_t *p, size_t size)
{
    const uint8_t *end = p + size;
    uint64_t pending = 1;       //  values still to read
    while (pending) {
        if (p >= end)
            return NULL;
        pending--;
        uint8_t c = *p++;
        uint64_t skip = 0, items = 0;
        size_t len_bytes = 0;   //  size of a length that follows the type
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
            continue;
        if (c >= 0x80 && c <= 0x8f)
            items = 2 * (uint64_t) (c & 0x0f);
        else
        if (c >= 0x90 && c <= 0x9f)
            items = c & 0x0f;
        else
        if (c >= 0xa0 && c <= 0xbf)
            skip = c & 0x1f;
        else
            switch (c) {
                case 0xc4: case 0xd9: len_bytes = 1; break;     //  bin8 str8
                case 0xc5: case 0xda: len_bytes = 2; break;
                case 0xc6: case 0xdb: len_bytes = 4; break;
                case 0xc7: len_bytes = 1; skip = 1; break;      //  ext + type
                case 0xc8: len_bytes = 2; skip = 1; break;
                case 0xc9: len_bytes = 4; skip = 1; break;
                case 0xca: skip = 4; break;
                case 0xcb: skip = 8; break;
                case 0xcc: case 0xd0: skip = 1; break;
                case 0xcd: case 0xd1: skip = 2; break;
                case 0xce: case 0xd2: skip = 4; break;
                case 0xcf: case 0xd3: skip = 8; break;
                case 0xd4: skip = 2; break;
                case 0xd5: skip = 3; break;
                case 0xd6: skip = 5; break;
                case 0xd7: skip = 9; break;
                case 0xd8: skip = 17; break;
                case 0xdc: case 0xdd: case 0xde: case 0xdf: {
                    size_t n = c == 0xdc || c == 0xde ? 2 : 4;
                    if ((size_t) (end - p) < n)
                        return NULL;
                    uint64_t count = 0;
                    for (size_t i = 0; i < n; i++)
                        count = count << 8 | *p++;
                    items = c >= 0xde ? 2 * count : count;
                    break;
                }
                default:
                    return NULL;       //  0xc1 is never used
            }
        if (len_bytes) {
            if ((size_t) (end - p) < len_bytes)
                return NULL;
            uint64_t len = 0;
            for (size_t i = 0; i < len_bytes; i++)
                len = len << 8 | *p++;
            skip += len;
        }
        if (skip > (uint64_t) (end - p))
            return NULL;
        p += skip;
        pending += items;
        if (pending > (uint64_t) (end - p))
            return NULL;
    }
    return p;
}

//  Unpacks exactly one map that fills the whole buffer
static int
s_unpack_map (msg_dec_t *self, const void *data, size_t size,
              msgpack_object_map *map)
{
    self->error = NULL;
    self->fields_used = 0;
    msgpack_zone_clear (&self->zone);
    if (!data || size == 0)
        return s_fail (self, "empty body");
    const uint8_t *value_end = s_plausible ((const uint8_t *) data, size);
    if (!value_end)
        return s_fail (self, "not msgpack");
    if (value_end != (const uint8_t *) data + size)
        return s_fail (self, "bytes after the body");
    size_t off = 0;
    msgpack_object root;
    msgpack_unpack_return rc = msgpack_unpack (
        (const char *) data, size, &off, &self->zone, &root);
    if (rc == MSGPACK_UNPACK_EXTRA_BYTES)
        return s_fail (self, "bytes after the body");
    if (rc != MSGPACK_UNPACK_SUCCESS || off != size)
        return s_fail (self, "not msgpack");
    if (root.type != MSGPACK_OBJECT_MAP)
        return s_fail (self, "body is not a map");
    *map = root.via.map;
    return 0;
}

typedef enum {
    K_U64,          //  uint64_t
    K_U32,          //  uint32_t
    K_BOOL,         //  bool
    K_U16,          //  uint16_t
    K_ENUM,         //  int, 0..max
    K_I64,          //  int64_t
    K_STR,          //  hc_str_t, valid UTF-8
    K_BIN,          //  hc_str_t, valid UTF-8 (raw JSON)
    K_CONNS,        //  array of uint64 into dec->conns
    K_FIELDS,       //  frame members into dec->fields
    K_IDS,          //  array of strings into dec->ids
    K_TRUE          //  bool, only true is ever sent
} key_type_t;

//  Where K_FIELDS stores the members it decodes
typedef struct {
    const hc_field_t **fields;
    size_t *n;
} fields_ref_t;

typedef struct {
    const char *key;            //  one-letter names keep bodies small
    key_type_t type;
    bool required;
    void *dst;                  //  where the value goes
    uint64_t max;               //  K_ENUM: largest value; K_STR: max length
    bool seen;
} key_spec_t;

static int
    s_decode_fields (msg_dec_t *self, const msgpack_object *o, int depth,
                     const hc_field_t **fields, size_t *n);

static int
s_decode_str (msg_dec_t *self, const msgpack_object *o, hc_str_t *s)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return s_fail (self, "expected a string");
    if (!utf8_valid (o->via.str.ptr, o->via.str.size))
        return s_fail (self, "string is not UTF-8");
    //  A zero-length str may carry a NULL pointer; keep "present" apart
    *s = (hc_str_t){o->via.str.size ? o->via.str.ptr : "", o->via.str.size};
    return 0;
}

static int
s_decode_bin (msg_dec_t *self, const msgpack_object *o, hc_str_t *s)
{
    if (o->type != MSGPACK_OBJECT_BIN)
        return s_fail (self, "expected raw bytes");
    if (!utf8_valid (o->via.bin.ptr, o->via.bin.size))
        return s_fail (self, "raw JSON is not UTF-8");
    *s = (hc_str_t){o->via.bin.size ? o->via.bin.ptr : "", o->via.bin.size};
    return 0;
}

static int
s_decode_value (msg_dec_t *self, key_spec_t *spec, const msgpack_object *o)
{
    switch (spec->type) {
        case K_U64:
            if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                return s_fail (self, "expected an unsigned integer");
            *(uint64_t *) spec->dst = o->via.u64;
            return 0;
        case K_U32:
            if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER
            ||  o->via.u64 > UINT32_MAX)
                return s_fail (self, "expected a 32-bit unsigned integer");
            *(uint32_t *) spec->dst = (uint32_t) o->via.u64;
            return 0;
        case K_BOOL:
            if (o->type != MSGPACK_OBJECT_BOOLEAN)
                return s_fail (self, "expected true or false");
            *(bool *) spec->dst = o->via.boolean;
            return 0;
        case K_U16:
            if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER
            ||  o->via.u64 > UINT16_MAX)
                return s_fail (self, "expected a 16-bit unsigned integer");
            *(uint16_t *) spec->dst = (uint16_t) o->via.u64;
            return 0;
        case K_ENUM:
            if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER
            ||  o->via.u64 > spec->max)
                return s_fail (self, "enumeration out of range");
            *(int *) spec->dst = (int) o->via.u64;
            return 0;
        case K_I64:
            if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
                if (o->via.u64 > INT64_MAX)
                    return s_fail (self, "integer out of range");
                *(int64_t *) spec->dst = (int64_t) o->via.u64;
                return 0;
            }
            if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
                *(int64_t *) spec->dst = o->via.i64;
                return 0;
            }
            return s_fail (self, "expected an integer");
        case K_STR:
            if (s_decode_str (self, o, (hc_str_t *) spec->dst))
                return -1;
            if (spec->max && ((hc_str_t *) spec->dst)->len > spec->max)
                return s_fail (self, "string too long");
            return 0;
        case K_BIN:
            return s_decode_bin (self, o, (hc_str_t *) spec->dst);
        case K_CONNS: {
            if (o->type != MSGPACK_OBJECT_ARRAY)
                return s_fail (self, "expected an array of connection ids");
            const msgpack_object_array *a = &o->via.array;
            if (a->size == 0 || a->size > MSG_MAX_CONNS)
                return s_fail (self, "bad number of connection ids");
            for (uint32_t i = 0; i < a->size; i++) {
                if (a->ptr [i].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                    return s_fail (self, "connection id is not an integer");
                self->conns [i] = a->ptr [i].via.u64;
            }
            msg_out_t *out = (msg_out_t *) spec->dst;
            out->conns = self->conns;
            out->conns_n = a->size;
            return 0;
        }
        case K_FIELDS: {
            fields_ref_t *dst = (fields_ref_t *) spec->dst;
            return s_decode_fields (self, o, 1, dst->fields, dst->n);
        }
        case K_IDS: {
            if (o->type != MSGPACK_OBJECT_ARRAY)
                return s_fail (self, "expected an array of ids");
            const msgpack_object_array *a = &o->via.array;
            if (a->size > MSG_MAX_P2P_IDS)
                return s_fail (self, "too many ids");
            for (uint32_t i = 0; i < a->size; i++) {
                if (s_decode_str (self, &a->ptr [i], &self->ids [i]))
                    return -1;
                if (self->ids [i].len > MSG_MAX_KEY)
                    return s_fail (self, "id too long");
            }
            msg_p2p_t *p2p = (msg_p2p_t *) spec->dst;
            p2p->callees = self->ids;
            p2p->callees_n = a->size;
            return 0;
        }
        case K_TRUE:
            if (o->type != MSGPACK_OBJECT_BOOLEAN || !o->via.boolean)
                return s_fail (self, "expected true");
            *(bool *) spec->dst = true;
            return 0;
    }
    return s_fail (self, "internal: unknown key type");
}

//  Frame members: keys are strings, values one of the hc_vtype_t kinds.
//  Each object's members take a contiguous run of self->fields.
static int
s_decode_fields (msg_dec_t *self, const msgpack_object *o, int depth,
                 const hc_field_t **fields, size_t *n)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return s_fail (self, "frame is not a map");
    if (depth > MSG_MAX_DEPTH)
        return s_fail (self, "frame nested too deep");
    const msgpack_object_map *map = &o->via.map;
    if (map->size > MSG_MAX_FIELDS - self->fields_used)
        return s_fail (self, "frame has too many members");
    hc_field_t *run = &self->fields [self->fields_used];
    self->fields_used += map->size;
    for (uint32_t i = 0; i < map->size; i++) {
        hc_field_t *f = &run [i];
        const msgpack_object *val = &map->ptr [i].val;
        memset (f, 0, sizeof (*f));
        if (s_decode_str (self, &map->ptr [i].key, &f->key))
            return -1;
        switch (val->type) {
            case MSGPACK_OBJECT_STR:
                f->type = HC_V_STR;
                if (s_decode_str (self, val, &f->str))
                    return -1;
                break;
            case MSGPACK_OBJECT_BIN:
                f->type = HC_V_RAW;
                if (s_decode_bin (self, val, &f->str))
                    return -1;
                if (f->str.len == 0)
                    return s_fail (self, "empty raw JSON value");
                break;
            case MSGPACK_OBJECT_POSITIVE_INTEGER:
                if (val->via.u64 > INT64_MAX)
                    return s_fail (self, "integer out of range");
                f->type = HC_V_INT;
                f->num = (int64_t) val->via.u64;
                break;
            case MSGPACK_OBJECT_NEGATIVE_INTEGER:
                f->type = HC_V_INT;
                f->num = val->via.i64;
                break;
            case MSGPACK_OBJECT_BOOLEAN:
                f->type = HC_V_BOOL;
                f->flag = val->via.boolean;
                break;
            case MSGPACK_OBJECT_NIL:
                f->type = HC_V_NULL;
                break;
            case MSGPACK_OBJECT_MAP:
                f->type = HC_V_OBJ;
                if (s_decode_fields (self, val, depth + 1, &f->obj, &f->obj_n))
                    return -1;
                break;
            default:
                return s_fail (self, "frame member of unsupported type");
        }
    }
    *fields = run;
    *n = map->size;
    return 0;
}

static int
s_decode (msg_dec_t *self, const void *data, size_t size, key_spec_t *specs,
          size_t specs_n)
{
    msgpack_object_map map;
    if (s_unpack_map (self, data, size, &map))
        return -1;
    for (uint32_t i = 0; i < map.size; i++) {
        const msgpack_object *key = &map.ptr [i].key;
        if (key->type != MSGPACK_OBJECT_STR)
            return s_fail (self, "key is not a string");
        key_spec_t *spec = NULL;
        for (size_t k = 0; k < specs_n; k++)
            if (strlen (specs [k].key) == key->via.str.size
            &&  memcmp (specs [k].key, key->via.str.ptr, key->via.str.size)
                    == 0) {
                spec = &specs [k];
                break;
            }
        if (!spec)
            return s_fail (self, "unknown key");
        if (spec->seen)
            return s_fail (self, "duplicate key");
        spec->seen = true;
        if (s_decode_value (self, spec, &map.ptr [i].val))
            return -1;
    }
    for (size_t k = 0; k < specs_n; k++)
        if (specs [k].required && !specs [k].seen)
            return s_fail (self, "required key missing");
    return 0;
}

#define SPECS_N(specs) (sizeof (specs) / sizeof ((specs) [0]))

int
msg_dec_open (msg_dec_t *self, const void *data, size_t size, msg_open_t *m)
{
    memset (m, 0, sizeof (*m));
    int dialect = 0;
    key_spec_t specs [] = {
        {"c", K_U64, true, &m->conn, 0, false},
        {"d", K_ENUM, true, &dialect, HC_DIALECT_P2P, false},
        {"p", K_STR, true, &m->peer, 256, false},
    };
    if (s_decode (self, data, size, specs, SPECS_N (specs)))
        return -1;
    m->dialect = (hc_dialect_t) dialect;
    return 0;
}

int
msg_dec_close (msg_dec_t *self, const void *data, size_t size, msg_close_t *m)
{
    memset (m, 0, sizeof (*m));
    key_spec_t specs [] = {
        {"c", K_U64, true, &m->conn, 0, false},
    };
    return s_decode (self, data, size, specs, SPECS_N (specs));
}

int
msg_dec_sig (msg_dec_t *self, const void *data, size_t size, msg_sig_t *m)
{
    memset (m, 0, sizeof (*m));
    int op = 0;
    key_spec_t specs [] = {
        {"c", K_U64, true, &m->conn, 0, false},
        {"o", K_ENUM, true, &op, MSG_SIG_OP_COUNT - 1, false},
        {"r", K_STR, false, &m->room, 0, false},
        {"u", K_STR, false, &m->user, 0, false},
        {"t", K_STR, false, &m->to, 0, false},
        {"x", K_BIN, false, &m->payload, 0, false},
    };
    if (s_decode (self, data, size, specs, SPECS_N (specs)))
        return -1;
    m->op = (msg_sig_op_t) op;
    return 0;
}

int
msg_dec_p2p (msg_dec_t *self, const void *data, size_t size, msg_p2p_t *m)
{
    memset (m, 0, sizeof (*m));
    int route = 0;
    fields_ref_t ref = {&m->payload, &m->payload_n};
    key_spec_t specs [] = {
        {"c", K_U64, true, &m->conn, 0, false},
        {"r", K_ENUM, true, &route, MSG_P2P_ROUTE_COUNT - 1, false},
        {"uk", K_STR, false, &m->user_key, MSG_MAX_KEY, false},
        {"ur", K_BIN, false, &m->user_raw, 0, false},
        {"n", K_BIN, false, &m->name, 0, false},
        {"ph", K_BIN, false, &m->photo, 0, false},
        {"dv", K_BIN, false, &m->device, 0, false},
        {"an", K_BIN, false, &m->answer, 0, false},
        {"ic", K_BIN, false, &m->ice_params, 0, false},
        {"k", K_STR, false, &m->kind, MSG_MAX_KEY, false},
        {"si", K_BIN, false, &m->stream_id, 0, false},
        {"iu", K_TRUE, false, &m->is_update, 0, false},
        {"cs", K_IDS, false, m, 0, false},
        {"pl", K_FIELDS, false, &ref, 0, false},
    };
    if (s_decode (self, data, size, specs, SPECS_N (specs)))
        return -1;
    for (size_t i = 0; i < m->payload_n; i++)
        if (m->payload [i].type != HC_V_RAW)
            return s_fail (self, "payload member is not raw JSON");
    hc_str_t *raws [] = {&m->user_raw, &m->name, &m->photo, &m->device,
                         &m->answer, &m->ice_params, &m->stream_id};
    for (size_t i = 0; i < sizeof (raws) / sizeof (raws [0]); i++)
        if (hc_str_present (*raws [i]) && raws [i]->len == 0)
            return s_fail (self, "empty raw JSON value");
    m->route = (msg_p2p_route_t) route;
    return 0;
}

int
msg_dec_out (msg_dec_t *self, const void *data, size_t size, msg_out_t *m)
{
    memset (m, 0, sizeof (*m));
    fields_ref_t ref = {&m->fields, &m->fields_n};
    key_spec_t specs [] = {
        {"c", K_CONNS, true, m, 0, false},
        {"f", K_FIELDS, true, &ref, 0, false},
    };
    return s_decode (self, data, size, specs, SPECS_N (specs));
}

int
msg_dec_kick (msg_dec_t *self, const void *data, size_t size, msg_kick_t *m)
{
    memset (m, 0, sizeof (*m));
    key_spec_t specs [] = {
        {"c", K_U64, true, &m->conn, 0, false},
        {"k", K_U16, true, &m->code, 0, false},
        {"r", K_STR, true, &m->reason, 123, false},
    };
    return s_decode (self, data, size, specs, SPECS_N (specs));
}

int
msg_dec_log (msg_dec_t *self, const void *data, size_t size, msg_log_t *m)
{
    memset (m, 0, sizeof (*m));
    int level = 0;
    fields_ref_t ref = {&m->fields, &m->fields_n};
    key_spec_t specs [] = {
        {"l", K_ENUM, true, &level, HC_LOG_ERROR, false},
        {"t", K_I64, true, &m->time_us, 0, false},
        {"a", K_STR, true, &m->actor, 64, false},
        {"e", K_STR, true, &m->event, 128, false},
        {"f", K_FIELDS, true, &ref, 0, false},
    };
    if (s_decode (self, data, size, specs, SPECS_N (specs)))
        return -1;
    for (size_t i = 0; i < m->fields_n; i++)
        if (m->fields [i].type != HC_V_STR && m->fields [i].type != HC_V_INT)
            return s_fail (self, "log field is neither text nor integer");
    m->level = (hc_log_level_t) level;
    return 0;
}

int
msg_dec_hello (msg_dec_t *self, const void *data, size_t size, msg_hello_t *m)
{
    memset (m, 0, sizeof (*m));
    key_spec_t specs [] = {
        {"g", K_U32, true, &m->gateway, 0, false},
    };
    return s_decode (self, data, size, specs, SPECS_N (specs));
}

int
msg_dec_welcome (msg_dec_t *self, const void *data, size_t size,
                 msg_welcome_t *m)
{
    memset (m, 0, sizeof (*m));
    key_spec_t specs [] = {
        {"e", K_U64, true, &m->epoch, 0, false},
        {"f", K_BOOL, true, &m->fresh, 0, false},
        {"sr", K_U64, true, &m->stats.rooms, 0, false},
        {"sm", K_U64, true, &m->stats.members, 0, false},
        {"sq", K_U64, true, &m->stats.queued_frames, 0, false},
        {"sb", K_U64, true, &m->stats.queued_bytes, 0, false},
        {"su", K_U64, true, &m->stats.p2p_users, 0, false},
        {"sl", K_U64, true, &m->stats.p2p_linked, 0, false},
        {"sw", K_U64, true, &m->stats.p2p_waiting, 0, false},
        {"sg", K_U64, true, &m->stats.p2p_grace, 0, false},
    };
    return s_decode (self, data, size, specs, SPECS_N (specs));
}

const char *
msg_sig_op_name (msg_sig_op_t op)
{
    static const char *names [] = {"join", "leave", "offer", "answer",
                                   "candidate"};
    return op < MSG_SIG_OP_COUNT ? names [op] : "?";
}

const char *
msg_p2p_route_name (msg_p2p_route_t route)
{
    static const char *names [] = {
        "ADD_USER", "RECONNECT", "OFFER", "ANSWER", "DECLINE", "ADD_ICE",
        "SWAP_ICE", "SET_REMOTE_STREAM_ID", "UPDATE_OFFER", "UPDATE_ANSWER",
        "MEDIA_UPDATE"};
    return route < MSG_P2P_ROUTE_COUNT ? names [route] : "?";
}

const char *
hc_log_level_name (hc_log_level_t level)
{
    static const char *names [] = {"debug", "info", "warn", "error"};
    return level <= HC_LOG_ERROR ? names [level] : "?";
}

const char *
hc_dialect_name (hc_dialect_t dialect)
{
    return dialect == HC_DIALECT_SIGNAL ? "signal" : "p2p";
}

//  ---------------------------------------------------------------------
//  Self test: a round trip for every message kind, then malformed input

static bool
s_fields_equal (const hc_field_t *a, size_t an, const hc_field_t *b,
                size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++) {
        if (!hc_str_eq (a [i].key, b [i].key) || a [i].type != b [i].type)
            return false;
        switch (a [i].type) {
            case HC_V_STR:
            case HC_V_RAW:
                if (!hc_str_eq (a [i].str, b [i].str))
                    return false;
                break;
            case HC_V_INT:
                if (a [i].num != b [i].num)
                    return false;
                break;
            case HC_V_BOOL:
                if (a [i].flag != b [i].flag)
                    return false;
                break;
            case HC_V_NULL:
                break;
            case HC_V_OBJ:
                if (!s_fields_equal (a [i].obj, a [i].obj_n, b [i].obj,
                                     b [i].obj_n))
                    return false;
                break;
        }
    }
    return true;
}

//  Encodes one raw msgpack map by hand for the malformed-input cases
static size_t
s_pack_raw (msgpack_sbuffer *buf, int variant)
{
    msgpack_sbuffer_clear (buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buf, msgpack_sbuffer_write);
    switch (variant) {
        case 0:     //  conn is a string
            msgpack_pack_map (&pk, 1);
            s_pack_key (&pk, "c");
            s_pack_str (&pk, HC_STR_LIT ("7"));
            break;
        case 1:     //  unknown key
            msgpack_pack_map (&pk, 2);
            s_pack_key (&pk, "c");
            msgpack_pack_uint64 (&pk, 7);
            s_pack_key (&pk, "zz");
            msgpack_pack_nil (&pk);
            break;
        case 2:     //  duplicate key
            msgpack_pack_map (&pk, 2);
            s_pack_key (&pk, "c");
            msgpack_pack_uint64 (&pk, 7);
            s_pack_key (&pk, "c");
            msgpack_pack_uint64 (&pk, 8);
            break;
        case 3:     //  not a map
            msgpack_pack_array (&pk, 1);
            msgpack_pack_uint64 (&pk, 7);
            break;
        case 4:     //  invalid UTF-8 in a string
            msgpack_pack_map (&pk, 3);
            s_pack_key (&pk, "c");
            msgpack_pack_uint64 (&pk, 7);
            s_pack_key (&pk, "d");
            msgpack_pack_uint8 (&pk, 0);
            s_pack_key (&pk, "p");
            s_pack_str (&pk, HC_STR_LIT ("\xff\xfe"));
            break;
        case 5:     //  enum out of range
            msgpack_pack_map (&pk, 3);
            s_pack_key (&pk, "c");
            msgpack_pack_uint64 (&pk, 7);
            s_pack_key (&pk, "d");
            msgpack_pack_uint8 (&pk, 9);
            s_pack_key (&pk, "p");
            s_pack_str (&pk, HC_STR_LIT ("x"));
            break;
    }
    return buf->size;
}

void
msg_test (bool verbose)
{
    if (verbose)
        printf (" * msg: ");
    msg_enc_t *enc = msg_enc_new ();
    msg_dec_t *dec = msg_dec_new ();
    assert (enc && dec);

    //  OPEN
    msg_open_t open = {0x1234567800000001ULL, HC_DIALECT_P2P,
                       HC_STR_LIT ("127.0.0.1")};
    assert (msg_enc_open (enc, &open) == 0);
    msg_open_t open2;
    assert (msg_dec_open (dec, msg_enc_data (enc), msg_enc_size (enc), &open2)
            == 0);
    assert (open2.conn == open.conn && open2.dialect == open.dialect);
    assert (hc_str_eq (open2.peer, open.peer));

    //  CLOSE
    msg_close_t close = {42};
    assert (msg_enc_close (enc, &close) == 0);
    msg_close_t close2;
    assert (msg_dec_close (dec, msg_enc_data (enc), msg_enc_size (enc),
                           &close2) == 0);
    assert (close2.conn == 42);

    //  SIG, all members and the minimal form
    msg_sig_t sig = {7, MSG_SIG_OFFER, HC_STR_LIT ("w1"), HC_STR_LIT ("al"),
                     HC_STR_LIT ("bo"), HC_STR_LIT ("\"v=0\\r\\n\"")};
    assert (msg_enc_sig (enc, &sig) == 0);
    msg_sig_t sig2;
    assert (msg_dec_sig (dec, msg_enc_data (enc), msg_enc_size (enc), &sig2)
            == 0);
    assert (sig2.conn == 7 && sig2.op == MSG_SIG_OFFER);
    assert (hc_str_eq (sig2.room, sig.room) && hc_str_eq (sig2.user, sig.user));
    assert (hc_str_eq (sig2.to, sig.to));
    assert (hc_str_eq (sig2.payload, sig.payload));
    msg_sig_t leave = {8, MSG_SIG_LEAVE, HC_STR_NULL, HC_STR_LIT (""),
                       HC_STR_NULL, HC_STR_NULL};
    assert (msg_enc_sig (enc, &leave) == 0);
    assert (msg_dec_sig (dec, msg_enc_data (enc), msg_enc_size (enc), &sig2)
            == 0);
    assert (sig2.op == MSG_SIG_LEAVE && !hc_str_present (sig2.room));
    assert (hc_str_present (sig2.user) && sig2.user.len == 0);
    assert (!hc_str_present (sig2.to) && !hc_str_present (sig2.payload));

    //  OUT with every value kind, nested
    hc_field_t inner [] = {hc_field_raw ("audio", HC_STR_LIT ("\"sA\"")),
                           hc_field_int ("n", -5)};
    hc_field_t fields [] = {
        hc_field_str ("type", HC_STR_LIT ("call")),
        hc_field_raw ("offer", HC_STR_LIT ("{\"sdp\":\"x\"}")),
        hc_field_int ("addedAt", 1795303252150),
        hc_field_bool ("isVideo", true),
        {.key = HC_STR_LIT ("photo"), .type = HC_V_NULL},
        hc_field_obj ("streamIds", inner, 2),
    };
    uint64_t conns [] = {1, 2, UINT64_MAX};
    msg_out_t out = {conns, 3, fields, 6};
    assert (msg_enc_out (enc, &out) == 0);
    msg_out_t out2;
    assert (msg_dec_out (dec, msg_enc_data (enc), msg_enc_size (enc), &out2)
            == 0);
    assert (out2.conns_n == 3 && out2.conns [2] == UINT64_MAX);
    assert (s_fields_equal (out2.fields, out2.fields_n, fields, 6));
    msg_out_t nobody = {conns, 0, fields, 6};
    assert (msg_enc_out (enc, &nobody) == -1);

    //  P2P, every member, then the minimal form
    hc_str_t callees [] = {HC_STR_LIT ("carol"), HC_STR_LIT ("101")};
    hc_field_t payload [] = {
        hc_field_raw ("offer", HC_STR_LIT ("{\"type\":\"offer\",\"sdp\":\"X\"}")),
        hc_field_raw ("isVideo", HC_STR_LIT ("true")),
    };
    msg_p2p_t p2p = {
        .conn = 77, .route = MSG_P2P_OFFER,
        .user_key = HC_STR_LIT ("101"), .user_raw = HC_STR_LIT ("101"),
        .name = HC_STR_LIT ("\"Al\""), .photo = HC_STR_LIT ("null"),
        .device = HC_STR_LIT ("\"web\""), .answer = HC_STR_LIT ("{}"),
        .ice_params = HC_STR_LIT ("[]"), .kind = HC_STR_LIT ("audio"),
        .stream_id = HC_STR_LIT ("\"s1\""), .is_update = true,
        .callees = callees, .callees_n = 2,
        .payload = payload, .payload_n = 2};
    assert (msg_enc_p2p (enc, &p2p) == 0);
    msg_p2p_t p2p2;
    assert (msg_dec_p2p (dec, msg_enc_data (enc), msg_enc_size (enc), &p2p2)
            == 0);
    assert (p2p2.conn == 77 && p2p2.route == MSG_P2P_OFFER && p2p2.is_update);
    hc_str_t *a [] = {&p2p.user_key, &p2p.user_raw, &p2p.name, &p2p.photo,
                      &p2p.device, &p2p.answer, &p2p.ice_params, &p2p.kind,
                      &p2p.stream_id};
    hc_str_t *b [] = {&p2p2.user_key, &p2p2.user_raw, &p2p2.name, &p2p2.photo,
                      &p2p2.device, &p2p2.answer, &p2p2.ice_params, &p2p2.kind,
                      &p2p2.stream_id};
    for (size_t i = 0; i < 9; i++)
        assert (hc_str_eq (*a [i], *b [i]));
    assert (p2p2.callees_n == 2 && hc_str_eq (p2p2.callees [1], callees [1]));
    assert (s_fields_equal (p2p2.payload, p2p2.payload_n, payload, 2));
    msg_p2p_t decline = {.conn = 78, .route = MSG_P2P_DECLINE};
    assert (msg_enc_p2p (enc, &decline) == 0);
    assert (msg_dec_p2p (dec, msg_enc_data (enc), msg_enc_size (enc), &p2p2)
            == 0);
    assert (p2p2.route == MSG_P2P_DECLINE && !hc_str_present (p2p2.user_key));
    assert (!p2p2.callees && p2p2.payload_n == 0 && !p2p2.is_update);
    hc_field_t not_raw [] = {hc_field_str ("x", HC_STR_LIT ("y"))};
    decline.payload = not_raw;
    decline.payload_n = 1;
    assert (msg_enc_p2p (enc, &decline) == -1);
    assert (strcmp (msg_p2p_route_name (MSG_P2P_SET_REMOTE_STREAM_ID),
                    "SET_REMOTE_STREAM_ID") == 0);

    //  KICK
    msg_kick_t kick = {9, 1000, HC_STR_LIT ("No ping received")};
    assert (msg_enc_kick (enc, &kick) == 0);
    msg_kick_t kick2;
    assert (msg_dec_kick (dec, msg_enc_data (enc), msg_enc_size (enc), &kick2)
            == 0);
    assert (kick2.conn == 9 && kick2.code == 1000);
    assert (hc_str_eq (kick2.reason, kick.reason));

    //  LOG
    hc_field_t lf [] = {hc_field_str ("room", HC_STR_LIT ("w1")),
                        hc_field_int ("size", 123)};
    msg_log_t log = {HC_LOG_WARN, 1700000000123456, HC_STR_LIT ("rooms"),
                     HC_STR_LIT ("relay.queued"), lf, 2};
    assert (msg_enc_log (enc, &log) == 0);
    msg_log_t log2;
    assert (msg_dec_log (dec, msg_enc_data (enc), msg_enc_size (enc), &log2)
            == 0);
    assert (log2.level == HC_LOG_WARN && log2.time_us == log.time_us);
    assert (hc_str_eq (log2.actor, log.actor));
    assert (hc_str_eq (log2.event, log.event));
    assert (s_fields_equal (log2.fields, log2.fields_n, lf, 2));
    hc_field_t bad_lf [] = {hc_field_bool ("b", true)};
    msg_log_t bad_log = log;
    bad_log.fields = bad_lf;
    bad_log.fields_n = 1;
    assert (msg_enc_log (enc, &bad_log) == -1);

    //  HELLO (and BYE) and WELCOME
    msg_hello_t hello = {0xdeadbeef}, hello2;
    assert (msg_enc_hello (enc, &hello) == 0);
    assert (msg_dec_hello (dec, msg_enc_data (enc), msg_enc_size (enc),
                           &hello2) == 0);
    assert (hello2.gateway == 0xdeadbeef);
    msg_welcome_t welcome = {UINT64_MAX - 1, true,
                             {1, 2, 3, 4, 5, 6, 7, UINT64_MAX}}, welcome2;
    assert (msg_enc_welcome (enc, &welcome) == 0);
    assert (msg_dec_welcome (dec, msg_enc_data (enc), msg_enc_size (enc),
                             &welcome2) == 0);
    assert (welcome2.epoch == UINT64_MAX - 1 && welcome2.fresh);
    assert (memcmp (&welcome2.stats, &welcome.stats, sizeof (welcome.stats))
            == 0);
    //  A gateway number beyond 32 bits is refused
    msg_close_t wide = {(uint64_t) UINT32_MAX + 1};
    msg_enc_close (enc, &wide);
    char body [32];
    memcpy (body, msg_enc_data (enc), msg_enc_size (enc));
    assert (body [2] == 'c');
    body [2] = 'g';                 //  {"c":N} becomes {"g":N}
    assert (msg_dec_hello (dec, body, msg_enc_size (enc), &hello2) == -1);
    assert (strcmp (msg_dec_error (dec),
                    "expected a 32-bit unsigned integer") == 0);

    //  Malformed bodies are refused with a reason, never trusted
    msg_close_t cl;
    assert (msg_dec_close (dec, "", 0, &cl) == -1);
    assert (msg_dec_close (dec, "\xc1", 1, &cl) == -1);      //  never used
    assert (msg_dec_close (dec, "\x81\xa1" "c", 3, &cl) == -1);  //  truncated
    msg_enc_close (enc, &close);
    char extra [64];
    memcpy (extra, msg_enc_data (enc), msg_enc_size (enc));
    extra [msg_enc_size (enc)] = 0x00;
    assert (msg_dec_close (dec, extra, msg_enc_size (enc) + 1, &cl) == -1);
    assert (strcmp (msg_dec_error (dec), "bytes after the body") == 0);
    msgpack_sbuffer raw;
    msgpack_sbuffer_init (&raw);
    for (int variant = 0; variant < 4; variant++) {
        size_t size = s_pack_raw (&raw, variant);
        assert (msg_dec_close (dec, raw.data, size, &cl) == -1);
    }
    msg_open_t op;
    //  A container that claims more elements than there are bytes
    assert (msg_dec_close (dec, "\xdd\xdd\xdd\xdd\xdd\x81\x21", 7, &cl) == -1);
    assert (msg_dec_close (dec, "\x81\xa1" "c\xdc\xff\xff", 6, &cl) == -1);
    assert (msg_dec_open (dec, raw.data, s_pack_raw (&raw, 4), &op) == -1);
    assert (strcmp (msg_dec_error (dec), "string is not UTF-8") == 0);
    assert (msg_dec_open (dec, raw.data, s_pack_raw (&raw, 5), &op) == -1);
    //  A message of one kind is not accepted as another
    msg_enc_close (enc, &close);
    assert (msg_dec_open (dec, msg_enc_data (enc), msg_enc_size (enc), &op)
            == -1);
    msgpack_sbuffer_destroy (&raw);

    msg_enc_destroy (&enc);
    msg_dec_destroy (&dec);
    assert (enc == NULL && dec == NULL);
    msg_enc_destroy (&enc);         //  idempotent
    if (verbose)
        printf ("OK\n");
}
