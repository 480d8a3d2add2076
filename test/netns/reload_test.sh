#!/usr/bin/env bash
# reload_test.sh: SIGHUP (`systemctl reload`) re-reads the config of both
# daemons (CTest: netns.reload_test; exit 77 = skipped).
#
# Topology: c (enftun c1, fd00:e::5; later c3) ── veth ── r (enftun-router
# R1 on [fd00:100::1]:4443, router.address fd00:e::1; R2 on port 4444 for
# step h). Every ping goes through the tunnel to the router's own address.
#
# Steps:
#   a. c1 up, pinging R1; one "tunnel up".
#   b. client: heartbeat_period 60 s -> 300 ms: the heartbeats counter
#      climbs (at the old period it could not within the wait), no reconnect.
#   c. client: a bad value and a syntax error are rejected with
#      FILE:LINE: KEY: reason; the tunnel stays up, the 300 ms period stays.
#   d. client: tun.dev changed: one line names it as needing a restart, the
#      TUN stays enf0 (no enf9), the other change in the same file
#      (reconnect_max_delay) is applied, no reconnect.
#   e. router: a new certificate (same CA): a ping runs through the reload
#      without loss, c1's session stays (no new session, no reconnect), and
#      a new handshake (openssl s_client) gets the new certificate.
#   f. router: a client of another CA (c3) is refused until the router's CA
#      file holds that CA too; after the reload c3 gets a session, c1 keeps
#      its own.
#   g. router: a bad value is rejected with FILE:LINE: KEY: reason, a port
#      change is named as needing a restart; sessions stay.
#   h. client: remote.port -> R2: exactly one reconnect, now via R2.
#   i. client: its CA file replaced in place (same name): one reconnect.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 C1_ADDR=fd00:e::5 C2_ADDR=fd00:e::6 C3_ADDR=fd00:e::7
PKI=""

ping_router() {
    et_exec c ping -6 -n -c 1 -W 1 "$R_ADDR"
}

listening() {
    [[ -n $(et_exec r ss -Hltn "src [fd00:100::1]:$1") ]]
}

# router_conf FILE [write_router_conf option]...: R1's config by default.
router_conf() {
    local file="$1"
    shift
    write_router_conf "$file" address="$R_ADDR" cert="$PKI/router.pem" key="$PKI/router.key" \
        ca="$PKI/ca.pem" tun_dev= "$@"
}

# c1_conf [write_client_conf option]...
c1_conf() {
    write_client_conf "$ET_TMP/c1.conf" ca="$PKI/ca.pem" cert="$PKI/c1.pem" key="$PKI/c1.key" \
        prefixes=fd00:e::/64 heartbeat_timeout=15000 "$@"
}

heartbeats() {
    et_daemon_stat c1 heartbeats
}

heartbeats_above() {
    (($(heartbeats) > $1))
}

# served_fingerprint PORT: the SHA-256 fingerprint of the certificate a new
# handshake with R1 gets (c2's certificate as the client's).
served_fingerprint() {
    et_exec c timeout 10 openssl s_client -connect "[fd00:100::1]:$1" -cert "$PKI/c2.pem" \
        -key "$PKI/c2.key" -CAfile "$PKI/ca.pem" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256
}

fingerprint() {
    openssl x509 -in "$1" -noout -fingerprint -sha256
}

# ---------------------------------------------------------------- steps

step_up() {
    local ok=0
    check "c1 pings the router through the tunnel" et_wait_for -d c1 ping_router || ok=1
    check_num "tunnels up" "$(et_log_count c1 "tunnel up:")" -eq 1 || ok=1
    return "$ok"
}

step_heartbeat_live() {
    local ok=0 h0
    h0="$(heartbeats)"
    c1_conf heartbeat_period=300
    et_reload c1 || return 1
    check "c1 logs what it applied" et_log_has c1 "reload: applied remote.heartbeat_period" || ok=1
    check "heartbeats every 300 ms now (5 more within the wait)" \
        et_wait_for -d c1 heartbeats_above "$((h0 + 5))" || ok=1
    check_num "no reconnect: tunnels up" "$(et_log_count c1 "tunnel up:")" -eq 1 || ok=1
    check "the tunnel passes traffic" ping_router || ok=1
    return "$ok"
}

step_broken_client_conf() {
    local ok=0 line h0
    # A bad value: port out of range, on line $line.
    c1_conf heartbeat_period=300
    sed -i 's/^  port = 4443;/  port = 99999;/' "$ET_TMP/c1.conf"
    line="$(grep -n 'port = 99999' "$ET_TMP/c1.conf" | cut -d: -f1)"
    et_reload c1 || return 1
    check "bad value rejected with FILE:LINE: KEY: reason" \
        et_log_has c1 "reload rejected: $ET_TMP/c1.conf:$line: remote.port: " || ok=1
    # A syntax error ("port = = 4443;"), on the same line.
    c1_conf heartbeat_period=300
    sed -i 's/^  port = 4443;/  port = = 4443;/' "$ET_TMP/c1.conf"
    et_reload c1 || return 1
    check "syntax error rejected with FILE:LINE: reason" \
        et_log_has c1 "reload rejected: $ET_TMP/c1.conf:$line: syntax error" || ok=1
    check "the tunnel stays up" ping_router || ok=1
    check_num "no reconnect: tunnels up" "$(et_log_count c1 "tunnel up:")" -eq 1 || ok=1
    h0="$(heartbeats)"
    check "the running 300 ms period stays" et_wait_for -d c1 heartbeats_above "$((h0 + 5))" ||
        ok=1
    return "$ok"
}

step_tun_name() {
    local ok=0
    c1_conf heartbeat_period=300 dev=enf9 reconnect_max_delay=7000
    et_reload c1 || return 1
    check "one line names tun.dev as needing a restart" \
        et_log_has c1 "reload: tun.dev changed: this takes a restart" || ok=1
    check "the rest is applied" et_log_has c1 "reload: applied remote.reconnect_max_delay" || ok=1
    check "the TUN is still enf0" et_link_up c enf0 || ok=1
    check_not "no enf9" et_link_exists c enf9 || ok=1
    check "the tunnel stays up" ping_router || ok=1
    check_num "no reconnect: tunnels up" "$(et_log_count c1 "tunnel up:")" -eq 1 || ok=1
    return "$ok"
}

step_router_cert() {
    local ok=0 pki2="$ET_TMP/pki2" sessions closed
    mkdir -p "$pki2"
    cp "$PKI/ca.pem" "$PKI/ca.key" "$pki2/"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$pki2" >/dev/null
    check "before: a handshake gets the old certificate" \
        test "$(served_fingerprint 4443)" == "$(fingerprint "$PKI/router.pem")" || ok=1
    sessions="$(et_log_count router "session up: $C1_ADDR")"
    closed="$(et_log_count router "session closed: $C1_ADDR")"
    router_conf "$ET_TMP/router.conf" cert="$pki2/router.pem" key="$pki2/router.key"
    # 30 pings over 3 s, with the reload in the middle of them; -w: see
    # et_ping_answered (with -c alone, a loaded machine that delays the last
    # answer by 0.1 s fails this step: "29 received" when the router is
    # stopped for 0.5 s after the 29th answer).
    et_exec c ping -6 -n -D -O -c 30 -i 0.1 -w 20 "$R_ADDR" >"$ET_TMP/ping-e.txt" 2>&1 &
    local ping_pid=$!
    et_wait_for test -s "$ET_TMP/ping-e.txt" || true
    et_reload router || ok=1
    wait "$ping_pid" || true
    check "a ping ran through the reload without loss" \
        et_ping_answered "$ET_TMP/ping-e.txt" 30 || ok=1
    check "the router logs the new credentials" et_log_has router "reload: certificate, key, CA" ||
        ok=1
    check "after: a new handshake gets the new certificate" \
        test "$(served_fingerprint 4443)" == "$(fingerprint "$pki2/router.pem")" || ok=1
    check_num "c1's session stays (no new one)" \
        "$(et_log_count router "session up: $C1_ADDR")" -eq "$sessions" || ok=1
    check_num "c1's session not closed" \
        "$(et_log_count router "session closed: $C1_ADDR")" -eq "$closed" || ok=1
    check_num "no reconnect: tunnels up" "$(et_log_count c1 "tunnel up:")" -eq 1 || ok=1
    check "the tunnel passes traffic" ping_router || ok=1
    PKI_ROUTER="$pki2"
    return "$ok"
}

step_router_client_ca() {
    local ok=0 other="$ET_TMP/pki-other" failed
    "$ET_REPO/scripts/gen-test-certs" --ca-name reload-other-ca "$other" c3="$C3_ADDR" >/dev/null
    write_client_conf "$ET_TMP/c3.conf" dev=enf3 ca="$PKI/ca.pem" cert="$other/c3.pem" \
        key="$other/c3.key" reconnect_max_delay=1000
    et_daemon_start c3 c "$ET_BIN_DIR/enftun" -c "$ET_TMP/c3.conf"
    # Two refused attempts, so the refusal is no accident of timing.
    check "c3 (another CA) is refused" et_wait_for -d c3 log_count_above c3 "reconnecting in" 1 ||
        ok=1
    check_not "no session for c3" et_log_has router "session up: $C3_ADDR" || ok=1
    cat "$PKI/ca.pem" "$other/ca.pem" >"$ET_TMP/both-cas.pem"
    router_conf "$ET_TMP/router.conf" cert="$PKI_ROUTER/router.pem" \
        key="$PKI_ROUTER/router.key" ca="$ET_TMP/both-cas.pem"
    et_reload router || ok=1
    check "c3's next handshake follows the new CA file: session up" \
        et_wait_for -d c3 -d router et_log_has router "session up: $C3_ADDR" || ok=1
    check "c1 still pings" ping_router || ok=1
    check_num "no reconnect of c1" "$(et_log_count c1 "tunnel up:")" -eq 1 || ok=1
    et_daemon_stop c3
    failed="$(et_log_count router "reload rejected")"
    check_num "no reload rejected so far" "$failed" -eq 0 || ok=1
    return "$ok"
}

step_router_broken_and_restart_keys() {
    local ok=0 line
    router_conf "$ET_TMP/router.conf" cert="$PKI_ROUTER/router.pem" \
        key="$PKI_ROUTER/router.key" ca="$ET_TMP/both-cas.pem" max_sessions=0
    line="$(grep -n 'max_sessions = 0' "$ET_TMP/router.conf" | cut -d: -f1)"
    et_reload router || return 1
    check "bad value rejected with FILE:LINE: KEY: reason" \
        et_log_has router "reload rejected: $ET_TMP/router.conf:$line: router.max_sessions: " ||
        ok=1
    router_conf "$ET_TMP/router.conf" cert="$PKI_ROUTER/router.pem" \
        key="$PKI_ROUTER/router.key" ca="$ET_TMP/both-cas.pem" port=4445 idle_timeout=170000
    et_reload router || return 1
    check "port named as needing a restart" \
        et_log_has router "reload: router.port changed: this takes a restart" || ok=1
    check "the rest applied" et_log_has router "applied: router.idle_timeout" || ok=1
    check "still listening on 4443" listening 4443 || ok=1
    check_not "not on 4445" listening 4445 || ok=1
    check "c1 still pings" ping_router || ok=1
    check_num "no reconnect of c1" "$(et_log_count c1 "tunnel up:")" -eq 1 || ok=1
    return "$ok"
}

step_remote_change() {
    local ok=0
    router_conf "$ET_TMP/router2.conf" port=4444
    et_daemon_start router2 r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router2.conf"
    et_wait_for -d router2 listening 4444 || return 1
    c1_conf heartbeat_period=300 port=4444
    et_reload c1 || return 1
    check "c1 reconnects, via R2" \
        et_wait_for -d c1 et_log_has c1 "tunnel up: $C1_ADDR via [fd00:100::1]:4444" || ok=1
    check "the tunnel passes traffic (R2)" et_wait_for -d c1 ping_router || ok=1
    check_num "exactly one reconnect: tunnels up" "$(et_log_count c1 "tunnel up:")" -eq 2 || ok=1
    check_num "R2: one session" "$(et_log_count router2 "session up: $C1_ADDR")" -eq 1 || ok=1
    check "R1: c1's session ended" et_wait_for -d router et_log_has router \
        "session closed: $C1_ADDR" || ok=1
    return "$ok"
}

# The client's CA file replaced in place (same name, new contents: here the
# same certificate behind a comment line, which PEM readers skip).
step_ca_in_place() {
    local ok=0 ups
    ups="$(et_log_count c1 "tunnel up:")"
    { echo "# rotated"; cat "$PKI/ca.pem"; } >"$ET_TMP/ca.new"
    mv "$ET_TMP/ca.new" "$PKI/ca.pem"
    et_reload c1 || return 1
    check "c1 reconnects for the new CA contents" et_wait_for -d c1 log_count_above c1 \
        "tunnel up:" "$ups" || ok=1
    check "... saying why" et_log_has c1 "the contents of the CA or identity files changed" || ok=1
    check "the tunnel passes traffic" et_wait_for -d c1 ping_router || ok=1
    check_num "exactly one reconnect" "$(et_log_count c1 "tunnel up:")" -eq "$((ups + 1))" || ok=1
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    et_router_client_pair
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$PKI" c1="$C1_ADDR" \
        c2="$C2_ADDR" >/dev/null
    PKI_ROUTER="$PKI"
    router_conf "$ET_TMP/router.conf"
    c1_conf heartbeat_period=60000
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router listening 4443
    et_daemon_start c1 c "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
    et_wait_for -d c1 et_link_up c enf0
    et_exec c ip -6 route replace fd00:e::/64 dev enf0
    run_steps \
        "a|c1 up|step_up" \
        "b|client reload: heartbeat period applies at once, no reconnect|step_heartbeat_live|a" \
        "c|client reload: broken config rejected, tunnel and settings kept|step_broken_client_conf|a" \
        "d|client reload: tun.dev change named, the rest applied|step_tun_name|a" \
        "e|router reload: new certificate for new handshakes, session stays|step_router_cert|a" \
        "f|router reload: new client CA for new handshakes|step_router_client_ca|e" \
        "g|router reload: broken config rejected, port change named|step_router_broken_and_restart_keys|f" \
        "h|client reload: new remote port, exactly one reconnect|step_remote_change|a" \
        "i|client reload: CA file replaced in place, one reconnect|step_ca_in_place|a"
    et_summary reload_test
}

main "$@"
