#!/usr/bin/env bash
# enroll_header_test.sh: enftun-enroll against peers that stream request
# header lines (unauthenticated, within their 5 s for the header), with
# openssl s_client fed by `yes` as the peers and curl as a real device
# (CTest: netns.enroll_header_test; exit 77 = skipped).
#
# One namespace "e" with only lo: the service listens on 127.0.0.1:8443.
#
# Steps: a PEERS connections from one source each send a request line and
# then "a:b" header lines as fast as they can (up to 6 s each, all at
# once): each is cut off, the service's peak memory grows by less than
# MAX_GROWTH_KIB (cpp-httplib keeps every header line: some 80 bytes per
# 5-byte line, and unbounded it took ~950 MiB for four such peers); b a
# real login and enrolment still succeed.
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
# 8 connections x 64 KiB of records x the multimap's overhead (8 MiB), and room
# for thread stacks and OpenSSL: far below what the flood took unbounded.
readonly MAX_GROWTH_KIB=$((128 * 1024))
SANITIZED=0

# vm_kib FIELD: the service's VmRSS or VmHWM in KiB.
vm_kib() {
    awk -v f="$1:" '$1 == f { print $2 }' "/proc/$(et_daemon_pid enroll)/status"
}

# header_flood OUT: a request line, then header lines until the service
# closes the connection (or 6 s).
header_flood() {
    {
        printf 'POST /v1/login HTTP/1.1\r\nHost: %s\r\n' "$HOST"
        yes $'a:b\r'
    } | et_exec e timeout 6 openssl s_client -quiet -connect "$HOST:$ENROLL_PORT" \
        -CAfile "$ET_TMP/pki/ca.pem" >"$1" 2>&1
}

# ---------------------------------------------------------------- steps

step_a() {
    local ok=0 i before peak rc
    local -a pids=()
    before="$(vm_kib VmRSS)"
    for ((i = 0; i < PEERS; i++)); do
        header_flood "$ET_TMP/flood-$i.out" &
        pids+=("$!")
    done
    local cut=0
    for i in "${!pids[@]}"; do
        rc=0
        wait "${pids[$i]}" || rc=$?
        # timeout's 124: the peer was still sending after 6 s.
        ((rc == 124)) || cut=$((cut + 1))
    done
    check_num "peers cut off by the service before 6 s" "$cut" -eq "$PEERS" || ok=1
    check "service still running" et_daemon_running enroll || ok=1
    peak="$(vm_kib VmHWM)"
    if ((SANITIZED)); then
        echo "  skip (sanitizer build): peak memory growth $((peak - before)) KiB"
    else
        check_num "peak memory growth in KiB" "$((peak - before))" -lt "$MAX_GROWTH_KIB" || ok=1
    fi
    return "$ok"
}

step_b() {
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
        "b|a real login and enrolment afterwards|step_b|"
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
