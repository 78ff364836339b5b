/*  service_nodes.c — the node requests of mt_bench_service's figures: the
    "typical" registration and heartbeat (see service_bench.c), node.get of
    a status revision, and waiting until a replica shows a change. */
#include "service_bench.h"

#include "mt_client.h"

#include <inttypes.h>
#include <string.h>

/*  The "typical" registration (see service_bench.c). */
static void pack_node(msgpack_packer *pk, const char *id)
{
    msgpack_pack_map(pk, 8);
    cli_pack_str(pk, "id");
    cli_pack_str(pk, id);
    cli_pack_str(pk, "host_ip");
    cli_pack_str(pk, "10.20.30.40");
    cli_pack_str(pk, "grpc_port");
    msgpack_pack_uint32(pk, 50051);
    cli_pack_str(pk, "instance_type");
    cli_pack_str(pk, "c6.4xlarge");
    cli_pack_str(pk, "labels");
    msgpack_pack_map(pk, 10);
    static const char *const labels[10][2] = {
        { "zone", "eu-west-1a" }, { "rack", "r17" }, { "pool", "general" },
        { "arch", "amd64" }, { "os", "linux" }, { "gpu", "none" }, { "tier", "standard" },
        { "team", "platform" }, { "env", "bench" }, { "kernel", "6.1" },
    };
    for (int i = 0; i < 10; i++) {
        cli_pack_str(pk, labels[i][0]);
        cli_pack_str(pk, labels[i][1]);
    }
    cli_pack_str(pk, "capacity");
    msgpack_pack_map(pk, 4);
    cli_pack_str(pk, "cpu_milli");
    msgpack_pack_uint32(pk, 16000);
    cli_pack_str(pk, "memory_mb");
    msgpack_pack_uint32(pk, 65536);
    cli_pack_str(pk, "disk_gb");
    msgpack_pack_uint32(pk, 500);
    cli_pack_str(pk, "pods");
    msgpack_pack_uint32(pk, 110);
    cli_pack_str(pk, "quota");
    msgpack_pack_map(pk, 3);
    cli_pack_str(pk, "cpu_milli");
    msgpack_pack_uint32(pk, 14000);
    cli_pack_str(pk, "memory_mb");
    msgpack_pack_uint32(pk, 60000);
    cli_pack_str(pk, "pods");
    msgpack_pack_uint32(pk, 100);
    cli_pack_str(pk, "versions");
    msgpack_pack_map(pk, 5);
    static const char *const versions[5][2] = {
        { "cubelet", "1.8.3" }, { "containerd", "1.7.13" }, { "runc", "1.1.12" },
        { "cni", "1.4.0" }, { "agent", "2.0.1" },
    };
    for (int i = 0; i < 5; i++) {
        cli_pack_str(pk, versions[i][0]);
        cli_pack_str(pk, versions[i][1]);
    }
}

void reg_node(cli_t *c, const char *id)
{
    cli_begin(c, "node.register", 1);
    cli_pack_str(&c->pk, "node");
    pack_node(&c->pk, id);
    int rc = cli_call(c, CLI_CALL_MS, NULL);
    if (rc != 0)
        bp_die("node.register %s on %s: %s", id, c->name, rc < 0 ? "timeout" : c->code);
}

void pack_conditions(msgpack_packer *pk, const char *const conds[2][4])
{
    static const char *const ck[4] = { "type", "status", "reason", "message" };
    cli_pack_str(pk, "conditions");
    msgpack_pack_array(pk, 2);
    for (int i = 0; i < 2; i++) {
        msgpack_pack_map(pk, 4);
        for (int k = 0; k < 4; k++) {
            cli_pack_str(pk, ck[k]);
            cli_pack_str(pk, conds[i][k]);
        }
    }
}

/*  A heartbeat with the typical status; returns its status_revision. */
uint64_t heartbeat(cli_t *c, const char *id, int64_t hb_at)
{
    cli_begin(c, "node.heartbeat", 6);
    msgpack_packer *pk = &c->pk;
    cli_pack_str(pk, "id");
    cli_pack_str(pk, id);
    cli_pack_str(pk, "ready");
    msgpack_pack_true(pk);
    cli_pack_str(pk, "heartbeat_at");
    msgpack_pack_int64(pk, hb_at);
    static const char *const conds[2][4] = {
        { "Ready", "True", "KubeletReady", "kubelet is posting ready status" },
        { "DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure" },
    };
    pack_conditions(pk, conds);
    cli_pack_str(pk, "images");
    msgpack_pack_array(pk, 3);
    cli_pack_str(pk, "registry.local/base/ubuntu:22.04");
    cli_pack_str(pk, "registry.local/runtime/python:3.11");
    cli_pack_str(pk, "registry.local/runtime/node:20");
    cli_pack_str(pk, "local_templates");
    msgpack_pack_array(pk, 2);
    cli_pack_str(pk, "tpl-small");
    cli_pack_str(pk, "tpl-large");
    const msgpack_object *res = NULL;
    int rc = cli_call(c, CLI_CALL_MS, &res);
    if (rc != 0)
        bp_die("node.heartbeat %s on %s: %s", id, c->name, rc < 0 ? "timeout" : c->code);
    uint64_t rev = 0;
    if (!cli_obj_u64(mt_client_map_first(mt_client_map_first(res, "node"), "status_revision"), &rev))
        bp_die("node.heartbeat %s: no status_revision in the reply", id);
    return rev;
}

/*  node.get: 0 and the node's status_revision, 1 not_found. */
int get_rev(cli_t *c, const char *id, uint64_t *rev)
{
    cli_begin(c, "node.get", 1);
    cli_pack_str(&c->pk, "id");
    cli_pack_str(&c->pk, id);
    const msgpack_object *res = NULL;
    int rc = cli_call(c, CLI_CALL_MS, &res);
    if (rc == 1 && strcmp(c->code, "not_found") == 0)
        return 1;
    if (rc != 0)
        bp_die("node.get %s on %s: %s", id, c->name, rc < 0 ? "timeout" : c->code);
    *rev = 0;
    cli_obj_u64(mt_client_map_first(mt_client_map_first(res, "node"), "status_revision"), rev);
    return 0;
}

/*  Until the replica's bus has at least n peers. */
void wait_peers(cli_t *c, uint64_t n, int timeout_ms)
{
    int64_t deadline = now_us() + (int64_t) timeout_ms * 1000;
    while (cli_stat(c, "peers") < n)
        if (now_us() > deadline)
            bp_die("%s: no peer after %d ms", c->name, timeout_ms);
        else
            sleep_us(50000);
}

/*  Until node `id` on c shows status_revision >= rev. */
void wait_visible(cli_t *c, const char *id, uint64_t rev, int timeout_ms)
{
    int64_t deadline = now_us() + (int64_t) timeout_ms * 1000;
    uint64_t r = 0;
    while (get_rev(c, id, &r) != 0 || r < rev)
        if (now_us() > deadline)
            bp_die("%s: node %s not at status revision %" PRIu64 " after %d ms (at %" PRIu64 ")",
                c->name, id, rev, timeout_ms, r);
        else
            sleep_us(1000);
}
