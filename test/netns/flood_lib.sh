# flood_lib.sh: the topology and attacker helpers of the router flood test
# (router_flood_test.sh) and benchmark (bench/flood.sh), sourced after
# lib.sh and hub_lib.sh.
#
#   hub_topology (r, c1, c2, x), plus in x fd00:102:N::2 (N = 1..40), each
#   its own /64 routed to x (the router counts an IPv6 /64 as one source).
#
# The attacker is enftun-flood (bench/flood/main.cpp), run in x against
# FLOOD_TARGET port 4443.
# shellcheck shell=bash

readonly FLOOD_TARGET=fd00:102::1
readonly FLOOD_MAX_SOURCES=40

flood_topology() {
    local i
    hub_topology
    # One /64 route each (a /48 over vx's /64 was not used for lookups here).
    for ((i = 1; i <= FLOOD_MAX_SOURCES; i++)); do
        et_addr_add x vr "fd00:102:$i::2/64"
        et_exec r ip -6 route add "fd00:102:$i::/64" dev vx
    done
    # Room for the floods' sockets in x; the router refuses most at once.
    et_exec x sysctl -q -w net.ipv4.ip_local_port_range="10000 65000"
}

# flood_sources FIRST LAST: fd00:102:FIRST::2,...,fd00:102:LAST::2
flood_sources() {
    local i out=""
    for ((i = $1; i <= $2; i++)); do
        out+="${out:+,}fd00:102:$i::2"
    done
    echo "$out"
}

# flood_start NAME SOURCES PER_SOURCE MODE RATE SECONDS [-R]: enftun-flood
# in x; with -R it re-opens what the router closes.
flood_start() {
    et_daemon_start "$1" x "$ET_BIN_DIR/enftun-flood" -c "$FLOOD_TARGET" -p 4443 -s "$2" \
        -n "$3" -m "$4" -r "$5" -d "$6" "${@:7}"
}

# flood_connects_reached NAME N: the flood has opened N connections.
flood_connects_reached() {
    local n
    n="$(grep '^open ' "$(et_daemon_log "$1")" | tail -n 1 | awk '{ print $8 }')"
    [[ -n $n ]] && ((n >= $2))
}

# flood_router_listening: something listens on port 4443 in r.
flood_router_listening() {
    [[ -n $(et_exec r ss -Hltn "sport = :4443") ]]
}
