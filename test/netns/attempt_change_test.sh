#!/usr/bin/env bash
# attempt_change_test.sh: a network change that lands while a connection
# attempt is in progress is not forgotten: when that attempt fails, the next
# one follows at once (paced), not after the grown backoff (CTest:
# netns.attempt_change_test; exit 77 = skipped). Topology: resilience_lib.sh.
#
# The eth0 path is a silent black hole for the tunnel's TCP (an nftables
# rule in r drops d's SYNs from its eth0 address), wlan0 works but has the
# worse metric, so every attempt goes out over eth0 and times out
# (connect_timeout 3 s). Once the backoff ceiling has grown to 8 s, the eth0
# route is deleted during the next attempt: wlan0 is now
# the preferred path, the attempt in flight still dies on its old source.
#
# Steps:
#   a. attempts time out over the black-holed eth0, the backoff grows
#   b. the route change during the next attempt is logged as left to the
#      attempt; its failure is followed by a retry without backoff (log line,
#      early-retries counter) and the tunnel comes up over wlan0
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=resilience_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/resilience_lib.sh"

readonly TABLE=enftun_attempt FAILED="could not connect to any remote host"
FAILURES_BEFORE=0

# SYNs from d's eth0 address dropped at r: one per attempt and retransmit.
swallowed() {
    et_nft_counter r "$TABLE" swallowed
}

counter_above() {
    (($(swallowed) > $1))
}

step_a() {
    local ok=0
    et_exec r nft -f - <<NFT
table inet $TABLE {
    counter swallowed {}
    chain pre {
        type filter hook prerouting priority -400; policy accept;
        ip6 saddr $RS_ETH_LOCAL tcp dport 4443 counter name "swallowed" drop
    }
}
NFT
    rs_write_router_conf
    rs_start_router || return 1
    rs_write_client_conf c1 connect_timeout=3000
    rs_start_client c1 || return 1
    # Ceilings 1, 2, 4 s (a first attempt that saw the TUN's own address
    # and route events retries at once and leaves the ceiling where it was).
    check "attempts over eth0 time out until the ceiling is 4 s (8 s next)" \
        et_wait_for -t 60 -d c1 rs_log_line_has c1 "$FAILED" "(ceiling 4000 ms)" || ok=1
    check_not "no tunnel came up" et_log_has c1 "tunnel up" || ok=1
    return "$ok"
}

step_b() {
    local ok=0 syns line early
    syns="$(swallowed)"
    FAILURES_BEFORE="$(et_log_count c1 "$FAILED")"
    # The next attempt has sent its SYN (or its first retransmit).
    check "the next attempt is under way" et_wait_for -t 20 -d c1 counter_above "$syns" || ok=1
    et_exec d ip -6 route del fd00:200::/64 via "$RS_ETH_GW" dev eth0 metric 100
    check "the change was left to the attempt in progress" \
        et_wait_for -t 5 -d c1 rs_log_line_has c1 "route change (" "connection attempt in progress" ||
        ok=1
    check "the attempt fails" \
        et_wait_for -t 10 -d c1 log_count_above c1 "$FAILED" "$FAILURES_BEFORE" || ok=1
    line="$(grep -F "$FAILED" "$(et_daemon_log c1)" | sed -n "$((FAILURES_BEFORE + 1))p")"
    echo "  info: $line"
    check "its retry follows without backoff" \
        grep -q -F "(no backoff: the network changed during the attempt)" <<<"$line" || ok=1
    check "the tunnel comes up over wlan0" \
        et_wait_for -t 10 -d c1 rs_tunnel_src_is "$RS_WLAN_LOCAL" || ok=1
    check "ping router.address through the tunnel" et_wait_for -t 10 -d c1 rs_ping_tunnel || ok=1
    read -r _ _ _ _ _ early < <(rs_stats c1) || true
    check_num "enftun counted an early retry" "${early:-0}" -ge 1 || ok=1
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    echo "attempt_change_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    rs_make_topology
    rs_make_pki
    run_step a "attempts over a black-holed uplink time out, the backoff grows" step_a
    run_step b "a route change during an attempt: its failure retries at once" step_b a
    et_summary attempt_change_test
}

main "$@"
