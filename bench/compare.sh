#!/usr/bin/env bash
# compare.sh: the side-by-side benchmark (issue 6). A benchmark, not a test:
# it asserts nothing, it prints a table and writes JSON.
#
#   sudo bench/compare.sh [-r RUNS] [-t TOOL,...] [-o FILE.json]
#
#   -r RUNS   repetitions of every measurement (default 3; median, min, max)
#   -t TOOLS  subset of: bare,enftun,enftun_v1,enftun_spin,openvpn,wireguard (default all)
#   -o FILE   JSON output (default bench/results/latest.json)
#   env ENFTUN_BIN_DIR=DIR   use that build instead of building build-bench
#       BENCH_SECONDS=N      iperf3 duration (default 10)
#       BENCH_QUIET=N        seconds of quiet after the load before the last
#                            RSS reading (default 11)
#
# In two namespaces joined by a veth pair (bench/lib/common.sh), one after
# another and round-robin over the tools within each repetition:
#   bare      the veth itself, no tunnel: the physical ceiling
#   enftun    enftun client -> enftun-router (gateway TUN holds the target),
#             default configuration (busy-polling off)
#   enftun_spin the same with busy-polling on (busy_poll_us = 200, both ends)
#   enftun_v1 the same with wire protocol version 1 (remote.protocol and
#             router.protocol = 1): the column version 2 is measured against
#   openvpn   OpenVPN 2.6, TCP, TLS certificates, AES-256-GCM, --disable-dco
#   wireguard wireguard-go + wg
# For each: iperf3 (one TCP stream, both directions), ping RTT, flood-ping
# rate, CPU seconds of both tunnel processes during the iperf3 runs and per
# GB moved, CPU per flood-ping round trip and at 1000 pings a second, memory (VmRSS, Pss and private)
# idle, under load and idle again after the load, and the time from starting
# the client to its first
# answered ping. Takes about 2.5 minutes per repetition; every step is
# bounded by a timeout, and namespaces and daemons go away on exit.
set -e -o pipefail
export LC_ALL=C

BENCH_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../test/netns/lib.sh
source "$BENCH_HERE/../test/netns/lib.sh"
# shellcheck source=lib/common.sh
source "$BENCH_HERE/lib/common.sh"
# shellcheck source=lib/enftun.sh
source "$BENCH_HERE/lib/enftun.sh"
# shellcheck source=lib/openvpn.sh
source "$BENCH_HERE/lib/openvpn.sh"
# shellcheck source=lib/wireguard.sh
source "$BENCH_HERE/lib/wireguard.sh"
# shellcheck source=lib/report.sh
source "$BENCH_HERE/lib/report.sh"

ET_WAIT_TIMEOUT=30
BENCH_QUIET="${BENCH_QUIET:-11}"
RUNS=3
TOOLS=bare,enftun,enftun_v1,enftun_spin,openvpn,wireguard
OUT="$BENCH_HERE/results/latest.json"

# The bare veth: no daemons, the target is the server's underlay address.
# shellcheck disable=SC2034 # read through ${!name} in measure
BARE_TARGET="$BENCH_R_UNDERLAY"
bare_prepare() { :; }
bare_server_up() { :; }
bare_client_prepare() { :; }
bare_client_start() { :; }
bare_down() { :; }

usage() {
    sed -n '4,12p' "$0" >&2
    exit 2
}

# iperf_server_up TARGET: iperf3 server in r bound to the tunnel address.
iperf_server_up() {
    et_daemon_start iperf3 r iperf3 -s -B "$1"
    et_wait_for -d iperf3 bench_listening r "$1" 5201
}

# snapshot_cpu TOOL: "client_ticks server_ticks" of the tunnel daemons.
snapshot_cpu() {
    local c s
    c="$(bench_cpu_ticks "$(et_daemon_pid "$1-client")")"
    s="$(bench_cpu_ticks "$(et_daemon_pid "$1-server")")"
    echo "$c $s"
}

# record_memory TOOL RUN KIND(idle|peak|quiet): VmRSS (idle, quiet) or VmHWM
# (peak), and, as the kernel accounts the process's own cost
# (/proc/PID/smaps_rollup), Pss and private (Private_Clean + Private_Dirty)
# at that moment: VmRSS counts every shared library page mapped in full.
# The idle reading also takes VmHWM so far (the start-up peak) and then
# resets the high-water mark (proc(5), clear_refs "5"), so that the peak
# reading after the traffic is the peak under load, not start-up's.
record_memory() {
    local tool="$1" run="$2" kind="$3" side key=VmRSS pid
    [[ $kind == peak ]] && key=VmHWM
    for side in client server; do
        pid="$(et_daemon_pid "$tool-$side")"
        if [[ $kind == idle ]]; then
            bench_record "$tool" "${side}_rss_startup_kib" "$run" "$(bench_rss_kib "$pid" VmHWM)"
            echo 5 >"/proc/$pid/clear_refs"
        fi
        bench_record "$tool" "${side}_rss_${kind}_kib" "$run" "$(bench_rss_kib "$pid" "$key")"
        bench_record "$tool" "${side}_pss_${kind}_kib" "$run" "$(bench_smaps_kib "$pid" Pss)"
        bench_record "$tool" "${side}_private_${kind}_kib" "$run" \
            "$(bench_smaps_kib "$pid" Private_Clean Private_Dirty)"
    done
}

# per_gb TICKS BYTES: CPU seconds per GB.
per_gb() {
    awk -v d="$1" -v hz="$CLK_TCK" -v b="$2" 'BEGIN { if (b > 0) print d / hz / (b / 1e9) }'
}

# measure_traffic TOOL RUN TARGET: both iperf3 directions with CPU deltas,
# then RTT and flood ping.
measure_traffic() {
    local tool="$1" run="$2" target="$3" has_procs=1 up down cpu0 cpu1 cpu2
    [[ $tool == bare ]] && has_procs=0
    ((has_procs == 0)) || cpu0="$(snapshot_cpu "$tool")"
    up="$(bench_iperf c "$target")"
    ((has_procs == 0)) || cpu1="$(snapshot_cpu "$tool")"
    down="$(bench_iperf c "$target" -R)"
    bench_record "$tool" up_mbps "$run" "${up%% *}"
    bench_record "$tool" down_mbps "$run" "${down%% *}"
    if ((has_procs)); then
        cpu2="$(snapshot_cpu "$tool")"
        local -a a b c
        read -r -a a <<<"$cpu0"
        read -r -a b <<<"$cpu1"
        read -r -a c <<<"$cpu2"
        local bytes=$((${up##* } + ${down##* }))
        local side i=0 secs
        for side in client server; do
            secs="$(awk -v d=$((c[i] - a[i])) -v hz="$CLK_TCK" 'BEGIN { print d / hz }')"
            bench_record "$tool" "${side}_cpu_s" "$run" "$secs"
            bench_record "$tool" "${side}_cpu_s_per_gb" "$run" "$(per_gb $((c[i] - a[i])) "$bytes")"
            # Each direction alone, so the sending and the receiving end's
            # costs show apart: protocol 2 changes what a receiver does per
            # packet; a sender encrypts and sends the same bytes in either.
            bench_record "$tool" "${side}_cpu_s_per_gb_up" "$run" \
                "$(per_gb $((b[i] - a[i])) "${up##* }")"
            bench_record "$tool" "${side}_cpu_s_per_gb_down" "$run" \
                "$(per_gb $((c[i] - b[i])) "${down##* }")"
            i=$((i + 1))
        done
    fi
    bench_record "$tool" rtt_ms "$run" "$(bench_rtt c "$target")"
    local flood replies side
    local -A cpu0=()
    if ((has_procs)); then
        for side in client server; do
            cpu0[$side]="$(bench_cpu_ns "$(et_daemon_pid "$tool-$side")")"
        done
    fi
    flood="$(bench_flood c "$target")"
    replies="${flood##* }"
    bench_record "$tool" flood_pps "$run" "${flood%% *}"
    # CPU per flood-ping round trip: what a packet each way costs each
    # daemon, its syscalls (and the kernel work inside them) included,
    # apart from the time it waits.
    if ((has_procs)) && [[ $replies =~ ^[1-9][0-9]*$ ]]; then
        for side in client server; do
            bench_record "$tool" "${side}_cpu_us_per_rt" "$run" \
                "$(awk -v a="${cpu0[$side]}" -v n="$replies" \
                    -v b="$(bench_cpu_ns "$(et_daemon_pid "$tool-$side")")" \
                    'BEGIN { printf "%.2f", (b - a) / 1000 / n }')"
        done
    fi
    ((has_procs)) && measure_steady_pings "$tool" "$run" "$target"
    return 0
}

# measure_steady_pings TOOL RUN TARGET: request-response at a steady 1000
# exchanges a second (ping -i 0.001, 3000 pings): the CPU each tunnel
# daemon spends meanwhile, in % of one core. Busy-polling's price shows
# here: each exchange keeps a spinning daemon busy until its window ends.
measure_steady_pings() {
    local tool="$1" run="$2" target="$3" side t0 t1
    local -A cpu0=()
    for side in client server; do
        cpu0[$side]="$(bench_cpu_ns "$(et_daemon_pid "$tool-$side")")"
    done
    t0="$(bench_now_ns)"
    et_exec c timeout 30 ping -6 -n -q -i 0.001 -c 3000 -W 2 "$target" >/dev/null || true
    t1="$(bench_now_ns)"
    for side in client server; do
        bench_record "$tool" "${side}_cpu_pct_1k_exchanges" "$run" \
            "$(awk -v a="${cpu0[$side]}" -v t="$((t1 - t0))" \
                -v b="$(bench_cpu_ns "$(et_daemon_pid "$tool-$side")")" \
                'BEGIN { printf "%.1f", 100 * (b - a) / t }')"
    done
}

# measure TOOL RUN: one full round for one tool.
measure() {
    local tool="$1" run="$2" upper target src
    upper="${tool^^}"
    target="${upper}_TARGET"
    target="${!target}"
    src="${upper}_SRC"
    src="${!src:-}"
    et_log "run $run: $tool"
    "${tool}_server_up"
    "${tool}_client_prepare"
    if [[ $tool != bare ]]; then
        bench_first_ping c "$src" "$target" "${tool}_client_start"
        bench_record "$tool" first_ping_ms "$run" "$BENCH_FIRST_PING"
        et_wait_for -d "$tool-client" et_exec c ping -6 -n -c 1 -W 1 "$target"
        sleep 1 # let start-up allocations settle before the idle reading
        record_memory "$tool" "$run" idle
    fi
    iperf_server_up "$target"
    measure_traffic "$tool" "$run" "$target"
    if [[ $tool != bare ]]; then
        record_memory "$tool" "$run" peak
        # Idle again: what a tunnel keeps once a burst is over (enftun hands
        # a burst's buffers and pages back after a quiet heartbeat period,
        # 5 s in this benchmark's config).
        sleep "$BENCH_QUIET"
        record_memory "$tool" "$run" quiet
    fi
    et_daemon_stop iperf3 5
    "${tool}_down"
}

parse_args() {
    while getopts "r:t:o:h" opt; do
        case "$opt" in
        r) RUNS="$OPTARG" ;;
        t) TOOLS="$OPTARG" ;;
        o) OUT="$OPTARG" ;;
        *) usage ;;
        esac
    done
    [[ $RUNS =~ ^[1-9][0-9]?$ ]] || et_die "-r wants 1..99"
    [[ $BENCH_QUIET =~ ^[0-9]{1,3}$ ]] || et_die "BENCH_QUIET wants 0..999 seconds"
    local t
    IFS=, read -r -a TOOL_LIST <<<"$TOOLS"
    for t in "${TOOL_LIST[@]}"; do
        [[ $t =~ ^(bare|enftun|enftun_v1|enftun_spin|openvpn|wireguard)$ ]] || et_die "unknown tool: $t"
    done
}

meta_json() {
    jq -n --arg date "$(date -u +%FT%TZ)" --arg kernel "$(uname -r)" \
        --arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
        --argjson cores "$(nproc)" --argjson runs "$RUNS" --argjson seconds "$BENCH_SECONDS" \
        --arg openvpn "$(openvpn --version 2>/dev/null | awk 'NR == 1 { print $2 }')" \
        --arg wireguard_go "$(wireguard-go --version 2>/dev/null | awk 'NR == 1 { print $2 }')" \
        --arg enftun "$(git -C "$BENCH_REPO" describe --always --dirty 2>/dev/null || true)" \
        --arg loadavg "$(cut -d' ' -f1-3 /proc/loadavg)" \
        '{date: $date, kernel: $kernel, cpu: $cpu, cores: $cores, runs: $runs,
          iperf_seconds: $seconds, versions: {openvpn: $openvpn, wireguard_go: $wireguard_go,
          enftun: $enftun}, loadavg_at_start: $loadavg}'
}

main() {
    local -a TOOL_LIST=()
    parse_args "$@"
    et_init
    "$BENCH_HERE/install-bench-deps" >&2
    bench_require_tools iperf3 jq ping column cmake openvpn wireguard-go wg
    bench_build
    BENCH_TSV="$ET_TMP/results.tsv"
    : >"$BENCH_TSV"
    local meta run tool
    meta="$(meta_json)"
    bench_topology
    for tool in "${TOOL_LIST[@]}"; do
        "${tool}_prepare"
    done
    for ((run = 1; run <= RUNS; run++)); do
        for tool in "${TOOL_LIST[@]}"; do
            measure "$tool" "$run"
        done
    done
    mkdir -p "$(dirname "$OUT")"
    bench_json "$BENCH_TSV" "$meta" >"$OUT"
    echo
    echo "median (min-max) of $RUNS runs; advantage > 1 means enftun is ahead"
    bench_table "$OUT"
    echo "JSON: $OUT"
}

main "$@"
