/*  fuzz_client.c - both client frame readers, and the X-Forwarded-For
    reader, with whatever bytes arrive

    Besides not crashing: every command read must encode and decode back
    through the codec, and every slice must point into the input or into
    memory the readers own; a client address read from a header is an
    address, or the proxy's.
*/
#include "common/msg_rooms.h"
#include "common/utf8.h"
#include "gateway/gw_client.h"
#include "gateway/gw_p2p.h"
#include "gateway/gw_signal.h"

#include <assert.h>
#include <string.h>

static msg_enc_t *s_enc;
static msg_dec_t *s_dec;
static gw_p2p_result_t s_p2p;
static hc_netlist_t s_proxies;

//  As a header: up to the first NUL, as lws hands it over
static void
s_forwarded_for (const uint8_t *data, size_t size)
{
    char header [1024];
    size_t len = size < sizeof (header) - 1 ? size : sizeof (header) - 1;
    memcpy (header, data, len);
    header [len] = 0;
    char client [HC_ADDR_TEXT], via [HC_ADDR_TEXT];
    gw_client_address (&s_proxies, "127.0.0.1", header, client, via);
    char again [HC_ADDR_TEXT];
    assert (hc_addr_canonical (client, again, sizeof (again)) == 0
            && strcmp (client, again) == 0);
    assert (streq (via, streq (client, "127.0.0.1") ? "" : "127.0.0.1"));
}

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_enc) {
        gw_json_setup ();
        s_enc = msg_enc_new ();
        s_dec = msg_dec_new ();
        char bad [64];
        int rc = hc_netlist_parse (&s_proxies, "127.0.0.1,10.0.0.0/8,fd00::/8",
                                   bad, sizeof (bad));
        assert (rc == 0);
        (void) rc;
    }
    s_forwarded_for (data, size);
    //  Text frames reach the readers only as valid UTF-8
    if (!utf8_valid (data, size))
        return 0;
    const char *text = (const char *) data;
    cJSON *root = NULL;
    gw_sig_result_t sig;
    gw_signal_read (text, size, &root, &sig);
    if (sig.kind == GW_SIG_COMMAND) {
        if (hc_str_present (sig.cmd.payload))
            assert (sig.cmd.payload.ptr >= text
                    && sig.cmd.payload.ptr + sig.cmd.payload.len
                           <= text + size);
        assert (msg_enc_sig (s_enc, &sig.cmd) == 0);
        msg_sig_t back;
        assert (msg_dec_sig (s_dec, msg_enc_data (s_enc), msg_enc_size (s_enc),
                             &back) == 0);
        assert (back.op == sig.cmd.op && hc_str_eq (back.room, sig.cmd.room));
        assert (hc_str_eq (back.payload, sig.cmd.payload));
    }
    gw_json_release (&root);

    gw_p2p_read (text, size, &root, &s_p2p);
    if (s_p2p.kind == GW_P2P_COMMAND) {
        int rc = msg_enc_p2p (s_enc, &s_p2p.cmd);
        if (rc == 0) {
            msg_p2p_t back;
            assert (msg_dec_p2p (s_dec, msg_enc_data (s_enc),
                                 msg_enc_size (s_enc), &back) == 0);
            assert (back.route == s_p2p.cmd.route);
            assert (back.payload_n == s_p2p.cmd.payload_n);
            assert (hc_str_eq (back.user_key, s_p2p.cmd.user_key));
        }
    }
    gw_json_release (&root);
    return 0;
}
