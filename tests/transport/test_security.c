/*  test_security.c — the trust store, the role table, and the ZAP handler
    over real CURVE sockets in one process (the multi-process tests are
    tests/service/test_auth.c). */
#include "mt_authz.h"
#include "mt_security.h"

#include "mt_check.h"
#include <check.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mt_test_security.%d", (int) getpid());
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s/trust", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/*  A certificate in dir/NAME (+ _secret), trusted (its public file in
    dir/trust) when `trusted`. Returns its public key (static). */
static const char *make(const char *name, const char *role, const char *node, bool trusted)
{
    static char key[41];
    zcert_t *c = zcert_new();
    if (role)
        zcert_set_meta(c, "role", "%s", role);
    if (node)
        zcert_set_meta(c, "node", "%s", node);
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_int_eq(zcert_save(c, path), 0);
    if (trusted) {
        snprintf(path, sizeof path, "%s/trust/%s", dir, name);
        ck_assert_int_eq(zcert_save_public(c, path), 0);
    }
    snprintf(key, sizeof key, "%s", zcert_public_txt(c));
    zcert_destroy(&c);
    return key;
}

static void write_file(const char *name, const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%s/trust/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(trust_reads_roles_and_skips_bad_files)
{
    char admin[41], node[41], noname[41], badrole[41];
    snprintf(admin, sizeof admin, "%s", make("admin", "admin", NULL, true));
    snprintf(node, sizeof node, "%s", make("n1", "node", "n1", true));
    snprintf(noname, sizeof noname, "%s", make("n2", "node", NULL, true));
    snprintf(badrole, sizeof badrole, "%s", make("root", "root", NULL, true));
    make("untrusted", "admin", NULL, false);
    /*  A secret does not belong in a trust store: that certificate is refused. */
    char sneaky[41], cmd[300];
    snprintf(sneaky, sizeof sneaky, "%s", make("sneaky", "admin", NULL, false));
    snprintf(cmd, sizeof cmd, "cp %s/sneaky %s/sneaky_secret %s/trust/", dir, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    write_file("garbage", "\x01\x02 not a certificate {{{\n");
    write_file("empty", "");
    mt_trust_t *t = mt_trust_new(NULL, 0);
    ck_assert_ptr_null(t);
    char path[400];
    snprintf(path, sizeof path, "%s/trust", dir);
    t = mt_trust_new(path, 50);
    ck_assert_ptr_nonnull(t);
    char who[MT_NODE_ID_MAX + 1];
    ck_assert_int_eq(mt_trust_lookup(t, admin, who), MT_ROLE_ADMIN);
    ck_assert_str_eq(who, "");
    ck_assert_int_eq(mt_trust_lookup(t, node, who), MT_ROLE_NODE);
    ck_assert_str_eq(who, "n1");
    ck_assert_int_eq(mt_trust_lookup(t, noname, who), MT_ROLE_NONE);    /* node without id */
    ck_assert_int_eq(mt_trust_lookup(t, badrole, who), MT_ROLE_NONE);
    ck_assert_int_eq(mt_trust_lookup(t, sneaky, who), MT_ROLE_NONE);
    ck_assert_int_eq(mt_trust_lookup(t, "short", who), MT_ROLE_NONE);
    ck_assert_int_eq(mt_trust_lookup(t, NULL, who), MT_ROLE_NONE);
    ck_assert_uint_eq(mt_trust_size(t), 2);

    /*  Removal and addition are seen after the refresh interval. */
    snprintf(path, sizeof path, "%s/trust/admin", dir);
    ck_assert_int_eq(unlink(path), 0);
    char late[41];
    snprintf(late, sizeof late, "%s", make("late", "reader", NULL, true));
    /*  The store's thread rescans every 50 ms here: seen within a few
        scans (a loaded machine may delay one). */
    for (int k = 0; k < 100 && (mt_trust_lookup(t, admin, who) != MT_ROLE_NONE
                                || mt_trust_lookup(t, late, who) != MT_ROLE_READER); k++)
        zclock_sleep(20);
    ck_assert_int_eq(mt_trust_lookup(t, admin, who), MT_ROLE_NONE);
    ck_assert_int_eq(mt_trust_lookup(t, late, who), MT_ROLE_READER);
    mt_trust_destroy(&t);
    ck_assert_ptr_null(t);
}
END_TEST

static mt_request_t node_req(mt_op_t op, mt_msg_t *msg)
{
    return (mt_request_t) { .op = op, .msg = msg };
}

START_TEST(authz_table)
{
    char err[200];
    mt_msg_t *get = mt_node_req_get("n1");
    mt_request_t r = node_req(MT_OP_NODE_GET, get);
    ck_assert_int_eq(mt_authz_check(MT_ROLE_ADMIN, "", &r, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_authz_check(MT_ROLE_READER, "", &r, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_authz_check(MT_ROLE_NODE, "n1", &r, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_authz_check(MT_ROLE_NODE, "n2", &r, err, sizeof err), MT_EUNAUTH);
    ck_assert_ptr_nonnull(strstr(err, "n2"));
    ck_assert_int_eq(mt_authz_check(MT_ROLE_REPLICA, "", &r, err, sizeof err), MT_EUNAUTH);
    ck_assert_int_eq(mt_authz_check(MT_ROLE_NONE, "", &r, err, sizeof err), MT_EUNAUTH);
    mt_msg_free(get);

    mt_str_pair_t labels[] = { { "metactor.io/scheduling-disabled", "false" } };
    mt_node_reg_t tmpl = { .nlabels = 1, .labels = labels };
    mt_msg_t *reg = mt_node_req_register("n1", mt_node_reg_build(&tmpl));
    r = node_req(MT_OP_NODE_REGISTER, reg);
    ck_assert_int_eq(mt_authz_check(MT_ROLE_NODE, "n1", &r, err, sizeof err), MT_EUNAUTH);
    ck_assert_ptr_nonnull(strstr(err, "metactor.io/"));
    ck_assert_int_eq(mt_authz_check(MT_ROLE_ADMIN, "", &r, err, sizeof err), MT_OK);
    mt_msg_free(reg);

    r = (mt_request_t) { .op = MT_OP_REPLICA_STATS };
    ck_assert_int_eq(mt_authz_check(MT_ROLE_REPLICA, "", &r, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_authz_check(MT_ROLE_NODE, "n1", &r, err, sizeof err), MT_EUNAUTH);
    r = (mt_request_t) { .op = MT_OP_CLUSTER_INFO };
    ck_assert_int_eq(mt_authz_check(MT_ROLE_NODE, "n1", &r, err, sizeof err), MT_OK);
    r = (mt_request_t) { .op = MT_OP_RC_ADD };
    ck_assert_int_eq(mt_authz_check(MT_ROLE_READER, "", &r, err, sizeof err), MT_EUNAUTH);
}
END_TEST

/*  A client of role `who` (a certificate made by make) to a served socket. */
static zsock_t *client(int type, const char *name, const char *server_key, const char *ep)
{
    zsock_t *s = zsock_new(type);
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    zcert_t *c = zcert_load(path);
    ck_assert_ptr_nonnull(c);
    zcert_apply(c, s);
    zcert_destroy(&c);
    zsock_set_curve_serverkey(s, server_key);
    zsock_set_linger(s, 0);
    zsock_set_rcvtimeo(s, 1500);
    if (type == ZMQ_SUB)
        zsock_set_subscribe(s, "");
    ck_assert_int_eq(zsock_connect(s, "%s", ep), 0);
    return s;
}

START_TEST(zap_admits_by_domain_and_tells_the_sender)
{
    make("server", "replica", NULL, true);
    make("reader", "reader", NULL, true);
    make("n1", "node", "n1", true);
    make("stranger", "admin", NULL, false);
    char cert[400], trust[400];
    snprintf(cert, sizeof cert, "%s/server", dir);
    snprintf(trust, sizeof trust, "%s/trust", dir);
    mt_security_t *sec = NULL;
    char err[256];
    ck_assert_int_eq(mt_security_new(cert, trust, &sec, err, sizeof err), MT_OK);
    char key[41];
    snprintf(key, sizeof key, "%s", mt_security_public_key(sec));

    zsock_t *router = zsock_new(ZMQ_ROUTER);
    mt_security_serve(sec, router, MT_ZAP_REQUESTS);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    ck_assert_int_gt(port, 0);
    zsock_set_rcvtimeo(router, 1500);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);

    /*  A node certificate reaches the request endpoint; the frame says who. */
    zsock_t *n1 = client(ZMQ_DEALER, "n1", key, ep);
    zstr_send(n1, "hello");
    zmq_msg_t frames[2];            /* routing id, body: as the gateway reads them */
    for (int i = 0; i < 2; i++) {
        zmq_msg_init(&frames[i]);
        ck_assert_int_ge(zmq_msg_recv(&frames[i], zsock_resolve(router), 0), 0);
    }
    char node[MT_NODE_ID_MAX + 1];
    ck_assert_int_eq(mt_security_sender(sec, &frames[1], node), MT_ROLE_NODE);
    ck_assert_str_eq(node, "n1");
    for (int i = 0; i < 2; i++)
        zmq_msg_close(&frames[i]);
    zmsg_t *m;
    /*  A stranger does not. */
    zsock_t *stranger = client(ZMQ_DEALER, "stranger", key, ep);
    zstr_send(stranger, "hello");
    m = zmsg_recv(router);
    ck_assert_ptr_null(m);
    ck_assert_uint_ge(mt_security_refused(sec), 1);

    /*  The notice stream admits readers, not nodes. */
    zsock_t *pub = zsock_new(ZMQ_PUB);
    mt_security_serve(sec, pub, MT_ZAP_NOTICES);
    port = zsock_bind(pub, "tcp://127.0.0.1:*");
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    zsock_t *rd = client(ZMQ_SUB, "reader", key, ep), *nd = client(ZMQ_SUB, "n1", key, ep);
    char *got = NULL;
    for (int k = 0; k < 30 && !got; k++) {
        zstr_send(pub, "notice");
        zsock_set_rcvtimeo(rd, 100);
        got = zstr_recv(rd);
    }
    ck_assert_ptr_nonnull(got);
    zstr_free(&got);
    zstr_send(pub, "notice");
    zsock_set_rcvtimeo(nd, 500);
    got = zstr_recv(nd);
    ck_assert_ptr_null(got);

    zsock_destroy(&rd);
    zsock_destroy(&nd);
    zsock_destroy(&pub);
    zsock_destroy(&n1);
    zsock_destroy(&stranger);
    zsock_destroy(&router);
    mt_security_destroy(&sec);
}
END_TEST

START_TEST(security_refuses_a_certificate_without_its_secret)
{
    make("pubonly", "replica", NULL, true);
    char cert[400], cmd[500], trust[400];
    snprintf(cert, sizeof cert, "%s/pubonly", dir);
    snprintf(cmd, sizeof cmd, "rm %s_secret", cert);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(trust, sizeof trust, "%s/trust", dir);
    mt_security_t *sec = NULL;
    char err[256];
    ck_assert_int_eq(mt_security_new(cert, trust, &sec, err, sizeof err), MT_EINVAL);
    ck_assert_ptr_null(sec);
    ck_assert_ptr_nonnull(strstr(err, "_secret"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security");
    TCase *tc = tcase_create("security");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, trust_reads_roles_and_skips_bad_files);
    tcase_add_test(tc, authz_table);
    tcase_add_test(tc, zap_admits_by_domain_and_tells_the_sender);
    tcase_add_test(tc, security_refuses_a_certificate_without_its_secret);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
