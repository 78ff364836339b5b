/*  fuzz_cluster_info.c — libFuzzer target: a remote cluster's answer to
    cluster.info (mt_remote_info_decode), the input the reference probers
    take from clusters they do not control.

    For every input, parsed with ipc:// refused and allowed: no crash, no
    leak, no allocation that follows a declared count; an error comes with
    a message and no result; a result has a valid uuid, at most
    MT_RC_NODES_MAX members, each an endpoint mt_rc_endpoint_allowed
    accepts (no ipc:// when refused) and a key that is "" or valid Z85,
    strictly sorted (so distinct), and counts that add up. Differential:
    the two parses agree but for ipc:// members (the stricter one keeps the
    other's tcp:// members exactly), and the stricter one never fails where
    the other succeeds.

    Seeds: tests/transport/corpus/cluster_info/ (small shapes); scripts/fuzz
    adds the 16 MiB one of issue 9 (2^24+3 members, all nil but the last
    four) at fuzz time rather than committing it. */
#include "fuzz_common.h"
#include "mt_key.h"

static bool id_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || c == '-';
}

static void check(int rc, const mt_remote_info_t *info, const char *err, size_t errlen,
                  bool allow_ipc)
{
    FUZZ_ASSERT(rc == MT_OK || rc == MT_EBADREQ);
    if (rc != MT_OK) {
        FUZZ_ASSERT(info == NULL);
        fuzz_check_message(err, errlen);
        return;
    }
    FUZZ_ASSERT(info);
    size_t ul = strnlen(info->cluster_uuid, sizeof info->cluster_uuid);
    FUZZ_ASSERT(ul >= 1 && ul <= MT_RC_ID_MAX);
    for (size_t i = 0; i < ul; i++)
        FUZZ_ASSERT(id_char(info->cluster_uuid[i]));
    FUZZ_ASSERT(info->nalive <= MT_RC_NODES_MAX);
    FUZZ_ASSERT((uint64_t) info->nalive + info->rejected <= info->listed);
    char scratch[200];
    for (uint32_t i = 0; i < info->nalive; i++) {
        const mt_remote_member_t *m = &info->alive[i];
        FUZZ_ASSERT(strnlen(m->endpoint, sizeof m->endpoint) < sizeof m->endpoint);
        FUZZ_ASSERT(mt_rc_endpoint_allowed(m->endpoint, allow_ipc));
        FUZZ_ASSERT(mt_rc_endpoint_check(m->endpoint, scratch, sizeof scratch) == MT_OK);
        FUZZ_ASSERT(mt_utf8_valid(m->endpoint, strlen(m->endpoint)));
        FUZZ_ASSERT(mt_key_check("public_key", m->public_key, scratch, sizeof scratch) == MT_OK);
        FUZZ_ASSERT(i == 0 || strcmp(info->alive[i - 1].endpoint, m->endpoint) < 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err_tcp[200], err_all[200];
    mt_remote_info_t *tcp = NULL, *all = NULL;
    int rt = mt_remote_info_decode(data, size, false, &tcp, err_tcp, sizeof err_tcp);
    check(rt, tcp, err_tcp, sizeof err_tcp, false);
    int ra = mt_remote_info_decode(data, size, true, &all, err_all, sizeof err_all);
    check(ra, all, err_all, sizeof err_all, true);

    /* refusing ipc:// only removes members: never an error of its own */
    FUZZ_ASSERT(!(rt != MT_OK && ra == MT_OK));
    if (rt == MT_OK && ra != MT_OK)
        FUZZ_ASSERT(strstr(err_all, "more than") != NULL);     /* the cap, with ipc:// members */
    if (rt == MT_OK && ra == MT_OK) {
        FUZZ_ASSERT(strcmp(tcp->cluster_uuid, all->cluster_uuid) == 0);
        FUZZ_ASSERT(tcp->listed == all->listed);
        uint32_t k = 0;
        for (uint32_t i = 0; i < all->nalive; i++) {
            if (mt_rc_endpoint_is_ipc(all->alive[i].endpoint))
                continue;
            FUZZ_ASSERT(k < tcp->nalive);
            FUZZ_ASSERT(strcmp(all->alive[i].endpoint, tcp->alive[k].endpoint) == 0);
            FUZZ_ASSERT(strcmp(all->alive[i].public_key, tcp->alive[k].public_key) == 0);
            k++;
        }
        FUZZ_ASSERT(k == tcp->nalive);
        /* every ipc:// member kept by one is an entry the other refused */
        FUZZ_ASSERT(tcp->rejected >= all->rejected + (all->nalive - tcp->nalive));
    }
    mt_remote_info_destroy(&tcp);
    mt_remote_info_destroy(&all);
    /* The raw differential of the other fuzzers, for inputs of a sane
       size (issue 9's 16 MiB seed would spend seconds turning 2^24 nils
       into JSON). */
    if (size <= 1024 * 1024)
        fuzz_check_raw(data, size);
    return 0;
}
