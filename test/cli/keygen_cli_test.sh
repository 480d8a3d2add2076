#!/usr/bin/env bash
# keygen_cli_test.sh BUILD_DIR: enftun-keygen's command line (CTest:
# cli.keygen_cli_test; needs no root and no network: nothing here may reach
# a service).
#
#   --version, --help     stdout, exit 0
#   usage errors          one line "enftun-keygen: ... (see enftun-keygen
#                         --help)" on stderr, exit 2: a bad address or
#                         prefix, options that do not go together
#   other failures        one line on stderr, exit 1, nothing written: an
#                         unreadable config, no terminal to confirm on
#                         without --yes, a CA key that is not the CA's
#   offline modes         --ca-cert/--ca-key writes a key (0600) and a
#                         certificate (0644) for the address that verifies
#                         for TLS clients, with --ipv4 ADDR also naming that
#                         IPv4 address; --csr-out writes a key and a
#                         request whose subject is the address
#   --ipv4                refused before anything else when it is not one
#                         routable unicast address, or offline auto, or with
#                         --renew or --csr-out
set -e -o pipefail
export LC_ALL=C

readonly BUILD="${1:?usage: keygen_cli_test.sh BUILD_DIR}"
readonly KEYGEN="$BUILD/enftun-keygen" ENFTUN="$BUILD/enftun"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly REPO
# shellcheck source-path=SCRIPTDIR source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

# one_line: the last command wrote exactly one line on stderr.
one_line() {
    if [[ $(wc -l <"$TMP/err") == 1 ]]; then
        echo "  ok: $1: one line"
    else
        echo "  not ok: $1: $(wc -l <"$TMP/err") lines on stderr"
        FAILED=$((FAILED + 1))
    fi
}

# usage_error DESC MESSAGE-RE ARGS...
usage_error() {
    local desc="$1" re="$2"
    shift 2
    expect "$desc" 2 '^$' "^enftun-keygen: $re.*\\(see enftun-keygen --help\\)" \
        "$KEYGEN" -c "$TMP/dev/enf0.conf" "$@"
    one_line "$desc"
}

# nothing_written DESC: no file in the identity folder but the run lock
# (enf0.key.lock, empty, kept by design: keygen/device/run_lock.hpp).
nothing_written() {
    local left
    left="$(ls -A -I enf0.key.lock "$TMP/dev/id")"
    if [[ -z $left && ! -s "$TMP/dev/id/enf0.key.lock" ]]; then
        echo "  ok: $1: nothing written"
    else
        echo "  not ok: $1: wrote $(ls -A "$TMP/dev/id")"
        FAILED=$((FAILED + 1))
    fi
}

need_bins "$KEYGEN" "$ENFTUN"
make_tmp enftun-keygen-cli
mkdir -p "$TMP/dev/id"
"$REPO/scripts/gen-test-certs" "$TMP/pki" >/dev/null
echo "not the real one" >"$TMP/pw"
"$REPO/scripts/gen-test-certs" --ca-name other "$TMP/other" >/dev/null
cat >"$TMP/dev/enf0.conf" <<CONF
remote = { hosts = [ "fd00:100::1" ]; ca_cert_file = "$TMP/pki/ca.pem"; };
identity = { cert_file = "id/enf0.pem"; key_file = "id/enf0.key"; };
enroll = { url = "https://[fd00:100::1]:9443"; };
CONF

echo "=== enftun-keygen"
expect "--version" 0 '^enftun-keygen [0-9]+\.[0-9]+\.[0-9]+' '^$' "$KEYGEN" --version
expect "--help" 0 '^usage: enftun-keygen.*--renew.*--ca-cert.*--csr-out' '^$' "$KEYGEN" --help
usage_error "no request" "missing ADDRESS, PREFIX/64 or auto"
usage_error "two requests" "unexpected argument: fd00::6" fd00::5 fd00::6
usage_error "unknown option" "unknown option: --bogus" --bogus auto
usage_error "option without its value" "option needs a value: --user" auto --user
usage_error "a /65" 'fd00::/65: only a /64 can be requested' fd00::/65
usage_error "not an address" 'fd00::zz is not an IPv6 address, a /64 or "auto"' fd00::zz
usage_error "host bits in a /64" 'fd00:e:0:1::5/64: bits set after the /64' fd00:e:0:1::5/64
usage_error "multicast" 'ff02::1 is not a global or unique-local unicast address' ff02::1
usage_error "--renew with an address" "--renew takes no address" --renew fd00::5
usage_error "--renew with a password" "--renew authenticates with the current certificate" \
    --renew --password-file pw
usage_error "--days without a CA" "--days needs --ca-cert and --ca-key" --days 3 fd00::5
usage_error "--days 0" "--days must be a number of days from 1 to 36500" \
    --ca-cert a --ca-key b --days 0 fd00::5
usage_error "half a CA" "--ca-cert and --ca-key go together" --ca-cert a fd00::5
usage_error "offline needs an address" "offline \\(--ca-cert, --csr-out\\) needs an exact address" \
    --csr-out r.csr auto
usage_error "--server offline" "--server does not apply offline" \
    --csr-out r.csr --server https://x fd00::5
usage_error "plain http" '--server must be an https:// URL \(got "http://x"\)' \
    --server http://x auto
usage_error "--ipv4 loopback" '--ipv4: 127.0.0.1 is not a routable unicast IPv4 address' \
    --ipv4 127.0.0.1 auto
usage_error "--ipv4 with a prefix length" \
    '--ipv4: 198.18.0.0/24: give one IPv4 address or "auto", not a prefix' --ipv4 198.18.0.0/24 auto
usage_error "--ipv4 not IPv4" '--ipv4: fd00::5 is not an IPv4 address or "auto"' --ipv4 fd00::5 auto
usage_error "--ipv4 broadcast" '--ipv4: 255.255.255.255 is not a routable unicast' \
    --ipv4 255.255.255.255 auto
usage_error "--ipv4 auto offline" 'offline \(--ca-cert\) needs an exact --ipv4 address, not auto' \
    --ca-cert a --ca-key b --ipv4 auto fd00::5
usage_error "--ipv4 with --renew" "--renew keeps the current certificate's IPv4 address" \
    --renew --ipv4 auto
usage_error "--ipv4 with --csr-out" "--csr-out writes an IPv6-only request: no --ipv4" \
    --csr-out r.csr --ipv4 198.18.0.5 fd00::5
nothing_written "usage errors"

expect "unreadable config" 1 '^$' "^enftun-keygen: .*/nope.conf.*No such file" \
    "$KEYGEN" -c "$TMP/nope.conf" auto
one_line "unreadable config"
# No terminal (setsid: no controlling tty) and no --yes: refuse, ask nothing.
expect "no terminal and no --yes" 1 "server:  https://\\[fd00:100::1\\]:9443" \
    "^enftun-keygen: no terminal to ask on .*: use --yes" \
    setsid -w "$KEYGEN" -c "$TMP/dev/enf0.conf" --user ops --password-file "$TMP/pw" auto
one_line "no terminal"
expect "an empty password file, before any prompt" 1 '^$' \
    "^enftun-keygen: password: password file /dev/null is empty" \
    "$KEYGEN" -c "$TMP/dev/enf0.conf" --user ops --password-file /dev/null auto
expect "CA key of another CA" 1 "" "^enftun-keygen: the CA key does not match the CA certificate" \
    "$KEYGEN" -c "$TMP/dev/enf0.conf" --ca-cert "$TMP/pki/ca.pem" --ca-key "$TMP/other/ca.key" \
    --yes fd00:e::5
expect "signed by a CA the config does not trust" 1 "" \
    "^enftun-keygen: --ca-cert: the certificate does not verify against the configured CA" \
    "$KEYGEN" -c "$TMP/dev/enf0.conf" --ca-cert "$TMP/other/ca.pem" \
    --ca-key "$TMP/other/ca.key" --yes fd00:e::5
nothing_written "failures"

expect "offline signing" 0 "address fd00:e::5: wrote .*enf0.key and .*enf0.pem" '^$' \
    "$KEYGEN" -c "$TMP/dev/enf0.conf" --ca-cert "$TMP/pki/ca.pem" --ca-key "$TMP/pki/ca.key" \
    --days 10 --yes fd00:e::5
expect "  key 0600, certificate 0644" 0 '^600.644' '' \
    stat -c '%a' "$TMP/dev/id/enf0.key" "$TMP/dev/id/enf0.pem"
expect "  verifies for TLS clients" 0 'OK' '' \
    openssl verify -CAfile "$TMP/pki/ca.pem" -purpose sslclient "$TMP/dev/id/enf0.pem"
expect "  CN and SAN are the address" 0 'subject=CN = fd00:e::5.*IP Address:FD00:E:0:0:0:0:0:5' '' \
    openssl x509 -in "$TMP/dev/id/enf0.pem" -noout -subject -ext subjectAltName
expect "  key matches certificate (enftun loads them)" 0 '' '' \
    bash -c "[[ \$(openssl x509 -in '$TMP/dev/id/enf0.pem' -noout -pubkey) == \
        \$(openssl pkey -in '$TMP/dev/id/enf0.key' -pubout) ]]"
expect "offline signing with --ipv4" 0 \
    "address fd00:e::6 \\(IPv4 198.18.0.5\\): wrote .*enf0.key and .*enf0.pem" '^$' \
    "$KEYGEN" -c "$TMP/dev/enf0.conf" --ca-cert "$TMP/pki/ca.pem" --ca-key "$TMP/pki/ca.key" \
    --ipv4 198.18.0.5 --yes fd00:e::6
expect "  CN is the address, SAN the address and the IPv4 address" 0 \
    'subject=CN = fd00:e::6.*IP Address:FD00:E:0:0:0:0:0:6, IP Address:198.18.0.5' '' \
    openssl x509 -in "$TMP/dev/id/enf0.pem" -noout -subject -ext subjectAltName
expect "  verifies for TLS clients" 0 'OK' '' \
    openssl verify -CAfile "$TMP/pki/ca.pem" -purpose sslclient "$TMP/dev/id/enf0.pem"
expect "--csr-out" 0 "wrote .*enf0.key and the request .*r.csr for fd00:e::9" '^$' \
    "$KEYGEN" -c "$TMP/dev/enf0.conf" --csr-out "$TMP/dev/r.csr" --yes fd00:e::9
expect "  the request is signed and names the address" 0 'subject=CN = fd00:e::9' \
    'verify OK' openssl req -in "$TMP/dev/r.csr" -noout -subject -verify

echo "=== enftun -p enroll.url"
expect "enroll.url printed" 0 '^https://\[fd00:100::1\]:9443' '^$' \
    "$ENFTUN" -c "$TMP/dev/enf0.conf" -p enroll.url

finish
