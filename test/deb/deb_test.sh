#!/usr/bin/env bash
# deb_test.sh: the Debian packages, end to end (CTest: deb.packages, label
# `deb`; exit 77 = skipped; a few minutes, so scripts/run-tests runs it as a
# stage of its own, after the dev tests).
#
#   1. scripts/build-deb builds them from a clean clone of HEAD (no tests
#      inside the build, lintian must pass), and a "previous version" is
#      made from them by repacking with a lower version number.
#   2. A fresh Debian 12 root (mmdebstrap --variant=apt bookworm) gets the
#      packages' dependencies, then a snapshot of its file list.
#   3. Install the previous version, then upgrade to the new one: users,
#      groups, folders and modes as README.md promises, binaries run,
#      examples and units where documented, templates not enabled,
#      `systemd-analyze verify` on the installed units. No systemd runs
#      here (no PID 1 systemd on this machine): /run/systemd/system and a
#      recording `systemctl` stand in for it, so the maintainer scripts take
#      their systemd paths; the test checks which units they stop and
#      restart: each running tunnel restarted exactly once, queued
#      (--no-block: not waiting for a tunnel to come up), the ones whose
#      config the new binary rejects not at all (with a warning), setup
#      units never, no stop during an upgrade, nothing restarted when
#      policy-rc.d says 101.
#   4. A router and a client, the binaries installed in the root, bring up a
#      tunnel in network namespaces and ping through it.
#   5. Remove: tunnels stopped, binaries gone, configs and state kept.
#      Purge: the file list is the snapshot's again.
# Env: ET_KEEP=1 keeps the temp dir (and the root).
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=../netns/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"

ET_WAIT_TIMEOUT=30
ROOT=""
DEBS=""
PREV=""
readonly R_ADDR=fd00:e::1 C_ADDR=fd00:e::5

command -v mmdebstrap >/dev/null || et_skip "mmdebstrap not installed (scripts/install-deps)"
command -v dpkg-buildpackage >/dev/null || et_skip "dpkg-dev not installed"
command -v dh >/dev/null || et_skip "debhelper not installed"
git -C "$ET_REPO" rev-parse HEAD >/dev/null 2>&1 || et_skip "not a git checkout"

et_init
# lib.sh's cleanup runs first (daemons, namespaces, $ET_TMP): the root lives
# in $ET_TMP and holds no mounts, so removing it is all it takes.
ROOT="$ET_TMP/root"
DEBS="$ET_TMP/debs"
PREV="$ET_TMP/prev"

in_root() {
    chroot "$ROOT" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}

# ------------------------------------------------------------ 1. build

build_packages() {
    "$ET_REPO/scripts/build-deb" --no-install --nocheck --jobs 2 --out "$DEBS" \
        >"$ET_TMP/build.log" 2>&1 || { tail -n 60 "$ET_TMP/build.log"; return 1; }
    grep -E '^(lintian|build-deb|  )' "$ET_TMP/build.log" | tail -n 12
}

# make_previous: the same packages as version VERSION~prev1 (lower).
make_previous() {
    local deb dir version
    mkdir -p "$PREV"
    for deb in "$DEBS"/enftun*_*.deb; do
        [[ $deb != *-dbgsym_* ]] || continue
        dir="$ET_TMP/repack"
        rm -rf "$dir"
        dpkg-deb -R "$deb" "$dir"
        version="$(dpkg-deb -f "$deb" Version)"
        sed -i "s/^Version: .*/Version: ${version}~prev1/" "$dir/DEBIAN/control"
        dpkg-deb -b "$dir" "$PREV/" >/dev/null
    done
    rm -rf "$dir"
}

# new_debs: the new version's packages (no dbgsym).
new_debs() {
    find "$DEBS" -maxdepth 1 -name 'enftun*.deb' ! -name '*-dbgsym_*' | sort
}

# ------------------------------------------------------------ 2. root

# The packages' Depends, names only (first of each alternative).
package_deps() {
    local deb
    for deb in $(new_debs); do
        dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*//' -e 's/ //g'
    done | grep -v '^$' | sort -u
}

make_root() {
    mmdebstrap --quiet --variant=apt --skip=cleanup/apt/lists bookworm "$ROOT" \
        >"$ET_TMP/mmdebstrap.log" 2>&1 || { tail -n 30 "$ET_TMP/mmdebstrap.log"; return 1; }
    # systemd: its units (sysinit.target, ...) for `systemd-analyze verify`;
    # nothing runs it.
    # shellcheck disable=SC2046 # one word per package
    in_root apt-get install -y -q --no-install-recommends systemd $(package_deps) \
        >"$ET_TMP/deps.log" 2>&1 ||
        { tail -n 30 "$ET_TMP/deps.log"; return 1; }
}

# snapshot: every path of the root with its type, owner and mode, except
# what changes by itself (dpkg's and apt's databases, logs, caches, /run
# with adduser's lock).
snapshot() {
    (cd "$ROOT" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp \
        -o -path ./run -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache \
        -o -path ./var/log \) -prune -o -printf '%p %y %u:%g %m\n' |
        grep -v -E '^\./etc/(passwd|group|shadow|gshadow)-? ' | sort)
}

# ------------------------------------------------------------ systemd stand-in

# A recording systemctl: every call is logged to /run/stub/calls; the units
# listed in /run/stub/running are "running" for list-units and is-active.
# A recording policy-rc.d: every question (UNIT ACTION) is logged to
# /run/stub/policy; it answers with the exit code in /run/stub/policy-rc.
install_systemd_stub() {
    mkdir -p "$ROOT/run/systemd/system" "$ROOT/run/stub"
    : >"$ROOT/run/stub/calls"
    : >"$ROOT/run/stub/policy"
    echo 0 >"$ROOT/run/stub/policy-rc"
    test ! -e "$ROOT/usr/sbin/policy-rc.d" || { echo "the root has a policy-rc.d already"; return 1; }
    cat >"$ROOT/usr/sbin/policy-rc.d" <<'STUB'
#!/bin/sh
echo "$*" >>/run/stub/policy
exit "$(cat /run/stub/policy-rc)"
STUB
    cat >"$ROOT/usr/local/sbin/systemctl" <<'STUB'
#!/bin/sh
echo "$*" >>/run/stub/calls
args=""
for a in "$@"; do
    case "$a" in -*) ;; *) args="$args $a" ;; esac
done
set -- $args
case "$1" in
list-units)
    shift
    for pattern in "$@"; do
        while read -r unit; do
            case "$unit" in $pattern) echo "$unit loaded active running stub" ;; esac
        done </run/stub/running
    done ;;
is-active) grep -q -x -F "$2" /run/stub/running ;;
is-enabled) echo enabled ;;
esac
exit 0
STUB
    printf '#!/bin/sh\n[ "$1" = --unescape ] && shift; [ "$1" = -- ] && shift; echo "$1"\n' \
        >"$ROOT/usr/local/bin/systemd-escape"
    chmod 755 "$ROOT/usr/local/sbin/systemctl" "$ROOT/usr/local/bin/systemd-escape" \
        "$ROOT/usr/sbin/policy-rc.d"
}

remove_systemd_stub() {
    rm -rf "$ROOT/run/systemd/system" "$ROOT/run/stub" \
        "$ROOT/usr/local/sbin/systemctl" "$ROOT/usr/local/bin/systemd-escape" \
        "$ROOT/usr/sbin/policy-rc.d"
    rmdir "$ROOT/run/systemd" 2>/dev/null || true
}

calls_matching() {
    grep -c -E -e "$1" "$ROOT/run/stub/calls" || true
}

# Restarts of enftun@ instances that would wait for the unit to be ready
# (READY=1: the tunnel up), which hold dpkg while a router is unreachable.
waiting_tunnel_restarts() {
    grep -E 'restart enftun@' "$ROOT/run/stub/calls" | grep -c -v -e '--no-block' || true
}

policy_asked() {
    grep -c -x -F "$1" "$ROOT/run/stub/policy" || true
}

# ------------------------------------------------------------ steps

step_build() {
    local ok=0
    check "scripts/build-deb: packages built from a clean clone, lintian clean" build_packages || ok=1
    check "four packages" test "$(new_debs | wc -l)" -eq 4 || ok=1
    check "previous version repacked" make_previous || ok=1
    return "$ok"
}

step_root() {
    check "mmdebstrap bookworm root with the packages' dependencies" make_root || return 1
    snapshot >"$ET_TMP/before.list"
}

entry() {
    in_root getent "$1" "$2"
}

# stat_is PATH "MODE USER:GROUP", names as the root's passwd and group know them.
stat_is() {
    local got
    got="$(in_root stat -c '%a %U:%G' "$1")"
    [[ $got == "$2" ]] || { echo "$1: $got, expected $2"; return 1; }
}

installed_version() {
    in_root dpkg-query -W -f='${Version}' "$1"
}

step_install_previous() {
    local ok=0
    cp "$PREV"/*.deb "$ROOT/tmp/"
    check "dpkg -i the previous version" in_root sh -c 'dpkg -i /tmp/*.deb' || ok=1
    rm -f "$ROOT"/tmp/*.deb
    check "previous version installed" test "$(installed_version enftun)" = \
        "$(dpkg-deb -f "$(new_debs | head -n 1)" Version)~prev1" || ok=1
    return "$ok"
}

# The configs the upgrade's checks read: one good and one bad client
# config, a good router config.
write_upgrade_confs() {
    cat >"$ROOT/etc/enftun/good.conf" <<'CONF'
remote : { hosts = [ "fd00:100::1" ]; ca_cert_file = "ca.pem"; };
identity : { cert_file = "c.pem"; key_file = "c.key"; };
CONF
    sed 's/^remote : {/remote : { hostz = 1;/' "$ROOT/etc/enftun/good.conf" >"$ROOT/etc/enftun/bad.conf"
    cat >"$ROOT/etc/enftun/router.conf" <<'CONF'
router : { address = "fd00:e::1"; cert_file = "r.pem"; key_file = "r.key"; ca_cert_file = "ca.pem"; };
CONF
    printf '%s\n' enftun@good.service enftun@bad.service enftun-setup@good.service \
        enftun-setup@bad.service enftun-router.service enftun-enroll.service >"$ROOT/run/stub/running"
}

upgrade() {
    local deb
    for deb in $(new_debs); do
        cp "$deb" "$ROOT/tmp/"
    done
    in_root sh -c 'dpkg -i /tmp/*.deb' >"$ET_TMP/upgrade.log" 2>&1 || { cat "$ET_TMP/upgrade.log"; return 1; }
    rm -f "$ROOT"/tmp/*.deb
    cat "$ET_TMP/upgrade.log"
}

step_upgrade() {
    local ok=0
    check "systemctl and policy-rc.d stand-ins" install_systemd_stub || return 1
    write_upgrade_confs
    check "dpkg -i the new version over the previous" upgrade || ok=1
    check "new version installed" test "$(installed_version enftun)" = \
        "$(dpkg-deb -f "$(new_debs | head -n 1)" Version)" || ok=1
    check_num "enftun@good (config accepted) restarted" "$(calls_matching 'restart enftun@good.service')" -eq 1 || ok=1
    check_num "... queued, not waiting for its tunnel (--no-block try-restart)" \
        "$(calls_matching '^--no-block try-restart enftun@good\.service$')" -eq 1 || ok=1
    check_num "no restart of a tunnel waits for it to come up" "$(waiting_tunnel_restarts)" -eq 0 || ok=1
    check_num "policy-rc.d asked about enftun@good's try-restart" \
        "$(policy_asked 'enftun@good.service try-restart')" -eq 1 || ok=1
    check_num "enftun@bad (config rejected) not restarted" "$(calls_matching 'enftun@bad')" -eq 0 || ok=1
    check "a warning names the rejected config" \
        grep -F "enftun@bad.service NOT restarted: the new enftun rejects /etc/enftun/bad.conf" "$ET_TMP/upgrade.log" || ok=1
    check_num "enftun-router restarted once" "$(calls_matching 'restart enftun-router.service')" -eq 1 || ok=1
    check_num "enftun-enroll restarted once (debhelper)" "$(calls_matching 'restart enftun-enroll.service')" -eq 1 || ok=1
    check_num "setup units never restarted or stopped" "$(calls_matching 'enftun-setup@')" -eq 0 || ok=1
    check_num "nothing stopped during the upgrade" "$(calls_matching '(^| )stop ')" -eq 0 || ok=1
    # A router config the new binary rejects: the router is left running.
    echo 'router : { port = 0; };' >"$ROOT/etc/enftun/router.conf"
    : >"$ROOT/run/stub/calls"
    check "reinstall with a bad router.conf" upgrade || ok=1
    check_num "enftun-router (config rejected) not restarted" "$(calls_matching 'restart enftun-router')" -eq 0 || ok=1
    check "a warning names the router's config" \
        grep -F "enftun-router.service NOT restarted: the new enftun-router rejects /etc/enftun/router.conf" "$ET_TMP/upgrade.log" || ok=1
    check_num "enftun@good restarted once again" "$(calls_matching 'restart enftun@good.service')" -eq 1 || ok=1
    # policy-rc.d forbids starting (101, as in a chroot or an image build):
    # nothing is restarted, the rejected config still warned about.
    write_upgrade_confs
    echo 101 >"$ROOT/run/stub/policy-rc"
    : >"$ROOT/run/stub/calls"
    : >"$ROOT/run/stub/policy"
    check "reinstall with policy-rc.d answering 101" upgrade || ok=1
    check_num "policy-rc.d asked about enftun@good's try-restart" \
        "$(policy_asked 'enftun@good.service try-restart')" -eq 1 || ok=1
    check_num "policy-rc.d 101: no unit restarted" "$(calls_matching 'restart ')" -eq 0 || ok=1
    check "policy-rc.d 101: the enftun postinst says enftun@good was not restarted" \
        grep -F "policy-rc.d forbids restarting enftun@good.service" "$ET_TMP/upgrade.log" || ok=1
    check_num "policy-rc.d 101: enftun@bad (config rejected) neither restarted nor asked about" \
        "$(($(calls_matching 'enftun@bad') + $(policy_asked 'enftun@bad.service try-restart')))" -eq 0 || ok=1
    check "policy-rc.d 101: the rejected config still warned about" \
        grep -F "enftun@bad.service NOT restarted: the new enftun rejects /etc/enftun/bad.conf" "$ET_TMP/upgrade.log" || ok=1
    echo 0 >"$ROOT/run/stub/policy-rc"
    rm -f "$ROOT"/etc/enftun/{good,bad,router}.conf
    return "$ok"
}

# systemd-analyze verify, by the host's systemd, on the units as installed
# in the root (their ExecStart= paths resolved in it).
verify_units() {
    local out rc=0
    out="$(systemd-analyze verify --root="$ROOT" enftun@enf0.service enftun-setup@enf0.service \
        enftun-router.service enftun-enroll.service 2>&1)" || rc=$?
    printf '%s\n' "$out"
    ((rc == 0)) && ! grep -q enftun <<<"$out"
}

step_installed() {
    local ok=0 f
    check "user enftun: system, no home, no shell" \
        grep -E '^enftun:x:[0-9]+:[0-9]+:.*:/nonexistent:/usr/sbin/nologin$' <(entry passwd enftun) || ok=1
    check "group enftun" entry group enftun || ok=1
    check "group tss (enftun@.service's SupplementaryGroups; a device without a TPM too)" \
        entry group tss || ok=1
    check "user enftun-enroll, home /var/lib/enftun-enroll" \
        grep -E ':/var/lib/enftun-enroll:/usr/sbin/nologin$' <(entry passwd enftun-enroll) || ok=1
    check "enftun-enroll is in the group enftun" grep -E '^enftun:.*:.*enftun-enroll' <(entry group enftun) || ok=1
    check "/etc/enftun 0750 root:enftun" stat_is /etc/enftun "750 root:enftun" || ok=1
    check "/var/lib/enftun 0700 enftun:enftun" stat_is /var/lib/enftun "700 enftun:enftun" || ok=1
    check "/var/lib/enftun-enroll 0755 enftun-enroll:enftun-enroll" \
        stat_is /var/lib/enftun-enroll "755 enftun-enroll:enftun-enroll" || ok=1
    for f in enftun enftun-router enftun-keygen enftun-enroll; do
        check "$f --version runs in the root" grep -E "^$f [0-9]" <(in_root "$f" --version) || ok=1
    done
    for f in enftun/examples/example.conf enftun-router/examples/router.conf \
        enftun-enroll/examples/enroll.conf enftun/README.md enftun-enroll/README.md; do
        check "/usr/share/doc/$f" test -f "$ROOT/usr/share/doc/$f" || ok=1
    done
    check "the installed example config is one enftun reads" \
        in_root enftun -c /usr/share/doc/enftun/examples/example.conf -p tun.dev || ok=1
    check "units in /lib/systemd/system, paths under /usr/bin" \
        grep -q -x 'ExecStart=/usr/bin/enftun -c /etc/enftun/%i.conf' "$ROOT/lib/systemd/system/enftun@.service" || ok=1
    check "the router unit's documentation is in its package" \
        grep -q -x 'Documentation=file:/usr/share/doc/enftun-router/README.md' \
        "$ROOT/lib/systemd/system/enftun-router.service" || ok=1
    check "no tunnel instance enabled" test -z "$(find "$ROOT/etc/systemd" -name 'enftun*@*')" || ok=1
    check "enftun-router enabled (inert until router.conf exists)" \
        test -L "$ROOT/etc/systemd/system/multi-user.target.wants/enftun-router.service" || ok=1
    check "systemd-analyze verify on the installed units" verify_units || ok=1
    return "$ok"
}

step_tunnel() {
    local ok=0 pki="$ET_TMP/pki"
    ET_BIN_DIR="$ROOT/usr/bin"
    et_require_bins enftun enftun-router
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$pki" c1="$C_ADDR" >/dev/null
    write_router_conf "$ET_TMP/router.conf" cert="$pki/router.pem" key="$pki/router.key" \
        ca="$pki/ca.pem" tun_dev= address="$R_ADDR"
    write_client_conf "$ET_TMP/c1.conf" ca="$pki/ca.pem" cert="$pki/c1.pem" key="$pki/c1.key"
    et_router_client_pair
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    # The installed enftun-setup (with the enftun next to it) makes the TUN
    # and the route into the tunnel, as enftun-setup@.service would.
    check "installed enftun-setup up" et_exec c "$ET_BIN_DIR/enftun-setup" up "$ET_TMP/c1.conf" || ok=1
    et_daemon_start client c "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
    check "installed client: tunnel up" et_wait_for et_log_has client "tunnel up: $C_ADDR" || ok=1
    check "ping the router through the tunnel" \
        et_wait_for et_exec c ping -6 -n -c 1 -W 1 -I "$C_ADDR" "$R_ADDR" || ok=1
    check "the router saw the session" et_log_has router "session up: $C_ADDR" || ok=1
    et_daemon_stop client
    check "installed enftun-setup down" et_exec c "$ET_BIN_DIR/enftun-setup" down "$ET_TMP/c1.conf" || ok=1
    et_daemon_stop router
    return "$ok"
}

step_remove() {
    local ok=0
    : >"$ROOT/run/stub/calls"
    # State and config an admin would have: they must survive a remove.
    echo "fd00:e::5" >"$ROOT/var/lib/enftun/enf0.ip"
    echo "x" >"$ROOT/etc/enftun/enf0.conf"
    check "dpkg -r all four" in_root dpkg -r enftun enftun-router enftun-keygen enftun-enroll || ok=1
    check_num "prerm stopped the tunnel instances" \
        "$(calls_matching "stop enftun@\\*.service enftun-setup@\\*.service")" -eq 1 || ok=1
    check "binaries gone" test ! -e "$ROOT/usr/bin/enftun" -a ! -e "$ROOT/usr/bin/enftun-router" || ok=1
    check "units gone" test -z "$(find "$ROOT/lib/systemd/system" -name 'enftun*')" || ok=1
    check "remove keeps /etc/enftun" test -f "$ROOT/etc/enftun/enf0.conf" || ok=1
    check "remove keeps /var/lib/enftun" test -f "$ROOT/var/lib/enftun/enf0.ip" || ok=1
    return "$ok"
}

step_purge() {
    local ok=0
    # Purged one by one: /etc/enftun must stay until the last user of it.
    check "purge enftun" in_root dpkg -P enftun enftun-keygen || ok=1
    check "/var/lib/enftun gone with enftun" test ! -e "$ROOT/var/lib/enftun" || ok=1
    check "/etc/enftun kept while enftun-router is not purged" test -d "$ROOT/etc/enftun" || ok=1
    check "purge enftun-router enftun-enroll" in_root dpkg -P enftun-router enftun-enroll || ok=1
    remove_systemd_stub
    snapshot >"$ET_TMP/after.list"
    check "after purge the root's files are those before the install" \
        diff "$ET_TMP/before.list" "$ET_TMP/after.list" || ok=1
    check "the system users stay (Debian practice; README.source)" entry passwd enftun || ok=1
    return "$ok"
}

run_step 1 "build from a clean clone, lintian" step_build
run_step 2 "fresh Debian 12 root" step_root 1
run_step 3 "install the previous version" step_install_previous 2
run_step 4 "upgrade: restart once, only with a config the new binary accepts" step_upgrade 3
run_step 5 "installed: users, folders, binaries, units" step_installed 3
run_step 6 "tunnel between the installed router and client" step_tunnel 3
run_step 7 "remove: stopped, gone, data kept" step_remove 3
run_step 8 "purge: nothing left" step_purge 7
et_summary deb_test
