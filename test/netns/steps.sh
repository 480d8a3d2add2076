# shellcheck shell=bash
# steps.sh: the step runner and check helpers of the netns tests. lib.sh
# sources it; a test sources lib.sh only.
#
# A test is a list of steps; each step is a function that runs checks and
# returns non-zero when one failed (`check ... || ok=1`, `return "$ok"`), so
# every check of a step runs and prints, not just the first failing one.
#   check DESC CMD...             CMD succeeds ("  ok: DESC" / "  not ok: DESC"
#                                 plus the tail of CMD's output)
#   check_not DESC CMD...         CMD fails
#   check_num DESC ACTUAL OP EXP  ACTUAL is a number and `test ACTUAL OP EXP`
#   tally DESC CMD...             check, counted but never failing (a test
#                                 without steps ends with et_check_summary)
#   run_step ID TITLE FN [PREREQ] run FN, record "PASS: ID. TITLE" or FAIL;
#                                 not run (FAIL) when step PREREQ did not pass
#                                 or ET_STEP_BUDGET seconds are used up
#   run_steps / fail_steps        the same over a table "id|title|fn|prereq"
#   et_summary NAME               print the results; fails if a step failed
# Checks are also counted (ET_CHECKS_PASSED/FAILED) for tests that report
# per check; a failed check fails the test only through its step.

ET_PASSED=0
ET_FAILED=0
ET_RESULTS=()
ET_CHECKS_PASSED=0
ET_CHECKS_FAILED=0
ET_CHECK_TAIL="${ET_CHECK_TAIL:-20}" # lines of a failed command's output shown
ET_STEP_BUDGET="${ET_STEP_BUDGET:-}" # seconds (of $SECONDS); empty: no limit

# ---------------------------------------------------------------- checks

_et_check_ok() {
    echo "  ok: $1"
    ET_CHECKS_PASSED=$((ET_CHECKS_PASSED + 1))
}

# _et_check_not_ok DESC [OUTPUT-FILE]
_et_check_not_ok() {
    echo "  not ok: $1"
    [[ -z ${2:-} ]] || tail -n "$ET_CHECK_TAIL" "$2" | sed 's/^/    | /'
    ET_CHECKS_FAILED=$((ET_CHECKS_FAILED + 1))
    return 1
}

# check DESC CMD...: run CMD, print ok/not ok (and CMD's output on failure).
check() {
    local desc="$1"
    shift
    if "$@" >"$ET_TMP/check.out" 2>&1; then
        _et_check_ok "$desc"
        return 0
    fi
    _et_check_not_ok "$desc" "$ET_TMP/check.out"
}

# check_not DESC CMD...: CMD must fail.
check_not() {
    local desc="$1"
    shift
    if "$@" >"$ET_TMP/check.out" 2>&1; then
        _et_check_not_ok "$desc" "$ET_TMP/check.out"
        return 1
    fi
    _et_check_ok "$desc"
}

# check_num DESC ACTUAL OP EXPECTED (OP: -eq -ne -ge -gt -le -lt)
check_num() {
    local desc="$1" actual="$2" op="$3" expected="$4"
    if [[ $actual =~ ^[0-9]+$ ]] && test "$actual" "$op" "$expected"; then
        _et_check_ok "$desc ($actual $op $expected)"
        return 0
    fi
    _et_check_not_ok "$desc (got '$actual', want $op $expected)"
}

# tally DESC CMD...: check, for a test that reports per check rather than
# per step: a failure is counted (et_check_summary), never returned.
tally() {
    check "$@" || true
}

# et_check_summary NAME: print the checks' count; fails if one failed.
et_check_summary() {
    echo "$1: $ET_CHECKS_PASSED passed, $ET_CHECKS_FAILED failed"
    ((ET_CHECKS_FAILED == 0))
}

# log_count_above NAME FIXED-STRING N: the daemon's log holds the string on
# more than N lines (with et_wait_for: "until it logs that again").
log_count_above() {
    (($(et_log_count "$1" "$2") > $3))
}

# ---------------------------------------------------------------- steps

# record PASS|FAIL ID TITLE [WHY]: print and remember a step's verdict.
record() {
    local verdict="$1" id="$2" title="$3" why="${4:-}"
    echo "$verdict: $id. $title${why:+ ($why)}"
    ET_RESULTS+=("$verdict: $id. $title${why:+ ($why)}")
    if [[ $verdict == PASS ]]; then
        ET_PASSED=$((ET_PASSED + 1))
    else
        ET_FAILED=$((ET_FAILED + 1))
    fi
}

# run_step ID TITLE FN [PREREQ-ID]
run_step() {
    local id="$1" title="$2" fn="$3" prereq="${4:-}"
    echo "=== step $id: $title"
    if [[ -n $prereq && " ${ET_RESULTS[*]} " != *"PASS: $prereq."* ]]; then
        record FAIL "$id" "$title" "not run: step $prereq failed"
    elif [[ -n $ET_STEP_BUDGET ]] && ((SECONDS > ET_STEP_BUDGET)); then
        record FAIL "$id" "$title" "not run: time budget of ${ET_STEP_BUDGET}s used up"
    elif "$fn"; then
        record PASS "$id" "$title"
    else
        record FAIL "$id" "$title"
    fi
}

# run_steps ENTRY...: run_step for each "id|title|fn|prereq" entry.
run_steps() {
    local entry id title fn prereq
    for entry in "$@"; do
        IFS='|' read -r id title fn prereq <<<"$entry"
        run_step "$id" "$title" "$fn" "$prereq"
    done
}

# fail_steps WHY ENTRY...: record each "id|title|..." entry as not run.
fail_steps() {
    local why="$1" entry id title
    shift
    for entry in "$@"; do
        IFS='|' read -r id title _ <<<"$entry"
        record FAIL "$id" "$title" "not run: $why"
    done
}

# et_summary NAME: print every step's verdict and the totals; true when no
# step failed.
et_summary() {
    echo "=== summary"
    ((${#ET_RESULTS[@]} == 0)) || printf '%s\n' "${ET_RESULTS[@]}"
    echo "$1: $ET_PASSED passed, $ET_FAILED failed"
    ((ET_FAILED == 0))
}
