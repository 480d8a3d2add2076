#!/usr/bin/env bash
# offload_test.sh: TCP through the tunnel with the TUN offloads on (CTest:
# netns.offload_test; exit 77 = skipped).
#
# Topology: c (enftun, fd00:e::5) ── veth ── r (enftun-router, gateway TUN
# enfr0 fd00:f::1). An 8 MiB random file goes each way over HTTPS
# (`openssl s_server -WWW` on one side, curl on the other), so the sending
# kernel's TCP hands the daemon super-packets that it must cut up. Checks:
#   a. router -> client: the file arrives with the same SHA-256 (a segment
#      with a wrong checksum, length or sequence number would be dropped or
#      corrupt the stream);
#   b. client -> router: the same;
#   c. the kernel really handed the daemons super-packets: on each side the
#      TUN's TX counters (kernel -> daemon) average more than the MTU per
#      packet, which only TSO allows;
#   d. once the transfers have gone quiet for a heartbeat period (1 s here),
#      the client hands back the buffers they grew (link/idle_trim.hpp):
#      its idle-trims count rises, and the trimmed client still tunnels.
#      (No VmRSS figure: it depends on the allocator and the page cache, and
#      bench/ measures it; this test asserts the behaviour.)
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ET_WAIT_TIMEOUT=20
readonly MTU=1500
FAILED=0

check() {
    local desc="$1"
    shift
    if "$@"; then
        echo "  ok: $desc"
    else
        echo "  not ok: $desc"
        FAILED=$((FAILED + 1))
    fi
}

setup() {
    et_router_client_pair
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$ET_TMP/pki" c1=fd00:e::5 >/dev/null
    write_router_conf "$ET_TMP/router.conf" cert="$ET_TMP/pki/router.pem" \
        key="$ET_TMP/pki/router.key" ca="$ET_TMP/pki/ca.pem" mtu="$MTU"
    write_client_conf "$ET_TMP/c1.conf" mtu="$MTU" ca="$ET_TMP/pki/ca.pem" \
        cert="$ET_TMP/pki/c1.pem" key="$ET_TMP/pki/c1.key" prefixes=fd00:e::/64,fd00:f::/64 \
        heartbeat_period=1000
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router listening r fd00:100::1 4443
    et_daemon_start c1 c "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
    et_wait_for -d c1 et_link_up c enf0
    et_exec c ip -6 route replace fd00:f::/64 dev enf0
    et_wait_for -d c1 et_exec c ping -6 -n -c 1 -W 1 fd00:f::1
}

# serve NAME NS ADDR: an HTTPS file server for $ET_TMP/www on ADDR:8443.
# (-WWW serves the current directory; no subshell: et_daemon_start must
# record the PID in this shell.)
serve() {
    cd "$ET_TMP/www"
    et_daemon_start "$1" "$2" openssl s_server -quiet -WWW -accept "[$3]:8443" \
        -cert "$ET_TMP/pki/router.pem" -key "$ET_TMP/pki/router.key"
    cd - >/dev/null
}

# fetch NS ADDR OUT: download the file through the tunnel.
fetch() {
    et_exec "$1" curl -sSgk --max-time 60 -o "$3" "https://[$2]:8443/blob"
}

listening() {
    [[ -n $(et_exec "$1" ss -Hltn "src [$2]:$3") ]]
}

same_file() {
    [[ -s $2 && $(sha256sum <"$1") == "$(sha256sum <"$2")" ]]
}

# tx_bytes_per_packet NS IF: average size of what the kernel queued to the daemon.
tx_bytes_per_packet() {
    ip -n "$(et_ns "$1")" -s link show dev "$2" |
        awk '$1 == "TX:" { getline; if ($2 > 0) print int($1 / $2); else print 0 }'
}

# idle_trims_above N: the client's stats show more than N idle trims.
idle_trims_above() {
    (($(et_daemon_stat c1 idle-trims) > $1))
}

main() {
    et_init
    command -v curl >/dev/null || et_skip "curl not installed"
    et_require_bins enftun enftun-router
    setup
    mkdir -p "$ET_TMP/www"
    head -c $((8 * 1024 * 1024)) /dev/urandom >"$ET_TMP/www/blob"
    serve srv-r r fd00:f::1
    et_wait_for -d srv-r listening r fd00:f::1 8443
    fetch c fd00:f::1 "$ET_TMP/down.bin" || true
    check "a. 8 MiB router -> client arrived intact" same_file "$ET_TMP/www/blob" "$ET_TMP/down.bin"
    serve srv-c c fd00:e::5
    et_wait_for -d srv-c listening c fd00:e::5 8443
    fetch r fd00:e::5 "$ET_TMP/up.bin" || true
    check "b. 8 MiB client -> router arrived intact" same_file "$ET_TMP/www/blob" "$ET_TMP/up.bin"
    local c_avg r_avg
    c_avg="$(tx_bytes_per_packet c enf0)"
    r_avg="$(tx_bytes_per_packet r enfr0)"
    echo "average kernel -> daemon packet: client TUN $c_avg bytes, router TUN $r_avg bytes"
    check "c. the client read super-packets (TSO)" test "$c_avg" -gt "$MTU"
    check "c. the router read super-packets (TSO)" test "$r_avg" -gt "$MTU"
    local trims
    trims="$(et_daemon_stat c1 idle-trims)"
    check "d. the client trims once the tunnel is quiet" \
        et_wait_for -d c1 idle_trims_above "$trims" || true
    check "d. the trimmed client still tunnels" et_exec c ping -6 -n -q -c 2 -W 2 fd00:f::1 >/dev/null
    echo "offload_test: $((6 - FAILED)) passed, $FAILED failed"
    ((FAILED == 0))
}

main "$@"
