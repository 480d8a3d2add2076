#!/usr/bin/env bash
# enroll_renew_test.sh: /v1/renew against a hostile device that holds an
# expired certificate, with openssl s_client as the device (CTest:
# netns.enroll_renew_test; exit 77 = skipped).
#
# One namespace "e" with only lo: the service listens on 127.0.0.1:8443.
# The device's certificate is one the service's CA issued for fd00:e::40,
# recorded in the state file as the service records its own, but valid for
# only LIFETIME seconds (the service issues days: `openssl ca` makes it).
#
# Steps: a while it is valid, renewals over TLS 1.3 and TLS 1.2 succeed
# (200; the second is the first's retry, with the same key: a renewal
# supersedes the certificate, which may then only retry it), and s_client
# keeps each TLS session; b once it has expired, a
# renewal with it is refused (401) in a full handshake, and also in a
# resumed one of those sessions (a session carries the verification of the
# certificate it was made with: resumed, it would renew an expired
# certificate); nothing is recorded for it after the expiry.
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps the work dir.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=enroll_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/enroll_lib.sh"

readonly HOST=127.0.0.1 ADDR=fd00:e::40
# Long enough for step a's two renewals on a loaded machine.
readonly LIFETIME=30
# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=$((LIFETIME + 30))

# short_cert NAME: NAME.pem for NAME.key (make_csr), CN = SAN IP = ADDR,
# the service's profile, from the service's CA, valid from 5 min ago for
# LIFETIME seconds; its line appended to the state file (under the
# service's lock, as the service appends its own).
short_cert() {
    local name="$1" db="$ET_TMP/ca-db" serial not_after
    mkdir -p "$db"
    : >"$db/index.txt"
    # 16 random bytes, positive, no leading zero byte: the service's form.
    serial="4$(openssl rand -hex 16 | cut -c2- | tr a-f A-F)"
    echo "$serial" >"$db/serial"
    cat >"$db/ca.cnf" <<CNF
[ca]
default_ca = device_ca
[device_ca]
database = $db/index.txt
new_certs_dir = $db
serial = $db/serial
default_md = sha256
policy = any_cn
copy_extensions = none
unique_subject = no
[any_cn]
commonName = supplied
[device]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = IP:$ADDR
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
    not_after=$((EPOCHSECONDS + LIFETIME))
    openssl ca -batch -notext -config "$db/ca.cnf" -cert "$ET_TMP/pki/ca.pem" \
        -keyfile "$ET_TMP/pki/ca.key" -in "$ET_TMP/$name.csr" -out "$ET_TMP/$name.pem" \
        -subj "/CN=$ADDR" -extensions device \
        -startdate "$(date -u -d "@$((EPOCHSECONDS - 300))" +%Y%m%d%H%M%SZ)" \
        -enddate "$(date -u -d "@$not_after" +%Y%m%d%H%M%SZ)" 2>"$ET_TMP/ca.err" || return 1
    [[ $(cert_serial "$ET_TMP/$name.pem") == "$serial" ]] || return 1
    flock "$ET_TMP/enrolled.lock" \
        sh -c 'echo "$1 $2 $3 $4 0" >>"$5"' sh "$ADDR" "$ENROLL_USER" "$serial" "$not_after" \
        "$ET_TMP/enrolled"
}

# renew_tls OUT CERT KEY VERSION [S_CLIENT ARGS]...: POST /v1/renew with a
# fresh CSR (or RENEW_CSR, when set) over `openssl s_client -VERSION`
# (TLS1_2 or TLS1_3) with CERT and KEY; s_client's output in OUT; prints
# the HTTP status (000: none).
RENEW_CSR=""
renew_tls() {
    local out="$1" cert="$2" key="$3" version="$4" body csr="$RENEW_CSR"
    shift 4
    if [[ -z $csr ]]; then
        make_csr "${out##*/}-new"
        csr="$ET_TMP/${out##*/}-new.csr"
    fi
    body="$(jq -c -n --rawfile csr "$csr" '{csr: $csr}')"
    printf 'POST /v1/renew HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
        "$HOST" "${#body}" "$body" |
        et_exec e timeout 30 openssl s_client -connect "$HOST:$ENROLL_PORT" -ign_eof \
            -CAfile "$ET_TMP/pki/ca.pem" -cert "$cert" -key "$key" "-$version" "$@" \
            >"$out" 2>&1 || true
    # The answer may follow s_client's session print on the same line.
    grep -o -m1 'HTTP/1\.1 [0-9][0-9][0-9]' "$out" | cut -d' ' -f2 | grep . || echo 000
}

# lines_for SERIAL-OR-ADDRESS: state lines that mention it.
lines_for() {
    grep -c -F -- "$1" "$ET_TMP/enrolled" || true
}

expired() {
    ! openssl x509 -in "$ET_TMP/short.pem" -noout -checkend 0 >/dev/null
}

# ---------------------------------------------------------------- steps

step_a() {
    local ok=0 v code
    make_csr short
    check "a certificate from the service's CA, recorded, valid for ${LIFETIME}s" \
        short_cert short || return 1
    make_csr renewed
    for v in tls1_3 tls1_2; do
        code="$(RENEW_CSR="$ET_TMP/renewed.csr" renew_tls "$ET_TMP/valid-$v" "$ET_TMP/short.pem" \
            "$ET_TMP/short.key" "$v" -sess_out "$ET_TMP/session-$v.pem")"
        check_num "$v: renewal with the valid certificate: 200" "$code" -eq 200 || ok=1
    done
    check "still valid after the renewals (else raise LIFETIME)" \
        openssl x509 -in "$ET_TMP/short.pem" -noout -checkend 0 || return 1
    return "$ok"
}

step_b() {
    local ok=0 v code before
    local -a resume
    et_wait_for expired || return 1
    before="$(lines_for "$ADDR")"
    for v in tls1_3 tls1_2; do
        code="$(renew_tls "$ET_TMP/expired-$v" "$ET_TMP/short.pem" "$ET_TMP/short.key" "$v")"
        check_num "$v: renewal with the expired certificate: 401" "$code" -eq 401 || ok=1
        check "... says it has expired" grep -q -F "certificate has expired" \
            "$ET_TMP/expired-$v" || ok=1
        # The session of step a, if the service gave one: s_client offers
        # it (and, were it not resumed, sends the expired certificate).
        resume=()
        [[ ! -s $ET_TMP/session-$v.pem ]] || resume=(-sess_in "$ET_TMP/session-$v.pem")
        code="$(renew_tls "$ET_TMP/resumed-$v" "$ET_TMP/short.pem" "$ET_TMP/short.key" "$v" \
            "${resume[@]}")"
        check_num "$v: renewal in the session of step a, now expired: 401" "$code" -eq 401 ||
            ok=1
        check "... which the service did not resume" not_reused "$ET_TMP/resumed-$v" || ok=1
    done
    check_num "nothing recorded for $ADDR after the expiry" "$(lines_for "$ADDR")" -eq "$before" ||
        ok=1
    return "$ok"
}

not_reused() {
    ! grep -q '^Reused,' "$1"
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "a|renewals with a short-lived certificate while it is valid: 200|step_a|"
        "b|expired: 401, in a full handshake and in a resumed session|step_b|a"
    )
    et_init
    et_require_bins enftun-enroll
    command -v jq >/dev/null || et_skip "jq not installed (scripts/install-deps)"
    echo "enroll_renew_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    enroll_run_steps "$HOST" "${steps[@]}"
    et_summary enroll_renew_test
}

main "$@"
