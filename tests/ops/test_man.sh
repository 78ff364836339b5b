#!/usr/bin/env bash
# ops_man — the manual pages and the completion keep up with the programs:
# every flag and variable of `metactord --help` is in metactord(8), every
# command and global option of `metactl --help` in metactl(1) and in the
# bash completion; the pages format without warnings (man --warnings).
set -euo pipefail
: "${MT_METACTORD:?} ${MT_METACTL:?} ${MT_SOURCE_DIR:?}"
d8=$MT_SOURCE_DIR/docs/man/metactord.8
d1=$MT_SOURCE_DIR/docs/man/metactl.1
comp=$MT_SOURCE_DIR/etc/bash-completion/metactl
fail() { echo "FAIL: $*"; exit 1; }
# troff writes - as \-: compare against the page with those unescaped.
page8=$(sed 's/\\-/-/g' "$d8")
page1=$(sed 's/\\-/-/g' "$d1")
for f in $("$MT_METACTORD" --help | grep -oE '^  --[a-z-]+|env METACTOR_[A-Z_]+' | sed 's/^ *//; s/^env //'); do
    grep -qF -- "$f" <<<"$page8" || fail "metactord(8) lacks $f"
done
help=$("$MT_METACTL" --help)
for o in $(grep -oE '^  (-[a-z], )?--[a-z-]+' <<<"$help" | grep -oE -- '--[a-z-]+'); do
    grep -qF -- "$o" <<<"$page1" || fail "metactl(1) lacks $o"
    grep -qF -- "$o" "$comp" || fail "the completion lacks $o"
done
for c in $(sed -n '/^Commands:/,/^$/p' <<<"$help" | grep -oE '^  [a-z]+( [a-z]+)?' | sed 's/^  //'); do
    grep -qF -- "$c" <<<"$page1" || fail "metactl(1) lacks the command '$c'"
    for w in $c; do grep -qw -- "$w" "$comp" || fail "the completion lacks '$w'"; done
done
if command -v man >/dev/null; then
    for p in "$d8" "$d1"; do
        w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null) || fail "man $p"
        [ -z "$w" ] || fail "man --warnings $p: $w"
    done
fi
bash -n "$comp" || fail "the completion is not valid bash"
echo "ops_man: ok"
