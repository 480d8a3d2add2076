#!/usr/bin/env bash
# remotes_test.sh: remote.hosts handling (CTest: netns.remotes_test; exit 77
# = skipped). Topology: resilience_lib.sh; the router listens on
# fd00:200::1 and fd00:200::2 (on r's loopback).
#
# Steps (each prints PASS/FAIL):
#   a. dead hosts first: fd00:200::9 swallows SYNs (nftables drop in r), so
#      only the per-attempt connect timeout moves on; fd00:200::8 exists
#      but nobody listens (refused); the third host is used
#   b. a host name, resolved through d's own hosts file
#      (/etc/netns/<ns>/hosts, bind-mounted by `ip netns exec`), after a
#      name that does not resolve; the name has two addresses, the dead
#      (swallowing) one first: every address of a host is tried, in order
#   c. the router is killed and restarted: enftun backs off (the logged
#      ceiling grows to remote.reconnect_max_delay and stays there; each
#      delay within [floor, ceiling]) and reconnects; the TUN stays up
#      meanwhile; the name is resolved afresh (it now points to fd00:200::2)
#   d. the tunnel stays up past remote.reconnect_stable_period (2 s here)
#      with the backoff grown to its cap; the router is killed again: the
#      schedule was reset, the first delay's ceiling is the base (1 s)
#   e. while enftun backs off (router down), a network change makes it
#      retry at once (decision line and its early-retry counter)
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=resilience_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/resilience_lib.sh"

readonly SWALLOW=fd00:200::9 REFUSE=fd00:200::8 NAME=router.enftun.test
readonly CAP_MS=2000 FLOOR_MS=100 BASE_MS=1000 STABLE_MS=2000

# line_no NAME STRING: the number of the first log line holding STRING.
line_no() {
    grep -n -F -- "$2" "$(et_daemon_log "$1")" | head -n 1 | cut -d: -f1
}

# in_order NAME S1 S2...: each string first appears after the previous one.
in_order() {
    local name="$1" prev=0 n s
    shift
    for s in "$@"; do
        n="$(line_no "$name" "$s")"
        [[ -n $n ]] && ((n > prev)) || return 1
        prev="$n"
    done
}

step_a() {
    local ok=0
    rs_write_client_conf c1 hosts="$SWALLOW,$REFUSE,$RS_SERVICE" connect_timeout=1000
    rs_start_client c1 || return 1
    check "ping router.address through the tunnel" et_wait_for -d c1 rs_ping_tunnel || ok=1
    check "in config order: timed out, refused, connected" in_order c1 \
        "connect to [$SWALLOW]:4443 timed out after 1000 ms" \
        "connect to [$REFUSE]:4443 failed: Connection refused" \
        "connected to [$RS_SERVICE]:4443" || ok=1
    check "the swallowing host really swallowed SYNs" swallowed_some || ok=1
    rs_stop_client c1
    return "$ok"
}

swallowed_some() {
    (($(et_nft_counter r enftun_remotes swallowed) > 0))
}

step_b() {
    local ok=0
    et_netns_hosts d "$SWALLOW $NAME" "$RS_SERVICE $NAME"
    rs_write_client_conf c2 hosts="nosuch.enftun.test,$NAME" connect_timeout=1000 \
        reconnect_max_delay="$CAP_MS" reconnect_stable_period="$STABLE_MS"
    rs_start_client c2 || return 1
    check "ping router.address through the tunnel" et_wait_for -d c2 rs_ping_tunnel || ok=1
    check "the unknown name failed, $NAME's first address timed out, its second connected" \
        in_order c2 "cannot resolve nosuch.enftun.test" \
        "connect to [$SWALLOW]:4443 timed out after 1000 ms" \
        "connected to [$RS_SERVICE]:4443" || ok=1
    return "$ok"
}

# backoff_lines NAME SKIP: "delay ceiling" (ms) of each "reconnecting in N
# ms (ceiling C ms)" line of the log after the first SKIP such lines.
backoff_lines() {
    grep -o -E 'reconnecting in [0-9]+ ms \(ceiling [0-9]+ ms\)' "$(et_daemon_log "$1")" |
        tail -n "+$(($2 + 1))" | awk '{ print $3, $6 }'
}

# delays_within_bounds NAME: every delay is in [floor, its ceiling] and no
# ceiling exceeds the cap.
delays_within_bounds() {
    local delay ceiling bad=0
    while read -r delay ceiling; do
        if ((delay < FLOOR_MS || delay > ceiling || ceiling > CAP_MS)); then
            echo "delay $delay ms (ceiling $ceiling ms) outside [$FLOOR_MS, ceiling <= $CAP_MS]"
            bad=1
        fi
    done < <(backoff_lines "$1" 0)
    return "$bad"
}

# ceiling_held_at_cap NAME SKIP: after SKIP lines, the ceiling grows to the
# cap and stays there: at least two lines at the cap, none after it lower,
# none above it.
ceiling_held_at_cap() {
    local delay ceiling at_cap=0 n=0
    while read -r delay ceiling; do
        n=$((n + 1))
        echo "backoff $n: delay $delay ms, ceiling $ceiling ms"
        if ((ceiling == CAP_MS)); then
            at_cap=$((at_cap + 1))
        elif ((at_cap > 0 || ceiling > CAP_MS)); then
            return 1
        fi
    done < <(backoff_lines "$1" "$2")
    ((at_cap >= 2))
}

step_c() {
    local ok=0 ups failed backoffs
    ups="$(et_log_count c2 "tunnel up")"
    failed="$(et_log_count c2 "could not connect to any remote host")"
    backoffs="$(et_log_count c2 "reconnecting in")"
    # Addresses change: the next resolution must see the new one.
    et_netns_hosts d "$RS_SERVICE2 $NAME"
    et_daemon_kill router
    check "enftun lost the connection and backs off" \
        et_wait_for -d c2 log_count_above c2 "reconnecting in" "$backoffs" || ok=1
    check "attempts keep failing while the router is down" \
        et_wait_for -d c2 log_count_above c2 "could not connect to any remote host" \
        "$((failed + 1))" || ok=1
    check "the TUN stays up while the tunnel is down" et_link_up d enf0 || ok=1
    check "its route survives" et_exec d ip -6 route show fd00:e::/64 dev enf0 || ok=1
    check "the backoff ceiling grows to the cap ($CAP_MS ms) and stays there" \
        et_wait_for -t 10 -d c2 ceiling_held_at_cap c2 "$backoffs" || ok=1
    echo "  info: backoff (delay ceiling): $(backoff_lines c2 "$backoffs" | paste -s -d, -)"
    check "backoff delays stay within [$FLOOR_MS, ceiling <= $CAP_MS] ms" \
        delays_within_bounds c2 || ok=1
    check "the router restarts" rs_start_router || ok=1
    check "the tunnel came up again" \
        et_wait_for -d c2 log_count_above c2 "tunnel up" "$ups" || ok=1
    check "the name was resolved afresh: connected to $RS_SERVICE2" \
        et_log_has c2 "connected to [$RS_SERVICE2]:4443" || ok=1
    check "ping through the tunnel" et_wait_for -d c2 rs_ping_tunnel || ok=1
    return "$ok"
}

# last_ceiling NAME: the ceiling of the last backoff line.
last_ceiling() {
    backoff_lines "$1" 0 | tail -n 1 | awk '{ print $2 }'
}

step_d() {
    local ok=0 backoffs delay ceiling
    backoffs="$(et_log_count c2 "reconnecting in")"
    check_num "the backoff ceiling had grown to the cap" "$(last_ceiling c2)" -eq "$CAP_MS" ||
        ok=1
    # A lower bound, so sleeping is fine: longer only helps.
    sleep "$((STABLE_MS / 1000 + 1))"
    check "the tunnel is still up" rs_ping_tunnel || ok=1
    et_daemon_kill router
    check "enftun lost the connection and backs off" \
        et_wait_for -d c2 log_count_above c2 "reconnecting in" "$backoffs" || ok=1
    read -r delay ceiling < <(backoff_lines c2 "$backoffs" | head -n 1) || true
    echo "  info: first backoff after the stable connection: delay $delay ms, ceiling $ceiling ms"
    check_num "the schedule was reset: the ceiling is the base" "$ceiling" -eq "$BASE_MS" || ok=1
    check "the delay is from the base range [$FLOOR_MS, $BASE_MS] ms" \
        test "${delay:-0}" -ge "$FLOOR_MS" -a "${delay:-0}" -le "$BASE_MS" || ok=1
    check "the router restarts" rs_start_router || ok=1
    check "ping through the tunnel" et_wait_for -d c2 rs_ping_tunnel || ok=1
    return "$ok"
}

# change_during_backoff N: add a throw-away route and print enftun's
# decision line for it ("" if none came).
change_during_backoff() {
    local prefix="fd00:9e9e:$1::/64"
    et_exec d ip -6 route add "$prefix" dev lo
    et_wait_for -d c3 rs_log_line_has c3 "route+ $prefix" "route change (" >/dev/null 2>&1 || true
    grep -F "route+ $prefix" "$(et_daemon_log c3)" | tail -n 1
}

step_e() {
    local ok=0 failed early_before early_after line="" i
    rs_stop_client c2
    rs_write_client_conf c3 hosts="$RS_SERVICE" connect_timeout=1000 # default cap: 60 s
    rs_start_client c3 || return 1
    check "ping router.address through the tunnel" et_wait_for -d c3 rs_ping_tunnel || ok=1
    failed="$(et_log_count c3 "could not connect to any remote host")"
    et_daemon_kill router
    # Three failed attempts: the backoff ceiling has grown to 8 s.
    check "attempts fail while the router is down" \
        et_wait_for -d c3 log_count_above c3 "could not connect to any remote host" \
        "$((failed + 2))" || ok=1
    # A change that lands during an attempt (a few ms) is left to it, and
    # one that finds a retry already due sooner changes nothing: try again.
    for i in 1 2 3 4 5; do
        read -r _ _ _ _ _ early_before < <(rs_stats c3) || true
        line="$(change_during_backoff "$i")"
        read -r _ _ _ _ _ early_after < <(rs_stats c3) || true
        [[ $line == *"(was backing off)"* ]] && ((early_after > early_before)) && break
    done
    echo "  info: ${line:0:200}"
    check "the change cut the backoff short" grep -q -F "(was backing off)" <<<"$line" || ok=1
    check_num "enftun counted an early retry" "$((early_after - early_before))" -ge 1 || ok=1
    check "the router restarts" rs_start_router || ok=1
    check "the tunnel comes back" et_wait_for -t 90 -d c3 rs_ping_tunnel || ok=1
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    command -v nft >/dev/null || et_skip "nft (nftables) not installed"
    echo "remotes_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    rs_make_topology
    rs_make_pki
    et_addr_add r lo "$SWALLOW/128"
    et_addr_add r lo "$REFUSE/128"
    et_exec r nft -f - <<EOF
table inet enftun_remotes {
    counter swallowed {}
    chain pre {
        type filter hook prerouting priority -400; policy accept;
        ip6 daddr $SWALLOW tcp dport 4443 counter name "swallowed" drop
    }
}
EOF
    # Names other than those in the hosts file must fail fast and stay on
    # this machine: the resolver asks 127.0.0.1 in d, where nothing listens.
    et_netns_hosts d "# empty until step b"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
        >"/etc/netns/$(et_ns d)/resolv.conf"
    rs_write_router_conf
    rs_start_router

    run_step a "dead and refusing hosts first: the next host is used" step_a
    run_step b "a host name from the namespace's hosts file" step_b
    run_step c "router killed and restarted: backoff, TUN up, fresh resolution" step_c b
    run_step d "a stable connection resets the backoff" step_d c
    run_step e "a network change while backing off: retry at once" step_e
    et_summary remotes_test
}

main "$@"
