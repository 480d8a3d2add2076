#!/usr/bin/env bash
# setup_exceptions_test.sh: the exceptions of enftun-setup's full tunnel,
# DHCP and trusted interfaces, in network namespaces with the real kernel,
# nftables, dnsmasq (DHCPv4 and DHCPv6 server) and dhcpcd
# (CTest: netns.setup_exceptions_test; exit 77 = skipped). Topology:
# setup_lib.sh (namespaces d, i, h, and l for the trusted LAN).
#
# Steps (each prints PASS/FAIL):
#  a  up (full tunnel, lan0 trusted, without a default route: no warning)
#  b  "DHCP" that is not DHCP does not get out: a socket bound to the
#     uplink from port 546 to port 547 of the host and of the uplink's
#     global address, one from a global source to ff02::1:2, and IPv4 from
#     port 68 to port 67 of the host and of the gateway (no server has
#     answered yet); i counts none of them
#  c  real DHCP still works: dhcpcd in d gets a DHCPv4 and a DHCPv6 lease
#     from dnsmasq in i; the firewall has learned the DHCPv4 server, a
#     renewal-like unicast to it (port 68 to 67) gets out, the same to the
#     host still does not
#  d  a trusted interface that holds a default route: up warns, in one line
#     naming it; without one, no such warning
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=setup_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup_lib.sh"

ET_WAIT_TIMEOUT=30
readonly DHCP4_POOL=198.18.0.1 # leases 198.18.0.100-150 (prefix checked)
CONF=""

make_conf() {
    CONF="$ET_TMP/d.conf"
    # enftun-setup reads the config only (enftun -p all): no certificate is
    # opened, enftun is not started in this test.
    write_client_conf "$CONF" hosts=fd00:100::1 ca="$ET_TMP/ca.pem" cert="$ET_TMP/d.pem" \
        key="$ET_TMP/d.key" prefixes=default trusted=lan0
}

# send_udp NS SRC_PORT DST DST_PORT [DEVICE [SRC_ADDR]]: one datagram from
# an ordinary UDP socket, bound to DEVICE when given (SO_BINDTODEVICE: the
# routing rules then cannot send it into the TUN; only the firewall stops
# it). Errors (no route) are ignored: only what reaches i counts.
send_udp() {
    et_exec "$1" python3 - "$2" "$3" "$4" "${5:-}" "${6:-}" <<'EOF' || true
import socket, sys
sport, dst, dport, dev, src = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if fam == socket.AF_INET:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
if dev:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
if fam == socket.AF_INET6:
    if dst.startswith("ff02:"):
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(dev))
    s.bind((src, sport, 0, 0))
else:
    s.bind((src, sport))
try:
    s.sendto(b"not dhcp", (dst, dport))
except OSError as e:
    print("send:", e)
EOF
}

counters() {
    local c
    for c in host dhcp4 dhcp6 other; do
        printf '%s=%s ' "$c" "$(es_counter "$c")"
    done
}

# ----------------------------------------------------------------- steps

readonly TRUSTED_DEFAULT_WARNING='warning: trusted interface lan0 has a default route'

step_a() {
    local ok=0
    check "enftun-setup up" es_setup d up "$CONF" || ok=1
    check_not "no warning about lan0's default route: it has none" \
        grep -F "$TRUSTED_DEFAULT_WARNING" "$ET_TMP/setup.log" || ok=1
    return "$ok"
}

step_b() {
    local ok=0 before after
    before="$(counters)"
    send_udp d 546 "$ES_HOST6" 547 up0
    send_udp d 546 "$ES_UPLINK_PEER6" 547 up0
    send_udp d 546 ff02::1:2 547 up0 fd00:100::2
    send_udp d 68 "$ES_HOST4" 67
    send_udp d 68 "$ES_UPLINK_PEER4" 67
    send_udp d 68 "$ES_HOST4" 67 up0
    check "fence: a neighbour solicitation from the device arrived" es_fence || ok=1
    after="$(counters)"
    echo "counters in i before: $before"
    echo "counters in i after:  $after"
    check_num "no 'DHCP' to an arbitrary address reached i (host, dhcp4, dhcp6, other)" \
        "$(count_changes "$before" "$after")" -eq 0 || ok=1
    return "$ok"
}

# count_changes BEFORE AFTER: how many of the counters differ.
count_changes() {
    local -a b a
    local n=0 k
    read -r -a b <<<"$1"
    read -r -a a <<<"$2"
    for k in "${!b[@]}"; do
        [[ ${b[k]} == "${a[k]}" ]] || n=$((n + 1))
    done
    echo "$n"
}

# dnsmasq in i: DHCPv4 and DHCPv6 on vd only, no DNS, leases in ET_TMP.
start_dnsmasq() {
    et_daemon_start dnsmasq i dnsmasq --keep-in-foreground --no-daemon --conf-file=/dev/null \
        --port=0 --interface=vd --bind-interfaces --no-resolv --log-dhcp \
        --dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,10m \
        --dhcp-range=fd00:100::100,fd00:100::150,64,10m \
        --dhcp-leasefile="$ET_TMP/dnsmasq.leases" --pid-file= --user=root
}

# dhcpcd_lease FLAG CONF: dhcpcd on up0 until it has a lease (-1: it exits
# then, leaving the address in place). Its state goes to tmpfs in a private
# mount namespace, so the machine is untouched.
dhcpcd_lease() {
    local conf="$ET_TMP/dhcpcd$1.conf"
    # shellcheck disable=SC2059 # the format is the caller's constant
    printf "$2" >"$conf"
    et_exec d unshare --mount bash -c "mount -t tmpfs none /run &&
        mkdir -p /var/lib/dhcpcd && mount -t tmpfs none /var/lib/dhcpcd &&
        exec timeout 60 dhcpcd $1 -1 -t 40 -f '$conf' -c /bin/true up0" \
        >>"$ET_TMP/dhcpcd.log" 2>&1
}

has_addr() {
    grep -q -E -- "$2" <<<"$(et_exec d ip "$1" addr show dev up0)"
}

server_learned() {
    grep -q -F "$DHCP4_POOL" <<<"$(et_exec d nft list set inet enftun-enf0 dhcp4_servers)"
}

step_c() {
    local ok=0 before
    start_dnsmasq
    check "dhcpcd -4 gets a lease from dnsmasq" dhcpcd_lease -4 'ipv4only\n' || ok=1
    check "up0 has its DHCPv4 address" has_addr -4 'inet 198\.18\.0\.1([0-4][0-9]|50)/24' || ok=1
    check "dhcpcd -6 gets a lease from dnsmasq" \
        dhcpcd_lease -6 'ipv6only\nnoipv6rs\nia_na 1\n' || ok=1
    check "up0 has its DHCPv6 address" has_addr -6 'inet6 fd00:100::1[0-4][0-9a-f]/128' || ok=1
    check "the firewall learned the DHCPv4 server $DHCP4_POOL" server_learned || ok=1
    before="$(es_counter dhcp4)"
    send_udp d 68 "$ES_UPLINK_PEER4" 67
    check "fence" es_fence || ok=1
    check_num "a unicast to the server (port 68 to 67) got out" \
        "$(($(es_counter dhcp4) - before))" -eq 1 || ok=1
    before="$(es_counter host)"
    send_udp d 68 "$ES_HOST4" 67
    check "fence" es_fence || ok=1
    check_num "the same to the host still does not" "$(($(es_counter host) - before))" -eq 0 ||
        ok=1
    et_daemon_stop dnsmasq
    return "$ok"
}

# step_d: lan0 (trusted) gets an IPv6 default route, at a metric that
# leaves the uplink's in front: up warns once, naming lan0 and IPv6.
step_d() {
    local ok=0 log="$ET_TMP/setup-d.log" lines
    check "down" es_setup d down "$CONF" || ok=1
    et_exec d ip -6 route add default via "$ES_LAN6" dev lan0 metric 2000
    lines="$(wc -l <"$ET_TMP/setup.log")"
    check "up" es_setup d up "$CONF" || ok=1
    tail -n "+$((lines + 1))" "$ET_TMP/setup.log" >"$log"
    check "up warned: trusted interface lan0 has a default route (IPv6)" \
        grep -F "$TRUSTED_DEFAULT_WARNING (IPv6)" "$log" || ok=1
    check_num "... in one line" "$(grep -c -F "$TRUSTED_DEFAULT_WARNING" "$log")" -eq 1 || ok=1
    check "down" es_setup d down "$CONF" || ok=1
    et_exec d ip -6 route del default via "$ES_LAN6" dev lan0 metric 2000
    return "$ok"
}

main() {
    et_init
    command -v nft >/dev/null || et_skip "nft not installed"
    command -v ndisc6 >/dev/null || et_skip "ndisc6 not installed"
    command -v dhcpcd >/dev/null || et_skip "dhcpcd not installed (package dhcpcd-base)"
    command -v dnsmasq >/dev/null || et_skip "dnsmasq not installed (package dnsmasq-base)"
    et_require_bins enftun
    echo "setup_exceptions_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    es_topology l
    es_load_counters
    make_conf
    run_step a "up" step_a
    run_step b "DHCP ports to an arbitrary address are dropped" step_b
    run_step c "a real DHCPv4 and DHCPv6 exchange still works" step_c
    run_step d "a trusted interface with a default route: up warns" step_d
    et_summary setup_exceptions_test && ((ET_CHECKS_FAILED == 0))
}

main "$@"
