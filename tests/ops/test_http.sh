#!/usr/bin/env bash
# ops_http — the HTTP listener of a real metactord, with real clients:
#   * /healthz 200, /readyz 200 once the first reload finished, 404 and 405;
#   * /metrics passes `promtool check metrics` (Prometheus's own linter) and
#     holds every counter `metactl stats` shows, with # HELP and # TYPE, the
#     latency histograms and the gauges; requests show up in the histogram;
#   * /readyz turns 503 (naming the database) when the database stops, and
#     200 again when it is back — a private MariaDB of the test's own, as
#     tests/db/test_store_down.c does, so that no other test loses its server;
#   * systemd's notify protocol: READY=1 once serving, STOPPING=1 on SIGTERM
#     (NOTIFY_SOCKET read with socat);
#   * a non-loopback --http is refused without --http-public.
# Every wait is "until it holds, or a generous deadline": nothing is timed.
set -euo pipefail

: "${MT_METACTORD:?} ${MT_METACTL:?} ${MT_MARIADB:?} ${MT_WORK_DIR:?} ${MT_DB_PORT:?} ${MT_HTTP_PORT:?}"
WAIT_S=90
work=$MT_WORK_DIR
rm -rf "$work/run"
mkdir -p "$work/run"
http=127.0.0.1:$MT_HTTP_PORT
req=tcp://127.0.0.1:$((MT_HTTP_PORT + 1))
pub=tcp://127.0.0.1:$((MT_HTTP_PORT + 2))
dbdir=$work/mariadb
log=$work/run/metactord.log
pid=
socat_pid=

fail() {
    echo "FAIL: $*" >&2
    echo "---- metactord log" >&2
    cat "$log" >&2 || true
    exit 1
}

cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    [ -n "$socat_pid" ] && kill "$socat_pid" 2>/dev/null || true
    MT_DB_PORT=$MT_DB_PORT "$MT_MARIADB" stop "$dbdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT

db() { MT_DB_PORT=$MT_DB_PORT "$MT_MARIADB" "$1" "$dbdir" >/dev/null; }

# status PATH → the HTTP status code (000: no answer)
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$http$1" || true; }

# until DESCRIPTION COMMAND...: retries every 0.2 s until COMMAND succeeds.
until_ok() {
    local what=$1 deadline=$((SECONDS + WAIT_S))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || fail "still not true after ${WAIT_S}s: $what"
        sleep 0.2
    done
}

is_status() { [ "$(status "$1")" = "$2" ]; }

command -v curl >/dev/null || fail "curl is missing (scripts/deps installs it)"
command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus; scripts/deps installs it)"
command -v socat >/dev/null || fail "socat is missing (scripts/deps installs it)"

db start
base=$(MT_DB_PORT=$MT_DB_PORT "$MT_MARIADB" dsn "$dbdir" --no-password)
dsn=${base%%\?*}
dsn="${dsn%/*}/metactor_ops_http?${base#*\?}"
export METACTOR_DB_PASSWORD
METACTOR_DB_PASSWORD=$(cat "$dbdir/password")

# ---- a non-loopback listener needs --http-public ----------------------------
if out=$("$MT_METACTORD" --db "$dsn" --endpoint "$req" --publish "$pub" \
         --http "0.0.0.0:$MT_HTTP_PORT" 2>&1); then
    fail "--http 0.0.0.0 without --http-public was accepted"
fi
grep -q -- "--http-public" <<<"$out" || fail "the refusal does not name --http-public: $out"

# ---- start, with a notify socket as systemd would give ----------------------
socat -u UNIX-RECV:"$work/run/notify" OPEN:"$work/run/notify.log",creat,append &
socat_pid=$!
until_ok "socat listens" test -S "$work/run/notify"
NOTIFY_SOCKET=$work/run/notify "$MT_METACTORD" --db "$dsn" --endpoint "$req" --publish "$pub" \
    --http "$http" --reload-interval 1s --beat-interval 200ms --alive-window 1s >"$log" 2>&1 &
pid=$!

until_ok "/healthz answers 200" is_status /healthz 200
until_ok "/readyz answers 200" is_status /readyz 200
until_ok "READY=1 was notified" grep -q "READY=1" "$work/run/notify.log"
[ "$(curl -s "http://$http/healthz")" = "ok" ] || fail "/healthz body"
is_status /nothing 404 || fail "an unknown path is not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$http/metrics")" = 405 ] \
    || fail "POST is not 405"

# ---- /metrics ---------------------------------------------------------------
ctl() { "$MT_METACTL" -e "$req" "$@"; }
ctl node register ops-n1 --host-ip 10.0.0.1 --grpc-port 9000 >/dev/null
ctl node heartbeat ops-n1 --ready >/dev/null
metrics=$work/run/metrics.txt
has_requests() {
    curl -s "http://$http/metrics" >"$metrics"
    grep -q '^metactor_request_duration_seconds_count{op="node.heartbeat"} [1-9]' "$metrics" \
        && grep -q '^metactor_nodes 1$' "$metrics"
}
until_ok "the heartbeat and the node show in /metrics" has_requests
promtool check metrics <"$metrics" || fail "promtool check metrics"
# Every counter of replica.stats, under its name (+ _total if a counter).
ctl stats | awk 'NR > 1 {print $1}' | while read -r name; do
    [ -n "$name" ] || continue
    grep -Eq "^# TYPE metactor_${name}(_total)? (counter|gauge)$" "$metrics" \
        || fail "replica.stats counter '$name' has no typed metric in /metrics"
    grep -Eq "^# HELP metactor_${name}(_total)? " "$metrics" \
        || fail "replica.stats counter '$name' has no HELP in /metrics"
done
for m in metactor_store_commit_duration_seconds metactor_reload_duration_seconds \
         metactor_notice_convergence_seconds; do
    grep -q "^# TYPE $m histogram$" "$metrics" || fail "no histogram $m"
    grep -q "^${m}_bucket{le=\"+Inf\"} " "$metrics" || fail "no +Inf bucket of $m"
done
for m in metactor_peers metactor_nodes_healthy metactor_requests_in_flight \
         metactor_db_clock_offset_seconds metactor_ready; do
    grep -q "^# TYPE $m gauge$" "$metrics" || fail "no gauge $m"
done

# ---- metactl: contexts of its config file, endpoints to fail over -----------
cfg=$work/run/metactl.cfg
cat >"$cfg" <<CFG
current = "ops"
context
    ops
        endpoint = "tcp://127.0.0.1:$((MT_HTTP_PORT + 3)),$req"
        timeout = "1s"
        output = "json"
    other
        endpoint = "tcp://127.0.0.1:$((MT_HTTP_PORT + 4))"
CFG
shown=$(METACTL_CONFIG=$cfg "$MT_METACTL" config)
grep -q "context:  ops (current in the file)" <<<"$shown" || fail "metactl config: $shown"
grep -q "contexts: ops other" <<<"$shown" || fail "metactl config: $shown"
grep -q "timeout     1000 ms" <<<"$shown" || fail "metactl config: $shown"
# the first endpoint listens nowhere: no reply in time, then the second answers
out=$(METACTL_CONFIG=$cfg "$MT_METACTL" node get ops-n1 2>"$work/run/failover.err") \
    || fail "no failover: $(cat "$work/run/failover.err")"
[ "${out:0:1}" = "{" ] || fail "the context's output json was not used: $out"
grep -q "trying $req" "$work/run/failover.err" || fail "failover not reported"
# flags and the environment win over the context
METACTL_CONFIG=$cfg "$MT_METACTL" --context other -e "$req" -o table -t 10s node get ops-n1 \
    | grep -q "ops-n1" || fail "-e over the context"
rc=0
METACTL_CONFIG=$cfg METACTL_CONTEXT=nope "$MT_METACTL" stats 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "an unknown context must be a usage error (exit $rc)"
rc=0
"$MT_METACTL" -e "$req" -t 2x stats 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "-t 2x must be a usage error (exit $rc)"

# ---- /readyz follows the database -------------------------------------------
db stop
until_ok "/readyz answers 503 with the database down" is_status /readyz 503
curl -s "http://$http/readyz" | grep -q "database" || fail "503 without naming the database"
is_status /healthz 200 || fail "/healthz must stay 200 while the database is away"
db start
until_ok "/readyz answers 200 with the database back" is_status /readyz 200

# ---- SIGTERM: STOPPING=1, then a clean exit ---------------------------------
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "metactord exited $rc after SIGTERM"
until_ok "STOPPING=1 was notified" grep -q "STOPPING=1" "$work/run/notify.log"
echo "ops_http: ok"
