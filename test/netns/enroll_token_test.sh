#!/usr/bin/env bash
# enroll_token_test.sh: a login's token is good for one certificate, and a
# login holds at most enroll.max_active_per_user addresses and makes at
# most enroll.max_enrolments_per_hour enrolments an hour, with curl as the
# device (CTest: netns.enroll_token_test; exit 77 = skipped).
#
# One namespace "e" with only lo: the service listens on 127.0.0.1:8443.
# Pool fd00:e::/64, fd00:e::1 reserved, max_active_per_user = 10 (ops@example
# holds 8 addresses at most here).
#
# Steps: a one token, two enrolments sent at once (5 rounds): exactly one
# 200 and one 401 each round, one more line in the state file per round;
# b a refused request (409 for a taken address, 400 for a bad CSR) leaves
# the token good: the same token then gets a certificate (200), and after
# that 401 `token already used`; c a second login (fleet@example) enrols 10
# devices, the 11th gets 403 naming enroll.max_active_per_user (nothing
# recorded, logged), a renewal at the limit still works (200), ops@example
# is not affected, and after `revoke` of one of the 10 the refused token
# (still good) gets its certificate; d the service restarted with
# max_enrolments_per_hour = 3: a refused enrolment (403 reserved) costs
# nothing, a login (rate@example) enrols 3 devices, the 4th gets 429 with
# Retry-After (1200 s at most) naming the limit, nothing recorded, logged,
# and its token stays good (429 again, not 401); ops@example and a renewal
# are not affected.
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps the work dir.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=enroll_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/enroll_lib.sh"

readonly HOST=127.0.0.1
readonly LIMIT=10
ENROLL_EXTRA="max_active_per_user = $LIMIT;"

state_lines() {
    grep -c -v '^#' "$ET_TMP/enrolled" 2>/dev/null || true
}

error_says() {
    grep -q -F -- "$2" <<<"$(jq -r .error "$1")"
}

# ---------------------------------------------------------------- steps

# twice_at_once DIR TOKEN: two enrolments (auto) with TOKEN, sent at once
# by one curl (-Z), answers in DIR/1.json and DIR/2.json; prints the two
# HTTP statuses, sorted, on one line.
twice_at_once() {
    local dir="$1" token="$2"
    mkdir -p "$dir"
    et_exec e curl -sS --max-time 30 -Z --parallel-immediate --cacert "$ET_TMP/pki/ca.pem" \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        --data-binary "@$ET_TMP/twice.req" -o "$dir/#1.json" -w '%{http_code}\n' \
        "$(enroll_url "$HOST" /v1/enroll)?n=[1-2]" 2>>"$ET_TMP/curl.err" | sort | xargs
}

step_a() {
    local ok=0 round token codes before in_use=0
    make_csr twice
    enroll_body "$ET_TMP/twice.req" "$ET_TMP/twice.csr" auto
    for round in 1 2 3 4 5; do
        token="$(login e "$HOST")" || return 1
        before="$(state_lines)"
        codes="$(twice_at_once "$ET_TMP/twice-$round" "$token")"
        check "round $round: one token, two requests at once: one 200, one 401 (got $codes)" \
            test "$codes" = "200 401" || ok=1
        check_num "round $round: one more certificate recorded" "$(state_lines)" -eq \
            "$((before + 1))" || ok=1
        ! grep -q -h -F 'in use by another request' "$ET_TMP/twice-$round"/*.json ||
            in_use=$((in_use + 1))
    done
    echo "  (the 401 came while the other request was in progress in $in_use of 5 rounds)"
    return "$ok"
}

step_b() {
    local ok=0 token code
    token="$(login e "$HOST")" || return 1
    make_csr first
    code="$(enroll e "$HOST" "$token" first fd00:e::5)"
    check_num "fd00:e::5: 200" "$code" -eq 200 || return 1
    token="$(login e "$HOST")" || return 1
    make_csr retry
    code="$(enroll e "$HOST" "$token" retry fd00:e::5)"
    check_num "fd00:e::5 again: 409" "$code" -eq 409 || ok=1
    printf -- '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' \
        >"$ET_TMP/garbage.csr"
    code="$(enroll e "$HOST" "$token" garbage auto)"
    check_num "a garbage CSR: 400" "$code" -eq 400 || ok=1
    code="$(enroll e "$HOST" "$token" retry fd00:e::6)"
    check_num "the same token after the refusals, fd00:e::6: 200" "$code" -eq 200 || ok=1
    make_csr third
    code="$(enroll e "$HOST" "$token" third auto)"
    check_num "the same token once more: 401" "$code" -eq 401 || ok=1
    check "... says it was used" error_says "$ET_TMP/third.json" "token already used" || ok=1
    check "the refusal is logged" et_log_has enroll "401 token already used" || ok=1
    return "$ok"
}

# login_as NAME: a token of NAME (password "fleet password").
login_as() {
    login_body "$ET_TMP/fleet-login.json" "$1" "fleet password"
    [[ $(api e "$HOST" /v1/login "$ET_TMP/fleet-login.json" "$ET_TMP/fleet-login.out") == 200 ]] ||
        return 1
    jq -r .token "$ET_TMP/fleet-login.out"
}

step_c() {
    local ok=0 i token code before
    printf 'fleet password\n' >"$ET_TMP/fleet-pw"
    enroll_cli user add fleet@example --password-file "$ET_TMP/fleet-pw" >/dev/null || return 1
    for ((i = 1; i <= LIMIT; i++)); do
        token="$(login_as fleet@example)" || return 1
        make_csr "fleet$i"
        code="$(enroll e "$HOST" "$token" "fleet$i" auto)"
        check_num "fleet@example device $i of $LIMIT: 200" "$code" -eq 200 || ok=1
    done
    token="$(login_as fleet@example)" || return 1
    before="$(state_lines)"
    make_csr over
    code="$(enroll e "$HOST" "$token" over auto)"
    check_num "device $((LIMIT + 1)): 403" "$code" -eq 403 || ok=1
    check "... names the limit" error_says "$ET_TMP/over.json" \
        "user fleet@example holds live certificates for $LIMIT addresses, the most enroll.max_active_per_user allows" ||
        ok=1
    check_num "... nothing recorded" "$(state_lines)" -eq "$before" || ok=1
    check "... logged" et_log_has enroll "403 user fleet@example holds live certificates" || ok=1
    make_csr fleet1-new
    jq -n --rawfile csr "$ET_TMP/fleet1-new.csr" '{csr: $csr}' >"$ET_TMP/fleet1-new.req"
    code="$(api e "$HOST" /v1/renew "$ET_TMP/fleet1-new.req" "$ET_TMP/fleet1-new.json" \
        --cert "$ET_TMP/fleet1.pem" --key "$ET_TMP/fleet1.key")"
    check_num "a renewal at the limit: 200" "$code" -eq 200 || ok=1
    make_csr ops-more
    code="$(enroll e "$HOST" "$(login e "$HOST")" ops-more auto)"
    check_num "another login (ops@example) still enrols: 200" "$code" -eq 200 || ok=1
    check "revoke one of fleet@example's devices" \
        enroll_cli revoke "$(jq -r .address "$ET_TMP/fleet2.json")" || ok=1
    code="$(enroll e "$HOST" "$token" over auto)"
    check_num "then the refused token gets its certificate: 200" "$code" -eq 200 || ok=1
    return "$ok"
}

readonly PER_HOUR=3

step_d() {
    local ok=0 i token code before wait
    et_daemon_stop enroll
    sed -i "s|^  max_active_per_user = .*|&\n  max_enrolments_per_hour = $PER_HOUR;|" \
        "$ET_TMP/enroll.conf"
    check "the service restarts with max_enrolments_per_hour = $PER_HOUR" enroll_start e "$HOST" ||
        return 1
    printf 'fleet password\n' >"$ET_TMP/rate-pw"
    enroll_cli user add rate@example --password-file "$ET_TMP/rate-pw" >/dev/null || return 1
    token="$(login_as rate@example)" || return 1
    make_csr rate0
    code="$(enroll e "$HOST" "$token" rate0 fd00:e::1)"
    check_num "a refused enrolment (reserved): 403" "$code" -eq 403 || ok=1
    for ((i = 1; i <= PER_HOUR; i++)); do
        token="$(login_as rate@example)" || return 1
        make_csr "rate$i"
        code="$(enroll e "$HOST" "$token" "rate$i" auto)"
        check_num "rate@example enrolment $i of $PER_HOUR: 200" "$code" -eq 200 || ok=1
    done
    token="$(login_as rate@example)" || return 1
    before="$(state_lines)"
    make_csr rate-over
    enroll_body "$ET_TMP/rate-over.req" "$ET_TMP/rate-over.csr" auto
    code="$(api e "$HOST" /v1/enroll "$ET_TMP/rate-over.req" "$ET_TMP/rate-over.json" \
        -H "Authorization: Bearer $token" -D "$ET_TMP/rate-over.hdr")"
    check_num "enrolment $((PER_HOUR + 1)) within the hour: 429" "$code" -eq 429 || ok=1
    wait="$(tr -d '\r' <"$ET_TMP/rate-over.hdr" | sed -n 's/^[Rr]etry-[Aa]fter: *//p')"
    check_num "... Retry-After, seconds until the next (3600/$PER_HOUR at most)" "${wait:-0}" \
        -ge 1 || ok=1
    check_num "... at most 1200" "${wait:-99999}" -le 1200 || ok=1
    check "... names the limit" error_says "$ET_TMP/rate-over.json" \
        "user rate@example has used its $PER_HOUR enrolments per hour (enroll.max_enrolments_per_hour)" ||
        ok=1
    check_num "... nothing recorded" "$(state_lines)" -eq "$before" || ok=1
    check "... logged" et_log_has enroll "429 user rate@example has used its" || ok=1
    code="$(api e "$HOST" /v1/enroll "$ET_TMP/rate-over.req" "$ET_TMP/rate-over.json" \
        -H "Authorization: Bearer $token")"
    check_num "the same token again: 429 (the token stays good)" "$code" -eq 429 || ok=1
    make_csr rate-ops
    code="$(enroll e "$HOST" "$(login e "$HOST")" rate-ops auto)"
    check_num "another login (ops@example) still enrols: 200" "$code" -eq 200 || ok=1
    make_csr rate1-new
    jq -n --rawfile csr "$ET_TMP/rate1-new.csr" '{csr: $csr}' >"$ET_TMP/rate1-new.req"
    code="$(api e "$HOST" /v1/renew "$ET_TMP/rate1-new.req" "$ET_TMP/rate1-new.json" \
        --cert "$ET_TMP/rate1.pem" --key "$ET_TMP/rate1.key")"
    check_num "a renewal of rate@example's: 200 (not counted)" "$code" -eq 200 || ok=1
    return "$ok"
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "a|one token, two enrolments at once: one 200, one 401|step_a|"
        "b|refused requests (409, 400) leave the token good; used once, then 401|step_b|"
        "c|max_active_per_user: the 11th device 403; renewals and other logins unaffected|step_c|"
        "d|max_enrolments_per_hour: the 4th within the hour 429 with Retry-After|step_d|"
    )
    et_init
    et_require_bins enftun-enroll
    command -v jq >/dev/null || et_skip "jq not installed (scripts/install-deps)"
    echo "enroll_token_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    enroll_run_steps "$HOST" "${steps[@]}"
    et_summary enroll_token_test
}

main "$@"
