/*  gw_liveness.c - when a silent client is pinged, dropped or closed */
#include "gw_liveness.h"

#include <czmq.h>

gw_live_t
gw_liveness_check (gw_session_t *session, double now, double interval,
                   double timeout)
{
    double idle = now - session->last_seen;
    if (idle >= interval + timeout && !session->timed_out) {
        session->timed_out = true;
        return GW_LIVE_DROP;
    }
    //  One ping per silence: the next only after the client spoke again
    if (idle >= interval && session->pinged_at < session->last_seen) {
        session->pinged_at = now;
        return GW_LIVE_PING;
    }
    return GW_LIVE_OK;
}

bool
gw_liveness_heartbeat_lapsed (const gw_session_t *session, double now,
                              double timeout)
{
    return session->dialect == HC_DIALECT_P2P && !session->closing
        && now - session->last_app_ping > timeout;
}

//  ---------------------------------------------------------------------
//  Self test, on a fake clock

void
gw_liveness_test (bool verbose)
{
    if (verbose)
        printf (" * gw_liveness: ");
    gw_session_t session;
    memset (&session, 0, sizeof (session));
    session.dialect = HC_DIALECT_SIGNAL;
    session.last_seen = 100;
    session.pinged_at = 0;
    //  Interval 30 s, timeout 10 s
    assert (gw_liveness_check (&session, 129, 30, 10) == GW_LIVE_OK);
    assert (gw_liveness_check (&session, 130, 30, 10) == GW_LIVE_PING);
    assert (session.pinged_at == 130);
    //  Pinged once per silence
    assert (gw_liveness_check (&session, 135, 30, 10) == GW_LIVE_OK);
    //  The pong (or any frame) counts; the next silence gets its ping
    session.last_seen = 136;
    assert (gw_liveness_check (&session, 166, 30, 10) == GW_LIVE_PING);
    //  Silent through the timeout as well: dropped, once
    assert (gw_liveness_check (&session, 175, 30, 10) == GW_LIVE_OK);
    assert (gw_liveness_check (&session, 176, 30, 10) == GW_LIVE_DROP);
    assert (session.timed_out);
    assert (gw_liveness_check (&session, 200, 30, 10) != GW_LIVE_DROP);

    //  The p2p heartbeat: PINGs of the dialect, p2p sessions only
    session.last_app_ping = 100;
    assert (!gw_liveness_heartbeat_lapsed (&session, 200, 60));
    session.dialect = HC_DIALECT_P2P;
    assert (!gw_liveness_heartbeat_lapsed (&session, 160, 60));
    assert (gw_liveness_heartbeat_lapsed (&session, 160.5, 60));
    session.closing = true;
    assert (!gw_liveness_heartbeat_lapsed (&session, 200, 60));
    if (verbose)
        printf ("OK\n");
}
