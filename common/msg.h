/*  msg.h - the msgpack codec for every message that crosses an actor boundary

    Each message is two ZeroMQ frames: an ASCII verb, then one msgpack map
    with short keys. This file is the only place that calls msgpack.

    Decoding is strict: the body must be exactly one map, every key known and
    present once, every value of its exact type, text valid UTF-8, nothing
    after the map. Anything else is refused with a reason, never trusted.
    Decoded slices point into the caller's buffer (and into the decoder's
    scratch space for arrays): they stay valid until the next decode call on
    the same decoder or until that buffer is freed.
*/
#ifndef MSG_H_INCLUDED
#define MSG_H_INCLUDED

#include "hc_types.h"

//  Verbs (frame 0). Gateway -> rooms
#define MSG_OPEN "OPEN"         //  a client connection opened
#define MSG_CLOSE "CLOSE"       //  a client connection closed
#define MSG_SIG "SIG"           //  a /signal command
#define MSG_P2P "P2P"           //  a p2p dialect command
#define MSG_HELLO "HELLO"       //  a gateway is alive (every LINK_HEARTBEAT)
#define MSG_BYE "BYE"           //  a gateway is stopping
//  Rooms -> gateway
#define MSG_OUT "OUT"           //  send one JSON frame to some connections
#define MSG_KICK "KICK"         //  close one connection
#define MSG_WELCOME "WELCOME"   //  rooms is alive, and which run of it
//  Any actor -> event bus: frame 0 is the topic ("log.info", ...), frame 1
//  a record (msg_log_t). Log records go under "log.<level>"; events go
//  under their own name ("conn.open", "relay.forwarded", ...) or, for
//  errors, "error.<name>", with the same body.
#define MSG_LOG_TOPIC "log."
#define MSG_ERROR_TOPIC "error."

//  Bounds a decoder accepts; a message beyond them is malformed
#define MSG_MAX_CONNS 4096      //  recipients of one OUT
#define MSG_MAX_FIELDS 512      //  frame members, nested ones included
#define MSG_MAX_DEPTH 4         //  nesting of frame objects
#define MSG_MAX_P2P_IDS 64      //  callee ids in one OFFER
#define MSG_MAX_KEY 256         //  bytes of a user id or a stream kind

typedef struct {
    uint64_t conn;              //  connection id
    hc_dialect_t dialect;       //  which protocol the connection speaks
    hc_str_t peer;              //  client address, for logs
} msg_open_t;

typedef struct {
    uint64_t conn;              //  connection id
} msg_close_t;

//  HELLO and BYE
typedef struct {
    uint32_t gateway;           //  the gateway's instance number
} msg_hello_t;

//  What rooms holds, as of a WELCOME: for the gateways' /metrics
typedef struct {
    uint64_t rooms;             //  /signal rooms
    uint64_t members;           //  ...and their members
    uint64_t queued_frames;     //  frames waiting in room queues
    uint64_t queued_bytes;      //  ...their bytes
    uint64_t p2p_users;         //  registered p2p users
    uint64_t p2p_linked;        //  users linked to a call partner (ANSWER)
    uint64_t p2p_waiting;       //  calls waiting for an offline user
    uint64_t p2p_grace;         //  dropped connections awaiting RECONNECT
} msg_rooms_stats_t;

typedef struct {
    uint64_t epoch;             //  random, new each time rooms starts
    bool fresh;                 //  rooms did not know the gateway before:
                                //  it knows none of its connections
    msg_rooms_stats_t stats;    //  rooms' state as it answers
} msg_welcome_t;

typedef enum {
    MSG_SIG_JOIN = 0,
    MSG_SIG_LEAVE,
    MSG_SIG_OFFER,
    MSG_SIG_ANSWER,
    MSG_SIG_CANDIDATE,
    MSG_SIG_OP_COUNT
} msg_sig_op_t;

//  A validated /signal command. Optional text is absent when ptr == NULL.
typedef struct {
    uint64_t conn;              //  sender connection
    msg_sig_op_t op;            //  what it asks for
    hc_str_t room;              //  join: required; leave/relay: optional
    hc_str_t user;              //  join: required; leave: optional
    hc_str_t to;                //  relay: optional addressee
    hc_str_t payload;           //  relay: raw JSON of sdp or candidate
} msg_sig_t;

//  Routes of the p2p dialect that reach rooms (PING stays in the gateway)
typedef enum {
    MSG_P2P_ADD_USER = 0,
    MSG_P2P_RECONNECT,
    MSG_P2P_OFFER,
    MSG_P2P_ANSWER,
    MSG_P2P_DECLINE,
    MSG_P2P_ADD_ICE,
    MSG_P2P_SWAP_ICE,
    MSG_P2P_SET_REMOTE_STREAM_ID,
    MSG_P2P_UPDATE_OFFER,
    MSG_P2P_UPDATE_ANSWER,
    MSG_P2P_MEDIA_UPDATE,
    MSG_P2P_ROUTE_COUNT
} msg_p2p_route_t;

//  A p2p command, read by the gateway: JSON values the server only relays
//  or stores stay raw JSON text; what rooms must compare is plain text.
//  Absent (ptr == NULL) means the client sent nothing usable: the gateway
//  applies each route's rules (truthiness, defaults) before sending.
typedef struct {
    uint64_t conn;              //  sender connection
    msg_p2p_route_t route;
    hc_str_t user_key;          //  String(userId), when userId is truthy
    hc_str_t user_raw;          //  userId as written, when present
    hc_str_t name;              //  raw JSON
    hc_str_t photo;             //  raw JSON
    hc_str_t device;            //  raw JSON
    hc_str_t answer;            //  raw JSON (ANSWER, UPDATE_ANSWER)
    hc_str_t ice_params;        //  raw JSON (ADD_ICE)
    hc_str_t kind;              //  String(kind), when truthy
    hc_str_t stream_id;         //  raw JSON, when truthy
    bool is_update;             //  OFFER/ANSWER with a truthy isUpdate
    const hc_str_t *callees;    //  OFFER: String() of each candidate
    size_t callees_n;
    const hc_field_t *payload;  //  relayed members, HC_V_RAW values
    size_t payload_n;
} msg_p2p_t;

//  One JSON frame for some connections
typedef struct {
    const uint64_t *conns;      //  recipients
    size_t conns_n;
    const hc_field_t *fields;   //  members of the frame, in order
    size_t fields_n;
} msg_out_t;

typedef struct {
    uint64_t conn;              //  connection to close
    uint16_t code;              //  WebSocket close code
    hc_str_t reason;            //  close reason text (at most 123 bytes)
} msg_kick_t;

typedef enum {
    HC_LOG_DEBUG = 0,
    HC_LOG_INFO,
    HC_LOG_WARN,
    HC_LOG_ERROR
} hc_log_level_t;

//  A structured log record. fields hold HC_V_STR and HC_V_INT values only.
typedef struct {
    hc_log_level_t level;
    int64_t time_us;            //  wall clock, microseconds since the epoch
    hc_str_t actor;             //  "gateway", "rooms", ...
    hc_str_t event;             //  dotted event name, e.g. "relay.forwarded"
    const hc_field_t *fields;
    size_t fields_n;
} msg_log_t;

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

int
    msg_enc_open (msg_enc_t *self, const msg_open_t *m);
int
    msg_enc_close (msg_enc_t *self, const msg_close_t *m);
int
    msg_enc_sig (msg_enc_t *self, const msg_sig_t *m);
int
    msg_enc_p2p (msg_enc_t *self, const msg_p2p_t *m);
int
    msg_enc_out (msg_enc_t *self, const msg_out_t *m);
int
    msg_enc_kick (msg_enc_t *self, const msg_kick_t *m);
int
    msg_enc_log (msg_enc_t *self, const msg_log_t *m);
int
    msg_enc_hello (msg_enc_t *self, const msg_hello_t *m);
int
    msg_enc_welcome (msg_enc_t *self, const msg_welcome_t *m);

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

int
    msg_dec_open (msg_dec_t *self, const void *data, size_t size,
                  msg_open_t *m);
int
    msg_dec_close (msg_dec_t *self, const void *data, size_t size,
                   msg_close_t *m);
int
    msg_dec_sig (msg_dec_t *self, const void *data, size_t size, msg_sig_t *m);
int
    msg_dec_p2p (msg_dec_t *self, const void *data, size_t size, msg_p2p_t *m);
int
    msg_dec_out (msg_dec_t *self, const void *data, size_t size, msg_out_t *m);
int
    msg_dec_kick (msg_dec_t *self, const void *data, size_t size,
                  msg_kick_t *m);
int
    msg_dec_log (msg_dec_t *self, const void *data, size_t size, msg_log_t *m);
int
    msg_dec_hello (msg_dec_t *self, const void *data, size_t size,
                   msg_hello_t *m);
int
    msg_dec_welcome (msg_dec_t *self, const void *data, size_t size,
                     msg_welcome_t *m);

//  Names for log lines and topics
const char *
    msg_sig_op_name (msg_sig_op_t op);
//  The route's name as clients write it ("ADD_USER", ...)
const char *
    msg_p2p_route_name (msg_p2p_route_t route);
const char *
    hc_log_level_name (hc_log_level_t level);
//  "signal" or "p2p"
const char *
    hc_dialect_name (hc_dialect_t dialect);

//  Self test
void
    msg_test (bool verbose);

#endif
