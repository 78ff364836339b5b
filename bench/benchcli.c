/*  benchcli.c — a bare wire-protocol client for the benchmark programs:
    see benchcli.h. */
#include "benchcli.h"

#include "benchutil.h"
#include "mt_client.h"

static void *g_ctx;
static struct {
    bool on;
    char server[41], pub[41], sec[41];
} g_curve;

void cli_init(void)
{
    g_ctx = zmq_ctx_new();
    if (!g_ctx)
        bp_die("zmq_ctx_new");
}

void cli_term(void)
{
    zmq_ctx_term(g_ctx);
    g_ctx = NULL;
    explicit_bzero(&g_curve, sizeof g_curve);
}

void *cli_zctx(void)
{
    return g_ctx;
}

void cli_set_curve(const char *server_pub, const char *client_pub, const char *client_sec)
{
    g_curve.on = server_pub != NULL;
    if (!g_curve.on)
        return;
    if (strlen(server_pub) != 40 || strlen(client_pub) != 40 || strlen(client_sec) != 40)
        bp_die("cli_set_curve: keys are 40 characters of Z85");
    memcpy(g_curve.server, server_pub, 41);
    memcpy(g_curve.pub, client_pub, 41);
    memcpy(g_curve.sec, client_sec, 41);
}

void cli_curve(void *sock)
{
    if (g_curve.on
        && (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, g_curve.server, 40) != 0
            || zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, g_curve.pub, 40) != 0
            || zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, g_curve.sec, 40) != 0))
        bp_die("CURVE keys on a client socket: %s", zmq_strerror(errno));
}

void cli_open(cli_t *c, const char *name, const char *endpoint)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->sock = zmq_socket(g_ctx, ZMQ_DEALER);
    if (!c->sock)
        bp_die("zmq_socket: %s", zmq_strerror(errno));
    int zero = 0;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
    cli_curve(c->sock);
    if (zmq_connect(c->sock, endpoint) != 0)
        bp_die("cannot connect to %s: %s", endpoint, zmq_strerror(errno));
    msgpack_sbuffer_init(&c->sb);
    msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
    zmq_msg_init(&c->in);
    msgpack_unpacked_init(&c->u);
}

void cli_close(cli_t *c)
{
    if (!c->sock)
        return;
    zmq_close(c->sock);
    c->sock = NULL;
    msgpack_sbuffer_destroy(&c->sb);
    zmq_msg_close(&c->in);
    msgpack_unpacked_destroy(&c->u);
}

void cli_reopen(cli_t *c, const char *endpoint)
{
    char name[16];
    snprintf(name, sizeof name, "%s", c->name);
    cli_close(c);
    cli_open(c, name, endpoint);
}

void cli_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

void cli_begin(cli_t *c, const char *op, uint32_t nargs)
{
    msgpack_sbuffer_clear(&c->sb);
    msgpack_pack_map(&c->pk, nargs + 2);
    cli_pack_str(&c->pk, "op");
    cli_pack_str(&c->pk, op);
    cli_pack_str(&c->pk, "rid");
    msgpack_pack_uint64(&c->pk, ++c->rid);
}

void cli_send(cli_t *c)
{
    if (zmq_send(c->sock, "", 0, ZMQ_SNDMORE) < 0
        || zmq_send(c->sock, c->sb.data, c->sb.size, 0) < 0)
        bp_die("%s: send: %s", c->name, zmq_strerror(errno));
}

int cli_recv(cli_t *c, int timeout_ms, uint64_t *rid_out)
{
    zmq_pollitem_t it = { c->sock, 0, ZMQ_POLLIN, 0 };
    int rc;
    do
        rc = zmq_poll(&it, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        bp_die("%s: poll: %s", c->name, zmq_strerror(errno));
    if (rc == 0)
        return -1;
    int more = 1;
    while (more) {                  /* the last frame is the body */
        if (zmq_msg_recv(&c->in, c->sock, 0) < 0)
            bp_die("%s: recv: %s", c->name, zmq_strerror(errno));
        more = zmq_msg_more(&c->in);
    }
    size_t off = 0;
    if (msgpack_unpack_next(&c->u, zmq_msg_data(&c->in), zmq_msg_size(&c->in), &off)
        != MSGPACK_UNPACK_SUCCESS)
        bp_die("%s: a reply that is not msgpack", c->name);
    const msgpack_object *rid = mt_client_map_first(&c->u.data, "rid");
    *rid_out = rid && rid->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? rid->via.u64 : 0;
    return 0;
}

int cli_result(cli_t *c, const msgpack_object **result)
{
    const msgpack_object *top = &c->u.data;
    const msgpack_object *ok = mt_client_map_first(top, "ok");
    if (ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean) {
        if (result)
            *result = mt_client_map_first(top, "result");
        return 0;
    }
    const msgpack_object *code = mt_client_map_first(mt_client_map_first(top, "error"), "code");
    size_t n = code && code->type == MSGPACK_OBJECT_STR ? code->via.str.size : 0;
    if (n >= sizeof c->code)
        n = sizeof c->code - 1;
    memcpy(c->code, n ? code->via.str.ptr : "", n);
    c->code[n] = '\0';
    return 1;
}

int cli_call(cli_t *c, int timeout_ms, const msgpack_object **result)
{
    cli_send(c);
    uint64_t want = c->rid;
    int64_t deadline = now_us() + (int64_t) timeout_ms * 1000;
    for (;;) {
        int64_t left = deadline - now_us();
        uint64_t rid;
        if (left <= 0 || cli_recv(c, (int) ((left + 999) / 1000), &rid) != 0)
            return -1;
        if (rid == want)            /* else a timed-out call's */
            return cli_result(c, result);
    }
}

bool cli_obj_u64(const msgpack_object *o, uint64_t *v)
{
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *v = o->via.u64;
    return true;
}

bool cli_obj_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n
        && memcmp(o->via.str.ptr, s, n) == 0;
}

/*  One counter of replica.stats; false if the replica has none of that name. */
static bool stat_get(cli_t *c, const char *key, uint64_t *v)
{
    cli_begin(c, "replica.stats", 0);
    const msgpack_object *res = NULL;
    int rc = cli_call(c, CLI_CALL_MS, &res);
    if (rc != 0)
        bp_die("replica.stats on %s: %s", c->name, rc < 0 ? "timeout" : c->code);
    return cli_obj_u64(mt_client_map_first(res, key), v);
}

uint64_t cli_stat(cli_t *c, const char *key)
{
    uint64_t v = 0;
    if (!stat_get(c, key, &v))
        bp_die("replica.stats on %s: no %s", c->name, key);
    return v;
}

uint64_t cli_stat_or(cli_t *c, const char *key, uint64_t absent)
{
    uint64_t v = 0;
    return stat_get(c, key, &v) ? v : absent;
}

uint32_t cli_alive_members(cli_t *c, const char *id, bool *listed)
{
    cli_begin(c, "cluster.info", 0);
    const msgpack_object *res = NULL;
    if (listed)
        *listed = false;
    if (cli_call(c, 1000, &res) != 0)
        return 0;
    const msgpack_object *m = mt_client_map_first(res, "members");
    uint32_t n = 0;
    for (uint32_t i = 0; m && m->type == MSGPACK_OBJECT_ARRAY && i < m->via.array.size; i++) {
        const msgpack_object *e = &m->via.array.ptr[i];
        const msgpack_object *a = mt_client_map_first(e, "alive");
        if (a && a->type == MSGPACK_OBJECT_BOOLEAN && a->via.boolean) {
            n++;
            if (listed && id && cli_obj_is(mt_client_map_first(e, "replica_id"), id))
                *listed = true;
        }
    }
    return n;
}

void cli_wait_ready(cli_t *c, bp_proc_t *p, int timeout_ms)
{
    int64_t deadline = now_us() + (int64_t) timeout_ms * 1000;
    while (now_us() < deadline) {
        if (!bp_running(p)) {
            bp_report_dead();
            bp_die("%s exited during start-up", p->name);
        }
        bool me = false;
        cli_alive_members(c, p->id, &me);
        if (me)
            return;
        cli_reopen(c, p->endpoint);     /* a call to a port not bound yet may be stuck */
        sleep_ms(50);
    }
    bp_tail_log(p);
    bp_die("%s did not come up within %d ms", p->name, timeout_ms);
}

void cli_wait_members(cli_t *c, uint32_t n, int timeout_ms)
{
    int64_t deadline = now_us() + (int64_t) timeout_ms * 1000;
    uint32_t got;
    while ((got = cli_alive_members(c, NULL, NULL)) != n)
        if (now_us() > deadline)
            bp_die("%s lists %u replicas alive, expected %u", c->name, got, n);
        else
            sleep_ms(50);
}

int cli_main(int argc, char **argv, const cli_prog_t *p, const char **dsn, const char **bindir,
             int *port)
{
    int (*fn)(void) = NULL;
    if (argc == 5)
        for (size_t i = 0; i < p->nfigures; i++)
            if (strcmp(argv[1], p->figures[i].name) == 0)
                fn = p->figures[i].fn;
    if (!fn) {
        fprintf(stderr, "# usage: %s FIGURE DSN BINDIR LOGDIR\n#   FIGURE:", p->name);
        for (size_t i = 0; i < p->nfigures; i++)
            fprintf(stderr, " %s", p->figures[i].name);
        fputc('\n', stderr);
        return 2;
    }
    *dsn = argv[2];
    *bindir = argv[3];
    *port = (int) env_long(p->port_env, p->port, 1, p->port_max);
    bp_init(p->prog, argv[1], argv[4]);
    cli_init();
    int rc = fn();
    if (bp_stop_all() != 0)
        rc = 1;
    cli_term();
    return rc;
}
