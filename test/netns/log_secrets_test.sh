#!/usr/bin/env bash
# log_secrets_test.sh: no secret is ever logged. The client and the router
# run at debug level (the client through log.level = "warning" and -vv,
# which also proves -v raises the level) through what logs most: failed
# connects while the router is down, handshakes, a tunnel with a ping, a
# reconnect, a refused client with another CA's certificate, the counters
# (SIGUSR1) and a stop. Then their logs are searched for the private keys
# (CTest: netns.log_secrets_test). The identities are PEM files; a last
# run gives the client a TPM identity with a password and a TPM that does
# not answer, the error path where a password would show: its output must
# not hold the password.
#
# For each key (the client's, the router's, the CA's): its private scalar in
# hex (plain, either case, and colon-separated as `openssl pkey -text`
# prints it) and its first 8 bytes alone, the whole DER in hex and in
# base64, and every line of the PEM body. A control first finds all of
# them in a file that holds the key, so the search itself can fail.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 C_ADDR=fd00:e::5

setup() {
    et_router_client_pair
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$ET_TMP/pki" c1=$C_ADDR >/dev/null
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$ET_TMP/other" c1=$C_ADDR \
        >/dev/null
    write_router_conf "$ET_TMP/router.conf" cert="$ET_TMP/pki/router.pem" \
        key="$ET_TMP/pki/router.key" ca="$ET_TMP/pki/ca.pem" tun_dev=""
    echo 'log : { level = "debug"; };' >>"$ET_TMP/router.conf"
    write_client_conf "$ET_TMP/c1.conf" ca="$ET_TMP/pki/ca.pem" cert="$ET_TMP/pki/c1.pem" \
        key="$ET_TMP/pki/c1.key" connect_timeout=1000 reconnect_max_delay=1000
    echo 'log : { level = "warning"; };' >>"$ET_TMP/c1.conf"
    # The same client with another CA's certificate and key: refused.
    write_client_conf "$ET_TMP/rogue.conf" dev=enf1 ca="$ET_TMP/pki/ca.pem" \
        cert="$ET_TMP/other/c1.pem" key="$ET_TMP/other/c1.key" connect_timeout=1000 \
        reconnect_max_delay=1000
    echo 'log : { level = "debug"; };' >>"$ET_TMP/rogue.conf"
}

# secret_patterns KEY: one fixed string a line, each a form of KEY's secret.
secret_patterns() {
    local key="$1" priv der
    priv="$(openssl pkey -in "$key" -text -noout |
        awk '/^priv:/ { on = 1; next } /^[a-zA-Z]/ { on = 0 } on' | tr -d ' \n')"
    [[ ${#priv} -ge 60 ]] || { echo "no private scalar in $key" >&2; return 1; }
    echo "$priv"                    # colon-separated, as openssl prints it
    priv="${priv//:/}"
    echo "$priv"
    tr 'a-f' 'A-F' <<<"$priv"
    echo "${priv:0:16}"             # 8 bytes of it, alone
    tr 'a-f' 'A-F' <<<"${priv:0:16}"
    der="$(openssl pkey -in "$key" -outform DER | od -An -tx1 -v | tr -d ' \n')"
    echo "$der"
    openssl pkey -in "$key" -outform DER | base64 -w 0
    echo
    # The PEM body, line by line (a short last line could match by chance).
    grep -v -e '-----' "$key" | grep -E '^.{16,}$'
}

# leaks FILE...: print every secret pattern found in FILE (none: fails).
leaks() {
    local key found=1
    for key in "$ET_TMP/pki/c1.key" "$ET_TMP/pki/router.key" "$ET_TMP/pki/ca.key" \
        "$ET_TMP/other/c1.key"; do
        [[ -f $key ]] || continue
        # No patterns is a failure of the search, reported as a leak.
        secret_patterns "$key" >"$ET_TMP/patterns" || { echo "cannot read $key"; return 0; }
        if grep -i -F -f "$ET_TMP/patterns" "$@" >"$ET_TMP/found"; then
            echo "secret of $key in: $(cut -c1-120 "$ET_TMP/found" | head -n 3)"
            found=0
        fi
    done
    return "$found"
}

# every_form_found: each pattern of the client key is found in a file that
# holds the key: its PEM, openssl's text dump (the scalar with colons, on
# several lines), and the one-line colon, hex, base64 and upper-case forms.
every_form_found() {
    local key="$ET_TMP/pki/c1.key" pattern
    {
        cat "$key"
        openssl pkey -in "$key" -text -noout
        openssl pkey -in "$key" -outform DER | od -An -tx1 -v | tr -d ' \n'
        echo
        openssl pkey -in "$key" -outform DER | base64 -w 0
        echo
        openssl pkey -in "$key" -text -noout | tr -d ' \n'
        echo
        openssl pkey -in "$key" -text -noout | tr -d ' :\n'
        echo
        openssl pkey -in "$key" -text -noout | tr -d ' :\n' | tr 'a-f' 'A-F'
        echo
    } >"$ET_TMP/planted"
    while read -r pattern; do
        grep -q -i -F -- "$pattern" "$ET_TMP/planted" || { echo "not found: $pattern"; return 1; }
    done < <(secret_patterns "$key")
    leaks "$ET_TMP/planted"
}

ping_router() {
    et_exec c ping -6 -n -c 1 -W 1 "$R_ADDR"
}

step_a() {
    local ok=0
    check "the search finds every form of a key where it is" every_form_found || ok=1
    return "$ok"
}

step_b() {
    local ok=0
    et_daemon_start c1 c "$ET_BIN_DIR/enftun" -vv -c "$ET_TMP/c1.conf"
    check "failed connects while the router is down" \
        et_wait_for -d c1 log_count_above c1 "could not connect to any remote host" 1 || ok=1
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    check "tunnel up" et_wait_for -d c1 -d router et_log_has c1 "tunnel up: $C_ADDR" || ok=1
    et_exec c ip -6 route replace fd00:e::/64 dev enf0
    check "ping through the tunnel" et_wait_for -t 10 -d c1 ping_router || ok=1
    et_daemon_stop router
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    check "tunnel up again after a reconnect" \
        et_wait_for -d c1 -d router log_count_above c1 "tunnel up: $C_ADDR" 1 || ok=1
    et_daemon_start rogue c "$ET_BIN_DIR/enftun" -c "$ET_TMP/rogue.conf"
    check "the router refuses a certificate of another CA (debug line)" \
        et_wait_for -d router et_log_has router "handshake failed from" || ok=1
    et_daemon_stop rogue
    kill -USR1 "$(et_daemon_pid c1)" "$(et_daemon_pid router)"
    check "counters logged" et_wait_for -d c1 et_log_has c1 "stats: " || ok=1
    et_daemon_stop c1
    et_daemon_stop router
    check "-vv over log.level = warning: the client logged debug lines" \
        et_log_has c1 "debug: " || ok=1
    check "log.level = debug: the router logged debug lines" et_log_has router "debug: " || ok=1
    check_not "no key material in the client's, the router's or the refused client's log" \
        leaks "$(et_daemon_log c1)" "$(et_daemon_log router)" "$(et_daemon_log rogue)" || ok=1
    echo "  info: $(cat "$(et_daemon_log c1)" "$(et_daemon_log router)" \
        "$(et_daemon_log rogue)" | wc -l) log lines searched"
    return "$ok"
}

readonly TPM_PASSWORD="tpm-password-4e1f9a"

step_c() {
    local ok=0 port
    port="$((20000 + RANDOM % 20000))"
    write_client_conf "$ET_TMP/tpm.conf" dev=enf2 ca="$ET_TMP/pki/ca.pem" \
        cert="$ET_TMP/pki/c1.pem" key="$ET_TMP/pki/c1.key"
    sed -i "s|^identity : {|identity : {\n  tpm = { tcti = \"swtpm\"; socket_host = \"127.0.0.1\"; \
socket_port = $port; password = \"$TPM_PASSWORD\"; };|" "$ET_TMP/tpm.conf"
    check "the config holds the password" grep -q -F "$TPM_PASSWORD" "$ET_TMP/tpm.conf" || ok=1
    et_daemon_start tpm c "$ET_BIN_DIR/enftun" -vv -c "$ET_TMP/tpm.conf"
    check "no TPM answers: enftun exits" et_wait_for_exit tpm || ok=1
    et_daemon_reap tpm
    check_num "with a non-zero status" "$ET_LAST_STATUS" -ne 0 || ok=1
    sed 's/^/  info: /' "$(et_daemon_log tpm)" | head -n 5
    check_not "the TPM password is not in its output" \
        grep -F "$TPM_PASSWORD" "$(et_daemon_log tpm)" || ok=1
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    setup
    run_steps \
        "a|the search finds every form of a key|step_a" \
        "b|debug logs through connects, handshakes, a reconnect and a refusal hold no key|step_b|a" \
        "c|a TPM identity whose TPM does not answer: no password in the output|step_c"
    et_summary log_secrets_test
}

main "$@"
