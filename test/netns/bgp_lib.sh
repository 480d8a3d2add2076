# shellcheck shell=bash
# bgp_lib.sh: two routers joined by a backbone, each with its gateway TUN
# and a BIRD 2 daemon speaking BGP to the other, as in the README's
# "Running several routers"; used by bgp_test.sh and bench/bgp_failover.sh.
# Source test/netns/lib.sh first, then this file.
#
#   a (client A, fd00:e::a)                              b (client B, fd00:e::b)
#    │ fd00:101::/64       │ fd00:102::/64                  │ fd00:202::/64
#   r1 (enftun-router 1,   │                 r2 (enftun-router 2, BIRD AS 65002)
#       BIRD AS 65001)     └───────────────── r2
#   r1 bb fd00:300::1/64 ══════ backbone veth ══════ fd00:300::2/64 bb r2
#
# A has remote.hosts = [r1, r2] (fails over to r2), B has r2 only. Each
# router's TUN enfr0 holds tun.routes fd00:e::/64 (so a packet for a client
# that is on no router ends in a TUN and is dropped there) and the /128 of
# each of its sessions (proto 250); BIRD learns those (kernel protocol,
# krt_source = 250, preference 200), announces them over BGP, and puts the
# other router's into its kernel (proto bird). IPv6 forwarding is on in the
# routers. BIRD runs the shipped conf/bird-router.conf (hold 9 s), with a
# connect retry of 1 s to keep runs short.

# shellcheck disable=SC2034 # BGP_UNKNOWN: used by the scripts that source this
readonly BGP_A=fd00:e::a BGP_B=fd00:e::b BGP_UNKNOWN=fd00:e::99
readonly BGP_R1_A=fd00:101::1 BGP_R2_A=fd00:102::1 BGP_R2_B=fd00:202::1
readonly BGP_PROTO=250

# bgp_have_bird: bird and birdc are installed (scripts/install-deps).
bgp_have_bird() {
    command -v bird >/dev/null && command -v birdc >/dev/null
}

bgp_make_topology() {
    et_ns_add a b r1 r2
    et_veth_add a ua1 r1 va
    et_veth_add a ua2 r2 va
    et_veth_add b ub2 r2 vb
    et_veth_add r1 bb r2 bb
    et_addr_add a ua1 fd00:101::2/64
    et_addr_add r1 va "$BGP_R1_A/64"
    et_addr_add a ua2 fd00:102::2/64
    et_addr_add r2 va "$BGP_R2_A/64"
    et_addr_add b ub2 fd00:202::2/64
    et_addr_add r2 vb "$BGP_R2_B/64"
    et_addr_add r1 bb fd00:300::1/64
    et_addr_add r2 bb fd00:300::2/64
    local r
    for r in r1 r2; do
        et_exec "$r" sysctl -q -w net.ipv6.conf.all.forwarding=1
        # Persistent: a crashed router's routes through it outlive it (a
        # TUN that goes with its process takes its routes with it).
        et_exec "$r" ip tuntap add dev enfr0 mode tun
    done
}

bgp_make_pki() {
    "$ET_REPO/scripts/gen-test-certs" --router-ip "$BGP_R1_A" --router-ip "$BGP_R2_A" \
        --router-ip "$BGP_R2_B" "$ET_TMP/pki" a="$BGP_A" b="$BGP_B" >/dev/null
}

# bgp_write_confs: router, client and BIRD configs in $ET_TMP/pki.
bgp_write_confs() {
    local dir="$ET_TMP/pki"
    write_router_conf "$dir/r1.conf" listen="$BGP_R1_A" tun_address=fd00:f::1
    write_router_conf "$dir/r2.conf" listen="$BGP_R2_A,$BGP_R2_B" tun_address=fd00:f::2
    write_client_conf "$dir/a.conf" hosts="$BGP_R1_A,$BGP_R2_A" cert=a.pem key=a.key \
        connect_timeout=2000 reconnect_max_delay=2000
    write_client_conf "$dir/b.conf" hosts="$BGP_R2_B" cert=b.pem key=b.key \
        connect_timeout=2000 reconnect_max_delay=2000
    bgp_write_bird "$dir/bird1.conf" 1 2
    bgp_write_bird "$dir/bird2.conf" 2 1
}

# bgp_write_bird FILE SELF PEER: the shipped conf/bird-router.conf with this
# router's id, addresses and AS numbers, logging to stderr, and a 1 s
# connect retry (BIRD's sessions then come up within ~5 s). Fails when the
# example no longer holds a value it replaces.
bgp_write_bird() {
    local file="$1" self="$2" peer="$3" src="$ET_REPO/conf/bird-router.conf" pat
    for pat in "^log syslog all;" "^router id 198.18.0.1;" "^protocol bgp router2 {" \
        "local fd00:300::1 as 65001;" "neighbor fd00:300::2 as 65002;" \
        "connect retry time 5;" "krt_source = $BGP_PROTO;"; do
        grep -q -- "$pat" "$src" || et_die "conf/bird-router.conf: no '$pat'"
    done
    sed -e 's/^log syslog all;/log stderr all;/' \
        -e "s/^router id 198.18.0.1;/router id 198.18.0.$self;/" \
        -e "s/local fd00:300::1 as 65001;/local fd00:300::$self as 6500$self;/" \
        -e "s/neighbor fd00:300::2 as 65002;/neighbor fd00:300::$peer as 6500$peer;/" \
        -e "s/^protocol bgp router2 {/protocol bgp router$peer {/" \
        -e 's/connect retry time 5;/connect retry time 1;/' "$src" >"$file"
}

# bgp_start_bird N: BIRD in router N's namespace, in the foreground (so its
# PID is ours), control socket in $ET_TMP.
bgp_start_bird() {
    et_daemon_start "bird$1" "r$1" bird -f -c "$ET_TMP/pki/bird$1.conf" \
        -s "$ET_TMP/bird$1.ctl" -P "$ET_TMP/bird$1.pidfile"
}

bgp_birdc() {
    local n="$1"
    shift
    et_exec "r$n" birdc -s "$ET_TMP/bird$n.ctl" "$@"
}

bgp_established() {
    grep -q Established <<<"$(bgp_birdc 1 show protocols router2)" &&
        grep -q Established <<<"$(bgp_birdc 2 show protocols router1)"
}

# bgp_start_router N: start router N, wait until this run of it listens
# (the log is appended to across restarts).
bgp_start_router() {
    local before
    before="$(et_log_count "router$1" "listening on")"
    et_daemon_start "router$1" "r$1" "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/pki/r$1.conf"
    et_wait_for -d "router$1" log_count_above "router$1" "listening on" "${before:-0}"
}

# bgp_start_client a|b: start enftun, wait for its TUN, add the route that
# enftun-setup would add (the clients' /64 into the tunnel).
bgp_start_client() {
    local name="$1" ns="$1"
    # A stopped client's TUN goes with its last fd: wait for it to go.
    et_wait_for -t 10 bgp_link_gone "$ns" enf0
    et_daemon_start "$name" "$ns" "$ET_BIN_DIR/enftun" -c "$ET_TMP/pki/$name.conf"
    et_wait_for -d "$name" et_link_up "$ns" enf0 || return 1
    et_exec "$ns" ip -6 route replace fd00:e::/64 dev enf0
}

bgp_link_gone() {
    ! et_link_exists "$1" "$2"
}

# bgp_route N ADDR: router N's kernel route for ADDR/128 ("" when none).
bgp_route() {
    et_exec "r$1" ip -6 route show "$2/128"
}

# bgp_route_is N ADDR PATTERN: that route exists and matches PATTERN (ERE).
bgp_route_is() {
    grep -q -E -- "$3" <<<"$(bgp_route "$1" "$2")"
}

# bgp_own_routes N: routes of our protocol in router N's kernel.
bgp_own_routes() {
    et_exec "r$1" ip -6 route show proto "$BGP_PROTO"
}

bgp_ping() {
    et_exec "$1" ping -6 -n -c 1 -W 1 "$2"
}
