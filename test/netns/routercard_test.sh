#!/usr/bin/env bash
# routercard_test.sh: router-card mode with real, independent peers
# (CTest: netns.routercard_test; exit 77 = skipped). The Linux kernel of
# namespace c is the host on the TUN and configures itself from enftun's
# RAs; dhcpcd takes the tunnel address by DHCPv6; rdisc6/ndisc6 (ndisc6
# package) print what a host sees in our RA and NA.
#
# Topology (namespaces "et<PID>-<name>"):
#
#   c: enftun, TUN enf0 ──vr── fd00:100::2 ═══ fd00:100::1 ──vc── r: enftun-router
#   tunnel address (certificate CN) fd00:e::5, router.address fd00:e::1
#
# c gets accept_ra_rt_info_max_plen=128 (via conf.default, before enftun
# makes enf0), accept_ra=1 and forwarding=0, as TESTING-NOTES.md says.
#
# Run 1: prefixes default, fd00:e::/64; tun.mtu 1280; set_address false.
#   a. RA routes: fd00:e::/64 and the default route, proto ra via fe80::1,
#      pref high
#   b. rdisc6 sees Managed, preference high, the routes, MTU 1280
#   c. MTU option: with the link MTU raised to 1500, our RA sets the IPv6
#      MTU back to 1280
#   d. dhcpcd (DHCPv6) puts fd00:e::5 on enf0; it then reaches the router
#   e. RS and DHCPv6 were consumed by enftun, never passed to the router
#   m. dhcpcd asking for a delegated prefix only (ia_pd 1, no ia_na) gets
#      its IA_PD back with NoPrefixAvail (RFC 8415 §18.3.1), no
#      NoAddrsAvail, and no lease
# Run 2 (restart): prefixes fd00:f::/64, fd00:a:b::/48; tun.mtu 1400;
#   lladdr 02:00:00:00:00:01; ra_period 4000 ms (the shortest allowed).
#   f. the new routes show up, the old ones and the default route do not
#   g. rdisc6: router lifetime 0, MTU 1400, source link-layer address;
#      ndisc6 gets an NA for fe80::1 with that link-layer address
#   j. RAs come every ra_period (4 s here) without any solicitation
#   h. the server DUID file survived the restart unchanged, mode 0600
#   i. with the router gone (tunnel down) RS and DHCPv6 (this time with
#      Rapid Commit) are still answered
# Run 3: enf0 is a persistent TUN (`ip tuntap add`, as enftun-setup makes
#   it), so it outlives enftun; run 1's config (ra_period 600 s: our RA
#   lifetimes are 1800 s). The kernel's RS are off on it
#   (router_solicitations=0), and enftun starts with the router down.
#   k. the router started, enftun sends an RA when the tunnel comes up,
#      with no RS in between (RAs are otherwise 600 s apart)
#   l. stopping enftun sends a final RA with all lifetimes 0 (RFC 4861
#      §6.2.5): the proto ra routes and the default route vanish at once,
#      though enf0 stays (up, no carrier)
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=routercard_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/routercard_lib.sh"

ET_WAIT_TIMEOUT=20
readonly C_ADDR=fd00:e::5 R_ADDR=fd00:e::1 LLADDR=02:00:00:00:00:01

PKI=""

# ---------------------------------------------------------------- checks

# has FILE REGEX: the file has a line matching the extended regex.
has() {
    grep -q -E -- "$2" "$1"
}

# ------------------------------------------------------------ host (c) side

routes() {
    et_exec c ip -6 route show
}

# ra_route PREFIX: a route learned from our RA (RFC 4191 Route Information).
# The table is read whole first: `ip ... | grep -q` under pipefail fails
# when grep exits at the match while ip still writes (SIGPIPE).
ra_route() {
    local table
    table="$(routes)"
    grep -q -E "^$1 via fe80::1 dev enf0 proto ra .*pref high" <<<"$table"
}

ra_default_route() {
    local table
    table="$(routes)"
    grep -q -E "^default via fe80::1 dev enf0 proto ra .*pref high" <<<"$table"
}

# Negative matches read the table first: `! routes | grep -q` would pass
# whenever grep's early exit gives `ip` a SIGPIPE (pipefail).
no_route() {
    local table
    table="$(routes)"
    ! grep -q -E "^$1 " <<<"$table"
}

ipv6_mtu() {
    et_exec c cat /proc/sys/net/ipv6/conf/enf0/mtu
}

ipv6_mtu_is() {
    [[ $(ipv6_mtu) == "$1" ]]
}

link_mtu() {
    et_exec c ip -o link show dev enf0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'
}

# rdisc6_to FILE: solicit an RA on enf0 and save what rdisc6 saw.
rdisc6_to() {
    et_exec c timeout 30 rdisc6 -1 -r 4 -w 2000 enf0 >"$1"
}

# ------------------------------------------------------------- topology

setup_infra() {
    et_require_bins enftun enftun-router
    command -v rdisc6 >/dev/null || et_skip "rdisc6 not installed (package ndisc6)"
    command -v dhcpcd >/dev/null || et_skip "dhcpcd not installed (package dhcpcd-base)"
    command -v unshare >/dev/null || et_skip "unshare not installed"
    et_router_client_pair
    # The host side: take RA routes of any length, be a host, not a router.
    et_exec c sysctl -q -w net.ipv6.conf.default.accept_ra_rt_info_max_plen=128 \
        net.ipv6.conf.default.accept_ra=1 net.ipv6.conf.all.forwarding=0 \
        net.ipv6.conf.default.forwarding=0
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$PKI" c1="$C_ADDR" >/dev/null
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1 address="$R_ADDR" \
        cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" tun_dev=
    write_card_conf "$ET_TMP/run1.conf" default,fd00:e::/64 1280
    write_card_conf "$ET_TMP/run2.conf" fd00:f::/64,fd00:a:b::/48 1400 "$LLADDR" 4000
}

start_router() {
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router router_listening
}

start_client() {
    # -v: the debug log has a line per RA sent (step j counts them).
    et_daemon_start c c "$ET_BIN_DIR/enftun" -v -c "$ET_TMP/$1.conf"
    et_wait_for -d c et_link_up c enf0
}

enf0_gone() {
    ! et_link_exists c enf0
}

stop_client() {
    et_daemon_stop c
    et_wait_for -t 10 enf0_gone
}

# ----------------------------------------------------------------- steps

step_a() {
    local ok=0
    check "tunnel came up" et_wait_for -d c et_log_has c "tunnel up" || ok=1
    check "fd00:e::/64 via fe80::1 proto ra, pref high" \
        et_wait_for -d c ra_route fd00:e::/64 || ok=1
    check "default via fe80::1 proto ra, pref high" et_wait_for -d c ra_default_route || ok=1
    check_not "no address on enf0 yet (tun.set_address = false)" has_global_addr "$C_ADDR" ||
        ok=1
    routes | sed 's/^/    | /'
    return "$ok"
}

step_b() {
    local ok=0 out="$ET_TMP/rdisc6-1.out"
    check "rdisc6 got an RA on enf0" rdisc6_to "$out" || return 1
    sed 's/^/    | /' "$out"
    check "from fe80::1" has "$out" '^ from fe80::1$' || ok=1
    check "Managed flag (addresses by DHCPv6)" has "$out" 'Stateful address conf\. +: +Yes' ||
        ok=1
    check "router preference high" has "$out" 'Router preference +: +high' || ok=1
    check "router lifetime 1800 s (3 x ra_period)" has "$out" 'Router lifetime +: +1800 ' ||
        ok=1
    check "route ::/0 and fd00:e::/64" \
        bash -c "grep -q -E 'Route +: ::/0\$' '$out' && grep -q -E 'Route +: fd00:e::/64\$' '$out'" ||
        ok=1
    check "route preference high" has "$out" 'Route preference +: +high' || ok=1
    check "MTU option 1280" has "$out" 'MTU +: +1280 bytes \(valid\)' || ok=1
    check_not "no source link-layer address (tun.lladdr unset)" \
        has "$out" 'Source link-layer address' || ok=1
    return "$ok"
}

# The kernel resets the IPv6 MTU to the link MTU when that changes; only an
# RA's MTU option can then bring it below the link MTU again.
step_c() {
    local ok=0
    et_exec c ip link set dev enf0 mtu 1500
    check "link MTU raised to 1500 resets the IPv6 MTU to 1500" \
        et_wait_for ipv6_mtu_is 1500 || return 1
    check "rdisc6 solicits a new RA" rdisc6_to "$ET_TMP/rdisc6-mtu.out" || ok=1
    check "the RA sets the IPv6 MTU of enf0 to 1280" et_wait_for -d c ipv6_mtu_is 1280 || ok=1
    echo "    | link mtu $(link_mtu), /proc/sys/net/ipv6/conf/enf0/mtu $(ipv6_mtu)"
    et_exec c ip link set dev enf0 mtu 1280
    return "$ok"
}

step_d() {
    local ok=0
    if check "dhcpcd obtains a lease on enf0" run_dhcpcd; then
        sed 's/^/    | /' "$ET_TMP/dhcpcd.log"
    else
        ok=1
        sed 's/^/    | /' "$ET_TMP/dhcpcd.log"
    fi
    check "enf0 has $C_ADDR/128 from DHCPv6" has_global_addr "$C_ADDR" || ok=1
    check "dhcpcd logged the lease from fe80::1" has "$ET_TMP/dhcpcd.log" "from fe80::1" || ok=1
    # RA routes + DHCPv6 address: the host reaches the router's side.
    check "host pings $R_ADDR through the tunnel" \
        et_wait_for -d c et_exec c ping -6 -n -c 1 -W 1 "$R_ADDR" || ok=1
    return "$ok"
}

# run_dhcpcd_pd: dhcpcd asking for a delegated prefix only (ia_pd, no
# ia_na), for at most 5 s: the card delegates none, so it gets no lease.
run_dhcpcd_pd() {
    printf '%s\n' ipv6only noipv6rs "ia_pd 1" >"$ET_TMP/dhcpcd-pd.conf"
    # shellcheck disable=SC2016 # expanded by the inner sh
    et_exec c timeout 30 unshare --mount sh -c '
        mount -t tmpfs none /run && mkdir -p /var/lib/dhcpcd &&
        mount -t tmpfs none /var/lib/dhcpcd &&
        exec dhcpcd -1 -t 5 -f "$1" -c /bin/true enf0' sh "$ET_TMP/dhcpcd-pd.conf" \
        >"$ET_TMP/dhcpcd-pd.log" 2>&1
}

step_m() {
    local ok=0
    check_not "dhcpcd gets no lease (the card delegates no prefix)" run_dhcpcd_pd || ok=1
    sed 's/^/    | /' "$ET_TMP/dhcpcd-pd.log"
    check "dhcpcd read NoPrefixAvail in its IA_PD" \
        has "$ET_TMP/dhcpcd-pd.log" "No Prefix Available" || ok=1
    check_not "... and no NoAddrsAvail: it asked for no address" \
        has "$ET_TMP/dhcpcd-pd.log" "No Addresses Available" || ok=1
    return "$ok"
}

step_e() {
    local ok=0
    fresh_stats || return 1
    grep -F "router card:" "$(et_daemon_log c)" | tail -n 1 | sed 's/^/    | /'
    check "RS counted by the router card" test "$(card_stat rs)" -ge 2 || ok=1
    check "DHCPv6 Solicit and Request answered" test "$(card_stat answered)" -ge 2 || ok=1
    check "no malformed ND or DHCPv6" test "$(card_stat nd-malformed)" -eq 0 || ok=1
    # Were RS or DHCPv6 (from fe80::/10) passed on, the egress filter would
    # have dropped them as "wrong source".
    check "egress filter saw nothing from a link-local source" \
        bash -c "grep -F 'stats: tun' '$(et_daemon_log c)' | tail -n 1 |
                 grep -q -F 'dropped source 0 '" || ok=1
    return "$ok"
}

step_f() {
    local ok=0 duid_before
    duid_before="$(cat "$PKI/duid")"
    stop_client || return 1
    start_client run2 || return 1
    check "fd00:f::/64 via fe80::1 proto ra" et_wait_for -d c ra_route fd00:f::/64 || ok=1
    check "fd00:a:b::/48 via fe80::1 proto ra" et_wait_for -d c ra_route fd00:a:b::/48 || ok=1
    check "no default route (prefixes without default)" no_route default || ok=1
    check "no fd00:e::/64 route (no longer configured)" no_route fd00:e::/64 || ok=1
    check "the DUID file is unchanged" test "$(cat "$PKI/duid")" = "$duid_before" || ok=1
    routes | sed 's/^/    | /'
    return "$ok"
}

step_g() {
    local ok=0 out="$ET_TMP/rdisc6-2.out"
    check "rdisc6 got an RA on enf0" rdisc6_to "$out" || return 1
    sed 's/^/    | /' "$out"
    check "router lifetime 0 (no default)" has "$out" 'Router lifetime +: +0 ' || ok=1
    check "MTU option 1400 (tun.mtu)" has "$out" 'MTU +: +1400 bytes \(valid\)' || ok=1
    check "source link-layer address $LLADDR" \
        has "$out" "Source link-layer address: $LLADDR" || ok=1
    check "ndisc6: fe80::1 answers an NS with target link-layer address $LLADDR" \
        bash -c "ip netns exec '$(et_ns c)' timeout 30 ndisc6 -1 -r 4 -w 1500 fe80::1 enf0 |
                 grep -q -F 'Target link-layer address: $LLADDR'" || ok=1
    return "$ok"
}

ra_sent_count() {
    et_log_count c "router advertisement sent"
}

ra_sent_above() {
    (($(ra_sent_count) > $1))
}

# ra_period is 4 s in run 2: RAs keep coming with no solicitation at all.
step_j() {
    local ok=0 ra_before rs_before
    fresh_stats || return 1
    rs_before="$(card_stat rs)"
    ra_before="$(ra_sent_count)"
    check "two more RAs sent on the period" \
        et_wait_for -d c ra_sent_above "$((ra_before + 1))" || ok=1
    fresh_stats || ok=1
    check "without any RS meanwhile" test "$(card_stat rs)" = "$rs_before" || ok=1
    # Event-based: the periodic RAs must keep (or at once restore) the route,
    # whatever a loaded machine did to the moment of this look.
    check "the routes are refreshed (still there)" \
        et_wait_for -t 10 -d c ra_route fd00:f::/64 || ok=1
    return "$ok"
}

# Any route learned from an RA on enf0.
no_ra_routes() {
    local table
    table="$(routes)"
    ! grep -q -E ' dev enf0 proto ra ' <<<"$table"
}

# start_run3: replace run 2's enf0 by a persistent TUN, with no kernel RS,
# and start enftun on it with run 1's config while the router is down.
start_run3() {
    stop_client || return 1
    et_daemon_stop router
    et_exec c ip tuntap add dev enf0 mode tun
    et_exec c sysctl -q -w net.ipv6.conf.enf0.router_solicitations=0
    start_client run1
}

# run3_log_has REGEX...: the client's log since its latest start has lines
# matching the regexes in this order (awk: each after the previous one).
run3_log_has() {
    awk -v pats="$*" '
        BEGIN { n = split(pats, want, "|") }
        /^=== .* start: / { i = 1; next }
        i && i <= n && $0 ~ want[i] { i++ }
        END { exit !(i > n) }' "$(et_daemon_log c)"
}

step_k() {
    local ok=0
    start_run3 || return 1
    check "the RA at start" \
        et_wait_for -d c run3_log_has "router advertisement sent" || return 1
    start_router || return 1
    check "tunnel up" et_wait_for -d c run3_log_has "router advertisement sent|tunnel up" ||
        return 1
    check "another RA after tunnel up" et_wait_for -t 10 -d c \
        run3_log_has "router advertisement sent|tunnel up|router advertisement sent" || ok=1
    fresh_stats || ok=1
    check "with no RS from the host in this run" test "$(card_stat rs)" = 0 || ok=1
    grep -F "router card:" "$(et_daemon_log c)" | tail -n 1 | sed 's/^/    | /'
    return "$ok"
}

step_l() {
    local ok=0
    check "fd00:e::/64 via fe80::1 proto ra on the persistent enf0" \
        et_wait_for -d c ra_route fd00:e::/64 || return 1
    check "default via fe80::1 proto ra" et_wait_for -d c ra_default_route || return 1
    et_daemon_stop c
    check "enftun exited cleanly" test "$ET_LAST_STATUS" = 0 || ok=1
    check "enftun logged its final RA" et_log_has c "final router advertisement" || ok=1
    # Without the final RA the routes would stay for their 1800 s lifetime.
    check "the proto ra routes and the default route are gone within 10 s" \
        et_wait_for -t 10 no_ra_routes || ok=1
    check "enf0 (persistent) is still there and up" et_link_up c enf0 || ok=1
    routes | sed 's/^/    | /'
    return "$ok"
}

step_h() {
    local ok=0
    check "DUID file next to the certificate" test -s "$PKI/duid" || return 1
    check "DUID is a DUID-UUID (type 4, 16 bytes)" \
        grep -q -E '^0004[0-9a-f]{32}$' "$PKI/duid" || ok=1
    check "DUID file mode 0600" test "$(stat -c %a "$PKI/duid")" = 600 || ok=1
    check "created once, not again on restart" test "$(et_log_count c "stored in")" -eq 1 || ok=1
    return "$ok"
}

step_i() {
    local ok=0 before
    before="$(et_log_count c "connection to")"
    et_daemon_stop router
    check "client noticed the tunnel is down" \
        et_wait_for -d c log_count_above c "connection to" "$before" || ok=1
    check "rdisc6 still gets an RA while the tunnel is down" \
        rdisc6_to "$ET_TMP/rdisc6-down.out" || ok=1
    # enf0 was made anew by the restart: no address until DHCPv6 gives one.
    check_not "no address on the new enf0 yet" has_global_addr "$C_ADDR" || ok=1
    # This time with Rapid Commit (RFC 8415 §18.3.1): Solicit → Reply.
    check "dhcpcd (rapid commit) still gets the lease while the tunnel is down" \
        run_dhcpcd "option rapid_commit" || ok=1
    check "dhcpcd took a Reply without an Advertise" \
        bash -c "grep -q 'REPLY6 received from fe80::1' '$ET_TMP/dhcpcd.log' &&
                 ! grep -q 'ADV ' '$ET_TMP/dhcpcd.log'" || ok=1
    check "enf0 has $C_ADDR/128" has_global_addr "$C_ADDR" || ok=1
    check "routes stayed" ra_route fd00:f::/64 || ok=1
    fresh_stats || ok=1
    grep -F "stats: tun" "$(et_daemon_log c)" | tail -n 1 | sed 's/^/    | /'
    return "$ok"
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "a|RA routes appear on the host (proto ra via fe80::1)|step_a|"
        "b|rdisc6 sees Managed, preference high, routes, MTU|step_b|"
        "c|the RA's MTU option sets the host's IPv6 MTU|step_c|"
        "d|dhcpcd gets the certificate's address by DHCPv6|step_d|"
        "e|RS/DHCPv6 consumed by enftun, not forwarded|step_e|"
        "m|dhcpcd asking for a prefix only: NoPrefixAvail in its IA_PD|step_m|"
        "f|restart with other prefixes: the routes follow|step_f|"
        "g|RA/NA with tun.lladdr and tun.mtu; ndisc6 gets the NA|step_g|f"
        "j|periodic RAs every ra_period|step_j|f"
        "h|server DUID stored once, reused|step_h|f"
        "i|tunnel down: RS and DHCPv6 still answered|step_i|f"
        "k|persistent TUN: an RA when the tunnel comes up|step_k|f"
        "l|persistent TUN: stopping enftun withdraws the routes|step_l|k"
    )
    et_init
    echo "routercard_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    setup_infra
    if start_router && start_client run1; then
        run_steps "${steps[@]}"
    else
        fail_steps "setup failed" "${steps[@]}"
    fi
    et_summary routercard_test
}

main "$@"
