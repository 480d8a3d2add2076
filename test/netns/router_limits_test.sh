#!/usr/bin/env bash
# router_limits_test.sh: enftun-router's session limits and timers, end to
# end in network namespaces (CTest: netns.router_limits_test; 77 = skipped).
#
# Topology (namespaces "et<PID>-<name>", underlay = veth pairs):
#
#   c1 ──vr── fd00:100::2 ═══ fd00:100::1 ──vc1─┐
#   c2 ──vr── fd00:101::2 ═══ fd00:101::1 ──vc2─┤ r: enftun-router, port 4443,
#   x  ──vr── fd00:102::2 ═══ fd00:102::1 ──vx──┘    router.address fd00:e::1
#
#   c1 (fd00:e::5) and c2 (fd00:e::6) run enftun with a short heartbeat
#   (a probe at least every period + timeout = 2 s), so they are never idle. x runs raw peers (`openssl s_client`, or a bare
#   TCP connect); its TCP receive buffer is tiny, so a peer there that stops
#   reading fills its window at once.
#
# Steps: a a second session for c1's address replaces the first; e a TCP
# connect that never speaks TLS is closed after first_byte_timeout (here
# capped by handshake_timeout), and summarised in the log, not warned; c a
# silent TLS session is closed after idle_timeout; d a peer that stops
# reading overflows its queue: drops are counted, the router stays healthy;
# b SIGTERM stops the router (exit 0, close_notify to the clients); with
# max_sessions reached a further connection is refused; f step a again, at
# max_sessions (2): a client's new connection still replaces its own session.
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
readonly R_ADDR=fd00:e::1 C1_ADDR=fd00:e::5 C2_ADDR=fd00:e::6 P3_ADDR=fd00:e::7
readonly HANDSHAKE_MS=1500 IDLE_MS=5000
PKI=""

ping_once() {
    et_exec "$1" ping -6 -n -c 1 -W 1 "$2"
}

# ------------------------------------------------------------- topology

make_topology() {
    hub_topology
    # A receive window that fills after a few KiB (step d).
    et_exec x sysctl -q -w net.ipv4.tcp_rmem="4096 8192 8192"
}

make_pki() {
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip fd00:102::1 "$PKI" c1="$C1_ADDR" c2="$C2_ADDR" p3="$P3_ADDR"
}

# write_confs [ROUTER-OPTION]...
write_confs() {
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1,fd00:102::1 \
        address="$R_ADDR" cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_dev= handshake_timeout="$HANDSHAKE_MS" idle_timeout="$IDLE_MS" "$@"
    local name n=0
    for name in c1 c2; do
        write_client_conf "$ET_TMP/$name.conf" ca="$PKI/ca.pem" hosts="fd00:10$n::1" \
            cert="$PKI/$name.pem" key="$PKI/$name.key" \
            heartbeat_period=500 heartbeat_timeout=1500
        n=$((n + 1))
    done
}

# start_raw_peer NAME CERT [FRAMES]: openssl s_client in x with CERT's
# certificate, sending FRAMES (default nothing) after the handshake; what it
# receives goes to $ET_TMP/NAME.out (binary, kept out of the log). The PID
# is openssl's own (bash execs it, no `timeout` wrapper), so SIGSTOP stops
# it; -quiet implies -ign_eof: it stays until the router closes it.
start_raw_peer() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    ET_STDIN="${3:-/dev/null}" et_daemon_start "$1" x bash -c 'exec "$@" >"$0"' \
        "$ET_TMP/$1.out" openssl s_client -quiet -nocommands \
        -connect "[fd00:102::1]:4443" -CAfile "$PKI/ca.pem" -verify_return_error \
        -cert "$PKI/$2.pem" -key "$PKI/$2.key"
}

# idle_closed ADDR: the router closed ADDR's session for idleness.
idle_closed() {
    grep -q -F "idle for" <<<"$(grep -F "session closed: $1 from" "$(et_daemon_log router)")"
}

# ----------------------------------------------------------------- steps

# a: c1 is up; a raw peer with c1's certificate takes its address over. The
# router closes c1's session (close_notify) and answers the new one.
step_a() {
    local ok=0 replaced lost
    replaced="$(et_log_count router "session for $C1_ADDR from")"
    lost="$(et_log_count c1 "lost: peer closed the tunnel (close_notify)")"
    et_hex_to_file "$(et_frame_hex "$(et_icmp6_echo_hex "$C1_ADDR" fe80::1 1)")" \
        "$ET_TMP/echo.bin"
    start_raw_peer rawc1 c1 "$ET_TMP/echo.bin"
    check "router logged 'session for $C1_ADDR ... replaced by'" \
        et_wait_for -d router log_count_above router "session for $C1_ADDR from" "$replaced" ||
        ok=1
    check "router says 'replaced by'" et_log_has router "replaced by [fd00:102::2]" || ok=1
    check "c1's session was closed with close_notify" et_wait_for -d c1 \
        log_count_above c1 "lost: peer closed the tunnel (close_notify)" "$lost" || ok=1
    check "the new session works: its echo request was answered" \
        et_wait_for -d rawc1 grep -q -a -F "enftun!!" "$ET_TMP/rawc1.out" || ok=1
    et_daemon_stop rawc1
    check "c1 reconnects and takes its address back" \
        et_wait_for -t 60 -d c1 ping_once c1 "$R_ADDR" || ok=1
    return "$ok"
}

summary_names_bare() {
    local lines
    lines="$(grep -F "failed in the last" "$(et_daemon_log router)" | grep -F "first-byte timeout")" ||
        return 1
    grep -q -F "fd00:102::2 (" <<<"$lines"
}

# e: a TCP connection that never starts a handshake is closed after
# first_byte_timeout (the default 3 s, capped by handshake_timeout 1.5 s);
# the log gets one summary line for it, not a warning of its own.
step_e() {
    local ok=0 before summaries
    before="$(et_daemon_stat router first-byte-timeout)"
    summaries="$(et_log_count router "failed in the last")"
    et_daemon_start bare x timeout 60 bash -c 'exec 3<>/dev/tcp/fd00:102::1/4443 && cat <&3'
    check "the connection was closed" et_wait_for -d router et_daemon_exited bare || ok=1
    et_daemon_reap bare
    check_num "bare client's exit status (0: EOF, 124: never closed)" "$ET_LAST_STATUS" -eq 0 ||
        ok=1
    check_num "first-byte-timeout count" "$(et_daemon_stat router first-byte-timeout)" -gt \
        "${before:-0}" || ok=1
    check "router logged a summary: 'N handshake(s) failed in the last 10 s (...)'" \
        et_wait_for -d router log_count_above router "failed in the last" "$summaries" || ok=1
    check "the summary names the reason and the source" summary_names_bare || ok=1
    check_not "no per-connection warning 'handshake failed from'" \
        et_log_has router "handshake failed from" || ok=1
    return "$ok"
}

# c: a TLS session that sends nothing is closed after idle_timeout; the
# clients (a heartbeat at least every 2 s) are not.
step_c() {
    local ok=0 ups
    ups="$(et_log_count router "session up: $P3_ADDR")"
    start_raw_peer rawidle p3
    check "router accepted the silent peer" \
        et_wait_for -d router log_count_above router "session up: $P3_ADDR" "$ups" || ok=1
    check "router closed it: 'idle for'" et_wait_for -d router idle_closed "$P3_ADDR" || ok=1
    check_not "c1 was not closed for idleness" idle_closed "$C1_ADDR" || ok=1
    check_not "c2 was not closed for idleness" idle_closed "$C2_ADDR" || ok=1
    check_num "idle-closed count" "$(et_daemon_stat router idle-closed)" -ge 1 || ok=1
    et_daemon_stop rawidle
    return "$ok"
}

# c1_read_since RX N: c1's TUN reads are at least RX + N.
c1_read_since() {
    local now
    now="$(et_daemon_stat c1 rx)" || return 1
    ((now >= $1 + $2))
}

# d: a peer that stops reading: what is sent to it overflows its bounded
# queue; the router drops and counts, and keeps serving everyone else.
step_d() {
    local ok=0 ups drops rx
    ups="$(et_log_count router "session up: $P3_ADDR")"
    start_raw_peer rawstuck p3
    check "router accepted the peer" \
        et_wait_for -d router log_count_above router "session up: $P3_ADDR" "$ups" || ok=1
    kill -STOP "$(et_daemon_pid rawstuck)"
    drops="$(et_daemon_stat router queue-full)"
    rx="$(et_daemon_stat c1 rx)"
    # ~3.6 MB at once (root may preload), far more than queue_limit plus a
    # socket buffer the peer's 8 KiB window keeps small.
    et_exec c1 ping -6 -n -q -c 3000 -l 3000 -s 1200 -W 1 "$P3_ADDR" >/dev/null 2>&1 || true
    check_num "queue-full drops counted" \
        "$(et_daemon_stat router queue-full)" -gt "${drops:-0}" || ok=1
    # The same drops in `enftun-router status --json`, on the stuck peer's session.
    check_num "status --json: the stuck session's queue_drops" "$("$ET_BIN_DIR/enftun-router" \
        status -c "$ET_TMP/router.conf" --json | jq ".session_list[] |
        select(.address == \"$P3_ADDR\") | .queue_drops")" -gt 0 || ok=1
    check "router still running" et_daemon_running router || ok=1
    # c1 kept reading its TUN (queue 5000, so nothing was lost before it):
    # the drops are the router's, at the stuck peer's queue. A client whose
    # TUN stayed paused after backpressure (a heartbeat's flush emptied the
    # writer, and no on_send_drained came) read ~300 and kept the rest.
    check "c1 read the whole flood from its TUN" et_wait_for -d c1 c1_read_since "$rx" 3000 ||
        ok=1
    check "c1 still pings $R_ADDR" et_exec c1 ping -6 -n -c 3 -W 2 "$R_ADDR" || ok=1
    check "c1 still pings c2" et_exec c1 ping -6 -n -c 3 -W 2 "$C2_ADDR" || ok=1
    kill -CONT "$(et_daemon_pid rawstuck)"
    et_daemon_stop rawstuck
    return "$ok"
}

# b: the router stops on SIGTERM (exit 0, close_notify to its clients) and
# comes back with max_sessions = 2; with both clients up, a third connection
# is refused at once, and the clients keep working.
step_b() {
    local ok=0 refused ups lost1 lost2
    lost1="$(et_log_count c1 "lost: peer closed the tunnel (close_notify)")"
    lost2="$(et_log_count c2 "lost: peer closed the tunnel (close_notify)")"
    et_daemon_stop router # SIGTERM
    check_num "router's exit status after SIGTERM" "$ET_LAST_STATUS" -eq 0 || ok=1
    check "c1 got the router's close_notify" et_wait_for -d c1 \
        log_count_above c1 "lost: peer closed the tunnel (close_notify)" "$lost1" || ok=1
    check "c2 got the router's close_notify" et_wait_for -d c2 \
        log_count_above c2 "lost: peer closed the tunnel (close_notify)" "$lost2" || ok=1
    write_confs max_sessions=2
    check "router restarts with max_sessions = 2" hub_start_router || ok=1
    check "c1 and c2 reconnect" hub_clients_up "$R_ADDR" || ok=1
    refused="$(et_log_count router "max_sessions (2) reached")"
    ups="$(et_log_count router "session up: $P3_ADDR")"
    start_raw_peer rawfull p3
    check "router logged 'max_sessions (2) reached'" \
        et_wait_for -d router log_count_above router "max_sessions (2) reached" "$refused" || ok=1
    check "the refused peer's connection was closed" et_wait_for et_daemon_exited rawfull || ok=1
    et_daemon_stop rawfull
    check_num "no session for the refused peer" \
        "$(et_log_count router "session up: $P3_ADDR")" -eq "$ups" || ok=1
    check_num "refused-full count" "$(et_daemon_stat router refused-full)" -ge 1 || ok=1
    check "c1 still pings c2" et_exec c1 ping -6 -n -c 3 -W 2 "$C2_ADDR" || ok=1
    return "$ok"
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "a|a second session for an address replaces the first|step_a|"
        "e|a connection that never handshakes is closed after first_byte_timeout|step_e|"
        "c|a silent session is closed after idle_timeout|step_c|"
        "d|a peer that stops reading: queue overflow drops are counted|step_d|"
        "b|SIGTERM stops the router cleanly; at max_sessions a connection is refused|step_b|"
        "f|at max_sessions a client's new connection still replaces its session|step_a|"
    )
    et_init
    echo "router_limits_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    et_require_bins enftun enftun-router
    make_topology
    make_pki
    write_confs
    hub_up_then_run "$R_ADDR" "${steps[@]}"
    et_summary router_limits_test
}

main "$@"
