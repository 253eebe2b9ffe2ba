/*  gw_link.c - the gateway's view of its link to rooms */
#include "gw_link.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void
gw_link_init (gw_link_t *self, int64_t timeout_ms)
{
    memset (self, 0, sizeof (*self));
    self->timeout_ms = timeout_ms;
}

gw_link_change_t
gw_link_welcome (gw_link_t *self, uint64_t epoch, bool fresh, int64_t now)
{
    self->heard_at = now;
    if (!self->up) {
        //  Clients were closed when the link went down, or none came yet
        self->up = true;
        self->epoch = epoch;
        return GW_LINK_UP;
    }
    if (epoch != self->epoch || fresh) {
        self->epoch = epoch;
        return GW_LINK_RESTARTED;
    }
    return GW_LINK_SAME;
}

gw_link_change_t
gw_link_check (gw_link_t *self, int64_t now)
{
    if (self->up && now - self->heard_at >= self->timeout_ms) {
        self->up = false;
        return GW_LINK_LOST;
    }
    return GW_LINK_SAME;
}

void
gw_link_test (bool verbose)
{
    if (verbose)
        printf (" * gw_link: ");
    gw_link_t link;
    gw_link_init (&link, 1000);
    assert (!link.up);
    assert (gw_link_check (&link, 5000) == GW_LINK_SAME);   //  never up
    //  The first WELCOME is fresh: rooms has just met us
    assert (gw_link_welcome (&link, 7, true, 0) == GW_LINK_UP);
    assert (gw_link_welcome (&link, 7, false, 10) == GW_LINK_SAME);
    assert (gw_link_check (&link, 1009) == GW_LINK_SAME);
    //  A new epoch: rooms restarted
    assert (gw_link_welcome (&link, 8, true, 500) == GW_LINK_RESTARTED);
    assert (gw_link_welcome (&link, 8, false, 600) == GW_LINK_SAME);
    //  Same epoch but fresh: rooms gave up on us and forgot our clients
    assert (gw_link_welcome (&link, 8, true, 700) == GW_LINK_RESTARTED);
    //  Silence
    assert (gw_link_check (&link, 1699) == GW_LINK_SAME);
    assert (gw_link_check (&link, 1700) == GW_LINK_LOST);
    assert (!link.up);
    assert (gw_link_check (&link, 9000) == GW_LINK_SAME);   //  said once
    //  Back: up again (clients were closed at the loss)
    assert (gw_link_welcome (&link, 9, true, 9100) == GW_LINK_UP);
    assert (link.up && link.epoch == 9);
    if (verbose)
        printf ("OK\n");
}
