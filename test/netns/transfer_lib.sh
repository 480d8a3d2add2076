# transfer_lib.sh: bulk transfers through the tunnel and what the receiving
# kernels say of them, for the tests of super-packets (protocol_v2_test,
# ipv4_test, tun_offload_test, uso_test). Sourced after lib.sh; the test
# sets MTU (the tunnel's) and TABLE (its nftables table's name).
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
# 20M) from NS to DST's iperf3 server; its output goes to iperf.log.
# iperf3's server takes one test at a time and turns away a client that
# comes while it still winds the last one up ("the server is busy running
# a test"): back to back on a loaded machine that happened (ipv4_test under
# ASan). That refusal, and only that, is tried again, up to 5 times.
tl_iperf() {
    local ns="$1" dst="$2" out="$ET_TMP/iperf.last" try rc
    shift 2
    for try in 1 2 3 4 5; do
        rc=0
        et_exec "$ns" timeout 60 iperf3 "-$(tl_family "$dst")" -c "$dst" \
            -n "${TL_IPERF_SIZE:-20M}" --connect-timeout 5000 "$@" >"$out" 2>&1 || rc=$?
        cat "$out" >>"$ET_TMP/iperf.log"
        ((rc != 0)) && grep -q "server is busy" "$out" || return "$rc"
        echo "    (iperf3 server busy, try $try: again in 1 s)" >>"$ET_TMP/iperf.log"
        sleep 1
    done
    return "$rc"
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
