/*  test_bus.c — the change-notice bus (transport/bus.c) with real zmq
    sockets in one process: the bus under test ("a") subscribes to a peer
    ("b") that the test plays with an XPUB socket, which tells the test when
    the bus's subscription has arrived (no sleep for PUB/SUB's slow joiner).
    Probes stand in for the directory (MT_NODE_MERGE) and the reload actor
    (MT_NODE_RELOAD). What the bus did is read from its counters after a
    later notice's merge has arrived (one thread handles both, in order).

    Cases:
      in_order_merges          seq 1, 2, 3 from a peer: merged, no reload
      gap_asks_reload          a missing seq: merged all the same, and a reload
      late_join_and_restart    a peer first seen past seq 1, a seq that goes
                               back (the peer restarted): a reload each
      own_notices_ignored      a notice with our own replica id: not merged,
                               its seq not tracked
      horizon                  a revision beyond the horizon by more than the
                               margin: not merged, counted, a reload instead
      publishes_local_only     MT_NODE_CHANGED: local changes go out with the
                               next seq and raise the horizon; learned ones
                               are not published */
#include "mt_bus.h"
#include "mt_check.h"
#include "mt_codec.h"
#include "mt_node_msg.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#define T 30000                     /* bounds a hang only */
#define BUS_EP "inproc://test-bus-a"
#define PEER_EP "inproc://test-bus-b"

static mt_runtime_t *rt;
static mt_probe_t *directory, *reload;
static mt_bus_counters_t ctr;
static mt_actor_t *bus;
static zsock_t *peer;

static void setup(void)
{
    rt = mt_runtime_new(NULL);
    ck_assert_ptr_nonnull(rt);
    directory = mt_probe_new(rt);
    reload = mt_probe_new(rt);
    memset(&ctr, 0, sizeof ctr);
    mt_bus_opts_t o = {
        .replica_id = "a", .endpoint = BUS_EP, .subscribe = true, .counters = &ctr,
        .directory = mt_probe_actor(directory), .reload = mt_probe_actor(reload),
    };
    char err[256];
    ck_assert_msg(mt_bus_new(rt, &o, &bus, err, sizeof err) == MT_OK, "%s", err);

    peer = zsock_new(ZMQ_XPUB);
    ck_assert_ptr_nonnull(peer);
    ck_assert_int_ge(zsock_bind(peer, PEER_EP), 0);
    zsock_set_rcvtimeo(peer, T);
    mt_msg_t *m = mt_bus_peers_new(1);
    mt_bus_peers_t *p = mt_msg_data(m);
    snprintf(p->peers[0].replica_id, sizeof p->peers[0].replica_id, "b");
    snprintf(p->peers[0].pub_endpoint, sizeof p->peers[0].pub_endpoint, PEER_EP);
    ck_assert_int_eq(mt_send(bus, m), MT_OK);
    /*  XPUB hands the subscription up: from now on nothing is lost. */
    zframe_t *sub = zframe_recv(peer);
    ck_assert_msg(sub, "the bus did not subscribe to its peer");
    ck_assert_uint_eq(zframe_size(sub), 1);
    ck_assert_int_eq(zframe_data(sub)[0], 1);
    zframe_destroy(&sub);
}

static void teardown(void)
{
    mt_stop(bus, 0);
    mt_actor_unref(&bus);
    mt_probe_destroy(&directory);
    mt_probe_destroy(&reload);
    mt_runtime_destroy(&rt);        /* the bus's sockets close on its thread */
    zsock_destroy(&peer);
}

/*  A delete notice of node n1 at revision, from replica with seq. */
static void publish(const char *replica, uint64_t seq, int64_t revision)
{
    mt_node_changed_t c = { .change = MT_NODE_DELETED, .local = true, .revision = revision };
    snprintf(c.view.id, sizeof c.view.id, "n1");
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_codec_encode_node_notice(&buf, replica, seq, &c);
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "node/n1");
    zmsg_addmem(m, buf.data, buf.size);
    ck_assert_int_eq(zmsg_send(&m, peer), 0);
    msgpack_sbuffer_destroy(&buf);
}

/*  The next merge the directory gets: the notice of revision. */
static void merged(int64_t revision)
{
    mt_msg_t *m = mt_probe_expect(directory, MT_NODE_MERGE, T);
    ck_assert_msg(m, "no merge for revision %lld", (long long) revision);
    mt_node_merge_t *g = mt_msg_data(m);
    ck_assert_str_eq(g->id, "n1");
    ck_assert(g->deleted);
    ck_assert_int_eq(g->deleted_revision, revision);
    mt_msg_free(m);
}

static void reload_asked(void)
{
    mt_msg_t *m = mt_probe_expect(reload, MT_NODE_RELOAD, T);
    ck_assert_msg(m, "no reload asked");
    mt_msg_free(m);
}

static uint64_t count(_Atomic uint64_t *c)
{
    return atomic_load(c);
}

START_TEST(in_order_merges)
{
    for (uint64_t seq = 1; seq <= 3; seq++) {
        publish("b", seq, 10 + (int64_t) seq);
        merged(10 + (int64_t) seq);
    }
    ck_assert_uint_eq(count(&ctr.gaps), 0);
    ck_assert_uint_eq(count(&ctr.received), 3);
    ck_assert_uint_eq(count(&ctr.peers), 1);
}
END_TEST

START_TEST(gap_asks_reload)
{
    publish("b", 1, 11);
    merged(11);
    publish("b", 2, 12);
    merged(12);
    publish("b", 4, 14);            /* 3 was lost */
    merged(14);
    ck_assert_uint_eq(count(&ctr.gaps), 1);
    reload_asked();
    publish("b", 5, 15);
    merged(15);
    ck_assert_uint_eq(count(&ctr.gaps), 1);
}
END_TEST

START_TEST(late_join_and_restart)
{
    publish("b", 7, 17);            /* 1..6 were before we subscribed */
    merged(17);
    ck_assert_uint_eq(count(&ctr.gaps), 1);
    reload_asked();
    publish("b", 8, 18);
    merged(18);
    ck_assert_uint_eq(count(&ctr.gaps), 1);
    publish("b", 1, 19);            /* b restarted */
    merged(19);
    ck_assert_uint_eq(count(&ctr.gaps), 2);
    reload_asked();
}
END_TEST

START_TEST(own_notices_ignored)
{
    publish("a", 5, 50);            /* ours (an echo): not merged, seq not tracked */
    publish("b", 1, 11);
    merged(11);                     /* the first merge is b's */
    ck_assert_uint_eq(count(&ctr.received), 2);
    ck_assert_uint_eq(count(&ctr.gaps), 0);
}
END_TEST

START_TEST(horizon)
{
    atomic_store(&ctr.horizon, 100);
    publish("b", 1, 100 + MT_BUS_REVISION_MARGIN + 1);
    reload_asked();
    publish("b", 2, 100 + MT_BUS_REVISION_MARGIN);
    merged(100 + MT_BUS_REVISION_MARGIN);   /* the first merge: the forged one was not */
    ck_assert_uint_eq(count(&ctr.implausible), 1);
    ck_assert_uint_eq(count(&ctr.received), 2);
}
END_TEST

static mt_msg_t *change(bool local, int64_t revision)
{
    mt_node_view_t v = { 0 };
    snprintf(v.id, sizeof v.id, "n2");
    mt_msg_t *m = mt_node_changed_new(MT_NODE_DELETED, revision, &v);
    mt_node_changed(m)->local = local;
    return m;
}

/*  The next notice a subscriber gets: its seq (and its revision). */
static bool next_notice(zsock_t *sub, uint64_t *seq, int64_t *revision)
{
    zmsg_t *m = zmsg_recv(sub);
    if (!m)
        return false;
    ck_assert_uint_eq(zmsg_size(m), 2);
    char *topic = zmsg_popstr(m);
    ck_assert_str_eq(topic, "node/n2");
    free(topic);
    zframe_t *body = zmsg_first(m);
    mt_notice_t n;
    char err[200];
    ck_assert_msg(mt_codec_decode_notice(zframe_data(body), zframe_size(body), &n, err,
                                         sizeof err) == MT_OK, "%s", err);
    ck_assert_str_eq(n.replica, "a");
    *seq = n.seq;
    *revision = n.revision;
    mt_msg_free(n.merge);
    mt_msg_free(n.rc_merge);
    zmsg_destroy(&m);
    return true;
}

START_TEST(publishes_local_only)
{
    zsock_t *sub = zsock_new(ZMQ_SUB);
    ck_assert_ptr_nonnull(sub);
    zsock_set_subscribe(sub, "");
    zsock_set_rcvtimeo(sub, 100);
    ck_assert_int_eq(zsock_connect(sub, BUS_EP), 0);
    /*  PUB drops what it sends before a subscription arrives: publish
        until one comes through (each with the next seq). */
    uint64_t sent = 0, seq = 0;
    int64_t revision;
    bool through = false;
    while (!through) {
        ck_assert_msg(sent < T / 100, "no notice came through");
        ck_assert_int_eq(mt_send(bus, change(true, (int64_t) ++sent)), MT_OK);
        through = next_notice(sub, &seq, &revision);
    }
    /*  Those sent after the one that came through come too. */
    zsock_set_rcvtimeo(sub, T);
    while (seq < sent)
        ck_assert(next_notice(sub, &seq, &revision));
    ck_assert_int_eq(mt_send(bus, change(true, 1000)), MT_OK);
    ck_assert_int_eq(mt_send(bus, change(false, 1001)), MT_OK);  /* learned: not ours */
    ck_assert_int_eq(mt_send(bus, change(true, 1002)), MT_OK);
    ck_assert(next_notice(sub, &seq, &revision));
    ck_assert_uint_eq(seq, sent + 1);
    ck_assert_int_eq(revision, 1000);
    ck_assert(next_notice(sub, &seq, &revision));
    ck_assert_uint_eq(seq, sent + 2);
    ck_assert_int_eq(revision, 1002);
    ck_assert_uint_eq(count(&ctr.sent), sent + 2);
    ck_assert_int_eq(atomic_load(&ctr.horizon), 1002);     /* our own commits' revisions */
    zsock_destroy(&sub);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bus");
    TCase *tc = tcase_create("bus");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, in_order_merges);
    tcase_add_test(tc, gap_asks_reload);
    tcase_add_test(tc, late_join_and_restart);
    tcase_add_test(tc, own_notices_ignored);
    tcase_add_test(tc, horizon);
    tcase_add_test(tc, publishes_local_only);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
