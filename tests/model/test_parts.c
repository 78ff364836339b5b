/*  model_parts: blocks whose maps or lists are equal hold one part
    (model/part.c), a part goes with its last block, and threads building
    and dropping blocks of equal content leave the table as they found it. */
#include "mt_check.h"
#include "mt_model.h"
#include "part.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static uint64_t parts_alive(void)
{
    mt__part_stats_t s;
    mt__part_stats(&s);
    return s.parts;
}

static mt_node_reg_t *reg_with(const char *zone, int64_t cpu)
{
    /*  Out of order and with a repeated key: the block sorts and keeps the last. */
    mt_str_pair_t labels[] = { { "zone", "x" }, { "arch", "amd64" }, { "zone", zone } };
    mt_int_pair_t capacity[] = { { "pods", 110 }, { "cpu_milli", cpu } };
    mt_str_pair_t versions[] = { { "runc", "1.1" }, { "kubelet", "1.28" } };
    mt_node_reg_t t = {
        .host_ip = "10.0.0.1", .grpc_port = 9000, .instance_type = "m",
        .labels = labels, .nlabels = 3, .capacity = capacity, .ncapacity = 2,
        .versions = versions, .nversions = 2,
    };
    return mt_node_reg_build(&t);
}

START_TEST(equal_maps_share_one_part)
{
    uint64_t base = parts_alive();
    mt_node_reg_t *a = reg_with("z1", 16000), *b = reg_with("z1", 16000);
    ck_assert_ptr_ne(a, b);
    ck_assert_ptr_eq(a->labels, b->labels);
    ck_assert_ptr_eq(a->capacity, b->capacity);
    ck_assert_ptr_eq(a->quota, b->quota);
    ck_assert_ptr_eq(a->versions, b->versions);
    ck_assert_ptr_eq(a->components, b->components);
    /*  What readers see is unchanged: sorted, de-duplicated, the last wins. */
    ck_assert_uint_eq(a->nlabels, 2);
    ck_assert_str_eq(a->labels[0].key, "arch");
    ck_assert_str_eq(a->labels[1].key, "zone");
    ck_assert_str_eq(a->labels[1].value, "z1");
    ck_assert_str_eq(mt_str_map_get(a->versions, a->nversions, "runc"), "1.1");
    ck_assert_str_eq(a->components[0].component, "kubelet");
    ck_assert_str_eq(a->components[0].commit, "");
    ck_assert_int_eq(a->capacity[0].value, 16000);
    /*  labels, capacity, quota (empty), versions, components. */
    ck_assert_uint_eq(parts_alive(), base + 5);
    ck_assert_uint_ge(a->size, sizeof *a);
    mt_node_reg_unref(&a);
    ck_assert_uint_eq(parts_alive(), base + 5);     /* b still holds them */
    ck_assert_str_eq(b->labels[1].value, "z1");
    mt_node_reg_unref(&b);
    ck_assert_uint_eq(parts_alive(), base);
}
END_TEST

START_TEST(a_changed_value_is_a_part_of_its_own)
{
    uint64_t base = parts_alive();
    mt_node_reg_t *a = reg_with("z1", 16000), *b = reg_with("z2", 16000),
                  *c = reg_with("z1", 8000);
    ck_assert_ptr_ne(a->labels, b->labels);
    ck_assert_ptr_eq(a->capacity, b->capacity);
    ck_assert_ptr_eq(a->labels, c->labels);
    ck_assert_ptr_ne(a->capacity, c->capacity);     /* an int differs */
    ck_assert_str_eq(b->labels[1].value, "z2");
    ck_assert_int_eq(c->capacity[0].value, 8000);
    ck_assert_uint_eq(parts_alive(), base + 7);
    mt_node_reg_unref(&a);
    mt_node_reg_unref(&b);
    mt_node_reg_unref(&c);
    ck_assert_uint_eq(parts_alive(), base);
}
END_TEST

static mt_node_status_t *status_with(const char *first, const char *second)
{
    mt_condition_t conds[] = { { "Ready", "True", NULL, "ok" } };
    const char *images[] = { first, second };
    mt_node_status_t t = { .ready = true, .conditions = conds, .nconditions = 1,
                           .images = images, .nimages = 2 };
    return mt_node_status_build(&t);
}

START_TEST(lists_keep_their_order_and_null_reads_as_empty)
{
    uint64_t base = parts_alive();
    mt_node_status_t *a = status_with("a:1", "b:1"), *b = status_with("b:1", "a:1"),
                     *c = status_with("a:1", NULL), *d = status_with("a:1", "");
    ck_assert_ptr_ne(a->images, b->images);          /* a list's order is its content */
    ck_assert_str_eq(b->images[0], "b:1");
    ck_assert_ptr_eq(c->images, d->images);          /* NULL is stored as "" */
    ck_assert_str_eq(c->images[1], "");
    ck_assert_ptr_eq(a->conditions, b->conditions);
    ck_assert_str_eq(a->conditions[0].reason, "");
    ck_assert_ptr_eq(a->local_templates, b->local_templates);   /* both empty */
    ck_assert_ptr_nonnull(a->local_templates);
    mt_node_status_unref(&a);
    mt_node_status_unref(&b);
    mt_node_status_unref(&c);
    mt_node_status_unref(&d);
    ck_assert_uint_eq(parts_alive(), base);
}
END_TEST

/*  Threads build and drop blocks of three contents, holding some across
    iterations, so the last reference of a part is let go while others
    look it up. */
#define THREADS 4
#define ROUNDS 20000

static void *churn(void *arg)
{
    unsigned seed = (unsigned) (uintptr_t) arg;
    static const char *zones[] = { "z1", "z2", "z3" };
    mt_node_status_t *held = NULL;
    mt_node_reg_t *held_reg = NULL;
    for (unsigned i = 0; i < ROUNDS; i++) {
        unsigned k = (seed + i * 7) % 3;
        mt_node_status_t *s = status_with(zones[k], "img");
        if (strcmp(s->images[0], zones[k]) != 0)
            return (void *) 1;
        mt_node_reg_t *r = reg_with(zones[(k + 1) % 3], 100 + k);
        if (strcmp(r->labels[1].value, zones[(k + 1) % 3]) != 0)
            return (void *) 1;
        if (i % 5 == 0) {
            mt_node_status_unref(&held);
            held = s;
            mt_node_reg_unref(&held_reg);
            held_reg = r;
        } else {
            mt_node_status_unref(&s);
            mt_node_reg_unref(&r);
        }
    }
    mt_node_status_unref(&held);
    mt_node_reg_unref(&held_reg);
    return NULL;
}

START_TEST(threads_leave_the_table_as_they_found_it)
{
    uint64_t base = parts_alive();
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, churn, (void *) i), 0);
    for (int i = 0; i < THREADS; i++) {
        void *bad = NULL;
        ck_assert_int_eq(pthread_join(t[i], &bad), 0);
        ck_assert_ptr_null(bad);
    }
    ck_assert_uint_eq(parts_alive(), base);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_parts");
    TCase *tc = tcase_create("parts");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, equal_maps_share_one_part);
    tcase_add_test(tc, a_changed_value_is_a_part_of_its_own);
    tcase_add_test(tc, lists_keep_their_order_and_null_reads_as_empty);
    tcase_add_test(tc, threads_leave_the_table_as_they_found_it);
    suite_add_tcase(s, tc);
    return mt_check_run(s);
}
