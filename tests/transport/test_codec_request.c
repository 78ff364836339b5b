/*  test_codec_request.c — request decoding (mt_codec_decode_request):
    a table of bodies for every op and every error class, then the content
    of the messages built for each node op, integers of every msgpack
    width, size limits and the limits of mt_model.h. */
#include "mt_check.h"
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codec_testutil.h"
#include "mt_codec.h"

#define NO_RID -1
#define ANY_OP -1

typedef struct {
    const char *name;
    const char *json;       /* packed with tj_pack ('…' strings), or NULL: hex */
    const char *hex;
    int rc;
    const char *err;        /* substring of the message when rc != MT_OK */
    int op;                 /* expected op (MT_OK and unknown-arg errors), or ANY_OP */
    long long rid;          /* expected rid, or NO_RID */
} req_case_t;

#define OK(name, json, op) { name, json, NULL, MT_OK, NULL, op, NO_RID }
#define BAD(name, json, err) { name, json, NULL, MT_EBADREQ, err, ANY_OP, NO_RID }
#define BADHEX(name, hex, err) { name, NULL, hex, MT_EBADREQ, err, ANY_OP, NO_RID }

static const req_case_t cases[] = {
    /* every op, minimal and full */
    OK("register minimal", "{'op':'node.register','node':{'id':'n1'}}", MT_OP_NODE_REGISTER),
    OK("register full", "{'op':'node.register','node':{'id':'n-1.a_B','host_ip':'10.0.0.1',"
       "'grpc_port':9090,'instance_type':'m5.large','labels':{'zone':'a','gpu':'no'},"
       "'capacity':{'cpu_milli':4000,'memory_mb':16384},'quota':{'pods':110},"
       "'versions':{'agent':'1.2.3'},'registered_at':1700000000000}}", MT_OP_NODE_REGISTER),
    OK("register empty maps", "{'op':'node.register','node':{'id':'n1','labels':{},"
       "'capacity':{},'quota':{},'versions':{}}}", MT_OP_NODE_REGISTER),
    OK("heartbeat minimal", "{'op':'node.heartbeat','id':'n1','ready':true}", MT_OP_NODE_HEARTBEAT),
    OK("heartbeat full", "{'op':'node.heartbeat','id':'n1','ready':false,"
       "'conditions':[{'type':'Disk','status':'True','reason':'r','message':'m'},{}],"
       "'images':['a:1','b:2'],'local_templates':['t1'],'heartbeat_at':1700000000000}",
       MT_OP_NODE_HEARTBEAT),
    OK("labels minimal", "{'op':'node.labels','id':'n1'}", MT_OP_NODE_LABELS),
    OK("labels full", "{'op':'node.labels','id':'n1','set':{'a':'1'},'remove':['b','c']}",
       MT_OP_NODE_LABELS),
    OK("get", "{'op':'node.get','id':'n1'}", MT_OP_NODE_GET),
    OK("delete", "{'op':'node.delete','id':'n1'}", MT_OP_NODE_DELETE),
    OK("list minimal", "{'op':'node.list'}", MT_OP_NODE_LIST),
    OK("list full", "{'op':'node.list','healthy_only':true,'selector':{'zone':'a'},"
       "'after':'n1','limit':10}", MT_OP_NODE_LIST),
    OK("list empty after", "{'op':'node.list','after':'','limit':0}", MT_OP_NODE_LIST),
    /* rc ops: minimal here; every argument and error in test_codec_rc.c */
    OK("rc.add", "{'op':'rc.add','name':'x','hostname':'tcp://h:1'}", MT_OP_RC_ADD),
    OK("rc.set", "{'op':'rc.set','name':'x','username':'u'}", MT_OP_RC_SET),
    OK("rc.del", "{'op':'rc.del','name':'x'}", MT_OP_RC_DEL),
    OK("rc.get", "{'op':'rc.get','id':'x'}", MT_OP_RC_GET),
    OK("rc.list", "{'op':'rc.list'}", MT_OP_RC_LIST),
    OK("cluster.info", "{'op':'cluster.info'}", MT_OP_CLUSTER_INFO),
    OK("replica.stats", "{'op':'replica.stats'}", MT_OP_REPLICA_STATS),
    /* rid, extra keys, nil */
    { "rid", "{'op':'node.get','id':'n1','rid':42}", NULL, MT_OK, NULL, MT_OP_NODE_GET, 42 },
    { "rid 0", "{'rid':0,'op':'cluster.info'}", NULL, MT_OK, NULL, MT_OP_CLUSTER_INFO, 0 },
    { "rid nil is absent", "{'rid':null,'op':'cluster.info'}", NULL, MT_OK, NULL,
      MT_OP_CLUSTER_INFO, NO_RID },
    OK("unknown keys ignored", "{'op':'node.get','id':'n1','x':[1,{'y':2}],'z':'\\xff'}",
       MT_OP_NODE_GET),
    OK("optional nil is absent", "{'op':'node.list','selector':null,'limit':null}", MT_OP_NODE_LIST),
    OK("repeated key: the last wins", "{'op':'node.fly','op':'node.get','id':'n1'}", MT_OP_NODE_GET),
    OK("utf-8 in strings", "{'op':'node.register','node':{'id':'n1','instance_type':'Z\\u00fcrich "
       "\\u6771\\u4eac \\xf0\\x9f\\x98\\x80'}}", MT_OP_NODE_REGISTER),
    OK("labels in Kubernetes syntax", "{'op':'node.register','node':{'id':'n1','labels':"
       "{'zone':'eu-1','gpu':'a100','metactor.io/scheduling-disabled':'true','k8s.io/a_b':''}}}",
       MT_OP_NODE_REGISTER),

    /* malformed msgpack, not a map */
    BADHEX("malformed", "c1", "invalid msgpack byte"),
    BADHEX("truncated", "82 a2 6f 70", "declares more elements"),
    BADHEX("empty map value missing", "81 a2 6f 70", "truncated"),
    BAD("array body", "[1,2]", "body: expected a map"),
    BAD("string body", "'node.get'", "body: expected a map"),
    BAD("integer body", "5", "body: expected a map"),
    BAD("nil body", "null", "body: expected a map"),
    BADHEX("trailing bytes", "81 a2 6f 70 a8 6e 6f 64 65 2e 67 65 74 c0", "1 trailing bytes"),
    BADHEX("96 GiB bomb", "dd ff ff ff ff", "declares more elements"),
    BADHEX("map bomb", "df ff ff ff ff", "declares more elements"),
    BADHEX("bomb inside the map", "82 a2 6f 70 a8 6e 6f 64 65 2e 67 65 74 a1 78 dd ff ff ff ff",
           "declares more elements"),
    BADHEX("str bomb inside", "81 a2 6f 70 db ff ff ff ff", "exceeds the body"),
    BADHEX("depth bomb", "81 a1 78 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 c0",
           "nested deeper than 16"),
    /* keys, op */
    BADHEX("integer key", "82 01 a1 78 a2 6f 70 a8 6e 6f 64 65 2e 67 65 74", "body: keys must be strings"),
    { "integer key still echoes rid", NULL, "82 01 a1 78 a3 72 69 64 07", MT_EBADREQ,
      "keys must be strings", ANY_OP, 7 },
    BAD("missing op", "{'id':'n1'}", "op: required"),
    BAD("op nil", "{'op':null}", "op: required"),
    BAD("op not a string", "{'op':5}", "op: expected a string"),
    BAD("op array", "{'op':['node.get']}", "op: expected a string"),
    BAD("op not UTF-8", "{'op':'node.\\xff'}", "op: not valid UTF-8"),
    BAD("op with NUL", "{'op':'node.get\\x00x','id':'n1'}", "op: must not contain NUL"),
    { "unknown op", "{'op':'node.fly'}", NULL, MT_EUNKNOWNOP, "unknown op \"node.fly\"", ANY_OP, NO_RID },
    { "unknown op echoes rid", "{'op':'x','rid':9}", NULL, MT_EUNKNOWNOP, "unknown op", ANY_OP, 9 },
    { "unknown op case", "{'op':'Node.Get'}", NULL, MT_EUNKNOWNOP, "unknown op", ANY_OP, NO_RID },
    { "unknown long op", "{'op':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}",
      NULL, MT_EUNKNOWNOP, "unknown op (a 78-byte name)", ANY_OP, NO_RID },
    /* rid */
    BAD("negative rid", "{'op':'node.get','id':'n1','rid':-1}", "rid: expected an unsigned integer"),
    BAD("string rid", "{'op':'node.get','id':'n1','rid':'1'}", "rid: expected an unsigned integer"),
    BAD("float rid", "{'op':'node.get','id':'n1','rid':1.0}", "rid: expected an unsigned integer"),
    BAD("bad rid before a bad op", "{'op':5,'rid':-1}", "rid:"),
    /* ids */
    BAD("id missing", "{'op':'node.get'}", "id: required"),
    BAD("id not a string", "{'op':'node.get','id':1}", "id: expected a string"),
    BAD("id empty", "{'op':'node.delete','id':''}", "id: must be 1-253 characters"),
    BAD("id with a space", "{'op':'node.get','id':'a b'}", "id: only letters"),
    BAD("id with a slash", "{'op':'node.get','id':'a/b'}", "id: only letters"),
    BAD("id with NUL", "{'op':'node.get','id':'a\\x00b'}", "id: must not contain NUL"),
    BAD("id not UTF-8", "{'op':'node.get','id':'\\xc3'}", "id: not valid UTF-8"),
    BAD("id unicode letter", "{'op':'node.get','id':'\\u00e9'}", "id: only letters"),
    /* node.register */
    BAD("register without node", "{'op':'node.register','id':'n1'}", "node: required"),
    BAD("register node not a map", "{'op':'node.register','node':'n1'}", "node: expected a map"),
    BAD("register node without id", "{'op':'node.register','node':{'host_ip':'h'}}", "id: required"),
    BAD("port 0", "{'op':'node.register','node':{'id':'n1','grpc_port':0}}", "grpc_port: must be 1-65535"),
    BAD("port 70000", "{'op':'node.register','node':{'id':'n1','grpc_port':70000}}", "grpc_port: must be 1-65535"),
    BAD("port -1", "{'op':'node.register','node':{'id':'n1','grpc_port':-1}}", "grpc_port: must be 1-65535"),
    BAD("port string", "{'op':'node.register','node':{'id':'n1','grpc_port':'80'}}", "grpc_port: expected an integer"),
    BAD("port float", "{'op':'node.register','node':{'id':'n1','grpc_port':80.0}}", "grpc_port: expected an integer"),
    BAD("port bool", "{'op':'node.register','node':{'id':'n1','grpc_port':true}}", "grpc_port: expected an integer"),
    BAD("port uint64 overflow", "{'op':'node.register','node':{'id':'n1','grpc_port':18446744073709551615}}",
        "grpc_port: integer out of range"),
    BAD("host_ip not a string", "{'op':'node.register','node':{'id':'n1','host_ip':1}}", "host_ip: expected a string"),
    BAD("instance_type not UTF-8", "{'op':'node.register','node':{'id':'n1','instance_type':'\\xed\\xa0\\x80'}}",
        "instance_type: not valid UTF-8"),
    BAD("labels not a map", "{'op':'node.register','node':{'id':'n1','labels':['a']}}", "labels: expected a map"),
    BAD("labels value integer", "{'op':'node.register','node':{'id':'n1','labels':{'a':1}}}",
        "labels: values must be strings"),
    BAD("labels key integer", "{'op':'node.register','node':{'id':'n1','labels':{1:'x'}}}",
        "labels: keys must be strings"),
    BAD("labels empty key", "{'op':'node.register','node':{'id':'n1','labels':{'':'1'}}}",
        "labels: keys must not be empty"),
    BAD("labels overlong UTF-8", "{'op':'node.register','node':{'id':'n1','labels':{'a':'\\xc0\\xaf'}}}",
        "labels: values must be valid UTF-8"),
    BAD("labels key beyond U+10FFFF", "{'op':'node.register','node':{'id':'n1','labels':{'\\xf4\\x90\\x80\\x80':'x'}}}",
        "labels: keys must be valid UTF-8"),
    BAD("capacity value string", "{'op':'node.register','node':{'id':'n1','capacity':{'cpu':'4'}}}",
        "capacity: values must be integers"),
    BAD("capacity negative", "{'op':'node.register','node':{'id':'n1','capacity':{'cpu':-4}}}",
        "capacity: cpu must not be negative"),
    BAD("quota not a map", "{'op':'node.register','node':{'id':'n1','quota':5}}", "quota: expected a map"),
    BAD("versions value nil", "{'op':'node.register','node':{'id':'n1','versions':{'a':null}}}",
        "versions: values must be strings"),
    BAD("registered_at negative", "{'op':'node.register','node':{'id':'n1','registered_at':-5}}",
        "registered_at: must not be negative"),
    /* node.heartbeat */
    BAD("heartbeat without ready", "{'op':'node.heartbeat','id':'n1'}", "ready: required"),
    BAD("ready integer", "{'op':'node.heartbeat','id':'n1','ready':1}", "ready: expected a boolean"),
    BAD("heartbeat without id", "{'op':'node.heartbeat','ready':true}", "id: required"),
    BAD("conditions map", "{'op':'node.heartbeat','id':'n1','ready':true,'conditions':{}}",
        "conditions: expected an array"),
    BAD("condition not a map", "{'op':'node.heartbeat','id':'n1','ready':true,'conditions':['x']}",
        "conditions: items must be maps"),
    BAD("condition type integer", "{'op':'node.heartbeat','id':'n1','ready':true,'conditions':[{'type':1}]}",
        "conditions.type: expected a string"),
    BAD("images item integer", "{'op':'node.heartbeat','id':'n1','ready':true,'images':['a',2]}",
        "images: items must be strings"),
    BAD("local_templates string", "{'op':'node.heartbeat','id':'n1','ready':true,'local_templates':'t'}",
        "local_templates: expected an array"),
    BAD("heartbeat_at negative", "{'op':'node.heartbeat','id':'n1','ready':true,'heartbeat_at':-1}",
        "heartbeat_at: must not be negative"),
    BAD("heartbeat_at overflow", "{'op':'node.heartbeat','id':'n1','ready':true,'heartbeat_at':9223372036854775808}",
        "heartbeat_at: integer out of range"),
    /* node.labels */
    BAD("labels set not a map", "{'op':'node.labels','id':'n1','set':['a']}", "set: expected a map"),
    BAD("labels set value integer", "{'op':'node.labels','id':'n1','set':{'a':1}}", "set: values must be strings"),
    BAD("labels set empty key", "{'op':'node.labels','id':'n1','set':{'':'x'}}",
        "set: label '': the key must not be empty"),
    BAD("labels remove not an array", "{'op':'node.labels','id':'n1','remove':'a'}", "remove: expected an array"),
    BAD("labels remove item integer", "{'op':'node.labels','id':'n1','remove':[1]}", "remove: items must be strings"),
    BAD("labels remove empty", "{'op':'node.labels','id':'n1','remove':['']}", "remove: label keys are 1-317 bytes"),
    /*  Label syntax (the whole table is test_labels.c): the keys in
        every place a request names labels. remove takes any key (labels
        stored before the rules can still go). */
    BAD("register key with a space", "{'op':'node.register','node':{'id':'n1','labels':{'a b':'x'}}}",
        "labels: label 'a b': the name may hold letters, digits, '-', '_' and '.' only"),
    BAD("register key with a control byte", "{'op':'node.register','node':{'id':'n1','labels':{'k\\x01':'x'}}}",
        "labels: label 'k\\x01': the name may hold letters"),
    BAD("register key with a dash first", "{'op':'node.register','node':{'id':'n1','labels':{'-lead':'x'}}}",
        "labels: label '-lead': the name must begin and end with a letter or digit"),
    BAD("register key ending in '/'", "{'op':'node.register','node':{'id':'n1','labels':{'x/':'x'}}}",
        "labels: label 'x/': the name after '/' must not be empty"),
    BAD("register key not ASCII", "{'op':'node.register','node':{'id':'n1','labels':{'\\u00e9':'x'}}}",
        "labels: label '\\xc3\\xa9': the name may hold letters"),
    BAD("register value with a space", "{'op':'node.register','node':{'id':'n1','labels':{'zone':'eu 1'}}}",
        "labels: label 'zone': the value may hold letters"),
    BAD("set key with a space", "{'op':'node.labels','id':'n1','set':{'a b':'x'}}",
        "set: label 'a b': the name may hold letters"),
    BAD("set value too long", "{'op':'node.labels','id':'n1','set':{'k':"
        "'0123456789012345678901234567890123456789012345678901234567890123'}}",
        "set: label 'k': the value is at most 63 characters"),
    BAD("selector key with a control byte", "{'op':'node.list','selector':{'k\\x01':'x'}}",
        "selector: label 'k\\x01': the name may hold letters"),
    BAD("selector prefix uppercase", "{'op':'node.list','selector':{'Metactor.io/x':'y'}}",
        "selector: label 'Metactor.io/x': the prefix may hold lowercase letters"),
    OK("remove any key", "{'op':'node.labels','id':'n1','remove':['a b','k\\x01','-lead','x/','\\u00e9']}",
       MT_OP_NODE_LABELS),
    /* node.list */
    BAD("healthy_only string", "{'op':'node.list','healthy_only':'yes'}", "healthy_only: expected a boolean"),
    BAD("schedulable_only string", "{'op':'node.list','schedulable_only':1}",
        "schedulable_only: expected a boolean"),
    BAD("selector array", "{'op':'node.list','selector':[]}", "selector: expected a map"),
    BAD("selector value integer", "{'op':'node.list','selector':{'a':1}}", "selector: values must be strings"),
    BAD("after integer", "{'op':'node.list','after':5}", "after: expected a string"),
    BAD("after not an id", "{'op':'node.list','after':'a b'}", "after: expected a node id"),
    BAD("limit negative", "{'op':'node.list','limit':-1}", "limit: must be 0-4294967295"),
    BAD("limit too large", "{'op':'node.list','limit':4294967296}", "limit: must be 0-4294967295"),
    BAD("limit string", "{'op':'node.list','limit':'10'}", "limit: expected an integer"),
};

START_TEST(table)
{
    const req_case_t *c = &cases[_i];
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    unsigned char raw[256];
    const void *body;
    size_t size;
    if (c->json) {
        tj_pack(c->json, &buf);
        body = buf.data;
        size = buf.size;
    } else {
        size = hex_bytes(c->hex, raw, sizeof raw);
        body = raw;
    }
    mt_request_t req;
    char err[200];
    int rc = mt_codec_decode_request(body, size, 0, &req, err, sizeof err);
    ck_assert_msg(rc == c->rc, "%s: rc %d (%s), expected %d", c->name, rc, err, c->rc);
    if (c->rc == MT_OK) {
        ck_assert_str_eq(err, "");
        bool node_op = req.op <= MT_OP_NODE_DELETE;
        bool rc_op = req.op >= MT_OP_RC_ADD && req.op <= MT_OP_RC_LIST;
        ck_assert_msg((node_op || rc_op) == (req.msg != NULL), "%s: msg", c->name);
        if (req.msg) {
            ck_assert_int_eq(req.msg->type, node_op ? MT_NODE_REQ : MT_RC_REQ);
            mt_msg_free(req.msg);
        }
    } else {
        ck_assert_ptr_null(req.msg);
        if (c->err)
            ck_assert_msg(strstr(err, c->err), "%s: message \"%s\", expected \"%s\"",
                          c->name, err, c->err);
        ck_assert_msg(err[0], "%s: no message", c->name);
    }
    if (c->op != ANY_OP)
        ck_assert_int_eq(req.op, c->op);
    if (c->rid == NO_RID) {
        ck_assert(!req.has_rid);
    } else {
        ck_assert_msg(req.has_rid, "%s: no rid", c->name);
        ck_assert_uint_eq(req.rid, (uint64_t) c->rid);
    }
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

/* ---- the messages built for each node op ------------------------------- */

static mt_node_req_t *decode_ok(const char *json, mt_msg_t **msg)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack(json, &buf);
    mt_request_t req;
    char err[200];
    int rc = mt_codec_decode_request(buf.data, buf.size, 0, &req, err, sizeof err);
    msgpack_sbuffer_destroy(&buf);
    ck_assert_msg(rc == MT_OK, "%s", err);
    ck_assert_ptr_nonnull(req.msg);
    *msg = req.msg;
    return mt_node_req(req.msg);
}

START_TEST(register_content)
{
    mt_msg_t *msg;
    mt_node_req_t *r = decode_ok("{'op':'node.register','rid':1,'node':{'id':'n-1',"
        "'host_ip':'10.0.0.1','grpc_port':9090,'instance_type':'m5',"
        "'labels':{'zone':'b','gpu':'no','zone':'a'},'capacity':{'memory_mb':16384,'cpu_milli':4000},"
        "'quota':{'pods':110},'versions':{'agent':'1.2.3','kubelet':'1.29'},"
        "'registered_at':1700000000000,'reg_revision':99,'versions_hash':'bogus','healthy':true}}", &msg);
    ck_assert_int_eq(r->op, MT_NODE_OP_REGISTER);
    ck_assert_str_eq(r->id, "n-1");
    const mt_node_reg_t *g = r->reg;
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(g->host_ip, "10.0.0.1");
    ck_assert_int_eq(g->grpc_port, 9090);
    ck_assert_str_eq(g->instance_type, "m5");
    ck_assert_uint_eq(g->nlabels, 2);               /* sorted, the last "zone" wins */
    ck_assert_str_eq(g->labels[0].key, "gpu");
    ck_assert_str_eq(g->labels[1].key, "zone");
    ck_assert_str_eq(g->labels[1].value, "a");
    ck_assert_uint_eq(g->ncapacity, 2);
    ck_assert_str_eq(g->capacity[0].key, "cpu_milli");
    ck_assert_int_eq(g->capacity[0].value, 4000);
    ck_assert_int_eq(g->capacity[1].value, 16384);
    ck_assert_uint_eq(g->nquota, 1);
    ck_assert_int_eq(g->quota[0].value, 110);
    ck_assert_uint_eq(g->nversions, 2);
    char hash[17];
    mt_versions_hash(g->versions, g->nversions, hash);
    ck_assert_str_eq(g->versions_hash, hash);       /* computed, not copied */
    ck_assert_int_eq(g->registered_at, 1700000000000LL);
    ck_assert_int_eq(g->reg_revision, 0);           /* the store assigns it */
    ck_assert_ptr_null(r->status);
    mt_msg_free(msg);

    r = decode_ok("{'op':'node.register','node':{'id':'n2'}}", &msg);
    ck_assert_str_eq(r->reg->host_ip, "");
    ck_assert_int_eq(r->reg->grpc_port, 0);
    ck_assert_uint_eq(r->reg->nlabels + r->reg->ncapacity + r->reg->nquota + r->reg->nversions, 0);
    ck_assert_int_eq(r->reg->registered_at, 0);
    mt_msg_free(msg);
}
END_TEST

START_TEST(heartbeat_content)
{
    mt_msg_t *msg;
    mt_node_req_t *r = decode_ok("{'op':'node.heartbeat','id':'n1','ready':true,"
        "'conditions':[{'type':'Disk','status':'False','reason':'ok','message':'fine'},{'type':'Mem'}],"
        "'images':['a:1','b:2'],'local_templates':['t1'],'heartbeat_at':1700000000123,"
        "'status_revision':5}", &msg);
    ck_assert_int_eq(r->op, MT_NODE_OP_HEARTBEAT);
    ck_assert_str_eq(r->id, "n1");
    const mt_node_status_t *s = r->status;
    ck_assert(s->ready);
    ck_assert_int_eq(s->heartbeat_at, 1700000000123LL);
    ck_assert_uint_eq(s->nconditions, 2);
    ck_assert_str_eq(s->conditions[0].type, "Disk");
    ck_assert_str_eq(s->conditions[0].status, "False");
    ck_assert_str_eq(s->conditions[0].reason, "ok");
    ck_assert_str_eq(s->conditions[0].message, "fine");
    ck_assert_str_eq(s->conditions[1].type, "Mem");
    ck_assert_str_eq(s->conditions[1].message, "");
    ck_assert_uint_eq(s->nimages, 2);
    ck_assert_str_eq(s->images[1], "b:2");
    ck_assert_uint_eq(s->ntemplates, 1);
    ck_assert_str_eq(s->local_templates[0], "t1");
    ck_assert_int_eq(s->status_revision, 0);        /* not the client's to set */
    mt_msg_free(msg);

    r = decode_ok("{'op':'node.heartbeat','id':'n1','ready':false}", &msg);
    ck_assert(!r->status->ready);
    ck_assert_int_eq(r->status->heartbeat_at, 0);   /* 0: the replica's clock */
    ck_assert_uint_eq(r->status->nconditions + r->status->nimages + r->status->ntemplates, 0);
    mt_msg_free(msg);
}
END_TEST

START_TEST(labels_content)
{
    mt_msg_t *msg;
    mt_node_req_t *r = decode_ok("{'op':'node.labels','id':'n1','set':{'b':'2','a':'1'},"
                                 "'remove':['c','d']}", &msg);
    ck_assert_int_eq(r->op, MT_NODE_OP_LABELS);
    ck_assert_uint_eq(r->reg->nlabels, 2);
    ck_assert_str_eq(r->reg->labels[0].key, "a");
    ck_assert_uint_eq(r->nremove, 2);
    ck_assert_str_eq(r->remove[0], "c");
    ck_assert_str_eq(r->remove[1], "d");
    mt_msg_free(msg);

    r = decode_ok("{'op':'node.labels','id':'n1'}", &msg);
    ck_assert_ptr_null(r->reg);
    ck_assert_uint_eq(r->nremove, 0);
    mt_msg_free(msg);

    r = decode_ok("{'op':'node.labels','id':'n1','set':{}}", &msg);
    ck_assert_ptr_nonnull(r->reg);                  /* an empty set is still a set */
    ck_assert_uint_eq(r->reg->nlabels, 0);
    mt_msg_free(msg);
}
END_TEST

START_TEST(list_content)
{
    mt_msg_t *msg;
    mt_node_req_t *r = decode_ok("{'op':'node.list','healthy_only':true,'selector':{'zone':'a'},"
                                 "'after':'n5','limit':25}", &msg);
    ck_assert_int_eq(r->op, MT_NODE_OP_LIST);
    ck_assert(r->healthy_only);
    ck_assert_uint_eq(r->selector->nlabels, 1);
    ck_assert_str_eq(r->selector->labels[0].value, "a");
    ck_assert_str_eq(r->after, "n5");
    ck_assert_uint_eq(r->limit, 25);
    mt_msg_free(msg);

    r = decode_ok("{'op':'node.list','schedulable_only':true}", &msg);
    ck_assert(r->schedulable_only);
    ck_assert(!r->healthy_only);
    mt_msg_free(msg);

    r = decode_ok("{'op':'node.list','selector':{},'limit':4294967295}", &msg);
    ck_assert(!r->healthy_only);
    ck_assert(!r->schedulable_only);
    ck_assert_ptr_null(r->selector);                /* empty selector: everything */
    ck_assert_str_eq(r->after, "");
    ck_assert_uint_eq(r->limit, UINT32_MAX);
    mt_msg_free(msg);
}
END_TEST

/*  seen_at is the database's stamp: a node cannot set it. */
START_TEST(heartbeat_seen_at_ignored)
{
    mt_msg_t *msg;
    mt_node_req_t *r = decode_ok("{'op':'node.heartbeat','id':'n1','ready':true,"
                                 "'heartbeat_at':5,'seen_at':99999999999999}", &msg);
    ck_assert_int_eq(r->status->heartbeat_at, 5);
    ck_assert_int_eq(r->status->seen_at, 0);
    mt_msg_free(msg);
}
END_TEST

START_TEST(get_delete_content)
{
    mt_msg_t *msg;
    mt_node_req_t *r = decode_ok("{'op':'node.get','id':'abc'}", &msg);
    ck_assert_int_eq(r->op, MT_NODE_OP_GET);
    ck_assert_str_eq(r->id, "abc");
    mt_msg_free(msg);
    r = decode_ok("{'op':'node.delete','id':'abc'}", &msg);
    ck_assert_int_eq(r->op, MT_NODE_OP_DELETE);
    ck_assert_str_eq(r->id, "abc");
    mt_msg_free(msg);
}
END_TEST

/* ---- integers of every width ------------------------------------------- */

typedef enum { W_FIXINT, W_U8, W_U16, W_U32, W_U64, W_I8, W_I16, W_I32, W_I64, W_COUNT } width_t;

/*  Packs v in width w; false if v does not fit that width. */
static bool pack_width(msgpack_packer *pk, width_t w, int64_t v)
{
    switch (w) {
    case W_FIXINT:
        if (v < -32 || v > 127)
            return false;
        return msgpack_pack_int64(pk, v) == 0;     /* the packer picks fixint */
    case W_U8: if (v < 0 || v > UINT8_MAX) return false; msgpack_pack_fix_uint8(pk, (uint8_t) v); return true;
    case W_U16: if (v < 0 || v > UINT16_MAX) return false; msgpack_pack_fix_uint16(pk, (uint16_t) v); return true;
    case W_U32: if (v < 0 || v > UINT32_MAX) return false; msgpack_pack_fix_uint32(pk, (uint32_t) v); return true;
    case W_U64: if (v < 0) return false; msgpack_pack_fix_uint64(pk, (uint64_t) v); return true;
    case W_I8: if (v < INT8_MIN || v > INT8_MAX) return false; msgpack_pack_fix_int8(pk, (int8_t) v); return true;
    case W_I16: if (v < INT16_MIN || v > INT16_MAX) return false; msgpack_pack_fix_int16(pk, (int16_t) v); return true;
    case W_I32: if (v < INT32_MIN || v > INT32_MAX) return false; msgpack_pack_fix_int32(pk, (int32_t) v); return true;
    case W_I64: msgpack_pack_fix_int64(pk, v); return true;
    default: return false;
    }
}

/*  A heartbeat's map of nkeys entries, its first three: op, id n1, ready. */
static void pack_heartbeat_head(msgpack_packer *pk, uint32_t nkeys)
{
    msgpack_pack_map(pk, nkeys);
    msgpack_pack_str_with_body(pk, "op", 2);
    msgpack_pack_str_with_body(pk, "node.heartbeat", 14);
    msgpack_pack_str_with_body(pk, "id", 2);
    msgpack_pack_str_with_body(pk, "n1", 2);
    msgpack_pack_str_with_body(pk, "ready", 5);
    msgpack_pack_true(pk);
}

/*  {"op":"node.heartbeat","id":"n1","ready":true,"heartbeat_at":v,"rid":r} */
static int heartbeat_with(width_t w, int64_t hb, int64_t rid, mt_request_t *req, char *err)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    pack_heartbeat_head(&pk, 5);
    msgpack_pack_str_with_body(&pk, "heartbeat_at", 12);
    ck_assert(pack_width(&pk, w, hb));
    msgpack_pack_str_with_body(&pk, "rid", 3);
    ck_assert(pack_width(&pk, w, rid));
    int rc = mt_codec_decode_request(buf.data, buf.size, 0, req, err, 200);
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

START_TEST(integer_widths)
{
    static const int64_t values[] = { 0, 1, 5, 127, 128, 255, 256, 65535, 65536,
                                      4294967295LL, 4294967296LL, MT_TIME_MAX,
                                      MT_TIME_MAX + 1, INT64_MAX };
    static const int64_t negatives[] = { -1, -32, -33, -128, -129, -32768, -32769,
                                         INT32_MIN, (int64_t) INT32_MIN - 1, INT64_MIN };
    char err[200];
    mt_request_t req;
    int tried = 0;
    for (width_t w = 0; w < W_COUNT; w++) {
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            msgpack_sbuffer probe;
            msgpack_sbuffer_init(&probe);
            msgpack_packer pk;
            msgpack_packer_init(&pk, &probe, msgpack_sbuffer_write);
            bool fits = pack_width(&pk, w, values[i]);
            msgpack_sbuffer_destroy(&probe);
            if (!fits)
                continue;
            tried++;
            /*  A timestamp beyond MT_TIME_MAX is refused (its arithmetic
                could overflow); the rid takes any width and value. */
            int64_t hb = values[i] <= MT_TIME_MAX ? values[i] : 0;
            if (hb != values[i]) {
                ck_assert_int_eq(heartbeat_with(w, values[i], 1, &req, err), MT_EBADREQ);
                ck_assert_msg(strstr(err, "heartbeat_at: at most"), "%s", err);
            }
            ck_assert_msg(heartbeat_with(w, hb, values[i], &req, err) == MT_OK,
                          "width %d value %lld: %s", w, (long long) values[i], err);
            ck_assert_int_eq(mt_node_req(req.msg)->status->heartbeat_at, hb);
            ck_assert(req.has_rid);
            ck_assert_uint_eq(req.rid, (uint64_t) values[i]);
            mt_msg_free(req.msg);
        }
        for (size_t i = 0; i < sizeof negatives / sizeof negatives[0]; i++) {
            msgpack_sbuffer probe;
            msgpack_sbuffer_init(&probe);
            msgpack_packer pk;
            msgpack_packer_init(&pk, &probe, msgpack_sbuffer_write);
            bool fits = pack_width(&pk, w, negatives[i]);
            msgpack_sbuffer_destroy(&probe);
            if (!fits)
                continue;
            tried++;
            /* a negative rid is refused */
            ck_assert_int_eq(heartbeat_with(w, 0, negatives[i], &req, err), MT_EBADREQ);
            ck_assert_str_eq(err, "rid: expected an unsigned integer");
            /* a negative heartbeat_at is read, then refused by validation */
            ck_assert_int_eq(heartbeat_with(w, negatives[i], 1, &req, err), MT_EBADREQ);
            ck_assert_str_eq(err, "heartbeat_at: must not be negative");
            ck_assert(req.has_rid);
        }
    }
    ck_assert_int_ge(tried, 60);
}
END_TEST

START_TEST(uint64_edges)
{
    /* rid takes the full uint64 range; int64 fields stop at INT64_MAX */
    char err[200];
    mt_request_t req;
    unsigned char body[64];
    size_t n = hex_bytes("82 a2 6f 70 ac 63 6c 75 73 74 65 72 2e 69 6e 66 6f"
                         " a3 72 69 64 cf ff ff ff ff ff ff ff ff", body, sizeof body);
    ck_assert_int_eq(mt_codec_decode_request(body, n, 0, &req, err, sizeof err), MT_OK);
    ck_assert_uint_eq(req.rid, UINT64_MAX);
    ck_assert_int_eq(req.op, MT_OP_CLUSTER_INFO);

    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack("{'op':'node.register','node':{'id':'n1','capacity':{'cpu':9223372036854775807}}}", &buf);
    ck_assert_int_eq(mt_codec_decode_request(buf.data, buf.size, 0, &req, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_node_req(req.msg)->reg->capacity[0].value, INT64_MAX);
    mt_msg_free(req.msg);
    tj_pack("{'op':'node.register','node':{'id':'n1','capacity':{'cpu':9223372036854775808}}}", &buf);
    ck_assert_int_eq(mt_codec_decode_request(buf.data, buf.size, 0, &req, err, sizeof err), MT_EBADREQ);
    ck_assert_str_eq(err, "capacity: integer out of range");
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

/* ---- sizes and model limits -------------------------------------------- */

START_TEST(too_large)
{
    char err[200];
    mt_request_t req;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack("{'op':'node.get','id':'n1','rid':3}", &buf);
    /* exactly the limit is fine, one byte less is not */
    ck_assert_int_eq(mt_codec_decode_request(buf.data, buf.size, buf.size, &req, err, sizeof err), MT_OK);
    mt_msg_free(req.msg);
    ck_assert_int_eq(mt_codec_decode_request(buf.data, buf.size, buf.size - 1, &req, err, sizeof err),
                     MT_ETOOLARGE);
    ck_assert(req.has_rid);                         /* found without unpacking */
    ck_assert_uint_eq(req.rid, 3);
    ck_assert_ptr_null(req.msg);
    ck_assert_ptr_nonnull(strstr(err, "the maximum is"));
    /* before anything else: the size alone decides */
    ck_assert_int_eq(mt_codec_decode_request(NULL, 1u << 30, 0, &req, err, sizeof err), MT_ETOOLARGE);
    msgpack_sbuffer_destroy(&buf);

    /* a rid in a signed width is a rid for the peek too, as for the full
       decode (found by the fuzzer); a negative one is none */
    static const unsigned char signed_rids[][16] = {
        { 0x81, 0xa3, 'r', 'i', 'd', 0xd0, 0x03 },
        { 0x81, 0xa3, 'r', 'i', 'd', 0xd1, 0x01, 0x00 },
        { 0x81, 0xa3, 'r', 'i', 'd', 0xd2, 0x00, 0x00, 0x01, 0x00 },
        { 0x81, 0xa3, 'r', 'i', 'd', 0xd3, 0, 0, 0, 0, 0, 0, 0x01, 0x00 },
        { 0x81, 0xa3, 'r', 'i', 'd', 0xd0, 0xfd },
    };
    static const size_t sizes[] = { 7, 8, 10, 14, 7 };
    static const uint64_t rids[] = { 3, 256, 256, 256, 0 };
    for (size_t k = 0; k < 5; k++) {
        ck_assert_int_eq(mt_codec_decode_request(signed_rids[k], sizes[k], sizes[k] - 1, &req, err,
                                                 sizeof err), MT_ETOOLARGE);
        ck_assert_int_eq(req.has_rid, k < 4);
        if (k < 4)
            ck_assert_uint_eq(req.rid, rids[k]);
    }

    /* max_size 0: the default 1 MiB */
    size_t big = MT_CODEC_MAX_BODY_DEFAULT + 1;
    unsigned char *body = calloc(1, big);
    ck_assert_int_eq(mt_codec_decode_request(body, big, 0, &req, err, sizeof err), MT_ETOOLARGE);
    /* a 1 MiB body that is a valid request, padded by an ignored string */
    size_t pad = MT_CODEC_MAX_BODY_DEFAULT - 64;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "op", 2);
    msgpack_pack_str_with_body(&pk, "replica.stats", 13);
    msgpack_pack_str_with_body(&pk, "pad", 3);
    msgpack_pack_str_with_body(&pk, body, pad);
    ck_assert_uint_le(buf.size, MT_CODEC_MAX_BODY_DEFAULT);
    ck_assert_int_eq(mt_codec_decode_request(buf.data, buf.size, 0, &req, err, sizeof err), MT_OK);
    msgpack_sbuffer_destroy(&buf);
    free(body);
}
END_TEST

static int decode_text(const char *text, mt_request_t *req, char *err)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack(text, &buf);
    int rc = mt_codec_decode_request(buf.data, buf.size, 0, req, err, 200);
    msgpack_sbuffer_destroy(&buf);
    if (rc == MT_OK)
        mt_msg_free(req->msg);
    return rc;
}

START_TEST(model_limits)
{
    char err[200];
    mt_request_t req;
    size_t cap = 64 * 1024;
    char *text = malloc(cap);
    char id[300];

    memset(id, 'a', 253);
    id[253] = '\0';
    snprintf(text, cap, "{'op':'node.get','id':'%s'}", id);
    ck_assert_int_eq(decode_text(text, &req, err), MT_OK);
    id[253] = 'a', id[254] = '\0';
    snprintf(text, cap, "{'op':'node.get','id':'%s'}", id);
    ck_assert_int_eq(decode_text(text, &req, err), MT_EBADREQ);
    ck_assert_str_eq(err, "id: must be 1-253 characters");

    /* 256 labels are fine, 257 are not */
    for (int n = 256; n <= 257; n++) {
        size_t len = (size_t) snprintf(text, cap, "{'op':'node.register','node':{'id':'n1','labels':{");
        for (int i = 0; i < n; i++)
            len += (size_t) snprintf(text + len, cap - len, "%s'k%d':'v'", i ? "," : "", i);
        snprintf(text + len, cap - len, "}}}");
        ck_assert_int_eq(decode_text(text, &req, err), n == 256 ? MT_OK : MT_EBADREQ);
    }
    ck_assert_str_eq(err, "labels: at most 256 entries");

    char s[1100];
    memset(s, 'x', 1025);
    s[1025] = '\0';
    snprintf(text, cap, "{'op':'node.register','node':{'id':'n1','host_ip':'%s'}}", s);
    ck_assert_int_eq(decode_text(text, &req, err), MT_EBADREQ);
    ck_assert_str_eq(err, "host_ip, instance_type: at most 1024 bytes");
    s[64] = '\0';
    snprintf(text, cap, "{'op':'node.labels','id':'n1','set':{'%s':'v'}}", s);
    ck_assert_int_eq(decode_text(text, &req, err), MT_EBADREQ);
    ck_assert_str_eq(err, "set: label 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                          "xxxx': the name is at most 63 characters");
    /*  A label key is at most 317 bytes (a 253-character prefix, '/', a
        63-character name), in remove too. */
    memset(s, 'x', 318);
    s[318] = '\0';
    snprintf(text, cap, "{'op':'node.labels','id':'n1','remove':['%s']}", s);
    ck_assert_int_eq(decode_text(text, &req, err), MT_EBADREQ);
    ck_assert_str_eq(err, "remove: label keys are 1-317 bytes");
    s[317] = '\0';
    snprintf(text, cap, "{'op':'node.labels','id':'n1','remove':['%s']}", s);
    ck_assert_int_eq(decode_text(text, &req, err), MT_OK);
    for (int i = 63; i < 253; i += 64)
        s[i] = '.';
    s[253] = '/';
    snprintf(text, cap, "{'op':'node.labels','id':'n1','set':{'%s':'v'}}", s);
    ck_assert_msg(decode_text(text, &req, err) == MT_OK, "%s", err);

    /* 4097 images */
    size_t len = (size_t) snprintf(text, cap, "{'op':'node.heartbeat','id':'n1','ready':true,'images':[");
    for (int i = 0; i < 4097; i++)
        len += (size_t) snprintf(text + len, cap - len, "%s'i'", i ? "," : "");
    snprintf(text + len, cap - len, "]}");
    ck_assert_int_eq(decode_text(text, &req, err), MT_EBADREQ);
    ck_assert_str_eq(err, "images, local_templates: at most 4096 items");
    free(text);
}
END_TEST

START_TEST(op_names)
{
    ck_assert_str_eq(mt_op_name(MT_OP_NODE_REGISTER), "node.register");
    ck_assert_str_eq(mt_op_name(MT_OP_NODE_LIST), "node.list");
    ck_assert_str_eq(mt_op_name(MT_OP_RC_LIST), "rc.list");
    ck_assert_str_eq(mt_op_name(MT_OP_REPLICA_STATS), "replica.stats");
    ck_assert_str_eq(mt_op_name((mt_op_t) 99), "unknown");
    /* every name decodes back to its op */
    for (int op = MT_OP_NODE_REGISTER; op <= MT_OP_REPLICA_STATS; op++) {
        char text[200];
        snprintf(text, sizeof text, "{'op':'%s','id':'n','ready':true,'node':{'id':'n'},"
                 "'name':'n','hostname':'tcp://h:1'}", mt_op_name((mt_op_t) op));
        mt_request_t req;
        char err[200];
        ck_assert_int_eq(decode_text(text, &req, err), MT_OK);
        ck_assert_int_eq(req.op, op);
    }
}
END_TEST

/*  A heartbeat with n images of len bytes, image i all of 'a' + i % 26. */
static void pack_heartbeat(msgpack_sbuffer *buf, unsigned n, size_t len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    pack_heartbeat_head(&pk, 4);
    msgpack_pack_str_with_body(&pk, "images", 6);
    msgpack_pack_array(&pk, n);
    char image[MT_STR_MAX];
    for (unsigned i = 0; i < n; i++) {
        memset(image, 'a' + (int) (i % 26), len);
        msgpack_pack_str_with_body(&pk, image, len);
    }
}

/*  Decodes a heartbeat of n images of len bytes and checks every byte. */
static void decode_images(unsigned n, size_t len)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pack_heartbeat(&buf, n, len);
    mt_request_t req;
    char err[256];
    ck_assert_int_eq(mt_codec_decode_request(buf.data, buf.size, 0, &req, err, sizeof err), MT_OK);
    const mt_node_status_t *st = mt_node_req(req.msg)->status;
    ck_assert_uint_eq(st->nimages, n);
    for (unsigned i = 0; i < n; i++) {
        ck_assert_uint_eq(strlen(st->images[i]), len);
        for (size_t k = 0; k < len; k++)
            ck_assert_int_eq(st->images[i][k], 'a' + (int) (i % 26));
    }
    mt_msg_free(req.msg);
    msgpack_sbuffer_destroy(&buf);
}

static void *decode_on_a_thread(void *arg)
{
    (void) arg;
    decode_images(64, MT_STR_MAX);      /* 64 KiB: past the zone's first chunk */
    mt_request_t req;
    char err[256];
    ck_assert_int_eq(mt_codec_decode_request("\x81", 1, 0, &req, err, sizeof err), MT_EBADREQ);
    decode_images(2, 3);                /* the zone emptied, reused */
    return NULL;
}

/*  Every thread decodes in a zone of its own, kept between bodies (emptied
    after each, large or failed) and freed when the thread ends: under
    AddressSanitizer a zone left behind by an ended thread is a leak. */
START_TEST(decoding_zones_are_per_thread_and_reused)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, decode_on_a_thread, NULL), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    decode_on_a_thread(NULL);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("codec_request");
    TCase *tc = tcase_create("request");
    tcase_add_loop_test(tc, table, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, register_content);
    tcase_add_test(tc, heartbeat_content);
    tcase_add_test(tc, labels_content);
    tcase_add_test(tc, list_content);
    tcase_add_test(tc, heartbeat_seen_at_ignored);
    tcase_add_test(tc, get_delete_content);
    tcase_add_test(tc, integer_widths);
    tcase_add_test(tc, uint64_edges);
    tcase_add_test(tc, too_large);
    tcase_add_test(tc, model_limits);
    tcase_add_test(tc, op_names);
    tcase_add_test(tc, decoding_zones_are_per_thread_and_reused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mt_check_run(make_suite());
}
