#!/usr/bin/env bash
# Real-data example: 4x downscaling in the perfect-model setting on the two real files of
# tests/data (read in place, nothing is copied), with the recipe of docs/algorithm.md ("A recipe
# for real data"). For each file:
#   1. coarsen the observations 4x with a NaN-aware block mean         (maunet regrid --coarsen)
#   2. interpolate the coarse field back, bilinear and bicubic          (maunet regrid)
#   3. train a MAUNet (width 16, 3 levels) on the same file, the held-out steps apart
#                                                                       (maunet train)
#   4. downscale the coarse file with it                                (maunet predict)
#   5. score the three on the held-out time steps                       (maunet eval)
#   6. draw one held-out time step side by side                         (maunet plot)
# BCSD (12 months): January-July train, August-September validate (pick the epoch),
# October-December are the test period, scored; whole fields (the grid is 32 x 80), 200 epochs,
# the shipped PRISM elevation as a static predictor. Stage IV (23 hours): the first 14 train, the
# next 3 validate, the last 6 are the test steps, scored; 48 x 48 patches, 8 per field per epoch,
# each turned or mirrored (--augment), 150 epochs, batch 8, MSE in mm/day (--transform linear).
# Usage: examples/real_data/run.sh [MAUNET_BINARY] [OUTPUT_DIR]
# Defaults: build/examples/maunet and ./real_data_out. Prints each score table and, at the end,
# the time the whole run took; OUTPUT_DIR/results.md collects both (README.md's tables and
# time are that file's contents: examples/real_data/update_readme.py regenerates them).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
maunet="${1:-$root/build/examples/maunet}"
out="${2:-real_data_out}"
data="$root/tests/data"
elevation="$root/examples/data/elevation_eastern_us_prism_4km.nc"
mkdir -p "$out"
results="$out/results.md"
: > "$results"
start=$SECONDS

# run NAME FILE VARIABLE FIRST_HELD_OUT_STEP PLOT_STEP UNITS TRAIN_OPTIONS...
# (UNITS: of FILE when its attribute is not understood, or "")
run() {
    local name="$1" file="$2" var="$3" held_out="$4" step="$5" units="$6"
    shift 6
    echo "=== $name: $file ($var)"
    # The observations under a short relative name, so that printed tables show no machine path.
    ln -sfn "$file" "$out/${name}_obs.nc"
    file="$out/${name}_obs.nc"
    "$maunet" regrid --in "$file" --var "$var" ${units:+--units "$units"} --out "$out/${name}_coarse.nc" --coarsen --factor 4
    "$maunet" regrid --in "$out/${name}_coarse.nc" --var "$var" --out "$out/${name}_bilinear.nc" --method bilinear --factor 4
    "$maunet" regrid --in "$out/${name}_coarse.nc" --var "$var" --out "$out/${name}_bicubic.nc" --method bicubic --factor 4
    "$maunet" train --in "$file" --var "$var" ${units:+--units "$units"} --factor 4 --model maunet --width 16 --levels 3 \
        --seed 7 --quiet "$@" --history "$out/${name}_history.csv" --out "$out/${name}_maunet.mnet"
    "$maunet" predict --model "$out/${name}_maunet.mnet" --in "$out/${name}_coarse.nc" --var "$var" \
        --out "$out/${name}_maunet.nc"
    "$maunet" eval --obs "$file" --obs-var "$var" ${units:+--obs-units "$units"} --crop --time-from "$held_out" \
        --pred "$out/${name}_bilinear.nc" "$out/${name}_bicubic.nc" "$out/${name}_maunet.nc" \
        --name bilinear bicubic MAUNet --json "$out/${name}_scores.json" | tee "$out/${name}_table.txt"
    { echo "<!-- table: $name -->"; echo '```'; cat "$out/${name}_table.txt"; echo '```'; } >> "$results"
    "$maunet" plot --compare "$file" "$out/${name}_bilinear.nc" "$out/${name}_bicubic.nc" "$out/${name}_maunet.nc" \
        --titles observed bilinear bicubic MAUNet --var "$var" ${units:+--units "$units"} --time "$step" --crop --out "$out/${name}.png"
}

# 12 months of 1999, 1/8 degree: October-December (steps 9-11) are the test period. Its units
# 'mm/m' mean millimetres per month (to UDUNITS, per metre): given as mm/month, the fields
# become mm/day.
run bcsd "$data/bcsd_obs_1999.nc" pr 9 9 mm/month --epochs "${BCSD_EPOCHS:-200}" --batch 3 \
    --train-period 1999-01-01/1999-07-31 --val-period 1999-08-01/1999-09-30 --test-period 1999-10-01/1999-12-31 \
    --static "$elevation"
# 23 hours of Hurricane Florence, 4 km: steps 14-16 validate, the last 6 (17-22) are the test steps.
run stageiv "$data/stageiv_florence_2018.nc" Total_precipitation_surface_1_Hour_Accumulation 17 20 "" \
    --epochs "${STAGEIV_EPOCHS:-150}" --batch 8 --val-fraction 0.15 --test-fraction 0.25 --patch 48 \
    --patches-per-field 8 --augment --transform linear

elapsed=$((SECONDS - start))
threads="${OMP_NUM_THREADS:-$(nproc)}"
summary="$((elapsed / 60)) min $((elapsed % 60)) s on $(nproc) cores ($threads threads)"
echo "<!-- time --> $summary" >> "$results"
echo "=== done in $summary; tables and time in $results"
