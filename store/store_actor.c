/*  store_actor.c — one store actor: its connection's states, group commit
    (the pool that starts them: store.c).

    Each actor is pinned (its own thread: Connector/C blocks) and owns one
    connection. Messages it handles:

      CONNECT (internal)   connect, migrate the schema; on failure retry
                           after reconnect_ms (an mt_timer)
      FLUSH (internal)     commit every pending heartbeat in one transaction
      LINGER (internal)    the end of a hold on our mail (a wait for
                           company): flush, or wait on (linger.c decides)
      MT_STORE_NODE_STATUS kept as pending: group commit (below)
      MT_STORE_NODE_REG, _DELETE, _LOAD, _SCAN, MT_STORE_REPLICA_BEAT, _LEAVE,
      MT_STORE_RC_ADD, _SET, _DEL, _SCAN (rc_sql.c)
                           pending heartbeats are flushed first (a node's
                           writes commit in the order sent), then done at once

    Membership (REPLICA_BEAT/LEAVE) has an actor and a connection of its
    own (mt_store_members). A replica refreshes its row every second and the
    others call it dead after a few seconds without, so its beat must never
    queue behind other work: a writer may sit in a row lock wait (2 s,
    retried once) or a 256-row batch, and the reader in a full scan: 0.3-0.5 s
    for 100,000 nodes on an idle 2-core VM, 0.8-1.1 s on a busy one, and
    more with more nodes. One mostly idle connection per replica buys a beat
    that costs its own round trips only (1-5 ms beside such a scan). (Every store actor handles these messages
    alike; only the members actor is kept free for them.)

    States of the connection:
      down  no connection. Every request is answered MT_EUNAVAIL at once; a
            CONNECT is armed for at most reconnect_ms after the last try.
      up    connected, schema current. A lost connection (or a COMMIT with
            unknown outcome) answers everything in flight MT_EUNAVAIL and
            goes down.

    Group commit: the first heartbeat to become pending sends this actor a
    FLUSH, which lands behind the messages already queued. While a commit
    blocks the thread, new heartbeats pile up in the mailbox; they all
    become pending before the FLUSH arrives and commit together. At a
    fleet's pace that makes small commits, so a heartbeat that finds the
    writer idle may instead wait for company (linger.c: while others keep
    coming; never a lone client's); batch_max pending (or
    MT_STORE_BATCH_BYTES of them) flush at once. Each request is answered
    after its own commit; status_batch.c cuts a flush into transactions and
    retries rows alone when the database refuses a batch. */
#include "store_internal.h"
#include "mt_alloc.h"
#include "mt_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Internal messages, above every public type of mt_store.h. */
enum { MSG_CONNECT = MT_STORE_MSG_END_, MSG_FLUSH, MSG_LINGER, STORE_OWN_END_ };
MT_MSG_RANGE_CHECK(MT_MSGR_STORE, STORE_OWN_END_);

#define IDLE_PING_MS 5000   /* check a connection idle this long before use */
#define PREFER_MS 3000      /* a writer that failed over looks for its first host this often */
/*  A wait for company ends once no heartbeat has come for this long (linger.c). */
#define LINGER_GAP_MS 2

typedef struct {
    mt_store_t *store;
    int index;
    mt_actor_t *self;
    mt__store_conn_t conn;
    mt__store_scratch_t scratch;
    bool up, ever_up;
    char last_failure[256];         /* the last connect failure reported */
    mt_timer_t *retry;
    uint64_t last_attempt_ms;
    uint64_t last_prefer_ms;        /* the last look for an earlier host (PREFER_MS) */
    mt_msg_t **pending;             /* kept STATUS requests, in arrival order */
    uint32_t npending, cap;
    size_t pending_bytes;           /* their blocks' sizes: about their rows' */
    bool flush_queued;              /* a FLUSH is in the mailbox */
    mt__store_linger_t policy;      /* flush now, or wait for company */
    mt__store_status_entry_t *entries;
} sactor_t;


/* ---- connection states ------------------------------------------------------------- */

static void publish_statements(sactor_t *a)
{
    atomic_fetch_add(&a->store->statements, a->conn.statements);
    a->conn.statements = 0;
    atomic_fetch_add(&a->store->raises, a->conn.raises);
    a->conn.raises = 0;
    atomic_fetch_add(&a->store->rows_rejected, a->scratch.rejects.fresh);
    a->scratch.rejects.fresh = 0;
}

static void arm_retry(sactor_t *a)
{
    uint64_t now = mt_now_ms(), next = a->last_attempt_ms + (uint64_t) a->store->reconnect_ms;
    mt_timer_start(a->retry, a->self, mt_msg_new(MSG_CONNECT, 0), next > now ? next - now : 0);
}

/*  No wait for company is under way any more: stop holding the mail, and
    with it the LINGER that would have ended the hold. */
static void end_wait(sactor_t *a)
{
    mt_actor_hold_mail(a->self, 0, NULL);
}

static void go_down(sactor_t *a)
{
    mt__store_conn_close(&a->conn);
    if (a->up)
        mt_log_warning("store[%d]: database unavailable: %s", a->index, a->conn.err);
    a->up = false;
    atomic_store(&a->store->ready[a->index], 0);
    for (uint32_t i = 0; i < a->npending; i++) {
        mt__store_reply_error(a->pending[i], MT_EUNAVAIL, a->conn.err);
        mt_msg_free(a->pending[i]);
    }
    a->npending = 0;
    a->pending_bytes = 0;
    /*  What waited for company is answered: no wait goes on (one left
        "under way" would hold the first heartbeats after the outage). */
    end_wait(a);
    mt__store_linger_cancel(&a->policy);
    if (!mt_timer_armed(a->retry))
        arm_retry(a);
}

static void try_connect(sactor_t *a)
{
    if (a->up)
        return;
    a->last_attempt_ms = mt_now_ms();
    int rc = mt__store_conn_open(&a->conn);
    if (rc == MT_OK)
        rc = mt__store_schema_migrate(&a->conn);
    publish_statements(a);
    if (rc != MT_OK || !mt__store_conn_up(&a->conn)) {
        /*  Said once per distinct reason, not at every retry: an operator
            must see why a replica cannot start (a failed migration, a
            refused login), and a down server must not flood the log. */
        if (strcmp(a->last_failure, a->conn.err) != 0) {
            mt_log_warning("store[%d]: cannot use the database: %s", a->index, a->conn.err);
            snprintf(a->last_failure, sizeof a->last_failure, "%s", a->conn.err);
        }
        mt__store_conn_close(&a->conn);
        if (!mt_timer_armed(a->retry))
            arm_retry(a);
        return;
    }
    a->last_failure[0] = '\0';
    if (a->ever_up) {
        atomic_fetch_add(&a->store->reconnects, 1);
        mt_log_info("store[%d]: database available again", a->index);
    }
    a->up = a->ever_up = true;
    if (a->conn.galera)
        atomic_store(&a->store->galera, 1);
    atomic_store(&a->store->ready[a->index], 1);
}

/*  True if requests can go to the database now. A connection idle for long
    is checked first (the server may have restarted meanwhile), and replaced
    at once if it was lost and the last attempt is old enough. */
/*  A writer that failed over to a later host moves back to an earlier one
    that serves again (connect.c says why all writers must share one). */
static void prefer_first(sactor_t *a)
{
    /*  On every request: nothing but a field's test unless failed over. */
    if (!a->up || a->conn.host_rank == 0)
        return;
    uint64_t now = mt_now_ms();
    if (now - a->last_prefer_ms < PREFER_MS)
        return;
    a->last_prefer_ms = now;
    if (!mt__store_conn_prefer(&a->conn))
        return;
    publish_statements(a);
    if (!mt__store_conn_up(&a->conn)) {
        go_down(a);
        return;
    }
    atomic_fetch_add(&a->store->reconnects, 1);
    mt_log_info("store[%d]: back on an earlier database host (%u of its order)", a->index,
                a->conn.host_rank + 1);
}

static bool usable(sactor_t *a)
{
    prefer_first(a);
    if (a->up && mt_now_ms() - a->conn.last_used_ms > IDLE_PING_MS) {
        if (mysql_ping(a->conn.m) != 0) {
            mt__store_conn_fail(&a->conn, NULL, "ping");
            go_down(a);
            if (mt_now_ms() - a->last_attempt_ms >= (uint64_t) a->store->reconnect_ms) {
                mt_timer_cancel(a->retry);
                try_connect(a);
            }
        }
        else
            a->conn.last_used_ms = mt_now_ms();
    }
    return a->up;
}

/* ---- group commit ---------------------------------------------------------------------- */

static void flush(sactor_t *a)
{
    end_wait(a);
    if (!a->npending) {
        mt__store_linger_cancel(&a->policy);
        return;
    }
    if (!usable(a))                     /* down: go_down answered them */
        return;
    uint32_t n = a->npending;
    mt__store_linger_flushed(&a->policy, n, mt_now_ms());
    a->entries = mt_xrealloc(a->entries, n * sizeof *a->entries);
    for (uint32_t i = 0; i < n; i++) {
        mt_store_node_status_t *p = mt_msg_data(a->pending[i]);
        a->entries[i] = (mt__store_status_entry_t) {
            .id = p->id, .status = p->status, .registered = p->registered };
    }
    mt__store_status_stats_t st;
    mt__store_sql_status_batch(&a->conn, &a->scratch, a->entries, n, &st);
    if (st.rechecked)
        atomic_fetch_add(&a->store->rechecks, 1);
    publish_statements(a);
    /*  Counted before anyone is answered: stats read after an answer
        include its batch. */
    uint64_t ok = 0;
    for (uint32_t i = 0; i < n; i++)
        ok += a->entries[i].err == MT_OK;
    atomic_fetch_add(&a->store->batches, st.commits);
    atomic_fetch_add(&a->store->rows, ok);
    atomic_fetch_add(&a->store->alone, st.alone);
    for (uint32_t i = 0; i < n; i++) {
        mt__store_status_entry_t *e = &a->entries[i];
        int err = e->err;
        mt_msg_t *done = mt__store_done(err, e->why, err == MT_OK ? e->revision : 0);
        ((mt_store_done_t *) mt_msg_data(done))->seen_at = err == MT_OK ? e->seen_at : 0;
        mt_reply(a->pending[i], done);
        mt_msg_free(a->pending[i]);
    }
    a->npending = 0;
    a->pending_bytes = 0;
    if (!mt__store_conn_up(&a->conn))
        go_down(a);
}

/*  Waits `ms` for company, holding the mail: heartbeats arriving meanwhile
    do not wake this thread one by one (at a fleet's pace that was a wake-up
    per heartbeat); they are read when the wait is due — each with the time
    it was sent — and then the hold's LINGER. Other requests wait that long
    too (at most the linger). */
static void linger_for(sactor_t *a, uint64_t now, uint64_t ms)
{
    mt_actor_hold_mail(a->self, now + ms, mt_msg_new(MSG_LINGER, 0));
}

static void on_status(sactor_t *a, mt_msg_t *msg)
{
    mt_store_node_status_t *p = mt_msg_data(msg);
    char why[128];
    if (mt_node_id_check(p->id, why, sizeof why) != MT_OK || !p->status) {
        mt__store_reply_done(msg, MT_EBADREQ, p->status ? why : "status: missing", 0, NULL);
        return;
    }
    /*  Cut by bytes too: a burst of large heartbeats commits in
        transactions of about MT_STORE_BATCH_BYTES (status_batch.c cuts
        again by the exact encoded size). */
    if (a->npending && a->pending_bytes + p->status->size > MT_STORE_BATCH_BYTES)
        flush(a);
    if (!usable(a)) {
        mt__store_reply_done(msg, MT_EUNAVAIL, a->conn.err, 0, NULL);
        return;
    }
    mt_msg_keep(msg);
    if (a->npending == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->pending = mt_xrealloc(a->pending, a->cap * sizeof *a->pending);
    }
    a->pending[a->npending++] = msg;
    a->pending_bytes += p->status->size;
    /*  Its arrival is when it was sent: a writer holding its mail (below)
        reads a backlog at once, and the pace is the senders'. */
    uint64_t now = mt_now_ms(), wait;
    mt__store_linger_arrival(&a->policy, p->sent_ms ? p->sent_ms : now);
    if (a->npending >= (uint32_t) a->store->batch_max)
        flush(a);
    else if (a->policy.lingering || a->flush_queued)
        ;                           /* joins the commit already coming */
    else if ((wait = mt__store_linger_begin(&a->policy, now)) > 0)
        linger_for(a, now, wait);
    else {
        a->flush_queued = true;
        mt_send(a->self, mt_msg_new(MSG_FLUSH, 0));
    }
}

/*  The wait's timer: flush once it is over, else look again when it may be. */
static void on_linger(sactor_t *a)
{
    uint64_t now = mt_now_ms(), due = mt__store_linger_due(&a->policy, now);
    if (due > 0)
        linger_for(a, now, due);
    else
        flush(a);
}

/* ---- one-off requests ------------------------------------------------------------------- */

static void on_reg(sactor_t *a, mt_msg_t *msg)
{
    mt_store_node_reg_t *p = mt_msg_data(msg);
    mt_node_reg_t *out = NULL;
    int rc;
    if (p->op == MT_STORE_REGISTER) {
        if (!p->reg) {
            mt__store_reply_done(msg, MT_EBADREQ, "register: no registration", 0, NULL);
            return;
        }
        rc = mt__store_sql_register(&a->conn, &a->scratch, p->id, p->reg, &out);
    }
    else if (p->op == MT_STORE_COMPONENTS)
        rc = mt__store_sql_components(&a->conn, &a->scratch, p->id, p->reg, &out);
    else
        rc = mt__store_sql_labels(&a->conn, &a->scratch, p->id, p->labels, p->remove, p->nremove, &out);
    mt__store_reply_done(msg, rc, a->conn.err, out ? out->reg_revision : 0, out);
}

/*  Answers msg with r, whose payload holds err and message: the
    connection's error as the message, and the statements (and rows
    rejected) counted before the asker can read them. */
static void answer(sactor_t *a, mt_msg_t *msg, mt_msg_t *r, int err, char *message, size_t size)
{
    if (err != MT_OK)
        snprintf(message, size, "%.199s", a->conn.err);
    publish_statements(a);
    mt_reply(msg, r);
}

static void on_request(sactor_t *a, mt_msg_t *msg)
{
    flush(a);       /* heartbeats sent before this request commit before it */
    char why[200];
    if (mt__store_check(msg, why, sizeof why) != MT_OK) {
        mt__store_reply_error(msg, MT_EBADREQ, why);
        return;
    }
    if (!usable(a)) {
        mt__store_reply_error(msg, MT_EUNAVAIL, a->conn.err);
        return;
    }
    switch (msg->type) {
    case MT_STORE_NODE_REG:
        on_reg(a, msg);
        break;
    case MT_STORE_NODE_DELETE: {
        int64_t rev = 0;
        int rc = mt__store_sql_delete(&a->conn, &a->scratch,
                               ((mt_store_node_delete_t *) mt_msg_data(msg))->id, &rev);
        mt__store_reply_done(msg, rc, a->conn.err, rev, NULL);
        break;
    }
    case MT_STORE_NODE_PURGE: {
        int64_t n = 0;
        int rc = mt__store_sql_purge(&a->conn, &a->scratch,
                              ((mt_store_node_purge_t *) mt_msg_data(msg))->older_than_ms, &n);
        mt_msg_t *r = mt__store_done(rc, a->conn.err, 0);
        ((mt_store_done_t *) mt_msg_data(r))->count = n;
        mt_reply(msg, r);
        break;
    }
    case MT_STORE_NODE_LOAD: {
        mt_msg_t *r = mt_msg_new(MT_STORE_LOADED, sizeof(mt_store_loaded_t));
        mt_store_loaded_t *l = mt_msg_data(r);
        r->drop = mt__store_loaded_drop;
        l->err = mt__store_sql_load(&a->conn, &a->scratch,
                             ((mt_store_node_load_t *) mt_msg_data(msg))->id, &l->row);
        answer(a, msg, r, l->err, l->message, sizeof l->message);
        break;
    }
    case MT_STORE_SCAN: {
        mt_store_scan_req_t *q = mt_msg_data(msg);
        mt_msg_t *r = mt_msg_new(MT_STORE_SCANNED, sizeof(mt_store_scanned_t));
        mt_store_scanned_t *s = mt_msg_data(r);
        r->drop = mt__store_scanned_drop;
        s->err = mt__store_sql_scan(&a->conn, &a->scratch, q->after, q->full,
                                    q->held.held ? &q->held : NULL, s);
        answer(a, msg, r, s->err, s->message, sizeof s->message);
        break;
    }
    case MT_STORE_REPLICA_BEAT: {
        mt_msg_t *r = mt_msg_new(MT_STORE_REPLICAS, sizeof(mt_store_replicas_t));
        mt_store_replicas_t *l = mt_msg_data(r);
        r->drop = mt__store_replicas_drop;
        l->err = mt__store_sql_replica_beat(&a->conn, &a->scratch, mt_msg_data(msg), l);
        answer(a, msg, r, l->err, l->message, sizeof l->message);
        break;
    }
    case MT_STORE_REPLICA_LEAVE: {
        int rc = mt__store_sql_replica_leave(&a->conn, &a->scratch,
                                      ((mt_store_replica_leave_t *) mt_msg_data(msg))->replica_id);
        mt__store_reply_done(msg, rc, a->conn.err, 0, NULL);
        break;
    }
    case MT_STORE_RC_ADD: case MT_STORE_RC_SET: case MT_STORE_RC_DEL: case MT_STORE_RC_SCAN: {
        int rc;
        mt_msg_t *answer = mt__store_rc_serve(&a->conn, &a->scratch, msg, &rc);
        if (msg->type != MT_STORE_RC_SCAN && (rc == MT_OK || rc == MT_ECONFLICT))
            atomic_fetch_add(rc == MT_OK ? &a->store->rc_writes : &a->store->rc_conflicts, 1);
        publish_statements(a);
        mt_reply(msg, answer);  /* after counting: the asker may read the stats */
        break;
    }
    }
    publish_statements(a);
    if (!mt__store_conn_up(&a->conn))
        go_down(a);
}

static void behaviour(mt_actor_t *self, void *state, mt_msg_t *msg)
{
    sactor_t *a = state;
    switch (msg->type) {
    case MSG_CONNECT:
        try_connect(a);
        break;
    case MSG_FLUSH:
        a->flush_queued = false;
        flush(a);
        break;
    case MSG_LINGER:
        on_linger(a);
        break;
    case MT_STORE_NODE_STATUS:
        on_status(a, msg);
        break;
    case MT_NODE_REQ:           /* node.changes, from the directory (reader) */
        if (usable(a))
            mt__store_changes(&a->conn, &a->scratch, msg);
        else
            mt_node_reply_error(msg, MT_EUNAVAIL, "%s", a->conn.err);
        publish_statements(a);
        break;
    case MT_STORE_NODE_REG:
    case MT_STORE_NODE_DELETE:
    case MT_STORE_NODE_PURGE:
    case MT_STORE_NODE_LOAD:
    case MT_STORE_SCAN:
    case MT_STORE_REPLICA_BEAT:
    case MT_STORE_REPLICA_LEAVE:
    case MT_STORE_RC_ADD: case MT_STORE_RC_SET: case MT_STORE_RC_DEL: case MT_STORE_RC_SCAN:
        on_request(a, msg);
        break;
    default:
        break;      /* not ours: dropped */
    }
    (void) self;
}

static void destroy(void *state)
{
    sactor_t *a = state;
    /*  Stopping: heartbeats already pending still commit (drain). */
    if (a->up)
        flush(a);
    for (uint32_t i = 0; i < a->npending; i++) {
        mt__store_reply_error(a->pending[i], MT_EUNAVAIL, "store stopped");
        mt_msg_free(a->pending[i]);
    }
    mt_timer_destroy(&a->retry);
    mt__store_conn_close(&a->conn);
    mt__store_scratch_free(&a->scratch);
    free(a->pending);
    free(a->entries);
    atomic_store(&a->store->ready[a->index], 0);
    free(a);
    mysql_thread_end();
}

/* ---- spawning -------------------------------------------------------------------- */

mt_actor_t *mt__store_actor_spawn(mt_store_t *s, int index)
{
    sactor_t *a = mt_xcalloc(1, sizeof *a);
    a->store = s;
    a->index = index;
    a->conn.dsn = s->dsn;
    a->conn.reader = index == s->nwriters;
    snprintf(a->conn.err, sizeof a->conn.err, "not connected yet");
    a->retry = mt_timer_new(s->rt);
    mt__store_linger_init(&a->policy, &s->linger, s->linger_ms, LINGER_GAP_MS);
    char name[16];
    if (index < s->nwriters)
        snprintf(name, sizeof name, "mt-store-w%u", (unsigned) index & 0xffu);
    else
        snprintf(name, sizeof name, "%s", index == s->nwriters ? "mt-store-read" : "mt-store-member");
    mt_spawn_opts_t so = { .behaviour = behaviour, .state = a, .destroy = destroy,
                           .pinned = true, .thread_name = name };
    mt_actor_t *actor = mt_spawn_opts(s->rt, &so);
    if (!actor) {
        mt_timer_destroy(&a->retry);
        free(a);
        return NULL;
    }
    a->self = actor;
    mt_send(actor, mt_msg_new(MSG_CONNECT, 0));
    return actor;
}
