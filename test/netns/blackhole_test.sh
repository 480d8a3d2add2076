#!/usr/bin/env bash
# blackhole_test.sh: a path that dies silently (no link, address or route
# change: an nftables rule drops the tunnel's TCP in both directions on the
# router's side) is noticed by the heartbeat, and enftun reconnects once
# the path works again (CTest: netns.blackhole_test; exit 77 = skipped).
# Topology: resilience_lib.sh.
#
# Why the heartbeat and not TCP notices: the tunnel is idle when the drop
# starts, so the heartbeat probe (sent after heartbeat_period without a
# received frame) is the first unacknowledged data; the heartbeat gives up
# heartbeat_timeout later, while TCP_USER_TIMEOUT (tcp_liveness.hpp) is
# max(2 x heartbeat_timeout, 10 s) after that same probe. No netlink event
# happens at all. The test checks the log line and the counters.
#
# Steps: a. tunnel up; b. black hole -> heartbeat reconnect, TUN stays up;
# c. the path heals -> tunnel up again, ping works; the heartbeat's echo
# replies were consumed, none reached the TUN (nftables counter in d);
# d. the other detector: a new client with a 10-minute heartbeat period
# shows a keepalive timer on its idle tunnel socket; then, under steady
# traffic (ping every 0.2 s), the path black-holes: the data stays
# unacknowledged and the kernel ends the connection (TCP_USER_TIMEOUT,
# 10 s here: ETIMEDOUT) long before the heartbeat could.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=resilience_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/resilience_lib.sh"

readonly TABLE=enftun_blackhole
UPS=0

blackhole_on() {
    et_exec r nft -f - <<EOF
table inet $TABLE {
    chain in {
        type filter hook prerouting priority -400; policy accept;
        tcp dport 4443 counter drop
    }
    chain out {
        type filter hook output priority -400; policy accept;
        tcp sport 4443 counter drop
    }
}
EOF
}

blackhole_off() {
    et_exec r nft delete table inet "$TABLE"
}

# Dropped packets, both directions (proves the black hole was hit).
blackhole_drops() {
    et_exec r nft list table inet "$TABLE" 2>/dev/null |
        awk '/counter packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") n += $(i + 1) }
             END { print n + 0 }'
}

# Echo replies from fe80::1 that reach d's kernel through enf0: the
# heartbeat's replies must be consumed by enftun, never written to the TUN
# (nothing else in d pings fe80::1).
load_leak_counter() {
    et_exec d nft -f - <<EOF
table inet enftun_probe_leak {
    counter leaked {}
    chain pre {
        type filter hook prerouting priority -500; policy accept;
        iifname "enf0" ip6 saddr fe80::1 icmpv6 type echo-reply counter name "leaked"
    }
}
EOF
}

step_a() {
    local ok=0
    rs_start_router || return 1
    rs_start_client c1 || return 1
    check "ping router.address through the tunnel" et_wait_for -d c1 -d router rs_ping_tunnel ||
        ok=1
    return "$ok"
}

# heartbeat_reconnects_above N: client c1's counter "reconnects heartbeat"
# (its stats line) is above N.
heartbeat_reconnects_above() {
    local hb
    read -r _ hb _ < <(rs_stats c1) && [[ $hb =~ ^[0-9]+$ ]] && ((hb > $1))
}

step_b() {
    local ok=0 dead hb0 retries route hb other changes unchanged early
    UPS="$(et_log_count c1 "tunnel up")"
    retries="$(et_log_count c1 "reconnecting in")"
    dead="$(et_log_count c1 "heartbeat: no answer from the router")"
    read -r _ hb0 _ < <(rs_stats c1) || hb0=""
    blackhole_on
    check "the heartbeat declared the path dead" \
        et_wait_for -d c1 log_count_above c1 "heartbeat: no answer from the router" "$dead" ||
        ok=1
    check "enftun dropped the connection for it (counter reconnects heartbeat)" \
        et_wait_for -d c1 heartbeat_reconnects_above "${hb0:-0}" || ok=1
    check "and schedules a reconnect (backoff)" \
        et_wait_for -d c1 log_count_above c1 "reconnecting in" "$retries" || ok=1
    check_num "the black hole dropped packets" "$(blackhole_drops)" -gt 0 || ok=1
    check "the TUN stays up while the tunnel is down" et_link_up d enf0 || ok=1
    read -r route hb other changes unchanged early < <(rs_stats c1) || true
    echo "  info: reconnects route=$route heartbeat=$hb other=$other;" \
        "route changes=$changes unchanged=$unchanged early-retries=$early"
    check_num "reconnects caused by the heartbeat" "$hb" -ge 1 || ok=1
    check_num "none caused by route changes (nothing changed)" "$route" -eq 0 || ok=1
    return "$ok"
}

step_c() {
    local ok=0
    blackhole_off
    check "the tunnel came up again" \
        et_wait_for -t 60 -d c1 log_count_above c1 "tunnel up" "$UPS" || ok=1
    check "ping through the tunnel" et_wait_for -d c1 rs_ping_tunnel || ok=1
    check "ping 3 times" et_exec d ping -6 -n -c 3 -W 2 "$RS_ROUTER_ADDR" || ok=1
    rs_stats c1 >/dev/null || ok=1
    check_num "heartbeat probes were sent" "$(rs_heartbeats c1)" -ge 2 || ok=1
    check_num "no heartbeat reply reached the TUN" \
        "$(et_nft_counter d enftun_probe_leak leaked)" -eq 0 || ok=1
    # Control: the counter does see a reply to the host's own ping of fe80::1.
    check "the host itself pings fe80::1%enf0" \
        et_exec d ping -6 -n -c 1 -W 2 -I "$RS_CLIENT_ADDR" fe80::1%enf0 || ok=1
    check_num "that reply reached the TUN and was counted" \
        "$(et_nft_counter d enftun_probe_leak leaked)" -eq 1 || ok=1
    return "$ok"
}

# keepalive_timer NAME: d's tunnel socket runs a keepalive timer (ss -o).
keepalive_timer() {
    local out
    out="$(et_exec d ss -Htno state established '( dport = :4443 )')" || return 1
    echo "$out" >&2
    grep -q 'timer:(keepalive' <<<"$out"
}

pinger_answered() {
    grep -q "icmp_seq=" "$(et_daemon_log pinger)"
}

step_d() {
    local ok=0 lost ups route hb other changes unchanged early
    rs_stop_client c1
    # User timeout max(2 x 2 s, 10 s) = 10 s; keepalive idle 602 s.
    rs_write_client_conf c2 heartbeat_period=600000 heartbeat_timeout=2000 \
        connect_timeout=1000 reconnect_max_delay=2000
    rs_start_client c2 || return 1
    check "ping router.address through the tunnel" et_wait_for -d c2 rs_ping_tunnel || ok=1
    # Until the probe of the route change below is acknowledged, the socket
    # runs its retransmission timer instead ("timer:(on,...)").
    check "the idle tunnel socket has a keepalive timer" et_wait_for -t 10 keepalive_timer || ok=1
    et_daemon_start pinger d ping -6 -n -i 0.2 "$RS_ROUTER_ADDR"
    check "steady traffic through the tunnel" et_wait_for -d pinger pinger_answered || ok=1
    # The route rs_start_client adds is a network change: enftun probes the
    # router over the unchanged path. That probe must be answered before
    # the black hole starts, or the heartbeat (2 s) beats the user timeout
    # (10 s): wait for the decision, then longer than heartbeat_timeout.
    check "enftun judged the route change" \
        et_wait_for -d c2 log_count_above c2 "route change (" 0 || ok=1
    sleep 3
    check "and the tunnel is still up" \
        et_wait_for -t 1 -d c2 rs_ping_tunnel || ok=1
    ups="$(et_log_count c2 "tunnel up")"
    lost="$(et_log_count c2 "Connection timed out")"
    blackhole_on
    # 10 s of user timeout, then the loss; a generous bound far below the
    # 10-minute heartbeat period and the kernel's default (~15 min).
    check "the kernel timed the connection out (ETIMEDOUT, 40 s bound)" \
        et_wait_for -t 40 -d c2 log_count_above c2 "Connection timed out" "$lost" || ok=1
    check "and enftun backs off to reconnect" \
        et_wait_for -d c2 log_count_above c2 "reconnecting in" 0 || ok=1
    et_daemon_stop pinger 2
    read -r route hb other changes unchanged early < <(rs_stats c2) || true
    echo "  info: reconnects route=$route heartbeat=$hb other=$other;" \
        "route changes=$changes unchanged=$unchanged early-retries=$early"
    check_num "not the heartbeat's doing" "$hb" -eq 0 || ok=1
    check_num "an error ended the connection" "$other" -ge 1 || ok=1
    check_num "not a route change" "$route" -eq 0 || ok=1
    blackhole_off
    check "the tunnel came up again" \
        et_wait_for -t 60 -d c2 log_count_above c2 "tunnel up" "$ups" || ok=1
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    command -v nft >/dev/null || et_skip "nft (nftables) not installed"
    echo "blackhole_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    rs_make_topology
    rs_make_pki
    load_leak_counter
    rs_write_router_conf
    # Probe after 1 s of silence, give up 2 s later; connect attempts during
    # the black hole time out after 1 s and back off up to 2 s.
    rs_write_client_conf c1 heartbeat_period=1000 heartbeat_timeout=2000 \
        connect_timeout=1000 reconnect_max_delay=2000

    run_step a "tunnel up" step_a
    run_step b "silent black hole: the heartbeat notices, enftun reconnects" step_b a
    run_step c "the path heals: tunnel up again" step_c b
    run_step d "steady traffic into a black hole: TCP_USER_TIMEOUT ends it" step_d
    et_summary blackhole_test
}

main "$@"
