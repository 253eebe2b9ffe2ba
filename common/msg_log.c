/*  msg_log.c - the record every actor publishes on the event bus */
#include "msg_log.h"

#include <assert.h>
#include <czmq.h>

static const msg_key_t s_log [] = {
    {.key = "l", .type = MSG_ENUM, .required = true,
     .offset = offsetof (msg_log_t, level), .max = HC_LOG_ERROR},
    {.key = "t", .type = MSG_I64, .required = true,
     .offset = offsetof (msg_log_t, time_us)},
    {.key = "a", .type = MSG_STR, .required = true,
     .offset = offsetof (msg_log_t, actor), .max = 64},
    {.key = "e", .type = MSG_STR, .required = true,
     .offset = offsetof (msg_log_t, event), .max = 128},
    {.key = "f", .type = MSG_FIELDS, .required = true,
     .offset = offsetof (msg_log_t, fields),
     .count_offset = offsetof (msg_log_t, fields_n),
     .members = MSG_FLAT_LOG},
};

const msg_kind_t msg_log_kind = {"log", s_log, MSG_KEYS_N (s_log),
                                 sizeof (msg_log_t), NULL};

const char *
hc_log_level_name (hc_log_level_t level)
{
    static const char *names [] = {"debug", "info", "warn", "error"};
    return level <= HC_LOG_ERROR ? names [level] : "?";
}

//  ---------------------------------------------------------------------
//  Self test

void
msg_log_test (bool verbose)
{
    if (verbose)
        printf (" * msg_log: ");
    msg_enc_t *enc = msg_enc_new ();
    msg_dec_t *dec = msg_dec_new ();
    hc_field_t fields [] = {hc_field_str ("room", HC_STR_LIT ("w1")),
                            hc_field_int ("size", -123)};
    msg_log_t log = {HC_LOG_WARN, 1700000000123456, HC_STR_LIT ("rooms"),
                     HC_STR_LIT ("relay.queued"), fields, 2};
    assert (msg_enc_log (enc, &log) == 0);
    msg_log_t log2;
    assert (msg_dec_log (dec, msg_enc_data (enc), msg_enc_size (enc), &log2)
            == 0);
    assert (log2.level == HC_LOG_WARN && log2.time_us == log.time_us);
    assert (hc_str_eq (log2.actor, log.actor));
    assert (hc_str_eq (log2.event, log.event));
    assert (log2.fields_n == 2 && hc_str_eq (log2.fields [0].str,
                                              fields [0].str));
    assert (log2.fields [1].type == HC_V_INT && log2.fields [1].num == -123);
    //  Fields are text or integers, names and actors short
    hc_field_t flag [] = {hc_field_bool ("b", true)};
    msg_log_t bad = log;
    bad.fields = flag;
    bad.fields_n = 1;
    assert (msg_enc_log (enc, &bad) == -1);
    bad = log;
    bad.actor = HC_STR_LIT ("an actor whose name is far longer than the "
                            "sixty-four bytes a record allows");
    assert (msg_enc_log (enc, &bad) == -1);
    bad = log;
    bad.level = (hc_log_level_t) (HC_LOG_ERROR + 1);
    assert (msg_enc_log (enc, &bad) == -1);
    assert (streq (hc_log_level_name (HC_LOG_ERROR), "error"));
    msg_enc_destroy (&enc);
    msg_dec_destroy (&dec);
    if (verbose)
        printf ("OK\n");
}
