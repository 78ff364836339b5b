/*  The installed mt_version.h against the CMake package's version. */
#include <mt_version.h>
#include <stdio.h>
#include <string.h>

_Static_assert(MT_VERSION_MAJOR == EXPECT_MAJOR && MT_VERSION_MINOR == EXPECT_MINOR
                   && MT_VERSION_PATCH == EXPECT_PATCH,
               "mt_version.h and the package disagree");
_Static_assert(MT_VERSION_NUMBER == MT_MAKE_VERSION(EXPECT_MAJOR, EXPECT_MINOR, EXPECT_PATCH),
               "MT_VERSION_NUMBER");

int main(void)
{
    printf("%s\n", MT_VERSION);
    return strcmp(MT_VERSION, EXPECT_VERSION) != 0;
}
