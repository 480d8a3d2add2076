#!/usr/bin/env bash
# mitm_test.sh: an attacker on the path (Dolev-Yao) between enftun and
# enftun-router gets nothing through (CTest: netns.mitm_test; 77 = skipped).
#
# Topology (namespaces "et<PID>-<name>", underlay = veth pairs):
#
#   c ──vm── fd00:200::2 ═ fd00:200::1 ──vc── m ──vr── fd00:201::2 ═ fd00:201::1 ──vm── r
#   c2 ─vr── fd00:202::2 ═════════════════════════════════════════ fd00:202::1 ──vc2─┘
#
#   r runs enftun-router (router.address fd00:e::1, listening on fd00:201::1
#   and fd00:202::1, port 4443). c (fd00:e::5) connects to fd00:201::1, its
#   route there goes through m, which forwards IPv6 and redirects TCP port
#   4443 (nftables, prerouting) to the man in the middle, tools/mitm_proxy.py:
#   the client sees the router's address and certificate, the attacker sees
#   every TLS record and tampers with one when the test arms it. c2
#   (fd00:e::6) is connected directly and pings the router throughout.
#
# Steps: a the tunnel works through the (honest) proxy; b each attack
# (flip, replay, inject, drop, reorder, truncate), each way (c2s: client to
# router, s2c: router to client), on an application-data record while c
# pings c2 with a marked payload: nothing altered, replayed or injected
# reaches a TUN (nftables counters on both TUNs: arrivals <= departures, no
# id and sequence number twice, nothing unknown), the connection is torn down and comes back,
# both daemons stay up, each side logs the event in one line (the receiver
# of the forged record with OpenSSL's reason: bad record mac, or unexpected
# EOF);
# c c2's session was undisturbed throughout; d peers that complete TCP but
# speak no TLS (garbage, or silence) get nowhere, against the router and,
# as a fake router, against the client.
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs/certs.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 C_ADDR=fd00:e::5 C2_ADDR=fd00:e::6
readonly ROUTER_VIA_M=fd00:201::1 ROUTER_DIRECT=fd00:202::1 M_CLIENT_SIDE=fd00:200::1
readonly TABLE=mitm_test
readonly PATTERN=e7 # ping -p: the payload that marks our echo requests
readonly HANDSHAKE_MS=2000
readonly PROXY="$ET_LIB_DIR/tools/mitm_proxy.py"
readonly ATTACKS=(flip replay inject drop reorder truncate)
# The pattern sits after the ICMPv6 header (8 bytes) and ping's timestamp
# (16 bytes): transport-header bits 192..223.
readonly MARKED="@th,192,32 0x$PATTERN$PATTERN$PATTERN$PATTERN"
PKI=""
CONTROL=""

# ------------------------------------------------------------- topology

make_topology() {
    et_ns_add c m r c2
    et_veth_add c vm m vc
    et_veth_add m vr r vm
    et_veth_add c2 vr r vc2
    et_addr_add c vm fd00:200::2/64
    et_addr_add m vc "$M_CLIENT_SIDE/64"
    et_addr_add m vr fd00:201::2/64
    et_addr_add r vm "$ROUTER_VIA_M/64"
    et_addr_add r vc2 "$ROUTER_DIRECT/64"
    et_addr_add c2 vr fd00:202::2/64
    et_exec c ip -6 route add fd00:201::/64 via "$M_CLIENT_SIDE"
    et_exec r ip -6 route add fd00:200::/64 via fd00:201::2
    et_exec m sysctl -q -w net.ipv6.conf.all.forwarding=1
    # The transparent proxy: TCP to port 4443 that m forwards is taken by the
    # proxy instead (its own connections to the router leave through output,
    # not prerouting, so they pass).
    et_exec m nft -f - <<EOF
table ip6 ${TABLE}_nat {
    chain pre {
        type nat hook prerouting priority dstnat;
        iifname "vc" tcp dport 4443 redirect to :4443
    }
}
EOF
}

# TUN counters. c sends marked echo requests to c2, c2 answers; each side
# counts what its stack sent into its TUN and what came out of it, and
# remembers each arrival's ICMPv6 id and sequence number: one that comes
# again is counted as "again" (a replay that got through). Anything else
# arriving on a TUN (other than link-local ND/RA from its own enftun and
# replies from the router to pings of its own) is "alien".
# load_counters NS ECHO-TYPE FROM-ADDR OTHER-RULE OUT-RULE
load_counters() {
    local ns="$1" type="$2" from="$3" other_rule="$4" out_rule="$5"
    local ours="ip6 saddr $from icmpv6 type $type $MARKED"
    et_exec "$ns" nft -f - <<EOF
table inet $TABLE {
    counter sent {}
    counter arrived {}
    counter again {}
    counter alien {}
    set seen {
        typeof icmpv6 id . icmpv6 sequence
        size 65535
        flags dynamic
    }
    chain pre {
        type filter hook prerouting priority -500; policy accept;
        iifname "enf0" jump from_tun
    }
    chain from_tun {
        $ours icmpv6 id . icmpv6 sequence @seen counter name "again" return
        $ours add @seen { icmpv6 id . icmpv6 sequence } counter name "arrived" return
        $other_rule
        ip6 saddr fe80::/10 return
        counter name "alien"
    }
    chain out {
        type filter hook output priority 500; policy accept;
        oifname "enf0" $out_rule counter name "sent"
    }
}
EOF
}

load_all_counters() {
    local router_reply="ip6 saddr $R_ADDR icmpv6 type echo-reply return"
    load_counters c echo-reply "$C2_ADDR" "$router_reply" \
        "ip6 saddr $C_ADDR ip6 daddr $C2_ADDR icmpv6 type echo-request"
    load_counters c2 echo-request "$C_ADDR" "$router_reply" \
        "ip6 saddr $C2_ADDR ip6 daddr $C_ADDR icmpv6 type echo-reply"
}

counter() {
    et_nft_counter "$1" "$TABLE" "$2"
}

counter_above() {
    (($(counter "$1" "$2") > $3))
}

make_pki() {
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip "$ROUTER_VIA_M" --router-ip "$ROUTER_DIRECT" \
        "$PKI" c="$C_ADDR" c2="$C2_ADDR"
}

write_confs() {
    write_router_conf "$ET_TMP/router.conf" listen="$ROUTER_VIA_M,$ROUTER_DIRECT" \
        address="$R_ADDR" cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_dev= handshake_timeout="$HANDSHAKE_MS"
    local -a common=("ca=$PKI/ca.pem" "prefixes=fd00:e::/64" reconnect_max_delay=1000)
    write_client_conf "$ET_TMP/c.conf" "${common[@]}" hosts="$ROUTER_VIA_M" \
        cert="$PKI/c.pem" key="$PKI/c.key"
    write_client_conf "$ET_TMP/c2.conf" "${common[@]}" hosts="$ROUTER_DIRECT" \
        cert="$PKI/c2.pem" key="$PKI/c2.key"
    # Step d: c's identity against a fake router in m (port 4444, not
    # redirected), on a TUN of its own.
    write_client_conf "$ET_TMP/fake.conf" "${common[@]}" hosts="$M_CLIENT_SIDE" port=4444 \
        dev=enfx0 connect_timeout="$HANDSHAKE_MS" cert="$PKI/c.pem" key="$PKI/c.key"
}

# ---------------------------------------------------------------- daemons

router_listening() {
    [[ -n $(et_exec r ss -Hltn "src [$ROUTER_VIA_M]:4443") &&
        -n $(et_exec r ss -Hltn "src [$ROUTER_DIRECT]:4443") ]]
}

proxy_listening() {
    [[ -S $CONTROL && -n $(et_exec m ss -Hltn "sport = :4443") ]]
}

start_client() {
    local name="$1"
    et_daemon_start "$name" "$name" "$ET_BIN_DIR/enftun" -c "$ET_TMP/$name.conf"
    et_wait_for -d "$name" et_link_up "$name" enf0 || return 1
    et_exec "$name" ip -6 route replace fd00:e::/64 dev enf0
}

start_all() {
    CONTROL="$ET_TMP/mitm.sock"
    et_daemon_start proxy m python3 -u "$PROXY" serve --listen :: 4443 \
        --upstream "$ROUTER_VIA_M" 4443 --control "$CONTROL" || return 1
    et_wait_for -d proxy proxy_listening || return 1
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router router_listening || return 1
    start_client c || return 1
    start_client c2 || return 1
}

ping_once() {
    et_exec "$1" ping -6 -n -c 1 -W 1 -p "$PATTERN" "$2"
}

proxy_ctl() {
    python3 "$PROXY" ctl "$CONTROL" "$@"
}

# warnings NAME: the daemon's warning and error lines so far.
warnings() {
    grep -c -E '^(warning|error): ' "$(et_daemon_log "$1")" || true
}

# ping_summary NAME FIELD: from a stopped ping's log, "transmitted",
# "received" or "duplicates" (0 when ping printed none).
ping_summary() {
    local line
    line="$(grep -E 'packets transmitted' "$(et_daemon_log "$1")" | tail -n 1)"
    case "$2" in
    transmitted) sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$line" ;;
    received) sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$line" ;;
    duplicates) sed -n 's/.* +\([0-9]*\) duplicates.*/\1/p' <<<"$line" | grep . || echo 0 ;;
    esac
}

# stop_ping NAME: SIGINT (ping prints its summary), wait, reap.
stop_ping() {
    kill -INT "$(et_daemon_pid "$1")" 2>/dev/null || true
    et_wait_for -t 10 et_daemon_exited "$1" || true
    et_daemon_stop "$1" 1
}

# ------------------------------------------------------------------ steps

step_a() {
    local ok=0
    check "c reaches the router through the proxy" \
        et_wait_for -d c -d router ping_once c "$R_ADDR" || ok=1
    check "c2 reaches the router directly" et_wait_for -d c2 -d router ping_once c2 "$R_ADDR" || ok=1
    check "c pings c2 with marked payload" ping_once c "$C2_ADDR" || ok=1
    check "the proxy relayed c's connection" et_log_has proxy "conn 1: open" || ok=1
    check "the router saw c arrive from the proxy (fd00:201::2)" \
        et_log_has router "session up: $C_ADDR from [fd00:201::2]" || ok=1
    check_num "c2's TUN counted c's marked echo request" "$(counter c2 arrived)" -ge 1 || ok=1
    check_num "c's TUN counted c2's marked echo reply" "$(counter c arrived)" -ge 1 || ok=1
    check_num "nothing alien on c's TUN" "$(counter c alien)" -eq 0 || ok=1
    check_num "nothing alien on c2's TUN" "$(counter c2 alien)" -eq 0 || ok=1
    # c2 pings the router for the whole of step b (bounded: 300 s).
    et_daemon_start bgping c2 ping -6 -n -i 0.2 -w 300 "$R_ADDR"
    return "$ok"
}

# attack KIND DIR: one attack while c pings c2 every 0.1 s.
attack() {
    local kind="$1" dir="$2" ok=0 name="ping-$1-$2"
    local fired ups sessions c_sent c_arr c2_sent c2_arr c_alien c2_alien c_warn r_warn arr
    local c_lost r_closed c_again c2_again
    fired="$(et_log_count proxy "fired $kind")"
    ups="$(et_log_count c "tunnel up")"
    sessions="$(sessions_total)"
    c_sent="$(counter c sent)"
    c_arr="$(counter c arrived)"
    c2_sent="$(counter c2 sent)"
    c2_arr="$(counter c2 arrived)"
    c_alien="$(counter c alien)"
    c2_alien="$(counter c2 alien)"
    c_warn="$(warnings c)"
    r_warn="$(warnings router)"
    c_again="$(counter c again)"
    c2_again="$(counter c2 again)"
    c_lost="$(et_log_count c "lost: ")"
    r_closed="$(et_log_count router "session closed: $C_ADDR")"

    check "proxy armed: $kind $dir" proxy_ctl arm "$kind" "$dir" || ok=1
    et_daemon_start "$name" c ping -6 -n -i 0.1 -w 60 -p "$PATTERN" "$C2_ADDR"
    check "the proxy fired $kind $dir" \
        et_wait_for -d proxy log_count_above proxy "fired $kind" "$fired" || ok=1
    check "c's tunnel came up again" et_wait_for -d c log_count_above c "tunnel up" "$ups" || ok=1
    check "the router has a new session (c's: c2's stays up)" \
        et_wait_for -d router sessions_total_above "$sessions" || ok=1
    arr="$(counter c arrived)"
    check "c's pings to c2 are answered again" \
        et_wait_for -d "$name" counter_above c arrived "$arr" || ok=1
    stop_ping "$name"

    local sent_c sent_c2 got_c2 got_c
    sent_c=$(($(counter c sent) - c_sent))
    got_c2=$(($(counter c2 arrived) - c2_arr))
    sent_c2=$(($(counter c2 sent) - c2_sent))
    got_c=$(($(counter c arrived) - c_arr))
    echo "  info: c sent $sent_c, c2 got $got_c2; c2 answered $sent_c2, c got $got_c;" \
        "ping: $(grep -h 'packets transmitted' "$(et_daemon_log "$name")")"
    check_num "c2's TUN: requests arrived <= sent by c" "$got_c2" -le "$sent_c" || ok=1
    check_num "c's TUN: replies arrived <= sent by c2" "$got_c" -le "$sent_c2" || ok=1
    check_num "c2's TUN: no request arrived twice" "$(($(counter c2 again) - c2_again))" -eq 0 ||
        ok=1
    check_num "c's TUN: no reply arrived twice" "$(($(counter c again) - c_again))" -eq 0 || ok=1
    check_num "ping saw no duplicate reply" "$(ping_summary "$name" duplicates)" -eq 0 || ok=1
    check_num "nothing alien on c's TUN" "$(($(counter c alien) - c_alien))" -eq 0 || ok=1
    check_num "nothing alien on c2's TUN" "$(($(counter c2 alien) - c2_alien))" -eq 0 || ok=1
    check "router still running" et_daemon_running router || ok=1
    check "c still running" et_daemon_running c || ok=1
    # One line each side: c's warning that the connection was lost, the
    # router's (info) line that the session closed, each with OpenSSL's
    # reason; the side that received the forged record names the record
    # check that caught it.
    check_num "c logged one warning" "$(($(warnings c) - c_warn))" -eq 1 || ok=1
    check_num "c logged one 'lost' line" "$(($(et_log_count c "lost: ") - c_lost))" -eq 1 || ok=1
    check_num "the router logged no warning" "$(($(warnings router) - r_warn))" -eq 0 || ok=1
    check_num "the router logged one 'session closed' line for c" \
        "$(($(et_log_count router "session closed: $C_ADDR") - r_closed))" -eq 1 || ok=1
    local receiver=router why="decryption failed or bad record mac"
    [[ $dir == c2s ]] || receiver=c
    [[ $kind != truncate ]] || why="unexpected eof while reading"
    check "$receiver says why: $why" \
        bash -c 'tail -n 20 "$1" | grep -E "lost: |session closed: " | tail -n 1 | grep -q -F "$2"' \
        _ "$(et_daemon_log "$receiver")" "$why" || ok=1
    return "$ok"
}

step_b() {
    local ok=0 kind dir
    for kind in "${ATTACKS[@]}"; do
        for dir in c2s s2c; do
            echo "  --- $kind $dir"
            attack "$kind" "$dir" || ok=1
        done
    done
    echo "  info: warnings logged by c:"
    grep -E '^(warning|error): ' "$(et_daemon_log c)" | sed 's/^/    | /' || true
    echo "  info: warnings logged by the router:"
    grep -E '^(warning|error): ' "$(et_daemon_log router)" | sed 's/^/    | /' || true
    return "$ok"
}

step_c() {
    local ok=0 sent got
    stop_ping bgping
    sent="$(ping_summary bgping transmitted)"
    got="$(ping_summary bgping received)"
    echo "  info: c2 -> router: $sent sent, $got answered"
    check_num "c2 pinged the router throughout" "${sent:-0}" -ge 20 || ok=1
    # The last request may be in flight when ping is stopped.
    check_num "c2 lost at most the last ping" "$((sent - got))" -le 1 || ok=1
    check_num "c2's tunnel came up once" "$(et_log_count c2 "tunnel up")" -eq 1 || ok=1
    check_not "the router never closed c2's session" \
        et_log_has router "session closed: $C2_ADDR" || ok=1
    check_num "c2 logged no warning" "$(warnings c2)" -eq 0 || ok=1
    return "$ok"
}

# unauthenticated_failures: the router's count of connections that never
# became a session: silent (first-byte-timeout), a bad ClientHello header
# (bad-hello), or failed in OpenSSL's handshake (handshake-failures). The
# router logs them as one summary every 10 s, not one line each.
# sessions_total: sessions the router has brought up since it started
# (status; its "session up" lines are rate-limited under churn, README "Logs").
sessions_total() {
    "$ET_BIN_DIR/enftun-router" status -c "$ET_TMP/router.conf" --json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["sessions_total"])'
}

# sessions_total_above N
sessions_total_above() {
    (($(sessions_total) > $1))
}

unauthenticated_failures() {
    et_daemon_stat router handshake-failures >/dev/null || return 1
    grep -F "handshake-failures " "$(et_daemon_log router)" | tail -n 1 |
        awk '{ for (i = 1; i < NF; i++)
                   if ($i == "first-byte-timeout" || $i == "bad-hello" ||
                       $i == "handshake-failures") n += $(i + 1) }
             END { print n + 0 }'
}

# rogue_router_peer SEND: a TCP peer in m against the router, sending SEND.
rogue_router_peer() {
    local send="$1" ok=0 name="rogue-$1" failed sessions
    failed="$(unauthenticated_failures)"
    sessions="$(sessions_total)"
    et_daemon_start "$name" m python3 -u "$PROXY" rogue --connect "$ROUTER_VIA_M" 4443 \
        --send "$send" --hold 20
    check "the router closed the $send peer's connection" \
        et_wait_for -d router et_log_has "$name" "closed by peer" || ok=1
    check_num "the router counted one failed handshake" \
        "$(($(unauthenticated_failures) - failed))" -eq 1 || ok=1
    check_num "no session came up" "$(sessions_total)" -eq "$sessions" || ok=1
    check "router still running" et_daemon_running router || ok=1
    et_daemon_stop "$name" 1
    return "$ok"
}

# fake_router SEND: a TCP server in m that sends SEND to enftun (fake.conf).
fake_router() {
    local send="$1" ok=0 name="fake-$1" warn
    et_daemon_start "$name" m python3 -u "$PROXY" rogue --listen "$M_CLIENT_SIDE" 4444 \
        --send "$send" --conns 2 --hold 20
    et_wait_for -d "$name" et_log_has "$name" "listening on" || ok=1
    et_daemon_start fake c "$ET_BIN_DIR/enftun" -c "$ET_TMP/fake.conf"
    check "enftun dropped the $send fake router, and came back to try again" \
        et_wait_for -d fake et_log_has "$name" "conn 2: closed by peer" || ok=1
    check_not "enftun never logged 'tunnel up'" et_log_has fake "tunnel up" || ok=1
    check "enftun still running" et_daemon_running fake || ok=1
    # One warning per attempt: the lost connection, with OpenSSL's reason.
    # An attempt after the fake stopped accepting is refused at connect
    # ("connect to ... failed", "could not connect to any remote host"):
    # those are not about the fake router's bytes, so they are not counted.
    warn="$(grep -E '^(warning|error): ' "$(et_daemon_log fake)" |
        grep -c -v -E 'connect to .* failed|could not connect to any remote host' || true)"
    check_num "enftun logged one warning per connection attempt" \
        "$warn" -le "$(et_log_count fake "connected to")" || ok=1
    et_daemon_stop fake
    check_num "enftun exit status after SIGTERM" "$ET_LAST_STATUS" -eq 0 || ok=1
    et_daemon_stop "$name" 1
    : >"$(et_daemon_log fake)" # the next fake router counts afresh
    et_wait_for -t 10 fake_tun_gone || true
    return "$ok"
}

fake_tun_gone() {
    ! et_link_exists c enfx0
}

step_d() {
    local ok=0 send r_warn
    r_warn="$(warnings router)"
    for send in garbage nothing; do
        echo "  --- router against a TCP peer that sends $send"
        rogue_router_peer "$send" || ok=1
        echo "  --- enftun against a fake router that sends $send"
        fake_router "$send" || ok=1
    done
    check "c still pings c2 through the proxy" ping_once c "$C2_ADDR" || ok=1
    # Summaries only (one per 10 s at most), however many peers failed.
    check_num "the router's warnings during this step" \
        "$(($(warnings router) - r_warn))" -le 2 || ok=1
    return "$ok"
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "a|the tunnel works through the transparent proxy|step_a|"
        "b|tampered records: nothing gets through, the tunnel recovers|step_b|a"
        "c|c2's direct session was undisturbed|step_c|a"
        "d|peers that speak no TLS get nowhere|step_d|"
    )
    et_init
    echo "mitm_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    et_require_bins enftun enftun-router
    command -v python3 >/dev/null || et_die "python3 not installed (scripts/install-deps)"
    make_topology
    load_all_counters
    make_pki
    write_confs
    if start_all; then
        run_steps "${steps[@]}"
    else
        echo "setup failed: proxy, router or clients did not come up (logs below)"
        fail_steps "setup failed" "${steps[@]}"
    fi
    et_summary mitm_test
}

main "$@"
