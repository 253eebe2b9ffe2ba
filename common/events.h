/*  events.h - which topics someone on the event bus listens to

    An actor publishes through an XPUB, and an XPUB hears every change of
    its subscribers' filters as a message: 0x01 + prefix when the first
    subscriber asks for a prefix, 0x00 + prefix when the last one drops it.
    This class keeps that set, so that an actor encodes an event only when
    someone wants it (the relay path stays lean when nobody watches).
*/
#ifndef EVENTS_H_INCLUDED
#define EVENTS_H_INCLUDED

#include <czmq.h>

#define HC_EVENTS_MAX 1024      //  prefixes tracked; beyond, all is wanted
#define HC_TOPIC_MAX 160        //  longest topic we publish

typedef struct _hc_events_t hc_events_t;

hc_events_t *
    hc_events_new (void);
void
    hc_events_destroy (hc_events_t **self_p);
//  Applies one subscription message; -1 if it is not one (dropped)
int
    hc_events_apply (hc_events_t *self, const void *data, size_t size);
//  Reads every subscription message waiting on an XPUB, without blocking
void
    hc_events_read (hc_events_t *self, zsock_t *xpub);
//  True if someone listens to a prefix of topic
bool
    hc_events_wanted (hc_events_t *self, const char *topic);
//  Prefixes listened to
size_t
    hc_events_size (hc_events_t *self);

void
    hc_events_test (bool verbose);

#endif
