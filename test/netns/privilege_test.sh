#!/usr/bin/env bash
# privilege_test.sh: enftun runs as an unprivileged user holding only
# CAP_NET_ADMIN, on a TUN that enftun-setup created for that user; missing
# access to its files or device gives a clear error naming which and why
# (CTest: netns.privilege_test; exit 77 = skipped). Topology: setup_lib.sh
# (namespaces d, i, h); split tunnel fd00:e::/48.
#
# The user is a numeric uid/gid with no passwd entry (setpriv and
# `ip tuntap ... user` take numbers), so the test adds no account to the
# machine. Its files live in $ET_TMP/svc, owned by it. Its TUN device node
# is a private one (mknod c 10 200, owned by the user): /dev/net/tun is 0666
# on Debian, but 0600 in some containers, and the test must not change it.
#
# Steps (each prints PASS/FAIL):
#  a  enftun under setpriv (uid, gid, no groups, only CAP_NET_ADMIN in every
#     set, no_new_privs) brings the tunnel up; the socket carries the mark
#  b  unreadable key, certificate, CA: clear errors naming the file
#  c  inaccessible TUN device node: clear error
#  d  TUN of another user, no CAP_NET_ADMIN: clear error
#  e  own TUN but no CAP_NET_ADMIN: clear error (MTU/up needs it)
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=setup_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup_lib.sh"

ET_WAIT_TIMEOUT=30
SVC_UID=""
OTHER_UID=""
SVC=""
CONF=""

# free_id FROM: the first number >= FROM that is neither a uid nor a gid.
free_id() {
    local id="$1"
    while getent passwd "$id" >/dev/null || getent group "$id" >/dev/null; do
        id=$((id + 1))
    done
    echo "$id"
}

make_service_files() {
    SVC="$ET_TMP/svc"
    chmod 711 "$ET_TMP"
    mkdir -p "$SVC"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$SVC/pki" d="$ES_D_ADDR" >/dev/null
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1 address="$ES_ROUTER_ADDR" \
        cert="$SVC/pki/router.pem" key="$SVC/pki/router.key" ca="$SVC/pki/ca.pem" tun_dev=
    mknod -m 600 "$SVC/tun" c 10 200 2>/dev/null || et_skip "cannot mknod a TUN device node"
    CONF="$SVC/d.conf"
    write_client_conf "$CONF" hosts=fd00:100::1 ca=pki/ca.pem cert=pki/d.pem key=pki/d.key \
        prefixes=fd00:e::/48 dev_node="$SVC/tun"
    chown -R "$SVC_UID:$SVC_UID" "$SVC"
    chmod 600 "$SVC/pki/d.key"
}

# as_service [CAPS]: the setpriv prefix for the service user; CAPS is
# "+net_admin" (default) or "" for none at all.
as_service() {
    local caps="-all${1-,+net_admin}"
    echo setpriv --reuid="$SVC_UID" --regid="$SVC_UID" --clear-groups --no-new-privs \
        --inh-caps="$caps" --ambient-caps="$caps" --bounding-set="$caps"
}

# run_enftun_once [CAPS]: run enftun as the service user until it exits
# (a start that fails exits at once; the timeout only bounds a broken test).
run_enftun_once() {
    local -a prefix
    read -r -a prefix <<<"$(as_service "$@")"
    et_exec d timeout 20 "${prefix[@]}" "$ET_BIN_DIR/enftun" -c "$CONF"
}

router_listening() {
    [[ -n $(et_exec i ss -Hltn "src [fd00:100::1]:4443") ]]
}

# status_field FIELD: a line of enftun's /proc/PID/status, value only.
status_field() {
    awk -v f="$1:" '$1 == f { $1 = ""; sub(/^ +/, ""); print }' \
        "/proc/$(et_daemon_pid enftun)/status"
}

tunnel_socket_marked() {
    grep -q 'fwmark:0x16b' <<<"$(et_exec d ss -tnie "dst [$ES_UPLINK_PEER6]:4443")"
}

tun_owned_by() {
    grep -q -w "user $1" <<<"$(et_exec d ip -d link show dev enf0)"
}

step_a() {
    local ok=0 prefix
    check "enftun-setup --user $SVC_UID up" es_setup d --user "$SVC_UID" up "$CONF" ||
        return 1
    check "enf0 is persistent and owned by $SVC_UID" tun_owned_by "$SVC_UID" || ok=1
    prefix="$(as_service)"
    # shellcheck disable=SC2086 # $prefix is a word list made by as_service
    et_daemon_start enftun d $prefix "$ET_BIN_DIR/enftun" -c "$CONF"
    check "d pings the router $ES_ROUTER_ADDR through the tunnel" \
        et_wait_for -d enftun es_ping d "$ES_ROUTER_ADDR" || return 1
    check "enftun runs as uid $SVC_UID" \
        grep -q -x -E "$SVC_UID\s+$SVC_UID\s+$SVC_UID\s+$SVC_UID" <(status_field Uid) || ok=1
    check "enftun runs as gid $SVC_UID" \
        grep -q -x -E "$SVC_UID\s+$SVC_UID\s+$SVC_UID\s+$SVC_UID" <(status_field Gid) || ok=1
    check "no supplementary groups" grep -q -x '' <(status_field Groups) || ok=1
    check "effective capabilities: CAP_NET_ADMIN only" \
        grep -q -x 0000000000001000 <(status_field CapEff) || ok=1
    check "bounding set: CAP_NET_ADMIN only" \
        grep -q -x 0000000000001000 <(status_field CapBnd) || ok=1
    check "no_new_privs" grep -q -x 1 <(status_field NoNewPrivs) || ok=1
    # A process that is not dumpable (PR_SET_DUMPABLE 0: no core dump, no
    # ptrace by its own user) has its /proc/PID files owned by root.
    check "not dumpable: /proc/PID/environ belongs to root, not $SVC_UID" \
        test "$(stat -c %u "/proc/$(et_daemon_pid enftun)/environ")" -eq 0 || ok=1
    check "ss shows fwmark:0x16b on the tunnel socket" tunnel_socket_marked || ok=1
    et_daemon_stop enftun
    return "$ok"
}

# unreadable FILE REGEX: with FILE owned by root and 0600, enftun fails
# with a message matching REGEX; FILE gets its owner and mode back.
unreadable() {
    local file="$1" pattern="$2" mode rc=0
    mode="$(stat -c %a "$file")"
    chown root:root "$file"
    chmod 600 "$file"
    check "unreadable ${file##*/}: $pattern" es_fails_saying "$pattern" run_enftun_once || rc=1
    chown "$SVC_UID:$SVC_UID" "$file"
    chmod "$mode" "$file"
    return "$rc"
}

step_b() {
    local ok=0
    unreadable "$SVC/pki/d.key" "cannot read key file $SVC/pki/d.key: Permission denied" || ok=1
    unreadable "$SVC/pki/d.pem" \
        "identity $SVC/pki/d.pem: cannot open certificate file: Permission denied" || ok=1
    unreadable "$SVC/pki/ca.pem" \
        "cannot read CA certificate file $SVC/pki/ca.pem: Permission denied" || ok=1
    return "$ok"
}

step_c() {
    unreadable "$SVC/tun" \
        "cannot open TUN enf0 via $SVC/tun: cannot open TUN device node: Permission denied"
}

step_d() {
    local ok=0
    check "down" es_setup d down "$CONF" || return 1
    check "up for another user $OTHER_UID" es_setup d --user "$OTHER_UID" up "$CONF" || return 1
    check "enftun without CAP_NET_ADMIN on another user's TUN fails clearly" \
        es_fails_saying "cannot open TUN enf0 via .*Operation not permitted \(the device belongs to another user" \
        run_enftun_once "" || ok=1
    check "down" es_setup d down "$CONF" || ok=1
    return "$ok"
}

step_e() {
    local ok=0
    check "up for $SVC_UID" es_setup d --user "$SVC_UID" up "$CONF" || return 1
    check "enftun without CAP_NET_ADMIN on its own TUN fails clearly" \
        es_fails_saying "cannot set link MTU.*enf0.*Operation not permitted \(needs CAP_NET_ADMIN\)" \
        run_enftun_once "" || ok=1
    check "down" es_setup d down "$CONF" || ok=1
    return "$ok"
}


main() {
    et_init
    command -v setpriv >/dev/null || et_skip "setpriv not installed"
    et_require_bins enftun enftun-router
    SVC_UID="$(free_id 61234)"
    OTHER_UID="$(free_id $((SVC_UID + 1)))"
    echo "privilege_test: binaries from $ET_BIN_DIR, work dir $ET_TMP, uid $SVC_UID"
    es_topology "" # d, i, h only
    make_service_files
    et_daemon_start router i "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router router_listening
    run_step a "enftun as uid $SVC_UID with only CAP_NET_ADMIN works" step_a
    run_step b "unreadable key, certificate, CA: clear errors" step_b
    run_step c "inaccessible TUN device node: clear error" step_c
    run_step d "another user's TUN without CAP_NET_ADMIN: clear error" step_d
    run_step e "no CAP_NET_ADMIN: clear error" step_e
    # A check outside a step fails the test too.
    et_summary privilege_test && ((ET_CHECKS_FAILED == 0))
}

main "$@"
