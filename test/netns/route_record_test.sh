#!/usr/bin/env bash
# route_record_test.sh: router.tun.route_record (router/route_record.hpp;
# README "Running several routers"): after a crash (SIGKILL) and a change of
# router.tun.route_table and route_protocol, the next start removes the
# routes the crashed run left, and only those (CTest: netns.route_record_test).
#
# Topology: c (enftun, fd00:e::5) ── veth ── r (enftun-router, fd00:100::1),
# with a persistent gateway TUN enfr0 in r (so a SIGKILL leaves its routes).
#
# Steps:
#   a. up with protocol 250 in table main: c1's /128 is a route through
#      enfr0 of protocol 250; the record names table 254, protocol 250, enfr0.
#   b. SIGKILL; the config now says protocol 251 in table 100; in r, routes
#      that are not the router's: protocol 250 in main through the veth,
#      protocol 250 in table 101 through enfr0. The new start removes c1's
#      old route (logged, "recorded by an earlier run") and leaves both
#      others; c1 is back with a route of protocol 251 in table 100; the
#      record says so.
#   c. a record that is not this run's to act on (another boot's id, naming
#      table 100, protocol 251) after a SIGKILL and a change back to 250 in
#      main: the start deletes nothing it names (c1's 251 route stays). (It
#      removes every route of protocol 250 in main, the veth's included: the
#      configured protocol is the router's, as before.)
#   d. a clean stop removes the router's routes and its record; the route of
#      protocol 250 in table 101 is still there.
# ROUTE_RECORD_OFF=1 runs it with route_record = "" (to see b fail without
# the record).
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ET_WAIT_TIMEOUT=30
RECORD=""

# write_conf PROTOCOL TABLE: the router's config, with route_protocol and
# route_table in its tun group.
write_conf() {
    write_router_conf "$ET_TMP/router.conf" cert="$ET_TMP/pki/router.pem" \
        key="$ET_TMP/pki/router.key" ca="$ET_TMP/pki/ca.pem"
    sed -i "s/^  tun : {\$/&\n    route_protocol = $1;\n    route_table = $2;/" \
        "$ET_TMP/router.conf"
    if [[ ${ROUTE_RECORD_OFF:-} == 1 ]]; then
        sed -i 's/^    route_record = .*/    route_record = "";/' "$ET_TMP/router.conf"
    fi
    grep -q "route_protocol = $1;" "$ET_TMP/router.conf"
}

start_router() {
    local before
    before="$(et_log_count router "listening on")"
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router log_count_above router "listening on" "${before:-0}"
}

# route_of PROTOCOL TABLE DEV: the routes of PROTOCOL in TABLE through DEV.
route_of() {
    et_exec r ip -6 route show table "$2" proto "$1" dev "$3"
}

has_route() {
    route_of "$@" | grep -q "^$4 "
}

no_route() {
    ! route_of "$@" | grep -q "^$4 "
}

record_says() {
    grep -q -E "^enftun-router routes v1 boot [^ ]+ netns [0-9]+:[0-9]+ dev [0-9]+ enfr0 table $1 protocol $2\$" \
        "$RECORD"
}

step_a() {
    local ok=0
    start_router
    et_daemon_start c1 c "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
    check "c1's /128 through enfr0, protocol 250, table main" \
        et_wait_for -d router -d c1 has_route 250 254 enfr0 fd00:e::5 || ok=1
    if [[ ${ROUTE_RECORD_OFF:-} != 1 ]]; then
        check "the record names table 254, protocol 250, enfr0" record_says 254 250 || ok=1
    fi
    return "$ok"
}

step_b() {
    local ok=0 ups
    ups="$(et_log_count router "session up: fd00:e::5")"
    et_daemon_kill router
    check "SIGKILL left c1's route (protocol 250)" has_route 250 254 enfr0 fd00:e::5 || ok=1
    et_exec r ip -6 route add fd00:e::70/128 dev vc proto 250
    et_exec r ip -6 route add fd00:e::71/128 dev enfr0 proto 250 table 101
    write_conf 251 100
    start_router
    check "the start removed c1's old route (protocol 250 in main)" \
        no_route 250 254 enfr0 fd00:e::5 || ok=1
    check "and logged it" et_log_has router \
        "removed 1 stale routes of protocol 250 from table 254 on enfr0 (recorded by an earlier run)" ||
        ok=1
    check "protocol 250 through another interface stays" has_route 250 254 vc fd00:e::70 || ok=1
    check "protocol 250 in another table stays" has_route 250 101 enfr0 fd00:e::71 || ok=1
    check "c1 back, its route of protocol 251 in table 100" \
        et_wait_for -d router -d c1 has_route 251 100 enfr0 fd00:e::5 || ok=1
    check "a new session for c1" log_count_above router "session up: fd00:e::5" "$ups" || ok=1
    check "the record names table 100, protocol 251" record_says 100 251 || ok=1
    return "$ok"
}

step_c() {
    local ok=0
    et_daemon_kill router
    sed -i -E 's/ boot [^ ]+ / boot 00000000-0000-0000-0000-000000000000 /' "$RECORD"
    check "the record is still well-formed" record_says 100 251 || ok=1
    write_conf 250 254
    start_router
    check "a record of another boot deletes nothing (c1's 251 route stays)" \
        has_route 251 100 enfr0 fd00:e::5 || ok=1
    check "nor says it did" test "$(et_log_count router "recorded by an earlier run")" = 1 || ok=1
    check "c1's route of protocol 250 in main again" \
        et_wait_for -d router -d c1 has_route 250 254 enfr0 fd00:e::5 || ok=1
    et_exec r ip -6 route del fd00:e::5/128 dev enfr0 proto 251 table 100
    return "$ok"
}

step_d() {
    local ok=0
    et_daemon_stop router
    check "router exited cleanly" test "$ET_LAST_STATUS" = 0 || ok=1
    check "its route is gone" no_route 250 254 enfr0 fd00:e::5 || ok=1
    check "its record is gone" test ! -e "$RECORD" || ok=1
    check "protocol 250 in another table still stays" has_route 250 101 enfr0 fd00:e::71 || ok=1
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    et_router_client_pair
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$ET_TMP/pki" c1=fd00:e::5 >/dev/null
    write_conf 250 254
    RECORD="$ET_TMP/router.routes"
    write_client_conf "$ET_TMP/c1.conf" ca="$ET_TMP/pki/ca.pem" cert="$ET_TMP/pki/c1.pem" \
        key="$ET_TMP/pki/c1.key" connect_timeout=2000 reconnect_max_delay=1000
    et_exec r ip tuntap add dev enfr0 mode tun
    run_step a "up: the route and the record" step_a
    run_step b "SIGKILL, new table and protocol: the old route goes, no other" step_b a
    run_step c "a record of another boot deletes nothing" step_c b
    run_step d "clean stop: routes and record gone" step_d a
    et_summary route_record_test
}

main "$@"
