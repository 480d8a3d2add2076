#!/usr/bin/env bash
# setup_test.sh: enftun-setup with a full tunnel (route.prefixes = default)
# in network namespaces, with the real kernel and nftables
# (CTest: netns.setup_test; exit 77 = skipped). Topology: setup_lib.sh.
#
# Steps (each prints PASS/FAIL):
#  a  before setup: the device reaches the host directly, DHCPv6 and
#     DHCPv4 clients solicit (the counters work)
#  b  up, printing each command; no leak while enftun is not running (IPv6,
#     IPv4, bound sockets, marked non-TCP, unmarked TCP to the router, no
#     tunnel TCP at all); DHCPv6 and DHCPv4 client traffic still gets out,
#     and a DHCPv4 renewal from an ordinary socket gets its answer; the
#     uplink's gateway can resolve the device by ARP
#  c  enftun running: router and another client through the tunnel, the
#     tunnel's TCP leaves the uplink with fwmark 0x16b, still no leak; an
#     unrelated route change does not make it reconnect (marked route probe)
#  d  enftun crashes (SIGKILL): still no leak; a restarted enftun works
#  e  the trusted interface reaches its LAN directly
#  f  up again is refused as "already up" and changes nothing
#  g  down restores rules, routes, ruleset, links and sysctls exactly, and
#     leaves a foreign nftables table, foreign policy rules and a link
#     already in group route.table alone; status then exits 3
#  h  up, down, up, down is clean
#  i  a failure half-way through up is rolled back
#  j  clear errors: no CAP_NET_ADMIN, no nft (status says it cannot see the
#     firewall), a remote host that does not resolve; nothing changed
#  k  the router by IPv4 address, with strict rp_filter on the device: no
#     unmarked TCP to it gets out; nothing from the uplink is delivered or
#     forwarded
#  l  route.allow_ipv4: no IPv4 blackhole, IPv4 goes out directly, IPv6
#     still into enf0; status names a missing part (exit 1); down restores
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=setup_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup_lib.sh"

ET_WAIT_TIMEOUT=30
CONF=""
BEFORE=""

# ---------------------------------------------------------------- setup

make_pki_and_confs() {
    local pki="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip 198.18.0.1 --router-name router.test "$pki" d="$ES_D_ADDR" \
        c2="$ES_C2_ADDR" >/dev/null
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1,198.18.0.1 \
        address="$ES_ROUTER_ADDR" cert="$pki/router.pem" key="$pki/router.key" \
        ca="$pki/ca.pem" tun_dev=
    # The router by name: enftun-setup resolves it at up (for the firewall),
    # enftun whenever it connects; both through d's /etc/hosts.
    et_netns_hosts d "fd00:100::1 router.test"
    CONF="$ET_TMP/d.conf"
    write_client_conf "$CONF" hosts=router.test ca="$pki/ca.pem" cert="$pki/d.pem" \
        key="$pki/d.key" prefixes=default trusted=lan0
    write_client_conf "$ET_TMP/d4.conf" hosts=198.18.0.1 ca="$pki/ca.pem" cert="$pki/d.pem" \
        key="$pki/d.key" prefixes=default trusted=lan0
    write_client_conf "$ET_TMP/d-ipv4.conf" hosts=router.test ca="$pki/ca.pem" \
        cert="$pki/d.pem" key="$pki/d.key" prefixes=default trusted=lan0 allow_ipv4=true
    write_client_conf "$ET_TMP/noname.conf" hosts=nosuch.test ca="$pki/ca.pem" \
        cert="$pki/d.pem" key="$pki/d.key" prefixes=default
    write_client_conf "$ET_TMP/c2.conf" hosts=fd00:101::1 ca="$pki/ca.pem" \
        cert="$pki/c2.pem" key="$pki/c2.key" prefixes=fd00:e::/64
}

router_listening() {
    [[ -n $(et_exec i ss -Hltn "src [fd00:100::1]:4443") ]]
}

start_router_and_c2() {
    et_daemon_start router i "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router router_listening
    et_daemon_start c2 c2 "$ET_BIN_DIR/enftun" -c "$ET_TMP/c2.conf"
    et_wait_for -d c2 et_link_up c2 enf0
    et_exec c2 ip -6 route replace fd00:e::/64 dev enf0
    et_wait_for -d c2 -d router es_ping c2 "$ES_ROUTER_ADDR"
}

# ---------------------------------------------------------------- leaks

# bg CMD...: run CMD in the background (its status ignored); bg_wait waits
# for all of them (not for the daemons, which are children too).
BG_PIDS=()
bg() {
    "$@" &
    BG_PIDS+=("$!")
}

bg_wait() {
    ((${#BG_PIDS[@]} == 0)) || wait "${BG_PIDS[@]}" || true
    BG_PIDS=()
}

# try_to_leak: everything here must be dropped or go into the TUN. Each
# attempt is expected to fail; what matters is the counters in i. The
# attempts are independent, so they run at once (each waits out its own
# timeout); the caller's fence comes after all of them have ended.
try_to_leak() {
    local dst
    for dst in "$ES_HOST6" "$ES_UPLINK_PEER6" ff02::1 "$ES_ROUTER_ADDR"; do
        bg es_ping d "$dst" -6 -I up0
    done
    for dst in "$ES_HOST6" "$ES_UPLINK_PEER6" "$ES_HOST4" "$ES_UPLINK_PEER4"; do
        bg es_ping d "$dst"
        # SO_MARK alone opens nothing: only marked TCP to the router port.
        bg es_ping d "$dst" -m 363
    done
    bg es_ping d "$ES_HOST4" -I up0
    for dst in "$ES_UPLINK_PEER6/4443" "$ES_UPLINK_PEER4/4443" "$ES_HOST6/80"; do
        bg et_exec d timeout 3 bash -c "exec 3<>/dev/tcp/$dst"
    done
    bg et_exec d bash -c "echo leak >/dev/udp/$ES_HOST6/9"
    bg et_exec d bash -c "echo leak >/dev/udp/$ES_HOST4/9"
    bg_wait
}

# no_leak LABEL [quiet]: run try_to_leak, fence, and check nothing but the
# allowed traffic arrived in i; with "quiet" (enftun not running, no tunnel
# connection left) no TCP to the router port either: the firewall lets
# only marked TCP out there, and try_to_leak's is unmarked.
no_leak() {
    local ok=0 host ipv4 other tunprefix tunnel
    tunnel="$(es_counter tunnel)"
    tunprefix="$(es_counter tunprefix)"
    host="$(es_counter host)"
    ipv4="$(es_counter ipv4)"
    other="$(es_counter other)"
    try_to_leak >/dev/null 2>&1
    check "fence: a neighbour solicitation from the device arrived" es_fence || ok=1
    check_num "$1: nothing reached the ordinary host" \
        "$(($(es_counter host) - host))" -eq 0 || ok=1
    check_num "$1: no tunnel address on the uplink" \
        "$(($(es_counter tunprefix) - tunprefix))" -eq 0 || ok=1
    check_num "$1: no IPv4 on the uplink" "$(($(es_counter ipv4) - ipv4))" -eq 0 || ok=1
    check_num "$1: nothing else on the uplink but ND/MLD/DHCPv6/tunnel" \
        "$(($(es_counter other) - other))" -eq 0 || ok=1
    if [[ ${2:-} == quiet ]]; then
        check_num "$1: no (unmarked) TCP to the router port on the uplink" \
            "$(($(es_counter tunnel) - tunnel))" -eq 0 || ok=1
    fi
    return "$ok"
}

# ----------------------------------------------------------------- steps

step_a() {
    local ok=0 host ipv4
    host="$(es_counter host)"
    ipv4="$(es_counter ipv4)"
    check "d pings the host $ES_HOST6 directly" es_ping d "$ES_HOST6" || ok=1
    check "d pings the host $ES_HOST4 directly" es_ping d "$ES_HOST4" || ok=1
    check_num "counter 'host' saw it" "$(($(es_counter host) - host))" -ge 2 || ok=1
    check_num "counter 'ipv4' saw it" "$(($(es_counter ipv4) - ipv4))" -ge 1 || ok=1
    # dhcpcd also sets sysctls on up0 for good: done here, before the state
    # that down must restore is recorded.
    check "a DHCPv6 client on the uplink: counter 'dhcp6' sees its Solicit" dhcpv6_solicits ||
        ok=1
    check "a DHCPv4 client on the uplink: counter 'dhcp4' sees its Discover" dhcpv4_discovers ||
        ok=1
    return "$ok"
}

step_b() {
    local ok=0
    check "enftun-setup up" es_setup d up "$CONF" || return 1
    check "up printed the commands it ran" printed_commands || ok=1
    check "the state file lists the moved trusted link and the raised sysctl" \
        grep -q -x -e 'moved_group=lan0' -e 'raised_sysctl=src_valid_mark' \
        "$ET_TMP/run-enftun/enf0" || ok=1
    check_num "... both of them" "$(grep -c -x -e 'moved_group=lan0' \
        -e 'raised_sysctl=src_valid_mark' "$ET_TMP/run-enftun/enf0")" -eq 2 || ok=1
    check "status says up (exit 0)" es_setup d status "$CONF" || ok=1
    check "the firewall lets TCP out to router.test's address fd00:100::1" \
        grep -q 'fd00:100::1' <(et_exec d nft list table inet enftun-enf0) || ok=1
    check "accept_ra is 0 on enf0" \
        grep -qx 0 <(et_exec d sysctl -n net/ipv6/conf/enf0/accept_ra) || ok=1
    check "enf0 is a persistent TUN, mtu 1280, up" enf0_ready || ok=1
    check_not "the host is unreachable" es_ping d "$ES_HOST6" || ok=1
    check "unmarked IPv6 is routed into enf0" route_get_says 'dev enf0' -6 route get "$ES_HOST6" || ok=1
    check "marked IPv6 (the tunnel socket) is routed via up0" \
        route_get_says 'dev up0' -6 route get "$ES_HOST6" mark 363 || ok=1
    check "multicast is routed into enf0" route_get_says 'dev enf0' -6 route get ff02::1 || ok=1
    check_not "unmarked IPv4 has no route (blackhole)" et_exec d ip -4 route get "$ES_HOST4" ||
        ok=1
    no_leak "enftun not running" quiet || ok=1
    check "a DHCPv6 client on the uplink gets its Solicit through" dhcpv6_solicits || ok=1
    check "a DHCPv4 client on the uplink gets its Discover through" dhcpv4_discovers || ok=1
    check "a DHCPv4 renewal (ordinary UDP socket, port 68 to 67) is answered" \
        dhcpv4_renewal_answered || ok=1
    check "the uplink's gateway resolves d by ARP (strict rp_filter, IPv4 blackhole)" \
        et_wait_for -t 10 uplink_can_arp_device || ok=1
    return "$ok"
}

# printed_commands: up prints "[#] CMD" for what it runs (setup.log holds
# this run's output).
printed_commands() {
    local line
    for line in '[#] ip tuntap add dev enf0 mode tun' '[#] nft -f' \
        '[#] ip -6 rule add not fwmark 363'; do
        grep -q -F -- "$line" "$ET_TMP/setup.log" || { echo "missing: $line"; return 1; }
    done
}

# dhcpv4_discovers: dhcpcd -4 on up0 until i has counted a DHCPv4 client
# message (a Discover, broadcast from 0.0.0.0:68). dhcpcd sends it on a
# packet socket, which no IP-layer firewall sees: this shows a real client
# gets out, dhcpv4_renewal_answered the firewall's and the rules' part.
dhcpv4_discovers() {
    dhcpcd_counted dhcp4 'ipv4only\n' -4
}

# dhcpcd_counted COUNTER CONF [FLAG...]: dhcpcd on up0 with config CONF (a
# printf format) until i's COUNTER grows. dhcpcd keeps its state under /run
# and /var/lib/dhcpcd: tmpfs in a private mount namespace, so the machine is
# untouched.
dhcpcd_counted() {
    local counter="$1" conf="$ET_TMP/dhcpcd-$1.conf" before rc=0
    # shellcheck disable=SC2059 # the format is the caller's constant
    printf "$2" >"$conf"
    shift 2
    before="$(es_counter "$counter")"
    et_daemon_start dhcpcd d unshare --mount bash -c "mount -t tmpfs none /run &&
        mkdir -p /var/lib/dhcpcd && mount -t tmpfs none /var/lib/dhcpcd &&
        exec timeout 60 dhcpcd $* -1 -t 50 -f '$conf' -c /bin/true up0"
    et_wait_for -d dhcpcd counter_above "$counter" "$before" || rc=1
    et_daemon_stop dhcpcd
    return "$rc"
}

counter_above() {
    (($(es_counter "$1") > $2))
}

# dhcpv4_renewal_answered: a DHCPv4 renewal is unicast UDP from port 68 to
# the server's port 67, from an ordinary socket (RFC 2131 section 4.4.5):
# it needs rule 32761 (else table T's blackhole), the firewall's
# exceptions both ways, and passes strict rp_filter. A stand-in server in i
# on 198.18.0.1:67 first sends d a datagram, as a real server's DHCPACK
# (the firewall lets a renewal out only to a server it has heard from),
# then answers every datagram; i counts it as "dhcp4".
dhcpv4_renewal_answered() {
    local before rc=0
    before="$(es_counter dhcp4)"
    et_daemon_start dhcp4-server i timeout 60 perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => $ARGV[0], LocalPort => 67,
            Proto => "udp") or die "socket: $!";
        $s->send("ack", 0, Socket::pack_sockaddr_in(68, Socket::inet_aton($ARGV[1])))
            or die "send: $!";
        while (defined(my $peer = $s->recv(my $msg, 1500))) { $s->send("ack:$msg", 0, $peer) }' \
        "$ES_UPLINK_PEER4" 198.18.0.2
    et_wait_for -d dhcp4-server dhcp4_server_listening || rc=1
    if ! et_wait_for -t 20 dhcpv4_renew; then
        rc=1
        dhcpv4_renew || true # its error, for the log
        et_exec d ip -4 addr show dev up0
        et_exec d ip -4 route get "$ES_UPLINK_PEER4" ipproto udp sport 68 dport 67 || true
    fi
    et_daemon_stop dhcp4-server
    counter_above dhcp4 "$before" || rc=1
    return "$rc"
}

dhcp4_server_listening() {
    [[ -n $(et_exec i ss -Hlun "src $ES_UPLINK_PEER4:67") ]]
}

# dhcpv4_renew: one renewal. i forgets d's link-layer address first, so
# its answer waits for an ARP request that d must answer (see
# uplink_can_arp_device).
dhcpv4_renew() {
    et_exec i ip -4 neigh flush to 198.18.0.2 dev vd
    et_exec d perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalPort => 68, PeerAddr => $ARGV[0], PeerPort => 67,
            Proto => "udp") or die "socket: $!";
        $s->send("renew") or die "send: $!";
        my $r = "";
        eval { local $SIG{ALRM} = sub { die "timeout\n" }; alarm 2; $s->recv($r, 1500); alarm 0 };
        $r eq "ack:renew" or die "no answer: $@\n"' "$ES_UPLINK_PEER4"
}

# uplink_can_arp_device: i, the uplink's gateway (and DHCPv4 server), forgets
# d and pings it: the ping is dropped by d's firewall, but the ARP request
# before it must be answered. Reverse-path filtering checks the request's
# sender with the packet's mark: without enftun-setup's arp table (and
# src_valid_mark), mark 0 meets table T's blackhole and d stays silent,
# so unicast from the gateway to d stalls once its neighbour entry expires.
uplink_can_arp_device() {
    et_exec i ip -4 neigh flush to 198.18.0.2 dev vd
    et_exec i ping -4 -n -q -c 1 -W 1 198.18.0.2 >/dev/null 2>&1 || true
    grep -q lladdr <<<"$(et_exec i ip -4 neigh show to 198.18.0.2 dev vd)"
}

enf0_ready() {
    local link
    link="$(et_exec d ip -d link show dev enf0)"
    grep -q 'persist on' <<<"$link" && grep -q -w 'mtu 1280' <<<"$link" &&
        grep -q -E '[<,]UP[,>]' <<<"$link"
}

# dhcpv6_solicits: dhcpcd (DHCPv6 only, no RS) on up0 until i has counted a
# Solicit from it.
dhcpv6_solicits() {
    dhcpcd_counted dhcp6 'ipv6only\nnoipv6rs\nia_na 1\n'
}

# route_get_says REGEX ARG...: `ip ARG...` in d prints a match of REGEX.
route_get_says() {
    local pattern="$1"
    shift
    et_exec d ip "$@" | grep -E -- "$pattern"
}

tunnel_socket_marked() {
    grep -q 'fwmark:0x16b' <<<"$(et_exec d ss -tnie "dst [$ES_UPLINK_PEER6]:4443")"
}

start_d() {
    et_daemon_start enftun d "$ET_BIN_DIR/enftun" -c "$CONF"
    et_wait_for -d enftun -d router es_ping d "$ES_ROUTER_ADDR"
}

step_c() {
    local ok=0 tunnel
    tunnel="$(es_counter tunnel)"
    check "enftun connects; d pings the router $ES_ROUTER_ADDR" start_d || return 1
    check "d pings the other client $ES_C2_ADDR" \
        et_wait_for -d enftun es_ping d "$ES_C2_ADDR" || ok=1
    check "ss shows fwmark:0x16b on the tunnel socket" tunnel_socket_marked || ok=1
    check_num "the tunnel's TCP left through the uplink" \
        "$(($(es_counter tunnel) - tunnel))" -gt 0 || ok=1
    no_leak "enftun running" || ok=1
    check "an unrelated route change keeps the path (marked route probe)" \
        unrelated_route_keeps_path || ok=1
    return "$ok"
}

# unrelated_route_keeps_path: a main-table route that does not cover the
# router makes enftun re-check its path. Its UDP route probe must carry the
# fwmark: unmarked, rule 32762 sends it into enf0, the preferred source is
# no longer the tunnel's, and enftun reconnects for nothing.
unrelated_route_keeps_path() {
    local prefix=fd00:999::/64 reconnects ups rc=0
    reconnects="$(et_log_count enftun ": reconnecting:")"
    ups="$(et_log_count enftun "tunnel up")"
    et_exec d ip -6 route add "$prefix" via "$ES_UPLINK_PEER6" dev up0
    et_wait_for -d enftun log_line_has enftun "route+ $prefix" "route change (" || rc=1
    et_exec d ip -6 route del "$prefix" via "$ES_UPLINK_PEER6" dev up0
    grep -F "route+ $prefix" "$(et_daemon_log enftun)" || true
    log_line_has enftun "route+ $prefix" "preferred path unchanged" || rc=1
    (($(et_log_count enftun ": reconnecting:") == reconnects)) || rc=1
    (($(et_log_count enftun "tunnel up") == ups)) || rc=1
    return "$rc"
}

# log_line_has NAME STRING1 STRING2: one line of the daemon's log holds both.
log_line_has() {
    grep -q -F -- "$3" <<<"$(grep -F -- "$2" "$(et_daemon_log "$1")" 2>/dev/null)"
}

enf0_without_carrier() {
    grep -q NO-CARRIER <<<"$(et_exec d ip link show dev enf0)"
}

enf0_routes_linkdown() {
    grep -q -w linkdown <<<"$(et_exec d ip -6 route show table all dev enf0)"
}

step_d() {
    local ok=0
    et_daemon_kill enftun
    check "enf0 survives, without carrier" et_wait_for -t 10 enf0_without_carrier || ok=1
    no_leak "enftun crashed" || ok=1
    check "a restarted enftun reaches the router again" start_d || ok=1
    check "and the other client" et_wait_for -d enftun es_ping d "$ES_C2_ADDR" || ok=1
    return "$ok"
}

step_e() {
    local ok=0
    check "d pings $ES_LAN6 on the trusted lan0" es_ping d "$ES_LAN6" || ok=1
    check "d pings $ES_LAN4 on the trusted lan0" es_ping d "$ES_LAN4" || ok=1
    check "route to $ES_LAN6 uses lan0" route_get_says 'dev lan0' -6 route get "$ES_LAN6" ||
        ok=1
    check "route to $ES_LAN4 uses lan0" route_get_says 'dev lan0' -4 route get "$ES_LAN4" ||
        ok=1
    check "a default-route destination still uses enf0" \
        route_get_says 'dev enf0' -6 route get fd00:999::1 || ok=1
    return "$ok"
}

step_f() {
    local ok=0 up_state="$ET_TMP/state.up"
    et_daemon_stop enftun
    # Carrier loss reaches the routes through the kernel's linkwatch work,
    # later than the exit: wait until they show it, so the dump is stable.
    check "enf0's routes turn linkdown" et_wait_for -t 10 enf0_routes_linkdown || ok=1
    es_state d >"$up_state"
    check "second up succeeds, saying 'already up'" \
        es_succeeds_saying 'already up' es_setup d up "$CONF" || ok=1
    check "and changed nothing" es_same_state d "$up_state" || ok=1
    return "$ok"
}

step_g() {
    local ok=0 host
    check "enftun-setup down" es_setup d down "$CONF" || return 1
    check "rules, routes, ruleset, links, sysctls as before up" \
        es_same_state d "$BEFORE" || ok=1
    check_not "the state file is gone" test -e "$ET_TMP/run-enftun/enf0" || ok=1
    check "second down succeeds, saying 'already down'" \
        es_succeeds_saying 'already down' es_setup d down "$CONF" || ok=1
    check "status says down (exit 3)" status_exits 3 'state: down' "$CONF" || ok=1
    check "the foreign nftables table, policy rules and grouped link are still there" \
        foreign_present ||
        ok=1
    host="$(es_counter host)"
    check "d reaches the host directly again" es_ping d "$ES_HOST6" || ok=1
    check_num "counter 'host' saw it" "$(($(es_counter host) - host))" -ge 1 || ok=1
    return "$ok"
}

# Round 2 runs enftun-setup with CAP_NET_ADMIN as its only capability, as
# the CapabilityBoundingSet of enftun-setup@.service allows.
# status_exits RC REGEX CONFIG: `enftun-setup status CONFIG` exits with RC
# and its output matches REGEX.
status_exits() {
    local want="$1" pattern="$2" out rc=0
    out="$(es_setup d status "$3" 2>&1)" || rc=$?
    printf '%s\n(exit %s)\n' "$out" "$rc"
    ((rc == want)) && grep -q -E -- "$pattern" <<<"$out"
}

# load_foreign: another program's nftables table, with chains on the hooks
# the firewall uses (an accept there must not open it), policy rules of its
# own, and a (down) veth es_grp already in group route.table, which down
# must not move out. enftun-setup must leave them alone; they are in the
# BEFORE dump.
load_foreign() {
    et_exec d ip link add es_grp type veth peer name es_grp_peer
    et_exec d ip link set dev es_grp group "$("$ET_BIN_DIR/enftun" -c "$CONF" -p route.table)"
    et_exec d nft -f - <<EOF
table inet es_foreign {
    chain input { type filter hook input priority filter; policy accept; tcp dport 7777 accept; }
    chain output { type filter hook output priority filter; policy accept; udp dport 9 accept; }
    chain forward { type filter hook forward priority filter; policy accept; }
}
EOF
    et_exec d ip -6 rule add from fd00:777::/64 lookup 777 pref 32000
    et_exec d ip -4 rule add from 198.18.7.0/24 lookup 777 pref 32000
}

foreign_present() {
    grep -q -w "group $("$ET_BIN_DIR/enftun" -c "$CONF" -p route.table)" \
        <<<"$(et_exec d ip -o link show dev es_grp)" &&
        et_exec d nft list table inet es_foreign &&
        grep -q 'lookup 777' <(et_exec d ip -6 rule show pref 32000) &&
        grep -q 'lookup 777' <(et_exec d ip -4 rule show pref 32000)
}

step_h() {
    local ok=0 round
    for round in 1 2; do
        ((round == 1)) || ES_WRAP=(setpriv --inh-caps=-all "--bounding-set=-all,+net_admin")
        check "round $round: up" es_setup d up "$CONF" || ok=1
        check "round $round: down" es_setup d down "$CONF" || ok=1
        check "round $round: state as before" es_same_state d "$BEFORE" || ok=1
    done
    ES_WRAP=()
    # Without the state file down still removes everything and moves the
    # trusted link back; only the raised sysctl is unknown to it.
    check "round 3: up" es_setup d up "$CONF" || ok=1
    rm -f -- "$ET_TMP/run-enftun/enf0"
    check "round 3: down without the state file" es_setup d down "$CONF" || ok=1
    check "round 3: src_valid_mark left at 1" \
        grep -q -x 1 <(et_exec d sysctl -n net.ipv4.conf.all.src_valid_mark) || ok=1
    et_exec d sysctl -q -w net.ipv4.conf.all.src_valid_mark=0
    check "round 3: otherwise as before" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}

# An `ip` that fails the last step of up (the tunnel rule), after the
# firewall, TUN, routes and trusted group are in place.
make_failing_ip() {
    local dir="$ET_TMP/failing-ip"
    mkdir -p "$dir"
    cat >"$dir/ip" <<EOF
#!/bin/bash
[[ " \$* " != *" rule add not fwmark "* ]] || { echo "ip: injected failure" >&2; exit 2; }
exec $(command -v ip) "\$@"
EOF
    chmod +x "$dir/ip"
    echo "$dir"
}

step_i() {
    local ok=0 dir
    dir="$(make_failing_ip)"
    ES_PATH="$dir:$PATH" check "up with a failing 'ip rule add' fails and undoes its work" \
        es_fails_saying 'undoing' es_setup d up "$CONF" || ok=1
    check "state as before" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}

# make_fake_enftun NAME KEY FILE: an enftun whose `-p all` prints the
# contents of FILE as the value of KEY (whatever the real config parser
# would say); prints the fake's path.
make_fake_enftun() {
    local fake="$ET_TMP/enftun-$1"
    cat >"$fake" <<EOF
#!/bin/bash
[[ \$* == *"-p all"* ]] || exec "$ET_BIN_DIR/enftun" "\$@"
out="\$("$ET_BIN_DIR/enftun" "\$@")" || exit 1
grep -v '^$2=' <<<"\$out"
printf '%s=%s\\n' "$2" "\$(<"$3")"
EOF
    chmod +x "$fake"
    echo "$fake"
}

# make_ipv4_prefix_enftun: an enftun that prints route.prefixes with an
# IPv4 prefix while route.allow_ipv4 is false (the real config parser
# refuses that), to test that enftun-setup validates every entry before it
# changes anything.
make_ipv4_prefix_enftun() {
    echo "default 198.19.0.0/16" >"$ET_TMP/ipv4-prefixes"
    make_fake_enftun ipv4-prefix route.prefixes "$ET_TMP/ipv4-prefixes"
}

step_j() {
    local ok=0 dir="$ET_TMP/no-nft" f
    ES_WRAP=(setpriv --inh-caps=-all --bounding-set=-net_admin)
    check "up without CAP_NET_ADMIN fails with a clear message" \
        es_fails_saying 'not allowed.*CAP_NET_ADMIN' es_setup d up "$CONF" || ok=1
    ES_WRAP=()
    mkdir -p "$dir"
    for f in /usr/bin/* /usr/sbin/*; do
        [[ ${f##*/} == nft ]] || ln -sf "$f" "$dir/"
    done
    ES_PATH="$dir" check "up without nft fails with a clear message" \
        es_fails_saying 'nft not found' es_setup d up "$CONF" || ok=1
    ES_PATH="$dir" check "status without nft says it cannot see the firewall" \
        status_exits 3 'nft not found.*cannot be seen' "$CONF" || ok=1
    ES_ENFTUN="$(make_ipv4_prefix_enftun)" check \
        "up with an IPv4 prefix but no allow_ipv4 (from a stand-in enftun) fails clearly" \
        es_fails_saying 'route.prefixes: the IPv4 prefix 198.19.0.0/16 needs route.allow_ipv4' \
        es_setup d up "$CONF" || ok=1
    echo "default 198.19.0.0/33" >"$ET_TMP/bad-prefixes"
    ES_ENFTUN="$(make_fake_enftun bad-prefix route.prefixes "$ET_TMP/bad-prefixes")" check \
        "up with a malformed prefix (from a stand-in enftun) fails with a clear message" \
        es_fails_saying 'route.prefixes: unsupported entry "198.19.0.0/33"' es_setup d up "$CONF" ||
        ok=1
    check "up with an unresolvable remote host fails with a clear message" \
        es_fails_saying 'cannot resolve remote host "nosuch.test"' \
        es_setup d up "$ET_TMP/noname.conf" || ok=1
    check "state as before" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}

# IPv4 rp_filter checks a reply's source with mark 0, which table T
# blackholes: the "to REMOTE lookup main" rule is what lets the replies in.
step_k() {
    local ok=0 conf="$ET_TMP/d4.conf"
    check "up with remote.hosts = 198.18.0.1" es_setup d up "$conf" || return 1
    # Rule 32761 routes unmarked TCP to 198.18.0.1 via up0: only the
    # firewall's mark requirement stops it.
    no_leak "IPv4 router, enftun not running" quiet || ok=1
    et_daemon_start enftun d "$ET_BIN_DIR/enftun" -c "$conf"
    check "enftun connects over IPv4; d pings the router $ES_ROUTER_ADDR" \
        et_wait_for -d enftun -d router es_ping d "$ES_ROUTER_ADDR" || ok=1
    check "ss shows fwmark:0x16b on the IPv4 tunnel socket" \
        grep -q 'fwmark:0x16b' <(et_exec d ss -tnie "dst 198.18.0.1:4443") || ok=1
    no_leak "IPv4 router" || ok=1
    nothing_inbound || ok=1
    et_daemon_stop enftun
    check "down" es_setup d down "$conf" || ok=1
    check "state as before" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}

# nothing_inbound: i and h send to d's uplink addresses (pings, TCP SYNs to
# port 7777) and i sends through d to the LAN (d forwarding IPv4 for the
# moment). Counters in d before (priority -10) and after (+10) the
# firewall's chains: the packets reach the input and forward hooks, and none
# passes. The rule "to 198.18.0.1 lookup main" lets i's IPv4 pass strict
# rp_filter, so it does reach the hooks.
nothing_inbound() {
    local ok=0 dst
    et_exec d nft -f - <<EOF
table inet es_inbound {
    counter in_seen {}
    counter in_passed {}
    counter fwd_seen {}
    counter fwd_passed {}
    chain in_before {
        type filter hook input priority -10; policy accept;
        iifname "up0" tcp dport 7777 counter name "in_seen"
        iifname "up0" icmp type echo-request counter name "in_seen"
        iifname "up0" icmpv6 type echo-request counter name "in_seen"
    }
    chain in_after {
        type filter hook input priority 10; policy accept;
        iifname "up0" tcp dport 7777 counter name "in_passed"
        iifname "up0" icmp type echo-request counter name "in_passed"
        iifname "up0" icmpv6 type echo-request counter name "in_passed"
    }
    chain fwd_before {
        type filter hook forward priority -10; policy accept;
        iifname "up0" counter name "fwd_seen"
    }
    chain fwd_after {
        type filter hook forward priority 10; policy accept;
        iifname "up0" counter name "fwd_passed"
    }
}
EOF
    et_exec d sysctl -q -w net.ipv4.ip_forward=1
    et_exec i ip -4 route add 198.18.3.0/24 via 198.18.0.2
    {
        for dst in 198.18.0.2 fd00:100::2; do
            bg es_ping i "$dst"
            bg es_ping h "$dst"
            bg et_exec i timeout 2 bash -c "exec 3<>/dev/tcp/$dst/7777"
            bg et_exec h timeout 2 bash -c "exec 3<>/dev/tcp/$dst/7777"
        done
        bg es_ping i "$ES_LAN4"
        bg_wait
    } >/dev/null 2>&1
    et_exec i ip -4 route del 198.18.3.0/24 via 198.18.0.2
    et_exec d sysctl -q -w net.ipv4.ip_forward=0
    check_num "pings and SYNs from the uplink reached d's input hook" \
        "$(et_nft_counter d es_inbound in_seen)" -gt 0 || ok=1
    check_num "none was delivered" "$(et_nft_counter d es_inbound in_passed)" -eq 0 || ok=1
    check_num "a ping from the uplink to the LAN reached d's forward hook" \
        "$(et_nft_counter d es_inbound fwd_seen)" -gt 0 || ok=1
    check_num "it was not forwarded" "$(et_nft_counter d es_inbound fwd_passed)" -eq 0 || ok=1
    et_exec d nft delete table inet es_inbound
    return "$ok"
}

# allow_ipv4 leaves IPv4 to the main table (the tunnel carries IPv6 only):
# no blackhole in table T, and the firewall lets IPv4 through.
step_l() {
    local ok=0 conf="$ET_TMP/d-ipv4.conf" ipv4
    check "up with route.allow_ipv4 = true" es_setup d up "$conf" || return 1
    check "status says up (exit 0)" status_exits 0 'state: up' "$conf" || ok=1
    check_not "no IPv4 blackhole in any table" \
        grep -w blackhole <(et_exec d ip -4 route show table all) || ok=1
    check "IPv4 to the host is routed via up0" \
        route_get_says 'dev up0' -4 route get "$ES_HOST4" || ok=1
    ipv4="$(es_counter ipv4)"
    check "d pings the host $ES_HOST4 directly" es_ping d "$ES_HOST4" || ok=1
    check_num "counter 'ipv4' saw it" "$(($(es_counter ipv4) - ipv4))" -ge 1 || ok=1
    check "IPv6 to the host is still routed into enf0" \
        route_get_says 'dev enf0' -6 route get "$ES_HOST6" || ok=1
    check_not "and the host is unreachable by IPv6" es_ping d "$ES_HOST6" || ok=1
    et_exec d nft delete table inet enftun-enf0
    check "with the firewall removed, status says partly up (exit 1) and names it" \
        status_exits 1 '\[ \] nftables table inet enftun-enf0' "$conf" || ok=1
    check "down" es_setup d down "$conf" || ok=1
    check "state as before" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}

# ---------------------------------------------------------------- runner

# Injection attempts against the firewall through remote.hosts. The real
# enftun refuses them when it loads the config; a stand-in enftun that
# prints them anyway, and a stand-in getent that "resolves" a name to one,
# show that enftun-setup refuses them on its own before it changes anything.
readonly -a HOSTILE_HOSTS=(
    'fd00::1}accept;accept#' 'fd00::1 } accept' 'a;b' '"a"' "a'b" 'a#b' 'a{b'
    $'fd00::1\n} accept' 'fd00::1%lo' '$(id)' '198.18.0.1;accept'
)

make_hostile_enftun() {
    make_fake_enftun hostile remote.hosts "$ET_TMP/hostile-hosts"
}

make_hostile_getent() {
    local dir="$ET_TMP/hostile-getent" f
    mkdir -p "$dir"
    for f in /usr/bin/* /usr/sbin/*; do
        [[ ${f##*/} == getent ]] || ln -sf "$f" "$dir/"
    done
    cat >"$dir/getent" <<'EOF'
#!/bin/bash
echo 'fd00::1}accept;accept# STREAM router.test'
EOF
    chmod +x "$dir/getent"
    echo "$dir"
}

# hostile_conf TEXT: $CONF with remote.hosts = [ TEXT ], written with
# libconfig escapes for quotes, backslashes and newlines.
hostile_conf() {
    local text="$1" esc content
    esc="${text//\\/\\\\}"
    esc="${esc//\"/\\\"}"
    esc="${esc//$'\n'/\\n}"
    content="$(<"$CONF")"
    printf '%s\n' "${content/\"router.test\"/\"$esc\"}" >"$ET_TMP/hostile.conf"
}

step_m() {
    local ok=0 h fake dir
    for h in "${HOSTILE_HOSTS[@]}"; do
        # The real enftun: its config loader names the key and the line.
        hostile_conf "$h"
        check "enftun refuses remote.hosts $(printf '%q' "$h")" \
            es_fails_saying 'hostile.conf:[0-9]+: remote.hosts\[0\]: must be an IP address or a host name' \
            es_setup d up "$ET_TMP/hostile.conf" || ok=1
    done
    fake="$(make_hostile_enftun)"
    for h in "${HOSTILE_HOSTS[@]}"; do
        printf '%s\n' "$h" >"$ET_TMP/hostile-hosts"
        ES_ENFTUN="$fake" check "enftun-setup refuses remote.hosts $(printf '%q' "$h")" \
            es_fails_saying "remote.hosts: not an IP address or host name|printed a line without '='" \
            es_setup d up "$CONF" || ok=1
    done
    dir="$(make_hostile_getent)"
    ES_PATH="$dir" check "enftun-setup refuses a name that resolves to a non-address" \
        es_fails_saying 'router.test resolved to something not an address' \
        es_setup d up "$CONF" || ok=1
    check "state as before" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}


main() {
    et_init
    command -v nft >/dev/null || et_skip "nft not installed"
    command -v ndisc6 >/dev/null || et_skip "ndisc6 not installed"
    command -v setpriv >/dev/null || et_skip "setpriv not installed"
    command -v dhcpcd >/dev/null || et_skip "dhcpcd not installed (package dhcpcd-base)"
    et_require_bins enftun enftun-router
    echo "setup_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    es_topology c2 l
    # Strict reverse-path filtering (RFC 3704), harsher than Debian's loose.
    et_exec d sysctl -q -w net.ipv4.conf.all.rp_filter=1
    es_load_counters
    make_pki_and_confs
    start_router_and_c2
    run_step a "before setup the counters see direct traffic" step_a
    load_foreign
    BEFORE="$ET_TMP/state.before"
    es_state d >"$BEFORE"
    run_step b "up: no leak while enftun is not running" step_b
    run_step c "enftun running: tunnel works, marked TCP, no leak" step_c
    run_step d "enftun crash and restart: no leak" step_d
    run_step e "trusted interface reaches its LAN directly" step_e
    run_step f "up when already up changes nothing" step_f
    run_step g "down restores everything exactly" step_g
    run_step h "up, down, up, down is clean" step_h
    run_step i "a failed up is rolled back" step_i
    run_step j "clear errors: no CAP_NET_ADMIN, no nft, unresolvable host" step_j
    run_step k "IPv4 router address with strict rp_filter: no unmarked TCP, nothing inbound" step_k
    run_step l "route.allow_ipv4: IPv4 direct, IPv6 tunnelled; partly up status" step_l
    run_step m "hostile remote.hosts: refused by enftun and by enftun-setup itself" step_m
    # A check outside a step fails the test too.
    et_summary setup_test && ((ET_CHECKS_FAILED == 0))
}

main "$@"
