/*  test_rc_v2.c — remote cluster references, protocol v2 (issue 13), through
    real processes (see harness_rc.h: cluster A holds the references, B and
    C are remotes):
      just_validate_stores_nothing  rc.add/rc.set with just_validate: checked
                                    and probed, answered with the would-be
                                    view, nothing stored anywhere; a remote
                                    referenced already, a name taken, a stale
                                    revision and a dead remote still refused
      restricted_hostname_left_alone
                                    restrict_hostname_replace: b0 dies, the
                                    reference stays on b0 (counted), its
                                    connectivity is degraded and its errors
                                    name b0; cleared, the writer replaces it
                                    once, with an audit line; b1 dies too:
                                    unreachable, and the errors stop at 20 */
#include "harness_rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t count_refs(void)
{
    char *n = h_db_query(CL_A, "SELECT COUNT(*) FROM rc_refs");
    int64_t v = n ? atoll(n) : -1;
    free(n);
    return v;
}

START_TEST(just_validate_stores_nothing)
{
    h_start_all();
    h_wait_cluster();
    char *b_uuid = rc_cluster_uuid(B0);
    h_reply_t *r = h_ok(A1, "{s:s, s:s, s:s, s:s, s:b, s:b}", "op", "rc.add", "name", "jv",
                        "hostname", rc_ep(B0), "password", PASSWORD,
                        "restrict_hostname_replace", 1, "just_validate", 1);
    rc_check_view(h_get(r->result, "ref"), "rc.add just_validate");
    H_ASSERT(h_is_str(r->result, "ref/id", ""), "no id: nothing was stored");
    H_ASSERT(h_is_str(r->result, "ref/uuid", b_uuid), "the remote's uuid was learned");
    H_ASSERT(h_is_str(r->result, "ref/connectivity", "ok"), "it answered");
    H_ASSERT(h_bool(r->result, "ref/restrict_hostname_replace"), "as asked");
    H_ASSERT(h_size(r->result, "ref/node_list") == 2, "both of B");
    h_reply_free(&r);
    /*  the name was not kept: an add of it works afterwards */
    H_ASSERT(count_refs() == 0, "a row was stored");
    for (int i = A0; i <= A2; i++)
        H_ASSERT(!rc_found(i, "jv"), "replica %s knows jv", h_replica(i)->id);
    H_ASSERT(rc_sum_a("store_rc_writes") == 0, "a database write");
    /*  a dead remote is still unavailable; bad input still bad_request */
    h_err(A0, "unavailable", "{s:s, s:s, s:s, s:b}", "op", "rc.add", "name", "dead",
          "hostname", "tcp://127.0.0.1:1", "just_validate", 1);
    h_err(A0, "bad_request", "{s:s, s:s, s:s, s:s}", "op", "rc.add", "name", "x",
          "hostname", rc_ep(B0), "just_validate", "yes");

    char *id = rc_add_ref_to_b("to-b");
    h_reply_t *c = rc_add(A0, "to-c", rc_ep(C0), PASSWORD);
    int64_t crev = h_int(c->result, "ref/revision");
    h_reply_free(&c);
    H_WAIT(rc_all_rev("to-c", crev), H_T, "A learned to-c");
    int64_t rows = count_refs(), writes = rc_sum_a("store_rc_writes");
    int64_t rev = rc_rev_of(A2, "to-b");
    /*  B is referenced already (through its other replica too) */
    h_err(A2, "conflict", "{s:s, s:s, s:s, s:b}", "op", "rc.add", "name", "b-again",
          "hostname", rc_ep(B1), "just_validate", 1);
    /*  rc.set: the would-be view, the stored one unchanged */
    r = h_ok(A2, "{s:s, s:s, s:s, s:s, s:b}", "op", "rc.set", "name", "to-b", "hostname",
             rc_ep(B1), "new_name", "to-b2", "just_validate", 1);
    rc_check_view(h_get(r->result, "ref"), "rc.set just_validate");
    H_ASSERT(h_is_str(r->result, "ref/hostname", rc_ep(B1)), "the new hostname");
    H_ASSERT(h_is_str(r->result, "ref/name", "to-b2"), "the new name");
    H_ASSERT(h_int(r->result, "ref/revision") == rev, "the same revision");
    h_reply_free(&r);
    H_ASSERT(rc_field_is(A2, "to-b", "hostname", rc_ep(B0)), "stored hostname unchanged");
    H_ASSERT(!rc_found(A2, "to-b2"), "not renamed");
    /*  a name taken, a stale revision, another cluster */
    h_err(A1, "conflict", "{s:s, s:s, s:s, s:b}", "op", "rc.set", "name", "to-b",
          "new_name", "to-c", "just_validate", 1);
    h_err(A1, "conflict", "{s:s, s:s, s:s, s:I, s:b}", "op", "rc.set", "name", "to-b",
          "username", "u", "revision", rev + 1000, "just_validate", 1);
    h_err(A1, "bad_request", "{s:s, s:s, s:s, s:b}", "op", "rc.set", "name", "to-b",
          "hostname", rc_ep(C0), "just_validate", 1);
    H_ASSERT(count_refs() == rows && rc_sum_a("store_rc_writes") == writes,
             "just_validate wrote");
    H_ASSERT(rc_rev_of(A0, "to-b") == rev, "the revision moved");
    free(id);
    free(b_uuid);
}
END_TEST

/*  The number of replicas of A whose log has a line holding all of needles. */
static int logs_with(const char *const *needles, int n)
{
    int found = 0;
    for (int i = A0; i <= A2; i++) {
        FILE *f = fopen(h_replica(i)->log, "r");
        if (!f)
            continue;
        char line[2048];
        bool hit = false;
        while (!hit && fgets(line, sizeof line, f)) {
            hit = true;
            for (int k = 0; k < n && hit; k++)
                hit = strstr(line, needles[k]) != NULL;
        }
        fclose(f);
        found += hit;
    }
    return found;
}

static bool all_conn(const char *name, const char *want, const char *err_ep)
{
    for (int i = A0; i <= A2; i++) {
        h_reply_t *g = rc_get(i, "name", name);
        bool ok = g && h_is_str(g->result, "ref/connectivity", want);
        if (ok && err_ep)
            ok = h_size(g->result, "ref/errors") > 0
                 && h_is_str(g->result, "ref/errors/0/endpoint", err_ep)
                 && h_int(g->result, "ref/errors/0/at") > 0;
        h_reply_free(&g);
        if (!ok)
            return false;
    }
    return true;
}

START_TEST(restricted_hostname_left_alone)
{
    h_start_all();
    h_wait_cluster();
    h_reply_t *r = h_ok(A0, "{s:s, s:s, s:s, s:b}", "op", "rc.add", "name", "lb", "hostname",
                        rc_ep(B0), "restrict_hostname_replace", 1);
    H_ASSERT(h_bool(r->result, "ref/restrict_hostname_replace"), "restricted");
    H_ASSERT(h_is_str(r->result, "ref/connectivity", "ok"), "ok after the add");
    H_ASSERT(h_size(r->result, "ref/errors") == 0, "no errors yet");
    int64_t rev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(rc_all_rev("lb", rev), H_T, "A learned lb");
    H_WAIT(all_conn("lb", "ok", NULL), H_T, "every replica refreshed it");

    h_kill(B0);
    H_WAIT(all_conn("lb", "degraded", rc_ep(B0)), H_T,
           "every replica sees lb degraded, with b0's error first");
    int64_t restricted = rc_sum_a("rc_hostname_restricted");
    rc_sleep_intervals(4);
    H_ASSERT(rc_all_host("lb", rc_ep(B0)) && rc_all_rev("lb", rev), "the hostname was kept");
    H_ASSERT(rc_sum_a("rc_hostname_writes") == 0, "nobody rewrote it");
    H_ASSERT(rc_sum_a("rc_hostname_restricted") > restricted, "counted");

    /*  The restriction lifted: one automatic write, in the audit trail. */
    r = h_ok(A1, "{s:s, s:s, s:b}", "op", "rc.set", "name", "lb",
             "restrict_hostname_replace", 0);
    H_ASSERT(!h_bool(r->result, "ref/restrict_hostname_replace"), "lifted");
    h_reply_free(&r);
    H_WAIT(rc_all_host("lb", rc_ep(B1)), H_T, "the writer moved lb to b1");
    rc_sleep_intervals(3);
    H_ASSERT(rc_sum_a("rc_hostname_writes") == 1, "one automatic write");
    const char *audit[] = { "hostname replaced automatically", rc_ep(B0), rc_ep(B1),
                            "written by replica" };
    H_ASSERT(logs_with(audit, 4) == 1, "exactly one replica logged the replacement");
    H_WAIT(all_conn("lb", "ok", NULL), H_T, "ok again on b1");

    /*  Nothing answers: unreachable; the error list is bounded. */
    h_kill(B1);
    H_WAIT(all_conn("lb", "unreachable", NULL), H_T, "unreachable everywhere");
    H_WAIT((r = rc_get(A2, "name", "lb"), h_size(r->result, "ref/errors") == 20)
           || (h_reply_free(&r), false), H_T, "20 errors kept");
    h_reply_free(&r);
}
END_TEST

static void setup(void) { rc_setup("rc_v2"); }

int main(void)
{
    Suite *s = suite_create("service_rc_v2");
    h_tcase(s, "rc", setup, TIMEOUT_S, just_validate_stores_nothing,
            restricted_hostname_left_alone, NULL);
    return h_run(s);
}
