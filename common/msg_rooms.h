/*  msg_rooms.h - the messages between gateways and rooms

    Frame 0 is the verb, frame 1 the body: one msgpack map, declared once
    per kind as a key table (msg_rooms.c) that common/msg.c's encoder and
    decoder both walk. Rooms' ROUTER adds the gateway's routing id in
    front. docs/architecture.md lists what each message does.
*/
#ifndef MSG_ROOMS_H_INCLUDED
#define MSG_ROOMS_H_INCLUDED

#include "msg.h"

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

MSG_KIND (open, msg_open_t)
MSG_KIND (close, msg_close_t)
MSG_KIND (hello, msg_hello_t)       //  HELLO and BYE
MSG_KIND (welcome, msg_welcome_t)
MSG_KIND (sig, msg_sig_t)
MSG_KIND (p2p, msg_p2p_t)
MSG_KIND (out, msg_out_t)
MSG_KIND (kick, msg_kick_t)

//  Names for log lines and topics
const char *
    msg_sig_op_name (msg_sig_op_t op);
//  The route's name as clients write it ("ADD_USER", ...)
const char *
    msg_p2p_route_name (msg_p2p_route_t route);

void
    msg_rooms_test (bool verbose);

#endif
