#!/usr/bin/env bash
# Training data beyond one file, end to end with the `maunet` tool: several --in files (in any
# order, or a quoted glob) joined in time order; training, validation and test periods by date
# (or the last steps by --test-fraction), the test steps scored apart; a seed ensemble
# (--seeds); and each refusal with its message and status (overlapping files, a pattern matching
# nothing, another calendar, a malformed, empty or overlapping period, test steps chosen twice),
# and `maunet compare` over two model seeds with its refusals.
#   usage: tests/cli/training_inputs.sh MAUNET_BINARY   (run by ctest as "cli: training inputs")
source "$(dirname "${BASH_SOURCE[0]}")/preamble.sh"
# expect STATUS TEXT ARGS...: maunet train ARGS exits with STATUS and says TEXT on stderr.
expect() {
  local status=$1 text=$2
  shift 2
  "$maunet" train "$@" > out.txt 2> err.txt
  local got=$?
  { [ "$got" = "$status" ] && grep -qF -- "$text" err.txt; } ||
    fail "train $* gave status $got (expected $status) and said: $(cat err.txt) (expected '$text')"
}

# Two files of 4 days each (1-4 and 5-8 January 2000), a third overlapping the first, a fourth
# in another calendar.
python3 "$here/make_netcdf.py" part_1.nc --ny 8 --nx 8 --records 4 --units mm/day --time-units "days since 2000-01-01"
python3 "$here/make_netcdf.py" part_2.nc --ny 8 --nx 8 --records 4 --units mm/day --time-units "days since 2000-01-05"
python3 "$here/make_netcdf.py" overlap.nc --ny 8 --nx 8 --records 4 --units mm/day --time-units "days since 2000-01-03"
python3 "$here/make_netcdf.py" noleap.nc --ny 8 --nx 8 --records 4 --units mm/day --time-units "days since 2000-01-09" --calendar noleap
small=(--var pr --factor 2 --width 2 --levels 1 --epochs 1 --threads 1 --quiet --out m.mnet)

# Files in reverse order on the command line, and a quoted glob: the same 8-day series.
"$maunet" train --in part_2.nc --in part_1.nc "${small[@]}" > two.txt 2> two.err || fail "train on two files: $(cat two.err)"
grep -q "2 files from 'part_1.nc'" two.txt || fail "two files not joined in time order: $(head -1 two.txt)"
grep -q "8 time steps" two.txt || fail "the joined series is not 8 steps: $(head -1 two.txt)"
"$maunet" train --in 'part_*.nc' "${small[@]}" > glob.txt 2> glob.err || fail "train on a glob: $(cat glob.err)"
grep -q "2 files from 'part_1.nc'" glob.txt || fail "the glob did not name both files: $(head -1 glob.txt)"

# Periods: 5 training days, 2 validation days, 1 test day scored apart.
"$maunet" train --in part_1.nc part_2.nc "${small[@]}" --train-period 2000-01-01/2000-01-05 \
  --val-period 2000-01-06/2000-01-07 --test-period 2000-01-08/2000-01-08 > periods.txt 2> periods.err ||
  fail "train with periods: $(cat periods.err)"
grep -q "5 training / 2 validation / 1 test fields" periods.txt || fail "periods not applied: $(head -1 periods.txt)"
grep -q "scores on the 1 test" periods.txt || fail "the test period is not scored: $(cat periods.txt)"
# Without --val-period the last --val-fraction of the training period validates.
"$maunet" train --in part_1.nc part_2.nc "${small[@]}" --train-period 2000-01-01/2000-01-08 --val-fraction 0.25 \
  > frac.txt 2> frac.err || fail "train with a training period: $(cat frac.err)"
grep -q "6 training / 2 validation / 0 test fields" frac.txt || fail "--val-fraction inside the period: $(head -1 frac.txt)"
# --test-fraction holds out the last steps as --test-period does by date, and validation takes the
# --val-fraction just before them: the same split, so the same test scores, as the periods above.
"$maunet" train --in part_1.nc part_2.nc "${small[@]}" --val-fraction 0.25 --test-fraction 0.125 > tfrac.txt \
  2> tfrac.err || fail "train with --test-fraction: $(cat tfrac.err)"
grep -q "5 training / 2 validation / 1 test fields" tfrac.txt || fail "--test-fraction not applied: $(head -1 tfrac.txt)"
diff <(sed -n '/scores on the 1 test/,$p' periods.txt) <(sed -n '/scores on the 1 test/,$p' tfrac.txt) > /dev/null ||
  fail "--test-fraction scored other fields than the test period: $(cat tfrac.txt)"
grep -q "scores on the 1 test" tfrac.txt || fail "--test-fraction's steps are not scored: $(cat tfrac.txt)"
expect 2 "--test-fraction: cannot be given with --test-period" --in part_1.nc "${small[@]}" --test-fraction 0.25 \
  --test-period 2000-01-04/2000-01-04
expect 1 "--val-fraction 0.5 and --test-fraction 0.5 of 8 time steps leave no training step" --in part_1.nc part_2.nc \
  "${small[@]}" --val-fraction 0.5 --test-fraction 0.5
expect 1 "--test-fraction 0.01 of 8 time steps leaves no test step" --in part_1.nc part_2.nc "${small[@]}" --test-fraction 0.01

# A series read a chunk (32 steps) at a time from three files, the middle one stored north to
# south: the same model, bit for bit, as one file holding the 60 days.
python3 "$here/make_precip.py" whole.nc --days 60
python3 "$here/make_precip.py" year_1.nc --days 20
python3 "$here/make_precip.py" year_2.nc --days 20 --first-day 20 --north-to-south
python3 "$here/make_precip.py" year_3.nc --days 20 --first-day 40
series=(--var pr --factor 2 --width 2 --levels 1 --epochs 1 --batch 8 --threads 1 --quiet --test-period 2000-02-25/2000-02-29)
"$maunet" train --in whole.nc "${series[@]}" --out whole.mnet > whole.txt 2> whole.err || fail "train on whole.nc: $(cat whole.err)"
"$maunet" train --in 'year_*.nc' "${series[@]}" --out years.mnet > years.txt 2> years.err ||
  fail "train on three files: $(cat years.err)"
grep -q "year_2.nc':.*rows reordered to match" years.err || fail "the north-to-south file was not noted: $(cat years.err)"
grep -q "3 files from 'year_1.nc'.*60 time steps" years.txt || fail "three files not joined: $(head -1 years.txt)"
cmp -s whole.mnet years.mnet || fail "training on the three files wrote another model than on the one file"

# Samples spooled to disk behind a cache smaller than one sample: the same model file, bit for
# bit, as training in memory; the scratch files are gone at the end; a missing --spool-dir refused.
mkdir spool
spooled=(--in part_1.nc part_2.nc --var pr --factor 2 --width 2 --levels 1 --epochs 2 --patch 4 --patches-per-field 2
         --threads 1 --quiet --test-period 2000-01-08/2000-01-08)
"$maunet" train "${spooled[@]}" --out memory.mnet > /dev/null 2> memory.err || fail "train in memory: $(cat memory.err)"
"$maunet" train "${spooled[@]}" --cache-mb 0.0001 --spool-dir spool --out spooled.mnet > spooled.txt 2> spooled.err ||
  fail "train --cache-mb: $(cat spooled.err)"
cmp -s memory.mnet spooled.mnet || fail "train --cache-mb wrote another model than training in memory"
[ -z "$(ls -A spool)" ] || fail "train --cache-mb left scratch files: $(ls -A spool)"
# --augment: seeded (the same model twice, spooled or not), and it changes what is trained on
# (width 4: at width 2 this tiny network happens to train to the same weights either way).
turned=(--in part_1.nc part_2.nc --var pr --factor 2 --width 4 --levels 1 --epochs 2 --patch 4 --threads 1 --quiet)
"$maunet" train "${turned[@]}" --out upright.mnet > /dev/null 2> upright.err || fail "train: $(cat upright.err)"
"$maunet" train "${turned[@]}" --augment --out turned.mnet > /dev/null 2> turned.err || fail "train --augment: $(cat turned.err)"
"$maunet" train "${turned[@]}" --augment --cache-mb 0.0001 --spool-dir spool --out turned_2.mnet > /dev/null \
  2> turned_2.err || fail "train --augment --cache-mb: $(cat turned_2.err)"
cmp -s turned.mnet turned_2.mnet || fail "train --augment is not reproducible"
! cmp -s turned.mnet upright.mnet || fail "train --augment wrote the model trained without it"
# --transform linear: the file says so, and the model downscales to amounts >= 0 (no wet-day
# threshold, so only the clamp keeps them so).
"$maunet" train "${turned[@]}" --transform linear --wet-threshold 0 --out linear.mnet > /dev/null 2> linear.err ||
  fail "train --transform linear: $(cat linear.err)"
"$maunet" info linear.mnet > linear_info.txt || fail "maunet info on a linear model"
grep -q "target transform  linear" linear_info.txt && grep -q "precipitation linear" linear_info.txt ||
  fail "maunet info does not say linear: $(cat linear_info.txt)"
"$maunet" predict --model linear.mnet --in part_1.nc --var pr --out linear_pred.npy 2> linear_pred.err ||
  fail "predict with a linear model: $(cat linear_pred.err)"
python3 - linear_pred.npy << 'EOF' || fail "a linear model predicted negative amounts (or not float32)"
import math, struct, sys
b = open(sys.argv[1], "rb").read()  # .npy version 1: magic, version, header length, header, data
n = struct.unpack("<H", b[8:10])[0]
assert b"'<f4'" in b[10:10 + n]
data = b[10 + n:]
values = struct.unpack("<%df" % (len(data) // 4), data)
sys.exit(0 if values and all(v >= 0 or math.isnan(v) for v in values) else 1)
EOF
expect 1 "cannot create a scratch file in 'no_such_dir'" "${spooled[@]}" --cache-mb 1 --spool-dir no_such_dir --out x.mnet
[ ! -e x.mnet ] || fail "a refused spool directory left a model"

# A seed ensemble: one model (and history) per seed, named after it, and the scores' spread.
seeds=(--var pr --factor 2 --width 2 --levels 1 --epochs 1 --threads 1 --quiet --seeds 2 --seed 3)
"$maunet" train --in part_1.nc part_2.nc "${seeds[@]}" --out ens.mnet --history ens.csv > seeds.txt 2> seeds.err ||
  fail "train --seeds 2: $(cat seeds.err)"
for f in ens.seed3.mnet ens.seed4.mnet ens.seed3.csv ens.seed4.csv; do [ -s "$f" ] || fail "train --seeds 2 wrote no $f"; done
[ ! -e ens.mnet ] || fail "train --seeds 2 also wrote ens.mnet"
grep -q "seed ensemble: 2 models, scores on the 2 validation fields" seeds.txt || fail "no seed summary: $(cat seeds.txt)"
grep -q "^maunet seed 4 " seeds.txt && grep -q "^maunet mean .* +- " seeds.txt || fail "the summary lacks a seed or the mean: $(cat seeds.txt)"
"$maunet" info ens.seed4.mnet > /dev/null 2>&1 || fail "ens.seed4.mnet does not load"
mkdir runs.v2
"$maunet" train --in part_1.nc "${seeds[@]}" --out runs.v2/model > /dev/null 2>&1 && [ -s runs.v2/model.seed3 ] ||
  fail "--seeds with an --out without extension (in a folder with a dot): expected runs.v2/model.seed3"
expect 2 "--seeds: Value 0 not in range 1 to 1000" --in part_1.nc "${small[@]}" --seeds 0

expect 1 "must not overlap in time" --in part_1.nc --in overlap.nc "${small[@]}"
expect 1 "matches no file" --in 'nothing_*.nc' "${small[@]}"
expect 1 "must share a calendar" --in part_1.nc --in noleap.nc "${small[@]}"
expect 1 "given twice" --in part_1.nc --in 'part_*.nc' "${small[@]}"
expect 2 "--train-period: '2000-01-01': no '/'" --in part_1.nc "${small[@]}" --train-period 2000-01-01
expect 2 "the last date is before the first" --in part_1.nc "${small[@]}" --test-period 2000-01-03/2000-01-01
expect 1 "--test-period 1999-01-01/1999-12-31 holds none of the 4 time steps" --in part_1.nc "${small[@]}" \
  --test-period 1999-01-01/1999-12-31
expect 1 "lies in more than one of" --in part_1.nc "${small[@]}" --val-period 2000-01-02/2000-01-03 \
  --test-period 2000-01-03/2000-01-04
[ ! -e m.mnet ] || [ -s m.mnet ] || fail "a failed run left an empty model file"

# maunet compare: the comparison over 2 model seeds on the two files, scored on the test period
# (bicubic, the five networks, bilinear).
tiny=(--in 'part_*.nc' --var pr --factor 2 --width 2 --levels 2 --epochs 1 --refine-epochs 1 --threads 1 --quiet)
"$maunet" compare "${tiny[@]}" --seeds 2 --test-period 2000-01-07/2000-01-08 --json c.json > cmp.txt 2> cmp.err ||
  fail "compare: $(cat cmp.err)"
grep -q "scored on the 2 test fields; 2 seeds" cmp.txt || fail "compare: header: $(head -1 cmp.txt)"
for seed in 7 8; do
  [ "$(grep -A9 "model seed $seed, 2 test fields" cmp.txt | grep -cE '^(bicubic \(input\)|MAUNet \(teacher\)|MAUNet-Light alone|MAUNet-Light KD|MAUNet-Light KD\+KR|U-Net|bilinear interpolation) ')" = 7 ] ||
    fail "compare: the table of seed $seed does not have the 7 methods"
done
grep -q "^downscaling over 2 seeds" cmp.txt || fail "compare: no summary over the seeds"
grep -qE "^MAUNet-Light KD\+KR: [0-9]+ parameters, [0-9]+% of the teacher's [0-9]+; .* as fast" cmp.txt ||
  fail "compare: no line on the student's cost"
[ "$(grep -cE '^  .* - .* \[.*\]  (lower|higher|no clear difference)$' cmp.txt)" = 9 ] || fail "compare: not 9 differences"
[ "$(grep -c '"name"' c.json)" = 14 ] || fail "compare --json: $(grep -c '"name"' c.json) objects, expected 14"
"$maunet" compare "${tiny[@]}" --val-fraction 0 > /dev/null 2> none.err
[ $? = 1 ] && grep -q "no held-out fields to score on" none.err || fail "compare without held-out fields: $(cat none.err)"
"$maunet" compare "${tiny[@]}" --json part_1.nc > /dev/null 2> same.err
[ $? = 1 ] && grep -q "refusing to write the output 'part_1.nc'" same.err || fail "compare --json over an input: $(cat same.err)"

finish "training inputs (several files, globs, periods)"
