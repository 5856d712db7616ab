#!/usr/bin/env bash
# Climate-scale benchmark (not a test): 30 years of daily 200 x 200 precipitation (10,958 x 200 x
# 200 float32, 1.75 GB uncompressed) and its biased "model" twin, through maunet regrid, eval
# (every score, and --scores rmse,mae,bias,r: one pass), bc fit, bc apply and predict (a tiny
# MAUNet-Light bias-correction model trained first on 16 days), with CDO's remapbic and RMSE
# chain side by side. Prints a markdown table of wall time and peak RSS (/usr/bin/time -v) per
# command, and the cost of bc fit/apply per cell-year.
#   usage: benchmarks/climate_scale/run.sh MAUNET_BINARY [WORKDIR]
#   environment: DAYS (10958), NY (200), NX (200), KEEP=1 keeps the generated files
# Needs: g++, netCDF-C (libnetcdf-dev), cdo (apt-get install -y cdo), GNU time (/usr/bin/time).
# Disk: about 3 x the uncompressed size of one file (inputs compressed, the scratch files of
# bc, the fit file, the outputs); the work directory is removed at the end unless KEEP=1.
set -euo pipefail
maunet=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${2:-$(mktemp -d "${TMPDIR:-/tmp}/maunet_climate_scale.XXXXXX")}
mkdir -p "$work"
cd "$work"
DAYS=${DAYS:-10958}
NY=${NY:-200}
NX=${NX:-200}
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

g++ -O2 -std=c++17 -DMAUNET_HAVE_NETCDF=1 -I"$repo/include" -I/usr/include/eigen3 "$here/generate.cpp" -o generate -lnetcdf -fopenmp
echo "generating $DAYS days of $NY x $NX (observations and a biased model twin) in $work" >&2
./generate obs.nc --days "$DAYS" --ny "$NY" --nx "$NX" --seed 1 >&2
./generate model.nc --days "$DAYS" --ny "$NY" --nx "$NX" --seed 2 --scale 1.3 --shift 0.2 >&2

# measure NAME COMMAND...: wall seconds and peak RSS in MB into $NAME.wall / $NAME.rss.
measure() {
  local name=$1
  shift
  /usr/bin/time -v "$@" > "$name.out" 2> "$name.time" || { echo "$name failed:" >&2; tail -20 "$name.time" >&2; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' \
    "$name.time" > "$name.wall"
  awk -F': ' '/Maximum resident set size/ { printf "%.0f\n", $2 / 1024 }' "$name.time" > "$name.rss"
  echo "$name: $(cat "$name.wall") s, $(cat "$name.rss") MB" >&2
}

measure regrid "$maunet" regrid --in obs.nc --var pr --out regrid.nc --factor 2 --method bicubic
regrid_mb=$(du -m regrid.nc | cut -f1)
rm -f regrid.nc
measure eval "$maunet" eval --obs obs.nc --obs-var pr --pred model.nc --json eval.json --no-explain
measure eval_rmse "$maunet" eval --obs obs.nc --obs-var pr --pred model.nc --scores rmse,mae,bias,r \
  --json eval_rmse.json --no-explain
measure bc_fit "$maunet" bc fit --obs obs.nc --obs-var pr --sim-hist model.nc --out fit.bcfit
measure bc_apply "$maunet" bc apply --fit fit.bcfit --sim model.nc --sim-var pr --out model_bc.nc
rm -f model_bc.nc
# predict: a tiny bias-correction MAUNet-Light (width 4, 2 levels), 1 epoch on the first 16
# days, then applied to every day of the model twin (the point is the streaming, not the skill).
cdo -s seltimestep,1/16 obs.nc obs16.nc
cdo -s seltimestep,1/16 model.nc model16.nc
"$maunet" train --in obs16.nc --var pr --biased model16.nc --biased-var pr --task bias_correction --model maunet-light \
  --width 4 --levels 2 --epochs 1 --patch 64 --batch 4 --quiet --out tiny.mnet > train.out 2>&1 \
  || { echo "train failed:" >&2; tail -20 train.out >&2; exit 1; }
measure predict "$maunet" predict --model tiny.mnet --in model.nc --var pr --out predicted.nc
rm -f predicted.nc

# CDO: the same refined grid (cell centres of maunet's refine_coordinates: first centre
# x0 - dx / 4, spacing dx / 2), bicubic; RMSE = sqrt(timmean(fldmean((model - obs)^2))).
cat > grid2.txt <<GRID
gridtype = lonlat
xsize = $((2 * NX))
ysize = $((2 * NY))
xfirst = $(awk "BEGIN { print -10 - 0.1 / 4 }")
xinc = 0.05
yfirst = $(awk "BEGIN { print 35 - 0.1 / 4 }")
yinc = 0.05
GRID
measure cdo_regrid cdo -s -f nc4 -z zip_4 remapbic,grid2.txt obs.nc cdo_regrid.nc
measure cdo_rmse cdo -s -outputf,%.6g,1 -sqrt -timmean -fldmean -sqr -sub model.nc obs.nc
cdo_regrid_mb=$(du -m cdo_regrid.nc | cut -f1)
rm -f cdo_regrid.nc

cells=$((NY * NX))
years=$(awk "BEGIN { print $DAYS / 365.25 }")
row() { printf "| %s | %s | %s | %s | %s |\n" "$1" "$(cat "$2.wall")" "$(cat "$2.rss")" "${3:+$(cat "$3.wall")}" "${3:+$(cat "$3.rss")}"; }
echo
echo "$DAYS days of $NY x $NX float32 ($(awk "BEGIN { printf \"%.2f\", $DAYS * $cells * 4 / 1e9 }") GB uncompressed per file)"
echo
echo "| command | wall s | peak RSS MB | CDO wall s | CDO RSS MB |"
echo "|---|---|---|---|---|"
row "maunet regrid --method bicubic --factor 2 (CDO: remapbic)" regrid cdo_regrid
row "maunet eval, every score (CDO: sub, sqr, fldmean, timmean, sqrt: RMSE only)" eval cdo_rmse
row "maunet eval --scores rmse,mae,bias,r (CDO: the same RMSE chain)" eval_rmse cdo_rmse
row "maunet bc fit (qdm)" bc_fit
row "maunet bc apply (qdm)" bc_apply
row "maunet predict (MAUNet-Light, width 4, 2 levels)" predict
echo
for c in regrid eval eval_rmse; do
  cdo_name=cdo_rmse
  [ "$c" = regrid ] && cdo_name=cdo_regrid
  awk -v a="$(cat $c.wall)" -v b="$(cat $cdo_name.wall)" -v c="$c" 'BEGIN { printf "%s: %.2f x CDO'"'"'s wall time\n", c, a / b }'
done
echo "regrid output: maunet $regrid_mb MB (shuffle + deflate 1), CDO $cdo_regrid_mb MB (zip_4)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
for c in bc_fit bc_apply; do
  awk -v s="$(cat $c.wall)" -v n="$cells" -v y="$years" -v c="$c" \
    'BEGIN { printf "%s: %.3g microseconds per cell-year (%d cells x %.2f years)\n", c, 1e6 * s / (n * y), n, y }'
done
echo "maunet eval RMSE: $(grep -o '"rmse": [0-9.e+-]*' eval.json | head -1); --scores: $(grep -o '"rmse": [0-9.e+-]*' eval_rmse.json | head -1); CDO RMSE: $(cat cdo_rmse.out)"
echo "fit file: $(du -m fit.bcfit | cut -f1) MB"
