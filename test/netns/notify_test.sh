#!/usr/bin/env bash
# notify_test.sh: what enftun and enftun-router tell systemd (Type=notify,
# src/service/), read from a notify socket of the test's own: NOTIFY_SOCKET
# points at a Unix datagram socket that tools/notify_listener.py reads into
# a file, one assignment a line (CTest: netns.notify_test).
#
# Topology: c (client, fd00:e::5) ── veth ── r (enftun-router, fd00:100::1).
# Checks:
#   a. the client starts while the router is down: through several failed
#      attempts it sends STATUS= "connecting to ..." and "backing off: ...",
#      WATCHDOG=1 again and again (WATCHDOG_USEC set), and never READY=1;
#   b. the router starts: READY=1 once it listens, STATUS= with its session
#      count, no WATCHDOG=1 (no WATCHDOG_USEC); then the client sends READY=1,
#      after its STATUS= "up via ...", exactly once, and a ping through the
#      tunnel passes; the router's STATUS= counts the session;
#   c. the router stops: the client's STATUS= says it backs off and why, no
#      second READY=1; the router restarts: "up via" again;
#   d. without NOTIFY_SOCKET both run as before (nothing to notify).
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 C_ADDR=fd00:e::5
LISTENER="$ET_LIB_DIR/tools/notify_listener.py"
readonly LISTENER

setup() {
    et_router_client_pair
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$ET_TMP/pki" c1=$C_ADDR >/dev/null
    write_router_conf "$ET_TMP/router.conf" cert="$ET_TMP/pki/router.pem" \
        key="$ET_TMP/pki/router.key" ca="$ET_TMP/pki/ca.pem" tun_dev=""
    # Attempts fail at once (connection refused): a retry every second.
    write_client_conf "$ET_TMP/c1.conf" ca="$ET_TMP/pki/ca.pem" cert="$ET_TMP/pki/c1.pem" \
        key="$ET_TMP/pki/c1.key" connect_timeout=1000 reconnect_max_delay=1000
    start_listener client
    start_listener router
}

# start_listener NAME: a notify socket $ET_TMP/NAME.notify.sock (not NAME.sock:
# that is the control socket lib.sh gives a daemon whose config is NAME.conf), read into
# $ET_TMP/NAME.notify.
start_listener() {
    : >"$ET_TMP/$1.notify"
    et_daemon_start "notify-$1" c python3 "$LISTENER" "$ET_TMP/$1.notify.sock" "$ET_TMP/$1.notify"
    et_wait_for -d "notify-$1" test -S "$ET_TMP/$1.notify.sock"
}

# notified NAME LINE: the daemon sent LINE (an exact assignment).
notified() {
    grep -q -x -F -- "$2" "$ET_TMP/$1.notify"
}

# notified_count NAME LINE: how many times.
notified_count() {
    grep -c -x -F -- "$2" "$ET_TMP/$1.notify" || true
}

# status_has NAME TEXT: a STATUS= line holds TEXT.
status_has() {
    grep -q -F -- "$2" <(grep '^STATUS=' "$ET_TMP/$1.notify")
}

# line_of NAME REGEX: number of the first line matching REGEX (empty if none).
line_of() {
    grep -n -E -- "$2" "$ET_TMP/$1.notify" | head -n 1 | cut -d: -f1
}

# ups_above N: the client has sent more than N STATUS=up via lines.
ups_above() {
    (($(grep -c '^STATUS=up via ' "$ET_TMP/client.notify") > $1))
}

watchdogs_above() {
    (($(notified_count "$1" WATCHDOG=1) > $2))
}

start_router() {
    et_daemon_start router r env NOTIFY_SOCKET="$ET_TMP/router.notify.sock" \
        "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
}

ping_router() {
    et_exec c ping -6 -n -c 1 -W 1 "$R_ADDR"
}

step_a() {
    local ok=0 dogs
    # 2 s: a ping every second.
    et_daemon_start c1 c env NOTIFY_SOCKET="$ET_TMP/client.notify.sock" WATCHDOG_USEC=2000000 \
        "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
    check "three attempts fail while the router is down" \
        et_wait_for -d c1 log_count_above c1 "could not connect to any remote host" 2 || ok=1
    check "STATUS: connecting to the router" \
        status_has client "connecting to fd00:100::1 port 4443" || ok=1
    check "STATUS: backing off, with the reason" \
        status_has client "backing off: could not connect to any remote host" || ok=1
    check_num "READY=1 while the router is unreachable" "$(notified_count client READY=1)" \
        -eq 0 || ok=1
    dogs="$(notified_count client WATCHDOG=1)"
    check_num "WATCHDOG=1 sent" "$dogs" -gt 0 || ok=1
    check "WATCHDOG=1 keeps coming" et_wait_for -d c1 watchdogs_above client "$((dogs + 2))" ||
        ok=1
    check_num "still no READY=1" "$(notified_count client READY=1)" -eq 0 || ok=1
    return "$ok"
}

step_b() {
    local ok=0 up ready
    start_router
    check "router: READY=1" et_wait_for -d router notified router READY=1 || ok=1
    check "router: STATUS with its session count" \
        notified router "STATUS=listening on port 4443; 0 sessions" || ok=1
    check "client: READY=1" et_wait_for -d c1 notified client READY=1 || ok=1
    up="$(line_of client '^STATUS=up via ')"
    ready="$(line_of client '^READY=1$')"
    echo "  info: STATUS=up via at line ${up:-none}, READY=1 at line ${ready:-none}"
    check "STATUS names the router and our address" \
        status_has client "up via [fd00:100::1]:4443 as $C_ADDR" || ok=1
    check_num "READY=1 came after the tunnel was up" "${ready:-0}" -gt "${up:-999999}" || ok=1
    et_exec c ip -6 route replace fd00:e::/64 dev enf0
    check "a ping through the tunnel passes" et_wait_for -t 10 -d c1 ping_router || ok=1
    check "router: STATUS counts the session" \
        et_wait_for -d router notified router "STATUS=listening on port 4443; 1 session" || ok=1
    check_num "router: no WATCHDOG=1 without WATCHDOG_USEC" \
        "$(notified_count router WATCHDOG=1)" -eq 0 || ok=1
    return "$ok"
}

step_c() {
    local ok=0 ups
    ups="$(grep -c '^STATUS=up via ' "$ET_TMP/client.notify" || true)"
    et_daemon_stop router
    check "client: STATUS says it lost the router and backs off" \
        et_wait_for -d c1 status_has client "backing off: connection to [fd00:100::1]:4443 lost" ||
        ok=1
    check "one log line for that reconnect, with its reason" \
        et_log_has c1 "connection to [fd00:100::1]:4443 lost: " || ok=1
    grep -F "connection to [fd00:100::1]:4443 lost: " "$(et_daemon_log c1)" | sed 's/^/  info: /'
    start_router
    check "client: STATUS up via the router again" \
        et_wait_for -d c1 -d router ups_above "$ups" || ok=1
    check "a ping through the tunnel passes" et_wait_for -t 10 -d c1 ping_router || ok=1
    check_num "client: READY=1 once in all" "$(notified_count client READY=1)" -eq 1 || ok=1
    return "$ok"
}

# ready_count_is NAME N: the daemon has sent READY=1 exactly N times.
ready_count_is() {
    (($(notified_count "$1" READY=1) == $2))
}

# reload_notified NAME DAEMON: SIGHUP; RELOADING=1, then READY=1 again.
reload_notified() {
    local ok=0 name="$1" daemon="$2" readies reloading last_ready
    readies="$(notified_count "$name" READY=1)"
    kill -HUP "$(et_daemon_pid "$daemon")"
    check "$name: READY=1 again after SIGHUP" \
        et_wait_for -d "$daemon" ready_count_is "$name" "$((readies + 1))" || ok=1
    check_num "$name: one RELOADING=1" "$(notified_count "$name" RELOADING=1)" -eq 1 || ok=1
    reloading="$(line_of "$name" '^RELOADING=1$')"
    last_ready="$(grep -n -x -F READY=1 "$ET_TMP/$name.notify" | tail -n 1 | cut -d: -f1)"
    check_num "$name: RELOADING=1 came before that READY=1" "${reloading:-999999}" \
        -lt "${last_ready:-0}" || ok=1
    return "$ok"
}

step_r() {
    local ok=0
    reload_notified client c1 || ok=1
    reload_notified router router || ok=1
    check "a ping through the tunnel still passes" et_wait_for -t 10 -d c1 ping_router || ok=1
    return "$ok"
}

step_d() {
    local ok=0
    et_daemon_stop c1
    check_num "client: STOPPING=1 on SIGTERM" "$(notified_count client STOPPING=1)" -eq 1 || ok=1
    et_daemon_start c2 c "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
    check "without NOTIFY_SOCKET the tunnel comes up" \
        et_wait_for -d c2 et_log_has c2 "tunnel up: $C_ADDR" || ok=1
    et_exec c ip -6 route replace fd00:e::/64 dev enf0
    check "a ping through the tunnel passes" et_wait_for -t 10 -d c2 ping_router || ok=1
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    command -v python3 >/dev/null || et_skip "python3 not installed"
    setup
    run_steps \
        "a|router down: STATUS and WATCHDOG=1, never READY=1|step_a" \
        "b|router up: its READY=1, then the client's after the tunnel is up; ping|step_b|a" \
        "c|router stopped and back: STATUS backing off with the reason, one READY=1|step_c|b" \
        "r|reload (SIGHUP): RELOADING=1, then READY=1 again, client and router|step_r|c" \
        "d|without NOTIFY_SOCKET: no notifications needed|step_d|b"
    et_summary notify_test
}

main "$@"
