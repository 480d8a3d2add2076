#!/usr/bin/env bash
# routercard_hostile_test.sh: router-card mode against a hostile host on
# the TUN (CTest: netns.routercard_hostile_test; exit 77 = skipped). The
# host is authenticated by nothing, so it may send anything: here it sends,
# through an AF_PACKET socket on enf0 (tools/ip6_inject.py), packets no
# stack would, many from the tunnel address itself (fd00:e::5), which the
# egress filter lets through to the router. enftun runs as the client of a
# real router, tunnel up, tun.set_address = false (the host has no global
# address: nothing but our packets comes from fd00:e::5).
#
#   c: enftun, TUN enf0 ──vr── fd00:100::2 ═══ fd00:100::1 ──vc── r: enftun-router
#
#   a. a UDP datagram from fd00:e::5 is forwarded (egress accepted + 1): the
#      injected packets do reach enftun's egress path
#   b. ND from fd00:e::5 that the card does not answer (an NS for another
#      target, unicast to the router, bare and behind a Hop-by-Hop header;
#      an NA; an RA; a Redirect) is dropped by the card (nd-ignored + 5),
#      never forwarded (egress accepted + 1, for the UDP datagram sent
#      after them)
#   c. malformed ND and DHCPv6 from fd00:e::5 (zero-length and overlong ND
#      options, hop limit 64, bad checksums, DHCPv6 options past the end,
#      an 11-byte IA_NA, a Client ID twice, no Client ID) are counted as
#      malformed, a server's own message type and a Request for another
#      server are ignored; none is answered or forwarded
#   d. a flood of valid NS for fe80::1 gets a bounded number of NAs (the
#      reply budget: 20 at once, 10 a second), the rest counted rate-limited
#      (in the USR1 line and `enftun status --json`)
#   e. afterwards the card still serves: dhcpcd gets the lease by DHCPv6 and
#      the host pings the router through the tunnel
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=routercard_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/routercard_lib.sh"

ET_WAIT_TIMEOUT=20
readonly C_ADDR=fd00:e::5 R_ADDR=fd00:e::1
readonly INJECT="$ET_LIB_DIR/tools/ip6_inject.py"

# Addresses and headers as hex, for the packets below.
readonly SELF=fd00000e000000000000000000000005      # the tunnel address
readonly ROUTER=fd00000e000000000000000000000001    # router.address
readonly LL_HOST=fe800000000000000000000000000002   # a host link-local
readonly LL_CARD=fe800000000000000000000000000001   # the card, fe80::1
readonly LL_OTHER=fe800000000000000000000000000009  # no one on this link
readonly ALL_NODES=ff020000000000000000000000000001
readonly SN_CARD=ff0200000000000000000001ff000001   # fe80::1's solicited-node group
readonly DHCP_SERVERS=ff020000000000000000000000010002
readonly CID=0001000a00030001020000000001           # Client ID: a DUID-LL
readonly FOREIGN_SID=0002000a00030001020000000002   # another server's ID
readonly IA_NA=0003000c000000010000000000000000

PKI=""

# ip6 NH HOPLIMIT SRC DST: an IPv6 header (ip6_inject.py sets the length).
ip6() {
    printf '60000000 0000 %s %s %s %s' "$1" "$2" "$3" "$4"
}

# icmp6 HOPLIMIT SRC DST BODY...: an ICMPv6 packet; BODY from the type on.
icmp6() {
    local hl="$1" src="$2" dst="$3"
    shift 3
    printf '%s %s' "$(ip6 3a "$hl" "$src" "$dst")" "$*"
}

# dhcp6 SRC MSG...: a DHCPv6 message to ff02::1:2, port 546 → 547.
dhcp6() {
    local src="$1"
    shift
    printf '%s 0222 0223 0000 0000 %s' "$(ip6 11 40 "$src" "$DHCP_SERVERS")" "$*"
}

inject() {
    et_exec c python3 "$INJECT" enf0 "$@"
}

# ------------------------------------------------------------- counters

egress_accepted() {
    grep -F "stats: tun" "$(et_daemon_log c)" | tail -n 1 |
        sed -n 's/.*egress accepted \([0-9]*\).*/\1/p'
}

# egress_reaches N: fresh counters show at least N packets accepted by the
# egress filter. Each step sends a UDP datagram last, so once it is counted
# everything sent before it was seen (the TUN is one queue, read in order).
egress_reaches() {
    fresh_stats && (($(egress_accepted) >= $1))
}

# card_reaches FIELD N: fresh counters show FIELD at N or more.
card_reaches() {
    fresh_stats && (($(card_stat "$1") >= $2))
}

# A UDP datagram from the tunnel address to the router's discard port.
udp_from_self() {
    printf '%s 04d2 0009 0000 0000 68656c6c6f' "$(ip6 11 40 "$SELF" "$ROUTER")"
}

# ------------------------------------------------------------- topology

setup() {
    et_require_bins enftun enftun-router
    command -v dhcpcd >/dev/null || et_skip "dhcpcd not installed (package dhcpcd-base)"
    command -v unshare >/dev/null || et_skip "unshare not installed"
    command -v python3 >/dev/null || et_skip "python3 not installed"
    command -v jq >/dev/null || et_skip "jq not installed"
    et_router_client_pair
    et_exec c sysctl -q -w net.ipv6.conf.default.accept_ra=1 \
        net.ipv6.conf.all.forwarding=0 net.ipv6.conf.default.forwarding=0
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$PKI" c1="$C_ADDR" >/dev/null
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1 address="$R_ADDR" \
        cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" tun_dev=
    write_card_conf "$ET_TMP/client.conf" default
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router router_listening || return 1
    et_daemon_start c c "$ET_BIN_DIR/enftun" -c "$ET_TMP/client.conf"
    et_wait_for -d c et_log_has c "tunnel up"
}

# ----------------------------------------------------------------- steps

# udp_forwarded_alone: the UDP datagram a step injects last got through the
# egress filter, and nothing injected before it did. Returns 2 when the
# datagram never got through (the step cannot go on), 1 when more did.
udp_forwarded_alone() {
    check "the UDP datagram after them was forwarded" \
        et_wait_for -d c egress_reaches "$((E0 + 1))" || return 2
    grep -F "router card:" "$(et_daemon_log c)" | tail -n 1 | sed 's/^/    | /'
    check_num "egress accepted only the UDP datagram" "$(egress_accepted)" -eq "$((E0 + 1))" ||
        return 1
}

E0=0

step_a() {
    local ok=0
    fresh_stats || return 1
    E0="$(egress_accepted)"
    check "inject a UDP datagram from $C_ADDR" inject "$(udp_from_self)" || return 1
    check "egress accepted it (the path works)" \
        et_wait_for -d c egress_reaches "$((E0 + 1))" || ok=1
    E0="$(egress_accepted)"
    return "$ok"
}

step_b() {
    local ok=0 ignored
    fresh_stats || return 1
    ignored="$(card_stat nd-ignored)"
    check "inject NS for another target (bare, behind Hop-by-Hop), NA, RA, Redirect, UDP" \
        inject "$(icmp6 ff "$SELF" "$ROUTER" 87 00 0000 00000000 "$ROUTER")" \
        "$(ip6 00 ff "$SELF" "$ROUTER") 3a 00 0104 00000000 87 00 0000 00000000 $ROUTER" \
        "$(icmp6 ff "$SELF" "$ALL_NODES" 88 00 0000 20000000 "$SELF")" \
        "$(icmp6 ff "$SELF" "$ALL_NODES" 86 00 0000 40 00 0708 00000000 00000000)" \
        "$(icmp6 ff "$SELF" "$ROUTER" 89 00 0000 00000000 "$LL_OTHER" "$ROUTER")" \
        "$(udp_from_self)" || return 1
    udp_forwarded_alone || { (($? == 1)) || return 1; ok=1; }
    check_num "the card dropped the five ND messages" "$(card_stat nd-ignored)" -eq \
        "$((ignored + 5))" || ok=1
    E0="$(egress_accepted)"
    return "$ok"
}

step_c() {
    local ok=0 nd_bad dhcp_bad dhcp_ignored na answered
    fresh_stats || return 1
    nd_bad="$(card_stat nd-malformed)"
    dhcp_bad="$(card_stat malformed)"
    dhcp_ignored="$(card_stat ignored)"
    na="$(card_stat na)"
    answered="$(card_stat answered)"
    check "inject 5 malformed ND, 5 malformed DHCPv6, 2 to be ignored, then UDP" inject \
        "$(icmp6 ff "$SELF" "$SN_CARD" 87 00 0000 00000000 "$LL_CARD" 0100 000000000000)" \
        "$(icmp6 ff "$SELF" "$SN_CARD" 87 00 0000 00000000 "$LL_CARD" 0102 020000000002)" \
        "$(icmp6 40 "$SELF" ff020000000000000000000000000002 85 00 0000 00000000)" \
        "badsum:$(icmp6 ff "$SELF" ff020000000000000000000000000002 85 00 0000 00000000)" \
        "$(icmp6 ff "$SELF" "$SN_CARD" 87 00 0000 00000000)" \
        "$(dhcp6 "$SELF" 01 123456 "$CID" 0003 0030 00000001)" \
        "$(dhcp6 "$SELF" 01 123456 "$CID" 0003 000b 0000000100000000000000)" \
        "$(dhcp6 "$SELF" 01 123456 "$CID" "$CID" "$IA_NA")" \
        "$(dhcp6 "$SELF" 01 123456 "$IA_NA")" \
        "badsum:$(dhcp6 "$SELF" 01 123456 "$CID" "$IA_NA")" \
        "$(dhcp6 "$SELF" 02 123456 "$CID" "$FOREIGN_SID")" \
        "$(dhcp6 "$SELF" 03 123456 "$CID" "$FOREIGN_SID" "$IA_NA")" \
        "$(udp_from_self)" || return 1
    udp_forwarded_alone || { (($? == 1)) || return 1; ok=1; }
    check_num "ND malformed" "$(card_stat nd-malformed)" -eq "$((nd_bad + 5))" || ok=1
    check_num "DHCPv6 malformed" "$(card_stat malformed)" -eq "$((dhcp_bad + 5))" || ok=1
    check_num "DHCPv6 ignored" "$(card_stat ignored)" -eq "$((dhcp_ignored + 2))" || ok=1
    check_num "no NA sent" "$(card_stat na)" -eq "$na" || ok=1
    check_num "no DHCPv6 answer sent" "$(card_stat answered)" -eq "$answered" || ok=1
    check "enftun is still running" et_daemon_running c || ok=1
    E0="$(egress_accepted)"
    return "$ok"
}

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# na_bound MS: the most NAs the reply budget allows in MS milliseconds: the
# bucket's 20, plus 10 a second (rounded up), plus one for the rounding.
na_bound() {
    echo $((20 + (10 * $1 + 999) / 1000 + 1))
}

# flood_to FILE PACKET: 5000 copies of PACKET; ip6_inject.py's report to FILE.
flood_to() {
    inject --count 5000 "$2" >"$1"
}

# Every NA counted was sent between the flood's start and the reading of
# the counters, so the bound holds however slowly a loaded machine lets
# enftun work through the flood.
step_d() {
    local ok=0 na limited out start before json after
    fresh_stats || return 1
    na="$(card_stat na)"
    limited="$(card_stat rate-limited)"
    out="$ET_TMP/flood.out"
    start="$(now_ms)"
    check "inject 5000 NS for fe80::1 from a link-local host" flood_to "$out" \
        "$(icmp6 ff "$LL_HOST" "$SN_CARD" 87 00 0000 00000000 "$LL_CARD")" || return 1
    sed 's/^/    | /' "$out"
    check "the card saw the flood (rate-limited grows)" \
        et_wait_for -d c card_reaches rate-limited "$((limited + 100))" || ok=1
    grep -F "router card:" "$(et_daemon_log c)" | tail -n 1 | sed 's/^/    | /'
    check_num "NAs sent stay within the reply budget" "$(($(card_stat na) - na))" \
        -le "$(na_bound "$(($(now_ms) - start))")" || ok=1
    check_num "at least one NA was sent" "$(($(card_stat na) - na))" -ge 1 || ok=1
    # The card may still be taking the flood in: the JSON's count, read
    # between two fresh USR1 lines', lies between theirs.
    fresh_stats && before="$(card_stat rate-limited)"
    json="$(status_json .router_card.rate_limited)"
    fresh_stats && after="$(card_stat rate-limited)"
    check "enftun status --json shows them as router_card.rate_limited ($before <= $json <= $after)" \
        test "$before" -le "$json" -a "$json" -le "$after" || ok=1
    return "$ok"
}

# status_json FILTER: jq FILTER over `enftun status --json`.
status_json() {
    "$ET_BIN_DIR/enftun" status -c "$ET_TMP/client.conf" --json | jq -r "$1"
}

step_e() {
    local ok=0
    check "dhcpcd obtains the lease after all that" run_dhcpcd || ok=1
    sed 's/^/    | /' "$ET_TMP/dhcpcd.log"
    check "enf0 has $C_ADDR/128 from DHCPv6" has_global_addr "$C_ADDR" || ok=1
    check "host pings $R_ADDR through the tunnel" \
        et_wait_for -d c et_exec c ping -6 -n -c 1 -W 1 "$R_ADDR" || ok=1
    return "$ok"
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "a|a UDP datagram from the tunnel address is forwarded|step_a|"
        "b|ND from the tunnel address is never forwarded|step_b|a"
        "c|malformed ND and DHCPv6 counted, not answered, not forwarded|step_c|a"
        "d|an NS flood gets NAs within the reply budget|step_d|"
        "e|the card still serves DHCPv6 and the tunnel works|step_e|"
    )
    et_init
    echo "routercard_hostile_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    if setup; then
        run_steps "${steps[@]}"
    else
        fail_steps "setup failed" "${steps[@]}"
    fi
    et_summary routercard_hostile_test
}

main "$@"
