/*  p2p_users.h - the p2p dialect's tables: users, records, pairs

    A user (keyed by String(userId)) has records, one per connection that
    registered under it, in registration order: the original's Map of
    connection -> record. A record whose connection closed during a call
    can be detached (conn 0) for the reconnect grace period. Pairs link two
    users after ANSWER. (Calls waiting for an offline callee: p2p_waiting.h.)

    Plain structs and functions; the routes that use them are p2p_calls.c's.
*/
#ifndef P2P_USERS_H_INCLUDED
#define P2P_USERS_H_INCLUDED

#include "p2p_frame.h"

#include <czmq.h>

#define P2P_KEY_MAX 256         //  bytes of a user id
#define P2P_STREAMS_MAX 16      //  stream kinds per record

typedef enum {
    P2P_IDLE = 0,
    P2P_CALLING,                //  sent OFFER or UPDATE_OFFER
    P2P_RINGING,                //  answered, connecting (the original's name)
    P2P_IN_CALL,                //  sent SWAP_ICE
    P2P_ENDED                   //  the other side hung up; awaiting DECLINE
} p2p_status_t;

//  An owned copy of a string; ptr == NULL when absent
typedef struct {
    char *ptr;
    size_t len;
} p2p_text_t;

typedef struct {
    p2p_text_t kind;            //  String(kind)
    p2p_text_t id;              //  raw JSON of the stream id
} p2p_stream_t;

typedef struct _p2p_user_t p2p_user_t;
typedef struct _p2p_record_t p2p_record_t;

struct _p2p_record_t {
    p2p_record_t *next;         //  the user's next record
    p2p_user_t *user;           //  owner
    uint64_t conn;              //  key in the conns table; 0 while detached
    int64_t grace_until;        //  detached: when the session is given up
    p2p_status_t status;
    p2p_text_t partner;         //  the other user's key (original: candidate)
    p2p_text_t name;            //  raw JSON; may be absent
    p2p_text_t photo;           //  raw JSON
    p2p_text_t device;          //  raw JSON
    p2p_text_t ice_params;      //  raw JSON; own ICE data
    p2p_text_t candidate_ice;   //  raw JSON; the partner's, set by SWAP_ICE
    p2p_stream_t streams [P2P_STREAMS_MAX];     //  in insertion order
    size_t streams_n;
};

struct _p2p_user_t {
    char *key;                  //  String(userId), key of the users table
    size_t key_len;
    p2p_record_t *records;      //  in registration order
    size_t records_n;
};

typedef struct {
    zhashx_t *users;            //  key -> p2p_user_t
    zhashx_t *conns;            //  connection id -> attached p2p_record_t
    zhashx_t *pairs;            //  key -> partner key, both ways
    size_t detached;            //  records waiting for RECONNECT
    int64_t grace_next;         //  no detached record expires before this
    char key [P2P_KEY_MAX + 1]; //  scratch: a NUL-terminated key
} p2p_users_t;

const char *
    p2p_status_name (p2p_status_t status);

void
    p2p_text_set (p2p_text_t *text, hc_str_t value);
hc_str_t
    p2p_text (const p2p_text_t *text);
bool
    p2p_text_is (const p2p_text_t *text, hc_str_t value);
//  JavaScript falsiness of a stored scalar: "", null, false, 0
bool
    p2p_raw_falsy (hc_str_t raw);

void
    p2p_users_init (p2p_users_t *self);
void
    p2p_users_clear (p2p_users_t *self);

hc_str_t
    p2p_user_key (const p2p_user_t *user);
p2p_user_t *
    p2p_user_find (p2p_users_t *self, hc_str_t key);
p2p_user_t *
    p2p_user_add (p2p_users_t *self, hc_str_t key);
//  The first record that is not idle, or NULL
p2p_record_t *
    p2p_user_active (const p2p_user_t *user);

p2p_record_t *
    p2p_record_find (p2p_users_t *self, uint64_t conn);
//  The record of conn, if it registered under the user key
p2p_record_t *
    p2p_record_own (p2p_users_t *self, uint64_t conn, hc_str_t key);
//  A fresh idle record for conn, last of the user's
p2p_record_t *
    p2p_record_add (p2p_users_t *self, p2p_user_t *user, uint64_t conn);
//  Frees the record, and its user when it was the last one
void
    p2p_record_remove (p2p_users_t *self, p2p_record_t *record);
//  Keeps a record without a connection until grace_until
void
    p2p_record_detach (p2p_users_t *self, p2p_record_t *record,
                       int64_t grace_until);
//  Gives a record (attached or detached) to another connection
void
    p2p_record_move (p2p_users_t *self, p2p_record_t *record, uint64_t conn);
//  Detached records whose grace ended by now (caller destroys the list)
zlistx_t *
    p2p_records_expired (p2p_users_t *self, int64_t now);

const char *
    p2p_pair_get (p2p_users_t *self, hc_str_t key);
void
    p2p_pair_set (p2p_users_t *self, hc_str_t a, hc_str_t b);
void
    p2p_pair_remove (p2p_users_t *self, hc_str_t key);

#endif
