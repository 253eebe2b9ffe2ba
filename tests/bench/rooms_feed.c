/*  rooms_feed.c - the rooms actor's ceiling, with no WebSocket at all

    rooms_feed [--pairs N] [--payload BYTES] [--duration S] [--window N]

    Starts the bus and the rooms actor in this process, as homecall does
    (rooms_endpoint inproc://rooms), and plays one gateway on a DEALER:
    HELLO until WELCOME, OPEN and a /signal JOIN for 2 * N connections (N
    rooms of two), then offers and answers (a JSON string of --payload
    bytes) from both ends of every room, keeping --window commands in
    flight, for --duration seconds. Every message is made and read with
    common/msg_rooms.h, as the gateway does (docs/architecture.md).

    Prints one JSON line and one human line: OUT deliveries back per
    second, and the CPU time of each thread by name (the rooms actor's
    thread, the feeder "feeder", ZeroMQ's I/O thread). The rooms thread's
    CPU per relayed message gives its ceiling on one core:
    1e6 / rooms_us_per_msg messages per second. Nothing subscribes to the
    bus, so rooms encodes no log record: this is rooms without logging.
*/
#include "bench/bench_proc.h"
#include "common/bus.h"
#include "common/config.h"
#include "common/msg_rooms.h"
#include "rooms/rooms.h"

#include <czmq.h>
#include <pthread.h>

static uint64_t
s_conn (uint32_t gateway, int index)
{
    return ((uint64_t) gateway << 32) | (uint64_t) (index + 1);
}

static int
s_send (zsock_t *dealer, const char *verb, msg_enc_t *enc)
{
    void *sock = zsock_resolve (dealer);
    if (zmq_send (sock, verb, strlen (verb), ZMQ_SNDMORE) == -1)
        return -1;
    return zmq_send (sock, msg_enc_data (enc), msg_enc_size (enc), 0) == -1
           ? -1 : 0;
}

//  Reads one message, [verb][body] or several such pairs (a batch);
//  returns the recipients of its OUTs, 0 for anything else, -1 when
//  nothing came within timeout_ms
static int
s_receive (zsock_t *dealer, msg_dec_t *dec, int timeout_ms, bool *welcome)
{
    zmq_pollitem_t item = {zsock_resolve (dealer), 0, ZMQ_POLLIN, 0};
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return -1;
    zmsg_t *msg = zmsg_recv (dealer);
    if (!msg)
        return -1;
    int recipients = 0;
    zframe_t *verb = zmsg_first (msg);
    while (verb) {
        zframe_t *body = zmsg_next (msg);
        if (!body)
            break;
        msg_out_t out;
        if (zframe_streq (verb, MSG_OUT)
        &&  msg_dec_out (dec, zframe_data (body), zframe_size (body), &out)
            == 0)
            recipients += (int) out.conns_n;
        else
        if (zframe_streq (verb, MSG_WELCOME) && welcome)
            *welcome = true;
        verb = zmsg_next (msg);
    }
    zmsg_destroy (&msg);
    return recipients;
}

static double
s_arg (int argc, char *argv [], const char *name, double fallback)
{
    for (int i = 1; i + 1 < argc; i++)
        if (streq (argv [i], name))
            return atof (argv [i + 1]);
    return fallback;
}

int
main (int argc, char *argv [])
{
    for (int i = 1; i < argc; i += 2)
        if (!streq (argv [i], "--pairs") && !streq (argv [i], "--payload")
        &&  !streq (argv [i], "--duration") && !streq (argv [i], "--window")) {
            fprintf (stderr, "usage: rooms_feed [--pairs N] [--payload BYTES]"
                     " [--duration S] [--window N]\n");
            return 2;
        }
    int pairs = (int) s_arg (argc, argv, "--pairs", 100);
    size_t payload_size = (size_t) s_arg (argc, argv, "--payload", 1500);
    double duration = s_arg (argc, argv, "--duration", 5);
    int window = (int) s_arg (argc, argv, "--window", 256);
    if (pairs < 1 || payload_size < 2 || duration <= 0 || window < 1)
        return 2;

    hc_config_t cfg;
    char err [256];
    char *no_args [] = {argv [0], NULL};
    if (hc_config_load (&cfg, 1, no_args, "/dev/null", err, sizeof (err))) {
        fprintf (stderr, "rooms_feed: %s\n", err);
        return 2;
    }
    zsys_handler_set (NULL);
    zsys_init ();
    zactor_t *bus = zactor_new (hc_bus_actor, &cfg);
    zactor_t *rooms = zactor_new (rooms_actor, &cfg);
    int rc = -1;
    zstr_send (bus, "START");
    zsock_recv (bus, "i", &rc);
    zstr_send (rooms, "START");
    zsock_recv (rooms, "i", &rc);
    if (rc < 0) {
        fprintf (stderr, "rooms_feed: rooms could not start\n");
        return 1;
    }
    //  The actors' threads keep the process's name; ours is told apart
    pthread_setname_np (pthread_self (), "feeder");

    uint32_t gateway = 0x0fee0001;
    char id [16];
    rooms_gateway_routing_id ((uint64_t) gateway << 32, id);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_identity (dealer, id);
    zsock_set_sndhwm (dealer, 100000);
    zsock_set_rcvhwm (dealer, 100000);
    zsock_connect (dealer, "%s", cfg.rooms_endpoint);
    msg_enc_t *enc = msg_enc_new ();
    msg_dec_t *dec = msg_dec_new ();

    //  HELLO until WELCOME
    msg_hello_t hello = {gateway};
    bool welcome = false;
    for (int tries = 0; !welcome && tries < 50; tries++) {
        msg_enc_hello (enc, &hello);
        s_send (dealer, MSG_HELLO, enc);
        while (!welcome && s_receive (dealer, dec, 100, &welcome) >= 0)
            ;
    }
    if (!welcome) {
        fprintf (stderr, "rooms_feed: no WELCOME from rooms\n");
        return 1;
    }
    //  Connections and rooms
    char room [32];
    for (int i = 0; i < 2 * pairs; i++) {
        msg_open_t open = {s_conn (gateway, i), HC_DIALECT_SIGNAL,
                           HC_STR_LIT ("127.0.0.1")};
        msg_enc_open (enc, &open);
        s_send (dealer, MSG_OPEN, enc);
        snprintf (room, sizeof (room), "feed%d", i / 2);
        msg_sig_t join = {s_conn (gateway, i), MSG_SIG_JOIN, hc_str (room),
                          hc_str (i % 2 ? "b" : "a"), HC_STR_NULL,
                          HC_STR_NULL};
        msg_enc_sig (enc, &join);
        s_send (dealer, MSG_SIG, enc);
    }
    //  The payload: a JSON string, as the gateway hands sdp over
    char *payload = (char *) malloc (payload_size);
    memset (payload, 'x', payload_size);
    payload [0] = payload [payload_size - 1] = '"';
    hc_str_t sdp = {payload, payload_size};

    bench_proc_sample_t before, after, cpu;
    bench_proc_sample (getpid (), &before);
    int64_t start = zclock_usecs ();
    int64_t until = start + (int64_t) (duration * 1e6);
    int64_t hello_at = start;
    uint64_t sent = 0, relayed = 0;
    int next = 0;
    while (zclock_usecs () < until) {
        while (sent - relayed < (uint64_t) window) {
            int sender = next++ % (2 * pairs);
            msg_sig_t signal = {s_conn (gateway, sender),
                                sender % 2 ? MSG_SIG_ANSWER : MSG_SIG_OFFER,
                                HC_STR_NULL, HC_STR_NULL, HC_STR_NULL, sdp};
            msg_enc_sig (enc, &signal);
            if (s_send (dealer, MSG_SIG, enc))
                break;
            sent++;
        }
        int recipients = s_receive (dealer, dec, 1000, NULL);
        if (recipients < 0) {
            fprintf (stderr, "rooms_feed: rooms stopped answering\n");
            break;
        }
        relayed += (uint64_t) recipients;
        if (zclock_usecs () - hello_at > 1000000) {
            msg_enc_hello (enc, &hello);
            s_send (dealer, MSG_HELLO, enc);
            hello_at = zclock_usecs ();
        }
    }
    double seconds = (double) (zclock_usecs () - start) / 1e6;
    bench_proc_sample (getpid (), &after);
    bench_proc_delta (&before, &after, &cpu);

    //  The rooms thread is the one still named as the process (the bus
    //  thread too, until the actors name theirs: it has nothing to do here)
    double rooms_s = 0;
    printf ("{\"bench\":\"rooms_feed\",\"pairs\":%d,\"payload\":%zu,"
            "\"window\":%d,\"duration_s\":%.3f,\"relayed\":%" PRIu64 ","
            "\"relayed_per_s\":%.1f,\"threads\":[", pairs, payload_size,
            window, seconds, relayed, (double) relayed / seconds);
    for (size_t i = 0; i < cpu.threads_n; i++) {
        bench_proc_thread_t *thread = &cpu.threads [i];
        double total = thread->user + thread->sys;
        if (strstr (thread->name, "rooms"))
            rooms_s += total;
        printf ("%s{\"name\":\"%s\",\"user_s\":%.3f,\"sys_s\":%.3f,"
                "\"cpu_us_per_msg\":%.3f}", i ? "," : "", thread->name,
                thread->user, thread->sys,
                relayed ? total * 1e6 / (double) relayed : 0);
    }
    double rooms_us = relayed ? rooms_s * 1e6 / (double) relayed : 0;
    printf ("],\"rooms_cpu_us_per_msg\":%.3f,\"rooms_ceiling_per_s\":%.0f}\n",
            rooms_us, rooms_us > 0 ? 1e6 / rooms_us : 0);
    fflush (stdout);
    fprintf (stderr, "rooms_feed: %d rooms, %zu B, %.0f relayed/s; rooms "
             "thread %.2f us CPU per relayed msg: ceiling %.0f msg/s on one "
             "core\n", pairs, payload_size, (double) relayed / seconds,
             rooms_us, rooms_us > 0 ? 1e6 / rooms_us : 0);

    free (payload);
    msg_enc_destroy (&enc);
    msg_dec_destroy (&dec);
    zsock_destroy (&dealer);
    zactor_destroy (&rooms);
    zactor_destroy (&bus);
    zsys_shutdown ();
    return relayed ? 0 : 1;
}
