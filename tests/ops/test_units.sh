#!/usr/bin/env bash
# ops_units — the systemd units pass `systemd-analyze verify` (syntax,
# directives this systemd knows, the binary executable), the template with an
# instance too, and keep what the issue asks of them: Type=notify, a
# dedicated user, the hardening. The binary is this build's (the units name
# /usr/bin/metactord, replaced in a scratch copy). Skipped (77) only when
# systemd-analyze is absent.
set -euo pipefail
: "${MT_UNITS_DIR:?} ${MT_METACTORD:?} ${MT_WORK_DIR:?}"
if ! command -v systemd-analyze >/dev/null; then
    echo "ops_units: systemd-analyze not installed: skipped"
    exit 77
fi
rm -rf "$MT_WORK_DIR"
mkdir -p "$MT_WORK_DIR"
for u in metactord.service metactord@.service; do
    sed "s|/usr/bin/metactord|$MT_METACTORD|" "$MT_UNITS_DIR/$u" >"$MT_WORK_DIR/$u"
    for want in '^Type=notify$' '^User=metactor$' '^NoNewPrivileges=yes$' \
                '^ProtectSystem=strict$' '^PrivateTmp=yes$' '^CapabilityBoundingSet=$' \
                '^SystemCallFilter=@system-service$' '^ExecStart=/usr/bin/metactord$'; do
        grep -q "$want" "$MT_UNITS_DIR/$u" || { echo "FAIL: $u lacks $want"; exit 1; }
    done
done
grep -q '^Environment=METACTOR_CONFIG=/etc/metactor/%i.cfg$' "$MT_UNITS_DIR/metactord@.service" \
    || { echo "FAIL: the template does not read /etc/metactor/%i.cfg"; exit 1; }
# --man=no: the manual pages are checked by the package test, once installed.
out=$(systemd-analyze verify --man=no "$MT_WORK_DIR/metactord.service" \
      "$MT_WORK_DIR/metactord@r0.service" 2>&1) || { echo "FAIL: $out"; exit 1; }
[ -z "$out" ] || { echo "FAIL: systemd-analyze verify says: $out"; exit 1; }
echo "ops_units: ok"
