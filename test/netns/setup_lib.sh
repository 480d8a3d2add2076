# shellcheck shell=bash
# setup_lib.sh: helpers shared by the enftun-setup tests (setup_test.sh,
# split_tunnel_test.sh, privilege_test.sh). Source it after lib.sh.
#
# Topology made by es_topology (namespaces "et<PID>-<name>"):
#
#   h (ordinary host)          i ("internet": enftun-router)        d (device)
#   fd00:200::2  vi ──── vh  fd00:200::1                            runs enftun-setup
#   198.18.2.2                198.18.2.1                            and enftun
#                             fd00:100::1  vd ──────────── up0  fd00:100::2
#                             198.18.0.1                        198.18.0.2
#   c2 (other client)         fd00:101::1 vc2 ── vr  fd00:101::2
#   l (trusted LAN)                                lan0  fd00:300::1 ── vd fd00:300::2
#                                                        198.18.3.1       198.18.3.2
#
# i forwards between its links; d's default routes (IPv6 and IPv4) point at i.
# Tunnel addresses (certificate CN): d fd00:e::5, c2 fd00:e::6; router fd00:e::1.
# Leak counters live in i, in a prerouting chain at priority -500 on "vd"
# (everything the device sends on its uplink), see es_load_counters.

# shellcheck disable=SC2034 # used by the tests that source this file
readonly ES_SETUP="$ET_REPO/scripts/enftun-setup"
# shellcheck disable=SC2034
readonly ES_HOST6=fd00:200::2 ES_HOST4=198.18.2.2
# shellcheck disable=SC2034
readonly ES_UPLINK_PEER6=fd00:100::1 ES_UPLINK_PEER4=198.18.0.1
# shellcheck disable=SC2034
readonly ES_LAN6=fd00:300::2 ES_LAN4=198.18.3.2
# shellcheck disable=SC2034
readonly ES_ROUTER_ADDR=fd00:e::1 ES_D_ADDR=fd00:e::5 ES_C2_ADDR=fd00:e::6
readonly ES_COUNTERS=es_counters

# Checks and steps: check, check_not, check_num, run_step, et_summary
# (steps.sh).

# ---------------------------------------------------------------- checks

# es_succeeds_saying REGEX CMD...: CMD succeeds and its output matches.
es_succeeds_saying() {
    local pattern="$1" out
    shift
    out="$("$@" 2>&1)" || {
        printf '%s\n(failed)\n' "$out"
        return 1
    }
    printf '%s\n' "$out"
    grep -q -E -- "$pattern" <<<"$out"
}

# es_fails_saying REGEX CMD...: CMD fails and its output matches.
es_fails_saying() {
    local pattern="$1" out
    shift
    if out="$("$@" 2>&1)"; then
        printf '%s\n(succeeded)\n' "$out"
        return 1
    fi
    printf '%s\n' "$out"
    grep -q -E -- "$pattern" <<<"$out"
}

# ------------------------------------------------------------- topology

# es_topology [c2] [l]: the namespaces above (c2 and l only when named).
es_topology() {
    local extra
    et_ns_add d i h
    et_veth_add i vd d up0
    et_veth_add i vh h vi
    et_addr_add i vd fd00:100::1/64
    et_addr_add d up0 fd00:100::2/64
    et_exec i ip addr add 198.18.0.1/24 dev vd
    et_exec d ip addr add 198.18.0.2/24 dev up0
    et_addr_add i vh fd00:200::1/64
    et_addr_add h vi fd00:200::2/64
    et_exec i ip addr add 198.18.2.1/24 dev vh
    et_exec h ip addr add 198.18.2.2/24 dev vi
    et_exec i sysctl -q -w net.ipv6.conf.all.forwarding=1 net.ipv4.ip_forward=1
    et_exec d ip -6 route add default via fd00:100::1 dev up0
    et_exec d ip -4 route add default via 198.18.0.1 dev up0
    et_exec h ip -6 route add default via fd00:200::1 dev vi
    et_exec h ip -4 route add default via 198.18.2.1 dev vi
    for extra in "$@"; do
        [[ -z $extra ]] || "es_topology_$extra"
    done
}

es_topology_c2() {
    et_ns_add c2
    et_veth_add i vc2 c2 vr
    et_addr_add i vc2 fd00:101::1/64
    et_addr_add c2 vr fd00:101::2/64
}

es_topology_l() {
    et_ns_add l
    et_veth_add d lan0 l vd
    et_addr_add d lan0 fd00:300::1/64
    et_addr_add l vd fd00:300::2/64
    et_exec d ip addr add 198.18.3.1/24 dev lan0
    et_exec l ip addr add 198.18.3.2/24 dev vd
}

# es_load_counters: count in i what arrives from the device's uplink.
# "host" and "ipv4" and "other" must stay 0 while the full tunnel is set up,
# "tunprefix" (tunnel addresses) always; "ns" (neighbour solicitations)
# serves as a fence, "tunnel" is enftun's TCP, "dhcp6" DHCPv6 and "dhcp4"
# DHCPv4 client messages (not counted as "ipv4").
es_load_counters() {
    et_exec i nft -f - <<EOF
table inet $ES_COUNTERS {
    counter host {}
    counter ipv4 {}
    counter tunnel {}
    counter ns {}
    counter other {}
    counter tunprefix {}
    counter dhcp6 {}
    counter dhcp4 {}
    chain pre {
        type filter hook prerouting priority -500; policy accept;
        iifname "vd" jump from_device
    }
    chain from_device {
        ip6 daddr fd00:e::/48 counter name "tunprefix"
        ip6 daddr fd00:200::/64 counter name "host"
        ip daddr 198.18.2.0/24 counter name "host"
        ip6 daddr $ES_UPLINK_PEER6 tcp dport 4443 counter name "tunnel" return
        ip daddr $ES_UPLINK_PEER4 tcp dport 4443 counter name "tunnel" return
        meta nfproto ipv4 udp sport 68 udp dport 67 counter name "dhcp4" return
        meta nfproto ipv4 counter name "ipv4" return
        icmpv6 type nd-neighbor-solicit counter name "ns" return
        icmpv6 type { nd-router-solicit, nd-neighbor-advert, mld-listener-report, mld-listener-done, mld2-listener-report } return
        udp sport 546 udp dport 547 counter name "dhcp6" return
        counter name "other"
    }
}
EOF
}

es_counter() {
    et_nft_counter i "$ES_COUNTERS" "$1"
}

# es_fence: send a neighbour solicitation from d's uplink (the firewall lets
# ND out) and wait until i has counted it, so whatever d sent earlier on that
# link has been counted too.
es_fence() {
    local before
    before="$(es_counter ns)"
    et_wait_for -t 20 es_fence_probe "$before"
}

es_fence_probe() {
    et_exec d ndisc6 -1 -r 1 -w 200 "$ES_UPLINK_PEER6" up0 >/dev/null 2>&1 || true
    (($(es_counter ns) > $1))
}

# ----------------------------------------------------------- enftun-setup

# es_setup NS ARG...: run enftun-setup in NS with the built enftun; its
# output goes to stdout and to $ET_TMP/setup.log. ES_PATH replaces PATH,
# ES_ENFTUN the enftun binary, ES_WRAP (an array) is a command prefix such
# as setpriv. Its state files go to $ET_TMP/run-enftun (per test, not
# /run/enftun, which parallel tests and the host would share).
ES_WRAP=()
es_setup() {
    local ns="$1"
    shift
    echo "=== enftun-setup $*" >>"$ET_TMP/setup.log"
    et_exec "$ns" env PATH="${ES_PATH:-$PATH}" ENFTUN="${ES_ENFTUN:-$ET_BIN_DIR/enftun}" \
        ENFTUN_SETUP_STATE_DIR="$ET_TMP/run-enftun" \
        "${ES_WRAP[@]}" \
        bash "$ES_SETUP" "$@" 2>&1 | tee -a "$ET_TMP/setup.log"
}

# es_state NS: everything enftun-setup may touch, in a stable text form:
# policy rules, all routing tables, the nftables ruleset, links (with their
# group) and the per-family sysctls.
es_state() {
    local ns="$1"
    echo "## ip -4 rule"
    et_exec "$ns" ip -4 rule
    echo "## ip -6 rule"
    et_exec "$ns" ip -6 rule
    echo "## ip -4 route show table all"
    et_exec "$ns" ip -4 route show table all
    echo "## ip -6 route show table all"
    et_exec "$ns" ip -6 route show table all
    echo "## nft list ruleset"
    # Without the time left to the elements of dynamic sets (the DHCPv4
    # servers learned), which changes by itself.
    et_exec "$ns" nft list ruleset | sed -E 's/ expires [0-9dhms]+//g'
    echo "## ip -d link"
    et_exec "$ns" ip -d -o link show | sed -E 's/ +link\/.*//'
    echo "## sysctl"
    et_exec "$ns" sysctl net.ipv4.conf net.ipv6.conf 2>/dev/null
}

# es_same_state NS FILE: NS's state equals the dump in FILE (diff shown).
es_same_state() {
    es_state "$1" >"$2.now"
    diff -u "$2" "$2.now"
}

# es_ping NS DST [ARGS]: one echo, one second for the answer.
es_ping() {
    local ns="$1" dst="$2"
    shift 2
    et_exec "$ns" ping -n -c 1 -W 1 "$@" "$dst"
}
