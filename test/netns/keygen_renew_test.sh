#!/usr/bin/env bash
# keygen_renew_test.sh: a renewal supersedes the certificate it renews, and
# a renewal whose answer was lost is completed, with the real enftun-keygen
# as the device, enftun-enroll as the service and curl as a thief holding a
# copy of the device's old key (CTest: netns.keygen_renew_test; exit 77 =
# skipped).
#
# One namespace "e" with only lo: the service listens on 127.0.0.1:8443 and
# enftun-keygen runs there too (--server https://127.0.0.1:8443), its files
# in $ET_TMP/dev. Pool fd00:e::/64, fd00:e::1 reserved.
#
# Steps: a keygen enrolls (auto); b keygen --renew is killed with the
# answer in hand (ENFTUN_KEYGEN_TEST_PAUSE=answer): the service recorded
# the renewal (from= the old serial), the device's files are unchanged and
# its new key is kept in device.key.pending (0600); c the old certificate
# with a key of its own (the thief): 403 `certificate was superseded by a
# renewal`, nothing recorded; d keygen --renew again: it reuses the pending
# key, gets the very certificate of step b (same serial, nothing new
# recorded, "sent again" in the service's log), writes it, and drops the
# pending key; the key and certificate match; e keygen --renew once more: a
# new serial, renewing step b's; the first certificate with the key kept
# from step b: 403 now (only the newest renews, the one before it only
# retries); f keygen --renew killed between the renames of the key and the
# certificate (ENFTUN_KEYGEN_TEST_PAUSE=key-renamed): the key is new, the
# certificate old (they do not match), the new certificate is staged as
# device.pem.pending; the next keygen --renew first completes the pair
# ("repair: completed"), then renews from the completed certificate (its
# state line says from= that serial); g the same, killed after staging both
# and before any rename (cert-staged): the old pair still matches, and the
# next run completes the staged one first; h a device.key.pending that does
# not load: keygen --renew fails (exit 1) naming it, keeps it unchanged and
# sends nothing (a fresh key would be refused once the service recorded
# that renewal: the device stranded); i two keygen --renew at once: while
# one is held with its answer in hand, a second fails at once (exit 1,
# "another enftun-keygen is running", device.key.lock 0600) and sends
# nothing; once the first is gone, the next run completes its renewal.
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps the work dir.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=enroll_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/enroll_lib.sh"

readonly HOST=127.0.0.1
DEV=""
FIRST_SERIAL=""
NEW_SERIAL=""

# keygen OUT ARGS...: enftun-keygen in e with the device's config; prints
# nothing, its output in OUT; exit status in KG_RC.
KG_RC=0
keygen() {
    local out="$1"
    shift
    KG_RC=0
    et_exec e "$ET_BIN_DIR/enftun-keygen" -c "$DEV/enf0.conf" --server "$(enroll_url "$HOST" "")" \
        --owner root --yes "$@" >"$out" 2>&1 </dev/null || KG_RC=$?
}

# key_matches_cert: device.key is the key of device.pem.
key_matches_cert() {
    cmp -s <(openssl x509 -in "$DEV/device.pem" -noout -pubkey) \
        <(openssl pkey -in "$DEV/device.key" -pubout)
}

state_lines() {
    grep -c -v '^#' "$ET_TMP/enrolled" 2>/dev/null || true
}

# renewal_of SERIAL: the serial of the line that renewed SERIAL.
renewal_of() {
    awk -v f="from=$1" '$0 ~ f" " { print $3 }' "$ET_TMP/enrolled"
}

# renew_with NAME CERT KEY: curl renews CERT (mutual TLS with KEY) for a
# fresh key NAME.key; prints the status, the answer in NAME.json.
renew_with() {
    make_csr "$1"
    jq -n --rawfile csr "$ET_TMP/$1.csr" '{csr: $csr}' >"$ET_TMP/$1.req"
    api e "$HOST" /v1/renew "$ET_TMP/$1.req" "$ET_TMP/$1.json" --cert "$2" --key "$3"
}

# start_paused_renew POINT: keygen --renew in the background, stopped at
# POINT. Every run appends to the one keygen log, so it waits for one more
# "test pause" line than the log held before, not for the line itself.
start_paused_renew() {
    local pauses
    pauses="$(et_log_count keygen "test pause at $1")"
    et_daemon_start keygen e env ENFTUN_KEYGEN_TEST_PAUSE="$1" "$ET_BIN_DIR/enftun-keygen" \
        -c "$DEV/enf0.conf" --server "$(enroll_url "$HOST" "")" --owner root --yes --renew
    et_wait_for -d keygen log_count_above keygen "test pause at $1" "$pauses"
}

# kill_renew_at POINT: keygen --renew stopped at POINT, then killed.
kill_renew_at() {
    start_paused_renew "$1" || return 1
    et_daemon_kill keygen
}

# renewed_from_staged OUT: keygen --renew completes the staged pair (its
# output says so), then renews from it: the new certificate's line names
# the staged certificate's serial.
renewed_from_staged() {
    local out="$1" staged ok=0
    staged="$(cert_serial "$DEV/device.pem.pending")"
    keygen "$out" --renew
    check_num "the next enftun-keygen --renew: exit 0" "$KG_RC" -eq 0 || {
        cat "$out" >&2
        return 1
    }
    check "it completed the interrupted replacement" grep -q "^repair:  completed the replacement" \
        "$out" || ok=1
    check "then renewed from the completed certificate ($staged)" \
        test "$(renewal_of "$staged")" = "$(cert_serial "$DEV/device.pem")" || ok=1
    check "key and certificate match" key_matches_cert || ok=1
    check "nothing pending" test ! -e "$DEV/device.pem.pending" -a ! -e "$DEV/device.key.pending" ||
        ok=1
    return "$ok"
}

# ---------------------------------------------------------------- steps

step_a() {
    local ok=0
    cp "$ET_TMP/pki/ca.pem" "$DEV/ca.pem"
    keygen "$ET_TMP/enroll.out" --user "$ENROLL_USER" --password-file "$ET_TMP/pw" auto
    check_num "enftun-keygen enrols: exit 0" "$KG_RC" -eq 0 || {
        cat "$ET_TMP/enroll.out" >&2
        return 1
    }
    check "key and certificate match" key_matches_cert || ok=1
    cp "$DEV/device.pem" "$ET_TMP/first.pem"
    cp "$DEV/device.key" "$ET_TMP/first.key"
    FIRST_SERIAL="$(cert_serial "$DEV/device.pem")"
    return "$ok"
}

step_b() {
    local ok=0 before
    before="$(state_lines)"
    check "keygen --renew stops with the answer in hand" start_paused_renew answer || return 1
    et_daemon_kill keygen
    NEW_SERIAL="$(renewal_of "$FIRST_SERIAL")"
    check "the service recorded the renewal (from=$FIRST_SERIAL)" test -n "$NEW_SERIAL" || return 1
    check_num "one line more" "$(state_lines)" -eq "$((before + 1))" || ok=1
    check "the device's certificate is still the first" cmp "$DEV/device.pem" "$ET_TMP/first.pem" ||
        ok=1
    check "... and its key" cmp "$DEV/device.key" "$ET_TMP/first.key" || ok=1
    check "the new key is kept: device.key.pending, 0600" \
        test "$(stat -c %a "$DEV/device.key.pending" 2>/dev/null)" = 600 || ok=1
    return "$ok"
}

step_c() {
    local ok=0 code before
    before="$(state_lines)"
    code="$(renew_with thief "$ET_TMP/first.pem" "$ET_TMP/first.key")"
    check_num "the old certificate with another key: 403" "$code" -eq 403 || ok=1
    check "... superseded by a renewal" grep -q -F '"certificate was superseded by a renewal"' \
        "$ET_TMP/thief.json" || ok=1
    check_num "nothing recorded" "$(state_lines)" -eq "$before" || ok=1
    return "$ok"
}

step_d() {
    local ok=0 before
    before="$(state_lines)"
    keygen "$ET_TMP/retry.out" --renew
    check_num "enftun-keygen --renew again: exit 0" "$KG_RC" -eq 0 || {
        cat "$ET_TMP/retry.out" >&2
        return 1
    }
    check "it says it kept the key" grep -q -F "kept from a renewal whose answer did not arrive" \
        "$ET_TMP/retry.out" || ok=1
    check "the certificate of step b ($NEW_SERIAL)" \
        test "$(cert_serial "$DEV/device.pem")" = "$NEW_SERIAL" || ok=1
    check_num "nothing new recorded" "$(state_lines)" -eq "$before" || ok=1
    check "the service sent it again" et_log_has enroll "sent again: the same key retried" || ok=1
    check "then confirmed it: the first certificate retired" \
        grep -q -F "retired: 1 older certificate(s)" "$ET_TMP/retry.out" || ok=1
    check "key and certificate match" key_matches_cert || ok=1
    check "no pending key left" test ! -e "$DEV/device.key.pending" || ok=1
    return "$ok"
}

step_e() {
    local ok=0 code
    cp "$DEV/device.key" "$ET_TMP/second.key"
    keygen "$ET_TMP/renew.out" --renew
    check_num "enftun-keygen --renew: exit 0" "$KG_RC" -eq 0 || {
        cat "$ET_TMP/renew.out" >&2
        return 1
    }
    check "a new certificate, renewing step b's" \
        test "$(renewal_of "$NEW_SERIAL")" = "$(cert_serial "$DEV/device.pem")" || ok=1
    # Confirmed by keygen (enroll_retire_test): no retry is left to serve.
    check "the service keeps no renewal copy once confirmed" \
        test -z "$(ls -A "$ET_TMP/enrolled.renewals")" || ok=1
    check "key and certificate match" key_matches_cert || ok=1
    # The first certificate's retry of step b's renewal (its key): refused,
    # as step b's certificate was itself renewed.
    openssl req -new -key "$ET_TMP/second.key" -subj /CN=x -out "$ET_TMP/retry.csr"
    jq -n --rawfile csr "$ET_TMP/retry.csr" '{csr: $csr}' >"$ET_TMP/retry.req"
    code="$(api e "$HOST" /v1/renew "$ET_TMP/retry.req" "$ET_TMP/retry.json" \
        --cert "$ET_TMP/first.pem" --key "$ET_TMP/first.key")"
    check_num "the first certificate, retrying with step b's key: 403" "$code" -eq 403 || ok=1
    return "$ok"
}

step_f() {
    local ok=0
    cp "$DEV/device.key" "$ET_TMP/f-before.key"
    cp "$DEV/device.pem" "$ET_TMP/f-before.pem"
    check "keygen --renew killed between the renames" kill_renew_at key-renamed || return 1
    check "the key was replaced" not_same "$DEV/device.key" "$ET_TMP/f-before.key" || ok=1
    check "the certificate was not" cmp -s "$DEV/device.pem" "$ET_TMP/f-before.pem" || ok=1
    check_not "so they do not match" key_matches_cert || ok=1
    check "the new certificate is staged" test -s "$DEV/device.pem.pending" || ok=1
    renewed_from_staged "$ET_TMP/f.out" || ok=1
    return "$ok"
}

step_g() {
    local ok=0
    cp "$DEV/device.pem" "$ET_TMP/g-before.pem"
    check "keygen --renew killed with both staged" kill_renew_at cert-staged || return 1
    check "the certificate in place is the old one" cmp -s "$DEV/device.pem" "$ET_TMP/g-before.pem" ||
        ok=1
    check "the old pair still matches" key_matches_cert || ok=1
    check "key and certificate staged" test -s "$DEV/device.pem.pending" -a \
        -s "$DEV/device.key.pending" || ok=1
    renewed_from_staged "$ET_TMP/g.out" || ok=1
    return "$ok"
}

step_h() {
    local ok=0 before
    before="$(state_lines)"
    printf 'not a key\n' >"$DEV/device.key.pending"
    chmod 600 "$DEV/device.key.pending"
    cp "$DEV/device.key.pending" "$ET_TMP/h.pending"
    keygen "$ET_TMP/h.out" --renew
    check_num "keygen --renew with a pending key that does not load: exit 1" "$KG_RC" -eq 1 || {
        cat "$ET_TMP/h.out" >&2
        ok=1
    }
    check "it names the file and keeps it" grep -q -F \
        "device.key.pending (the new key of a renewal whose answer did not arrive) does not load" \
        "$ET_TMP/h.out" || ok=1
    check "the pending key is unchanged" cmp -s "$DEV/device.key.pending" "$ET_TMP/h.pending" ||
        ok=1
    check_num "nothing recorded" "$(state_lines)" -eq "$before" || ok=1
    rm -f "$DEV/device.key.pending"
    return "$ok"
}

step_i() {
    local ok=0 before
    check "a keygen --renew held with its answer in hand" start_paused_renew answer || return 1
    before="$(state_lines)"
    keygen "$ET_TMP/i.out" --renew
    check_num "a second keygen --renew at once: exit 1" "$KG_RC" -eq 1 || {
        cat "$ET_TMP/i.out" >&2
        ok=1
    }
    check "... another one is running" grep -q -F \
        "another enftun-keygen is running for $DEV/device.key ($DEV/device.key.lock is locked)" \
        "$ET_TMP/i.out" || ok=1
    check_num "... nothing recorded" "$(state_lines)" -eq "$before" || ok=1
    check "the lock file is 0600" test "$(stat -c %a "$DEV/device.key.lock")" = 600 || ok=1
    et_daemon_kill keygen
    keygen "$ET_TMP/i2.out" --renew
    check_num "once the first is gone, keygen --renew: exit 0" "$KG_RC" -eq 0 || {
        cat "$ET_TMP/i2.out" >&2
        ok=1
    }
    check "... with the first one's key" grep -q -F \
        "kept from a renewal whose answer did not arrive" "$ET_TMP/i2.out" || ok=1
    check "key and certificate match" key_matches_cert || ok=1
    return "$ok"
}

not_same() {
    ! cmp -s "$1" "$2"
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "a|enftun-keygen enrols|step_a|"
        "b|enftun-keygen --renew killed with the answer in hand: pending key kept|step_b|a"
        "c|the old certificate with another key: 403 superseded|step_c|b"
        "d|enftun-keygen --renew again: the same certificate, sent again|step_d|b"
        "e|a further renewal; the first certificate can no longer retry|step_e|d"
        "f|killed between the key's and the certificate's rename: the next run completes|step_f|a"
        "g|killed with both staged, nothing renamed: the next run completes|step_g|a"
        "h|a pending key that does not load: exit 1, kept, nothing sent|step_h|a"
        "i|two keygen --renew at once: the second fails at once, sends nothing|step_i|a"
    )
    et_init
    et_require_bins enftun-enroll enftun-keygen
    command -v jq >/dev/null || et_skip "jq not installed (scripts/install-deps)"
    echo "keygen_renew_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    DEV="$ET_TMP/dev"
    mkdir -p "$DEV"
    write_client_conf "$DEV/enf0.conf" hosts=127.0.0.1 cert=device.pem key=device.key
    enroll_run_steps "$HOST" "${steps[@]}"
    et_summary keygen_renew_test
}

main "$@"
