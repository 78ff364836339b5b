/*  msgpack_json.h — a msgpack object as strict JSON text, for metactl's
    `-o json` and `watch` (and the codec fuzzers, which check every answer
    they build converts). The rules are in msgpack_json.c. */
#ifndef CTL_MSGPACK_JSON_H_INCLUDED
#define CTL_MSGPACK_JSON_H_INCLUDED

#include <msgpack.h>

/*  Caller frees; a NULL object is "null". Out of memory aborts. */
char *ctl_json_of(const msgpack_object *obj);

#endif
