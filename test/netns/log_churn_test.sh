#!/usr/bin/env bash
# log_churn_test.sh: quiet logs under churn (README "Logs"; router/churn_log.hpp,
# client/route_change_log.hpp) with a real flapping peer and a real flapping
# route (CTest: netns.log_churn_test).
#
# Topology: c (enftun c1, fd00:e::5; the churner, c2's certificate,
# fd00:e::6) ── veth ── r (enftun-router).
#
# Steps:
#   a. an authenticated client reconnects in a tight loop (each connection
#      proven up with an echo to fe80::1, the next made before the previous
#      is closed: "replaced by"), up to 400 times in at most 25 s. The router
#      writes 20 session lines about it in its first 10 s and 2 in each
#      10 s after (at most 4 intervals: 26); c1, coming up in the
#      middle of it, gets its "session up" line; a summary line counts what
#      was left out, and the session-up lines written plus those counted
#      there are exactly the router's own count of sessions up.
#   b. a route on c's uplink is added and removed 60 times, each change in
#      its own coalescing window: enftun writes at most 20 route-change
#      lines per 30 s and then one line with the count of those it left out;
#      the lines written plus that count are exactly its own count of route
#      changes; the tunnel still pings.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ET_WAIT_TIMEOUT=30
PKI=""

# router_ups: the router's count of sessions up (SIGUSR1 stats line).
router_ups() {
    local before
    before="$(et_log_count router "stats: sessions ")"
    kill -USR1 "$(et_daemon_pid router)"
    et_wait_for -d router log_count_above router "stats: sessions " "$before" || return 1
    grep -F "stats: sessions " "$(et_daemon_log router)" | tail -n 1 |
        sed -n 's/.* handshake-failures [0-9]* up \([0-9]*\) replaced .*/\1/p'
}

# sum_field LOG REGEX: the sum of the numbers REGEX's group catches in LOG.
sum_field() {
    sed -n -E "s/$2/\\1/p" "$1" | awk '{ s += $1 } END { print s + 0 }'
}

# ups_accounted: every session up so far is a "session up" line or counted
# in a summary (the last window's summary comes 10 s after it began).
ups_accounted() {
    local log written suppressed ups
    log="$(et_daemon_log router)"
    written="$(grep -c -F "session up: " "$log" || true)"
    suppressed="$(sum_field "$log" \
        '.*session lines suppressed in the last [0-9]+ s: [0-9]+ \(up ([0-9]+), .*')"
    ups="$(router_ups)"
    echo "  info: session-up lines $written + counted $suppressed; router's ups $ups" >"$ET_TMP/ups"
    ((written + suppressed == ups))
}

step_a() {
    local ok=0 log up lines
    log="$(et_daemon_log router)"
    et_daemon_start churn c python3 "$ET_REPO/test/netns/tools/churn_client.py" \
        --host fd00:100::1 --ca "$PKI/ca.pem" --cert "$PKI/c2.pem" --key "$PKI/c2.key" \
        --src fd00:e::6 --count 400 --seconds 25 --overlap
    check "the churner's sessions come up" \
        et_wait_for -d router -d churn log_count_above router "session up: fd00:e::6" 0 || ok=1
    et_daemon_start c1 c "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
    check "a new client's first line is written in the middle of the churn" \
        et_wait_for -d router -d c1 et_log_has router "session up: fd00:e::5" || ok=1
    check "the churner ends" et_wait_for -t 40 et_daemon_exited churn || ok=1
    et_daemon_reap churn
    up="$(grep -E '^[0-9]+$' "$(et_daemon_log churn)" | tail -n 1)"
    check_num "the churner brought sessions up" "${up:-0}" -ge 100 || ok=1
    check "a summary line counts what was left out" \
        et_wait_for -t 20 -d router et_log_has router "session lines suppressed in the last" ||
        ok=1
    check "session-up lines written + counted = the router's ups" \
        et_wait_for -t 30 -d router ups_accounted || ok=1
    cat "$ET_TMP/ups"
    lines="$(grep -c -E "session (up|closed): fd00:e::6 |session for fd00:e::6 from" "$log" || true)"
    echo "  info: churner sessions up $up; lines about it $lines; summaries:"
    grep -F "session lines suppressed" "$log" | sed 's/^/    /'
    # 25 s of churn and the summaries' wait: at most 4 windows of 10 s.
    check_num "lines about the churning client: 20, then 2 per 10 s" "$lines" -le 26 || ok=1
    check_num "the summaries count the churner's replacements" \
        "$(sum_field "$log" '.*suppressed in the last [0-9]+ s: [0-9]+ \(up [0-9]+, replaced ([0-9]+), .*')" \
        -ge 50 || ok=1
    return "$ok"
}

client_route_changes() {
    et_daemon_stat c1 "route changes"
}

step_b() {
    local ok=0 log before_lines before_changes i lines changes suppressed
    log="$(et_daemon_log c1)"
    check "c1 is up" et_wait_for -d c1 et_log_has c1 "tunnel up:" || return 1
    et_exec c ip -6 route replace fd00:e::1/128 dev enf0
    before_lines="$(et_log_count c1 "route change (")"
    before_changes="$(client_route_changes)"
    for ((i = 0; i < 60; i++)); do
        et_exec c ip -6 route add fd00:99::/64 dev vr
        sleep 0.17
        et_exec c ip -6 route del fd00:99::/64 dev vr
        sleep 0.17
    done
    check "a line counts the route-change lines left out" \
        et_wait_for -t 40 -d c1 et_log_has c1 "more lines suppressed in the last 30 s" || ok=1
    lines="$(($(et_log_count c1 "route change (") - before_lines))"
    changes="$(($(client_route_changes) - before_changes))"
    suppressed="$(sum_field "$log" '.*route change: ([0-9]+) more lines suppressed.*')"
    echo "  info: route changes $changes; lines written $lines; counted $suppressed"
    check_num "the flapping made route changes" "$changes" -ge 60 || ok=1
    # The flapping takes 20-30 s: one or two windows of 20 lines.
    check_num "route-change lines written: at most 20 per 30 s" "$lines" -le 40 || ok=1
    check_num "lines written + counted = route changes" "$((lines + suppressed))" -eq "$changes" ||
        ok=1
    check "the tunnel still pings" et_wait_for -d c1 et_exec c ping -6 -c 1 -W 2 fd00:e::1 || ok=1
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    command -v python3 >/dev/null || et_skip "python3 not installed"
    et_router_client_pair
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$PKI" c1=fd00:e::5 c2=fd00:e::6 \
        >/dev/null
    write_router_conf "$ET_TMP/router.conf" cert="$PKI/router.pem" key="$PKI/router.key" \
        ca="$PKI/ca.pem"
    write_client_conf "$ET_TMP/c1.conf" ca="$PKI/ca.pem" cert="$PKI/c1.pem" key="$PKI/c1.key"
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router et_log_has router "listening on"
    run_step a "a client reconnecting in a loop: bounded session lines, a summary" step_a
    run_step b "a flapping route: bounded route-change lines, a count" step_b
    et_summary log_churn_test
}

main "$@"
