#!/usr/bin/env bash
# backoff_resume_test.sh: the reconnect back-off survives systemd's restart
# of a client that never got its tunnel up (README "Readiness and watchdog",
# tun.backoff_file; CTest: netns.backoff_resume_test). systemd is not PID 1
# here, so the restart is simulated as systemd does it: the client runs
# with NOTIFY_SOCKET (a listener of the test's own, tools/notify_listener.py),
# is stopped with SIGTERM (what TimeoutStartSec= sends) and started again
# with the same config, so the same record file.
#
# Topology: c (client) ── veth ── r (fd00:100::1: no router at first, so
# every attempt is refused at once). Back-off ceilings: 1, 2, 4, 4 ... s
# (reconnect_max_delay 4000).
# Checks:
#   a. without NOTIFY_SOCKET no record is written (nothing waits for READY=1);
#   b. with it: failed attempts write the record; SIGTERM while never up
#      keeps it ("back-off kept");
#   c. the restarted client resumes: its first retry line is "reconnect
#      resumed ... (ceiling 4000 ms)", logged before any attempt; STATUS=
#      and `enftun status` (text and JSON) say so;
#   d. the router comes up: the tunnel is proven (READY=1) and the record is
#      gone; the router goes away, failed attempts write it again; SIGTERM
#      after having been up removes it, and the next start connects at once
#      (first retry under the 1000-ms ceiling, nothing resumed);
#   e. a corrupt record is ignored with a warning, the client connects at once;
#   f. a reload (SIGHUP) that changes remote.port: the record names the new
#      remote, so the restart with that config resumes it;
#   g. a reload while backing off (of a resumed run) retries without
#      back-off: the record goes at once (the retry's connect hangs: c drops
#      its SYNs to port 4445), and `enftun status` no longer says resumed;
#   h. the record names the client certificate (its SHA-256); a restart with
#      a new certificate ignores it and connects at once.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ET_WAIT_TIMEOUT=30
readonly C_ADDR=fd00:e::5
LISTENER="$ET_LIB_DIR/tools/notify_listener.py"
readonly LISTENER
RECORD="" # the client's tun.backoff_file (lib.sh's default: next to c1.sock)

setup() {
    et_router_client_pair
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$ET_TMP/pki" c1=$C_ADDR >/dev/null
    write_router_conf "$ET_TMP/router.conf" cert="$ET_TMP/pki/router.pem" \
        key="$ET_TMP/pki/router.key" ca="$ET_TMP/pki/ca.pem" tun_dev=""
    write_client_conf "$ET_TMP/c1.conf" ca="$ET_TMP/pki/ca.pem" cert="$ET_TMP/pki/c1.pem" \
        key="$ET_TMP/pki/c1.key" connect_timeout=1000 reconnect_max_delay=4000
    RECORD="$("$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf" -p tun.backoff_file)"
    [[ $RECORD == "$ET_TMP/c1.backoff" ]] || et_die "tun.backoff_file is $RECORD"
    : >"$ET_TMP/client.notify"
    et_daemon_start notify c python3 "$LISTENER" "$ET_TMP/client.notify.sock" \
        "$ET_TMP/client.notify"
    et_wait_for -d notify test -S "$ET_TMP/client.notify.sock"
}

# start_client NAME: the client as systemd runs it (NOTIFY_SOCKET set).
start_client() {
    et_daemon_start "$1" c env NOTIFY_SOCKET="$ET_TMP/client.notify.sock" \
        "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
}

# first_retry NAME: the daemon's first "reconnecting in N ms (ceiling M ms)" line.
first_retry() {
    grep -m 1 -E 'reconnecting in [0-9]+ ms \(ceiling [0-9]+ ms\)' "$(et_daemon_log "$1")"
}

# line_no NAME FIXED-STRING: number of the first log line holding it (999999: none).
line_no() {
    local n
    n="$(grep -n -m 1 -F -- "$2" "$(et_daemon_log "$1")" | cut -d: -f1)"
    echo "${n:-999999}"
}

record_attempt() {
    sed -n 's/^attempt //p' "$RECORD"
}

ready_sent() {
    grep -q -x READY=1 "$ET_TMP/client.notify"
}

# connected_at_once NAME: daemon NAME resumed nothing: its first retry
# follows a failed attempt, under the 1000-ms ceiling of a fresh back-off.
connected_at_once() {
    local ok=0 line
    check "a retry follows" et_wait_for -d "$1" first_retry "$1" || ok=1
    line="$(first_retry "$1" || true)"
    echo "  info: first retry: ${line#*: }"
    check "it connected at once: its first retry follows a failed attempt" grep -q -F \
        "could not connect to any remote host; reconnecting in" <<<"$line" || ok=1
    check "... under the 1000-ms ceiling" grep -q -F "(ceiling 1000 ms)" <<<"$line" || ok=1
    check_not "nothing resumed" et_log_has "$1" "reconnect resumed" || ok=1
    return "$ok"
}

step_a() {
    local ok=0
    et_daemon_start plain c "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
    check "three attempts fail (router down)" \
        et_wait_for -d plain log_count_above plain "could not connect to any remote host" 2 || ok=1
    et_daemon_stop plain
    check_not "without NOTIFY_SOCKET: no record" test -e "$RECORD" || ok=1
    return "$ok"
}

step_b() {
    local ok=0
    start_client first
    check "three attempts fail (router down)" \
        et_wait_for -d first log_count_above first "(ceiling 4000 ms)" 0 || ok=1
    check "the record is written while backing off" test -f "$RECORD" || ok=1
    et_daemon_stop first # SIGTERM, as systemd's start timeout sends it
    check "SIGTERM while never up: back-off kept" \
        et_log_has first "back-off kept in $RECORD for the next start (attempt 2)" || ok=1
    check "the record is there" test -f "$RECORD" || ok=1
    check_num "it holds the attempt of the 4000-ms ceiling" "$(record_attempt)" -eq 2 || ok=1
    sed 's/^/  info: record: /' "$RECORD"
    return "$ok"
}

step_c() {
    local ok=0 line
    start_client second
    check "the restart logs a retry" et_wait_for -d second first_retry second || ok=1
    line="$(first_retry second || true)"
    echo "  info: first retry: ${line#*: }"
    check "its first retry resumes the back-off" grep -q -F "reconnect resumed from $RECORD" \
        <<<"$line" || ok=1
    check "... under the 4000-ms ceiling (not 1000)" grep -q -F "(ceiling 4000 ms)" \
        <<<"$line" || ok=1
    check_num "... before any attempt of this run" "$(line_no second "reconnect resumed")" \
        -lt "$(line_no second "could not connect")" || ok=1
    check "STATUS= says the back-off was resumed" \
        grep -q -F "STATUS=backing off: reconnect resumed from $RECORD" "$ET_TMP/client.notify" ||
        ok=1
    check "enftun status shows it" grep -q -E \
        '^state +backing_off, .*; back-off resumed from an earlier run \(attempt 2\)$' \
        <<<"$("$ET_BIN_DIR/enftun" status -c "$ET_TMP/c1.conf" 2>&1)" || ok=1
    check "... and its JSON" jq -e '.backoff_resumed_attempt == 2' \
        <<<"$("$ET_BIN_DIR/enftun" status -c "$ET_TMP/c1.conf" --json 2>&1)" || ok=1
    return "$ok"
}

step_d() {
    local ok=0
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    # The resumed wait is at most 4 s, then every retry at most 4 s apart.
    check "the tunnel comes up: READY=1" et_wait_for -d second -d router ready_sent || ok=1
    check "the record is gone once the tunnel is proven" \
        et_wait_for -d second test ! -e "$RECORD" || ok=1
    check "enftun status: nothing resumed any more" jq -e '.backoff_resumed_attempt == null' \
        <<<"$("$ET_BIN_DIR/enftun" status -c "$ET_TMP/c1.conf" --json 2>&1)" || ok=1
    et_daemon_stop router
    check "the router gone: two attempts fail" \
        et_wait_for -d second log_count_above second "could not connect to any remote host" 1 ||
        ok=1
    check "the record is written again" test -f "$RECORD" || ok=1
    et_daemon_stop second
    check_not "SIGTERM after having been up: no back-off kept" \
        et_log_has second "back-off kept" || ok=1
    check_not "the record is removed" test -e "$RECORD" || ok=1
    start_client third
    connected_at_once third || ok=1
    et_daemon_stop third
    return "$ok"
}

step_e() {
    local ok=0
    printf 'enftun-backoff 2\nboot_id x\nattempt 9\n' >"$RECORD"
    start_client fourth
    check "the corrupt record is ignored with a warning" et_wait_for -d fourth \
        et_log_has fourth "back-off record $RECORD ignored: expected 6 lines, found 3" || ok=1
    connected_at_once fourth || ok=1
    et_daemon_stop fourth
    return "$ok"
}

step_f() {
    local ok=0 failed
    rm -f "$RECORD"
    start_client fifth
    check "an attempt fails (router down)" et_wait_for -d fifth test -f "$RECORD" || ok=1
    write_client_conf "$ET_TMP/c1.conf" ca="$ET_TMP/pki/ca.pem" cert="$ET_TMP/pki/c1.pem" \
        key="$ET_TMP/pki/c1.key" connect_timeout=1000 reconnect_max_delay=4000 port=4444
    failed="$(et_log_count fifth "could not connect to any remote host")"
    check "reload with remote.port 4444" et_reload fifth || ok=1
    check "an attempt to the new port fails" et_wait_for -d fifth \
        log_count_above fifth "could not connect to any remote host" "$failed" || ok=1
    et_daemon_stop fifth
    check "SIGTERM while never up: back-off kept" et_log_has fifth "back-off kept in $RECORD" ||
        ok=1
    check "the record names the reloaded remote" grep -q -x -F "remote fd00:100::1 4444" \
        "$RECORD" || ok=1
    sed 's/^/  info: record: /' "$RECORD"
    start_client sixth
    check "the restart with that config resumes the back-off" et_wait_for -d sixth \
        et_log_has sixth "reconnect resumed from $RECORD" || ok=1
    check_not "... the record is not taken for another remote's" \
        et_log_has sixth "for another remote.hosts or remote.port" || ok=1
    et_daemon_stop sixth
    return "$ok"
}

step_g() {
    local ok=0
    rm -f "$RECORD"
    start_client seventh
    check "an attempt fails (router down)" et_wait_for -d seventh test -f "$RECORD" || ok=1
    et_daemon_stop seventh
    start_client eighth
    check "the restart resumes the back-off" et_wait_for -d eighth \
        et_log_has eighth "reconnect resumed from $RECORD" || ok=1
    check "enftun status says so" jq -e '.backoff_resumed_attempt > 0' \
        <<<"$("$ET_BIN_DIR/enftun" status -c "$ET_TMP/c1.conf" --json 2>&1)" || ok=1
    et_exec c nft -f - <<EOF
table inet backoff_resume_test {
    chain out {
        type filter hook output priority -400; policy accept;
        tcp dport 4445 drop
    }
}
EOF
    write_client_conf "$ET_TMP/c1.conf" ca="$ET_TMP/pki/ca.pem" cert="$ET_TMP/pki/c1.pem" \
        key="$ET_TMP/pki/c1.key" connect_timeout=20000 reconnect_max_delay=4000 port=4445
    check "reload with remote.port 4445 (its connects hang)" et_reload eighth || ok=1
    check "the reload's retry without back-off removes the record" \
        et_wait_for -d eighth test ! -e "$RECORD" || ok=1
    check "enftun status: nothing resumed any more (the back-off was reset)" \
        jq -e '.backoff_resumed_attempt == null' \
        <<<"$("$ET_BIN_DIR/enftun" status -c "$ET_TMP/c1.conf" --json 2>&1)" || ok=1
    et_daemon_stop eighth
    et_exec c nft delete table inet backoff_resume_test
    return "$ok"
}

# sha256:HEX of a certificate file's DER, as the record names it.
cert_identity() {
    echo "sha256:$(openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1)"
}

step_h() {
    local ok=0
    rm -f "$RECORD"
    write_client_conf "$ET_TMP/c1.conf" ca="$ET_TMP/pki/ca.pem" cert="$ET_TMP/pki/c1.pem" \
        key="$ET_TMP/pki/c1.key" connect_timeout=1000 reconnect_max_delay=4000
    start_client ninth
    check "an attempt fails (router down)" et_wait_for -d ninth test -f "$RECORD" || ok=1
    et_daemon_stop ninth
    check "the record names the certificate" grep -q -x -F \
        "identity $(cert_identity "$ET_TMP/pki/c1.pem")" "$RECORD" || ok=1
    # A new key and certificate for the same address (enrolled again, or
    # renewed after the router refused the old one): the restart with it
    # connects at once.
    "$ET_REPO/scripts/gen-test-certs" "$ET_TMP/pki" c1new=$C_ADDR >/dev/null
    write_client_conf "$ET_TMP/c1.conf" ca="$ET_TMP/pki/ca.pem" cert="$ET_TMP/pki/c1new.pem" \
        key="$ET_TMP/pki/c1new.key" connect_timeout=1000 reconnect_max_delay=4000
    start_client tenth
    check "the record is ignored: another certificate" et_wait_for -d tenth et_log_has tenth \
        "back-off record $RECORD ignored: made with another client certificate" || ok=1
    connected_at_once tenth || ok=1
    et_daemon_stop tenth
    check "the record now names the new certificate" grep -q -x -F \
        "identity $(cert_identity "$ET_TMP/pki/c1new.pem")" "$RECORD" || ok=1
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    command -v python3 >/dev/null || et_skip "python3 not installed"
    command -v jq >/dev/null || et_skip "jq not installed"
    command -v nft >/dev/null || et_skip "nft not installed"
    command -v openssl >/dev/null || et_skip "openssl not installed"
    setup
    run_steps \
        "a|without NOTIFY_SOCKET: no record|step_a" \
        "b|never up: the record is written and kept on SIGTERM|step_b|a" \
        "c|restart: the back-off resumes under the recorded ceiling|step_c|a" \
        "d|up, then stopped: the record goes, the next start connects at once|step_d|c" \
        "e|a corrupt record: ignored with a warning, connect at once|step_e|d" \
        "f|reload to another remote: the record follows, the restart resumes|step_f|b" \
        "g|reload while backing off: the record goes at once, status resets|step_g|b" \
        "h|a new client certificate: the record is not resumed|step_h|b"
    et_summary backoff_resume_test
}

main "$@"
