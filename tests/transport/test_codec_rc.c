/*  test_codec_rc.c — remote cluster references on the wire: every rc.*
    request and its errors, the MT_RC_REQ each builds, replies with the
    reference view (exactly PROTOCOL.md's keys), rc notices both ways, and
    the secrets (password, client_secret): given in a request, they reach
    the message for the store, and never any encoded reply or notice.
    Endpoint and key validation (mt_rc_endpoint_check, mt_key_check,
    mt_key_pair_check) have tables of their own. */
#include "mt_check.h"
#include "mt_key.h"
#include <check.h>
#include <stdlib.h>

#include "codec_testutil.h"
#include "mt_codec.h"

#include <zmq.h>

#define PASSWORD "pw-Sesam-\xc3\xb6\xc3\xb6-7f3a91"

/* ---- requests: a table ------------------------------------------------- */

typedef struct {
    const char *name;
    const char *json;
    int rc;
    const char *err;        /* the message, exactly (rc != MT_OK) */
    int op;                 /* expected op */
} rc_case_t;

#define OK(name, json, op) { name, json, MT_OK, NULL, op }
#define BAD(name, json, err, op) { name, json, MT_EBADREQ, err, op }

#define UUID "0d3c4a5e-1111-2222-3333-444455556666"
/*  Keypairs from zmq_curve_keypair (Z85 has no quote or backslash). */
#define SERVER_PUB "d+4zjhnQHKsYHMIHv0F1ndkDEHmgsRdU3oZIWA&^"
#define CLIENT_PUB "][1qAf.KfIcZBgFo1+Pvm=D#5x>85e-aN-62JOhS"
#define CLIENT_SEC "79%W(1s&2@yDU3^KrTKCa(z1pelsY]P/5o)Jfh4{"
#define OTHER_PUB ":(rw/VnL?j:9ZT<eIW.zs39auzBlvx[QDCh38]Tr"
#define KEYS "'client_public':'" CLIENT_PUB "','client_secret':'" CLIENT_SEC "'"
#define NOTHING_TO_CHANGE "rc.set: nothing to change (give hostname, username, password, " \
    "demand_encryption, server_key, client_public + client_secret or new_name)"
#define KEY_FORM ": must be a CURVE key (40 characters of Z85) or empty"
#define HOST "'hostname':'tcp://10.0.0.9:7400'"

static const rc_case_t cases[] = {
    /* rc.add */
    OK("add minimal", "{'op':'rc.add','name':'east'," HOST "}", MT_OP_RC_ADD),
    OK("add full", "{'op':'rc.add','name':'east'," HOST ",'username':'u','password':'p',"
       "'demand_encryption':true,'server_key':'" SERVER_PUB "'," KEYS ",'rid':5}", MT_OP_RC_ADD),
    OK("add keys empty", "{'op':'rc.add','name':'e'," HOST ",'server_key':'','client_public':'',"
       "'client_secret':''}", MT_OP_RC_ADD),
    OK("add server_key only", "{'op':'rc.add','name':'e'," HOST ",'server_key':'" SERVER_PUB "'}",
       MT_OP_RC_ADD),
    OK("add client keys without server_key", "{'op':'rc.add','name':'e'," HOST "," KEYS "}",
       MT_OP_RC_ADD),
    BAD("add demand_encryption without server_key", "{'op':'rc.add','name':'e'," HOST ","
        "'demand_encryption':true}", "demand_encryption: needs a server_key", MT_OP_RC_ADD),
    BAD("add demand_encryption with an empty server_key", "{'op':'rc.add','name':'e'," HOST ","
        "'demand_encryption':true,'server_key':''}", "demand_encryption: needs a server_key",
        MT_OP_RC_ADD),
    BAD("add server_key short", "{'op':'rc.add','name':'e'," HOST ",'server_key':'abc'}",
        "server_key" KEY_FORM, MT_OP_RC_ADD),
    BAD("add server_key 41", "{'op':'rc.add','name':'e'," HOST ",'server_key':'" SERVER_PUB "a'}",
        "server_key" KEY_FORM, MT_OP_RC_ADD),
    BAD("add server_key not Z85", "{'op':'rc.add','name':'e'," HOST ",'server_key':"
        "'d+4zjhnQHKsYHMIHv0F1ndkDEHmgsRdU3oZIWA~^'}", "server_key" KEY_FORM, MT_OP_RC_ADD),
    BAD("add server_key with a quote", "{'op':'rc.add','name':'e'," HOST ",'server_key':"
        "'d+4zjhnQHKsYHMIHv0F1ndkDEHmgsRdU3oZIWA\"^'}", "server_key" KEY_FORM, MT_OP_RC_ADD),
    BAD("add server_key integer", "{'op':'rc.add','name':'e'," HOST ",'server_key':5}",
        "server_key: expected a string", MT_OP_RC_ADD),
    BAD("add client_public alone", "{'op':'rc.add','name':'e'," HOST ",'client_public':'"
        CLIENT_PUB "'}", "client_secret: required with client_public", MT_OP_RC_ADD),
    BAD("add client_secret alone", "{'op':'rc.add','name':'e'," HOST ",'client_secret':'"
        CLIENT_SEC "'}", "client_public: required with client_secret", MT_OP_RC_ADD),
    BAD("add client_secret empty", "{'op':'rc.add','name':'e'," HOST ",'client_public':'"
        CLIENT_PUB "','client_secret':''}", "client_secret: required with client_public",
        MT_OP_RC_ADD),
    BAD("add keypair not matching", "{'op':'rc.add','name':'e'," HOST ",'client_public':'"
        OTHER_PUB "','client_secret':'" CLIENT_SEC "'}",
        "client_secret: does not belong to client_public", MT_OP_RC_ADD),
    BAD("add client_secret not Z85", "{'op':'rc.add','name':'e'," HOST ",'client_public':'"
        CLIENT_PUB "','client_secret':'" CLIENT_PUB "x'}", "client_secret" KEY_FORM, MT_OP_RC_ADD),
    BAD("add client_public not a key", "{'op':'rc.add','name':'e'," HOST ",'client_public':'"
        "x','client_secret':'" CLIENT_SEC "'}", "client_public" KEY_FORM, MT_OP_RC_ADD),
    BAD("add client_secret integer", "{'op':'rc.add','name':'e'," HOST ",'client_public':'"
        CLIENT_PUB "','client_secret':7}", "client_secret: expected a string", MT_OP_RC_ADD),
    OK("add ipc", "{'op':'rc.add','name':'east','hostname':'ipc:///tmp/x.sock'}", MT_OP_RC_ADD),
    OK("add empty username and password", "{'op':'rc.add','name':'e'," HOST ",'username':'',"
       "'password':''}", MT_OP_RC_ADD),
    OK("add utf-8 name", "{'op':'rc.add','name':'Z\\u00fcrich \\u6771\\u4eac'," HOST "}", MT_OP_RC_ADD),
    OK("add nil optionals", "{'op':'rc.add','name':'e'," HOST ",'username':null,'password':null,"
       "'demand_encryption':null}", MT_OP_RC_ADD),
    OK("add ignores id and uuid", "{'op':'rc.add','name':'e'," HOST ",'id':'a b','uuid':5}", MT_OP_RC_ADD),
    BAD("add without name", "{'op':'rc.add'," HOST "}", "name: required", MT_OP_RC_ADD),
    BAD("add name nil", "{'op':'rc.add','name':null," HOST "}", "name: required", MT_OP_RC_ADD),
    BAD("add without hostname", "{'op':'rc.add','name':'e'}", "hostname: required", MT_OP_RC_ADD),
    BAD("add name integer", "{'op':'rc.add','name':1," HOST "}", "name: expected a string", MT_OP_RC_ADD),
    BAD("add name empty", "{'op':'rc.add','name':''," HOST "}", "name: must be 1-255 bytes", MT_OP_RC_ADD),
    BAD("add name control", "{'op':'rc.add','name':'a\\nb'," HOST "}",
        "name: control characters are not allowed", MT_OP_RC_ADD),
    BAD("add name DEL", "{'op':'rc.add','name':'a\\x7f'," HOST "}",
        "name: control characters are not allowed", MT_OP_RC_ADD),
    BAD("add name NUL", "{'op':'rc.add','name':'a\\x00'," HOST "}",
        "name: must not contain NUL bytes", MT_OP_RC_ADD),
    BAD("add name not UTF-8", "{'op':'rc.add','name':'\\xff'," HOST "}",
        "name: not valid UTF-8", MT_OP_RC_ADD),
    BAD("add hostname integer", "{'op':'rc.add','name':'e','hostname':7400}",
        "hostname: expected a string", MT_OP_RC_ADD),
    BAD("add hostname http", "{'op':'rc.add','name':'e','hostname':'http://h:1'}",
        "hostname: must be a request endpoint (tcp://HOST:PORT or ipc://PATH)", MT_OP_RC_ADD),
    BAD("add hostname empty", "{'op':'rc.add','name':'e','hostname':''}",
        "hostname: must be a request endpoint (tcp://HOST:PORT or ipc://PATH)", MT_OP_RC_ADD),
    BAD("add hostname no port", "{'op':'rc.add','name':'e','hostname':'tcp://h'}",
        "hostname: tcp:// needs HOST:PORT", MT_OP_RC_ADD),
    BAD("add hostname with ';'", "{'op':'rc.add','name':'e','hostname':'tcp://10.0.0.1;h:1'}",
        "hostname: invalid host", MT_OP_RC_ADD),
    BAD("add hostname port leading 0", "{'op':'rc.add','name':'e','hostname':'tcp://h:07400'}",
        "hostname: port must be 1-65535", MT_OP_RC_ADD),
    BAD("add hostname wildcard", "{'op':'rc.add','name':'e','hostname':'tcp://*:7400'}",
        "hostname: invalid host", MT_OP_RC_ADD),
    BAD("add ipc path with a space", "{'op':'rc.add','name':'e','hostname':'ipc:///tmp/a b'}",
        "hostname: invalid ipc:// path", MT_OP_RC_ADD),
    BAD("add hostname port 0", "{'op':'rc.add','name':'e','hostname':'tcp://h:0'}",
        "hostname: port must be 1-65535", MT_OP_RC_ADD),
    BAD("add hostname space", "{'op':'rc.add','name':'e','hostname':'tcp://a b:1'}",
        "hostname: invalid host", MT_OP_RC_ADD),
    BAD("add username integer", "{'op':'rc.add','name':'e'," HOST ",'username':1}",
        "username: expected a string", MT_OP_RC_ADD),
    BAD("add password integer", "{'op':'rc.add','name':'e'," HOST ",'password':1234}",
        "password: expected a string", MT_OP_RC_ADD),
    BAD("add password not UTF-8", "{'op':'rc.add','name':'e'," HOST ",'password':'\\xc3'}",
        "password: not valid UTF-8", MT_OP_RC_ADD),
    BAD("add demand_encryption string", "{'op':'rc.add','name':'e'," HOST ",'demand_encryption':'yes'}",
        "demand_encryption: expected a boolean", MT_OP_RC_ADD),
    BAD("add demand_encryption integer", "{'op':'rc.add','name':'e'," HOST ",'demand_encryption':1}",
        "demand_encryption: expected a boolean", MT_OP_RC_ADD),

    /* rc.set */
    OK("set by name", "{'op':'rc.set','name':'east','hostname':'tcp://h:2'}", MT_OP_RC_SET),
    OK("set by id", "{'op':'rc.set','id':'" UUID "','username':'u2'}", MT_OP_RC_SET),
    OK("set password only", "{'op':'rc.set','name':'e','password':'x'}", MT_OP_RC_SET),
    OK("set demand_encryption false", "{'op':'rc.set','name':'e','demand_encryption':false}", MT_OP_RC_SET),
    OK("set rename", "{'op':'rc.set','name':'e','new_name':'west'}", MT_OP_RC_SET),
    OK("set everything", "{'op':'rc.set','name':'e','id':'" UUID "','hostname':'tcp://h:2',"
       "'username':'u','password':'p','demand_encryption':true,'new_name':'w','revision':9,"
       "'server_key':'" SERVER_PUB "'," KEYS "}", MT_OP_RC_SET),
    OK("set demand_encryption alone (the agent checks it)", "{'op':'rc.set','name':'e',"
       "'demand_encryption':true}", MT_OP_RC_SET),
    OK("set server_key only", "{'op':'rc.set','name':'e','server_key':'" SERVER_PUB "'}",
       MT_OP_RC_SET),
    OK("set server_key cleared", "{'op':'rc.set','name':'e','server_key':''}", MT_OP_RC_SET),
    OK("set client keys only", "{'op':'rc.set','name':'e'," KEYS "}", MT_OP_RC_SET),
    OK("set client keys cleared", "{'op':'rc.set','name':'e','client_public':'',"
       "'client_secret':''}", MT_OP_RC_SET),
    BAD("set client_secret alone", "{'op':'rc.set','name':'e','client_secret':'" CLIENT_SEC "'}",
        "client_public: required with client_secret", MT_OP_RC_SET),
    BAD("set server_key bad", "{'op':'rc.set','name':'e','server_key':'" CLIENT_PUB "!'}",
        "server_key" KEY_FORM, MT_OP_RC_SET),
    BAD("set without selector", "{'op':'rc.set','username':'u'}", "name: required (or id)", MT_OP_RC_SET),
    BAD("set by uuid only", "{'op':'rc.set','uuid':'" UUID "','username':'u'}",
        "name: required (or id)", MT_OP_RC_SET),
    BAD("set nothing to change", "{'op':'rc.set','name':'e'}",
        NOTHING_TO_CHANGE,
        MT_OP_RC_SET),
    BAD("set only a revision", "{'op':'rc.set','name':'e','revision':3}",
        NOTHING_TO_CHANGE,
        MT_OP_RC_SET),
    BAD("set id integer", "{'op':'rc.set','id':5,'username':'u'}", "id: expected a string", MT_OP_RC_SET),
    BAD("set id empty", "{'op':'rc.set','id':'','username':'u'}", "id: must be 1-36 characters",
        MT_OP_RC_SET),
    BAD("set id too long", "{'op':'rc.set','id':'" UUID "0','username':'u'}",
        "id: must be 1-36 characters", MT_OP_RC_SET),
    BAD("set id with a slash", "{'op':'rc.set','id':'a/b','username':'u'}",
        "id: only letters, digits and '-' are allowed", MT_OP_RC_SET),
    BAD("set bad name", "{'op':'rc.set','name':'','username':'u'}", "name: must be 1-255 bytes",
        MT_OP_RC_SET),
    BAD("set bad hostname", "{'op':'rc.set','name':'e','hostname':'h:1'}",
        "hostname: must be a request endpoint (tcp://HOST:PORT or ipc://PATH)", MT_OP_RC_SET),
    BAD("set new_name empty", "{'op':'rc.set','name':'e','new_name':''}",
        "new_name: must be 1-255 bytes", MT_OP_RC_SET),
    BAD("set new_name control", "{'op':'rc.set','name':'e','new_name':'a\\tb'}",
        "new_name: control characters are not allowed", MT_OP_RC_SET),
    BAD("set new_name integer", "{'op':'rc.set','name':'e','new_name':1}",
        "new_name: expected a string", MT_OP_RC_SET),
    BAD("set revision 0", "{'op':'rc.set','name':'e','username':'u','revision':0}",
        "revision: must be positive", MT_OP_RC_SET),
    BAD("set revision negative", "{'op':'rc.set','name':'e','username':'u','revision':-2}",
        "revision: must be positive", MT_OP_RC_SET),
    BAD("set revision string", "{'op':'rc.set','name':'e','username':'u','revision':'2'}",
        "revision: expected an integer", MT_OP_RC_SET),
    BAD("set revision overflow", "{'op':'rc.set','name':'e','username':'u',"
        "'revision':9223372036854775808}", "revision: integer out of range", MT_OP_RC_SET),
    BAD("set demand_encryption nil is absent", "{'op':'rc.set','name':'e','demand_encryption':null}",
        NOTHING_TO_CHANGE,
        MT_OP_RC_SET),

    /* rc.del */
    OK("del by name", "{'op':'rc.del','name':'east'}", MT_OP_RC_DEL),
    OK("del by id", "{'op':'rc.del','id':'" UUID "'}", MT_OP_RC_DEL),
    OK("del with a revision", "{'op':'rc.del','name':'east','revision':4}", MT_OP_RC_DEL),
    BAD("del without selector", "{'op':'rc.del'}", "name: required (or id)", MT_OP_RC_DEL),
    BAD("del by uuid", "{'op':'rc.del','uuid':'" UUID "'}", "name: required (or id)", MT_OP_RC_DEL),
    BAD("del name array", "{'op':'rc.del','name':['e']}", "name: expected a string", MT_OP_RC_DEL),
    BAD("del bad id", "{'op':'rc.del','id':'\\u00e9'}", "id: only letters, digits and '-' are allowed",
        MT_OP_RC_DEL),
    BAD("del revision 0", "{'op':'rc.del','name':'e','revision':0}", "revision: must be positive",
        MT_OP_RC_DEL),

    /* rc.get */
    OK("get by name", "{'op':'rc.get','name':'east'}", MT_OP_RC_GET),
    OK("get by id", "{'op':'rc.get','id':'" UUID "'}", MT_OP_RC_GET),
    OK("get by uuid", "{'op':'rc.get','uuid':'" UUID "'}", MT_OP_RC_GET),
    OK("get with refresh", "{'op':'rc.get','name':'east','refresh':true}", MT_OP_RC_GET),
    BAD("get without selector", "{'op':'rc.get','refresh':true}", "name: required (or id or uuid)",
        MT_OP_RC_GET),
    BAD("get uuid integer", "{'op':'rc.get','uuid':1}", "uuid: expected a string", MT_OP_RC_GET),
    BAD("get uuid too long", "{'op':'rc.get','uuid':'" UUID "-x'}", "uuid: must be 1-36 characters",
        MT_OP_RC_GET),
    BAD("get uuid with a space", "{'op':'rc.get','uuid':'a b'}",
        "uuid: only letters, digits and '-' are allowed", MT_OP_RC_GET),
    BAD("get refresh string", "{'op':'rc.get','name':'e','refresh':'yes'}",
        "refresh: expected a boolean", MT_OP_RC_GET),

    /* rc.list */
    OK("list", "{'op':'rc.list'}", MT_OP_RC_LIST),
    OK("list ignores arguments", "{'op':'rc.list','name':5,'limit':'x'}", MT_OP_RC_LIST),
};

START_TEST(table)
{
    const rc_case_t *c = &cases[_i];
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack(c->json, &buf);
    mt_request_t req;
    char err[200];
    int rc = mt_codec_decode_request(buf.data, buf.size, 0, &req, err, sizeof err);
    ck_assert_msg(rc == c->rc, "%s: rc %d (%s), expected %d", c->name, rc, err, c->rc);
    ck_assert_int_eq(req.op, c->op);
    if (rc == MT_OK) {
        ck_assert_str_eq(err, "");
        ck_assert_ptr_nonnull(req.msg);
        ck_assert_int_eq(req.msg->type, MT_RC_REQ);
        mt_msg_free(req.msg);
    } else {
        ck_assert_ptr_null(req.msg);
        ck_assert_msg(strcmp(err, c->err) == 0, "%s: message \"%s\", expected \"%s\"",
                      c->name, err, c->err);
    }
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

/* ---- requests: the messages built -------------------------------------- */

static mt_rc_req_t *decode_ok(const char *json, mt_msg_t **msg, mt_request_t *req)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack(json, &buf);
    char err[200];
    int rc = mt_codec_decode_request(buf.data, buf.size, 0, req, err, sizeof err);
    msgpack_sbuffer_destroy(&buf);
    ck_assert_msg(rc == MT_OK, "%s", err);
    ck_assert_ptr_nonnull(req->msg);
    ck_assert_int_eq(req->msg->type, MT_RC_REQ);
    *msg = req->msg;
    return mt_rc_req(req->msg);
}

START_TEST(add_content)
{
    mt_msg_t *msg;
    mt_request_t req;
    mt_rc_req_t *r = decode_ok("{'op':'rc.add','rid':77,'name':'east','hostname':'tcp://10.0.0.9:7400',"
                               "'username':'admin','password':'" PASSWORD "','demand_encryption':true,"
                               "'server_key':'" SERVER_PUB "'," KEYS ","
                               "'id':'ignored','new_name':'ignored','revision':3}", &msg, &req);
    ck_assert(req.has_rid);
    ck_assert_uint_eq(req.rid, 77);
    ck_assert_int_eq(r->op, MT_RC_OP_ADD);
    ck_assert_str_eq(r->name, "east");
    ck_assert_str_eq(r->hostname, "tcp://10.0.0.9:7400");
    ck_assert_str_eq(r->username, "admin");
    ck_assert_str_eq(r->password, PASSWORD);
    ck_assert(r->has_demand_encryption && r->demand_encryption);
    ck_assert_str_eq(r->server_key, SERVER_PUB);
    ck_assert_str_eq(r->client_public, CLIENT_PUB);
    ck_assert_str_eq(r->client_secret, CLIENT_SEC);
    ck_assert_str_eq(r->id, "");                    /* the service assigns it */
    ck_assert_str_eq(r->uuid, "");
    ck_assert_str_eq(r->new_name, "");
    ck_assert(!r->has_revision);
    ck_assert(!r->refresh);
    mt_msg_free(msg);

    r = decode_ok("{'op':'rc.add','name':'e','hostname':'ipc:///tmp/s'}", &msg, &req);
    ck_assert_str_eq(r->hostname, "ipc:///tmp/s");
    ck_assert_ptr_null(r->username);                /* not given */
    ck_assert_ptr_null(r->password);
    ck_assert(!r->has_demand_encryption);
    ck_assert_ptr_null(r->server_key);
    ck_assert_ptr_null(r->client_public);
    ck_assert_ptr_null(r->client_secret);
    mt_msg_free(msg);

    r = decode_ok("{'op':'rc.add','name':'e','hostname':'tcp://h:1','username':'','password':'',"
                  "'server_key':'','client_public':'','client_secret':''}", &msg, &req);
    ck_assert_str_eq(r->username, "");              /* given, empty */
    ck_assert_str_eq(r->password, "");
    ck_assert_str_eq(r->server_key, "");
    ck_assert_str_eq(r->client_public, "");
    ck_assert_str_eq(r->client_secret, "");
    mt_msg_free(msg);
}
END_TEST

START_TEST(set_content)
{
    mt_msg_t *msg;
    mt_request_t req;
    mt_rc_req_t *r = decode_ok("{'op':'rc.set','name':'east','hostname':'tcp://h:2',"
                               "'demand_encryption':false,'new_name':'west','revision':12}", &msg, &req);
    ck_assert_int_eq(r->op, MT_RC_OP_SET);
    ck_assert_str_eq(r->name, "east");
    ck_assert_str_eq(r->id, "");
    ck_assert_str_eq(r->hostname, "tcp://h:2");
    ck_assert_ptr_null(r->username);
    ck_assert_ptr_null(r->password);
    ck_assert(r->has_demand_encryption && !r->demand_encryption);
    ck_assert_str_eq(r->new_name, "west");
    ck_assert(r->has_revision);
    ck_assert_int_eq(r->revision, 12);
    ck_assert_ptr_null(r->server_key);
    ck_assert_ptr_null(r->client_public);
    mt_msg_free(msg);

    r = decode_ok("{'op':'rc.set','name':'east','server_key':''," KEYS "}", &msg, &req);
    ck_assert_str_eq(r->server_key, "");            /* cleared */
    ck_assert_str_eq(r->client_public, CLIENT_PUB);
    ck_assert_str_eq(r->client_secret, CLIENT_SEC);
    ck_assert_ptr_null(r->hostname);
    mt_msg_free(msg);

    r = decode_ok("{'op':'rc.set','id':'" UUID "','password':'" PASSWORD "','uuid':'" UUID "'}",
                  &msg, &req);
    ck_assert_str_eq(r->id, UUID);
    ck_assert_str_eq(r->name, "");
    ck_assert_str_eq(r->uuid, "");                  /* not a selector of rc.set */
    ck_assert_str_eq(r->password, PASSWORD);
    ck_assert_ptr_null(r->hostname);
    ck_assert(!r->has_demand_encryption);
    ck_assert(!r->has_revision);
    mt_msg_free(msg);
}
END_TEST

START_TEST(del_get_list_content)
{
    mt_msg_t *msg;
    mt_request_t req;
    mt_rc_req_t *r = decode_ok("{'op':'rc.del','name':'east'}", &msg, &req);
    ck_assert_int_eq(r->op, MT_RC_OP_DEL);
    ck_assert_str_eq(r->name, "east");
    ck_assert(!r->has_revision);
    mt_msg_free(msg);

    r = decode_ok("{'op':'rc.del','id':'" UUID "','revision':5}", &msg, &req);
    ck_assert_str_eq(r->id, UUID);
    ck_assert(r->has_revision);
    ck_assert_int_eq(r->revision, 5);
    mt_msg_free(msg);

    r = decode_ok("{'op':'rc.get','uuid':'" UUID "','refresh':true}", &msg, &req);
    ck_assert_int_eq(r->op, MT_RC_OP_GET);
    ck_assert_str_eq(r->uuid, UUID);
    ck_assert_str_eq(r->name, "");
    ck_assert_str_eq(r->id, "");
    ck_assert(r->refresh);
    mt_msg_free(msg);

    /* every selector given is copied; the registry picks id, name, uuid */
    r = decode_ok("{'op':'rc.get','name':'e','id':'abc','uuid':'def','refresh':false}", &msg, &req);
    ck_assert_str_eq(r->name, "e");
    ck_assert_str_eq(r->id, "abc");
    ck_assert_str_eq(r->uuid, "def");
    ck_assert(!r->refresh);
    mt_msg_free(msg);

    r = decode_ok("{'op':'rc.list'}", &msg, &req);
    ck_assert_int_eq(r->op, MT_RC_OP_LIST);
    mt_msg_free(msg);
}
END_TEST

static int decode_text(const char *text, char *err)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack(text, &buf);
    mt_request_t req;
    int rc = mt_codec_decode_request(buf.data, buf.size, 0, &req, err, 200);
    msgpack_sbuffer_destroy(&buf);
    mt_msg_free(req.msg);
    return rc;
}

START_TEST(limits)
{
    char err[200], text[4096], s[1100];
    /* name: 255 bytes fine, 256 not (also as new_name) */
    memset(s, 'n', 255);
    s[255] = '\0';
    snprintf(text, sizeof text, "{'op':'rc.add','name':'%s','hostname':'tcp://h:1'}", s);
    ck_assert_int_eq(decode_text(text, err), MT_OK);
    snprintf(text, sizeof text, "{'op':'rc.set','name':'e','new_name':'%s'}", s);
    ck_assert_int_eq(decode_text(text, err), MT_OK);
    s[255] = 'n', s[256] = '\0';
    snprintf(text, sizeof text, "{'op':'rc.add','name':'%s','hostname':'tcp://h:1'}", s);
    ck_assert_int_eq(decode_text(text, err), MT_EBADREQ);
    ck_assert_str_eq(err, "name: must be 1-255 bytes");
    snprintf(text, sizeof text, "{'op':'rc.set','name':'e','new_name':'%s'}", s);
    ck_assert_int_eq(decode_text(text, err), MT_EBADREQ);
    ck_assert_str_eq(err, "new_name: must be 1-255 bytes");
    snprintf(text, sizeof text, "{'op':'rc.get','name':'%s'}", s);
    ck_assert_int_eq(decode_text(text, err), MT_EBADREQ);

    /* username 255, password 1024 bytes */
    s[255] = '\0';
    snprintf(text, sizeof text, "{'op':'rc.set','name':'e','username':'%s'}", s);
    ck_assert_int_eq(decode_text(text, err), MT_OK);
    s[255] = 'u';
    snprintf(text, sizeof text, "{'op':'rc.set','name':'e','username':'%s'}", s);
    ck_assert_int_eq(decode_text(text, err), MT_EBADREQ);
    ck_assert_str_eq(err, "username: at most 255 bytes");
    memset(s, 'p', 1025);
    s[1024] = '\0';
    snprintf(text, sizeof text, "{'op':'rc.set','name':'e','password':'%s'}", s);
    ck_assert_int_eq(decode_text(text, err), MT_OK);
    s[1024] = 'p', s[1025] = '\0';
    snprintf(text, sizeof text, "{'op':'rc.set','name':'e','password':'%s'}", s);
    ck_assert_int_eq(decode_text(text, err), MT_EBADREQ);
    ck_assert_str_eq(err, "password: at most 1024 bytes");

    /* hostname: under 256 bytes */
    memset(s, 'h', 300);
    s[300] = '\0';
    memcpy(s, "tcp://", 6);
    memcpy(s + 240, ":7400", 6);
    ck_assert_uint_eq(strlen(s), 245);
    snprintf(text, sizeof text, "{'op':'rc.add','name':'e','hostname':'%s'}", s);
    ck_assert_int_eq(decode_text(text, err), MT_OK);
    memset(s + 240, 'h', 20);
    memcpy(s + 260, ":7400", 6);
    snprintf(text, sizeof text, "{'op':'rc.add','name':'e','hostname':'%s'}", s);
    ck_assert_int_eq(decode_text(text, err), MT_EBADREQ);
    ck_assert_str_eq(err, "hostname: must be a request endpoint (tcp://HOST:PORT or ipc://PATH)");

    /* the largest revision */
    ck_assert_int_eq(decode_text("{'op':'rc.set','name':'e','username':'u',"
                                 "'revision':9223372036854775807}", err), MT_OK);
    /* rid is still echoed with an rc error */
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack("{'op':'rc.add','rid':31,'name':''}", &buf);
    mt_request_t req;
    ck_assert_int_eq(mt_codec_decode_request(buf.data, buf.size, 0, &req, err, sizeof err), MT_EBADREQ);
    ck_assert(req.has_rid);
    ck_assert_uint_eq(req.rid, 31);
    ck_assert_ptr_null(req.msg);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

/* ---- fixtures ---------------------------------------------------------- */

static mt_rc_t *make_ref(const char *id, const char *name, const char *password, int64_t revision)
{
    const char *nodes[] = { "tcp://10.0.0.9:7400", "tcp://10.0.0.10:7400", "ipc:///tmp/r3" };
    mt_rc_t t = {
        .id = id, .name = name, .hostname = "tcp://10.0.0.9:7400", .uuid = UUID,
        .username = "admin", .password = password, .demand_encryption = true,
        .server_key = SERVER_PUB, .client_public = CLIENT_PUB, .client_secret = password ? CLIENT_SEC : NULL,
        .nnodes = 3, .node_list = nodes, .revision = revision, .refreshed_at = 1700000000123LL,
    };
    return mt_rc_build(&t);
}

static const msgpack_object *key(const msgpack_object *map, const char *k, msgpack_object_type type)
{
    const msgpack_object *o = mp_get(map, k);
    ck_assert_msg(o, "key %s missing", k);
    ck_assert_msg(o->type == type, "key %s: type %d, expected %d", k, o->type, type);
    return o;
}

/*  The view has exactly the keys of PROTOCOL.md's table, with their types,
    and the values of ref. */
static void check_view(const msgpack_object *v, const mt_rc_t *ref)
{
    static const char *const keys[] = {
        "id", "name", "hostname", "uuid", "username", "demand_encryption", "server_key",
        "client_public", "node_list", "revision", "refreshed_at",
    };
    ck_assert_int_eq(v->type, MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(v->via.map.size, sizeof keys / sizeof keys[0]);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(mp_get(v, keys[i]), "key %s missing", keys[i]);
    ck_assert_ptr_null(mp_get(v, "password"));
    ck_assert_ptr_null(mp_get(v, "client_secret"));
    ck_assert(mp_str_is(key(v, "server_key", MSGPACK_OBJECT_STR),
                        ref->server_key ? ref->server_key : ""));
    ck_assert(mp_str_is(key(v, "client_public", MSGPACK_OBJECT_STR),
                        ref->client_public ? ref->client_public : ""));
    ck_assert(mp_str_is(key(v, "id", MSGPACK_OBJECT_STR), ref->id));
    ck_assert(mp_str_is(key(v, "name", MSGPACK_OBJECT_STR), ref->name));
    ck_assert(mp_str_is(key(v, "hostname", MSGPACK_OBJECT_STR), ref->hostname));
    ck_assert(mp_str_is(key(v, "uuid", MSGPACK_OBJECT_STR), ref->uuid));
    ck_assert(mp_str_is(key(v, "username", MSGPACK_OBJECT_STR), ref->username));
    ck_assert_int_eq(key(v, "demand_encryption", MSGPACK_OBJECT_BOOLEAN)->via.boolean,
                     ref->demand_encryption);
    const msgpack_object *nl = key(v, "node_list", MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(nl->via.array.size, ref->nnodes);
    for (uint32_t i = 0; i < ref->nnodes; i++)
        ck_assert(mp_str_is(&nl->via.array.ptr[i], ref->node_list[i]));
    ck_assert_uint_eq(key(v, "revision", MSGPACK_OBJECT_POSITIVE_INTEGER)->via.u64,
                      (uint64_t) ref->revision);
    const msgpack_object *at = mp_get(v, "refreshed_at");
    ck_assert(at && at->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    ck_assert_uint_eq(at->via.u64, (uint64_t) ref->refreshed_at);
}

/*  Unpacks a reply, checks the envelope; returns result or error. */
static const msgpack_object *envelope(msgpack_unpacked *u, const msgpack_sbuffer *buf, bool ok,
                                      bool has_rid, uint64_t rid)
{
    char err[200];
    ck_assert_msg(mt_codec_check(buf->data, buf->size, err, sizeof err) == MT_OK, "%s", err);
    msgpack_unpacked_init(u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(u, buf->data, buf->size, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, buf->size);
    const msgpack_object *b = &u->data;
    ck_assert_int_eq(b->type, MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(b->via.map.size, has_rid ? 3 : 2);
    ck_assert_int_eq(key(b, "ok", MSGPACK_OBJECT_BOOLEAN)->via.boolean, ok);
    if (has_rid)
        ck_assert_uint_eq(key(b, "rid", MSGPACK_OBJECT_POSITIVE_INTEGER)->via.u64, rid);
    return key(b, ok ? "result" : "error", MSGPACK_OBJECT_MAP);
}

/* ---- replies ----------------------------------------------------------- */

START_TEST(reply_single)
{
    static const mt_op_t ops[] = { MT_OP_RC_ADD, MT_OP_RC_SET, MT_OP_RC_GET };
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_rc_t *ref = make_ref(UUID, "east", NULL, 17);
    for (size_t i = 0; i < 3; i++) {
        mt_msg_t *m = mt_rc_reply_new(MT_OK, NULL);
        mt_rc_reply(m)->ref = mt_rc_ref(ref);
        mt_codec_encode_rc_reply(&buf, i != 1, 900 + i, ops[i], mt_rc_reply(m));
        mt_msg_free(m);
        msgpack_unpacked u;
        const msgpack_object *res = envelope(&u, &buf, true, i != 1, 900 + i);
        ck_assert_uint_eq(res->via.map.size, 1);
        check_view(key(res, "ref", MSGPACK_OBJECT_MAP), ref);
        msgpack_unpacked_destroy(&u);
    }
    /* node_list sorted by the block; defaults of a bare reference */
    ck_assert_str_eq(ref->node_list[0], "ipc:///tmp/r3");
    mt_rc_unref(&ref);
    mt_rc_t bare = { .id = "x" };
    mt_rc_reply_t r = { .err = MT_OK, .ref = &bare };
    mt_codec_encode_rc_reply(&buf, false, 0, MT_OP_RC_GET, &r);
    msgpack_unpacked u;
    const msgpack_object *v = key(envelope(&u, &buf, true, false, 0), "ref", MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(v->via.map.size, 11);
    ck_assert(mp_str_is(mp_get(v, "name"), ""));
    ck_assert(mp_str_is(mp_get(v, "server_key"), ""));
    ck_assert(mp_str_is(mp_get(v, "client_public"), ""));
    ck_assert(mp_str_is(mp_get(v, "username"), ""));
    ck_assert_uint_eq(key(v, "node_list", MSGPACK_OBJECT_ARRAY)->via.array.size, 0);
    ck_assert_uint_eq(key(v, "refreshed_at", MSGPACK_OBJECT_POSITIVE_INTEGER)->via.u64, 0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

START_TEST(reply_del_list_errors)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_unpacked u;

    mt_msg_t *m = mt_rc_reply_new(MT_OK, NULL);
    mt_codec_encode_rc_reply(&buf, true, 1, MT_OP_RC_DEL, mt_rc_reply(m));
    mt_msg_free(m);
    ck_assert_uint_eq(envelope(&u, &buf, true, true, 1)->via.map.size, 0);
    msgpack_unpacked_destroy(&u);

    /* list: every view, in the given order */
    m = mt_rc_reply_new(MT_OK, NULL);
    mt_rc_reply_t *r = mt_rc_reply(m);
    r->nrefs = 3;
    r->refs = calloc(3, sizeof *r->refs);
    r->refs[0] = make_ref("id-a", "a", NULL, 3);
    r->refs[1] = make_ref("id-b", "b", NULL, 4);
    r->refs[2] = make_ref("id-c", "c", NULL, 5);
    mt_codec_encode_rc_reply(&buf, false, 0, MT_OP_RC_LIST, r);
    const msgpack_object *res = envelope(&u, &buf, true, false, 0);
    ck_assert_uint_eq(res->via.map.size, 1);
    const msgpack_object *refs = key(res, "refs", MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(refs->via.array.size, 3);
    for (uint32_t i = 0; i < 3; i++)
        check_view(&refs->via.array.ptr[i], r->refs[i]);
    msgpack_unpacked_destroy(&u);
    mt_msg_free(m);

    /* an empty list */
    mt_rc_reply_t empty = { .err = MT_OK };
    mt_codec_encode_rc_reply(&buf, false, 0, MT_OP_RC_LIST, &empty);
    ck_assert_uint_eq(key(envelope(&u, &buf, true, false, 0), "refs",
                          MSGPACK_OBJECT_ARRAY)->via.array.size, 0);
    msgpack_unpacked_destroy(&u);

    /* errors */
    static const struct { int err; const char *code; } errs[] = {
        { MT_EBADREQ, "bad_request" }, { MT_ENOTFOUND, "not_found" }, { MT_ECONFLICT, "conflict" },
        { MT_EUNAVAIL, "unavailable" }, { MT_EINTERNAL, "internal" },
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        m = mt_rc_reply_new(errs[i].err, "reference east: something");
        mt_rc_reply(m)->ref = make_ref("x", "east", NULL, 1);   /* ignored */
        mt_codec_encode_rc_reply(&buf, true, 8, MT_OP_RC_ADD, mt_rc_reply(m));
        mt_msg_free(m);
        const msgpack_object *e = envelope(&u, &buf, false, true, 8);
        ck_assert(mp_str_is(key(e, "code", MSGPACK_OBJECT_STR), errs[i].code));
        ck_assert(mp_str_is(key(e, "message", MSGPACK_OBJECT_STR), "reference east: something"));
        msgpack_unpacked_destroy(&u);
    }

    /* a reply without its reference, a reply for another op: internal */
    mt_rc_reply_t noref = { .err = MT_OK };
    mt_codec_encode_rc_reply(&buf, false, 0, MT_OP_RC_SET, &noref);
    ck_assert(mp_str_is(key(envelope(&u, &buf, false, false, 0), "code", MSGPACK_OBJECT_STR),
                        "internal"));
    msgpack_unpacked_destroy(&u);
    mt_codec_encode_rc_reply(&buf, false, 0, MT_OP_NODE_GET, &noref);
    ck_assert(mp_str_is(key(envelope(&u, &buf, false, false, 0), "code", MSGPACK_OBJECT_STR),
                        "internal"));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

/* ---- notices ----------------------------------------------------------- */

static mt_rc_merge_t *notice_round_trip(mt_node_change_t change, int64_t revision, mt_rc_t *ref,
                                        mt_notice_t *out)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_msg_t *changed = mt_rc_changed_new(change, true, revision, ref);
    mt_codec_encode_rc_notice(&buf, "replica-1", 42, mt_msg_data(changed));
    mt_msg_free(changed);
    char err[200];
    int rc = mt_codec_decode_notice(buf.data, buf.size, out, err, sizeof err);
    ck_assert_msg(rc == MT_OK, "%s", err);
    msgpack_sbuffer_destroy(&buf);
    ck_assert_str_eq(out->replica, "replica-1");
    ck_assert_uint_eq(out->seq, 42);
    ck_assert(!out->node);
    ck_assert_int_eq(out->change, change);
    ck_assert_int_eq(out->revision, revision);
    ck_assert_ptr_null(out->merge);
    ck_assert_ptr_nonnull(out->rc_merge);
    ck_assert_int_eq(out->rc_merge->type, MT_RC_MERGE);
    return mt_msg_data(out->rc_merge);
}

static void assert_ref_equal(const mt_rc_t *a, const mt_rc_t *b)
{
    ck_assert_str_eq(a->id, b->id);
    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(a->hostname, b->hostname);
    ck_assert_str_eq(a->uuid, b->uuid);
    ck_assert_str_eq(a->username, b->username);
    ck_assert_int_eq(a->demand_encryption, b->demand_encryption);
    ck_assert_str_eq(a->server_key, b->server_key);
    ck_assert_str_eq(a->client_public, b->client_public);
    ck_assert_uint_eq(a->nnodes, b->nnodes);
    for (uint32_t i = 0; i < a->nnodes; i++)
        ck_assert_str_eq(a->node_list[i], b->node_list[i]);
    ck_assert_int_eq(a->refreshed_at, b->refreshed_at);
}

START_TEST(notice_upsert_delete)
{
    mt_notice_t n;
    mt_rc_t *ref = make_ref(UUID, "east", NULL, 21);
    mt_rc_merge_t *m = notice_round_trip(MT_NODE_UPSERT, 21, mt_rc_ref(ref), &n);
    assert_ref_equal(m->ref, ref);
    ck_assert(!m->ref->deleted);
    ck_assert_int_eq(m->ref->revision, 21);
    ck_assert_ptr_null(m->ref->password);
    ck_assert_ptr_null(m->ref->client_secret);
    mt_msg_free(n.rc_merge);

    /* a delete: the tombstone has the delete's revision, the last state */
    m = notice_round_trip(MT_NODE_DELETED, 30, mt_rc_ref(ref), &n);
    assert_ref_equal(m->ref, ref);
    ck_assert(m->ref->deleted);
    ck_assert_int_eq(m->ref->revision, 30);
    mt_msg_free(n.rc_merge);
    mt_rc_unref(&ref);

    /* the body: PROTOCOL.md's seven keys, the view's nine */
    ref = make_ref("id-1", "west", NULL, 4);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_msg_t *changed = mt_rc_changed_new(MT_NODE_UPSERT, true, 4, ref);
    mt_codec_encode_rc_notice(&buf, "r1", 7, mt_msg_data(changed));
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, buf.data, buf.size, &off), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *b = &u.data;
    ck_assert_uint_eq(b->via.map.size, 7);
    ck_assert(mp_str_is(mp_get(b, "replica"), "r1"));
    ck_assert_uint_eq(key(b, "seq", MSGPACK_OBJECT_POSITIVE_INTEGER)->via.u64, 7);
    ck_assert(mp_str_is(mp_get(b, "kind"), "rc"));
    ck_assert(mp_str_is(mp_get(b, "change"), "upsert"));
    ck_assert(mp_str_is(mp_get(b, "id"), "id-1"));
    ck_assert_uint_eq(key(b, "revision", MSGPACK_OBJECT_POSITIVE_INTEGER)->via.u64, 4);
    check_view(key(b, "view", MSGPACK_OBJECT_MAP), ref);
    msgpack_unpacked_destroy(&u);
    mt_msg_free(changed);
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

typedef struct {
    const char *name;
    const char *json;
    int rc;
    const char *err;
} notice_case_t;

#define RC_HEAD "'replica':'r1','seq':3,'kind':'rc'"
#define VIEW_OK "'name':'east','hostname':'tcp://h:1'"

static const notice_case_t notice_cases[] = {
    { "upsert minimal", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,'view':{" VIEW_OK "}}",
      MT_OK, NULL },
    { "delete without a view", "{" RC_HEAD ",'change':'delete','id':'a','revision':4}", MT_OK, NULL },
    { "delete with an empty view", "{" RC_HEAD ",'change':'delete','id':'a','revision':4,'view':{}}",
      MT_OK, NULL },
    { "delete with the id only", "{" RC_HEAD ",'change':'delete','id':'a','revision':4,"
      "'view':{'id':'a'}}", MT_OK, NULL },
    { "password in a view is ignored", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,"
      "'view':{" VIEW_OK ",'password':'" PASSWORD "'}}", MT_OK, NULL },
    { "client_secret in a view is ignored", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,"
      "'view':{" VIEW_OK ",'server_key':'" SERVER_PUB "'," KEYS "}}", MT_OK, NULL },
    { "server_key not a key", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,'view':{"
      VIEW_OK ",'server_key':'abc'}}", MT_EBADREQ, "server_key" KEY_FORM },
    { "client_public not a key", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,'view':{"
      VIEW_OK ",'client_public':'" CLIENT_PUB "x'}}", MT_EBADREQ, "client_public" KEY_FORM },
    { "node_list item with ';'", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,"
      "'view':{" VIEW_OK ",'node_list':['tcp://h;x:1']}}", MT_EBADREQ,
      "node_list: items must be request endpoints (tcp://HOST:PORT or ipc://PATH)" },
    { "upsert without a view", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4}", MT_EBADREQ,
      "view: required" },
    { "view not a map", "{" RC_HEAD ",'change':'delete','id':'a','revision':4,'view':'x'}", MT_EBADREQ,
      "view: expected a map" },
    { "no id", "{" RC_HEAD ",'change':'delete','revision':4}", MT_EBADREQ, "id: required" },
    { "bad id", "{" RC_HEAD ",'change':'delete','id':'a b','revision':4}", MT_EBADREQ,
      "id: only letters, digits and '-' are allowed" },
    { "view of another reference", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,"
      "'view':{'id':'b'," VIEW_OK "}}", MT_EBADREQ, "view.id: differs from id" },
    { "upsert without a name", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,"
      "'view':{'hostname':'tcp://h:1'}}", MT_EBADREQ, "name: must be 1-255 bytes" },
    { "upsert without a hostname", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,"
      "'view':{'name':'e'}}", MT_EBADREQ,
      "hostname: must be a request endpoint (tcp://HOST:PORT or ipc://PATH)" },
    { "delete with a bad name", "{" RC_HEAD ",'change':'delete','id':'a','revision':4,"
      "'view':{'name':'a\\nb'}}", MT_EBADREQ, "name: control characters are not allowed" },
    { "bad uuid", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,'view':{" VIEW_OK
      ",'uuid':'u u'}}", MT_EBADREQ, "uuid: only letters, digits and '-' are allowed" },
    { "username integer", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,'view':{" VIEW_OK
      ",'username':1}}", MT_EBADREQ, "username: expected a string" },
    { "demand_encryption integer", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,'view':{"
      VIEW_OK ",'demand_encryption':0}}", MT_EBADREQ, "demand_encryption: expected a boolean" },
    { "node_list a string", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,'view':{" VIEW_OK
      ",'node_list':'tcp://h:1'}}", MT_EBADREQ, "node_list: expected an array" },
    { "node_list item not an endpoint", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,"
      "'view':{" VIEW_OK ",'node_list':['tcp://h:1','h:2']}}", MT_EBADREQ,
      "node_list: items must be request endpoints (tcp://HOST:PORT or ipc://PATH)" },
    { "node_list item integer", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,"
      "'view':{" VIEW_OK ",'node_list':[1]}}", MT_EBADREQ, "node_list: items must be strings" },
    { "view revision negative", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,'view':{"
      VIEW_OK ",'revision':-1}}", MT_EBADREQ, "revision: must not be negative" },
    { "refreshed_at negative", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,'view':{"
      VIEW_OK ",'refreshed_at':-1}}", MT_EBADREQ, "refreshed_at: must not be negative" },
    { "refreshed_at string", "{" RC_HEAD ",'change':'upsert','id':'a','revision':4,'view':{"
      VIEW_OK ",'refreshed_at':'now'}}", MT_EBADREQ, "refreshed_at: expected an integer" },
};

START_TEST(notice_table)
{
    const notice_case_t *c = &notice_cases[_i];
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    tj_pack(c->json, &buf);
    mt_notice_t n;
    char err[200];
    int rc = mt_codec_decode_notice(buf.data, buf.size, &n, err, sizeof err);
    ck_assert_msg(rc == c->rc, "%s: rc %d (%s)", c->name, rc, err);
    ck_assert_ptr_null(n.merge);
    if (rc == MT_OK) {
        ck_assert(!n.node);
        ck_assert_ptr_nonnull(n.rc_merge);
        mt_rc_merge_t *m = mt_msg_data(n.rc_merge);
        ck_assert_str_eq(m->ref->id, "a");
        ck_assert_int_eq(m->ref->deleted, n.change == MT_NODE_DELETED);
        ck_assert_int_eq(m->ref->revision, 4);
        ck_assert_ptr_null(m->ref->password);
        ck_assert_ptr_null(m->ref->client_secret);
        mt_msg_free(n.rc_merge);
    } else {
        ck_assert_ptr_null(n.rc_merge);
        ck_assert_msg(strcmp(err, c->err) == 0, "%s: \"%s\", expected \"%s\"", c->name, err, c->err);
    }
    msgpack_sbuffer_destroy(&buf);
}
END_TEST

START_TEST(notice_node_list_limit)
{
    size_t cap = 64 * 1024;
    char *text = malloc(cap);
    for (int n = MT_RC_NODES_MAX; n <= MT_RC_NODES_MAX + 1; n++) {
        size_t len = (size_t) snprintf(text, cap, "{" RC_HEAD ",'change':'upsert','id':'a',"
                                       "'revision':4,'view':{" VIEW_OK ",'node_list':[");
        for (int i = 0; i < n; i++)
            len += (size_t) snprintf(text + len, cap - len, "%s'tcp://h:%d'", i ? "," : "", i + 1);
        snprintf(text + len, cap - len, "]}}");
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        tj_pack(text, &buf);
        mt_notice_t no;
        char err[200];
        int rc = mt_codec_decode_notice(buf.data, buf.size, &no, err, sizeof err);
        if (n == MT_RC_NODES_MAX) {
            ck_assert_msg(rc == MT_OK, "%s", err);
            ck_assert_uint_eq(((mt_rc_merge_t *) mt_msg_data(no.rc_merge))->ref->nnodes, n);
            mt_msg_free(no.rc_merge);
        } else {
            ck_assert_int_eq(rc, MT_EBADREQ);
            ck_assert_str_eq(err, "node_list: at most 256 items");
        }
        msgpack_sbuffer_destroy(&buf);
    }
    free(text);
}
END_TEST

/* ---- the password is never encoded ------------------------------------- */

static bool contains(const msgpack_sbuffer *buf, const char *needle)
{
    return memmem(buf->data, buf->size, needle, strlen(needle)) != NULL;
}

START_TEST(password_never_encoded)
{
    /* a password given to rc.add and rc.set reaches the request message... */
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    tj_pack("{'op':'rc.add','name':'east','hostname':'tcp://10.0.0.9:7400','username':'admin',"
            "'password':'" PASSWORD "'," KEYS "}", &body);
    ck_assert(contains(&body, PASSWORD));
    ck_assert(contains(&body, CLIENT_SEC));
    mt_request_t add;
    char err[200];
    ck_assert_int_eq(mt_codec_decode_request(body.data, body.size, 0, &add, err, sizeof err), MT_OK);
    tj_pack("{'op':'rc.set','name':'east','password':'" PASSWORD "'}", &body);
    mt_request_t set;
    ck_assert_int_eq(mt_codec_decode_request(body.data, body.size, 0, &set, err, sizeof err), MT_OK);
    mt_rc_req_t *a = mt_rc_req(add.msg);
    ck_assert_str_eq(a->password, PASSWORD);
    ck_assert_str_eq(a->client_secret, CLIENT_SEC);
    ck_assert_str_eq(mt_rc_req(set.msg)->password, PASSWORD);

    /* ...and the reference built for the store carries it, as a registry
       would hold it on the way there: still no reply or notice shows it */
    const char *nodes[] = { "tcp://10.0.0.9:7400" };
    mt_rc_t t = {
        .id = UUID, .name = a->name, .hostname = a->hostname, .uuid = UUID,
        .username = a->username, .password = a->password, .nnodes = 1, .node_list = nodes,
        .revision = 3, .server_key = SERVER_PUB, .client_public = a->client_public,
        .client_secret = a->client_secret,
    };
    mt_rc_t *with = mt_rc_build(&t);
    ck_assert_str_eq(with->password, PASSWORD);
    ck_assert_str_eq(with->client_secret, CLIENT_SEC);
    mt_rc_t *without = mt_rc_without_password(with);
    ck_assert_ptr_null(without->password);
    ck_assert_ptr_null(without->client_secret);
    ck_assert_str_eq(without->client_public, CLIENT_PUB);

    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    mt_rc_t *refs[] = { with, without };
    static const mt_op_t ops[] = { MT_OP_RC_ADD, MT_OP_RC_SET, MT_OP_RC_GET, MT_OP_RC_DEL,
                                   MT_OP_RC_LIST };
    int encoded = 0;
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            mt_msg_t *m = mt_rc_reply_new(MT_OK, NULL);
            mt_rc_reply_t *r = mt_rc_reply(m);
            r->ref = mt_rc_ref(refs[k]);
            r->nrefs = 2;
            r->refs = calloc(2, sizeof *r->refs);
            r->refs[0] = mt_rc_ref(with);
            r->refs[1] = mt_rc_ref(without);
            mt_codec_encode_rc_reply(&buf, true, 1, ops[i], r);
            ck_assert_uint_gt(buf.size, 0);
            ck_assert_msg(!contains(&buf, PASSWORD), "%s reply carries the password",
                          mt_op_name(ops[i]));
            ck_assert_msg(!contains(&buf, CLIENT_SEC), "%s reply carries the client secret",
                          mt_op_name(ops[i]));
            ck_assert(!contains(&buf, "password"));
            ck_assert(!contains(&buf, "client_secret"));
            encoded++;
            mt_msg_free(m);
        }
        for (int change = MT_NODE_UPSERT; change <= MT_NODE_DELETED; change++) {
            mt_msg_t *c = mt_rc_changed_new((mt_node_change_t) change, true, 3, mt_rc_ref(refs[k]));
            mt_codec_encode_rc_notice(&buf, "r1", 1, mt_msg_data(c));
            mt_msg_free(c);
            ck_assert_msg(!contains(&buf, PASSWORD), "notice carries the password");
            ck_assert_msg(!contains(&buf, CLIENT_SEC), "notice carries the client secret");
            ck_assert(!contains(&buf, "password"));
            ck_assert(!contains(&buf, "client_secret"));
            /* nor the merge a peer builds from it */
            mt_notice_t n;
            ck_assert_int_eq(mt_codec_decode_notice(buf.data, buf.size, &n, err, sizeof err), MT_OK);
            ck_assert_ptr_null(((mt_rc_merge_t *) mt_msg_data(n.rc_merge))->ref->password);
            ck_assert_ptr_null(((mt_rc_merge_t *) mt_msg_data(n.rc_merge))->ref->client_secret);
            mt_msg_free(n.rc_merge);
            encoded++;
        }
    }
    ck_assert_int_eq(encoded, 14);
    /* an error reply quoting nothing of it either (the codec's own errors
       name the field, never its value) */
    tj_pack("{'op':'rc.add','name':'','hostname':'tcp://h:1','password':'" PASSWORD "'}", &body);
    mt_request_t bad;
    ck_assert_int_eq(mt_codec_decode_request(body.data, body.size, 0, &bad, err, sizeof err),
                     MT_EBADREQ);
    ck_assert_ptr_null(strstr(err, PASSWORD));
    mt_codec_encode_error(&buf, false, 0, MT_EBADREQ, err);
    ck_assert(!contains(&buf, PASSWORD));
    /* a keypair refused: the message names fields, not keys */
    tj_pack("{'op':'rc.add','name':'e','hostname':'tcp://h:1','client_public':'" OTHER_PUB "',"
            "'client_secret':'" CLIENT_SEC "'}", &body);
    ck_assert_int_eq(mt_codec_decode_request(body.data, body.size, 0, &bad, err, sizeof err),
                     MT_EBADREQ);
    ck_assert_ptr_null(strstr(err, CLIENT_SEC));
    ck_assert_ptr_null(strstr(err, OTHER_PUB));
    char big[1100];
    memset(big, 'p', 1025);
    big[1025] = '\0';
    char text[1400];
    snprintf(text, sizeof text, "{'op':'rc.set','name':'e','password':'%s'}", big);
    tj_pack(text, &body);
    ck_assert_int_eq(mt_codec_decode_request(body.data, body.size, 0, &bad, err, sizeof err),
                     MT_EBADREQ);
    ck_assert_str_eq(err, "password: at most 1024 bytes");
    msgpack_sbuffer_destroy(&body);

    msgpack_sbuffer_destroy(&buf);
    mt_rc_unref(&with);
    mt_rc_unref(&without);
    mt_msg_free(add.msg);
    mt_msg_free(set.msg);
}
END_TEST

/* ---- endpoints and keys --------------------------------------------------- */

typedef struct {
    const char *ep;
    bool ok;            /* mt_rc_endpoint_check */
} ep_case_t;

static const ep_case_t ep_cases[] = {
    { "tcp://127.0.0.1:7400", true },
    { "tcp://remote-b.example.com:1", true },
    { "tcp://under_score.local:65535", true },
    { "tcp://[::1]:7400", true },
    { "tcp://[fe80::1%eth0]:7400", false },     /* zone ids: not in our rule */
    { "tcp://[::1]", false },
    { "tcp://[::1:7400", false },
    { "ipc:///run/metactor/a.sock", true },
    { "ipc://@abstract", true },
    { "tcp://h:0", false },
    { "tcp://h:65536", false },
    { "tcp://h:0080", false },
    { "tcp://h:+80", false },
    { "tcp://h:-1", false },
    { "tcp://h:80 ", false },
    { "tcp://h:", false },
    { "tcp://:80", false },
    { "tcp://*:80", false },
    { "tcp://eth0;10.0.0.1:80", false },
    { "tcp://10.0.0.1:80;tcp://evil:1", false },
    { "tcp://a b:80", false },
    { "tcp://a\tb:80", false },
    { "tcp://h\x01:80", false },
    { "tcp://h\xc3\xa9:80", false },
    { "tcp://a/b:80", false },
    { "TCP://h:80", false },
    { "udp://h:80", false },
    { "inproc://x", false },
    { "pgm://h:80", false },
    { "ipc://", false },
    { "ipc://a;b", false },
    { "ipc://a b", false },
    { "ipc://\xff", false },
    { "", false },
};

START_TEST(endpoint_rules)
{
    const ep_case_t *c = &ep_cases[_i];
    const char *ep = c->ep;
    char err[200];
    int rc = mt_rc_endpoint_check(ep, err, sizeof err);
    ck_assert_msg((rc == MT_OK) == c->ok, "%s: %s", c->ep, rc == MT_OK ? "accepted" : err);
    if (rc != MT_OK && strlen(ep) > 8)
        ck_assert_ptr_null(strstr(err, ep));        /* never echoed */
    bool ipc = strncmp(ep, "ipc://", 6) == 0;
    ck_assert_int_eq(mt_rc_endpoint_allowed(ep, true), c->ok);
    ck_assert_int_eq(mt_rc_endpoint_allowed(ep, false), c->ok && !ipc);
}
END_TEST

START_TEST(endpoint_lengths)
{
    char ep[400], err[200];
    /*  255 bytes in all, not 256 (which bounds a name before its 253) */
    snprintf(ep, sizeof ep, "tcp://%0247d:1", 0);
    ck_assert_int_eq(mt_rc_endpoint_check(ep, err, sizeof err), MT_OK);
    snprintf(ep, sizeof ep, "tcp://%0248d:1", 0);
    ck_assert_int_eq(mt_rc_endpoint_check(ep, err, sizeof err), MT_EBADREQ);
    snprintf(ep, sizeof ep, "ipc://%0107d", 0);
    ck_assert_int_eq(mt_rc_endpoint_check(ep, err, sizeof err), MT_OK);
    snprintf(ep, sizeof ep, "ipc://%0108d", 0);
    ck_assert_int_eq(mt_rc_endpoint_check(ep, err, sizeof err), MT_EBADREQ);
    memset(ep, 'a', sizeof ep);
    memcpy(ep, "tcp://[", 7);
    memcpy(ep + 250, "]:1", 4);     /* 253 bytes: fine */
    for (int i = 7; i < 250; i++)
        ep[i] = ':';
    ck_assert_int_eq(mt_rc_endpoint_check(ep, err, sizeof err), MT_OK);
    memset(ep + 7, ':', 250);
    memcpy(ep + 257, "]:1", 4);     /* 260 */
    ck_assert_int_eq(mt_rc_endpoint_check(ep, err, sizeof err), MT_EBADREQ);
    ck_assert_int_eq(mt_rc_endpoint_check(NULL, err, sizeof err), MT_EBADREQ);
}
END_TEST

START_TEST(key_rules)
{
    char err[200];
    ck_assert_int_eq(mt_key_check("k", "", err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_key_check("k", NULL, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_key_check("k", SERVER_PUB, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_key_check("k", CLIENT_SEC, err, sizeof err), MT_OK);
    static const char *const bad[] = {
        "a", SERVER_PUB "a", "d+4zjhnQHKsYHMIHv0F1ndkDEHmgsRdU3oZIWA&",   /* 39 */
        "d+4zjhnQHKsYHMIHv0F1ndkDEHmgsRdU3oZIWA& ",                        /* space */
        "d+4zjhnQHKsYHMIHv0F1ndkDEHmgsRdU3oZIWA&~",                        /* not Z85 */
        "d+4zjhnQHKsYHMIHv0F1ndkDEHmgsRdU3oZIWA&,",
        "#####d+4zjhnQHKsYHMIHv0F1ndkDEHmgsRdU3oZ",                        /* > 2^32 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(mt_key_check("server_key", bad[i], err, sizeof err) == MT_EBADREQ,
                      "%s accepted", bad[i]);
        ck_assert_str_eq(err, "server_key" KEY_FORM);
    }
    ck_assert_int_eq(mt_key_pair_check(CLIENT_PUB, CLIENT_SEC, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_key_pair_check("", "", err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_key_pair_check(NULL, NULL, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_key_pair_check(OTHER_PUB, CLIENT_SEC, err, sizeof err), MT_EBADREQ);
    ck_assert_str_eq(err, "client_secret: does not belong to client_public");
    ck_assert_int_eq(mt_key_pair_check(CLIENT_PUB, "", err, sizeof err), MT_EBADREQ);
    ck_assert_int_eq(mt_key_pair_check("", CLIENT_SEC, err, sizeof err), MT_EBADREQ);
    /* a fresh keypair of libzmq's passes; a Z85 key as its own secret does not */
    char pub[41], sec[41];
    ck_assert_int_eq(zmq_curve_keypair(pub, sec), 0);
    ck_assert_int_eq(mt_key_pair_check(pub, sec, err, sizeof err), MT_OK);
    ck_assert_int_eq(mt_key_pair_check(pub, pub, err, sizeof err), MT_EBADREQ);
    /* mt_rc_wipe clears in place */
    char secret[] = "secret";
    mt_rc_wipe(secret);
    ck_assert_int_eq(secret[0] | secret[5], 0);
    mt_rc_wipe(NULL);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("codec_rc");
    TCase *tc = tcase_create("rc");
    tcase_add_loop_test(tc, table, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, add_content);
    tcase_add_test(tc, set_content);
    tcase_add_test(tc, del_get_list_content);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, reply_single);
    tcase_add_test(tc, reply_del_list_errors);
    tcase_add_test(tc, notice_upsert_delete);
    tcase_add_loop_test(tc, notice_table, 0, sizeof notice_cases / sizeof notice_cases[0]);
    tcase_add_test(tc, notice_node_list_limit);
    tcase_add_test(tc, password_never_encoded);
    tcase_add_loop_test(tc, endpoint_rules, 0, sizeof ep_cases / sizeof ep_cases[0]);
    tcase_add_test(tc, endpoint_lengths);
    tcase_add_test(tc, key_rules);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mt_check_run(make_suite());
}
