/*  test_clock.c — health by the database's clock, with skewed replicas.

    Three replicas on one database: A with this host's clock, B 30 s ahead
    and C 30 s behind (libfaketime: LD_PRELOAD and FAKETIME in their
    environment; both CLOCK_REALTIME and CLOCK_MONOTONIC are faked). A node
    heartbeats every 500 ms, to each replica in turn (so its heartbeat_at
    jumps by a minute back and forth), with a 2 s health timeout:

    * it is healthy on all three all along — judged by wall clocks, B would
      call it dead at once and C would keep it alive 30 s after it stops;
    * once it stops, all three report it unhealthy within a few hundred ms
      of each other, about 2 s after its last heartbeat.

    The bound on the spread (SPREAD_MAX_MS) is functional, not a benchmark:
    each replica's estimate of the database's clock is off by at most half
    a membership round trip (a few ms here), and the flips are observed by
    polling every replica in turn (one round of polls takes a few ms, tens
    under a sanitizer); 700 ms leaves room for a loaded machine while a
    replica judging by its own clock would be 30 s off. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DB "metactor_it_clock"
#define TIMEOUT_S 240
#define HEALTH_MS 2000
#define BEAT_MS 500
#define SPREAD_MAX_MS 700

enum { A, B, C, N };
static const int64_t skew_s[N] = { 0, 30, -30 };

static char preload[600], asan[600];
static char faketime[N][32];

/*  libfaketime (Debian's faketime package; scripts/deps installs it). */
static const char *libfaketime(void)
{
    const char *lib = getenv("METACTOR_TEST_LIBFAKETIME");
    ck_assert_msg(lib && *lib && access(lib, R_OK) == 0,
                  "libfaketime not found (%s): install the faketime package (scripts/deps)",
                  lib ? lib : "METACTOR_TEST_LIBFAKETIME unset");
    return lib;
}

static void setup(void)
{
    h_setup(DB, N, TIMEOUT_S);
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", libfaketime());
    /*  A sanitizer build's runtime wants to come first among the libraries;
        libfaketime only wraps the clock calls, which it may. */
    const char *cur = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0", cur ? cur : "",
             cur && *cur ? ":" : "");
    for (int i = A; i < N; i++) {
        h_set_args(i, "--health-timeout", "2000", NULL);
        if (skew_s[i]) {
            snprintf(faketime[i], sizeof faketime[i], "FAKETIME=%+llds", (long long) skew_s[i]);
            h_set_env(i, preload, faketime[i], asan, NULL);
        }
    }
    h_start_all();
}

static void beat(int i, const char *id)
{
    h_reply_free(&(h_reply_t *) { h_ok(i, "{s:s, s:s, s:b}", "op", "node.heartbeat", "id", id,
                                       "ready", 1) });
}

/*  Replica i's answer for id: 1 healthy, 0 not, -1 not known yet. */
static int healthy_on(int i, const char *id)
{
    h_reply_t *r = h_node_get(i, id);
    if (!r)
        return -1;
    int h = h_bool(r->result, "node/healthy");
    H_ASSERT(h_bool(r->result, "node/schedulable") == h, "replica %c: schedulable follows healthy",
             'A' + i);
    h_reply_free(&r);
    return h;
}

/*  The replicas really are skewed: a heartbeat without heartbeat_at takes
    the receiving replica's clock. */
START_TEST(replicas_are_skewed)
{
    h_reply_free(&(h_reply_t *) { h_ok(A, "{s:s, s:{s:s}}", "op", "node.register", "node",
                                       "id", "sk") });
    for (int i = A; i < N; i++) {
        h_reply_t *r = h_ok(i, "{s:s, s:s, s:b}", "op", "node.heartbeat", "id", "sk", "ready", 1);
        int64_t off = h_int(r->result, "node/heartbeat_at") - h_wall_ms();
        int64_t seen = h_int(r->result, "node/seen_at") - h_wall_ms();
        H_ASSERT(off > skew_s[i] * 1000 - 5000 && off < skew_s[i] * 1000 + 5000,
                 "replica %c: heartbeat_at %lld ms from ours, expected about %lld s", 'A' + i,
                 (long long) off, (long long) skew_s[i]);
        H_ASSERT(seen > -2000 && seen < 2000, "replica %c: seen_at is the database's clock (%lld)",
                 'A' + i, (long long) seen);
        H_ASSERT(h_bool(r->result, "node/healthy"), "replica %c: healthy", 'A' + i);
        h_reply_free(&r);
    }
}
END_TEST

START_TEST(healthy_everywhere_then_unhealthy_together)
{
    const char *id = "n1";
    h_reply_free(&(h_reply_t *) { h_ok(A, "{s:s, s:{s:s, s:s}}", "op", "node.register", "node",
                                       "id", id, "host_ip", "10.0.0.9") });
    /*  Heartbeats every 500 ms, to A, B, C in turn; every replica polled
        every ~100 ms. After a second (every replica has heard of it) it is
        healthy on all three, every time. */
    int64_t t0 = h_now_ms(), next_beat = t0, last_beat = 0;
    int k = 0, polls = 0;
    while (h_now_ms() - t0 < 6000) {
        if (h_now_ms() >= next_beat) {
            beat(k++ % N, id);
            last_beat = h_now_ms();
            next_beat += BEAT_MS;
        }
        for (int i = A; i < N; i++) {
            int h = healthy_on(i, id);
            if (h_now_ms() - t0 >= 1000) {
                H_ASSERT(h == 1, "replica %c: not healthy %lld ms into steady heartbeats "
                         "(answer %d)", 'A' + i, (long long) (h_now_ms() - t0), h);
                polls++;
            }
        }
        h_sleep_ms(100);
    }
    H_ASSERT(polls >= 3 * 30, "polled %d times", polls);

    /*  It stops. Each replica's flip to unhealthy, polled every 20 ms. */
    int64_t flip[N] = { 0, 0, 0 };
    int flipped = 0;
    while (flipped < N && h_now_ms() - last_beat < 10000) {
        for (int i = A; i < N; i++) {
            if (flip[i])
                continue;
            if (healthy_on(i, id) == 0) {
                flip[i] = h_now_ms();
                flipped++;
            }
        }
        h_sleep_ms(20);
    }
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = A; i < N; i++) {
        fprintf(stderr, "# replica %c (clock %+llds): unhealthy %lld ms after the last heartbeat\n",
                'A' + i, (long long) skew_s[i], (long long) (flip[i] - last_beat));
        H_ASSERT(flip[i], "replica %c: still healthy 10 s after the last heartbeat", 'A' + i);
        /*  Not before the timeout (B would flip at once by its own clock),
            not long after (C would wait 30 s more). */
        H_ASSERT(flip[i] - last_beat >= HEALTH_MS - 300 && flip[i] - last_beat <= HEALTH_MS + 1500,
                 "replica %c: unhealthy %lld ms after the last heartbeat (timeout %d)", 'A' + i,
                 (long long) (flip[i] - last_beat), HEALTH_MS);
        lo = flip[i] < lo ? flip[i] : lo;
        hi = flip[i] > hi ? flip[i] : hi;
    }
    fprintf(stderr, "# spread of the flips: %lld ms (bound %d)\n", (long long) (hi - lo),
            SPREAD_MAX_MS);
    H_ASSERT(hi - lo < SPREAD_MAX_MS, "the replicas flipped %lld ms apart", (long long) (hi - lo));
    for (int i = A; i < N; i++) {
        h_reply_t *r = h_ok(i, "{s:s, s:b}", "op", "node.list", "healthy_only", 1);
        H_ASSERT(h_size(r->result, "nodes") == 0, "replica %c lists it healthy", 'A' + i);
        h_reply_free(&r);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_clock");
    h_tcase(s, "clock", setup, TIMEOUT_S, replicas_are_skewed,
            healthy_everywhere_then_unhealthy_together, NULL);
    return h_run(s);
}
