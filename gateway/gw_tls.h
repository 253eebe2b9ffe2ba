/*  gw_tls.h - TLS in the gateway itself: wss:// and https:// on WS_PORT

    With TLS_CERT (a PEM chain, leaf first) and TLS_KEY (its key; unset:
    the key is in TLS_CERT's file too) the listener speaks only TLS, through
    libwebsockets' OpenSSL. The files are checked before any actor starts,
    so a wrong path, a file that is no PEM, or a key of another certificate
    stops the start with a message that says which, rather than a listener
    that fails every handshake. ALPN offers http/1.1 only: WebSockets and
    /healthz and /metrics stay plain HTTP/1.1 inside TLS. The files are
    read once: a renewed certificate takes a restart (docs/deploy.md).
*/
#ifndef GW_TLS_H_INCLUDED
#define GW_TLS_H_INCLUDED

#include "../common/config.h"

#include <libwebsockets.h>

//  True when TLS_CERT is set
bool
    gw_tls_enabled (const hc_config_t *cfg);
//  0 if TLS is off or its files make a working server certificate; else
//  -1, and err names the setting, the file and what is wrong
int
    gw_tls_check (const hc_config_t *cfg, char *err, size_t err_size);
//  Sets up lws's creation info for TLS when it is on (cfg must outlive
//  lws_create_context)
void
    gw_tls_apply (const hc_config_t *cfg,
                  struct lws_context_creation_info *info);

void
    gw_tls_test (bool verbose);

#endif
