/*  test_store_schema.c — the store creates its database and schema, again
    without harm, and twice at once (two replicas starting together). */
#include "store_testutil.h"
#include "mt_check.h"

#include <pthread.h>

static mt_runtime_t *rt;

static void setup(void) { rt = mt_runtime_new(NULL); ck_assert_ptr_nonnull(rt); }
static void teardown(void) { mt_runtime_destroy(&rt); }

/*  Rows of information_schema.`view` about database db that match where. */
static long long info_count(MYSQL *m, const char *view, const char *db, const char *where)
{
    char sql[600];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM information_schema.%s WHERE %s = '%s' AND %s",
             view, strcmp(view, "check_constraints") == 0 ? "constraint_schema" : "table_schema",
             db, where);
    return tu_i64(m, sql);
}

static void check_schema(const char *dsn, const char *db, char **uuid_out)
{
    MYSQL *m = tu_raw(dsn, db);
    ck_assert_int_eq(tu_i64(m, "SELECT version FROM mt_schema WHERE id = 1"), 10);
    /*  INCREMENT BY 0: the server's auto_increment_increment (1 on one
        server, the cluster's size on Galera); nobody holds the lease. */
    ck_assert_int_eq(tu_i64(m, "SELECT increment FROM mt_revision"), 0);
    ck_assert_int_eq(tu_i64(m, "SELECT COUNT(*) FROM mt_schema_lease WHERE holder IS NULL"), 1);
    ck_assert_int_eq(tu_i64(m, "SELECT COUNT(*) FROM mt_schema"), 1);
    ck_assert_int_eq(tu_i64(m, "SELECT COUNT(*) FROM mt_cluster"), 1);
    char *uuid = tu_str(m, "SELECT uuid FROM mt_cluster");
    ck_assert_uint_eq(strlen(uuid), 36);
    ck_assert_int_eq(uuid[14], '4');                    /* version 4 */
    ck_assert_ptr_nonnull(strchr("89ab", uuid[19]));    /* RFC 4122 variant */
    const char *tables[] = { "node_registrations", "node_status", "node_component_versions",
                             "rc_refs", "replicas", "mt_cluster", "mt_schema" };
    char where[160];
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        snprintf(where, sizeof where, "table_name = '%s'", tables[i]);
        ck_assert_msg(info_count(m, "tables", db, where) == 1, "missing table %s", tables[i]);
    }
    ck_assert_int_eq(info_count(m, "tables", db,
                                "table_name = 'mt_revision' AND table_type = 'SEQUENCE'"), 1);
    ck_assert_int_eq(info_count(m, "statistics", db, "table_name = 'node_registrations'"
                                " AND index_name = 'tombstones'"), 2);  /* (deleted, deleted_at) */
    ck_assert_int_eq(info_count(m, "columns", db,
                                "table_name = 'node_status' AND column_name = 'seen_at'"), 1);
    /*  v9: no status_revision index. */
    ck_assert_int_eq(info_count(m, "statistics", db,
                                "table_name = 'node_status' AND index_name <> 'PRIMARY'"), 0);
    /*  v10: no JSON_VALID on node_status (written only from our encoder),
        its columns' type kept; the registrations' three checks stay. */
    ck_assert_int_eq(info_count(m, "check_constraints", db, "table_name = 'node_status'"), 0);
    ck_assert_int_eq(info_count(m, "columns", db, "table_name = 'node_status' AND column_name IN"
                                " ('conditions', 'images', 'local_templates')"
                                " AND collation_name = 'utf8mb4_bin' AND data_type = 'longtext'"
                                " AND is_nullable = 'NO'"), 3);
    ck_assert_int_eq(info_count(m, "check_constraints", db, "table_name = 'node_registrations'"
                                " AND check_clause LIKE 'json_valid(%'"), 3);
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.schemata"
             " WHERE schema_name = '%s'", db);
    char *cs = tu_str(m, sql);
    ck_assert_str_eq(cs, "utf8mb4");
    free(cs);
    mysql_close(m);
    *uuid_out = uuid;
}

/*  A store on a new, empty database db (*dsn its DSN, the caller's). */
static mt_store_t *fresh_store(const char *db, char **dsn)
{
    tu_drop_db(NULL, db);
    *dsn = tu_dsn_for(NULL, db);
    return tu_store(rt, *dsn, 1);
}

/*  A store on db after its schema was set back: migrated to the current
    version, checked. */
static mt_store_t *migrated_store(const char *db, const char *dsn)
{
    mt_store_t *s = tu_store(rt, dsn, 1);
    char *uuid;
    check_schema(dsn, db, &uuid);
    free(uuid);
    return s;
}

/*  A write the store must take. */
static void write_ok(mt_store_t *s, const char *id, mt_msg_t *req)
{
    ck_assert_int_eq(tu_write(rt, s, id, req, NULL, NULL), MT_OK);
}

/*  The schema set back to `version`: undo (SQL, or NULL) takes back what
    the versions after it did. */
static void set_back(MYSQL *m, int version, const char *undo)
{
    if (undo)
        tu_exec(m, undo);
    char sql[64];
    snprintf(sql, sizeof sql, "UPDATE mt_schema SET version = %d", version);
    tu_exec(m, sql);
}

START_TEST(creates_then_idempotent)
{
    const char *db = "metactor_t_store_schema";
    char *dsn;
    mt_store_t *s = fresh_store(db, &dsn);
    char *uuid1, *uuid2;
    check_schema(dsn, db, &uuid1);
    mt_store_destroy(&s);
    ck_assert_ptr_null(s);
    /* a second start: nothing re-created, the cluster keeps its uuid */
    s = tu_store(rt, dsn, 3);
    check_schema(dsn, db, &uuid2);
    ck_assert_str_eq(uuid1, uuid2);
    mt_store_destroy(&s);
    free(uuid1);
    free(uuid2);
    free(dsn);
}
END_TEST

/*  A database of version 2 (before tombstones could be purged) is brought
    to version 3 with its rows intact: deleted_at is added, the time of the
    migration for the tombstones already there. */
START_TEST(migrates_v2_to_v3)
{
    const char *db = "metactor_t_store_schema_v2";
    char *dsn;
    mt_store_t *s = fresh_store(db, &dsn);
    write_ok(s, "old", mt_store_msg_register("old", tu_reg("h", NULL, NULL)));
    write_ok(s, "old", mt_store_msg_delete("old"));
    mt_store_destroy(&s);
    MYSQL *m = tu_raw(dsn, db);
    set_back(m, 2, "ALTER TABLE node_registrations DROP KEY tombstones, DROP COLUMN deleted_at");
    s = migrated_store(db, dsn);
    ck_assert_int_eq(tu_i64(m, "SELECT deleted FROM node_registrations WHERE id = 'old'"), 1);
    ck_assert_int_ge(tu_i64(m, "SELECT deleted_at FROM node_registrations WHERE id = 'old'"),
                     tu_i64(m, "SELECT UNIX_TIMESTAMP(NOW(3)) * 1000") - 60000);
    mysql_close(m);
    mt_store_destroy(&s);
    free(dsn);
}
END_TEST

/*  A database of version 4 (before seen_at) is brought to version 5: the
    column is added, and rows already there get their heartbeat_at as a
    first guess — never later than the database's now, so a heartbeat_at
    from the future buys no health. */
START_TEST(migrates_v4_to_v5)
{
    const char *db = "metactor_t_store_schema_v4";
    char *dsn;
    mt_store_t *s = fresh_store(db, &dsn);
    const char *ids[2] = { "past", "future" };
    int64_t now = mt_wall_ms();
    int64_t at[2] = { now - 60000, now + 3600000 };
    for (int i = 0; i < 2; i++) {
        write_ok(s, ids[i], mt_store_msg_register(ids[i], tu_reg("h", NULL, NULL)));
        write_ok(s, ids[i], mt_store_msg_status(ids[i], tu_status(at[i], true), false));
    }
    mt_store_destroy(&s);
    MYSQL *m = tu_raw(dsn, db);
    set_back(m, 4, "ALTER TABLE node_status DROP COLUMN seen_at");
    s = migrated_store(db, dsn);
    long long db_now = tu_i64(m, "SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)");
    ck_assert_int_eq(tu_i64(m, "SELECT seen_at FROM node_status WHERE id = 'past'"), at[0]);
    long long future = tu_i64(m, "SELECT seen_at FROM node_status WHERE id = 'future'");
    ck_assert_int_le(future, db_now);
    ck_assert_int_ge(future, db_now - 60000);
    ck_assert_int_eq(tu_i64(m, "SELECT heartbeat_at FROM node_status WHERE id = 'future'"), at[1]);
    mysql_close(m);
    mt_store_destroy(&s);
    free(dsn);
}
END_TEST

/*  A database of version 5 (its sequence INCREMENT BY 1) is brought to
    the current version without issuing a revision twice, and a lease left by a
    migrator that died is taken over once it has expired. */
START_TEST(migrates_v5_to_v6)
{
    const char *db = "metactor_t_store_schema_v5";
    char *dsn;
    mt_store_t *s = fresh_store(db, &dsn);
    mt_store_destroy(&s);
    MYSQL *m = tu_raw(dsn, db);
    bool galera = tu_dsn_hosts(dsn) > 1;
    if (!galera)        /* Galera refuses a cached INCREMENT BY 1 (1235) */
        tu_exec(m, "ALTER SEQUENCE mt_revision INCREMENT BY 1");
    long long before = tu_i64(m, "SELECT NEXTVAL(mt_revision)");
    set_back(m, 5, NULL);
    tu_exec(m, "UPDATE mt_schema_lease SET holder = 'dead:1:0:0', until_ms = 1");
    s = migrated_store(db, dsn);
    ck_assert_int_gt(tu_i64(m, "SELECT NEXTVAL(mt_revision)"), before);
    mysql_close(m);
    mt_store_destroy(&s);
    free(dsn);
}
END_TEST

/*  A database of version 9 (JSON_VALID on node_status's three JSON
    columns) is brought to version 10: the checks go, the rows stay. What
    the store writes there still passes MariaDB's own JSON_VALID — the
    guarantee the checks gave is now the encoder's — with escapes, control
    characters, non-ASCII and empty strings in every column. */
START_TEST(migrates_v9_to_v10)
{
    const char *db = "metactor_t_store_schema_v9";
    char *dsn;
    mt_store_t *s = fresh_store(db, &dsn);
    write_ok(s, "n", mt_store_msg_register("n", tu_reg("h", NULL, NULL)));
    write_ok(s, "n", mt_store_msg_status("n", tu_status(1000, true), false));
    mt_store_destroy(&s);
    MYSQL *m = tu_raw(dsn, db);
    set_back(m, 9, "ALTER TABLE node_status"
                   " MODIFY conditions LONGTEXT NOT NULL CHECK (JSON_VALID(conditions)),"
                   " MODIFY images LONGTEXT NOT NULL CHECK (JSON_VALID(images)),"
                   " MODIFY local_templates LONGTEXT NOT NULL CHECK (JSON_VALID(local_templates))");
    s = migrated_store(db, dsn);
    ck_assert_int_eq(tu_i64(m, "SELECT heartbeat_at FROM node_status WHERE id = 'n'"), 1000);

    mt_condition_t conds[] = {
        { "back\\slash \"quoted\"", "\x01\x1f\x7f", "</script> \xe2\x82\xac", "" },
        { "", "tab\tnl\ncr\r", "\xf0\x9f\x98\x80", "/" },
    };
    const char *images[] = { "", "\\", "\"", "reg.local/a:1 \xc3\xa9" };
    const char *tpls[] = { "\x1b[0m", "{}[],:" };
    mt_node_status_t t = {
        .heartbeat_at = 2000, .ready = true,
        .conditions = conds, .nconditions = 2, .images = images, .nimages = 4,
        .local_templates = tpls, .ntemplates = 2,
    };
    write_ok(s, "n", mt_store_msg_status("n", mt_node_status_build(&t), true));
    ck_assert_int_eq(tu_i64(m, "SELECT JSON_VALID(conditions) + JSON_VALID(images)"
                               " + JSON_VALID(local_templates) FROM node_status"
                               " WHERE id = 'n' AND heartbeat_at = 2000"), 3);
    ck_assert_int_eq(tu_i64(m, "SELECT JSON_LENGTH(images) FROM node_status WHERE id = 'n'"), 4);
    mysql_close(m);
    mt_store_destroy(&s);
    free(dsn);
}
END_TEST

typedef struct { const char *dsn; mt_store_t *store; } start_t;

static void *start_one(void *arg)
{
    start_t *st = arg;
    char err[256];
    mt_store_opts_t o = { .dsn = st->dsn, .writers = 2, .reconnect_ms = 100 };
    if (mt_store_new(rt, &o, &st->store, err, sizeof err) != MT_OK)
        st->store = NULL;
    return NULL;
}

START_TEST(concurrent_starts)
{
    const char *db = "metactor_t_store_schema_conc";
    tu_drop_db(NULL, db);
    char *dsn = tu_dsn_for(NULL, db);
    enum { N = 3 };
    start_t st[N];
    pthread_t th[N];
    /*  On Galera each starts on another node: the lease must hold across
        nodes (GET_LOCK would not), and the DDL must not clash. */
    char *dsns[N];
    for (int i = 0; i < N; i++) {
        dsns[i] = tu_dsn_rotate(dsn, (unsigned) i);
        st[i] = (start_t) { dsns[i], NULL };
        pthread_create(&th[i], NULL, start_one, &st[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        ck_assert_ptr_nonnull(st[i].store);
        ck_assert_int_eq(mt_store_wait_ready(st[i].store, 30000), MT_OK);
    }
    char *uuid;
    check_schema(dsn, db, &uuid);
    free(uuid);
    for (int i = 0; i < N; i++) {
        mt_store_destroy(&st[i].store);
        free(dsns[i]);
    }
    free(dsn);
}
END_TEST

START_TEST(bad_dsn)
{
    mt_store_t *s = (mt_store_t *) 1;
    char err[256] = "";
    mt_store_opts_t o = { .dsn = "postgres://h/db" };
    ck_assert_int_eq(mt_store_new(rt, &o, &s, err, sizeof err), MT_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, "scheme"), "%s", err);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("store_schema");
    TCase *tc = tcase_create("schema");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, creates_then_idempotent);
    tcase_add_test(tc, concurrent_starts);
    tcase_add_test(tc, migrates_v2_to_v3);
    tcase_add_test(tc, migrates_v4_to_v5);
    tcase_add_test(tc, migrates_v5_to_v6);
    tcase_add_test(tc, migrates_v9_to_v10);
    tcase_add_test(tc, bad_dsn);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
