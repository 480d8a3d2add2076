#!/usr/bin/env bash
# tpm_handshake.sh: TLS handshake time with the client's key held in a TPM
# (a software TPM, swtpm) next to a key file (a benchmark, not a test).
#
#   sudo bench/tpm_handshake.sh      (ENFTUN_BIN_DIR=DIR to use a given build,
#                                     BENCH_HANDSHAKES=N, default 200)
#
# enftun-tpm-bench (bench/tpm/handshake.cpp) runs both ends of N handshakes
# in one process with enftun's TlsContext, once with a key file from
# scripts/gen-test-certs and once with a key that `enftun-keygen --tpm`
# made in a swtpm, and prints the handshakes' and the signatures' times.
# swtpm runs in a namespace of its own (its fixed ports are free there) and
# is stopped by PID on exit; everything lives in a temp folder.
set -e -o pipefail
export LC_ALL=C

BENCH_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../test/netns/lib.sh
source "$BENCH_HERE/../test/netns/lib.sh"

readonly N="${BENCH_HANDSHAKES:-200}" PORT=2321

command -v swtpm >/dev/null || et_die "swtpm not installed (apt install swtpm)"
et_init
et_require_bins enftun-tpm-bench enftun-keygen
PKI="$ET_TMP/pki"
"$ET_REPO/scripts/gen-test-certs" "$PKI" c1=fd00:e::5 >/dev/null
et_ns_add t
mkdir -p "$ET_TMP/tpm"
et_daemon_start tpm t swtpm socket --tpm2 --tpmstate "dir=$ET_TMP/tpm" \
    --server "type=tcp,port=$PORT,bindaddr=127.0.0.1" \
    --ctrl "type=tcp,port=$((PORT + 1)),bindaddr=127.0.0.1" --flags not-need-init,startup-clear
et_wait_for bash -c "ip netns exec $(et_ns t) ss -Hltn 'sport = :$PORT' | grep -q LISTEN"

cat >"$ET_TMP/file.conf" <<CONF
remote = { hosts = [ "fd00:100::1" ]; ca_cert_file = "$PKI/ca.pem"; };
identity = { cert_file = "$PKI/c1.pem"; key_file = "$PKI/c1.key"; };
CONF
cat >"$ET_TMP/tpm.conf" <<CONF
remote = { hosts = [ "fd00:100::1" ]; ca_cert_file = "$PKI/ca.pem"; };
identity = { cert_file = "tpm.pem"; key_file = "tpm.key";
  tpm = { tcti = "swtpm"; socket_host = "127.0.0.1"; socket_port = $PORT; password = "bench"; };
};
CONF
et_exec t "$ET_BIN_DIR/enftun-keygen" -c "$ET_TMP/tpm.conf" --tpm --yes \
    --ca-cert "$PKI/ca.pem" --ca-key "$PKI/ca.key" fd00:e::6 >/dev/null
for conf in file tpm; do
    et_exec t timeout 300 "$ET_BIN_DIR/enftun-tpm-bench" -c "$ET_TMP/$conf.conf" \
        --router-cert "$PKI/router.pem" --router-key "$PKI/router.key" -n "$N"
done
