#!/usr/bin/env bash
# The papers' comparison on the repository's two real files with `maunet compare`: 4x downscaling
# in the perfect-model setting; MAUNet (teacher), MAUNet-Light alone, KD, KD+KR and U-Net (width 8,
# 2 levels, EPOCHS epochs (default 200), 5 refinement epochs, batch 3) over SEEDS model seeds,
# scored against bicubic interpolation on the held-out fields, with the seeds' mean and spread and
# the paired bootstrap intervals of the RMSE differences. Prints what `maunet compare` prints.
#   usage: benchmarks/skill/compare.sh [MAUNET_BINARY] [SEEDS]   (default: build/examples/maunet, 3)
# Held out as benchmarks/skill/real_files.sh says (BCSD: scored on October-December 1999; Stage
# IV: its last 6 hours validate and are scored). A benchmark,
# not a test: several minutes on 2 cores; asserts nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
maunet="${1:-$root/build/examples/maunet}"
seeds="${2:-3}"
data="$root/tests/data"
source "$root/benchmarks/skill/real_files.sh"
common=(--factor 4 --width 8 --levels 2 --epochs "${EPOCHS:-200}" --refine-epochs 5 --batch 3 --quiet
        --threads "${THREADS:-2}" --seeds "$seeds")
for name in "${real_files[@]}"; do
  real_file_args "$name"
  echo "== $name"
  start=$SECONDS
  "$maunet" compare "${data_args[@]}" "${common[@]}"
  echo "($name: $((SECONDS - start)) s)"
done
