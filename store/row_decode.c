/*  row_decode.c — stored rows into blocks, as untrusted input.

    The database is shared: anyone with SQL access can write a row the
    service never would (JSON of another shape, text beyond our limits, a
    port of 70000, a time of INT64_MAX). Such a row must not stop a reload
    of the others, on any replica, and must not reach a client or a peer
    as it is (peers refuse a notice beyond the limits). So every row read
    is checked as strictly as a request (mt_node_reg_check /
    mt_node_status_check, UTF-8), and what fails is:
      * in a registration: left empty, and the block carries the label
        MT_LABEL_UNREADABLE naming the first such column, so the node is
        listed but never schedulable (fail closed) on every replica — the
        label travels in views and notices — and writes that must merge
        with the stored labels refuse it (node_reg.c);
      * a status row: not taken at all (the node keeps what it had, or has
        no status: never healthy); its next heartbeat rewrites the row.
    Each such row is logged once per version and counted (rows_rejected). */
#include "store_internal.h"
#include "mt_hash.h"
#include "mt_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rejected rows: logged and counted once ------------------------------------ */

static uint64_t row_hash(const char *table, const char *id, int64_t revision)
{
    uint8_t rev[8];
    for (int i = 0; i < 8; i++)
        rev[i] = (uint8_t) ((uint64_t) revision >> (8 * i));
    uint64_t h = mt_fnv1a64(MT_FNV1A64_INIT, table, strlen(table) + 1);
    h = mt_fnv1a64(h, id, strlen(id) + 1);
    h = mt_fnv1a64(h, rev, sizeof rev);
    return h ? h : 1;
}

/*  True the first time (table, id, revision) is seen. The set is bounded:
    past 3/4 of MT_REJECTS_MAX it starts afresh (thousands of corrupt rows
    then log again at the next full resync: still bounded, still loud). */
#define MT_REJECTS_MAX 4096u

static bool first_time(mt__store_rejects_t *r, uint64_t h)
{
    if (!r->seen) {
        r->seen = calloc(MT_REJECTS_MAX, sizeof *r->seen);
        if (!r->seen)
            return true;
    }
    if (r->n >= MT_REJECTS_MAX / 4 * 3) {
        memset(r->seen, 0, MT_REJECTS_MAX * sizeof *r->seen);
        r->n = 0;
    }
    for (uint32_t i = (uint32_t) (h % MT_REJECTS_MAX);; i = (i + 1) % MT_REJECTS_MAX) {
        if (r->seen[i] == h)
            return false;
        if (!r->seen[i]) {
            r->seen[i] = h;
            r->n++;
            return true;
        }
    }
}

void mt__store_sql_rejected(mt__store_rejects_t *r, const char *table, const char *id, int64_t revision,
                     const char *what)
{
    if (!first_time(r, row_hash(table, id, revision)))
        return;
    r->fresh++;
    const char *then = strcmp(table, "node_status") == 0
        ? "the row is ignored until the node's next heartbeat rewrites it"
        : strcmp(table, "node_registrations") == 0
        ? "the node is listed with label " MT_LABEL_UNREADABLE " and never schedulable"
        : "taken as empty until the next refresh";
    /*  Ids are ASCII (their columns are); what is ours. */
    mt_log_warning("store: a %s row of %.253s (revision %lld) cannot be read: %s; %s", table, id,
                 (long long) revision, what, then);
}

void mt__store_rejects_free(mt__store_rejects_t *r)
{
    free(r->seen);
    *r = (mt__store_rejects_t) { 0 };
}

/* ---- registrations ------------------------------------------------------------ */

static bool text_ok(const char *s)
{
    return mt_utf8_valid(s, strlen(s)) && strlen(s) <= MT_STR_MAX;
}

/*  One part of a registration alone through the request's rules. */
static bool part_ok(const mt_node_reg_t *part)
{
    char err[8];
    return mt_node_reg_check(part, err, sizeof err) == MT_OK;
}

static bool components_utf8(const mt_component_t *c, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const char *s[5] = { c[i].component, c[i].version, c[i].commit, c[i].build_time,
                             c[i].source };
        for (int k = 0; k < 5; k++)
            if (!mt_utf8_valid(s[k], strlen(s[k])))
                return false;
    }
    return true;
}

static const char *arena_copy(mt_json_arena_t *a, const mt__store_rows_t *r, unsigned col)
{
    size_t n;
    const char *s = mt__store_rows_str(r, col, &n);
    char *copy = mt_json_arena_alloc(a, n + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

mt_component_t mt__store_sql_component_from_row(const mt__store_rows_t *r, mt_json_arena_t *a)
{
    return (mt_component_t) { arena_copy(a, r, 1), arena_copy(a, r, 2), arena_copy(a, r, 3),
                              arena_copy(a, r, 4), arena_copy(a, r, 5) };
}

/*  Registration columns from `first`: host_ip, grpc_port, instance_type,
    labels, capacity, quota, versions_hash, registered_at, reg_revision,
    deleted (MT_SQL_REG_KINDS). */
int mt__store_sql_reg_from_row(const mt__store_rows_t *r, unsigned first, mt_json_arena_t *a,
                        const mt_component_t *comp, uint32_t ncomp, const char **unreadable,
                        mt_node_reg_t **out)
{
    mt_node_reg_t t = { 0 };
    const char *bad = NULL;
#define BAD(name) do { if (!bad) bad = (name); } while (0)
    size_t len;
    const char *text = mt__store_rows_str(r, first + 3, &len);
    mt_str_pair_t *labels = NULL;
    if (mt_json_get_str_map(text, len, a, &labels, &t.nlabels) != MT_OK
        || !part_ok(&(mt_node_reg_t) { .labels = labels, .nlabels = t.nlabels })) {
        labels = NULL, t.nlabels = 0;
        BAD("labels");
    }
    mt_int_pair_t *maps[2] = { NULL, NULL };
    uint32_t nmaps[2] = { 0, 0 };
    static const char *const names[2] = { "capacity", "quota" };
    for (int k = 0; k < 2; k++) {
        text = mt__store_rows_str(r, first + 4 + (unsigned) k, &len);
        if (mt_json_get_int_map(text, len, a, &maps[k], &nmaps[k]) != MT_OK
            || !part_ok(&(mt_node_reg_t) { .capacity = maps[k], .ncapacity = nmaps[k] })) {
            maps[k] = NULL, nmaps[k] = 0;
            BAD(names[k]);
        }
    }
    t.host_ip = mt__store_rows_str(r, first + 0, NULL);
    if (!text_ok(t.host_ip)) {
        t.host_ip = "";
        BAD("host_ip");
    }
    int64_t port = mt__store_rows_i64(r, first + 1);
    t.grpc_port = port >= 0 && port <= 65535 ? (int32_t) port : 0;
    if (port < 0 || port > 65535)
        BAD("grpc_port");
    t.instance_type = mt__store_rows_str(r, first + 2, NULL);
    if (!text_ok(t.instance_type)) {
        t.instance_type = "";
        BAD("instance_type");
    }
    if (!components_utf8(comp, ncomp)
        || !part_ok(&(mt_node_reg_t) { .components = comp, .ncomponents = ncomp })) {
        comp = NULL, ncomp = 0;
        BAD("versions");
    }
    t.registered_at = mt__store_rows_i64(r, first + 7);
    if (t.registered_at < 0 || t.registered_at > MT_TIME_MAX) {
        t.registered_at = 0;
        BAD("registered_at");
    }
#undef BAD
    if (bad && !unreadable)
        return MT_EINTERNAL;
    if (bad) {
        /*  The marker goes last: the build keeps the last of equal keys.
            Readable labels stay for the operator's eyes while they leave
            room for it within MT_MAP_MAX. */
        uint32_t keep = t.nlabels < MT_MAP_MAX ? t.nlabels : 0;
        mt_str_pair_t *with = mt_json_arena_alloc(a, (keep + 1) * sizeof *with);
        if (keep)
            memcpy(with, labels, keep * sizeof *with);
        with[keep] = (mt_str_pair_t) { MT_LABEL_UNREADABLE, bad };
        labels = with;
        t.nlabels = keep + 1;
        *unreadable = bad;
    }
    else if (unreadable)
        *unreadable = NULL;
    t.labels = labels;
    t.capacity = maps[0];
    t.ncapacity = nmaps[0];
    t.quota = maps[1];
    t.nquota = nmaps[1];
    t.components = comp;           /* versions are derived from them */
    t.ncomponents = ncomp;
    t.reg_revision = mt__store_rows_i64(r, first + 8);
    *out = mt_node_reg_build(&t);
    return MT_OK;
}

/* ---- statuses ------------------------------------------------------------------- */

/*  Status columns from `first`: heartbeat_at, ready, conditions, images,
    local_templates, status_revision, seen_at (MT_SQL_STATUS_KINDS). */
int mt__store_sql_status_from_row(const mt__store_rows_t *r, unsigned first, mt_json_arena_t *a,
                           char *why, size_t whylen, mt_node_status_t **out)
{
    mt_node_status_t t = { 0 };
    size_t len;
    const char *text;
    mt_condition_t *conds = NULL;
    const char **images = NULL, **tpls = NULL;
    static const char *const cols[3] = { "conditions", "images", "local_templates" };
    int bad = -1;
    text = mt__store_rows_str(r, first + 2, &len);
    if (mt_json_get_conditions(text, len, a, &conds, &t.nconditions) != MT_OK)
        bad = 0;
    text = mt__store_rows_str(r, first + 3, &len);
    if (bad < 0 && mt_json_get_str_array(text, len, a, &images, &t.nimages) != MT_OK)
        bad = 1;
    text = mt__store_rows_str(r, first + 4, &len);
    if (bad < 0 && mt_json_get_str_array(text, len, a, &tpls, &t.ntemplates) != MT_OK)
        bad = 2;
    if (bad >= 0) {
        snprintf(why, whylen, "%s: not the JSON this column holds (or not UTF-8)", cols[bad]);
        return MT_EINTERNAL;
    }
    t.heartbeat_at = mt__store_rows_i64(r, first + 0);
    t.ready = mt__store_rows_i64(r, first + 1) != 0;
    t.conditions = conds;
    t.images = images;
    t.local_templates = tpls;
    t.status_revision = mt__store_rows_i64(r, first + 5);
    t.seen_at = mt__store_rows_i64(r, first + 6);
    if (mt_node_status_check(&t, why, whylen) != MT_OK)
        return MT_EINTERNAL;
    *out = mt_node_status_build(&t);
    return MT_OK;
}
