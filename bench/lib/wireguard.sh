# shellcheck shell=bash
# wireguard.sh: wireguard-go (Debian `wireguard-go`, configured with `wg`
# from `wireguard-tools`) for the benchmarks, in the shape enftun.sh
# describes. Server fd00:b0::1 (the target) listening on UDP 51820, client
# fd00:b0::2; MTU 1420, wireguard-go's default (1500 minus the outer IPv6,
# UDP and WireGuard headers). wireguard-go runs in the foreground (-f) so its
# PID is the process we measure. Its UAPI sockets live in /var/run/wireguard,
# which all namespaces share: the interface names carry our PID.

WIREGUARD_TARGET=fd00:b0::1
WIREGUARD_SRC=fd00:b0::2
WG_S_IF="bws$$"
WG_C_IF="bwc$$"

wireguard_prepare() {
    local dir="$ET_TMP/wireguard" side
    mkdir -p "$dir"
    for side in server client; do
        (umask 077 && wg genkey >"$dir/$side.key")
        wg pubkey <"$dir/$side.key" >"$dir/$side.pub"
    done
}

_wg_sock() {
    [[ -S /var/run/wireguard/$1.sock ]]
}

# _wg_go NAME SHORT IF: start wireguard-go for IF in namespace SHORT.
_wg_go() {
    # The variable silences the banner that asks Linux users for the kernel
    # module: the point here is to measure the userspace implementation.
    et_daemon_start "$1" "$2" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
        wireguard-go -f "$3"
    et_wait_for -d "$1" _wg_sock "$3"
}

wireguard_server_up() {
    local dir="$ET_TMP/wireguard"
    _wg_go wireguard-server r "$WG_S_IF"
    et_exec r wg set "$WG_S_IF" listen-port 51820 private-key "$dir/server.key" \
        peer "$(cat "$dir/client.pub")" allowed-ips "$WIREGUARD_SRC/128"
    et_exec r ip addr add "$WIREGUARD_TARGET/64" dev "$WG_S_IF" nodad
    et_exec r ip link set "$WG_S_IF" txqueuelen "$BENCH_TXQLEN" up
}

wireguard_client_prepare() {
    bench_persistent_tun c "$WG_C_IF" 1420
    et_exec c ip -6 route replace fd00:b0::/64 dev "$WG_C_IF"
}

wireguard_client_start() {
    local dir="$ET_TMP/wireguard"
    _wg_go wireguard-client c "$WG_C_IF"
    et_exec c wg set "$WG_C_IF" private-key "$dir/client.key" \
        peer "$(cat "$dir/server.pub")" endpoint "[$BENCH_R_UNDERLAY]:51820" \
        allowed-ips fd00:b0::/64
    et_exec c ip addr add "$WIREGUARD_SRC/64" dev "$WG_C_IF" nodad
}

wireguard_down() {
    et_daemon_stop wireguard-client 5
    et_daemon_stop wireguard-server 5
    et_exec c ip link del "$WG_C_IF" 2>/dev/null || true
    rm -f "/var/run/wireguard/$WG_S_IF.sock" "/var/run/wireguard/$WG_C_IF.sock"
}
