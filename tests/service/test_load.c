/*  test_load.c — `metactl load`, the load generator behind the README's
    demo and scripts/bench's e2e figures, against real replicas: what it
    reports must be what happened, or every figure built on it is wrong.

    * registers_then_heartbeats: --register stores every node (seen on the
      other replica, with its label and a heartbeat), every request is
      acknowledged, exit status 0.
    * heartbeats_carry_images: --images K puts K image names in every
      heartbeat (the e2e figures' shape, as etcd's peer puts them), stored
      and seen on the other replica; without it, none.
    * keeps_to_its_rate: open loop — never more requests than were due
      (rate × duration, plus the first at 0), each one answered.
    * counts_each_failure: heartbeats for nodes never registered are all
      answered not_found, and counted by that code: exit status 1.
    * no_replica: nothing answers — exit status 3, every request counted
      as a timeout, none acknowledged. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define DB "metactor_it_load"
#define TIMEOUT_S 240

enum { A, B };

static void setup(void)
{
    h_setup(DB, 2, TIMEOUT_S);
    h_start_all();
    h_wait_cluster();
}

/*  `metactl -e <endpoint of replica i> -o json <args>`: its JSON report
    in out (cap bytes), its exit status returned. */
static int load(int i, const char *args, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s -e %s -o json %s 2>/dev/null", getenv("METACTOR_TEST_METACTL"),
             h_replica(i)->endpoint, args);
    FILE *f = popen(cmd, "r");
    H_ASSERT(f, "popen %s", cmd);
    size_t n = 0, k;
    while (n + 1 < cap && (k = fread(out + n, 1, cap - 1 - n, f)) > 0)
        n += k;
    out[n] = '\0';
    int st = pclose(f);
    H_ASSERT(WIFEXITED(st), "metactl load did not exit: %s", cmd);
    return WEXITSTATUS(st);
}

/*  The integer after "key": in s (the first of them), or -1. */
static long long num(const char *s, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = s ? strstr(s, k) : NULL;
    return p ? strtoll(p + strlen(k), NULL, 10) : -1;
}

START_TEST(registers_then_heartbeats)
{
    char out[8192];
    int rc = load(A, "load --nodes 40 --rate 0 --duration 1 --concurrency 16 --register "
                     "--prefix reg", out, sizeof out);
    H_ASSERT(rc == 0, "exit status %d: %s", rc, out);
    const char *reg = strstr(out, "\"register\":{");
    H_ASSERT(reg, "no registration figures: %s", out);
    H_ASSERT(num(reg, "sent") == 40 && num(reg, "acked") == 40 && num(reg, "failed") == 0,
             "every node registered once: %s", reg);
    long long sent = num(out, "sent"), acked = num(out, "acked");
    H_ASSERT(sent > 0 && acked == sent && num(out, "failed") == 0, "heartbeats: %s", out);
    /*  Stored, not only answered: the other replica has the last node,
        labelled with the prefix, with a status. */
    h_reply_t *r = NULL;
    H_WAIT(((r = h_call(B, "{s:s, s:s}", "op", "node.get", "id", "reg-00039")) && r->ok
            && h_int(r->result, "node/status_revision") > 0) || (h_reply_free(&r), false), H_T,
           "reg-00039 with a heartbeat on B");
    H_ASSERT(h_is_str(r->result, "node/labels/load", "reg"), "label load=reg");
    h_reply_free(&r);
}
END_TEST

/*  Node id's stored images as B sees them once it has a heartbeat: their
    count, the second one's name in second (cap bytes, "" if none). */
static uint32_t images_on_b(const char *id, char *second, size_t cap)
{
    h_reply_t *r = NULL;
    H_WAIT(((r = h_call(B, "{s:s, s:s}", "op", "node.get", "id", id)) && r->ok
            && h_int(r->result, "node/status_revision") > 0) || (h_reply_free(&r), false), H_T,
           "%s with a heartbeat on B", id);
    uint32_t n = h_size(r->result, "node/images");
    second[0] = '\0';
    if (n > 1) {
        char *s = h_sdup(r->result, "node/images/1");
        snprintf(second, cap, "%s", s);
        free(s);
    }
    h_reply_free(&r);
    return n;
}

START_TEST(heartbeats_carry_images)
{
    char out[8192], second[128];
    int rc = load(A, "load --nodes 4 --rate 0 --duration 1 --concurrency 4 --register "
                     "--images 3 --prefix img", out, sizeof out);
    H_ASSERT(rc == 0, "exit status %d: %s", rc, out);
    uint32_t n = images_on_b("img-00003", second, sizeof second);
    H_ASSERT(n == 3, "3 images stored, not %u", n);
    H_ASSERT(strcmp(second, "reg.cube.io/cube/image-2:1.0.2") == 0, "the second: %s", second);
    rc = load(A, "load --nodes 4 --rate 0 --duration 1 --concurrency 4 --register --prefix bare",
              out, sizeof out);
    H_ASSERT(rc == 0, "exit status %d: %s", rc, out);
    n = images_on_b("bare-00003", second, sizeof second);
    H_ASSERT(n == 0, "no images without --images, not %u", n);
}
END_TEST

START_TEST(keeps_to_its_rate)
{
    char out[8192];
    int rc = load(A, "load --nodes 10 --rate 50 --duration 2 --register --prefix rate", out,
                  sizeof out);
    H_ASSERT(rc == 0, "exit status %d: %s", rc, out);
    long long sent = num(out, "sent");
    /*  Due at 0, 1/50 s, ...: at most 101 in 2 s, however fast the
        replica; each answered. */
    H_ASSERT(sent > 0 && sent <= 101, "sent %lld of at most 101 due: %s", sent, out);
    H_ASSERT(num(out, "acked") == sent, "each answered: %s", out);
}
END_TEST

/*  A run of load against replica i where nothing is acknowledged: exit
    status `status`, every request sent counted as failed, each under
    `code`. */
static void all_failed(int i, const char *args, int status, const char *code)
{
    char out[8192];
    int rc = load(i, args, out, sizeof out);
    H_ASSERT(rc == status, "exit status %d, not %d: %s", rc, status, out);
    long long sent = num(out, "sent");
    H_ASSERT(sent > 0 && num(out, "acked") == 0 && num(out, "failed") == sent,
             "every request failed: %s", out);
    H_ASSERT(num(out, code) == sent, "each counted as %s: %s", code, out);
}

/*  Heartbeats of nodes never registered: answered, each not_found; 1 is
    "some failed". */
START_TEST(counts_each_failure)
{
    all_failed(A, "load --nodes 5 --rate 0 --duration 1 --concurrency 4 --prefix ghost", 1,
               "not_found");
}
END_TEST

/*  Nothing answers: 3 is "no reply at all". */
START_TEST(no_replica)
{
    h_stop(B);
    all_failed(B, "-t 300 load --nodes 5 --rate 20 --duration 1 --prefix void", 3, "timeout");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_load");
    h_tcase(s, "load", setup, TIMEOUT_S, registers_then_heartbeats, heartbeats_carry_images,
            keeps_to_its_rate, counts_each_failure, no_replica, NULL);
    return h_run(s);
}
