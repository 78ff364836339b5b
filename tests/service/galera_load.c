/*  galera_load.c — see galera_load.h: the pipelined write load of
    test_galera.c, what it acknowledged, and the watch on every replica's
    list. */
#include "galera_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define WINDOW 8                /* requests in flight per replica */
#define OBSERVE_MS 250

typedef enum { OP_BEAT, OP_LABELS, OP_REG, OP_DELETE } op_kind_t;

/*  One request of the load; ops[rid - 1]. */
typedef struct {
    op_kind_t kind;
    int node, replica;
    char token[40];             /* the label value it sets (labels: w, register: r) */
    int64_t sent_ms;
    bool pending, acked;
    bool after_delete;          /* sent once the node's delete was acknowledged */
    int64_t rev;                /* acknowledged: reg_revision or status_revision */
} op_t;

typedef struct {
    char id[16];
    bool doomed;
    int64_t reg_max, status_max;    /* the highest acknowledged revisions */
    bool deleted;                   /* delete acknowledged (or found done after an unknown outcome) */
    bool delete_sent, delete_pending;
    int delete_unknown;             /* deletes answered unavailable: they may have committed */
} gl_node_t;

/*  What replica i listed last of a node. */
typedef struct {
    bool present, gone;
    int64_t reg, status;
} seen_t;

typedef struct {
    void *sock;
    bool writing;
    int sent, inflight, acked, unavailable, not_found;
    int acked_since_mark;
    int64_t first_ack_ms;
} gl_replica_t;

struct gl_load {
    int n, delete_after;
    bool draining;
    gl_replica_t r[GL_REPLICAS];
    gl_node_t node[GL_NODES];
    seen_t seen[GL_REPLICAS][GL_NODES];
    op_t *ops;
    size_t nops, cap;
    int64_t mark_ms, next_observe_ms;
};

static const char *kind_name(op_kind_t k)
{
    static const char *const names[] = { "node.heartbeat", "node.labels", "node.register",
                                         "node.delete" };
    return names[k];
}

static op_t *new_op(gl_load_t *l, op_kind_t kind, int node, int replica)
{
    if (l->nops == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->ops = realloc(l->ops, l->cap * sizeof *l->ops);
        ck_assert_ptr_nonnull(l->ops);
    }
    op_t *op = &l->ops[l->nops++];
    *op = (op_t) { .kind = kind, .node = node, .replica = replica, .sent_ms = h_now_ms() };
    snprintf(op->token, sizeof op->token, "%s%zu", h_replica(replica)->id, l->nops);
    return op;
}

/* ---- sending ------------------------------------------------------------------------ */

static void send_op(gl_load_t *l, op_t *op)
{
    uint64_t rid = (uint64_t) (op - l->ops) + 1;
    const char *id = l->node[op->node].id;
    msgpack_sbuffer *b = NULL;
    switch (op->kind) {
    case OP_BEAT:
        b = h_body("{s:s, s:U, s:s, s:b}", "op", "node.heartbeat", "rid", rid, "id", id,
                   "ready", 1);
        break;
    case OP_LABELS:
        b = h_body("{s:s, s:U, s:s, s:{s:s}}", "op", "node.labels", "rid", rid, "id", id, "set",
                   "w", op->token);
        break;
    case OP_REG:
        b = h_body("{s:s, s:U, s:{s:s, s:s, s:i, s:{s:s}}}", "op", "node.register", "rid", rid,
                   "node", "id", id, "host_ip", "10.0.0.1", "grpc_port", 9000, "labels", "r",
                   op->token);
        break;
    case OP_DELETE:
        b = h_body("{s:s, s:U, s:s}", "op", "node.delete", "rid", rid, "id", id);
        break;
    }
    gl_replica_t *r = &l->r[op->replica];
    op->pending = true;
    op->after_delete = l->node[op->node].deleted;
    h_raw_dealer_send(r->sock, b->data, b->size);
    msgpack_sbuffer_free(b);
    r->sent++;
    r->inflight++;
}

/*  The replica that writes x's registration and delete: x % n, or the
    next running one (a replica may join the load later). */
static int owner(const gl_load_t *l, int x)
{
    for (int k = 0; k < l->n; k++)
        if (h_running((x + k) % l->n))
            return (x + k) % l->n;
    ck_abort_msg("no replica of the load is running");
    return 0;
}

/*  Replica i's next request: its d* deletes once it has sent delete_after
    requests (again after an unknown outcome), else a mix over the nodes
    whose pattern differs per replica, so that replicas meet on rows. */
static void send_next(gl_load_t *l, int i)
{
    gl_replica_t *r = &l->r[i];
    if (r->sent >= l->delete_after) {
        for (int d = 0; d < GL_DOOMED; d++) {
            gl_node_t *nd = &l->node[GL_SHARED + d];
            if (owner(l, d) == i && !nd->deleted && !nd->delete_pending) {
                nd->delete_sent = nd->delete_pending = true;
                send_op(l, new_op(l, OP_DELETE, GL_SHARED + d, i));
                return;
            }
        }
    }
    int k = r->sent;
    switch (k % 4) {
    case 0: send_op(l, new_op(l, OP_BEAT, (k * 7 + i * 5) % GL_SHARED, i)); break;
    case 1: send_op(l, new_op(l, OP_LABELS, (k * 5 + i * 3) % GL_SHARED, i)); break;
    case 2: send_op(l, new_op(l, OP_REG, (k * 3 + i) % GL_SHARED, i)); break;
    default: send_op(l, new_op(l, OP_BEAT, GL_SHARED + (k / 4 + i) % GL_DOOMED, i)); break;
    }
}

/* ---- replies ---------------------------------------------------------------------------- */

static void acked(gl_load_t *l, op_t *op, const h_reply_t *rep)
{
    gl_node_t *nd = &l->node[op->node];
    gl_replica_t *r = &l->r[op->replica];
    op->acked = true;
    r->acked++;
    if (l->mark_ms && op->sent_ms >= l->mark_ms) {
        if (r->acked_since_mark++ == 0)
            r->first_ack_ms = h_now_ms() - l->mark_ms;
    }
    switch (op->kind) {
    case OP_BEAT:
        H_ASSERT(!op->after_delete, "%s: a heartbeat sent after its delete was acknowledged "
                 "(replica %s): the node came back", nd->id, h_replica(op->replica)->id);
        op->rev = h_int(rep->result, "node/status_revision");
        if (op->rev > nd->status_max)
            nd->status_max = op->rev;
        break;
    case OP_LABELS:
    case OP_REG:
        op->rev = h_int(rep->result, "node/reg_revision");
        if (op->rev > nd->reg_max)
            nd->reg_max = op->rev;
        break;
    case OP_DELETE:
        nd->deleted = true;
        nd->delete_pending = false;
        break;
    }
}

static void handle(gl_load_t *l, int i, h_reply_t *rep)
{
    H_ASSERT(rep->has_rid && rep->rid >= 1 && rep->rid <= l->nops, "replica %s: a reply "
             "without one of our rids", h_replica(i)->id);
    op_t *op = &l->ops[rep->rid - 1];
    H_ASSERT(op->pending && op->replica == i, "replica %s: a reply to rid %llu twice",
             h_replica(i)->id, (unsigned long long) rep->rid);
    op->pending = false;
    l->r[i].inflight--;
    gl_node_t *nd = &l->node[op->node];
    if (rep->ok) {
        acked(l, op, rep);
    }
    else if (strcmp(rep->code, "unavailable") == 0) {
        /*  Retries spent, or its node died: not acknowledged; when the
            connection was lost at COMMIT it may still have committed. */
        l->r[i].unavailable++;
        if (op->kind == OP_DELETE) {
            nd->delete_pending = false;
            nd->delete_unknown++;
        }
    }
    else if (strcmp(rep->code, "not_found") == 0 && nd->doomed && nd->delete_sent
             && (op->kind == OP_BEAT || nd->delete_unknown > 0)) {
        /*  A heartbeat of a node deleted meanwhile; a delete sent again
            after an unknown outcome finds it done. */
        l->r[i].not_found++;
        if (op->kind == OP_DELETE) {
            nd->deleted = true;
            nd->delete_pending = false;
        }
    }
    else {
        H_ASSERT(false, "replica %s: %s %s: %s: %s", h_replica(i)->id, kind_name(op->kind),
                 nd->id, rep->code, rep->message);
    }
}

/*  Every reply that has come, within wait_ms for the first. */
static void receive(gl_load_t *l, int wait_ms)
{
    zmq_pollitem_t it[GL_REPLICAS];
    for (int i = 0; i < l->n; i++)
        it[i] = (zmq_pollitem_t) { l->r[i].sock, 0, ZMQ_POLLIN, 0 };
    int rc = zmq_poll(it, l->n, wait_ms);
    H_ASSERT(rc >= 0, "zmq_poll: %s", zmq_strerror(zmq_errno()));
    for (int i = 0; i < l->n; i++) {
        if (!(it[i].revents & ZMQ_POLLIN))
            continue;
        for (;;) {
            h_reply_t *rep = h_raw_dealer_recv(l->r[i].sock);
            handle(l, i, rep);
            h_reply_free(&rep);
            zmq_pollitem_t one = { l->r[i].sock, 0, ZMQ_POLLIN, 0 };
            if (zmq_poll(&one, 1, 0) != 1)
                break;
        }
    }
}

/* ---- the watch ------------------------------------------------------------------------ */

static int node_index(const gl_load_t *l, const msgpack_object *id)
{
    for (int k = 0; id && id->type == MSGPACK_OBJECT_STR && k < GL_NODES; k++)
        if (h_obj_is_str(id, l->node[k].id))
            return k;
    return -1;
}

void gl_observe(gl_load_t *l, int i)
{
    const char *rid = h_replica(i)->id;
    h_reply_t *rep = h_ok(i, "{s:s}", "op", "node.list");
    const msgpack_object *nodes = h_get(rep->result, "nodes");
    H_ASSERT(nodes && nodes->type == MSGPACK_OBJECT_ARRAY, "replica %s: node.list", rid);
    bool listed[GL_NODES] = { false };
    for (uint32_t k = 0; k < nodes->via.array.size; k++) {
        const msgpack_object *v = &nodes->via.array.ptr[k];
        int x = node_index(l, h_get(v, "id"));
        H_ASSERT(x >= 0, "replica %s lists a node the test never wrote", rid);
        seen_t *s = &l->seen[i][x];
        int64_t reg = h_int(v, "reg_revision"), status = h_int(v, "status_revision");
        H_ASSERT(!s->gone, "replica %s lists %s again after it was deleted", rid, l->node[x].id);
        H_ASSERT(reg >= s->reg && status >= s->status, "replica %s: %s went back from "
                 "revisions %lld/%lld to %lld/%lld", rid, l->node[x].id, (long long) s->reg,
                 (long long) s->status, (long long) reg, (long long) status);
        s->reg = reg;
        s->status = status;
        s->present = listed[x] = true;
    }
    for (int x = 0; x < GL_NODES; x++) {
        seen_t *s = &l->seen[i][x];
        if (listed[x] || !s->present)
            continue;
        H_ASSERT(l->node[x].doomed, "replica %s: %s, never deleted, is no longer listed", rid,
                 l->node[x].id);
        s->gone = true;
        s->present = false;
    }
    h_reply_free(&rep);
}

static void observe_due(gl_load_t *l)
{
    if (h_now_ms() < l->next_observe_ms)
        return;
    for (int i = 0; i < l->n; i++)
        if (h_running(i))
            gl_observe(l, i);
    l->next_observe_ms = h_now_ms() + OBSERVE_MS;
}

/* ---- the load --------------------------------------------------------------------------- */

gl_load_t *gl_new(int n, int delete_after)
{
    ck_assert(n >= 1 && n <= GL_REPLICAS);
    gl_load_t *l = calloc(1, sizeof *l);
    ck_assert_ptr_nonnull(l);
    l->n = n;
    l->delete_after = delete_after;
    for (int x = 0; x < GL_NODES; x++) {
        gl_node_t *nd = &l->node[x];
        nd->doomed = x >= GL_SHARED;
        snprintf(nd->id, sizeof nd->id, "%c%02d", nd->doomed ? 'd' : 's',
                 nd->doomed ? x - GL_SHARED : x);
        /*  One at a time, acknowledged: the load starts on registered nodes. */
        int via = owner(l, x);
        op_t *op = new_op(l, OP_REG, x, via);
        h_reply_t *rep = h_ok(via, "{s:s, s:{s:s, s:s, s:i, s:{s:s}}}", "op", "node.register",
                              "node", "id", nd->id, "host_ip", "10.0.0.1", "grpc_port", 9000,
                              "labels", "r", op->token);
        acked(l, op, rep);
        h_reply_free(&rep);
    }
    for (int i = 0; i < n; i++) {
        l->r[i].sock = h_raw_connect(ZMQ_DEALER, i);
        l->r[i].writing = true;
        l->r[i].first_ack_ms = -1;
    }
    return l;
}

void gl_free(gl_load_t **lp)
{
    gl_load_t *l = *lp;
    if (!l)
        return;
    *lp = NULL;
    for (int i = 0; i < l->n; i++)
        h_close(&l->r[i].sock);
    free(l->ops);
    free(l);
}

void gl_set_writing(gl_load_t *l, int i, bool on)
{
    ck_assert(i >= 0 && i < l->n);
    l->r[i].writing = on;
}

void gl_run(gl_load_t *l, int ms)
{
    int64_t deadline = h_now_ms() + ms;
    while (h_now_ms() < deadline) {
        for (int i = 0; i < l->n && !l->draining; i++)
            while (l->r[i].writing && h_running(i) && l->r[i].inflight < WINDOW)
                send_next(l, i);
        int64_t left = deadline - h_now_ms();
        receive(l, left < 50 ? (int) (left > 0 ? left : 0) : 50);
        observe_due(l);
    }
}

void gl_drain(gl_load_t *l)
{
    l->draining = true;
    int64_t deadline = h_now_ms() + H_T;
    for (;;) {
        int due = 0;
        for (int i = 0; i < l->n; i++)
            due += l->r[i].inflight;
        if (!due)
            break;
        H_ASSERT(h_now_ms() < deadline, "%d requests of the load never answered", due);
        receive(l, 100);
        observe_due(l);
    }
    l->draining = false;
}

void gl_mark(gl_load_t *l)
{
    l->mark_ms = h_now_ms();
    for (int i = 0; i < l->n; i++) {
        l->r[i].acked_since_mark = 0;
        l->r[i].first_ack_ms = -1;
    }
}

int gl_acked_since_mark(const gl_load_t *l, int i) { return l->r[i].acked_since_mark; }
int64_t gl_first_ack_ms(const gl_load_t *l, int i) { return l->r[i].first_ack_ms; }
int gl_acked(const gl_load_t *l, int i) { return l->r[i].acked; }
int gl_unavailable(const gl_load_t *l, int i) { return l->r[i].unavailable; }

bool gl_deletes_done(const gl_load_t *l)
{
    for (int d = 0; d < GL_DOOMED; d++)
        if (!l->node[GL_SHARED + d].deleted)
            return false;
    return true;
}

void gl_report(const gl_load_t *l, const char *what)
{
    for (int i = 0; i < l->n; i++) {
        const gl_replica_t *r = &l->r[i];
        fprintf(stderr, "%s: replica %s sent %d, acknowledged %d, unavailable %d, not_found %d;"
                " since the mark %d acknowledged, the first after %lld ms\n", what,
                h_replica(i)->id, r->sent, r->acked, r->unavailable, r->not_found,
                r->acked_since_mark, (long long) r->first_ack_ms);
    }
}

/* ---- the end -------------------------------------------------------------------------- */

/*  The acknowledged write (labels or register) of node x with revision rev. */
static const op_t *write_at(const gl_load_t *l, int x, int64_t rev)
{
    for (size_t k = 0; k < l->nops; k++) {
        const op_t *op = &l->ops[k];
        if (op->acked && op->node == x && op->rev == rev
            && (op->kind == OP_LABELS || op->kind == OP_REG))
            return op;
    }
    return NULL;
}

/*  The acknowledged write of that kind with the highest revision. */
static const op_t *last_write(const gl_load_t *l, int x, op_kind_t kind)
{
    const op_t *last = NULL;
    for (size_t k = 0; k < l->nops; k++) {
        const op_t *op = &l->ops[k];
        if (op->acked && op->node == x && op->kind == kind && (!last || op->rev > last->rev))
            last = op;
    }
    return last;
}

/*  Before a failure: node x's acknowledged registrations and label writes
    as the test saw them (kind, token, revision, when sent), for the log. */
static void dump_writes(const gl_load_t *l, int x)
{
    for (size_t k = 0; k < l->nops; k++) {
        const op_t *op = &l->ops[k];
        if (op->acked && op->node == x && (op->kind == OP_LABELS || op->kind == OP_REG))
            fprintf(stderr, "  %s %s %s revision %lld, sent at %lld ms\n", l->node[x].id,
                    op->kind == OP_LABELS ? "labels w=" : "register r=", op->token,
                    (long long) op->rev, (long long) (op->sent_ms - l->ops[0].sent_ms));
    }
}

/*  A string at path for the log ("-" when absent). */
static const char *str_at(const h_reply_t *g, const char *path, char *buf, size_t n)
{
    const msgpack_object *v = h_get(g->result, path);
    if (v && v->type == MSGPACK_OBJECT_STR)
        snprintf(buf, n, "%.*s", (int) v->via.str.size, v->via.str.ptr);
    else
        snprintf(buf, n, "-");
    return buf;
}

/*  The label w (labels) or r (register) sets is its value in view g. */
static void check_label(const gl_load_t *l, int x, const h_reply_t *g, const char *rid,
                        const char *id, const op_t *w)
{
    if (!w)
        return;
    const char *path = w->kind == OP_LABELS ? "node/labels/w" : "node/labels/r";
    if (!h_is_str(g->result, path, w->token)) {
        char wv[48], rv[48];
        fprintf(stderr, "replica %s: %s: reg_revision %lld, labels w=%s r=%s; acknowledged:\n",
                rid, id, (long long) h_int(g->result, "node/reg_revision"),
                str_at(g, "node/labels/w", wv, sizeof wv), str_at(g, "node/labels/r", rv, sizeof rv));
        dump_writes(l, x);
        char sql[300];
        snprintf(sql, sizeof sql, "SELECT reg_revision, labels FROM %s.node_registrations WHERE id = '%s'",
                 GL_DB, id);
        h_galera_sql_all(sql);
    }
    H_ASSERT(h_is_str(g->result, path, w->token), "replica %s: %s: %s is not %s, the value of "
             "the write that drew revision %lld", rid, id, path, w->token, (long long) w->rev);
}

void gl_check_final(gl_load_t *l, int i, bool exact)
{
    const char *rid = h_replica(i)->id;
    gl_observe(l, i);
    for (int x = 0; x < GL_NODES; x++) {
        const gl_node_t *nd = &l->node[x];
        h_reply_t *g = h_node_get(i, nd->id);
        if (nd->doomed) {
            H_ASSERT(nd->deleted && !g, "replica %s: %s %s", rid, nd->id,
                     nd->deleted ? "deleted, still there" : "never deleted");
            continue;
        }
        H_ASSERT(g, "replica %s: %s lost", rid, nd->id);
        int64_t reg = h_int(g->result, "node/reg_revision");
        int64_t status = h_int(g->result, "node/status_revision");
        H_ASSERT(exact ? reg == nd->reg_max : reg >= nd->reg_max, "replica %s: %s at "
                 "registration revision %lld, the highest acknowledged %lld", rid, nd->id,
                 (long long) reg, (long long) nd->reg_max);
        H_ASSERT(exact ? status == nd->status_max : status >= nd->status_max, "replica %s: %s "
                 "at status revision %lld, the highest acknowledged %lld", rid, nd->id,
                 (long long) status, (long long) nd->status_max);
        /*  The row is the write that drew its revision: that write's
            label; with every outcome known, each label is its last
            acknowledged writer's. */
        const op_t *w = write_at(l, x, reg);
        H_ASSERT(w || !exact, "replica %s: %s: no acknowledged write drew %lld", rid, nd->id,
                 (long long) reg);
        if (w)
            check_label(l, x, g, rid, nd->id, w);
        for (int kind = OP_LABELS; exact && kind <= OP_REG; kind++)
            check_label(l, x, g, rid, nd->id, last_write(l, x, (op_kind_t) kind));
        h_reply_free(&g);
    }
}
