/*  harness_rc.c — see harness_rc.h. */
#include "harness_rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rc_args(int i, const char *alive_window, bool debug)
{
    if (debug)
        h_set_args(i, "--refresh-interval", "1000", "--reload-interval", "1000",
                   "--beat-interval", "200", "--alive-window", alive_window,
                   "--log-level", "debug", NULL);
    else
        h_set_args(i, "--refresh-interval", "1000", "--reload-interval", "1000",
                   "--beat-interval", "200", "--alive-window", alive_window, NULL);
}

const char *rc_db(const char *tag, const char *cluster)
{
    static char names[16][64];
    static int next;
    char *n = names[next++ % 16];
    snprintf(n, sizeof names[0], "metactor_it_%s_%s", tag, cluster);
    return n;
}

void rc_setup(const char *tag)
{
    h_cluster_spec_t spec[] = {
        { rc_db(tag, "a"), 3, "a" }, { rc_db(tag, "b"), 2, "b" }, { rc_db(tag, "c"), 1, "c" },
    };
    h_setup_clusters(spec, 3, TIMEOUT_S);
    ck_assert_int_eq(h_cluster_first(CL_B), B0);
    ck_assert_int_eq(h_cluster_first(CL_C), C0);
    for (int i = 0; i < NREPLICAS; i++)
        rc_args(i, "600", false);
}

const char *rc_ep(int i)
{
    return h_replica(i)->endpoint;
}

int64_t rc_stat(int i, const char *name)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "replica.stats");
    H_ASSERT(h_has(r->result, name), "replica %s: replica.stats has no %s", h_replica(i)->id,
             name);
    int64_t v = h_int(r->result, name);
    h_reply_free(&r);
    return v;
}

int64_t rc_sum_a(const char *name)
{
    int64_t s = 0;
    for (int i = A0; i <= A2; i++)
        if (h_running(i))
            s += rc_stat(i, name);
    return s;
}

void rc_print_stats(const char *when)
{
    for (int i = A0; i <= A2; i++) {
        if (!h_running(i))
            continue;
        fprintf(stderr, "%s: %s store_rc_writes=%lld store_rc_conflicts=%lld "
                "rc_hostname_writes=%lld rc_hostname_cancelled=%lld rc_refreshes=%lld\n",
                when, h_replica(i)->id, (long long) rc_stat(i, "store_rc_writes"),
                (long long) rc_stat(i, "store_rc_conflicts"),
                (long long) rc_stat(i, "rc_hostname_writes"),
                (long long) rc_stat(i, "rc_hostname_cancelled"),
                (long long) rc_stat(i, "rc_refreshes"));
    }
}

char *rc_cluster_uuid(int i)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "cluster.info");
    char *u = h_sdup(r->result, "cluster_uuid");
    h_reply_free(&r);
    return u;
}

void rc_check_view(const msgpack_object *v, const char *where)
{
    static const char *const keys[] = {
        "id", "name", "hostname", "uuid", "username", "demand_encryption", "server_key",
        "client_public", "node_list", "revision", "refreshed_at",
    };
    H_ASSERT(v && v->type == MSGPACK_OBJECT_MAP, "%s: the view is not a map", where);
    H_ASSERT(!h_has(v, "password"), "%s: the view has a password key", where);
    H_ASSERT(!h_has(v, "client_secret"), "%s: the view has a client_secret key", where);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        H_ASSERT(h_has(v, keys[k]), "%s: the view has no %s", where, keys[k]);
    H_ASSERT(v->via.map.size == sizeof keys / sizeof keys[0], "%s: the view has %u keys",
             where, v->via.map.size);
}

h_reply_t *rc_get(int i, const char *key, const char *val)
{
    h_reply_t *r = h_call(i, "{s:s, s:s}", "op", "rc.get", key, val);
    H_ASSERT(r, "replica %s: no reply to rc.get %s=%s", h_replica(i)->id, key, val);
    if (!r->ok && strcmp(r->code, "not_found") == 0) {
        h_reply_free(&r);
        return NULL;
    }
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s", r->code, r->message);
    H_ASSERT(r->ok, "replica %s: rc.get %s=%s: %s", h_replica(i)->id, key, val, msg);
    rc_check_view(h_get(r->result, "ref"), "rc.get");
    return r;
}

bool rc_found(int i, const char *name)
{
    h_reply_t *r = rc_get(i, "name", name);
    h_reply_free(&r);
    return r != NULL;
}

bool rc_gone_everywhere(const char *key, const char *val)
{
    for (int i = A0; i <= A2; i++) {
        if (!h_running(i))
            continue;
        h_reply_t *r = rc_get(i, key, val);
        bool there = r != NULL;
        h_reply_free(&r);
        if (there)
            return false;
    }
    return true;
}

bool rc_field_is(int i, const char *name, const char *field, const char *want)
{
    h_reply_t *r = rc_get(i, "name", name);
    char path[64];
    snprintf(path, sizeof path, "ref/%s", field);
    bool eq = r && h_is_str(r->result, path, want);
    h_reply_free(&r);
    return eq;
}

int64_t rc_rev_of(int i, const char *name)
{
    h_reply_t *r = rc_get(i, "name", name);
    int64_t v = r ? h_int(r->result, "ref/revision") : -1;
    h_reply_free(&r);
    return v;
}

bool rc_all_host(const char *name, const char *host)
{
    for (int i = A0; i <= A2; i++)
        if (h_running(i) && !rc_field_is(i, name, "hostname", host))
            return false;
    return true;
}

bool rc_all_rev(const char *name, int64_t rev)
{
    for (int i = A0; i <= A2; i++)
        if (h_running(i) && rc_rev_of(i, name) != rev)
            return false;
    return true;
}

static bool node_list_has(int i, const char *name, const char *endpoint)
{
    h_reply_t *r = rc_get(i, "name", name);
    if (!r)
        return false;
    const msgpack_object *l = h_get(r->result, "ref/node_list");
    bool has = false;
    for (uint32_t k = 0; l && l->type == MSGPACK_OBJECT_ARRAY && k < l->via.array.size; k++)
        has |= h_obj_is_str(&l->via.array.ptr[k], endpoint);
    h_reply_free(&r);
    return has;
}

/*  Every running replica of A has refreshed `name` and lists both of B. */
static bool all_know_b(const char *name)
{
    for (int i = A0; i <= A2; i++)
        if (h_running(i)
            && !(node_list_has(i, name, rc_ep(B0)) && node_list_has(i, name, rc_ep(B1))))
            return false;
    return true;
}

uint32_t rc_list_size(int i)
{
    h_reply_t *r = h_ok(i, "{s:s}", "op", "rc.list");
    uint32_t n = h_size(r->result, "refs");
    for (uint32_t k = 0; k < n; k++) {
        char path[32];
        snprintf(path, sizeof path, "refs/%u", k);
        rc_check_view(h_get(r->result, path), "rc.list");
    }
    h_reply_free(&r);
    return n;
}

h_reply_t *rc_add(int i, const char *name, const char *host, const char *password)
{
    return h_ok(i, "{s:s, s:s, s:s, s:s, s:s}", "op", "rc.add", "name", name, "hostname", host,
                "username", "admin", "password", password);
}

char *rc_add_ref_to_b(const char *name)
{
    h_reply_t *r = rc_add(A0, name, rc_ep(B0), PASSWORD);
    char *id = h_sdup(r->result, "ref/id");
    int64_t rev = h_int(r->result, "ref/revision");
    h_reply_free(&r);
    H_WAIT(rc_all_rev(name, rev), H_T, "A's replicas never all learned %s", name);
    H_WAIT(all_know_b(name), H_T, "A's replicas never refreshed %s with both of B", name);
    return id;
}

void rc_sleep_intervals(int n)
{
    h_sleep_ms(n * REFRESH_MS);
}
