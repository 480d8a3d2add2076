#!/usr/bin/env bash
# failover_test.sh: enftun follows the preferred path between two uplinks,
# driven by netlink, and ignores changes that do not move it (CTest:
# netns.failover_test; exit 77 = skipped). Topology: resilience_lib.sh (a
# device d with eth0 and wlan0 to the router namespace r).
#
# The heartbeat period is 10 minutes, far beyond every deadline here, and
# TCP_USER_TIMEOUT acts only on unacknowledged data, which these idle
# tunnels do not have: so a reconnect seen here can only come from the
# netlink path. The test asserts that logically, from enftun's counters
# (SIGUSR1): reconnects for heartbeat = 0 and for errors ("other") = 0.
#
# d has a policy rule like enftun-setup's (resilience_lib.sh): unmarked
# traffic to the router goes into a dead end, so the route probe finds the
# uplink only because it carries route.fwmark, like the tunnel's TCP.
#
# Steps (each prints PASS/FAIL):
#   a. tunnel up over eth0 (metric 100 beats wlan0's 200)
#   b. eth0 goes down -> enftun reconnects over wlan0, within 10 s (only
#      the netlink event can explain that)
#   c. eth0 comes back with a worse metric (300): link, address and route
#      events that do not move the preferred route -> no reconnect
#   d. a better route (metric 50) appears on eth0 -> enftun moves to eth0
#   e. an unrelated route is added and removed -> no reconnect; each
#      "unchanged" decision sent a heartbeat at once (the counter grows)
#   f. wlan0 goes down (not the preferred path: no reconnect), then eth0:
#      the probe finds no route at all -> reconnect (counted as a route
#      reconnect); wlan0 comes back -> the tunnel comes up over it
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=resilience_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/resilience_lib.sh"

readonly HB_PERIOD=600000 # 10 min: the heartbeat cannot explain anything below
FENCE_N=0

# counts: snapshot of the log counters the steps compare against.
UPS=0
RECONNECTS=0
snapshot() {
    UPS="$(et_log_count c1 "tunnel up")"
    RECONNECTS="$(et_log_count c1 ": reconnecting:")"
}

# fence: a throw-away route on d's loopback, then wait until enftun has
# logged its decision for the batch holding it. Netlink keeps order and
# batches are handled in order, so every change made before the fence has
# been decided on by then (the batch description always names its last
# event, so the fence route is in the line even in a big batch).
fence() {
    FENCE_N=$((FENCE_N + 1))
    local prefix="fd00:9f9f:$FENCE_N::/64"
    et_exec d ip -6 route add "$prefix" dev lo
    et_wait_for -d c1 rs_log_line_has c1 "route+ $prefix" "route change (" || return 1
    et_exec d ip -6 route del "$prefix" dev lo
}

# no_reconnect_since_snapshot: no route-change reconnect and no new tunnel.
no_reconnect_since_snapshot() {
    local ok=0
    check_num "no 'reconnecting' decision" \
        "$(($(et_log_count c1 ": reconnecting:") - RECONNECTS))" -eq 0 || ok=1
    check_num "no new 'tunnel up'" "$(($(et_log_count c1 "tunnel up") - UPS))" -eq 0 || ok=1
    return "$ok"
}

# stats_say_netlink_only: every reconnect so far came from a route change.
stats_say_netlink_only() {
    local route hb other changes unchanged early ok=0
    read -r route hb other changes unchanged early < <(rs_stats c1) || true
    echo "  info: reconnects route=$route heartbeat=$hb other=$other;" \
        "route changes=$changes unchanged=$unchanged early-retries=$early"
    check_num "reconnects caused by route changes" "$route" -ge "$1" || ok=1
    check_num "no heartbeat reconnect (period 10 min)" "$hb" -eq 0 || ok=1
    check_num "no connection lost to an error or TCP timeout" "$other" -eq 0 || ok=1
    return "$ok"
}

step_a() {
    local ok=0
    rs_start_router || return 1
    rs_start_client c1 || return 1
    check "ping router.address through the tunnel" et_wait_for -d c1 -d router rs_ping_tunnel ||
        ok=1
    check "the tunnel runs over eth0 ($RS_ETH_LOCAL)" rs_tunnel_src_is "$RS_ETH_LOCAL" || ok=1
    check "unmarked traffic to the router takes the detour ($RS_DETOUR_LOCAL)" \
        test "$(rs_route_src)" = "$RS_DETOUR_LOCAL" || ok=1
    check "marked traffic takes eth0" \
        test "$(rs_route_src mark "$RS_FWMARK")" = "$RS_ETH_LOCAL" || ok=1
    check_not "enftun's route monitor is running" \
        et_log_has c1 "route monitor unavailable" || ok=1
    return "$ok"
}

step_b() {
    local ok=0
    snapshot
    et_exec d ip link set eth0 down
    # Generous bounds, but far below anything but the event (heartbeat
    # 10 min, keepalive idle ~10 min, no unacknowledged data).
    check "enftun decided to reconnect on the route change (10 s)" \
        et_wait_for -t 10 -d c1 log_count_above c1 ": reconnecting:" "$RECONNECTS" || ok=1
    check "the tunnel came up again (10 s)" \
        et_wait_for -t 10 -d c1 log_count_above c1 "tunnel up" "$UPS" || ok=1
    check "ping through the tunnel" et_wait_for -d c1 rs_ping_tunnel || ok=1
    check "the tunnel runs over wlan0 ($RS_WLAN_LOCAL)" rs_tunnel_src_is "$RS_WLAN_LOCAL" || ok=1
    check "the TUN stayed up" et_link_up d enf0 || ok=1
    echo "  info: $(grep -F ": reconnecting:" "$(et_daemon_log c1)" | tail -n 1)"
    stats_say_netlink_only 1 || ok=1
    return "$ok"
}

step_c() {
    local ok=0
    snapshot
    rs_uplink_restore eth0 "$RS_ETH_LOCAL" "$RS_ETH_GW" 300
    check "enftun has decided on every change up to a fence" fence || ok=1
    check "it saw eth0's address come back and kept the path" \
        rs_log_line_has c1 "address+ $RS_ETH_LOCAL/64" "preferred path unchanged" || ok=1
    no_reconnect_since_snapshot || ok=1
    check "the tunnel still runs over wlan0" rs_tunnel_src_is "$RS_WLAN_LOCAL" || ok=1
    check "ping through the tunnel" et_wait_for -t 10 -d c1 rs_ping_tunnel || ok=1
    return "$ok"
}

step_d() {
    local ok=0
    snapshot
    et_exec d ip -6 route add fd00:200::/64 via "$RS_ETH_GW" dev eth0 metric 50
    check "enftun decided to reconnect for the better route" \
        et_wait_for -d c1 rs_log_line_has c1 "metric 50" ": reconnecting:" || ok=1
    check "the tunnel came up again" \
        et_wait_for -d c1 log_count_above c1 "tunnel up" "$UPS" || ok=1
    check "ping through the tunnel" et_wait_for -d c1 rs_ping_tunnel || ok=1
    check "the tunnel runs over eth0 ($RS_ETH_LOCAL)" rs_tunnel_src_is "$RS_ETH_LOCAL" || ok=1
    stats_say_netlink_only 2 || ok=1
    return "$ok"
}

step_e() {
    local ok=0 unchanged probes now
    read -r _ _ _ _ unchanged _ < <(rs_stats c1) || ok=1
    probes="$(rs_heartbeats c1)"
    snapshot
    et_exec d ip -6 route add fd00:999::/64 via "$RS_WLAN_GW" dev wlan0
    check "the added route was evaluated: path unchanged" \
        et_wait_for -d c1 rs_log_line_has c1 "route+ fd00:999::/64" "preferred path unchanged" ||
        ok=1
    et_exec d ip -6 route del fd00:999::/64 via "$RS_WLAN_GW" dev wlan0
    check "the removed route was evaluated: path unchanged" \
        et_wait_for -d c1 rs_log_line_has c1 "route- fd00:999::/64" "preferred path unchanged" ||
        ok=1
    read -r _ _ _ _ now _ < <(rs_stats c1) || ok=1
    check_num "two 'unchanged' decisions at least (counter route unchanged)" \
        "$((${now:-0} - ${unchanged:-0}))" -ge 2 || ok=1
    no_reconnect_since_snapshot || ok=1
    check "the tunnel still runs over eth0" rs_tunnel_src_is "$RS_ETH_LOCAL" || ok=1
    check "ping through the tunnel" ping_three || ok=1
    stats_say_netlink_only 2 || ok=1
    # With a 10-minute period only the "unchanged" decisions send probes.
    check_num "the decisions sent heartbeats (before: $probes)" "$(rs_heartbeats c1)" -gt \
        "${probes:-0}" || ok=1
    return "$ok"
}

step_f() {
    local ok=0 route_before unreachable
    read -r route_before _ < <(rs_stats c1) || true
    snapshot
    unreachable="$(et_log_count c1 "reconnecting: no route to")"
    et_exec d ip link set wlan0 down
    check "enftun has decided on wlan0 going down" fence || ok=1
    no_reconnect_since_snapshot || ok=1
    et_exec d ip link set eth0 down
    check "no route left: enftun reconnects (10 s)" \
        et_wait_for -t 10 -d c1 log_count_above c1 "reconnecting: no route to" "$unreachable" ||
        ok=1
    check "the TUN stays up" et_link_up d enf0 || ok=1
    rs_uplink_restore wlan0 "$RS_WLAN_LOCAL" "$RS_WLAN_GW" 200
    check "the tunnel came up again over wlan0" \
        et_wait_for -d c1 log_count_above c1 "tunnel up" "$UPS" || ok=1
    check "ping through the tunnel" et_wait_for -d c1 rs_ping_tunnel || ok=1
    check "the tunnel runs over wlan0 ($RS_WLAN_LOCAL)" rs_tunnel_src_is "$RS_WLAN_LOCAL" || ok=1
    stats_say_netlink_only "$((${route_before:-0} + 1))" || ok=1
    return "$ok"
}

ping_three() {
    et_exec d ping -6 -n -c 3 -W 2 "$RS_ROUTER_ADDR"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    echo "failover_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    rs_make_topology
    rs_make_pki
    rs_write_router_conf
    rs_write_client_conf c1 heartbeat_period="$HB_PERIOD" heartbeat_timeout=15000

    run_step a "tunnel up over the preferred uplink (eth0)" step_a
    run_step b "uplink down: reconnect over the other uplink, event-driven" step_b a
    run_step c "changes that keep the preferred route: no reconnect" step_c b
    run_step d "a better route on the other uplink: move to it" step_d c
    run_step e "an unrelated route added and removed: no reconnect, a heartbeat" step_e a
    run_step f "every route to the router gone, then one back: reconnect" step_f a
    et_summary failover_test
}

main "$@"
