#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in BUILD_DIR and runs each
# test/fuzz/*_fuzz.cpp target for SECONDS (default 20) on a scratch copy of
# its seed corpus (test/fuzz/corpus/<target>/), so the committed seeds never
# change. Exits non-zero if any target crashes, leaks or fails a check;
# crashing inputs are kept in BUILD_DIR/fuzz-artifacts/.
#
#   usage: test/fuzz/run-fuzzers.sh BUILD_DIR [SECONDS]
#
# Targets run FUZZ_JOBS at a time (default: nproc), each on its own core
# for the full SECONDS: on 2 cores the 9 targets take ~50 s instead of ~90.
#
# Needs clang++ (14 tested) and its libFuzzer runtime. On Debian bookworm
# that is `apt-get install -y clang-14 libclang-rt-14-dev`: without the
# latter, linking with -fsanitize=fuzzer fails for lack of
# libclang_rt.fuzzer-x86_64.a.
set -e -o pipefail
export LC_ALL=C

die() {
    echo "run-fuzzers: $*" >&2
    exit 1
}

[[ $# -ge 1 && $# -le 2 ]] || die "usage: $0 BUILD_DIR [SECONDS]"
build_dir="$1"
seconds="${2:-20}"
[[ "$seconds" =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number"
src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fuzz_dir="$src_dir/test/fuzz"

targets=()
for f in "$fuzz_dir"/*_fuzz.cpp; do
    targets+=("$(basename "$f" .cpp)")
done
[[ ${#targets[@]} -gt 0 ]] || die "no fuzz targets in $fuzz_dir"

cmake -S "$src_dir" -B "$build_dir" -DCMAKE_CXX_COMPILER="${CXX:-clang++}" \
    -DENABLE_FUZZING=ON -DBUILD_KEYGEN=OFF >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target "${targets[@]}"

artifacts="$build_dir/fuzz-artifacts"
mkdir -p "$artifacts"
parallel="${FUZZ_JOBS:-$(nproc)}"
[[ "$parallel" =~ ^[1-9][0-9]*$ ]] || die "FUZZ_JOBS must be a positive number"

# run_target T: fuzz T for $seconds on a scratch copy of its corpus. Its
# marker $build_dir/T.failed goes only when T ran clean, so a target that
# crashed, leaked, failed a check or never ran keeps it.
run_target() {
    local t="$1" name="${1%_fuzz}" work
    touch "$build_dir/$t.failed"
    work="$(mktemp -d)"
    if [[ -d "$fuzz_dir/corpus/$name" ]]; then
        cp -r "$fuzz_dir/corpus/$name/." "$work/"
    fi
    echo "[#] $t for ${seconds}s"
    if ! "$build_dir/test/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$artifacts/$t-" "$work" 2>"$build_dir/$t.log"; then
        echo "[!] $t failed" >&2
    else
        rm -f "$build_dir/$t.failed"
        echo "$t: $(grep -E '^stat::number_of_executed_units' "$build_dir/$t.log" || true)"
    fi
    rm -rf "$work"
}

failed=()
for t in "${targets[@]}"; do
    while (($(jobs -r -p | wc -l) >= parallel)); do
        wait -n || true
    done
    run_target "$t" &
done
wait
for t in "${targets[@]}"; do
    if [[ -e "$build_dir/$t.failed" ]]; then
        failed+=("$t")
        echo "----- $t: last 40 lines of $build_dir/$t.log -----" >&2
        tail -n 40 "$build_dir/$t.log" >&2
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    die "crashed: ${failed[*]} (inputs in $artifacts, logs in $build_dir/<target>.log)"
fi
echo "run-fuzzers: all ${#targets[@]} targets ran ${seconds}s without a crash"
