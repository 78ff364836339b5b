/*  test_informer_cache.c — the informer's merge rules (informer_cache.c,
    protocol-notes.md "The informer") without sockets: whole views by
    revision, a view newer in one group only merged key by key, deletes and
    the ids they keep, a relist's deletes. */
#include "informer_internal.h"
#include "mt_check.h"

#include <string.h>

typedef struct {
    int upserts, deletes;
    char last_id[64];
    int64_t last_rev;
} seen_t;

static void on_change(const mt_informer_change_t *ch, void *arg)
{
    seen_t *s = arg;
    if (ch->kind == MT_INFORMER_UPSERT)
        s->upserts++;
    else
        s->deletes++;
    snprintf(s->last_id, sizeof s->last_id, "%s", ch->id);
    s->last_rev = ch->revision;
}

/*  A view {id, reg_revision, status_revision, metrics_at, host_ip, ready}:
    host_ip stands for the registration group, ready for the status group. */
static msgpack_object *view(msgpack_sbuffer *sb, msgpack_unpacked *u, const char *id,
                            int64_t reg, int64_t st, const char *host, bool ready)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, id, strlen(id));
    msgpack_pack_str_with_body(&pk, "reg_revision", 12);
    msgpack_pack_int64(&pk, reg);
    msgpack_pack_str_with_body(&pk, "status_revision", 15);
    msgpack_pack_int64(&pk, st);
    msgpack_pack_str_with_body(&pk, "metrics_at", 10);
    msgpack_pack_int64(&pk, 0);
    msgpack_pack_str_with_body(&pk, "host_ip", 7);
    msgpack_pack_str_with_body(&pk, host, strlen(host));
    msgpack_pack_str_with_body(&pk, "ready", 5);
    if (ready)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    msgpack_unpacked_init(u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(u, sb->data, sb->size, &off), MSGPACK_UNPACK_SUCCESS);
    return &u->data;
}

static bool put(mt__informer_cache_t *c, const char *id, int64_t reg, int64_t st,
                const char *host, bool ready)
{
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    bool took = mt__informer_cache_upsert(c, view(&sb, &u, id, reg, st, host, ready),
                                          MT_INFORMER_FROM_NOTICE);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    return took;
}

/*  The cached view's host_ip and ready. */
static void cached(mt__informer_cache_t *c, const char *id, char *host, size_t cap, bool *ready)
{
    const char *data;
    size_t size;
    ck_assert(mt__informer_cache_get(c, id, NULL, NULL, &data, &size));
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, data, size, &off), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *h = mt_client_map_first(&u.data, "host_ip");
    const msgpack_object *r = mt_client_map_first(&u.data, "ready");
    ck_assert(h && h->type == MSGPACK_OBJECT_STR && h->via.str.size < cap);
    memcpy(host, h->via.str.ptr, h->via.str.size);
    host[h->via.str.size] = '\0';
    *ready = r->via.boolean;
    msgpack_unpacked_destroy(&u);
}

START_TEST(whole_views_by_revision)
{
    seen_t s = { 0 };
    mt__informer_cache_t *c = mt__informer_cache_new(on_change, &s);
    ck_assert(put(c, "n1", 5, 6, "h1", true));
    ck_assert(!put(c, "n1", 5, 6, "h1", true));         /* the same: stale */
    ck_assert(!put(c, "n1", 4, 3, "old", false));       /* both older */
    ck_assert(put(c, "n1", 7, 8, "h2", false));         /* both newer */
    char host[32];
    bool ready;
    cached(c, "n1", host, sizeof host, &ready);
    ck_assert_str_eq(host, "h2");
    ck_assert(!ready);
    ck_assert_int_eq(s.upserts, 2);
    ck_assert_int_eq(s.last_rev, 8);
    mt__informer_cache_destroy(&c);
}
END_TEST

START_TEST(one_group_newer_is_merged)
{
    mt__informer_cache_t *c = mt__informer_cache_new(NULL, NULL);
    ck_assert(put(c, "n1", 10, 20, "reg-10", true));
    /*  a notice of an older heartbeat's view with a newer registration */
    ck_assert(put(c, "n1", 11, 15, "reg-11", false));
    char host[32];
    bool ready;
    cached(c, "n1", host, sizeof host, &ready);
    ck_assert_str_eq(host, "reg-11");                    /* registration from the new */
    ck_assert(ready);                                   /* status kept from the cache */
    int64_t reg, st;
    ck_assert(mt__informer_cache_get(c, "n1", &reg, &st, NULL, NULL));
    ck_assert_int_eq(reg, 11);
    ck_assert_int_eq(st, 20);
    /*  and the other way round */
    ck_assert(put(c, "n1", 9, 21, "reg-9", false));
    cached(c, "n1", host, sizeof host, &ready);
    ck_assert_str_eq(host, "reg-11");
    ck_assert(!ready);
    mt__informer_cache_destroy(&c);
}
END_TEST

START_TEST(deletes_keep_their_revision)
{
    seen_t s = { 0 };
    mt__informer_cache_t *c = mt__informer_cache_new(on_change, &s);
    ck_assert(put(c, "n1", 5, 6, "h", true));
    ck_assert(!mt__informer_cache_delete(c, "n1", 6, MT_INFORMER_FROM_NOTICE));  /* not above */
    ck_assert(mt__informer_cache_delete(c, "n1", 9, MT_INFORMER_FROM_NOTICE));
    ck_assert_int_eq(mt__informer_cache_size(c), 0);
    ck_assert(!put(c, "n1", 7, 8, "late", true));       /* older than the delete */
    ck_assert(put(c, "n1", 12, 0, "again", false));     /* registered again */
    ck_assert_int_eq(mt__informer_cache_size(c), 1);
    /*  a delete of an id never cached is told, and remembered */
    ck_assert(mt__informer_cache_delete(c, "n2", 20, MT_INFORMER_FROM_CHANGES));
    ck_assert_str_eq(s.last_id, "n2");
    ck_assert(!put(c, "n2", 19, 0, "x", true));
    ck_assert_int_eq(s.deletes, 2);
    mt__informer_cache_destroy(&c);
}
END_TEST

START_TEST(relist_deletes_what_it_covers)
{
    seen_t s = { 0 };
    mt__informer_cache_t *c = mt__informer_cache_new(on_change, &s);
    ck_assert(put(c, "a", 1, 2, "h", true));
    ck_assert(put(c, "b", 3, 4, "h", true));
    ck_assert(put(c, "c", 30, 0, "h", true));           /* newer than the list */
    mt__informer_cache_list_begin(c);
    put(c, "a", 1, 2, "h", true);                       /* listed (stale, still listed) */
    mt__informer_cache_list_end(c, 10);
    ck_assert(mt__informer_cache_get(c, "a", NULL, NULL, NULL, NULL));
    ck_assert(!mt__informer_cache_get(c, "b", NULL, NULL, NULL, NULL));  /* gone by rev 10 */
    ck_assert(mt__informer_cache_get(c, "c", NULL, NULL, NULL, NULL));   /* above: kept */
    ck_assert_int_eq(s.deletes, 1);
    ck_assert_int_eq(s.last_rev, 10);
    mt__informer_cache_destroy(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("informer_cache");
    TCase *tc = tcase_create("merge");
    tcase_add_test(tc, whole_views_by_revision);
    tcase_add_test(tc, one_group_newer_is_merged);
    tcase_add_test(tc, deletes_keep_their_revision);
    tcase_add_test(tc, relist_deletes_what_it_covers);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
