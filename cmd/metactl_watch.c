/*  metactl_watch.c — `metactl watch`: subscribes to replicas' publish
    endpoints and prints each change notice as it arrives. A replica
    publishes the changes committed through it, so a watch of the whole
    cluster subscribes to every member (--cluster). Sequence gaps (notices
    the publisher dropped) are reported on stderr.

    czmq's zpoller/zsock_recv give up on any signal in Debian's build, so
    waiting is plain zmq_poll, and EINTR only means "look at the flags". */
#include "metactl.h"
#include "mt_alloc.h"
#include "mt_codec.h"

#include <czmq.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char usage_watch[] =
    "usage: metactl watch [-p PUB_ENDPOINT]... [--cluster] [-c N] [-t MS]\n"
    "           [--server-key KEY|FILE] [--cert FILE] [TOPIC_PREFIX]\n"
    "       metactl watch --informer|--since REV [-c N] [-t MS]\n"
    "  Subscribes to change notices and prints one line per notice, until ^C (or\n"
    "  SIGTERM), N notices, or MS milliseconds without a notice. A replica\n"
    "  publishes the changes committed through it: --cluster sees them all.\n"
    "  Table mode: `seq=S replica=R change=C id=ID revision=N healthy=B ready=B`;\n"
    "  remote cluster references: `seq=S replica=R kind=rc change=C id=ID\n"
    "  revision=N name=NAME hostname=H`. With -o json each notice body as one\n"
    "  line of JSON.\n"
    "  TOPIC_PREFIX          only topics starting with it: `node/`, `rc/`, `node/n1`\n"
    "                        (default: everything)\n"
    "  -p, --publish EP      a replica's publish endpoint (repeatable; default:\n"
    "                        $METACTOR_PUBLISH, else " CTL_PUBLISH_DEFAULT ")\n"
    "  --cluster             subscribe to every member's publish endpoint, as\n"
    "                        cluster.info of the replica at -e ENDPOINT lists them\n"
    "  -c, --count N         stop after N notices\n"
    "  -t, --timeout MS      stop after MS ms without a notice (after `watch`, -t is\n"
    "                        this; `metactl -t MS watch --cluster` sets the request\n"
    "                        timeout of cluster.info)\n"
    "  -o table|json         output format, as for every command\n"
    "  --server-key KEY|FILE\n"
    "                        subscribe over CURVE to publishers holding this key (as\n"
    "                        for every command); with --cluster each member's\n"
    "                        public_key from cluster.info is used when it has one\n"
    "  --cert FILE           the client certificate: a replica sends notices only to\n"
    "                        a subscriber it trusts with a role that may watch\n"
    "                        (admin, reader, replica); any other receives nothing,\n"
    "                        silently\n"
    "  --informer            keep an exact copy of the nodes (node.list, then every\n"
    "                        member's notices, node.changes on any gap) and print\n"
    "                        each change it takes: `change=C id=ID revision=N\n"
    "                        source=list|changes|notice reg_revision=R\n"
    "                        status_revision=S healthy=B ready=B` (-o json: one\n"
    "                        object per change, with the view); nothing is missed\n"
    "  --since REV           as --informer, without the list: every change after\n"
    "                        revision REV (node.list's `revision`, a `mark`), then on\n"
    "                        (`expired` when REV is older than the tombstone retention)\n"
    "  Exit status 0, except 3 when --timeout ends the watch before --count\n"
    "  notices arrived, and 2 for usage errors.\n"
    "  Notices published before the subscription is established are not seen\n"
    "  (a ZeroMQ SUB socket joins after its connection completes). A gap in a\n"
    "  replica's sequence numbers is reported on stderr (`metactl: replica R:\n"
    "  N notices missed`).\n";

typedef struct {
    ctl_list_t pubs;                /* publish endpoints (key), their server keys
                                       (value: a member's public_key, or NULL) */
    bool cluster;
    bool informer;
    int64_t since;                  /* --since, or -1 */
    const char *prefix;
    int64_t count;                  /* 0: no limit */
    int64_t idle_ms;                /* 0: wait forever */
} watch_args_t;

/*  The last sequence number seen per publisher (a few replicas). */
typedef struct {
    uint32_t n;
    struct {
        char replica[72];
        uint64_t seq;
    } pubs[64];
} seqs_t;

static void field(ctl_buf_t *b, const char *name, const msgpack_object *o)
{
    mt_buf_printf(b, " %s=", name);
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        mt_buf_printf(b, "-");
    else
        ctl_buf_obj(b, o);
}

/*  Reports a gap in the publisher's sequence on stderr. The first notice
    of a publisher may start anywhere (we joined late); seq 1 again means
    it restarted. */
static void check_seq(seqs_t *seqs, const msgpack_object *n)
{
    char replica[72];
    int64_t seq;
    ctl_get_str(n, "replica", replica, sizeof replica);
    if (!ctl_get_i64(n, "seq", &seq))
        return;
    uint32_t i;
    for (i = 0; i < seqs->n; i++)
        if (strcmp(seqs->pubs[i].replica, replica) == 0)
            break;
    if (i == seqs->n) {
        if (seqs->n == sizeof seqs->pubs / sizeof seqs->pubs[0])
            return;
        seqs->n++;
        snprintf(seqs->pubs[i].replica, sizeof seqs->pubs[i].replica, "%s", replica);
    }
    else if (seq == 1 && seqs->pubs[i].seq > 1)
        fprintf(stderr, "metactl: replica %s restarted (seq 1 again)\n", replica);
    else if ((uint64_t) seq > seqs->pubs[i].seq + 1)
        fprintf(stderr, "metactl: replica %s: %llu notices missed (seq %llu-%llu)\n", replica,
                (unsigned long long) ((uint64_t) seq - seqs->pubs[i].seq - 1),
                (unsigned long long) seqs->pubs[i].seq + 1, (unsigned long long) seq - 1);
    seqs->pubs[i].seq = (uint64_t) seq;
}

static void print_notice(const ctl_t *g, const msgpack_object *n)
{
    if (g->output == CTL_JSON) {
        ctl_print_json(stdout, n);
        return;
    }
    ctl_buf_t b = { 0 };
    mt_buf_printf(&b, "seq=");
    ctl_buf_obj(&b, ctl_get(n, "seq"));
    field(&b, "replica", ctl_get(n, "replica"));
    const msgpack_object *kind = ctl_get(n, "kind");
    bool node = !kind || mt_codec_str_is(kind, "node");
    if (!node)
        field(&b, "kind", kind);
    field(&b, "change", ctl_get(n, "change"));
    field(&b, "id", ctl_get(n, "id"));
    field(&b, "revision", ctl_get(n, "revision"));
    const msgpack_object *view = ctl_get(n, "view");
    if (node) {
        field(&b, "healthy", ctl_get(view, "healthy"));
        field(&b, "ready", ctl_get(view, "ready"));
    }
    else {
        field(&b, "name", ctl_get(view, "name"));
        field(&b, "hostname", ctl_get(view, "hostname"));
    }
    printf("%s\n", mt_buf_str(&b));
    mt_buf_free(&b);
}

/*  One notice body: checked (it is untrusted input), unpacked, printed.
    Returns false when it is not a notice map (a message on stderr). */
static bool handle(const ctl_t *g, seqs_t *seqs, zmq_msg_t *body)
{
    char err[128];
    const char *data = zmq_msg_data(body);
    size_t size = zmq_msg_size(body);
    if (mt_codec_check(data, size, err, sizeof err) != MT_OK) {
        fprintf(stderr, "metactl: skipping an invalid notice: %s\n", err);
        return false;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    bool ok = msgpack_unpack_next(&u, data, size, &off) == MSGPACK_UNPACK_SUCCESS
              && u.data.type == MSGPACK_OBJECT_MAP;
    if (ok) {
        print_notice(g, &u.data);
        fflush(stdout);
        check_seq(seqs, &u.data);
    }
    else
        fprintf(stderr, "metactl: skipping a notice that is not a msgpack map\n");
    msgpack_unpacked_destroy(&u);
    return ok;
}

/*  A member's public_key (cluster.info) as pub's server key. A key that
    is not one is skipped with a warning: the member is then subscribed to
    as the -p endpoints are (--server-key, or plain). */
static void member_key(ctl_kv_t *pub, const msgpack_object *member)
{
    char key[64];
    ctl_get_str(member, "public_key", key, sizeof key);
    if (!key[0])
        return;
    if (!ctl_is_key(key)) {
        fprintf(stderr, "metactl: warning: cluster.info: the public_key of the member "
                "publishing at %s is not a Z85 key; ignored\n", pub->key);
        return;
    }
    pub->value = mt_xstrdup(key);
}

/*  Adds every member's pub_endpoint (cluster.info) to a->pubs, with the
    member's public_key when it has one. */
static int add_members(const ctl_t *g, watch_args_t *a)
{
    mt_client_t *c = ctl_connect(g);
    if (!c)
        return CTL_EUSAGE;
    mt_reply_t r;
    int rc = ctl_call(g, &c, "cluster.info", 0, NULL, NULL, &r);
    if (rc == CTL_OK) {
        const msgpack_object *m = ctl_get(r.result, "members");
        uint32_t n = m && m->type == MSGPACK_OBJECT_ARRAY ? m->via.array.size : 0;
        for (uint32_t i = 0; i < n; i++) {
            char ep[512];
            ctl_get_str(&m->via.array.ptr[i], "pub_endpoint", ep, sizeof ep);
            bool dup = !ep[0];
            for (uint32_t j = 0; j < a->pubs.n && !dup; j++)
                dup = strcmp(a->pubs.items[j].key, ep) == 0;
            if (!dup) {
                ctl_list_add(&a->pubs, ep);
                member_key(&a->pubs.items[a->pubs.n - 1], &m->via.array.ptr[i]);
            }
        }
        if (a->pubs.n == 0) {
            fprintf(stderr, "metactl: cluster.info lists no publish endpoint\n");
            rc = CTL_EFAIL;
        }
        mt_reply_free(&r);
    }
    mt_client_destroy(&c);
    return rc;
}

/*  Connects sub to every publisher: CURVE with the publisher's own key,
    else --server-key's, else plain. */
static int connect_all(const ctl_t *g, const watch_args_t *a, zsock_t *sub)
{
    ctl_keys_t k;
    if (ctl_keys_load(g, &k) != CTL_OK)
        return CTL_EUSAGE;
    int rc = CTL_OK;
    for (uint32_t i = 0; i < a->pubs.n && rc == CTL_OK; i++) {
        const ctl_kv_t *p = &a->pubs.items[i];
        const char *key = p->value ? p->value : k.curve ? k.server_key : NULL;
        if (!ctl_sock_keys(sub, &k, key)) {
            fprintf(stderr, "metactl: cannot set the CURVE keys for '%s': %s\n", p->key,
                    zmq_strerror(errno));
            rc = CTL_EFAIL;
        }
        else if (zsock_connect(sub, "%s", p->key) != 0)
            rc = ctl_usage_error(usage_watch, "cannot connect to '%s' (not a valid endpoint?)",
                                 p->key);
    }
    ctl_keys_wipe(&k);
    return rc;
}

static int watch(const ctl_t *g, const watch_args_t *a)
{
    zsock_t *sub = zsock_new(ZMQ_SUB);
    if (!sub) {
        fprintf(stderr, "metactl: cannot create a SUB socket: %s\n", zmq_strerror(errno));
        return CTL_EFAIL;
    }
    zsock_set_linger(sub, 0);
    zsock_set_rcvhwm(sub, 0);       /* keep everything: the watch must not drop */
    /*  A publisher is a server like any other: it does not get to make
        this process allocate what it likes. */
    zsock_set_maxmsgsize(sub, MT_CLIENT_MAX_REPLY_DEFAULT);
    zsock_set_subscribe(sub, a->prefix);
    int crc = connect_all(g, a, sub);
    if (crc != CTL_OK) {
        zsock_destroy(&sub);
        return crc;
    }
    ctl_catch_signals();
    seqs_t seqs = { 0 };
    void *sock = zsock_resolve(sub);
    int64_t seen = 0;
    int64_t last = zclock_mono();
    int rc = CTL_OK;
    while (!ctl_interrupted && (a->count == 0 || seen < a->count)) {
        long wait = -1;
        if (a->idle_ms) {
            wait = (long) (last + a->idle_ms - zclock_mono());
            if (wait <= 0) {
                if (a->count)
                    rc = CTL_ETIMEOUT;
                break;
            }
        }
        zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&item, 1, wait) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "metactl: zmq_poll: %s\n", zmq_strerror(errno));
            rc = CTL_EFAIL;
            break;
        }
        while (!ctl_interrupted && (a->count == 0 || seen < a->count)) {
            zmq_msg_t topic, body;
            zmq_msg_init(&topic);
            zmq_msg_init(&body);
            int n = mt_client_recv_notice(sock, &topic, &body);
            if (n >= 2) {
                if (handle(g, &seqs, &body))
                    seen++;
                last = zclock_mono();
            }
            else if (n == 1)
                fprintf(stderr, "metactl: skipping a one-frame message\n");
            zmq_msg_close(&topic);
            zmq_msg_close(&body);
            if (n <= 0)
                break;              /* nothing more now, or EINTR */
        }
    }
    zsock_destroy(&sub);
    bool curve = g->server_key != NULL;
    for (uint32_t i = 0; i < a->pubs.n; i++)
        curve |= a->pubs.items[i].value != NULL;
    if (rc == CTL_ETIMEOUT && seen == 0 && curve)
        fprintf(stderr, "metactl: no notice within %lld ms. Over CURVE a publisher also "
                "sends nothing when its key is not the one given, or when it does not trust "
                "--cert with a role that may watch\n", (long long) a->idle_ms);
    return rc;
}

int ctl_cmd_watch(ctl_t *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "publish", required_argument, NULL, 'p' },
        { "cluster", no_argument, NULL, 'C' },
        { "informer", no_argument, NULL, 'I' },
        { "since", required_argument, NULL, 'S' },
        { "count", required_argument, NULL, 'c' },
        { "timeout", required_argument, NULL, 't' },
        { "endpoint", required_argument, NULL, 'e' },
        { "output", required_argument, NULL, 'o' },
        { "cert", required_argument, NULL, CTL_O_CERT },
        { "server-key", required_argument, NULL, CTL_O_SERVER_KEY },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    watch_args_t a = { .prefix = "", .since = -1 };
    ctl_getopt_reset();
    int c, rc = CTL_OK;
    while (rc == CTL_OK && (c = getopt_long(argc, argv, ":p:c:t:e:o:h", opts, NULL)) != -1) {
        if (c == 'p') {
            if (!*optarg)
                rc = ctl_usage_error(usage_watch, "-p: the endpoint is empty");
            ctl_list_add(&a.pubs, optarg);
        }
        else if (c == 'C')
            a.cluster = true;
        else if (c == 'I')
            a.informer = true;
        else if (c == 'S') {
            rc = ctl_opt_i64(usage_watch, "--since", optarg, 0, INT64_MAX, &a.since);
            a.informer = true;
        }
        else if (c == 'c')
            rc = ctl_opt_i64(usage_watch, "--count", optarg, 1, INT64_MAX, &a.count);
        else if (c == 't')
            rc = ctl_opt_i64(usage_watch, "--timeout", optarg, 1, INT32_MAX, &a.idle_ms);
        else
            rc = ctl_global_opt(g, c, argv, usage_watch);
    }
    if (rc == CTL_OK && optind < argc)
        a.prefix = argv[optind++];
    if (rc == CTL_OK && optind < argc)
        rc = ctl_usage_error(usage_watch, "unexpected argument '%s'", argv[optind]);
    if (rc == CTL_OK && a.informer) {
        if (a.pubs.n || a.cluster || *a.prefix)
            rc = ctl_usage_error(usage_watch, "--informer and --since follow every member's "
                                 "node notices: no -p, --cluster or TOPIC_PREFIX");
        else
            rc = ctl_watch_informer(g, a.since, a.count, a.idle_ms);
        ctl_list_free(&a.pubs);
        return rc == CTL_HELP_DONE ? CTL_OK : rc;
    }
    if (rc == CTL_OK && a.cluster)
        rc = add_members(g, &a);
    if (rc == CTL_OK && a.pubs.n == 0) {
        const char *env = getenv("METACTOR_PUBLISH");
        ctl_list_add(&a.pubs, env && *env ? env : CTL_PUBLISH_DEFAULT);
    }
    if (rc == CTL_OK)
        rc = watch(g, &a);
    ctl_list_free(&a.pubs);
    return rc == CTL_HELP_DONE ? CTL_OK : rc;
}
