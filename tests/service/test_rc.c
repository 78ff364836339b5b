/*  test_rc.c — remote cluster references (PROTOCOL.md "Remote cluster
    references", DESIGN.md, seeds/couchbase-MB-25918) across real clusters,
    the operations themselves; the clusters, intervals and helpers are in
    harness_rc.h, the writer and the deletes in test_rc_writer.c and
    test_rc_delete.c.

    Cases (each on fresh databases and processes):
      crud_on_every_replica        add/get/list/set (plain, CAS, stale CAS)/
                                   rename/hostname/del, each through another
                                   replica of A, seen by all of A; a hostname of
                                   C refused (bad_request); names and uuids free
                                   again after a rename or a delete
      errors_store_nothing         unreachable → unavailable, duplicate name or
                                   uuid → conflict (also two at once on two
                                   replicas), two CAS of one revision at once,
                                   malformed fields → bad_request; nothing stored
      password_never_leaves        replies, raw notice bytes of every replica of
                                   A, every replica's log (debug level) */
#include "harness_rc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*  Exactly one of two replies is ok, the other is `code`. */
static void one_wins(h_reply_t *r1, h_reply_t *r2, const char *code, const char *what)
{
    bool ok1 = r1->ok, ok2 = r2->ok;
    const h_reply_t *loser = ok1 ? r2 : r1;
    H_ASSERT(ok1 != ok2, "%s: %s and %s", what, ok1 ? "ok" : r1->code, ok2 ? "ok" : r2->code);
    H_ASSERT(strcmp(loser->code, code) == 0, "%s: the loser got %s (%s), expected %s", what,
             loser->code, loser->message, code);
}

/* ---- the password -------------------------------------------------------- */

static void no_password(const void *data, size_t n, const char *what)
{
    H_ASSERT(!memmem(data, n, PASSWORD, strlen(PASSWORD)), "the password appears in %s", what);
    H_ASSERT(!memmem(data, n, PASSWORD2, strlen(PASSWORD2)), "the second password appears in %s",
             what);
    /*  A distinctive part too, in case it is cut or quoted. */
    H_ASSERT(!memmem(data, n, "never-shown", 11), "a piece of a password appears in %s", what);
}

static h_reply_t *checked(h_reply_t *r, const char *what)
{
    H_ASSERT(r, "%s: no reply", what);
    no_password(r->data, r->size, what);
    return r;
}

static void check_free(h_reply_t *r, const char *what)
{
    checked(r, what);
    h_reply_free(&r);
}

/*  Reads every message waiting on SUB socket s within ms: scans each frame;
    returns how many "rc/" notices came. */
static int drain_notices(void *s, int ms, const char *what)
{
    int rc_notices = 0;
    int64_t deadline = h_now_ms() + ms;
    for (;;) {
        int64_t left = deadline - h_now_ms();
        char *frames[8];
        size_t sizes[8];
        int n = left > 0 ? h_recv_msg(s, (int) left, frames, sizes, 8) : 0;
        if (n <= 0)
            break;
        H_ASSERT(n <= 8, "%s: a message of %d frames", what, n);
        if (sizes[0] >= 3 && memcmp(frames[0], "rc/", 3) == 0)
            rc_notices++;
        for (int k = 0; k < n; k++) {
            no_password(frames[k], sizes[k], what);
            free(frames[k]);
        }
    }
    return rc_notices;
}

static void log_has_no_password(int i)
{
    const char *path = h_replica(i)->log;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    H_ASSERT(fd >= 0, "cannot open %s", path);
    struct stat st;
    H_ASSERT(fstat(fd, &st) == 0, "stat %s", path);
    size_t n = (size_t) st.st_size;
    char *buf = malloc(n + 1);
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k <= 0)
            break;
        got += (size_t) k;
    }
    close(fd);
    char what[600];
    snprintf(what, sizeof what, "the log of replica %s (%s)", h_replica(i)->id, path);
    no_password(buf, got, what);
    free(buf);
}

/* ---- cases ----------------------------------------------------------------- */

/*  add, get (name, id, uuid), list, set (plain, compare-and-set, stale),
    rename, hostname changes (another cluster refused, the same cluster
    taken), a second reference, a name and a uuid freed and taken again,
    delete: each through a different replica of A, seen by all of A. */
START_TEST(crud_on_every_replica)
{
    h_start_all();
    char *b_uuid = rc_cluster_uuid(B0), *c_uuid = rc_cluster_uuid(C0);
    H_ASSERT(strcmp(b_uuid, c_uuid) != 0, "B and C have the same uuid");
    void *sub = h_sub(A0, "rc/");
    h_sleep_ms(300);                /* the SUB connects */

    /*  add on a0 */
    h_reply_t *r = rc_add(A0, "to-b", rc_ep(B0), PASSWORD);
    const msgpack_object *v = h_get(r->result, "ref");
    rc_check_view(v, "rc.add");
    H_ASSERT(h_is_str(v, "name", "to-b"), "name");
    H_ASSERT(h_is_str(v, "hostname", rc_ep(B0)), "hostname");
    H_ASSERT(h_is_str(v, "uuid", b_uuid), "uuid is B's");
    H_ASSERT(h_is_str(v, "username", "admin"), "username");
    H_ASSERT(!h_bool(v, "demand_encryption"), "demand_encryption defaults to false");
    H_ASSERT(h_int(v, "revision") > 0, "revision");
    H_ASSERT(h_int(v, "refreshed_at") > 0, "the add contacted B");
    H_ASSERT(h_size(v, "node_list") == 2, "node_list: both of B");
    char *id = h_sdup(v, "id");
    int64_t rev1 = h_int(v, "revision");
    h_reply_free(&r);

    /*  its notice, from a0 */
    char *topic = NULL;
    h_reply_t *n = h_sub_recv(sub, &topic, H_T);
    H_ASSERT(n, "no notice of the add");
    char want[64];
    snprintf(want, sizeof want, "rc/%s", id);
    H_ASSERT(strcmp(topic, want) == 0, "topic %s, expected %s", topic, want);
    H_ASSERT(h_is_str(n->top, "kind", "rc") && h_is_str(n->top, "change", "upsert")
             && h_is_str(n->top, "replica", "a0") && h_int(n->top, "revision") == rev1,
             "the add's notice");
    rc_check_view(h_get(n->top, "view"), "notice");
    free(topic);
    h_reply_free(&n);

    /*  seen on a1 and a2, by name, id and uuid */
    H_WAIT(rc_all_rev("to-b", rev1), H_T, "a1/a2 never learned the reference");
    for (int i = A0; i <= A2; i++) {
        h_reply_t *g = rc_get(i, "id", id);
        H_ASSERT(g && h_is_str(g->result, "ref/name", "to-b"), "by id on %s", h_replica(i)->id);
        h_reply_free(&g);
        g = rc_get(i, "uuid", b_uuid);
        H_ASSERT(g && h_is_str(g->result, "ref/id", id), "by uuid on %s", h_replica(i)->id);
        h_reply_free(&g);
        H_ASSERT(rc_list_size(i) == 1, "rc.list on %s", h_replica(i)->id);
    }

    /*  set on a1 without a revision; demand_encryption needs a server_key */
    h_err(A1, "bad_request", "{s:s, s:s, s:b}", "op", "rc.set", "name", "to-b",
          "demand_encryption", 1);
    r = h_ok(A1, "{s:s, s:s, s:s, s:b}", "op", "rc.set", "name", "to-b", "username", "ops",
             "demand_encryption", 0);
    int64_t rev2 = h_int(r->result, "ref/revision");
    H_ASSERT(rev2 > rev1, "set: the revision grows");
    H_ASSERT(h_is_str(r->result, "ref/username", "ops") && !h_bool(r->result, "ref/demand_encryption"),
             "set: the new fields");
    H_ASSERT(h_is_str(r->result, "ref/hostname", rc_ep(B0)), "set: the hostname kept");
    h_reply_free(&r);
    H_WAIT(rc_all_rev("to-b", rev2), H_T, "the set never reached all of A");
    for (int i = A0; i <= A2; i++)
        H_ASSERT(rc_field_is(i, "to-b", "username", "ops"), "username on %s", h_replica(i)->id);

    /*  compare-and-set on a2 with the current revision, then a stale one on a0 */
    r = h_ok(A2, "{s:s, s:s, s:s, s:I}", "op", "rc.set", "name", "to-b", "username", "ops2",
             "revision", rev2);
    int64_t rev3 = h_int(r->result, "ref/revision");
    H_ASSERT(rev3 > rev2, "CAS set: the revision grows");
    h_reply_free(&r);
    H_WAIT(rc_all_rev("to-b", rev3), H_T, "the CAS set never reached all of A");
    h_err(A0, "conflict", "{s:s, s:s, s:s, s:I}", "op", "rc.set", "name", "to-b", "username",
          "stale", "revision", rev2);
    h_err(A1, "conflict", "{s:s, s:s, s:I}", "op", "rc.del", "name", "to-b", "revision", rev1);
    for (int i = A0; i <= A2; i++)
        H_ASSERT(rc_field_is(i, "to-b", "username", "ops2") && rc_rev_of(i, "to-b") == rev3,
                 "a refused compare-and-set changed %s", h_replica(i)->id);

    /*  rename on a0 */
    r = h_ok(A0, "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "new_name", "to-b-renamed");
    int64_t rev4 = h_int(r->result, "ref/revision");
    H_ASSERT(h_is_str(r->result, "ref/id", id), "rename keeps the id");
    h_reply_free(&r);
    H_WAIT(rc_all_rev("to-b-renamed", rev4), H_T, "the rename never reached all of A");
    H_WAIT(rc_gone_everywhere("name", "to-b"), H_T, "the old name is still found");
    h_err(A1, "not_found", "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "username", "x");

    /*  a hostname of another cluster (C) is refused; B's other replica is taken */
    h_err(A1, "bad_request", "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b-renamed",
          "hostname", rc_ep(C0));
    for (int i = A0; i <= A2; i++)
        H_ASSERT(rc_field_is(i, "to-b-renamed", "hostname", rc_ep(B0)) && rc_rev_of(i, "to-b-renamed") == rev4,
                 "the refused set changed %s", h_replica(i)->id);
    r = h_ok(A2, "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b-renamed", "hostname", rc_ep(B1));
    int64_t rev5 = h_int(r->result, "ref/revision");
    H_ASSERT(h_is_str(r->result, "ref/hostname", rc_ep(B1)) && rev5 > rev4, "hostname set");
    h_reply_free(&r);
    H_WAIT(rc_all_host("to-b-renamed", rc_ep(B1)) && rc_all_rev("to-b-renamed", rev5), H_T,
           "the hostname never reached all of A");

    /*  a second reference (to C); renaming it onto the first's name is a conflict */
    r = rc_add(A1, "to-c", rc_ep(C0), PASSWORD);
    char *c_id = h_sdup(r->result, "ref/id");
    H_ASSERT(h_is_str(r->result, "ref/uuid", c_uuid), "to-c: C's uuid");
    int64_t crev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(rc_all_rev("to-c", crev), H_T, "to-c never reached all of A");
    h_err(A2, "conflict", "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-c", "new_name",
          "to-b-renamed");
    for (int i = A0; i <= A2; i++)
        H_ASSERT(rc_list_size(i) == 2, "two references on %s", h_replica(i)->id);

    /*  delete to-c by id; then the freed name "to-b" and C's freed uuid are taken again */
    r = h_ok(A0, "{s:s, s:s}", "op", "rc.del", "id", c_id);
    H_ASSERT(h_size(r->result, "") == 0, "rc.del: an empty result");
    h_reply_free(&r);
    H_WAIT(rc_gone_everywhere("id", c_id), H_T, "to-c still found after its delete");
    r = rc_add(A2, "to-b", rc_ep(C0), PASSWORD);
    H_ASSERT(!h_is_str(r->result, "ref/id", c_id) && !h_is_str(r->result, "ref/id", id),
             "a new reference has a new id");
    int64_t nrev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(rc_all_rev("to-b", nrev), H_T, "the new to-b never reached all of A");

    /*  delete on a2 (by name, with the current revision) */
    r = h_ok(A2, "{s:s, s:s, s:I}", "op", "rc.del", "name", "to-b-renamed", "revision", rev5);
    h_reply_free(&r);
    H_WAIT(rc_gone_everywhere("name", "to-b-renamed") && rc_gone_everywhere("id", id)
           && rc_gone_everywhere("uuid", b_uuid), H_T, "to-b-renamed still found after its delete");
    for (int i = A0; i <= A2; i++) {
        H_ASSERT(rc_list_size(i) == 1, "one reference left on %s", h_replica(i)->id);
        H_ASSERT(rc_field_is(i, "to-b", "uuid", c_uuid), "to-b on %s", h_replica(i)->id);
        h_err(i, "not_found", "{s:s, s:s}", "op", "rc.del", "name", "to-b-renamed");
        h_err(i, "not_found", "{s:s, s:s, s:s}", "op", "rc.set", "id", id, "username", "x");
    }
    free(c_id);
    free(id);
    free(b_uuid);
    free(c_uuid);
}
END_TEST

/*  Failed adds and malformed requests: the right code, nothing stored. */
START_TEST(errors_store_nothing)
{
    h_start_all();
    char *id = rc_add_ref_to_b("to-b");
    int64_t writes = rc_sum_a("store_rc_writes");
    H_ASSERT(writes == 1, "one write so far, not %lld", (long long) writes);

    /*  an endpoint nobody listens on (the last port of the program's block) */
    char dead[64];
    snprintf(dead, sizeof dead, "tcp://127.0.0.1:%d", h_replica(A0)->port + 19);
    h_err(A1, "unavailable", "{s:s, s:s, s:s}", "op", "rc.add", "name", "nowhere", "hostname", dead);
    h_err(A1, "not_found", "{s:s, s:s}", "op", "rc.get", "name", "nowhere");
    h_err(A1, "unavailable", "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "hostname", dead);

    /*  a name taken: on the replica that added it and on another */
    h_err(A0, "conflict", "{s:s, s:s, s:s}", "op", "rc.add", "name", "to-b", "hostname", rc_ep(C0));
    h_err(A2, "conflict", "{s:s, s:s, s:s}", "op", "rc.add", "name", "to-b", "hostname", rc_ep(C0));
    /*  B referenced again, through its other replica */
    h_err(A1, "conflict", "{s:s, s:s, s:s}", "op", "rc.add", "name", "b-again", "hostname",
          rc_ep(B1));
    h_err(A1, "not_found", "{s:s, s:s}", "op", "rc.get", "name", "b-again");

    /*  two adds of one name at once, on a1 and a2: one wins, the other is a conflict;
        the same for two names for C's uuid, and two compare-and-sets of one revision */
    msgpack_sbuffer *b1, *b2;
    h_reply_t *r1, *r2;
    b1 = h_body("{s:s, s:s, s:s}", "op", "rc.add", "name", "dup", "hostname", rc_ep(C0));
    b2 = h_body("{s:s, s:s, s:s}", "op", "rc.add", "name", "dup", "hostname", rc_ep(C0));
    h_at_once(A1, b1, A2, b2, &r1, &r2);
    one_wins(r1, r2, "conflict", "two adds of one name");
    h_reply_free(&r1);
    h_reply_free(&r2);
    /*  The add was a1's or a2's: a0 learns it from a notice (or its reload). */
    H_WAIT(rc_found(A0, "dup"), H_T, "a0 never learned of dup");
    h_reply_t *d = h_ok(A0, "{s:s, s:s}", "op", "rc.del", "name", "dup");
    h_reply_free(&d);
    H_WAIT(rc_gone_everywhere("name", "dup"), H_T, "dup is still found after its delete");
    b1 = h_body("{s:s, s:s, s:s}", "op", "rc.add", "name", "c-one", "hostname", rc_ep(C0));
    b2 = h_body("{s:s, s:s, s:s}", "op", "rc.add", "name", "c-two", "hostname", rc_ep(C0));
    h_at_once(A2, b1, A0, b2, &r1, &r2);
    one_wins(r1, r2, "conflict", "two adds of one uuid");
    const char *winner = r1->ok ? "c-one" : "c-two", *loser = r1->ok ? "c-two" : "c-one";
    h_reply_free(&r1);
    h_reply_free(&r2);
    H_WAIT(rc_gone_everywhere("name", loser), H_T, "the losing add is found");
    H_WAIT(rc_found(A0, winner), H_T, "a0 never learned of %s", winner);
    int64_t crev = rc_rev_of(A0, winner);
    for (int i = A0; i <= A2; i++)
        H_WAIT(rc_rev_of(i, winner) == crev, H_T, "%s on %s", winner, h_replica(i)->id);
    b1 = h_body("{s:s, s:s, s:s, s:I}", "op", "rc.set", "name", winner, "username", "one",
                "revision", crev);
    b2 = h_body("{s:s, s:s, s:s, s:I}", "op", "rc.set", "name", winner, "username", "two",
                "revision", crev);
    h_at_once(A0, b1, A1, b2, &r1, &r2);
    one_wins(r1, r2, "conflict", "two compare-and-sets of one revision");
    const char *user = r1->ok ? "one" : "two";
    h_reply_free(&r1);
    h_reply_free(&r2);
    for (int i = A0; i <= A2; i++)
        H_WAIT(rc_field_is(i, winner, "username", user), H_T, "the winning set on %s",
               h_replica(i)->id);
    d = h_ok(A1, "{s:s, s:s}", "op", "rc.del", "name", winner);
    h_reply_free(&d);
    H_WAIT(rc_gone_everywhere("name", winner), H_T, "%s is still found after its delete", winner);
    writes = rc_sum_a("store_rc_writes");

    /*  malformed fields */
    static const char *const bad_hosts[] = {
        "http://127.0.0.1:1", "tcp://127.0.0.1", "tcp://:7000", "tcp://127.0.0.1:0",
        "tcp://127.0.0.1:70000", "tcp://a b:1", "", "ipc://",
    };
    for (size_t k = 0; k < sizeof bad_hosts / sizeof bad_hosts[0]; k++) {
        h_err(A0, "bad_request", "{s:s, s:s, s:s}", "op", "rc.add", "name", "x", "hostname",
              bad_hosts[k]);
        h_err(A0, "bad_request", "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "hostname",
              bad_hosts[k]);
    }
    char long_name[300], long_user[300];
    memset(long_name, 'n', 256);
    long_name[256] = '\0';
    memset(long_user, 'u', 256);
    long_user[256] = '\0';
    h_err(A0, "bad_request", "{s:s, s:s}", "op", "rc.add", "hostname", rc_ep(C0));
    h_err(A0, "bad_request", "{s:s, s:s}", "op", "rc.add", "name", "x");
    h_err(A0, "bad_request", "{s:s, s:s, s:s}", "op", "rc.add", "name", "", "hostname", rc_ep(C0));
    h_err(A0, "bad_request", "{s:s, s:s, s:s}", "op", "rc.add", "name", long_name, "hostname", rc_ep(C0));
    h_err(A0, "bad_request", "{s:s, s:s, s:s}", "op", "rc.add", "name", "a\tb", "hostname",
          rc_ep(C0));
    h_err(A0, "bad_request", "{s:s, s:i, s:s}", "op", "rc.add", "name", 7, "hostname", rc_ep(C0));
    h_err(A0, "bad_request", "{s:s, s:s, s:i}", "op", "rc.add", "name", "x", "hostname", 7);
    h_err(A0, "bad_request", "{s:s, s:s, s:s, s:s}", "op", "rc.add", "name", "x", "hostname", rc_ep(C0),
          "username", long_user);
    h_err(A0, "bad_request", "{s:s, s:s, s:s, s:i}", "op", "rc.add", "name", "x", "hostname", rc_ep(C0),
          "password", 5);
    h_err(A0, "bad_request", "{s:s, s:s, s:s, s:s}", "op", "rc.add", "name", "x", "hostname", rc_ep(C0),
          "demand_encryption", "yes");
    h_err(A1, "bad_request", "{s:s, s:s}", "op", "rc.set", "name", "to-b");
    h_err(A1, "bad_request", "{s:s, s:s}", "op", "rc.set", "username", "x");
    h_err(A1, "bad_request", "{s:s, s:s, s:s, s:i}", "op", "rc.set", "name", "to-b", "username",
          "x", "revision", 0);
    h_err(A1, "bad_request", "{s:s, s:s, s:s, s:i}", "op", "rc.set", "name", "to-b", "username",
          "x", "revision", -3);
    h_err(A1, "bad_request", "{s:s, s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "username",
          "x", "revision", "1");
    h_err(A1, "bad_request", "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "new_name", "");
    h_err(A1, "bad_request", "{s:s, s:s, s:s}", "op", "rc.set", "id", "not an id!", "username", "x");
    h_err(A2, "bad_request", "{s:s}", "op", "rc.get");
    h_err(A2, "bad_request", "{s:s, s:s}", "op", "rc.get", "uuid", "not a uuid!");
    h_err(A2, "bad_request", "{s:s, s:s, s:s}", "op", "rc.get", "name", "to-b", "refresh", "yes");
    h_err(A2, "bad_request", "{s:s}", "op", "rc.del");
    h_err(A2, "bad_request", "{s:s, s:i}", "op", "rc.del", "name", 3);
    h_err(A2, "not_found", "{s:s, s:s}", "op", "rc.get", "uuid", "00000000-0000-0000-0000-000000000000");

    /*  nothing of it was stored or changed */
    rc_sleep_intervals(2);
    for (int i = A0; i <= A2; i++) {
        H_ASSERT(rc_list_size(i) == 1, "still one reference on %s", h_replica(i)->id);
        H_ASSERT(rc_field_is(i, "to-b", "hostname", rc_ep(B0)) && rc_field_is(i, "to-b", "username", "admin"),
                 "to-b unchanged on %s", h_replica(i)->id);
    }
    H_ASSERT(rc_sum_a("store_rc_writes") == writes, "a failed request wrote");
    /*  to-b, and the tombstones of dup and of the uuid race's winner */
    char *rows = h_db_query(CL_A, "SELECT CONCAT(SUM(deleted = 0), ' ', SUM(deleted = 1))"
                            " FROM rc_refs");
    H_ASSERT(rows && strcmp(rows, "1 2") == 0, "rc_refs: '%s' live and deleted rows, "
             "expected '1 2'", rows ? rows : "no");
    free(rows);
    /*  "nowhere" is free: the failed add left no trace of its name */
    h_reply_t *r = rc_add(A1, "nowhere", rc_ep(C0), PASSWORD);
    h_reply_free(&r);
    free(id);
}
END_TEST

/*  The password is stored, and never appears in a reply, a notice or a
    log (at debug level) of any replica. */
START_TEST(password_never_leaves)
{
    for (int i = 0; i < NREPLICAS; i++)
        rc_args(i, "600", true);
    h_start_all();
    void *subs[3];
    for (int i = A0; i <= A2; i++)
        subs[i] = h_sub(i, "");
    h_sleep_ms(500);                /* the SUBs connect */

    h_reply_t *r = checked(h_call(A0, "{s:s, s:s, s:s, s:s, s:s}", "op", "rc.add", "name", "to-b",
                                  "hostname", rc_ep(B0), "username", "admin", "password", PASSWORD),
                           "rc.add's reply");
    H_ASSERT(r->ok, "rc.add: %s %s", r->code, r->message);
    int64_t rev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(rc_all_rev("to-b", rev), H_T, "A never learned to-b");
    /*  every kind of reply that may carry the reference, on every replica */
    for (int i = A0; i <= A2; i++) {
        check_free(h_call(i, "{s:s, s:s}", "op", "rc.get", "name", "to-b"), "rc.get's reply");
        r = checked(h_call(i, "{s:s, s:s, s:b}", "op", "rc.get", "name", "to-b", "refresh", 1),
                    "rc.get refresh's reply");
        H_ASSERT(r->ok, "rc.get refresh: %s %s", r->code, r->message);
        h_reply_free(&r);
        check_free(h_call(i, "{s:s}", "op", "rc.list"), "rc.list's reply");
        /*  failures that might echo the request */
        check_free(h_call(i, "{s:s, s:s, s:s, s:s}", "op", "rc.add", "name", "to-b", "hostname",
                          rc_ep(C0), "password", PASSWORD), "a conflict's reply");
        check_free(h_call(i, "{s:s, s:s, s:s, s:s}", "op", "rc.add", "name", "to-b2", "hostname",
                          "http://nowhere", "password", PASSWORD), "a bad request's reply");
        r = checked(h_call(i, "{s:s, s:s, s:s, s:I}", "op", "rc.set", "name", "to-b", "password",
                           PASSWORD2, "revision", rev + 1000), "a refused CAS's reply");
        H_ASSERT(!r->ok && strcmp(r->code, "conflict") == 0, "a stale CAS: %s", r->code);
        h_reply_free(&r);
    }
    /*  a password change on a1, another change on a2: each publishes */
    r = checked(h_call(A1, "{s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "password", PASSWORD2),
                "rc.set password's reply");
    H_ASSERT(r->ok, "rc.set password: %s %s", r->code, r->message);
    h_reply_free(&r);
    r = checked(h_call(A2, "{s:s, s:s, s:s, s:s}", "op", "rc.set", "name", "to-b", "username", "ops",
                       "hostname", rc_ep(B1)), "rc.set's reply");
    H_ASSERT(r->ok, "rc.set: %s %s", r->code, r->message);
    rev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(rc_all_rev("to-b", rev), H_T, "A never learned the sets");

    /*  stored: the latest password */
    char *pw = h_db_query(CL_A, "SELECT password FROM rc_refs WHERE name = 'to-b'");
    H_ASSERT(pw && strcmp(pw, PASSWORD2) == 0, "the stored password is '%s'", pw ? pw : "(none)");
    free(pw);

    int got[3];
    for (int i = A0; i <= A2; i++) {
        char what[64];
        snprintf(what, sizeof what, "a notice of replica %s", h_replica(i)->id);
        got[i] = drain_notices(subs[i], 1000, what);
    }
    H_ASSERT(got[A0] >= 1 && got[A1] >= 1 && got[A2] >= 1,
             "each replica published its change (rc notices: %d %d %d)", got[A0], got[A1], got[A2]);
    /*  a delete, and its notices */
    r = checked(h_call(A0, "{s:s, s:s}", "op", "rc.del", "name", "to-b"), "rc.del's reply");
    H_ASSERT(r->ok, "rc.del: %s %s", r->code, r->message);
    h_reply_free(&r);
    H_ASSERT(drain_notices(subs[A0], 1000, "the delete's notice") == 1, "the delete's notice");
    for (int i = 0; i < NREPLICAS; i++)
        log_has_no_password(i);
}
END_TEST

static void setup(void) { rc_setup("rc"); }

int main(void)
{
    Suite *s = suite_create("service_rc");
    h_tcase(s, "rc", setup, TIMEOUT_S, crud_on_every_replica, errors_store_nothing,
            password_never_leaves, NULL);
    return h_run(s);
}
