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
    msgpack_packer *pk = s_begin (self, 2);
    s_pack_key (pk, "e");
    msgpack_pack_uint64 (pk, m->epoch);
    s_pack_key (pk, "f");
    if (m->fresh)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
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
    K_FIELDS        //  frame members into dec->fields
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
    msg_welcome_t welcome = {UINT64_MAX - 1, true}, welcome2;
    assert (msg_enc_welcome (enc, &welcome) == 0);
    assert (msg_dec_welcome (dec, msg_enc_data (enc), msg_enc_size (enc),
                             &welcome2) == 0);
    assert (welcome2.epoch == UINT64_MAX - 1 && welcome2.fresh);
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
