#!/usr/bin/env bash
# The installed runtime as its users meet it (issue 11, part 4):
#   1. example.c is the README's example, unchanged;
#   2. `cmake --install BUILD --prefix WORK/prefix` puts the headers, both
#      libraries, metactor-core.pc and the CMake package in place;
#   3. libmetactor-core.so exports exactly the MT_API functions of mt_core.h;
#   4. the example, built with `pkg-config --cflags --libs metactor-core` and
#      the C compiler alone, runs against the installed .so and prints 42;
#   5. the same through find_package(metactor-core) in a small CMake project
#      (consumer/), shared and static, and mt_version.h matches the package.
# Nothing of the source tree or the build tree is on any include or library
# path: only the prefix.
#
# Sanitizer builds: the library is instrumented, the example is not; the
# .pc file and the CMake targets of such a build carry -fsanitize=... in their
# link flags, so the program gets the sanitizer's runtime it needs, and the
# test runs there too (ASAN_OPTIONS/TSAN_OPTIONS as scripts/test sets them).
#
# Run by CTest (tests/install/CMakeLists.txt sets the MT_* variables below).
set -euo pipefail

: "${MT_BUILD_DIR:?}" "${MT_WORK_DIR:?}" "${MT_SOURCE_DIR:?}" "${MT_CC:?}" "${MT_CMAKE:?}"
: "${MT_GENERATOR:?}" "${MT_PKG_CONFIG:?}" "${MT_NM:?}" "${MT_LIBDIR:?}" "${MT_INCLUDEDIR:?}"
: "${MT_VERSION:?}" "${MT_WERROR:=OFF}"

here=$(cd "$(dirname "$0")" && pwd)
work=$MT_WORK_DIR
prefix=$work/prefix
libdir=$prefix/$MT_LIBDIR
step() { echo "test_install: $*"; }
fail() { echo "test_install: FAIL: $*" >&2; exit 1; }

# Warnings users would see: the public headers must compile cleanly in
# strict C11 (no GNU extensions needed), with -Werror when CI asks for it.
cflags=(-std=c11 -pedantic -Wall -Wextra -Wno-unused-parameter -Wstrict-prototypes)
case "${MT_WERROR^^}" in ON|1|YES|TRUE|Y) cflags+=(-Werror) ;; esac

# ---- 1. example.c is the README's snippet ----------------------------------
step "example.c against the README"
readme_snippet() {
    awk '/^## The runtime in one example/ { f = 1 }
         f && /^```c/ { p = 1; next }
         p && /^```/ { exit }
         p' "$MT_SOURCE_DIR/README.md"
}
example_code() {    # example.c without its opening comment and the blank line after it
    awk 'body { print; next } /\*\// { skip = 1; next } skip && /^$/ { body = 1 }' \
        "$here/example.c"
}
if ! diff -u <(readme_snippet) <(example_code) >&2; then
    fail "tests/install/example.c and the README's example differ (keep them identical)"
fi

# ---- 2. install --------------------------------------------------------------
step "cmake --install $MT_BUILD_DIR --prefix $prefix"
rm -rf "$work"
mkdir -p "$work"
"$MT_CMAKE" --install "$MT_BUILD_DIR" --prefix "$prefix" > "$work/install.log" \
    || { cat "$work/install.log" >&2; fail "cmake --install"; }
for f in "$MT_INCLUDEDIR/metactor/mt_core.h" "$MT_INCLUDEDIR/metactor/mt_export.h" \
         "$MT_INCLUDEDIR/metactor/mt_version.h" \
         "$MT_LIBDIR/libmetactor-core.a" "$MT_LIBDIR/libmetactor-core.so" \
         "$MT_LIBDIR/pkgconfig/metactor-core.pc" \
         "$MT_LIBDIR/cmake/metactor-core/metactor-coreConfig.cmake" \
         "$MT_LIBDIR/cmake/metactor-core/metactor-coreConfigVersion.cmake" \
         "$MT_LIBDIR/cmake/metactor-core/metactor-core-targets.cmake"; do
    [ -e "$prefix/$f" ] || fail "not installed: $f"
done

# ---- 3. exports: exactly the MT_API functions ------------------------------
step "exported symbols of libmetactor-core.so"
header=$prefix/$MT_INCLUDEDIR/metactor/mt_core.h
decls=$(grep -E '^[A-Za-z_][A-Za-z0-9_ ]*[ *]+mt_[a-z0-9_]+\(' "$header")
if unmarked=$(grep -vE '^(MT_API|static inline|typedef) ' <<< "$decls"); then
    fail "functions declared in mt_core.h without MT_API:"$'\n'"$unmarked"
fi
grep -E '^MT_API ' <<< "$decls" | sed -E 's/^[^(]*[ *](mt_[a-z0-9_]+)\(.*/\1/' | sort \
    > "$work/api"
"$MT_NM" -D --defined-only "$libdir/libmetactor-core.so" \
    | awk '$2 ~ /^[A-Z]$/ { print $3 }' | sort > "$work/exported"
if ! diff -u "$work/api" "$work/exported" >&2; then
    fail "libmetactor-core.so must export exactly the MT_API functions of mt_core.h" \
         "(- declared but not exported, + exported but not declared)"
fi
step "  $(wc -l < "$work/exported") functions, nothing else"

# ---- 4. pkg-config and the compiler alone ----------------------------------
export PKG_CONFIG_PATH=$libdir/pkgconfig
pc_prefix=$("$MT_PKG_CONFIG" --variable=prefix metactor-core)
[ "$pc_prefix" = "$prefix" ] || fail "metactor-core.pc found has prefix $pc_prefix, not $prefix"
[ "$("$MT_PKG_CONFIG" --modversion metactor-core)" = "$MT_VERSION" ] || fail "pc version"
read -r -a pcflags <<< "$("$MT_PKG_CONFIG" --cflags --libs metactor-core)"
step "$MT_CC example.c ${pcflags[*]}"
"$MT_CC" "${cflags[@]}" -o "$work/example_pc" "$here/example.c" "${pcflags[@]}" \
    || fail "building the README's example with pkg-config"
loaded=$(LD_LIBRARY_PATH=$libdir ldd "$work/example_pc" | awk '/libmetactor-core/ { print $3 }')
case "$loaded" in
    "$libdir"/*) ;;
    *) fail "example_pc loads libmetactor-core from '$loaded', not $libdir" ;;
esac
out=$(LD_LIBRARY_PATH=$libdir "$work/example_pc") || fail "example_pc exited with $?"
[ "$out" = 42 ] || fail "example_pc printed '$out', not 42"
step "  prints 42"

# ---- 5. find_package ---------------------------------------------------------
step "find_package(metactor-core $MT_VERSION) in consumer/"
consumer=$work/consumer
"$MT_CMAKE" -S "$here/consumer" -B "$consumer" -G "$MT_GENERATOR" \
    -DCMAKE_C_COMPILER="$MT_CC" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="${cflags[*]}" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
    -DMT_EXAMPLE="$here/example.c" -DMT_EXPECT_VERSION="$MT_VERSION" \
    > "$work/consumer.log" 2>&1 || { cat "$work/consumer.log" >&2; fail "configuring consumer/"; }
found=$(sed -n 's/^metactor-core_DIR:[A-Z]*=//p' "$consumer/CMakeCache.txt")
[ "$found" = "$libdir/cmake/metactor-core" ] || fail "find_package found $found"
"$MT_CMAKE" --build "$consumer" >> "$work/consumer.log" 2>&1 \
    || { cat "$work/consumer.log" >&2; fail "building consumer/"; }
for exe in example example_static; do
    out=$("$consumer/$exe") || fail "$exe exited with $?"
    [ "$out" = 42 ] || fail "$exe printed '$out', not 42"
done
out=$("$consumer/version") || fail "mt_version.h says $out, the package $MT_VERSION"
step "  metactor::core and metactor::core_static print 42; mt_version.h says $out"
step "ok"
