# shellcheck shell=bash
# routercard_lib.sh: what the router-card tests (routercard_test.sh,
# routercard_hostile_test.sh) share: the client config for router-card mode,
# the router's listening check, the card's counters from enftun's
# "router card:" stats line, and a DHCPv6 client in c. Source after
# lib.sh; the tests set PKI.
#
# Topology: c (enftun, enf0) ── veth ── r (enftun-router at fd00:100::1:4443).

# ------------------------------------------------------------- counters

# card_stat FIELD: a counter from enftun's latest "router card:" stats
# line (SIGUSR1 makes it log one).
card_stat() {
    grep -F "router card:" "$(et_daemon_log c)" | tail -n 1 |
        sed -n "s/.* $1 \([0-9]*\).*/\1/p"
}

stats_logged_after() {
    (($(et_log_count c "router card:") > $1))
}

# fresh_stats: make enftun log its counters and wait for the line.
fresh_stats() {
    local before
    before="$(et_log_count c "router card:")"
    kill -USR1 "$(et_daemon_pid c)"
    et_wait_for -d c stats_logged_after "$before"
}

# ---------------------------------------------------------- host (c) side

has_global_addr() {
    grep -q "inet6 $1/128" <<<"$(et_exec c ip -6 addr show dev enf0 scope global)"
}

# run_dhcpcd [LINE]...: a one-shot DHCPv6 client (TESTING-NOTES.md) in a
# private mount namespace, so its state files stay off the host. Extra
# dhcpcd.conf lines may be given.
run_dhcpcd() {
    printf '%s\n' ipv6only noipv6rs "ia_na 1" "$@" >"$ET_TMP/dhcpcd.conf"
    # shellcheck disable=SC2016 # expanded by the inner sh
    et_exec c timeout 60 unshare --mount sh -c '
        mount -t tmpfs none /run && mkdir -p /var/lib/dhcpcd &&
        mount -t tmpfs none /var/lib/dhcpcd &&
        exec dhcpcd -1 -t 15 -f "$1" -c /bin/true enf0' sh "$ET_TMP/dhcpcd.conf" \
        >"$ET_TMP/dhcpcd.log" 2>&1
}

# ------------------------------------------------------------- topology

# write_card_conf FILE PREFIXES [MTU [LLADDR [RA_PERIOD_MS]]]: client config
# for router-card mode: the address is left to DHCPv6 (tun.set_address =
# false); no MTU, LLADDR or RA_PERIOD_MS (or an empty one) leaves the default.
write_card_conf() {
    local file="$1" prefixes="$2" mtu="${3:-}" lladdr="${4:-}" ra_period="${5:-}"
    {
        echo "tun : {"
        echo "  dev = \"enf0\";"
        [[ -z $mtu ]] || echo "  mtu = $mtu;"
        echo "  set_address = false;"
        # Not the default /run/enftun/enf0.sock, which a parallel test may hold.
        echo "  control_socket = $(_et_conf_str "${file%.conf}.sock");"
        [[ -z $lladdr ]] || echo "  lladdr = $(_et_conf_str "$lladdr");"
        echo "};"
        echo "remote : {"
        echo "  hosts = [ \"fd00:100::1\" ];"
        echo "  port = 4443;"
        echo "  ca_cert_file = $(_et_conf_str "$PKI/ca.pem");"
        echo "};"
        echo "route : {"
        echo "  prefixes = $(_et_conf_list "$prefixes");"
        [[ -z $ra_period ]] || echo "  ra_period = $(_et_conf_int "$ra_period");"
        echo "};"
        echo "identity : {"
        echo "  cert_file = $(_et_conf_str "$PKI/c1.pem");"
        echo "  key_file = $(_et_conf_str "$PKI/c1.key");"
        echo "};"
    } >"$file"
}

router_listening() {
    [[ -n $(et_exec r ss -Hltn "src [fd00:100::1]:4443") ]]
}
