#!/usr/bin/env bash
# Monte Carlo dropout from the command line: `maunet predict --samples K` writes the mean of K
# dropout samples per field as the variable and its standard deviation and quantiles beside it
# (NetCDF variables pr_sd, pr_q05, ...), the same for any --chunk and --seed-reproducible; and
# each refusal with its message.
#   usage: tests/cli/samples.sh MAUNET_BINARY   (run by ctest as "cli: predict samples")
source "$(dirname "${BASH_SOURCE[0]}")/preamble.sh"
# expect TEXT ARGS...: maunet predict ARGS fails (status 1, or 109 for CLI11's checks) saying TEXT.
expect() {
  local text=$1
  shift
  "$maunet" predict "$@" > out.txt 2> err.txt
  local got=$?
  { [ "$got" != 0 ] && grep -qF -- "$text" err.txt; } ||
    fail "predict $* gave status $got and said: $(cat err.txt) (expected '$text')"
}
# values FILE VAR: the values of VAR in FILE, one per line ("_" for missing), from ncdump.
values() {
  ncdump -v "$2" "$1" | sed -n "/^ $2 =/,/;/p" | sed "s/^ $2 =//; s/;//" | tr ',' '\n' | tr -d ' ' | grep -v '^$'
}

python3 "$here/make_netcdf.py" obs.nc --ny 8 --nx 8 --records 4 --units mm/day
"$maunet" train --in obs.nc --var pr --factor 2 --width 4 --levels 2 --epochs 2 --threads 1 --quiet --out m.mnet \
  > train.txt 2> train.err || fail "train: $(cat train.err)"

"$maunet" predict --model m.mnet --in obs.nc --var pr --out s.nc --samples 8 --seed 5 > p.txt 2> p.err ||
  fail "predict --samples 8: $(cat p.err)"
grep -q "pr: mean of 8 MC-dropout samples per field (seed 5); beside it pr_sd pr_q05 pr_q50 pr_q95" p.txt ||
  fail "predict --samples does not say what it wrote: $(cat p.txt)"
ncdump -h s.nc > header.txt || fail "ncdump -h s.nc failed"
for v in pr pr_sd pr_q05 pr_q50 pr_q95; do
  grep -q "float $v(time, y, x)" header.txt || fail "s.nc has no variable $v(time, y, x): $(cat header.txt)"
done
grep -q 'pr:long_name = "mean of 8 MC-dropout samples"' header.txt || fail "the mean is not labelled: $(cat header.txt)"
grep -q 'pr_sd:long_name = "standard deviation of 8 MC-dropout samples"' header.txt || fail "pr_sd is not labelled"
grep -q 'pr_q95:units = "mm day-1"' header.txt || fail "pr_q95 has not the units of pr: $(grep pr_q95 header.txt)"
# Per cell: sd >= 0, q05 <= q50 <= q95, and some spread somewhere (the masks differ).
for v in pr pr_sd pr_q05 pr_q50 pr_q95; do values s.nc $v > $v.txt; done
paste pr.txt pr_sd.txt pr_q05.txt pr_q50.txt pr_q95.txt > cells.txt
[ "$(wc -l < cells.txt)" = 1024 ] || fail "expected 4 x 16 x 16 cells, found $(wc -l < cells.txt)"
awk '$2 < 0 || $3 > $4 || $4 > $5 || $1 < $3 - 1e-4 || $1 > $5 + 1e-4 { bad++ } $2 > 0 { spread++ }
     END { exit !(bad == 0 && spread > 500) }' cells.txt ||
  fail "the summary is not ordered (sd >= 0, q05 <= q50 <= q95, q05 <= mean <= q95) or shows no spread"

# The same values for any --chunk; another seed, other samples.
"$maunet" predict --model m.mnet --in obs.nc --var pr --out c1.nc --samples 8 --seed 5 --chunk 1 > /dev/null 2>&1 ||
  fail "predict --samples --chunk 1 failed"
"$maunet" predict --model m.mnet --in obs.nc --var pr --out s6.nc --samples 8 --seed 6 > /dev/null 2>&1 ||
  fail "predict --samples --seed 6 failed"
for v in pr pr_sd pr_q95; do
  cmp -s <(values s.nc $v) <(values c1.nc $v) || fail "$v differs between --chunk 8 and --chunk 1"
done
cmp -s <(values s.nc pr_sd) <(values s6.nc pr_sd) && fail "--seed 6 gave the samples of --seed 5"
# Other quantiles, named by their percentage.
"$maunet" predict --model m.mnet --in obs.nc --var pr --out q.nc --samples 4 --quantiles 0.1,0.999 > /dev/null 2>&1 ||
  fail "predict --quantiles 0.1,0.999 failed"
ncdump -h q.nc | grep -q "float pr_q99_9(" || fail "quantile 0.999 is not written as pr_q99_9"
ncdump -h q.nc | grep -q "float pr_q10(" || fail "quantile 0.1 is not written as pr_q10"

# Refusals, and nothing written by them.
expect "needs NetCDF in and out; x.npy is .npy" --model m.mnet --in obs.nc --var pr --out x.npy --samples 4
expect "two quantiles give the variable 'pr_q50'" --model m.mnet --in obs.nc --var pr --out x.nc --samples 4 --quantiles 0.5,0.5
expect "--quantiles" --model m.mnet --in obs.nc --var pr --out x.nc --samples 4 --quantiles 1.5
"$maunet" train --in obs.nc --var pr --factor 2 --model unet --width 2 --levels 1 --epochs 1 --threads 1 --quiet \
  --out u.mnet > /dev/null 2> u.err || fail "train --model unet: $(cat u.err)"
expect "has no dropout layers to sample" --model u.mnet --in obs.nc --var pr --out x.nc --samples 4
[ ! -e x.nc ] && [ ! -e x.npy ] || fail "a refused run left an output"

finish "predict samples"
