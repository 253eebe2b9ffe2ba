/*  p2p_session.h - a connection's session: registered, kept for the
    reconnect grace, restored, ended

    ADD_USER gives the connection a fresh record (its old one goes, B16,
    and a call that waited for the user rings now). A connection that
    closes during a call keeps its record for reconnect_grace_ms (B10);
    RECONNECT moves it to the new connection, keeping the stored device
    (B11, B12); past the grace the call ends as if it had hung up.
*/
#ifndef P2P_SESSION_H_INCLUDED
#define P2P_SESSION_H_INCLUDED

#include "p2p_state.h"

//  A record goes for good: a call it was in ends as if it had hung up
void
    p2p_session_end (p2p_state_t *state, p2p_record_t *record);

//  Routes: ADD_USER, RECONNECT
void
    p2p_session_add_user (p2p_state_t *state, const msg_p2p_t *cmd);
void
    p2p_session_reconnect (p2p_state_t *state, const msg_p2p_t *cmd);

//  The connection is gone: its record ends, or waits for RECONNECT
void
    p2p_session_close (p2p_state_t *state, uint64_t conn, p2p_now_t now);
//  Ends the records whose grace is over by now (monotonic ms)
void
    p2p_session_expire (p2p_state_t *state, int64_t now);

#endif
