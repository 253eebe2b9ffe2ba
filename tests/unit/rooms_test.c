/*  rooms_test.c - the rooms actor, started by its test (as zauth_test
    starts zauth) and spoken to over its pipe and its ROUTER

    A fake gateway is a DEALER with a gateway's routing id: it says HELLO,
    opens connections and sends their commands, and reads what rooms
    delivers, decoded with the codec.
*/
#include "rooms/rooms.h"
#include "common/bus.h"
#include "common/config.h"
#include "common/msg_rooms.h"

#define ROOMS "inproc://rooms-test"
#define GATEWAY 0x0000abcdU

typedef struct {
    zsock_t *dealer;            //  the fake gateway
    msg_enc_t *enc;
    msg_dec_t *dec;
    zmsg_t *pending;            //  pairs of a message not read yet
} gateway_t;

static void
s_send (gateway_t *gw, const char *verb)
{
    zsock_send (gw->dealer, "sb", verb, msg_enc_data (gw->enc),
                msg_enc_size (gw->enc));
}

//  The next [verb][body] pair rooms sent, whatever message it came in
//  (rooms may hand several over at once); NULL after 5 s
static char *
s_recv (gateway_t *gw, zframe_t **body)
{
    while (!gw->pending || zmsg_size (gw->pending) == 0) {
        zmsg_destroy (&gw->pending);
        gw->pending = zmsg_recv (gw->dealer);
        if (!gw->pending)
            return NULL;
    }
    char *verb = zmsg_popstr (gw->pending);
    *body = zmsg_pop (gw->pending);
    return verb;
}

//  The next OUT, decoded into out (valid until the next decode); its body
//  is kept in *body for the caller to destroy. WELCOMEs (rooms answers
//  every HELLO) are passed over.
static void
s_expect_out (gateway_t *gw, msg_out_t *out, zframe_t **body)
{
    char *verb;
    while ((verb = s_recv (gw, body)) && streq (verb, MSG_WELCOME)) {
        zstr_free (&verb);
        zframe_destroy (body);
    }
    assert (verb && streq (verb, MSG_OUT));
    zstr_free (&verb);
    assert (msg_dec_out (gw->dec, zframe_data (*body), zframe_size (*body),
                         out) == 0);
}

static const hc_field_t *
s_member (const msg_out_t *out, const char *key)
{
    for (size_t i = 0; i < out->fields_n; i++)
        if (hc_str_eq_cstr (out->fields [i].key, key))
            return &out->fields [i];
    return NULL;
}

static void
s_open (gateway_t *gw, uint64_t conn)
{
    msg_open_t open = {conn, HC_DIALECT_SIGNAL, HC_STR_LIT ("127.0.0.1")};
    assert (msg_enc_open (gw->enc, &open) == 0);
    s_send (gw, MSG_OPEN);
}

static void
s_sig (gateway_t *gw, uint64_t conn, msg_sig_op_t op, const char *room,
       const char *user, const char *payload)
{
    msg_sig_t sig = {conn, op, hc_str (room), hc_str (user), HC_STR_NULL,
                     payload ? hc_str (payload) : HC_STR_NULL};
    assert (msg_enc_sig (gw->enc, &sig) == 0);
    s_send (gw, MSG_SIG);
}

void
rooms_test (bool verbose)
{
    if (verbose)
        printf (" * rooms: ");
    hc_config_t cfg;
    char err [256];
    char *argv [] = {"homecall", NULL};
    assert (hc_config_load (&cfg, 1, argv, "/nonexistent/.env", err,
                            sizeof (err)) == 0);
    strcpy (cfg.actors, "rooms");
    strcpy (cfg.rooms_endpoint, ROOMS);
    strcpy (cfg.events_in_endpoint, "inproc://rooms-test-events-in");
    strcpy (cfg.events_out_endpoint, "inproc://rooms-test-events");
    cfg.observer_endpoint [0] = 0;
    cfg.log_level = HC_LOG_WARN;
    zactor_t *bus = zactor_new (hc_bus_actor, &cfg);
    zstr_send (bus, "START");
    int rc = -1;
    zsock_recv (bus, "i", &rc);
    assert (rc == 0);
    zactor_t *rooms = zactor_new (rooms_actor, &cfg);
    zstr_send (rooms, "START");
    zsock_recv (rooms, "i", &rc);
    assert (rc == 0);

    gateway_t gw = {zsock_new (ZMQ_DEALER), msg_enc_new (), msg_dec_new (),
                    NULL};
    char id [16];
    rooms_gateway_routing_id ((uint64_t) GATEWAY << 32, id);
    zsock_set_identity (gw.dealer, id);
    zsock_set_rcvtimeo (gw.dealer, 5000);
    assert (zsock_connect (gw.dealer, ROOMS) == 0);

    //  HELLO: rooms had never heard of us
    msg_hello_t hello = {GATEWAY};
    assert (msg_enc_hello (gw.enc, &hello) == 0);
    s_send (&gw, MSG_HELLO);
    zframe_t *body = NULL;
    char *verb = s_recv (&gw, &body);
    assert (verb && streq (verb, MSG_WELCOME));
    msg_welcome_t welcome;
    assert (msg_dec_welcome (gw.dec, zframe_data (body), zframe_size (body),
                             &welcome) == 0 && welcome.fresh);
    zstr_free (&verb);
    zframe_destroy (&body);

    //  A signal before joining is refused to that connection alone
    uint64_t al = (uint64_t) GATEWAY << 32 | 1, bo = al + 1;
    s_open (&gw, al);
    s_open (&gw, bo);
    s_sig (&gw, al, MSG_SIG_OFFER, "w1", NULL, "\"v=0\"");
    msg_out_t out;
    s_expect_out (&gw, &out, &body);
    assert (out.conns_n == 1 && out.conns [0] == al);
    assert (hc_str_eq_cstr (s_member (&out, "type")->str, "error"));
    assert (hc_str_eq_cstr (s_member (&out, "code")->str, "not_joined"));
    zframe_destroy (&body);

    //  Two members: an offer goes to the other, as raw JSON, from its
    //  sender's name
    s_sig (&gw, al, MSG_SIG_JOIN, "w1", "al", NULL);
    s_sig (&gw, bo, MSG_SIG_JOIN, "w1", "bo", NULL);
    s_sig (&gw, al, MSG_SIG_OFFER, "w1", NULL, "\"v=0\"");
    s_expect_out (&gw, &out, &body);
    assert (out.conns_n == 1 && out.conns [0] == bo);
    assert (hc_str_eq_cstr (s_member (&out, "type")->str, "offer"));
    assert (hc_str_eq_cstr (s_member (&out, "from")->str, "al"));
    assert (s_member (&out, "sdp")->type == HC_V_RAW
            && hc_str_eq_cstr (s_member (&out, "sdp")->str, "\"v=0\""));
    zframe_destroy (&body);

    //  A connection of another gateway's is not ours to speak for, and
    //  after CLOSE, al is gone: bo's offer waits in the room for whoever
    //  joins. Neither sends anything; once bo has left, its offer is
    //  refused, and that is the next frame.
    uint64_t stranger = (uint64_t) (GATEWAY + 1) << 32 | 1;
    s_sig (&gw, stranger, MSG_SIG_OFFER, "w1", NULL, "\"x\"");
    msg_close_t close = {al};
    assert (msg_enc_close (gw.enc, &close) == 0);
    s_send (&gw, MSG_CLOSE);
    s_sig (&gw, bo, MSG_SIG_OFFER, "w1", NULL, "\"queued\"");
    s_sig (&gw, bo, MSG_SIG_LEAVE, "w1", "bo", NULL);
    s_sig (&gw, bo, MSG_SIG_OFFER, "w1", NULL, "\"late\"");
    s_expect_out (&gw, &out, &body);
    assert (out.conns_n == 1 && out.conns [0] == bo);
    assert (hc_str_eq_cstr (s_member (&out, "code")->str, "not_joined"));
    zframe_destroy (&body);

    //  BYE: rooms forgets the gateway; a HELLO later is a fresh start
    assert (msg_enc_hello (gw.enc, &hello) == 0);
    s_send (&gw, MSG_BYE);
    s_send (&gw, MSG_HELLO);
    zmsg_destroy (&gw.pending);     //  what came before BYE
    verb = s_recv (&gw, &body);
    assert (verb && streq (verb, MSG_WELCOME));
    assert (msg_dec_welcome (gw.dec, zframe_data (body), zframe_size (body),
                             &welcome) == 0 && welcome.fresh);
    zstr_free (&verb);
    zframe_destroy (&body);

    zmsg_destroy (&gw.pending);
    msg_enc_destroy (&gw.enc);
    msg_dec_destroy (&gw.dec);
    zsock_destroy (&gw.dealer);
    zactor_destroy (&rooms);
    zactor_destroy (&bus);
    if (verbose)
        printf ("OK\n");
}
