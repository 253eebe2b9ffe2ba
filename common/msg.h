/*  msg.h - the msgpack codec engine for every message that crosses an
    actor boundary

    Each message is two ZeroMQ frames: an ASCII verb (or a bus topic), then
    one msgpack map with short keys. This file is the only place that calls
    msgpack. A message kind is declared once, as zproto declares Malamute's:
    a table of its keys (msg_key_t), which the encoder and the decoder both
    walk. Adding a field is one line in that table; the kinds themselves
    live in msg_rooms.h (gateway <-> rooms) and msg_log.h (the bus record).

    Decoding is strict: the body must be exactly one map, every key known and
    present once, every required key there, every value of its exact type
    and within its bounds, text valid UTF-8, nothing after the map. Anything
    else is refused with a reason, never trusted. The encoder refuses what
    the decoder would refuse for bounds and shapes (so we never send what
    our own peer drops), but trusts the caller's UTF-8.

    Decoded slices point into the caller's buffer (and into the decoder's
    scratch space for arrays): they stay valid until the next decode call on
    the same decoder or until that buffer is freed.
*/
#ifndef MSG_H_INCLUDED
#define MSG_H_INCLUDED

#include "hc_types.h"

#include <stddef.h>

//  Bounds a decoder accepts; a message beyond them is malformed
#define MSG_MAX_CONNS 4096      //  recipients of one OUT
#define MSG_MAX_FIELDS 512      //  frame members, nested ones included
#define MSG_MAX_DEPTH 4         //  nesting of frame objects
#define MSG_MAX_P2P_IDS 64      //  callee ids in one OFFER
#define MSG_MAX_KEY 256         //  bytes of a user id or a stream kind

//  The type of a key's value, and what it is in the message struct
typedef enum {
    MSG_U64,        //  uint64_t
    MSG_U32,        //  uint32_t
    MSG_U16,        //  uint16_t
    MSG_ENUM,       //  an enum (int-sized), 0..max
    MSG_I64,        //  int64_t
    MSG_BOOL,       //  bool
    MSG_TRUE,       //  bool; only true is sent (false: the key is absent)
    MSG_STR,        //  hc_str_t, UTF-8 text of at most max bytes (0: any)
    MSG_BIN,        //  hc_str_t, raw JSON (bytes that are UTF-8)
    MSG_CONNS,      //  const uint64_t *, 1..MSG_MAX_CONNS of them
    MSG_IDS,        //  const hc_str_t *, up to MSG_MAX_P2P_IDS of them
    MSG_FIELDS      //  const hc_field_t *, frame members
} msg_type_t;

//  What a MSG_FIELDS key holds (the members of a frame or a record)
typedef enum {
    MSG_ANY = 0,    //  any value kind, objects nested up to MSG_MAX_DEPTH
    MSG_FLAT_RAW,   //  raw JSON values only, no nesting
    MSG_FLAT_LOG    //  text and integers only, no nesting
} msg_members_t;

//  One key of a message kind. An optional key is sent only when present:
//  a text with ptr != NULL, a true MSG_TRUE, an array with ptr != NULL
//  (MSG_IDS) or with members (MSG_FIELDS).
typedef struct {
    const char *key;            //  on the wire; one or two letters
    msg_type_t type;
    bool required;
    size_t offset;              //  of the value in the message struct
    size_t count_offset;        //  arrays: of their size_t count
    uint64_t max;               //  MSG_ENUM: largest value; MSG_STR: bytes
    bool nonempty;              //  MSG_BIN: "" is refused
    msg_members_t members;      //  MSG_FIELDS: what the members may be
} msg_key_t;

//  What a kind needs beyond its keys' own bounds (keys one value of
//  another key makes required): why m is refused, or NULL
typedef const char *(msg_check_fn) (const void *m);

typedef struct {
    const char *name;           //  "OPEN", "log", ...: for tests and logs
    const msg_key_t *keys;
    size_t keys_n;
    size_t size;                //  sizeof the message struct
    msg_check_fn *check;        //  or NULL
} msg_kind_t;

#define MSG_KEYS_N(keys) (sizeof (keys) / sizeof ((keys) [0]))

//  Where a key's value (or count) lives in a message struct
#define MSG_AT(m, offset, type) ((type *) ((char *) (m) + (offset)))
#define MSG_AT_CONST(m, offset, type) \
    ((type const *) ((const char *) (m) + (offset)))

//  Why the value of a present key of m is out of the kind's bounds (a
//  static string), or NULL when it is within them. The encoder and the
//  decoder both ask, so a bound is declared once and holds both ways.
const char *
    msg_key_refused (const msg_key_t *key, const void *m);
//  Why one frame member cannot be among the members a key allows, or NULL.
//  The encoder asks for every member, nested ones too; the decoder as it
//  decodes each (it bounds depth and count as it builds the frame).
static inline const char *
msg_member_refused (const hc_field_t *member, msg_members_t members)
{
    if (members == MSG_FLAT_RAW && member->type != HC_V_RAW)
        return "payload member is not raw JSON";
    if (members == MSG_FLAT_LOG && member->type != HC_V_STR
    &&  member->type != HC_V_INT)
        return "log field is neither text nor integer";
    if (member->type == HC_V_RAW && member->str.len == 0)
        return "empty raw JSON value";
    return NULL;
}
//  Only these keys have bounds: the others need not ask (a call saved
//  per key on the relay path)
#define MSG_BOUNDED(k)                                                     \
    ((k)->type == MSG_ENUM || (k)->type >= MSG_CONNS                       \
     || ((k)->type == MSG_STR && (k)->max)                                 \
     || ((k)->type == MSG_BIN && (k)->nonempty))

//  ---------------------------------------------------------------------
//  Encoder: one reusable buffer. Each call replaces the previous message;
//  returns 0, or -1 if the message cannot be encoded (out of bounds).

typedef struct _msg_enc_t msg_enc_t;

msg_enc_t *
    msg_enc_new (void);
void
    msg_enc_destroy (msg_enc_t **self_p);
//  The last encoded body
const char *
    msg_enc_data (msg_enc_t *self);
size_t
    msg_enc_size (msg_enc_t *self);
//  Encodes m, a struct of the kind
int
    msg_encode (msg_enc_t *self, const msg_kind_t *kind, const void *m);

//  ---------------------------------------------------------------------
//  Decoder: reusable scratch space. Each call returns 0, or -1 with a reason
//  in msg_dec_error (a static string).

typedef struct _msg_dec_t msg_dec_t;

msg_dec_t *
    msg_dec_new (void);
void
    msg_dec_destroy (msg_dec_t **self_p);
const char *
    msg_dec_error (msg_dec_t *self);
//  Decodes a body of the kind into m (cleared first)
int
    msg_decode (msg_dec_t *self, const msg_kind_t *kind, const void *data,
                size_t size, void *m);

//  Declares a kind's table and its typed pair, msg_enc_NAME and
//  msg_dec_NAME, so callers cannot pass a struct of another kind
#define MSG_KIND(name, type)                                               \
    extern const msg_kind_t msg_##name##_kind;                             \
    static inline int                                                      \
    msg_enc_##name (msg_enc_t *self, const type *m)                        \
    {                                                                      \
        return msg_encode (self, &msg_##name##_kind, m);                   \
    }                                                                      \
    static inline int                                                      \
    msg_dec_##name (msg_dec_t *self, const void *data, size_t size,       \
                    type *m)                                               \
    {                                                                      \
        return msg_decode (self, &msg_##name##_kind, data, size, m);       \
    }

//  Self test
void
    msg_test (bool verbose);

#endif
