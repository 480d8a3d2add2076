#!/usr/bin/env bash
# busy_poll_test.sh: the client's busy-polling (tun.busy_poll_us,
# tunnel/busy_poll.hpp) on the real data path (CTest: netns.busy_poll_test).
#
# Topology: c (client, fd00:e::5) ── veth ── r (enftun-router in gateway mode,
# target fd00:f::1 on its TUN). Checks:
#   a. with busy_poll_us = 1000, a flood ping gets every reply, and the
#      client's stats show spins and hits: packets caught while it kept
#      polling instead of sleeping (at least one per four round trips; on an
#      idle machine it is nearly two);
#   b. once the traffic stops, the spinning stops: the client uses almost no
#      CPU over 2 s of quiet (a spin that never ended would take ~2 s);
#   c. the default (no busy_poll_us) never spins: spins 0, hits 0 after the
#      same flood ping.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ET_WAIT_TIMEOUT=20
readonly PINGS=400
FAILED=0

check() {
    local desc="$1"
    shift
    if "$@"; then
        echo "  ok: $desc"
    else
        echo "  not ok: $desc"
        FAILED=$((FAILED + 1))
    fi
}

setup() {
    et_ns_add r c
    et_veth_add r vc c vr
    et_addr_add r vc fd00:100::1/64
    et_addr_add c vr fd00:100::2/64
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$ET_TMP/pki" c1=fd00:e::5 >/dev/null
    write_router_conf "$ET_TMP/router.conf" cert="$ET_TMP/pki/router.pem" \
        key="$ET_TMP/pki/router.key" ca="$ET_TMP/pki/ca.pem"
    local -a common=(ca="$ET_TMP/pki/ca.pem" cert="$ET_TMP/pki/c1.pem"
        key="$ET_TMP/pki/c1.key" "prefixes=fd00:e::/64,fd00:f::/64")
    write_client_conf "$ET_TMP/spin.conf" "${common[@]}" busy_poll_us=1000
    write_client_conf "$ET_TMP/default.conf" "${common[@]}"
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router listening r fd00:100::1 4443
}

listening() {
    [[ -n $(et_exec "$1" ss -Hltn "src [$2]:$3") ]]
}

# client_up CONF: start client c1 with CONF and wait for the tunnel.
client_up() {
    et_daemon_start c1 c "$ET_BIN_DIR/enftun" -c "$1"
    et_wait_for -d c1 et_link_up c enf0
    et_exec c ip -6 route replace fd00:f::/64 dev enf0
    et_wait_for -d c1 et_exec c ping -6 -n -c 1 -W 1 fd00:f::1
}

# flood_replies: replies to a bounded flood ping through the tunnel.
flood_replies() {
    et_exec c timeout 60 ping -6 -n -q -f -c "$PINGS" -w 30 fd00:f::1 |
        awk '/packets transmitted/ { print $4 }'
}

# cpu_ticks: utime + stime of the client (fields 14 and 15 of proc(5)).
cpu_ticks() {
    sed 's/.*) //' "/proc/$(et_daemon_pid c1)/stat" | awk '{ print $12 + $13 }'
}

main() {
    et_init
    et_require_bins enftun enftun-router
    setup

    client_up "$ET_TMP/spin.conf"
    local replies spins hits
    replies="$(flood_replies)"
    spins="$(et_daemon_stat c1 spins)"
    hits="$(et_daemon_stat c1 hits)"
    echo "busy_poll_us 1000: $replies of $PINGS replies, busy-poll spins $spins hits $hits"
    check "a. every flood-ping reply came back" test "${replies:-0}" -eq "$PINGS"
    check "a. the client spun" test "${spins:-0}" -gt 0
    check "a. spinning caught packets" test "${hits:-0}" -ge $((PINGS / 4))

    local t0 t1 hz
    hz="$(getconf CLK_TCK)"
    sleep 0.5
    t0="$(cpu_ticks)"
    sleep 2
    t1="$(cpu_ticks)"
    echo "client CPU over 2 s of quiet: $((t1 - t0)) ticks of 1/$hz s"
    check "b. no spinning once quiet (< 0.3 s of CPU in 2 s)" \
        test $(((t1 - t0) * 10)) -lt $((3 * hz))
    et_daemon_stop c1 5

    client_up "$ET_TMP/default.conf"
    replies="$(flood_replies)"
    spins="$(et_daemon_stat c1 spins)"
    hits="$(et_daemon_stat c1 hits)"
    echo "default: $replies of $PINGS replies, busy-poll spins $spins hits $hits"
    check "c. the default never spins" test "$spins:$hits" = "0:0"
    echo "busy_poll_test: $((5 - FAILED)) passed, $FAILED failed"
    ((FAILED == 0))
}

main "$@"
