#!/usr/bin/env bash
# ops_package — the Debian packages as an operator meets them: built with
# `cpack -G DEB` from a /usr-prefixed build of this tree, installed with
# `apt-get install ./….deb` (dependencies from the archive), then
#   * metactl --help and metactord --help run from /usr/bin;
#   * the user metactor exists, /etc/metactor/metactord.cfg is the example;
#   * the installed units pass systemd-analyze verify (manual pages found);
#   * pkg-config finds metactor-core, and the runtime's example builds;
# and removed with --purge: nothing of them is left.
# It changes the system, so it runs only where asked (MT_PACKAGE_TEST=1, as
# .ci/run does on its fresh machine, as root); otherwise it is skipped (77).
set -euo pipefail
: "${MT_SOURCE_DIR:?} ${MT_WORK_DIR:?} ${MT_CMAKE:?}"
if [ "${MT_PACKAGE_TEST:-0}" != 1 ] || [ "$(id -u)" != 0 ]; then
    echo "ops_package: installs and removes packages; set MT_PACKAGE_TEST=1 and run as root"
    exit 77
fi
fail() { echo "FAIL: $*"; exit 1; }
if dpkg-query -W -f='${Status}' metactor 2>/dev/null | grep -q "install ok installed"; then
    fail "a metactor package is already installed: not touching it"
fi
cleanup() {
    DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -qq metactor libmetactor-core-dev \
        >/dev/null 2>&1 || true
}
trap cleanup EXIT

build=$MT_WORK_DIR/build
rm -rf "$MT_WORK_DIR"
mkdir -p "$build"
"$MT_CMAKE" -S "$MT_SOURCE_DIR" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
"$MT_CMAKE" --build "$build" -j"$(nproc)" --target metactord metactl metactor-core \
    metactor-core-shared >/dev/null
(cd "$build" && cpack -G DEB >/dev/null)
debs=("$build"/metactor_*.deb "$build"/libmetactor-core-dev_*.deb)
for d in "${debs[@]}"; do [ -f "$d" ] || fail "cpack made no $d"; done

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null || fail "apt-get install"
[ "$(command -v metactord)" = /usr/bin/metactord ] || fail "metactord is not /usr/bin/metactord"
# Whole outputs first: `grep -q` leaves the pipe early, and with pipefail
# a help text longer than one stdio buffer then dies of SIGPIPE.
help=$(/usr/bin/metactl --help) || fail "metactl --help: exit status $?"
grep -q "usage: metactl" <<<"$help" || fail "metactl --help"
help=$(/usr/bin/metactord --help) || fail "metactord --help: exit status $?"
grep -q "Usage: metactord" <<<"$help" || fail "metactord --help"
getent passwd metactor >/dev/null || fail "no user metactor"
cmp -s /etc/metactor/metactord.cfg "$MT_SOURCE_DIR/etc/metactord.cfg" || fail "/etc/metactor/metactord.cfg"
/usr/bin/metactord --config /etc/metactor/metactord.cfg --help >/dev/null || fail "the example config"
[ -f /usr/share/bash-completion/completions/metactl ] || fail "no completion"
if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify /lib/systemd/system/metactord.service \
          /lib/systemd/system/metactord@r0.service 2>&1) || fail "systemd-analyze: $out"
    [ -z "$out" ] || fail "systemd-analyze verify: $out"
fi
[ "$(pkg-config --modversion metactor-core)" = "$(sed -n 's/^project(metactor VERSION \([0-9.]*\).*/\1/p' "$MT_SOURCE_DIR/CMakeLists.txt")" ] \
    || fail "pkg-config metactor-core"
cc -o "$MT_WORK_DIR/example" "$MT_SOURCE_DIR/tests/install/example.c" \
    $(pkg-config --cflags --libs metactor-core) || fail "the example does not build"
[ "$("$MT_WORK_DIR/example")" = 42 ] || fail "the example does not print 42"

apt-get remove --purge -y -qq metactor libmetactor-core-dev >/dev/null || fail "apt-get remove"
for f in /usr/bin/metactord /usr/bin/metactl /lib/systemd/system/metactord.service \
         /etc/metactor /usr/include/metactor /usr/share/man/man8/metactord.8; do
    [ ! -e "$f" ] || fail "$f left after removal"
done
! getent passwd metactor >/dev/null || fail "the user metactor is left after purge"
echo "ops_package: ok"
