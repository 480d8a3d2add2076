#!/usr/bin/env bash
# tun_down_up_test.sh: `ip link set enf0 down; ip link set enf0 up` under a
# running enftun: the kernel deletes every route through the TUN (and its
# IPv6 addresses unless keep_addr_on_down), and enftun puts the routes (and
# its address) back when the TUN comes up, so the tunnel works again
# without enftun-setup down and up; nothing leaks meanwhile. In network
# namespaces (CTest: netns.tun_down_up_test; exit 77 = skipped). Topology:
# setup_lib.sh (namespaces d, i, h); the router runs in i, enftun and
# enftun-setup (full tunnel, with fd00:e::/48 as a prefix too) in d.
#
# Steps (each prints PASS/FAIL):
#  a  up, enftun connects: d pings the router fd00:e::1 through enf0
#  b  enf0 down: its routes are gone, the router is not reached, and
#     nothing for the tunnel, the host or anything else leaves by the uplink
#     (counted in i); enf0 up: d pings the router again (event-based wait),
#     the same routes through enf0 as before (table 2097's default and
#     fd00:e::/48, table local's ff00::/8), the address kept
#     (keep_addr_on_down, set by enftun-setup), one log line
#  c  routes added by hand while enf0 is up come back after another down
#     and up, as the others do; one deleted by hand stays deleted
#  d  keep_addr_on_down 0 (a TUN enftun-setup did not make): enftun adds its
#     address fd00:e::5 back after down and up, and the tunnel works
#  e  down removes everything: no route through a TUN is left
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=setup_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup_lib.sh"

ET_WAIT_TIMEOUT=30
readonly TABLE=2097 # enftun's default route.table
CONF=""

make_pki_and_confs() {
    local pki="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$pki" d="$ES_D_ADDR" >/dev/null
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1 address="$ES_ROUTER_ADDR" \
        cert="$pki/router.pem" key="$pki/router.key" ca="$pki/ca.pem" tun_dev=
    CONF="$ET_TMP/d.conf"
    write_client_conf "$CONF" hosts=fd00:100::1 ca="$pki/ca.pem" cert="$pki/d.pem" \
        key="$pki/d.key" prefixes=default,fd00:e::/48
}

router_listening() {
    [[ -n $(et_exec i ss -Hltn "src [fd00:100::1]:4443") ]]
}

ping_router() {
    es_ping d "$ES_ROUTER_ADDR"
}

# tun_routes: the routes through enf0 that enftun-setup made (not the
# kernel's own), in every table, both families, sorted.
tun_routes() {
    {
        et_exec d ip -6 route show table all dev enf0
        et_exec d ip -4 route show table all dev enf0
    } | grep -v -w -e 'proto kernel' -e 'proto ra' | sed -E 's/ linkdown//' | sort
}

enf0_down_up() {
    et_exec d ip link set dev enf0 down
    et_exec d ip link set dev enf0 up
}

has_tun_addr() {
    grep -q -F "inet6 $ES_D_ADDR/128" <<<"$(et_exec d ip -6 addr show dev enf0)"
}

# ----------------------------------------------------------------- steps

step_a() {
    local ok=0
    check "enftun-setup up" es_setup d up "$CONF" || return 1
    et_daemon_start router i "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    check "the router listens" et_wait_for -d router router_listening || return 1
    et_daemon_start enftun d "$ET_BIN_DIR/enftun" -c "$CONF"
    check "d pings the router $ES_ROUTER_ADDR through enf0" \
        et_wait_for -d enftun -d router ping_router || ok=1
    tun_routes >"$ET_TMP/routes.up"
    cat "$ET_TMP/routes.up"
    check_num "three routes through enf0 (default, fd00:e::/48, ff00::/8)" \
        "$(wc -l <"$ET_TMP/routes.up")" -eq 3 || ok=1
    return "$ok"
}

step_b() {
    local ok=0 host tunprefix other ipv4 restored
    host="$(es_counter host)"
    tunprefix="$(es_counter tunprefix)"
    other="$(es_counter other)"
    ipv4="$(es_counter ipv4)"
    restored="$(et_log_count enftun 'TUN is up again: put back 3 of its 3 routes')"
    check "ip link set enf0 down" et_exec d ip link set dev enf0 down || return 1
    check_num "no route through enf0 is left" "$(tun_routes | wc -l)" -eq 0 || ok=1
    check_not "the router is not reached" ping_router || ok=1
    check_not "nor the host" es_ping d "$ES_HOST6" || ok=1
    et_exec d bash -c "echo leak >/dev/udp/$ES_HOST6/9" || true
    check "fence: a neighbour solicitation from the device arrived" es_fence || ok=1
    check_num "nothing for the tunnel on the uplink" \
        "$(($(es_counter tunprefix) - tunprefix))" -eq 0 || ok=1
    check_num "nothing for the host" "$(($(es_counter host) - host))" -eq 0 || ok=1
    check_num "nothing else" "$(($(es_counter other) - other + $(es_counter ipv4) - ipv4))" \
        -eq 0 || ok=1
    check "ip link set enf0 up" et_exec d ip link set dev enf0 up || return 1
    check "d pings the router again" et_wait_for -d enftun ping_router || ok=1
    check "the same routes through enf0 as before" diff -u "$ET_TMP/routes.up" <(tun_routes) ||
        ok=1
    check "enf0 kept its address $ES_D_ADDR" has_tun_addr || ok=1
    check_num "enftun logged: put back 3 of its 3 routes" \
        "$(($(et_log_count enftun 'TUN is up again: put back 3 of its 3 routes') - restored))" \
        -eq 1 || ok=1
    return "$ok"
}

step_c() {
    local ok=0
    check "add fd00:77::/64 and fd00:78::/64 dev enf0 to table $TABLE by hand" \
        et_exec d bash -c "ip -6 route add fd00:77::/64 dev enf0 table $TABLE &&
            ip -6 route add fd00:78::/64 dev enf0 table $TABLE" || return 1
    check "delete fd00:77::/64 again" \
        et_exec d ip -6 route del fd00:77::/64 dev enf0 table "$TABLE" || return 1
    tun_routes >"$ET_TMP/routes.c"
    # No wait needed: enftun reads the additions and the deletion before
    # the link's going down, whenever it reads them (one socket, in the
    # kernel's order).
    check "enf0 down and up" enf0_down_up || return 1
    check "d pings the router again" et_wait_for -d enftun ping_router || ok=1
    check "fd00:78::/64 came back with the others, fd00:77::/64 did not" \
        diff -u "$ET_TMP/routes.c" <(tun_routes) || ok=1
    check "... fd00:78::/64 is there" grep -q -F 'fd00:78::/64' "$ET_TMP/routes.c" || ok=1
    return "$ok"
}

step_d() {
    local ok=0
    et_exec d sysctl -q -w net.ipv6.conf.enf0.keep_addr_on_down=0
    check "enf0 down and up" enf0_down_up || return 1
    check "enftun added its address $ES_D_ADDR back" et_wait_for -d enftun has_tun_addr || ok=1
    check "d pings the router again" et_wait_for -d enftun ping_router || ok=1
    return "$ok"
}

step_e() {
    local ok=0
    et_daemon_stop enftun
    check "enftun-setup down" es_setup d down "$CONF" || ok=1
    check_not "enf0 is gone" et_exec d ip link show dev enf0 || ok=1
    check_num "no route of table $TABLE left" \
        "$(et_exec d ip -6 route show table "$TABLE" | wc -l)" -eq 0 || ok=1
    return "$ok"
}

main() {
    et_init
    command -v nft >/dev/null || et_skip "nft not installed"
    command -v ndisc6 >/dev/null || et_skip "ndisc6 not installed"
    et_require_bins enftun enftun-router
    echo "tun_down_up_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    es_topology
    es_load_counters
    make_pki_and_confs
    run_step a "up, enftun connects" step_a
    run_step b "enf0 down: nothing leaks; up: the tunnel works again" step_b
    run_step c "a route added by hand comes back, one deleted stays deleted" step_c
    run_step d "the address comes back without keep_addr_on_down" step_d
    run_step e "down removes everything" step_e
    et_summary tun_down_up_test && ((ET_CHECKS_FAILED == 0))
}

main "$@"
