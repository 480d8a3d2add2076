#!/usr/bin/env bash
# status_test.sh: `enftun status` and the client's control socket and
# metrics file (control/, client/client_status.hpp; README "Operating")
# against a real tunnel (CTest: netns.status_test).
#
# Topology: c (enftun, fd00:e::5) ── veth ── r (enftun-router, fd00:e::1).
# The client's control socket and metrics file are in $ET_TMP.
#
# Steps:
#   a. up: `status --json` says up, names the router, our end, TLS 1.3, a
#      heartbeat round trip, the certificate's days left, our PID; the
#      plain table and `--metrics` agree; the metrics file is there, and
#      both texts pass python3-prometheus-client's OpenMetrics and
#      Prometheus parsers;
#   b. a ping through the tunnel moves the byte and packet counters, in the
#      JSON, in --metrics and (within a few intervals) in the file;
#   c. router stopped: backing off with a next attempt time, the reconnect
#      counted with its reason (peer_closed), tunnel_up 0 in both texts;
#      no router named (not the last one); while a connect hangs (SYNs
#      dropped) `connecting_to` names the address tried and `router` is
#      null; failed attempts counted (connect_failed);
#   d. after 8 failed attempts (step c's loss is out of the ring of all
#      ends) the router is back: up again; a forced reconnect (the client's
#      TCP socket killed with ss -K) is counted +1; both losses are in the
#      ring of lost tunnels (JSON and table) with reason and up time;
#   e. the socket under abuse: garbage, a 1 MiB request, a silent peer and
#      more peers than allowed get "error: ..." or are closed, and nobody
#      (setpriv) gets EACCES; the daemon lives and answers afterwards; its
#      own counters (JSON control, table, metrics, file) count the error
#      answers, the peers turned away and the timeouts;
#   f. the CLI: exit 1 with one line when no daemon runs; the socket and
#      the metrics file are gone after a clean stop.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ET_WAIT_TIMEOUT=30
readonly PY=/usr/bin/python3
CONF="" SOCK="" PROM=""

setup() {
    et_router_client_pair
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$ET_TMP/pki" c1=fd00:e::5 >/dev/null
    write_router_conf "$ET_TMP/router.conf" cert="$ET_TMP/pki/router.pem" \
        key="$ET_TMP/pki/router.key" ca="$ET_TMP/pki/ca.pem"
    CONF="$ET_TMP/c1.conf"
    # A folder nobody may enter (so step e's EACCES comes from the socket's
    # own mode, not from a folder on the way).
    chmod 755 "$ET_TMP"
    mkdir -m 755 "$ET_TMP/run" "$ET_TMP/metrics"
    SOCK="$ET_TMP/run/c1.sock"
    PROM="$ET_TMP/metrics/enftun.prom"
    write_client_conf "$CONF" ca="$ET_TMP/pki/ca.pem" cert="$ET_TMP/pki/c1.pem" \
        key="$ET_TMP/pki/c1.key" "prefixes=fd00:e::/64,fd00:f::/64" reconnect_max_delay=2000 \
        connect_timeout=2000 control_socket="$SOCK" metrics_file="$PROM"
    start_router
    et_daemon_start c1 c "$ET_BIN_DIR/enftun" -c "$CONF"
    et_wait_for -d c1 et_link_up c enf0
    et_exec c ip -6 route replace fd00:e::1/128 dev enf0
}

start_router() {
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router listening
}

listening() {
    [[ -n $(et_exec r ss -Hltn "src [fd00:100::1]:4443") ]]
}

# status [ARGS]: `enftun status -c CONF ARGS` (the socket is a path: any
# namespace reaches it).
status() {
    "$ET_BIN_DIR/enftun" status -c "$CONF" "$@"
}

# js FILTER: jq FILTER over a fresh `status --json`.
js() {
    status --json | jq -r "$1"
}

state_is() {
    [[ $(js .state) == "$1" ]]
}

# metric TEXT-FILE NAME{LABELS}: the value of one sample.
metric() {
    awk -v want="$2" '$1 == want { print $2 }' "$1"
}

metrics_now() {
    status --metrics >"$ET_TMP/m.txt" && metric "$ET_TMP/m.txt" "$1"
}

file_metric_is() {
    [[ $(metric "$PROM" "$1") == "$2" ]]
}

parses() {
    local rc=0
    "$PY" "$ET_LIB_DIR/tools/parse_metrics.py" "$1" || rc=$?
    ((rc == 0 || rc == 77)) # 77: prometheus_client not installed
}

step_a() {
    local ok=0
    check "the tunnel comes up (status --json)" et_wait_for -d c1 state_is up || return 1
    status --json >"$ET_TMP/a.json"
    check "router" [ "$(jq -r .router "$ET_TMP/a.json")" = "[fd00:100::1]:4443" ] || ok=1
    check "local end" jq -e '.local | startswith("[fd00:100::2]:")' "$ET_TMP/a.json" || ok=1
    check "TLS 1.3" [ "$(jq -r .tls.version "$ET_TMP/a.json")" = TLSv1.3 ] || ok=1
    check "a cipher, one name" jq -e '.tls.cipher | test("^TLS_[A-Z0-9_]+$")' "$ET_TMP/a.json" ||
        ok=1
    check "wire protocol 2" jq -e '.tls.protocol == 2' "$ET_TMP/a.json" || ok=1
    check "our address and device" \
        [ "$(jq -r '.address + " " + .device' "$ET_TMP/a.json")" = "fd00:e::5 enf0" ] || ok=1
    check "the daemon's PID" [ "$(jq -r .pid "$ET_TMP/a.json")" = "$(et_daemon_pid c1)" ] || ok=1
    check "a heartbeat round trip was measured" \
        jq -e '.heartbeat.rtt_seconds > 0 and .heartbeat.rtt_seconds < 5' "$ET_TMP/a.json" || ok=1
    check "certificate days left" jq -e '.certificate.days_left > 300' "$ET_TMP/a.json" || ok=1
    check "tunnel uptime, process uptime" \
        jq -e '.tunnel_uptime_seconds >= 0 and .uptime_seconds >= .tunnel_uptime_seconds' \
        "$ET_TMP/a.json" || ok=1
    check "no reconnect yet" jq -e '.reconnects.total == 0 and .connects == 1' "$ET_TMP/a.json" ||
        ok=1
    status >"$ET_TMP/a.txt"
    check "the table: state up" grep -E -q '^state +up for ' "$ET_TMP/a.txt" || ok=1
    check "the table: router" grep -E -q '^router +\[fd00:100::1\]:4443$' "$ET_TMP/a.txt" || ok=1
    check "metrics: tunnel up" [ "$(metrics_now enftun_tunnel_up)" = 1 ] || ok=1
    check "metrics: ends with # EOF" [ "$(tail -n 1 "$ET_TMP/m.txt")" = "# EOF" ] || ok=1
    check "metrics: certificate expiry in the future" \
        [ "$(metric "$ET_TMP/m.txt" enftun_certificate_expiry_seconds | cut -d. -f1)" -gt \
        "$(date +%s)" ] || ok=1
    check "the metrics file says up" et_wait_for file_metric_is enftun_tunnel_up 1 || ok=1
    check "no temp file left next to it" [ "$(find "$ET_TMP/metrics" -type f | wc -l)" = 1 ] ||
        ok=1
    check "--metrics parses (OpenMetrics and Prometheus text)" parses "$ET_TMP/m.txt" || ok=1
    check "the metrics file parses" parses "$PROM" || ok=1
    return "$ok"
}

step_b() {
    local ok=0 rx0 tx0 lrx0 mrx0
    rx0="$(js .tun.rx_packets)"
    tx0="$(js .tun.tx_packets)"
    lrx0="$(js .link.rx_bytes)"
    mrx0="$(metrics_now 'enftun_tun_bytes_total{direction="rx"}')"
    check "ping through the tunnel" et_exec c ping -6 -n -c 3 -W 2 fd00:e::1 || ok=1
    check_num "TUN packets read grew by the 3 requests" "$(js .tun.rx_packets)" -ge $((rx0 + 3)) ||
        ok=1
    check_num "TUN packets written grew by the 3 replies" "$(js .tun.tx_packets)" -ge $((tx0 + 3)) ||
        ok=1
    check_num "link bytes received grew" "$(js .link.rx_bytes)" -ge $((lrx0 + 3 * 104)) || ok=1
    check_num "metrics: TUN bytes read grew" \
        "$(metrics_now 'enftun_tun_bytes_total{direction="rx"}')" -ge $((mrx0 + 3 * 104)) || ok=1
    check "the metrics file follows" et_wait_for file_grew "$mrx0" || ok=1
    return "$ok"
}

file_grew() {
    local v
    v="$(metric "$PROM" 'enftun_tun_bytes_total{direction="rx"}')"
    [[ -n $v ]] && ((v >= $1 + 3 * 104))
}

step_c() {
    local ok=0
    et_daemon_stop router 5
    check "backing off once the router is gone" et_wait_for -d c1 state_is backing_off || return 1
    status --json >"$ET_TMP/c.json"
    check "a next attempt time" jq -e '.retry_in_seconds >= 0 and (.retry_at | test("Z$"))' \
        "$ET_TMP/c.json" || ok=1
    check "one tunnel lost, reason peer_closed" \
        jq -e '.reconnects.total == 1 and .reconnects.by_reason.peer_closed == 1' \
        "$ET_TMP/c.json" || ok=1
    check "the reason is listed with its time" \
        jq -e '[.reconnects.recent[] | select(.tunnel_was_up)] | last |
               .reason == "peer_closed" and (.text | test("close_notify")) and
               (.at | test("^20[0-9-]+T[0-9:]+Z$"))' "$ET_TMP/c.json" || ok=1
    check "no TLS while down" jq -e '.tls == null and .tunnel_uptime_seconds == null' \
        "$ET_TMP/c.json" || ok=1
    check "no router while backing off (not the last one)" \
        jq -e '.router == null and .connecting_to == null' "$ET_TMP/c.json" || ok=1
    check "the table: router -" et_wait_for -d c1 table_has '^router +-$' || ok=1
    # SYNs to the router swallowed: each attempt hangs for connect_timeout,
    # in state connecting, naming the address it tries.
    et_exec r nft -f - <<'NFT'
table inet enftun_status {
    chain input { type filter hook input priority -10; tcp dport 4443 drop; }
}
NFT
    check "connecting: connecting_to names the router tried, router null" \
        et_wait_for -d c1 connecting_shown || ok=1
    check "the table: router - (connecting to ...)" \
        et_wait_for -d c1 table_has '^router +- \(connecting to \[fd00:100::1\]:4443\)$' || ok=1
    et_exec r nft delete table inet enftun_status
    check "failed attempts counted (connect_failed)" \
        et_wait_for -d c1 failed_attempts_counted || ok=1
    check "the table: backing off, next attempt" \
        et_wait_for -d c1 table_has '^state +backing_off, next attempt in ' || ok=1
    check "metrics: tunnel down" [ "$(metrics_now enftun_tunnel_up)" = 0 ] || ok=1
    check "metrics: reconnect by reason" \
        [ "$(metric "$ET_TMP/m.txt" 'enftun_reconnects_total{reason="peer_closed"}')" = 1 ] || ok=1
    check "metrics: state backing_off" \
        [ "$(metric "$ET_TMP/m.txt" 'enftun_tunnel_state{state="backing_off"}')" = 1 ] || ok=1
    check "the metrics file says down" et_wait_for file_metric_is enftun_tunnel_up 0 || ok=1
    return "$ok"
}

connecting_shown() {
    [[ $(js '[.state, .connecting_to, .router] | map(tostring) | join(" ")') == \
        "connecting [fd00:100::1]:4443 null" ]]
}

failed_attempts_counted() {
    js '.reconnects.failed_attempts_by_reason.connect_failed // 0' | grep -q -v '^0$'
}

failed_attempts_at_least() {
    (($(js '.reconnects.failed_attempts') >= $1))
}

# lost_rows: the table's "lost" row and the lines under it.
lost_rows() {
    status | awk '/^[a-z]/ { in_lost = ($1 == "lost") } in_lost'
}

# table_lists_both_losses: two lost tunnels, step c's close_notify first,
# each with its up time.
table_lists_both_losses() {
    local -a rows
    mapfile -t rows < <(lost_rows)
    ((${#rows[@]} == 2)) &&
        [[ ${rows[0]} =~ ^lost\ +20[0-9-]+T[0-9:]+Z\ +up\ [0-9].*:\ peer\ closed.*close_notify ]] &&
        [[ ${rows[1]} =~ ^\ +20[0-9-]+T[0-9:]+Z\ +up\ [0-9] && ${rows[1]} != *close_notify* ]]
}

table_has() {
    status | grep -E -q "$1"
}

step_d() {
    local ok=0
    # A back-off long enough to fill the ring of all ends (8) with failed
    # attempts: step c's loss is out of it, and must stay in the ring of
    # lost tunnels.
    check "8 failed attempts while the router is down" \
        et_wait_for -d c1 failed_attempts_at_least 8 || ok=1
    check "step c's loss pushed out of reconnects.recent" \
        jq -e '[.reconnects.recent[] | select(.tunnel_was_up)] | length == 0' \
        <(status --json) || ok=1
    start_router
    check "up again" et_wait_for -d c1 state_is up || return 1
    check "two tunnels brought up, still one lost" \
        jq -e '.connects == 2 and .reconnects.total == 1' <(status --json) || ok=1
    # Forced: the kernel destroys the client's TCP socket (SOCK_DESTROY).
    check "the client's TCP socket killed" \
        killed_tunnel_socket || ok=1
    check "the reconnect is counted" et_wait_for -d c1 lost_total_is 2 || ok=1
    check "up again after it" et_wait_for -d c1 state_is up || ok=1
    status --json >"$ET_TMP/d.json"
    check "both losses in reconnects.lost, with their reasons and up times" \
        jq -e '.reconnects.lost | length == 2 and
               .[0].reason == "peer_closed" and (.[0].text | test("close_notify")) and
               (.[1].reason == "tls_error" or .[1].reason == "socket_error") and
               all(.[]; (.up_seconds | type == "number") and .up_seconds >= 0 and
                        (.at | test("^20[0-9-]+T[0-9:]+Z$")))' \
        "$ET_TMP/d.json" || ok=1
    check "the table lists both under lost" table_lists_both_losses || ok=1
    check_num "metrics: reconnects total 2" \
        "$(status --metrics | awk '/^enftun_reconnects_total/ { n += $2 } END { print n }')" \
        -eq 2 || ok=1
    return "$ok"
}

# killed_tunnel_socket: ss -K the client's connection to port 4443; true if
# ss listed one (it lists the sockets it destroyed).
killed_tunnel_socket() {
    et_exec c ss -H -K -t 'dport = :4443' | grep -q 4443
}

lost_total_is() {
    [[ $(js .reconnects.total) == "$1" ]]
}

# send_raw TIMEOUT: send stdin to the socket, print the answer.
send_raw() {
    timeout "$1" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
data = sys.stdin.buffer.read()
try:
    s.sendall(data)
except OSError:
    pass
out = b""
while True:
    try:
        b = s.recv(65536)
    except OSError:
        break
    if not b:
        break
    out += b
sys.stdout.write(out.decode(errors="replace"))
' "$SOCK"
}

# control_is FIELD: the control socket's own counter FIELD (JSON control).
control_is() {
    js ".control.$1"
}

step_e() {
    local ok=0 pid errors0 away0 timed0 away
    errors0="$(control_is errors)"
    away0="$(control_is turned_away)"
    timed0="$(control_is timed_out)"
    check "--json has the control socket's counters" \
        jq -e '.control | .errors >= 0 and .turned_away >= 0 and .timed_out >= 0' \
        <(status --json) || ok=1
    check "garbage gets an error line" \
        grep -q '^error: ' <(printf 'hello\x01\x02world\n' | send_raw 10) || ok=1
    check "an unknown request gets an error line" \
        grep -q '^error: unknown request' <(printf 'reload\n' | send_raw 10) || ok=1
    check "1 MiB is cut off" \
        grep -q '^error: request too long' <(head -c 1048576 /dev/zero | tr '\0' 's' |
            send_raw 10) || ok=1
    check "a silent peer is closed with error: timeout" \
        grep -q '^error: timeout' <(sleep 4 | send_raw 10) || ok=1
    # Ten silent peers at once: the control server holds 8; the rest are
    # turned away at once with "error: busy".
    local -a peers=()
    for _ in $(seq 10); do
        sleep 3 | send_raw 10 >>"$ET_TMP/busy.out" &
        peers+=("$!")
    done
    wait "${peers[@]}" || true
    check "peers beyond 8 are turned away" grep -q '^error: busy' "$ET_TMP/busy.out" || ok=1
    away="$(grep -c '^error: busy' "$ET_TMP/busy.out")" || true
    check_num "control.errors: the garbage, unknown and 1 MiB requests" \
        "$(control_is errors)" -eq $((errors0 + 3)) || ok=1
    check_num "control.turned_away: each peer told busy ($away)" \
        "$(control_is turned_away)" -eq $((away0 + away)) || ok=1
    check_num "control.timed_out: the silent peers" "$(control_is timed_out)" -gt "$timed0" ||
        ok=1
    check "control.answered and bytes" jq -e '.control.answered > 3 and .control.bytes > 0' \
        <(status --json) || ok=1
    check_num "--metrics: enftun_control_answers_total{result=\"error\"}" \
        "$(metrics_now 'enftun_control_answers_total{result="error"}')" -eq $((errors0 + 3)) ||
        ok=1
    check "the table's control row" grep -q -E '^control +answered [0-9]+ \(busy [0-9]+, errors [1-9]' \
        <(status) || ok=1
    check "the metrics file has the control counters" \
        et_wait_for grep -q '^enftun_control_answer_bytes_total [1-9]' "$PROM" || ok=1
    check "the socket is mode 0660" [ "$(stat -c %a "$SOCK")" = 660 ] || ok=1
    local rc=0
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$ET_BIN_DIR/enftun" status -c "$CONF" >"$ET_TMP/nobody.out" 2>&1 || rc=$?
    check_num "nobody is refused: exit code 1" "$rc" -eq 1 || ok=1
    check "... with one line: no permission" \
        [ "$(grep -c 'no permission' "$ET_TMP/nobody.out")" = 1 ] || ok=1
    check "... and nothing else" [ "$(wc -l <"$ET_TMP/nobody.out")" = 1 ] || ok=1
    # The same user through the group: the refusal above came from the mode.
    chgrp nogroup "$SOCK"
    check "nobody's group may ask" setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$ET_BIN_DIR/enftun" status -c "$CONF" || ok=1
    chgrp root "$SOCK"
    pid="$(et_daemon_pid c1)"
    check "the daemon lives" et_daemon_running c1 || ok=1
    check "and answers" state_is up || ok=1
    check "same PID" [ "$(js .pid)" = "$pid" ] || ok=1
    check "SIGUSR1 still logs the stats" et_daemon_stat c1 connects || ok=1
    return "$ok"
}

step_f() {
    local ok=0
    et_daemon_stop c1 5
    check_num "enftun exited 0" "$ET_LAST_STATUS" -eq 0 || ok=1
    check "the socket is removed" [ ! -e "$SOCK" ] || ok=1
    check "the metrics file is removed" [ ! -e "$PROM" ] || ok=1
    check_not "status without a daemon fails" status || ok=1
    check "... with exit code 1" [ "$(
        status >/dev/null 2>&1
        echo $?
    )" = 1 ] || ok=1
    check "... and one line: not running" \
        [ "$(status 2>&1 | grep -c 'enftun is not running')" = 1 ] || ok=1
    return "$ok"
}

et_init
et_require_bins enftun enftun-router
command -v jq >/dev/null || et_skip "jq not installed"
setup
run_steps \
    "a|up: status --json, table, --metrics and the metrics file|step_a" \
    "b|a ping moves the counters|step_b|a" \
    "c|router stopped: backing off, reason recorded|step_c|a" \
    "d|router back, forced reconnect counted with its reason|step_d|c" \
    "e|the socket under abuse and without permission|step_e|a" \
    "f|the CLI without a daemon; clean stop removes socket and file|step_f|a"
et_summary status_test
