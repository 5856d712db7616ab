#!/usr/bin/env bash
# The papers' comparison on the repository's two real files with `maunet compare`: 4x downscaling
# in the perfect-model setting; MAUNet (teacher), MAUNet-Light alone, KD, KD+KR and U-Net (width 8,
# 2 levels, EPOCHS epochs (default 200), 5 refinement epochs, batch 3) over SEEDS model seeds,
# scored against bicubic interpolation on the held-out fields, with the seeds' mean and spread and
# the paired bootstrap intervals of the RMSE differences. Prints what `maunet compare` prints.
#   usage: benchmarks/skill/compare.sh [MAUNET_BINARY] [SEEDS]   (default: build/examples/maunet, 3)
# Held out as in static_predictors.sh: BCSD (monthly, 1999) trains on January-July, validates
# (picks the epoch) on August-September and is scored on October-December; Stage IV (23 hours of
# one storm) has no dates to split by, so its last 6 hours validate and are scored. A benchmark,
# not a test: several minutes on 2 cores; asserts nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
maunet="${1:-$root/build/examples/maunet}"
seeds="${2:-3}"
data="$root/tests/data"
common=(--factor 4 --width 8 --levels 2 --epochs "${EPOCHS:-200}" --refine-epochs 5 --batch 3 --quiet
        --threads "${THREADS:-2}" --seeds "$seeds")
for name in bcsd stageiv; do
  if [ "$name" = bcsd ]; then
    data_args=(--in "$data/bcsd_obs_1999.nc" --var pr --units mm/month --train-period 1999-01-01/1999-07-31
               --val-period 1999-08-01/1999-09-30 --test-period 1999-10-01/1999-12-31)
  else
    data_args=(--in "$data/stageiv_florence_2018.nc" --var Total_precipitation_surface_1_Hour_Accumulation
               --val-fraction 0.25)
  fi
  echo "== $name"
  start=$SECONDS
  "$maunet" compare "${data_args[@]}" "${common[@]}"
  echo "($name: $((SECONDS - start)) s)"
done
