/*  replay_client.h - homecall-replay's WebSocket clients

    One lws client context, served only inside rc_client_wait, so the
    replay decides when anything happens: it waits until a condition on
    one connection holds (connected, sent, a frame received, closed) or a
    timeout passes. Frames received are kept whole, in order, with whether
    they came as binary.
*/
#ifndef REPLAY_CLIENT_H_INCLUDED
#define REPLAY_CLIENT_H_INCLUDED

#include "common/buf.h"

#include <czmq.h>

typedef struct {
    char *data;                 //  LWS_PRE bytes of head room, then payload
    size_t len;
    bool binary;
} rc_frame_t;

typedef enum {
    RC_CONNECTING,
    RC_OPEN,
    RC_CLOSED,
    RC_FAILED
} rc_state_t;

typedef struct {
    char id [24];               //  recorded connection id
    int number;                 //  the replay's: 1, 2, ... in order of opening
    int url;                    //  the replay's: which gateway
    hc_dialect_t dialect;
    char path [256];
    struct lws *wsi;            //  while connected
    rc_state_t state;
    zlistx_t *rx;               //  rc_frame_t received, not yet taken
    zlistx_t *tx;               //  rc_frame_t to send
    hc_buf_t partial;           //  fragments of the message coming in
    bool partial_binary;        //  ...which is a binary message
    bool want_close;            //  close at the next WRITEABLE
    uint16_t close_code;        //  ...with this code
    bool peer_closed;           //  the server sent a close frame
    uint16_t peer_code;         //  ...with this code
    char peer_reason [124];     //  ...and reason
    char error [128];           //  why connecting failed
    bool sent_oversize;         //  sent a message over MAX_FRAME_SIZE
} rc_conn_t;

typedef struct _rc_client_t rc_client_t;

//  NULL when libwebsockets would not start
rc_client_t *
    rc_client_new (void);
void
    rc_client_destroy (rc_client_t **self_p);
//  Connects and waits for the handshake; state says how it went
rc_conn_t *
    rc_client_connect (rc_client_t *self, const char *id,
                       hc_dialect_t dialect, const char *path,
                       const char *host, int port, int64_t timeout_ms);

//  Serves the client until done (arg, conn) holds; false after timeout_ms
typedef bool (rc_done_fn) (void *arg, rc_conn_t *conn);
bool
    rc_client_wait (rc_client_t *self, rc_conn_t *conn, rc_done_fn *done,
                    void *arg, int64_t timeout_ms);
//  Conditions for rc_client_wait
bool
    rc_conn_connected (void *arg, rc_conn_t *conn);
bool
    rc_conn_sent (void *arg, rc_conn_t *conn);
bool
    rc_conn_received (void *arg, rc_conn_t *conn);
bool
    rc_conn_closed (void *arg, rc_conn_t *conn);
//  Never: waits the whole timeout
bool
    rc_never (void *arg, rc_conn_t *conn);

//  A zlistx destructor; frees the connection's lists, not its wsi
void
    rc_conn_destroy (void **item);
//  Queues a frame (sent at the next WRITEABLE)
void
    rc_conn_send (rc_conn_t *conn, const char *data, size_t len,
                  bool binary);
//  Closes with code once what is queued has gone
void
    rc_conn_close (rc_conn_t *conn, uint16_t code);

const char *
    rc_frame_payload (const rc_frame_t *frame);
void
    rc_frame_destroy (void **item);

#endif
