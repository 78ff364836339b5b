/*  store_ingest.c — mt_bench_store's rate figures: heartbeat_ingest
    through the node service, and the server's own limits for the same rows
    on raw connections: raw_upsert, single_stmt, store_txn. */
#include "store_bench.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

void run_heartbeat_ingest(void)
{
    mt_runtime_t *rt = runtime();
    mt_store_t *store = store_new(rt);
    mt_nodes_t *nodes = service(rt, store, 0);
    drive_result_t r;

    /*  Untimed: register every node through the directory (each one a store
        transaction: lock, draw, upsert, versions, commit). */
    drive_opts_t reg = { .op = OP_REGISTER, .nnodes = HB_NODES, .inflight = 1000,
                         .total = HB_NODES, .store = store };
    drive(rt, nodes, &reg, &r);
    drive_check("register", &r, HB_NODES);
    note("heartbeat_ingest: registered %d nodes in %.3f s (%.0f/s), untimed",
         HB_NODES, r.elapsed_s, HB_NODES / r.elapsed_s);
    free(r.lat_us);

    double window = (double) env_long("MT_BENCH_WINDOW_S", 5, 1, 3600);
    drive_opts_t hb = {
        .op = OP_HEARTBEAT, .nnodes = HB_NODES,
        .inflight = (uint32_t) env_long("MT_BENCH_INFLIGHT", HB_NODES, 1, 100000000),
        .warmup_s = 2.0, .window_s = window, .window_min = 50000, .window_max_s = 60.0,
        .store = store,
    };
    drive(rt, nodes, &hb, &r);
    drive_check("heartbeat", &r, 0);
    double rate = (double) r.window_acks / r.elapsed_s;
    uint64_t batches = r.st1.status_batches - r.st0.status_batches;
    uint64_t rows = r.st1.status_rows - r.st0.status_rows;
    uint64_t stmts = r.st1.statements - r.st0.statements;
    note("heartbeat_ingest: nodes=%d inflight=%u warmup=%.1f s window=%.3f s acks=%" PRIu64
         " total sent=%" PRIu64, HB_NODES, hb.inflight > HB_NODES ? HB_NODES : hb.inflight,
         hb.warmup_s, r.elapsed_s, r.window_acks, r.sent);
    note("heartbeat_ingest store over the window: %" PRIu64 " transactions, %" PRIu64
         " rows (%.1f rows/txn), %" PRIu64 " statements (%.2f/txn), reconnects=%" PRIu64,
         batches, rows, batches ? (double) rows / (double) batches : 0.0, stmts,
         batches ? (double) stmts / (double) batches : 0.0,
         r.st1.reconnects - r.st0.reconnects);
    latency_note("heartbeat_ingest", &r);
    runtime_note("heartbeat_ingest", &r);
    cpu_note("heartbeat_ingest", &r.cpu0, &r.cpu1, r.window_acks, "ack");
    free(r.lat_us);
    emit("heartbeat_ingest", rate, "acks/s");
    /*  This process (the store, its runtime and the driver) and the
        database, and how busy the machine was: set against e2e's and
        e2e_floor's (scripts/bench peers). */
    if (server_pid() > 0 && r.window_acks)
        emit("heartbeat_ingest_cpu_per_ack", cpu_us(&r.cpu0, &r.cpu1, r.window_acks), "us");
    emit("heartbeat_ingest_machine_busy", cpu_busy_pct(&r.cpu0, &r.cpu1), "%");

    mt_nodes_destroy(&nodes);
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
}

/* ------------------------------------------------------- lone_heartbeat -- */

/*  One node, one heartbeat at a time through its actor: what a write waits
    when nothing else is pending — its own FLUSH and commit, no batching
    delay. Compare with single_stmt's commit latency (its rows/s inverted). */
void run_lone_heartbeat(void)
{
    mt_runtime_t *rt = runtime();
    mt_store_t *store = store_new(rt);
    mt_nodes_t *nodes = service(rt, store, 0);
    drive_result_t r;
    drive_opts_t reg = { .op = OP_REGISTER, .nnodes = 1, .inflight = 1, .total = 1,
                         .store = store };
    drive(rt, nodes, &reg, &r);
    drive_check("register", &r, 1);
    free(r.lat_us);
    drive_opts_t hb = {
        .op = OP_HEARTBEAT, .nnodes = 1, .inflight = 1, .warmup_s = 0.5,
        .window_s = (double) env_long("MT_BENCH_WINDOW_S", 3, 1, 3600), .window_max_s = 60.0,
        .store = store,
    };
    drive(rt, nodes, &hb, &r);
    drive_check("lone heartbeat", &r, 0);
    uint64_t batches = r.st1.status_batches - r.st0.status_batches;
    note("lone_heartbeat: %" PRIu64 " heartbeats in %" PRIu64 " transactions", r.window_acks,
         batches);
    if (!r.nlat)
        die("lone_heartbeat: no latency samples");
    latency_note("lone_heartbeat", &r);         /* sorts r.lat_us */
    emit("lone_heartbeat_p50", r.lat_us[r.nlat / 2] / 1e3, "ms");
    emit("lone_heartbeat_p99", r.lat_us[r.nlat * 99 / 100] / 1e3, "ms");
    free(r.lat_us);
    mt_nodes_destroy(&nodes);
    mt_store_destroy(&store);
    mt_runtime_destroy(&rt);
}

/* ----------------------------------------------- raw_upsert, single_stmt -- */

typedef struct {
    int index, nconns;
    unsigned rows_per_stmt;         /* ROWS, or 1 with autocommit */
    bool autocommit;
    bool store_shape;               /* the store's whole transaction (store_txn) */
    _Atomic int *ready;
    _Atomic int *phase;             /* 0 warm-up, 1 window, 2 stop */
    _Atomic int64_t *rev;
    uint64_t window_rows, window_stmts;
    pthread_t thread;
} upserter_t;

/*  One connection upserting the same rows the store writes for heartbeats,
    into its share of HB_NODES (node k with k % nconns == index, disjoint as the
    store's writers' are). The first pass inserts them (untimed), then it
    upserts in rounds until told to stop. */
static void *upserter(void *arg)
{
    upserter_t *u = arg;
    mysql_thread_init();
    MYSQL *m = raw_connect(g_dsn, true);
    raw_sql(m, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    raw_sql(m, "SET SESSION innodb_lock_wait_timeout = 2");
    if (mysql_autocommit(m, 0) != 0)
        die("autocommit off: %s", mysql_error(m));
    char *big_sql = status_upsert_sql(ROWS), *small_sql = status_upsert_sql(u->rows_per_stmt);
    MYSQL_STMT *big = prepare(m, big_sql), *st = prepare(m, small_sql);
    free(big_sql);
    free(small_sql);
    mt_node_status_t *status = typical_status(0);
    status_json_t js = { 0 };
    status_json(&js, status);
    /*  store_txn: the store's other two statements (store/sql.c:
        SQL_LOCK, SQL_DRAW; node_sql.c status_once runs them in this order). */
    MYSQL_STMT *lock = NULL, *drawst = NULL;
    if (u->store_shape) {
        char *lock_sql = repeat_sql("SELECT id FROM node_registrations WHERE deleted = 0 AND id IN (",
                                    "?", ROWS, ") FOR UPDATE");
        lock = prepare(m, lock_sql);
        free(lock_sql);
        drawst = prepare(m, "SELECT NEXTVAL(mt_revision) FROM seq_1_to_256 LIMIT ?");
    }

    uint32_t mine = 0;
    char (*ids)[16] = malloc(HB_NODES * sizeof *ids);
    if (!ids)
        die("out of memory");
    for (uint32_t k = (uint32_t) u->index; k < HB_NODES; k += (uint32_t) u->nconns)
        node_id(ids[mine++], sizeof ids[0], k);
    params_t p;
    p_init(&p, ROWS * 7);

    /*  Untimed first pass: the rows exist, as after every node's first heartbeat. */
    for (uint32_t i = 0; i < mine; i += ROWS) {
        p.n = 0;
        for (unsigned j = 0; j < ROWS; j++) {
            uint32_t x = i + j < mine ? i + j : mine - 1;       /* pad with the last row */
            p_cstr(&p, ids[x]);
            p_i64(&p, mt_wall_ms());
            p_i64(&p, 1);
            for (int f = 0; f < 3; f++)
                p_str(&p, js.buf.data + js.off[f], js.len[f]);
            p_i64(&p, atomic_fetch_add(u->rev, 1) + 1);
        }
        execute(big, &p, "first upsert");
        commit(m);
    }
    if (u->autocommit && mysql_autocommit(m, 1) != 0)
        die("autocommit on: %s", mysql_error(m));
    atomic_fetch_add(u->ready, 1);

    const char *skip = getenv("MT_BENCH_SKIP");
    bool skip_lock = skip && strstr(skip, "lock"), skip_draw = skip && strstr(skip, "draw");
    uint32_t next = 0;
    int phase;
    int64_t revs[ROWS];
    while ((phase = atomic_load(u->phase)) < 2) {
        int64_t now = mt_wall_ms();
        int64_t rev = atomic_fetch_add(u->rev, u->rows_per_stmt) + 1;
        for (unsigned j = 0; j < u->rows_per_stmt; j++)
            revs[j] = rev + j;
        if (u->store_shape) {
            /*  Ids ascend within a round (node-%06u), as the store sorts them. */
            if (next + u->rows_per_stmt > mine)
                next = 0;
        }
        if (u->store_shape && !skip_lock) {
            p.n = 0;
            for (unsigned j = 0; j < ROWS; j++)
                p_cstr(&p, ids[next + j]);
            execute(lock, &p, "lock");
            if (mysql_stmt_store_result(lock) != 0)
                die("lock: %s", mysql_stmt_error(lock));
            if (mysql_stmt_num_rows(lock) != ROWS)
                die("lock: %llu rows", (unsigned long long) mysql_stmt_num_rows(lock));
            mysql_stmt_free_result(lock);
        }
        if (u->store_shape && !skip_draw) {
            p.n = 0;
            p_i64(&p, ROWS);
            execute(drawst, &p, "draw");
            long long v = 0;
            MYSQL_BIND out = { .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &v };
            if (mysql_stmt_bind_result(drawst, &out) != 0 || mysql_stmt_store_result(drawst) != 0)
                die("draw: %s", mysql_stmt_error(drawst));
            for (unsigned j = 0; j < ROWS && mysql_stmt_fetch(drawst) == 0; j++)
                revs[j] = v;
            mysql_stmt_free_result(drawst);
        }
        p.n = 0;
        for (unsigned j = 0; j < u->rows_per_stmt; j++) {
            p_cstr(&p, ids[next]);
            p_i64(&p, now);
            p_i64(&p, 1);
            for (int f = 0; f < 3; f++)
                p_str(&p, js.buf.data + js.off[f], js.len[f]);
            p_i64(&p, revs[j]);
            next = (next + 1) % mine;
        }
        execute(st, &p, "upsert");
        if (!u->autocommit)
            commit(m);
        if (phase == 1 && atomic_load(u->phase) == 1) {
            u->window_rows += u->rows_per_stmt;
            u->window_stmts++;
        }
    }
    p_free(&p);
    free(ids);
    mt_buf_free(&js.buf);
    mt_node_status_unref(&status);
    mysql_stmt_close(big);
    mysql_stmt_close(st);
    if (lock) {
        mysql_stmt_close(lock);
        mysql_stmt_close(drawst);
    }
    mysql_close(m);
    mysql_thread_end();
    return NULL;
}

static void run_upserts(const char *figure, int nconns, unsigned rows_per_stmt, bool autocommit,
                        double warmup_s, bool store_shape)
{
    mt_runtime_t *rt = runtime();
    if (store_shape) {
        /*  The lock needs the registrations: HB_NODES stored nodes. */
        mt_store_t *store = store_new(rt);
        fill(rt, store, HB_NODES);
        mt_store_destroy(&store);
    }
    else
        make_schema(rt, g_dsn);
    mt_runtime_destroy(&rt);

    _Atomic int ready = 0, phase = 0;
    _Atomic int64_t rev = 0;
    upserter_t u[RAW_CONNS];
    for (int i = 0; i < nconns; i++) {
        u[i] = (upserter_t) { .index = i, .nconns = nconns, .rows_per_stmt = rows_per_stmt,
                              .autocommit = autocommit, .store_shape = store_shape,
                              .ready = &ready, .phase = &phase, .rev = &rev };
        if (pthread_create(&u[i].thread, NULL, upserter, &u[i]) != 0)
            die("pthread_create");
    }
    while (atomic_load(&ready) < nconns)
        sleep_us((int64_t) ((0.01) * 1e6));
    sleep_us((int64_t) ((warmup_s) * 1e6));
    double window = (double) env_long("MT_BENCH_WINDOW_S", 5, 1, 3600);
    cpu_t c0, c1;
    cpu_sample(&c0);
    double t0 = now_s();
    atomic_store(&phase, 1);
    sleep_us((int64_t) ((window) * 1e6));
    atomic_store(&phase, 2);
    double t1 = now_s();
    cpu_sample(&c1);
    uint64_t rows = 0, stmts = 0;
    for (int i = 0; i < nconns; i++) {
        pthread_join(u[i].thread, NULL);
        rows += u[i].window_rows;
        stmts += u[i].window_stmts;
    }
    note("%s: connections=%d rows/statement=%u %s window=%.3f s rows=%" PRIu64
         " transactions=%" PRIu64 " (%.3f ms per transaction per connection)", figure, nconns,
         rows_per_stmt, autocommit ? "autocommit, one statement"
                        : store_shape ? "the store's transaction: lock, draw, upsert, commit"
                                      : "one upsert per transaction",
         t1 - t0, rows, stmts, stmts ? (t1 - t0) * 1e3 * nconns / (double) stmts : 0.0);
    cpu_note(figure, &c0, &c1, rows, "row");
    emit(figure, (double) rows / (t1 - t0), "rows/s");
}

void run_raw_upsert(void)
{
    run_upserts("raw_upsert", RAW_CONNS, ROWS, false, 1.0, false);
}

void run_single_stmt(void)
{
    run_upserts("single_stmt", 1, 1, true, 0.5, false);
}

/*  Diagnostic (not one of the figures): raw_upsert with the store's
    whole heartbeat transaction, without any actor: what the SQL shape costs. */
void run_store_txn(void)
{
    run_upserts("store_txn", RAW_CONNS, ROWS, false, 1.0, true);
}

