#!/usr/bin/env bash
# Coverage-guided fuzzing (issue #12): builds the libFuzzer targets of Fuzz/ (release, with
# -sanitize=fuzzer,address) and runs each for FUZZ_SECONDS, one after the other. Fails when any
# target crashes, trips AddressSanitizer or violates one of its properties; prints, per target, the
# executions run and the coverage reached (libFuzzer's `cov:` edges and `ft:` features).
#
#   FUZZ_SECONDS=60        seconds per target
#   FUZZ_TARGETS="…"       a subset (default: every target)
#   FUZZ_SANITIZERS=…      fuzzer,address (default), or fuzzer alone
#   FUZZ_BUILD_LOCK=path   run the build under `flock path` (for machines where builds take turns)
#   FUZZ_NICE=10           nice level of the fuzzers
#
# Seeds: Fuzz/corpus/<target>/ (committed) and, for the event targets, events/. What libFuzzer finds
# is kept in .fuzz/corpus/<target>/ between runs; a crash is saved as .fuzz/artifacts/<target>-crash-….
# Reproduce one with: .build-fuzz/release/<target> <file>
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"fuzz-json fuzz-eventbridge fuzz-http-api fuzz-runtime-headers fuzz-aws-error fuzz-credentials fuzz-config fuzz-review"}
sanitizers=${FUZZ_SANITIZERS:-fuzzer,address}
scratch=.build-fuzz
work=.fuzz
swift=${SWIFT:-swift}

build=("$swift" build --package-path Fuzz -c release --scratch-path "$scratch" -Xswiftc "-sanitize=$sanitizers")
echo "fuzz: building the targets (-sanitize=$sanitizers)…"
run_build() {
  if [[ -n "${FUZZ_BUILD_LOCK:-}" ]]; then flock "$FUZZ_BUILD_LOCK" nice -n "${FUZZ_NICE:-10}" "${build[@]}"
  else nice -n "${FUZZ_NICE:-10}" "${build[@]}"; fi
}
# (gold warns about every ASan-instrumented object; the warning is harmless.)
set +e
run_build 2>&1 | grep -v "Cannot export local symbol"
build_status=${PIPESTATUS[0]}
set -e
[[ $build_status -eq 0 ]] || { echo "fuzz: the build failed" >&2; exit "$build_status"; }
bin="$scratch/release"
for target in $targets; do
  [[ -x "$bin/$target" ]] || { echo "fuzz: the build did not produce $bin/$target" >&2; exit 1; }
done

mkdir -p "$work/artifacts" "$work/logs"
failed=()
summary=()
for target in $targets; do
  mkdir -p "$work/corpus/$target"
  seeds=("Fuzz/corpus/$target")
  case $target in
    fuzz-json|fuzz-eventbridge|fuzz-http-api) seeds+=(events) ;;
  esac
  options=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1 -artifact_prefix="$work/artifacts/$target-")
  [[ -f "Fuzz/dict/$target.dict" ]] && options+=(-dict="Fuzz/dict/$target.dict")
  log="$work/logs/$target.log"
  echo "fuzz: $target for ${seconds}s…"
  status=0
  # No Swift backtracer: libFuzzer's own handler records the crashing input.
  SWIFT_BACKTRACE=enable=no nice -n "${FUZZ_NICE:-10}" "$bin/$target" "${options[@]}" "$work/corpus/$target" "${seeds[@]}" \
    >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
  if [[ $status -ne 0 ]]; then
    failed+=("$target")
    result="FAILED (exit $status)"
    echo "fuzz: $target FAILED; the end of $log:" >&2
    tail -n 40 "$log" >&2
    artifact=$(sed -n "s/.*Test unit written to \(.*\)$/\1/p" "$log" | tail -1)
    [[ -n "$artifact" ]] && echo "fuzz: reproduce with: $bin/$target $artifact" >&2
  else
    result=ok
  fi
  summary+=("$(printf '%-22s %12s %7s %8s %14s  %s' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}" "$result")")
done

echo
printf '%-22s %12s %7s %8s %14s  %s\n' target executions cov ft corpus result
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]} (inputs in $work/artifacts/)" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds}s without a crash or property violation"
