#!/usr/bin/env bash
# tunnel_test.sh: end-to-end test of enftun + enftun-router in network
# namespaces (CTest: netns.tunnel_test; exit 77 = skipped).
#
# Topology (namespaces are "et<PID>-<name>"; underlay = veth pairs):
#
#   c1 ──vr── fd00:100::2 ═══ fd00:100::1 ──vc1─┐
#   c2 ──vr── fd00:101::2 ═══ fd00:101::1 ──vc2─┤ r: enftun-router, port 4443,
#   x  ──vr── fd00:102::2 ═══ fd00:102::1 ──vx──┘    router.address fd00:e::1,
#                                                   gateway TUN enfr0 fd00:f::1
#   Tunnel addresses (certificate CN): c1 fd00:e::5, c2 fd00:e::6;
#   x runs the "bad" client (fd00:e::7, other CA), then the "impostor"
#   (fd00:e::8, right CA, spoofs c1's address) as enftun and as a raw peer.
#
# Steps (each prints PASS/FAIL): a router ping, b client to client,
# c traffic really in the tunnel, d wrong CA refused, e spoofed sources
# dropped (by the client, and by the router: a raw `openssl s_client` peer
# sends hand-made frames), g gateway TUN, h a malformed frame closes only
# that session, k a malformed frame from the router's side (a raw
# `openssl s_server`): the client closes, counts it, reconnects, f router
# crash + reconnect, i TUN deleted under a client, j SIGINT/SIGTERM:
# close_notify, exit 0 (run last).
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs/certs,
# ET_BUDGET (seconds, default 240) stops starting new steps after that
# so the whole run stays inside CTest's timeout.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=hub_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly BUDGET="${ET_BUDGET:-240}"
readonly TABLE=enftun_test
readonly R_ADDR=fd00:e::1 C1_ADDR=fd00:e::5 C2_ADDR=fd00:e::6
readonly BAD_ADDR=fd00:e::7 X_ADDR=fd00:e::8 GW_ADDR=fd00:f::1
readonly SPOOF_ADDR=fd00:e::99
readonly C1_MTU=1400 # the client default is 1280
ET_STEP_BUDGET="$BUDGET"

PKI=""
OTHER_PKI=""

# ---------------------------------------------------------------- checks

# ping6 NS DST [PING ARGS]...: ping through the tunnel, bounded in time.
ping6() {
    local ns="$1" dst="$2"
    shift 2
    et_exec "$ns" ping -6 -n "$@" "$dst"
}

ping_once() {
    ping6 "$1" "$2" -c 1 -W 1 "${@:3}"
}

counter() {
    et_nft_counter "$1" "$TABLE" "$2"
}

counter_above() {
    (($(counter "$1" "$2") > $3))
}

# fence NS SRC DST CTR_NS COUNTER: ping DST from NS (source SRC) until
# COUNTER in CTR_NS grows. Packets that NS sent earlier went down the same
# TLS stream, so once this arrives, anything forwarded before it has arrived.
fence() {
    local ns="$1" src="$2" dst="$3" ctr_ns="$4" name="$5" before
    before="$(counter "$ctr_ns" "$name")"
    et_wait_for fence_probe "$ns" "$src" "$dst" "$ctr_ns" "$name" "$before"
}

fence_probe() {
    ping_once "$1" "$3" -I "$2" || true
    counter_above "$4" "$5" "$6"
}

# ------------------------------------------------------------- topology

# Underlay counters in r: the veths must carry only TLS (TCP 4443) plus the
# link's own ND/MLD; no echo and no tunnel address may ever show up there.
load_underlay_counters() {
    et_exec r nft -f - <<EOF
table inet $TABLE {
    counter tls {}
    counter echo {}
    counter tunaddr {}
    counter other {}
    chain pre {
        type filter hook prerouting priority -500; policy accept;
        iifname { "vc1", "vc2", "vx" } jump underlay
    }
    chain post {
        type filter hook postrouting priority 500; policy accept;
        oifname { "vc1", "vc2", "vx" } jump underlay
    }
    chain underlay {
        ip6 saddr { fd00:e::/64, fd00:f::/64 } counter name "tunaddr"
        ip6 daddr { fd00:e::/64, fd00:f::/64 } counter name "tunaddr"
        icmpv6 type { echo-request, echo-reply } counter name "echo"
        tcp dport 4443 counter name "tls" return
        tcp sport 4443 counter name "tls" return
        icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report } return
        counter name "other"
    }
}
EOF
}

# Arrival counters in c2 on its TUN (spoof test).
load_c2_counters() {
    et_exec c2 nft -f - <<EOF
table inet $TABLE {
    counter spoof {}
    counter from_c1 {}
    counter from_x {}
    chain pre {
        type filter hook prerouting priority -500; policy accept;
        iifname "enf0" ip6 saddr $SPOOF_ADDR counter name "spoof"
        iifname "enf0" ip6 saddr $C1_ADDR icmpv6 type echo-request counter name "from_c1"
        iifname "enf0" ip6 saddr $X_ADDR icmpv6 type echo-request counter name "from_x"
    }
}
EOF
}

make_pki() {
    PKI="$ET_TMP/pki"
    OTHER_PKI="$ET_TMP/other-ca"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip fd00:102::1 "$PKI" \
        c1="$C1_ADDR" c2="$C2_ADDR" impostor="$X_ADDR"
    "$ET_REPO/scripts/gen-test-certs" --ca-name enftun-other-ca "$OTHER_PKI" bad="$BAD_ADDR"
}

write_confs() {
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1,fd00:102::1 \
        address="$R_ADDR" cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_dev=enfr0 tun_address="$GW_ADDR" tun_routes=fd00:e::/64
    local -a common=("ca=$PKI/ca.pem" "prefixes=fd00:e::/64,fd00:f::/64")
    # c1 has a non-default MTU, to show enftun sets it (step a).
    write_client_conf "$ET_TMP/c1.conf" "${common[@]}" hosts=fd00:100::1 \
        cert="$PKI/c1.pem" key="$PKI/c1.key" mtu="$C1_MTU"
    # c2's paths are relative: resolved against the config file's folder.
    write_client_conf "$ET_TMP/c2.conf" ca=pki/ca.pem prefixes=fd00:e::/64,fd00:f::/64 \
        hosts=fd00:101::1 cert=pki/c2.pem key=pki/c2.key
    # The bad client trusts the right CA (so only the router can refuse it)
    # but presents a certificate from the other CA.
    write_client_conf "$ET_TMP/bad.conf" "${common[@]}" hosts=fd00:102::1 \
        cert="$OTHER_PKI/bad.pem" key="$OTHER_PKI/bad.key"
    write_client_conf "$ET_TMP/impostor.conf" "${common[@]}" hosts=fd00:102::1 \
        cert="$PKI/impostor.pem" key="$PKI/impostor.key"
    # Step k: the impostor's identity against a raw TLS server on port 4444.
    write_client_conf "$ET_TMP/rawc.conf" "${common[@]}" hosts=fd00:102::1 port=4444 \
        dev=enfk0 cert="$PKI/impostor.pem" key="$PKI/impostor.key" \
        reconnect_max_delay=1000
}

start_router() {
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router hub_router_listening
}

# start_client NAME NS: start enftun, wait for its TUN, add the routes that
# enftun-setup would add.
start_client() {
    local name="$1" ns="$2"
    et_daemon_start "$name" "$ns" "$ET_BIN_DIR/enftun" -c "$ET_TMP/$name.conf"
    et_wait_for -d "$name" et_link_up "$ns" enf0 || return 1
    et_exec "$ns" ip -6 route replace fd00:e::/64 dev enf0 || return 1
    et_exec "$ns" ip -6 route replace fd00:f::/64 dev enf0 || return 1
}

# routes_present NS: the routes start_client added are still there (a client
# that took its TUN down on reconnect would have made the kernel drop them).
routes_present() {
    [[ -n $(et_exec "$1" ip -6 route show fd00:e::/64 dev enf0) ]]
}

stop_client() {
    local name="$1" ns="$2"
    et_daemon_stop "$name"
    # A non-persistent TUN goes away with its last fd; give it a moment so
    # the next client in this namespace can create enf0 afresh.
    et_wait_for -t 10 et_link_gone "$ns" enf0 || true
}

# ipv4_echo_hex: an IPv4 ICMP echo request 198.18.0.1 -> 198.18.0.2 (RFC 791,
# RFC 792), 28 bytes with correct checksums: what a client with
# route.allow_ipv4 may send into the tunnel.
ipv4_echo_hex() {
    local addrs=c6120001c6120002
    # version 4, IHL 5, total length 28, DF; TTL 64, protocol 1, checksum
    printf '4500001c00004000'
    printf '4001%s%s' "$(_et_csum16 "4500001c0000400040010000$addrs")" "$addrs"
    # ICMP echo request, checksum, id 0xe7e7, seq 1
    printf '0800%se7e70001' "$(_et_csum16 08000000e7e70001)"
}

# make_frames FILE HEX...: one frame per hex packet, back to back.
make_frames() {
    local file="$1" hex="" pkt
    shift
    for pkt in "$@"; do
        hex+="$(et_frame_hex "$pkt")"
    done
    et_hex_to_file "$hex" "$file"
}

# start_raw_peer NAME FRAMES: openssl s_client in x with the impostor's
# (valid) certificate, sending FRAMES after the handshake. -quiet implies
# -ign_eof: it stays connected after its input ends, until the router
# closes the connection or it is stopped (or 60 s pass).
start_raw_peer() {
    ET_STDIN="$2" et_daemon_start "$1" x timeout 60 openssl s_client -quiet -nocommands \
        -connect "[fd00:102::1]:4443" -CAfile "$PKI/ca.pem" -verify_return_error \
        -cert "$PKI/impostor.pem" -key "$PKI/impostor.key"
}

# start_raw_router NAME FRAMES: openssl s_server in r on port 4444 with the
# router's certificate, requiring a client certificate of our CA, sending
# FRAMES to the first client once the handshake is done. -naccept 1: one
# connection, then it exits (or 60 s pass).
start_raw_router() {
    ET_STDIN="$2" et_daemon_start "$1" r timeout 60 openssl s_server -quiet -naccept 1 \
        -accept "[fd00:102::1]:4444" -cert "$PKI/router.pem" -key "$PKI/router.key" \
        -CAfile "$PKI/ca.pem" -Verify 1 -verify_return_error
}

raw_router_listening() {
    [[ -n $(et_exec r ss -Hltn "src [fd00:102::1]:4444") ]]
}

# link_mtu_is NS IF MTU: `ip link` reports that MTU for the device.
link_mtu_is() {
    grep -q -E " mtu $3( |$)" <<<"$(et_exec "$1" ip link show dev "$2")"
}

et_link_gone() {
    ! et_link_exists "$1" "$2"
}

# Infrastructure: runs under set -e; a failure here is a broken test machine.
setup_infra() {
    et_require_bins enftun enftun-router
    hub_topology
    load_underlay_counters
    load_c2_counters
    make_pki
    write_confs
}

# Daemons: a failure here is what the test is for, so report it step by step.
start_daemons() {
    start_router || return 1
    start_client c1 c1 || return 1
    start_client c2 c2 || return 1
}

# ----------------------------------------------------------------- steps

step_a() {
    local ok=0
    et_wait_for -d c1 -d router ping_once c1 "$R_ADDR" || ok=1
    check "c1 pings router.address $R_ADDR" ping6 c1 "$R_ADDR" -c 3 -W 2 || ok=1
    check "c1 pings fe80::1%enf0 (from $C1_ADDR)" \
        ping6 c1 fe80::1%enf0 -c 3 -W 2 -I "$C1_ADDR" || ok=1
    check "c1 logged 'tunnel up'" et_log_has c1 "tunnel up" || ok=1
    check "enf0 in c1 has tun.mtu $C1_MTU (set over netlink)" link_mtu_is c1 enf0 "$C1_MTU" || ok=1
    return "$ok"
}

step_b() {
    local ok=0
    et_wait_for -d c2 -d router ping_once c2 "$R_ADDR" || ok=1
    check "c1 pings c2 ($C2_ADDR)" ping6 c1 "$C2_ADDR" -c 3 -W 2 || ok=1
    check "c2 pings c1 ($C1_ADDR)" ping6 c2 "$C1_ADDR" -c 3 -W 2 || ok=1
    return "$ok"
}

step_c() {
    local ok=0 n=5 c1_tx c1_rx c2_rx c2_tx tls echo tunaddr other
    c1_tx="$(et_link_stat c1 enf0 tx)"
    c1_rx="$(et_link_stat c1 enf0 rx)"
    c2_rx="$(et_link_stat c2 enf0 rx)"
    c2_tx="$(et_link_stat c2 enf0 tx)"
    tls="$(counter r tls)"
    echo="$(counter r echo)"
    tunaddr="$(counter r tunaddr)"
    other="$(counter r other)"
    # -w, not -c alone: see et_ping_answered (ping -c gives up on a late
    # last answer, which a loaded machine turns into a false loss).
    ping6 c1 "$C2_ADDR" -O -c "$n" -w 30 >"$ET_TMP/ping-c.txt" 2>&1 || true
    check "c1 pings c2 $n times, all answered" et_ping_answered "$ET_TMP/ping-c.txt" "$n" || ok=1
    check_num "c1 enf0 tx packets grew" "$(($(et_link_stat c1 enf0 tx) - c1_tx))" -ge "$n" || ok=1
    check_num "c2 enf0 rx packets grew" "$(($(et_link_stat c2 enf0 rx) - c2_rx))" -ge "$n" || ok=1
    check_num "c2 enf0 tx packets grew" "$(($(et_link_stat c2 enf0 tx) - c2_tx))" -ge "$n" || ok=1
    check_num "c1 enf0 rx packets grew" "$(($(et_link_stat c1 enf0 rx) - c1_rx))" -ge "$n" || ok=1
    check_num "underlay carried TLS (tcp/4443)" "$(($(counter r tls) - tls))" -gt 0 || ok=1
    check_num "no ICMPv6 echo on the underlay" "$(($(counter r echo) - echo))" -eq 0 || ok=1
    check_num "no tunnel address on the underlay" \
        "$(($(counter r tunaddr) - tunaddr))" -eq 0 || ok=1
    check_num "nothing but TLS and ND/MLD on the underlay" \
        "$(($(counter r other) - other))" -eq 0 || ok=1
    return "$ok"
}

step_d() {
    local ok=0 failed_before
    failed_before="$(et_log_count router "handshake failed")"
    et_daemon_start bad x "$ET_BIN_DIR/enftun" -c "$ET_TMP/bad.conf"
    check "router logged 'handshake failed'" \
        et_wait_for -d router log_count_above router "handshake failed" "$failed_before" || ok=1
    if et_wait_for -t 10 et_link_exists x enf0; then
        et_exec x ip -6 route replace fd00:e::/64 dev enf0 || true
    fi
    check_not "ping from the bad client fails" ping6 x "$R_ADDR" -c 2 -W 1 || ok=1
    # TLS 1.3: the client's handshake completes before the router has checked
    # the client certificate, so "handshake done" is not yet "tunnel up"; the
    # refusal only arrives as an alert afterwards.
    check_not "bad client never logged 'tunnel up'" et_log_has bad "tunnel up" || ok=1
    check_not "router never accepted $BAD_ADDR" et_log_has router "session up: $BAD_ADDR" || ok=1
    stop_client bad x
    return "$ok"
}

step_e() {
    local ok=0 before closed c1_drops r_drops
    # 1. c1 sends from an address that is not its certificate's: its egress
    #    filter drops them, so they never reach the router.
    c1_drops="$(et_daemon_stat c1 "dropped source")"
    r_drops="$(et_daemon_stat router spoofed)"
    et_exec c1 ip -6 addr add "$SPOOF_ADDR/128" dev enf0 nodad
    check_not "spoofed ping $SPOOF_ADDR -> c2 gets no reply" \
        ping6 c1 "$C2_ADDR" -c 3 -W 1 -I "$SPOOF_ADDR" || ok=1
    check "c1's genuine ping reaches c2 after the spoofed ones" \
        fence c1 "$C1_ADDR" "$C2_ADDR" c2 from_c1 || ok=1
    check_num "nothing from $SPOOF_ADDR arrived at c2" "$(counter c2 spoof)" -eq 0 || ok=1
    check_num "c1 dropped them itself: 'dropped source' grew by at least 3" \
        "$(et_daemon_stat c1 "dropped source")" -ge "$((c1_drops + 3))" || ok=1
    check_num "the router saw none of them: its 'spoofed' count did not grow" \
        "$(et_daemon_stat router spoofed)" -eq "$r_drops" || ok=1
    et_exec c1 ip -6 addr del "$SPOOF_ADDR/128" dev enf0 || true

    # 2. A valid client of the right CA (impostor, fd00:e::8) claims c1's address.
    start_client impostor x || ok=1
    check "impostor (valid cert $X_ADDR) reaches the router" \
        et_wait_for -d impostor ping_once x "$R_ADDR" || ok=1
    et_exec x ip -6 addr add "$C1_ADDR/128" dev enf0 nodad || ok=1
    before="$(counter c2 from_c1)"
    ping6 x "$C2_ADDR" -c 3 -W 1 -I "$C1_ADDR" >/dev/null 2>&1 || true
    check "impostor's genuine ping reaches c2 after the spoofed ones" \
        fence x "$X_ADDR" "$C2_ADDR" c2 from_x || ok=1
    check_num "no echo 'from $C1_ADDR' arrived at c2 from the impostor" \
        "$(($(counter c2 from_c1) - before))" -eq 0 || ok=1
    closed="$(et_log_count router "session closed: $X_ADDR from")"
    stop_client impostor x # SIGTERM
    check_num "impostor's exit status after SIGTERM" "$ET_LAST_STATUS" -eq 0 || ok=1
    check "router: the impostor closed with close_notify" \
        et_wait_for -d router close_notify_logged "$X_ADDR" "$closed" || ok=1

    # 3. A raw TLS peer with the impostor's certificate bypasses any client-side
    #    filter: the router itself must drop frames not from fd00:e::8. An
    #    IPv4 frame (valid on the wire, PROTOCOL.md) is dropped and counted
    #    as not-ipv6, without closing the session.
    local spoof_c1 fence_x not_ipv6
    spoof_c1="$(counter c2 from_c1)"
    fence_x="$(counter c2 from_x)"
    not_ipv6="$(et_daemon_stat router not-ipv6)"
    make_frames "$ET_TMP/spoof.bin" \
        "$(et_icmp6_echo_hex "$C1_ADDR" "$C2_ADDR" 1)" \
        "$(et_icmp6_echo_hex "$C1_ADDR" "$C2_ADDR" 2)" \
        "$(ipv4_echo_hex)" \
        "$(et_icmp6_echo_hex "$X_ADDR" "$C2_ADDR" 3)"
    start_raw_peer rawspoof "$ET_TMP/spoof.bin"
    check "raw peer's genuine frame reaches c2 after the spoofed and IPv4 ones" \
        et_wait_for -d rawspoof counter_above c2 from_x "$fence_x" || ok=1
    check_num "router dropped the raw peer's frames 'from $C1_ADDR'" \
        "$(($(counter c2 from_c1) - spoof_c1))" -eq 0 || ok=1
    check_num "router counted the IPv4 frame as not-ipv6" \
        "$(et_daemon_stat router not-ipv6)" -eq "$((not_ipv6 + 1))" || ok=1
    et_daemon_stop rawspoof

    # Where the drop is counted is up to the daemons; show what they said.
    echo "  info: drop-related log lines:"
    grep -i -h -E 'drop|spoof' "$(et_daemon_log router)" "$(et_daemon_log c1)" \
        "$(et_daemon_log impostor)" 2>/dev/null | tail -n 5 | sed 's/^/    | /' || true
    return "$ok"
}

step_g() {
    local ok=0
    check "router TUN enfr0 exists in r" et_link_exists r enfr0 || ok=1
    check "c1 pings the gateway side $GW_ADDR" \
        et_wait_for -t 10 -d router ping_once c1 "$GW_ADDR" || ok=1
    check "c1 pings $GW_ADDR 3 times" ping6 c1 "$GW_ADDR" -c 3 -W 2 || ok=1
    return "$ok"
}

step_f() {
    local ok=0 before
    before="$(et_log_count c1 "reconnecting in")"
    et_daemon_kill router
    check "c1 logged 'reconnecting in'" \
        et_wait_for -d c1 log_count_above c1 "reconnecting in" "$before" || ok=1
    check "enf0 still exists in c1" et_link_exists c1 enf0 || ok=1
    check "c1 still running" et_daemon_running c1 || ok=1
    check "c1's routes via enf0 survived" routes_present c1 || ok=1
    check "router restarts" start_router || ok=1
    check "c1 reaches $R_ADDR again" \
        et_wait_for -t 60 -d c1 -d router ping_once c1 "$R_ADDR" || ok=1
    check "c1 pings $R_ADDR 3 times" ping6 c1 "$R_ADDR" -c 3 -W 2 || ok=1
    check "c2 is back too" et_wait_for -t 60 -d c2 -d router ping_once c2 "$R_ADDR" || ok=1
    check "c1 pings c2 again" ping6 c1 "$C2_ADDR" -c 3 -W 2 || ok=1
    check_num "whole run: no ICMPv6 echo on the underlay" "$(counter r echo)" -eq 0 || ok=1
    check_num "whole run: no tunnel address on the underlay" "$(counter r tunaddr)" -eq 0 || ok=1
    return "$ok"
}

# h: a malformed frame (payload is not an IP packet) from one peer closes
# that session only.
step_h() {
    local ok=0 ups closed errors
    errors="$(et_daemon_stat router protocol-errors)"
    ups="$(et_log_count router "session up: $X_ADDR")"
    closed="$(et_log_count router "session closed: $X_ADDR")"
    make_frames "$ET_TMP/malformed.bin" 5858585858585858
    start_raw_peer malformed "$ET_TMP/malformed.bin"
    check "router accepted the raw peer ($X_ADDR)" \
        et_wait_for -d router log_count_above router "session up: $X_ADDR" "$ups" || ok=1
    # s_client may linger after the router closes (OpenSSL 3.0 with
    # -ign_eof), so the router's own account is what counts.
    check "router closed the session after the malformed frame" \
        et_wait_for -d router log_count_above router "session closed: $X_ADDR" "$closed" || ok=1
    check "router says why: protocol error" \
        grep -q -F "protocol error" "$(et_daemon_log router)" || ok=1
    check_num "router counted it: protocol-errors grew by 1" \
        "$(et_daemon_stat router protocol-errors)" -eq "$((errors + 1))" || ok=1

    et_daemon_stop malformed
    check "router still running" et_daemon_running router || ok=1
    check "c1 still pings $R_ADDR" ping6 c1 "$R_ADDR" -c 3 -W 2 || ok=1
    check "c1 still pings c2" ping6 c1 "$C2_ADDR" -c 3 -W 2 || ok=1
    return "$ok"
}

# k: a malformed frame from the router's side (its payload is not an IP
# packet): the client logs a protocol error, counts it (protocol-errors),
# closes the connection and reconnects; it keeps running and keeps its TUN.
step_k() {
    local ok=0
    make_frames "$ET_TMP/to-client.bin" 5858585858585858
    start_raw_router rawr "$ET_TMP/to-client.bin"
    et_wait_for -d rawr raw_router_listening || ok=1
    et_daemon_start rawc x "$ET_BIN_DIR/enftun" -c "$ET_TMP/rawc.conf"
    check "client says why: protocol error from peer" \
        et_wait_for -d rawc et_log_has rawc "protocol error from peer" || ok=1
    check "client goes on to reconnect" et_wait_for -d rawc et_log_has rawc "reconnecting in" || ok=1
    check_num "client counted it: protocol-errors 1" \
        "$(et_daemon_stat rawc protocol-errors)" -eq 1 || ok=1
    check_not "client never logged 'tunnel up'" et_log_has rawc "tunnel up" || ok=1
    check "client still running" et_daemon_running rawc || ok=1
    check "its TUN enfk0 is still there" et_link_exists x enfk0 || ok=1
    et_daemon_stop rawc
    et_daemon_stop rawr
    return "$ok"
}

# i: the TUN is deleted under a running client (say by `ip link del`): the
# client cannot move packets any more, so it must exit non-zero (for its
# service manager to restart it), not spin or hang. Runs last: c2 is gone
# after it.
step_i() {
    local ok=0
    et_exec c2 ip link del dev enf0
    check "c2 exits after losing its TUN" et_wait_for et_daemon_exited c2 || ok=1
    et_daemon_reap c2
    check_num "c2's exit status" "$ET_LAST_STATUS" -ne 0 || ok=1
    check "c2 said why" grep -q -F "TUN enf0 failed" "$(et_daemon_log c2)" || ok=1
    check "router and c1 unaffected" ping6 c1 "$R_ADDR" -c 2 -W 2 || ok=1
    return "$ok"
}

# j: SIGINT stops the client and SIGTERM the router, each with close_notify
# to its peer and exit status 0. Runs last: it ends c1 and the router.
step_j() {
    local ok=0 closed
    closed="$(et_log_count router "session closed: $C1_ADDR from")"
    kill -INT "$(et_daemon_pid c1)"
    check "c1 exits after SIGINT" et_wait_for et_daemon_exited c1 || ok=1
    et_daemon_reap c1
    check_num "c1's exit status after SIGINT" "$ET_LAST_STATUS" -eq 0 || ok=1
    check "router: c1 closed with close_notify" \
        et_wait_for -d router close_notify_logged "$C1_ADDR" "$closed" || ok=1
    et_daemon_stop router
    check_num "router's exit status after SIGTERM" "$ET_LAST_STATUS" -eq 0 || ok=1
    return "$ok"
}

# close_notify_logged ADDR N: the router has logged more than N closes of
# ADDR's session, and the last one was the peer's close_notify.
close_notify_logged() {
    log_count_above router "session closed: $1 from" "$2" &&
        grep -q -F "peer closed the tunnel (close_notify)" \
            <<<"$(grep -F "session closed: $1 from" "$(et_daemon_log router)" | tail -n 1)"
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "a|ping router.address and fe80::1 through the tunnel|step_a|"
        "b|client to client through the router|step_b|a"
        "c|traffic goes through the TUN; underlay carries only TLS|step_c|b"
        "d|client with a certificate from another CA is refused|step_d|"
        "e|spoofed source addresses are dropped|step_e|b"
        "g|gateway mode: ping the router-side TUN|step_g|a"
        "h|a malformed frame closes only that session|step_h|a"
        "k|a malformed frame from the router side: client counts it, reconnects|step_k|"
        "f|router crash: client reconnects, TUN survives|step_f|a"
        "i|TUN deleted under a client: it exits non-zero|step_i|a"
        "j|SIGINT/SIGTERM: close_notify and exit status 0|step_j|a"
    )
    et_init
    echo "tunnel_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    setup_infra
    if start_daemons; then
        run_steps "${steps[@]}"
    else
        echo "setup failed: router or clients did not come up (logs below)"
        fail_steps "setup failed" "${steps[@]}"
    fi
    et_summary tunnel_test
}

main "$@"
