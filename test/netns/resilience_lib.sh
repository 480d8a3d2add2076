# shellcheck shell=bash
# resilience_lib.sh: the "device with two uplinks" topology and the helpers
# shared by failover_test.sh, blackhole_test.sh, remotes_test.sh and
# bench/failover.sh. Source test/netns/lib.sh first, then this file.
#
#   d (device: enftun)                       r (router: enftun-router)
#   eth0  fd00:100::2/64 ══ veth ══ fd00:100::1/64 vd_eth
#   wlan0 fd00:101::2/64 ══ veth ══ fd00:101::1/64 vd_wlan
#                                   lo: fd00:200::1/128, fd00:200::2/128
#                                       (service addresses: the router
#                                       listens there, reachable via both)
#   d's routes to the service prefix (Ethernet preferred, as on a laptop):
#     fd00:200::/64 via fd00:100::1 dev eth0  metric 100
#     fd00:200::/64 via fd00:101::1 dev wlan0 metric 200
#   Tunnel: the client's address is fd00:e::5 (certificate CN); the router's
#   router.address is fd00:e::1, pinged through the tunnel.
#   Policy routing as under enftun-setup ("not fwmark M lookup T"): d's
#   traffic without route.fwmark (363) looks up table 100 first, where the
#   service prefix goes into a dead end, detour0 (fd00:300::2/64). Only marked
#   sockets, the tunnel's TCP and the route probe, see the uplinks; an
#   unmarked probe would see fd00:300::2 and call every path "changed".
#   (enftun-setup puts a default route in T and lets main's more specific
#   routes win with "suppress_prefixlength 0"; with the router behind a
#   default route that is the same situation for the probe.)
#
# enftun's own logs are the oracle: one line per route-change decision
# ("route change (EVENTS): preferred path unchanged ..." or
# "...: reconnecting: ..."), "tunnel up", and the counters it prints on
# SIGUSR1 ("stats: reconnects route N heartbeat N other N; ...").

readonly RS_SERVICE=fd00:200::1 RS_SERVICE2=fd00:200::2
readonly RS_ETH_LOCAL=fd00:100::2 RS_ETH_GW=fd00:100::1
readonly RS_WLAN_LOCAL=fd00:101::2 RS_WLAN_GW=fd00:101::1
readonly RS_CLIENT_ADDR=fd00:e::5 RS_ROUTER_ADDR=fd00:e::1
readonly RS_DETOUR_LOCAL=fd00:300::2 RS_FWMARK=363 RS_TABLE=100
RS_PKI=""

# rs_make_topology: namespaces d and r, both uplinks, service addresses.
rs_make_topology() {
    et_ns_add d r
    et_veth_add d eth0 r vd_eth
    et_veth_add d wlan0 r vd_wlan
    et_addr_add d eth0 "$RS_ETH_LOCAL/64"
    et_addr_add r vd_eth "$RS_ETH_GW/64"
    et_addr_add d wlan0 "$RS_WLAN_LOCAL/64"
    et_addr_add r vd_wlan "$RS_WLAN_GW/64"
    et_addr_add r lo "$RS_SERVICE/128"
    et_addr_add r lo "$RS_SERVICE2/128"
    et_exec d ip -6 route add fd00:200::/64 via "$RS_ETH_GW" dev eth0 metric 100
    et_exec d ip -6 route add fd00:200::/64 via "$RS_WLAN_GW" dev wlan0 metric 200
    rs_policy_detour
}

# rs_policy_detour: the policy rule and table of the picture above.
rs_policy_detour() {
    # A veth pair inside d, as this kernel may lack the dummy driver; what
    # goes in at detour0 comes out at detour1 and dies there.
    et_exec d ip link add detour0 type veth peer name detour1
    et_exec d ip link set detour1 up
    et_exec d ip link set detour0 up
    et_addr_add d detour0 "$RS_DETOUR_LOCAL/64"
    et_exec d ip -6 route add fd00:200::/64 dev detour0 table "$RS_TABLE"
    et_exec d ip -6 rule add not fwmark "$RS_FWMARK" lookup "$RS_TABLE" pref 100
}

# rs_route_src [mark M]: the source the kernel picks in d for the service
# address (unmarked: the detour; "mark 363": the preferred uplink).
rs_route_src() {
    et_exec d ip -6 route get "$RS_SERVICE" "$@" |
        awk '{ for (i = 1; i < NF; i++) if ($i == "src") { print $(i + 1); exit } }'
}

# rs_uplink_restore IF LOCAL GW METRIC: bring an uplink back after
# `ip link set IF down` (which removed its address and routes).
rs_uplink_restore() {
    local ifname="$1" local_addr="$2" gw="$3" metric="$4"
    et_exec d ip link set "$ifname" up
    et_wait_for et_link_lower_up d "$ifname"
    et_exec d ip -6 addr replace "$local_addr/64" dev "$ifname" nodad
    et_exec d ip -6 route replace fd00:200::/64 via "$gw" dev "$ifname" metric "$metric"
}

rs_make_pki() {
    RS_PKI="$ET_TMP/pki"
    # Both service addresses and the name remotes_test resolves: the client
    # checks that the router's certificate names the host it connected to.
    "$ET_REPO/scripts/gen-test-certs" --router-ip "$RS_SERVICE" --router-ip "$RS_SERVICE2" \
        --router-name router.enftun.test "$RS_PKI" c1="$RS_CLIENT_ADDR" >/dev/null
}

# rs_write_router_conf [key=value]...: the router on both service addresses.
rs_write_router_conf() {
    write_router_conf "$ET_TMP/router.conf" listen="$RS_SERVICE,$RS_SERVICE2" \
        address="$RS_ROUTER_ADDR" cert="$RS_PKI/router.pem" key="$RS_PKI/router.key" \
        ca="$RS_PKI/ca.pem" tun_dev= "$@"
}

# rs_write_client_conf NAME [key=value]...: $ET_TMP/NAME.conf for enftun in d.
rs_write_client_conf() {
    local name="$1"
    shift
    write_client_conf "$ET_TMP/$name.conf" ca="$RS_PKI/ca.pem" prefixes=fd00:e::/64 \
        cert="$RS_PKI/c1.pem" key="$RS_PKI/c1.key" hosts="$RS_SERVICE" "$@"
}

rs_router_listening() {
    [[ -n $(et_exec r ss -Hltn "src [$RS_SERVICE]:4443") ]]
}

rs_start_router() {
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router rs_router_listening
}

# rs_start_client NAME: enftun in d with $ET_TMP/NAME.conf; waits for its
# TUN and adds the route enftun-setup would add.
rs_start_client() {
    local name="$1"
    et_daemon_start "$name" d "$ET_BIN_DIR/enftun" -c "$ET_TMP/$name.conf"
    et_wait_for -d "$name" et_link_up d enf0 || return 1
    et_exec d ip -6 route replace fd00:e::/64 dev enf0
}

# rs_stop_client NAME: stop it and wait for its TUN to go away.
rs_stop_client() {
    et_daemon_stop "$1"
    et_wait_for -t 10 rs_link_gone d enf0 || true
}

rs_link_gone() {
    ! et_link_exists "$1" "$2"
}

# rs_ping_tunnel: one echo to router.address through the tunnel, 1 s max.
rs_ping_tunnel() {
    et_exec d ping -6 -n -c 1 -W 1 "$RS_ROUTER_ADDR" >/dev/null 2>&1
}

# rs_tunnel_src: the local address of d's established connection to port
# 4443 (empty when there is none).
rs_tunnel_src() {
    et_exec d ss -Htn state established '( dport = :4443 )' 2>/dev/null |
        awk '{ for (i = 2; i <= NF; i++) if ($i ~ /:4443$/) { print $(i - 1); exit } }' |
        sed -E 's/^\[?([^]]*)\]?:[0-9]+$/\1/'
}

rs_tunnel_src_is() {
    [[ $(rs_tunnel_src) == "$1" ]]
}

# rs_log_line_has NAME STRING1 STRING2: one line of the log holds both.
rs_log_line_has() {
    grep -q -F -- "$3" <<<"$(grep -F -- "$2" "$(et_daemon_log "$1")" 2>/dev/null)"
}

# rs_heartbeats NAME: the heartbeat probes sent, from the last stats line
# (run rs_stats first).
rs_heartbeats() {
    grep -o -E 'heartbeats [0-9]+' "$(et_daemon_log "$1")" | tail -n 1 | awk '{ print $2 }'
}

# rs_stats NAME: make enftun print its counters (SIGUSR1), then print
# "route heartbeat other changes unchanged early" from that line.
# Read-only on the daemon tables, so it may run in $(...).
rs_stats() {
    local name="$1" before pid
    before="$(et_log_count "$name" "stats: reconnects")"
    pid="$(et_daemon_pid "$name")"
    [[ -n $pid ]] || return 1
    kill -USR1 "$pid"
    et_wait_for -d "$name" log_count_above "$name" "stats: reconnects" "$before" || return 1
    grep -F "stats: reconnects" "$(et_daemon_log "$name")" | tail -n 1 |
        sed -E 's/.*reconnects route ([0-9]+) heartbeat ([0-9]+) other ([0-9]+); route changes ([0-9]+) unchanged ([0-9]+) early-retries ([0-9]+).*/\1 \2 \3 \4 \5 \6/'
}
