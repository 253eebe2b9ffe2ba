/*  p2p_calls.c - the p2p dialect's state: users, devices, calls, waiting list

    The state (p2p_state.h) and the routes' dispatch; the routes live by
    family in p2p_session.c, p2p_offer.c, p2p_call.c and p2p_media.c, the
    tables in p2p_users.c and p2p_waiting.c, delivery in p2p_outbox.c.
*/
#include "p2p_calls.h"
#include "p2p_call.h"
#include "p2p_media.h"
#include "p2p_offer.h"
#include "p2p_session.h"
#include "../common/deadline.h"

struct _p2p_calls_t {
    p2p_state_t state;          //  what the routes work on
};

p2p_calls_t *
p2p_calls_new (const p2p_calls_cfg_t *cfg, const rooms_sink_t *sink)
{
    assert (cfg->max_devices >= 1);
    p2p_calls_t *self = (p2p_calls_t *) zmalloc (sizeof (p2p_calls_t));
    p2p_state_t *state = &self->state;
    state->cfg = *cfg;
    state->sink = *sink;
    p2p_users_init (&state->users);
    state->waiting = p2p_waiting_new (cfg);
    state->out = p2p_outbox_new (cfg, sink);
    return self;
}

void
p2p_calls_destroy (p2p_calls_t **self_p)
{
    assert (self_p);
    p2p_calls_t *self = *self_p;
    if (!self)
        return;
    p2p_users_clear (&self->state.users);
    p2p_waiting_destroy (&self->state.waiting);
    p2p_outbox_destroy (&self->state.out);
    free (self);
    *self_p = NULL;
}

void
p2p_calls_command (p2p_calls_t *self, const msg_p2p_t *cmd, p2p_now_t now)
{
    p2p_state_t *state = &self->state;
    switch (cmd->route) {
        case MSG_P2P_ADD_USER:      p2p_session_add_user (state, cmd); break;
        case MSG_P2P_RECONNECT:     p2p_session_reconnect (state, cmd); break;
        case MSG_P2P_OFFER:         p2p_offer_call (state, cmd, now); break;
        case MSG_P2P_UPDATE_OFFER:  p2p_offer_update (state, cmd); break;
        case MSG_P2P_ANSWER:        p2p_call_answer (state, cmd); break;
        case MSG_P2P_UPDATE_ANSWER: {
            msg_p2p_t update = *cmd;
            update.is_update = true;
            p2p_call_answer (state, &update);
            break;
        }
        case MSG_P2P_DECLINE:       p2p_call_decline (state, cmd); break;
        case MSG_P2P_ADD_ICE:       p2p_media_add_ice (state, cmd); break;
        case MSG_P2P_SWAP_ICE:      p2p_media_swap_ice (state, cmd); break;
        case MSG_P2P_SET_REMOTE_STREAM_ID:
                                    p2p_media_set_stream (state, cmd); break;
        case MSG_P2P_MEDIA_UPDATE:  p2p_media_update (state, cmd); break;
        case MSG_P2P_ROUTE_COUNT:   break;
    }
}

void
p2p_calls_close (p2p_calls_t *self, uint64_t conn, p2p_now_t now)
{
    p2p_session_close (&self->state, conn, now);
}

void
p2p_calls_tick (p2p_calls_t *self, p2p_now_t now)
{
    p2p_session_expire (&self->state, now.mono_ms);
    p2p_offer_expire (&self->state, now.mono_ms);
}

int64_t
p2p_calls_next_deadline (const p2p_calls_t *self)
{
    const p2p_users_t *users = &self->state.users;
    return hc_deadline_earliest (
        p2p_waiting_next_deadline (self->state.waiting),
        users->detached ? users->grace_next : -1);
}

size_t
p2p_calls_user_count (const p2p_calls_t *self)
{
    return zhashx_size (self->state.users.users);
}

size_t
p2p_calls_waiting_count (const p2p_calls_t *self)
{
    return p2p_waiting_size (self->state.waiting);
}

size_t
p2p_calls_linked_count (const p2p_calls_t *self)
{
    return zhashx_size (self->state.users.pairs);
}

size_t
p2p_calls_grace_count (const p2p_calls_t *self)
{
    return self->state.users.detached;
}
