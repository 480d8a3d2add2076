# shellcheck shell=bash
# lib.sh: helpers for the netns integration tests (test/netns/*_test.sh) and
# scripts/demo. Source it; it defines functions and a few ET_* variables only.
# The step runner and check helpers (check, run_step, et_summary) are in
# steps.sh, which it sources.
#
# Lifetime rules
# - et_init makes a private temp dir ($ET_TMP) and arms `trap et_cleanup EXIT`
#   (plus INT/TERM/HUP → exit), so whatever a test creates through these
#   helpers is removed even when the test fails: recorded daemons are killed
#   by PID, namespaces deleted, the temp dir removed (kept when ET_KEEP=1).
#   On failure the tail of every daemon log is printed first.
# - Namespaces are "$ET_NS_PREFIX<short>"; the prefix defaults to "et$$-" so
#   parallel runs cannot collide. scripts/demo sets a fixed prefix instead.
# - Daemons started with et_daemon_start are children of this shell, so their
#   PIDs stay valid until we reap them; et_daemon_stop/kill reap and forget
#   them, so a PID is never signalled after it could have been reused.
# - No timing assertions: et_wait_for polls a condition every 0.1 s up to a
#   generous deadline (ET_WAIT_TIMEOUT, default 30 s) and fails with a message.
# - Sanitizers: et_init points ASan/UBSan reports of every process the test
#   starts (ASAN_OPTIONS/UBSAN_OPTIONS log_path) into $ET_TMP/sanitizer/;
#   et_cleanup, once the daemons have exited (and LeakSanitizer has run),
#   fails the test when a report is there, or when a daemon log holds one.
#   et_sanitized tells a test that the binaries are ASan builds.
#
# Running in parallel
# - CTest runs these tests three per CPU (scripts/run-tests: -j 3 x nproc),
#   and other people's runs share the machine, so a test touches nothing another
#   run could: its namespaces come from et_ns_add (per-PID names), its files
#   live in $ET_TMP (also sockets, PID and state files: write_router_conf
#   and write_client_conf put the control socket there, a config written
#   otherwise must set control_socket too; never /run/enftun*, /etc or a
#   fixed /tmp path; /etc/netns/<ns> only through et_netns_hosts), ports and
#   sysctls are those of its own namespaces (never a listener or a sysctl in
#   the root namespace), nftables tables only inside them, and it ends
#   processes by PID, never by name (no pkill, killall).
# - A loaded machine delays answers: a "no loss" check runs ping with -w and
#   et_ping_answered, not ping -c's own count (it gives up on a late last
#   answer); a server that serves one client at a time (iperf3 -s) refuses
#   connections between two of them (tl_iperf tries again).
# - A test that loads the CPU for more than a moment (floods, bulk
#   transfers, busy-polling) or checks a duration is listed in
#   NETNS_SERIAL_TESTS (test/CMakeLists.txt) and runs alone.

set -e -o pipefail
export LC_ALL=C

ET_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ET_REPO="$(cd "$ET_LIB_DIR/../.." && pwd)"
ET_BIN_DIR="${ENFTUN_BIN_DIR:-$ET_REPO/build}"
ET_NS_PREFIX="${ET_NS_PREFIX:-et$$-}"
ET_WAIT_TIMEOUT="${ET_WAIT_TIMEOUT:-30}"
ET_TMP=""
ET_LAST_STATUS=""
ET_NAMESPACES=()
ET_ETC_DIRS=() # /etc/netns/<ns> folders made by et_netns_hosts
declare -A ET_PIDS=()
declare -A ET_LOGS=()

et_log() {
    echo "[$(date +%H:%M:%S)] $*" >&2
}

et_die() {
    echo "FATAL: $*" >&2
    exit 1
}

et_skip() {
    echo "SKIP: $*"
    exit 77
}

# et_check_env: exit 77 (skipped) when this machine cannot run netns tests.
et_check_env() {
    [[ $EUID -eq 0 ]] || et_skip "needs root"
    [[ -c /dev/net/tun ]] || et_skip "no /dev/net/tun"
    command -v ip >/dev/null || et_skip "iproute2 (ip) not installed"
    ip netns list >/dev/null 2>&1 || et_skip "ip netns unavailable"
    local probe="${ET_NS_PREFIX}probe"
    ip netns add "$probe" 2>/dev/null || et_skip "cannot create network namespaces"
    ip netns del "$probe"
}

# et_require_bins NAME...: the binaries must exist in $ET_BIN_DIR (a failure,
# not a skip: a missing binary means the build is broken).
et_require_bins() {
    local bin
    for bin in "$@"; do
        [[ -x $ET_BIN_DIR/$bin ]] ||
            et_die "$ET_BIN_DIR/$bin not built (set ENFTUN_BIN_DIR to the CMake build dir)"
    done
}

# et_init: check the machine, make $ET_TMP, arm cleanup. Call once, early.
et_init() {
    et_check_env
    et_sweep_stale
    ET_TMP="$(mktemp -d "${TMPDIR:-/tmp}/enftun-netns.XXXXXX")"
    et_sanitizer_setup
    trap et_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

# et_sweep_stale: a run killed with SIGKILL (e.g. a CTest timeout) cannot run
# its EXIT trap. Remove namespaces "et<PID>-*" whose owner PID is gone, ending
# only the enftun daemons a test left in them.
et_sweep_stale() {
    local ns owner pid exe
    while read -r ns _; do
        [[ $ns =~ ^et([0-9]+)- ]] || continue
        owner="${BASH_REMATCH[1]}"
        if [[ $owner == "$$" ]] || kill -0 "$owner" 2>/dev/null; then
            continue
        fi
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
            case "${exe##*/}" in
            enftun | enftun-router) kill -KILL "$pid" 2>/dev/null || true ;;
            esac
        done
        et_log "removing stale namespace $ns"
        ip netns del "$ns" 2>/dev/null || true
        rm -rf -- "/etc/netns/$ns" # et_netns_hosts
    done < <(ip netns list 2>/dev/null)
}

et_cleanup() {
    local rc=$? name log
    set +e
    trap - EXIT INT TERM HUP
    for name in "${!ET_PIDS[@]}"; do
        et_daemon_stop "$name" 5
    done
    if [[ -n $ET_TMP ]] && ! et_sanitizer_check; then
        rc=1
    fi
    if ((rc != 0)) && [[ -n $ET_TMP ]]; then
        for log in "$ET_TMP"/*.log; do
            [[ -s $log ]] || continue
            echo "----- last 40 lines of $log -----" >&2
            tail -n 40 "$log" | cat -v >&2
        done
    fi
    for name in "${ET_NAMESPACES[@]}"; do
        et_ns_kill_leftovers "$name"
        ip netns del "$name" 2>/dev/null
    done
    for name in "${ET_ETC_DIRS[@]}"; do
        rm -rf -- "$name"
    done
    if [[ -n $ET_TMP && -d $ET_TMP ]]; then
        if [[ ${ET_KEEP:-0} == 1 ]]; then
            echo "kept $ET_TMP" >&2
        else
            rm -rf -- "$ET_TMP"
        fi
    fi
    exit "$rc"
}

# --------------------------------------------------------------- sanitizers

# et_sanitizer_setup: reports of ASan/UBSan-built processes go to files
# $ET_TMP/sanitizer/report.PID, where et_cleanup finds them whatever the
# test did with the process's stderr. The folder is writable for a daemon
# that dropped root (sticky, not listable); such a test makes $ET_TMP
# traversable itself (privilege_test.sh). Options the caller set are kept.
et_sanitizer_setup() {
    mkdir -m 1733 "$ET_TMP/sanitizer"
    local where="log_path=$ET_TMP/sanitizer/report"
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}$where"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}$where"
}

# et_sanitizer_check: false (and prints them) when a sanitizer reported
# anything: a report file, or a report on a daemon's stderr (a process
# that could not open its report file says so there and dies).
et_sanitizer_check() {
    local file found=0
    for file in "$ET_TMP"/sanitizer/report.*; do
        [[ -e $file ]] || continue
        found=1
        echo "SANITIZER REPORT ($file):" >&2
        head -n 80 "$file" | cat -v >&2
    done
    for file in "$ET_TMP"/*.log; do
        [[ -e $file ]] || continue
        if grep -q -E "$ET_SANITIZER_RE" "$file"; then
            found=1
            echo "SANITIZER REPORT in $file:" >&2
            grep -E -A 30 "$ET_SANITIZER_RE" "$file" | head -n 80 | cat -v >&2
        fi
    done
    ((found == 0))
}

# et_sanitized: the binaries under test are ASan builds (the runtime is
# linked into them). A test skips its memory-size checks then, saying so:
# redzones and the quarantine of freed blocks inflate every allocation.
et_sanitized() {
    grep -q -a -m 1 -F "AddressSanitizer" "$ET_BIN_DIR/enftun-router" 2>/dev/null
}

readonly ET_SANITIZER_RE='ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error: |Sanitizer:DEADLYSIGNAL|ERROR: Can.t open file: .*sanitizer'

# et_ns_kill_leftovers NS: a process still inside a namespace this run made
# was started by this run (say from a subshell, so it is not in ET_PIDS).
# End it by PID before the namespace goes, or it would outlive it unseen.
et_ns_kill_leftovers() {
    local pid cmdline
    for pid in $(ip netns pids "$1" 2>/dev/null); do
        cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
        echo "cleanup: killing leftover pid $pid in $1: $cmdline" >&2
        kill -KILL "$pid" 2>/dev/null || true
    done
}

# ---------------------------------------------------------------- waiting

# et_wait_for [-t SECONDS] [-d DAEMON]... CMD [ARG]...
# Run CMD (output discarded) every 0.1 s until it succeeds. Fails with a
# message after SECONDS (default $ET_WAIT_TIMEOUT), or at once when one of the
# named daemons has exited (no point waiting for a dead process).
et_wait_for() {
    local timeout="$ET_WAIT_TIMEOUT" deadline name
    local -a daemons=()
    while (($# > 0)); do
        case "$1" in
        -t)
            timeout="$2"
            shift 2
            ;;
        -d)
            daemons+=("$2")
            shift 2
            ;;
        *) break ;;
        esac
    done
    deadline=$((SECONDS + timeout))
    while true; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        for name in "${daemons[@]}"; do
            if ! et_daemon_running "$name"; then
                echo "wait_for: daemon '$name' exited while waiting for: $*" >&2
                return 1
            fi
        done
        if ((SECONDS >= deadline)); then
            echo "wait_for: timed out after ${timeout}s waiting for: $*" >&2
            return 1
        fi
        sleep 0.1
    done
}

# ------------------------------------------------------------- namespaces

et_ns() {
    printf '%s%s' "$ET_NS_PREFIX" "$1"
}

# et_exec SHORT CMD...: run CMD inside namespace SHORT.
et_exec() {
    local ns
    ns="$(et_ns "$1")"
    shift
    ip netns exec "$ns" "$@"
}

# et_ns_add SHORT...: new namespace with lo up and DAD off, so addresses
# (also those the daemons add to their TUNs) are usable at once.
et_ns_add() {
    local short ns
    for short in "$@"; do
        ns="$(et_ns "$short")"
        ip netns add "$ns"
        ET_NAMESPACES+=("$ns")
        ip -n "$ns" link set lo up
        ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.accept_dad=0 \
            net.ipv6.conf.default.accept_dad=0
    done
}

# et_netns_hosts SHORT LINE...: write /etc/netns/<ns>/hosts, which
# `ip netns exec` bind-mounts over /etc/hosts (host-name tests without DNS).
# The folder is removed by et_cleanup.
et_netns_hosts() {
    local dir
    dir="/etc/netns/$(et_ns "$1")"
    shift
    mkdir -p "$dir"
    ET_ETC_DIRS+=("$dir")
    printf '%s\n' "$@" >"$dir/hosts"
}

et_link_exists() {
    ip -n "$(et_ns "$1")" link show dev "$2" >/dev/null 2>&1
}

# et_link_up SHORT IF: administratively up (a TUN has no carrier until
# its owner has it open, so this does not check LOWER_UP).
et_link_up() {
    grep -q -E '[<,]UP[,>]' <<<"$(ip -n "$(et_ns "$1")" link show dev "$2" 2>/dev/null)"
}

et_link_lower_up() {
    grep -q 'LOWER_UP' <<<"$(ip -n "$(et_ns "$1")" link show dev "$2" 2>/dev/null)"
}

# et_veth_add NS_A IF_A NS_B IF_B: veth pair, both ends up; waits for carrier
# (LOWER_UP) on both ends, which the kernel raises asynchronously.
et_veth_add() {
    local ns_a ns_b
    ns_a="$(et_ns "$1")"
    ns_b="$(et_ns "$3")"
    ip link add "$2" netns "$ns_a" type veth peer name "$4" netns "$ns_b"
    ip -n "$ns_a" link set "$2" up
    ip -n "$ns_b" link set "$4" up
    et_wait_for et_link_lower_up "$1" "$2"
    et_wait_for et_link_lower_up "$3" "$4"
}

# et_addr_add SHORT IF ADDR/PLEN
et_addr_add() {
    ip -n "$(et_ns "$1")" addr add "$3" dev "$2" nodad
}

# et_router_client_pair: the one-router, one-client underlay: namespaces r
# and c joined by a veth pair, r's end vc fd00:100::1/64, c's end vr
# fd00:100::2/64.
et_router_client_pair() {
    et_ns_add r c
    et_veth_add r vc c vr
    et_addr_add r vc fd00:100::1/64
    et_addr_add c vr fd00:100::2/64
}

# et_ping_answered FILE N: the output of `ping -n [-D -O] -c N -w SECS` in
# FILE has an answer for each of icmp_seq 1..N; else it prints which had
# none, with the lines around each. To check "no loss", give ping -w: with
# -c alone, after its last request ping waits only max(2 x the slowest
# answer so far, -i) and counts a later answer as lost (-W does not change
# that), which a loaded machine turns into a false loss. With -w it waits
# until N are answered (sending more meanwhile, which this check ignores),
# and a request that was really lost is still never answered.
et_ping_answered() {
    local seq unanswered=()
    for ((seq = 1; seq <= $2; seq++)); do
        grep -q "bytes from .* icmp_seq=$seq " "$1" || unanswered+=("$seq")
    done
    ((${#unanswered[@]} == 0)) && return 0
    echo "no answer for icmp_seq ${unanswered[*]}"
    for seq in "${unanswered[@]}"; do
        grep -B 2 -A 2 "icmp_seq=$seq\b" "$1" | head -n 10
    done
    tail -n 2 "$1"
    return 1
}

# et_link_stat SHORT IF rx|tx: packet counter of an interface.
et_link_stat() {
    ip -n "$(et_ns "$1")" -s link show dev "$2" | awk -v want="$3" '
        $1 == "RX:" { getline; rx = $2 }
        $1 == "TX:" { getline; tx = $2 }
        END { if (want == "rx") print rx; else print tx }'
}

# ---------------------------------------------------------------- daemons

# et_daemon_start NAME SHORT CMD...: run CMD in namespace SHORT in the
# background, stdout+stderr to $ET_TMP/NAME.log (appended, so a restart keeps
# the history), stdin from $ET_STDIN (default /dev/null). The PID is the daemon's own:
# `ip netns exec` execs CMD. Also written to $ET_TMP/NAME.pid for scripts/demo.
et_daemon_start() {
    local name="$1" short="$2" log
    shift 2
    [[ -z ${ET_PIDS[$name]:-} ]] || et_die "daemon $name already running"
    log="$ET_TMP/$name.log"
    echo "=== $(date +%H:%M:%S) start: $*" >>"$log"
    ip netns exec "$(et_ns "$short")" "$@" <"${ET_STDIN:-/dev/null}" >>"$log" 2>&1 &
    ET_PIDS[$name]=$!
    ET_LOGS[$name]="$log"
    echo "${ET_PIDS[$name]}" >"$ET_TMP/$name.pid"
}

et_daemon_pid() {
    echo "${ET_PIDS[$1]:-}"
}

# et_reload NAME: SIGHUP to daemon NAME, then wait until it has handled it:
# its "SIGHUP: reload finished" line, logged after all the reload's own
# lines, counts up (the start line alone would race the checks that follow).
et_reload() {
    local before
    before="$(et_log_count "$1" "SIGHUP: reload finished")"
    kill -HUP "$(et_daemon_pid "$1")"
    et_wait_for -d "$1" log_count_above "$1" "SIGHUP: reload finished" "$before"
}

et_daemon_log() {
    echo "${ET_LOGS[$1]:-$ET_TMP/$1.log}"
}

# et_daemon_running NAME: started, and neither exited nor a zombie.
et_daemon_running() {
    local pid="${ET_PIDS[$1]:-}" state
    [[ -n $pid ]] || return 1
    state="$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ -n $state && $state != Z && $state != X ]]
}

# et_daemon_reap NAME: wait for it, forget it; its exit status goes to
# ET_LAST_STATUS. (Never call the daemon functions in $(...): a subshell
# can neither wait for our children nor update ET_PIDS.)
et_daemon_reap() {
    local pid="${ET_PIDS[$1]:-}" rc=0
    [[ -n $pid ]] || return 0
    wait "$pid" 2>/dev/null || rc=$?
    unset "ET_PIDS[$1]"
    rm -f "$ET_TMP/$1.pid"
    echo "=== $(date +%H:%M:%S) exited with status $rc" >>"$(et_daemon_log "$1")"
    # shellcheck disable=SC2034 # read by the scripts that source this file
    ET_LAST_STATUS="$rc"
}

# et_daemon_stop NAME [GRACE_SECONDS]: SIGTERM, wait up to GRACE (default
# 10 s) for it to exit, then SIGKILL that PID only. Status in ET_LAST_STATUS.
et_daemon_stop() {
    local name="$1" grace="${2:-10}" pid
    pid="${ET_PIDS[$name]:-}"
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    if ! ET_WAIT_TIMEOUT="$grace" et_wait_for_exit "$name"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    et_daemon_reap "$name"
}

# et_daemon_kill NAME: SIGKILL at once (simulates a crash).
et_daemon_kill() {
    local pid="${ET_PIDS[$1]:-}"
    [[ -n $pid ]] || return 0
    kill -KILL "$pid" 2>/dev/null || true
    et_daemon_reap "$1"
}

et_daemon_exited() {
    ! et_daemon_running "$1"
}

et_wait_for_exit() {
    et_wait_for et_daemon_exited "$1" 2>/dev/null
}

# et_log_has NAME FIXED-STRING: the daemon's log contains the string.
et_log_has() {
    grep -q -F -- "$2" "$(et_daemon_log "$1")" 2>/dev/null
}

et_log_count() {
    local log
    log="$(et_daemon_log "$1")"
    [[ -f $log ]] || {
        echo 0 # not started yet: no line
        return 0
    }
    grep -c -F -- "$2" "$log" || true
}

# et_daemon_stat NAME FIELD: ask daemon NAME for its counters (SIGUSR1), wait
# for the stats line holding "FIELD N" and print N. Reads only, so it may run
# in $(...). FIELD is a literal such as "queue-full" or "dropped source".
et_daemon_stat() {
    local name="$1" field="$2" before
    before="$(et_log_count "$name" "$field ")"
    kill -USR1 "${ET_PIDS[$name]:-none}" || return 1
    et_wait_for -d "$name" log_count_above "$name" "$field " "$before" || return 1
    grep -F -- "$field " "$(et_daemon_log "$name")" | tail -n 1 |
        sed -n "s/.* $field \([0-9][0-9]*\).*/\1/p"
}

# ------------------------------------------------------------ config files

# Strings go into libconfig "..." literals: refuse quotes and backslashes.
_et_conf_str() {
    [[ $1 != *[\"\\]* ]] || et_die "bad config string: $1"
    printf '"%s"' "$1"
}

# _et_conf_list "a,b,c" → [ "a", "b", "c" ]
_et_conf_list() {
    local -a items
    local item out=""
    IFS=, read -r -a items <<<"$1"
    for item in "${items[@]}"; do
        [[ -n $item ]] || continue
        out+="${out:+, }$(_et_conf_str "$item")"
    done
    printf '[ %s ]' "$out"
}

_et_conf_int() {
    [[ $1 =~ ^[0-9]+$ ]] || et_die "bad config integer: $1"
    printf '%s' "$1"
}

# write_router_conf FILE [key=value]...  (lists are comma-separated)
#   listen=fd00:100::1  port=4443  address=fd00:e::1
#   cert=router.pem key=router.key ca=ca.pem   (relative to FILE's folder)
#   max_sessions=100 handshake_timeout=10000 idle_timeout=180000 mtu=1500 (ms)
#   tun_dev=enfr0 tun_address=fd00:f::1 tun_routes=fd00:e::/64
#   (tun_dev= empty leaves the gateway TUN out, idle_timeout= the router's
#   default in)
#   busy_poll_us=N max_handshakes_per_source=N metrics_file=F protocol=1|2 (left out if empty)
#   ipv4_prefixes=198.18.1.0/24 (router.ipv4_client_prefixes; left out if empty)
#   control_socket=NAME.sock (FILE's name without .conf, next to it; never the
#   default under /run, which the routers of tests running at once would share)
write_router_conf() {
    local file="$1" kv
    shift
    local -A o=(
        [listen]=fd00:100::1 [port]=4443 [address]=fd00:e::1
        [cert]=router.pem [key]=router.key [ca]=ca.pem
        [max_sessions]=100 [handshake_timeout]=10000 [idle_timeout]=180000 [mtu]=1500
        [tun_dev]=enfr0 [tun_address]=fd00:f::1 [tun_routes]=fd00:e::/64 [busy_poll_us]=""
        [max_handshakes_per_source]="" [control_socket]="${file##*/}" [metrics_file]="" [protocol]=""
        [ipv4_prefixes]=""
    )
    o[control_socket]="${o[control_socket]%.conf}.sock"
    for kv in "$@"; do
        [[ $kv == *=* && -n ${o[${kv%%=*}]+set} ]] || et_die "write_router_conf: bad option $kv"
        o[${kv%%=*}]="${kv#*=}"
    done
    {
        echo "// written by test/netns/lib.sh; times in milliseconds"
        echo "router : {"
        echo "  listen = $(_et_conf_list "${o[listen]}");"
        echo "  port = $(_et_conf_int "${o[port]}");"
        echo "  address = $(_et_conf_str "${o[address]}");"
        echo "  cert_file = $(_et_conf_str "${o[cert]}");"
        echo "  key_file = $(_et_conf_str "${o[key]}");"
        echo "  ca_cert_file = $(_et_conf_str "${o[ca]}");"
        echo "  max_sessions = $(_et_conf_int "${o[max_sessions]}");"
        echo "  handshake_timeout = $(_et_conf_int "${o[handshake_timeout]}");"
        [[ -z ${o[idle_timeout]} ]] || echo "  idle_timeout = $(_et_conf_int "${o[idle_timeout]}");"
        echo "  mtu = $(_et_conf_int "${o[mtu]}");"
        if [[ -n ${o[busy_poll_us]} ]]; then
            echo "  busy_poll_us = $(_et_conf_int "${o[busy_poll_us]}");"
        fi
        if [[ -n ${o[max_handshakes_per_source]} ]]; then
            echo "  max_handshakes_per_source = $(_et_conf_int "${o[max_handshakes_per_source]}");"
        fi
        echo "  control_socket = $(_et_conf_str "${o[control_socket]}");"
        if [[ -n ${o[metrics_file]} ]]; then
            echo "  metrics_file = $(_et_conf_str "${o[metrics_file]}");"
        fi
        [[ -z ${o[protocol]} ]] || echo "  protocol = $(_et_conf_int "${o[protocol]}");"
        if [[ -n ${o[ipv4_prefixes]} ]]; then
            echo "  ipv4_client_prefixes = $(_et_conf_list "${o[ipv4_prefixes]}");"
        fi
        if [[ -n ${o[tun_dev]} ]]; then
            echo "  tun : {"
            echo "    dev = $(_et_conf_str "${o[tun_dev]}");"
            echo "    address = $(_et_conf_str "${o[tun_address]}");"
            echo "    routes = $(_et_conf_list "${o[tun_routes]}");"
            # Not the default in /run, which parallel tests would share.
            echo "    route_record = $(_et_conf_str "${file%.conf}.routes");"
            echo "  };"
        fi
        echo "};"
    } >"$file"
}

# write_client_conf FILE [key=value]...  (lists are comma-separated)
#   dev=enf0 mtu=1280 hosts=fd00:100::1 port=4443 ca=ca.pem
#   heartbeat_period=60000 heartbeat_timeout=15000 (ms)
#   prefixes=fd00:e::/64 cert=c1.pem key=c1.key   (relative to FILE's folder)
#   trusted=lan0,wlan0 allow_ipv4=true dev_node=/dev/net/tun (left out if empty)
#   connect_timeout=5000 reconnect_max_delay=60000 reconnect_stable_period=30000 (ms)
#   fwmark=363 busy_poll_us=200 protocol=1|2 metrics_file=F (left out if empty)
#   control_socket=NAME.sock (FILE's name without .conf, next to it; never the
#   default /run/enftun/<dev>.sock, which the clients of tests running at
#   once would share)
write_client_conf() {
    local file="$1" kv
    shift
    local -A o=(
        [dev]=enf0 [mtu]=1280 [hosts]=fd00:100::1 [port]=4443 [ca]=ca.pem
        [heartbeat_period]=60000 [heartbeat_timeout]=15000
        [prefixes]=fd00:e::/64 [cert]=c1.pem [key]=c1.key
        [trusted]="" [allow_ipv4]="" [dev_node]=""
        [connect_timeout]="" [reconnect_max_delay]="" [reconnect_stable_period]="" [fwmark]=""
        [busy_poll_us]="" [protocol]="" [control_socket]="${file##*/}" [metrics_file]=""
    )
    o[control_socket]="${o[control_socket]%.conf}.sock"
    for kv in "$@"; do
        [[ $kv == *=* && -n ${o[${kv%%=*}]+set} ]] || et_die "write_client_conf: bad option $kv"
        o[${kv%%=*}]="${kv#*=}"
    done
    {
        echo "// written by test/netns/lib.sh; times in milliseconds"
        echo "tun : {"
        echo "  dev = $(_et_conf_str "${o[dev]}");"
        echo "  mtu = $(_et_conf_int "${o[mtu]}");"
        [[ -z ${o[dev_node]} ]] || echo "  dev_node = $(_et_conf_str "${o[dev_node]}");"
        [[ -z ${o[busy_poll_us]} ]] || echo "  busy_poll_us = $(_et_conf_int "${o[busy_poll_us]}");"
        echo "  control_socket = $(_et_conf_str "${o[control_socket]}");"
        [[ -z ${o[metrics_file]} ]] || echo "  metrics_file = $(_et_conf_str "${o[metrics_file]}");"
        echo "};"
        echo "remote : {"
        echo "  hosts = $(_et_conf_list "${o[hosts]}");"
        echo "  port = $(_et_conf_int "${o[port]}");"
        echo "  ca_cert_file = $(_et_conf_str "${o[ca]}");"
        echo "  heartbeat_period = $(_et_conf_int "${o[heartbeat_period]}");"
        echo "  heartbeat_timeout = $(_et_conf_int "${o[heartbeat_timeout]}");"
        [[ -z ${o[connect_timeout]} ]] ||
            echo "  connect_timeout = $(_et_conf_int "${o[connect_timeout]}");"
        [[ -z ${o[reconnect_max_delay]} ]] ||
            echo "  reconnect_max_delay = $(_et_conf_int "${o[reconnect_max_delay]}");"
        [[ -z ${o[reconnect_stable_period]} ]] ||
            echo "  reconnect_stable_period = $(_et_conf_int "${o[reconnect_stable_period]}");"
        [[ -z ${o[protocol]} ]] || echo "  protocol = $(_et_conf_int "${o[protocol]}");"
        echo "};"
        echo "route : {"
        echo "  prefixes = $(_et_conf_list "${o[prefixes]}");"
        [[ -z ${o[fwmark]} ]] || echo "  fwmark = $(_et_conf_int "${o[fwmark]}");"
        [[ -z ${o[trusted]} ]] || echo "  trusted_interfaces = $(_et_conf_list "${o[trusted]}");"
        [[ ${o[allow_ipv4]} != true ]] || echo "  allow_ipv4 = true;"
        echo "};"
        echo "identity : {"
        echo "  cert_file = $(_et_conf_str "${o[cert]}");"
        echo "  key_file = $(_et_conf_str "${o[key]}");"
        echo "};"
    } >"$file"
}

# ------------------------------------------------------- raw frames (hex)
# Hand-made frames for a raw TLS peer (openssl s_client), to test what a
# well-behaved enftun never sends: spoofed sources, malformed frames.

# et_ip6_hex ADDR: the 16 bytes of an IPv6 address as 32 hex digits.
et_ip6_hex() {
    local addr="$1" head tail group out="" n=0
    local -a hg=() tg=()
    if [[ $addr == *::* ]]; then
        head="${addr%%::*}"
        tail="${addr#*::}"
    else
        head="$addr"
        tail=""
    fi
    [[ -z $head ]] || IFS=: read -r -a hg <<<"$head"
    [[ -z $tail ]] || IFS=: read -r -a tg <<<"$tail"
    for group in "${hg[@]}"; do
        out+="$(printf '%04x' "$((16#$group))")"
        n=$((n + 1))
    done
    while ((n + ${#tg[@]} < 8)); do
        out+="0000"
        n=$((n + 1))
    done
    for group in "${tg[@]}"; do
        out+="$(printf '%04x' "$((16#$group))")"
    done
    ((${#out} == 32)) || et_die "bad IPv6 address: $addr"
    printf '%s' "$out"
}

# _et_csum16 HEX: ones' complement sum of 16-bit words (HEX has even words).
_et_csum16() {
    local hex="$1" sum=0 i
    for ((i = 0; i < ${#hex}; i += 4)); do
        sum=$((sum + 16#${hex:i:4}))
    done
    while ((sum >> 16)); do
        sum=$(((sum & 0xffff) + (sum >> 16)))
    done
    printf '%04x' "$((~sum & 0xffff))"
}

# et_icmp6_echo_hex SRC DST SEQ: an ICMPv6 echo request (RFC 4443 §4.1)
# with an 8-byte payload and a correct checksum (RFC 4443 §2.3).
et_icmp6_echo_hex() {
    local src dst seq body csum
    src="$(et_ip6_hex "$1")"
    dst="$(et_ip6_hex "$2")"
    seq="$(printf '%04x' "$3")"
    body="80000000e7e7${seq}656e6674756e2121" # type, code, csum 0, id, seq, "enftun!!"
    csum="$(_et_csum16 "${src}${dst}000000100000003a${body}")"
    # version 6, payload length 16, next header 58, hop limit 64
    printf '%s' "6000000000103a40${src}${dst}${body:0:4}${csum}${body:8}"
}

# et_frame_hex HEX: one frame, a 2-byte big-endian length and the payload.
et_frame_hex() {
    printf '%04x%s' "$((${#1} / 2))" "$1"
}

# et_hex_to_file HEX FILE: write the bytes.
et_hex_to_file() {
    local hex="$1" esc="" i
    for ((i = 0; i < ${#hex}; i += 2)); do
        esc+="\\x${hex:i:2}"
    done
    printf '%b' "$esc" >"$2"
}

# ---------------------------------------------------------------- nftables

# et_nft_counter SHORT TABLE COUNTER: packets of a named counter in an
# "inet" table (0 when it does not exist).
et_nft_counter() {
    local n
    n="$(ip netns exec "$(et_ns "$1")" nft list counter inet "$2" "$3" 2>/dev/null |
        awk '$1 == "packets" { print $2; exit }')"
    echo "${n:-0}"
}

# ------------------------------------------------------------------ steps

# shellcheck source-path=SCRIPTDIR source=steps.sh
source "$ET_LIB_DIR/steps.sh"
