/*  config.h - every setting of the server, from flags, environment and .env

    Precedence: command-line flag, then environment variable, then the .env
    file in the working directory, then the built-in default. Every option
    has a flag (--ws-port) and an environment name (WS_PORT); --help lists
    them all. Bad values are refused with a message naming the option.
    The settings and their table: config_options.h; how values are
    written (durations, sizes): config_value.h.
*/
#ifndef CONFIG_H_INCLUDED
#define CONFIG_H_INCLUDED

#include "config_options.h"

#include <stdint.h>
#include <stdio.h>

//  Fills cfg from defaults, dotenv_path (NULL: "./.env"; a missing file is
//  fine), the environment and argv. Returns 0 when the server should run,
//  1 when --help or --version was printed, -1 on a bad value (err holds a
//  one-line message).
int
    hc_config_load (hc_config_t *cfg, int argc, char **argv,
                    const char *dotenv_path, char *err, size_t err_size);

//  Writes the option table: flag, environment name, default, meaning
void
    hc_config_print_help (FILE *out);

//  Least severe level the actors publish: the log's, or info when alerts
//  are on (start/stop and client errors are counted from info records)
hc_log_level_t
    hc_config_publish_level (const hc_config_t *cfg);

void
    hc_config_test (bool verbose);

#endif
