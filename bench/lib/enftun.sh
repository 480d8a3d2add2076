# shellcheck shell=bash
# enftun.sh: the enftun tunnel for the benchmarks (source after common.sh).
#
# Every tunnel file defines the same functions, prefixed with its name:
#   <t>_prepare        keys, certificates, configs (once per benchmark run)
#   <t>_server_up      start the server side in r, wait until it listens
#   <t>_client_prepare what exists before the client starts (TUN, routes)
#   <t>_client_start   start the client (returns at once)
#   <t>_down           stop both sides, remove their devices
# and sets <T>_TARGET (server-side tunnel address: ping and iperf3 target) and
# <T>_SRC (client tunnel address). Daemons are "<t>-server" / "<t>-client".
#
# enftun: enftun-router in gateway mode (its TUN enfr0 holds fd00:f::1, the
# target), client fd00:e::5 on enf0, both TUNs MTU 1500.
# The default configuration: busy-polling off in client and router.
# enftun_spin: the same with busy-polling on at both ends (busy_poll_us =
# 200, the opt-in for latency): what the spin buys, and what it costs.
# enftun_v1: the default configuration with wire protocol version 1 at both
# ends (remote.protocol = 1, router.protocol = 1): no TCP super-packets
# across the tunnel, what protocol version 2 gains.

ENFTUN_TARGET=fd00:f::1
ENFTUN_SRC=fd00:e::5
ENFTUN_MTU="${ENFTUN_MTU:-1500}"
# shellcheck disable=SC2034 # compare.sh reads <T>_TARGET and <T>_SRC by name
ENFTUN_SPIN_TARGET="$ENFTUN_TARGET" ENFTUN_SPIN_SRC="$ENFTUN_SRC"
# shellcheck disable=SC2034
ENFTUN_V1_TARGET="$ENFTUN_TARGET" ENFTUN_V1_SRC="$ENFTUN_SRC"

enftun_prepare() {
    local dir="$ET_TMP/enftun"
    mkdir -p "$dir"
    "$BENCH_REPO/scripts/gen-test-certs" --router-ip "$BENCH_R_UNDERLAY" "$dir" \
        c1="$ENFTUN_SRC" >/dev/null
    local -a router=(listen="$BENCH_R_UNDERLAY" address=fd00:e::1
        cert="$dir/router.pem" key="$dir/router.key" ca="$dir/ca.pem" mtu="$ENFTUN_MTU"
        tun_dev=enfr0 tun_address="$ENFTUN_TARGET" tun_routes=fd00:e::/64)
    write_router_conf "$dir/router.conf" "${router[@]}"
    write_router_conf "$dir/router-spin.conf" "${router[@]}" busy_poll_us=200
    local -a client=(dev=enf0 mtu="$ENFTUN_MTU" hosts="$BENCH_R_UNDERLAY" ca="$dir/ca.pem"
        cert="$dir/c1.pem" key="$dir/c1.key" "prefixes=fd00:e::/64,fd00:f::/64"
        heartbeat_period=5000)
    write_client_conf "$dir/client.conf" "${client[@]}"
    write_client_conf "$dir/client-spin.conf" "${client[@]}" busy_poll_us=200
    write_router_conf "$dir/router-v1.conf" "${router[@]}" protocol=1
    write_client_conf "$dir/client-v1.conf" "${client[@]}" protocol=1
}

_enftun_listening() {
    [[ -n $(et_exec r ss -Hltn "src [$BENCH_R_UNDERLAY]:4443") ]]
}

# _enftun_server_up NAME [CONF]: the router as daemon NAME-server.
_enftun_server_up() {
    et_daemon_start "$1-server" r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/enftun/${2:-router.conf}"
    et_wait_for -d "$1-server" _enftun_listening
}

enftun_server_up() {
    _enftun_server_up enftun
}

enftun_client_prepare() {
    bench_persistent_tun c enf0 "$ENFTUN_MTU"
    et_exec c ip -6 route replace fd00:f::/64 dev enf0
}

enftun_client_start() {
    et_daemon_start enftun-client c "$ET_BIN_DIR/enftun" -c "$ET_TMP/enftun/client.conf"
}

# _enftun_down NAME: stop NAME-client and NAME-server, remove the TUN.
_enftun_down() {
    et_daemon_stop "$1-client" 5
    et_daemon_stop "$1-server" 5
    et_exec c ip link del enf0 2>/dev/null || true
}

enftun_down() {
    _enftun_down enftun
}

enftun_spin_prepare() {
    [[ -f $ET_TMP/enftun/client-spin.conf ]] || enftun_prepare
}

enftun_spin_server_up() {
    _enftun_server_up enftun_spin router-spin.conf
}

enftun_spin_client_prepare() {
    enftun_client_prepare
}

enftun_spin_client_start() {
    et_daemon_start enftun_spin-client c "$ET_BIN_DIR/enftun" \
        -c "$ET_TMP/enftun/client-spin.conf"
}

enftun_spin_down() {
    _enftun_down enftun_spin
}

enftun_v1_prepare() {
    [[ -f $ET_TMP/enftun/client-v1.conf ]] || enftun_prepare
}

enftun_v1_server_up() {
    _enftun_server_up enftun_v1 router-v1.conf
}

enftun_v1_client_prepare() {
    enftun_client_prepare
}

enftun_v1_client_start() {
    et_daemon_start enftun_v1-client c "$ET_BIN_DIR/enftun" -c "$ET_TMP/enftun/client-v1.conf"
}

enftun_v1_down() {
    _enftun_down enftun_v1
}
