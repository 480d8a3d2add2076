#!/usr/bin/env bash
# profile.sh: where the enftun data path spends its work, per packet, in
# figures that do not depend on machine noise (a shared 2-core box makes
# Mbit/s jump by 30% between runs; instruction and syscall counts do not).
#
#   sudo bench/profile.sh [-m callgrind|strace|perf] [-n MBYTES] [-k DIR]
#
#   -m callgrind  (default) valgrind --tool=callgrind: user-space instructions
#                 per packet for client and router, and the top functions
#   -m strace     strace -c -f: syscalls per packet, by syscall
#   -m perf       perf record (cpu-clock): CPU time by library and function,
#                 the kernel's share included (callgrind sees user space only)
#   -n MBYTES     iperf3 bytes in each direction (default 100; callgrind
#                 slows the daemons ~50x, so keep it small)
#   -k DIR        keep the raw callgrind/strace/perf output in DIR
#
# Workload, on the bench/tunnel.sh topology: iperf3 -n MBYTES client->router,
# then router->client, then `ping -f -c 2000`. Figures are per MB through
# the client's TUN (rx + tx bytes) and per TUN packet (rx + tx packets; with
# TSO one packet the kernel hands over may be a 64 KiB super-packet).
# Both daemons run with their default busy_poll_us = 0: a spin's polls and
# yields are waiting, not work, and would swamp the per-packet figures.
set -e -o pipefail
export LC_ALL=C

BENCH_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../test/netns/lib.sh
source "$BENCH_HERE/../test/netns/lib.sh"
# shellcheck source=lib/common.sh
source "$BENCH_HERE/lib/common.sh"
# shellcheck source=lib/enftun.sh
source "$BENCH_HERE/lib/enftun.sh"

ET_WAIT_TIMEOUT=60
MODE=callgrind
MBYTES=100
KEEP=""

usage() {
    sed -n '6,16p' "$0" >&2
    exit 2
}

# wrap NAME: the command prefix that runs a daemon under the profiler.
wrap() {
    case "$MODE" in
    callgrind)
        echo valgrind --tool=callgrind --callgrind-out-file="$ET_TMP/$1.callgrind" \
            --dump-instr=no --collect-jumps=no
        ;;
    strace) echo strace -c -f -o "$ET_TMP/$1.strace" ;;
    perf) echo perf record -q -e cpu-clock -F 2000 -o "$ET_TMP/$1.perf" -- ;;
    esac
}

start_daemons() {
    local -a w
    read -r -a w <<<"$(wrap router)"
    et_daemon_start enftun-server r "${w[@]}" "$ET_BIN_DIR/enftun-router" \
        -c "$ET_TMP/enftun/router.conf"
    et_wait_for -d enftun-server _enftun_listening
    enftun_client_prepare
    read -r -a w <<<"$(wrap client)"
    et_daemon_start enftun-client c "${w[@]}" "$ET_BIN_DIR/enftun" \
        -c "$ET_TMP/enftun/client.conf"
    et_wait_for -d enftun-client et_exec c ping -6 -n -c 1 -W 1 "$ENFTUN_TARGET"
}

workload() {
    et_daemon_start iperf3 r iperf3 -s -B "$ENFTUN_TARGET"
    et_wait_for -d iperf3 bench_listening r "$ENFTUN_TARGET" 5201
    et_exec c timeout 300 iperf3 -6 -c "$ENFTUN_TARGET" -n "${MBYTES}M" >/dev/null
    et_exec c timeout 300 iperf3 -6 -c "$ENFTUN_TARGET" -n "${MBYTES}M" -R >/dev/null
    et_exec c timeout 120 ping -6 -n -q -f -c 2000 "$ENFTUN_TARGET" >/dev/null
    et_daemon_stop iperf3 5
}

# stop_profiled NAME: SIGTERM to the daemon itself (under strace it is the
# tracer's child), then wait for the profiler to write its output and exit.
stop_profiled() {
    local pid target
    pid="$(et_daemon_pid "$1")"
    target="$pid"
    if [[ $MODE == strace || $MODE == perf ]]; then
        target="$(pgrep -P "$pid" | head -n 1)"
    fi
    kill -TERM "$target" 2>/dev/null || true
    ET_WAIT_TIMEOUT=60 et_wait_for_exit "$1" || true
    et_daemon_stop "$1" 5
}

packets() {
    echo $(($(et_link_stat c enf0 rx) + $(et_link_stat c enf0 tx)))
}

# tun_bytes: rx + tx bytes of the client's TUN.
tun_bytes() {
    ip -n "$(et_ns c)" -s link show dev enf0 |
        awk '$1 == "RX:" || $1 == "TX:" { getline; sum += $1 } END { print sum }'
}

# report_callgrind NAME PACKETS BYTES
report_callgrind() {
    local f="$ET_TMP/$1.callgrind" total
    total="$(awk '/^summary:/ { print $2 }' "$f")"
    printf '%-8s %14s instructions, %8.0f per packet, %10.0f per MB\n' "$1" "$total" \
        "$(awk -v t="$total" -v p="$2" 'BEGIN { print t / p }')" \
        "$(awk -v t="$total" -v b="$3" 'BEGIN { print t / (b / 1e6) }')"
    callgrind_annotate --inclusive=no "$f" 2>/dev/null | awk '/^-+$/ { n++; next }
        n == 3 && NF > 1 && shown < 25 { print "    " $0; shown++ }'
}

# report_strace NAME PACKETS BYTES
report_strace() {
    local f="$ET_TMP/$1.strace"
    printf '%-8s syscalls per packet: %s, per MB: %s\n' "$1" \
        "$(awk -v p="$2" '$NF == "total" { printf "%.2f", $(NF - 2) / p }' "$f")" \
        "$(awk -v b="$3" '$NF == "total" { printf "%.0f", $(NF - 2) / (b / 1e6) }' "$f")"
    awk -v p="$2" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { printf "    %-16s %6.3f per packet\n", $NF, $4 / p }' "$f" |
        sort -k2 -rn | head -n 10
}

# report_perf NAME PACKETS BYTES: where the daemon's CPU time went, kernel
# and user space alike (cpu-clock samples: this VM has no hardware
# counters), by library and by function.
report_perf() {
    local f="$ET_TMP/$1.perf" by_dso by_sym
    by_dso="$(perf report -i "$f" --stdio -q --no-children --sort dso 2>/dev/null | grep -E '^ +[0-9]')"
    by_sym="$(perf report -i "$f" --stdio -q --no-children --sort dso,sym 2>/dev/null | grep -E '^ +[0-9]')"
    printf '%-8s %s cpu-clock samples at 2000 Hz\n' "$1" \
        "$(perf script -i "$f" -F period 2>/dev/null | wc -l)"
    echo "    by library:"
    sed -n '1,8s/^/    /p' <<<"$by_dso"
    echo "    by function:"
    sed -n '1,30s/^/    /p' <<<"$by_sym"
}

main() {
    while getopts "m:n:k:h" opt; do
        case "$opt" in
        m) MODE="$OPTARG" ;;
        n) MBYTES="$OPTARG" ;;
        k) KEEP="$OPTARG" ;;
        *) usage ;;
        esac
    done
    [[ $MODE == callgrind || $MODE == strace || $MODE == perf ]] || usage
    [[ $MBYTES =~ ^[1-9][0-9]{0,4}$ ]] || et_die "-n wants 1..99999"
    et_init
    case "$MODE" in
    callgrind) bench_require_tools iperf3 jq valgrind callgrind_annotate ;;
    strace) bench_require_tools iperf3 jq strace ;;
    perf) bench_require_tools iperf3 jq perf ;;
    esac
    bench_build
    bench_topology
    enftun_prepare
    start_daemons
    local before after n bytes0 bytes
    before="$(packets)"
    bytes0="$(tun_bytes)"
    workload
    after="$(packets)"
    n=$((after - before))
    bytes=$(($(tun_bytes) - bytes0))
    stop_profiled enftun-client
    stop_profiled enftun-server
    echo "through the client TUN: $n packets, $bytes bytes (iperf3 ${MBYTES} MB each way + 2000 flood pings)"
    local name
    for name in client router; do
        "report_$MODE" "$name" "$n" "$bytes"
    done
    if [[ -n $KEEP ]]; then
        mkdir -p "$KEEP"
        cp "$ET_TMP"/*."$MODE" "$KEEP"/
    fi
}

main "$@"
