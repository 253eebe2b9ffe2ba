/*  sig_rooms_test.c - every rule of docs/signal.md that rooms owns

    Frames are compared as the exact JSON text a client would receive.
*/
#include "rooms/sig_rooms.h"
#include "common/sig_errors.h"
#include "test_sink.h"

static sig_rooms_t *s_rooms;
static test_sink_t *s_sink;
static int64_t s_now;

static void
s_cmd (uint64_t conn, msg_sig_op_t op, const char *room, const char *user,
       const char *to, const char *payload)
{
    msg_sig_t cmd = {conn, op, hc_str (room), hc_str (user), hc_str (to),
                     hc_str (payload)};
    sig_rooms_command (s_rooms, &cmd, s_now);
}

static void
s_join (uint64_t conn, const char *room, const char *user)
{
    s_cmd (conn, MSG_SIG_JOIN, room, user, NULL, NULL);
}

static void
s_offer (uint64_t conn, const char *room, const char *sdp)
{
    s_cmd (conn, MSG_SIG_OFFER, room, NULL, NULL, sdp);
}

static void
s_setup (bool verbose, size_t max_members, size_t max_rooms, size_t frames,
         size_t bytes, size_t total)
{
    s_sink = test_sink_new (verbose);
    sig_rooms_cfg_t cfg = {max_members, max_rooms, frames, bytes, total, 1000};
    s_rooms = sig_rooms_new (&cfg, &s_sink->sink);
    s_now = 1000000;
}

static void
s_teardown (void)
{
    test_sink_expect_nothing (s_sink);
    sig_rooms_destroy (&s_rooms);
    test_sink_destroy (&s_sink);
}

#define ERROR_FRAME(text, code)                                               \
    "{\"type\":\"error\",\"message\":\"" text "\",\"code\":\"" code "\"}"

//  Join is silent; a relay goes to the other member only, shaped exactly
static void
s_test_relay (bool verbose)
{
    s_setup (verbose, 16, 100, 64, 65536, 1 << 20);
    s_join (1, "w1", "alice");
    s_join (2, "w1", "bob");
    test_sink_expect_nothing (s_sink);
    assert (test_sink_logged (s_sink, "room.join", "room=w1", "user=bob", NULL)
            == 1);

    s_offer (1, "w1", "\"v=0\"");
    test_sink_expect (s_sink, 2,
                      "{\"type\":\"offer\",\"room\":\"w1\",\"from\":\"alice\","
                      "\"sdp\":\"v=0\"}");
    test_sink_expect_nothing (s_sink);      //  no echo to the sender
    s_cmd (2, MSG_SIG_ANSWER, "w1", NULL, NULL, "\"v=0 B\"");
    test_sink_expect (s_sink, 1,
                      "{\"type\":\"answer\",\"room\":\"w1\",\"from\":\"bob\","
                      "\"sdp\":\"v=0 B\"}");
    s_cmd (2, MSG_SIG_CANDIDATE, NULL, NULL, NULL,
           "{\"candidate\":\"candidate:2\",\"sdpMid\":\"0\"}");
    test_sink_expect (s_sink, 1,
                      "{\"type\":\"candidate\",\"room\":\"w1\",\"from\":\"bob\","
                      "\"candidate\":{\"candidate\":\"candidate:2\","
                      "\"sdpMid\":\"0\"}}");
    //  Logged with type, room, from and size, never the payload
    assert (test_sink_logged (s_sink, "relay.forwarded", "type=offer",
                              "room=w1", "from=alice", "size=5",
                              "recipients=1", NULL) == 1);
    assert (test_sink_logged (s_sink, "v=0", NULL) == 0);
    s_teardown ();
}

//  Without "to" every other member receives; with "to" only that one
static void
s_test_addressing (bool verbose)
{
    s_setup (verbose, 16, 100, 64, 65536, 1 << 20);
    s_join (1, "r", "a");
    s_join (2, "r", "b");
    s_join (3, "r", "c");
    s_offer (1, "r", "\"x\"");
    test_sink_expect (s_sink, 2, "{\"type\":\"offer\",\"room\":\"r\",\"from\":"
                                 "\"a\",\"sdp\":\"x\"}");
    test_sink_expect (s_sink, 3, "{\"type\":\"offer\",\"room\":\"r\",\"from\":"
                                 "\"a\",\"sdp\":\"x\"}");
    s_cmd (1, MSG_SIG_OFFER, "r", NULL, "c", "\"y\"");
    test_sink_expect (s_sink, 3, "{\"type\":\"offer\",\"room\":\"r\",\"from\":"
                                 "\"a\",\"sdp\":\"y\"}");
    test_sink_expect_nothing (s_sink);
    //  Addressed to someone absent: queued for them, delivered on arrival,
    //  and not to anyone else who joins first
    s_cmd (1, MSG_SIG_OFFER, "r", NULL, "dave", "\"z\"");
    test_sink_expect_nothing (s_sink);
    assert (sig_rooms_queued_frames (s_rooms) == 1);
    s_join (4, "r", "erin");
    test_sink_expect_nothing (s_sink);
    s_join (5, "r", "dave");
    test_sink_expect (s_sink, 5, "{\"type\":\"offer\",\"room\":\"r\",\"from\":"
                                 "\"a\",\"sdp\":\"z\"}");
    assert (sig_rooms_queued_frames (s_rooms) == 0);
    s_teardown ();
}

//  Membership decides room and from; other rooms are refused
static void
s_test_membership (bool verbose)
{
    s_setup (verbose, 16, 100, 64, 65536, 1 << 20);
    s_offer (1, "w1", "\"x\"");
    test_sink_expect (s_sink, 1, ERROR_FRAME (SIG_T_NOT_JOINED,
                                              SIG_E_NOT_JOINED));
    s_join (1, "w1", "alice");
    s_join (2, "w1", "bob");
    s_join (3, "w2", "mallory");
    s_offer (3, "w1", "\"spoof\"");
    test_sink_expect (s_sink, 3, ERROR_FRAME (SIG_T_OTHER_ROOM,
                                              SIG_E_NOT_JOINED));
    test_sink_expect_nothing (s_sink);
    //  A leave only ever removes the sender, and only when it matches
    s_cmd (3, MSG_SIG_LEAVE, "w1", "bob", NULL, NULL);
    test_sink_expect (s_sink, 3, ERROR_FRAME (SIG_T_OTHER_ROOM,
                                              SIG_E_NOT_JOINED));
    s_cmd (3, MSG_SIG_LEAVE, "w2", "bob", NULL, NULL);
    test_sink_expect (s_sink, 3, ERROR_FRAME (SIG_T_OTHER_ROOM,
                                              SIG_E_NOT_JOINED));
    assert (sig_rooms_member_count (s_rooms) == 3);
    s_offer (1, NULL, "\"still\"");
    test_sink_expect (s_sink, 2, "{\"type\":\"offer\",\"room\":\"w1\",\"from\":"
                                 "\"alice\",\"sdp\":\"still\"}");
    //  Leave is silent, and silent again when already out
    s_cmd (3, MSG_SIG_LEAVE, "w2", "mallory", NULL, NULL);
    s_cmd (3, MSG_SIG_LEAVE, NULL, NULL, NULL, NULL);
    s_cmd (3, MSG_SIG_LEAVE, "w2", "mallory", NULL, NULL);
    test_sink_expect_nothing (s_sink);
    assert (sig_rooms_member_count (s_rooms) == 2);
    assert (sig_rooms_room_count (s_rooms) == 1);
    s_offer (3, "w2", "\"x\"");
    test_sink_expect (s_sink, 3, ERROR_FRAME (SIG_T_NOT_JOINED,
                                              SIG_E_NOT_JOINED));
    //  Joining elsewhere leaves the old room first
    s_join (2, "w3", "bob");
    s_offer (1, "w1", "\"alone\"");
    test_sink_expect_nothing (s_sink);
    assert (sig_rooms_queued_frames (s_rooms) == 1);
    s_join (2, "w3", "bob");                //  a repeated join changes nothing
    test_sink_expect_nothing (s_sink);
    s_teardown ();
}

//  The queue: order, who receives, departed senders, bounds, expiry
static void
s_test_queue (bool verbose)
{
    s_setup (verbose, 16, 100, 3, 40, 1 << 20);
    s_join (1, "w1", "alice");
    s_offer (1, "w1", "\"o\"");
    s_cmd (1, MSG_SIG_CANDIDATE, "w1", NULL, NULL, "{\"c\":1}");
    s_cmd (1, MSG_SIG_CANDIDATE, "w1", NULL, NULL, "{\"c\":2}");
    test_sink_expect_nothing (s_sink);
    assert (test_sink_logged (s_sink, "relay.queued", "room=w1", NULL) == 3);
    //  Over the frame bound: the newest is dropped, so the offer survives
    s_cmd (1, MSG_SIG_CANDIDATE, "w1", NULL, NULL, "{\"c\":3}");
    assert (test_sink_logged (s_sink, "relay.dropped", "type=candidate",
                              "reason=room_queue_frames", NULL) == 1);
    assert (sig_rooms_queued_frames (s_rooms) == 3);
    //  The sender itself, under the same name elsewhere, gets nothing
    s_join (9, "w1", "alice");              //  takeover drops alice's frames
    test_sink_expect (s_sink, 1, ERROR_FRAME (SIG_T_REPLACED, SIG_E_REPLACED));
    assert (sig_rooms_queued_frames (s_rooms) == 0);
    assert (test_sink_logged (s_sink, "relay.dropped", "reason=replaced", NULL)
            == 3);
    //  Queue again, then the peer arrives: everything at once, in order
    s_offer (9, "w1", "\"o2\"");
    s_cmd (9, MSG_SIG_CANDIDATE, "w1", NULL, NULL, "{\"c\":1}");
    s_join (2, "w1", "bob");
    test_sink_expect (s_sink, 2, "{\"type\":\"offer\",\"room\":\"w1\",\"from\":"
                                 "\"alice\",\"sdp\":\"o2\"}");
    test_sink_expect (s_sink, 2, "{\"type\":\"candidate\",\"room\":\"w1\","
                                 "\"from\":\"alice\",\"candidate\":{\"c\":1}}");
    assert (test_sink_logged (s_sink, "relay.delivered", "from=alice", NULL)
            == 2);
    assert (sig_rooms_queued_frames (s_rooms) == 0);
    //  Delivered frames are gone: a third member gets nothing
    s_join (3, "w1", "carol");
    test_sink_expect_nothing (s_sink);
    //  Byte bound
    s_join (4, "w2", "dan");
    s_offer (4, "w2", "\"0123456789012345678901234567890123456789\"");
    assert (test_sink_logged (s_sink, "relay.dropped",
                              "reason=room_queue_bytes", NULL) == 1);
    //  A departed sender's frames are dropped, on leave and on close
    s_offer (4, "w2", "\"short\"");
    assert (sig_rooms_queued_frames (s_rooms) == 1);
    s_cmd (4, MSG_SIG_LEAVE, NULL, NULL, NULL, NULL);
    assert (sig_rooms_queued_frames (s_rooms) == 0);
    assert (test_sink_logged (s_sink, "relay.dropped", "room=w2",
                              "reason=leave", NULL) == 1);
    assert (sig_rooms_room_count (s_rooms) == 1);   //  w2 is gone
    s_join (5, "w4", "eve");
    s_offer (5, "w4", "\"e\"");
    sig_rooms_close (s_rooms, 5, s_now);
    assert (sig_rooms_queued_frames (s_rooms) == 0);
    assert (test_sink_logged (s_sink, "relay.dropped", "room=w4",
                              "reason=disconnect", NULL) == 1);
    s_teardown ();
}

static void
s_test_expiry (bool verbose)
{
    s_setup (verbose, 16, 100, 64, 65536, 1 << 20);
    assert (sig_rooms_next_deadline (s_rooms) == -1);
    s_join (1, "w1", "alice");
    s_offer (1, "w1", "\"o\"");
    assert (sig_rooms_next_deadline (s_rooms) == s_now + 1000);
    s_now += 500;
    s_cmd (1, MSG_SIG_CANDIDATE, "w1", NULL, NULL, "\"c\"");
    sig_rooms_expire (s_rooms, s_now + 499);     //  1 ms before the offer
    assert (sig_rooms_queued_frames (s_rooms) == 2);
    s_now += 600;                           //  the offer is 1100 ms old
    sig_rooms_expire (s_rooms, s_now);
    assert (sig_rooms_queued_frames (s_rooms) == 1);
    assert (test_sink_logged (s_sink, "relay.expired", "type=offer", NULL)
            == 1);
    //  An expired frame is never delivered, even before the sweep runs
    s_now += 1000;
    s_join (2, "w1", "bob");
    test_sink_expect_nothing (s_sink);
    assert (sig_rooms_queued_frames (s_rooms) == 0);
    assert (test_sink_logged (s_sink, "relay.expired", "type=candidate", NULL)
            == 1);
    //  A room with only expired frames goes away with them
    s_join (3, "w2", "carl");
    s_offer (3, "w2", "\"o\"");
    sig_rooms_close (s_rooms, 3, s_now);
    assert (sig_rooms_room_count (s_rooms) == 1);
    s_teardown ();
}

//  Bounds on room size and room count; takeover keeps the place in order
static void
s_test_bounds (bool verbose)
{
    s_setup (verbose, 2, 2, 64, 65536, 10);
    s_join (1, "r1", "a");
    s_join (2, "r1", "b");
    s_join (3, "r1", "c");
    test_sink_expect (s_sink, 3, ERROR_FRAME (SIG_T_ROOM_FULL,
                                              SIG_E_ROOM_FULL));
    //  A takeover of a name in a full room is allowed
    s_join (4, "r1", "a");
    test_sink_expect (s_sink, 1, ERROR_FRAME (SIG_T_REPLACED, SIG_E_REPLACED));
    s_offer (1, "r1", "\"gone\"");
    test_sink_expect (s_sink, 1, ERROR_FRAME (SIG_T_NOT_JOINED,
                                              SIG_E_NOT_JOINED));
    s_offer (2, "r1", "\"to a\"");
    test_sink_expect (s_sink, 4, "{\"type\":\"offer\",\"room\":\"r1\",\"from\":"
                                 "\"b\",\"sdp\":\"to a\"}");
    //  Closing the replaced connection does not disturb the new holder
    sig_rooms_close (s_rooms, 1, s_now);
    s_offer (2, "r1", "\"again\"");
    test_sink_expect (s_sink, 4, "{\"type\":\"offer\",\"room\":\"r1\",\"from\":"
                                 "\"b\",\"sdp\":\"again\"}");
    s_join (5, "r2", "x");
    s_join (6, "r3", "y");
    test_sink_expect (s_sink, 6, ERROR_FRAME (SIG_T_TOO_MANY_ROOMS,
                                              SIG_E_TOO_MANY_ROOMS));
    //  Total queue bytes across rooms
    s_offer (5, "r2", "\"12345678\"");      //  10 bytes payload + 1 from: 11
    assert (test_sink_logged (s_sink, "relay.dropped",
                              "reason=total_queue_bytes", NULL) == 1);
    //  Moving alone from one room to a new one works at the room limit
    s_join (5, "r9", "x");
    test_sink_expect_nothing (s_sink);
    assert (sig_rooms_room_count (s_rooms) == 2);
    s_teardown ();
}

//  Re-joining the same room under a new name on the same connection
static void
s_test_rename (bool verbose)
{
    s_setup (verbose, 16, 100, 64, 65536, 1 << 20);
    s_join (1, "w1", "x");
    s_join (1, "w1", "y");
    s_join (2, "w1", "z");
    s_offer (2, "w1", "\"hi\"");
    test_sink_expect (s_sink, 1, "{\"type\":\"offer\",\"room\":\"w1\",\"from\":"
                                 "\"z\",\"sdp\":\"hi\"}");
    test_sink_expect_nothing (s_sink);      //  no stale entry for "x"
    assert (sig_rooms_member_count (s_rooms) == 2);
    s_teardown ();
}

void
sig_rooms_test (bool verbose)
{
    if (verbose)
        printf (" * sig_rooms: ");
    s_test_relay (verbose);
    s_test_addressing (verbose);
    s_test_membership (verbose);
    s_test_queue (verbose);
    s_test_expiry (verbose);
    s_test_bounds (verbose);
    s_test_rename (verbose);
    if (verbose)
        printf ("OK\n");
}
