#!/usr/bin/env bash
# enroll_listener_test.sh: enftun-enroll exits non-zero when one of its
# listeners stops by itself, instead of serving on fewer addresses (or none)
# unnoticed (CTest: netns.enroll_listener_test; exit 77 = skipped).
#
# cpp-httplib 0.11 ends a listen loop on any accept() error but EMFILE,
# EINTR and EAGAIN, closing the listening socket. To make the running
# service's accept() fail, the test takes a duplicate of its listening
# socket (pidfd_getfd(2), as root: the service is not dumpable) and shuts
# it down for reading: the blocked accept() then fails with EINVAL.
#
# One namespace "e" with only lo: the service listens on [::1]:8443 and
# [127.0.0.1]:8443.
# Steps: a both listeners serve a login; a slow client holds a connection
# open on each (its header sent, a body byte every 2 s: the service would
# give it 30 s); the [::1] listener is cut: the service exits with status 1
# within 15 s (it closes connections still open 5 s after the failure,
# instead of waiting for them), the slow clients see their connections
# closed, its log names that listener and says the others are stopped,
# nothing listens any more; b restarted, it serves on both, and SIGTERM
# still ends it with status 0 and no listener error.
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps the work dir.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=enroll_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/enroll_lib.sh"

readonly HOST_CUT=::1
readonly HOST_OTHER=127.0.0.1

# shut_listener PID HOST: shut down (SHUT_RD) PID's listening TCP socket
# bound to HOST, through a duplicate taken with pidfd_getfd. Fails when
# there is no such socket.
shut_listener() {
    python3 - "$1" "$2" <<'PY'
import ctypes, errno, ipaddress, os, socket, sys

SYS_PIDFD_OPEN, SYS_PIDFD_GETFD = 434, 438
libc = ctypes.CDLL(None, use_errno=True)
pid, host = int(sys.argv[1]), ipaddress.ip_address(sys.argv[2])


def fail(what):
    sys.exit(f"{what}: {os.strerror(ctypes.get_errno())}")


pidfd = libc.syscall(SYS_PIDFD_OPEN, pid, 0)
if pidfd < 0:
    fail("pidfd_open")
done = 0
for name in os.listdir(f"/proc/{pid}/fd"):
    try:
        if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
            continue
    except FileNotFoundError:
        continue
    fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
    if fd < 0 and ctypes.get_errno() == errno.EBADF:
        continue  # closed since listdir: the service reacts to a cut at once
    if fd < 0:
        fail("pidfd_getfd")
    with socket.socket(fileno=fd) as s:
        if (s.family in (socket.AF_INET, socket.AF_INET6)
                and s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                and ipaddress.ip_address(s.getsockname()[0]) == host):
            s.shutdown(socket.SHUT_RD)
            print(f"shut down fd {name}: {s.getsockname()}")
            done += 1
sys.exit(0 if done else f"no listening socket on {host} in process {pid}")
PY
}

# write_slow_client FILE: a Python client, run as FILE HOST PORT: a TLS
# connection to HOST that sends a request header announcing a 1000-byte
# body, then one body byte every 2 s (each restarts the service's read
# timeout), until the service closes it or 120 s pass. Prints "header
# sent", then how it ended.
write_slow_client() {
    cat >"$1" <<'PY'
import socket, ssl, sys

host, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with socket.create_connection((host, port), timeout=10) as raw:
    with ctx.wrap_socket(raw) as s:
        s.sendall(b"POST /v1/login HTTP/1.1\r\nHost: enroll\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        print("header sent", flush=True)
        s.settimeout(2)
        for _ in range(60):
            try:
                s.sendall(b" ")
                if not s.recv(1):
                    print("closed by the service (end of file)", flush=True)
                    sys.exit(0)
            except (TimeoutError, socket.timeout):
                continue
            except OSError as e:
                print(f"closed by the service ({e})", flush=True)
                sys.exit(0)
print("still open after 120 s", flush=True)
sys.exit(1)
PY
}

# slow_name HOST: the daemon name of HOST's slow client.
slow_name() {
    echo "slow-${1//[:.]/}"
}

# start_slow_clients: one slow client on each listener, its header sent.
start_slow_clients() {
    local host
    write_slow_client "$ET_TMP/slow_client.py"
    for host in "$HOST_CUT" "$HOST_OTHER"; do
        et_daemon_start "$(slow_name "$host")" e python3 "$ET_TMP/slow_client.py" "$host" \
            "$ENROLL_PORT"
        et_wait_for -d "$(slow_name "$host")" et_log_has "$(slow_name "$host")" "header sent" ||
            return 1
    done
}

# serves_both: a login succeeds on each listener.
serves_both() {
    local ok=0 token
    token="$(login e "$HOST_CUT")" || true
    check "a login on [$HOST_CUT]" test -n "$token" || ok=1
    token="$(login e "$HOST_OTHER")" || true
    check "a login on [$HOST_OTHER]" test -n "$token" || ok=1
    return "$ok"
}

step_a() {
    local ok=0 log pid name
    log="$(et_daemon_log enroll)"
    pid="$(et_daemon_pid enroll)"
    serves_both || ok=1
    check "a slow client holds a connection open on each listener" start_slow_clients || ok=1
    check "the test shuts down the service's [$HOST_CUT] listening socket" \
        shut_listener "$pid" "$HOST_CUT" || ok=1
    check "the service exits within 15 s, not waiting for the slow clients (30 s)" \
        et_wait_for -t 15 et_daemon_exited enroll || ok=1
    et_daemon_running enroll && et_daemon_kill enroll
    et_daemon_reap enroll
    check_num "... with status 1" "$ET_LAST_STATUS" -eq 1 || ok=1
    for name in "$(slow_name "$HOST_CUT")" "$(slow_name "$HOST_OTHER")"; do
        check "$name: its connection was closed by the service" \
            et_wait_for -t 10 et_log_has "$name" "closed by the service" || ok=1
        et_daemon_stop "$name" 2
    done
    check "its log names the listener and the accept() failure" grep -q -F \
        "listener [$HOST_CUT]:$ENROLL_PORT stopped: accept() failed" "$log" || ok=1
    check "... and says it stops the others" \
        grep -q -F "stopping the other listeners and exiting" "$log" || ok=1
    check "... and why it exits" \
        grep -q -F "exiting with status 1: a listener stopped (see above)" "$log" || ok=1
    check_not "... and [$HOST_OTHER]'s did not stop by itself" \
        grep -q -F "listener [$HOST_OTHER]:$ENROLL_PORT stopped" "$log" || ok=1
    check_not "nothing listens on port $ENROLL_PORT any more" enroll_listening e || ok=1
    return "$ok"
}

step_b() {
    local ok=0 log from
    log="$(et_daemon_log enroll)"
    if ! enroll_start e "$HOST_OTHER"; then
        check "the service starts again" false
        return 1
    fi
    et_wait_for enroll_listening_on "$HOST_CUT" || true
    serves_both || ok=1
    from=$(($(wc -l <"$log") + 1))
    et_daemon_stop enroll 20
    tail -n "+$from" "$log" >"$ET_TMP/sigterm.log"
    check_num "SIGTERM: exit status 0" "$ET_LAST_STATUS" -eq 0 || ok=1
    check "... logged as a signal" grep -q -F "signal 15: shutting down" "$ET_TMP/sigterm.log" ||
        ok=1
    check_not "... with no listener error" grep -q -F "listener [" "$ET_TMP/sigterm.log" || ok=1
    return "$ok"
}

# enroll_listening_on HOST: the service listens on HOST too.
enroll_listening_on() {
    et_exec e ss -Hltn "sport = :$ENROLL_PORT" | grep -q -F "$1"
}

main() {
    local -a steps=(
        "a|one listener's accept() fails: exit 1, logged, the other stopped|step_a|"
        "b|restarted, it serves; SIGTERM still exits 0|step_b|"
    )
    et_init
    et_require_bins enftun-enroll
    command -v jq >/dev/null || et_skip "jq not installed (scripts/install-deps)"
    command -v python3 >/dev/null || et_skip "python3 not installed (scripts/install-deps)"
    echo "enroll_listener_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    et_ns_add e
    enroll_setup "$HOST_CUT" "$HOST_OTHER"
    if enroll_start e "$HOST_OTHER" && et_wait_for enroll_listening_on "$HOST_CUT"; then
        run_steps "${steps[@]}"
    else
        fail_steps "the service did not start" "${steps[@]}"
    fi
    et_summary enroll_listener_test
}

main "$@"
