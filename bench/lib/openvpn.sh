# shellcheck shell=bash
# openvpn.sh: OpenVPN 2.6 (Debian `openvpn`) for the benchmarks, in the shape
# enftun.sh describes. Server mode over TCP (tcp6-server) with TLS
# certificates from scripts/gen-test-certs (its own CA), data channel
# AES-256-GCM, no kernel offload (--disable-dco), tun devices, IPv6 only
# inside: server fd00:a0::1 (the target), the client gets fd00:a0::1000, the
# first address of the --server-ipv6 pool. MTU: OpenVPN's default 1500.
# --tcp-nodelay (pushed to the client too) is the usual advice for TCP mode;
# --txqueuelen gives its TUNs the same kernel queue as enftun's.

OPENVPN_TARGET=fd00:a0::1
OPENVPN_SRC=fd00:a0::1000

openvpn_prepare() {
    local dir="$ET_TMP/openvpn"
    mkdir -p "$dir"
    "$BENCH_REPO/scripts/gen-test-certs" --ca-name bench-openvpn-ca \
        --router-ip "$BENCH_R_UNDERLAY" "$dir" client=fd00:a0::1000 >/dev/null
    cat >"$dir/server.conf" <<EOF
mode server
tls-server
proto tcp6-server
local $BENCH_R_UNDERLAY
lport 1194
dev bovs0
dev-type tun
topology subnet
server-ipv6 fd00:a0::/64
ca $dir/ca.pem
cert $dir/router.pem
key $dir/router.key
dh none
data-ciphers AES-256-GCM
tcp-nodelay
txqueuelen $BENCH_TXQLEN
disable-dco
verb 3
EOF
    cat >"$dir/client.conf" <<EOF
client
proto tcp6-client
remote $BENCH_R_UNDERLAY 1194
nobind
dev bovc0
dev-type tun
ca $dir/ca.pem
cert $dir/client.pem
key $dir/client.key
data-ciphers AES-256-GCM
txqueuelen $BENCH_TXQLEN
disable-dco
verb 3
EOF
}

_openvpn_ready() {
    et_link_up r bovs0 && [[ -n $(et_exec r ss -Hltn "src [$BENCH_R_UNDERLAY]:1194") ]]
}

openvpn_server_up() {
    et_daemon_start openvpn-server r openvpn --config "$ET_TMP/openvpn/server.conf"
    et_wait_for -d openvpn-server _openvpn_ready
}

openvpn_client_prepare() {
    bench_persistent_tun c bovc0 1500
    et_exec c ip -6 route replace fd00:a0::/64 dev bovc0
}

openvpn_client_start() {
    et_daemon_start openvpn-client c openvpn --config "$ET_TMP/openvpn/client.conf"
}

openvpn_down() {
    et_daemon_stop openvpn-client 5
    et_daemon_stop openvpn-server 5
    et_exec c ip link del bovc0 2>/dev/null || true
}
