#!/usr/bin/env bash
# tpm_test.sh: the identity key held in a TPM 2.0 (identity.tpm), end to end
# with a software TPM (swtpm) and the tpm2 OpenSSL provider (tpm2-openssl),
# in network namespaces (CTest: netns.tpm_test; exit 77 = skipped when
# swtpm or tpm2-openssl is not installed).
#
# Topology (lib.sh et_router_client_pair): r runs enftun-router on
# fd00:100::1 port 4443 (router.address fd00:e::1); c runs the client and
# two software TPMs on its own loopback (a fresh namespace: fixed ports are
# free): tpm1 on 2321 (+2322 control), tpm2 on 2421 (+2422), each with a
# state folder of its own. They reach it through the swtpm TCTI.
#
# Steps:
#  a. enftun-keygen --tpm signs offline (--ca-cert/--ca-key): the key file
#     is a TSS2 PRIVATE KEY blob, mode 0600, no software key in it
#  b. enftun connects with the TPM-held key and pings the router
#  c. the blob copied to another software TPM (tpm2): a clear message,
#     exit 77 (the TPM refused the key: enftun@.service does not restart),
#     never "tunnel up"
#  d. a config in the original enftun's shape (version, tun.ip_path, port
#     as a string, a tpm group, an xtt group), with a key made by the openssl
#     command line through the tpm2 provider: loads, connects, pings
#  e. wrong password: its message, exit 77, no tunnel; -p prints the
#     password "(redacted)", with --show-secrets as it is
#  f. missing provider (OPENSSL_MODULES pointing to an empty folder): its
#     message, exit 1 (not 77: worth a restart)
#  g. missing TPM: the TPM stopped (its port closed), a device node that is
#     not there: each its message, exit 1
#  h. enrollment: enftun-keygen --tpm enrolls at enftun-enroll (in r, on
#     fd00:100::1:8443) with `auto`; the CSR it sent was signed in the TPM
#     (the service checks it), and enftun connects with the enrolled
#     identity and pings the router; --csr-out writes a request that
#     verifies against the blob's public key
#  j. renewal: a TPM identity enrolled at enftun-enroll, enftun running
#     with it; enftun-keygen --renew --tpm logs in with the TPM-held key
#     (mutual TLS) and makes the new key in the TPM: a new certificate for
#     the same address (new serial), a new blob (0600); the running enftun
#     reloads the identity, reconnects with it and pings the router
#  k. interrupted renewals of j's TPM identity (ENFTUN_KEYGEN_TEST_PAUSE,
#     then SIGKILL): killed with the answer in hand, the next --renew --tpm
#     reuses the pending blob (loaded in the TPM) and gets the same
#     certificate; killed between the renames of the blob and the
#     certificate (they do not match), the next --renew --tpm completes the
#     pair (the blob matched through the TPM) and renews from it
#  i. a persistent key (tpm2-tools: create, evictcontrol to 0x81000010, with
#     a password) as key_file = "handle:0x81000010": connects and pings;
#     a handle with no key there: its message, exit 77
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=enroll_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/enroll_lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 C_ADDR=fd00:e::5 D_ADDR=fd00:e::6
readonly TPM1_PORT=2321 TPM2_PORT=2421
readonly PASSWORD="tpm-key-secret"

PKI=""
DEV=""

# ---------------------------------------------------------------- helpers

tpm2_module() {
    local dir
    dir="$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')"
    [[ -n $dir && -f $dir/tpm2.so ]]
}

# start_tpm NAME PORT: a software TPM in c on 127.0.0.1:PORT (control
# PORT+1), its state in $ET_TMP/NAME; waits until it accepts connections.
start_tpm() {
    local name="$1" port="$2"
    mkdir -p "$ET_TMP/$name"
    et_daemon_start "$name" c swtpm socket --tpm2 --tpmstate "dir=$ET_TMP/$name" \
        --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
        --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
        --flags not-need-init,startup-clear
    et_wait_for tpm_listening "$port"
}

tpm_listening() {
    grep -q LISTEN <<<"$(et_exec c ss -Hltn "sport = :$1")"
}

# tpm_conf FILE PORT [PASSWORD] [KEY] [CERT]: a client config whose key is
# held by the software TPM on PORT.
tpm_conf() {
    local file="$1" port="$2" password="${3-$PASSWORD}" key="${4:-c.key}" cert="${5:-c.pem}"
    write_client_conf "$file" ca="$PKI/ca.pem" cert="$cert" key="$key" connect_timeout=3000
    # write_client_conf ends with the identity group: put the tpm group in it.
    sed -i '$d' "$file"
    {
        echo "  tpm : {"
        echo "    tcti = \"swtpm\";"
        echo "    socket_host = \"127.0.0.1\";"
        echo "    socket_port = $port;"
        [[ -z $password ]] || echo "    password = \"$password\";"
        echo "  };"
        echo "};"
    } >>"$file"
}

# run_client OUT CONF [ENV...]: enftun in c, in the foreground, bounded in
# time (a failure at start-up exits at once); its status goes to RC.
RC=0
run_client() {
    local out="$1" conf="$2"
    shift 2
    RC=0
    et_exec c env "$@" timeout 20 "$ET_BIN_DIR/enftun" -c "$conf" >"$out" 2>&1 </dev/null || RC=$?
}

# expect_refused DESC OUT FIXED-MESSAGE STATUS: RC is STATUS (77: the TPM
# refused the key; 1: any other failure), the message in OUT, and never
# "tunnel up".
expect_refused() {
    local desc="$1" out="$2" message="$3" status="$4" ok=0
    check_num "$desc: exit $status" "$RC" -eq "$status" || ok=1
    check "$desc: says \"$message\"" grep -q -F -- "$message" "$out" || ok=1
    check "$desc: one error line" test "$(grep -c '^error: ' "$out")" -eq 1 || ok=1
    check_not "$desc: never tunnel up" grep -q -F "tunnel up" "$out" || ok=1
    return "$ok"
}

# The route into the tunnel (enftun-setup's job in real use).
ping_router() {
    et_exec c ip -6 route replace fd00:e::/64 dev enf0 &&
        et_exec c ping -6 -n -c 1 -W 1 "$R_ADDR" >/dev/null
}

tunnel_up() {
    et_log_has "$1" "tunnel up: $2"
}

# ------------------------------------------------------------------ steps

step_keygen() {
    local ok=0 out="$ET_TMP/keygen.out" rc=0
    tpm_conf "$DEV/enf0.conf" "$TPM1_PORT"
    et_exec c "$ET_BIN_DIR/enftun-keygen" -c "$DEV/enf0.conf" --tpm --yes \
        --ca-cert "$PKI/ca.pem" --ca-key "$PKI/ca.key" "$C_ADDR" >"$out" 2>&1 </dev/null || rc=$?
    check_num "enftun-keygen --tpm exits 0" "$rc" -eq 0 || ok=1
    check "the key file is a TPM blob" grep -q -F -- "-----BEGIN TSS2 PRIVATE KEY-----" "$DEV/c.key" || ok=1
    check_not "no software private key in it" grep -q -E -- "BEGIN (EC |ENCRYPTED )?PRIVATE KEY" "$DEV/c.key" || ok=1
    check "the key file is mode 0600" test "$(stat -c %a "$DEV/c.key")" = 600 || ok=1
    check "the certificate names $C_ADDR" grep -q -F "address $C_ADDR: wrote" "$out" || ok=1
    check "the summary says the key is a TPM blob" grep -q -F "(TPM key blob, 0600)" "$out" || ok=1
    check "no temporary file left" test "$(find "$DEV" -name '*.tmp*' -o -name '*.XXXXXX' | wc -l)" -eq 0 || ok=1
    return "$ok"
}

step_connect() {
    local ok=0
    # -vv: debug lines too, which must not show the key's password either.
    et_daemon_start client c "$ET_BIN_DIR/enftun" -vv -c "$DEV/enf0.conf"
    check "tunnel up with the TPM-held key" et_wait_for tunnel_up client "$C_ADDR" || ok=1
    check "ping the router through the tunnel" et_wait_for ping_router || ok=1
    check "the router saw the session" et_wait_for et_log_has router "session up: $C_ADDR" || ok=1
    check_not "no error logged" et_log_has client "error:" || ok=1
    et_daemon_stop client
    check "debug lines logged" et_log_has client "debug: " || ok=1
    check_not "the TPM key's password is not in the log" et_log_has client "$PASSWORD" || ok=1
    return "$ok"
}

step_other_tpm() {
    local out="$ET_TMP/other.out"
    tpm_conf "$DEV/other.conf" "$TPM2_PORT"
    run_client "$out" "$DEV/other.conf"
    expect_refused "blob in another TPM" "$out" "this TPM cannot load it: made by another TPM" 77
}

# The original's example device.conf, its keys and their types, with a tpm
# group (tcti swtpm: its "socket" is the simulator protocol swtpm does not
# speak) and an empty xtt group; the key made by `openssl genpkey` through
# the tpm2 provider, as keys made for the original (tpm2tss engine, same
# TSS2 PRIVATE KEY format) are.
step_original_config() {
    local ok=0 tcti="swtpm:host=127.0.0.1,port=$TPM1_PORT" d="$ET_TMP/orig"
    mkdir -p "$d"
    et_exec c env TPM2OPENSSL_TCTI="$tcti" TSS2_LOG=all+none openssl genpkey -provider tpm2 \
        -provider default -algorithm EC -pkeyopt group:P-256 -pkeyopt user-auth:orig-pw \
        -out "$d/enf0.key.pem" 2>"$d/genpkey.err" || ok=1
    chmod 600 "$d/enf0.key.pem"
    et_exec c env TPM2OPENSSL_TCTI="$tcti" TSS2_LOG=all+none openssl req -new -provider tpm2 \
        -provider default -key "$d/enf0.key.pem" -passin pass:orig-pw -subj "/CN=$D_ADDR" \
        -out "$d/enf0.csr" 2>>"$d/genpkey.err" || ok=1
    printf 'subjectAltName=IP:%s\nextendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' \
        "$D_ADDR" >"$d/ext.cnf"
    openssl x509 -req -in "$d/enf0.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
        -days 2 -extfile "$d/ext.cnf" -out "$d/enf0.crt.pem" 2>>"$d/genpkey.err" || ok=1
    check "openssl made a TPM key and its certificate" test "$ok" -eq 0 || return 1
    cat >"$d/enf0.conf" <<EOF
version = "1.0"

tun : {
  # dev = "enf0"
  dev_node = "/dev/net/tun"
  ip_path = "/bin/ip"
}

remote : {
  hosts = [ "fd00:100::1" ]
  port = "4443"
  ca_cert_file = "$PKI/ca.pem"
}

route : {
  fwmark = 363
  table = 2097
  prefixes = [ "fd00:e::/64" ]
  trusted_interfaces = [ ]
}

identity : {
  cert_file = "enf0.crt.pem"
  key_file  = "enf0.key.pem"

  tpm : {
    tcti = "swtpm"
    socket_host = "127.0.0.1"
    socket_port = "$TPM1_PORT"
    hierarchy = 0
    password = "orig-pw"
    parent = 0
  }

  xtt : {
  }
}
EOF
    check "-p identity.tpm.tcti" test "$("$ET_BIN_DIR/enftun" -c "$d/enf0.conf" -p identity.tpm.tcti)" = swtpm || ok=1
    check "-p identity.tpm.socket_port" test "$("$ET_BIN_DIR/enftun" -c "$d/enf0.conf" -p identity.tpm.socket_port)" = "$TPM1_PORT" || ok=1
    et_daemon_start orig c "$ET_BIN_DIR/enftun" -c "$d/enf0.conf"
    check "tunnel up with the original's config" et_wait_for tunnel_up orig "$D_ADDR" || ok=1
    check "ping the router" et_wait_for ping_router || ok=1
    check "its ignored keys are warnings" et_log_has orig "identity.xtt: ignored" || ok=1
    check_not "no error logged" et_log_has orig "error:" || ok=1
    et_daemon_stop orig
    return "$ok"
}

step_wrong_password() {
    local ok=0 out="$ET_TMP/password.out"
    tpm_conf "$DEV/password.conf" "$TPM1_PORT" "not-the-password"
    echo 'log : { level = "debug"; };' >>"$DEV/password.conf"
    run_client "$out" "$DEV/password.conf"
    expect_refused "wrong password" "$out" "wrong password (identity.tpm.password)" 77 || ok=1
    check "-p identity.tpm.password: (redacted)" \
        test "$("$ET_BIN_DIR/enftun" -c "$DEV/password.conf" -p identity.tpm.password)" = "(redacted)" ||
        ok=1
    "$ET_BIN_DIR/enftun" -c "$DEV/password.conf" -p all >"$ET_TMP/p-all.out" || ok=1
    check "-p all: identity.tpm.password=(redacted)" \
        grep -q -x -F 'identity.tpm.password=(redacted)' "$ET_TMP/p-all.out" || ok=1
    check_not "-p all: the password nowhere" grep -q -F not-the-password "$ET_TMP/p-all.out" || ok=1
    check "-p identity.tpm.password --show-secrets: the password" \
        test "$("$ET_BIN_DIR/enftun" -c "$DEV/password.conf" -p identity.tpm.password \
            --show-secrets)" = not-the-password || ok=1
    check_not "wrong password: not in the debug log" grep -F "not-the-password" "$out" || ok=1
    return "$ok"
}

step_no_provider() {
    local out="$ET_TMP/provider.out"
    mkdir -p "$ET_TMP/no-modules"
    run_client "$out" "$DEV/enf0.conf" OPENSSL_MODULES="$ET_TMP/no-modules"
    expect_refused "no tpm2 provider" "$out" "cannot load the OpenSSL provider tpm2 (is tpm2-openssl installed?" 1
}

step_no_tpm() {
    local ok=0 out="$ET_TMP/notpm.out"
    et_daemon_stop tpm2
    tpm_conf "$DEV/other.conf" "$TPM2_PORT"
    run_client "$out" "$DEV/other.conf"
    expect_refused "TPM stopped" "$out" "cannot reach the TPM through swtpm:host=127.0.0.1,port=$TPM2_PORT" 1 || ok=1
    sed -e 's/tcti = "swtpm";/tcti = "device"; device = "\/dev\/enftun-no-tpm";/' \
        "$DEV/enf0.conf" >"$DEV/device.conf"
    run_client "$out" "$DEV/device.conf"
    expect_refused "no TPM device" "$out" "TPM device /dev/enftun-no-tpm: No such file or directory" 1 || ok=1
    return "$ok"
}

step_enroll() {
    local ok=0 out="$ET_TMP/enroll.out" rc=0 addr d="$ET_TMP/tpm-device"  # not "enrolled": the service's state file
    mkdir -p "$d"
    printf '%s\n' "$ENROLL_PASSWORD" >"$d/login"
    tpm_conf "$d/enf0.conf" "$TPM1_PORT" "enrolled-pw"
    et_exec c "$ET_BIN_DIR/enftun-keygen" -c "$d/enf0.conf" --tpm --yes --user "$ENROLL_USER" \
        --password-file "$d/login" auto >"$out" 2>&1 </dev/null || rc=$?
    check_num "enftun-keygen --tpm enrolls (auto)" "$rc" -eq 0 || ok=1
    check "the key file is a TPM blob" grep -q -F -- "-----BEGIN TSS2 PRIVATE KEY-----" "$d/c.key" || ok=1
    addr="$(sed -n 's/^address \(fd00:e:[0-9a-f:]*\): wrote .*/\1/p' "$out")"
    check "an address from the pool" test -n "$addr" || return 1
    et_daemon_start enrolled c "$ET_BIN_DIR/enftun" -c "$d/enf0.conf"
    check "tunnel up with the enrolled TPM identity" et_wait_for tunnel_up enrolled "$addr" || ok=1
    check "ping the router" et_wait_for ping_router || ok=1
    et_daemon_stop enrolled
    rc=0
    et_exec c "$ET_BIN_DIR/enftun-keygen" -c "$d/enf0.conf" --tpm --yes --csr-out "$d/c.csr" \
        fd00:e::99 >"$out" 2>&1 </dev/null || rc=$?
    check_num "--tpm --csr-out exits 0" "$rc" -eq 0 || ok=1
    check "the request's signature verifies" openssl req -in "$d/c.csr" -verify -noout || ok=1
    check "the request holds the blob's public key" test \
        "$(openssl req -in "$d/c.csr" -pubkey -noout | sha256sum)" = \
        "$(et_exec c env TPM2OPENSSL_TCTI="swtpm:host=127.0.0.1,port=$TPM1_PORT" TSS2_LOG=all+none \
            openssl pkey -provider tpm2 -provider default -in "$d/c.key" -passin pass:enrolled-pw \
            -pubout | sha256sum)" || ok=1
    return "$ok"
}

blob_sum() {
    sha256sum "$1" | cut -d' ' -f1
}

cert_serial() {
    openssl x509 -in "$1" -noout -serial | cut -d= -f2
}

log_count_above() {
    test "$(et_log_count "$1" "$2")" -gt "$3"
}

step_renew() {
    local ok=0 out="$ET_TMP/renew.out" rc=0 addr d="$ET_TMP/renew-device" serial blob ups
    mkdir -p "$d"
    printf '%s\n' "$ENROLL_PASSWORD" >"$d/login"
    tpm_conf "$d/enf0.conf" "$TPM1_PORT" "renew-pw"
    et_exec c "$ET_BIN_DIR/enftun-keygen" -c "$d/enf0.conf" --tpm --yes --user "$ENROLL_USER" \
        --password-file "$d/login" auto >"$out" 2>&1 </dev/null || rc=$?
    addr="$(sed -n 's/^address \(fd00:e:[0-9a-f:]*\): wrote .*/\1/p' "$out")"
    check "enrolled with a TPM key (auto)" test "$rc" -eq 0 -a -n "$addr" || return 1
    serial="$(cert_serial "$d/c.pem")"
    blob="$(blob_sum "$d/c.key")"
    et_daemon_start renewed c "$ET_BIN_DIR/enftun" -c "$d/enf0.conf"
    check "tunnel up with the enrolled TPM identity" et_wait_for tunnel_up renewed "$addr" || return 1
    ups="$(et_log_count renewed "tunnel up")"
    rc=0
    et_exec c timeout 60 "$ET_BIN_DIR/enftun-keygen" -c "$d/enf0.conf" --renew --tpm --yes \
        >"$out" 2>&1 </dev/null || rc=$?
    check_num "enftun-keygen --renew --tpm exits 0" "$rc" -eq 0 || { cat "$out" >&2; ok=1; }
    check "a new certificate ($serial -> $(cert_serial "$d/c.pem"))" \
        test "$(cert_serial "$d/c.pem")" != "$serial" || ok=1
    check "for the same address $addr" grep -q -F "address $addr: wrote" "$out" || ok=1
    check "the certificate names $addr" \
        openssl x509 -in "$d/c.pem" -noout -checkip "$addr" || ok=1
    check "a new key blob" test "$(blob_sum "$d/c.key")" != "$blob" || ok=1
    check "still a TPM blob" grep -q -F -- "-----BEGIN TSS2 PRIVATE KEY-----" "$d/c.key" || ok=1
    check "the key file is mode 0600" test "$(stat -c %a "$d/c.key")" = 600 || ok=1
    check "no temporary file left" test "$(find "$d" -name '*.tmp*' -o -name '*.XXXXXX' | wc -l)" -eq 0 || ok=1
    check "enftun reloaded the identity" \
        et_wait_for -d renewed et_log_has renewed "identity reloaded from" || ok=1
    check "enftun's tunnel came back up with it" \
        et_wait_for -d renewed log_count_above renewed "tunnel up: $addr" "$ups" || ok=1
    check "ping the router" et_wait_for ping_router || ok=1
    check_not "no error logged" et_log_has renewed "error:" || ok=1
    et_daemon_stop renewed
    return "$ok"
}

# renew_tpm_killed_at POINT: --renew --tpm of j's device, stopped at POINT
# (ENFTUN_KEYGEN_TEST_PAUSE), then killed. swtpm has no resource manager:
# the objects the killed process had loaded stay in it (the kernel's
# /dev/tpmrm0 flushes them), so they are flushed here (tpm2-tools).
renew_tpm_killed_at() {
    local d="$ET_TMP/renew-device" rc=0 pauses
    # Every run appends to the keygen log: wait for one more pause line.
    pauses="$(et_log_count keygen "test pause at $1")"
    et_daemon_start keygen c env ENFTUN_KEYGEN_TEST_PAUSE="$1" "$ET_BIN_DIR/enftun-keygen" \
        -c "$d/enf0.conf" --renew --tpm --yes
    et_wait_for -d keygen log_count_above keygen "test pause at $1" "$pauses" || rc=1
    et_daemon_kill keygen
    et_exec c env TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$TPM1_PORT" TSS2_LOG=all+none \
        tpm2_flushcontext -t || rc=1
    return "$rc"
}

# renew_tpm OUT: --renew --tpm of j's device; its status goes to RC.
renew_tpm() {
    RC=0
    et_exec c timeout 60 "$ET_BIN_DIR/enftun-keygen" -c "$ET_TMP/renew-device/enf0.conf" \
        --renew --tpm --yes >"$1" 2>&1 </dev/null || RC=$?
}

# blob_matches_cert: j's device's blob (through the TPM) is the key of its
# certificate.
blob_matches_cert() {
    local d="$ET_TMP/renew-device"
    cmp -s <(openssl x509 -in "$d/c.pem" -noout -pubkey) \
        <(et_exec c env TPM2OPENSSL_TCTI="swtpm:host=127.0.0.1,port=$TPM1_PORT" TSS2_LOG=all+none \
            openssl pkey -provider tpm2 -provider default -in "$d/c.key" -passin pass:renew-pw \
            -pubout)
}

step_interrupted_renew() {
    local ok=0 d="$ET_TMP/renew-device" out="$ET_TMP/interrupted.out" serial staged
    serial="$(cert_serial "$d/c.pem")"
    check "--renew --tpm killed with the answer in hand" renew_tpm_killed_at answer || return 1
    staged="$(awk -v f="from=$serial" '$0 ~ f" " { print $3 }' "$ET_TMP/enrolled")"
    check "the service recorded it ($staged); the pending blob is kept" \
        test -n "$staged" -a -s "$d/c.key.pending" || return 1
    renew_tpm "$out"
    check_num "the next --renew --tpm: exit 0" "$RC" -eq 0 || { cat "$out" >&2; return 1; }
    check "it reused the pending blob" grep -q -F "kept from a renewal" "$out" || ok=1
    check "and got the same certificate" test "$(cert_serial "$d/c.pem")" = "$staged" || ok=1
    check "the blob is its key" blob_matches_cert || ok=1

    check "--renew --tpm killed between the renames" renew_tpm_killed_at key-renamed || return 1
    check_not "the blob and the certificate do not match" blob_matches_cert || ok=1
    staged="$(cert_serial "$d/c.pem.pending")"
    renew_tpm "$out"
    check_num "the next --renew --tpm: exit 0" "$RC" -eq 0 || { cat "$out" >&2; return 1; }
    check "it completed the pair" grep -q "^repair:  completed the replacement" "$out" || ok=1
    check "then renewed from it ($staged)" test "$(awk -v f="from=$staged" \
        '$0 ~ f" " { print $3 }' "$ET_TMP/enrolled")" = "$(cert_serial "$d/c.pem")" || ok=1
    check "the blob is the certificate's key" blob_matches_cert || ok=1
    check "nothing pending" test ! -e "$d/c.pem.pending" -a ! -e "$d/c.key.pending" || ok=1
    return "$ok"
}

# tpm2 NAME ARGS...: a tpm2-tools command in c against tpm1, then every
# transient object and session flushed (swtpm has no resource manager and
# holds three objects).
tpm2() {
    local tool="$1"
    shift
    et_exec c env TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$TPM1_PORT" TSS2_LOG=all+none \
        "tpm2_$tool" "$@" && et_exec c env TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$TPM1_PORT" \
        TSS2_LOG=all+none tpm2_flushcontext -t
}

step_handle() {
    local ok=0 d="$ET_TMP/handle" out="$ET_TMP/handle.out" addr=fd00:e::7
    command -v tpm2_evictcontrol >/dev/null || {
        check "tpm2-tools installed (scripts/install-deps)" false
        return 1
    }
    mkdir -p "$d"
    tpm2 createprimary -Q -C o -g sha256 -G ecc -c "$d/primary.ctx" &&
        tpm2 create -Q -C "$d/primary.ctx" -G ecc256:ecdsa -u "$d/k.pub" -r "$d/k.priv" \
            -p handle-pw &&
        tpm2 load -Q -C "$d/primary.ctx" -u "$d/k.pub" -r "$d/k.priv" -c "$d/k.ctx" &&
        tpm2 evictcontrol -Q -C o -c "$d/k.ctx" 0x81000010 >"$out" 2>&1 || ok=1
    et_exec c env TPM2OPENSSL_TCTI="swtpm:host=127.0.0.1,port=$TPM1_PORT" TSS2_LOG=all+none \
        openssl req -new -provider tpm2 -provider default -key "handle:0x81000010?pass" \
        -passin pass:handle-pw -subj "/CN=$addr" -out "$d/c.csr" >>"$out" 2>&1 || ok=1
    printf 'subjectAltName=IP:%s\nextendedKeyUsage=clientAuth\n' "$addr" >"$d/ext.cnf"
    openssl x509 -req -in "$d/c.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
        -days 2 -extfile "$d/ext.cnf" -out "$d/c.pem" >>"$out" 2>&1 || ok=1
    check "a persistent key 0x81000010 and its certificate" test "$ok" -eq 0 || return 1
    tpm_conf "$d/enf0.conf" "$TPM1_PORT" handle-pw "0x81000010"
    check "-p identity.key_file: the handle" \
        test "$("$ET_BIN_DIR/enftun" -c "$d/enf0.conf" -p identity.key_file)" = handle:0x81000010 || ok=1
    et_daemon_start handle c "$ET_BIN_DIR/enftun" -c "$d/enf0.conf"
    check "tunnel up with the persistent key" et_wait_for tunnel_up handle "$addr" || ok=1
    check "ping the router" et_wait_for ping_router || ok=1
    et_daemon_stop handle
    sed -e 's/0x81000010/0x81000011/' "$d/enf0.conf" >"$d/none.conf"
    run_client "$out" "$d/none.conf"
    expect_refused "no key at the handle" "$out" "TPM key handle:0x81000011: no such persistent key" 77 || ok=1
    return "$ok"
}

# ------------------------------------------------------------------- main

command -v swtpm >/dev/null || et_skip "swtpm not installed (Debian: apt install swtpm)"
tpm2_module || et_skip "the tpm2 OpenSSL provider is not installed (Debian: apt install tpm2-openssl)"
if grep -q '^ENABLE_TPM:BOOL=OFF' "$ET_BIN_DIR/CMakeCache.txt" 2>/dev/null; then
    et_skip "built with ENABLE_TPM=OFF"
fi
et_init
et_require_bins enftun enftun-router enftun-keygen enftun-enroll

PKI="$ET_TMP/pki"
DEV="$ET_TMP/dev"
mkdir -p "$DEV"
# The PKI (enroll_lib.sh): the router and the enrollment service share the
# certificate that names fd00:100::1.
enroll_setup fd00:100::1
et_router_client_pair
write_router_conf "$ET_TMP/router.conf" cert="$PKI/router.pem" key="$PKI/router.key" \
    ca="$PKI/ca.pem" tun_dev=
et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
et_wait_for et_log_has router "listening"
enroll_start r fd00:100::1
start_tpm tpm1 "$TPM1_PORT"
start_tpm tpm2 "$TPM2_PORT"

run_step a "enftun-keygen --tpm makes the key in the TPM, writes its blob" step_keygen
run_step b "enftun connects with the TPM-held key and pings the router" step_connect a
run_step c "the blob in another TPM: refused, never up" step_other_tpm a
run_step d "a config of the original enftun with a tpm group loads and works" step_original_config
run_step e "wrong password: its message, exit 77; -p redacts the password" step_wrong_password a
run_step f "no tpm2 provider: its message, exit 1" step_no_provider a
run_step h "enftun-keygen --tpm enrolls at enftun-enroll; the identity connects" step_enroll a
run_step j "enftun-keygen --renew --tpm: new key in the TPM, new certificate, enftun reloads" \
    step_renew a
run_step k "interrupted --renew --tpm: a lost answer, a crash between the renames" \
    step_interrupted_renew j
run_step i "a persistent handle as key_file connects; an empty handle is refused" step_handle
run_step g "no TPM (stopped, no device node): each its message, exit 1" step_no_tpm a
et_summary tpm_test
