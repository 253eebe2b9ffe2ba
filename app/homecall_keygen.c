/*  homecall_keygen.c - makes a CURVE certificate for a homecall process

    homecall-keygen PATH [NAME]

    Writes PATH (the public certificate: give it to the rooms process's
    CURVE_ALLOWED_KEYS directory, or as CURVE_SERVER_KEY to the others)
    and PATH_secret (the secret certificate: this process's
    CURVE_SECRET_KEY; keep it private, mode 0600).
*/
#include <czmq.h>
#include <sys/stat.h>

int
main (int argc, char **argv)
{
    if (argc < 2 || argc > 3 || argv [1][0] == '-') {
        fprintf (stderr, "usage: homecall-keygen PATH [NAME]\n"
                         "  writes PATH (public) and PATH_secret (secret)\n");
        return 2;
    }
    zsys_init ();
    zcert_t *cert = zcert_new ();
    if (!cert) {
        fprintf (stderr, "homecall-keygen: no CURVE support in libzmq\n");
        return 1;
    }
    zcert_set_meta (cert, "name", "%s", argc == 3 ? argv [2] : argv [1]);
    zcert_set_meta (cert, "created-by", "homecall-keygen");
    int rc = zcert_save (cert, argv [1]);
    char secret [1024];
    snprintf (secret, sizeof (secret), "%s_secret", argv [1]);
    if (rc == 0)
        rc = chmod (secret, 0600);
    zcert_destroy (&cert);
    zsys_shutdown ();
    if (rc) {
        fprintf (stderr, "homecall-keygen: cannot write %s: %s\n", argv [1],
                 strerror (errno));
        return 1;
    }
    printf ("%s\n%s\n", argv [1], secret);
    return 0;
}
