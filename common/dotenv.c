/*  dotenv.c - reads a .env file: NAME=value lines, as the dotenv tools do */
#include "dotenv.h"

#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Strips spaces in place
static char *
s_trim (char *s)
{
    while (isspace ((unsigned char) *s))
        s++;
    char *end = s + strlen (s);
    while (end > s && isspace ((unsigned char) end [-1]))
        *--end = 0;
    return s;
}

int
hc_dotenv_read (const char *path, hc_dotenv_fn *fn, void *arg)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return 0;
    char line [1024];
    int lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets (line, sizeof (line), file)) {
        lineno++;
        char *s = s_trim (line);
        if (*s == 0 || *s == '#')
            continue;
        if (strncmp (s, "export ", 7) == 0)
            s = s_trim (s + 7);
        char *eq = strchr (s, '=');
        if (!eq)
            continue;
        *eq = 0;
        char *name = s_trim (s);
        char *value = s_trim (eq + 1);
        size_t len = strlen (value);
        if (len >= 2 && (value [0] == '"' || value [0] == '\'')
        &&  value [len - 1] == value [0]) {
            value [len - 1] = 0;
            value++;
        }
        else {
            char *hash = strstr (value, " #");      //  trailing comment
            if (hash) {
                *hash = 0;
                value = s_trim (value);
            }
        }
        rc = fn (name, value, lineno, arg);
    }
    fclose (file);
    return rc;
}

//  ---------------------------------------------------------------------
//  Self test

typedef struct {
    char seen [512];            //  "NAME=value@line;" for every call
    int stop_at;                //  line whose call returns -1 (0: none)
} s_test_t;

static int
s_collect (const char *name, const char *value, int lineno, void *arg)
{
    s_test_t *test = (s_test_t *) arg;
    size_t used = strlen (test->seen);
    snprintf (test->seen + used, sizeof (test->seen) - used, "%s=%s@%d;",
              name, value, lineno);
    return lineno == test->stop_at ? -1 : 0;
}

void
hc_dotenv_test (bool verbose)
{
    if (verbose)
        printf (" * dotenv: ");
    s_test_t test = {"", 0};
    assert (hc_dotenv_read ("/nonexistent/.env", s_collect, &test) == 0);
    assert (test.seen [0] == 0);

    char path [] = "/tmp/hc-dotenv-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    FILE *f = fdopen (fd, "w");
    fprintf (f, "# comment\n\n  A = 1  \nexport B=\"two words\"\n"
                "no assignment\nC='3 #not a comment'\nD=4 # comment\n"
                "E=\nF=\"unmatched\n");
    fclose (f);
    assert (hc_dotenv_read (path, s_collect, &test) == 0);
    assert (strcmp (test.seen, "A=1@3;B=two words@4;C=3 #not a comment@6;"
                              "D=4@7;E=@8;F=\"unmatched@9;") == 0);
    //  The callback's refusal stops the reading and is returned
    test.seen [0] = 0;
    test.stop_at = 4;
    assert (hc_dotenv_read (path, s_collect, &test) == -1);
    assert (strcmp (test.seen, "A=1@3;B=two words@4;") == 0);
    unlink (path);
    if (verbose)
        printf ("OK\n");
}
