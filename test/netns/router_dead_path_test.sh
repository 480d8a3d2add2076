#!/usr/bin/env bash
# router_dead_path_test.sh: a session whose path died is closed, and its
# route withdrawn, once what the router sends it goes unacknowledged (TCP
# user timeout), not only after idle_timeout (CTest:
# netns.router_dead_path_test; 77 = skipped).
#
# Why: a client that moved to another router while its old path died
# silently leaves its old session up; with several routers ("Running
# several routers") the old router keeps announcing the client's /128 and
# prefers it to the new router's, so packets for the client end in a
# session nobody reads, until idle_timeout (7 minutes by default). Packets
# sent into that session are what can tell: unacknowledged, the kernel
# gives up after the router's TCP user timeout (30 s).
#
# Topology (hub_lib.sh): enftun-router in r with a gateway TUN (session
# routes, proto 250) and idle_timeout 600 s; c2 runs enftun; x runs a raw
# TLS peer (openssl s_client) with c1's certificate (fd00:e::5).
#
# Steps: a the raw peer's session is up and its /128 in the kernel; then
# every packet from x is dropped in x (the path dies, nothing is sent back,
# no RST), c2 pings fd00:e::5: the router closes that session on the TCP
# timeout (well before idle_timeout) and removes its route, while c2's
# session stays; b a new raw peer for fd00:e::5 stops reading (SIGSTOP)
# while c2 sends it more than its window: closed on the same timeout.
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs/certs.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=hub_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 C1_ADDR=fd00:e::5 C2_ADDR=fd00:e::6
PKI=""

make_pki() {
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip fd00:102::1 "$PKI" c1="$C1_ADDR" c2="$C2_ADDR" >/dev/null
}

write_confs() {
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1,fd00:102::1 \
        address="$R_ADDR" cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        idle_timeout=600000
    write_client_conf "$ET_TMP/c2.conf" ca="$PKI/ca.pem" hosts="fd00:101::1" \
        cert="$PKI/c2.pem" key="$PKI/c2.key" heartbeat_period=1000 heartbeat_timeout=3000
}

# session_route ADDR: the router's kernel holds ADDR's session route.
session_route() {
    local routes
    routes="$(et_exec r ip -6 route show proto 250)" || return 1
    grep -q "^$1 dev enfr0" <<<"$routes"
}

no_session_route() {
    local routes
    routes="$(et_exec r ip -6 route show proto 250)" || return 1
    ! grep -q "^$1 dev enfr0" <<<"$routes"
}

# c2_pings ADDR: c2 sends a few pings to ADDR (their answers do not matter).
c2_pings() {
    et_exec c2 ping -6 -n -c 3 -i 0.3 -W 1 "$1" >/dev/null 2>&1 || true
}

# start_raw NAME: openssl s_client in x with c1's certificate.
start_raw() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    et_daemon_start "$1" x bash -c 'exec "$@" >/dev/null' _ openssl s_client -quiet \
        -nocommands -connect "[fd00:102::1]:4443" -CAfile "$PKI/ca.pem" \
        -cert "$PKI/c1.pem" -key "$PKI/c1.key"
}

step_a() {
    local ok=0
    start_raw raw
    check "the raw peer's session is up" \
        et_wait_for -d router et_log_has router "session up: $C1_ADDR" || ok=1
    check "its /128 is in the router's kernel" et_wait_for -d router session_route "$C1_ADDR" ||
        ok=1
    # The path dies: x drops everything it receives (no ACK, no RST).
    et_exec x nft -f - <<'EOF'
table inet deadpath {
    chain in {
        type filter hook input priority -500; policy drop;
    }
}
EOF
    c2_pings "$C1_ADDR"
    # 30 s of TCP user timeout, well under the 600 s idle_timeout.
    check "the router closes the dead session" \
        et_wait_for -t 90 -d router et_log_has router "session closed: $C1_ADDR from [fd00:102::2]" || ok=1
    check_not "not for idleness" et_log_has router "idle for" || ok=1
    check "its route is withdrawn" et_wait_for -d router no_session_route "$C1_ADDR" || ok=1
    check "c2 still pings the router" et_exec c2 ping -6 -n -c 2 -W 2 "$R_ADDR" || ok=1
    et_daemon_stop raw
    return "$ok"
}

# b: a live peer that stops reading (SIGSTOP; x's receive buffer is tiny)
# while c2 sends it more than fits: its window stays shut, and the router
# closes the session after the same timeout.
step_b() {
    local ok=0 closed
    et_exec x nft delete table inet deadpath
    closed="$(et_log_count router "session closed: $C1_ADDR from")"
    start_raw rawb
    check "the raw peer's session is up again" et_wait_for -d router \
        log_count_above router "session up: $C1_ADDR" 1 || ok=1
    kill -STOP "$(et_daemon_pid rawb)"
    et_exec c2 ping -6 -n -q -c 400 -i 0.005 -s 1200 -W 1 "$C1_ADDR" >/dev/null 2>&1 || true
    check "the router closes the session of the peer that stopped reading" \
        et_wait_for -t 90 -d router log_count_above router "session closed: $C1_ADDR from" \
        "$closed" || ok=1
    check "its route is withdrawn" et_wait_for -d router no_session_route "$C1_ADDR" || ok=1
    kill -CONT "$(et_daemon_pid rawb)"
    et_daemon_stop rawb
    return "$ok"
}

main() {
    local -a steps=(
        "a|a dead path under traffic: session closed, route withdrawn|step_a|"
        "b|a peer that stops reading: session closed, route withdrawn|step_b|"
    )
    et_init
    echo "router_dead_path_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    et_require_bins enftun enftun-router
    hub_topology
    # A receive window that fills after a few KiB (step b).
    et_exec x sysctl -q -w net.ipv4.tcp_rmem="4096 8192 8192"
    make_pki
    write_confs
    if hub_start_router && hub_start_client c2 &&
        et_wait_for -t 60 -d c2 -d router hub_ping_once c2 "$R_ADDR"; then
        run_steps "${steps[@]}"
    else
        fail_steps "setup failed" "${steps[@]}"
    fi
    et_summary router_dead_path_test
}

main "$@"
