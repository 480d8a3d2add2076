#!/usr/bin/env bash
# log_flap_test.sh: quiet logs when a flapping path keeps moving the tunnel,
# and counts of rate-limited lines that outlive their flood (README "Logs";
# client/reconnect_lines.hpp, loop/log_flush.hpp; CTest: netns.log_flap_test).
#
# Topology: resilience_lib.sh (d with two uplinks, eth0 preferred, to r,
# the router on fd00:200::1). enftun runs at debug level (-v) for step b.
#
# Steps:
#   a. a route that prefers wlan0 is added and removed every second, 24
#      times: each change moves the preferred path and enftun reconnects
#      at once (no back-off, by design). Of the lines of each reconnect
#      ("... reconnecting in", "connected to", "TLS session with", "tunnel
#      up:") at most 4 + 20 per 30 s are written (the first reconnect's,
#      then a budget) and 4 in each 30 s after, not ~4 per flap; a summary
#      line counts the rest: the "tunnel up" lines written plus those it
#      counts are exactly enftun's tunnels up; the last word on the tunnel
#      is that it is up ("tunnel up:", or a summary ending "now up via");
#      the tunnel pings.
#   b. 40 packets with a source that is not the client's (a second address
#      on enf0) in 2 s: the egress filter drops each with a rate-limited
#      debug line (10 per 5 s); then nothing more. The count of the rest
#      is still written, by the interval's end: lines written plus the
#      count are exactly the drops.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=resilience_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/resilience_lib.sh"

readonly FLAPS=24
# The lines of one reconnect, and the summary of those left out.
readonly RECONNECT_LINES='reconnecting in [0-9]+ ms|connected to .*; TLS handshake|TLS session with|tunnel up: '
readonly SUMMARY='reconnects in the last [0-9]+ s: '

# sum_field LOG REGEX: the sum of the numbers REGEX's group catches in LOG.
sum_field() {
    sed -n -E "s/$2/\\1/p" "$1" | awk '{ s += $1 } END { print s + 0 }'
}

# connects: the client's count of tunnels up (its SIGUSR1 stats line;
# "connects " alone would match "reconnects " too).
connects() {
    et_daemon_stat c1 "dropped source" >/dev/null || return 1
    grep -F "dropped source " "$(et_daemon_log c1)" | tail -n 1 |
        sed -n 's/.*; connects \([0-9][0-9]*\) disconnects .*/\1/p'
}

# ups_accounted FROM: every tunnel up since log line FROM is a "tunnel up:"
# line or counted in a summary after it.
ups_accounted() {
    local log written counted ups
    log="$ET_TMP/tail.log"
    tail -n "+$1" "$(et_daemon_log c1)" >"$log"
    written="$(grep -c -F "tunnel up: " "$log" || true)"
    counted="$(sum_field "$log" ".*${SUMMARY}.* tunnel up ([0-9]+)\\); now .*")"
    ups="$(connects)"
    echo "  info: tunnel-up lines $written + counted $counted; tunnels up $((ups - UPS0))" \
        >"$ET_TMP/ups"
    ((written + counted == ups - UPS0))
}

# last_word_up: of the reconnect lines and summaries, the last says the
# tunnel is up.
last_word_up() {
    local last
    last="$(grep -E -- "$RECONNECT_LINES|$SUMMARY" "$(et_daemon_log c1)" | tail -n 1)"
    echo "  info: last word: $last" >"$ET_TMP/last"
    [[ $last == *"tunnel up: "* || $last == *"; now up via "* ]]
}

UPS0=0
step_a() {
    local ok=0 from i lines reconnects
    check "the tunnel runs over eth0" et_wait_for -d c1 rs_tunnel_src_is "$RS_ETH_LOCAL" || return 1
    from="$(($(wc -l <"$(et_daemon_log c1)") + 1))"
    UPS0="$(connects)"
    for ((i = 0; i < FLAPS; i++)); do
        if ((i % 2 == 0)); then
            et_exec d ip -6 route add fd00:200::/64 via "$RS_WLAN_GW" dev wlan0 metric 50
        else
            et_exec d ip -6 route del fd00:200::/64 via "$RS_WLAN_GW" dev wlan0 metric 50
        fi
        sleep 1
    done
    # FLAPS is even: the path is eth0 again.
    check "the tunnel runs over eth0 again" et_wait_for -d c1 rs_tunnel_src_is "$RS_ETH_LOCAL" ||
        ok=1
    check "a summary counts the reconnect lines left out" \
        et_wait_for -t 40 -d c1 log_count_above c1 "reconnects in the last" 0 || ok=1
    check "tunnel-up lines written + counted = the client's tunnels up" \
        et_wait_for -t 40 -d c1 ups_accounted "$from" || ok=1
    cat "$ET_TMP/ups"
    reconnects="$(($(connects) - UPS0))"
    lines="$(tail -n "+$from" "$(et_daemon_log c1)" | grep -c -E -- "$RECONNECT_LINES" || true)"
    echo "  info: tunnels up while flapping $reconnects; their lines written $lines; summaries:"
    grep -E -- "$SUMMARY" "$(et_daemon_log c1)" | sed 's/^/    /'
    check_num "the flapping moved the tunnel (reconnects)" "$reconnects" -ge $((FLAPS / 2)) || ok=1
    # At most two intervals of 30 s: 4 + 20 in the first, 4 in the next
    # (a reconnect the back-off paced, if an attempt failed, adds its own).
    check_num "reconnect lines: 24 in the first 30 s, 4 per 30 s after" "$lines" -le 34 || ok=1
    check "the last word on the tunnel: up" last_word_up || ok=1
    cat "$ET_TMP/last"
    check "the tunnel pings" et_wait_for -d c1 rs_ping_tunnel || ok=1
    return "$ok"
}

egress_drops() {
    et_daemon_stat c1 "dropped source"
}

step_b() {
    local ok=0 drops0 drops from written counted log
    drops0="$(egress_drops)"
    from="$(($(wc -l <"$(et_daemon_log c1)") + 1))"
    et_exec d ip -6 addr add fd00:e::99/128 dev enf0 nodad
    et_exec d ping -6 -n -q -c 40 -i 0.05 -W 1 -I fd00:e::99 "$RS_ROUTER_ADDR" >/dev/null 2>&1 ||
        true
    et_exec d ip -6 addr del fd00:e::99/128 dev enf0
    check "the flood's count is written after it stopped" \
        et_wait_for -t 15 -d c1 log_count_above c1 "similar lines suppressed in the last 5 s: \"egress: dropped" 0 ||
        ok=1
    drops="$(($(egress_drops) - drops0))"
    log="$ET_TMP/flood.log"
    tail -n "+$from" "$(et_daemon_log c1)" >"$log"
    written="$(grep -F "egress: dropped " "$log" | grep -c -v -F "similar lines suppressed" ||
        true)"
    counted="$(sum_field "$log" '.*\(([0-9]+) similar lines suppressed.*egress: dropped.*')"
    echo "  info: drops $drops; lines written $written + counted $counted"
    grep -F "similar lines suppressed" "$log" | sed 's/^/    /'
    check_num "the flood was dropped by the egress filter" "$drops" -ge 40 || ok=1
    check_num "lines written: 10 per 5 s" "$written" -le 20 || ok=1
    check_num "lines written + counted = drops" "$((written + counted))" -eq "$drops" || ok=1
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    rs_make_topology
    rs_make_pki
    rs_write_router_conf
    rs_write_client_conf c1 heartbeat_period=600000 heartbeat_timeout=15000
    rs_start_router || et_die "router did not listen"
    et_daemon_start c1 d "$ET_BIN_DIR/enftun" -v -c "$ET_TMP/c1.conf"
    et_wait_for -d c1 et_link_up d enf0 || et_die "no TUN"
    et_exec d ip -6 route replace fd00:e::/64 dev enf0
    et_wait_for -d c1 et_log_has c1 "tunnel up: " || et_die "no tunnel"
    run_step a "a flapping path: bounded reconnect lines, a summary, up at the end" step_a
    run_step b "a rate-limited flood, then silence: its count is written" step_b
    et_summary log_flap_test
}

main "$@"
