/*  test_codec_cluster_info.c — a remote cluster's cluster.info answer as
    untrusted input (mt_remote_info_decode / _parse, codec_cluster_info.c):
    members kept (alive, valid, distinct, sorted), garbage skipped and
    counted, answers refused as a whole, the member cap, and the shape of
    issue 9's crash: 2^24+3 members, nearly all nil. */
#include "mt_check.h"
#include <check.h>
#include <stdlib.h>

#include "codec_testutil.h"
#include "mt_codec.h"

#define UUID "0d3c4a5e-1111-2222-3333-444455556666"
#define KEY_A "d+4zjhnQHKsYHMIHv0F1ndkDEHmgsRdU3oZIWA&^"
#define KEY_B ":(rw/VnL?j:9ZT<eIW.zs39auzBlvx[QDCh38]Tr"

static int decode(const char *json, bool allow_ipc, mt_remote_info_t **out, char *err)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack(json, &buf);
    int rc = mt_remote_info_decode(buf.data, buf.size, allow_ipc, out, err, 200);
    msgpack_sbuffer_destroy(&buf);
    if (rc != MT_OK)
        ck_assert_ptr_null(*out);
    return rc;
}

static mt_remote_info_t *decode_ok(const char *json, bool allow_ipc)
{
    mt_remote_info_t *info;
    char err[200];
    int rc = decode(json, allow_ipc, &info, err);
    ck_assert_msg(rc == MT_OK, "%s", err);
    return info;
}

#define M(ep) "{'replica_id':'r','endpoint':'" ep "','pub_endpoint':'tcp://p:1','alive':true}"

START_TEST(members_kept_sorted)
{
    mt_remote_info_t *info = decode_ok(
        "{'cluster_uuid':'" UUID "','replica_id':'b1','members':["
        M("tcp://10.0.0.3:7400") "," M("tcp://10.0.0.1:7400") ","
        "{'endpoint':'tcp://10.0.0.9:7400','alive':false},"
        "{'endpoint':'tcp://10.0.0.2:7400','alive':true,'public_key':'" KEY_A "',"
        "'cluster_uuid':'" UUID "'}]}", false);
    ck_assert_str_eq(info->cluster_uuid, UUID);
    ck_assert_uint_eq(info->listed, 4);
    ck_assert_uint_eq(info->rejected, 0);
    ck_assert_uint_eq(info->nalive, 3);
    ck_assert_str_eq(info->alive[0].endpoint, "tcp://10.0.0.1:7400");
    ck_assert_str_eq(info->alive[1].endpoint, "tcp://10.0.0.2:7400");
    ck_assert_str_eq(info->alive[2].endpoint, "tcp://10.0.0.3:7400");
    ck_assert_str_eq(info->alive[0].public_key, "");
    ck_assert_str_eq(info->alive[1].public_key, KEY_A);
    mt_remote_info_destroy(&info);
    ck_assert_ptr_null(info);

    /* no members at all is an answer (an empty list) */
    info = decode_ok("{'cluster_uuid':'abc','members':[]}", false);
    ck_assert_uint_eq(info->nalive, 0);
    mt_remote_info_destroy(&info);
}
END_TEST

START_TEST(duplicates_first_wins)
{
    mt_remote_info_t *info = decode_ok(
        "{'cluster_uuid':'" UUID "','members':["
        "{'endpoint':'tcp://h:2','alive':true,'public_key':'" KEY_A "'},"
        "{'endpoint':'tcp://h:1','alive':true},"
        "{'endpoint':'tcp://h:2','alive':true,'public_key':'" KEY_B "'},"
        "{'endpoint':'tcp://h:1','alive':true}]}", false);
    ck_assert_uint_eq(info->nalive, 2);
    ck_assert_str_eq(info->alive[0].endpoint, "tcp://h:1");
    ck_assert_str_eq(info->alive[1].endpoint, "tcp://h:2");
    ck_assert_str_eq(info->alive[1].public_key, KEY_A);
    ck_assert_uint_eq(info->rejected, 0);
    mt_remote_info_destroy(&info);
}
END_TEST

/*  Each entry alone among two good members: skipped and counted. */
static const char *const garbage[] = {
    "null", "7", "'tcp://h:1'", "[]", "{}", "{'endpoint':'tcp://x:1'}",
    "{'endpoint':'tcp://x:1','alive':1}", "{'endpoint':'tcp://x:1','alive':'true'}",
    "{'endpoint':'tcp://x:1','alive':null}",
    "{'alive':true}", "{'endpoint':null,'alive':true}", "{'endpoint':7,'alive':true}",
    "{'endpoint':'tcp://x;evil:1','alive':true}", "{'endpoint':'tcp://10.0.0.1:1;x','alive':true}",
    "{'endpoint':'tcp://a b:1','alive':true}", "{'endpoint':'tcp://a\\tb:1','alive':true}",
    "{'endpoint':'tcp://a\\x00b:1','alive':true}", "{'endpoint':'tcp://a\\xff:1','alive':true}",
    "{'endpoint':'tcp://\\u00e9:1','alive':true}", "{'endpoint':'tcp://x:0','alive':true}",
    "{'endpoint':'tcp://x:99999','alive':true}", "{'endpoint':'tcp://x','alive':true}",
    "{'endpoint':'http://x:1','alive':true}", "{'endpoint':'','alive':true}",
    "{'endpoint':'ipc:///tmp/x','alive':true}",            /* not allowed here */
    "{'endpoint':'tcp://x:1','alive':true,'public_key':'short'}",
    "{'endpoint':'tcp://x:1','alive':true,'public_key':7}",
    "{'endpoint':'tcp://x:1','alive':true,'public_key':'" KEY_A "~'}",
    "{'endpoint':'tcp://x:1','alive':true,'public_key':'d+4zjhnQHKsYHMIHv0F1ndkDEHmgsRdU3oZIWA&\\x00'}",
    "{'endpoint':'tcp://x:1','alive':true,'cluster_uuid':'other'}",
    "{'endpoint':'tcp://x:1','alive':true,'cluster_uuid':5}",
};

START_TEST(garbage_members_skipped)
{
    char json[1024];
    snprintf(json, sizeof json, "{'cluster_uuid':'" UUID "','members':[" M("tcp://good:2") ",%s,"
             M("tcp://good:1") "]}", garbage[_i]);
    mt_remote_info_t *info = decode_ok(json, false);
    ck_assert_uint_eq(info->listed, 3);
    ck_assert_msg(info->rejected == 1, "%s: rejected %u", garbage[_i], info->rejected);
    ck_assert_uint_eq(info->nalive, 2);
    ck_assert_str_eq(info->alive[0].endpoint, "tcp://good:1");
    ck_assert_str_eq(info->alive[1].endpoint, "tcp://good:2");
    mt_remote_info_destroy(&info);
}
END_TEST

START_TEST(ipc_when_allowed)
{
    const char *json = "{'cluster_uuid':'u','members':[" M("ipc:///run/b0.sock") ","
                       M("tcp://h:1") "]}";
    mt_remote_info_t *info = decode_ok(json, true);
    ck_assert_uint_eq(info->nalive, 2);
    ck_assert_str_eq(info->alive[0].endpoint, "ipc:///run/b0.sock");
    mt_remote_info_destroy(&info);
    info = decode_ok(json, false);
    ck_assert_uint_eq(info->nalive, 1);
    ck_assert_uint_eq(info->rejected, 1);
    mt_remote_info_destroy(&info);
}
END_TEST

typedef struct {
    const char *json;
    const char *err;
} refused_t;

static const refused_t refused[] = {
    { "[1,2]", "cluster.info: the result is not a map" },
    { "'x'", "cluster.info: the result is not a map" },
    { "{'members':[]}", "cluster.info: cluster_uuid must be 1-36 letters, digits or '-'" },
    { "{'cluster_uuid':null,'members':[]}",
      "cluster.info: cluster_uuid must be 1-36 letters, digits or '-'" },
    { "{'cluster_uuid':'','members':[]}",
      "cluster.info: cluster_uuid must be 1-36 letters, digits or '-'" },
    { "{'cluster_uuid':'a b','members':[]}",
      "cluster.info: cluster_uuid must be 1-36 letters, digits or '-'" },
    { "{'cluster_uuid':'" UUID "x','members':[]}",
      "cluster.info: cluster_uuid must be 1-36 letters, digits or '-'" },
    { "{'cluster_uuid':'\\u00e9','members':[]}",
      "cluster.info: cluster_uuid must be 1-36 letters, digits or '-'" },
    { "{'cluster_uuid':7,'members':[]}",
      "cluster.info: cluster_uuid must be 1-36 letters, digits or '-'" },
    { "{'cluster_uuid':'u'}", "cluster.info: members must be an array" },
    { "{'cluster_uuid':'u','members':null}", "cluster.info: members must be an array" },
    { "{'cluster_uuid':'u','members':{}}", "cluster.info: members must be an array" },
    { "{'cluster_uuid':'u','members':'tcp://h:1'}", "cluster.info: members must be an array" },
};

START_TEST(answers_refused)
{
    mt_remote_info_t *info;
    char err[200];
    ck_assert_int_eq(decode(refused[_i].json, true, &info, err), MT_EBADREQ);
    ck_assert_str_eq(err, refused[_i].err);
}
END_TEST

START_TEST(not_msgpack)
{
    mt_remote_info_t *info = (mt_remote_info_t *) 1;
    char err[200];
    static const char *const bodies[] = { "", "\xc1", "\x81", "\xdd\xff\xff\xff\xff",
                                          "{\"cluster_uuid\":1}", "\x80\x80" };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        size_t n = strlen(bodies[i]);
        ck_assert_int_eq(mt_remote_info_decode(bodies[i], n, true, &info, err, sizeof err),
                         MT_EBADREQ);
        ck_assert_ptr_null(info);
        ck_assert_uint_gt(strlen(err), 0);
    }
    ck_assert_int_eq(mt_remote_info_parse(NULL, true, &info, err, sizeof err), MT_EBADREQ);
}
END_TEST

/*  n alive members tcp://h:1 ... (plus `dups` repeats of the first). */
static int members_n(uint32_t n, uint32_t dups, mt_remote_info_t **info, char *err)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "cluster_uuid", 12);
    msgpack_pack_str_with_body(&pk, "u", 1);
    msgpack_pack_str_with_body(&pk, "members", 7);
    msgpack_pack_array(&pk, n + dups);
    for (uint32_t i = 0; i < n + dups; i++) {
        char ep[32];
        int len = snprintf(ep, sizeof ep, "tcp://h:%u", i < n ? i + 1 : 1);
        msgpack_pack_map(&pk, 2);
        msgpack_pack_str_with_body(&pk, "endpoint", 8);
        msgpack_pack_str_with_body(&pk, ep, (size_t) len);
        msgpack_pack_str_with_body(&pk, "alive", 5);
        msgpack_pack_true(&pk);
    }
    int rc = mt_remote_info_decode(buf.data, buf.size, false, info, err, 200);
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

START_TEST(member_cap)
{
    mt_remote_info_t *info;
    char err[200];
    ck_assert_int_eq(members_n(MT_RC_NODES_MAX, 0, &info, err), MT_OK);
    ck_assert_uint_eq(info->nalive, MT_RC_NODES_MAX);
    for (uint32_t i = 1; i < info->nalive; i++)
        ck_assert_int_lt(strcmp(info->alive[i - 1].endpoint, info->alive[i].endpoint), 0);
    mt_remote_info_destroy(&info);
    /* duplicates do not count against the cap */
    ck_assert_int_eq(members_n(MT_RC_NODES_MAX, 5000, &info, err), MT_OK);
    ck_assert_uint_eq(info->nalive, MT_RC_NODES_MAX);
    ck_assert_uint_eq(info->listed, MT_RC_NODES_MAX + 5000);
    mt_remote_info_destroy(&info);
    /* one more distinct alive member: the whole answer is refused */
    ck_assert_int_eq(members_n(MT_RC_NODES_MAX + 1, 0, &info, err), MT_EBADREQ);
    ck_assert_str_eq(err, "cluster.info: more than 256 alive members");
    ck_assert_ptr_null(info);
}
END_TEST

/*  Issue 9: 2^24+3 members, all nil but the last four, valid and alive (a
    16 MiB body). The old prober allocated for 2^24+3 endpoints in 32-bit
    arithmetic (about 1 KiB) and wrote four past it. Now: four members, no
    allocation that depends on the count. */
START_TEST(issue9_huge_member_count)
{
    const uint32_t n = (1u << 24) + 3;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "cluster_uuid", 12);
    msgpack_pack_str_with_body(&pk, UUID, strlen(UUID));
    msgpack_pack_str_with_body(&pk, "members", 7);
    msgpack_pack_array(&pk, n);
    size_t at = buf.size;
    char *nils = malloc(n - 4);
    memset(nils, 0xc0, n - 4);
    msgpack_sbuffer_write(&buf, nils, n - 4);
    free(nils);
    ck_assert_uint_eq(buf.size - at, n - 4);
    for (int i = 0; i < 4; i++) {
        char ep[32];
        int len = snprintf(ep, sizeof ep, "tcp://10.0.0.%d:7400", 4 - i);
        msgpack_pack_map(&pk, 2);
        msgpack_pack_str_with_body(&pk, "endpoint", 8);
        msgpack_pack_str_with_body(&pk, ep, (size_t) len);
        msgpack_pack_str_with_body(&pk, "alive", 5);
        msgpack_pack_true(&pk);
    }
    ck_assert_uint_gt(buf.size, 16u << 20);
    mt_remote_info_t *info;
    char err[200];
    int rc = mt_remote_info_decode(buf.data, buf.size, false, &info, err, sizeof err);
    ck_assert_msg(rc == MT_OK, "%s", err);
    ck_assert_uint_eq(info->listed, n);
    ck_assert_uint_eq(info->rejected, n - 4);
    ck_assert_uint_eq(info->nalive, 4);
    ck_assert_str_eq(info->alive[0].endpoint, "tcp://10.0.0.1:7400");
    ck_assert_str_eq(info->alive[3].endpoint, "tcp://10.0.0.4:7400");
    mt_remote_info_destroy(&info);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("codec_cluster_info");
    TCase *tc = tcase_create("cluster_info");
    tcase_add_test(tc, members_kept_sorted);
    tcase_add_test(tc, duplicates_first_wins);
    tcase_add_loop_test(tc, garbage_members_skipped, 0, sizeof garbage / sizeof garbage[0]);
    tcase_add_test(tc, ipc_when_allowed);
    tcase_add_loop_test(tc, answers_refused, 0, sizeof refused / sizeof refused[0]);
    tcase_add_test(tc, not_msgpack);
    tcase_add_test(tc, member_cap);
    tcase_add_test(tc, issue9_huge_member_count);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mt_check_run(make_suite());
}
