/*  mt_export.h — MT_API, the mark on every function of the runtime's public
    API (mt_core.h).

    libmetactor-core.so is compiled with hidden visibility
    (-fvisibility=hidden), so only what carries MT_API is exported: `nm -D`
    shows the mt_ functions of mt_core.h and nothing of core's internals
    (mt__*). The static archive is compiled with MT_STATIC, which makes MT_API
    empty: everything in it stays hidden, so a program or library that links
    it in does not re-export the runtime.

    Users never define anything: including mt_core.h is enough, for either
    library. GCC and Clang on ELF only, as the runtime itself (pthreads,
    eventfd). */
#ifndef MT_EXPORT_H_INCLUDED
#define MT_EXPORT_H_INCLUDED

#ifndef MT_API
#if defined(MT_STATIC) || !defined(__GNUC__)
#define MT_API
#else
#define MT_API __attribute__((visibility("default")))
#endif
#endif

#endif
