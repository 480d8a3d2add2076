#!/usr/bin/env bash
# enroll_test.sh: enftun-enroll end to end, with curl as the device (CTest:
# netns.enroll_test; exit 77 = skipped).
#
# One namespace "e" with only lo: the service listens on 127.0.0.1:8443;
# requests come from 127.0.0.1, or from 127.0.0.3/.4 (curl --interface) when
# a step needs another source address (step j's slow clients: .5 to .9). Pool fd00:e::/48, fd00:e::1 reserved.
#
# Steps: a auto, /64 and exact enrolments, certificate contents; b duplicate
# exact address 409, outside the pool 403, state unchanged; c 200 concurrent
# `auto` enrolments get 200 distinct addresses; d SIGKILL during a burst,
# restart, another burst: no address twice, every returned certificate
# recorded; e failed logins 401 then 429 while another source logs in;
# malformed JSON/CSR, oversize body, weak key: 400/413, service still
# serves, no password in the log; f renew over mutual TLS (same address, new
# serial), then revoke: renew 403, CRL lists the serials; g the commands'
# usage and config errors; h the listener's TLS versions and suites; i a
# revoke while a burst is being recorded loses nothing; j 40 slowloris
# connections (a header byte every 2 s, from 5 sources): a real login and
# enrolment still succeed meanwhile, and the server closes every slow one;
# k IPv4 from ipv4_pool 198.18.0.0/25 (198.18.0.1 reserved): "auto" is the
# lowest free address, in the certificate (one more SAN IP), the state file
# and `list`; an exact one; 409/403/400 refusals; renewal keeps it; l 100
# concurrent requests
# for an IPv4 get 100 distinct ones, and a second burst uses up the pool:
# the surplus gets 503 "IPv4 address pool exhausted"; m `revoke 198.18.0.2`
# revokes that address's two certificates (first and renewed) and only
# those: list, CRL, renewal 403, the address stays taken (409), a second
# revoke changes nothing; an IPv4 never enrolled exit 1, a prefix exit 2.
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps the work dir.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=enroll_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/enroll_lib.sh"

readonly HOST=127.0.0.1
readonly WRONG_PASSWORD=wrong-password-7f3e
ENROLL_POOL='"fd00:e::/48"'
ENROLL_IPV4_POOL=198.18.0.0/25
ENROLL_IPV4_RESERVED=198.18.0.1
# One login enrols 550 devices in bursts here: no hourly limit
# (enroll_token_test d tests it).
ENROLL_EXTRA="max_enrolments_per_hour = 0;"
TOKEN=""

state_lines() {
    grep -c -v '^#' "$ET_TMP/enrolled" 2>/dev/null || true
}

# state_addresses: the recorded addresses, one per line, normalized.
state_addresses() {
    local addr
    grep -v '^#' "$ET_TMP/enrolled" | while read -r addr _; do
        norm_ipv6 "$addr"
        echo
    done
}

# ---------------------------------------------------------------- steps

cert_has() {
    grep -q -E -- "$2" <<<"$(openssl x509 -in "$1" -noout -text)"
}

# check_cert NAME ADDRESS: NAME.pem is a device certificate for ADDRESS.
check_cert() {
    local pem="$ET_TMP/$1.pem" addr="$2" ok=0 serial
    check "$1: chains to the CA, purpose sslclient" \
        openssl verify -CAfile "$ET_TMP/pki/ca.pem" -purpose sslclient "$pem" || ok=1
    check "$1: subject CN is the address" cert_has "$pem" "Subject: CN = $addr\$" || ok=1
    check "$1: subjectAltName IP is the address" same_ipv6 "$(cert_ip "$pem")" "$addr" || ok=1
    check "$1: EKU clientAuth only" cert_has "$pem" "^ *TLS Web Client Authentication\$" || ok=1
    check "$1: keyUsage critical" cert_has "$pem" "X509v3 Key Usage: critical" || ok=1
    check "$1: keyUsage digitalSignature only" cert_has "$pem" "^ *Digital Signature\$" || ok=1
    check "$1: CA:FALSE" cert_has "$pem" "^ *CA:FALSE\$" || ok=1
    check "$1: key is the CSR's" cmp <(openssl x509 -in "$pem" -noout -pubkey) \
        <(openssl pkey -in "$ET_TMP/$1.key" -pubout) || ok=1
    serial="$(cert_serial "$pem")"
    # 128 random bits: 32 hex digits, fewer only by chance (leading zeros).
    check_num "$1: serial has 128-bit size" "${#serial}" -ge 28 || ok=1
    check "$1: answer's ca is the CA" cmp <(jq -j .ca "$ET_TMP/$1.json") "$ET_TMP/pki/ca.pem" ||
        ok=1
    check "$1: recorded in the state file" grep -q " $serial " "$ET_TMP/enrolled" || ok=1
    return "$ok"
}

step_a() {
    local ok=0 code addr
    TOKEN="$(login e "$HOST")" || {
        echo "  not ok: login failed: $(cat "$ET_TMP/login.out")"
        return 1
    }
    check "token has >= 128 bits" test "${#TOKEN}" -ge 32 || ok=1
    make_csr auto1
    code="$(enroll e "$HOST" "$TOKEN" auto1 auto)"
    check_num "auto: status" "$code" -eq 200 || return 1
    addr="$(jq -r .address "$ET_TMP/auto1.json")"
    check "auto: address in the pool fd00:e::/48" \
        grep -q '^fd00000e0000' <<<"$(norm_ipv6 "$addr")" || ok=1
    check_cert auto1 "$addr" || ok=1

    # One certificate per login (token).
    TOKEN="$(login e "$HOST")" || return 1
    make_csr p64
    code="$(enroll e "$HOST" "$TOKEN" p64 fd00:e:0:7::/64)"
    check_num "/64: status" "$code" -eq 200 || return 1
    addr="$(jq -r .address "$ET_TMP/p64.json")"
    check "/64: address inside fd00:e:0:7::/64" \
        grep -q '^fd00000e00000007' <<<"$(norm_ipv6 "$addr")" || ok=1
    check_cert p64 "$addr" || ok=1

    make_csr exact -newkey ed25519
    TOKEN="$(login e "$HOST")" || return 1
    code="$(enroll e "$HOST" "$TOKEN" exact fd00:e::5)"
    check_num "exact: status" "$code" -eq 200 || return 1
    check "exact: the address asked for" test "$(jq -r .address "$ET_TMP/exact.json")" = fd00:e::5 ||
        ok=1
    check_cert exact fd00:e::5 || ok=1
    check_num "state: three enrolments" "$(state_lines)" -eq 3 || ok=1
    check "enrolments logged" et_log_has enroll "enrolled fd00:e::5 (request fd00:e::5" || ok=1
    return "$ok"
}

step_b() {
    local ok=0 code
    cp "$ET_TMP/enrolled" "$ET_TMP/enrolled.before"
    TOKEN="$(login e "$HOST")" || return 1
    make_csr dup
    code="$(enroll e "$HOST" "$TOKEN" dup fd00:e::5)"
    check_num "duplicate exact address: 409" "$code" -eq 409 || ok=1
    check "409 names the address" grep -q -F '"address fd00:e::5 is already enrolled"' \
        "$ET_TMP/dup.json" || ok=1
    code="$(enroll e "$HOST" "$TOKEN" dup fd00:f::5)"
    check_num "address outside the pool: 403" "$code" -eq 403 || ok=1
    code="$(enroll e "$HOST" "$TOKEN" dup fd00:f::/64)"
    check_num "/64 outside the pool: 403" "$code" -eq 403 || ok=1
    code="$(enroll e "$HOST" "$TOKEN" dup fd00:e::1)"
    check_num "reserved address: 403" "$code" -eq 403 || ok=1
    check "state file unchanged" cmp "$ET_TMP/enrolled" "$ET_TMP/enrolled.before" || ok=1
    return "$ok"
}

# burst_args DIR N [BODY]: N logins (at once), then the curl arguments for N
# concurrent enrolments with BODY (default: burst.req, `auto` for
# burst.csr), each with a token of its own (one certificate per login),
# each answer in DIR/<i>.json (the service ignores the query).
burst_args() {
    local dir="$1" n="$2" body="${3:-$ET_TMP/burst.req}" i token url
    mkdir -p "$dir" "$dir.login"
    login_body "$ET_TMP/burst-login.json"
    et_exec e curl -sS --max-time 120 -Z --parallel-max 100 --parallel-immediate \
        --cacert "$ET_TMP/pki/ca.pem" -H 'Content-Type: application/json' \
        --data-binary "@$ET_TMP/burst-login.json" -o "$dir.login/#1.json" \
        "$(enroll_url "$HOST" /v1/login)?n=[1-$n]" 2>>"$ET_TMP/curl.err" || true
    url="$(enroll_url "$HOST" /v1/enroll)"
    : >"$dir.conf"
    for ((i = 1; i <= n; i++)); do
        token="$(jq -r '.token // empty' "$dir.login/$i.json" 2>/dev/null || true)"
        {
            ((i == 1)) || printf 'next\n'
            printf 'url = "%s?n=%d"\noutput = "%s/%d.json"\n' "$url" "$i" "$dir" "$i"
            printf 'cacert = "%s"\nheader = "Authorization: Bearer %s"\n' \
                "$ET_TMP/pki/ca.pem" "${token:-none}"
            printf 'header = "Content-Type: application/json"\ndata-binary = "@%s"\n' "$body"
            printf 'max-time = 120\n'
        } >>"$dir.conf"
    done
    BURST_ARGS=(curl -sS -Z --parallel-max 100 --parallel-immediate -K "$dir.conf")
}

# burst DIR N [BODY]: run it and wait.
burst() {
    burst_args "$@"
    et_exec e "${BURST_ARGS[@]}" 2>>"$ET_TMP/curl.err" || true
}

# answered FIELD DIR...: that field of every complete answer with an address.
answered() {
    local field="$1"
    shift
    find "$@" -name '*.json' -exec jq -j "select(.address) | .$field, \"\\n\"" {} + 2>/dev/null
}

# answered_addresses DIR...: normalized, one per line.
answered_addresses() {
    local addr
    answered address "$@" | while read -r addr; do
        norm_ipv6 "$addr"
        echo
    done
}

# answered_serials DIR...: the serials of the answered certificates.
answered_serials() {
    local pem
    rm -f "$ET_TMP"/ans-*
    answered certificate "$@" | csplit -s -z -f "$ET_TMP/ans-" -n 4 - '/BEGIN CERT/' '{*}'
    for pem in "$ET_TMP"/ans-*; do
        cert_serial "$pem"
    done
}

step_c() {
    local ok=0 before
    make_csr burst
    enroll_body "$ET_TMP/burst.req" "$ET_TMP/burst.csr" auto
    before="$(state_lines)"
    burst "$ET_TMP/burst-c" 200
    check_num "200 answers with an address" "$(answered_addresses "$ET_TMP/burst-c" |
        wc -l)" -eq 200 || ok=1
    check_num "200 distinct addresses" "$(answered_addresses "$ET_TMP/burst-c" |
        sort -u | wc -l)" -eq 200 || ok=1
    check_num "200 more enrolments recorded" "$(($(state_lines) - before))" -eq 200 || ok=1
    check_num "no address recorded twice" "$(state_addresses | sort | uniq -d | wc -l)" -eq 0 ||
        ok=1
    return "$ok"
}

state_grew_by() {
    (($(state_lines) >= $1))
}

step_d() {
    local ok=0 before serial missing=0
    before="$(state_lines)"
    # The burst runs as a daemon so cleanup ends it if the test dies.
    burst_args "$ET_TMP/burst-d1" 300
    et_daemon_start burst e "${BURST_ARGS[@]}"
    et_wait_for -d enroll state_grew_by "$((before + 30))" || ok=1
    et_daemon_kill enroll
    check "burst ends after the kill" et_wait_for et_daemon_exited burst || ok=1
    et_daemon_reap burst
    check "service restarts on the same state" enroll_start e "$HOST" || return 1
    TOKEN="$(login e "$HOST")" || return 1
    burst "$ET_TMP/burst-d2" 50
    check_num "second burst: 50 answers" "$(answered_addresses "$ET_TMP/burst-d2" |
        wc -l)" -eq 50 || ok=1
    local -a dirs=("$ET_TMP/burst-c" "$ET_TMP/burst-d1" "$ET_TMP/burst-d2")
    answered_addresses "${dirs[@]}" >"$ET_TMP/answered"
    echo "  ($(answered_addresses "$ET_TMP/burst-d1" | wc -l) answered before the kill;" \
        "$(wc -l <"$ET_TMP/answered") in all bursts; $(state_lines) recorded)"
    check_num "no address answered twice" "$(sort "$ET_TMP/answered" | uniq -d | wc -l)" -eq 0 ||
        ok=1
    check_num "no address recorded twice" "$(state_addresses | sort | uniq -d | wc -l)" -eq 0 ||
        ok=1
    # Every certificate that reached a device is in the state file.
    answered_serials "${dirs[@]}" >"$ET_TMP/answered-serials"
    check_num "a serial for each answer" "$(wc -l <"$ET_TMP/answered-serials")" -eq \
        "$(wc -l <"$ET_TMP/answered")" || ok=1
    while read -r serial; do
        grep -q " $serial " "$ET_TMP/enrolled" || missing=$((missing + 1))
    done <"$ET_TMP/answered-serials"
    check_num "answered certificates missing from the state" "$missing" -eq 0 || ok=1
    return "$ok"
}

# status_of FILE EXPECTED-TEXT: the error message contains the text.
error_says() {
    grep -q -F -- "$2" <<<"$(jq -r .error "$1")"
}

step_e() {
    local ok=0 code i
    login_body "$ET_TMP/wrong.json" "$ENROLL_USER" "$WRONG_PASSWORD"
    for i in 1 2 3 4 5; do
        code="$(api e "$HOST" /v1/login "$ET_TMP/wrong.json" "$ET_TMP/e.out" \
            --interface 127.0.0.3)"
        check_num "wrong password #$i: 401" "$code" -eq 401 || ok=1
    done
    check "401 says so" error_says "$ET_TMP/e.out" "wrong user or password" || ok=1
    login_body "$ET_TMP/unknown.json" nobody@example "$WRONG_PASSWORD"
    code="$(api e "$HOST" /v1/login "$ET_TMP/unknown.json" "$ET_TMP/e.out" --interface 127.0.0.4)"
    check_num "unknown user: 401" "$code" -eq 401 || ok=1
    check "same message for an unknown user" error_says "$ET_TMP/e.out" \
        "wrong user or password" || ok=1
    code="$(api e "$HOST" /v1/login "$ET_TMP/wrong.json" "$ET_TMP/e.out" --interface 127.0.0.3)"
    check_num "6th failure from 127.0.0.3: 429" "$code" -eq 429 || ok=1
    login_body "$ET_TMP/right.json"
    code="$(api e "$HOST" /v1/login "$ET_TMP/right.json" "$ET_TMP/e.out" --interface 127.0.0.3)"
    check_num "right password from 127.0.0.3 while limited: 429" "$code" -eq 429 || ok=1
    code="$(api e "$HOST" /v1/login "$ET_TMP/right.json" "$ET_TMP/e.out" --interface 127.0.0.4)"
    check_num "another source (127.0.0.4) still logs in: 200" "$code" -eq 200 || ok=1

    # Refused requests leave the token good: one login for all of them.
    TOKEN="$(login e "$HOST")" || return 1
    printf '{"csr": "x", ' >"$ET_TMP/bad1.json"
    code="$(api e "$HOST" /v1/enroll "$ET_TMP/bad1.json" "$ET_TMP/e.out" \
        -H "Authorization: Bearer $TOKEN")"
    check_num "malformed JSON: 400" "$code" -eq 400 || ok=1
    check "... says so" error_says "$ET_TMP/e.out" "not valid JSON" || ok=1
    jq -n '{csr: 5, request: "auto"}' >"$ET_TMP/bad2.json"
    code="$(api e "$HOST" /v1/enroll "$ET_TMP/bad2.json" "$ET_TMP/e.out" \
        -H "Authorization: Bearer $TOKEN")"
    check_num "csr not a string: 400" "$code" -eq 400 || ok=1
    check "... names the field" error_says "$ET_TMP/e.out" '"csr" must be a string' || ok=1
    printf -- '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' \
        >"$ET_TMP/garbage.csr"
    enroll_body "$ET_TMP/bad3.json" "$ET_TMP/garbage.csr" auto
    code="$(api e "$HOST" /v1/enroll "$ET_TMP/bad3.json" "$ET_TMP/e.out" \
        -H "Authorization: Bearer $TOKEN")"
    check_num "garbage CSR: 400" "$code" -eq 400 || ok=1
    check "... says so" error_says "$ET_TMP/e.out" "not a PEM certificate request" || ok=1
    make_csr weak -newkey rsa:1024
    code="$(enroll e "$HOST" "$TOKEN" weak auto)"
    check_num "RSA-1024 key: 400" "$code" -eq 400 || ok=1
    check "... names the key policy" error_says "$ET_TMP/weak.json" \
        "key must be EC P-256/P-384, Ed25519 or RSA >= 2048 bits" || ok=1
    make_csr badreq
    code="$(enroll e "$HOST" "$TOKEN" badreq fd00:e::/65)"
    check_num "a /65: 400" "$code" -eq 400 || ok=1
    code="$(enroll e "$HOST" "$TOKEN" badreq fd00::zz)"
    check_num "fd00::zz: 400" "$code" -eq 400 || ok=1
    head -c 70000 /dev/zero | tr '\0' x >"$ET_TMP/big.json"
    code="$(api e "$HOST" /v1/enroll "$ET_TMP/big.json" "$ET_TMP/e.out" \
        -H "Authorization: Bearer $TOKEN")"
    check_num "70000-byte body: 413" "$code" -eq 413 || ok=1
    code="$(enroll e "$HOST" nonsense-token badreq auto)"
    check_num "unknown token: 401" "$code" -eq 401 || ok=1
    check "service still running" et_daemon_running enroll || ok=1
    make_csr after
    code="$(enroll e "$HOST" "$TOKEN" after auto)"
    check_num "service still enrols" "$code" -eq 200 || ok=1
    check_not "no password in the log" grep -q -F -e "$WRONG_PASSWORD" -e "$ENROLL_PASSWORD" \
        "$(et_daemon_log enroll)" || ok=1
    return "$ok"
}

renew() {
    local name="$1" cert="$2" key="$3"
    jq -n --rawfile csr "$ET_TMP/$name.csr" '{csr: $csr}' >"$ET_TMP/$name.req"
    api e "$HOST" /v1/renew "$ET_TMP/$name.req" "$ET_TMP/$name.json" \
        ${cert:+--cert "$cert" --key "$key"}
}

step_f() {
    local ok=0 code old_serial new_serial
    make_csr renewed
    code="$(renew renewed "$ET_TMP/exact.pem" "$ET_TMP/exact.key")"
    check_num "renew with the current certificate: 200" "$code" -eq 200 || return 1
    jq -j .certificate "$ET_TMP/renewed.json" >"$ET_TMP/renewed.pem"
    check "same address" test "$(jq -r .address "$ET_TMP/renewed.json")" = fd00:e::5 || ok=1
    check_cert renewed fd00:e::5 || ok=1
    old_serial="$(cert_serial "$ET_TMP/exact.pem")"
    new_serial="$(cert_serial "$ET_TMP/renewed.pem")"
    check "new serial" test "$old_serial" != "$new_serial" || ok=1
    make_csr renew2
    code="$(renew renew2 "" "")"
    check_num "renew without a client certificate: 401" "$code" -eq 401 || ok=1
    check "revoke fd00:e::5" enroll_cli revoke fd00:e::5 || ok=1
    code="$(renew renew2 "$ET_TMP/renewed.pem" "$ET_TMP/renewed.key")"
    check_num "renew with a revoked certificate: 403" "$code" -eq 403 || ok=1
    check "... says so" error_says "$ET_TMP/renew2.json" "certificate is revoked" || ok=1
    check "CRL verifies with the CA" openssl crl -in "$ET_TMP/crl.pem" -CAfile "$ET_TMP/pki/ca.pem" \
        -noout || ok=1
    openssl crl -in "$ET_TMP/crl.pem" -noout -text >"$ET_TMP/crl.txt"
    check "CRL lists the old serial" grep -q "Serial Number: $old_serial" "$ET_TMP/crl.txt" || ok=1
    check "CRL lists the new serial" grep -q "Serial Number: $new_serial" "$ET_TMP/crl.txt" || ok=1
    check "list shows it revoked" grep -q "^fd00:e::5 .* revoked\$" <(enroll_cli list) || ok=1
    check_not "revoke of an unknown address fails" enroll_cli revoke fd00:e::99 || ok=1
    return "$ok"
}

# exit_status WANT CMD...: CMD exits with status WANT.
exit_status() {
    local want="$1" rc=0
    shift
    "$@" || rc=$?
    ((rc == want))
}

step_g() {
    local ok=0 out
    check "no -c: usage error, exit 2" exit_status 2 "$ET_BIN_DIR/enftun-enroll" list || ok=1
    check "unknown command: exit 2" exit_status 2 enroll_cli frobnicate || ok=1
    check "revoke without an address: exit 2" exit_status 2 enroll_cli revoke || ok=1
    check "revoke of a non-address: exit 2" exit_status 2 enroll_cli revoke fd00::zz || ok=1
    check "user add of a bad name: exit 2" exit_status 2 enroll_cli user add 'a b' || ok=1
    sed 's/cert_days = 30;/cert_days = 0;/' "$ET_TMP/enroll.conf" >"$ET_TMP/bad.conf"
    out="$("$ET_BIN_DIR/enftun-enroll" -c "$ET_TMP/bad.conf" list 2>&1)" && ok=1
    check "config error: FILE:LINE: KEY: reason" grep -q -F \
        "$ET_TMP/bad.conf:11: enroll.cert_days: must be between 1 and 3650 (got 0)" <<<"$out" ||
        ok=1
    check "config error: exit 1" exit_status 1 "$ET_BIN_DIR/enftun-enroll" -c "$ET_TMP/bad.conf" \
        list || ok=1
    check "user add from stdin, then that password logs in" \
        enroll_cli user add second@example <<<"another password" || ok=1
    login_body "$ET_TMP/second.json" second@example "another password"
    check_num "second user logs in" "$(api e "$HOST" /v1/login "$ET_TMP/second.json" \
        "$ET_TMP/g.out" --interface 127.0.0.5)" -eq 200 || ok=1
    check "user del" enroll_cli user del second@example || ok=1
    check_num "deleted user no longer logs in" "$(api e "$HOST" /v1/login "$ET_TMP/second.json" \
        "$ET_TMP/g.out" --interface 127.0.0.5)" -eq 401 || ok=1
    check "users file is private" test "$(stat -c %a "$ET_TMP/users")" = 600 || ok=1
    check "CRL is world-readable" test "$(stat -c %a "$ET_TMP/crl.pem")" = 644 || ok=1
    return "$ok"
}

# revoked_in_state ADDRESS: every line of ADDRESS in the state is revoked.
revoked_in_state() {
    local lines
    lines="$(grep "^$1 " "$ET_TMP/enrolled")"
    [[ -n $lines ]] && ! grep -q ' 0$' <<<"$lines"
}

# i: `revoke` while a burst of enrolments is being written: the service and
# the command share the state file under one lock, so neither the revoke
# nor any enrolment is lost.
step_i() {
    local ok=0 before addr serial n
    addr="$(jq -r .address "$ET_TMP/p64.json")"
    serial="$(cert_serial "$ET_TMP/p64.pem")"
    before="$(state_lines)"
    burst_args "$ET_TMP/burst-i" 150
    et_daemon_start burst-i e "${BURST_ARGS[@]}"
    et_wait_for -d enroll state_grew_by "$((before + 20))" || ok=1
    check "revoke $addr during the burst" enroll_cli revoke "$addr" || ok=1
    check "burst ends" et_wait_for et_daemon_exited burst-i || ok=1
    et_daemon_reap burst-i
    n="$(answered_addresses "$ET_TMP/burst-i" | wc -l)"
    check_num "burst: 150 answers" "$n" -eq 150 || ok=1
    check_num "every enrolment of the burst recorded" "$(($(state_lines) - before))" -eq "$n" ||
        ok=1
    check "the revoke is still in the state file" revoked_in_state "$addr" || ok=1
    check "the CRL lists its serial" grep -q "Serial Number: $serial" \
        <(openssl crl -in "$ET_TMP/crl.pem" -noout -text) || ok=1
    return "$ok"
}

# handshake ARGS...: an openssl s_client handshake with the service succeeds.
# Its exit status counts: a refused handshake still prints "Verify return
# code: 0 (ok)".
handshake() {
    local out
    out="$(et_exec e timeout 10 openssl s_client -connect "$HOST:$ENROLL_PORT" \
        -CAfile "$ET_TMP/pki/ca.pem" -verify_return_error "$@" </dev/null 2>&1)" || return 1
    grep -q 'Verify return code: 0 (ok)' <<<"$out"
}

step_h() {
    local ok=0
    check "TLS 1.3" handshake -tls1_3 || ok=1
    check "TLS 1.2 with ECDHE and AES-GCM" handshake -tls1_2 \
        -cipher ECDHE-ECDSA-AES128-GCM-SHA256 || ok=1
    check_not "TLS 1.1 refused" handshake -tls1_1 -cipher 'ALL:@SECLEVEL=0' || ok=1
    check_not "TLS 1.2 without forward secrecy (AES128-GCM-SHA256) refused" handshake -tls1_2 \
        -cipher AES128-GCM-SHA256 || ok=1
    check_not "TLS 1.2 with CBC (ECDHE-ECDSA-AES128-SHA256) refused" handshake -tls1_2 \
        -cipher ECDHE-ECDSA-AES128-SHA256 || ok=1
    return "$ok"
}

# slow_established N: at least N slowloris connections are established.
slow_established() {
    local n
    n="$(et_exec e ss -Htn state established "dport = :$ENROLL_PORT" | grep -c '127\.0\.0\.[5-9]:')"
    ((n >= $1))
}

step_j() {
    local ok=0 token code line t0
    # 40 > the pool's 16 threads, 8 per source: all within the per-source
    # cap, so only the header deadline can free the threads. Without it
    # they stay open for all 60 s (httplib's read timeout counts per read).
    et_daemon_start slow e python3 "$ET_LIB_DIR/tools/slowloris.py" \
        "$HOST" "$ENROLL_PORT" 40 5 60
    check "40 slow connections open" et_wait_for -d slow slow_established 40 || ok=1
    t0="$SECONDS"
    token="$(login e "$HOST")" || true
    check "a real login meanwhile" test -n "$token" || ok=1
    make_csr slow-real
    code="$(enroll e "$HOST" "$token" slow-real auto)"
    check_num "a real enrolment meanwhile: 200" "$code" -eq 200 || ok=1
    echo "  (login and enrolment took $((SECONDS - t0)) s; curl gives up after 30 s each)"
    check "the slowloris client ends" et_wait_for -t 90 et_daemon_exited slow || ok=1
    et_daemon_reap slow
    line="$(grep '^closed ' "$ET_TMP/slow.log" || true)"
    echo "  $line"
    check "the server closed all 40 slow connections" grep -q '^closed 40/40 ' \
        "$ET_TMP/slow.log" || ok=1
    return "$ok"
}

# in_ipv4_pool ADDR: ADDR is a host address of 198.18.0.0/25 (.1 to .126).
in_ipv4_pool() {
    [[ $1 =~ ^198\.18\.0\.([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 1 && BASH_REMATCH[1] <= 126))
}

# enroll_v4 NAME IPV4 WANT-CODE: a fresh CSR enrolled with request auto and
# that "ipv4"; the status is WANT-CODE.
enroll_v4() {
    local code
    make_csr "$1"
    TOKEN="$(login e "$HOST")" || return 1
    code="$(enroll e "$HOST" "$TOKEN" "$1" auto "$2")"
    check_num "ipv4 $2: $3" "$code" -eq "$3"
}

# refused_v4 NAME IPV4 CODE MESSAGE: enroll_v4 answers CODE, its error
# holding MESSAGE.
refused_v4() {
    local ok=0
    enroll_v4 "$1" "$2" "$3" || ok=1
    check "... says \"$4\"" error_says "$ET_TMP/$1.json" "$4" || ok=1
    return "$ok"
}

step_k() {
    local ok=0 v4 addr code
    TOKEN="$(login e "$HOST")" || return 1
    enroll_v4 v4a auto 200 || return 1
    v4="$(jq -r .ipv4 "$ET_TMP/v4a.json")"
    addr="$(jq -r .address "$ET_TMP/v4a.json")"
    check "auto: the lowest free address of the pool, 198.18.0.2 (got $v4)" \
        test "$v4" = 198.18.0.2 || ok=1
    check "the certificate holds it as its one IPv4 address" \
        test "$(cert_ipv4s "$ET_TMP/v4a.pem")" = 198.18.0.2 || ok=1
    check_cert v4a "$addr" || ok=1
    check "the state file records it" \
        grep -q " $(cert_serial "$ET_TMP/v4a.pem") .* 198.18.0.2\$" "$ET_TMP/enrolled" || ok=1
    check "list shows it" grep -q "^$addr  *198.18.0.2 " <(enroll_cli list) || ok=1
    enroll_v4 v4b auto 200 || ok=1
    check "a second device gets another: 198.18.0.3" \
        test "$(cert_ipv4s "$ET_TMP/v4b.pem")" = 198.18.0.3 || ok=1
    enroll_v4 v4x 198.18.0.100 200 || ok=1
    check "exact: the address asked for" test "$(cert_ipv4s "$ET_TMP/v4x.pem")" = 198.18.0.100 ||
        ok=1
    check "without \"ipv4\": no IPv4 in the certificate" test -z "$(cert_ipv4s "$ET_TMP/exact.pem")" ||
        ok=1

    cp "$ET_TMP/enrolled" "$ET_TMP/enrolled.before-k"
    refused_v4 v4dup 198.18.0.100 409 "IPv4 address 198.18.0.100 is already enrolled" || ok=1
    refused_v4 v4out 198.18.0.200 403 "is not inside the IPv4 pool 198.18.0.0/25" || ok=1
    refused_v4 v4net 198.18.0.0 403 "IPv4 address 198.18.0.0 is reserved" || ok=1
    refused_v4 v4bc 198.18.0.127 403 "IPv4 address 198.18.0.127 is reserved" || ok=1
    refused_v4 v4res 198.18.0.1 403 "IPv4 address 198.18.0.1 is reserved" || ok=1
    refused_v4 v4lo 127.0.0.1 400 "ipv4: 127.0.0.1 is not a routable unicast IPv4 address" ||
        ok=1
    check "state file unchanged by the refusals" cmp "$ET_TMP/enrolled" \
        "$ET_TMP/enrolled.before-k" || ok=1

    make_csr v4renew
    code="$(renew v4renew "$ET_TMP/v4a.pem" "$ET_TMP/v4a.key")"
    check_num "renew: 200" "$code" -eq 200 || return 1
    jq -j .certificate "$ET_TMP/v4renew.json" >"$ET_TMP/v4renew.pem"
    check "renew keeps the IPv4 address (reply)" \
        test "$(jq -r .ipv4 "$ET_TMP/v4renew.json")" = 198.18.0.2 || ok=1
    check "renew keeps the IPv4 address (certificate)" \
        test "$(cert_ipv4s "$ET_TMP/v4renew.pem")" = 198.18.0.2 || ok=1
    check "renew keeps the address" test "$(jq -r .address "$ET_TMP/v4renew.json")" = "$addr" ||
        ok=1
    return "$ok"
}

# state_ipv4_holders: "IPV6 IPV4" for every IPv4 in the state, once each.
state_ipv4_holders() {
    awk 'NF == 6 { print $1, $6 }' "$ET_TMP/enrolled" | sort -u
}

step_l() {
    local ok=0 n answered_ok addr
    make_csr burst4
    enroll_body "$ET_TMP/burst4.req" "$ET_TMP/burst4.csr" auto auto
    burst "$ET_TMP/burst-l1" 100 "$ET_TMP/burst4.req"
    answered ipv4 "$ET_TMP/burst-l1" >"$ET_TMP/ipv4-l1"
    check_num "100 answers with an IPv4 address" "$(wc -l <"$ET_TMP/ipv4-l1")" -eq 100 || ok=1
    check_num "100 distinct IPv4 addresses" "$(sort -u "$ET_TMP/ipv4-l1" | wc -l)" -eq 100 || ok=1
    answered_ok=0
    while read -r addr; do
        in_ipv4_pool "$addr" || answered_ok=1
    done <"$ET_TMP/ipv4-l1"
    check "all in the pool's host addresses" test "$answered_ok" -eq 0 || ok=1
    check_num "none is the reserved 198.18.0.1" "$(grep -c -x 198.18.0.1 "$ET_TMP/ipv4-l1")" \
        -eq 0 || ok=1
    # .1 reserved, .2, .3, .100 and these 100 taken: 22 left of 126.
    burst "$ET_TMP/burst-l2" 30 "$ET_TMP/burst4.req"
    n="$(answered ipv4 "$ET_TMP/burst-l2" | wc -l)"
    check_num "the rest of the pool: 22 more" "$n" -eq 22 || ok=1
    check_num "8 answers: IPv4 address pool exhausted" "$(find "$ET_TMP/burst-l2" -name '*.json' \
        -exec jq -r .error {} + | grep -c -x 'IPv4 address pool exhausted')" -eq 8 || ok=1
    check_num "no IPv4 address held by two devices" \
        "$(state_ipv4_holders | awk '{ print $2 }' | sort | uniq -d | wc -l)" -eq 0 || ok=1
    check_num "125 IPv4 addresses recorded" "$(state_ipv4_holders | wc -l)" -eq 125 || ok=1
    return "$ok"
}

# revoked_lines IPV4: the status column of `list` for each line of IPV4.
revoked_lines() {
    enroll_cli list | awk -v a="$1" '$2 == a { print $NF }' | sort | uniq -c | xargs
}

step_m() {
    local ok=0 out code old_serial new_serial
    old_serial="$(cert_serial "$ET_TMP/v4a.pem")"
    new_serial="$(cert_serial "$ET_TMP/v4renew.pem")"
    out="$(enroll_cli revoke 198.18.0.2)" || ok=1
    check "revoke 198.18.0.2: both certificates (first and renewed)" grep -q -F \
        "revoked 2 certificate(s) of 198.18.0.2; $ET_TMP/crl.pem rewritten" <<<"$out" || ok=1
    check "list: both lines of 198.18.0.2 revoked" test "$(revoked_lines 198.18.0.2)" = \
        "2 revoked" || ok=1
    check "list: 198.18.0.3 still valid" test "$(revoked_lines 198.18.0.3)" = "1 valid" || ok=1
    check "CRL verifies with the CA" openssl crl -in "$ET_TMP/crl.pem" -CAfile "$ET_TMP/pki/ca.pem" \
        -noout || ok=1
    openssl crl -in "$ET_TMP/crl.pem" -noout -text >"$ET_TMP/crl-m.txt"
    check "CRL lists the first serial" grep -q "Serial Number: $old_serial" "$ET_TMP/crl-m.txt" ||
        ok=1
    check "CRL lists the renewed serial" grep -q "Serial Number: $new_serial" "$ET_TMP/crl-m.txt" ||
        ok=1
    check "CRL does not list 198.18.0.3's" not_in_crl "$(cert_serial "$ET_TMP/v4b.pem")" || ok=1
    make_csr v4m
    code="$(renew v4m "$ET_TMP/v4renew.pem" "$ET_TMP/v4renew.key")"
    check_num "renew with the revoked certificate: 403" "$code" -eq 403 || ok=1
    TOKEN="$(login e "$HOST")" || return 1
    refused_v4 v4again 198.18.0.2 409 "IPv4 address 198.18.0.2 is already enrolled" || ok=1
    check "again: nothing more" grep -q -F "revoked 0 certificate(s) of 198.18.0.2" \
        <(enroll_cli revoke 198.18.0.2) || ok=1
    check "an IPv4 address never enrolled: exit 1" exit_status 1 enroll_cli revoke 198.18.1.1 ||
        ok=1
    check "... says so" grep -q -F "198.18.1.1 is not enrolled" \
        <(enroll_cli revoke 198.18.1.1 2>&1) || ok=1
    check "a prefix: exit 2" exit_status 2 enroll_cli revoke 198.18.0.0/25 || ok=1
    check "... says so" grep -q -F "198.18.0.0/25 is not an IPv6 or IPv4 address" \
        <(enroll_cli revoke 198.18.0.0/25 2>&1) || ok=1
    return "$ok"
}

# not_in_crl SERIAL: the CRL of step m does not list SERIAL.
not_in_crl() {
    ! grep -q "Serial Number: $1" "$ET_TMP/crl-m.txt"
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "a|auto, /64 and exact enrolments; certificate contents|step_a|"
        "b|duplicate 409, outside the pool 403, nothing written|step_b|a"
        "c|200 concurrent auto enrolments: 200 distinct addresses|step_c|a"
        "d|SIGKILL during a burst, restart: no address twice|step_d|c"
        "e|failed logins 401 then 429 per source; bad input 400/413|step_e|a"
        "f|renew over mutual TLS; revoked: 403 and in the CRL|step_f|a"
        "g|commands: user add/del, usage and config errors|step_g|a"
        "h|TLS 1.2+ only, ECDHE and AEAD only for 1.2|step_h|"
        "i|revoke during a burst: neither the revoke nor an enrolment is lost|step_i|c"
        "j|40 slowloris connections: real enrolment still served, slow ones closed|step_j|a"
        "k|IPv4 from ipv4_pool: auto, exact, refusals, renewal keeps it|step_k|a"
        "l|100 concurrent IPv4 requests: distinct; the pool used up: 503|step_l|k"
        "m|revoke by IPv4: its certificates, the CRL, the address stays taken|step_m|k"
    )
    et_init
    et_require_bins enftun-enroll
    command -v jq >/dev/null || et_skip "jq not installed (scripts/install-deps)"
    echo "enroll_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    enroll_run_steps "$HOST" "${steps[@]}"
    et_summary enroll_test
}

main "$@"
