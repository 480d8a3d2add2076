#!/usr/bin/env bash
# enroll_queue_test.sh: enftun-enroll under a flood of connections that hold
# its threads (CTest: netns.enroll_queue_test; exit 77 = skipped).
#
# One namespace "e" with only lo: the service listens on [::1]:8443 with
# max_waiting_connections = 32 (and its 16 threads). The attacker is
# enftun-flood (bench/flood/main.cpp): silent TCP connections from ::1, each
# of which holds a thread until the ConnectionGuard's deadline (5 s, 1 s
# past 8 from one source).
#
# Steps: a 300 silent connections in 0.6 s: the service's open descriptors
# stay within its bound (idle + 16 running + 32 waiting + 1 being refused +
# a margin; without the bound it holds every one it accepts), it logs its
# refusals (rate-limited), closes every connection it took within the
# deadlines, uses little CPU over the flood, and then serves a real login
# and enrolment;
# c the listening socket's accept queue (ss: a LISTEN socket's Send-Q) is
# the service's 128, not cpp-httplib's 5, which a burst of devices would
# overflow;
# b a hard RLIMIT_NOFILE below what the bound needs: the service refuses to
# start, naming both numbers.
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps the work dir.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=enroll_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/enroll_lib.sh"

readonly HOST=::1
readonly THREADS=16 # kThreadsPerListener (keygen/enroll/service.cpp)
readonly WAITING=32
readonly FLOOD=300
# Descriptors besides the connections' that may come and go (a log write,
# the users file of a login): slack, not the bound under test.
readonly FD_MARGIN=6
# CPU time (user + system) the service may use over the whole flood: 250
# refusals and 50 handshakes that time out take well under 0.1 s; a loop
# spinning on accept() for the flood's ~10 s would take most of them.
readonly CPU_MAX_MS=3000
ENROLL_EXTRA="max_waiting_connections = $WAITING;"

# fd_count PID: the process's open descriptors.
fd_count() {
    local -a fds=("/proc/$1/fd/"*)
    echo "${#fds[@]}"
}

# fds_at_most PID N
fds_at_most() {
    (($(fd_count "$1") <= $2))
}

# cpu_ms PID: its user + system CPU time in ms (/proc/PID/stat 14 and 15,
# counted after the command name's closing parenthesis).
cpu_ms() {
    local stat ticks
    stat="$(<"/proc/$1/stat")"
    ticks="$(awk '{ print $12 + $13 }' <<<"${stat##*) }")"
    echo $((ticks * 1000 / $(getconf CLK_TCK)))
}

# flood_field NAME: that field of the flood's last status line
# ("open N connected N closed-by-peer N connects N failed N").
flood_field() {
    grep '^open ' "$(et_daemon_log flood)" | tail -n 1 |
        awk -v f="$1" '{ for (i = 1; i < NF; i += 2) if ($i == f) print $(i + 1) }'
}

# served_connections: TCP connections the service's side holds (accepted,
# or in the kernel's accept queue).
served_connections() {
    et_exec e ss -Htn state established "sport = :$ENROLL_PORT" | wc -l
}

# flood_over: the flood has made all its connections, and the service holds
# none of them any more.
flood_over() {
    local connects
    connects="$(flood_field connects)"
    [[ -n $connects ]] && ((connects >= FLOOD)) && (($(served_connections) == 0))
}

step_a() {
    local ok=0 pid idle cpu0 cpu max=0 n deadline token code refused_lines
    pid="$(et_daemon_pid enroll)"
    idle="$(fd_count "$pid")"
    cpu0="$(cpu_ms "$pid")"
    # The listen backlog is 5 (cpp-httplib's): connections the service has
    # not accepted yet beyond it stay half-open in the kernel, never seen by
    # the service; at 500 connects per second it keeps up with most.
    et_daemon_start flood e "$ET_BIN_DIR/enftun-flood" -c "$HOST" -p "$ENROLL_PORT" -s "$HOST" \
        -n "$FLOOD" -m silent -r 500 -d 60
    # Sample the service's descriptors until the flood is over; 45 s bounds
    # a hang, not the service (its deadlines free a thread within 5 s).
    deadline=$((SECONDS + 45))
    while ! flood_over && ((SECONDS < deadline)) && et_daemon_running flood; do
        n="$(fd_count "$pid")"
        ((n <= max)) || max="$n"
        sleep 0.05
    done
    cpu=$(($(cpu_ms "$pid") - cpu0))
    echo "  flood: $(grep '^open ' "$(et_daemon_log flood)" | tail -n 1)"
    echo "  service: $idle descriptors idle, at most $max during the flood; ${cpu} ms CPU"
    check_num "all $FLOOD flood connections made" "$(flood_field connects)" -ge "$FLOOD" || ok=1
    # Waited for again: a connection the kernel's backlog held back may still
    # come in (a SYN-ACK retransmitted) and be served its deadline.
    check "the service closed every connection it took, within its deadlines" \
        et_wait_for -t 30 flood_over || ok=1
    check_num "of them, more than the $THREADS + $WAITING it keeps" \
        "$(flood_field closed-by-peer)" -gt $((THREADS + WAITING)) || ok=1
    check_num "its descriptors stayed within idle + $THREADS + $WAITING + 1 (+ $FD_MARGIN)" \
        "$max" -le $((idle + THREADS + WAITING + 1 + FD_MARGIN)) || ok=1
    check "... and are back to idle" et_wait_for -t 30 fds_at_most "$pid" "$idle" || ok=1
    check_num "it used little CPU over the flood (ms)" "$cpu" -le "$CPU_MAX_MS" || ok=1
    refused_lines="$(grep -c 'connection refused: ' "$(et_daemon_log enroll)" || true)"
    check_num "it logged refusals" "$refused_lines" -ge 1 || ok=1
    # 10 lines per 5 s at most, and the refusals come within a second or two.
    check_num "rate-limited: at most 20 refusal lines" "$refused_lines" -le 20 || ok=1
    check "the refusal line counts them" grep -q \
        "connection refused: [0-9]* running and [0-9]* waiting .*; [0-9]* refused since the start" \
        "$(et_daemon_log enroll)" || ok=1
    et_daemon_stop flood
    check "the service still runs" et_daemon_running enroll || ok=1
    token="$(login e "$HOST")" || true
    check "a real login afterwards" test -n "$token" || ok=1
    make_csr real
    code="$(enroll e "$HOST" "$token" real auto)"
    check_num "a real enrolment afterwards: 200" "$code" -eq 200 || ok=1
    check "its certificate chains to the CA" \
        openssl verify -CAfile "$ET_TMP/pki/ca.pem" -purpose sslclient "$ET_TMP/real.pem" || ok=1
    return "$ok"
}

# listen_backlog: the accept queue's size of the service's listening socket.
listen_backlog() {
    et_exec e ss -Hltn "sport = :$ENROLL_PORT" | awk 'NR == 1 { print $3 }'
}

step_c() {
    local backlog
    backlog="$(listen_backlog)"
    check_num "the accept queue holds 128 connections (cpp-httplib's own: 5)" \
        "${backlog:-0}" -eq 128
}

step_b() {
    local ok=0 rc=0
    et_daemon_stop enroll
    # 16 + 32 + 1 on one listener and 64 of its own: 113 > 100.
    et_exec e prlimit --nofile=100:100 "$ET_BIN_DIR/enftun-enroll" -c "$ET_TMP/enroll.conf" \
        >"$ET_TMP/rlimit.out" 2>&1 || rc=$?
    check_num "a hard limit of 100 descriptors: exit status 1" "$rc" -eq 1 || ok=1
    check "... naming the need and the limit" grep -q \
        "need 113 file descriptors, but RLIMIT_NOFILE allows 100" "$ET_TMP/rlimit.out" || ok=1
    return "$ok"
}

main() {
    local -a steps=(
        "a|$FLOOD silent connections: descriptors bounded, refusals logged, then served|step_a|"
        "c|the listening socket's accept queue: 128, not cpp-httplib's 5|step_c|"
        "b|a hard RLIMIT_NOFILE below the bound's need: refuses to start|step_b|"
    )
    et_init
    et_require_bins enftun-enroll enftun-flood
    command -v jq >/dev/null || et_skip "jq not installed (scripts/install-deps)"
    echo "enroll_queue_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    enroll_run_steps "$HOST" "${steps[@]}"
    et_summary enroll_queue_test
}

main "$@"
