#!/usr/bin/env bash
# idle_timeout_slow_test.sh: a peer at the original enftun client's default
# heartbeat (every 300 s, timeout 15 s) keeps its session with a router at
# its default router.idle_timeout (issue 18). Takes about 5.5 minutes, nearly
# all of it waiting: CTest label `slow` (netns.idle_timeout_slow_test), not
# `netns`; scripts/run-tests starts it in the background when the dev tests
# start and waits for it when they end, so it adds no time to CI. The same
# scaled to seconds, and the control that shows it can fail (a router whose
# idle_timeout is below the period drops such a peer), is
# idle_timeout_test.sh.
#
# Topology and the quiet client: idle_lib.sh. Our client stands in for the
# original: with nothing to send, both send a heartbeat after the period
# without a received frame, and nothing else.
#   a. The router (no idle_timeout in its config) still holds the client's
#      first session when the next heartbeat after the one at start comes,
#      300 s after the last frame the client received, and answers it on
#      that session: no idle close, no reconnect, nothing but heartbeats
#      sent, a ping through the tunnel answered afterwards. Against a router
#      with the old default (180 s) it fails: closed after ~180 s.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=idle_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/idle_lib.sh"

ET_WAIT_TIMEOUT=20
readonly HEARTBEAT_MS=300000 HEARTBEAT_TIMEOUT_MS=15000

# slowly CMD...: CMD, and on failure a pause of 5 s, so that et_wait_for
# asks the daemons for their counters every 5 s rather than every 0.1 s.
slowly() {
    "$@" || {
        sleep 5
        return 1
    }
}

step_a() {
    local ok=0 t0 replies0
    idle_start "" "$HEARTBEAT_MS" "$HEARTBEAT_TIMEOUT_MS" || return 1
    t0="$SECONDS"
    replies0="$(et_daemon_stat router echo-replies)"
    echo "tunnel up; waiting for the next heartbeat (${HEARTBEAT_MS} ms of quiet)"
    check "the client sends its next heartbeat" et_wait_for -t 400 -d c1 -d router \
        slowly idle_stat_at_least c1 heartbeats $((IDLE_HEARTBEATS0 + 1)) || ok=1
    # Not a timing assertion: the proof that the quiet spell the session
    # outlived was the whole period (a heartbeat for another reason would
    # have cut it short and the test would prove nothing).
    check_num "seconds of quiet before it" $((SECONDS - t0)) -ge 280 || ok=1
    check "the router answers it, on the same session" et_wait_for -t 30 -d router \
        idle_stat_at_least router echo-replies $((replies0 + 1)) || ok=1
    idle_quiet || ok=1
    echo "session held for $((SECONDS - t0)) s"
    idle_stop
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    idle_setup
    run_steps \
        "a|a peer heartbeating every 300 s keeps its session at the default idle_timeout|step_a"
    et_summary idle_timeout_slow_test
}

main "$@"
