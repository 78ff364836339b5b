/*  metactl_informer.c — `metactl watch --informer` and `--since REV`: the
    client library's informer (mt_informer.h) keeps an exact copy of the
    nodes, and each change its cache takes is printed — from the list,
    from node.changes (catch-ups after a gap, a restart or a resync) or
    from a notice. Unlike a plain watch, nothing is missed: lost notices
    are caught up, so every change in revision order is eventually shown
    (intermediate states merged away, as node.changes does). */
#include "metactl.h"
#include "mt_err.h"
#include "mt_informer.h"

#include <czmq.h>
#include <string.h>

typedef struct {
    const ctl_t *g;
    int64_t seen;
    int64_t last;                   /* zclock_mono() of the last change */
} inf_print_t;

static const char *source_name(mt_informer_source_t s)
{
    return s == MT_INFORMER_FROM_LIST ? "list" : s == MT_INFORMER_FROM_CHANGES ? "changes"
                                                                               : "notice";
}

/*  Table: `change=C id=ID revision=N source=S reg_revision=R
    status_revision=S healthy=B ready=B`; -o json: {"change", "id",
    "revision", "source", "view"?}. */
static void print_change(const mt_informer_change_t *ch, void *arg)
{
    inf_print_t *p = arg;
    const char *kind = ch->kind == MT_INFORMER_UPSERT ? "upsert" : "delete";
    p->seen++;
    p->last = zclock_mono();
    ctl_buf_t b = { 0 };
    if (p->g->output == CTL_JSON) {
        mt_buf_printf(&b, "{\"change\":\"%s\",\"id\":", kind);
        char *id = NULL;
        msgpack_object o = { .type = MSGPACK_OBJECT_STR };
        o.via.str.ptr = ch->id;
        o.via.str.size = (uint32_t) strlen(ch->id);
        id = ctl_json(&o);
        mt_buf_printf(&b, "%s,\"revision\":%lld,\"source\":\"%s\"", id,
                      (long long) ch->revision, source_name(ch->source));
        free(id);
        if (ch->view) {
            char *v = ctl_json(ch->view);
            mt_buf_printf(&b, ",\"view\":%s", v);
            free(v);
        }
        mt_buf_puts(&b, "}");
    }
    else {
        mt_buf_printf(&b, "change=%s id=%s revision=%lld source=%s", kind, ch->id,
                      (long long) ch->revision, source_name(ch->source));
        if (ch->view) {
            static const char *const keys[] = { "reg_revision", "status_revision", "healthy",
                                                "ready" };
            for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
                mt_buf_printf(&b, " %s=", keys[i]);
                const msgpack_object *o = ctl_get(ch->view, keys[i]);
                if (o)
                    ctl_buf_obj(&b, o);
                else
                    mt_buf_puts(&b, "-");
            }
        }
    }
    printf("%s\n", mt_buf_str(&b));
    fflush(stdout);
    mt_buf_free(&b);
}

static int fail(const ctl_t *g, const char *what, int err)
{
    if (err == MT_ETIMEDOUT || err == MT_EUNAVAIL)
        ctl_timeout_error(g);
    else if (err == MT_EEXPIRED)
        fprintf(stderr, "expired: --since is older than the tombstone retention; "
                "use --informer (it lists first)\n");
    else
        fprintf(stderr, "metactl: %s: %s\n", what, mt_strerror(err));
    return err == MT_ETIMEDOUT || err == MT_EUNAVAIL ? CTL_ETIMEOUT : CTL_EFAIL;
}

int ctl_watch_informer(const ctl_t *g, int64_t since, int64_t count, int64_t idle_ms)
{
    ctl_keys_t k;
    if (ctl_keys_load(g, &k) != CTL_OK)
        return CTL_EUSAGE;
    inf_print_t p = { .g = g, .last = zclock_mono() };
    mt_informer_opts_t o = { .endpoint = g->endpoint, .timeout_ms = g->timeout_ms,
                             .on_change = print_change, .arg = &p };
    if (k.curve) {
        o.server_key = k.server_key;
        o.public_key = k.public_key;
        o.secret_key = k.secret_key;
    }
    mt_informer_t *inf = mt_informer_new(&o);
    ctl_keys_wipe(&k);
    if (!inf)
        return ctl_usage_error("", "cannot make an informer of '%s' (not a valid endpoint "
                               "or key?)", g->endpoint);
    ctl_catch_signals();
    int rc = mt_informer_start(inf, since);
    if (rc != MT_OK) {
        mt_informer_destroy(&inf);
        return fail(g, since < 0 ? "node.list" : "node.changes", rc);
    }
    int status = CTL_OK;
    while (!ctl_interrupted && (count == 0 || p.seen < count)) {
        if (idle_ms && zclock_mono() - p.last >= idle_ms) {
            if (count)
                status = CTL_ETIMEOUT;
            break;
        }
        rc = mt_informer_poll(inf, 100);
        if (rc != MT_OK && rc != MT_ETIMEDOUT && rc != MT_EUNAVAIL)
            fprintf(stderr, "metactl: a catch-up failed: %s (tried again)\n",
                    mt_strerror(rc));
    }
    mt_informer_stats_t st;
    mt_informer_stats(inf, &st);
    fprintf(stderr, "metactl: informer: %lld changes, %llu nodes, %llu notices, %llu gaps, "
            "%llu catch-ups, mark %lld\n", (long long) p.seen,
            (unsigned long long) mt_informer_size(inf), (unsigned long long) st.notices,
            (unsigned long long) st.gaps, (unsigned long long) st.catchups,
            (long long) mt_informer_mark(inf));
    mt_informer_destroy(&inf);
    return status;
}
