/*  mt_json.h — the store's strict JSON for exactly the shapes it keeps in
    LONGTEXT columns (no general JSON library among our dependencies):

        string map     {"key":"value",...}           labels
        integer map    {"key":123,...}               capacity, quota
        conditions     [{"type":"","status":"","reason":"","message":""},...]
        string array   ["a","b",...]                 images, local_templates

    Encoding escapes '"', '\\' and control characters and writes every other
    character as UTF-8; it refuses text that is not valid UTF-8 (MariaDB's
    utf8mb4 columns would refuse it too, failing a whole batch).
    Decoding is strict RFC 8259 for these shapes: insignificant white space
    anywhere, every escape including \uXXXX and surrogate pairs; it refuses
    other shapes, invalid UTF-8, lone surrogates, \u0000 (strings are C
    strings), numbers with a fraction or exponent or beyond int64, unknown
    condition keys and trailing text. Duplicate keys are kept in order
    (mt_node_*_build keeps the last).

    Decoded strings and arrays live in an arena: one allocation per chunk,
    reset between rows, freed at the end. Not thread-safe; no I/O. */
#ifndef MT_JSON_H_INCLUDED
#define MT_JSON_H_INCLUDED

#include "mt_buf.h"
#include "mt_model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- encoding ----------------------------------------------------------- */

/*  Encoders append to an mt_buf_t (lib/mt_buf.h). */

/*  Append one value. MT_OK, or MT_EINVAL (a string is not valid UTF-8;
    the buffer then holds a partial value: reset it). */
int mt_json_put_str_map(mt_buf_t *b, const mt_str_pair_t *m, uint32_t n);
int mt_json_put_int_map(mt_buf_t *b, const mt_int_pair_t *m, uint32_t n);
int mt_json_put_conditions(mt_buf_t *b, const mt_condition_t *c, uint32_t n);
int mt_json_put_str_array(mt_buf_t *b, const char *const *a, uint32_t n);

/* ---- decoding ----------------------------------------------------------- */

typedef struct mt_json_chunk mt_json_chunk_t;
typedef struct {
    mt_json_chunk_t *head;          /* current chunk; older ones follow */
} mt_json_arena_t;                  /* zero-initialise */

void *mt_json_arena_alloc(mt_json_arena_t *a, size_t n);   /* 8-aligned; aborts on OOM */
void mt_json_arena_reset(mt_json_arena_t *a);              /* keeps the largest chunk */
void mt_json_arena_free(mt_json_arena_t *a);

/*  Parse text[0..len) (need not be NUL-terminated) into arrays and strings
    allocated from a. MT_OK, or MT_EINVAL (not that shape). */
int mt_json_get_str_map(const char *text, size_t len, mt_json_arena_t *a,
                        mt_str_pair_t **out, uint32_t *n);
int mt_json_get_int_map(const char *text, size_t len, mt_json_arena_t *a,
                        mt_int_pair_t **out, uint32_t *n);
int mt_json_get_conditions(const char *text, size_t len, mt_json_arena_t *a,
                           mt_condition_t **out, uint32_t *n);
int mt_json_get_str_array(const char *text, size_t len, mt_json_arena_t *a,
                          const char ***out, uint32_t *n);

#endif
