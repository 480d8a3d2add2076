#!/usr/bin/env bash
# router_status_test.sh: `enftun-router status` (table, --json, --metrics)
# over the router's control socket, and router.metrics_file, end to end in
# network namespaces (CTest: netns.router_status_test; 77 = skipped).
#
# Topology (hub_lib.sh; namespaces "et<PID>-<name>", underlay = veth pairs):
#
#   c1 ──vr── fd00:100::2 ═══ fd00:100::1 ──vc1─┐
#   c2 ──vr── fd00:101::2 ═══ fd00:101::1 ──vc2─┤ r: enftun-router, port 4443,
#   x  ──vr── fd00:102::2 ═══ fd00:102::1 ──vx──┘    router.address fd00:e::1
#
#   c1 (fd00:e::5) and c2 (fd00:e::6) run enftun; x runs peers that fail
#   their handshake. The control socket and the metrics file are in the
#   test's folder (write_router_conf), asked from the root namespace: a Unix
#   socket is a file, not bound to a network namespace.
#
# Steps: a both sessions are listed (table, JSON, metrics) with their
# address, peer and TLS version; b pings between c1 and c2 move the bytes
# and packets of both sessions and the totals; c a handshake without a
# client certificate and a connection that is not TLS show up in the
# failure counts by reason; d a session disappears when its client stops;
# e the metrics file is rewritten, parses as OpenMetrics and follows the
# sessions; g 400 requests in a tight loop get at most the answer budget
# (control/answer_budget.hpp) in full and the rest "error: busy", each
# counted in the control socket's own counters (JSON control.busy, the
# table's control row, the metrics file), and answers come again after; f when the router stops, the socket and the metrics file go and
# `status` says no router answers.
#
# The control server's own bounds (garbage, huge, slow requests, too many
# peers) are control_test's (unit), on the same server.
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs/certs.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=hub_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 C1_ADDR=fd00:e::5 C2_ADDR=fd00:e::6
# One ping's IPv6 packet: 40 (IPv6) + 8 (ICMPv6) + payload.
readonly PING_SIZE=1000 PING_COUNT=5 PING_PACKET=1048
# Debian's python3 (install-deps), whatever else is first on PATH.
readonly PY=/usr/bin/python3
PKI=""

ping_once() {
    et_exec "$1" ping -6 -n -c 1 -W 1 "$2"
}

# rstatus [ARG]...: enftun-router status -c the router's config.
rstatus() {
    "$ET_BIN_DIR/enftun-router" status -c "$ET_TMP/router.conf" "$@"
}

# rjson FILTER: jq -r FILTER on `status --json`.
rjson() {
    rstatus --json | jq -e -r "$1"
}

# om_value FILE SAMPLE: the value of SAMPLE ("name" or 'name{label="v"}') in
# FILE, parsed as OpenMetrics by python3-prometheus-client's parser (which
# refuses text the format does not allow: no "# EOF", a counter sample
# without _total, a unit that is not the name's suffix, ...).
om_value() {
    "$PY" - "$1" "$2" <<'EOF'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families

with open(sys.argv[1]) as f:
    text = f.read()
for family in text_string_to_metric_families(text):
    for s in family.samples:
        labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
        if s.name + ("{%s}" % labels if labels else "") == sys.argv[2]:
            print(int(s.value) if float(s.value).is_integer() else s.value)
            sys.exit(0)
sys.exit("no sample " + sys.argv[2])
EOF
}

# prom_text_ok FILE: FILE parses as the older Prometheus text format, the
# one node_exporter's textfile collector reads.
prom_text_ok() {
    "$PY" -c 'import sys
from prometheus_client.parser import text_string_to_metric_families as parse
with open(sys.argv[1]) as f:
    assert list(parse(f.read()))' "$1"
}

# metric SAMPLE: its value in `status --metrics`.
metric() {
    rstatus --metrics >"$ET_TMP/metrics.txt" && om_value "$ET_TMP/metrics.txt" "$1"
}

# ------------------------------------------------------------- topology

make_pki() {
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip fd00:102::1 "$PKI" c1="$C1_ADDR" c2="$C2_ADDR"
}

write_confs() {
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1,fd00:102::1 \
        address="$R_ADDR" cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_dev= metrics_file="$ET_TMP/prom/router.prom"
    local name n=0
    for name in c1 c2; do
        write_client_conf "$ET_TMP/$name.conf" ca="$PKI/ca.pem" hosts="fd00:10$n::1" \
            cert="$PKI/$name.pem" key="$PKI/$name.key"
        n=$((n + 1))
    done
    mkdir -p "$ET_TMP/prom"
}

# session_field ADDR FIELD: FIELD of ADDR's entry in session_list.
session_field() {
    rjson ".session_list[] | select(.address == \"$1\") | .$2"
}

# json_is FILTER VALUE: `status --json | jq FILTER` prints VALUE.
json_is() {
    [[ $(rjson "$1") == "$2" ]]
}

# ----------------------------------------------------------------- steps

# a: both sessions, in all three outputs.
step_a() {
    local ok=0
    check "status --json: 2 sessions" json_is .sessions 2 || ok=1
    check "status --json: 2 since start" json_is .sessions_total 2 || ok=1
    check "c1's session: its peer is c1's underlay address" \
        json_is "[.session_list[] | select(.address == \"$C1_ADDR\") | .peer | \
            startswith(\"[fd00:100::2]:\")] == [true]" true || ok=1
    check "c2's session: its peer is c2's underlay address" \
        json_is "[.session_list[] | select(.address == \"$C2_ADDR\") | .peer | \
            startswith(\"[fd00:101::2]:\")] == [true]" true || ok=1
    check "c1's session: TLSv1.3" json_is "$(printf '.session_list[] | select(.address == "%s")
        | .tls_version' "$C1_ADDR")" TLSv1.3 || ok=1
    check "c1's session: its cipher is one name, and protocol 2" \
        json_is "$(printf '.session_list[] | select(.address == "%s")
        | "\\(.tls_cipher) \\(.protocol)"' "$C1_ADDR")" "TLS_AES_256_GCM_SHA384 2" || ok=1
    rstatus >"$ET_TMP/status.txt" || ok=1
    sed 's/^/    | /' "$ET_TMP/status.txt"
    check "the table says '2 now, 2 since start'" \
        grep -q -E '^sessions +2 now, 2 since start$' "$ET_TMP/status.txt" || ok=1
    # The last columns: TLS version and wire protocol version (2: both speak it).
    check "the table has a line for c1's session" \
        grep -q -E "^$C1_ADDR +\[fd00:100::2\]:[0-9]+ .* TLSv1.3 +2$" "$ET_TMP/status.txt" || ok=1
    check "the table has a line for c2's session" \
        grep -q -E "^$C2_ADDR +\[fd00:101::2\]:[0-9]+ .* TLSv1.3 +2$" "$ET_TMP/status.txt" || ok=1
    check "no IPV4 column on an IPv6-only router" \
        grep -q -E "^ADDRESS +PEER +UPTIME " "$ET_TMP/status.txt" || ok=1
    check_num "--metrics: enftun_router_sessions" "$(metric enftun_router_sessions)" -eq 2 || ok=1
    return "$ok"
}

# b: PING_COUNT pings of PING_PACKET bytes from c1 to c2 go through the
# router both ways: each session counts them, and so do the totals.
step_b() {
    local ok=0 c1_rx c1_tx c2_rx c2_tx rx tx om_rx least
    c1_rx="$(session_field "$C1_ADDR" rx_bytes)"
    c1_tx="$(session_field "$C1_ADDR" tx_bytes)"
    c2_rx="$(session_field "$C2_ADDR" rx_packets)"
    c2_tx="$(session_field "$C2_ADDR" tx_packets)"
    rx="$(rjson .from_clients.bytes)"
    tx="$(rjson .to_clients.packets)"
    om_rx="$(metric 'enftun_router_bytes_total{direction="rx"}')"
    check "$PING_COUNT pings of $PING_SIZE bytes from c1 to c2" et_exec c1 ping -6 -n -q \
        -c "$PING_COUNT" -i 0.2 -W 2 -s "$PING_SIZE" "$C2_ADDR" || ok=1
    least=$((PING_COUNT * PING_PACKET))
    check_num "c1's session: rx_bytes grew by at least $least" \
        "$(($(session_field "$C1_ADDR" rx_bytes) - c1_rx))" -ge "$least" || ok=1
    check_num "c1's session: tx_bytes (the replies) grew by at least $least" \
        "$(($(session_field "$C1_ADDR" tx_bytes) - c1_tx))" -ge "$least" || ok=1
    check_num "c2's session: tx_packets grew by at least $PING_COUNT" \
        "$(($(session_field "$C2_ADDR" tx_packets) - c2_tx))" -ge "$PING_COUNT" || ok=1
    check_num "c2's session: rx_packets (the replies) grew by at least $PING_COUNT" \
        "$(($(session_field "$C2_ADDR" rx_packets) - c2_rx))" -ge "$PING_COUNT" || ok=1
    check_num "total from_clients.bytes grew by at least $((2 * least))" \
        "$(($(rjson .from_clients.bytes) - rx))" -ge $((2 * least)) || ok=1
    check_num "total to_clients.packets grew by at least $((2 * PING_COUNT))" \
        "$(($(rjson .to_clients.packets) - tx))" -ge $((2 * PING_COUNT)) || ok=1
    check_num "--metrics: enftun_router_bytes_total{direction=\"rx\"} grew by at least \
$((2 * least))" "$(($(metric 'enftun_router_bytes_total{direction="rx"}') - om_rx))" \
        -ge $((2 * least)) || ok=1
    check_num "no queue drops for c1" "$(session_field "$C1_ADDR" queue_drops)" -eq 0 || ok=1
    return "$ok"
}

# failures_above REASON N: handshake_failures.REASON > N.
failures_above() {
    (($(rjson ".handshake_failures.$1") > $2))
}

# c: from x, a TLS handshake without a client certificate (refused by the
# router: reason "certificate") and a plain-text request (reason "not_tls").
step_c() {
    local ok=0 cert not_tls om_cert
    cert="$(rjson .handshake_failures.certificate)"
    not_tls="$(rjson .handshake_failures.not_tls)"
    om_cert="$(metric 'enftun_router_handshake_failures_total{reason="certificate"}')"
    et_exec x timeout 10 openssl s_client -connect "[fd00:102::1]:4443" \
        -CAfile "$PKI/ca.pem" </dev/null >"$ET_TMP/nocert.out" 2>&1 || true
    check "the handshake without a certificate is counted: certificate > $cert" \
        et_wait_for -d router failures_above certificate "$cert" || ok=1
    # shellcheck disable=SC2016 # expanded by the inner bash
    et_exec x timeout 10 bash -c 'exec 3<>/dev/tcp/fd00:102::1/4443 &&
        printf "GET / HTTP/1.0\r\n\r\n" >&3 && cat <&3' >/dev/null 2>&1 || true
    check "the plain-text request is counted: not_tls > $not_tls" \
        et_wait_for -d router failures_above not_tls "$not_tls" || ok=1
    check_num "--metrics: handshake failures for reason=\"certificate\" grew" \
        "$(metric 'enftun_router_handshake_failures_total{reason="certificate"}')" -gt \
        "$om_cert" || ok=1
    check "the table lists the reasons" \
        bash -c '"$@" | grep -E "^handshake failures +.*not_tls [0-9]+.*certificate [0-9]+"' \
        _ "$ET_BIN_DIR/enftun-router" status -c "$ET_TMP/router.conf" || ok=1
    check_num "still 2 sessions" "$(rjson .sessions)" -eq 2 || ok=1
    return "$ok"
}

# only_c1_listed: one session, c1's.
only_c1_listed() {
    json_is '.sessions' 1 && json_is '[.session_list[].address] | join(",")' "$C1_ADDR"
}

# d: c2 stops (close_notify): its session goes from every output.
step_d() {
    local ok=0
    et_daemon_stop c2
    check "status --json lists c1's session only" et_wait_for -d router only_c1_listed || ok=1
    check "sessions_total stays 2" json_is .sessions_total 2 || ok=1
    check_not "the table has no line for c2" \
        bash -c '"$@" | grep -q -F "$0"' "$C2_ADDR" \
        "$ET_BIN_DIR/enftun-router" status -c "$ET_TMP/router.conf" || ok=1
    check_num "--metrics: enftun_router_sessions" "$(metric enftun_router_sessions)" -eq 1 || ok=1
    return "$ok"
}

# metrics_file_sessions N: the metrics file parses and says N sessions.
metrics_file_sessions() {
    [[ $(om_value "$ET_TMP/prom/router.prom" enftun_router_sessions) == "$1" ]]
}

# e: the metrics file (rewritten every 5 s) parses as OpenMetrics, follows
# the sessions, is readable by node_exporter's user, and leaves no temp file.
step_e() {
    local ok=0 file="$ET_TMP/prom/router.prom"
    check "the metrics file exists" test -f "$file" || ok=1
    check "it says 1 session (after c2 left)" et_wait_for -d router metrics_file_sessions 1 || ok=1
    check "it holds the handshake failures by reason" \
        om_value "$file" 'enftun_router_handshake_failures_total{reason="not_tls"}' || ok=1
    check "node_exporter's text format parser reads it too" prom_text_ok "$file" || ok=1
    check "it ends with # EOF" bash -c '[[ $(tail -n 1 "$0") == "# EOF" ]]' "$file" || ok=1
    check "mode 0644" bash -c '[[ $(stat -c %a "$0") == 644 ]]' "$file" || ok=1
    check_not "no temp file left in its folder" \
        bash -c 'ls -A "$0" | grep -v -x router.prom' "$ET_TMP/prom" || ok=1
    hub_start_client c2 || true
    check "c2 back: it says 2 sessions" et_wait_for -t 30 -d router metrics_file_sessions 2 ||
        ok=1
    return "$ok"
}

# poll_storm SOCKET N: N `status` requests from 4 threads, each on a new
# connection sent as soon as the last answer came (a poller in a tight
# loop); prints "FULL BUSY OTHER MS": answers in full, "error: busy: ..."
# answers, anything else, and the milliseconds it all took.
poll_storm() {
    "$PY" - "$1" "$2" <<'EOF2'
import socket, sys, threading, time

path, n = sys.argv[1], int(sys.argv[2])
counts = {"full": 0, "busy": 0, "other": 0}
lock = threading.Lock()
left = [n]

def ask():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(20)
        s.connect(path)
        s.sendall(b"status\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        return data

def run():
    while True:
        with lock:
            if left[0] == 0:
                return
            left[0] -= 1
        try:
            a = ask()
            kind = ("busy" if a.startswith(b"error: busy: at most ")
                    else "full" if a.startswith(b"router ") else "other")
        except OSError:
            kind = "other"
        with lock:
            counts[kind] += 1

t0 = time.monotonic()
threads = [threading.Thread(target=run) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ms = int((time.monotonic() - t0) * 1000)
print(counts["full"], counts["busy"], counts["other"], ms)
EOF2
}

# status_answers: `status` gets a full answer (the table).
status_answers() {
    rstatus | grep -q -E '^router +enftun-router '
}

# json_once_busy_counted: `status --json` asked until it is answered in
# full (every 0.2 s, at most 100 times) into $ET_TMP/after.json; prints how
# many "error: busy" answers it got on the way.
json_once_busy_counted() {
    local n=0 tries
    for tries in $(seq 100); do
        if rstatus --json >"$ET_TMP/after.json"; then
            echo "$n"
            return 0
        fi
        grep -q '^error: busy: ' "$ET_TMP/after.json" && n=$((n + 1))
        sleep 0.2
    done
    echo "no full answer in $tries tries" >&2
    return 1
}

# file_busy_at_least N: the metrics file counts at least N busy answers.
file_busy_at_least() {
    local v
    v="$(om_value "$ET_TMP/prom/router.prom" \
        'enftun_router_control_answers_total{result="busy"}')" && ((v >= $1))
}

# table_busy_at_least N: the table's "control" row ("answered A (busy B,
# errors E), ...") says B >= N.
table_busy_at_least() {
    rstatus | awk -v min="$1" '$1 == "control" && $4 == "(busy" { n = $5 + 0; found = 1 }
        END { exit !(found && n >= min) }'
}

# g: the control socket's answer budget (20 a second, 60 at once: control/
# answer_budget.hpp): 400 requests in a tight loop get at most the budget
# answered in full, the rest "error: busy: ..." (the table is short: one
# token each); the router logs it once, counts every busy answer it gave in
# `control.busy` (JSON), the table and the metrics, and answers in full
# again soon after.
step_g() {
    local ok=0 full busy other ms most log busy0 busy1 more
    log="$(et_daemon_log router)"
    busy0="$(rjson .control.busy)" || busy0=x
    check "--json has control.busy before the storm" [ "$busy0" != x ] || return 1
    read -r full busy other ms < <(poll_storm "$ET_TMP/router.sock" 400)
    echo "    400 requests in ${ms} ms: $full in full, $busy busy, $other other"
    more="$(json_once_busy_counted)" || more=x
    check "a --json after the storm" [ "$more" != x ] || return 1
    busy1="$(jq -r .control.busy "$ET_TMP/after.json")"
    echo "    control.busy $busy0 before, $busy1 after; $more busy answers to the read after"
    check_num "control.busy counts each busy answer the pollers got" \
        "$busy1" -eq $((busy0 + busy + more)) || ok=1
    check_num "control.answered counts them too" "$(jq -r .control.answered "$ET_TMP/after.json")" \
        -ge $((busy1 + full)) || ok=1
    check "control.bytes: the answers' bytes" jq -e '.control.bytes > 0' "$ET_TMP/after.json" ||
        ok=1
    check "the metrics file counts them (result=busy)" \
        et_wait_for -d router file_busy_at_least "$busy1" || ok=1
    # The bucket's 60, and 20 for each second (rounded up) the storm took.
    most=$((60 + 20 * (ms / 1000 + 1)))
    check_num "every request got an answer, full or busy" $((full + busy)) -eq 400 || ok=1
    check_num "answered in full: at most the budget ($most)" "$full" -le "$most" || ok=1
    check_num "answered in full: at least the burst" "$full" -ge 60 || ok=1
    check_num "the rest were told busy" "$busy" -ge $((400 - most)) || ok=1
    check "the router logs the busy answers" \
        et_wait_for -d router grep -q -E "control socket .*: [0-9]+ requests answered busy" \
        "$log" || ok=1
    check_num "one line for the storm (at most one per 10 s)" \
        "$(grep -c -E "control socket .*requests answered busy" "$log")" -le $((ms / 10000 + 1)) ||
        ok=1
    check "a request after the storm is answered in full" \
        et_wait_for -d router status_answers || ok=1
    check "and --json" rjson .sessions || ok=1
    check "the table's control row says busy $busy1 or more" table_busy_at_least "$busy1" ||
        ok=1
    return "$ok"
}

# f: SIGTERM: the socket and the metrics file go; status fails clearly.
step_f() {
    local ok=0 rc=0
    check "the control socket exists" test -S "$ET_TMP/router.sock" || ok=1
    et_daemon_stop router
    check_num "router's exit status after SIGTERM" "$ET_LAST_STATUS" -eq 0 || ok=1
    check_not "the control socket is gone" test -e "$ET_TMP/router.sock" || ok=1
    check_not "the metrics file is gone" test -e "$ET_TMP/prom/router.prom" || ok=1
    rstatus >"$ET_TMP/nostatus.out" 2>&1 || rc=$?
    check_num "status without a router: exit status" "$rc" -eq 1 || ok=1
    check "it says no router answers" grep -q -F "no router answers there" \
        "$ET_TMP/nostatus.out" || ok=1
    return "$ok"
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "a|both sessions are listed with address, peer and TLS version|step_a|"
        "b|pings move each session's bytes and packets and the totals|step_b|a"
        "c|refused handshakes show up in the failure counts by reason|step_c|"
        "d|a session disappears when its client stops|step_d|a"
        "e|the metrics file is rewritten, parses and follows the sessions|step_e|"
        "g|a poller in a tight loop gets the answer budget, then busy|step_g|"
        "f|the socket and the metrics file go with the router|step_f|"
    )
    et_init
    echo "router_status_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    et_require_bins enftun enftun-router
    "$PY" -c 'import prometheus_client.openmetrics.parser' 2>/dev/null ||
        et_die "python3-prometheus-client is not installed (scripts/install-deps)"
    hub_topology
    make_pki
    write_confs
    hub_up_then_run "$R_ADDR" "${steps[@]}"
    et_summary router_status_test
}

main "$@"
