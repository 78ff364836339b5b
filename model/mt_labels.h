/*  mt_labels.h — label syntax (PROTOCOL.md, "Label syntax"): Kubernetes'
    rules for label keys (a qualified name) and values.

      key    [prefix/]name
      prefix a DNS subdomain: at most 253 characters; parts separated by
             '.', each of lowercase letters, digits and '-', beginning and
             ending with a letter or digit
      name   1-63 characters of letters, digits, '-', '_' and '.',
             beginning and ending with a letter or digit
      value  empty, or as a name

    The checks apply to what a request asks to store or to select by
    (node.register labels, node.labels set, node.list selector). Views read
    from peers or the database are checked for shape only
    (mt_node_reg_check): labels stored before these rules existed stay
    readable, and removable (node.labels remove takes any key of 1 to
    MT_LABEL_KEY_MAX bytes). Messages name the key, quoted with anything
    but printable ASCII escaped ("label 'a b': the name may hold letters,
    digits, '-', '_' and '.' only"). */
#ifndef MT_LABELS_H_INCLUDED
#define MT_LABELS_H_INCLUDED

#include "mt_model.h"

#define MT_LABEL_PREFIX_MAX 253
#define MT_LABEL_NAME_MAX 63
#define MT_LABEL_VALUE_MAX 63
#define MT_LABEL_KEY_MAX (MT_LABEL_PREFIX_MAX + 1 + MT_LABEL_NAME_MAX)     /* 317 */

/*  MT_OK, or MT_EBADREQ with a message naming the key. */
int mt_label_key_check(const char *key, char *err, size_t errlen);
int mt_label_check(const char *key, const char *value, char *err, size_t errlen);

/*  Every pair of a label map, and at most MT_MAP_MAX of them. field (the
    request's key: "labels", "set", "selector") starts the message. */
int mt_labels_check(const char *field, const mt_str_pair_t *labels, uint32_t n,
                    char *err, size_t errlen);

/*  The key as a message shows it, NUL-terminated in out (at least 8
    bytes): printable ASCII but '\'' and '\\' as is, every other byte as
    \xNN, cut with "..." when out is too small. Never invalid UTF-8. */
void mt_label_quote(const char *key, char *out, size_t outlen);

#endif
