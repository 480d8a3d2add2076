#!/usr/bin/env bash
# split_tunnel_test.sh: enftun-setup with a split tunnel
# (route.prefixes = [ "fd00:e::/48" ]) in network namespaces
# (CTest: netns.split_tunnel_test; exit 77 = skipped). Topology: setup_lib.sh
# (namespaces d, i, h only).
#
# Steps (each prints PASS/FAIL):
#  a  up: one route fd00:e::/48 dev enf0 in table main; no rules, no
#     nftables table, no routing table of ours
#  b  enftun not running: the host is still reached directly, nothing for
#     fd00:e::/48 leaves the uplink
#  c  enftun running: the router through the tunnel, the host directly,
#     the tunnel socket marked
#  d  down restores everything exactly; up, down, up, down is clean
#  e  a multicast prefix goes into table local, through the TUN
#  f  an IPv4 prefix (route.allow_ipv4): its route through the TUN in table
#     main (status lists it); with a router carrying inner IPv4 (gateway TUN
#     holding 198.19.0.1), d pings it through the tunnel from its
#     certificate's 198.19.1.5, and no IPv4 crosses the uplink; down
#     removes the route with the TUN
#  g  full tunnel: an IPv4 prefix next to "default" is the one IPv4 route of
#     table 2097; other IPv4 stays on the uplink; a 0::0/0 there too is the
#     default route already (not added twice: "File exists")
#  h  a prefix holding an address of remote.hosts is refused before anything
#     changes (enftun's own TCP would go into the TUN), with a line naming
#     prefix, host and address: fd00:100::/127 for the router's address in
#     full form, ::/0 for it by name (router.test, from the namespace's hosts
#     file), 198.18.0.0/23 for an IPv4 literal; state as before, no state
#     file. Prefixes just next to those addresses come up, and a name that
#     does not resolve only gets a warning
#  i  a resolver that drops every query (i blackholes d's three name
#     servers; timeout:10 attempts:3, so getent alone would wait minutes
#     per name, as at a boot before the network): up gives each name at
#     most 5 s and all of them 10 s (enftun-setup's bound), warns about
#     both names and comes up, well inside a 60-s limit
#  j  a /0 that does not hold the router, next to d's default routes at the
#     same metric: ::/0 with the router reached over IPv4, then 0.0.0.0/0
#     (allow_ipv4) with the router over IPv6. Each comes up as its two /1
#     halves through the TUN, the uplink's default route untouched;
#     enftun's connection goes over that default, and the family goes
#     through the tunnel (the router's address, the inner IPv4 gateway)
#     while nothing of it for the host crosses the uplink; the other family
#     stays direct; down restores everything
#  k  a /0 listed next to its halves, in other spellings, and a prefix
#     twice in two spellings (::/0 with 0::/1, 8000:0::/1, fd00:e::/48 and
#     fd00:e:0::/48; 0.0.0.0/0 with 0.0.0.0/1 and 128.0.0.0/1): up adds
#     each route once (not "File exists"), status says up and lists each
#     once, down restores everything
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=setup_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup_lib.sh"

ET_WAIT_TIMEOUT=30
readonly PREFIX=fd00:e::/48 PREFIX4=198.19.0.0/24 D_V4=198.19.1.5 GW_V4=198.19.0.1
readonly DEAD_DNS=fd00:5353 # fd00:5353::/64, which i blackholes
CONF=""
PKI=""
BEFORE=""

make_pki_and_confs() {
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip "$ES_UPLINK_PEER4" \
        "$PKI" d="$ES_D_ADDR" d4="$ES_D_ADDR,$D_V4" >/dev/null
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1 address="$ES_ROUTER_ADDR" \
        cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" tun_dev=
    CONF="$ET_TMP/d.conf"
    write_client_conf "$CONF" hosts=fd00:100::1 ca="$PKI/ca.pem" cert="$PKI/d.pem" \
        key="$PKI/d.key" prefixes="$PREFIX"
}

router_listening() {
    [[ -n $(et_exec i ss -Hltn "src [fd00:100::1]:4443") ]]
}

router_listening4() {
    [[ -n $(et_exec i ss -Hltn "src $ES_UPLINK_PEER4:4443") ]]
}

# routes_via_enf0 TABLE: the routes of TABLE through enf0, one per line,
# without the kernel's own (link-local, multicast) ones.
routes_via_enf0() {
    et_exec d ip -6 route show table "$1" dev enf0 | awk '$1 !~ /^fe80|^multicast/ { print $1 }'
}

only_prefix_in_main() {
    [[ $(routes_via_enf0 main) == "$PREFIX" ]]
}

rules_unchanged() {
    diff <(sed -n '/^## ip -4 rule/,/^## ip -4 route/p' "$BEFORE") \
        <({
            echo "## ip -4 rule"
            et_exec d ip -4 rule
            echo "## ip -6 rule"
            et_exec d ip -6 rule
            echo "## ip -4 route show table all"
        })
}

no_nft_ruleset() {
    [[ -z $(et_exec d nft list ruleset) ]]
}

no_table_2097() {
    [[ -z $(et_exec d ip -6 route show table 2097 2>/dev/null) ]]
}

step_a() {
    local ok=0
    check "enftun-setup up" es_setup d up "$CONF" || return 1
    check "status says up" es_setup d status "$CONF" || ok=1
    check "main has exactly $PREFIX via enf0" only_prefix_in_main || ok=1
    check "no policy rules added" rules_unchanged || ok=1
    check "no nftables ruleset" no_nft_ruleset || ok=1
    check "nothing in table 2097" no_table_2097 || ok=1
    return "$ok"
}

# direct_and_tunnel_only LABEL: the host is reached directly (counted in i),
# traffic for the tunnel prefix never appears on the uplink.
direct_and_tunnel_only() {
    local ok=0 host tunprefix
    host="$(es_counter host)"
    tunprefix="$(es_counter tunprefix)"
    check "$1: d pings the host $ES_HOST6 directly" es_ping d "$ES_HOST6" || ok=1
    check "$1: d pings the host $ES_HOST4 directly" es_ping d "$ES_HOST4" || ok=1
    es_ping d fd00:e::99 >/dev/null 2>&1 || true
    check "$1: fence" es_fence || ok=1
    check_num "$1: the host traffic crossed the uplink" \
        "$(($(es_counter host) - host))" -ge 2 || ok=1
    check_num "$1: nothing for $PREFIX crossed the uplink" \
        "$(($(es_counter tunprefix) - tunprefix))" -eq 0 || ok=1
    return "$ok"
}

step_b() {
    direct_and_tunnel_only "enftun not running"
}

step_c() {
    local ok=0 tunnel
    tunnel="$(es_counter tunnel)"
    et_daemon_start router i "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router router_listening || return 1
    et_daemon_start enftun d "$ET_BIN_DIR/enftun" -c "$CONF"
    check "d pings the router $ES_ROUTER_ADDR through the tunnel" \
        et_wait_for -d enftun -d router es_ping d "$ES_ROUTER_ADDR" || return 1
    check "ss shows fwmark:0x16b on the tunnel socket" tunnel_socket_marked || ok=1
    check_num "the tunnel's TCP crossed the uplink" \
        "$(($(es_counter tunnel) - tunnel))" -gt 0 || ok=1
    direct_and_tunnel_only "enftun running" || ok=1
    et_daemon_stop enftun
    return "$ok"
}

tunnel_socket_marked() {
    grep -q 'fwmark:0x16b' <<<"$(et_exec d ss -tnie "dst [$ES_UPLINK_PEER6]:4443")"
}

step_d() {
    local ok=0
    check "enftun-setup down" es_setup d down "$CONF" || return 1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    check "second down says 'already down'" \
        es_succeeds_saying 'already down' es_setup d down "$CONF" || ok=1
    check "up again" es_setup d up "$CONF" || ok=1
    check "down again" es_setup d down "$CONF" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}

step_e() {
    local ok=0 conf="$ET_TMP/mcast.conf"
    write_client_conf "$conf" hosts=fd00:100::1 ca="$PKI/ca.pem" cert="$PKI/d.pem" \
        key="$PKI/d.key" prefixes="$PREFIX,ff0e::/16"
    check "up with ff0e::/16" es_setup d up "$conf" || return 1
    check "ff0e::/16 is in table local via enf0" \
        grep -q '^multicast ff0e::/16' <(et_exec d ip -6 route show table local dev enf0) || ok=1
    check "ff0e::1 is routed into enf0" \
        grep -q 'dev enf0' <(et_exec d ip -6 route get ff0e::1) || ok=1
    check "down" es_setup d down "$conf" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}

# only_prefix4_in TABLE [ALL]: TABLE's IPv4 routes through enf0 are exactly
# PREFIX4 (ALL: and the table holds no other IPv4 route but PREFIX4's
# unreachable one under it, for while enf0 is down).
only_prefix4_in() {
    local routes
    routes="$(et_exec d ip -4 route show table "$1" |
        awk -v p="$PREFIX4" '!($1 == "unreachable" && $2 == p)')"
    [[ $(awk '/ dev enf0( |$)/ { print $1 }' <<<"$routes") == "$PREFIX4" ]] &&
        { [[ -z ${2:-} ]] || [[ $(wc -l <<<"$routes") == 1 ]]; }
}

# route_get_dev ADDR DEV [SRC]: d routes unmarked traffic to ADDR into DEV
# (from SRC).
route_get_dev() {
    local out
    out="$(et_exec d ip -4 route get "$1")"
    grep -q -w "dev $2" <<<"$out" && { [[ -z ${3:-} ]] || grep -q -w "src $3" <<<"$out"; }
}

# start_ipv4_router [LISTEN]: the router of step c again (listening on
# LISTEN, default fd00:100::1), now carrying inner IPv4:
# ipv4_client_prefixes 198.19.1.0/24 and a gateway TUN enfr0 holding GW_V4.
start_ipv4_router() {
    local listen="${1:-fd00:100::1}"
    et_daemon_stop router
    et_daemon_stop router4
    write_router_conf "$ET_TMP/router4.conf" listen="$listen" address="$ES_ROUTER_ADDR" \
        cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" tun_dev=enfr0 \
        tun_address=fd00:f::1 tun_routes=fd00:e::/64 ipv4_prefixes=198.19.1.0/24
    et_daemon_start router4 i "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router4.conf"
    et_wait_for -d router4 router_listening || return 1
    [[ $listen != *"$ES_UPLINK_PEER4"* ]] || et_wait_for -d router4 router_listening4 || return 1
    et_wait_for -d router4 et_link_up i enfr0 || return 1
    et_exec i ip addr add "$GW_V4/32" dev enfr0
}

step_f() {
    local ok=0 conf="$ET_TMP/v4.conf" ipv4
    write_client_conf "$conf" hosts=fd00:100::1 ca="$PKI/ca.pem" cert="$PKI/d4.pem" \
        key="$PKI/d4.key" prefixes="$PREFIX,$PREFIX4" allow_ipv4=true
    check "up with $PREFIX4" es_setup d up "$conf" || return 1
    check "main has exactly $PREFIX4 via enf0 (IPv4)" only_prefix4_in main || ok=1
    check "status lists its route" \
        es_succeeds_saying "\[x\] route $PREFIX4 dev enf0 table main" es_setup d status "$conf" || ok=1
    check "a router carrying IPv4" start_ipv4_router || return 1
    ipv4="$(es_counter ipv4)"
    et_daemon_start enftun4 d "$ET_BIN_DIR/enftun" -c "$conf"
    check "d pings $GW_V4 (router TUN) through the tunnel" \
        et_wait_for -d enftun4 -d router4 es_ping d "$GW_V4" || ok=1
    check "from its certificate's $D_V4 on enf0" route_get_dev "$GW_V4" enf0 "$D_V4" || ok=1
    check "fence" es_fence || ok=1
    check_num "no IPv4 crossed the uplink" "$(($(es_counter ipv4) - ipv4))" -eq 0 || ok=1
    et_daemon_stop enftun4
    check "down" es_setup d down "$conf" || ok=1
    check_not "no IPv4 route to $GW_V4 through enf0 is left" route_get_dev "$GW_V4" enf0 || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}

step_g() {
    local ok=0 conf="$ET_TMP/full4.conf"
    write_client_conf "$conf" hosts=fd00:100::1 ca="$PKI/ca.pem" cert="$PKI/d4.pem" \
        key="$PKI/d4.key" prefixes="default,0::0/0,$PREFIX4" allow_ipv4=true
    check "up (full tunnel) with 0::0/0 and $PREFIX4" es_setup d up "$conf" || return 1
    check "table 2097 has $PREFIX4 via enf0, its only IPv4 route" only_prefix4_in 2097 all || ok=1
    check "IPv4 to $GW_V4 goes into enf0" route_get_dev "$GW_V4" enf0 || ok=1
    check "other IPv4 ($ES_HOST4) stays on up0" route_get_dev "$ES_HOST4" up0 || ok=1
    check "main has no IPv4 route via enf0" test -z "$(et_exec d ip -4 route show dev enf0)" || ok=1
    check "down" es_setup d down "$conf" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}

# refused_up LABEL CONF PREFIX HOST ADDR: up with CONF fails with the one
# line naming PREFIX, HOST and its address ADDR, and changes nothing: the
# state as before, no state file.
refused_up() {
    local ok=0 label="$1" conf="$2" prefix="$3" host="$4" addr="$5" re
    [[ $host == "$addr" ]] || host="$host ($addr)"
    re="route.prefixes: $prefix holds remote.hosts $host: "
    re+="enftun's own connection to the router would be routed into enf0, the tunnel it carries; "
    re+="use narrower prefixes that leave $addr out, or \"default\" for a full tunnel"
    check "$label: up refused, naming $prefix, $host" \
        es_fails_saying "$(sed 's/[].()[]/\\&/g' <<<"$re")" es_setup d up "$conf" || ok=1
    check "$label: state as before" es_same_state d "$BEFORE" || ok=1
    check "$label: no state file" test ! -e "$ET_TMP/run-enftun/enf0" || ok=1
    return "$ok"
}

step_h() {
    local ok=0 conf="$ET_TMP/loop.conf" full=FD00:100:0:0:0:0:0:1 keys
    # router.test by name; other names fail fast (nothing listens on d's
    # 127.0.0.1).
    et_netns_hosts d "fd00:100::1 router.test"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
        >"/etc/netns/$(et_ns d)/resolv.conf"
    keys=(ca="$PKI/ca.pem" cert="$PKI/d4.pem" key="$PKI/d4.key" allow_ipv4=true)
    # The router's address in its full, upper-case form, after a prefix
    # that is fine: fd00:100::/127 holds fd00:100::0 and ::1.
    write_client_conf "$conf" "${keys[@]}" hosts="$full" \
        prefixes="$PREFIX,fd00:100::/127"
    refused_up "fd00:100::/127" "$conf" fd00:100::/127 "$full" "$full" || ok=1
    # ::/0 clashes with d's default route: refused before `ip route add`.
    write_client_conf "$conf" "${keys[@]}" hosts=router.test prefixes="::/0"
    refused_up "::/0, router by name" "$conf" ::/0 router.test fd00:100::1 || ok=1
    # IPv4: a literal address of no listening router (not reached at up).
    write_client_conf "$conf" "${keys[@]}" hosts=fd00:100::1,198.18.0.9 \
        prefixes="$PREFIX,$PREFIX4,198.18.0.0/23"
    refused_up "198.18.0.0/23" "$conf" 198.18.0.0/23 198.18.0.9 198.18.0.9 || ok=1
    # Just next to the router's addresses; a name that does not resolve
    # is only warned about.
    write_client_conf "$conf" "${keys[@]}" hosts=nosuch.test,router.test,198.18.0.9 \
        prefixes="fd00:100::/128,fd00:100::2/127,198.18.0.8/32,198.18.1.0/24"
    check "prefixes next to the router's addresses: up, warning about nosuch.test" \
        es_succeeds_saying 'warning: cannot resolve remote host "nosuch.test"' \
        es_setup d up "$conf" || ok=1
    check "status says up" es_setup d status "$conf" || ok=1
    check "down" es_setup d down "$conf" || ok=1
    check "state as before" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}

# resolver_drops NS: d's resolver is three name servers behind i that never
# answer (i's blackhole routes drop the queries without an ICMP error), each
# tried 3 times for 10 s.
resolver_drops() {
    et_exec i ip -6 route add blackhole "$DEAD_DNS::/64"
    printf 'nameserver %s\nnameserver %s\nnameserver %s\noptions timeout:10 attempts:3\n' \
        "$DEAD_DNS::1" "$DEAD_DNS::2" "$DEAD_DNS::3" >"/etc/netns/$(et_ns d)/resolv.conf"
}

step_i() {
    local ok=0 conf="$ET_TMP/slowdns.conf" name
    et_netns_hosts d "fd00:100::1 router.test"
    resolver_drops
    write_client_conf "$conf" hosts=fd00:100::1,nosuch1.test,nosuch2.test ca="$PKI/ca.pem" \
        cert="$PKI/d.pem" key="$PKI/d.key" prefixes="$PREFIX"
    # 60 s: the bound (10 s) with a wide margin for a loaded machine;
    # unbounded, getent waits 3 x 3 x 10 s per name.
    ES_WRAP=(timeout 60)
    check "up within 60 s, with a dead resolver" es_setup d up "$conf" || ok=1
    ES_WRAP=()
    for name in nosuch1.test nosuch2.test; do
        check "a warning for $name, saying why" grep -q -E \
            "warning: cannot resolve remote host \"$name\" now \((no answer within|not tried)" \
            "$ET_TMP/setup.log" || ok=1
    done
    check "status says up" es_setup d status "$conf" || ok=1
    check "down" es_setup d down "$conf" || ok=1
    check "state as before" es_same_state d "$BEFORE" || ok=1
    et_exec i ip -6 route del blackhole "$DEAD_DNS::/64"
    return "$ok"
}

# halves_in_main FAM P1 P2: table main's routes of family FAM through enf0
# are exactly P1 and P2.
halves_in_main() {
    diff <(et_exec d ip "$1" route show table main dev enf0 |
        awk '$1 !~ /^fe80|^multicast/ { print $1 }' | sort) <(printf '%s\n' "$2" "$3" | sort)
}

# default_route FAM: d's default route of family FAM in table main.
default_route() {
    et_exec d ip "$1" route show table main default
}

# same_default FAM BEFORE: d's default route is still BEFORE (not empty).
same_default() {
    [[ -n $2 && $(default_route "$1") == "$2" ]]
}

# tunnel_over FAM ADDR: enftun's TCP connection goes to ADDR:4443.
tunnel_over() {
    local dst="$2"
    [[ $1 == -4 ]] || dst="[$2]"
    [[ -n $(et_exec d ss -Htn state established "dst $dst:4443") ]]
}

# slash0_up FAM PREFIX CONF HALF1 HALF2 ROUTER: up with CONF (route.prefixes =
# PREFIX of family FAM, the router at ROUTER of the other family) adds
# HALF1 and HALF2 through enf0, leaves the default route alone, and enftun
# connects over the other family's default route.
slash0_up() {
    local ok=0 fam="$1" prefix="$2" conf="$3" half1="$4" half2="$5" router="$6" before half
    local other=-6
    [[ $fam == -6 ]] && other=-4
    before="$(default_route "$fam")"
    check "$prefix: up" es_setup d up "$conf" || return 1
    check "$prefix: main has $half1 and $half2 via enf0, nothing else" \
        halves_in_main "$fam" "$half1" "$half2" || ok=1
    check "$prefix: the uplink's default route is as before: $before" \
        same_default "$fam" "$before" || ok=1
    for half in "$half1" "$half2"; do
        check "$prefix: status lists $half" es_succeeds_saying \
            "\[x\] route $half dev enf0 table main \(half of $prefix\)" \
            es_setup d status "$conf" || ok=1
    done
    et_daemon_start enftunj d "$ET_BIN_DIR/enftun" -c "$conf"
    check "$prefix: enftun connects to $router (over the other family's default route)" \
        et_wait_for -d enftunj -d router4 tunnel_over "$other" "$router" || ok=1
    return "$ok"
}

# slash0_down CONF LABEL: enftun stopped, down, state as before.
slash0_down() {
    local ok=0
    et_daemon_stop enftunj
    check "$2: down" es_setup d down "$1" || ok=1
    check "$2: state as before" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}

step_j() {
    local ok=0 conf6="$ET_TMP/all6.conf" conf4="$ET_TMP/all4.conf" host ipv4
    check "a router listening on IPv6 and IPv4, carrying IPv4" \
        start_ipv4_router "fd00:100::1,$ES_UPLINK_PEER4" || return 1
    # All IPv6 into the tunnel, the router over IPv4.
    write_client_conf "$conf6" hosts="$ES_UPLINK_PEER4" ca="$PKI/ca.pem" cert="$PKI/d.pem" \
        key="$PKI/d.key" prefixes=::/0
    if slash0_up -6 ::/0 "$conf6" ::/1 8000::/1 "$ES_UPLINK_PEER4"; then
        host="$(es_counter host)"
        check "::/0: d pings the router $ES_ROUTER_ADDR through the tunnel" \
            et_wait_for -d enftunj -d router4 es_ping d "$ES_ROUTER_ADDR" || ok=1
        check "::/0: IPv6 to the host goes into enf0" \
            grep -q -w "dev enf0" <(et_exec d ip -6 route get "$ES_HOST6") || ok=1
        es_ping d "$ES_HOST6" >/dev/null 2>&1 || true
        check "::/0: fence" es_fence || ok=1
        check_num "::/0: nothing for the host's IPv6 crossed the uplink" \
            "$(($(es_counter host) - host))" -eq 0 || ok=1
        check "::/0: d pings the host $ES_HOST4 directly" es_ping d "$ES_HOST4" || ok=1
    else
        ok=1
    fi
    slash0_down "$conf6" ::/0 || ok=1
    # All IPv4 into the tunnel, the router over IPv6.
    write_client_conf "$conf4" hosts=fd00:100::1 ca="$PKI/ca.pem" cert="$PKI/d4.pem" \
        key="$PKI/d4.key" prefixes=0.0.0.0/0 allow_ipv4=true
    if slash0_up -4 0.0.0.0/0 "$conf4" 0.0.0.0/1 128.0.0.0/1 fd00:100::1; then
        ipv4="$(es_counter ipv4)"
        check "0.0.0.0/0: d pings $GW_V4 (router TUN) through the tunnel" \
            et_wait_for -d enftunj -d router4 es_ping d "$GW_V4" || ok=1
        check "0.0.0.0/0: IPv4 to the host goes into enf0, from $D_V4" \
            route_get_dev "$ES_HOST4" enf0 "$D_V4" || ok=1
        es_ping d "$ES_HOST4" >/dev/null 2>&1 || true
        check "0.0.0.0/0: d pings the host $ES_HOST6 directly" es_ping d "$ES_HOST6" || ok=1
        check "0.0.0.0/0: fence" es_fence || ok=1
        check_num "0.0.0.0/0: no IPv4 crossed the uplink" \
            "$(($(es_counter ipv4) - ipv4))" -eq 0 || ok=1
    else
        ok=1
    fi
    slash0_down "$conf4" 0.0.0.0/0 || ok=1
    return "$ok"
}

# enf0_routes_in_main FAM ROUTE...: table main's routes of family FAM
# through enf0 are exactly the ROUTEs.
enf0_routes_in_main() {
    diff <(et_exec d ip "$1" route show table main dev enf0 |
        awk '$1 !~ /^fe80|^multicast/ { print $1 }' | sort) <(printf '%s\n' "${@:2}" | sort)
}

# once_up LABEL CONF FAM ROUTE...: up with CONF adds each ROUTE of family FAM
# through enf0 once, status says up and lists each once; down restores all.
once_up() {
    local ok=0 label="$1" conf="$2" fam="$3" route status
    shift 3
    check "$label: up" es_setup d up "$conf" || ok=1
    check "$label: main has $* via enf0, nothing else" enf0_routes_in_main "$fam" "$@" || ok=1
    if check "$label: status says up" es_setup d status "$conf"; then
        status="$(es_setup d status "$conf")"
        for route in "$@"; do
            check_num "$label: status lists route $route once" \
                "$(grep -c -F "] route $route dev enf0 " <<<"$status")" -eq 1 || ok=1
        done
    else
        ok=1
    fi
    check "$label: down" es_setup d down "$conf" || ok=1
    check "$label: state as before" es_same_state d "$BEFORE" || ok=1
    return "$ok"
}

step_k() {
    local ok=0 conf6="$ET_TMP/halves6.conf" conf4="$ET_TMP/halves4.conf"
    write_client_conf "$conf6" hosts="$ES_UPLINK_PEER4" ca="$PKI/ca.pem" cert="$PKI/d.pem" \
        key="$PKI/d.key" prefixes="0::/1,$PREFIX,::/0,8000:0::/1,fd00:e:0::/48"
    once_up "::/0 with its halves" "$conf6" -6 ::/1 8000::/1 "$PREFIX" || ok=1
    write_client_conf "$conf4" hosts=fd00:100::1 ca="$PKI/ca.pem" cert="$PKI/d4.pem" \
        key="$PKI/d4.key" prefixes=0.0.0.0/1,0.0.0.0/0,128.0.0.0/1 allow_ipv4=true
    once_up "0.0.0.0/0 with its halves" "$conf4" -4 0.0.0.0/1 128.0.0.0/1 || ok=1
    return "$ok"
}

main() {
    et_init
    command -v nft >/dev/null || et_skip "nft not installed"
    command -v ndisc6 >/dev/null || et_skip "ndisc6 not installed"
    et_require_bins enftun enftun-router
    echo "split_tunnel_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    es_topology "" # d, i, h only
    es_load_counters
    make_pki_and_confs
    BEFORE="$ET_TMP/state.before"
    es_state d >"$BEFORE"
    run_step a "up routes only $PREFIX, installs no rules or firewall" step_a
    run_step b "enftun not running: direct traffic flows, the prefix stays off the uplink" step_b
    run_step c "enftun running: the prefix through the tunnel, the rest direct" step_c
    run_step d "down restores everything; up, down, up, down" step_d
    run_step e "a multicast prefix goes into table local" step_e
    run_step f "an IPv4 prefix: its route, IPv4 through the tunnel, down removes it" step_f
    run_step g "full tunnel: an IPv4 prefix next to default in table 2097" step_g
    run_step h "a prefix holding a remote.hosts address is refused; nothing changed" step_h
    run_step i "a resolver that never answers: up bounded in time, warns" step_i
    run_step j "a /0 beside the uplink's default route: its halves, the default untouched" step_j
    run_step k "a /0 next to its halves, a prefix twice: each route added once" step_k
    # A check outside a step fails the test too.
    et_summary split_tunnel_test && ((ET_CHECKS_FAILED == 0))
}

main "$@"
