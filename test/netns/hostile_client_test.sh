#!/usr/bin/env bash
# hostile_client_test.sh: the router's data plane against an authenticated
# but hostile version-2 client (CTest: netns.hostile_client_test; exit 77 =
# skipped). x holds a valid certificate (fd00:e::8) and speaks through
# openssl s_client -alpn enftun/2, sending frames made by
# tools/v2_frames.py: well formed, so no protocol error, but costly.
#
# Topology (hub_lib.sh): r runs enftun-router with the gateway TUN enfr0
# (fd00:f::1) opened without offloads (router.tun.offload = false), so the
# super-packets for it are split in user space, and queue_limit 64 KiB; c2
# (fd00:e::6) runs enftun at version 1 (remote.protocol = 1), so the
# super-packets for it are split too; c1 (fd00:e::5) runs enftun at version
# 2 with tun.offload = false, so the router sends it super-packets whole and
# c1 splits them. nftables in c1 and c2 count what their kernels take in
# from x.
#
#   a. a split that fills the queue (one 64 KiB super-packet to c2, 43 of
#      its 46 segments fit): those reach c2 at once, without waiting for c2
#      to send (they stayed queued, unsent, until c2's next frame: its
#      heartbeat, 60 s), and count as sent to c2 (they were not counted).
#   b. tiny segments to the TUN: 64 KiB super-packets with gso_size 1 make
#      at most one segment per 32 payload bytes (65,000 without the bound,
#      each a TUN write: ~70 ms of the router's one thread per frame); the
#      rest is dropped and counted (split-limit); a super-packet with a
#      real segment size is split whole.
#   c. tiny segments to a version-1 client: the same bound; c2's kernel
#      gets the allowed segments and no more; c2's session counts their
#      bytes as sent (the super-packet's were counted).
#   d. tiny segments to a version-2 client whose TUN takes no offload: the
#      router sends the super-packet whole, c1 splits it under the same
#      bound (3,000 TUN writes in c1 for 3,000 bytes without it).
#   e. super-packets with another client's source (c2's), to c1 and to the
#      router TUN, then one of x's own to c1 on the same stream: the two
#      are dropped and counted as spoofed, nothing reaches the TUN, c1 gets
#      x's and nothing from c2's address.
#   f. a Neighbor Advertisement from x's own address to c1 (hop limit 255,
#      as only a neighbour on c1's link may send), then a packet of x's on
#      the same stream: c1's ingress filter drops the NA and counts it
#      (neighbor_discovery); c1's kernel gets only the packet.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=hub_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly MTU=1500 TABLE=enftun_hostile
readonly C1_ADDR=fd00:e::5 C2_ADDR=fd00:e::6 X_ADDR=fd00:e::8 GW_ADDR=fd00:f::1
# Payload bytes per segment a split pays for (tunnel::kSplitPayloadPerSegment).
readonly SPLIT_BYTES=32
PKI=""

# --------------------------------------------------------------- set-up

# write_confs: the router (its TUN without offloads, queue_limit 64 KiB),
# c1 (its TUN without offloads) and c2 at version 1.
write_confs() {
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1,fd00:102::1 \
        address=fd00:e::1 cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_dev=enfr0 tun_address="$GW_ADDR" tun_routes=fd00:e::/64 mtu="$MTU"
    sed -i "s/^  tun : {\$/&\n    offload = false;/" "$ET_TMP/router.conf"
    sed -i "s/^router : {\$/&\n  queue_limit = 65536;/" "$ET_TMP/router.conf"
    write_client_conf "$ET_TMP/c2.conf" ca="$PKI/ca.pem" prefixes=fd00:e::/64,fd00:f::/64 \
        mtu="$MTU" hosts=fd00:101::1 cert="$PKI/c2.pem" key="$PKI/c2.key" protocol=1
    write_client_conf "$ET_TMP/c1.conf" ca="$PKI/ca.pem" prefixes=fd00:e::/64,fd00:f::/64 \
        mtu="$MTU" hosts=fd00:100::1 cert="$PKI/c1.pem" key="$PKI/c1.key" protocol=2
    sed -i "s/^tun : {\$/&\n  offload = false;/" "$ET_TMP/c1.conf"
}

# count_from_x NS: NS's kernel counts the packets from x on its TUN, and
# those from c2's address (from_c2).
count_from_x() {
    et_exec "$1" nft delete table inet "$TABLE" 2>/dev/null || true
    et_exec "$1" nft -f - <<EOF
table inet $TABLE {
    counter from_x {}
    counter from_c2 {}
    chain pre {
        type filter hook prerouting priority -500; policy accept;
        iifname "enf0" ip6 saddr $X_ADDR counter name "from_x"
        iifname "enf0" ip6 saddr $C2_ADDR counter name "from_c2"
    }
}
EOF
}

# from_x [NS]: what NS's (c2's) kernel counted.
from_x() {
    et_nft_counter "${1:-c2}" "$TABLE" from_x
}

# frames FILE ARGS...: tools/v2_frames.py from x, ARGS added.
frames() {
    local file="$1"
    shift
    python3 "$ET_REPO/test/netns/tools/v2_frames.py" --src "$X_ADDR" "$@" >"$file"
}

# send NAME FILE: x connects, sends FILE and stays connected (s_client
# -quiet ignores the end of its input) until x_done.
send() {
    local ups
    ups="$(et_log_count router "session up: $X_ADDR ")"
    ET_STDIN="$2" et_daemon_start "$1" x timeout 60 openssl s_client -quiet -nocommands \
        -alpn enftun/2 -connect "[fd00:102::1]:4443" -CAfile "$PKI/ca.pem" \
        -verify_return_error -cert "$PKI/impostor.pem" -key "$PKI/impostor.key"
    et_wait_for -d router log_count_above router "session up: $X_ADDR " "$ups"
}

# stat_is FIELD N: the router's counter FIELD is N.
stat_is() {
    [[ $(et_daemon_stat router "$1") == "$2" ]]
}

# tx_bytes ADDR: the bytes the router queued to ADDR's session (status --json).
tx_bytes() {
    "$ET_BIN_DIR/enftun-router" status -c "$ET_TMP/router.conf" --json |
        python3 -c 'import json, sys
print(next(s["tx_bytes"] for s in json.load(sys.stdin)["session_list"] if s["address"] == sys.argv[1]))' "$1"
}

# counted_about ACTUAL EXPECTED: ACTUAL is EXPECTED, or a little more (an
# echo reply to c2's heartbeat may be counted alongside).
counted_about() {
    echo "counted $1, expected $2"
    (($1 >= $2 && $1 < $2 + 500))
}

# split_budget PAYLOAD: the most segments the router makes of a super-packet
# of PAYLOAD bytes it splits in user space (one per SPLIT_BYTES).
split_budget() {
    echo "$((($1 + SPLIT_BYTES - 1) / SPLIT_BYTES))"
}

# stat_at_least FIELD N
stat_at_least() {
    (($(et_daemon_stat router "$1") >= $2))
}

# ------------------------------------------------------------------ steps

# from_x_above N [NS]
from_x_above() {
    (($(from_x "${2:-c2}") > $1))
}

step_a() {
    local ok=0 tx
    tx="$(tx_bytes "$C2_ADDR")"
    count_from_x c2
    frames "$ET_TMP/full.bin" --dst "$C2_ADDR" --payload 65000 --gso-size 1440
    send xa "$ET_TMP/full.bin"
    check "the queue filled up halfway through the split" \
        et_wait_for -d router stat_is queue-full 1 || ok=1
    # c2 sends nothing on its own (heartbeat_period 60 s).
    check "the segments that fit reached c2 without c2 sending first" \
        et_wait_for -d c2 -d router from_x_above 0 || ok=1
    echo "    segments that reached c2: $(from_x)"
    check "c2's session counts the bytes of those 43 segments as sent" \
        counted_about "$(($(tx_bytes "$C2_ADDR") - tx))" "$((43 * MTU))" || ok=1
    et_daemon_stop xa
    return "$ok"
}

step_b() {
    local ok=0 frames=5 payload=65000 budget to_tun drops written
    budget="$(split_budget "$payload")"
    to_tun="$(et_daemon_stat router to-tun)"
    drops="$(et_daemon_stat router split-limit)"
    frames "$ET_TMP/tiny.bin" --dst "$GW_ADDR" --payload "$payload" --gso-size 1 \
        --count "$frames"
    send xb "$ET_TMP/tiny.bin"
    check "the segments beyond the bound were dropped and counted" et_wait_for -d router \
        stat_is split-limit "$((drops + frames * (payload - budget)))" || ok=1
    written=$(($(et_daemon_stat router to-tun) - to_tun))
    echo "    TUN writes for $frames frames of $payload bytes in 1-byte segments: $written"
    check "at most one TUN write per $SPLIT_BYTES payload bytes" \
        test "$written" -le "$((frames * budget))" || ok=1
    et_daemon_stop xb
    drops="$(et_daemon_stat router split-limit)"
    to_tun="$(et_daemon_stat router to-tun)"
    frames "$ET_TMP/mss.bin" --dst "$GW_ADDR" --payload "$payload" --gso-size 1440
    send xb2 "$ET_TMP/mss.bin"
    check "a real segment size is split whole ($(((payload + 1439) / 1440)) segments)" \
        et_wait_for -d router stat_at_least to-tun "$((to_tun + (payload + 1439) / 1440))" ||
        ok=1
    check "nothing of it dropped" stat_is split-limit "$drops" || ok=1
    et_daemon_stop xb2
    return "$ok"
}

# from_x_is N [NS]
from_x_is() {
    [[ $(from_x "${2:-c2}") == "$1" ]]
}

# send_tiny_to NS ADDR PAYLOAD NAME: x (daemon NAME) sends ADDR, NS's tunnel
# address, one super-packet of PAYLOAD bytes in 1-byte segments, and NS's
# kernel counts what of it arrives (from_x).
send_tiny_to() {
    count_from_x "$1"
    frames "$ET_TMP/tiny_$1.bin" --dst "$2" --payload "$3" --gso-size 1
    send "$4" "$ET_TMP/tiny_$1.bin"
}

step_c() {
    local ok=0 payload=3000 budget drops tx
    tx="$(tx_bytes "$C2_ADDR")"
    budget="$(split_budget "$payload")"
    drops="$(et_daemon_stat router split-limit)"
    send_tiny_to c2 "$C2_ADDR" "$payload" xc
    check "c2 got the allowed segments ($budget)" \
        et_wait_for -d c2 -d router from_x_is "$budget" || ok=1
    check "the rest was dropped and counted" \
        stat_is split-limit "$((drops + payload - budget))" || ok=1
    echo "    segments that reached c2: $(from_x)"
    check "c2's session counts the bytes of those segments (not the super-packet's)" \
        counted_about "$(($(tx_bytes "$C2_ADDR") - tx))" "$((budget * 61))" || ok=1
    et_daemon_stop xc
    return "$ok"
}

step_d() {
    local ok=0 payload=3000 budget drops
    budget="$(split_budget "$payload")"
    drops="$(et_daemon_stat router split-limit)"
    send_tiny_to c1 "$C1_ADDR" "$payload" xd
    check "c1 got the allowed segments ($budget)" \
        et_wait_for -d c1 -d router from_x_is "$budget" c1 || ok=1
    check "the router sent it whole (split nothing)" stat_is split-limit "$drops" || ok=1
    echo "    segments that reached c1: $(from_x c1)"
    et_daemon_stop xd
    return "$ok"
}

step_e() {
    local ok=0 spoofed to_tun
    spoofed="$(et_daemon_stat router spoofed)"
    to_tun="$(et_daemon_stat router to-tun)"
    count_from_x c1
    frames "$ET_TMP/spoof_c1.bin" --src "$C2_ADDR" --dst "$C1_ADDR" --gso-size 1000
    frames "$ET_TMP/spoof_gw.bin" --src "$C2_ADDR" --dst "$GW_ADDR" --gso-size 1000
    frames "$ET_TMP/own_c1.bin" --dst "$C1_ADDR" --gso-size 1000
    cat "$ET_TMP/spoof_c1.bin" "$ET_TMP/spoof_gw.bin" "$ET_TMP/own_c1.bin" >"$ET_TMP/spoof.bin"
    send xe "$ET_TMP/spoof.bin"
    check "x's own super-packet reached c1 (3 segments)" \
        et_wait_for -d c1 -d router from_x_is 3 c1 || ok=1
    check "nothing from c2's address reached c1" \
        test "$(et_nft_counter c1 "$TABLE" from_c2)" -eq 0 || ok=1
    check "both spoofed super-packets dropped and counted" \
        stat_is spoofed "$((spoofed + 2))" || ok=1
    check "nothing written to the router TUN" stat_is to-tun "$to_tun" || ok=1
    et_daemon_stop xe
    return "$ok"
}

# ingress_nd NAME: client NAME's ingress_neighbor_discovery drops (status --json).
ingress_nd() {
    "$ET_BIN_DIR/enftun" status -c "$ET_TMP/$1.conf" --json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["drops"]["ingress_neighbor_discovery"])'
}

step_f() {
    local ok=0 nd
    nd="$(ingress_nd c1)"
    count_from_x c1
    frames "$ET_TMP/na.bin" --dst "$C1_ADDR" --proto na
    frames "$ET_TMP/after_na.bin" --dst "$C1_ADDR" --plain --payload 100
    cat "$ET_TMP/na.bin" "$ET_TMP/after_na.bin" >"$ET_TMP/nd.bin"
    send xf "$ET_TMP/nd.bin"
    check "x's packet after the NA reached c1" et_wait_for -d c1 -d router from_x_above 0 c1 ||
        ok=1
    check "c1's kernel got that packet only, not the NA" from_x_is 1 c1 || ok=1
    check "c1's ingress filter counted the NA (neighbor_discovery)" \
        test "$(ingress_nd c1)" -eq "$((nd + 1))" || ok=1
    et_daemon_stop xf
    return "$ok"
}

main() {
    et_init
    command -v python3 >/dev/null || et_skip "python3 not installed"
    command -v openssl >/dev/null || et_skip "openssl not installed"
    command -v nft >/dev/null || et_skip "nft not installed"
    et_require_bins enftun enftun-router
    hub_topology
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip fd00:102::1 "$PKI" c1="$C1_ADDR" c2="$C2_ADDR" impostor="$X_ADDR" >/dev/null
    write_confs
    if hub_start_router && hub_start_client c1 && hub_start_client c2; then
        run_steps "a|a split that fills the queue is sent at once|step_a" \
            "b|tiny segments to the TUN are bounded|step_b" \
            "c|tiny segments to a version-1 client are bounded|step_c" \
            "d|tiny segments to a version-2 client without offload are bounded|step_d" \
            "e|super-packets with another client's source are dropped|step_e" \
            "f|neighbor discovery from another client never reaches the kernel|step_f"
    else
        echo "setup failed: router or c2 did not come up (logs below)"
        fail_steps "setup failed" a b c d e f
    fi
    et_summary hostile_client_test
}

main "$@"
