#!/usr/bin/env bash
# router_flood_test.sh: enftun-router against unauthenticated floods and
# client packets to non-global destinations, end to end in network
# namespaces (CTest: netns.router_flood_test; 77 = skipped).
#
# Topology (namespaces "et<PID>-<name>", hub_lib.sh):
#
#   c1 ──vr── fd00:100::2 ═══ fd00:100::1 ──vc1─┐
#   c2 ──vr── fd00:101::2 ═══ fd00:101::1 ──vc2─┤ r: enftun-router on [::]:4443
#   x  ──vr── fd00:102::2 ═══ fd00:102::1 ──vx──┘    (one listening socket),
#                                                    gateway TUN enfr0 fd00:f::1
#   x also holds fd00:102:N::2 (N = 1..40), each its own /64, so its floods
#   come from many sources (the router counts an IPv6 /64 as one source).
#
# The router runs with the default limits: max_handshakes 256,
# max_handshakes_per_source 16, first_byte_timeout 3 s.
#
# Steps: g packets from a client to ff02::1, fe80::2 and ::1 are dropped and
# counted (not-global), never written to the gateway TUN, while a global
# destination is; f while x floods (enftun-flood: 10,000 silent connections
# from one source and 1,000 nine-byte ClientHello headers announcing 128 KiB
# from 40, each re-opened when the router closes it; without the size check
# those would fill the budget with ~150 KiB each), a real client gets
# its tunnel within 2 s, the router's memory stays bounded, the established
# client keeps pinging, and the log holds summaries, not a line per
# connection; h 800 connections from 40 sources that each announce a
# maximal (16 KiB) ClientHello, and send all of it but the last 4 bytes,
# fill the handshake budget with OpenSSL state: memory stays within
# max_handshakes x the per-connection figure; i with the budget full and
# churning (every evicted connection re-opened), a real client still gets
# in within 2 s: a flooding source's oldest is evicted for it, never the
# client's single handshake while a flooding /64 holds more (the policy
# itself is proven in test/unit/handshake_budget_test.cpp).
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs/certs.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=hub_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_lib.sh"
# shellcheck source-path=SCRIPTDIR source=flood_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/flood_lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 C1_ADDR=fd00:e::5 C2_ADDR=fd00:e::6 P3_ADDR=fd00:e::7
readonly TUN_ADDR=fd00:f::1
readonly MAX_HANDSHAKES=256
# Per unauthenticated connection in the TLS handshake, at most (measured
# ~55 KiB, bench/README.md "flood.sh"), and the router's own allowance on top of
# its idle RSS (allocator slack, the summary's source table).
readonly PER_CONN_KIB=64 SLACK_KIB=8192
# ASan's shadow memory, redzones and quarantine change what RSS means: under
# a sanitizer build the memory figures are printed, not asserted.
SANITIZED=0

# check_kib DESC ACTUAL -le LIMIT: check_num, or only a note when sanitized.
check_kib() {
    if ((SANITIZED)); then
        echo "  skip (sanitizer build): $1 ($2 $3 $4)"
        return 0
    fi
    check_num "$@"
}

# How long the real client may take to get its tunnel under the flood.
readonly TUNNEL_UP_MS=2000
PKI=""

# ------------------------------------------------------------- topology

make_pki() {
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip fd00:102::1 "$PKI" c1="$C1_ADDR" c2="$C2_ADDR" p3="$P3_ADDR"
}

write_confs() {
    write_router_conf "$ET_TMP/router.conf" listen=:: address="$R_ADDR" \
        cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_address="$TUN_ADDR" tun_routes=fd00:e::/64
    local name n=0
    for name in c1 c2; do
        write_client_conf "$ET_TMP/$name.conf" ca="$PKI/ca.pem" hosts="fd00:10$n::1" \
            cert="$PKI/$name.pem" key="$PKI/$name.key"
        n=$((n + 1))
    done
}

start_router() {
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router flood_router_listening
}

start_client() {
    et_daemon_start "$1" "$1" "$ET_BIN_DIR/enftun" -c "$ET_TMP/$1.conf"
    et_wait_for -d "$1" et_log_has "$1" "tunnel up" || return 1
    et_exec "$1" ip -6 route replace fd00:e::/64 dev enf0
}

ping_once() {
    et_exec "$1" ping -6 -n -c 1 -W 1 "$2"
}

router_kib() { # FIELD (VmRSS, VmHWM) of the router, in KiB
    awk -v f="$1:" '$1 == f { print $2 }' "/proc/$(et_daemon_pid router)/status"
}

router_warnings() {
    grep -c '^warning: ' "$(et_daemon_log router)" || true
}

# summary_has TEXT: a failure summary line of the router contains TEXT.
summary_has() {
    grep -q -F -- "$1" <<<"$(grep -F "failed in the last" "$(et_daemon_log router)")"
}

# avg_rtt OUT: the average RTT (ms) from ping's summary in file OUT.
avg_rtt() {
    sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$1"
}

# ----------------------------------------------------------------- steps

# g: frames from a certified raw peer (p3) to non-global destinations are
# dropped and counted; the global one after them reaches the gateway TUN
# (and its reply comes back). The TUN's RX counter is what the router wrote.
step_g() {
    local ok=0 rx_before rx_after dropped dst seq=1 hex=""
    dropped="$(et_daemon_stat router not-global)"
    rx_before="$(et_link_stat r enfr0 rx)"
    for dst in ff02::1 fe80::2 ::1 "$TUN_ADDR"; do
        hex+="$(et_frame_hex "$(et_icmp6_echo_hex "$P3_ADDR" "$dst" "$seq")")"
        seq=$((seq + 1))
    done
    et_hex_to_file "$hex" "$ET_TMP/echo.bin"
    # shellcheck disable=SC2016 # expanded by the inner bash
    ET_STDIN="$ET_TMP/echo.bin" et_daemon_start raw x bash -c 'exec "$@" >"$0"' \
        "$ET_TMP/raw.out" openssl s_client -quiet -nocommands \
        -connect "[fd00:102::1]:4443" -CAfile "$PKI/ca.pem" -verify_return_error \
        -cert "$PKI/p3.pem" -key "$PKI/p3.key"
    check "the echo to $TUN_ADDR (global) was answered through the TUN" \
        et_wait_for -d raw grep -q -a -F "enftun!!" "$ET_TMP/raw.out" || ok=1
    rx_after="$(et_link_stat r enfr0 rx)"
    check_num "packets the router wrote to its TUN (only the global one)" \
        "$((rx_after - rx_before))" -eq 1 || ok=1
    check_num "not-global drops counted (ff02::1, fe80::2, ::1)" \
        "$(($(et_daemon_stat router not-global) - dropped))" -eq 3 || ok=1
    et_daemon_stop raw
    return "$ok"
}

# f: the flood; a real client comes up during it.
step_f() {
    local ok=0 rss0 rtt0 rtt1 warn0 t0 t1 up_ms hwm ceiling
    et_exec c1 ping -6 -n -q -c 20 -i 0.05 "$R_ADDR" >"$ET_TMP/ping0.out" 2>&1 || true
    rtt0="$(avg_rtt "$ET_TMP/ping0.out")"
    rss0="$(router_kib VmRSS)"
    warn0="$(router_warnings)"
    echo "  router before the flood: VmRSS ${rss0} KiB; c1 RTT ${rtt0} ms"
    flood_start flood1 fd00:102::2 10000 silent 5000 30 -R
    flood_start flood2 "$(flood_sources 1 40)" 25 oversized 2000 30 -R
    check "flood 1 opened 10,000 silent connections from one source" \
        et_wait_for -d flood1 -d router flood_connects_reached flood1 10000 || ok=1
    check "flood 2 opened 1,000 oversized ClientHello headers from 40 sources" \
        et_wait_for -d flood2 -d router flood_connects_reached flood2 1000 || ok=1
    t0="$(date +%s%N)"
    et_daemon_start c2 c2 "$ET_BIN_DIR/enftun" -c "$ET_TMP/c2.conf"
    check "c2 gets its tunnel during the flood" \
        et_wait_for -d c2 et_log_has c2 "tunnel up" || ok=1
    t1="$(date +%s%N)"
    et_exec c2 ip -6 route replace fd00:e::/64 dev enf0 || true
    up_ms=$(((t1 - t0) / 1000000))
    check_num "ms from c2's start to 'tunnel up' under the flood" "$up_ms" -le "$TUNNEL_UP_MS" ||
        ok=1
    # -w: a late last answer is not a loss (et_ping_answered).
    et_exec c1 ping -6 -n -D -O -c 20 -i 0.05 -w 20 "$R_ADDR" >"$ET_TMP/ping1.out" 2>&1 || true
    rtt1="$(avg_rtt "$ET_TMP/ping1.out")"
    check "c1 (established) keeps pinging under the flood: no loss" \
        et_ping_answered "$ET_TMP/ping1.out" 20 || ok=1
    check "c2 pings c1 through the router under the flood" \
        et_wait_for -t 10 -d c2 ping_once c2 "$C1_ADDR" || ok=1
    check "the floods are still running" et_daemon_running flood1 || ok=1
    hwm="$(router_kib VmHWM)"
    ceiling=$((rss0 + MAX_HANDSHAKES * PER_CONN_KIB + SLACK_KIB))
    echo "  router under the flood: VmRSS $(router_kib VmRSS) KiB, VmHWM $hwm KiB;" \
        "c1 RTT ${rtt1} ms; c2 up in ${up_ms} ms"
    check_kib "router's peak RSS (KiB) within idle + 256 x ${PER_CONN_KIB} KiB + slack" \
        "$hwm" -le "$ceiling" || ok=1
    check_num "per-source refusals counted" "$(et_daemon_stat router refused-source)" \
        -ge 5000 || ok=1
    check_num "oversized ClientHellos refused before TLS (bad-hello)" \
        "$(et_daemon_stat router bad-hello)" -ge 500 || ok=1
    et_daemon_stop flood1
    et_daemon_stop flood2
    check "the router logged a summary of the failures" \
        et_wait_for -d router et_log_has router "failed in the last" || ok=1
    check_num "warning lines the flood caused (summaries only)" \
        "$(($(router_warnings) - warn0))" -le 5 || ok=1
    {
        echo "rss_idle_kib=$rss0"
        echo "rss_peak_kib=$hwm"
        echo "rtt_idle_ms=$rtt0"
        echo "rtt_flood_ms=$rtt1"
        echo "tunnel_up_ms=$up_ms"
    } >"$ET_TMP/flood-figures.txt"
    return "$ok"
}

# h: connections that send a maximal ClientHello (but its last 4 bytes) pass
# the size check and enter OpenSSL's handshake, which buffers what they
# sent: the budget (256) bounds how many hold that state.
step_h() {
    local ok=0 rss0 rss1 per_conn warn0
    rss0="$(router_kib VmRSS)"
    warn0="$(router_warnings)"
    flood_start flood3 "$(flood_sources 1 40)" 20 fillhello 2000 30
    check "flood 3 opened 800 connections from 40 sources" \
        et_wait_for -d flood3 -d router flood_connects_reached flood3 800 || ok=1
    check_num "unauthenticated connections held: the budget is full" \
        "$(et_daemon_stat router handshaking)" -eq "$MAX_HANDSHAKES" || ok=1
    rss1="$(router_kib VmRSS)"
    per_conn=$(((rss1 - rss0) / MAX_HANDSHAKES))
    echo "  router with $MAX_HANDSHAKES handshakes held: VmRSS $rss1 KiB (idle $rss0 KiB):" \
        "~$per_conn KiB each"
    check_kib "KiB per unauthenticated connection in the handshake" "$per_conn" -le \
        "$PER_CONN_KIB" || ok=1
    check_num "evictions counted (800 > 256)" "$(et_daemon_stat router evicted)" -ge 1 || ok=1
    check "c1 still pings during it" et_exec c1 ping -6 -n -c 3 -W 2 "$R_ADDR" || ok=1
    et_daemon_stop flood3 # 256 handshakes end in EOF: OpenSSL's error each
    check "the router's summary counts them ('TLS handshake failed N')" \
        et_wait_for -d router summary_has "TLS handshake failed" || ok=1
    check_num "warning lines when 256 handshakes failed at once (rate-limited)" \
        "$(($(router_warnings) - warn0))" -le 30 || ok=1
    echo "rss_per_handshake_kib=$per_conn" >>"$ET_TMP/flood-figures.txt"
    return "$ok"
}

# i: the budget full and churning (40 sources re-open every connection the
# router evicts, 2000 a second): a real client's connection is admitted by
# evicting the oldest, and its handshake ends before 256 newer ones push it
# out. (Were a full budget to refuse the newcomer instead, c2 would stay out.)
step_i() {
    local ok=0 ups evicted t0 t1 up_ms
    et_daemon_stop c2
    ups="$(et_log_count c2 "tunnel up")"
    evicted="$(et_daemon_stat router evicted)"
    flood_start flood4 "$(flood_sources 1 40)" 20 maxhello 2000 30 -R
    check "flood 4 keeps the budget full: evictions go on" \
        et_wait_for -d flood4 -d router evicted_above "$((evicted + 2000))" || ok=1
    t0="$(date +%s%N)"
    et_daemon_start c2 c2 "$ET_BIN_DIR/enftun" -c "$ET_TMP/c2.conf"
    check "c2 gets its tunnel while the budget is full" \
        et_wait_for -d c2 log_count_above c2 "tunnel up" "$ups" || ok=1
    t1="$(date +%s%N)"
    up_ms=$(((t1 - t0) / 1000000))
    check_num "ms from c2's start to 'tunnel up' with the budget full" "$up_ms" -le \
        "$TUNNEL_UP_MS" || ok=1
    check "the flood was still running" et_daemon_running flood4 || ok=1
    et_daemon_stop flood4
    echo "tunnel_up_full_budget_ms=$up_ms" >>"$ET_TMP/flood-figures.txt"
    return "$ok"
}

evicted_above() {
    local n
    n="$(et_daemon_stat router evicted)"
    [[ -n $n ]] && ((n > $1))
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "g|client packets to ff02::1, fe80::2, ::1 are dropped, a global one forwarded|step_g|"
        "f|under a flood a real client gets in within 2 s, memory bounded, log quiet|step_f|"
        "h|maximal ClientHellos fill the budget, memory stays bounded|step_h|"
        "i|with the budget full and churning, a real client still gets in|step_i|"
    )
    et_init
    echo "router_flood_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    et_require_bins enftun enftun-router enftun-flood
    if grep -a -q -F __asan_init "$ET_BIN_DIR/enftun-router"; then
        SANITIZED=1
    fi
    flood_topology
    make_pki
    write_confs
    if start_router && start_client c1 && et_wait_for -d c1 ping_once c1 "$R_ADDR"; then
        run_steps "${steps[@]}"
    else
        echo "setup failed: router or client did not come up (logs below)"
        fail_steps "setup failed" "${steps[@]}"
    fi
    [[ ! -f $ET_TMP/flood-figures.txt ]] || sed 's/^/figure: /' "$ET_TMP/flood-figures.txt"
    et_summary router_flood_test
}

main "$@"
