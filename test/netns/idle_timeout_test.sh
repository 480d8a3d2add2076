#!/usr/bin/env bash
# idle_timeout_test.sh: the router's idle timeout against a client that
# sends nothing but heartbeats, scaled down to seconds (CTest:
# netns.idle_timeout_test). The same at the real defaults (router
# idle_timeout default, heartbeats every 300 s as the original enftun
# client's defaults) takes over 5 minutes: idle_timeout_slow_test.sh, label
# `slow`, which scripts/run-tests runs beside the other tests.
#
# Topology and the quiet client: idle_lib.sh.
#   a. idle_timeout (5 s) shorter than the heartbeat period (10 s): the
#      router closes the quiet session ("idle for"), the client reconnects.
#      This is what an original enftun client at its defaults (heartbeat
#      every 300 s) saw from a router with the old default of 180 s, and
#      it shows that step b and the slow test can fail.
#   b. idle_timeout (15 s) above the heartbeat period plus timeout (10 s +
#      3 s): the session outlives two heartbeat periods, kept alive by the
#      heartbeats alone; no idle close, no reconnect.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=idle_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/idle_lib.sh"

ET_WAIT_TIMEOUT=20

step_a() {
    local ok=0
    idle_start 5000 10000 3000 || return 1
    check "the router closes the quiet session for idleness" \
        et_wait_for -t 30 -d router idle_closed || ok=1
    # Read at once: the close came before the first heartbeat period ended.
    check_num "client heartbeats after the one at start, before the close" \
        "$(($(et_daemon_stat c1 heartbeats) - IDLE_HEARTBEATS0))" -eq 0 || ok=1
    check "the client reconnects" \
        et_wait_for -t 30 -d c1 log_count_above c1 "tunnel up:" $((IDLE_UP0 + 1)) || ok=1
    check_num "router idle-closed" "$(et_daemon_stat router idle-closed)" -ge 1 || ok=1
    idle_stop
    return "$ok"
}

step_b() {
    local ok=0 replies0
    idle_start 15000 10000 3000 || return 1
    replies0="$(et_daemon_stat router echo-replies)"
    check "the client sends two heartbeats (one per quiet period)" \
        et_wait_for -t 60 -d c1 -d router \
        idle_stat_at_least c1 heartbeats $((IDLE_HEARTBEATS0 + 2)) || ok=1
    check "the router answers both" \
        et_wait_for -t 20 -d router idle_stat_at_least router echo-replies $((replies0 + 2)) ||
        ok=1
    idle_quiet || ok=1
    idle_stop
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    idle_setup
    run_steps \
        "a|idle_timeout below the heartbeat period: the quiet session is closed|step_a" \
        "b|idle_timeout above heartbeat period + timeout: heartbeats keep the session|step_b"
    et_summary idle_timeout_test
}

main "$@"
