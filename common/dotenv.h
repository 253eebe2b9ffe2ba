/*  dotenv.h - reads a .env file: NAME=value lines, as the dotenv tools do

    Blank lines and # comments are skipped, a leading "export " is allowed,
    matching quotes around a value are taken off, and an unquoted value
    ends before " #". A line without '=' is ignored, as dotenv does. What
    the names mean is the caller's business.
*/
#ifndef DOTENV_H_INCLUDED
#define DOTENV_H_INCLUDED

#include <stdbool.h>

//  Called for every assignment, in file order; name and value are valid
//  during the call. A nonzero return stops the reading.
typedef int (hc_dotenv_fn) (const char *name, const char *value, int lineno,
                            void *arg);

//  Calls fn for each assignment in path; 0 when the file is missing (no
//  .env is the usual case), else fn's first nonzero return or 0
int
    hc_dotenv_read (const char *path, hc_dotenv_fn *fn, void *arg);

void
    hc_dotenv_test (bool verbose);

#endif
