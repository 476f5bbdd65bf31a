#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for a bounded time; fails if any finds a crash,
# a timeout (hang), a leak or an out-of-memory input.
#
#   Fuzz/run.sh [seconds] [target...]      (default: 30 seconds, every target)
#
# Environment: FUZZ_JOBS (targets run at once; default: the number of CPUs),
# FUZZ_TIMEOUT (seconds one input may take; default 10).
# New corpus entries and crash files go under .build-fuzz/ (ignored by git); the committed seeds
# in Fuzz/Corpus/<target>/ are only read. See Fuzz/README.md.
set -euo pipefail

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$FUZZ_DIR")"
SCRATCH="$ROOT/.build-fuzz"
SECONDS_EACH="${1:-30}"
shift || true
JOBS="${FUZZ_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}"
INPUT_TIMEOUT="${FUZZ_TIMEOUT:-10}"

if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=()
    for dir in "$FUZZ_DIR"/Sources/Fuzz*/; do
        name="$(basename "$dir")"
        [ "$name" = FuzzSupport ] || TARGETS+=("$name")
    done
fi

# SwiftPM aliases `main` to each executable's own entry point; ld.gold fails on that next to
# libFuzzer's `main`, lld (shipped with the toolchain) links it.
echo "building ${#TARGETS[@]} fuzz targets (release, -sanitize=fuzzer,address)"
BUILD_START=$SECONDS
(cd "$FUZZ_DIR" && swift build -c release --scratch-path "$SCRATCH" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
BIN="$(cd "$FUZZ_DIR" && swift build -c release --scratch-path "$SCRATCH" --show-bin-path)"
echo "built in $((SECONDS - BUILD_START))s"

WORK="$SCRATCH/fuzz-run"
# A trap goes straight to libFuzzer's handler: the Swift runtime's backtracer, which reads the
# crashed process's memory, would only add noise under AddressSanitizer.
export SWIFT_BACKTRACE=enable=no
mkdir -p "$WORK"

run_target() {
    local target="$1"
    local corpus="$WORK/corpus/$target" artifacts="$WORK/artifacts/$target/"
    mkdir -p "$corpus" "$artifacts"
    # The first corpus directory receives new inputs; the committed seeds are read only.
    "$BIN/$target" "$corpus" "$FUZZ_DIR/Corpus/$target" \
        -max_total_time="$SECONDS_EACH" -timeout="$INPUT_TIMEOUT" -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts" -print_final_stats=1 \
        >"$WORK/$target.log" 2>&1
}

summary() {
    local target="$1" status="$2" log="$WORK/$1.log"
    local runs rate
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    printf '%-24s %-6s runs %-10s execs/s %s\n' "$target" "$status" "${runs:-?}" "${rate:-?}"
}

FAILED=()
echo "fuzzing each target for ${SECONDS_EACH}s, $JOBS at a time"
for target in "${TARGETS[@]}"; do
    [ -x "$BIN/$target" ] || { echo "no such fuzz target: $target" >&2; exit 2; }
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
    rm -f "$WORK/$target.rc"
    (if run_target "$target"; then echo 0; else echo "$?"; fi >"$WORK/$target.rc") &
done
wait

for target in "${TARGETS[@]}"; do
    rc="$(cat "$WORK/$target.rc" 2>/dev/null || echo 1)"
    if [ "$rc" = 0 ]; then
        summary "$target" ok
    else
        summary "$target" FAILED
        FAILED+=("$target")
    fi
done

if [ "${#FAILED[@]}" -gt 0 ]; then
    for target in "${FAILED[@]}"; do
        echo
        echo "==== $target: last lines of $WORK/$target.log"
        tail -40 "$WORK/$target.log"
        echo "==== crash files (replay: $BIN/$target FILE; then add a regression test):"
        ls -1 "$WORK/artifacts/$target/" || true
    done
    exit 1
fi
echo "no crashes"
