#!/usr/bin/env bash
# bgp_failover.sh: how long a client is cut off when its router stops, with
# two routers joined by BGP (a benchmark, not a test).
#
#   sudo bench/bgp_failover.sh      (ENFTUN_BIN_DIR=DIR to use a given build,
#                                    BENCH_RUNS=N runs, default 5,
#                                    -o FILE results, default results/bgp_failover.txt)
#
# Topology: test/netns/bgp_lib.sh (routers r1 and r2 with BIRD 2 and a
# backbone; client A on r1, with r2 as its second remote.hosts entry; client
# B on r2). Two pingers run every 10 ms towards A (ping -D stamps replies):
#   - from B (a client of the other router): answered again once A's new
#     session is up on r2;
#   - from r1's own namespace (a host behind router 1, source fd00:300::1):
#     answered again only once BGP has moved A's route: r1's kernel must
#     learn A via r2.
# One run: SIGTERM router 1 (it withdraws its routes, closes its sessions),
# and measure from that moment to the first reply after the last gap in the
# sequence numbers, for each pinger, once 20 more have followed. Then router
# 1 comes back and A returns to it before the next run. BGP timers are the
# shipped conf/bird-router.conf (hold 9 s), which do not matter here: the
# withdrawal is explicit.
# Prints every run and the median, min and max; writes them to the results
# file. Bounded: every wait has a deadline, the pingers a `timeout`.
set -e -o pipefail
export LC_ALL=C

BENCH_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../test/netns/lib.sh
source "$BENCH_HERE/../test/netns/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../test/netns/bgp_lib.sh
source "$BENCH_HERE/../test/netns/bgp_lib.sh"
# shellcheck source=lib/common.sh
source "$BENCH_HERE/lib/common.sh"
# shellcheck source=lib/ping_gap.sh
source "$BENCH_HERE/lib/ping_gap.sh"

readonly RUNS="${BENCH_RUNS:-5}"
OUT="$BENCH_HERE/results/bgp_failover.txt"

# a_on_r1: router 1 runs and A's session is on it, routes settled.
a_on_r1() {
    local ups
    if [[ -z $(et_daemon_pid router1) ]]; then
        bgp_start_router 1
    fi
    ups="$(et_log_count router1 "session up: $BGP_A")"
    et_daemon_stop a
    bgp_start_client a
    # Answers to the host behind router 1 go back through the tunnel.
    et_exec a ip -6 route replace fd00:300::/64 dev enf0
    et_wait_for -d a log_count_above router1 "session up: $BGP_A" "${ups:-0}"
    et_wait_for bgp_route_is 2 "$BGP_A" "via fd00:300::1 dev bb proto bird"
    et_wait_for bgp_ping b "$BGP_A"
    et_wait_for et_exec r1 ping -6 -n -c 1 -W 1 -I fd00:300::1 "$BGP_A"
}

RUN_B="" RUN_R1=""
one_run() {
    local n="$1" t0 log_b log_r1
    a_on_r1
    sleep 1
    et_daemon_start "pingb$n" b timeout 60 ping -6 -n -D -i 0.01 -W 1 "$BGP_A"
    et_daemon_start "pingr$n" r1 timeout 60 ping -6 -n -D -i 0.01 -W 1 -I fd00:300::1 "$BGP_A"
    log_b="$(et_daemon_log "pingb$n")"
    log_r1="$(et_daemon_log "pingr$n")"
    et_wait_for grep -q "icmp_seq=" "$log_b"
    et_wait_for grep -q "icmp_seq=" "$log_r1"
    sleep 0.5
    t0="$(date +%s.%N)"
    et_daemon_stop router1
    et_wait_for -d "pingb$n" gap_settled "$log_b" "$t0" || et_die "run $n: B never reached A again"
    et_wait_for -d "pingr$n" gap_settled "$log_r1" "$t0" || et_die "run $n: r1 never reached A again"
    et_daemon_stop "pingb$n" 2
    et_daemon_stop "pingr$n" 2
    RUN_B="$(gap_ms "$log_b" "$t0")"
    RUN_R1="$(gap_ms "$log_r1" "$t0")"
}

# summary NAME VALUE...: median, min, max.
summary() {
    local name="$1"
    shift
    printf '%s\n' "$@" | sort -n | awk -v name="$name" '
        { v[NR] = $1 }
        END {
            med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%-34s median %7.1f ms  min %7.1f  max %7.1f\n", name, med, v[1], v[NR]
        }'
}

main() {
    local i
    local -a from_b=() from_r1=()
    while getopts "o:h" opt; do
        case "$opt" in
        o) OUT="$OPTARG" ;;
        *) sed -n 4,7p "$0" >&2 && exit 2 ;;
        esac
    done
    [[ $RUNS =~ ^[1-9][0-9]?$ ]] || et_die "BENCH_RUNS must be 1..99"
    et_init
    bgp_have_bird || et_die "BIRD 2 not installed (scripts/install-deps)"
    bench_build
    bgp_make_topology
    bgp_make_pki
    bgp_write_confs
    bgp_start_bird 1
    bgp_start_bird 2
    bgp_start_router 1
    bgp_start_router 2
    bgp_start_client b
    et_wait_for -t 60 -d bird1 -d bird2 bgp_established
    for ((i = 1; i <= RUNS; i++)); do
        one_run "$i"
        et_log "run $i: B->A ${RUN_B} ms, r1->A ${RUN_R1} ms"
        from_b+=("$RUN_B")
        from_r1+=("$RUN_R1")
    done
    mkdir -p "$(dirname "$OUT")"
    {
        echo "enftun, two routers with BIRD $(bird --version 2>&1 | awk '{ print $NF }') over BGP:"
        echo "router 1 stops (SIGTERM) -> first ping to client A answered again"
        echo "($(date -u +%F), kernel $(uname -r), $(nproc) cores, $RUNS runs, ping every 10 ms)"
        summary "from B (client of router 2)" "${from_b[@]}"
        summary "from behind router 1 (via BGP)" "${from_r1[@]}"
        echo "runs B->A (ms): ${from_b[*]}"
        echo "runs r1->A (ms): ${from_r1[*]}"
    } | tee "$OUT"
}

main "$@"
