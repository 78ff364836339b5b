/*  service_failover.c — mt_bench_service's galera_failover figure (see
    service_galera.c): how long the replica whose Galera node dies goes
    without an acknowledged write, from the SIGKILL itself.

    A (node 1) and C (node 3, the node killed by default) each keep one
    heartbeat in flight, round robin over nodes of their own; after a
    warm-up the node's mariadbd gets SIGKILL from here, the clock read
    just before kill(2) (scripts/galera kill would add its own wait for
    the process to go). The figure ends at the reply to the first of C's
    heartbeats sent after the kill that is acknowledged: C's writer saw
    its connection die, answered what was in flight `unavailable`,
    reconnected (every `reconnect`, 1 s) to the next host of its DSN that
    is Synced, and committed there — once the cluster had evicted the dead
    node (evs.suspect_timeout; commits on the survivors wait until then,
    which A's longest wait shows). B (node 2) only keeps the cluster's
    replicas three. */
#include "service_bench.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES_EACH 64

typedef struct {
    cli_t c;
    const char *prefix;
    int next;                       /* the next node of its own */
    bool in_flight;
    uint64_t rid;
    int64_t sent_us, last_ack_us, longest_wait_us;
    int acked, unavailable;
    bool last_ok;                   /* the last reply's outcome */
} stream_t;

static void node_name(char *out, size_t n, const char *prefix, int k)
{
    snprintf(out, n, "%s-%03d", prefix, k % NODES_EACH);
}

static void stream_send(stream_t *s)
{
    char id[32];
    node_name(id, sizeof id, s->prefix, s->next++);
    cli_begin(&s->c, "node.heartbeat", 2);
    cli_pack_str(&s->c.pk, "id");
    cli_pack_str(&s->c.pk, id);
    cli_pack_str(&s->c.pk, "ready");
    msgpack_pack_true(&s->c.pk);
    cli_send(&s->c);
    s->rid = s->c.rid;
    s->sent_us = now_us();
    s->in_flight = true;
}

/*  Its reply, if one came: 1 acknowledged, 0 an error (`unavailable`; any
    other code ends the run), -1 none. */
static int stream_reply(stream_t *s)
{
    uint64_t rid;
    if (!s->in_flight || cli_recv(&s->c, 0, &rid) != 0 || rid != s->rid)
        return -1;
    s->in_flight = false;
    int64_t t = now_us();
    s->last_ok = cli_result(&s->c, NULL) == 0;
    if (s->last_ok) {
        if (s->last_ack_us && t - s->last_ack_us > s->longest_wait_us)
            s->longest_wait_us = t - s->last_ack_us;
        s->last_ack_us = t;
        s->acked++;
        return 1;
    }
    if (strcmp(s->c.code, "unavailable") != 0)
        bp_die("%s: node.heartbeat: %s", s->c.name, s->c.code);
    s->unavailable++;
    return 0;
}

/*  Keeps both streams going for ms, or until stop() holds. */
static void run(stream_t *st, int n, int64_t until_us, bool (*stop)(void *), void *arg)
{
    while (now_us() < until_us && !(stop && stop(arg))) {
        zmq_pollitem_t it[4];
        for (int i = 0; i < n; i++) {
            if (!st[i].in_flight)
                stream_send(&st[i]);
            it[i] = (zmq_pollitem_t) { st[i].c.sock, 0, ZMQ_POLLIN, 0 };
        }
        if (zmq_poll(it, n, 20) < 0 && errno != EINTR)
            bp_die("poll: %s", zmq_strerror(errno));
        for (int i = 0; i < n; i++)
            if (it[i].revents & ZMQ_POLLIN)
                stream_reply(&st[i]);
        for (int i = 0; i < n; i++)
            if (st[i].in_flight && now_us() - st[i].sent_us > 30 * 1000000LL)
                bp_die("%s: no reply to a heartbeat within 30 s", st[i].c.name);
    }
}

typedef struct {
    stream_t *c;
    int64_t kill_us, first_ok_us;
    int acked_before;
} watch_t;

/*  Stops at C's first acknowledgement of a heartbeat sent after the kill. */
static bool failed_over(void *arg)
{
    watch_t *w = arg;
    if (!w->first_ok_us && w->c->acked > w->acked_before && !w->c->in_flight && w->c->last_ok
        && w->c->sent_us >= w->kill_us)
        w->first_ok_us = w->c->last_ack_us;
    return w->first_ok_us != 0;
}

int fig_galera_failover(void)
{
    long victim = env_long("MT_BENCH_GALERA_KILL", 1, 1, 3);
    g_spread = true;
    bp_proc_t *p[3];
    for (int i = 0; i < 3; i++)
        p[i] = start_replica(i, NULL);
    stream_t st[2] = { { .prefix = "fo-a" }, { .prefix = "fo-c" } };
    int on_victim = (int) victim - 1;                   /* replica i is on node i + 1 */
    int other = on_victim == 0 ? 1 : 0;
    cli_open(&st[0].c, p[other]->name, p[other]->endpoint);
    cli_open(&st[1].c, p[on_victim]->name, p[on_victim]->endpoint);
    for (int i = 0; i < 2; i++)
        cli_wait_ready(&st[i].c, p[i == 0 ? other : on_victim], 60000);
    cli_wait_members(&st[0].c, 3, 30000);
    for (int k = 0; k < NODES_EACH; k++)
        for (int i = 0; i < 2; i++) {
            char id[32];
            node_name(id, sizeof id, st[i].prefix, k);
            reg_node(&st[i].c, id);
        }
    pid_t pid = 0;
    const char *dir = getenv("MT_BENCH_GALERA_DIR");
    char path[600];
    snprintf(path, sizeof path, "%s/node%ld/mysqld.pid", dir ? dir : "", victim);
    FILE *f = dir ? fopen(path, "r") : NULL;
    if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 0 || kill(pid, 0) != 0)
        bp_die("no running node %ld: set MT_BENCH_GALERA_DIR to scripts/galera's directory "
               "(%s)", victim, path);
    fclose(f);
    uint64_t rc0 = cli_stat(&st[1].c, "store_reconnects");

    run(st, 2, now_us() + 2 * 1000000LL, NULL, NULL);  /* warm-up */
    note("before the kill: %s %d acknowledged, %s %d", st[0].c.name, st[0].acked,
         st[1].c.name, st[1].acked);
    for (int i = 0; i < 2; i++)
        st[i].longest_wait_us = 0;
    watch_t w = { .c = &st[1], .acked_before = st[1].acked };
    int unavail0 = st[1].unavailable;
    w.kill_us = now_us();
    if (kill(pid, SIGKILL) != 0)
        bp_die("kill %d: %s", (int) pid, strerror(errno));
    run(st, 2, w.kill_us + 120 * 1000000LL, failed_over, &w);
    if (!w.first_ok_us)
        bp_die("%s was not acknowledged within 120 s of the kill", st[1].c.name);
    /*  A second on, to see the survivors' wait through the eviction. */
    run(st, 2, now_us() + 1000000LL, NULL, NULL);
    note("node %ld (pid %d) SIGKILLed; %s: %d answered unavailable meanwhile, %" PRIu64
         " store reconnects", victim, (int) pid, st[1].c.name, st[1].unavailable - unavail0,
         cli_stat(&st[1].c, "store_reconnects") - rc0);
    note("%s (node %d): longest wait for an acknowledgement from the kill on: %.1f ms, %d "
         "unavailable", st[0].c.name, other + 1, (double) st[0].longest_wait_us / 1e3,
         st[0].unavailable);
    for (int i = 0; i < 3; i++)
        if (!bp_running(p[i]))
            bp_die("%s ended during the run", p[i]->name);
    emit("galera_failover_ms", (double) (w.first_ok_us - w.kill_us) / 1e3, "ms");
    for (int i = 0; i < 2; i++)
        cli_close(&st[i].c);
    return 0;
}
