#!/usr/bin/env bash
# install_test.sh BUILD_DIR: `cmake --install BUILD_DIR --prefix TMP` installs
# the programs, enftun-setup, the example configs and the systemd units with
# their paths filled in from TMP; `systemd-analyze verify` accepts the units
# (CTest: install.systemd; exit 77 = skipped; needs no root and no running
# systemd).
set -e -o pipefail
export LC_ALL=C

readonly BUILD="${1:?usage: install_test.sh BUILD_DIR}"
FAILED=0
TMP=""

check() {
    local desc="$1"
    shift
    if "$@" >"$TMP/check.out" 2>&1; then
        echo "  ok: $desc"
    else
        echo "  not ok: $desc"
        sed 's/^/    | /' "$TMP/check.out"
        FAILED=$((FAILED + 1))
    fi
}

installed_files() {
    local f
    for f in bin/enftun bin/enftun-router bin/enftun-setup bin/enftun-keygen; do
        [[ -x $PREFIX/$f ]] || { echo "missing or not executable: $f"; return 1; }
    done
    for f in share/doc/enftun/example.conf share/doc/enftun/router.conf \
        share/doc/enftun/bird-router.conf \
        lib/systemd/system/enftun@.service lib/systemd/system/enftun-setup@.service \
        lib/systemd/system/enftun-router.service; do
        [[ -f $PREFIX/$f ]] || { echo "missing: $f"; return 1; }
    done
}

# Every Exec*= program of the units lies under the prefix, no template
# placeholder (@NAME@) is left.
unit_paths() {
    local unit
    for unit in "$UNITS"/*.service; do
        ! grep -n -E '@[A-Z_]+@' "$unit" || return 1
        # The loop runs in a pipeline subshell: its exit status must be
        # checked here, or only the last unit's would count.
        grep -E '^Exec(Start|Stop)=' "$unit" | while IFS='=' read -r _ cmd; do
            [[ $cmd == "$PREFIX/bin/"* ]] || { echo "$unit: $cmd"; exit 1; }
            [[ -x ${cmd%% *} ]] || { echo "$unit: ${cmd%% *} is not executable"; exit 1; }
        done || return 1
    done
}

# unit_has UNIT LINE...: each LINE is a line of UNIT.
unit_has() {
    local unit="$UNITS/$1" line
    shift
    for line in "$@"; do
        grep -q -x -F -- "$line" "$unit" || { echo "${unit##*/} lacks: $line"; return 1; }
    done
}

# notify_units: the daemons tell systemd when they are ready and that their
# loop runs (src/service/).
notify_units() {
    local unit
    for unit in enftun@.service enftun-router.service; do
        unit_has "$unit" 'Type=notify' 'NotifyAccess=main' 'WatchdogSec=30s' || return 1
    done
}

# verify: systemd-analyze verify on every installed unit (an instance
# "enf0" of each template), so a new unit in systemd/ is checked too; it
# prints a line naming the unit for any unknown key or bad value, so any
# such line fails the check, not only a non-zero exit.
verify() {
    local out rc=0 unit
    local -a units=()
    for unit in "$UNITS"/*.service; do
        [[ $unit == *@.service ]] && unit="${unit%@.service}@enf0.service"
        units+=("$unit")
    done
    ((${#units[@]} >= 4)) || { echo "only ${#units[@]} units installed"; return 1; }
    echo "verifying: ${units[*]##*/}"
    out="$(systemd-analyze verify "${units[@]}" 2>&1)" || rc=$?
    printf '%s\n' "$out"
    ((rc == 0)) && ! grep -q enftun <<<"$out"
}

# The installed enftun-setup reads configs with the enftun installed next to
# it (no ENFTUN, no PATH entry).
setup_finds_enftun() {
    cat >"$TMP/split.conf" <<CONF
remote : { hosts = [ "fd00:100::1" ]; ca_cert_file = "ca.pem"; };
route : { prefixes = [ "fd00:e::/48" ]; };
identity : { cert_file = "c.pem"; key_file = "c.key"; };
CONF
    local out
    # status exits 3: nothing is set up here.
    out="$(env -u ENFTUN PATH=/usr/sbin:/usr/bin:/sbin:/bin "$PREFIX/bin/enftun-setup" status \
        "$TMP/split.conf" 2>&1)" || true
    printf '%s\n' "$out"
    grep -q 'split tunnel: fd00:e::/48' <<<"$out"
}

main() {
    command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
    TMP="$(mktemp -d "${TMPDIR:-/tmp}/enftun-install.XXXXXX")"
    trap 'rm -rf -- "$TMP"' EXIT
    PREFIX="$TMP/prefix"
    UNITS="$PREFIX/lib/systemd/system"
    echo "install_test: cmake --install $BUILD --prefix $PREFIX"
    check "cmake --install" cmake --install "$BUILD" --prefix "$PREFIX"
    check "binaries, enftun-setup, example configs and units installed" installed_files
    check "units point into the install prefix" unit_paths
    check "enftun@: runs as a user with CAP_NET_ADMIN only, hardened" unit_has enftun@.service \
        'BindsTo=enftun-setup@%i.service' 'After=enftun-setup@%i.service network-online.target' \
        'Restart=on-failure' 'RestartSec=5s' 'User=enftun' 'AmbientCapabilities=CAP_NET_ADMIN' \
        'CapabilityBoundingSet=CAP_NET_ADMIN' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
        'ProtectHome=yes' 'PrivateTmp=yes' 'DeviceAllow=/dev/net/tun rw' \
        'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK'
    check "enftun@: the TPM resource manager and its group, no other device" unit_has \
        enftun@.service 'DeviceAllow=/dev/tpmrm0 rw' 'SupplementaryGroups=tss' 'DevicePolicy=closed'
    check "enftun@: two devices allowed, nothing else" test \
        "$(grep -c '^DeviceAllow=' "$UNITS/enftun@.service")" -eq 2
    check "enftun@: systemctl reload sends SIGHUP" unit_has enftun@.service \
        "ExecReload=/bin/kill -HUP \$MAINPID"
    check "enftun-router: systemctl reload sends SIGHUP" unit_has enftun-router.service \
        "ExecReload=/bin/kill -HUP \$MAINPID"
    check "enftun@ and enftun-router: Type=notify with a watchdog" notify_units
    check "enftun-setup@: oneshot before network-pre.target" unit_has enftun-setup@.service \
        'Type=oneshot' 'RemainAfterExit=yes' 'Before=network-pre.target shutdown.target' \
        'Wants=network-pre.target' \
        "ExecStart=$PREFIX/bin/enftun-setup --user \${ENFTUN_USER} up /etc/enftun/%i.conf" \
        "ExecStop=$PREFIX/bin/enftun-setup down /etc/enftun/%i.conf"
    check "enftun-enroll: own user, no capabilities, no core dumps, hardened" \
        unit_has enftun-enroll.service 'User=enftun-enroll' 'Group=enftun-enroll' \
        'CapabilityBoundingSet=' 'AmbientCapabilities=' 'LimitCORE=0' \
        'StateDirectory=enftun-enroll' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
        'PrivateDevices=yes' 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
        "ExecStart=$PREFIX/bin/enftun-enroll -c /etc/enftun/enroll.conf"
    check "systemd-analyze verify accepts the units" verify
    check "installed enftun-setup uses the installed enftun" setup_finds_enftun
    echo "install_test: $FAILED failed"
    ((FAILED == 0))
}

main "$@"
