#!/usr/bin/env bash
# Overhead of the bindings on one model (maunet, width 16, 3 levels, downscaling x4) and one
# field (32 x 32 coarse -> 128 x 128), batch 1, 1 thread. Each program alternates the binding's
# call with its reference call by call (C against C++, Fortran and Python against C), so a
# change in the machine's load hits both sides of a pair alike; it reports the median of the
# per-pair time differences with their quartiles. Each binding is also timed with a workspace
# (maunet_model_predict_ws, model%predict(..., workspace=), Model.predict(..., out=, workspace=)).
#   bash benchmarks/bindings/run_overhead.sh BUILD_DIR [PAIRS]
set -euo pipefail
build=${1:?usage: run_overhead.sh BUILD_DIR [PAIRS]}
pairs=${2:-40}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin="$build/bindings"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/maunet_make_test_model" "$work/model.ckpt" "$work/input.f32" "$work/expected.f32" maunet 16 3 4 1 32 32
export OMP_WAIT_POLICY=passive
"$bin/bench_predict_c_vs_cpp" "$work/model.ckpt" "$work/input.f32" 32 32 "$pairs"
if [ -x "$bin/fortran/bench_predict_fortran" ]; then
  "$bin/fortran/bench_predict_fortran" "$work/model.ckpt" "$work/input.f32" 32 32 "$pairs"
fi
if [ -d "$bin/python/package" ]; then
  PYTHONPATH="$bin/python/package" "${PYTHON:-python3}" "$here/bench_predict.py" "$bin/libmaunet_c.so" \
    "$work/model.ckpt" "$work/input.f32" 32 32 "$pairs"
fi
