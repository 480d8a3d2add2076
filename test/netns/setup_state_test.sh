#!/usr/bin/env bash
# setup_state_test.sh: enftun-setup down removes what up added even when the
# config changed in between (a fleet's config push while the tunnel is up:
# systemd's ExecStop runs down with the new file), in network namespaces
# (CTest: netns.setup_state_test; exit 77 = skipped). Topology: setup_lib.sh
# (namespaces d, i, h and the trusted LAN l); no enftun daemon runs, only
# enftun-setup (and enftun -p to read the config).
#
# Steps (each prints PASS/FAIL):
#  a  route.table changed after a full-tunnel up: down still removes the
#     rules, the IPv4 blackhole of the old table and moves the trusted
#     interface out of the old group (state exactly as before up), so d
#     reaches the host over IPv4 and IPv6 again
#  b  tun.dev changed after a full-tunnel up: up of the changed config is
#     refused (the old device's firewall is still in place) and changes
#     nothing; down removes the old device, rules and firewall (state
#     exactly as before up), so d reaches the host again
#  c  split tunnel (fd00:e::/48 and, with route.allow_ipv4, 198.19.0.0/24):
#     `ip link set enf0 down` (the kernel deletes the TUN's routes): traffic
#     for the prefixes fails at once (unreachable) and none of it leaves by
#     the uplink (counted in i); status says partly up; down restores all
#  d  full tunnel with route.allow_ipv4 and 198.19.0.0/24 (the firewall
#     passes IPv4): the same with enf0 down, for 198.19.0.0/24
#  e  full tunnel; after up, a new uplink comes up (a USB modem, a Wi-Fi
#     link: up1, with a better default route than up0, IPv6 and IPv4) and
#     another network manager adds a rule before ours (pref 1000 lookup
#     main): still nothing but ND/MLD/DHCP leaves by either link (counted in
#     i), so the firewall covers links that did not exist at up
#  f  SIGTERM to up (systemd stopping it) at its last step, with the
#     firewall, device, routes and trusted group in place: up undoes it all
#     (state exactly as before, no state file) and exits 143
#  g  the config deleted after up, then another one with an error in it:
#     down still removes what up added (from the state file), so d reaches
#     the host again
#  h  remote.hosts as an IPv4-mapped address (::ffff:198.18.0.1, which
#     enftun takes, and reaches by IPv4): the full tunnel's firewall lets
#     enftun's marked TCP to 198.18.0.1 out (counted in i), and a split
#     prefix holding 198.18.0.1 is refused before anything changes
#  i  a state folder another user owns, or one others may write in: up
#     refuses it and changes nothing (root writes there by path; whoever
#     may change the folder could swap a state file for a symlink)
#  j  a state file left in the legacy folder (/run/enftun, the service
#     user's, where an earlier enftun-setup kept it): down moves it into the
#     state folder and removes it all; one there that root did not write is
#     left alone
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=setup_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup_lib.sh"

BEFORE=""

# full_conf FILE [key=value]...: a full tunnel with trusted lan0 (the
# certificates are never read: only enftun -p runs).
full_conf() {
    local file="$1"
    shift
    write_client_conf "$file" hosts=fd00:100::1 ca=ca.pem cert=d.pem key=d.key \
        prefixes=default trusted=lan0 "$@"
}

# set_table FILE N: add route.table = N to FILE's route group.
set_table() {
    sed -i "s/^route : {\$/&\n  table = $2;/" "$1"
}

# reaches_host: d reaches h directly, both families (nothing of
# enftun-setup's left in the way).
reaches_host() {
    es_ping d "$ES_HOST6" && es_ping d "$ES_HOST4"
}

step_a() {
    local ok=0 conf="$ET_TMP/table.conf"
    full_conf "$conf"
    check "up (table 2097)" es_setup d up "$conf" || return 1
    check_not "while up, IPv4 to the host is blackholed" es_ping d "$ES_HOST4" || ok=1
    set_table "$conf" 300
    check "the config now says route.table=300" \
        grep -qx 'route.table=300' <("$ET_BIN_DIR/enftun" -c "$conf" -p all) || ok=1
    check "down with the changed config" es_setup d down "$conf" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    check "d reaches the host again" reaches_host || ok=1
    # Leave nothing for the next step, whatever down left.
    es_setup d down "$conf" >/dev/null 2>&1 || true
    full_conf "$conf"
    es_setup d down "$conf" >/dev/null 2>&1 || true
    return "$ok"
}

step_b() {
    local ok=0 conf="$ET_TMP/dev.conf"
    full_conf "$conf"
    check "up (enf0)" es_setup d up "$conf" || return 1
    full_conf "$conf" dev=enf1
    check "up of the changed config is refused, naming enf0" \
        es_fails_saying 'enf0' es_setup d up "$conf" || ok=1
    check_not "and did not create enf1" et_exec d ip link show dev enf1 || ok=1
    check "down with the changed config" es_setup d down "$conf" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    check "d reaches the host again" reaches_host || ok=1
    check "a second down says 'already down'" \
        es_succeeds_saying 'already down' es_setup d down "$conf" || ok=1
    es_setup d down "$conf" >/dev/null 2>&1 || true
    full_conf "$conf"
    es_setup d down "$conf" >/dev/null 2>&1 || true
    return "$ok"
}

# load_leak_counters: count in i what d sends on its uplink for the tunnel's
# prefixes (before i routes it, which it cannot).
load_leak_counters() {
    et_exec i nft -f - <<EOF
table inet ss_leak {
    counter prefix6 {}
    counter prefix4 {}
    chain pre {
        type filter hook prerouting priority -500; policy accept;
        iifname "vd" ip6 daddr fd00:e::/48 counter name "prefix6"
        iifname "vd" ip daddr 198.19.0.0/16 counter name "prefix4"
        iifname "vn" jump from_new
    }
    counter ns_new {}
    counter new {}
    chain from_new {
        icmpv6 type nd-neighbor-solicit counter name "ns_new" return
        icmpv6 type { nd-router-solicit, nd-neighbor-advert, mld-listener-report, mld-listener-done, mld2-listener-report } return
        udp sport 546 udp dport 547 return
        meta nfproto ipv4 udp sport 68 udp dport 67 return
        counter name "new"
    }
}
EOF
}

# try_prefixes ADDR...: send to each ADDR from d (each send expected to fail).
try_prefixes() {
    local dst
    for dst in "$@"; do
        es_ping d "$dst" >/dev/null 2>&1 || true
        et_exec d bash -c "echo leak >/dev/udp/$dst/9" >/dev/null 2>&1 || true
    done
}

# unreachable ADDR: d's kernel has no way to ADDR (not "via the uplink").
unreachable() {
    ! et_exec d ip route get "$1"
}

# after_link_down LABEL ADDR...: with enf0 set down, nothing for ADDR...
# leaves d's uplink, and the kernel refuses it at once.
after_link_down() {
    local ok=0 label="$1" six four dst
    shift
    check "$label: ip link set enf0 down" et_exec d ip link set dev enf0 down || return 1
    six="$(et_nft_counter i ss_leak prefix6)"
    four="$(et_nft_counter i ss_leak prefix4)"
    for dst in "$@"; do
        check "$label: $dst is unreachable" unreachable "$dst" || ok=1
    done
    try_prefixes "$@"
    check "$label: fence: a neighbour solicitation from d arrived" es_fence || ok=1
    check_num "$label: nothing for fd00:e::/48 on the uplink" \
        "$(($(et_nft_counter i ss_leak prefix6) - six))" -eq 0 || ok=1
    check_num "$label: nothing for 198.19.0.0/16 on the uplink" \
        "$(($(et_nft_counter i ss_leak prefix4) - four))" -eq 0 || ok=1
    return "$ok"
}

# status_exit CONF: the exit status of enftun-setup status CONF.
status_exit() {
    local rc=0
    es_setup d status "$1" >/dev/null || rc=$?
    echo "$rc"
}

step_c() {
    local ok=0 conf="$ET_TMP/split.conf"
    write_client_conf "$conf" hosts=fd00:100::1 ca=ca.pem cert=d.pem key=d.key \
        prefixes=fd00:e::/48,198.19.0.0/24 allow_ipv4=true
    check "up (split tunnel)" es_setup d up "$conf" || return 1
    check_num "status says up" "$(status_exit "$conf")" -eq 0 || ok=1
    after_link_down "split" fd00:e::6 198.19.0.6 || ok=1
    et_exec d ip link set dev enf0 up
    check_num "with enf0 up again (its routes gone) status says partly up" \
        "$(status_exit "$conf")" -eq 1 || ok=1
    check "down" es_setup d down "$conf" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    es_setup d down "$conf" >/dev/null 2>&1 || true
    return "$ok"
}

step_d() {
    local ok=0 conf="$ET_TMP/full4.conf"
    full_conf "$conf" prefixes=default,198.19.0.0/24 allow_ipv4=true
    check "up (full tunnel, allow_ipv4, 198.19.0.0/24)" es_setup d up "$conf" || return 1
    after_link_down "full" 198.19.0.6 || ok=1
    check "down" es_setup d down "$conf" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    es_setup d down "$conf" >/dev/null 2>&1 || true
    return "$ok"
}

# new_uplink: d's link up1 to i's vn (fd00:110::/64, 198.18.10.0/24), with
# default routes better than up0's, and a rule before enftun-setup's.
new_uplink() {
    et_veth_add i vn d up1
    et_addr_add i vn fd00:110::1/64
    et_addr_add d up1 fd00:110::2/64
    et_exec i ip addr add 198.18.10.1/24 dev vn
    et_exec d ip addr add 198.18.10.2/24 dev up1
    et_exec d ip -6 route add default via fd00:110::1 dev up1 metric 10
    et_exec d ip -4 route add default via 198.18.10.1 dev up1 metric 10
    et_exec d ip -4 route del default via 198.18.0.1 dev up0
    et_exec d ip -6 rule add pref 1000 lookup main
    et_exec d ip -4 rule add pref 1000 lookup main
}

remove_new_uplink() {
    et_exec d ip -6 rule del pref 1000 lookup main || true
    et_exec d ip -4 rule del pref 1000 lookup main || true
    et_exec d ip link del dev up1 || true
    et_exec d ip -4 route replace default via 198.18.0.1 dev up0
}

# fence_new: as es_fence, on up1: a neighbour solicitation from d counted
# in i, so what d sent on up1 before has been counted too.
fence_new() {
    local before
    before="$(et_nft_counter i ss_leak ns_new)"
    et_wait_for -t 20 fence_new_probe "$before"
}

fence_new_probe() {
    et_exec d ndisc6 -1 -r 1 -w 200 fd00:110::1 up1 >/dev/null 2>&1 || true
    (($(et_nft_counter i ss_leak ns_new) > $1))
}

# try_host: send to the ordinary host h, IPv6 and IPv4, ping, UDP and TCP,
# by routing and bound to each uplink (each expected to fail).
try_host() {
    local dst ifc
    for dst in "$ES_HOST6" "$ES_HOST4"; do
        es_ping d "$dst" >/dev/null 2>&1 || true
        for ifc in up0 up1; do
            es_ping d "$dst" -I "$ifc" >/dev/null 2>&1 || true
        done
        et_exec d bash -c "echo leak >/dev/udp/$dst/9" >/dev/null 2>&1 || true
    done
    et_exec d timeout 3 bash -c "exec 3<>/dev/tcp/$ES_HOST6/80" >/dev/null 2>&1 || true
    et_exec d timeout 3 bash -c "exec 3<>/dev/tcp/$ES_HOST4/80" >/dev/null 2>&1 || true
}

step_e() {
    local ok=0 conf="$ET_TMP/full.conf" host new
    full_conf "$conf"
    check "up (full tunnel)" es_setup d up "$conf" || return 1
    new_uplink
    check "the new uplink works (ND to its gateway)" fence_new || ok=1
    # Routing alone now sends it out in clear: only the firewall stops it.
    check "the foreign rule routes IPv6 to the host by up1" \
        grep -q -w 'dev up1' <(et_exec d ip -6 route get "$ES_HOST6") || ok=1
    check "and IPv4 too" grep -q -w 'dev up1' <(et_exec d ip -4 route get "$ES_HOST4") || ok=1
    host="$(es_counter host)"
    new="$(et_nft_counter i ss_leak new)"
    try_host
    check "fence on up0" es_fence || ok=1
    check "fence on up1" fence_new || ok=1
    check_num "nothing reached the host by up0 or up1" "$(($(es_counter host) - host))" -eq 0 ||
        ok=1
    check_num "nothing on up1 but ND/MLD/DHCP" "$(($(et_nft_counter i ss_leak new) - new))" \
        -eq 0 || ok=1
    remove_new_uplink
    check "down" es_setup d down "$conf" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    es_setup d down "$conf" >/dev/null 2>&1 || true
    return "$ok"
}

# make_terminating_ip: an ip that sends SIGTERM to its caller (enftun-setup)
# when asked to add the tunnel's rule, then does it; prints its folder.
make_terminating_ip() {
    local dir="$ET_TMP/terminating-ip"
    mkdir -p "$dir"
    cat >"$dir/ip" <<EOF
#!/bin/bash
[[ " \$* " != *" rule add not fwmark "* ]] || kill -TERM "\$PPID"
exec $(command -v ip) "\$@"
EOF
    chmod +x "$dir/ip"
    echo "$dir"
}

# up_exit_status CONF: enftun-setup up CONF's exit status (its output in
# $ET_TMP/up.out).
up_exit_status() {
    local rc=0
    es_setup d up "$1" >"$ET_TMP/up.out" || rc=$?
    echo "$rc"
}

step_f() {
    local ok=0 conf="$ET_TMP/full.conf" dir
    full_conf "$conf"
    dir="$(make_terminating_ip)"
    check_num "up terminated at 'ip rule add' exits 143" \
        "$(ES_PATH="$dir:$PATH" up_exit_status "$conf")" -eq 143 || ok=1
    check "it said it undid its work" grep -q 'undoing' "$ET_TMP/up.out" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    check_not "no state file left" test -e "$ET_TMP/run-enftun/enf0" || ok=1
    es_setup d down "$conf" >/dev/null 2>&1 || true
    return "$ok"
}

# down_after_config CONF BREAK...: up CONF, run BREAK... on it, then down.
down_after_config() {
    local ok=0 conf="$1"
    shift
    full_conf "$conf"
    check "up" es_setup d up "$conf" || return 1
    "$@" "$conf"
    check_not "enftun cannot read the config now" "$ET_BIN_DIR/enftun" -c "$conf" -p all || ok=1
    check "down says it takes down enf0 from the state file" \
        es_succeeds_saying 'taking down enf0' es_setup d down "$conf" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    check "d reaches the host again" reaches_host || ok=1
    full_conf "$conf"
    es_setup d down "$conf" >/dev/null 2>&1 || true
    return "$ok"
}

break_config() {
    echo "route : { table = \"x\"; };" >>"$1"
}

step_g() {
    local ok=0
    down_after_config "$ET_TMP/gone.conf" rm -f -- || ok=1
    down_after_config "$ET_TMP/broken.conf" break_config || ok=1
    return "$ok"
}

# marked_connect ADDR: a TCP connection attempt from d to ADDR port 4443
# with enftun's mark (363), as enftun makes it (an IPv6 socket).
marked_connect() {
    et_exec d python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_MARK", 36), 363)
s.settimeout(2)
try:
    s.connect((sys.argv[1], 4443))
except OSError:
    pass
' "$1"
}

step_h() {
    local ok=0 conf="$ET_TMP/mapped.conf" tunnel
    full_conf "$conf" hosts=::ffff:198.18.0.1
    check "up (full tunnel, router ::ffff:198.18.0.1)" es_setup d up "$conf" || return 1
    tunnel="$(es_counter tunnel)"
    marked_connect ::ffff:198.18.0.1
    check "fence" es_fence || ok=1
    check_num "enftun's marked TCP to 198.18.0.1:4443 got out" \
        "$(($(es_counter tunnel) - tunnel))" -gt 0 || ok=1
    check "down" es_setup d down "$conf" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    write_client_conf "$conf" hosts=::ffff:198.18.0.1 ca=ca.pem cert=d.pem key=d.key \
        prefixes=198.18.0.0/23 allow_ipv4=true
    check "split prefix 198.18.0.0/23 refused, naming the router" \
        es_fails_saying '198.18.0.0/23 holds remote.hosts ::ffff:198.18.0.1' \
        es_setup d up "$conf" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    es_setup d down "$conf" >/dev/null 2>&1 || true
    return "$ok"
}

step_i() {
    local ok=0 conf="$ET_TMP/statedir.conf" dir="$ET_TMP/shared-state"
    full_conf "$conf"
    mkdir -p "$dir"
    chown 65534 "$dir"
    ES_WRAP=(env ENFTUN_SETUP_STATE_DIR="$dir")
    check "up refuses a state folder another user owns" \
        es_fails_saying 'belongs to uid 65534' es_setup d up "$conf" || ok=1
    check "... and changed nothing" es_same_state d "$BEFORE" || ok=1
    chown 0 "$dir"
    chmod 0777 "$dir"
    check "up refuses a state folder others may write in" \
        es_fails_saying 'may be written by others \(mode 777\)' es_setup d up "$conf" || ok=1
    check "... and changed nothing" es_same_state d "$BEFORE" || ok=1
    ES_WRAP=()
    return "$ok"
}

step_j() {
    local ok=0 conf="$ET_TMP/legacy.conf" legacy="$ET_TMP/legacy-state"
    full_conf "$conf"
    ES_WRAP=(env ENFTUN_SETUP_STATE_DIR="$legacy")
    check "up, its state file in the legacy folder (as an earlier version)" \
        es_setup d up "$conf" || return 1
    check "the state file is there" test -f "$legacy/enf0" || ok=1
    ES_WRAP=(env ENFTUN_SETUP_LEGACY_STATE_DIR="$legacy")
    check "down moves it into the state folder" \
        es_succeeds_saying 'moved the state file of enf0' es_setup d down "$conf" || ok=1
    check "state as before up" es_same_state d "$BEFORE" || ok=1
    check_not "the legacy file is gone" test -e "$legacy/enf0" || ok=1
    check_not "and so is the moved one (down removed it)" test -e "$ET_TMP/run-enftun/enf0" || ok=1
    printf '# enftun-setup up planted\nraised_sysctl=forwarding\n' >"$legacy/enf9"
    chown 65534 "$legacy/enf9"
    es_setup d down "$conf" >/dev/null 2>&1 || true
    check "a legacy file root did not write stays where it is" test -f "$legacy/enf9" || ok=1
    check_not "... and is not taken" test -e "$ET_TMP/run-enftun/enf9" || ok=1
    ES_WRAP=()
    return "$ok"
}

main() {
    et_init
    command -v nft >/dev/null || et_skip "nft not installed"
    command -v ndisc6 >/dev/null || et_skip "ndisc6 not installed"
    et_require_bins enftun
    echo "setup_state_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    es_topology "" l
    es_load_counters # es_fence counts its neighbour solicitations there
    load_leak_counters
    BEFORE="$ET_TMP/state.before"
    es_state d >"$BEFORE"
    check "before up, d reaches the host" reaches_host
    run_step a "route.table changed between up and down: down removes it all" step_a
    run_step b "tun.dev changed between up and down: up refused, down removes it all" step_b
    run_step c "split tunnel, enf0 set down: its prefixes unreachable, not on the uplink" step_c
    run_step d "full tunnel with an IPv4 prefix, enf0 set down: not on the uplink" step_d
    run_step e "full tunnel: a link that comes up after up, a rule before ours: no leak" step_e
    run_step f "SIGTERM during up: up undoes its work" step_f
    run_step g "config deleted or broken after up: down removes it all" step_g
    run_step h "remote.hosts IPv4-mapped: firewall and split check see IPv4" step_h
    run_step i "a state folder others may change: refused" step_i
    run_step j "a state file in the legacy folder: moved if root's, then down" step_j
    # A check outside a step fails the test too.
    et_summary setup_state_test && ((ET_CHECKS_FAILED == 0))
}

main "$@"
