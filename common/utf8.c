/*  utf8.c - strict UTF-8 validation

    Binary WebSocket frames and every string that arrives over a tcp link
    are checked here; lws checks text frames itself.
*/
#include "utf8.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

//  True when the few bytes (under eight) are all ASCII: a short name or
//  a key, which most strings in a message are
static inline bool
s_short_ascii (const uint8_t *s, size_t size)
{
    uint8_t any = 0;
    for (size_t i = 0; i < size; i++)
        any |= s [i];
    return (any & 0x80) == 0;
}

bool
utf8_valid (const void *data, size_t size)
{
    const uint8_t *s = (const uint8_t *) data;
    const uint8_t *end = s + size;
    if (size < 8 && s_short_ascii (s, size))
        return true;
    while (s < end) {
        //  Fast paths: 32 ASCII bytes at a time (an SDP is all ASCII: a
        //  test per 32 bytes), then eight
        if (end - s >= 32) {
            uint64_t words [4];
            memcpy (words, s, 32);
            if (((words [0] | words [1] | words [2] | words [3])
                 & 0x8080808080808080ULL) == 0) {
                s += 32;
                continue;
            }
        }
        if (end - s >= 8) {
            uint64_t word;
            memcpy (&word, s, 8);
            if ((word & 0x8080808080808080ULL) == 0) {
                s += 8;
                continue;
            }
        }
        uint8_t c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;       //  range of the second byte
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else
        if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;                  //  no overlongs
            else
            if (c == 0xED)
                hi = 0x9F;                  //  no surrogates
        }
        else
        if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            else
            if (c == 0xF4)
                hi = 0x8F;                  //  nothing above U+10FFFF
        }
        else
            return false;
        if ((size_t) (end - s) <= need)
            return false;
        if (s [1] < lo || s [1] > hi)
            return false;
        for (size_t i = 2; i <= need; i++)
            if ((s [i] & 0xC0) != 0x80)
                return false;
        s += need + 1;
    }
    return true;
}

void
utf8_test (bool verbose)
{
    if (verbose)
        printf (" * utf8: ");
    assert (utf8_valid ("", 0));
    assert (utf8_valid ("plain ascii text, long enough", 29));
    assert (utf8_valid ("\xd0\x9f\xd1\x80\xd0\xb8", 6));         //  Привет prefix
    assert (utf8_valid ("\xe2\x82\xac", 3));                     //  euro sign
    assert (utf8_valid ("\xf0\x9f\x98\x80", 4));                 //  emoji
    assert (utf8_valid ("\xf4\x8f\xbf\xbf", 4));                 //  U+10FFFF
    assert (!utf8_valid ("\xf4\x90\x80\x80", 4));                //  > U+10FFFF
    assert (!utf8_valid ("\xc0\xaf", 2));                        //  overlong
    assert (!utf8_valid ("\xe0\x80\xaf", 3));                    //  overlong
    assert (!utf8_valid ("\xed\xa0\x80", 3));                    //  surrogate
    assert (!utf8_valid ("\xe2\x82", 2));                        //  truncated
    assert (!utf8_valid ("abcdefgh\x80", 9));                    //  stray
    assert (!utf8_valid ("\xff", 1));
    assert (!utf8_valid ("abcdefghijklmn\xc3", 15));
    //  Every position of a bad byte and of a good sequence, past the
    //  32- and 8-byte steps
    char text [80];
    for (size_t at = 0; at < 76; at++) {
        memset (text, 'a', sizeof (text));
        text [at] = (char) 0xff;
        assert (!utf8_valid (text, sizeof (text)));
        memcpy (text + at, "\xf0\x9f\x98\x80", 4);
        assert (utf8_valid (text, sizeof (text)));
        assert (!utf8_valid (text, at + 3));
    }
    if (verbose)
        printf ("OK\n");
}
