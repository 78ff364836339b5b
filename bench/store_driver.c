/*  store_driver.c — the driver of mt_bench_store: an actor keeping
    requests in flight through the node directory (see store_bench.h). */
#include "store_bench.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { D_START = MT_MSG_USER + 900, D_DONE };

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

typedef struct {
    drive_opts_t o;
    drive_result_t *r;
    mt_actor_t *dir;                /* borrowed: the service outlives the drive */
    mt_actor_t *coord;              /* borrowed: the main thread's probe */
    double *sent_at;
    uint64_t *ckey;                 /* corr → node, open addressing */
    uint32_t *cval, cmask;
    uint32_t *fq, fq_head, fq_len;  /* free nodes, a ring of nnodes */
    uint32_t outstanding;
    int phase;                      /* 0 warm-up, 1 window, 2 draining */
    double t_start, t_win0;
    uint64_t acks_win0;
    bool stop, done;
} driver_t;

static uint32_t corr_hash(uint64_t corr, uint32_t mask)
{
    return (uint32_t) ((corr * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static void cmap_put(driver_t *d, uint64_t corr, uint32_t node)
{
    uint32_t i = corr_hash(corr, d->cmask);
    while (d->ckey[i])
        i = (i + 1) & d->cmask;
    d->ckey[i] = corr;
    d->cval[i] = node;
}

static bool cmap_take(driver_t *d, uint64_t corr, uint32_t *node)
{
    uint32_t mask = d->cmask, i = corr_hash(corr, mask);
    while (d->ckey[i] != corr) {
        if (!d->ckey[i])
            return false;
        i = (i + 1) & mask;
    }
    *node = d->cval[i];
    d->ckey[i] = 0;
    for (uint32_t j = (i + 1) & mask; d->ckey[j]; j = (j + 1) & mask) {
        uint32_t home = corr_hash(d->ckey[j], mask);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            d->ckey[i] = d->ckey[j];
            d->cval[i] = d->cval[j];
            d->ckey[j] = 0;
            i = j;
        }
    }
    return true;
}

static mt_msg_t *make_request(driver_t *d, uint32_t k)
{
    char id[32];
    node_id(id, sizeof id, k);
    switch (d->o.op) {
    case OP_REGISTER: return mt_node_req_register(id, typical_reg(k, "standard"));
    case OP_HEARTBEAT: return mt_node_req_heartbeat(id, ingest_status());
    case OP_GET: return mt_node_req_get(id);
    }
    return NULL;
}

static void issue(mt_actor_t *self, driver_t *d)
{
    while (!d->stop && d->outstanding < d->o.inflight && d->fq_len > 0) {
        if (d->o.total && d->r->sent == d->o.total) {
            d->stop = true;
            break;
        }
        uint32_t k = d->fq[d->fq_head];
        d->fq_head = (d->fq_head + 1) % d->o.nnodes;
        d->fq_len--;
        d->sent_at[k] = now_s();
        uint64_t corr = mt_ask(self, d->dir, make_request(d, k), ASK_MS);
        cmap_put(d, corr, k);
        d->outstanding++;
        d->r->sent++;
    }
}

static void finish_if_drained(driver_t *d)
{
    if (d->done || !d->stop || d->outstanding)
        return;
    d->done = true;
    if (d->o.total)
        d->r->elapsed_s = now_s() - d->t_start;
    mt_send(d->coord, mt_msg_new(D_DONE, 0));
}

static void answered(mt_actor_t *self, driver_t *d, mt_msg_t *msg)
{
    uint32_t k;
    if (!cmap_take(d, msg->corr, &k))
        return;
    double now = now_s();
    d->outstanding--;
    d->fq[(d->fq_head + d->fq_len) % d->o.nnodes] = k;
    d->fq_len++;
    drive_result_t *r = d->r;
    if (msg->type == MT_MSG_TIMEOUT) {
        if (!r->timeouts++)
            snprintf(r->first_error, sizeof r->first_error, "node %u: no answer in %d ms",
                     k, ASK_MS);
    }
    else {
        mt_node_reply_t *rep = mt_node_reply(msg);
        if (rep->err != MT_OK) {
            if (!r->errors++)
                snprintf(r->first_error, sizeof r->first_error, "node %u: %s: %s", k,
                         mt_err_code(rep->err), rep->message);
        }
        else {
            r->acks++;
            if (d->o.op == OP_GET) {
                if (!rep->view.reg || !rep->view.status)
                    r->incomplete++;
                else {
                    r->reg_size = rep->view.reg->size;
                    r->status_size = rep->view.status->size;
                }
            }
            if (d->phase == 1) {
                if (r->nlat == r->latcap) {
                    r->latcap = r->latcap ? r->latcap * 2 : 65536;
                    r->lat_us = realloc(r->lat_us, r->latcap * sizeof *r->lat_us);
                    if (!r->lat_us)
                        die("out of memory");
                }
                r->lat_us[r->nlat++] = (uint32_t) ((now - d->sent_at[k]) * 1e6);
            }
        }
    }
    if (!d->o.total) {
        if (d->phase == 0 && now - d->t_start >= d->o.warmup_s) {
            d->phase = 1;
            d->t_win0 = now;
            d->acks_win0 = r->acks;
            if (d->o.store)
                mt_store_stats(d->o.store, &r->st0);
            mt_runtime_stats(d->o.rt, &r->rs0);
            cpu_sample(&r->cpu0);
        }
        else if (d->phase == 1
                 && ((now - d->t_win0 >= d->o.window_s && r->acks - d->acks_win0 >= d->o.window_min)
                     || now - d->t_win0 >= d->o.window_max_s)) {
            d->phase = 2;
            r->elapsed_s = now - d->t_win0;
            r->window_acks = r->acks - d->acks_win0;
            if (d->o.store)
                mt_store_stats(d->o.store, &r->st1);
            mt_runtime_stats(d->o.rt, &r->rs1);
            cpu_sample(&r->cpu1);
            d->stop = true;
        }
    }
    issue(self, d);
    finish_if_drained(d);
}

static void driver_behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    driver_t *d = state;
    switch (msg->type) {
    case D_START:
        d->t_start = now_s();
        if (d->o.total) {
            d->phase = 1;
            if (d->o.store)
                mt_store_stats(d->o.store, &d->r->st0);
            mt_runtime_stats(d->o.rt, &d->r->rs0);
        }
        issue(self, d);
        finish_if_drained(d);
        break;
    case MT_NODE_REPLY:
    case MT_MSG_TIMEOUT:
        answered(self, d, msg);
        break;
    default:
        break;
    }
}

/*  Runs one drive to its end on the runtime; the caller's probe gets D_DONE. */
void drive(mt_runtime_t *rt, mt_nodes_t *nodes, const drive_opts_t *o, drive_result_t *r)
{
    memset(r, 0, sizeof *r);
    driver_t *d = calloc(1, sizeof *d);
    if (!d)
        die("out of memory");
    d->o = *o;
    d->o.rt = rt;
    if (d->o.inflight > d->o.nnodes)
        d->o.inflight = d->o.nnodes;
    d->r = r;
    d->dir = mt_nodes_directory(nodes);
    uint32_t cap = 16;
    while (cap < 4 * d->o.inflight)
        cap *= 2;
    d->cmask = cap - 1;
    d->ckey = calloc(cap, sizeof *d->ckey);
    d->cval = calloc(cap, sizeof *d->cval);
    d->sent_at = calloc(o->nnodes, sizeof *d->sent_at);
    d->fq = malloc(o->nnodes * sizeof *d->fq);
    if (!d->ckey || !d->cval || !d->sent_at || !d->fq)
        die("out of memory");
    for (uint32_t k = 0; k < o->nnodes; k++)
        d->fq[k] = k;
    d->fq_len = o->nnodes;

    mt_probe_t *probe = mt_probe_new(rt);
    d->coord = mt_probe_actor(probe);
    mt_spawn_opts_t so = { .behaviour = driver_behaviour, .state = d };
    mt_actor_t *a = mt_spawn_opts(rt, &so);
    if (!a)
        die("cannot spawn the driver");
    mt_send(a, mt_msg_new(D_START, 0));
    mt_msg_t *done = mt_probe_expect(probe, D_DONE, WAIT_MS);
    if (!done)
        die("driver: no done within %d s (sent %" PRIu64 ", answered %" PRIu64 ")",
            WAIT_MS / 1000, r->sent, r->acks + r->errors);
    mt_msg_free(done);
    mt_stop(a, 0);
    mt_actor_unref(&a);
    mt_probe_destroy(&probe);
    /*  The driver has stopped issuing and has nothing outstanding: its state
        is ours again (D_DONE came through the probe's lock). */
    free(d->ckey);
    free(d->cval);
    free(d->sent_at);
    free(d->fq);
    free(d);
}

void drive_check(const char *what, const drive_result_t *r, uint64_t want_acks)
{
    if (r->errors || r->timeouts || (want_acks && r->acks != want_acks) || r->incomplete)
        die("%s: %" PRIu64 " acks (want %" PRIu64 "), %" PRIu64 " errors, %" PRIu64
            " timeouts, %" PRIu64 " incomplete views; first: %s", what, r->acks, want_acks,
            r->errors, r->timeouts, r->incomplete, r->first_error[0] ? r->first_error : "-");
}

void latency_note(const char *what, drive_result_t *r)
{
    if (!r->nlat)
        return;
    qsort(r->lat_us, r->nlat, sizeof *r->lat_us, cmp_u32);
    note("%s latency (send to ack, %zu samples): p50=%.1f ms p90=%.1f ms p99=%.1f ms max=%.1f ms",
         what, r->nlat, r->lat_us[r->nlat / 2] / 1e3, r->lat_us[r->nlat * 9 / 10] / 1e3,
         r->lat_us[r->nlat * 99 / 100] / 1e3, r->lat_us[r->nlat - 1] / 1e3);
}

void runtime_note(const char *what, const drive_result_t *r)
{
    note("%s runtime: sent=%" PRIu64 " delivered=%" PRIu64 " dropped=%" PRIu64
         " steals=%" PRIu64 " parks=%" PRIu64, what,
         r->rs1.msgs_sent - r->rs0.msgs_sent, r->rs1.msgs_delivered - r->rs0.msgs_delivered,
         r->rs1.msgs_dropped - r->rs0.msgs_dropped, r->rs1.steals - r->rs0.steals,
         r->rs1.parks - r->rs0.parks);
}

