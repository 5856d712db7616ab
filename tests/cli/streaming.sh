#!/usr/bin/env bash
# The `maunet` tool on series read in pieces: eval in chunks of time steps, bc in tiles of rows,
# bc fit + bc apply. Every piece size must give the same result as one piece, bit for bit, and
# bad fit files and misuse must end with the documented status (1 data, 2 usage) and message.
#   usage: tests/cli/streaming.sh MAUNET_BINARY   (run by ctest as "cli: streaming and tiling")
source "$(dirname "${BASH_SOURCE[0]}")/preamble.sh"

# expect STATUS TEXT COMMAND...: the exit status, and TEXT in stderr.
expect() {
  local status=$1 text=$2
  shift 2
  "$@" > stdout.txt 2> stderr.txt
  local got=$?
  if [ "$got" -ne "$status" ] || ! grep -qF -- "$text" stderr.txt; then
    fail "(status $got, expected $status and '$text'): ${*#$maunet}"
    head -c 2000 stderr.txt >&2
  else
    echo "ok [$got] maunet${*#$maunet}"
  fi
}
# identical A B...: all files equal to A byte for byte.
identical() {
  local a=$1
  shift
  for b in "$@"; do cmp -s "$a" "$b" || fail "'$b' differs from '$a'"; done
}

make() { python3 "$here/make_precip.py" "$@"; }
# 6 x 7 cells (one missing throughout, NaN scattered), three years; a biased model; a scenario.
make obs.nc --days 1100 --seed 1
make hist.nc --days 1100 --seed 2 --scale 1.4 --shift 0.3
make fut.nc --days 700 --seed 3 --scale 1.6 --shift 0.3 --start 2010-01-01
make fut2.nc --days 400 --seed 4 --scale 1.2 --start 2020-01-01 --units "kg m-2 s-1"
make small.nc --ny 5 --days 30
make moved.nc --lat0 41 --days 30

# bc: tiles of 1 row, of 4 rows (not a divisor of 6), of the whole grid, and by memory budget.
for m in qdm qm linear; do
  for w in 0 15; do
    for rows in 1 4 6 0; do
      "$maunet" bc --method $m --window $w --obs obs.nc --obs-var pr --sim-hist hist.nc --sim fut.nc \
        --out "bc_${m}_${w}_$rows.npy" --tile-rows $rows --chunk 9 > /dev/null 2>&1 || fail "bc $m window $w tile rows $rows"
    done
    identical "bc_${m}_${w}_6.npy" "bc_${m}_${w}_1.npy" "bc_${m}_${w}_4.npy" "bc_${m}_${w}_0.npy"
    [ -s "bc_${m}_${w}_6.npy" ] || fail "bc $m window $w wrote nothing"
  done
done
echo "ok bc: tiles of 1, 4, 6 and budgeted rows give identical outputs"

# bc fit + bc apply equals the one-shot bc, for two simulations in one apply.
"$maunet" bc fit --obs obs.nc --obs-var pr --sim-hist hist.nc --window 15 --tile-rows 4 --out model.bcfit > /dev/null 2>&1 \
  || fail "bc fit"
"$maunet" bc apply --fit model.bcfit --sim-var pr --sim fut.nc --out a_fut.npy --sim fut2.nc --out a_fut2.npy > /dev/null 2>&1 \
  || fail "bc apply"
"$maunet" bc --window 15 --obs obs.nc --obs-var pr --sim-hist hist.nc --sim fut2.nc --out b_fut2.npy > /dev/null 2>&1 \
  || fail "bc on fut2"
identical bc_qdm_15_6.npy a_fut.npy
identical b_fut2.npy a_fut2.npy
"$maunet" bc apply --fit model.bcfit --sim-var pr --sim fut.nc --out a_fut.nc > /dev/null 2>&1 || fail "bc apply to NetCDF"
"$maunet" bc --window 15 --obs obs.nc --obs-var pr --sim-hist hist.nc --sim fut.nc --out b_fut.nc > /dev/null 2>&1 \
  || fail "bc to NetCDF"
"$maunet" eval --obs b_fut.nc --obs-var pr --pred a_fut.nc --json same.json > /dev/null 2>&1 || fail "eval of apply vs one-shot"
grep -q '"rmse": 0' same.json || fail "bc apply to NetCDF differs from the one-shot bc"
echo "ok bc fit + bc apply: identical to the one-shot bc"

# A fit file refused: other grid, other coordinates, other units, corrupted, truncated.
expect 1 "is not on the grid of the fit file 'model.bcfit'" "$maunet" bc apply --fit model.bcfit --sim-var pr --sim small.nc --out x.nc
grep -qF "different shapes" stderr.txt || fail "the grid error does not say why"
grep -qF "5 x 7" stderr.txt && grep -qF "6 x 7" stderr.txt || fail "the grid error does not name both grids"
expect 1 "lat[0] = 41 but lat[0] = 40" "$maunet" bc apply --fit model.bcfit --sim-var pr --sim moved.nc --out x.nc
python3 - model.bcfit kelvin.bcfit <<'PY'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[16:24])[0]
header = b[24:24 + n].replace(b'"units": "mm day-1"', b'"units": "K"')
head = b[:16] + struct.pack("<Q", len(header)) + header
open(sys.argv[2], "wb").write(head + struct.pack("<I", zlib.crc32(head)) + b[24 + n + 4:])
PY
expect 1 "corrects values in 'K' but 'fut.nc'" "$maunet" bc apply --fit kelvin.bcfit --sim-var pr --sim fut.nc --out x.nc
size=$(stat -c %s model.bcfit)
python3 -c "import sys; b = bytearray(open('model.bcfit','rb').read()); b[len(b) - 100] ^= 1; open('flipped.bcfit','wb').write(b)"
expect 1 "checksum mismatch of tile 1" "$maunet" bc apply --fit flipped.bcfit --sim-var pr --sim fut.nc --out x.nc
head -c $((size - 10)) model.bcfit > truncated.bcfit
expect 1 "truncated" "$maunet" bc apply --fit truncated.bcfit --sim-var pr --sim fut.nc --out x.nc
grep -qF "truncated.bcfit" stderr.txt || fail "the truncation error does not name the file"
expect 1 "expected the magic 'MAUNETBC'" "$maunet" bc apply --fit obs.nc --sim-var pr --sim fut.nc --out x.nc
[ -e x.nc ] && fail "a refused apply left x.nc"

# Usage errors: exit status 2.
expect 2 "--fit is required" "$maunet" bc apply --sim fut.nc --out x.nc
expect 2 "2 --sim files but 1 --out" "$maunet" bc apply --fit model.bcfit --sim fut.nc --sim fut2.nc --out x.nc
expect 2 "--obs is required" "$maunet" bc fit --sim-hist hist.nc --out y.bcfit
expect 2 "--sim-hist is required" "$maunet" bc --obs obs.nc --obs-var pr --out z.nc
expect 2 "--tile-rows" "$maunet" bc --obs obs.nc --obs-var pr --sim-hist hist.nc --out z.nc --tile-rows -1
expect 2 "--chunk" "$maunet" eval --obs obs.nc --obs-var pr --pred hist.nc --chunk 0

# eval: chunks of 1, 7 (not a divisor), 64 and more than the series give the same scores.
make big_obs.nc --ny 14 --nx 12 --days 300 --seed 5
make big_pred.nc --ny 14 --nx 12 --days 280 --seed 6 --scale 1.2 --start 2000-01-15 --units "kg m-2 s-1"
make big_pred2.nc --ny 14 --nx 12 --days 300 --seed 7 --scale 0.9
for c in 1 7 64 1000; do
  "$maunet" eval --obs big_obs.nc --obs-var pr --pred big_pred.nc --pred big_pred2.nc --time-from 3 --chunk $c \
    --json "eval_$c.json" > /dev/null 2>&1 || fail "eval --chunk $c"
done
identical eval_1000.json eval_1.json eval_7.json eval_64.json
grep -q '"p99_error"' eval_1.json || fail "eval wrote no quantile errors"
echo "ok eval: chunks of 1, 7, 64 and 1000 give identical scores"

# eval --scores without ssim and p99: one pass; the scores asked for are those of the full table
# (r to rounding: merged per-chunk sums), the others null; chunk sizes agree.
for c in 1 7 1000; do
  "$maunet" eval --obs big_obs.nc --obs-var pr --pred big_pred.nc --pred big_pred2.nc --time-from 3 --chunk $c \
    --scores rmse,mae,bias,r --json "one_$c.json" > "one_$c.txt" 2>&1 || fail "eval --scores --chunk $c"
  python3 - eval_1.json "one_$c.json" <<'PY' || fail "eval --scores rmse,mae,bias,r --chunk $c differs from the full table"
import json, sys
full, one = (json.load(open(f)) for f in sys.argv[1:])
assert len(full) == len(one) == 2
for a, b in zip(full, one):
    for k in ("rmse", "mae", "bias", "relative_bias_percent", "n_valid", "csi@1"):
        assert a[k] == b[k], (k, a[k], b[k])
    assert abs(a["r"] - b["r"]) <= 1e-12 * abs(a["r"]), (a["r"], b["r"])
    for k in ("psnr", "ssim", "p99_error", "p95_error"):
        assert b[k] is None, (k, b[k])
PY
done
identical one_1.json one_7.json one_1000.json  # r too: its per-step sums do not depend on the chunks
"$maunet" eval --obs big_obs.nc --obs-var pr --pred big_pred.nc --pred big_pred2.nc --time-from 3 --chunk 7 \
  --scores rmse,p99 --json two.json > two.txt 2>&1 || fail "eval --scores rmse,p99"
python3 - eval_1.json two.json <<'PY' || fail "eval --scores rmse,p99: not the full table's quantiles, or MAE present"
import json, sys
full, two = (json.load(open(f)) for f in sys.argv[1:])
for a, b in zip(full, two):
    assert b["p99_error"] is not None and b["p99_error"] == a["p99_error"] and b["rmse"] == a["rmse"], (a, b)
    assert b["mae"] is None and b["ssim"] is None, b
PY
grep -qE "^method +RMSE +MAE" two.txt && grep -qE " - +- +- +- +- +-?[0-9]+[.][0-9]+$" two.txt \
  || fail "eval --scores rmse,p99: the table does not show '-' for the scores not computed"
expect 2 "--scores" "$maunet" eval --obs big_obs.nc --obs-var pr --pred big_pred.nc --scores nope
grep -qF "nope" stderr.txt && grep -qF "rmse" stderr.txt && grep -qF "p99" stderr.txt \
  || fail "eval --scores nope does not name the value and the accepted names"
echo "ok eval --scores: one pass gives the full table's scores"

finish "streaming and tiling"
