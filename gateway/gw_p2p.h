/*  gw_p2p.h - reads one p2p client frame into a command for rooms

    The envelope of the P2P backend (docs/p2p.md): the exact text PING, or a
    flat JSON object {"route":R,"userId":U,...}. This is where the original
    server's JavaScript semantics are applied once, so that rooms works on
    plain values: String(userId) as the user's key (101 and "101" are one
    user), truthiness, `??` and `||` defaults per route, candidates given as
    an array, a JSON string or a scalar. Values that are only relayed or
    stored stay raw JSON text.
*/
#ifndef GW_P2P_H_INCLUDED
#define GW_P2P_H_INCLUDED

#include "gw_json.h"
#include "../common/msg_rooms.h"

#define GW_P2P_MAX_MEMBERS 64   //  members of one frame

typedef enum {
    GW_P2P_COMMAND,             //  cmd is ready for rooms (conn not set)
    GW_P2P_PING,                //  answer PONG, refresh the heartbeat
    GW_P2P_ICE_SERVERS,         //  GET_ICE_SERVERS: the gateway answers
    GW_P2P_INVALID              //  not JSON, not an object, unknown route
} gw_p2p_kind_t;

typedef struct {
    gw_p2p_kind_t kind;
    msg_p2p_t cmd;              //  GW_P2P_COMMAND
    //  Storage cmd points into
    hc_str_t callees [MSG_MAX_P2P_IDS];
    hc_field_t payload [GW_P2P_MAX_MEMBERS];
    gw_member_t members [GW_P2P_MAX_MEMBERS];
    char numbers [MSG_MAX_P2P_IDS + 2][32];     //  String() of numbers
    char ids [MSG_MAX_P2P_IDS][MSG_MAX_KEY + 1];    //  ids out of a string
} gw_p2p_result_t;

//  A result to reuse for every frame (it is large: the storage of the
//  biggest command); NULL if out of memory
gw_p2p_result_t *
    gw_p2p_result_new (void);
void
    gw_p2p_result_destroy (gw_p2p_result_t **self_p);

//  Reads text. Slices in result point into text, into *root_p and into
//  result itself; the caller releases *root_p (gw_json_release) after use.
void
    gw_p2p_read (const char *text, size_t len, cJSON **root_p,
                 gw_p2p_result_t *result);

//  JavaScript's String(number), e.g. 101 -> "101", 1e21 -> "1e+21"
void
    gw_p2p_js_number (double value, char out [32]);

void
    gw_p2p_test (bool verbose);

#endif
