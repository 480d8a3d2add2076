#!/usr/bin/env bash
# heartbeat_pause_test.sh: a client that was paused (SIGSTOP, a cgroup
# freeze, a VM pause) with a heartbeat probe out does not call the path dead
# when its answer is already waiting in the socket (CTest:
# netns.heartbeat_pause_test; exit 77 = skipped). Topology: resilience_lib.sh.
#
# Why it could: on resume epoll_wait fails with EINTR (signal(7): stop
# signals), libuv finds the poll timeout used up and returns without reading,
# and the next loop turn runs the overdue timers before any I/O: the probe's
# deadline has passed and its answer, received by the kernel during the
# pause, is still unread.
#
# Steps:
#   a. tunnel up (heartbeat period 1 s, timeout 3 s)
#   b. several times: the router's answers are held back (an nftables drop
#      on its TCP output; TCP retransmits them), a probe goes out and is
#      answered into the drop, the client is stopped, the drop removed, the
#      router's retransmission acknowledged by the client's kernel, the
#      stop lasts past the probe's timeout, the client continues: no
#      "heartbeat: no answer", no reconnect, the tunnel works
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=resilience_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/resilience_lib.sh"

readonly TABLE=enftun_pause HB_TIMEOUT_S=3 ROUNDS=4

hold_answers() {
    et_exec r nft -f - <<NFT
table inet $TABLE {
    chain out {
        type filter hook output priority -400; policy accept;
        tcp sport 4443 drop
    }
}
NFT
}

release_answers() {
    et_exec r nft delete table inet "$TABLE"
}

# The router has nothing unacknowledged on the tunnel connection: what it
# held back has reached the client's kernel.
router_all_acked() {
    local q
    q="$(et_exec r ss -Htn state established '( sport = :4443 )' | awk '{ print $2; exit }')"
    [[ -n $q && $q == 0 ]]
}

step_a() {
    rs_write_router_conf
    rs_start_router || return 1
    rs_write_client_conf c1 heartbeat_period=1000 heartbeat_timeout="$((HB_TIMEOUT_S * 1000))"
    rs_start_client c1 || return 1
    check "ping router.address through the tunnel" et_wait_for -d c1 rs_ping_tunnel
}

# One pause with a probe out whose answer arrives during the pause.
pause_round() {
    local pid replies ok=0
    pid="$(et_daemon_pid c1)"
    replies="$(et_daemon_stat router echo-replies)"
    hold_answers
    # A probe went out and the router answered it (into the drop).
    et_wait_for -d router router_answered_above "$replies" || ok=1
    kill -STOP "$pid"
    release_answers
    et_wait_for -t 15 router_all_acked || ok=1
    # The pause outlasts the probe's timeout: that is the situation tested.
    sleep "$((HB_TIMEOUT_S + 1))" # past the timeout by far more than kLateMs
    kill -CONT "$pid"
    return "$ok"
}

router_answered_above() {
    (($(et_daemon_stat router echo-replies) > $1))
}

step_b() {
    local ok=0 i ups dead
    ups="$(et_log_count c1 "tunnel up")"
    for i in $(seq 1 "$ROUNDS"); do
        check "pause $i set up (answer held, client stopped past the timeout)" pause_round || ok=1
        # The client is running again and has had time to look at its socket.
        check "pause $i: the tunnel works after it" et_wait_for -d c1 rs_ping_tunnel || ok=1
    done
    dead="$(et_log_count c1 "heartbeat: no answer")"
    check_num "no heartbeat death" "$dead" -eq 0 || ok=1
    check_num "no reconnect" "$(($(et_log_count c1 "tunnel up") - ups))" -eq 0 || ok=1
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    echo "heartbeat_pause_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    rs_make_topology
    rs_make_pki
    run_step a "tunnel up" step_a
    run_step b "paused with a probe out, its answer waiting: not dead" step_b a
    et_summary heartbeat_pause_test
}

main "$@"
