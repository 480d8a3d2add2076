# transfer_lib.sh: bulk transfers through the tunnel and what the receiving
# kernels say of them, for the tests of super-packets (protocol_v2_test,
# ipv4_test, tun_offload_test, uso_test; busy_poll_test uses tl_iperf). Sourced
# after lib.sh; the test sets MTU (the tunnel's) and TABLE (its nftables
# table's name).
# shellcheck shell=bash

# tl_load_counters NS DEV [MATCH] [NFT-COUNTERS NFT-RULES]: the table
# inet $TABLE in NS, counting from 0. Its counter "big" counts the packets
# longer than $MTU that NS's kernel took in from DEV (prerouting sees a GSO
# packet whole), narrowed by MATCH (nft, e.g. "meta nfproto ipv4"); a test
# may add counters and rules of its own (nft text, one per line).
tl_load_counters() {
    local ns="$1" dev="$2" match="${3:-}" counters="${4:-}" rules="${5:-}"
    et_exec "$ns" nft delete table inet "$TABLE" 2>/dev/null || true # from 0 again
    et_exec "$ns" nft -f - <<EOF
table inet $TABLE {
    counter big {}
    $counters
    chain pre {
        type filter hook prerouting priority -500; policy accept;
        iifname "$dev" $match meta length > $MTU counter name "big"
        $rules
    }
}
EOF
}

# tl_big NS: the packets "big" has counted in NS.
tl_big() {
    et_nft_counter "$1" "$TABLE" big
}

# tl_family ADDR: 4 or 6, iperf3's address family for ADDR.
tl_family() {
    if [[ $1 == *:* ]]; then echo 6; else echo 4; fi
}

# tl_iperf_listening NS ADDR: an iperf3 server in NS listens on ADDR.
tl_iperf_listening() {
    local src="$2"
    [[ $(tl_family "$2") == 6 ]] && src="[$2]"
    [[ -n $(et_exec "$1" ss -Hltn "src $src:5201") ]]
}

# tl_iperf NS DST [ARGS]: one bounded transfer (TL_IPERF_SIZE, default
# 20M; or, with TL_IPERF_TIME set, that many seconds) from NS to DST's
# iperf3 server; its output goes to iperf.log.
# iperf3 -s (3.12) takes one test at a time, and between two it is not
# ready: it closes its listening socket when a test ends and opens a new
# one (strace: close, then socket/bind/listen), and a client that comes
# while it still winds the last test up is told "the server is busy running
# a test". So a transfer right after another to the same server can meet
# "Connection refused" or "busy" (ipv4_test b, ASan CI with other tests
# running). Those two answers, the server's own, are tried again, up to 50
# times 0.2 s apart; any other failure fails at once.
tl_iperf() {
    local ns="$1" dst="$2" out="$ET_TMP/iperf.last" try
    local -a end=(-n "${TL_IPERF_SIZE:-20M}")
    [[ -z ${TL_IPERF_TIME:-} ]] || end=(-t "$TL_IPERF_TIME")
    shift 2
    for ((try = 1; try <= 50; try++)); do
        if et_exec "$ns" timeout 60 iperf3 "-$(tl_family "$dst")" -c "$dst" \
            "${end[@]}" --connect-timeout 5000 "$@" >"$out" 2>&1; then
            cat "$out" >>"$ET_TMP/iperf.log"
            return 0
        fi
        cat "$out" >>"$ET_TMP/iperf.log"
        grep -q -e "unable to connect to server.*Connection refused" -e "server is busy" "$out" ||
            return 1
        sleep 0.2
    done
    return 1
}

# tl_no_csum_errors NS [COUNTER...]: NS's kernel counted no bad checksum
# (by default TCP, UDP over IPv4 and IPv6, and IPv4 headers).
tl_no_csum_errors() {
    local ns="$1" n
    shift
    (($# > 0)) || set -- TcpInCsumErrors UdpInCsumErrors Udp6InCsumErrors IpExtInCsumErrors
    n="$(et_exec "$ns" nstat -az "$@" | awk 'NR > 1 { s += $2 } END { print s + 0 }')"
    [[ $n -eq 0 ]] || echo "    $ns: $n checksum errors"
    [[ $n -eq 0 ]]
}
