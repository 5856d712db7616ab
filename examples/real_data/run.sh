#!/usr/bin/env bash
# Real-data example: 4x downscaling in the perfect-model setting on the two real files of
# tests/data (read in place, nothing is copied). For each file:
#   1. coarsen the observations 4x with a NaN-aware block mean         (maunet regrid --coarsen)
#   2. interpolate the coarse field back, bilinear and bicubic          (maunet regrid)
#   3. train a small MAUNet on the same file: the first 75 % of the time steps train, the
#      last 25 % validate                                               (maunet train)
#   4. downscale the coarse file with it                                (maunet predict)
#   5. score the three on the held-out time steps                       (maunet eval)
#   6. draw one held-out time step side by side                         (maunet plot)
# Usage: examples/real_data/run.sh [MAUNET_BINARY] [OUTPUT_DIR]
# Defaults: build/examples/maunet and ./real_data_out. Prints each score table and, at the end,
# the time the whole run took; OUTPUT_DIR/results.md collects both (README.md's tables and
# time are that file's contents: examples/real_data/update_readme.sh regenerates them).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
maunet="${1:-$root/build/examples/maunet}"
out="${2:-real_data_out}"
data="$root/tests/data"
epochs="${EPOCHS:-30}"
mkdir -p "$out"
results="$out/results.md"
: > "$results"
start=$SECONDS

# run NAME FILE VARIABLE FIRST_HELD_OUT_STEP PLOT_STEP UNITS (UNITS: of FILE when its attribute is not understood)
run() {
    local name="$1" file="$2" var="$3" held_out="$4" step="$5" units="${6:-}"
    echo "=== $name: $file ($var)"
    # The observations under a short relative name, so that printed tables show no machine path.
    ln -sfn "$file" "$out/${name}_obs.nc"
    file="$out/${name}_obs.nc"
    "$maunet" regrid --in "$file" --var "$var" ${units:+--units "$units"} --out "$out/${name}_coarse.nc" --coarsen --factor 4
    "$maunet" regrid --in "$out/${name}_coarse.nc" --var "$var" --out "$out/${name}_bilinear.nc" --method bilinear --factor 4
    "$maunet" regrid --in "$out/${name}_coarse.nc" --var "$var" --out "$out/${name}_bicubic.nc" --method bicubic --factor 4
    "$maunet" train --in "$file" --var "$var" ${units:+--units "$units"} --factor 4 --model maunet --width 8 --levels 2 \
        --epochs "$epochs" --batch 3 --val-fraction 0.25 --seed 7 --quiet \
        --history "$out/${name}_history.csv" --out "$out/${name}_maunet.mnet"
    "$maunet" predict --model "$out/${name}_maunet.mnet" --in "$out/${name}_coarse.nc" --var "$var" \
        --out "$out/${name}_maunet.nc"
    "$maunet" eval --obs "$file" --obs-var "$var" ${units:+--obs-units "$units"} --crop --time-from "$held_out" \
        --pred "$out/${name}_bilinear.nc" "$out/${name}_bicubic.nc" "$out/${name}_maunet.nc" \
        --name bilinear bicubic MAUNet --json "$out/${name}_scores.json" | tee "$out/${name}_table.txt"
    { echo "<!-- table: $name -->"; echo '```'; cat "$out/${name}_table.txt"; echo '```'; } >> "$results"
    "$maunet" plot --compare "$file" "$out/${name}_bilinear.nc" "$out/${name}_bicubic.nc" "$out/${name}_maunet.nc" \
        --titles observed bilinear bicubic MAUNet --var "$var" ${units:+--units "$units"} --time "$step" --crop --out "$out/${name}.png"
}

# 12 months of 1999, 1/8 degree: months 10-12 (steps 9-11) are held out. Its units 'mm/m' mean
# millimetres per month (to UDUNITS, per metre): given as mm/month, the fields become mm/day.
run bcsd "$data/bcsd_obs_1999.nc" pr 9 9 mm/month
# 23 hours of Hurricane Florence, 4 km: the last 6 hours (steps 17-22) are held out.
run stageiv "$data/stageiv_florence_2018.nc" Total_precipitation_surface_1_Hour_Accumulation 17 20

elapsed=$((SECONDS - start))
threads="${OMP_NUM_THREADS:-$(nproc)}"
summary="$((elapsed / 60)) min $((elapsed % 60)) s on $(nproc) cores ($threads threads)"
echo "<!-- time --> $summary" >> "$results"
echo "=== done in $summary; tables and time in $results"
