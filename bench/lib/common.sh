# shellcheck shell=bash
# common.sh: shared helpers of the benchmarks in bench/ (source it after
# test/netns/lib.sh, whose namespace/daemon/cleanup helpers it builds on).
#
# Topology (bench_topology): two namespaces joined by one veth pair, MTU 1500,
# IPv6 ULA underlay, no route off the machine:
#
#   c (client side) vr fd00:100::2/64 ════ fd00:100::1/64 vc r (server side)
#
# Measurements (each bounded in time with `timeout`):
#   bench_iperf NS DST [-R]     one TCP stream, BENCH_SECONDS s → "Mbit/s bytes"
#   bench_rtt NS DST            200 pings at 10 ms → average RTT in ms
#   bench_flood NS DST          ping -f -c 5000 → "REPLIES_PER_SECOND REPLIES"
#   bench_first_ping ...        start a tunnel, ms until the first echo reply
#   bench_cpu_ticks PID         utime + stime of the whole process (all threads)
#   bench_cpu_ns PID            CPU time of its live threads in ns (schedstat)
#   bench_rss_kib PID [VmHWM]   resident set (or its peak) from /proc/PID/status
#   bench_smaps_kib PID KEY...  sum of those fields of /proc/PID/smaps_rollup:
#                               Pss, or Private_Clean Private_Dirty (private)
#
# Results go to a TSV file ($BENCH_TSV: tool, metric, run, value) that
# bench_report turns into the table and the JSON (see report.sh).

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_REPO="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_SECONDS="${BENCH_SECONDS:-10}"
BENCH_TSV=""
CLK_TCK="$(getconf CLK_TCK)"
readonly BENCH_DIR BENCH_REPO CLK_TCK

readonly BENCH_R_UNDERLAY=fd00:100::1 BENCH_C_UNDERLAY=fd00:100::2

# bench_require_tools CMD...: fail with a hint when a tool is missing.
bench_require_tools() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null ||
            et_die "$t not found: run bench/install-bench-deps (as root)"
    done
}

# bench_build: make sure optimised binaries exist. Uses ENFTUN_BIN_DIR when
# set; otherwise builds $BENCH_REPO/build-bench (RelWithDebInfo: -O2 plus
# symbols for perf) once, with -j2 (the machine may be shared).
bench_build() {
    if [[ -n ${ENFTUN_BIN_DIR:-} ]]; then
        ET_BIN_DIR="$ENFTUN_BIN_DIR"
    else
        ET_BIN_DIR="$BENCH_REPO/build-bench"
        # Always build (incremental): a benchmark of stale binaries would
        # measure code that is no longer in the tree.
        if [[ ! -f $ET_BIN_DIR/CMakeCache.txt ]]; then
            cmake -S "$BENCH_REPO" -B "$ET_BIN_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
                -DBUILD_TESTING=OFF >/dev/null
        fi
        et_log "building optimised binaries in $ET_BIN_DIR"
        cmake --build "$ET_BIN_DIR" -j2 >/dev/null
    fi
    et_require_bins enftun enftun-router
}

# bench_topology: namespaces r and c, one veth pair, underlay addresses.
# ip_nonlocal_bind lets `ping -I ADDR` start before a tunnel owns ADDR
# (bench_first_ping); it changes nothing else.
bench_topology() {
    et_ns_add r c
    et_veth_add r vc c vr
    ip -n "$(et_ns r)" link set vc mtu 1500
    ip -n "$(et_ns c)" link set vr mtu 1500
    et_addr_add r vc "$BENCH_R_UNDERLAY/64"
    et_addr_add c vr "$BENCH_C_UNDERLAY/64"
    et_exec c sysctl -q -w net.ipv6.ip_nonlocal_bind=1
    et_wait_for et_exec c ping -6 -n -c 1 -W 1 "$BENCH_R_UNDERLAY"
}

# Every tunnel's TUNs get the transmit queue enftun sets on its own
# (kTunTxQueueLen in netlink/link_config.hpp), so no tunnel loses packets
# to a shorter kernel queue than another.
readonly BENCH_TXQLEN=5000

# bench_listening SHORT ADDR PORT: a TCP socket listens there (ss exits 0
# either way: test its output).
bench_listening() {
    [[ -n $(et_exec "$1" ss -Hltn "src [$2]:$3") ]]
}

# bench_persistent_tun SHORT DEV MTU: a TUN the tunnel daemon attaches to
# (TUNSETIFF on an existing name), as enftun-setup prepares it. Being there
# before the daemon starts, routes through it exist from the first ping on.
bench_persistent_tun() {
    local ns
    ns="$(et_ns "$1")"
    ip -n "$ns" tuntap add dev "$2" mode tun
    ip -n "$ns" link set "$2" mtu "$3" txqueuelen "$BENCH_TXQLEN" up
}

# ----------------------------------------------------------- measurements

bench_cpu_ticks() {
    # Field 2 (comm) may hold spaces: cut through the last ')' first. Then
    # utime and stime (fields 14 and 15 of proc(5)) are $12 and $13.
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# bench_cpu_ns PID: CPU time of every live thread of PID, in nanoseconds
# (first field of /proc/PID/task/*/schedstat): precise where stat's 10 ms
# ticks are too coarse, e.g. for a few seconds of ping.
bench_cpu_ns() {
    cat "/proc/$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

bench_rss_kib() {
    awk -v key="${2:-VmRSS}:" '$1 == key { print $2 }' "/proc/$1/status"
}

# bench_smaps_kib PID KEY...: what the kernel accounts the process's own
# memory as, next to VmRSS (which counts every shared library page it maps
# in full): Pss shares each page among the processes mapping it; Private_Clean
# + Private_Dirty are the pages no other process maps (what killing it frees).
bench_smaps_kib() {
    local pid="$1"
    shift
    awk -v keys=" $* " 'index(keys, " " substr($1, 1, length($1) - 1) " ") { s += $2 }
        END { print s + 0 }' "/proc/$pid/smaps_rollup"
}

# bench_iperf NS DST [-R]: prints "MBITS BYTES" (receiver side).
bench_iperf() {
    local ns="$1" dst="$2" json
    shift 2
    json="$(et_exec "$ns" timeout $((BENCH_SECONDS + 30)) iperf3 -6 -c "$dst" \
        -t "$BENCH_SECONDS" -J "$@")" || {
        echo "iperf3 to $dst failed: $(jq -r '.error // empty' <<<"$json" 2>/dev/null)" >&2
        return 1
    }
    jq -r '.end.sum_received | "\(.bits_per_second / 1e6) \(.bytes)"' <<<"$json"
}

# bench_rtt NS DST: average RTT (ms) of 200 pings 10 ms apart.
bench_rtt() {
    et_exec "$1" timeout 30 ping -6 -n -q -c 200 -i 0.01 -W 2 "$2" |
        awk -F'[/ ]+' '/^rtt/ { print $8 }'
}

# bench_flood NS DST: replies per second of `ping -f -c 5000`, and the
# number of replies.
bench_flood() {
    et_exec "$1" timeout 60 ping -6 -n -q -f -c 5000 -w 50 "$2" |
        awk '/packets transmitted/ {
                for (i = 1; i <= NF; i++) {
                    if ($(i + 1) == "received,") rx = $i
                    if ($i == "time") t = $(i + 1)
                }
                sub(/ms/, "", t)
                if (t > 0) printf "%.0f %d\n", rx / (t / 1000), rx
            }'
}

bench_now_ns() {
    date +%s%N
}

# bench_first_ping NS SRC DST START_FN [ARGS]: pings DST from SRC every 2 ms
# (the route through the tunnel's TUN must already exist), runs START_FN,
# and sets BENCH_FIRST_PING to the ms from just before START_FN to the first
# echo reply (`ping -D` stamps each reply). Gives up after 20 s. Not for
# $(...): START_FN starts daemons, which only this shell can track.
BENCH_FIRST_PING=""
bench_first_ping() {
    local ns="$1" src="$2" dst="$3" out t0 first
    shift 3
    out="$ET_TMP/first-ping.out"
    et_exec "$ns" timeout 25 ping -6 -n -D -c 1 -w 20 -i 0.002 -I "$src" "$dst" >"$out" 2>&1 &
    local ping_pid=$!
    sleep 0.05 # ping is sending into the not-yet-working tunnel
    t0="$(bench_now_ns)"
    "$@"
    wait "$ping_pid" || true
    first="$(awk -F'[][]' '/bytes from/ { print $2; exit }' "$out")"
    [[ -n $first ]] || {
        echo "no echo reply from $dst within 20 s" >&2
        return 1
    }
    BENCH_FIRST_PING="$(awk -v a="$first" -v t0="$t0" \
        'BEGIN { printf "%.1f\n", (a * 1e3) - (t0 / 1e6) }')"
}

# ----------------------------------------------------------------- results

# bench_record TOOL METRIC RUN VALUE: one figure (empty values are skipped).
bench_record() {
    [[ -n $4 ]] || return 0
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$BENCH_TSV"
}
