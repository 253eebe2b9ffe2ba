/*  notifier.h - the actor that owns logging and alerting

    Subscribes to the event bus and writes every log record as one line to
    stderr and, if configured, to a log file. Fed only by messages: no other
    actor calls it, so a slow disk or terminal slows nobody else (the bus
    drops for it instead).

    Usage (args is a const hc_config_t *):

        zactor_t *notifier = zactor_new (notifier_actor, &cfg);
        zstr_send (notifier, "START");
        int rc;
        zsock_recv (notifier, "i", &rc);    //  -1: log file cannot be opened
        zstr_send (notifier, "REOPEN");     //  after logrotate (SIGHUP)
*/
#ifndef NOTIFIER_H_INCLUDED
#define NOTIFIER_H_INCLUDED

#include <czmq.h>

void
    notifier_actor (zsock_t *pipe, void *args);

void
    notifier_test (bool verbose);

#endif
