/*  sock.c - small ZeroMQ socket helpers shared by the actors */
#include "sock.h"

bool
hc_sock_readable (zsock_t *sock, bool *terminated)
{
    int events = 0;
    size_t size = sizeof (events);
    if (zmq_getsockopt (zsock_resolve (sock), ZMQ_EVENTS, &events, &size)
        == -1) {
        *terminated = true;
        return false;
    }
    return (events & ZMQ_POLLIN) != 0;
}

int
hc_sock_recv_parts (zsock_t *sock, zmq_msg_t *parts, int want)
{
    void *handle = zsock_resolve (sock);
    for (int i = 0; i < want; i++)
        zmq_msg_init (&parts [i]);
    int n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t extra;
        zmq_msg_t *part = n < want ? &parts [n] : &extra;
        if (part == &extra)
            zmq_msg_init (&extra);
        if (zmq_msg_recv (part, handle, ZMQ_DONTWAIT) == -1) {
            if (part == &extra)
                zmq_msg_close (&extra);
            break;
        }
        more = zmq_msg_more (part);
        if (part == &extra)
            zmq_msg_close (&extra);
        n++;
    }
    return n;
}

int
hc_sock_recv_pair (zsock_t *sock, zmq_msg_t pair [2], bool *more)
{
    void *handle = zsock_resolve (sock);
    *more = false;
    if (zmq_msg_recv (&pair [0], handle, ZMQ_DONTWAIT) == -1)
        return 0;
    //  The parts of a message arrive together: if one is there, all are
    if (!zmq_msg_more (&pair [0])
    ||  zmq_msg_recv (&pair [1], handle, ZMQ_DONTWAIT) == -1)
        return 1;
    *more = zmq_msg_more (&pair [1]);
    return 2;
}

void
hc_sock_close_parts (zmq_msg_t *parts, int want)
{
    for (int i = 0; i < want; i++)
        zmq_msg_close (&parts [i]);
}

//  ---------------------------------------------------------------------
//  Self test: whole messages are read, extra parts dropped, counts told

void
hc_sock_test (bool verbose)
{
    if (verbose)
        printf (" * sock: ");
    zsock_t *writer = zsock_new_pair ("@inproc://hc-sock-test");
    zsock_t *reader = zsock_new_pair (">inproc://hc-sock-test");
    assert (writer && reader);
    bool terminated = false;
    assert (!hc_sock_readable (reader, &terminated) && !terminated);
    zmq_msg_t parts [2];
    assert (hc_sock_recv_parts (reader, parts, 2) == 0);
    hc_sock_close_parts (parts, 2);
    zstr_sendx (writer, "OUT", "body", NULL);
    zstr_sendx (writer, "ONE", NULL);
    zstr_sendx (writer, "A", "B", "C", "D", NULL);
    zstr_sendx (writer, "AFTER", "x", NULL);
    assert (hc_sock_readable (reader, &terminated));
    assert (hc_sock_recv_parts (reader, parts, 2) == 2);
    assert (zmq_msg_size (&parts [1]) == 4
            && memcmp (zmq_msg_data (&parts [1]), "body", 4) == 0);
    hc_sock_close_parts (parts, 2);
    assert (hc_sock_recv_parts (reader, parts, 2) == 1);
    hc_sock_close_parts (parts, 2);
    assert (hc_sock_recv_parts (reader, parts, 2) == 4);
    assert (memcmp (zmq_msg_data (&parts [1]), "B", 1) == 0);
    hc_sock_close_parts (parts, 2);
    //  The dropped parts did not leak into the next message
    assert (hc_sock_recv_parts (reader, parts, 2) == 2);
    assert (memcmp (zmq_msg_data (&parts [0]), "AFTER", 5) == 0);
    hc_sock_close_parts (parts, 2);
    zsock_destroy (&reader);
    zsock_destroy (&writer);
    if (verbose)
        printf ("OK\n");
}
