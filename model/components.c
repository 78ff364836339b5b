/*  components.c — a node's component versions in detail (PROTOCOL.md,
    `components`): order, digest and validation. The block that holds them
    is the registration's (model.c). */
#include "components.h"
#include "sort.h"
#include "mt_hash.h"
#include "mt_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *component_key(const void *c) { return ((const mt_component_t *) c)->component; }

uint32_t mt__components_normalise(mt_component_t *c, uint32_t n)
{
    return mt__sort_unique(c, n, sizeof *c, component_key);
}

/*  FNV-1a 64, as mt_versions_hash, over all five strings of each: a new
    commit or build time under the same version is a change to store. */
void mt_components_hash(const mt_component_t *c, uint32_t n, char out[17])
{
    uint64_t h = MT_FNV1A64_INIT;
    for (uint32_t i = 0; i < n; i++) {
        const char *parts[5] = { c[i].component, c[i].version, c[i].commit,
                                 c[i].build_time, c[i].source };
        for (int k = 0; k < 5; k++) {
            const char *s = parts[k] ? parts[k] : "";
            h = mt_fnv1a64(h, s, strlen(s) + 1);   /* NULs hashed: fields stay apart */
        }
    }
    snprintf(out, 17, "%016llx", (unsigned long long) h);
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return MT_EBADREQ; } while (0)

static bool source_ok(const char *s)
{
    return !s || !*s || strcmp(s, "manifest") == 0 || strcmp(s, "binary") == 0
        || strcmp(s, "file") == 0;
}

int mt_components_check(const mt_component_t *c, uint32_t n, char *err, size_t errlen)
{
    if (n > MT_MAP_MAX)
        FAIL("components: at most %d entries", MT_MAP_MAX);
    for (uint32_t i = 0; i < n; i++) {
        size_t len = c[i].component ? strlen(c[i].component) : 0;
        if (len == 0 || len > MT_KEY_MAX)
            FAIL("components: component must be 1-%d bytes", MT_KEY_MAX);
        const char *s[4] = { c[i].version, c[i].commit, c[i].build_time, c[i].source };
        for (int k = 0; k < 4; k++)
            if (s[k] && strlen(s[k]) > MT_STR_MAX)
                FAIL("components: strings are at most %d bytes", MT_STR_MAX);
        if (!source_ok(c[i].source))
            FAIL("components: source must be \"manifest\", \"binary\" or \"file\"");
    }
    return MT_OK;
}

bool mt_str_list_has(const char *const *s, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(s[i], name) == 0)
            return true;
    return false;
}
