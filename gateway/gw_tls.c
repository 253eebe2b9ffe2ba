/*  gw_tls.c - TLS in the gateway itself: wss:// and https:// on WS_PORT
*/
#include "gw_tls.h"

#include <assert.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool
gw_tls_enabled (const hc_config_t *cfg)
{
    return cfg->tls_cert [0] != 0;
}

//  The key's file: TLS_KEY, or the certificate's own
static const char *
s_key_file (const hc_config_t *cfg)
{
    return cfg->tls_key [0] ? cfg->tls_key : cfg->tls_cert;
}

//  OpenSSL's reason for the last failure, its queue emptied
static const char *
s_openssl_reason (void)
{
    unsigned long code = ERR_peek_last_error ();
    const char *reason = code ? ERR_reason_error_string (code) : NULL;
    ERR_clear_error ();
    return reason ? reason : "unknown OpenSSL error";
}

//  A file we cannot open says why in the system's words
static int
s_readable (const char *setting, const char *path, char *err, size_t err_size)
{
    FILE *file = fopen (path, "r");
    if (file) {
        fclose (file);
        return 0;
    }
    snprintf (err, err_size, "%s: cannot read '%s': %s", setting, path,
              strerror (errno));
    return -1;
}

//  An encrypted key is refused, never asked a pass phrase for on a terminal
static int
s_no_passphrase (char *buf, int size, int rwflag, void *user)
{
    (void) buf;
    (void) size;
    (void) rwflag;
    (void) user;
    return -1;
}

static EVP_PKEY *
s_read_key (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return NULL;
    EVP_PKEY *pkey = PEM_read_PrivateKey (file, NULL, s_no_passphrase,
                                          NULL);
    fclose (file);
    return pkey;
}

int
gw_tls_check (const hc_config_t *cfg, char *err, size_t err_size)
{
    if (!gw_tls_enabled (cfg))
        return 0;
    const char *key = s_key_file (cfg);
    const char *key_setting = cfg->tls_key [0] ? "TLS_KEY" : "TLS_CERT";
    if (s_readable ("TLS_CERT", cfg->tls_cert, err, err_size)
    ||  s_readable (key_setting, key, err, err_size))
        return -1;
    SSL_CTX *ctx = SSL_CTX_new (TLS_server_method ());
    if (!ctx) {
        snprintf (err, err_size, "TLS: %s", s_openssl_reason ());
        return -1;
    }
    int rc = -1;
    EVP_PKEY *pkey = NULL;
    if (SSL_CTX_use_certificate_chain_file (ctx, cfg->tls_cert) != 1)
        snprintf (err, err_size, "TLS_CERT: '%s' holds no usable PEM "
                  "certificate (%s)", cfg->tls_cert, s_openssl_reason ());
    else
    if (!(pkey = s_read_key (key)))
        snprintf (err, err_size, "%s: '%s' holds no usable PEM private key "
                  "(%s)%s", key_setting, key, s_openssl_reason (),
                  cfg->tls_key [0] ? "" : "; set TLS_KEY to its file");
    else
    if (SSL_CTX_use_PrivateKey (ctx, pkey) != 1
    ||  SSL_CTX_check_private_key (ctx) != 1)
        snprintf (err, err_size, "%s: '%s' is not the key of the "
                  "certificate in '%s' (%s)", key_setting, key, cfg->tls_cert,
                  s_openssl_reason ());
    else
        rc = 0;
    EVP_PKEY_free (pkey);
    SSL_CTX_free (ctx);
    return rc;
}

void
gw_tls_apply (const hc_config_t *cfg, struct lws_context_creation_info *info)
{
    if (!gw_tls_enabled (cfg))
        return;
    //  Plain HTTP is let through lws so that the gateway can answer it
    //  (400 not_tls) and count it, rather than lws dropping it unsaid
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT
                   | LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT
                   | LWS_SERVER_OPTION_ALLOW_HTTP_ON_HTTPS_LISTENER;
    info->ssl_cert_filepath = cfg->tls_cert;
    info->ssl_private_key_filepath = s_key_file (cfg);
    info->alpn = "http/1.1";
    info->ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
}

//  ---------------------------------------------------------------------
//  Self test

//  A fresh P-256 key and a self-signed certificate for it, as PEM files
//  (one file when both paths are the same)
static void
s_write_pair (const char *cert_path, const char *key_path)
{
    EVP_PKEY *pkey = EVP_EC_gen ("P-256");
    assert (pkey);
    X509 *cert = X509_new ();
    assert (cert);
    ASN1_INTEGER_set (X509_get_serialNumber (cert), 1);
    X509_gmtime_adj (X509_getm_notBefore (cert), 0);
    X509_gmtime_adj (X509_getm_notAfter (cert), 3600);
    X509_set_pubkey (cert, pkey);
    X509_NAME *name = X509_get_subject_name (cert);
    X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC,
                                (const unsigned char *) "localhost", -1, -1, 0);
    X509_set_issuer_name (cert, name);
    assert (X509_sign (cert, pkey, EVP_sha256 ()) > 0);
    FILE *file = fopen (cert_path, "w");
    assert (file && PEM_write_X509 (file, cert));
    fclose (file);
    file = fopen (key_path, strcmp (key_path, cert_path) ? "w" : "a");
    assert (file && PEM_write_PrivateKey (file, pkey, NULL, NULL, 0, NULL,
                                          NULL));
    fclose (file);
    X509_free (cert);
    EVP_PKEY_free (pkey);
}

void
gw_tls_test (bool verbose)
{
    if (verbose)
        printf (" * gw_tls: ");
    char dir [] = "/tmp/hc-tls-test-XXXXXX";
    assert (mkdtemp (dir));
    char cert [64], key [64], other_cert [64], other_key [64], junk [64],
         both [80];
    snprintf (cert, sizeof (cert), "%s/cert.pem", dir);
    snprintf (key, sizeof (key), "%s/key.pem", dir);
    snprintf (other_cert, sizeof (other_cert), "%s/other.pem", dir);
    snprintf (other_key, sizeof (other_key), "%s/other-key.pem", dir);
    snprintf (junk, sizeof (junk), "%s/junk.pem", dir);
    snprintf (both, sizeof (both), "%s/both.pem", dir);
    s_write_pair (cert, key);
    s_write_pair (other_cert, other_key);
    FILE *file = fopen (junk, "w");
    fprintf (file, "not a certificate\n");
    fclose (file);

    hc_config_t cfg;
    memset (&cfg, 0, sizeof (cfg));
    char err [512];
    struct lws_context_creation_info info;
    memset (&info, 0, sizeof (info));
    //  Off: nothing to check, nothing set
    assert (!gw_tls_enabled (&cfg));
    assert (gw_tls_check (&cfg, err, sizeof (err)) == 0);
    gw_tls_apply (&cfg, &info);
    assert (info.options == 0 && info.ssl_cert_filepath == NULL);
    //  A matching pair
    snprintf (cfg.tls_cert, sizeof (cfg.tls_cert), "%s", cert);
    snprintf (cfg.tls_key, sizeof (cfg.tls_key), "%s", key);
    assert (gw_tls_check (&cfg, err, sizeof (err)) == 0);
    gw_tls_apply (&cfg, &info);
    assert (info.options & LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT);
    assert (info.ssl_cert_filepath == cfg.tls_cert);
    assert (info.ssl_private_key_filepath == cfg.tls_key);
    assert (strcmp (info.alpn, "http/1.1") == 0);
    //  Each failure names the setting and the file
    snprintf (cfg.tls_key, sizeof (cfg.tls_key), "%s", other_key);
    assert (gw_tls_check (&cfg, err, sizeof (err)) == -1);
    assert (strstr (err, "TLS_KEY") && strstr (err, "not the key"));
    snprintf (cfg.tls_key, sizeof (cfg.tls_key), "%s/missing.pem", dir);
    assert (gw_tls_check (&cfg, err, sizeof (err)) == -1);
    assert (strstr (err, "TLS_KEY") && strstr (err, "missing.pem")
            && strstr (err, "No such file"));
    snprintf (cfg.tls_key, sizeof (cfg.tls_key), "%s", junk);
    assert (gw_tls_check (&cfg, err, sizeof (err)) == -1);
    assert (strstr (err, "TLS_KEY") && strstr (err, "no usable PEM private"));
    snprintf (cfg.tls_cert, sizeof (cfg.tls_cert), "%s", junk);
    snprintf (cfg.tls_key, sizeof (cfg.tls_key), "%s", key);
    assert (gw_tls_check (&cfg, err, sizeof (err)) == -1);
    assert (strstr (err, "TLS_CERT") && strstr (err, "junk.pem"));
    //  Without TLS_KEY the key is read from the certificate's file
    snprintf (cfg.tls_cert, sizeof (cfg.tls_cert), "%s", cert);
    cfg.tls_key [0] = 0;
    assert (gw_tls_check (&cfg, err, sizeof (err)) == -1);
    assert (strstr (err, "set TLS_KEY"));
    s_write_pair (both, both);
    snprintf (cfg.tls_cert, sizeof (cfg.tls_cert), "%s", both);
    assert (gw_tls_check (&cfg, err, sizeof (err)) == 0);
    memset (&info, 0, sizeof (info));
    gw_tls_apply (&cfg, &info);
    assert (info.ssl_private_key_filepath == cfg.tls_cert);

    const char *files [] = {cert, key, other_cert, other_key, junk, both};
    for (size_t i = 0; i < sizeof (files) / sizeof (files [0]); i++)
        unlink (files [i]);
    rmdir (dir);
    if (verbose)
        printf ("OK\n");
}
