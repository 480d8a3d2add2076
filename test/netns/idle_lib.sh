# shellcheck shell=bash
# idle_lib.sh: a quiet client, which sends the router nothing but its
# heartbeats, against the router's idle timeout (idle_timeout_test.sh,
# idle_timeout_slow_test.sh). Source after lib.sh.
#
# Topology: c (enftun, fd00:e::5) ── veth ── r (enftun-router, no TUN,
# fd00:100::1:4443). Nothing runs in c but the client, so the only frames it
# sends are its heartbeats: one when the tunnel comes up, then one after
# every remote.heartbeat_period without a received frame, which the router
# answers (echo-replies). The kernel's own link-local packets on enf0
# (router solicitations, MLD) are dropped by the client's egress filter,
# and idle_quiet_since checks that no other packet went through ("egress
# accepted" unchanged). No route into enf0 until the end: a route change
# makes the client probe the router with a heartbeat.
#
#   idle_setup                  namespaces, certificates
#   idle_start ROUTER_IDLE_MS HEARTBEAT_MS HEARTBEAT_TIMEOUT_MS
#                               router (ROUTER_IDLE_MS empty: its default
#                               idle_timeout) and client c1, tunnel up; sets
#                               IDLE_EGRESS0 and IDLE_HEARTBEATS0 (the
#                               client's counters then) and the log counts
#                               IDLE_UP0 and IDLE_CLOSED0 before the start
#   idle_stop                   stop both
#   idle_stat_at_least NAME FIELD N   daemon NAME's counter FIELD >= N
#   idle_closed_count           idle closes of c1's sessions the router logged

readonly IDLE_R_ADDR=fd00:e::1 IDLE_C1_ADDR=fd00:e::5

idle_setup() {
    et_router_client_pair
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$ET_TMP/pki" \
        c1="$IDLE_C1_ADDR" >/dev/null
}

_idle_listening() {
    [[ -n $(et_exec r ss -Hltn "src [fd00:100::1]:4443") ]]
}

IDLE_EGRESS0="" IDLE_HEARTBEATS0="" IDLE_UP0="" IDLE_CLOSED0=""
idle_start() {
    local pki="$ET_TMP/pki"
    idle_stop # what a failed step left running
    IDLE_UP0="$(et_log_count c1 "tunnel up:")"
    IDLE_UP0="${IDLE_UP0:-0}"
    IDLE_CLOSED0="$(idle_closed_count)"
    write_router_conf "$ET_TMP/router.conf" cert="$pki/router.pem" key="$pki/router.key" \
        ca="$pki/ca.pem" address="$IDLE_R_ADDR" tun_dev= idle_timeout="$1"
    write_client_conf "$ET_TMP/c1.conf" ca="$pki/ca.pem" cert="$pki/c1.pem" \
        key="$pki/c1.key" heartbeat_period="$2" heartbeat_timeout="$3"
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router _idle_listening || return 1
    et_daemon_start c1 c "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
    et_wait_for -d c1 log_count_above c1 "tunnel up:" "$IDLE_UP0" || return 1
    IDLE_EGRESS0="$(et_daemon_stat c1 "egress accepted")"
    # shellcheck disable=SC2034 # read by the tests
    IDLE_HEARTBEATS0="$(et_daemon_stat c1 heartbeats)"
}

idle_stop() {
    et_daemon_stop c1 5
    et_daemon_stop router 5
}

idle_stat_at_least() {
    local n
    n="$(et_daemon_stat "$1" "$2")" || return 1
    [[ $n =~ ^[0-9]+$ ]] && ((n >= $3))
}

idle_closed_count() {
    local log
    log="$(et_daemon_log router)"
    [[ -f $log ]] || {
        echo 0
        return 0
    }
    grep -F "session closed: $IDLE_C1_ADDR from" "$log" | grep -c -F "idle for" || true
}

# idle_closed: the router closed a session of c1 for idleness since idle_start.
idle_closed() {
    (($(idle_closed_count) > IDLE_CLOSED0))
}

# idle_quiet: checks that c1's session since idle_start is still the one the
# router answers heartbeats on: no idle close, one "tunnel up", no
# disconnect, the router holds one session, no packet but heartbeats went to
# the router, and then a ping through the tunnel is answered.
idle_quiet() {
    local ok=0
    check_num "client packets sent into the tunnel, heartbeats aside (egress accepted)" \
        "$(et_daemon_stat c1 "egress accepted")" -eq "$IDLE_EGRESS0" || ok=1
    check_num "router idle-closed" "$(et_daemon_stat router idle-closed)" -eq 0 || ok=1
    check_not "the router logged no idle close" idle_closed || ok=1
    check_num "client 'tunnel up' lines" \
        "$(($(et_log_count c1 "tunnel up:") - IDLE_UP0))" -eq 1 || ok=1
    check_num "client disconnects" "$(et_daemon_stat c1 disconnects)" -eq 0 || ok=1
    check_num "router sessions" "$(et_daemon_stat router sessions)" -eq 1 || ok=1
    et_exec c ip -6 route replace fd00:e::/64 dev enf0
    check "the router answers a ping through the tunnel" \
        et_exec c ping -6 -n -c 1 -W 5 "$IDLE_R_ADDR" || ok=1
    return "$ok"
}
