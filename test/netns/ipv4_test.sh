#!/usr/bin/env bash
# ipv4_test.sh: inner IPv4 (README "Inner IPv4"; issue 18): client
# certificates that carry an IPv4 address, router.ipv4_client_prefixes, and
# IPv4 TCP super-packets through protocol 2 (CTest: netns.ipv4_test; exit
# 77 = skipped).
#
# Topology (hub_lib.sh): r runs enftun-router (ipv4_client_prefixes
# 198.18.1.0/24) with the gateway TUN enfr0 (198.18.0.1 on it); c1
# (fd00:e::5, 198.18.1.5) and c2 (fd00:e::6, 198.18.1.6) run enftun
# version 2 with route.allow_ipv4; x runs enftun forced to version 1
# (fd00:e::7, 198.18.1.7) and a raw TLS peer (openssl s_client, version 1,
# fd00:e::8, 198.18.1.8). Every transfer is iperf3 -4 -n 10M, bounded by a
# timeout. nftables in c1, c2, x and r count what their kernels receive on
# the TUN in packets longer than the MTU: only a super-packet written whole
# can be.
#
#   a. v2 <-> v2: the TUNs carry the certificates' IPv4 addresses (/32),
#      status --json and the status table (IPV4 column) show them, and each is a /32 session route into the
#      router TUN (the only route to them there); c1 -> router TUN, router TUN -> c1,
#      c1 -> c2, c2 -> c1 complete; c1, c2 and r received IPv4
#      super-packets (> MTU: TSO4 on the sending TUN, whole across the
#      router); no kernel counts a checksum error (nstat).
#   b. v1 client x: c1 -> x and router TUN -> x complete, split by the
#      router: no IPv4 packet longer than the MTU reaches x's TUN; no
#      checksum errors.
#   c. spoofing: the raw peer sends IPv4 to c2 from 198.18.1.99, then from
#      its own 198.18.1.8: only the second arrives, and the router counts
#      the first in dropped.spoofed. It also sends to the client prefix's
#      broadcast and network addresses (198.18.1.255, 198.18.1.0): the
#      router counts both not global and writes neither to its TUN.
#   d. a client whose certificate's IPv4 lies outside ipv4_client_prefixes
#      is refused in the handshake, with the reason in the router's log.
#   e. enftun with a tun.ipv4_address other than its certificate's IPv4
#      refuses to start, naming both.
#   f. a raw peer whose certificate claims c2's IPv4 (with another IPv6
#      address) replaces c2's session, as a second session for one IPv6
#      address does; c2 reconnects and takes it back; the router stays up.
#   g. a reload that empties ipv4_client_prefixes takes the sessions' /32
#      routes out of the kernel and their IPv4 bindings (no reconnect); a
#      reload that sets them again binds and routes them again, and c1
#      reaches c2 over IPv4.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=hub_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_lib.sh"
# shellcheck source-path=SCRIPTDIR source=transfer_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/transfer_lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly MTU=1500 TABLE=enftun_v4 TL_IPERF_SIZE=10M
readonly C1_V4=198.18.1.5 C2_V4=198.18.1.6 X_V4=198.18.1.7 RAW_V4=198.18.1.8
readonly SPOOF_V4=198.18.1.99 GW_V4=198.18.0.1
readonly EDGE_V4="198.18.1.255, 198.18.1.0" # ipv4_client_prefixes' broadcast, network
PKI=""

# --------------------------------------------------------------- set-up

# write_router_v4 PREFIXES: the router's config, with ipv4_client_prefixes
# PREFIXES (none when empty).
write_router_v4() {
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1,fd00:102::1 \
        address=fd00:e::1 cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_dev=enfr0 tun_address=fd00:f::1 tun_routes=fd00:e::/64 mtu="$MTU" \
        ipv4_prefixes="$1"
}

write_confs() {
    write_router_v4 198.18.1.0/24
    local -a common=("ca=$PKI/ca.pem" "prefixes=fd00:e::/64,fd00:f::/64" "mtu=$MTU"
        allow_ipv4=true)
    write_client_conf "$ET_TMP/c1.conf" "${common[@]}" hosts=fd00:100::1 \
        cert="$PKI/c1.pem" key="$PKI/c1.key" protocol=2
    write_client_conf "$ET_TMP/c2.conf" "${common[@]}" hosts=fd00:101::1 \
        cert="$PKI/c2.pem" key="$PKI/c2.key" protocol=2
    write_client_conf "$ET_TMP/x.conf" "${common[@]}" hosts=fd00:102::1 \
        cert="$PKI/x.pem" key="$PKI/x.key" protocol=1
}

# load_counters NS DEV: tl_load_counters for IPv4 packets longer than the
# MTU, and (c) UDP to port 9 by source.
load_counters() {
    tl_load_counters "$1" "$2" "meta nfproto ipv4" "counter spoofed {}
    counter genuine {}
    counter edge {}" "iifname \"$2\" ip saddr $SPOOF_V4 udp dport 9 counter name \"spoofed\"
        iifname \"$2\" ip saddr $RAW_V4 udp dport 9 counter name \"genuine\"
        iifname \"$2\" ip daddr { $EDGE_V4 } udp dport 9 counter name \"edge\""
}

# rjson FILTER: jq -r FILTER on the router's `status --json`.
rjson() {
    "$ET_BIN_DIR/enftun-router" status -c "$ET_TMP/router.conf" --json | jq -e -r "$1"
}

# session_route ADDR: the router's kernel routes ADDR/32 into enfr0 with
# the session routes' protocol (router.tun.route_protocol, 250).
session_route() {
    et_exec r ip -4 route show table main proto 250 | grep -q "^$1 dev enfr0 "
}

no_v4_session_routes() {
    [[ -z $(et_exec r ip -4 route show table main proto 250) ]]
}

has_v4() {
    et_exec "$1" ip -4 -o addr show dev enf0 | grep -qF " $2/32 "
}

# text_row_has_v4 ADDR IPV4: `status` (the table) has an IPV4 column, and
# the row of ADDR's session holds IPV4 there, next to ADDR.
text_row_has_v4() {
    "$ET_BIN_DIR/enftun-router" status -c "$ET_TMP/router.conf" >"$ET_TMP/status.txt"
    grep -q -E "^ADDRESS +IPV4 +PEER " "$ET_TMP/status.txt" &&
        grep -q -E "^$1 +${2//./\\.} +\[" "$ET_TMP/status.txt"
}

session_has_no_v4() {
    [[ $(rjson ".session_list[] | select(.address == \"$1\") | has(\"ipv4\")") == false ]]
}

session_v4_is() {
    [[ $(rjson ".session_list[] | select(.address == \"$1\") | .ipv4") == "$2" ]]
}

# udp4 SRC DST: one IPv4/UDP packet to port 9, "ipv4 test" as payload, in hex.
udp4() {
    python3 - "$1" "$2" <<'EOF'
import socket, struct, sys
src, dst = (socket.inet_aton(a) for a in sys.argv[1:3])
payload = b"ipv4 test"
udp = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload
hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
s = sum(struct.unpack("!10H", hdr))
while s > 0xffff:
    s = (s & 0xffff) + (s >> 16)
hdr = hdr[:10] + struct.pack("!H", ~s & 0xffff) + hdr[12:]
print((hdr + udp).hex())
EOF
}

spoofed_drops() {
    rjson .dropped.spoofed
}

not_global_drops() {
    rjson .dropped.not_global
}

genuine_arrived() {
    [[ $(et_nft_counter c2 "$TABLE" genuine) -ge 1 ]]
}

# ------------------------------------------------------------------ steps

step_a() {
    echo "a. v2 <-> v2, IPv4"
    tally "c1's TUN has its certificate's IPv4 address" has_v4 c1 "$C1_V4"
    tally "c2's TUN has its certificate's IPv4 address" has_v4 c2 "$C2_V4"
    tally "status --json shows c1's IPv4" session_v4_is fd00:e::5 "$C1_V4"
    tally "status (table) shows c1's IPv4 next to its IPv6" text_row_has_v4 fd00:e::5 "$C1_V4"
    tally "status (table) shows c2's IPv4 next to its IPv6" text_row_has_v4 fd00:e::6 "$C2_V4"
    tally "c1's /32 is a session route into the router TUN" et_wait_for -d router \
        session_route "$C1_V4"
    tally "c2's /32 is a session route into the router TUN" et_wait_for -d router \
        session_route "$C2_V4"
    tally "c1 -> router TUN (10 MB)" tl_iperf c1 "$GW_V4"
    tally "router TUN -> c1 (10 MB)" tl_iperf c1 "$GW_V4" -R
    tally "c1 -> c2 (10 MB)" tl_iperf c1 "$C2_V4"
    tally "c2 -> c1 (10 MB)" tl_iperf c1 "$C2_V4" -R
    echo "    IPv4 TUN packets > MTU: c1 $(tl_big c1) c2 $(tl_big c2) r $(tl_big r)"
    tally "IPv4 super-packets reached c1's kernel whole" test "$(tl_big c1)" -gt 0
    tally "IPv4 super-packets reached c2's kernel whole" test "$(tl_big c2)" -gt 0
    tally "IPv4 super-packets reached the router's kernel whole" test "$(tl_big r)" -gt 0
    local ns
    for ns in c1 c2 r; do
        tally "no checksum errors in $ns" tl_no_csum_errors "$ns"
    done
}

step_b() {
    echo "b. v1 client"
    tally "x's TUN has its certificate's IPv4 address" has_v4 x "$X_V4"
    tally "c1 -> x (10 MB)" tl_iperf c1 "$X_V4"
    tally "x -> c1 (10 MB)" tl_iperf c1 "$X_V4" -R
    tally "router TUN -> x (10 MB)" tl_iperf r "$X_V4"
    echo "    x IPv4 TUN packets > MTU: $(tl_big x)"
    tally "nothing longer than the MTU reached x's TUN" test "$(tl_big x)" -eq 0
    tally "no checksum errors in x" tl_no_csum_errors x
    tally "no checksum errors in c1" tl_no_csum_errors c1
}

step_c() {
    echo "c. spoofed IPv4 source"
    local before not_global
    before="$(spoofed_drops)"
    not_global="$(not_global_drops)"
    # The edges first: once the genuine packet arrives, they were judged.
    et_hex_to_file "$(et_frame_hex "$(udp4 "$RAW_V4" 198.18.1.255)")$(et_frame_hex \
        "$(udp4 "$RAW_V4" 198.18.1.0)")$(et_frame_hex "$(udp4 "$SPOOF_V4" "$C2_V4")")$(et_frame_hex \
        "$(udp4 "$RAW_V4" "$C2_V4")")" "$ET_TMP/spoof.bin"
    ET_STDIN="$ET_TMP/spoof.bin" et_daemon_start raw x timeout 60 openssl s_client -quiet \
        -nocommands -connect "[fd00:102::1]:4443" -CAfile "$PKI/ca.pem" -verify_return_error \
        -cert "$PKI/raw.pem" -key "$PKI/raw.key"
    tally "the packet from its own address reached c2" et_wait_for -d raw genuine_arrived
    tally "the spoofed one did not" test "$(et_nft_counter c2 "$TABLE" spoofed)" -eq 0
    tally "the router counted it spoofed" test "$(spoofed_drops)" -gt "$before"
    tally "the broadcast and network addresses were counted not global" \
        test "$(not_global_drops)" -ge $((not_global + 2))
    tally "neither reached the router's TUN" test "$(et_nft_counter r "$TABLE" edge)" -eq 0
    et_daemon_stop raw
}

step_d() {
    echo "d. certificate IPv4 outside ipv4_client_prefixes"
    ET_STDIN=/dev/null et_daemon_start out x timeout 20 openssl s_client -quiet -nocommands \
        -connect "[fd00:102::1]:4443" -CAfile "$PKI/ca.pem" -cert "$PKI/out.pem" \
        -key "$PKI/out.key"
    tally "refused in the handshake, with its reason" et_wait_for -d router et_log_has router \
        "IPv4 address 198.18.2.9 outside router.ipv4_client_prefixes"
    tally "no session for it" test "$(et_log_count router "session up: fd00:e::9 ")" -eq 0
    et_daemon_stop out
}

step_e() {
    echo "e. tun.ipv4_address other than the certificate's"
    write_client_conf "$ET_TMP/bad.conf" "ca=$PKI/ca.pem" hosts=fd00:100::1 dev=enf9 \
        cert="$PKI/c1.pem" key="$PKI/c1.key" allow_ipv4=true
    sed -i 's|^tun : {|&\n  ipv4_address = "198.18.1.77";|' "$ET_TMP/bad.conf"
    et_daemon_start bad c1 "$ET_BIN_DIR/enftun" -c "$ET_TMP/bad.conf"
    tally "enftun exits" et_wait_for_exit bad
    tally "naming both addresses" et_log_has bad \
        "tun.ipv4_address 198.18.1.77 is not the certificate's IPv4 address $C1_V4"
    tally "no TUN was made" test -z "$(et_exec c1 ip -o link show enf9 2>/dev/null)"
}

step_f() {
    echo "f. a second certificate for one IPv4 address"
    local replaced
    replaced="$(et_log_count router "session for $C2_V4 from [fd00:101::2]:")"
    ET_STDIN=/dev/null et_daemon_start dup x timeout 60 openssl s_client -quiet -nocommands \
        -connect "[fd00:102::1]:4443" -CAfile "$PKI/ca.pem" -cert "$PKI/dup.pem" \
        -key "$PKI/dup.key"
    tally "the newer session took c2's IPv4 address" et_wait_for -d router \
        log_count_above router "session for $C2_V4 from [fd00:101::2]:" "$replaced"
    et_daemon_stop dup
    tally "c2 reconnected and holds it again" et_wait_for -t 30 -d router \
        session_v4_is fd00:e::6 "$C2_V4"
    tally "c1 -> c2 (10 MB)" tl_iperf c1 "$C2_V4"
    tally "router still running" et_daemon_running router
}

step_g() {
    echo "g. reload: ipv4_client_prefixes emptied, then set again"
    local up reloads
    up="$(et_log_count router "session up:")"
    write_router_v4 ""
    et_reload router
    tally "no IPv4 session route left in the router's kernel" \
        et_wait_for -d router no_v4_session_routes
    tally "c1's session is no longer bound to its IPv4" session_has_no_v4 fd00:e::5
    tally "the reload names what it unbound" grep -q -E \
        "reload: ipv4_client_prefixes: [1-9][0-9]* sessions lost their IPv4" \
        "$(et_daemon_log router)"
    reloads="$(et_log_count router "sessions lost their IPv4")"
    write_router_v4 198.18.1.0/24
    et_reload router
    tally "c1's /32 is back as a session route" et_wait_for -d router session_route "$C1_V4"
    tally "c2's /32 is back as a session route" et_wait_for -d router session_route "$C2_V4"
    tally "c1's session bound to its IPv4 again" session_v4_is fd00:e::5 "$C1_V4"
    tally "the reload names what it bound" grep -q -E " [1-9][0-9]* gained theirs" \
        "$(et_daemon_log router)"
    tally "c1 -> c2 over IPv4 again (ping)" et_exec c1 ping -c 1 -W 5 "$C2_V4"
    tally "no session came up anew (no reconnect)" \
        test "$(et_log_count router "session up:")" = "$up"
    tally "one unbinding line in all" test "$reloads" = 1
}

main() {
    et_init
    command -v iperf3 >/dev/null || et_skip "iperf3 not installed"
    command -v nstat >/dev/null || et_skip "nstat not installed"
    command -v python3 >/dev/null || et_skip "python3 not installed"
    command -v jq >/dev/null || et_skip "jq not installed"
    et_require_bins enftun enftun-router
    hub_topology
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip fd00:102::1 "$PKI" c1="fd00:e::5,$C1_V4" c2="fd00:e::6,$C2_V4" \
        x="fd00:e::7,$X_V4" raw="fd00:e::8,$RAW_V4" out="fd00:e::9,198.18.2.9" \
        dup="fd00:e::a,$C2_V4" >/dev/null
    write_confs
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router hub_router_listening
    et_wait_for -d router et_link_up r enfr0
    et_exec r ip addr add "$GW_V4/32" dev enfr0
    hub_start_client c1 198.18.0.0/16
    hub_start_client c2 198.18.0.0/16
    hub_start_client x 198.18.0.0/16
    local ns
    for ns in c1 c2 x; do
        load_counters "$ns" enf0
    done
    load_counters r enfr0
    et_daemon_start ip3r r iperf3 -s -B "$GW_V4"
    et_daemon_start ip3c2 c2 iperf3 -s -B "$C2_V4"
    et_daemon_start ip3x x iperf3 -s -B "$X_V4"
    et_wait_for -d ip3r tl_iperf_listening r "$GW_V4"
    et_wait_for -d ip3c2 tl_iperf_listening c2 "$C2_V4"
    et_wait_for -d ip3x tl_iperf_listening x "$X_V4"
    step_a
    step_b
    step_c
    step_d
    step_e
    step_f
    step_g
    et_check_summary ipv4_test
}

main "$@"
