/*  gw_handshake.c - sockets before their upgrade: admission and refusals

    Every socket is counted from accept (gw_admission.h): past
    MAX_CONNECTIONS_PER_IP it gets 429 at once; while its handshake runs
    it has a deadline (HANDSHAKE_TIMEOUT: 408) and a place among at most
    MAX_HANDSHAKES (the oldest gets 503); at the upgrade it is checked for
    TLS, Origin, the link to rooms and the caps. A refused socket is told
    why in an HTTP answer it can read, then closed, and lingers so that
    the answer arrives (gw_linger.h). Runs in lws callbacks and the edge
    timer (gateway thread); docs/limits.md.
*/
#include "gw_handshake.h"
#include "gw_client.h"
#include "gw_tls.h"

#include <fcntl.h>

#define LWS_WAKE_TICKS 4        //  edge ticks between wakes of lws's timers

static _Thread_local gw_self_t *tl_self;    //  for lws's own log lines

//  conn.refused, once a second per reason with the count (gw_refusals.h)
static void
s_refused (gw_self_t *self, gw_refused_t reason, const char *peer,
           const char *via, const char *origin)
{
    gw_refusals_note (self->refusals, reason, peer, via, origin,
                      zclock_mono ());
}

//  Who the client is: the socket peer, or behind a trusted proxy the
//  address it forwarded (then via names the proxy; else it is "")
void
gw_handshake_client_address (gw_self_t *self, struct lws *wsi,
                             char client [HC_ADDR_TEXT],
                             char via [HC_ADDR_TEXT])
{
    char socket_peer [HC_ADDR_TEXT] = "";
    if (!lws_get_peer_simple (wsi, socket_peer, sizeof (socket_peer)))
        strcpy (socket_peer, "?");
    //  A header longer than this is not from a proxy we would trust
    char forwarded [1024];
    if (lws_hdr_copy (wsi, forwarded, sizeof (forwarded),
                      WSI_TOKEN_X_FORWARDED_FOR) < 0)
        forwarded [0] = 0;
    gw_client_address (&self->proxies, socket_peer, forwarded, client, via);
}

//  A pending socket's input watcher (s_pending_readable)
typedef struct {
    ev_io io;
    gw_self_t *self;
    gw_ticket_t *ticket;
} s_watch_t;

static void
s_unwatch (gw_self_t *self, gw_ticket_t *ticket)
{
    s_watch_t *watch = (s_watch_t *) ticket->watch;
    if (watch) {
        ev_io_stop (self->loop, &watch->io);
        free (watch);
        ticket->watch = NULL;
    }
}

void
gw_handshake_done (gw_self_t *self, struct lws *wsi)
{
    gw_ticket_t *ticket = gw_admission_find (self->admission, wsi);
    if (ticket) {
        gw_admission_settle (self->admission, ticket);
        s_unwatch (self, ticket);
    }
}

//  ALLOWED_ORIGINS: a handshake without Origin (not a browser) goes on;
//  one too long to hold is not listed. origin gets what it said.
static bool
s_origin_allowed (gw_self_t *self, struct lws *wsi,
                  char origin [HC_ORIGINS_TEXT])
{
    origin [0] = 0;
    if (self->origins.size == 0)
        return true;
    int len = lws_hdr_total_length (wsi, WSI_TOKEN_ORIGIN);
    if (len <= 0)
        return hc_origins_allow (&self->origins, NULL);
    if (lws_hdr_copy (wsi, origin, HC_ORIGINS_TEXT, WSI_TOKEN_ORIGIN) < 0) {
        snprintf (origin, HC_ORIGINS_TEXT, "(%d bytes)", len);
        return false;
    }
    return hc_origins_allow (&self->origins, origin);
}

//  Before the upgrade: the client's address goes into the session, which
//  lws has allocated by now. Refused (the handshake fails) when stopping,
//  while rooms is away, or over a connection cap. A flood of refusals
//  makes one record a second per reason, with the count.
int
gw_handshake_filter (gw_self_t *self, gw_session_t *session, struct lws *wsi)
{
    gw_handshake_client_address (self, wsi, session->peer, session->via);
    const char *peer = session->peer;
    char origin [HC_ORIGINS_TEXT];
    gw_refused_t reason;
    if (gw_tls_enabled (&self->cfg) && !lws_is_ssl (wsi))
        reason = GW_REFUSED_NOT_TLS;
    else
    if (!s_origin_allowed (self, wsi, origin))
        reason = GW_REFUSED_ORIGIN;
    else
    if (self->stopping)
        reason = GW_REFUSED_STOPPING;
    else
    if (!self->link.up)
        reason = GW_REFUSED_ROOMS_UNAVAILABLE;
    else
    if (zhashx_size (self->sessions) >= (size_t) self->cfg.max_connections)
        reason = GW_REFUSED_MAX_CONNECTIONS;
    else {
        //  Counted against the client from now on (behind a proxy, until
        //  now it was counted against nobody)
        gw_ticket_t *ticket = gw_admission_find (self->admission, wsi);
        if (!ticket || gw_admission_move (self->admission, ticket, peer))
            return 0;
        reason = GW_REFUSED_MAX_CONNECTIONS_PER_IP;
    }
    s_refused (self, reason, peer, session->via,
               reason == GW_REFUSED_ORIGIN ? origin : NULL);
    //  An HTTP answer the client's library can report, then the close.
    //  Written whole: lws would call it HTTP/1.0 at this stage, which
    //  WebSocket clients refuse to parse.
    unsigned char buf [LWS_PRE + 256];
    size_t len = gw_refusals_answer (reason, (char *) buf + LWS_PRE,
                                     sizeof (buf) - LWS_PRE);
    lws_write (wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_HEADERS);
    return -1;
}

//  Tells a pending socket why it is being closed, while lws still has it
//  open; a dup keeps it open for gw_linger once lws has closed its own
static void
s_answer (gw_ticket_t *ticket, gw_refused_t reason)
{
    if (ticket->verdict)
        return;
    ticket->verdict = 1 + (int) reason;
    //  Bytes outside TLS records would garble a TLS stream: that socket
    //  is only closed (lws ends its TLS first)
    if (lws_is_ssl ((struct lws *) (uintptr_t) ticket->owner))
        return;
    char text [256];
    size_t len = gw_refusals_answer (reason, text, sizeof (text));
    if (send (ticket->fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
        ticket->answer_fd = fcntl (ticket->fd, F_DUPFD_CLOEXEC, 0);
}

//  A new socket, before lws adopts it: refused at once (with a 429 it can
//  read) when its address holds its cap already. A trusted proxy's socket
//  is counted once its headers name the client (gw_handshake_filter).
int
gw_handshake_accept (gw_self_t *self, int fd)
{
    char socket_peer [HC_ADDR_TEXT] = "?";
    char peer [HC_ADDR_TEXT], via [HC_ADDR_TEXT];
    lws_get_peer_simple_fd (fd, socket_peer, sizeof (socket_peer));
    gw_client_address (&self->proxies, socket_peer, NULL, peer, via);
    bool proxy = hc_netlist_contains (&self->proxies, peer);
    if (!proxy && !gw_admission_allows (self->admission, peer)) {
        s_refused (self, GW_REFUSED_MAX_CONNECTIONS_PER_IP, peer, "", NULL);
        char text [256];
        size_t len = gw_refusals_answer (GW_REFUSED_MAX_CONNECTIONS_PER_IP,
                                         text, sizeof (text));
        //  lws closes fd when we return; the dup lingers with the answer
        //  (none on a TLS port: a TLS client could not read it)
        bool tls = gw_tls_enabled (&self->cfg);
        gw_linger_add (self->linger, fcntl (fd, F_DUPFD_CLOEXEC, 0),
                       tls ? NULL : text, tls ? 0 : len);
        return -1;
    }
    self->accepted_fd = fd;
    snprintf (self->accepted_peer, sizeof (self->accepted_peer), "%s",
              proxy ? "" : peer);
    return 0;
}

//  Closes pending sockets past the handshake deadline, and the oldest ones
//  while there are more than MAX_HANDSHAKES
static void
s_sweep_handshakes (gw_self_t *self)
{
    double timeout = (double) self->cfg.handshake_timeout_ms / 1000;
    gw_ticket_t *ticket;
    while ((ticket = gw_admission_due (self->admission, ev_now (self->loop),
                                       timeout))) {
        gw_admission_settle (self->admission, ticket);
        bool late = ev_now (self->loop) - ticket->since >= timeout;
        s_answer (ticket, late ? GW_REFUSED_HANDSHAKE_TIMEOUT
                                     : GW_REFUSED_MAX_HANDSHAKES);
        lws_set_timeout ((struct lws *) (uintptr_t) ticket->owner,
                         PENDING_TIMEOUT_ESTABLISH_WITH_SERVER,
                         LWS_TO_KILL_ASYNC);
        self->lws_wake_until = ev_now (self->loop) + 1;
    }
}

//  A pending socket's input: we have lws read it, so that what it says
//  while parsing the headers (s_lws_log) is known to be about this socket.
//  lws's own watcher, behind ours in priority, then finds nothing to read.
static void
s_pending_readable (struct ev_loop *loop, ev_io *io, int revents)
{
    (void) loop;
    (void) revents;
    s_watch_t *watch = (s_watch_t *) io->data;
    gw_self_t *self = watch->self;
    struct lws_pollfd pollfd = {io->fd, LWS_POLLIN, LWS_POLLIN};
    self->reading = watch->ticket;
    lws_service_fd (self->ctx, &pollfd);    //  may free watch
    self->reading = NULL;
}

//  lws made the socket gw_handshake_accept let in: it gets a ticket, and
//  a watcher
void
gw_handshake_created (gw_self_t *self, struct lws *wsi)
{
    if (self->accepted_fd < 0)
        return;                 //  a socket of lws's own
    gw_ticket_t *ticket = gw_admission_enter (
        self->admission, wsi,
        self->accepted_peer [0] ? self->accepted_peer : NULL,
        ev_now (self->loop));
    ticket->fd = self->accepted_fd;
    self->accepted_fd = -1;
    s_watch_t *watch = (s_watch_t *) zmalloc (sizeof (s_watch_t));
    watch->self = self;
    watch->ticket = ticket;
    ev_io_init (&watch->io, s_pending_readable, ticket->fd, EV_READ);
    ev_set_priority (&watch->io, EV_MAXPRI);
    watch->io.data = watch;
    ev_io_start (self->loop, &watch->io);
    ticket->watch = watch;
    if (gw_admission_pending (self->admission)
        > (size_t) self->cfg.max_handshakes)
        s_sweep_handshakes (self);
}

//  The socket is gone. One that never finished its handshake is told why
//  it was closed, when we know it.
void
gw_handshake_destroyed (gw_self_t *self, struct lws *wsi)
{
    gw_ticket_t *ticket = gw_admission_find (self->admission, wsi);
    if (!ticket)
        return;
    if (ticket->verdict)
        s_refused (self, (gw_refused_t) (ticket->verdict - 1),
                   ticket->address [0] ? ticket->address : "?", "", NULL);
    //  The answer went out before lws closed; now the rest of the input
    gw_linger_add (self->linger, ticket->answer_fd, NULL, 0);
    ticket->answer_fd = -1;
    s_unwatch (self, ticket);
    gw_admission_leave (self->admission, &ticket);
}

//  Handshake deadlines, and lws's own timers. Its libev glue arms one
//  ev_timer for the earliest of them and never moves it earlier (ev_timer_set
//  on an active watcher), so a timer lws sets later, such as the 5 s wait
//  for the answer to a close, waited for that one (about 30 s on an idle
//  server) or for other traffic. Each wake makes lws run whatever is due.
void
gw_handshake_tick (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) revents;
    gw_self_t *self = (gw_self_t *) timer->data;
    s_sweep_handshakes (self);
    bool busy = zhashx_size (self->sessions)
             || gw_admission_pending (self->admission);
    if (self->lws_wake_until >= ev_now (loop)
    ||  (busy && ++self->edge_ticks % LWS_WAKE_TICKS == 0))
        lws_cancel_service (self->ctx);
}

//  lws's own warnings and errors, as our log records. Clients cause most
//  of them (headers too large, bad requests), so they are warnings, once
//  a second with a count: a client cannot page the operator.
static void
s_lws_log (int level, const char *line)
{
    (void) level;
    gw_self_t *self = tl_self;
    if (!self)
        return;
    //  The only sign lws gives that a handshake's headers did not fit,
    //  said while it reads them (s_pending_readable): that socket hears 431
    if (self->reading
    &&  (strncmp (line, "Ran out of header data space", 28) == 0
    ||   strncmp (line, "More hdr frags", 14) == 0
    ||   (strncmp (line, "header ", 7) == 0
          && strstr (line, "exceeds limit"))))
        s_answer (self->reading, GW_REFUSED_HEADER_TOO_LARGE);
    uint64_t count = hc_tally_add (&self->lws_log, zclock_mono ());
    if (!count)
        return;
    hc_str_t text = hc_str (line);
    while (text.len && (text.ptr [text.len - 1] == '\n'))
        text.len--;
    HC_LOG (self->log, HC_LOG_WARN, "lws.message", hc_field_str ("text", text),
            hc_field_int ("count", (int64_t) count));
}

void
gw_handshake_log_lws (gw_self_t *self)
{
    tl_self = self;
    lws_set_log_level (LLL_ERR | LLL_WARN, self ? s_lws_log : NULL);
}
