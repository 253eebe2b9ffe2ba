/*  msg_rooms.c - the messages between gateways and rooms, one key table
    per kind: adding a field is one line here and one in the struct */
#include "msg_rooms.h"

#include <assert.h>
#include <czmq.h>

#define KEY(st, k, vtype, req, member, ...)                                \
    {.key = (k), .type = (vtype), .required = (req),                       \
     .offset = offsetof (st, member), __VA_ARGS__}
#define COUNT(st, member) .count_offset = offsetof (st, member)

static const msg_key_t s_open [] = {
    KEY (msg_open_t, "c", MSG_U64, true, conn),
    KEY (msg_open_t, "d", MSG_ENUM, true, dialect, .max = HC_DIALECT_P2P),
    KEY (msg_open_t, "p", MSG_STR, true, peer, .max = 256),
};

static const msg_key_t s_close [] = {
    KEY (msg_close_t, "c", MSG_U64, true, conn),
};

static const msg_key_t s_hello [] = {
    KEY (msg_hello_t, "g", MSG_U32, true, gateway),
};

static const msg_key_t s_welcome [] = {
    KEY (msg_welcome_t, "e", MSG_U64, true, epoch),
    KEY (msg_welcome_t, "f", MSG_BOOL, true, fresh),
    KEY (msg_welcome_t, "sr", MSG_U64, true, stats.rooms),
    KEY (msg_welcome_t, "sm", MSG_U64, true, stats.members),
    KEY (msg_welcome_t, "sq", MSG_U64, true, stats.queued_frames),
    KEY (msg_welcome_t, "sb", MSG_U64, true, stats.queued_bytes),
    KEY (msg_welcome_t, "su", MSG_U64, true, stats.p2p_users),
    KEY (msg_welcome_t, "sl", MSG_U64, true, stats.p2p_linked),
    KEY (msg_welcome_t, "sw", MSG_U64, true, stats.p2p_waiting),
    KEY (msg_welcome_t, "sg", MSG_U64, true, stats.p2p_grace),
};

static const msg_key_t s_sig [] = {
    KEY (msg_sig_t, "c", MSG_U64, true, conn),
    KEY (msg_sig_t, "o", MSG_ENUM, true, op, .max = MSG_SIG_OP_COUNT - 1),
    KEY (msg_sig_t, "r", MSG_STR, false, room),
    KEY (msg_sig_t, "u", MSG_STR, false, user),
    KEY (msg_sig_t, "t", MSG_STR, false, to),
    KEY (msg_sig_t, "x", MSG_BIN, false, payload),
};

//  Raw JSON values are never "": the gateway sends only what it read
static const msg_key_t s_p2p [] = {
    KEY (msg_p2p_t, "c", MSG_U64, true, conn),
    KEY (msg_p2p_t, "r", MSG_ENUM, true, route,
         .max = MSG_P2P_ROUTE_COUNT - 1),
    KEY (msg_p2p_t, "uk", MSG_STR, false, user_key, .max = MSG_MAX_KEY),
    KEY (msg_p2p_t, "ur", MSG_BIN, false, user_raw, .nonempty = true),
    KEY (msg_p2p_t, "n", MSG_BIN, false, name, .nonempty = true),
    KEY (msg_p2p_t, "ph", MSG_BIN, false, photo, .nonempty = true),
    KEY (msg_p2p_t, "dv", MSG_BIN, false, device, .nonempty = true),
    KEY (msg_p2p_t, "an", MSG_BIN, false, answer, .nonempty = true),
    KEY (msg_p2p_t, "ic", MSG_BIN, false, ice_params, .nonempty = true),
    KEY (msg_p2p_t, "k", MSG_STR, false, kind, .max = MSG_MAX_KEY),
    KEY (msg_p2p_t, "si", MSG_BIN, false, stream_id, .nonempty = true),
    KEY (msg_p2p_t, "iu", MSG_TRUE, false, is_update),
    KEY (msg_p2p_t, "cs", MSG_IDS, false, callees,
         COUNT (msg_p2p_t, callees_n)),
    KEY (msg_p2p_t, "pl", MSG_FIELDS, false, payload,
         COUNT (msg_p2p_t, payload_n), .members = MSG_FLAT_RAW),
};

static const msg_key_t s_out [] = {
    KEY (msg_out_t, "c", MSG_CONNS, true, conns, COUNT (msg_out_t, conns_n)),
    KEY (msg_out_t, "f", MSG_FIELDS, true, fields,
         COUNT (msg_out_t, fields_n)),
};

//  A reason is what fits in a close frame
static const msg_key_t s_kick [] = {
    KEY (msg_kick_t, "c", MSG_U64, true, conn),
    KEY (msg_kick_t, "k", MSG_U16, true, code),
    KEY (msg_kick_t, "r", MSG_STR, true, reason, .max = 123),
};

#define KIND(name, keys, st) \
    {(name), (keys), MSG_KEYS_N (keys), sizeof (st), NULL}

//  A join names the room and the user; a relay carries its payload
static const char *
s_sig_check (const void *m)
{
    const msg_sig_t *sig = (const msg_sig_t *) m;
    if (sig->op == MSG_SIG_JOIN
    &&  (!hc_str_present (sig->room) || !hc_str_present (sig->user)))
        return "a join without room or user";
    if (sig->op >= MSG_SIG_OFFER && !hc_str_present (sig->payload))
        return "a relay without payload";
    return NULL;
}

const msg_kind_t msg_open_kind = KIND (MSG_OPEN, s_open, msg_open_t);
const msg_kind_t msg_close_kind = KIND (MSG_CLOSE, s_close, msg_close_t);
const msg_kind_t msg_hello_kind = KIND (MSG_HELLO, s_hello, msg_hello_t);
const msg_kind_t msg_welcome_kind = KIND (MSG_WELCOME, s_welcome,
                                          msg_welcome_t);
const msg_kind_t msg_sig_kind = {MSG_SIG, s_sig, MSG_KEYS_N (s_sig),
                                  sizeof (msg_sig_t), s_sig_check};
const msg_kind_t msg_p2p_kind = KIND (MSG_P2P, s_p2p, msg_p2p_t);
const msg_kind_t msg_out_kind = KIND (MSG_OUT, s_out, msg_out_t);
const msg_kind_t msg_kick_kind = KIND (MSG_KICK, s_kick, msg_kick_t);

const char *
msg_sig_op_name (msg_sig_op_t op)
{
    static const char *names [] = {"join", "leave", "offer", "answer",
                                   "candidate"};
    return op < MSG_SIG_OP_COUNT ? names [op] : "?";
}

const char *
msg_p2p_route_name (msg_p2p_route_t route)
{
    static const char *names [] = {
        "ADD_USER", "RECONNECT", "OFFER", "ANSWER", "DECLINE", "ADD_ICE",
        "SWAP_ICE", "SET_REMOTE_STREAM_ID", "UPDATE_OFFER", "UPDATE_ANSWER",
        "MEDIA_UPDATE"};
    return route < MSG_P2P_ROUTE_COUNT ? names [route] : "?";
}

//  ---------------------------------------------------------------------
//  Self test: a round trip for every kind; what a table refuses

void
msg_rooms_test (bool verbose)
{
    if (verbose)
        printf (" * msg_rooms: ");
    msg_enc_t *enc = msg_enc_new ();
    msg_dec_t *dec = msg_dec_new ();
    assert (enc && dec);

    //  OPEN
    msg_open_t open = {0x1234567800000001ULL, HC_DIALECT_P2P,
                       HC_STR_LIT ("127.0.0.1")};
    assert (msg_enc_open (enc, &open) == 0);
    msg_open_t open2;
    assert (msg_dec_open (dec, msg_enc_data (enc), msg_enc_size (enc), &open2)
            == 0);
    assert (open2.conn == open.conn && open2.dialect == open.dialect);
    assert (hc_str_eq (open2.peer, open.peer));

    //  CLOSE
    msg_close_t close = {42};
    assert (msg_enc_close (enc, &close) == 0);
    msg_close_t close2;
    assert (msg_dec_close (dec, msg_enc_data (enc), msg_enc_size (enc),
                           &close2) == 0);
    assert (close2.conn == 42);
    //  A message of one kind is not accepted as another
    assert (msg_dec_open (dec, msg_enc_data (enc), msg_enc_size (enc),
                          &open2) == -1);
    assert (streq (msg_dec_error (dec), "required key missing"));

    //  SIG, all members and the minimal form
    msg_sig_t sig = {7, MSG_SIG_OFFER, HC_STR_LIT ("w1"), HC_STR_LIT ("al"),
                     HC_STR_LIT ("bo"), HC_STR_LIT ("\"v=0\\r\\n\"")};
    assert (msg_enc_sig (enc, &sig) == 0);
    msg_sig_t sig2;
    assert (msg_dec_sig (dec, msg_enc_data (enc), msg_enc_size (enc), &sig2)
            == 0);
    assert (sig2.conn == 7 && sig2.op == MSG_SIG_OFFER);
    assert (hc_str_eq (sig2.room, sig.room) && hc_str_eq (sig2.user, sig.user));
    assert (hc_str_eq (sig2.to, sig.to));
    assert (hc_str_eq (sig2.payload, sig.payload));
    msg_sig_t leave = {8, MSG_SIG_LEAVE, HC_STR_NULL, HC_STR_LIT (""),
                       HC_STR_NULL, HC_STR_NULL};
    assert (msg_enc_sig (enc, &leave) == 0);
    assert (msg_dec_sig (dec, msg_enc_data (enc), msg_enc_size (enc), &sig2)
            == 0);
    assert (sig2.op == MSG_SIG_LEAVE && !hc_str_present (sig2.room));
    assert (hc_str_present (sig2.user) && sig2.user.len == 0);
    assert (!hc_str_present (sig2.to) && !hc_str_present (sig2.payload));
    msg_sig_t bad_op = sig;
    bad_op.op = MSG_SIG_OP_COUNT;
    assert (msg_enc_sig (enc, &bad_op) == -1);
    //  What an operation needs is checked both ways
    msg_sig_t bare = {9, MSG_SIG_JOIN, HC_STR_LIT ("w1"), HC_STR_NULL,
                      HC_STR_NULL, HC_STR_NULL};
    assert (msg_enc_sig (enc, &bare) == -1);
    bare.op = MSG_SIG_ANSWER;
    assert (msg_enc_sig (enc, &bare) == -1);
    bare.op = MSG_SIG_LEAVE;
    assert (msg_enc_sig (enc, &bare) == 0);
    //  ...a body that a careless peer built: the decoder refuses it
    bare.op = MSG_SIG_JOIN;
    msg_kind_t lax = msg_sig_kind;
    lax.check = NULL;
    assert (msg_encode (enc, &lax, &bare) == 0);
    assert (msg_dec_sig (dec, msg_enc_data (enc), msg_enc_size (enc), &sig2)
            == -1);
    assert (streq (msg_dec_error (dec), "a join without room or user"));

    //  OUT, nested, and to nobody
    hc_field_t inner [] = {hc_field_raw ("audio", HC_STR_LIT ("\"sA\""))};
    hc_field_t fields [] = {hc_field_str ("type", HC_STR_LIT ("call")),
                            hc_field_obj ("streamIds", inner, 1)};
    uint64_t conns [] = {1, 2, UINT64_MAX};
    msg_out_t out = {conns, 3, fields, 2};
    assert (msg_enc_out (enc, &out) == 0);
    msg_out_t out2;
    assert (msg_dec_out (dec, msg_enc_data (enc), msg_enc_size (enc), &out2)
            == 0);
    assert (out2.conns_n == 3 && out2.conns [2] == UINT64_MAX);
    assert (out2.fields_n == 2 && out2.fields [1].obj_n == 1);
    assert (hc_str_eq (out2.fields [1].obj [0].str, inner [0].str));
    msg_out_t nobody = {conns, 0, fields, 2};
    assert (msg_enc_out (enc, &nobody) == -1);

    //  P2P, every member, then the minimal form
    hc_str_t callees [] = {HC_STR_LIT ("carol"), HC_STR_LIT ("101")};
    hc_field_t payload [] = {
        hc_field_raw ("offer", HC_STR_LIT ("{\"type\":\"offer\",\"sdp\":\"X\"}")),
        hc_field_raw ("isVideo", HC_STR_LIT ("true")),
    };
    msg_p2p_t p2p = {
        .conn = 77, .route = MSG_P2P_OFFER,
        .user_key = HC_STR_LIT ("101"), .user_raw = HC_STR_LIT ("101"),
        .name = HC_STR_LIT ("\"Al\""), .photo = HC_STR_LIT ("null"),
        .device = HC_STR_LIT ("\"web\""), .answer = HC_STR_LIT ("{}"),
        .ice_params = HC_STR_LIT ("[]"), .kind = HC_STR_LIT ("audio"),
        .stream_id = HC_STR_LIT ("\"s1\""), .is_update = true,
        .callees = callees, .callees_n = 2,
        .payload = payload, .payload_n = 2};
    assert (msg_enc_p2p (enc, &p2p) == 0);
    msg_p2p_t p2p2;
    assert (msg_dec_p2p (dec, msg_enc_data (enc), msg_enc_size (enc), &p2p2)
            == 0);
    assert (p2p2.conn == 77 && p2p2.route == MSG_P2P_OFFER && p2p2.is_update);
    hc_str_t *a [] = {&p2p.user_key, &p2p.user_raw, &p2p.name, &p2p.photo,
                      &p2p.device, &p2p.answer, &p2p.ice_params, &p2p.kind,
                      &p2p.stream_id};
    hc_str_t *b [] = {&p2p2.user_key, &p2p2.user_raw, &p2p2.name, &p2p2.photo,
                      &p2p2.device, &p2p2.answer, &p2p2.ice_params, &p2p2.kind,
                      &p2p2.stream_id};
    for (size_t i = 0; i < 9; i++)
        assert (hc_str_eq (*a [i], *b [i]));
    assert (p2p2.callees_n == 2 && hc_str_eq (p2p2.callees [1], callees [1]));
    assert (p2p2.payload_n == 2 && p2p2.payload [1].type == HC_V_RAW
            && hc_str_eq (p2p2.payload [1].str, payload [1].str));
    msg_p2p_t decline = {.conn = 78, .route = MSG_P2P_DECLINE};
    assert (msg_enc_p2p (enc, &decline) == 0);
    assert (msg_dec_p2p (dec, msg_enc_data (enc), msg_enc_size (enc), &p2p2)
            == 0);
    assert (p2p2.route == MSG_P2P_DECLINE && !hc_str_present (p2p2.user_key));
    assert (!p2p2.callees && p2p2.payload_n == 0 && !p2p2.is_update);
    //  What the decoder would refuse is not sent: a payload member that is
    //  not raw JSON, an empty raw value, an id too long
    hc_field_t not_raw [] = {hc_field_str ("x", HC_STR_LIT ("y"))};
    decline.payload = not_raw;
    decline.payload_n = 1;
    assert (msg_enc_p2p (enc, &decline) == -1);
    msg_p2p_t empty = {.conn = 79, .route = MSG_P2P_ADD_USER,
                       .name = HC_STR_LIT ("")};
    assert (msg_enc_p2p (enc, &empty) == -1);
    char long_id [MSG_MAX_KEY + 2];
    memset (long_id, 'x', sizeof (long_id));
    hc_str_t too_long [] = {{long_id, sizeof (long_id)}};
    msg_p2p_t offer = {.conn = 80, .route = MSG_P2P_OFFER,
                       .callees = too_long, .callees_n = 1};
    assert (msg_enc_p2p (enc, &offer) == -1);
    assert (strcmp (msg_p2p_route_name (MSG_P2P_SET_REMOTE_STREAM_ID),
                    "SET_REMOTE_STREAM_ID") == 0);

    //  KICK
    msg_kick_t kick = {9, 1000, HC_STR_LIT ("No ping received")};
    assert (msg_enc_kick (enc, &kick) == 0);
    msg_kick_t kick2;
    assert (msg_dec_kick (dec, msg_enc_data (enc), msg_enc_size (enc), &kick2)
            == 0);
    assert (kick2.conn == 9 && kick2.code == 1000);
    assert (hc_str_eq (kick2.reason, kick.reason));
    char reason [124];
    memset (reason, 'r', sizeof (reason));
    kick.reason = (hc_str_t){reason, sizeof (reason)};
    assert (msg_enc_kick (enc, &kick) == -1);

    //  HELLO (and BYE) and WELCOME
    msg_hello_t hello = {0xdeadbeef}, hello2;
    assert (msg_enc_hello (enc, &hello) == 0);
    assert (msg_dec_hello (dec, msg_enc_data (enc), msg_enc_size (enc),
                           &hello2) == 0);
    assert (hello2.gateway == 0xdeadbeef);
    msg_welcome_t welcome = {UINT64_MAX - 1, true,
                             {1, 2, 3, 4, 5, 6, 7, UINT64_MAX}}, welcome2;
    assert (msg_enc_welcome (enc, &welcome) == 0);
    assert (msg_dec_welcome (dec, msg_enc_data (enc), msg_enc_size (enc),
                             &welcome2) == 0);
    assert (welcome2.epoch == UINT64_MAX - 1 && welcome2.fresh);
    assert (memcmp (&welcome2.stats, &welcome.stats, sizeof (welcome.stats))
            == 0);
    //  A gateway number beyond 32 bits is refused
    msg_close_t wide = {(uint64_t) UINT32_MAX + 1};
    msg_enc_close (enc, &wide);
    char body [32];
    memcpy (body, msg_enc_data (enc), msg_enc_size (enc));
    assert (body [2] == 'c');
    body [2] = 'g';                 //  {"c":N} becomes {"g":N}
    assert (msg_dec_hello (dec, body, msg_enc_size (enc), &hello2) == -1);
    assert (streq (msg_dec_error (dec), "expected a 32-bit unsigned integer"));

    msg_enc_destroy (&enc);
    msg_dec_destroy (&dec);
    if (verbose)
        printf ("OK\n");
}
