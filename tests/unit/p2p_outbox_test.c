/*  p2p_outbox_test.c - where p2p frames go: the active record, else every
    device; idle devices for cancel; errors with a bounded echo

    Frames out are compared as the exact JSON text a client would receive.
*/
#include "rooms/p2p_outbox.h"
#include "test_sink.h"

#define s_out(conn, json) test_sink_expect (sink, (conn), (json))

void
p2p_outbox_test (bool verbose)
{
    test_sink_t *sink = test_sink_new (verbose);
    p2p_calls_cfg_t cfg = {.max_devices = 2};
    p2p_outbox_t *out = p2p_outbox_new (&cfg, &sink->sink);
    p2p_users_t users;
    p2p_users_init (&users);
    p2p_user_t *bob = p2p_user_add (&users, HC_STR_LIT ("bob"));
    p2p_record_t *phone = p2p_record_add (&users, bob, 11);
    p2p_record_t *laptop = p2p_record_add (&users, bob, 12);
    p2p_record_add (&users, bob, 13);   //  past max_devices: not rung
    p2p_frame_t frame;
    p2p_frame_init (&frame, "call");

    //  Nobody active: every device (up to the bound) rings
    p2p_outbox_user (out, bob, &frame);
    s_out (11, "{\"type\":\"call\"}");
    s_out (12, "{\"type\":\"call\"}");
    //  An active record takes it alone; cancel goes to the idle ones
    laptop->status = P2P_RINGING;
    p2p_outbox_user (out, bob, &frame);
    s_out (12, "{\"type\":\"call\"}");
    p2p_outbox_cancel (out, bob);
    s_out (11, "{\"type\":\"cancel\"}");
    s_out (13, "{\"type\":\"cancel\"}");
    //  Detached (in its reconnect grace): nothing goes, a debug record says so
    p2p_record_detach (&users, laptop, 5000);
    p2p_outbox_user (out, bob, &frame);
    test_sink_expect_nothing (sink);
    assert (test_sink_logged (sink, "p2p.undelivered", "user=bob", NULL) == 1);

    //  Stream ids of a record, by kind
    p2p_text_set (&phone->streams [0].kind, HC_STR_LIT ("audio"));
    p2p_text_set (&phone->streams [0].id, HC_STR_LIT ("\"s1\""));
    phone->streams_n = 1;
    p2p_record_move (&users, laptop, 12);
    p2p_outbox_streams (out, bob, phone);
    s_out (12, "{\"type\":\"remoteStreamsId\",\"streamIds\":{\"audio\":"
               "\"s1\"}}");

    //  An error echoes what was sent, but no value over 1 KiB
    char big [1100];
    memset (big, 'x', sizeof (big) - 1);
    big [sizeof (big) - 1] = 0;
    hc_field_t context [] = {hc_field_raw ("userId", HC_STR_LIT ("\"bob\"")),
                             hc_field_str ("blob", hc_str (big))};
    p2p_outbox_error (out, 99, "Nope", "OFFER", context, 2);
    s_out (99, "{\"type\":\"error\",\"message\":\"Nope\",\"handler\":"
               "\"OFFER\",\"context\":{\"userId\":\"bob\"}}");
    assert (test_sink_logged (sink, "p2p.error", "handler=OFFER", NULL) == 1);
    msg_p2p_t cmd = {.conn = 98, .payload = context, .payload_n = 1};
    p2p_outbox_error_echo (out, &cmd, "Again", "ANSWER");
    s_out (98, "{\"type\":\"error\",\"message\":\"Again\",\"handler\":"
               "\"ANSWER\",\"context\":{\"userId\":\"bob\"}}");

    test_sink_expect_nothing (sink);
    p2p_users_clear (&users);
    p2p_outbox_destroy (&out);
    p2p_outbox_destroy (&out);
    test_sink_destroy (&sink);
}
