/*  msg_dec.c - the decoder: checks and places a body by walking its
    kind's table

    Unpacks with one reused zone (msgpack_unpack: the only msgpack-c entry
    point that both references the caller's bytes instead of copying them
    and reuses its zone), after a plausibility pass that keeps msgpack-c
    from allocating what a forged length asks for.
*/
#include "msg.h"
#include "utf8.h"

#include <assert.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#define KEYS_MAX 32             //  keys of one kind

struct _msg_dec_t {
    msgpack_zone zone;          //  object tree of the last decode
    const char *error;          //  why the last decode failed
    uint64_t conns [MSG_MAX_CONNS];       //  decoded OUT recipients
    hc_field_t fields [MSG_MAX_FIELDS];   //  decoded frame members
    size_t fields_used;         //  slots of fields taken by this decode
    hc_str_t ids [MSG_MAX_P2P_IDS];       //  decoded p2p callees
};

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
    s_decode_fields (msg_dec_t *self, const msgpack_object *o, int depth,
                     msg_members_t members, const hc_field_t **fields,
                     size_t *n);

//  An unsigned integer of at most max
static int
s_decode_uint (msg_dec_t *self, const msgpack_object *o, uint64_t max,
               const char *why, uint64_t *value)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
        return s_fail (self, why);
    *value = o->via.u64;
    return 0;
}

//  Places one value; bounds are checked after, as for the encoder
static int
s_decode_value (msg_dec_t *self, const msg_key_t *spec,
                const msgpack_object *o, void *m)
{
    uint64_t u = 0;
    switch (spec->type) {
        case MSG_U64:
            return s_decode_uint (self, o, UINT64_MAX, "expected an unsigned "
                                  "integer", MSG_AT (m, spec->offset, uint64_t));
        case MSG_U32:
            if (s_decode_uint (self, o, UINT32_MAX, "expected a 32-bit "
                               "unsigned integer", &u))
                return -1;
            *MSG_AT (m, spec->offset, uint32_t) = (uint32_t) u;
            return 0;
        case MSG_U16:
            if (s_decode_uint (self, o, UINT16_MAX, "expected a 16-bit "
                               "unsigned integer", &u))
                return -1;
            *MSG_AT (m, spec->offset, uint16_t) = (uint16_t) u;
            return 0;
        case MSG_ENUM:
            if (s_decode_uint (self, o, spec->max, "enumeration out of range",
                               &u))
                return -1;
            *MSG_AT (m, spec->offset, int) = (int) u;
            return 0;
        case MSG_I64:
            if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
                if (o->via.u64 > INT64_MAX)
                    return s_fail (self, "integer out of range");
                *MSG_AT (m, spec->offset, int64_t) = (int64_t) o->via.u64;
                return 0;
            }
            if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
                *MSG_AT (m, spec->offset, int64_t) = o->via.i64;
                return 0;
            }
            return s_fail (self, "expected an integer");
        case MSG_BOOL:
        case MSG_TRUE:
            if (o->type != MSGPACK_OBJECT_BOOLEAN
            ||  (spec->type == MSG_TRUE && !o->via.boolean))
                return s_fail (self, spec->type == MSG_TRUE
                                     ? "expected true"
                                     : "expected true or false");
            *MSG_AT (m, spec->offset, bool) = o->via.boolean;
            return 0;
        case MSG_STR:
            return s_decode_str (self, o, MSG_AT (m, spec->offset, hc_str_t));
        case MSG_BIN:
            return s_decode_bin (self, o, MSG_AT (m, spec->offset, hc_str_t));
        case MSG_CONNS: {
            if (o->type != MSGPACK_OBJECT_ARRAY)
                return s_fail (self, "expected an array of connection ids");
            const msgpack_object_array *a = &o->via.array;
            if (a->size > MSG_MAX_CONNS)
                return s_fail (self, "bad number of connection ids");
            for (uint32_t i = 0; i < a->size; i++)
                if (s_decode_uint (self, &a->ptr [i], UINT64_MAX, "connection "
                                   "id is not an integer", &self->conns [i]))
                    return -1;
            *MSG_AT (m, spec->offset, const uint64_t *) = self->conns;
            *MSG_AT (m, spec->count_offset, size_t) = a->size;
            return 0;
        }
        case MSG_IDS: {
            if (o->type != MSGPACK_OBJECT_ARRAY)
                return s_fail (self, "expected an array of ids");
            const msgpack_object_array *a = &o->via.array;
            if (a->size > MSG_MAX_P2P_IDS)
                return s_fail (self, "too many ids");
            for (uint32_t i = 0; i < a->size; i++)
                if (s_decode_str (self, &a->ptr [i], &self->ids [i]))
                    return -1;
            *MSG_AT (m, spec->offset, const hc_str_t *) = self->ids;
            *MSG_AT (m, spec->count_offset, size_t) = a->size;
            return 0;
        }
        case MSG_FIELDS:
            return s_decode_fields (self, o, 1, spec->members,
                                    MSG_AT (m, spec->offset, const hc_field_t *),
                                    MSG_AT (m, spec->count_offset, size_t));
    }
    return s_fail (self, "internal: unknown key type");
}

//  Frame members: keys are strings, values one of the hc_vtype_t kinds.
//  Each object's members take a contiguous run of self->fields.
static int
s_decode_fields (msg_dec_t *self, const msgpack_object *o, int depth,
                 msg_members_t members, const hc_field_t **fields, size_t *n)
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
                if (s_decode_fields (self, val, depth + 1, members, &f->obj,
                                     &f->obj_n))
                    return -1;
                break;
            default:
                return s_fail (self, "frame member of unsupported type");
        }
        const char *why = msg_member_refused (f, members);
        if (why)
            return s_fail (self, why);
    }
    *fields = run;
    *n = map->size;
    return 0;
}

//  True when the wire's key (size bytes at ptr) is name
static inline bool
s_key_is (const char *name, const char *ptr, size_t size)
{
    size_t i = 0;
    while (i < size && name [i] && name [i] == ptr [i])
        i++;
    return size && i == size && name [size] == 0;
}

int
msg_decode (msg_dec_t *self, const msg_kind_t *kind, const void *data,
            size_t size, void *m)
{
    assert (kind->keys_n <= KEYS_MAX);
    memset (m, 0, kind->size);
    msgpack_object_map map;
    if (s_unpack_map (self, data, size, &map))
        return -1;
    bool seen [KEYS_MAX] = {false};
    size_t next = 0;
    for (uint32_t i = 0; i < map.size; i++) {
        const msgpack_object *key = &map.ptr [i].key;
        if (key->type != MSGPACK_OBJECT_STR)
            return s_fail (self, "key is not a string");
        //  Our encoder writes keys in table order: look from the one after
        //  the last found, so each is found at the first try
        size_t k = next, tries = 0;
        while (tries < kind->keys_n
               && !s_key_is (kind->keys [k].key, key->via.str.ptr,
                             key->via.str.size)) {
            k = k + 1 < kind->keys_n ? k + 1 : 0;
            tries++;
        }
        if (tries == kind->keys_n)
            return s_fail (self, "unknown key");
        next = k + 1 < kind->keys_n ? k + 1 : 0;
        if (seen [k])
            return s_fail (self, "duplicate key");
        seen [k] = true;
        if (s_decode_value (self, &kind->keys [k], &map.ptr [i].val, m))
            return -1;
        //  Frame members were checked as they were decoded
        const msg_key_t *spec = &kind->keys [k];
        const char *why = MSG_BOUNDED (spec) && spec->type != MSG_FIELDS
                        ? msg_key_refused (spec, m) : NULL;
        if (why)
            return s_fail (self, why);
    }
    for (size_t k = 0; k < kind->keys_n; k++)
        if (kind->keys [k].required && !seen [k])
            return s_fail (self, "required key missing");
    const char *why = kind->check ? kind->check (m) : NULL;
    return why ? s_fail (self, why) : 0;
}

