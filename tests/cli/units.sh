#!/usr/bin/env bash
# Units in model files, end to end with the `maunet` tool: `train` records the units of its
# fields (mm day-1), `info` prints them, `predict` converts an input in other units to them and
# writes its output in them, refuses units that do not convert (naming both), and reads a file
# written before units were recorded (tests/data/model_without_units.mnet) as mm/day.
#   usage: tests/cli/units.sh MAUNET_BINARY   (run by ctest as "cli: units of model files")
source "$(dirname "${BASH_SOURCE[0]}")/preamble.sh"

"$maunet" train --synthetic-size 16 --synthetic-fields 6 --epochs 1 --width 2 --levels 1 --threads 1 --quiet \
  --out model.mnet > train.txt || { echo "FAILED: cannot train the small model" >&2; exit 1; }
grep -q "units mm day-1" train.txt || fail "train does not report the units it records: $(cat train.txt)"
"$maunet" info model.mnet > info.txt || fail "info failed"
grep -qE "^  units +mm day-1$" info.txt || fail "info does not print the units: $(cat info.txt)"

# The same rain in kg m-2 s-1 and in mm/day (x 86400): identical predictions.
python3 "$here/make_netcdf.py" kg.nc --ny 8 --nx 8 --records 3 --units "kg m-2 s-1"
python3 "$here/make_netcdf.py" mm.nc --ny 8 --nx 8 --records 3 --units "mm/day" --scale 86400
"$maunet" predict --model model.mnet --in kg.nc --var pr --out kg.npy > /dev/null || fail "predict of kg.nc failed"
"$maunet" predict --model model.mnet --in mm.nc --var pr --out mm.npy > /dev/null || fail "predict of mm.nc failed"
cmp -s kg.npy mm.npy || fail "an input in kg m-2 s-1 is not converted to the model's mm day-1"
# --units overrides the file's attribute the same way.
"$maunet" predict --model model.mnet --in mm.nc --var pr --units "kg m-2 s-1" --out over.npy > /dev/null ||
  fail "predict with --units failed"
cmp -s over.npy mm.npy && fail "--units 'kg m-2 s-1' on mm.nc gave the mm/day result"
"$maunet" predict --model model.mnet --in kg.nc --var pr --out kg.nc.out.nc > predict.txt || fail "predict to .nc failed"
grep -q "in mm day-1" predict.txt || fail "predict does not report the output units: $(cat predict.txt)"
if command -v ncdump > /dev/null; then
  ncdump -h kg.nc.out.nc | grep -q 'pr:units = "mm day-1"' || fail "the output is not labelled with the model's units"
else
  echo "ncdump not found: the units attribute of the output is not checked"
fi

# Units that do not convert: refused, naming the file, its units and the model's.
python3 "$here/make_netcdf.py" tas.nc --ny 8 --nx 8 --records 2 --units "K"
"$maunet" predict --model model.mnet --in tas.nc --var pr --out tas.npy > /dev/null 2> err.txt
status=$?
[ "$status" -eq 1 ] || fail "predict on units K exited with $status, expected 1"
grep -q "units 'K'" err.txt && grep -q "cannot convert to the model 'model.mnet' units 'mm day-1'" err.txt ||
  fail "predict on units K: $(cat err.txt)"
[ -e tas.npy ] && fail "a refused predict wrote its output"

# A file written before units were recorded: unknown in info, taken as mm/day by predict.
old="$here/../data/model_without_units.mnet"
"$maunet" info "$old" > old_info.txt || fail "info of the old file failed"
grep -qE "^  units +unknown" old_info.txt || fail "info of the old file: $(cat old_info.txt)"
"$maunet" predict --model "$old" --in kg.nc --var pr --out old_kg.npy > /dev/null 2> old_err.txt ||
  fail "predict with the old file failed: $(cat old_err.txt)"
"$maunet" predict --model "$old" --in mm.nc --var pr --out old_mm.npy > /dev/null 2>> old_err.txt
cmp -s old_kg.npy old_mm.npy || fail "the old file's fields are not taken as mm/day"
grep -q "records no units" old_err.txt || fail "no note that the old file records no units: $(cat old_err.txt)"

finish "units of model files"
