/*  gw_self.h - the gateway actor's state, private to gateway/

    The actor's jobs live in files of their own (gw_frames.c, gw_out.c,
    gw_handshake.c, gw_callback.c, gw_from_rooms.c, gw_timers.c), but each
    of them acts on the same connection table, counters, log and sockets
    while an lws callback or a timer runs: handing each the few fields it
    uses would be a dozen arguments per call on the relay path. So they
    share this struct; only gateway.c creates and frees it, and what can
    be decided without it is in the plain classes (gw_session, gw_liveness,
    gw_admission, gw_refusals, gw_link, ...), which have self tests.
    Everything here runs on the gateway's thread.
*/
#ifndef GW_SELF_H_INCLUDED
#define GW_SELF_H_INCLUDED

#include "gw_admission.h"
#include "gw_budget.h"
#include "gw_ice.h"
#include "gw_linger.h"
#include "gw_link.h"
#include "gw_p2p.h"
#include "gw_refusals.h"
#include "gw_session.h"
#include "gw_trace.h"
#include "../common/batch.h"
#include "../common/config.h"
#include "../common/log.h"
#include "../common/origins.h"
#include "../common/tally.h"

#include <ev.h>

#define CLOSE_RESTART 1012      //  WebSocket "service restart"
#define CLOSE_TRY_LATER 1013    //  WebSocket "try again later"

typedef struct {
    zsock_t *pipe;              //  actor pipe: START, $TERM
    zsock_t *rooms;             //  DEALER: commands out, deliveries in
    hc_batch_t to_rooms;        //  this loop turn's commands
    zsock_t *pub;               //  event bus publisher (log records)
    hc_config_t cfg;            //  our copy of the settings
    hc_log_t *log;              //  structured logging through pub
    msg_enc_t *enc;             //  reused command encoder
    msg_dec_t *dec;             //  reused delivery decoder
    struct ev_loop *loop;       //  the loop lws and ZeroMQ share
    ev_io pipe_io;              //  pipe's ZMQ_FD
    ev_io rooms_io;             //  rooms socket's ZMQ_FD
    ev_prepare drain;           //  drains both sockets before each sleep
    ev_idle resume;             //  keeps the loop awake after a capped drain
    ev_timer stop_timer;        //  bounds the wait for closing clients
    ev_timer stats_timer;       //  periodic counters
    struct lws_context *ctx;    //  libwebsockets, once started
    ev_timer liveness_timer;    //  pings idle clients, drops silent ones
    ev_timer heartbeat_timer;   //  p2p: closes connections without PING
    gw_p2p_result_t *p2p;       //  reused reader of p2p frames
    ev_io pub_io;               //  publisher's ZMQ_FD: subscriptions
    uint64_t rooms_checked_at;  //  to_rooms.messages at rooms' last check
    uint64_t published;         //  log messages sent at pub's last check
    ev_timer link_timer;        //  HELLO to rooms, checks its answers
    gw_link_t link;             //  is rooms there, and which run of it
    gw_trace_t *trace;          //  TRACE file, or NULL
    zhashx_t *sessions;         //  connection id -> gw_session_t
    gw_admission_t *admission;  //  every socket, from accept
    gw_budget_t budget;         //  bytes held for clients, all together
    gw_linger_t *linger;        //  sockets closed so the last words arrive
    ev_timer edge_timer;        //  handshake deadlines; wakes lws's timers
    double lws_wake_until;      //  lws has timers of its own until then
    unsigned edge_ticks;        //  counts edge ticks between lws wakes
    int accepted_fd;            //  socket lws is adopting now (-1: none)
    char accepted_peer [HC_ADDR_TEXT];  //  its address ("": a proxy's)
    gw_ticket_t *reading;       //  pending socket lws is reading now
    hc_netlist_t proxies;       //  TRUSTED_PROXIES
    hc_netlist_t metrics_allow; //  METRICS_ALLOW
    gw_ice_t *ice;              //  ICE servers and TURN credentials
    hc_origins_t origins;       //  ALLOWED_ORIGINS
    msg_rooms_stats_t rooms_stats;  //  as of rooms' last WELCOME
    bool rooms_stats_known;     //  a WELCOME came
    uint32_t instance;          //  high half of our connection ids
    char instance_hex [9];      //  the same, as logs and events show it
    uint32_t next_seq;          //  low half
    hc_buf_t render;            //  reused JSON output
    bool terminated;            //  $TERM received or context gone
    bool stopping;              //  closing clients before exit
    //  Counters for gateway.stats
    uint64_t frames_in, frames_out, invalid, busy, undeliverable, lagging;
    hc_tally_t busy_log;        //  signal.busy, once a second
    gw_refusals_t *refusals;    //  conn.refused, the same, and the counts
    hc_tally_t lws_log;         //  lws.message, the same
} gw_self_t;

//  The encoded command joins this loop turn's message to rooms, which
//  goes before the loop sleeps (gateway.c's s_drain): rooms wakes once
//  per turn
static inline int
gw_self_to_rooms (gw_self_t *self, const char *verb)
{
    return hc_batch_add (&self->to_rooms, NULL, verb,
                         msg_enc_data (self->enc), msg_enc_size (self->enc));
}

#endif
