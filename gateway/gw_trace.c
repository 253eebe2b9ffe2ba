/*  gw_trace.c - a JSON-lines record of every client frame in and out */
#include "gw_trace.h"
#include "gw_json.h"
#include "../common/log.h"
#include "../common/utf8.h"

#include <czmq.h>
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>
#include <unistd.h>


struct _gw_trace_t {
    int fd;                     //  the trace file (O_APPEND)
    char gateway [9];           //  our instance number, hex
    hc_buf_t lines;             //  written at the next flush
    hc_buf_t scratch;           //  one frame, minified
    zarmour_t *base64;          //  binary frames that are not UTF-8
};

gw_trace_t *
gw_trace_new (const char *path, uint32_t gateway)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd == -1)
        return NULL;
    gw_trace_t *self = (gw_trace_t *) zmalloc (sizeof (gw_trace_t));
    self->fd = fd;
    hc_gateway_hex (gateway, self->gateway);
    hc_buf_init (&self->lines, 0);
    hc_buf_init (&self->scratch, 0);
    self->base64 = zarmour_new ();
    zarmour_set_mode (self->base64, ZARMOUR_MODE_BASE64_STD);
    zarmour_set_line_breaks (self->base64, false);
    return self;
}

void
gw_trace_destroy (gw_trace_t **self_p)
{
    gw_trace_t *self = *self_p;
    if (!self)
        return;
    gw_trace_flush (self);
    close (self->fd);
    hc_buf_free (&self->lines);
    hc_buf_free (&self->scratch);
    zarmour_destroy (&self->base64);
    free (self);
    *self_p = NULL;
}

int
gw_trace_flush (gw_trace_t *self)
{
    const char *data = self->lines.data;
    size_t size = self->lines.len;
    int rc = self->lines.failed ? -1 : 0;
    while (size) {
        ssize_t n = write (self->fd, data, size);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = -1;
            break;
        }
        data += n;
        size -= (size_t) n;
    }
    hc_buf_reset (&self->lines);
    return rc;
}

//  {"time":...,"gateway":...,"conn":...,"dialect":...,"dir":dir
static void
s_begin (gw_trace_t *self, uint64_t conn, hc_dialect_t dialect,
         const char *dir)
{
    int64_t now = hc_log_now_us ();
    time_t secs = (time_t) (now / 1000000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    char line [160];
    size_t n = strftime (line, sizeof (line), "{\"time\":\"%Y-%m-%dT%H:%M:%S",
                         &tm);
    snprintf (line + n, sizeof (line) - n,
              ".%06dZ\",\"gateway\":\"%s\",\"conn\":\"%016" PRIx64
              "\",\"dialect\":\"%s\",\"dir\":\"%s\"",
              (int) (now % 1000000), self->gateway, conn,
              hc_dialect_name (dialect), dir);
    hc_buf_append_cstr (&self->lines, line);
}

static void
s_string (gw_trace_t *self, const char *key, const char *value)
{
    hc_buf_append_cstr (&self->lines, ",\"");
    hc_buf_append_cstr (&self->lines, key);
    hc_buf_append_cstr (&self->lines, "\":");
    hc_buf_append_json_str (&self->lines, hc_str (value));
}

void
gw_trace_open (gw_trace_t *self, uint64_t conn, hc_dialect_t dialect,
               const char *path, const char *peer)
{
    s_begin (self, conn, dialect, "open");
    s_string (self, "path", utf8_valid (path, strlen (path)) ? path : "?");
    s_string (self, "peer", peer);
    hc_buf_append_cstr (&self->lines, "}\n");
}

void
gw_trace_frame (gw_trace_t *self, uint64_t conn, hc_dialect_t dialect,
                bool out, const char *data, size_t len, bool binary)
{
    s_begin (self, conn, dialect, out ? "out" : "in");
    hc_buf_append_cstr (&self->lines, ",\"frame\":");
    hc_buf_reset (&self->scratch);
    if (gw_json_minify (&self->scratch, data, len))
        hc_buf_append_str (&self->lines, hc_buf_str (&self->scratch));
    else
    if (utf8_valid (data, len)) {
        hc_buf_append_json_str (&self->lines, (hc_str_t){data, len});
        hc_buf_append_cstr (&self->lines, ",\"json\":false");
    }
    else {
        char *text = zarmour_encode (self->base64, (const byte *) data, len);
        hc_buf_append_json_str (&self->lines, hc_str (text ? text : ""));
        zstr_free (&text);
        hc_buf_append_cstr (&self->lines, ",\"json\":false,\"encoding\":"
                                          "\"base64\"");
    }
    if (binary)
        hc_buf_append_cstr (&self->lines, ",\"binary\":true");
    hc_buf_append_cstr (&self->lines, "}\n");
}

void
gw_trace_oversize (gw_trace_t *self, uint64_t conn, hc_dialect_t dialect,
                   size_t size)
{
    s_begin (self, conn, dialect, "in");
    hc_buf_append_cstr (&self->lines, ",\"oversize\":");
    hc_buf_append_int (&self->lines, (int64_t) size);
    hc_buf_append_cstr (&self->lines, "}\n");
}

void
gw_trace_close (gw_trace_t *self, uint64_t conn, hc_dialect_t dialect,
                bool by_client, uint16_t code, const char *reason)
{
    s_begin (self, conn, dialect, "close");
    s_string (self, "by", by_client ? "client" : "server");
    hc_buf_append_cstr (&self->lines, ",\"code\":");
    hc_buf_append_int (&self->lines, code);
    if (reason && *reason && utf8_valid (reason, strlen (reason)))
        s_string (self, "reason", reason);
    hc_buf_append_cstr (&self->lines, "}\n");
}

//  ---------------------------------------------------------------------
//  Self test

void
gw_trace_test (bool verbose)
{
    if (verbose)
        printf (" * gw_trace: ");
    //  A trace file, line by line
    char path [] = "/tmp/hc-trace-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    gw_trace_t *trace = gw_trace_new (path, 0xabcdef01);
    assert (trace);
    uint64_t conn = 0xabcdef0100000001ULL;
    gw_trace_open (trace, conn, HC_DIALECT_SIGNAL, "/signal", "127.0.0.1");
    gw_trace_frame (trace, conn, HC_DIALECT_SIGNAL, false,
                    "{ \"type\": \"join\" }", 18, false);
    gw_trace_frame (trace, conn, HC_DIALECT_P2P, true, "PONG", 4, false);
    gw_trace_frame (trace, conn, HC_DIALECT_SIGNAL, false, "\xff{", 2, true);
    gw_trace_oversize (trace, conn, HC_DIALECT_SIGNAL, 70000);
    gw_trace_close (trace, conn, HC_DIALECT_SIGNAL, false, 1009,
                    "frame_too_large");
    gw_trace_destroy (&trace);
    FILE *file = fopen (path, "r");
    char line [512];
    const char *expected [] = {
        "\"dialect\":\"signal\",\"dir\":\"open\",\"path\":\"/signal\","
        "\"peer\":\"127.0.0.1\"}\n",
        "\"dir\":\"in\",\"frame\":{\"type\":\"join\"}}\n",
        "\"dialect\":\"p2p\",\"dir\":\"out\",\"frame\":\"PONG\","
        "\"json\":false}\n",
        "\"dir\":\"in\",\"frame\":\"/3s=\",\"json\":false,"
        "\"encoding\":\"base64\",\"binary\":true}\n",
        "\"dir\":\"in\",\"oversize\":70000}\n",
        "\"dir\":\"close\",\"by\":\"server\",\"code\":1009,"
        "\"reason\":\"frame_too_large\"}\n",
    };
    for (size_t i = 0; i < sizeof (expected) / sizeof (expected [0]); i++) {
        assert (fgets (line, sizeof (line), file));
        assert (strncmp (line, "{\"time\":\"", 9) == 0);
        assert (strstr (line, "\"gateway\":\"abcdef01\","
                              "\"conn\":\"abcdef0100000001\""));
        size_t tail = strlen (expected [i]);
        assert (strlen (line) > tail
                && streq (line + strlen (line) - tail, expected [i]));
    }
    assert (!fgets (line, sizeof (line), file));
    fclose (file);
    unlink (path);
    assert (gw_trace_new ("/nonexistent/dir/trace", 1) == NULL);
    if (verbose)
        printf ("OK\n");
}
