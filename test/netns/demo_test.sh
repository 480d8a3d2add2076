#!/usr/bin/env bash
# demo_test.sh: the README's first command works. `scripts/demo up
# --no-install --no-build` brings up the enrollment service, a router and two
# clients with the binaries already built; the clients enroll through
# enftun-keygen (c1 for fd00:e::5, c2 for any address), its pings to the
# router, to the second client and to the router host pass; after c2 is
# revoked, c2 is cut off while c1 still pings; and `scripts/demo down` leaves
# no namespace, no process and no state behind (CTest: netns.demo_test;
# exit 77 = skipped).
#
# Names: ENFTUN_DEMO_NAME=et<PID>-demo, so the demo's namespaces are
# et<PID>-demo-{router,c1,c2} and its state /run/et<PID>-demo. They cannot
# collide with a demo a person has up (enftun-demo-*) or with another test
# run (another PID), and lib.sh's sweep of stale "et<PID>-" namespaces
# removes them if this run is killed before its cleanup.
#
# Steps: a. demo up; b. the clients enrolled, its pings passed, client and
# router logged their TLS 1.3 session, and the revoked c2 is cut off;
# c. demo down removes everything, and a second down is a no-op.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly DEMO="$ET_REPO/scripts/demo"
DEMO_NAME="et$$-demo"
readonly DEMO_NAME
readonly DEMO_STATE="/run/$DEMO_NAME"
readonly DEMO_NS=(demo-router demo-c1 demo-c2) # et_ns names (prefix et<PID>-)
DEMO_PIDS=()

demo() {
    ENFTUN_DEMO_NAME="$DEMO_NAME" ENFTUN_BIN_DIR="$ET_BIN_DIR" "$DEMO" "$@"
}

# On any exit: the demo's own `down` first (it ends the daemons, which are not
# our children), then lib.sh's cleanup, which also deletes the namespaces if
# `down` did not and ends anything left in them.
demo_test_cleanup() {
    local rc=$? log
    set +e
    if [[ -d $DEMO_STATE ]]; then
        if ((rc != 0)); then
            for log in "$DEMO_STATE"/*.log; do
                [[ -s $log ]] || continue
                echo "----- last 30 lines of $log -----" >&2
                tail -n 30 "$log" | cat -v >&2
            done
        fi
        demo down >"$ET_TMP/demo-down-cleanup.out" 2>&1 || true
    fi
    (exit "$rc")
    et_cleanup
}

demo_ns_present() {
    grep -q "^$(et_ns "$1")\\( \\|$\\)" <<<"$(ip netns list)"
}

# ping_received TITLE-FRAGMENT: the "N received" count of the ping the demo
# printed under its "### ..." heading containing TITLE-FRAGMENT.
ping_received() {
    awk -v want="$1" '
        /^### / { inside = index($0, want) > 0 }
        inside && / packets transmitted, / {
            for (i = 1; i <= NF; i++) if ($i ~ /^received,?$/) { print $(i - 1); exit }
        }' "$ET_TMP/demo-up.out"
}

step_a() {
    local ok=0 rc=0 short file
    echo "  [demo up: $DEMO up --no-install --no-build, binaries from $ET_BIN_DIR]"
    timeout --signal=TERM 180 bash "$DEMO" up --no-install --no-build \
        >"$ET_TMP/demo-up.out" 2>&1 || rc=$?
    sed 's/^/    | /' "$ET_TMP/demo-up.out"
    check_num "demo up exit code" "$rc" -eq 0 || ok=1
    check "it says the demo is up" grep -q -F "=== enftun demo is up" "$ET_TMP/demo-up.out" ||
        ok=1
    check "it tells how to tear it down" \
        grep -q -F "sudo ENFTUN_DEMO_NAME=$DEMO_NAME scripts/demo down" "$ET_TMP/demo-up.out" ||
        ok=1
    for short in "${DEMO_NS[@]}"; do
        check "namespace $(et_ns "$short") exists" demo_ns_present "$short" || ok=1
    done
    for file in "$DEMO_STATE"/*.pid; do
        [[ -e $file ]] || continue
        DEMO_PIDS+=("$(cat "$file")")
    done
    check_num "recorded daemons (enroll, router, c1, c2)" "${#DEMO_PIDS[@]}" -eq 4 || ok=1
    check "demo status: all running" demo_all_running || ok=1
    return "$ok"
}

demo_all_running() {
    local out
    out="$(demo status)"
    echo "$out"
    [[ $(grep -c ': running, pid ' <<<"$out") == 4 ]]
}

step_b() {
    local ok=0
    check_num "c1 -> router.address: replies" "$(ping_received "c1 -> router (")" -ge 1 || ok=1
    check_num "c1 -> c2 through the router: replies" "$(ping_received "c1 -> c2")" -ge 1 || ok=1
    check_num "c1 -> router host (gateway TUN): replies" \
        "$(ping_received "c1 -> router host")" -ge 1 || ok=1
    # The identities came from enftun-enroll through enftun-keygen.
    check "c1 enrolled fd00:e::5 with enftun-keygen" grep -q -E \
        '^address fd00:e::5: wrote .*/c1.key and .*/c1.pem' "$ET_TMP/demo-up.out" || ok=1
    check "the service logged both enrollments" \
        test "$(grep -c '^info: enrolled ' "$DEMO_STATE/enroll.log")" -eq 2 || ok=1
    check "c1's certificate is the service's, CN fd00:e::5" bash -c \
        "openssl verify -CAfile '$DEMO_STATE/pki/ca.pem' '$DEMO_STATE/c1.pem' &&
         openssl x509 -in '$DEMO_STATE/c1.pem' -noout -subject | grep -q 'CN = fd00:e::5$'" ||
        ok=1
    check "c1's key never left its folder readable: 0600" \
        test "$(stat -c %a "$DEMO_STATE/c1.key")" = 600 || ok=1
    # Revocation: c2 cut off, c1 unaffected.
    check_num "c1 -> c2 after the revocation: no reply" \
        "$(ping_received "c1 -> c2 after the revocation")" -eq 0 || ok=1
    check_num "c1 -> router after the revocation: replies" \
        "$(ping_received "c1 -> router after the revocation")" -ge 1 || ok=1
    # enftun and enftun-router negotiated TLS 1.3; each logs it when up.
    check "c1 logged its tunnel up over TLS 1.3" grep -q -E \
        '^info: tunnel up: fd00:e::5 via .* \(TLSv1\.3 TLS_' "$DEMO_STATE/c1.log" || ok=1
    check "the router logged c1's session up over TLS 1.3" grep -q -E \
        '^info: session up: fd00:e::5 from .* \(TLSv1\.3 TLS_' "$DEMO_STATE/router.log" || ok=1
    # And c1's tunnel is still there after the demo script has exited, while
    # the revoked c2 stays cut off.
    check "c1 -> router now, through the tunnel" \
        et_wait_for -t 10 et_exec demo-c1 ping -6 -n -c 1 -W 1 fd00:e::1 || ok=1
    check_not "c2 -> router now: refused" et_exec demo-c2 ping -6 -n -c 2 -W 1 fd00:e::1 || ok=1
    return "$ok"
}

pid_is_enftun() {
    local exe
    exe="$(readlink "/proc/$1/exe" 2>/dev/null || true)"
    [[ ${exe##*/} == enftun || ${exe##*/} == enftun-router || ${exe##*/} == enftun-enroll ]]
}

step_c() {
    local ok=0 rc=0 short pid
    demo down >"$ET_TMP/demo-down.out" 2>&1 || rc=$?
    sed 's/^/    | /' "$ET_TMP/demo-down.out"
    check_num "demo down exit code" "$rc" -eq 0 || ok=1
    for short in "${DEMO_NS[@]}"; do
        check_not "namespace $(et_ns "$short") is gone" demo_ns_present "$short" || ok=1
    done
    for pid in "${DEMO_PIDS[@]}"; do
        check_not "daemon pid $pid is gone" pid_is_enftun "$pid" || ok=1
    done
    check_not "state folder $DEMO_STATE is gone" test -e "$DEMO_STATE" || ok=1
    rc=0
    demo down >"$ET_TMP/demo-down2.out" 2>&1 || rc=$?
    check_num "a second demo down exits 0" "$rc" -eq 0 || ok=1
    return "$ok"
}

main() {
    et_init
    trap demo_test_cleanup EXIT
    et_require_bins enftun enftun-router enftun-keygen
    command -v ping >/dev/null || et_skip "ping not installed"
    command -v openssl >/dev/null || et_skip "openssl not installed"
    echo "demo_test: binaries from $ET_BIN_DIR, demo name $DEMO_NAME, work dir $ET_TMP"
    export ENFTUN_DEMO_NAME="$DEMO_NAME" ENFTUN_BIN_DIR="$ET_BIN_DIR"
    # lib.sh's cleanup deletes these (and ends what is left in them) even if
    # `demo down` could not.
    local short
    for short in "${DEMO_NS[@]}"; do
        ET_NAMESPACES+=("$(et_ns "$short")")
    done

    run_step a "scripts/demo up with the built binaries" step_a
    run_step b "the demo's pings went through the tunnel, over TLS 1.3" step_b a
    run_step c "scripts/demo down removes namespaces, daemons and state" step_c a
    et_summary demo_test
}

main "$@"
