# harness.sh: what the command-line tests (cli_test.sh, keygen_cli_test.sh)
# share: running a command with its exit code and output kept, checking
# them, the temp folder and the verdict. Sourced, not run; the sourcing
# script counts failed checks in FAILED and keeps its files in TMP.
# shellcheck shell=bash

FAILED=0
TMP=""

cleanup() {
    [[ -z $TMP ]] || rm -rf -- "$TMP"
}
trap cleanup EXIT

# need_bins BIN...: each BIN is built (executable), else a FATAL line and exit 1.
need_bins() {
    local bin
    for bin in "$@"; do
        [[ -x $bin ]] || {
            echo "FATAL: $bin not built" >&2
            exit 1
        }
    done
}

# make_tmp NAME: TMP becomes a fresh folder (removed on exit).
make_tmp() {
    TMP="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
}

# run CMD...: runs CMD (stdin /dev/null: nothing here may wait for a
# terminal), keeping its exit code in RC and its output in $TMP/out and
# $TMP/err.
run() {
    RC=0
    "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || RC=$?
}

# matches FILE RE: FILE as a whole matches the extended regexp RE ("." also
# matches a newline, "^" is the start of the file); "" matches anything,
# "^$" only an empty file.
matches() {
    case "$2" in
    "") return 0 ;;
    "^\$") [[ ! -s $1 ]] ;;
    *) grep -q -E -z -- "$2" "$1" ;;
    esac
}

# expect DESC RC STDOUT_RE STDERR_RE CMD...: CMD exits with RC and its stdout
# and stderr match (see matches).
expect() {
    local desc="$1" rc="$2" out_re="$3" err_re="$4" problem=""
    shift 4
    run "$@"
    if [[ $RC != "$rc" ]]; then
        problem="exit code $RC, expected $rc"
    elif ! matches "$TMP/out" "$out_re"; then
        problem="stdout does not match /$out_re/"
    elif ! matches "$TMP/err" "$err_re"; then
        problem="stderr does not match /$err_re/"
    fi
    if [[ -z $problem ]]; then
        echo "  ok: $desc"
        return 0
    fi
    echo "  not ok: $desc: $problem"
    echo "    \$ $*"
    sed 's/^/    stdout| /' "$TMP/out"
    sed 's/^/    stderr| /' "$TMP/err"
    FAILED=$((FAILED + 1))
}

# finish: the verdict line, and exit 1 if any check failed.
finish() {
    if ((FAILED > 0)); then
        echo "FAIL: $FAILED checks failed"
        exit 1
    fi
    echo "PASS"
}
