#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in BUILD_DIR and runs each
# test/fuzz/*_fuzz.cpp target for SECONDS (default 20) on a scratch copy of
# its seed corpus (test/fuzz/corpus/<target>/), so the committed seeds never
# change. Exits non-zero if any target crashes, leaks or fails a check;
# crashing inputs are kept in BUILD_DIR/fuzz-artifacts/.
#
#   usage: test/fuzz/run-fuzzers.sh BUILD_DIR [SECONDS]
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
failed=()
for t in "${targets[@]}"; do
    name="${t%_fuzz}"
    work="$(mktemp -d)"
    if [[ -d "$fuzz_dir/corpus/$name" ]]; then
        cp -r "$fuzz_dir/corpus/$name/." "$work/"
    fi
    echo "[#] $t for ${seconds}s"
    if ! "$build_dir/test/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$artifacts/$t-" "$work" 2>"$build_dir/$t.log"; then
        failed+=("$t")
        tail -n 40 "$build_dir/$t.log" >&2
    else
        grep -E '^stat::number_of_executed_units' "$build_dir/$t.log" || true
    fi
    rm -rf "$work"
done

if [[ ${#failed[@]} -gt 0 ]]; then
    die "crashed: ${failed[*]} (inputs in $artifacts, logs in $build_dir/<target>.log)"
fi
echo "run-fuzzers: all ${#targets[@]} targets ran ${seconds}s without a crash"
