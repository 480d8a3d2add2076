#!/usr/bin/env bash
# scale.sh: the router scale benchmark (issue 6). A benchmark, not a test.
#
#   sudo bench/scale.sh [-n SESSIONS] [-o FILE.json]
#
#   -n N     concurrent TLS sessions to open and hold (default 10000)
#   -o FILE  JSON output (default bench/results/scale.json)
#   env ENFTUN_BIN_DIR=DIR  use that build instead of building build-bench
#
# Namespaces (bench/lib/common.sh topology plus a third one):
#   c  ── fd00:100::/64 ──  r  ── fd00:101::/64 ──  l
#   enftun client           enftun-router           enftun-loadgen
#   (fd00:e::5)             (gateway TUN fd00:f::1)  (N sessions, CN fd00:1000::i)
# The load generator (bench/loadgen/, built with the project) issues N
# certificates from the test CA in-process, opens N sessions at most 64 at a
# time and holds them. Reported: handshakes per second (and router CPU per
# handshake), router memory per idle session (growth / N of VmRSS, and of
# Pss and private = Private_Clean + Private_Dirty, smaps_rollup), the number of
# sessions the router reports, and whether the real client still pings
# while the N sessions are held. Routes (router/session_routes.hpp): each
# session's /128 goes into r's kernel through the gateway TUN (proto 250);
# reported are the time from the load generator's start until all N are in
# the kernel (routable), how far that lags behind the last handshake, and
# the time until they are gone again once the sessions close. The control
# socket with the N sessions held (bench/lib/ctlpoll.py): the router's CPU
# per answer (`status`, `status json`, `metrics`, 10 each), and what 8
# pollers in a tight loop of `status json` for 4 s do to the router's CPU
# (over the 4 s) and to the real client's pings (50, from 0.5 s on); before
# that, one such poller for 6 s and 250 pings (avg and max RTT, against 250
# without it): how long one answer holds the loop. Bounded: the handshake phase gives up
# after 300 s, and everything is torn down on exit.
set -e -o pipefail
export LC_ALL=C

BENCH_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../test/netns/lib.sh
source "$BENCH_HERE/../test/netns/lib.sh"
# shellcheck source=lib/common.sh
source "$BENCH_HERE/lib/common.sh"
# shellcheck source=lib/enftun.sh
source "$BENCH_HERE/lib/enftun.sh"

ET_WAIT_TIMEOUT=30
SESSIONS=10000
OUT="$BENCH_HERE/results/scale.json"
readonly LOAD_UNDERLAY_R=fd00:101::1 LOAD_UNDERLAY_L=fd00:101::2

usage() {
    sed -n '4,8p' "$0" >&2
    exit 2
}

# router_conf: both underlays, room for every session, no idle closing
# while the sessions are held. All sessions come from one load generator
# address, up to its --window (64) handshakes at once as it counts them (a
# TLS 1.3 client is done one flight before the router): the per-source cap
# (router.max_handshakes_per_source, 16 by default) must let them all in.
router_conf() {
    local dir="$ET_TMP/enftun"
    write_router_conf "$dir/router.conf" listen="$BENCH_R_UNDERLAY,$LOAD_UNDERLAY_R" \
        address=fd00:e::1 cert="$dir/router.pem" key="$dir/router.key" ca="$dir/ca.pem" \
        max_sessions=$((SESSIONS + 16)) idle_timeout=3600000 handshake_timeout=30000 \
        max_handshakes_per_source=256 \
        mtu=1500 tun_dev=enfr0 tun_address="$ENFTUN_TARGET" tun_routes=fd00:e::/64
}

start_router() {
    # One fd per session: raise the router's RLIMIT_NOFILE for this run only.
    et_daemon_start enftun-server r prlimit --nofile=$((SESSIONS + 1024)) \
        "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/enftun/router.conf"
    et_wait_for -d enftun-server bench_listening r "$LOAD_UNDERLAY_R" 4443
}

# router_sessions: the session count from the router's SIGUSR1 stats line.
router_sessions() {
    local log before
    log="$(et_daemon_log enftun-server)"
    before="$(grep -c 'stats: sessions' "$log" || true)"
    kill -USR1 "$(et_daemon_pid enftun-server)"
    et_wait_for -t 10 _stats_logged "$log" "$before"
    grep 'stats: sessions' "$log" | tail -n 1 | sed 's/.*stats: sessions \([0-9]*\).*/\1/'
}

# last_stat FIELD: "FIELD N" from the router's last stats line (no signal).
last_stat() {
    grep 'stats: sessions' "$(et_daemon_log enftun-server)" | tail -n 1 |
        sed -n "s/.* $1 \([0-9][0-9]*\).*/\1/p"
}

_stats_logged() {
    (($(grep -c 'stats: sessions' "$1" || true) > $2))
}

_ready() {
    [[ -s $ET_TMP/ready.json ]]
}

# session_routes: how many routes of the router's protocol r's kernel holds.
session_routes() {
    et_exec r ip -6 route show proto 250 | wc -l
}

_routes_at_least() {
    (($(session_routes) >= $1))
}

_routes_at_most() {
    (($(session_routes) <= $1))
}

ms_between() {
    echo $((($2 - $1) / 1000000))
}

# ping_while_held: "RECEIVED/SENT AVG_RTT_MS" of 50 pings through the client.
ping_while_held() {
    et_exec c timeout 30 ping -6 -n -q -c 50 -i 0.02 -W 2 "$ENFTUN_TARGET" |
        awk -F'[/ ]+' '/packets transmitted/ { sent = $1; rx = $4 }
                       /^rtt/ { rtt = $8 }
                       END { printf "%s/%s %s\n", rx, sent, (rtt == "" ? "-" : rtt) }'
}

# ping_rtt COUNT: "RECEIVED/SENT AVG_MS MAX_MS" of COUNT pings (every 20 ms)
# through the client.
ping_rtt() {
    et_exec c timeout 60 ping -6 -n -q -c "$1" -i 0.02 -W 2 "$ENFTUN_TARGET" |
        awk -F'[/ ]+' '/packets transmitted/ { sent = $1; rx = $4 }
                       /^rtt/ { avg = $8; max = $9 }
                       END { printf "%s/%s %s %s\n", rx, sent, (avg == "" ? "-" : avg),
                                    (max == "" ? "-" : max) }'
}

# ping_json "RX/SENT AVG MAX": that as JSON.
ping_json() {
    jq -n --arg p "$1" '($p | split(" ")) as $p | ($p[0] | split("/")) as $rx
        | {received: ($rx[0] | tonumber), sent: ($rx[1] | tonumber),
           rtt_avg_ms: ($p[1] | tonumber? // null), rtt_max_ms: ($p[2] | tonumber? // null)}'
}

# ping_while_polling SOCK POLLERS SECONDS PINGS OUT: POLLERS clients ask
# SOCK for `status json` in a loop for SECONDS (ctlpoll.py's JSON into
# OUT) while PINGS pings cross the router: prints ping_rtt's line.
ping_while_polling() {
    python3 "$BENCH_HERE/lib/ctlpoll.py" "$1" "status json" "$2" "$3" >"$5" &
    local poller=$! pinged
    sleep 0.5
    pinged="$(ping_rtt "$4")"
    wait "$poller"
    echo "$pinged"
}

# one_poller: how long one `status json` holds the router's loop: 250 pings
# through the router (5 s) alone, then again while one poller asks for
# `status json` in a loop (the answer budget lets it have one about every
# 1.8 s at 10,000 sessions): the pings' average and largest RTT.
one_poller() {
    local sock="$1" idle polled
    idle="$(ping_rtt 250)"
    polled="$(ping_while_polling "$sock" 1 6 250 "$ET_TMP/one.json")"
    jq -n --argjson o "$(cat "$ET_TMP/one.json")" --argjson idle "$(ping_json "$idle")" \
        --argjson polled "$(ping_json "$polled")" \
        '{pollers: 1, request: "status json", seconds: 6, result: $o,
          client_ping_alone: $idle, client_ping_polled: $polled}'
}

# control_cost: STATUS_JSON, the control socket's cost with the sessions held.
control_cost() {
    local sock="$ET_TMP/enftun/router.sock" rpid req out c0 c1 costs="{}" storm
    rpid="$(et_daemon_pid enftun-server)"
    for req in status "status json" metrics; do
        c0="$(bench_cpu_ns "$rpid")"
        out="$(python3 "$BENCH_HERE/lib/ctlpoll.py" "$sock" "$req" 1 60 10)"
        c1="$(bench_cpu_ns "$rpid")"
        costs="$(jq -n --argjson c "$costs" --argjson o "$out" --arg r "$req" \
            --argjson ns $((c1 - c0)) '$c + {($r): ($o + {router_cpu_ms_per_answer:
                (if $o.answers > 0 then $ns / 1e6 / $o.answers else null end)})}')"
    done
    # Let a bucket drained by the requests above fill again first.
    sleep 4
    local one
    one="$(one_poller "$sock")"
    sleep 4
    local t0 t1 pinged
    c0="$(bench_cpu_ns "$rpid")"
    t0="$(bench_now_ns)"
    pinged="$(ping_while_polling "$sock" 8 4 50 "$ET_TMP/storm.json")"
    t1="$(bench_now_ns)"
    c1="$(bench_cpu_ns "$rpid")"
    storm="$(jq -n --argjson o "$(cat "$ET_TMP/storm.json")" --argjson ping "$(ping_json "$pinged")" \
        --argjson cpu "$(((c1 - c0) * 100 / (t1 - t0)))" \
        '{pollers: 8, request: "status json", seconds: 4, result: $o,
           router_cpu_percent: $cpu, client_ping: $ping}')"
    STATUS_JSON="$(jq -n --argjson c "$costs" --argjson s "$storm" --argjson one "$one" \
        '{one_client_at_a_time: $c, one_poller: $one, tight_poll_loop: $s}')"
}

main() {
    while getopts "n:o:h" opt; do
        case "$opt" in
        n) SESSIONS="$OPTARG" ;;
        o) OUT="$OPTARG" ;;
        *) usage ;;
        esac
    done
    [[ $SESSIONS =~ ^[1-9][0-9]{0,5}$ ]] || et_die "-n wants 1..999999"
    et_init
    "$BENCH_HERE/install-bench-deps" >&2
    bench_require_tools jq ping prlimit cmake
    bench_build
    et_require_bins enftun-loadgen
    bench_topology
    et_ns_add l
    et_veth_add r vl l vr
    et_addr_add r vl "$LOAD_UNDERLAY_R/64"
    et_addr_add l vr "$LOAD_UNDERLAY_L/64"

    enftun_prepare
    router_conf
    start_router
    enftun_client_prepare
    enftun_client_start
    et_wait_for -d enftun-client et_exec c ping -6 -n -c 1 -W 1 "$ENFTUN_TARGET"
    sleep 1
    local rpid rss0 cpu0 mem0
    rpid="$(et_daemon_pid enftun-server)"
    rss0="$(bench_rss_kib "$rpid")"
    mem0="$(router_mem "$rpid")"
    cpu0="$(bench_cpu_ticks "$rpid")"

    local routes0 t_start t_ready t_routed
    routes0="$(session_routes)" # the real client's
    et_log "opening $SESSIONS sessions"
    t_start="$(bench_now_ns)"
    et_daemon_start loadgen l "$ET_BIN_DIR/enftun-loadgen" --ca-cert "$ET_TMP/enftun/ca.pem" \
        --ca-key "$ET_TMP/enftun/ca.key" --router "$LOAD_UNDERLAY_R" --sessions "$SESSIONS" \
        --ready-file "$ET_TMP/ready.json"
    et_wait_for -t 300 -d loadgen _ready
    t_ready="$(bench_now_ns)"
    local cpu1 ready established
    cpu1="$(bench_cpu_ticks "$rpid")"
    ready="$(cat "$ET_TMP/ready.json")"
    established="$(jq -r .established <<<"$ready")"
    et_wait_for -t 60 _routes_at_least "$((routes0 + established))"
    t_routed="$(bench_now_ns)"
    sleep 3 # let the last sessions release their handshake buffers
    local rss1 count pinged
    rss1="$(bench_rss_kib "$rpid")"
    MEM_JSON="$(jq -n --argjson m0 "$mem0" --argjson m1 "$(router_mem "$rpid")" \
        --argjson n "$established" \
        '{with_one_client: $m0, with_all_sessions: $m1,
          per_idle_session: (if $n > 0 then {pss: (($m1.pss - $m0.pss) / $n),
            private: (($m1.private - $m0.private) / $n)} else null end)}')"
    count="$(router_sessions)"
    local max_send_us send_us route_failed
    max_send_us="$(last_stat max-send-us)"
    send_us="$(last_stat send-us)"
    route_failed="$(last_stat failed)"
    pinged="$(ping_while_held)"
    control_cost
    local t_stop t_gone
    t_stop="$(bench_now_ns)"
    et_daemon_stop loadgen 10
    et_wait_for -t 120 _routes_at_most "$routes0"
    t_gone="$(bench_now_ns)"
    ROUTES_JSON="$(jq -n --argjson routed "$(ms_between "$t_start" "$t_routed")" \
        --argjson lag "$(ms_between "$t_ready" "$t_routed")" \
        --argjson gone "$(ms_between "$t_stop" "$t_gone")" \
        --argjson max_send_us "${max_send_us:-null}" --argjson failed "${route_failed:-null}" \
        --argjson send_us "${send_us:-null}" --argjson n "$established" \
        '{ms_start_to_all_routable: $routed, ms_last_handshake_seen_to_all_routable: $lag,
          ms_loadgen_stop_to_all_removed: $gone, longest_netlink_send_us: $max_send_us,
          netlink_send_us_per_route_added:
            (if $send_us != null and $n > 0 then $send_us / $n else null end),
          requests_refused_by_kernel: $failed}')"
    report "$ready" "$rss0" "$rss1" "$count" "$pinged" $((cpu1 - cpu0))
}

ROUTES_JSON="{}"
MEM_JSON="{}"
STATUS_JSON="{}"

# router_mem PID: {"pss": KiB, "private": KiB} from /proc/PID/smaps_rollup.
router_mem() {
    printf '{"pss": %s, "private": %s}\n' "$(bench_smaps_kib "$1" Pss)" \
        "$(bench_smaps_kib "$1" Private_Clean Private_Dirty)"
}

# report READY_JSON RSS0 RSS1 SESSIONS_SEEN "RX/SENT RTT" CPU_TICKS
report() {
    local json
    json="$(jq -n --argjson lg "$1" --argjson rss0 "$2" --argjson rss1 "$3" \
        --argjson seen "$4" --arg ping "$5" --argjson ticks "$6" --argjson hz "$CLK_TCK" \
        --argjson routes "$ROUTES_JSON" --argjson mem "$MEM_JSON" --argjson status "$STATUS_JSON" --arg date "$(date -u +%FT%TZ)" --arg kernel "$(uname -r)" --argjson cores "$(nproc)" \
        '($ping | split(" ")) as $p | ($p[0] | split("/")) as $rx
        | {date: $date, kernel: $kernel, cores: $cores, loadgen: $lg,
           router_sessions_reported: $seen,
           router_rss_kib: {with_one_client: $rss0, with_all_sessions: $rss1},
           router_rss_per_idle_session_kib:
             (if $lg.established > 0 then ($rss1 - $rss0) / $lg.established else null end),
           router_pss_private_kib: $mem,
           router_cpu_s_handshakes: ($ticks / $hz),
           router_cpu_ms_per_handshake:
             (if $lg.established > 0 then $ticks / $hz * 1000 / $lg.established else null end),
           client_ping_while_held: {received: ($rx[0] | tonumber), sent: ($rx[1] | tonumber),
             rtt_avg_ms: ($p[1] | tonumber? // null)},
           session_routes: $routes, control_socket: $status}')"
    mkdir -p "$(dirname "$OUT")"
    echo "$json" >"$OUT"
    jq -r '
        def r: . * 100 | round / 100;
        "router scale benchmark: \(.loadgen.sessions) sessions requested",
        "  established / failed          \(.loadgen.established) / \(.loadgen.failed)",
        "  handshakes per second         \(.loadgen.handshakes_per_s)",
        "  router CPU per handshake      \(.router_cpu_ms_per_handshake | r) ms",
        "  router sessions (its stats)   \(.router_sessions_reported)",
        "  router RSS 1 client / all     \(.router_rss_kib.with_one_client) / \(.router_rss_kib.with_all_sessions) KiB",
        "  router RSS per idle session   \(.router_rss_per_idle_session_kib | r) KiB",
        "  router Pss 1 client / all     \(.router_pss_private_kib.with_one_client.pss) / \(.router_pss_private_kib.with_all_sessions.pss) KiB",
        "  router private 1 client / all \(.router_pss_private_kib.with_one_client.private) / \(.router_pss_private_kib.with_all_sessions.private) KiB",
        "  router Pss / private per idle session \(.router_pss_private_kib.per_idle_session.pss | r) / \(.router_pss_private_kib.per_idle_session.private | r) KiB",
        "  real client pings while held  \(.client_ping_while_held.received)/\(.client_ping_while_held.sent), RTT \(.client_ping_while_held.rtt_avg_ms) ms",
        "  all sessions routable after   \(.session_routes.ms_start_to_all_routable) ms (\(.session_routes.ms_last_handshake_seen_to_all_routable) ms after the last handshake was seen)",
        "  all routes removed after      \(.session_routes.ms_loadgen_stop_to_all_removed) ms from closing the sessions",
        "  netlink send per route added  \(.session_routes.netlink_send_us_per_route_added | r) µs; longest send (loop blocked) \(.session_routes.longest_netlink_send_us) µs; refused by the kernel: \(.session_routes.requests_refused_by_kernel)",
        (.control_socket.one_client_at_a_time // {} | to_entries[] |
         "  control: \(.key | .+ " " * (12 - length)) \(.value.router_cpu_ms_per_answer | r) ms router CPU per answer, \(.value.bytes_per_answer) B (\(.value.answers) answered, \(.value.busy) busy)"),
        (.control_socket.one_poller // empty |
         "  1 poller of status json, 6 s: \(.result.answers) answered, \(.result.busy) busy; client pings alone RTT avg \(.client_ping_alone.rtt_avg_ms) max \(.client_ping_alone.rtt_max_ms) ms, polled avg \(.client_ping_polled.rtt_avg_ms) max \(.client_ping_polled.rtt_max_ms) ms (\(.client_ping_polled.received)/\(.client_ping_polled.sent))"),
        (.control_socket.tight_poll_loop // empty |
         "  8 pollers of status json, 4 s: router CPU \(.router_cpu_percent)%, \(.result.answers) answered, \(.result.busy) busy; client pings \(.client_ping.received)/\(.client_ping.sent), RTT avg \(.client_ping.rtt_avg_ms) max \(.client_ping.rtt_max_ms) ms")' "$OUT"
    echo "JSON: $OUT"
}

main "$@"
