#!/usr/bin/env bash
# flood.sh: enftun-router under a flood of unauthenticated connections (a
# benchmark, not a test; test/netns/router_flood_test.sh asserts the bounds).
#
#   sudo bench/flood.sh [-o FILE]   (ENFTUN_BIN_DIR=DIR to use a given build,
#                                    BENCH_RUNS=N client start-ups, default 5,
#                                    BENCH_FLOOD_SECONDS=S flood length, default 40)
#
# Topology: test/netns/hub_lib.sh and flood_lib.sh (router r on [::]:4443
# with the default limits, established client c1, real client c2, attacker
# x with 41 source /64s). The attacker is enftun-flood:
#   flood 1: 10,000 silent connections from one source, re-opened as soon
#            as the router closes them (at most 5000 connects/s);
#   flood 2: 1,000 nine-byte ClientHello headers announcing 128 KiB, from 40
#            sources (25 each), re-opened likewise (at most 2000/s);
#   flood 3 (afterwards, alone): 800 connections from 40 sources announcing a
#            16 KiB ClientHello, held: the handshake budget (256) full of
#            OpenSSL state;
#   flood 4 (then): the same, each sending 16 KiB of its ClientHello (all
#            but the last 4 bytes), which OpenSSL buffers: the worst case.
# Measured: the router's RSS idle, under floods 1+2 and with flood 3 held
# (and per handshake; private = Private_Clean + Private_Dirty from
# smaps_rollup idle and per handshake, Pss idle); c1's RTT to the router (200 pings 10 ms apart)
# without and under floods 1+2; the router's CPU share under them; the time
# from starting c2 to its "tunnel up" (BENCH_RUNS start-ups under the flood);
# the attacker's connects and the router's refusals. Prints a table and
# writes KEY=VALUE lines to FILE (default bench/results/flood.txt).
set -e -o pipefail
export LC_ALL=C

BENCH_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../test/netns/lib.sh
source "$BENCH_HERE/../test/netns/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../test/netns/hub_lib.sh
source "$BENCH_HERE/../test/netns/hub_lib.sh"
# shellcheck source-path=SCRIPTDIR source=../test/netns/flood_lib.sh
source "$BENCH_HERE/../test/netns/flood_lib.sh"
# shellcheck source=lib/common.sh
source "$BENCH_HERE/lib/common.sh"

ET_WAIT_TIMEOUT=30
readonly RUNS="${BENCH_RUNS:-5}" FLOOD_SECONDS="${BENCH_FLOOD_SECONDS:-40}"
readonly R_ADDR=fd00:e::1 C1_ADDR=fd00:e::5 C2_ADDR=fd00:e::6
OUT="$BENCH_HERE/results/flood.txt"
PKI=""

setup() {
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip fd00:102::1 "$PKI" c1="$C1_ADDR" c2="$C2_ADDR" >/dev/null
    write_router_conf "$ET_TMP/router.conf" listen=:: address="$R_ADDR" \
        cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_address=fd00:f::1 tun_routes=fd00:e::/64
    write_client_conf "$ET_TMP/c1.conf" ca="$PKI/ca.pem" hosts=fd00:100::1 \
        cert="$PKI/c1.pem" key="$PKI/c1.key"
    write_client_conf "$ET_TMP/c2.conf" ca="$PKI/ca.pem" hosts=fd00:101::1 \
        cert="$PKI/c2.pem" key="$PKI/c2.key"
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router flood_router_listening
    et_daemon_start c1 c1 "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
    et_wait_for -d c1 et_log_has c1 "tunnel up"
    et_exec c1 ip -6 route replace fd00:e::/64 dev enf0
    et_wait_for -d c1 et_exec c1 ping -6 -n -c 1 -W 1 "$R_ADDR"
}

router_pid() {
    et_daemon_pid router
}

# c2_up_once: start c2, wait for "tunnel up", stop it; C2_MS is the time
# between start and "tunnel up". (Not for $(...): it starts daemons.)
C2_MS=""
c2_up_once() {
    local t0 t1 ups
    ups="$(et_log_count c2 "tunnel up")"
    ups="${ups:-0}" # no log yet
    t0="$(date +%s%N)"
    et_daemon_start c2 c2 "$ET_BIN_DIR/enftun" -c "$ET_TMP/c2.conf"
    et_wait_for -d c2 log_count_above c2 "tunnel up" "$ups" || et_die "c2 did not come up"
    t1="$(date +%s%N)"
    et_daemon_stop c2
    C2_MS=$(((t1 - t0) / 1000000))
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

main() {
    while getopts "o:" opt; do
        case "$opt" in
        o) OUT="$OPTARG" ;;
        *) et_die "usage: bench/flood.sh [-o FILE]" ;;
        esac
    done
    et_init
    bench_build
    et_require_bins enftun-flood
    flood_topology
    setup
    local rss_idle rtt_idle rtt_flood rss_flood hwm_flood cpu0 cpu1 t0 t1 cpu_pct
    local ups=() i rss_before3 rss3 per_conn accepted refused bad rss4 per_conn4
    rss_idle="$(bench_rss_kib "$(router_pid)")"
    local pss_idle priv_idle priv_before3 priv3 per_conn_priv
    pss_idle="$(bench_smaps_kib "$(router_pid)" Pss)"
    priv_idle="$(bench_smaps_kib "$(router_pid)" Private_Clean Private_Dirty)"
    rtt_idle="$(bench_rtt c1 "$R_ADDR")"

    flood_start flood1 fd00:102::2 10000 silent 5000 "$FLOOD_SECONDS" -R
    flood_start flood2 "$(flood_sources 1 40)" 25 oversized 2000 "$FLOOD_SECONDS" -R
    et_wait_for -d flood1 flood_connects_reached flood1 10000
    et_wait_for -d flood2 flood_connects_reached flood2 1000
    cpu0="$(bench_cpu_ns "$(router_pid)")"
    t0="$(date +%s%N)"
    rtt_flood="$(bench_rtt c1 "$R_ADDR")"
    for ((i = 1; i <= RUNS; i++)); do
        c2_up_once
        ups+=("$C2_MS")
    done
    cpu1="$(bench_cpu_ns "$(router_pid)")"
    t1="$(date +%s%N)"
    cpu_pct="$(awk -v c="$((cpu1 - cpu0))" -v t="$((t1 - t0))" 'BEGIN { printf "%.0f", 100 * c / t }')"
    rss_flood="$(bench_rss_kib "$(router_pid)")"
    hwm_flood="$(bench_rss_kib "$(router_pid)" VmHWM)"
    accepted="$(et_daemon_stat router accepted)"
    refused="$(et_daemon_stat router refused-source)"
    bad="$(et_daemon_stat router bad-hello)"
    local connects1 connects2
    connects1="$(grep '^open ' "$(et_daemon_log flood1)" | tail -n 1 | awk '{ print $8 }')"
    connects2="$(grep '^open ' "$(et_daemon_log flood2)" | tail -n 1 | awk '{ print $8 }')"
    et_daemon_stop flood1
    et_daemon_stop flood2

    sleep 4 # the floods' last connections time out (first_byte_timeout)
    rss_before3="$(bench_rss_kib "$(router_pid)")"
    priv_before3="$(bench_smaps_kib "$(router_pid)" Private_Clean Private_Dirty)"
    flood_start flood3 "$(flood_sources 1 40)" 20 maxhello 2000 30
    et_wait_for -d flood3 flood_connects_reached flood3 800
    sleep 1
    rss3="$(bench_rss_kib "$(router_pid)")"
    per_conn=$(((rss3 - rss_before3) / 256))
    priv3="$(bench_smaps_kib "$(router_pid)" Private_Clean Private_Dirty)"
    per_conn_priv=$(((priv3 - priv_before3) / 256))
    et_daemon_stop flood3

    # The allocator keeps what flood 3 freed: count from before flood 3.
    sleep 4
    flood_start flood4 "$(flood_sources 1 40)" 20 fillhello 2000 30
    et_wait_for -d flood4 flood_connects_reached flood4 800
    sleep 1
    rss4="$(bench_rss_kib "$(router_pid)")"
    per_conn4=$(((rss4 - rss_before3) / 256))
    et_daemon_stop flood4

    local up_median up_max
    up_median="$(printf '%s\n' "${ups[@]}" | median)"
    up_max="$(printf '%s\n' "${ups[@]}" | sort -n | tail -n 1)"
    {
        echo "# bench/flood.sh, $(date -u +%Y-%m-%dT%H:%MZ), kernel $(uname -r), $(nproc) cores"
        echo "flood_seconds_until_measured=$(((t1 - t0) / 1000000000))"
        echo "flood1_connects=$connects1"
        echo "flood2_connects=$connects2"
        echo "router_accepted=$accepted"
        echo "router_refused_source=$refused"
        echo "router_bad_hello=$bad"
        echo "router_rss_idle_kib=$rss_idle"
        echo "router_pss_idle_kib=$pss_idle"
        echo "router_private_idle_kib=$priv_idle"
        echo "router_rss_flood_kib=$rss_flood"
        echo "router_hwm_flood_kib=$hwm_flood"
        echo "router_rss_256_handshakes_kib=$rss3"
        echo "router_kib_per_handshake=$per_conn"
        echo "router_private_256_handshakes_kib=$priv3"
        echo "router_private_kib_per_handshake=$per_conn_priv"
        echo "router_rss_256_full_hellos_kib=$rss4"
        echo "router_kib_per_handshake_full_hello=$per_conn4"
        echo "router_cpu_percent_flood=$cpu_pct"
        echo "c1_rtt_idle_ms=$rtt_idle"
        echo "c1_rtt_flood_ms=$rtt_flood"
        echo "c2_tunnel_up_ms_runs=${ups[*]}"
        echo "c2_tunnel_up_ms_median=$up_median"
        echo "c2_tunnel_up_ms_max=$up_max"
    } >"$OUT"
    printf '\nenftun-router under a flood (defaults: max_handshakes 256, per source 16)\n'
    printf '%-52s %12s\n' "measure" "value"
    printf '%-52s %12s\n' "attacker connects (flood 1 + flood 2)" "$((connects1 + connects2))"
    printf '%-52s %12s\n' "router RSS idle / under the flood (KiB)" "$rss_idle / $rss_flood"
    printf '%-52s %12s\n' "router Pss / private idle (KiB)" "$pss_idle / $priv_idle"
    printf '%-52s %12s\n' "router RSS with 256 handshakes held (KiB)" "$rss3"
    printf '%-52s %12s\n' "  per handshake in progress (KiB)" "$per_conn"
    printf '%-52s %12s\n' "  the same, private (KiB)" "$per_conn_priv"
    printf '%-52s %12s\n' "  the same with 16 KiB of ClientHello each (KiB)" "$per_conn4"
    printf '%-52s %12s\n' "router CPU under the flood (% of one core)" "$cpu_pct"
    printf '%-52s %12s\n' "c1 RTT idle / under the flood (ms)" "$rtt_idle / $rtt_flood"
    printf '%-52s %12s\n' "c2 start to 'tunnel up', median / max of $RUNS (ms)" \
        "$up_median / $up_max"
    echo "written to $OUT"
}

main "$@"
