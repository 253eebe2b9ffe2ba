/*  fuzz_msg.c - every decoder of the codec, with whatever bytes arrive

    What a decoder accepts must encode again and decode to the same thing:
    a message that crosses a tcp link is never half-understood.
*/
#include "common/msg.h"
#include "common/msg_log.h"
#include "common/msg_rooms.h"

#include <assert.h>

static msg_enc_t *s_enc;
static msg_dec_t *s_dec;
static msg_dec_t *s_dec2;

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_enc) {
        s_enc = msg_enc_new ();
        s_dec = msg_dec_new ();
        s_dec2 = msg_dec_new ();
    }
    msg_open_t open, open2;
    if (msg_dec_open (s_dec, data, size, &open) == 0) {
        assert (msg_enc_open (s_enc, &open) == 0);
        assert (msg_dec_open (s_dec2, msg_enc_data (s_enc),
                              msg_enc_size (s_enc), &open2) == 0);
        assert (open2.conn == open.conn && hc_str_eq (open2.peer, open.peer));
    }
    msg_close_t close;
    msg_dec_close (s_dec, data, size, &close);
    msg_sig_t sig, sig2;
    if (msg_dec_sig (s_dec, data, size, &sig) == 0) {
        assert (msg_enc_sig (s_enc, &sig) == 0);
        assert (msg_dec_sig (s_dec2, msg_enc_data (s_enc),
                             msg_enc_size (s_enc), &sig2) == 0);
        assert (sig2.op == sig.op && hc_str_eq (sig2.to, sig.to));
    }
    msg_p2p_t p2p, p2p2;
    if (msg_dec_p2p (s_dec, data, size, &p2p) == 0) {
        assert (msg_enc_p2p (s_enc, &p2p) == 0);
        assert (msg_dec_p2p (s_dec2, msg_enc_data (s_enc),
                             msg_enc_size (s_enc), &p2p2) == 0);
        assert (p2p2.route == p2p.route && p2p2.callees_n == p2p.callees_n);
    }
    msg_out_t out, out2;
    if (msg_dec_out (s_dec, data, size, &out) == 0) {
        assert (msg_enc_out (s_enc, &out) == 0);
        assert (msg_dec_out (s_dec2, msg_enc_data (s_enc),
                             msg_enc_size (s_enc), &out2) == 0);
        assert (out2.conns_n == out.conns_n && out2.fields_n == out.fields_n);
    }
    msg_kick_t kick;
    msg_dec_kick (s_dec, data, size, &kick);
    msg_log_t log, log2;
    if (msg_dec_log (s_dec, data, size, &log) == 0) {
        assert (msg_enc_log (s_enc, &log) == 0);
        assert (msg_dec_log (s_dec2, msg_enc_data (s_enc),
                             msg_enc_size (s_enc), &log2) == 0);
        assert (log2.fields_n == log.fields_n);
    }
    return 0;
}
