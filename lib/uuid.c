/*  uuid.c — version 4 UUIDs (mt_uuid.h). */
#include "mt_uuid.h"
#include "mt_err.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

int mt_uuid_v4(char out[MT_UUID_LEN + 1])
{
    unsigned char b[16];
    ssize_t n;
    do
        n = getrandom(b, sizeof b, 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t) sizeof b)
        return MT_ESYSTEM;
    b[6] = (unsigned char) ((b[6] & 0x0F) | 0x40);     /* version 4 */
    b[8] = (unsigned char) ((b[8] & 0x3F) | 0x80);     /* variant 10 */
    snprintf(out, MT_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
             b[12], b[13], b[14], b[15]);
    return MT_OK;
}
