# hub_lib.sh: the star topology of the tunnel tests (tunnel_test.sh,
# router_limits_test.sh, protocol_v2_test.sh, uso_test.sh, ipv4_test.sh),
# sourced after lib.sh. The router namespace r is
# the hub; c1, c2 and x each hang off it on a veth pair of their own:
#
#   r:vc1 fd00:100::1/64 ── c1:vr fd00:100::2/64
#   r:vc2 fd00:101::1/64 ── c2:vr fd00:101::2/64
#   r:vx  fd00:102::1/64 ── x:vr  fd00:102::2/64   (x: impostors, raw peers)
#
# The router listens on the three r addresses (HUB_ROUTER_ADDRS).
# hub_start_router, hub_start_client and hub_clients_up start the router and
# the clients c1 and c2 the way most of these tests do.
# shellcheck shell=bash

readonly HUB_ROUTER_ADDRS=(fd00:100::1 fd00:101::1 fd00:102::1)

# hub_topology: the four namespaces and their links.
hub_topology() {
    local n=0 ns
    et_ns_add r c1 c2 x
    for ns in c1 c2 x; do
        et_veth_add r "v$ns" "$ns" vr
        et_addr_add r "v$ns" "fd00:10$n::1/64"
        et_addr_add "$ns" vr "fd00:10$n::2/64"
        n=$((n + 1))
    done
}

# hub_router_listening: the router accepts on each of its addresses.
hub_router_listening() {
    local addr
    for addr in "${HUB_ROUTER_ADDRS[@]}"; do
        [[ -n $(et_exec r ss -Hltn "src [$addr]:4443") ]] || return 1
    done
}

# hub_start_router: enftun-router in r with $ET_TMP/router.conf, until it
# listens on each hub address.
hub_start_router() {
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router hub_router_listening
}

# hub_start_client NAME [ROUTE]...: enftun in namespace NAME with
# $ET_TMP/NAME.conf, the routes enftun-setup would add (fd00:e::/64 and
# fd00:f::/64 into enf0, and each ROUTE, e.g. an IPv4 prefix for inner
# IPv4); returns once its tunnel is up, 1 if it does not come up.
hub_start_client() {
    local ns="$1" route
    shift
    et_daemon_start "$ns" "$ns" "$ET_BIN_DIR/enftun" -c "$ET_TMP/$ns.conf"
    et_wait_for -d "$ns" et_link_up "$ns" enf0 || return 1
    for route in fd00:e::/64 fd00:f::/64 "$@"; do
        et_exec "$ns" ip route replace "$route" dev enf0
    done
    et_wait_for -d "$ns" et_log_has "$ns" "tunnel up"
}

# hub_ping_once NS ADDR: one ping from NS to ADDR answered within 1 s.
hub_ping_once() {
    et_exec "$1" ping -6 -n -c 1 -W 1 "$2"
}

# hub_clients_up ADDR: c1 and c2 each reach ADDR through their tunnel.
hub_clients_up() {
    et_wait_for -t 60 -d c1 -d router hub_ping_once c1 "$1" &&
        et_wait_for -t 60 -d c2 -d router hub_ping_once c2 "$1"
}

# hub_up_then_run ADDR STEP...: the router, c1 and c2 started and both
# clients reaching ADDR through their tunnels, then run_steps STEP...; if
# they do not come up, every step fails (fail_steps).
hub_up_then_run() {
    local addr="$1"
    shift
    if hub_start_router && hub_start_client c1 && hub_start_client c2 &&
        hub_clients_up "$addr"; then
        run_steps "$@"
    else
        echo "setup failed: router or clients did not come up (logs below)"
        fail_steps "setup failed" "$@"
    fi
}
