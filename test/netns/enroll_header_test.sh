#!/usr/bin/env bash
# enroll_header_test.sh: enftun-enroll against unauthenticated peers that
# send requests whose header or body has no size bound in cpp-httplib 0.11,
# with openssl s_client and curl as the peers (CTest:
# netns.enroll_header_test; exit 77 = skipped).
#
# One namespace "e" with only lo: the service listens on 127.0.0.1:8443.
#
# Steps, each with PEERS peers from one source at once, up to 6 s each; in
# each the service's peak memory grows by less than MAX_GROWTH_KIB:
#  a. a request line, then "a:b" header lines as fast as they can (httplib
#     keeps every header line, some 80 bytes per 5-byte line: unbounded,
#     1.5 GiB): each is cut off;
#  b. a chunked body, streamed (httplib's 64 KiB limit is for a
#     Content-Length only: unbounded, 6.6 GiB in 20 s): each is refused
#     (411) before its body is read;
#  c. a gzip body of 62 KiB that inflates to 64 MB (httplib inflates it
#     with no limit): refused (415) before it is read;
#  d. a real login and enrolment still succeed.
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps the work dir.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=enroll_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/enroll_lib.sh"

readonly HOST=127.0.0.1
# The per-source number of connections with the full 5 s for the header.
readonly PEERS=8
# 8 connections x 64 KiB of records x the multimap's overhead (8 MiB), and
# room for thread arenas and OpenSSL: far below what each flood took
# unbounded.
readonly MAX_GROWTH_KIB=$((128 * 1024))
SANITIZED=0

# vm_kib FIELD: the service's VmRSS or VmHWM in KiB.
vm_kib() {
    awk -v f="$1:" '$1 == f { print $2 }' "/proc/$(et_daemon_pid enroll)/status"
}

# peers_at_once NAME FN: FN OUT run by PEERS peers at once; checks that
# the service cut each off before 6 s, still runs, and grew its peak
# memory (VmHWM, reset first) by less than MAX_GROWTH_KIB.
peers_at_once() {
    local name="$1" fn="$2" ok=0 i rc cut=0 before peak
    local -a pids=()
    echo 5 >"/proc/$(et_daemon_pid enroll)/clear_refs" # VmHWM := VmRSS
    before="$(vm_kib VmHWM)"
    for ((i = 0; i < PEERS; i++)); do
        "$fn" "$ET_TMP/$name-$i.out" &
        pids+=("$!")
    done
    for i in "${!pids[@]}"; do
        rc=0
        wait "${pids[$i]}" || rc=$?
        # timeout's 124: the peer was still sending after 6 s.
        ((rc == 124)) || cut=$((cut + 1))
    done
    check_num "$name: peers cut off by the service before 6 s" "$cut" -eq "$PEERS" || ok=1
    check "service still running" et_daemon_running enroll || ok=1
    peak="$(vm_kib VmHWM)"
    if ((SANITIZED)); then
        echo "  skip (sanitizer build): $name: peak memory growth $((peak - before)) KiB"
    else
        check_num "$name: peak memory growth in KiB" "$((peak - before))" -lt "$MAX_GROWTH_KIB" ||
            ok=1
    fi
    return "$ok"
}

# s_client_peer OUT: stdin to the service over TLS until it closes the
# connection (or 6 s).
s_client_peer() {
    et_exec e timeout 6 openssl s_client -quiet -connect "$HOST:$ENROLL_PORT" \
        -CAfile "$ET_TMP/pki/ca.pem" >"$1" 2>&1
}

header_lines() {
    {
        printf 'POST /v1/login HTTP/1.1\r\nHost: %s\r\n' "$HOST"
        yes $'a:b\r'
    } | s_client_peer "$1"
}

chunked_body() {
    {
        printf 'POST /v1/login HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n' "$HOST"
        # Until the pipe breaks (the peer gone).
        while cat "$ET_TMP/chunks"; do :; done
    } | s_client_peer "$1"
}

gzip_body() {
    et_exec e timeout 6 curl -sS --cacert "$ET_TMP/pki/ca.pem" -H 'Content-Type: application/json' \
        -H 'Content-Encoding: gzip' --data-binary "@$ET_TMP/bomb.gz" -o "$1" \
        "$(enroll_url "$HOST" /v1/login)" 2>/dev/null
}

# answered NAME TEXT: a peer of NAME got an answer with TEXT (refusal lines
# in the log are rate-limited; a peer may see a reset instead, as its body
# was not read).
answered() {
    grep -q -F -- "$2" "$ET_TMP/$1"-*.out
}

# ---------------------------------------------------------------- steps

step_a() {
    peers_at_once headers header_lines
}

step_b() {
    local ok=0 i
    # 1 MiB of 16-KiB chunks, sent again and again.
    for ((i = 0; i < 64; i++)); do
        printf '4000\r\n'
        head -c 16384 /dev/zero | tr '\0' x
        printf '\r\n'
    done >"$ET_TMP/chunks"
    peers_at_once chunked chunked_body || ok=1
    check "answered 411" answered chunked "HTTP/1.1 411" || ok=1
    check "... saying why" answered chunked "Transfer-Encoding is not accepted" || ok=1
    return "$ok"
}

step_c() {
    local ok=0
    head -c 64000000 /dev/zero | gzip -9 >"$ET_TMP/bomb.gz"
    check_num "the gzip body's size in bytes, under the 64 KiB limit" \
        "$(stat -c %s "$ET_TMP/bomb.gz")" -lt 65536 || return 1
    peers_at_once gzip gzip_body || ok=1
    check "answered 415, saying why" answered gzip "Content-Encoding is not accepted" || ok=1
    return "$ok"
}

step_d() {
    local token code
    token="$(login e "$HOST")" || {
        echo "  not ok: login failed"
        return 1
    }
    make_csr device
    code="$(enroll e "$HOST" "$token" device auto)"
    check_num "enrolment: 200" "$code" -eq 200
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "a|$PEERS peers streaming header lines: cut off, memory bounded|step_a|"
        "b|$PEERS peers streaming chunked bodies: refused, memory bounded|step_b|"
        "c|$PEERS gzip bodies inflating to 64 MB: refused, memory bounded|step_c|"
        "d|a real login and enrolment afterwards|step_d|"
    )
    et_init
    et_require_bins enftun-enroll
    command -v jq >/dev/null || et_skip "jq not installed (scripts/install-deps)"
    if et_sanitized || grep -q -a -m 1 -F AddressSanitizer "$ET_BIN_DIR/enftun-enroll"; then
        SANITIZED=1
    fi
    echo "enroll_header_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    enroll_run_steps "$HOST" "${steps[@]}"
    et_summary enroll_header_test
}

main "$@"
