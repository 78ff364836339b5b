/*  test_store_rc.c — remote cluster references in the store: add, set
    (each field, compare-and-set, rename), delete (tombstones), scans, the
    uniqueness of live names and uuids, and the password: stored in the
    table, never in any block or message the store answers. The keys of
    schema v4: server_key and client_public like any field, client_secret
    written with client_public, read back by scans only (never in DONE),
    wiped in tombstones. */
#include "store_testutil.h"
#include "mt_check.h"

#include <pthread.h>

static mt_runtime_t *rt;
static mt_store_t *store;
static char *dsn;
static MYSQL *raw;
#define DB "metactor_t_store_rc"

/*  Every password a test wrote: no answer may hold any of them. */
static const char *const passwords[] = { "pw-ALPHA-7f3a", "pw-BRAVO-91c2", "pw-CHARLIE-5e0d",
                                         "pw-DELTA-0b44" };
#define NPW (sizeof passwords / sizeof *passwords)

static void setup(void)
{
    tu_open(&rt, &dsn, &store, &raw, DB, 2);
}

static void teardown(void)
{
    tu_close(&rt, &dsn, &store, &raw);
}

static void assert_no_password_bytes(const void *p, size_t n)
{
    for (size_t i = 0; i < NPW; i++)
        ck_assert_msg(!memmem(p, n, passwords[i], strlen(passwords[i])),
                      "password %s found in an answer", passwords[i]);
}

/*  Keypairs from zmq_curve_keypair. */
#define SERVER_PUB "d+4zjhnQHKsYHMIHv0F1ndkDEHmgsRdU3oZIWA&^"
#define CLIENT_PUB "][1qAf.KfIcZBgFo1+Pvm=D#5x>85e-aN-62JOhS"
#define CLIENT_SEC "79%W(1s&2@yDU3^KrTKCa(z1pelsY]P/5o)Jfh4{"
#define CLIENT2_PUB ":(rw/VnL?j:9ZT<eIW.zs39auzBlvx[QDCh38]Tr"
#define CLIENT2_SEC ">$l+^vy>ac=3.b1F4Pql7Spt9M$R1yD:LK&[R^FV"

static void assert_clean(const mt_rc_t *r)
{
    ck_assert_ptr_null(r->password);
    assert_no_password_bytes(r, r->size);
}

/*  What DONE answers: no secret at all. */
static void assert_no_secret(const mt_rc_t *r)
{
    ck_assert_ptr_null(r->client_secret);
    ck_assert_msg(!memmem(r, r->size, CLIENT_SEC, strlen(CLIENT_SEC)), "client secret in DONE");
    ck_assert_msg(!memmem(r, r->size, CLIENT2_SEC, strlen(CLIENT2_SEC)), "client secret in DONE");
}

static mt_rc_t *mk(const char *id, const char *name, const char *host, const char *uuid,
                   const char *user, const char *pass, bool enc, int64_t refreshed_at)
{
    const char *nodes[3] = { "tcp://10.0.0.3:7000", "tcp://10.0.0.1:7000", "tcp://10.0.0.2:7000" };
    mt_rc_t t = { .id = id, .name = name, .hostname = host, .uuid = uuid, .username = user,
                  .password = pass, .demand_encryption = enc, .nnodes = 3, .node_list = nodes,
                  .refreshed_at = refreshed_at };
    return mt_rc_build(&t);
}

/*  One write and its DONE: err; *rev, *out (a reference), the message. */
static int write_rc(const char *id, mt_msg_t *req, int64_t *rev, mt_rc_t **out, char *msg)
{
    mt_msg_t *r = tu_ask(rt, mt_store_writer(store, id), req);
    ck_assert_int_eq(r->type, MT_STORE_DONE);
    mt_store_done_t *d = mt_msg_data(r);
    assert_no_password_bytes(d, sizeof *d);
    if (d->rc) {
        assert_clean(d->rc);
        assert_no_secret(d->rc);
    }
    int err = d->err;
    if (rev)
        *rev = d->revision;
    if (out)
        *out = mt_rc_ref(d->rc);
    if (msg)
        snprintf(msg, 200, "%s", d->message);
    mt_msg_free(r);
    return err;
}

static int add(mt_rc_t *ref, int64_t *rev, mt_rc_t **out, char *msg)
{
    char id[64];
    snprintf(id, sizeof id, "%s", ref->id);
    return write_rc(id, mt_store_msg_rc_add(ref), rev, out, msg);
}

static int del(const char *id, int64_t expected, int64_t *rev, char *msg)
{
    return write_rc(id, mt_store_msg_rc_del(id, expected), rev, NULL, msg);
}

/*  SET with a template of the fields given. */
typedef struct {
    const char *name, *hostname, *username, *password;
    int enc;                /* 0: not given, 1: false, 2: true */
    int64_t expected;
} set_t;

static int set(const char *id, set_t f, mt_rc_t **out, char *msg)
{
    mt_rc_t t = { .id = id, .name = f.name, .hostname = f.hostname, .username = f.username,
                  .password = f.password, .demand_encryption = f.enc == 2 };
    return write_rc(id, mt_store_msg_rc_set(mt_rc_build(&t), f.name != NULL, f.hostname != NULL,
                                            f.username != NULL, f.password != NULL, f.enc != 0,
                                            f.expected), NULL, out, msg);
}

static mt_store_rc_scanned_t *scan(int64_t after, mt_msg_t **m)
{
    *m = tu_ask(rt, mt_store_reader(store), mt_store_msg_rc_scan(after));
    ck_assert_int_eq((*m)->type, MT_STORE_RC_SCANNED);
    mt_store_rc_scanned_t *s = mt_msg_data(*m);
    ck_assert_msg(s->err == MT_OK, "%s", s->message);
    assert_no_password_bytes(s, sizeof *s);
    for (uint32_t i = 0; i < s->nrefs; i++) {
        assert_clean(s->refs[i]);
        if (i)
            ck_assert_int_lt(strcmp(s->refs[i - 1]->name, s->refs[i]->name), 1);
    }
    return s;
}

static const mt_rc_t *find(const mt_store_rc_scanned_t *s, const char *id)
{
    for (uint32_t i = 0; i < s->nrefs; i++)
        if (strcmp(s->refs[i]->id, id) == 0)
            return s->refs[i];
    return NULL;
}

static void assert_nodes(const mt_rc_t *r)
{
    ck_assert_uint_eq(r->nnodes, 3);
    ck_assert_str_eq(r->node_list[0], "tcp://10.0.0.1:7000");
    ck_assert_str_eq(r->node_list[2], "tcp://10.0.0.3:7000");
}

static char *col(const char *column, const char *id)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT %s FROM rc_refs WHERE id = '%s'", column, id);
    return tu_str(raw, sql);
}

static void assert_col(const char *column, const char *id, const char *want)
{
    char *v = col(column, id);
    ck_assert_str_eq(v, want);
    free(v);
}

#define ID_A "11111111-1111-4111-8111-111111111111"
#define ID_B "22222222-2222-4222-8222-222222222222"
#define ID_C "33333333-3333-4333-8333-333333333333"
#define UUID_X "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define UUID_Y "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

START_TEST(add_then_scan)
{
    int64_t rev = 0;
    mt_rc_t *out = NULL;
    ck_assert_int_eq(add(mk(ID_A, "east", "tcp://east:7000", UUID_X, "admin", passwords[0], true,
                            1700000000123), &rev, &out, NULL), MT_OK);
    ck_assert_int_gt(rev, 0);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out->id, ID_A);
    ck_assert_str_eq(out->name, "east");
    ck_assert_str_eq(out->hostname, "tcp://east:7000");
    ck_assert_str_eq(out->uuid, UUID_X);
    ck_assert_str_eq(out->username, "admin");
    ck_assert(out->demand_encryption);
    ck_assert(!out->deleted);
    ck_assert(out->revision == rev);
    ck_assert(out->refreshed_at == 1700000000123);
    assert_nodes(out);
    mt_rc_unref(&out);

    /* the table: the password is there, the node list is a JSON array */
    assert_col("password", ID_A, passwords[0]);
    assert_col("node_list", ID_A,
               "[\"tcp://10.0.0.1:7000\",\"tcp://10.0.0.2:7000\",\"tcp://10.0.0.3:7000\"]");
    ck_assert_int_eq(tu_i64(raw, "SELECT revision FROM rc_refs WHERE id = '" ID_A "'"), rev);

    mt_msg_t *m;
    mt_store_rc_scanned_t *s = scan(0, &m);
    ck_assert_uint_eq(s->nrefs, 1);
    ck_assert_int_ge(s->mark, rev);
    const mt_rc_t *r = s->refs[0];
    ck_assert_str_eq(r->id, ID_A);
    ck_assert_str_eq(r->name, "east");
    ck_assert_str_eq(r->uuid, UUID_X);
    ck_assert_str_eq(r->username, "admin");
    ck_assert(r->demand_encryption && !r->deleted);
    ck_assert(r->revision == rev && r->refreshed_at == 1700000000123);
    assert_nodes(r);
    mt_msg_free(m);

    /* a full scan request reads the same */
    mt_msg_t *q = mt_store_msg_rc_scan(rev);
    ((mt_store_scan_req_t *) mt_msg_data(q))->full = true;
    m = tu_ask(rt, mt_store_reader(store), q);
    ck_assert_uint_eq(((mt_store_rc_scanned_t *) mt_msg_data(m))->nrefs, 1);
    mt_msg_free(m);
}
END_TEST

START_TEST(duplicates_conflict)
{
    char msg[200];
    ck_assert_int_eq(add(mk(ID_A, "east", "tcp://e:1", UUID_X, "", passwords[0], false, 0),
                         NULL, NULL, NULL), MT_OK);
    /* same name */
    ck_assert_int_eq(add(mk(ID_B, "east", "tcp://e:2", UUID_Y, "", passwords[1], false, 0),
                         NULL, NULL, msg), MT_ECONFLICT);
    ck_assert_msg(strstr(msg, "\"east\"") && strstr(msg, "taken") && strstr(msg, ID_A), "%s", msg);
    /* same remote uuid, other name */
    ck_assert_int_eq(add(mk(ID_B, "west", "tcp://w:2", UUID_X, "", passwords[1], false, 0),
                         NULL, NULL, msg), MT_ECONFLICT);
    ck_assert_msg(strstr(msg, UUID_X) && strstr(msg, "already referenced by \"east\""), "%s", msg);
    /* uuids compare case-insensitively */
    ck_assert_int_eq(add(mk(ID_B, "west", "tcp://w:2", "AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA", "",
                            NULL, false, 0), NULL, NULL, msg), MT_ECONFLICT);
    ck_assert_msg(strstr(msg, "already referenced by \"east\""), "%s", msg);
    /* same id */
    ck_assert_int_eq(add(mk(ID_A, "north", "tcp://n:2", UUID_Y, "", NULL, false, 0),
                         NULL, NULL, msg), MT_ECONFLICT);
    ck_assert_msg(strstr(msg, "id " ID_A), "%s", msg);
    /* nothing of the refused writes is stored */
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM rc_refs"), 1);
    /* a uuid not known yet ("") is not unique */
    ck_assert_int_eq(add(mk(ID_B, "b", "tcp://b:1", "", "", NULL, false, 0), NULL, NULL, NULL),
                     MT_OK);
    ck_assert_int_eq(add(mk(ID_C, "c", "tcp://c:1", "", "", NULL, false, 0), NULL, NULL, NULL),
                     MT_OK);
    /* names differ by a trailing space: two names */
    ck_assert_int_eq(add(mk("44444444-4444-4444-8444-444444444444", "c ", "tcp://c:1", "", "",
                            NULL, false, 0), NULL, NULL, msg), MT_OK);
    mt_store_stats_t st;
    mt_store_stats(store, &st);
    ck_assert_uint_eq(st.rc_writes, 4);
    ck_assert_uint_eq(st.rc_conflicts, 4);
}
END_TEST

START_TEST(delete_frees_name_and_uuid)
{
    int64_t r1, r2, r3;
    char msg[200];
    ck_assert_int_eq(add(mk(ID_A, "east", "tcp://e:1", UUID_X, "u", passwords[0], false, 0),
                         &r1, NULL, NULL), MT_OK);
    ck_assert_int_eq(del(ID_A, 0, &r2, msg), MT_OK);
    ck_assert_int_gt(r2, r1);
    ck_assert_int_eq(tu_i64(raw, "SELECT deleted FROM rc_refs WHERE id = '" ID_A "'"), 1);
    ck_assert_int_eq(tu_i64(raw, "SELECT revision FROM rc_refs WHERE id = '" ID_A "'"), r2);
    assert_col("password", ID_A, "");             /* a tombstone keeps no credentials */
    /* the same name and uuid again, under a new id */
    ck_assert_int_eq(add(mk(ID_B, "east", "tcp://e:2", UUID_X, "u", passwords[1], false, 0),
                         &r3, NULL, msg), MT_OK);
    ck_assert_int_gt(r3, r2);
    /* deleted twice, and deleted ids, are not found */
    ck_assert_int_eq(del(ID_A, 0, NULL, msg), MT_ENOTFOUND);
    ck_assert_msg(strstr(msg, "not found"), "%s", msg);
    ck_assert_int_eq(del(ID_C, 0, NULL, NULL), MT_ENOTFOUND);
    /* the tombstone's id stays used */
    ck_assert_int_eq(add(mk(ID_A, "other", "tcp://o:1", UUID_Y, "", NULL, false, 0),
                         NULL, NULL, msg), MT_ECONFLICT);

    mt_msg_t *m;
    mt_store_rc_scanned_t *s = scan(0, &m);
    ck_assert_uint_eq(s->nrefs, 2);
    const mt_rc_t *a = find(s, ID_A), *b = find(s, ID_B);
    ck_assert(a && b);
    ck_assert(a->deleted && a->revision == r2);
    ck_assert_str_eq(a->name, "east");
    ck_assert(!b->deleted && b->revision == r3);
    mt_msg_free(m);
}
END_TEST

START_TEST(set_each_field)
{
    int64_t r0;
    mt_rc_t *out = NULL;
    char msg[200];
    ck_assert_int_eq(add(mk(ID_A, "east", "tcp://e:1", UUID_X, "u1", passwords[0], false, 42),
                         &r0, NULL, NULL), MT_OK);
    int64_t last = r0;
#define CHECK_SET(f, ...) do { \
        ck_assert_int_eq(set(ID_A, (set_t) { __VA_ARGS__ }, &out, msg), MT_OK); \
        ck_assert_int_gt(out->revision, last); last = out->revision; \
        ck_assert_int_eq(tu_i64(raw, "SELECT revision FROM rc_refs WHERE id = '" ID_A "'"), last); \
        assert_nodes(out); ck_assert(out->refreshed_at == 42 && !out->deleted); \
        ck_assert_str_eq(out->uuid, UUID_X); f; mt_rc_unref(&out); } while (0)

    CHECK_SET({ ck_assert_str_eq(out->name, "east2"); ck_assert_str_eq(out->hostname, "tcp://e:1"); },
              .name = "east2");
    assert_col("name", ID_A, "east2");
    CHECK_SET({ ck_assert_str_eq(out->hostname, "tcp://e:9"); ck_assert_str_eq(out->name, "east2"); },
              .hostname = "tcp://e:9");
    assert_col("hostname", ID_A, "tcp://e:9");
    CHECK_SET({ ck_assert_str_eq(out->username, "u2"); }, .username = "u2");
    assert_col("username", ID_A, "u2");
    assert_col("password", ID_A, passwords[0]);    /* kept unless given */
    CHECK_SET({ ck_assert_str_eq(out->username, "u2"); }, .password = passwords[2]);
    assert_col("password", ID_A, passwords[2]);
    CHECK_SET({ ck_assert(out->demand_encryption); }, .enc = 2);
    ck_assert_int_eq(tu_i64(raw, "SELECT demand_encryption FROM rc_refs WHERE id = '" ID_A "'"), 1);
    CHECK_SET({ ck_assert(!out->demand_encryption); ck_assert_str_eq(out->hostname, "tcp://e:9"); },
              .enc = 1);
    /* an empty password may be set too */
    CHECK_SET({ ck_assert_str_eq(out->name, "east2"); }, .password = "");
    assert_col("password", ID_A, "");
    /* several at once, renaming to its own name included */
    CHECK_SET({ ck_assert_str_eq(out->name, "east2"); ck_assert_str_eq(out->username, "u3"); },
              .name = "east2", .username = "u3", .password = passwords[3]);
    assert_col("password", ID_A, passwords[3]);

    mt_msg_t *m;
    mt_store_rc_scanned_t *s = scan(0, &m);
    ck_assert_uint_eq(s->nrefs, 1);
    ck_assert(s->refs[0]->revision == last);
    ck_assert_str_eq(s->refs[0]->username, "u3");
    mt_msg_free(m);
#undef CHECK_SET
}
END_TEST

START_TEST(compare_and_set)
{
    int64_t r0, r2;
    mt_rc_t *out = NULL;
    char msg[200];
    ck_assert_int_eq(add(mk(ID_A, "east", "tcp://e:1", UUID_X, "u", passwords[0], false, 0),
                         &r0, NULL, NULL), MT_OK);
    ck_assert_int_eq(set(ID_A, (set_t) { .hostname = "tcp://e:2", .expected = r0 },
                         &out, msg), MT_OK);
    int64_t r1 = out->revision;
    mt_rc_unref(&out);
    /* the same expected revision again: stale */
    ck_assert_int_eq(set(ID_A, (set_t) { .hostname = "tcp://e:3", .expected = r0 },
                         &out, msg), MT_ECONFLICT);
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(msg, "changed meanwhile"), "%s", msg);
    assert_col("hostname", ID_A, "tcp://e:2");
    ck_assert_int_eq(tu_i64(raw, "SELECT revision FROM rc_refs WHERE id = '" ID_A "'"), r1);
    /* a delete with a stale revision: refused, with the current one: done */
    ck_assert_int_eq(del(ID_A, r0, NULL, msg), MT_ECONFLICT);
    ck_assert_int_eq(tu_i64(raw, "SELECT deleted FROM rc_refs WHERE id = '" ID_A "'"), 0);
    ck_assert_int_eq(del(ID_A, r1, &r2, msg), MT_OK);
    ck_assert_int_gt(r2, r1);
    /* deleted: not found, with or without an expected revision */
    ck_assert_int_eq(set(ID_A, (set_t) { .username = "x", .expected = r2 }, &out, msg),
                     MT_ENOTFOUND);
    ck_assert_int_eq(set(ID_A, (set_t) { .username = "x" }, &out, msg), MT_ENOTFOUND);
    ck_assert_int_eq(del(ID_A, r2, NULL, msg), MT_ENOTFOUND);
    ck_assert_int_eq(set(ID_B, (set_t) { .enc = 2 }, &out, msg), MT_ENOTFOUND);
    ck_assert_msg(strstr(msg, ID_B) && strstr(msg, "not found"), "%s", msg);
}
END_TEST

START_TEST(rename_conflict)
{
    mt_rc_t *out = NULL;
    char msg[200];
    int64_t rb;
    ck_assert_int_eq(add(mk(ID_A, "east", "tcp://e:1", UUID_X, "", NULL, false, 0),
                         NULL, NULL, NULL), MT_OK);
    ck_assert_int_eq(add(mk(ID_B, "west", "tcp://w:1", UUID_Y, "", NULL, false, 0),
                         &rb, NULL, NULL), MT_OK);
    ck_assert_int_eq(set(ID_B, (set_t) { .name = "east" }, &out, msg), MT_ECONFLICT);
    ck_assert_msg(strstr(msg, "\"east\"") && strstr(msg, ID_A), "%s", msg);
    assert_col("name", ID_B, "west");
    ck_assert_int_eq(tu_i64(raw, "SELECT revision FROM rc_refs WHERE id = '" ID_B "'"), rb);
    /* once east is deleted its name is free */
    ck_assert_int_eq(del(ID_A, 0, NULL, NULL), MT_OK);
    ck_assert_int_eq(set(ID_B, (set_t) { .name = "east" }, &out, msg), MT_OK);
    ck_assert_str_eq(out->name, "east");
    mt_rc_unref(&out);
}
END_TEST

START_TEST(scan_incremental)
{
    int64_t ra, rb, rc, rd, ra2;
    mt_rc_t *out = NULL;
    ck_assert_int_eq(add(mk(ID_A, "m-alpha", "tcp://a:1", "", "", passwords[0], false, 0),
                         &ra, NULL, NULL), MT_OK);
    ck_assert_int_eq(add(mk(ID_B, "c-bravo", "tcp://b:1", "", "", passwords[1], false, 0),
                         &rb, NULL, NULL), MT_OK);
    mt_msg_t *m;
    mt_store_rc_scanned_t *s = scan(0, &m);
    ck_assert_uint_eq(s->nrefs, 2);
    ck_assert_str_eq(s->refs[0]->name, "c-bravo");  /* by name */
    ck_assert_str_eq(s->refs[1]->name, "m-alpha");
    int64_t mark = s->mark;
    ck_assert_int_gt(mark, rb);
    mt_msg_free(m);

    /* nothing new: nothing */
    s = scan(mark, &m);
    ck_assert_uint_eq(s->nrefs, 0);
    ck_assert_int_gt(s->mark, mark);
    mt_msg_free(m);

    ck_assert_int_eq(add(mk(ID_C, "a-charlie", "tcp://c:1", "", "", passwords[2], false, 0),
                         &rc, NULL, NULL), MT_OK);
    ck_assert_int_eq(del(ID_B, 0, &rd, NULL), MT_OK);
    ck_assert_int_eq(set(ID_A, (set_t) { .password = passwords[3] }, &out, NULL), MT_OK);
    ra2 = out->revision;
    mt_rc_unref(&out);
    s = scan(mark, &m);
    ck_assert_uint_eq(s->nrefs, 3);
    ck_assert_str_eq(s->refs[0]->name, "a-charlie");
    ck_assert(s->refs[0]->revision == rc && !s->refs[0]->deleted);
    ck_assert_str_eq(s->refs[1]->name, "c-bravo");
    ck_assert(s->refs[1]->revision == rd && s->refs[1]->deleted);
    ck_assert_str_eq(s->refs[2]->name, "m-alpha");
    ck_assert(s->refs[2]->revision == ra2 && ra2 > ra);
    mt_msg_free(m);

    /* after a revision in the middle: only what is above it */
    s = scan(rd, &m);
    ck_assert_uint_eq(s->nrefs, 1);
    ck_assert_str_eq(s->refs[0]->id, ID_A);
    mt_msg_free(m);
}
END_TEST

static mt_rc_t *mk_keys(const char *id, const char *name, const char *server_key,
                        const char *pub, const char *sec)
{
    mt_rc_t t = { .id = id, .name = name, .hostname = "tcp://h:1", .uuid = "", .username = "",
                  .password = passwords[0], .server_key = server_key, .client_public = pub,
                  .client_secret = sec, .demand_encryption = true };
    return mt_rc_build(&t);
}

/*  RC_SCAN of one row: rc_id, whatever `after` says. */
static mt_msg_t *load_one(const char *id)
{
    mt_msg_t *q = mt_store_msg_rc_scan(INT64_MAX);
    snprintf(((mt_store_scan_req_t *) mt_msg_data(q))->rc_id, MT_RC_ID_MAX + 1, "%s", id);
    mt_msg_t *m = tu_ask(rt, mt_store_reader(store), q);
    ck_assert_int_eq(m->type, MT_STORE_RC_SCANNED);
    ck_assert_msg(((mt_store_rc_scanned_t *) mt_msg_data(m))->err == MT_OK, "%s",
                  ((mt_store_rc_scanned_t *) mt_msg_data(m))->message);
    return m;
}

START_TEST(keys_stored_and_scanned)
{
    int64_t rev = 0;
    mt_rc_t *out = NULL;
    ck_assert_int_eq(add(mk_keys(ID_A, "east", SERVER_PUB, CLIENT_PUB, CLIENT_SEC), &rev, &out,
                         NULL), MT_OK);
    ck_assert_str_eq(out->server_key, SERVER_PUB);
    ck_assert_str_eq(out->client_public, CLIENT_PUB);
    mt_rc_unref(&out);              /* (write_rc: no secret in DONE) */
    assert_col("server_key", ID_A, SERVER_PUB);
    assert_col("client_public", ID_A, CLIENT_PUB);
    assert_col("client_secret", ID_A, CLIENT_SEC);
    ck_assert_int_eq(add(mk_keys(ID_B, "west", "", "", NULL), NULL, NULL, NULL), MT_OK);
    assert_col("client_secret", ID_B, "");

    /* a scan carries the secret (every replica's agent probes with it) */
    mt_msg_t *m;
    mt_store_rc_scanned_t *s = scan(0, &m);
    ck_assert_uint_eq(s->nrefs, 2);
    const mt_rc_t *a = find(s, ID_A), *b = find(s, ID_B);
    ck_assert_str_eq(a->server_key, SERVER_PUB);
    ck_assert_str_eq(a->client_public, CLIENT_PUB);
    ck_assert_str_eq(a->client_secret, CLIENT_SEC);
    ck_assert_str_eq(b->server_key, "");
    ck_assert_ptr_null(b->client_secret);
    mt_msg_free(m);

    /* one row by id, whatever its revision */
    m = load_one(ID_A);
    s = mt_msg_data(m);
    ck_assert_uint_eq(s->nrefs, 1);
    ck_assert_str_eq(s->refs[0]->id, ID_A);
    ck_assert_str_eq(s->refs[0]->client_secret, CLIENT_SEC);
    ck_assert_int_eq(s->refs[0]->revision, rev);
    mt_msg_free(m);
    m = load_one("no-such-id");
    ck_assert_uint_eq(((mt_store_rc_scanned_t *) mt_msg_data(m))->nrefs, 0);
    mt_msg_free(m);
}
END_TEST

START_TEST(keys_set_and_tombstone)
{
    ck_assert_int_eq(add(mk_keys(ID_A, "east", SERVER_PUB, CLIENT_PUB, CLIENT_SEC), NULL, NULL,
                         NULL), MT_OK);
    /* another field only: the keys stay */
    ck_assert_int_eq(set(ID_A, (set_t) { .username = "ops" }, NULL, NULL), MT_OK);
    assert_col("server_key", ID_A, SERVER_PUB);
    assert_col("client_secret", ID_A, CLIENT_SEC);
    assert_col("password", ID_A, passwords[0]);

    /* server_key alone */
    mt_rc_t t = { .id = ID_A, .server_key = "" };
    mt_msg_t *w = mt_store_msg_rc_set(mt_rc_build(&t), false, false, false, false, false, 0);
    ((mt_store_rc_write_t *) mt_msg_data(w))->has_server_key = true;
    mt_rc_t *out = NULL;
    ck_assert_int_eq(write_rc(ID_A, w, NULL, &out, NULL), MT_OK);
    ck_assert_str_eq(out->server_key, "");
    ck_assert_str_eq(out->client_public, CLIENT_PUB);
    mt_rc_unref(&out);
    assert_col("server_key", ID_A, "");
    assert_col("client_secret", ID_A, CLIENT_SEC);

    /* the keypair, rotated */
    t = (mt_rc_t) { .id = ID_A, .client_public = CLIENT2_PUB, .client_secret = CLIENT2_SEC };
    w = mt_store_msg_rc_set(mt_rc_build(&t), false, false, false, false, false, 0);
    ((mt_store_rc_write_t *) mt_msg_data(w))->has_client_keys = true;
    ck_assert_int_eq(write_rc(ID_A, w, NULL, &out, NULL), MT_OK);
    ck_assert_str_eq(out->client_public, CLIENT2_PUB);
    mt_rc_unref(&out);
    assert_col("client_public", ID_A, CLIENT2_PUB);
    assert_col("client_secret", ID_A, CLIENT2_SEC);

    /* the keypair, cleared */
    t = (mt_rc_t) { .id = ID_A, .client_public = "" };
    w = mt_store_msg_rc_set(mt_rc_build(&t), false, false, false, false, false, 0);
    ((mt_store_rc_write_t *) mt_msg_data(w))->has_client_keys = true;
    ck_assert_int_eq(write_rc(ID_A, w, NULL, NULL, NULL), MT_OK);
    assert_col("client_public", ID_A, "");
    assert_col("client_secret", ID_A, "");

    /* a tombstone keeps no secret */
    t = (mt_rc_t) { .id = ID_A, .client_public = CLIENT_PUB, .client_secret = CLIENT_SEC };
    w = mt_store_msg_rc_set(mt_rc_build(&t), false, false, false, false, false, 0);
    ((mt_store_rc_write_t *) mt_msg_data(w))->has_client_keys = true;
    ck_assert_int_eq(write_rc(ID_A, w, NULL, NULL, NULL), MT_OK);
    assert_col("client_secret", ID_A, CLIENT_SEC);
    ck_assert_int_eq(del(ID_A, 0, NULL, NULL), MT_OK);
    assert_col("client_secret", ID_A, "");
    assert_col("password", ID_A, "");
    mt_msg_t *m = load_one(ID_A);
    mt_store_rc_scanned_t *s = mt_msg_data(m);
    ck_assert_uint_eq(s->nrefs, 1);
    ck_assert(s->refs[0]->deleted);
    ck_assert_ptr_null(s->refs[0]->client_secret);
    mt_msg_free(m);
}
END_TEST

START_TEST(keys_refused)
{
    char msg[200];
    ck_assert_int_eq(add(mk_keys(ID_A, "n", "short", "", NULL), NULL, NULL, msg), MT_EBADREQ);
    ck_assert_msg(strstr(msg, "server_key"), "%s", msg);
    ck_assert_int_eq(add(mk_keys(ID_A, "n", SERVER_PUB "x", "", NULL), NULL, NULL, msg),
                     MT_EBADREQ);
    ck_assert_int_eq(add(mk_keys(ID_A, "n", "", CLIENT_PUB, NULL), NULL, NULL, msg), MT_EBADREQ);
    ck_assert_int_eq(add(mk_keys(ID_A, "n", "", "", CLIENT_SEC), NULL, NULL, msg), MT_EBADREQ);
    ck_assert_int_eq(add(mk_keys(ID_A, "n", "", CLIENT2_PUB, CLIENT_SEC), NULL, NULL, msg),
                     MT_EBADREQ);
    ck_assert_msg(!strstr(msg, CLIENT_SEC), "%s", msg);
    mt_rc_t t = { .id = ID_A, .client_public = CLIENT_PUB, .client_secret = CLIENT2_SEC };
    mt_msg_t *w = mt_store_msg_rc_set(mt_rc_build(&t), false, false, false, false, false, 0);
    ((mt_store_rc_write_t *) mt_msg_data(w))->has_client_keys = true;
    ck_assert_int_eq(write_rc(ID_A, w, NULL, NULL, msg), MT_EBADREQ);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM rc_refs"), 0);
}
END_TEST

START_TEST(bad_requests)
{
    char msg[200];
    ck_assert_int_eq(add(mk("", "n", "tcp://h:1", "", "", NULL, false, 0), NULL, NULL, msg),
                     MT_EBADREQ);
    ck_assert_int_eq(add(mk("has space", "n", "tcp://h:1", "", "", NULL, false, 0), NULL, NULL,
                         msg), MT_EBADREQ);
    ck_assert_int_eq(add(mk(ID_A, "", "tcp://h:1", "", "", NULL, false, 0), NULL, NULL, msg),
                     MT_EBADREQ);
    ck_assert_msg(strstr(msg, "name"), "%s", msg);
    ck_assert_int_eq(add(mk(ID_A, "bad\x01", "tcp://h:1", "", "", NULL, false, 0), NULL, NULL,
                         msg), MT_EBADREQ);
    ck_assert_int_eq(add(mk(ID_A, "bad\xff", "tcp://h:1", "", "", NULL, false, 0), NULL, NULL,
                         msg), MT_EBADREQ);
    ck_assert_int_eq(add(mk(ID_A, "n", "", "", "", NULL, false, 0), NULL, NULL, msg), MT_EBADREQ);
    ck_assert_msg(strstr(msg, "hostname"), "%s", msg);
    ck_assert_int_eq(add(mk(ID_A, "n", "tcp://h:1", "not a uuid", "", NULL, false, 0), NULL, NULL,
                         msg), MT_EBADREQ);
    ck_assert_int_eq(add(mk(ID_A, "n", "tcp://h:1", "", "", "\xc3", false, 0), NULL, NULL, msg),
                     MT_EBADREQ);
    ck_assert_int_eq(write_rc(ID_A, mt_store_msg_rc_add(NULL), NULL, NULL, msg), MT_EBADREQ);
    ck_assert_int_eq(del(ID_A, -1, NULL, msg), MT_EBADREQ);
    ck_assert_int_eq(set(ID_A, (set_t) { .name = "" }, NULL, msg), MT_EBADREQ);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM rc_refs"), 0);
}
END_TEST

/*  Two replicas (two stores) add one name at once: exactly one wins. */
typedef struct {
    mt_store_t *store;
    mt_rc_t *ref;
    int err;
} race_t;

static void *race_add(void *arg)
{
    race_t *r = arg;
    mt_msg_t *reply = NULL;
    r->err = -1;
    if (mt_ask_wait(rt, mt_store_writer(r->store, r->ref->id), mt_store_msg_rc_add(r->ref), 20000,
                    &reply) == MT_OK) {
        r->err = ((mt_store_done_t *) mt_msg_data(reply))->err;
        mt_msg_free(reply);
    }
    return NULL;
}

START_TEST(concurrent_adds)
{
    mt_store_t *other = tu_store(rt, dsn, 1);
    for (int round = 0; round < 10; round++) {
        char name[32], ida[40], idb[40], uuid[40];
        snprintf(name, sizeof name, "race-%d", round);
        snprintf(ida, sizeof ida, "a-%d", round);
        snprintf(idb, sizeof idb, "b-%d", round);
        snprintf(uuid, sizeof uuid, "u-%d", round);
        /* even rounds: the same name; odd rounds: other names, the same uuid */
        race_t r[2] = {
            { store, mk(ida, name, "tcp://h:1", uuid, "", NULL, false, 0), 0 },
            { other, mk(idb, round % 2 ? "race-other" : name, "tcp://h:1", uuid, "", NULL, false, 0), 0 },
        };
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&th[i], NULL, race_add, &r[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        ck_assert_msg((r[0].err == MT_OK && r[1].err == MT_ECONFLICT)
                      || (r[0].err == MT_ECONFLICT && r[1].err == MT_OK),
                      "round %d: %d %d", round, r[0].err, r[1].err);
        /* free the names for the next round */
        ck_assert_int_eq(del(r[0].err == MT_OK ? ida : idb, 0, NULL, NULL), MT_OK);
    }
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM rc_refs WHERE deleted = 0"), 0);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM rc_refs"), 10);
    mt_store_destroy(&other);
}
END_TEST

START_TEST(unavailable_while_down)
{
    /* a store whose database cannot be reached answers at once */
    mt_store_t *down = NULL;
    char err[256];
    mt_store_opts_t o = { .dsn = "mysql://metactor:metactor@127.0.0.1:1/metactor_t_none",
                          .writers = 1, .reconnect_ms = 60000 };
    ck_assert_int_eq(mt_store_new(rt, &o, &down, err, sizeof err), MT_OK);
    mt_msg_t *r = tu_ask(rt, mt_store_writer(down, ID_A),
                         mt_store_msg_rc_add(mk(ID_A, "n", "tcp://h:1", "", "", passwords[0],
                                                false, 0)));
    ck_assert_int_eq(((mt_store_done_t *) mt_msg_data(r))->err, MT_EUNAVAIL);
    mt_msg_free(r);
    r = tu_ask(rt, mt_store_reader(down), mt_store_msg_rc_scan(0));
    ck_assert_int_eq(r->type, MT_STORE_RC_SCANNED);
    ck_assert_int_eq(((mt_store_rc_scanned_t *) mt_msg_data(r))->err, MT_EUNAVAIL);
    mt_msg_free(r);
    mt_store_destroy(&down);
}
END_TEST

START_TEST(schema_v2_idempotent)
{
    ck_assert_int_eq(tu_i64(raw, "SELECT version FROM mt_schema"), 10);
    /* the v1 key on name (tombstones included) is gone; the live keys are there */
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM information_schema.statistics WHERE"
                                 " table_schema = '" DB "' AND table_name = 'rc_refs'"
                                 " AND index_name = 'name'"), 0);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM information_schema.statistics WHERE"
                                 " table_schema = '" DB "' AND table_name = 'rc_refs'"
                                 " AND index_name IN ('live_name', 'live_uuid')"
                                 " AND non_unique = 0"), 2);
    /* migrating again from scratch changes nothing and keeps the rows */
    ck_assert_int_eq(add(mk(ID_A, "east", "tcp://e:1", UUID_X, "", passwords[0], false, 0),
                         NULL, NULL, NULL), MT_OK);
    mt_store_destroy(&store);
    tu_exec(raw, "UPDATE mt_schema SET version = 0");
    store = tu_store(rt, dsn, 1);
    ck_assert_int_eq(tu_i64(raw, "SELECT version FROM mt_schema"), 10);
    ck_assert_int_eq(tu_i64(raw, "SELECT COUNT(*) FROM rc_refs WHERE live_name = 'east'"), 1);
    ck_assert_int_eq(add(mk(ID_B, "east", "tcp://e:1", UUID_Y, "", NULL, false, 0),
                         NULL, NULL, NULL), MT_ECONFLICT);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("store_rc");
    TCase *tc = tcase_create("rc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, add_then_scan);
    tcase_add_test(tc, keys_stored_and_scanned);
    tcase_add_test(tc, keys_set_and_tombstone);
    tcase_add_test(tc, keys_refused);
    tcase_add_test(tc, duplicates_conflict);
    tcase_add_test(tc, delete_frees_name_and_uuid);
    tcase_add_test(tc, set_each_field);
    tcase_add_test(tc, compare_and_set);
    tcase_add_test(tc, rename_conflict);
    tcase_add_test(tc, scan_incremental);
    tcase_add_test(tc, bad_requests);
    tcase_add_test(tc, concurrent_adds);
    tcase_add_test(tc, unavailable_while_down);
    tcase_add_test(tc, schema_v2_idempotent);
    suite_add_tcase(su, tc);
    return mt_check_run(su);
}
