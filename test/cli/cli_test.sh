#!/usr/bin/env bash
# cli_test.sh BUILD_DIR: the command lines of the built enftun and
# enftun-router, as README.md documents them (CTest: cli.cli_test; needs no
# root, opens no TUN and no socket).
#
#   --version, --help     print to stdout, exit 0
#   usage errors          a message naming the problem and the usage on
#                         stderr, exit 2 (no args, unknown flag, stray argument)
#   a bad config          "FILE:LINE: KEY: reason" on stderr, exit 1
#   -p KEY                the effective value on stdout (lists space-separated,
#                         defaults filled in, paths resolved), exit 0; an
#                         unknown KEY is "unknown key: KEY", exit 1
#   -p all                every key as KEY=VALUE lines, each VALUE as -p KEY
#                         prints it; a value holding a newline is an error
#   -v                    accepted
#   old enftun keys       a key of the original enftun that is ignored is a
#                         "warning: FILE:LINE: KEY: ignored: ..." line when
#                         enftun starts, and not printed with -p
set -e -o pipefail
export LC_ALL=C

readonly BUILD="${1:?usage: cli_test.sh BUILD_DIR}"
readonly ENFTUN="$BUILD/enftun" ROUTER="$BUILD/enftun-router"
# shellcheck source-path=SCRIPTDIR source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

# expect_print DESC CONFIG KEY VALUE [OPTION...]: `enftun [OPTION...] -c
# CONFIG -p KEY` prints exactly VALUE and a newline, and nothing on stderr.
expect_print() {
    local desc="$1" config="$2" key="$3" want="$4"
    shift 4
    run "$ENFTUN" "$@" -c "$config" -p "$key"
    if [[ $RC == 0 && $(cat "$TMP/out") == "$want" && $(wc -l <"$TMP/out") == 1 &&
        ! -s $TMP/err ]]; then
        echo "  ok: $desc"
        return 0
    fi
    echo "  not ok: $desc: exit $RC, printed \"$(cat "$TMP/out")\", expected \"$want\""
    sed 's/^/    stderr| /' "$TMP/err"
    FAILED=$((FAILED + 1))
}

need_bins "$ENFTUN" "$ROUTER"
make_tmp enftun-cli

cat >"$TMP/client.conf" <<'EOF'
version = "1.0";
tun = { mtu = 1400; offload = false; };
remote = {
  hosts = [ "fd00:100::1", "192.0.2.1", "enf.example.net" ];
  port = "4443";
  ca_cert_file = "/etc/enftun/ca.pem";
};
identity = { cert_file = "certs/c1.pem"; key_file = "c1.key"; };
EOF
cat >"$TMP/client-bad.conf" <<'EOF'
remote = { hosts = [ "fd00:100::1" ]; ca_cert_file = "ca.pem"; };
identity = { cert_file = "c1.pem"; key_file = "c1.key"; };
tun = {
  mtu = 100;
};
EOF
cat >"$TMP/client-typo.conf" <<'EOF'
remote = { hosts = [ "fd00:100::1" ]; ca_cert_file = "ca.pem"; };
identity = { cert_file = "c1.pem"; key_file = "c1.key"; };
route = {
  tabel = 2097;
};
EOF
# The original enftun's keys; no certificate exists, so enftun stops at its
# identity, before it would open a TUN.
cat >"$TMP/client-old.conf" <<'EOF'
version = "1.0";
tun = {
  dev_node = "/nonexistent/tun";
  ip_path = "/bin/ip";
  ip_set = false;
};
remote = { hosts = [ "fd00:100::1" ]; port = "443"; ca_cert_file = "ca.pem"; };
identity = { cert_file = "none.pem"; key_file = "none.key"; xtt = { }; };
EOF
# The original's TPM group: the key is a TPM blob or a persistent handle.
cat >"$TMP/client-tpm.conf" <<'EOF'
remote = { hosts = [ "fd00:100::1" ]; ca_cert_file = "ca.pem"; };
identity = { cert_file = "none.pem"; key_file = "0x81000001";
  tpm = { tcti = "socket"; socket_port = "2400"; password = "pw"; }; };
EOF
cat >"$TMP/router-bad.conf" <<'EOF'
router = {
  address = "fd00:e::1";
  cert_file = "router.pem"; key_file = "router.key"; ca_cert_file = "ca.pem";
  port = 0;
};
EOF

sed 's/port = 0;/port = 4443;/' "$TMP/router-bad.conf" >"$TMP/router-good.conf"

readonly USAGE_C='usage: enftun -c FILE'
readonly USAGE_R='usage: enftun-router -c FILE'

echo "enftun"
expect "--version" 0 '^enftun [0-9]+\.[0-9]+\.[0-9]+' '^$' "$ENFTUN" --version
expect "--help prints the usage on stdout" 0 "$USAGE_C.*-p, --print KEY.*-v, --verbose" '^$' \
    "$ENFTUN" --help
expect "-h" 0 "$USAGE_C" '^$' "$ENFTUN" -h
expect "no arguments" 2 '^$' "enftun: missing -c FILE.*$USAGE_C" "$ENFTUN"
expect "-p without -c" 2 '^$' "enftun: missing -c FILE" "$ENFTUN" -p tun.dev
expect "unknown long option" 2 '^$' "unrecognized option '--bogus'.*$USAGE_C" \
    "$ENFTUN" --bogus -c "$TMP/client.conf"
expect "unknown short option" 2 '^$' "invalid option -- 'x'.*$USAGE_C" \
    "$ENFTUN" -x -c "$TMP/client.conf"
expect "-c without its FILE" 2 '^$' "option requires an argument -- 'c'" "$ENFTUN" -c
expect "stray argument" 2 '^$' "enftun: unexpected argument: extra.*$USAGE_C" \
    "$ENFTUN" -c "$TMP/client.conf" extra
expect "config value out of range: file:line: key" 1 '^$' \
    "^enftun: $TMP/client-bad.conf:4: tun.mtu: must be between 1280 and 65535 \\(got 100\\)" \
    "$ENFTUN" -c "$TMP/client-bad.conf" -p tun.mtu
expect "unknown config key: file:line: key" 1 '^$' \
    "^enftun: $TMP/client-typo.conf:4: route.tabel: unknown key" \
    "$ENFTUN" -c "$TMP/client-typo.conf" -p route.table
expect "missing config file" 1 '^$' \
    "^enftun: $TMP/none.conf: cannot read config file: No such file or directory" \
    "$ENFTUN" -c "$TMP/none.conf" -p tun.dev
# A FIFO (or a device) as the config, or @included by it, is refused at
# once: read, it would block until a writer comes (timeout: the bug's sign).
mkfifo "$TMP/fifo.conf"
{ cat "$TMP/client.conf"; echo '@include "fifo.conf"'; } >"$TMP/client-fifo.conf"
expect "a FIFO as the config" 1 '^$' \
    "^enftun: $TMP/fifo.conf: cannot read config file: not a regular file" \
    timeout 20 "$ENFTUN" -c "$TMP/fifo.conf" -p tun.dev
expect "a FIFO @included" 1 '^$' \
    "^enftun: $TMP/client-fifo.conf:9: @include \"fifo.conf\": not a regular file" \
    timeout 20 "$ENFTUN" -c "$TMP/client-fifo.conf" -p tun.dev
expect "status: a FIFO as the config" 1 '^$' "^enftun status: $TMP/fifo.conf: .*not a regular file" \
    timeout 20 "$ENFTUN" status -c "$TMP/fifo.conf"
expect "a device as the config" 1 '^$' \
    "^enftun: /dev/zero: cannot read config file: not a regular file" \
    timeout 20 "$ENFTUN" -c /dev/zero -p tun.dev
expect_print "-p scalar" "$TMP/client.conf" tun.mtu 1400
expect_print "-p boolean" "$TMP/client.conf" tun.offload false
expect_print "-p port written as a string" "$TMP/client.conf" remote.port 4443
expect_print "-p list, space-separated" "$TMP/client.conf" remote.hosts \
    "fd00:100::1 192.0.2.1 enf.example.net"
expect_print "-p default scalar" "$TMP/client.conf" route.table 2097
expect_print "-p default list" "$TMP/client.conf" route.prefixes default
expect_print "-p empty default list" "$TMP/client.conf" route.trusted_interfaces ""
expect_print "-p unset optional" "$TMP/client.conf" identity.ip_file ""
expect_print "-p relative path resolved" "$TMP/client.conf" identity.cert_file \
    "$TMP/certs/c1.pem"
expect "-p unknown key" 1 '^$' '^enftun: unknown key: tun.nope' \
    "$ENFTUN" -c "$TMP/client.conf" -p tun.nope
# -p all: one KEY=VALUE line per key, each as -p KEY prints it.
run "$ENFTUN" -c "$TMP/client.conf" -p all
all_ok=1
[[ $RC == 0 && ! -s $TMP/err ]] || all_ok=0
keys=0
while IFS= read -r line; do
    keys=$((keys + 1))
    [[ $line == *=* ]] || all_ok=0
    want="$("$ENFTUN" -c "$TMP/client.conf" -p "${line%%=*}")" || all_ok=0
    [[ ${line#*=} == "$want" ]] || all_ok=0
done <"$TMP/out"
grep -q -x 'remote.hosts=fd00:100::1 192.0.2.1 enf.example.net' "$TMP/out" || all_ok=0
grep -q -x 'tun.mtu=1400' "$TMP/out" || all_ok=0
if ((all_ok && keys > 30)); then
    echo "  ok: -p all: $keys KEY=VALUE lines, each as -p KEY prints it"
else
    echo "  not ok: -p all (exit $RC, $keys lines)"
    sed 's/^/    stdout| /' "$TMP/out"
    sed 's/^/    stderr| /' "$TMP/err"
    FAILED=$((FAILED + 1))
fi
cat >"$TMP/client-newline.conf" <<'EOF'
version = "1.0";
remote = { hosts = [ "fd00::1" ]; ca_cert_file = "a\nb"; };
identity = { cert_file = "c.pem"; key_file = "k.pem"; };
EOF
expect "-p all: a value with a newline is refused" 1 '^$' \
    '^enftun: remote.ca_cert_file: value holds a newline' "$ENFTUN" -c "$TMP/client-newline.conf" -p all
expect_print "-v is accepted (and -p still prints only the value)" "$TMP/client.conf" \
    tun.mtu 1400 -v
expect "--verbose --config --print" 0 '^1400' '^$' \
    "$ENFTUN" --verbose --config "$TMP/client.conf" --print tun.mtu
expect_print "-p: tun.set_address from the original's tun.ip_set, no warning" \
    "$TMP/client-old.conf" tun.set_address false
expect_print "-p identity.tpm.tcti" "$TMP/client-tpm.conf" identity.tpm.tcti socket
expect_print "-p identity.tpm.socket_port" "$TMP/client-tpm.conf" identity.tpm.socket_port 2400
expect_print "-p identity.key_file: a persistent handle" "$TMP/client-tpm.conf" \
    identity.key_file handle:0x81000001
expect_print "-p identity.tpm.password: redacted" "$TMP/client-tpm.conf" \
    identity.tpm.password "(redacted)"
expect_print "-p identity.tpm.password --show-secrets: the password" "$TMP/client-tpm.conf" \
    identity.tpm.password pw --show-secrets
expect_print "-p identity.tpm.password unset: empty, not (redacted)" "$TMP/client.conf" \
    identity.tpm.password ""
expect "-p all: the password redacted" 0 'identity\.tpm\.password=\(redacted\).identity\.tpm\.parent=' '^$' \
    "$ENFTUN" -c "$TMP/client-tpm.conf" -p all
expect "-p all --show-secrets: the password" 0 'identity\.tpm\.password=pw.identity\.tpm\.parent=' '^$' \
    "$ENFTUN" -c "$TMP/client-tpm.conf" -p all --show-secrets
# Inner IPv4 (README "Inner IPv4"): route.prefixes takes IPv4 prefixes with
# route.allow_ipv4; -p tun.ipv4_address is the certificate's address.
"$(dirname "${BASH_SOURCE[0]}")/../../scripts/gen-test-certs" "$TMP/pki" \
    c4=fd00:e::5,198.18.1.5 >/dev/null
cat >"$TMP/client-v4.conf" <<'EOF'
remote = { hosts = [ "fd00:100::1" ]; ca_cert_file = "pki/ca.pem"; };
route = { prefixes = [ "198.18.0.0/16", "fd00:e::/48" ]; allow_ipv4 = true; };
identity = { cert_file = "pki/c4.pem"; key_file = "pki/c4.key"; };
EOF
# tun.ipv4_address apart from IPv4 prefixes: IPv6 ones only.
sed 's|"198.18.0.0/16", ||' "$TMP/client-v4.conf" >"$TMP/client-v4addr.conf"
sed 's|pki/c4.pem|pki/none.pem|' "$TMP/client-v4addr.conf" >"$TMP/client-v4-nocert.conf"
sed 's|allow_ipv4 = true|allow_ipv4 = false|' "$TMP/client-v4.conf" >"$TMP/client-v4-off.conf"
expect_print "-p route.prefixes: the IPv6 entries, then the IPv4 ones" "$TMP/client-v4.conf" \
    route.prefixes "fd00:e::/48 198.18.0.0/16"
expect "an IPv4 prefix without route.allow_ipv4: file:line: route.prefixes" 1 '^$' \
    "^enftun: $TMP/client-v4-off.conf:2: route.prefixes: the IPv4 prefix 198.18.0.0/16 needs route.allow_ipv4 = true" \
    "$ENFTUN" -c "$TMP/client-v4-off.conf" -p route.prefixes
expect_print "-p tun.ipv4_address: the certificate's IPv4 address" "$TMP/client-v4addr.conf" \
    tun.ipv4_address 198.18.1.5
expect "-p all: tun.ipv4_address the certificate's" 0 '.tun\.ipv4_address=198\.18\.1\.5.' '^$' \
    "$ENFTUN" -c "$TMP/client-v4addr.conf" -p all
expect "-p tun.ipv4_address: an unreadable certificate fails, with the reason" 1 '^$' \
    "^enftun: tun.ipv4_address: identity $TMP/pki/none.pem: " \
    "$ENFTUN" -c "$TMP/client-v4-nocert.conf" -p tun.ipv4_address
expect "-p all: an unreadable certificate, the configured value" 0 \
    '.tun\.ipv4_address=.tun\.control_socket=' '^$' "$ENFTUN" -c "$TMP/client-v4-nocert.conf" -p all
expect_print "-p tun.ipv4_address: allow_ipv4 off, as configured" "$TMP/client.conf" \
    tun.ipv4_address ""
expect "original keys: a warning each at startup (then no identity: exit 1)" 1 '^$' \
    "warning: $TMP/client-old.conf:4: tun.ip_path: ignored: .*warning: $TMP/client-old.conf:8: identity.xtt: ignored: .*identity $TMP/none.pem" \
    "$ENFTUN" -c "$TMP/client-old.conf"
# log.level hides the warnings; each -v is one level more.
{ cat "$TMP/client-old.conf"; echo 'log = { level = "error"; };'; } >"$TMP/client-quiet.conf"
expect "log.level = error: only the error line (exit 1)" 1 '^$' \
    "^error: identity $TMP/none.pem" "$ENFTUN" -c "$TMP/client-quiet.conf"
expect "-v over log.level = error: the warnings again" 1 '^$' \
    "^warning: $TMP/client-quiet.conf:4: tun.ip_path: ignored: .*error: identity" \
    "$ENFTUN" -v -c "$TMP/client-quiet.conf"
{ cat "$TMP/client-old.conf"; echo 'log = { level = "loud"; };'; } >"$TMP/client-loud.conf"
expect "a bad log.level: file:line: key: reason" 1 '^$' \
    "^enftun: $TMP/client-loud.conf:9: log.level: must be \"error\", \"warning\", \"info\" or \"debug\"" \
    "$ENFTUN" -c "$TMP/client-loud.conf"

# enftun status: its options, and no daemon behind the socket (README
# "Operating"; status_test.sh asks a real one).
readonly USAGE_CS='usage: enftun status'
sed "s|^tun = {|tun = {\n  control_socket = \"$TMP/none.sock\";|" "$TMP/client.conf" \
    >"$TMP/client-status.conf"
expect "status --help" 0 "$USAGE_CS \\[-c FILE\\] \\[--json \\| --metrics\\]" '^$' \
    "$ENFTUN" status --help
expect "status: unknown option" 2 '^$' "unrecognized option '--bogus'.*$USAGE_CS" \
    "$ENFTUN" status --bogus
expect "status: -c \"\"" 2 '^$' "^enftun status: -c needs a FILE, not \"\".*$USAGE_CS" \
    "$ENFTUN" status -c ""
expect "status: stray argument" 2 '^$' "enftun status: unexpected argument: extra.*$USAGE_CS" \
    "$ENFTUN" status -c "$TMP/client-status.conf" extra
expect_print "-p tun.control_socket" "$TMP/client-status.conf" tun.control_socket \
    "$TMP/none.sock"
expect "status: no daemon is one line, exit 1" 1 '^$' \
    "^enftun status: enftun is not running \\(no control socket at $TMP/none.sock\\)
\$" "$ENFTUN" status -c "$TMP/client-status.conf" --json
expect "status: a bad config, file:line: key" 1 '^$' \
    "^enftun status: $TMP/router-bad.conf:1: router: unknown" \
    "$ENFTUN" status -c "$TMP/router-bad.conf"

echo "enftun-router"
{ cat "$TMP/router-good.conf"; echo 'log = { level = "quiet"; };'; } >"$TMP/router-log.conf"
expect "a bad log.level" 1 '^$' "^enftun-router: $TMP/router-log.conf:6: log.level: must be" \
    "$ROUTER" -vv --check -c "$TMP/router-log.conf"
expect "--version" 0 '^enftun-router [0-9]+\.[0-9]+\.[0-9]+' '^$' "$ROUTER" --version
expect "--help prints the usage on stdout" 0 "$USAGE_R.*-v, --verbose" '^$' "$ROUTER" --help
expect "no arguments" 2 '^$' "enftun-router: missing -c FILE.*$USAGE_R" "$ROUTER"
expect "unknown option" 2 '^$' "unrecognized option '--bogus'.*$USAGE_R" \
    "$ROUTER" --bogus -c "$TMP/router-bad.conf"
expect "-p is a client option" 2 '^$' "invalid option -- 'p'.*$USAGE_R" \
    "$ROUTER" -c "$TMP/router-bad.conf" -p router.port
expect "stray argument" 2 '^$' "enftun-router: unexpected argument: extra.*$USAGE_R" \
    "$ROUTER" -c "$TMP/router-bad.conf" extra
expect "config value out of range: file:line: key" 1 '^$' \
    "^enftun-router: $TMP/router-bad.conf:4: router.port: must be between 1 and 65535 \\(got 0\\)" \
    "$ROUTER" -c "$TMP/router-bad.conf"
expect "-v is accepted (the bad config is still what fails)" 1 '^$' \
    "^enftun-router: $TMP/router-bad.conf:4: router.port:" "$ROUTER" -v -c "$TMP/router-bad.conf"
expect "--check: a FIFO as the config" 1 '^$' \
    "^enftun-router: $TMP/fifo.conf: cannot read config file: not a regular file" \
    timeout 20 "$ROUTER" --check -c "$TMP/fifo.conf"
expect "--check: a good config exits 0 at once, silent" 0 '^$' '^$' \
    "$ROUTER" --check -c "$TMP/router-good.conf"
expect "-t: a bad config exits 1, file:line: key" 1 '^$' \
    "^enftun-router: $TMP/router-bad.conf:4: router.port:" "$ROUTER" -t -c "$TMP/router-bad.conf"

# status: asks a router's control socket (none runs here).
readonly USAGE_S='usage: enftun-router status'
sed 's|port = 0;|control_socket = "'"$TMP"'/none.sock";|' "$TMP/router-bad.conf" \
    >"$TMP/router-status.conf"
sed 's|port = 0;|control_socket = "";|' "$TMP/router-bad.conf" >"$TMP/router-nosock.conf"
expect "status --help" 0 "$USAGE_S.*--json.*--metrics" '^$' "$ROUTER" status --help
expect "status: unknown option" 2 '^$' "unrecognized option '--bogus'.*$USAGE_S" \
    "$ROUTER" status --bogus
expect "status: stray argument" 2 '^$' "unexpected argument: extra.*$USAGE_S" \
    "$ROUTER" status extra
expect "status: -c \"\"" 2 '^$' "^enftun-router status: -c needs a FILE, not \"\".*$USAGE_S" \
    "$ROUTER" status -c ""
expect "status: a bad config is file:line: key" 1 '^$' \
    "^enftun-router status: $TMP/router-bad.conf:4: router.port:" \
    "$ROUTER" status -c "$TMP/router-bad.conf"
expect "status: no router at the socket" 1 '^$' \
    "^enftun-router status: $TMP/none.sock: no router answers there" \
    "$ROUTER" status --json -c "$TMP/router-status.conf"
expect "status: control_socket \"\" is said" 1 '^$' 'router.control_socket is "": the router has no' \
    "$ROUTER" status -c "$TMP/router-nosock.conf"

finish
