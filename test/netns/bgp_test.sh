#!/usr/bin/env bash
# bgp_test.sh: several routers, one network (CTest: netns.bgp_test; exit 77 =
# skipped, only when BIRD 2 is not installed). Two enftun-routers with real
# BIRD 2 daemons speaking BGP over a backbone link; topology in bgp_lib.sh.
#
# Steps (each prints PASS/FAIL):
#   a. each router puts its session's /128 into the kernel (proto 250, via
#      its TUN); BGP carries it to the other router's kernel (proto bird);
#      A (on router 1) and B (on router 2) ping each other through both
#   b. no loop: r2 holds a route for an address no router has a session for
#      (fd00:e::99, as a stale announcement would), pointing to r1. B's
#      packets to it cross the backbone once, end in r1's TUN, and r1 drops
#      and counts them (tun-not-local); nothing comes back over the backbone
#      (nftables counters on both ends)
#   c. router 1 stops (SIGTERM): it withdraws its routes; A fails over to
#      router 2; the route for A moves (r2: proto 250, r1: via BGP); A and B
#      ping again
#   d. router 1 is back, A on it again; SIGKILL leaves A's route behind (the
#      TUN is persistent); A fails over; router 1 restarted removes the stale
#      route at start (logged), r1 routes A by BGP again, A and B ping
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=bgp_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bgp_lib.sh"

# both_ping: A reaches B and B reaches A (through the tunnels, both routers
# or one).
both_ping() {
    et_wait_for -d a -d b bgp_ping a "$BGP_B" && et_wait_for -d a -d b bgp_ping b "$BGP_A"
}

step_a() {
    local ok=0
    bgp_start_bird 1
    bgp_start_bird 2
    bgp_start_router 1 || return 1
    bgp_start_router 2 || return 1
    bgp_start_client a
    bgp_start_client b
    check "A's session is up on router 1" \
        et_wait_for -d a -d router1 et_log_has router1 "session up: $BGP_A" || ok=1
    check "B's session is up on router 2" \
        et_wait_for -d b -d router2 et_log_has router2 "session up: $BGP_B" || ok=1
    check "BGP session established" et_wait_for -d bird1 -d bird2 bgp_established || ok=1
    check "r1: A/128 into enfr0, proto $BGP_PROTO" \
        et_wait_for bgp_route_is 1 "$BGP_A" "dev enfr0 proto $BGP_PROTO" || ok=1
    check "r2: B/128 into enfr0, proto $BGP_PROTO" \
        et_wait_for bgp_route_is 2 "$BGP_B" "dev enfr0 proto $BGP_PROTO" || ok=1
    check "r2: A/128 via r1, from BIRD" \
        et_wait_for bgp_route_is 2 "$BGP_A" "via fd00:300::1 dev bb proto bird" || ok=1
    check "r1: B/128 via r2, from BIRD" \
        et_wait_for bgp_route_is 1 "$BGP_B" "via fd00:300::2 dev bb proto bird" || ok=1
    check "A and B ping each other through both routers" both_ping || ok=1
    check_num "router 1: no route request refused by the kernel" \
        "$(et_daemon_stat router1 failed)" -eq 0 || ok=1
    check_num "router 1: route requests sent" "$(et_daemon_stat router1 sent)" -ge 1 || ok=1
    echo "  info: r1 routes: $(et_exec r1 ip -6 route show | grep -c .) lines;" \
        "own: $(bgp_own_routes 1 | tr '\n' ';')"
    return "$ok"
}

# nft_bb_counter SHORT: a named counter of packets for the unknown address
# arriving over the backbone.
nft_bb_counter() {
    et_exec "$1" nft -f - <<NFT
table inet bgptest {
    counter unknown {}
    chain pre {
        type filter hook prerouting priority -500;
        iifname "bb" ip6 daddr $BGP_UNKNOWN counter name "unknown"
    }
}
NFT
}

step_b() {
    local ok=0 before after
    nft_bb_counter r1
    nft_bb_counter r2
    et_exec r2 ip -6 route add "$BGP_UNKNOWN/128" via fd00:300::1 dev bb
    before="$(et_daemon_stat router1 tun-not-local)"
    et_exec b ping -6 -n -c 3 -i 0.2 -W 1 "$BGP_UNKNOWN" >/dev/null 2>&1 || true
    check "router 1 dropped and counted them (tun-not-local, before: $before)" \
        et_wait_for counter_at_least router1 tun-not-local "$((before + 3))" || ok=1
    after="$(et_daemon_stat router1 tun-not-local)"
    check_num "each crossed the backbone to r1 once" \
        "$(et_nft_counter r1 bgptest unknown)" -eq 3 || ok=1
    check_num "none came back over the backbone to r2" \
        "$(et_nft_counter r2 bgptest unknown)" -eq 0 || ok=1
    check_num "router 1 counted exactly the 3 (no packet went round)" \
        "$((after - before))" -eq 3 || ok=1
    et_exec r2 ip -6 route del "$BGP_UNKNOWN/128" via fd00:300::1 dev bb
    return "$ok"
}

counter_at_least() {
    local n
    n="$(et_daemon_stat "$1" "$2")" || return 1
    ((n >= $3))
}

step_c() {
    local ok=0
    et_daemon_stop router1
    check "router 1 exited cleanly" test "$ET_LAST_STATUS" = 0 || ok=1
    check "router 1 withdrew its routes (none of proto $BGP_PROTO in r1)" \
        test -z "$(bgp_own_routes 1)" || ok=1
    check "A fails over to router 2" \
        et_wait_for -d a -d router2 et_log_has router2 "session up: $BGP_A" || ok=1
    check "r2: A/128 into enfr0, proto $BGP_PROTO" \
        et_wait_for bgp_route_is 2 "$BGP_A" "dev enfr0 proto $BGP_PROTO" || ok=1
    check "r1: the route for A moved: via r2, from BIRD" \
        et_wait_for bgp_route_is 1 "$BGP_A" "via fd00:300::2 dev bb proto bird" || ok=1
    check "A and B ping each other again" both_ping || ok=1
    return "$ok"
}

step_d() {
    local ok=0 ups
    bgp_start_router 1 || return 1
    # A back on router 1: restart it (it tries router 1 first).
    et_daemon_stop a
    bgp_start_client a
    check "A's session is up on router 1 again" \
        et_wait_for -d a -d router1 log_count_above router1 "session up: $BGP_A" 1 || ok=1
    check "r1: A/128 into enfr0, proto $BGP_PROTO" \
        et_wait_for bgp_route_is 1 "$BGP_A" "dev enfr0 proto $BGP_PROTO" || ok=1
    check "r2: A via r1 again, from BIRD" \
        et_wait_for bgp_route_is 2 "$BGP_A" "via fd00:300::1 dev bb proto bird" || ok=1
    ups="$(et_log_count router2 "session up: $BGP_A")"
    et_daemon_kill router1
    check "SIGKILL left A's route in r1 (what the restart must clean)" \
        bgp_route_is 1 "$BGP_A" "dev enfr0 proto $BGP_PROTO" || ok=1
    check "A fails over to router 2" \
        et_wait_for -d a -d router2 log_count_above router2 "session up: $BGP_A" "$ups" || ok=1
    bgp_start_router 1 || return 1
    check "router 1 removed the stale route at start" \
        et_log_has router1 "removed 1 stale routes of protocol $BGP_PROTO" || ok=1
    check "r1: no route of proto $BGP_PROTO left" test -z "$(bgp_own_routes 1)" || ok=1
    check "r1: A/128 via r2, from BIRD" \
        et_wait_for bgp_route_is 1 "$BGP_A" "via fd00:300::2 dev bb proto bird" || ok=1
    check "A and B ping each other" both_ping || ok=1
    return "$ok"
}

main() {
    et_init
    bgp_have_bird || et_skip "BIRD 2 not installed (package bird2: scripts/install-deps)"
    et_require_bins enftun enftun-router
    echo "bgp_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    bgp_make_topology
    bgp_make_pki
    bgp_write_confs
    run_step a "session routes in the kernel, carried by BGP; A and B ping" step_a
    run_step b "a packet for no session: dropped and counted, no loop" step_b a
    run_step c "router 1 stops: A fails over, its route moves, pings again" step_c a
    run_step d "SIGKILL and restart: no stale route" step_d c
    et_summary bgp_test
}

main "$@"
