/*  fuzz_replay.c - runs a fuzz target over files, without libFuzzer

    Builds with any compiler, so every CI build runs the committed corpus
    (and every crash reproducer added to it) through each target:

        fuzz_client tests/fuzz/corpus/client [more files or folders]
*/
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
s_run_file (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "fuzz_replay: cannot open %s\n", path);
        return -1;
    }
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    fseek (file, 0, SEEK_SET);
    uint8_t *data = (uint8_t *) malloc (size > 0 ? (size_t) size : 1);
    size_t got = size > 0 ? fread (data, 1, (size_t) size, file) : 0;
    fclose (file);
    LLVMFuzzerTestOneInput (data, got);
    free (data);
    return 0;
}

static int
s_run (const char *path, int *count)
{
    struct stat info;
    if (stat (path, &info)) {
        fprintf (stderr, "fuzz_replay: no such file %s\n", path);
        return -1;
    }
    if (!S_ISDIR (info.st_mode)) {
        (*count)++;
        return s_run_file (path);
    }
    DIR *dir = opendir (path);
    if (!dir)
        return -1;
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir (dir))) {
        if (entry->d_name [0] == '.')
            continue;
        char child [4096];
        snprintf (child, sizeof (child), "%s/%s", path, entry->d_name);
        rc = s_run (child, count);
    }
    closedir (dir);
    return rc;
}

int
main (int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++)
        if (s_run (argv [i], &count))
            return 1;
    printf ("fuzz_replay: %d inputs, no crash\n", count);
    return count > 0 ? 0 : 1;
}
