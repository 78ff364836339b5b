/*  node_reg.c — registration writes: REGISTER, LABELS and DELETE, each one
    transaction in the order of node_sql.c (lock the row, draw above its
    revision, write, commit). They are rare, so they go row by row. */
#include "store_internal.h"
#include "mt_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reg_strings_valid(const mt_node_reg_t *r)
{
    if (!mt_utf8_valid(r->host_ip, strlen(r->host_ip))
        || !mt_utf8_valid(r->instance_type, strlen(r->instance_type)))
        return false;
    for (uint32_t i = 0; i < r->ncomponents; i++) {
        const mt_component_t *c = &r->components[i];
        const char *s[5] = { c->component, c->version, c->commit, c->build_time, c->source };
        for (int k = 0; k < 5; k++)
            if (!mt_utf8_valid(s[k], strlen(s[k])))
                return false;
    }
    return true;
}

/*  Locks the row and reads it into r (the caller closes r). *live: stored
    and not a tombstone; then r's current row is it. *stored: its
    reg_revision, a tombstone's too (0: no row) — what the write's revision
    must be above. */
static int lock_row(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, mt__store_rows_t *r, bool *live,
                    int64_t *stored)
{
    *stored = 0;
    mt__store_params_reset(&s->params);
    mt__store_params_cstr(&s->params, id);
    int rc = mt__store_conn_exec(c, SQL_REG_FOR_UPDATE, &s->params, "s" MT_SQL_REG_KINDS "s", r);
    if (rc != MT_OK)
        return rc;
    int f = mt__store_rows_next(c, r);
    if (f < 0) {
        mt__store_rows_close(r);
        return MT_EINTERNAL;
    }
    *live = f == 1 && mt__store_rows_i64(r, 10) == 0;
    if (f == 1)
        *stored = mt__store_rows_i64(r, 9);
    return MT_OK;
}

static int write_versions(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, const mt_node_reg_t *nb)
{
    mt__store_params_reset(&s->params);
    mt__store_params_cstr(&s->params, id);
    int rc = mt__store_conn_exec(c, SQL_VERS_DELETE, &s->params, NULL, NULL);
    for (uint32_t k = 0; rc == MT_OK && k < nb->ncomponents;) {
        unsigned take;
        int v = mt__store_sql_chunk(nb->ncomponents - k, &take);
        mt__store_params_reset(&s->params);
        for (unsigned j = 0; j < mt__store_sql_variants[v]; j++) {
            const mt_component_t *p = &nb->components[k + (j < take ? j : take - 1)];
            mt__store_params_cstr(&s->params, id);
            mt__store_params_cstr(&s->params, p->component);
            mt__store_params_cstr(&s->params, p->version);
            mt__store_params_cstr(&s->params, p->commit);
            mt__store_params_cstr(&s->params, p->build_time);
            mt__store_params_cstr(&s->params, p->source);
        }
        rc = mt__store_conn_exec(c, SQL_VERS_INSERT + v, &s->params, NULL, NULL);
        k += take;
    }
    return rc;
}

/*  The labels, capacity and quota of nb as JSON in s->json (off/len: each
    column's text). Before the transaction draws: a row refused for its
    size costs no revision. */
static int encode_reg(mt__store_conn_t *c, mt__store_scratch_t *s, const mt_node_reg_t *nb, size_t off[3],
                      size_t len[3])
{
    static const char *const names[3] = { "labels", "capacity", "quota" };
    mt_buf_reset(&s->json);
    off[0] = s->json.len;
    int bad_json = mt_json_put_str_map(&s->json, nb->labels, nb->nlabels);
    off[1] = s->json.len;
    bad_json |= mt_json_put_int_map(&s->json, nb->capacity, nb->ncapacity);
    off[2] = s->json.len;
    bad_json |= mt_json_put_int_map(&s->json, nb->quota, nb->nquota);
    len[0] = off[1] - off[0];
    len[1] = off[2] - off[1];
    len[2] = s->json.len - off[2];
    if (bad_json)
        return mt__store_sql_bad(c, "labels, capacity, quota");
    for (int f = 0; f < 3; f++)
        if (len[f] > MT_STORE_JSON_MAX)
            return mt__store_sql_too_large(c, names[f], len[f]);
    return MT_OK;
}

/*  Upserts the whole registration of nb (encoded by encode_reg) with
    revision rev. */
static int write_reg(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, const mt_node_reg_t *nb,
                     const size_t off[3], const size_t len[3], int64_t rev)
{
    mt__store_params_reset(&s->params);
    mt__store_params_cstr(&s->params, id);
    mt__store_params_cstr(&s->params, nb->host_ip);
    mt__store_params_i64(&s->params, nb->grpc_port);
    mt__store_params_cstr(&s->params, nb->instance_type);
    for (int f = 0; f < 3; f++)
        mt__store_params_str(&s->params, s->json.data + off[f], len[f]);
    mt__store_params_cstr(&s->params, nb->versions_hash);
    mt__store_params_i64(&s->params, nb->registered_at);
    mt__store_params_i64(&s->params, rev);
    mt__store_params_cstr(&s->params, nb->components_hash);
    return mt__store_conn_exec(c, SQL_REG_UPSERT, &s->params, NULL, NULL);
}

/*  The end of every registration write: commit (drawn: when the revision
    was drawn, MT_STORE_TXN_MAX_MS bounds it), then the block carries the
    committed revision and goes to *out; on any failure it is dropped. */
static int commit_reg(mt__store_conn_t *c, int rc, uint64_t drawn, mt_node_reg_t *nb, int64_t rev,
                      mt_node_reg_t **out)
{
    if (rc == MT_OK)
        rc = mt__store_sql_commit_by(c, drawn);
    if (rc != MT_OK) {
        mt_node_reg_unref(&nb);
        return rc;
    }
    nb->reg_revision = rev;
    *out = nb;
    return MT_OK;
}

static int register_once(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id,
                         const mt_node_reg_t *reg, mt_node_reg_t **out)
{
    mt_json_arena_reset(&s->arena);
    mt__store_rows_t r;
    bool live;
    int64_t stored_rev;
    int rc = lock_row(c, s, id, &r, &live, &stored_rev);
    if (rc != MT_OK)
        return rc;
    /*  Labels: the stored ones, then the request's (the build keeps the
        last of equal keys: the request wins). A tombstone has none. */
    mt_str_pair_t *stored = NULL;
    uint32_t nstored = 0;
    if (live) {
        size_t len;
        const char *text = mt__store_rows_str(&r, 4, &len);
        if (mt_json_get_str_map(text, len, &s->arena, &stored, &nstored) != MT_OK) {
            mt__store_rows_close(&r);
            snprintf(c->err, sizeof c->err, "node %.100s: the stored labels cannot be read"
                     " (see the replicas' logs); repair its row or delete the node", id);
            return MT_EINTERNAL;
        }
    }
    mt_str_pair_t *labels = mt_json_arena_alloc(&s->arena,
                                                (nstored + reg->nlabels + 1) * sizeof *labels);
    if (nstored)
        memcpy(labels, stored, nstored * sizeof *labels);
    if (reg->nlabels)
        memcpy(labels + nstored, reg->labels, reg->nlabels * sizeof *labels);
    mt_node_reg_t t = *reg;
    t.labels = labels;
    t.nlabels = nstored + reg->nlabels;
    t.registered_at = reg->registered_at ? reg->registered_at : mt_wall_ms();
    t.reg_revision = 0;
    mt_node_reg_t *nb = mt_node_reg_build(&t);
    /*  The seed's hash skip, over the detail (components_hash, column 11). */
    bool versions_changed = !live || strcmp(mt__store_rows_str(&r, 11, NULL), nb->components_hash) != 0;
    mt__store_rows_close(&r);

    /*  The limits hold for what the merge leaves, not only for the request
        (checked here, under the row's lock: the stored labels may have been
        set on another replica a moment ago). */
    size_t off[3], len[3];
    if (nb->nlabels > MT_MAP_MAX)
        rc = mt__store_sql_refuse(c, "labels: the node would have %u (the %u registered merged into"
                           " the %u stored); at most %d", nb->nlabels, reg->nlabels, nstored,
                           MT_MAP_MAX);
    else
        rc = encode_reg(c, s, nb, off, len);
    int64_t rev = 0;
    uint64_t drawn = mt_now_ms();
    if (rc == MT_OK)
        rc = mt__store_sql_draw(c, s, 1, &rev, stored_rev);
    if (rc == MT_OK)
        rc = write_reg(c, s, id, nb, off, len, rev);
    if (rc == MT_OK && versions_changed)
        rc = write_versions(c, s, id, nb);
    return commit_reg(c, rc, drawn, nb, rev, out);
}

int mt__store_sql_register(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, const mt_node_reg_t *reg,
                    mt_node_reg_t **out)
{
    *out = NULL;
    if (!reg_strings_valid(reg))
        return mt__store_sql_bad(c, "host_ip, instance_type, versions");
    int rc, attempt = 0;
    do {
        rc = register_once(c, s, id, reg, out);
    } while (mt__store_sql_retry(c, rc, &attempt));
    return rc;
}

/*  The stored registration, locked, as a block (versions included). */
static int load_locked(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, mt_node_reg_t **cur)
{
    mt_json_arena_reset(&s->arena);
    mt__store_rows_t r, rv;
    bool live;
    int64_t stored_rev;
    int rc = lock_row(c, s, id, &r, &live, &stored_rev);
    if (rc != MT_OK)
        return rc;
    if (!live) {
        mt__store_rows_close(&r);
        return mt__store_sql_not_found(c, id);
    }
    mt__store_params_reset(&s->params);
    mt__store_params_cstr(&s->params, id);
    if ((rc = mt__store_conn_exec(c, SQL_LOAD_VERS, &s->params, MT_SQL_VERS_KINDS, &rv)) != MT_OK) {
        mt__store_rows_close(&r);
        return rc;
    }
    uint32_t n = 0, cap = 8;
    mt_component_t *vers = mt_json_arena_alloc(&s->arena, cap * sizeof *vers);
    int f;
    while ((f = mt__store_rows_next(c, &rv)) == 1) {
        if (n == cap) {
            mt_component_t *bigger = mt_json_arena_alloc(&s->arena, 2 * cap * sizeof *vers);
            memcpy(bigger, vers, n * sizeof *vers);
            vers = bigger;
            cap *= 2;
        }
        vers[n++] = mt__store_sql_component_from_row(&rv, &s->arena);
    }
    mt__store_rows_close(&rv);
    /*  Strict: a stored registration that cannot be read is not merged
        into (the labels would be lost, a cordon with them). */
    rc = f < 0 ? MT_EINTERNAL : mt__store_sql_reg_from_row(&r, 1, &s->arena, vers, n, NULL, cur);
    if (rc == MT_EINTERNAL && f >= 0) {
        snprintf(c->err, sizeof c->err, "node %.100s: the stored registration cannot be read"
                 " (see the replicas' logs); repair its row or delete the node", id);
        c->err_no = 0;
    }
    mt__store_rows_close(&r);
    return rc;
}

static int labels_once(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, const mt_node_reg_t *set,
                       char *const *remove, uint32_t nremove, mt_node_reg_t **out)
{
    mt_node_reg_t *cur = NULL;
    int rc = load_locked(c, s, id, &cur);
    if (rc != MT_OK)
        return rc;
    /*  Set (the later of equal keys wins), then remove. */
    uint32_t nset = set ? set->nlabels : 0;
    mt_str_pair_t *labels = mt_xmalloc((cur->nlabels + nset + 1) * sizeof *labels);
    memcpy(labels, cur->labels, cur->nlabels * sizeof *labels);
    if (nset)
        memcpy(labels + cur->nlabels, set->labels, nset * sizeof *labels);
    mt_node_reg_t t = *cur;
    t.labels = labels;
    t.nlabels = cur->nlabels + nset;
    mt_node_reg_t *merged = mt_node_reg_build(&t);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < merged->nlabels; i++) {
        bool gone = false;
        for (uint32_t j = 0; j < nremove && !gone; j++)
            gone = strcmp(merged->labels[i].key, remove[j]) == 0;
        if (!gone)
            labels[kept++] = merged->labels[i];
    }
    t = *merged;
    t.labels = labels;
    t.nlabels = kept;
    mt_node_reg_t *nb = mt_node_reg_build(&t);
    free(labels);
    mt_node_reg_unref(&merged);
    int64_t stored_rev = cur->reg_revision;
    mt_node_reg_unref(&cur);

    /*  Limits on the result, under the row's lock (see register_once). */
    mt_buf_reset(&s->json);
    if (nb->nlabels > MT_MAP_MAX)
        rc = mt__store_sql_refuse(c, "labels: the node would have %u; at most %d", nb->nlabels,
                           MT_MAP_MAX);
    else if (mt_json_put_str_map(&s->json, nb->labels, nb->nlabels) != MT_OK)
        rc = mt__store_sql_bad(c, "labels");
    else if (s->json.len > MT_STORE_JSON_MAX)
        rc = mt__store_sql_too_large(c, "labels", s->json.len);
    if (rc != MT_OK) {
        mt_node_reg_unref(&nb);
        return rc;
    }
    int64_t rev = 0;
    uint64_t drawn = mt_now_ms();
    rc = mt__store_sql_draw(c, s, 1, &rev, stored_rev);
    if (rc == MT_OK) {
        mt__store_params_reset(&s->params);
        mt__store_params_str(&s->params, s->json.data, s->json.len);
        mt__store_params_i64(&s->params, rev);
        mt__store_params_cstr(&s->params, id);
        rc = mt__store_conn_exec(c, SQL_REG_SET_LABELS, &s->params, NULL, NULL);
    }
    return commit_reg(c, rc, drawn, nb, rev, out);
}

int mt__store_sql_labels(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, const mt_node_reg_t *set,
                  char *const *remove, uint32_t nremove, mt_node_reg_t **out)
{
    *out = NULL;
    int rc, attempt = 0;
    do {
        rc = labels_once(c, s, id, set, remove, nremove, out);
    } while (mt__store_sql_retry(c, rc, &attempt));
    return rc;
}

/*  A heartbeat's components (the node actor saw their digest change):
    only the versions rows and the two digests, under the row's lock, so
    labels and the rest stay as stored. */
static int components_once(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id,
                           const mt_node_reg_t *comp, mt_node_reg_t **out)
{
    mt_node_reg_t *cur = NULL;
    int rc = load_locked(c, s, id, &cur);
    if (rc != MT_OK)
        return rc;
    mt_node_reg_t t = *cur;
    t.components = comp->components;
    t.ncomponents = comp->ncomponents;
    t.versions = NULL;
    t.nversions = 0;
    mt_node_reg_t *nb = mt_node_reg_build(&t);
    int64_t stored_rev = cur->reg_revision;
    mt_node_reg_unref(&cur);
    int64_t rev = 0;
    uint64_t drawn = mt_now_ms();
    rc = mt__store_sql_draw(c, s, 1, &rev, stored_rev);
    if (rc == MT_OK) {
        mt__store_params_reset(&s->params);
        mt__store_params_cstr(&s->params, nb->versions_hash);
        mt__store_params_cstr(&s->params, nb->components_hash);
        mt__store_params_i64(&s->params, rev);
        mt__store_params_cstr(&s->params, id);
        rc = mt__store_conn_exec(c, SQL_REG_SET_COMPONENTS, &s->params, NULL, NULL);
    }
    if (rc == MT_OK)
        rc = write_versions(c, s, id, nb);
    return commit_reg(c, rc, drawn, nb, rev, out);
}

int mt__store_sql_components(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id,
                      const mt_node_reg_t *comp, mt_node_reg_t **out)
{
    *out = NULL;
    if (!reg_strings_valid(comp))
        return mt__store_sql_bad(c, "components");
    int rc, attempt = 0;
    do {
        rc = components_once(c, s, id, comp, out);
    } while (mt__store_sql_retry(c, rc, &attempt));
    return rc;
}

static int delete_once(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, int64_t *revision)
{
    mt__store_rows_t r;
    bool live;
    int64_t above;
    int rc = lock_row(c, s, id, &r, &live, &above);
    if (rc != MT_OK)
        return rc;
    mt__store_rows_close(&r);
    if (!live)
        return mt__store_sql_not_found(c, id);
    /*  Status and versions go first: deleting the status row waits for a
        heartbeat that holds it (heartbeats of registered nodes do not take
        the registration's lock, node_sql.c), so the revision drawn next is
        above every heartbeat committed before the delete, and a heartbeat
        after it finds no row and is rechecked into not_found. The status
        row's revision, read under its lock first, is part of the floor:
        on Galera a heartbeat committed through another node may hold a
        revision this node's sequence has not reached. */
    mt__store_params_reset(&s->params);
    mt__store_params_cstr(&s->params, id);
    mt__store_rows_t f;
    if ((rc = mt__store_conn_exec(c, SQL_STATUS_FLOOR, &s->params, "i", &f)) != MT_OK)
        return rc;
    int got = mt__store_rows_next(c, &f);
    if (got == 1 && mt__store_rows_i64(&f, 0) > above)
        above = mt__store_rows_i64(&f, 0);
    mt__store_rows_close(&f);
    if (got < 0)
        return MT_EINTERNAL;
    for (int q = SQL_STATUS_DELETE; rc == MT_OK && q <= SQL_VERS_DELETE; q++) {
        mt__store_params_reset(&s->params);
        mt__store_params_cstr(&s->params, id);
        rc = mt__store_conn_exec(c, q, &s->params, NULL, NULL);
    }
    int64_t rev = 0;
    uint64_t drawn = mt_now_ms();
    if (rc == MT_OK)
        rc = mt__store_sql_draw(c, s, 1, &rev, above);
    /*  The tombstone keeps the row: other replicas see the delete by its
        revision. */
    if (rc == MT_OK) {
        mt__store_params_reset(&s->params);
        mt__store_params_i64(&s->params, rev);
        mt__store_params_cstr(&s->params, id);
        rc = mt__store_conn_exec(c, SQL_REG_TOMBSTONE, &s->params, NULL, NULL);
    }
    if (rc == MT_OK)
        rc = mt__store_sql_commit_by(c, drawn);
    if (rc == MT_OK)
        *revision = rev;
    return rc;
}

int mt__store_sql_delete(mt__store_conn_t *c, mt__store_scratch_t *s, const char *id, int64_t *revision)
{
    *revision = 0;
    int rc, attempt = 0;
    do {
        rc = delete_once(c, s, id, revision);
    } while (mt__store_sql_retry(c, rc, &attempt));
    return rc;
}

/*  Purges up to MT_STORE_PURGE_CHUNK tombstones deleted more than
    older_than_ms ago (database clock), in one short transaction: a writer
    is never held long (the reload actor asks again while chunks come back
    full). The key (deleted, deleted_at) keeps the locks on tombstones.
    Replicas that had not seen a purged tombstone learn the delete from
    their next full resync, where the node is absent (directory.c). */
int mt__store_sql_purge(mt__store_conn_t *c, mt__store_scratch_t *s, int64_t older_than_ms, int64_t *purged)
{
    *purged = 0;
    mt__store_params_reset(&s->params);
    mt__store_params_i64(&s->params, older_than_ms);
    int rc = mt__store_conn_exec(c, SQL_PURGED_RAISE, &s->params, NULL, NULL);
    if (rc == MT_OK)
        rc = mt__store_conn_exec(c, SQL_REG_PURGE, &s->params, NULL, NULL);
    uint64_t n = rc == MT_OK ? mt__store_conn_affected(c, SQL_REG_PURGE) : 0;
    if (rc == MT_OK)
        rc = mt__store_conn_commit(c);
    if (rc != MT_OK) {
        mt__store_conn_rollback(c);
        return rc;
    }
    *purged = (int64_t) n;
    return MT_OK;
}
