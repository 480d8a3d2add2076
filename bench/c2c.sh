#!/usr/bin/env bash
# c2c.sh: client -> client through the router, wire protocol version 2
# against version 1 (a benchmark, not a test: it asserts nothing).
#
#   sudo bench/c2c.sh [-o FILE.json]   (ENFTUN_BIN_DIR=DIR to use a given build)
#
# Three namespaces: r (enftun-router, no gateway TUN) and two clients c1
# (fd00:e::5) and c2 (fd00:e::6), each on its own veth pair to r (MTU 1500).
# For the bare veth (c1 -> r underlay, the same ceiling compare.sh uses),
# then for protocol 2 and protocol 1 at all three daemons (the defaults
# otherwise): one TCP stream c1 -> c2 and c2 -> c1 for BENCH_SECONDS (10)
# s each, and the CPU seconds the router and the two clients spent on them,
# per GB moved.
#
# For profiling the router's forwarding path: BENCH_ROUTER_WRAP is a command
# prefix for the router (e.g. "valgrind --tool=callgrind
# --callgrind-out-file=DIR/router.%p"), BENCH_PROTOCOLS the protocols to run
# ("2 1" by default). A wrapped router gets 60 s to exit and write its output.
set -e -o pipefail
export LC_ALL=C

BENCH_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../test/netns/lib.sh
source "$BENCH_HERE/../test/netns/lib.sh"
# shellcheck source=lib/common.sh
source "$BENCH_HERE/lib/common.sh"

ET_WAIT_TIMEOUT=20
[[ -z ${BENCH_ROUTER_WRAP:-} ]] || ET_WAIT_TIMEOUT=60
OUT="$BENCH_HERE/results/c2c-latest.json"
readonly C1=fd00:e::5 C2=fd00:e::6

topology() {
    et_ns_add r c1 c2
    et_veth_add r v1 c1 vr
    et_veth_add r v2 c2 vr
    et_addr_add r v1 fd00:100::1/64
    et_addr_add c1 vr fd00:100::2/64
    et_addr_add r v2 fd00:101::1/64
    et_addr_add c2 vr fd00:101::2/64
    et_wait_for et_exec c1 ping -6 -n -c 1 -W 1 fd00:100::1
    et_wait_for et_exec c2 ping -6 -n -c 1 -W 1 fd00:101::1
}

# up PROTOCOL: router and both clients speaking at most PROTOCOL.
up() {
    local p="$1" dir="$ET_TMP/pki" n ns
    write_router_conf "$ET_TMP/r$p.conf" listen=fd00:100::1,fd00:101::1 address=fd00:e::1 \
        cert="$dir/router.pem" key="$dir/router.key" ca="$dir/ca.pem" tun_dev= protocol="$p"
    local -a wrap=()
    read -r -a wrap <<<"${BENCH_ROUTER_WRAP:-}"
    et_daemon_start "r$p" r "${wrap[@]}" "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/r$p.conf"
    et_wait_for -d "r$p" bench_listening r fd00:101::1 4443
    n=0
    for ns in c1 c2; do
        write_client_conf "$ET_TMP/$ns-$p.conf" mtu=1500 hosts="fd00:10$n::1" \
            ca="$dir/ca.pem" cert="$dir/$ns.pem" key="$dir/$ns.key" prefixes=fd00:e::/64 \
            protocol="$p"
        bench_persistent_tun "$ns" enf0 1500
        et_exec "$ns" ip -6 route replace fd00:e::/64 dev enf0
        et_daemon_start "$ns-$p" "$ns" "$ET_BIN_DIR/enftun" -c "$ET_TMP/$ns-$p.conf"
        n=$((n + 1))
    done
    et_wait_for -d "c1-$p" et_exec c1 ping -6 -n -c 1 -W 1 "$C2"
}

down() {
    local p="$1" ns
    for ns in c1 c2; do
        et_daemon_stop "$ns-$p" 5
        et_exec "$ns" ip link del enf0 2>/dev/null || true
    done
    et_daemon_stop "r$p" "$([[ -n ${BENCH_ROUTER_WRAP:-} ]] && echo 60 || echo 5)"
}

cpu_s() {
    local t=0 name
    for name in "$@"; do
        t=$((t + $(bench_cpu_ticks "$(et_daemon_pid "$name")")))
    done
    awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

# measure PROTOCOL: c1 -> c2 and c2 -> c1 through the tunnel; "label up down
# bytes router_cpu clients_cpu" on stdout.
measure() {
    local p="$1" r_before c_before r_after c_after up down
    r_before="$(cpu_s "r$p")"
    c_before="$(cpu_s "c1-$p" "c2-$p")"
    up="$(bench_iperf c1 "$C2")"
    down="$(bench_iperf c1 "$C2" -R)"
    r_after="$(cpu_s "r$p")"
    c_after="$(cpu_s "c1-$p" "c2-$p")"
    echo "protocol$p ${up%% *} ${down%% *} $((${up##* } + ${down##* })) \
$(awk -v a="$r_before" -v b="$r_after" 'BEGIN { print b - a }') \
$(awk -v a="$c_before" -v b="$c_after" 'BEGIN { print b - a }')"
}

main() {
    while getopts "o:" opt; do
        case $opt in
        o) OUT="$OPTARG" ;;
        *) exit 2 ;;
        esac
    done
    local load
    load="$(cut -d' ' -f1-3 /proc/loadavg)"
    et_init
    bench_require_tools iperf3 jq ping
    bench_build
    topology
    "$BENCH_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        "$ET_TMP/pki" c1="$C1" c2="$C2" >/dev/null
    et_daemon_start iperf-r r iperf3 -s -B fd00:100::1
    et_wait_for -d iperf-r bench_listening r fd00:100::1 5201
    local bare rows=() p
    bare="$(bench_iperf c1 fd00:100::1)"
    et_daemon_stop iperf-r
    for p in ${BENCH_PROTOCOLS:-2 1}; do
        up "$p"
        et_daemon_start "iperf-c2-$p" c2 iperf3 -s -B "$C2"
        et_wait_for -d "iperf-c2-$p" bench_listening c2 "$C2" 5201
        rows+=("$(measure "$p")")
        et_daemon_stop "iperf-c2-$p"
        down "$p"
    done
    printf '%s\n' "${rows[@]}" | awk -v bare="${bare%% *}" -v secs="$BENCH_SECONDS" \
        -v kernel="$(uname -r)" -v load="$load" '
        BEGIN { printf "{\"kernel\": \"%s\", \"seconds\": %s, \"load_before\": \"%s\", \"bare_veth_mbps\": %s, \"runs\": [", kernel, secs, load, bare }
        { gb = $4 / 1e9
          printf "%s{\"protocol\": %s, \"c1_to_c2_mbps\": %s, \"c2_to_c1_mbps\": %s, \"bytes\": %s, \"router_cpu_s_per_gb\": %.3f, \"clients_cpu_s_per_gb\": %.3f, \"c1_to_c2_of_bare\": %.3f, \"c2_to_c1_of_bare\": %.3f}",
                 (NR > 1 ? ", " : ""), substr($1, 9), $2, $3, $4, $5 / gb, $6 / gb, $2 / bare, $3 / bare }
        END { print "]}" }' >"$OUT"
    jq . "$OUT"
}

main "$@"
