/*  test_limits.c — limits on what is stored, over the wire (issue 10,
    section 2): at most 256 labels after a merge (node.labels on one
    replica, node.register on another: bad_request, nothing stored, the
    peers unaffected), Kubernetes label syntax with messages naming the
    key, and values whose stored form would be too large. Two replicas. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB "metactor_it_limits"
#define TIMEOUT_S 240

enum { A, B };

static void setup(void)
{
    h_setup(DB, 2, TIMEOUT_S);
    h_start_all();
    h_wait_cluster();
}

/*  A label map {prefix<from>: value, ...} of n entries, packed. */
static msgpack_sbuffer *labels_map(const char *prefix, int from, int n, const char *value)
{
    msgpack_sbuffer *b = msgpack_sbuffer_new();
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (uint32_t) n);
    char key[400];
    for (int i = 0; i < n; i++) {
        int k = snprintf(key, sizeof key, "%s%d", prefix, from + i);
        msgpack_pack_str_with_body(&pk, key, (size_t) k);
        msgpack_pack_str_with_body(&pk, value, strlen(value));
    }
    return b;
}

static h_reply_t *register_with(int i, const char *id, msgpack_sbuffer *labels)
{
    h_reply_t *r = h_call(i, "{s:s, s:{s:s, s:s, s:r}}", "op", "node.register", "node", "id", id,
                          "host_ip", "10.0.0.1", "labels", labels->data, labels->size);
    msgpack_sbuffer_free(labels);
    H_ASSERT(r, "node.register %s: no reply", id);
    return r;
}

static h_reply_t *set_labels(int i, const char *id, msgpack_sbuffer *set)
{
    h_reply_t *r = h_call(i, "{s:s, s:s, s:r}", "op", "node.labels", "id", id, "set", set->data,
                          set->size);
    msgpack_sbuffer_free(set);
    H_ASSERT(r, "node.labels %s: no reply", id);
    return r;
}

static void expect_bad(h_reply_t **r, const char *what, const char *message)
{
    H_ASSERT(!(*r)->ok && strcmp((*r)->code, "bad_request") == 0, "%s: got %s (%s)", what,
             (*r)->ok ? "ok" : (*r)->code, (*r)->message);
    H_ASSERT(strstr((*r)->message, message), "%s: message \"%s\", wanted \"%s\"", what,
             (*r)->message, message);
    h_reply_free(r);
}

static int64_t stored_labels(const char *id)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT JSON_LENGTH(labels) FROM node_registrations WHERE id = '%s'",
             id);
    char *v = h_db_query(0, sql);
    int64_t n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

static int64_t view_labels(int i, const char *id)
{
    h_reply_t *r = h_node_get(i, id);
    H_ASSERT(r, "%s is on replica %d", id, i);
    int64_t n = h_size(r->result, "node/labels");
    h_reply_free(&r);
    return n;
}

static void beat(int i, const char *id)
{
    h_reply_t *r = h_ok(i, "{s:s, s:s, s:b}", "op", "node.heartbeat", "id", id, "ready", 1);
    h_reply_free(&r);
}

/*  The merged result is what counts: node.labels on A and node.register on
    B that would leave 257 labels are refused and store nothing; n2 is
    served throughout; 256 exactly is fine and reaches the peer. */
START_TEST(merged_labels_limit)
{
    h_reply_t *r = register_with(A, "n1", labels_map("a", 0, 200, "v"));
    H_ASSERT(r->ok, "200 labels: %s", r->message);
    int64_t rev = h_int(r->result, "node/reg_revision");
    h_reply_free(&r);
    r = register_with(B, "n2", labels_map("z", 0, 3, "v"));
    h_reply_free(&r);
    H_WAIT(h_node_int(B, "n1", "reg_revision") == rev, H_T, "B has n1's 200 labels");

    r = set_labels(A, "n1", labels_map("b", 0, 57, "v"));
    expect_bad(&r, "node.labels to 257", "labels: the node would have 257; at most 256");
    beat(A, "n2");
    r = register_with(B, "n1", labels_map("b", 0, 57, "v"));
    expect_bad(&r, "node.register to 257", "labels: the node would have 257 (the 57 registered"
                                           " merged into the 200 stored); at most 256");
    beat(B, "n2");
    /*  One request alone over the count: refused when decoded. */
    r = set_labels(B, "n1", labels_map("c", 0, 257, "v"));
    expect_bad(&r, "node.labels with 257", "set: at most 256 entries");

    /*  Nothing stored, nothing changed anywhere. */
    H_ASSERT(stored_labels("n1") == 200, "stored: %lld labels", (long long) stored_labels("n1"));
    for (int i = A; i <= B; i++) {
        H_ASSERT(h_node_int(i, "n1", "reg_revision") == rev, "replica %d: n1's revision", i);
        H_ASSERT(view_labels(i, "n1") == 200, "replica %d: n1's labels", i);
    }
    /*  Exactly 256 (a re-registration adding 56): fine, and the peer takes
        the notice. */
    r = register_with(B, "n1", labels_map("a", 150, 106, "w"));  /* a150..a255: 56 new */
    H_ASSERT(r->ok, "256 labels: %s", r->message);
    rev = h_int(r->result, "node/reg_revision");
    H_ASSERT(h_size(r->result, "node/labels") == 256, "256 labels in the view");
    h_reply_free(&r);
    H_WAIT(h_node_int(A, "n1", "reg_revision") == rev, H_T, "A takes B's notice of 256 labels");
    H_ASSERT(view_labels(A, "n1") == 256, "A: 256 labels");
    /*  node.labels at the limit: one in, one out. */
    msgpack_sbuffer *set = labels_map("d", 0, 1, "v");
    r = h_call(A, "{s:s, s:s, s:r, s:[s]}", "op", "node.labels", "id", "n1", "set", set->data,
               set->size, "remove", "a0");
    msgpack_sbuffer_free(set);
    H_ASSERT(r && r->ok, "one in, one out: %s", r ? r->message : "no reply");
    h_reply_free(&r);
    H_ASSERT(stored_labels("n1") == 256, "stored: 256");
    H_ASSERT(view_labels(A, "n2") == 3 && view_labels(B, "n2") == 3, "n2 untouched");
}
END_TEST

/*  Every issue example refused where a request names labels, with a
    message naming the key; nothing stored. Labels in Kubernetes syntax —
    prefixed, and a key of the longest length (317) — go through and
    reach the peer. remove takes any key. */
START_TEST(label_syntax)
{
    h_reply_t *r = h_ok(A, "{s:s, s:{s:s, s:{s:s, s:s}}}", "op", "node.register", "node",
                        "id", "s1", "labels", "zone", "eu-1", "metactor.io/scheduling-disabled",
                        "false");
    h_reply_free(&r);
    static const struct { const char *key, *message; } bad[] = {
        { "a b", "label 'a b': the name may hold letters, digits, '-', '_' and '.' only" },
        { "k\x01", "label 'k\\x01': the name may hold letters, digits, '-', '_' and '.' only" },
        { "-lead", "label '-lead': the name must begin and end with a letter or digit" },
        { "x/", "label 'x/': the name after '/' must not be empty" },
        { "\xc3\xa9", "label '\\xc3\\xa9': the name may hold letters, digits, '-', '_' and '.'"
                      " only" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char want[200];
        snprintf(want, sizeof want, "labels: %s", bad[k].message);
        r = h_call(B, "{s:s, s:{s:s, s:{s:s}}}", "op", "node.register", "node", "id", "s1",
                   "labels", bad[k].key, "x");
        expect_bad(&r, "register", want);
        snprintf(want, sizeof want, "set: %s", bad[k].message);
        r = h_call(A, "{s:s, s:s, s:{s:s}}", "op", "node.labels", "id", "s1", "set",
                   bad[k].key, "x");
        expect_bad(&r, "labels set", want);
        snprintf(want, sizeof want, "selector: %s", bad[k].message);
        r = h_call(B, "{s:s, s:{s:s}}", "op", "node.list", "selector", bad[k].key, "x");
        expect_bad(&r, "list selector", want);
        /*  A label stored before the rules could be removed: any key goes. */
        r = h_ok(A, "{s:s, s:s, s:[s]}", "op", "node.labels", "id", "s1", "remove", bad[k].key);
        h_reply_free(&r);
    }
    /*  Values: empty is fine, the rest as a name. */
    r = h_call(A, "{s:s, s:s, s:{s:s}}", "op", "node.labels", "id", "s1", "set", "zone", "eu 1");
    expect_bad(&r, "value", "set: label 'zone': the value may hold letters");
    r = h_call(A, "{s:s, s:s, s:{s:s}}", "op", "node.labels", "id", "s1", "set", "zone",
               "0123456789012345678901234567890123456789012345678901234567890123");
    expect_bad(&r, "value", "set: label 'zone': the value is at most 63 characters");
    H_ASSERT(stored_labels("s1") == 2, "nothing stored: %lld", (long long) stored_labels("s1"));

    /*  The longest key: a 253-character prefix, '/', a 63-character name. */
    char key[400];
    memset(key, 'p', 253);
    for (int i = 63; i < 253; i += 64)
        key[i] = '.';
    key[253] = '/';
    memset(key + 254, 'n', 63);
    key[317] = '\0';
    r = h_ok(B, "{s:s, s:s, s:{s:s, s:s}}", "op", "node.labels", "id", "s1", "set", key, "",
             "k8s.io/role", "worker_1.x");
    int64_t rev = h_int(r->result, "node/reg_revision");
    h_reply_free(&r);
    H_WAIT(h_node_int(A, "s1", "reg_revision") == rev, H_T, "A takes the notice");
    H_ASSERT(view_labels(A, "s1") == 4, "A: 4 labels");
    r = h_ok(A, "{s:s, s:{s:s}}", "op", "node.list", "selector", "k8s.io/role", "worker_1.x");
    H_ASSERT(h_size(r->result, "nodes") == 1 && h_is_str(r->result, "nodes/0/id", "s1"),
             "selected by a prefixed label");
    h_reply_free(&r);
}
END_TEST

/*  What the store would write is bounded too (64 KiB a JSON column):
    heartbeats and registrations over it are bad_request and store
    nothing, while the other nodes' heartbeats are served. */
START_TEST(oversized_values)
{
    h_reply_t *r = h_ok(A, "{s:s, s:{s:s}}", "op", "node.register", "node", "id", "o1");
    h_reply_free(&r);
    r = h_ok(A, "{s:s, s:{s:s}}", "op", "node.register", "node", "id", "o2");
    h_reply_free(&r);
    beat(A, "o1");
    int64_t srev = h_node_int(A, "o1", "status_revision");

    /*  70 images of 1,000 bytes: each within the wire's limits, 70 KB stored. */
    msgpack_sbuffer *images = msgpack_sbuffer_new();
    msgpack_packer pk;
    msgpack_packer_init(&pk, images, msgpack_sbuffer_write);
    char one[1001];
    memset(one, 'i', 1000);
    one[1000] = '\0';
    msgpack_pack_array(&pk, 70);
    for (int i = 0; i < 70; i++)
        msgpack_pack_str_with_body(&pk, one, 1000);
    for (int k = 0; k < 3; k++) {
        r = h_call(A, "{s:s, s:s, s:b, s:r}", "op", "node.heartbeat", "id", "o1", "ready", 1,
                   "images", images->data, images->size);
        H_ASSERT(r, "no reply");
        expect_bad(&r, "70 KB of images", "images: more than 65535 bytes as stored");
        beat(A, "o2");          /* others are served meanwhile */
    }
    msgpack_sbuffer_free(images);
    H_ASSERT(h_node_int(A, "o1", "status_revision") == srev, "o1's status unchanged");
    char *n = h_db_query(0, "SELECT JSON_LENGTH(images) FROM node_status WHERE id = 'o1'");
    H_ASSERT(n && strcmp(n, "0") == 0, "nothing stored: %s", n ? n : "(none)");
    free(n);

    /*  256 labels of the longest keys and values: valid one by one, about
        98 KB stored. */
    char prefix[320], value[64];
    memset(prefix, 'p', 240);
    prefix[240] = '/';
    memset(prefix + 241, 'n', 60);     /* + 3 digits: a 63-character name */
    prefix[301] = '\0';
    memset(value, 'v', 63);
    value[63] = '\0';
    r = register_with(B, "o1", labels_map(prefix, 100, 256, value));
    expect_bad(&r, "98 KB of labels", "bytes as stored; at most 65535");
    r = set_labels(B, "o1", labels_map(prefix, 100, 256, value));
    expect_bad(&r, "98 KB of labels", "labels: ");
    H_ASSERT(stored_labels("o1") == 0, "no labels stored");
    beat(B, "o2");
    beat(B, "o1");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_limits");
    h_tcase(s, "limits", setup, TIMEOUT_S, merged_labels_limit, label_syntax, oversized_values,
            NULL);
    return h_run(s);
}
