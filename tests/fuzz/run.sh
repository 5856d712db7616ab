#!/usr/bin/env bash
# Runs every libFuzzer harness of a build with -DMAUNET_BUILD_FUZZERS=ON for a bounded time,
# starting from its seed corpus and regression inputs; fails on the first crash, leak,
# sanitizer report or timeout. New corpus entries go to a scratch directory, not into the
# repository.
#   usage: tests/fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS_PER_TARGET" >&2
  exit 2
fi
build=$1
seconds=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for source in "$here"/fuzz_*.cpp; do  # every harness, as CMake finds them
  name=$(basename "$source" .cpp)
  name=${name#fuzz_}
  fuzzer="$build/tests/fuzz/fuzz_$name"
  if [ ! -x "$fuzzer" ]; then
    echo "run.sh: $fuzzer not found (configure with -DMAUNET_BUILD_FUZZERS=ON and build maunet_fuzzers)" >&2
    exit 2
  fi
  mkdir -p "$scratch/$name" "$scratch/artifacts-$name"
  echo "== fuzz_$name for $seconds s"
  # -rss_limit_mb: a parser that allocates what a small input declares is a finding.
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OMP_NUM_THREADS=1 \
      "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -max_len=4096 \
      -print_final_stats=1 -artifact_prefix="$scratch/artifacts-$name/" \
      "$scratch/$name" "$here/corpus/$name" "$here/regressions/$name" 2>&1 | tee "$scratch/$name.log" | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" ; then
    :
  fi
  if ! grep -q "^stat::number_of_executed_units" "$scratch/$name.log" || grep -qE "ERROR|SUMMARY: |deadly signal" "$scratch/$name.log"; then
    echo "run.sh: fuzz_$name FAILED; its log:" >&2
    tail -60 "$scratch/$name.log" >&2
    for a in "$scratch/artifacts-$name"/*; do
      [ -e "$a" ] && echo "run.sh: crashing input $(basename "$a") (base64): $(base64 -w0 "$a" | head -c 4096)" >&2
    done
    status=1
  fi
done
exit $status
