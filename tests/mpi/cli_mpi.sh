#!/usr/bin/env bash
# The maunet tool under mpirun against one process (ctest -L mpi; tests/mpi/CMakeLists.txt):
#   regrid and predict spread their time chunks over the ranks and write the same file
#   (NetCDF: the same header and values, compared with ncdump without the history line, which
#   holds the time of writing; .npy: the same bytes). With parallel netCDF (PARALLEL_NETCDF=ON)
#   every rank writes its own steps into the NetCDF file, and the summary line must say so;
#   otherwise rank 0 writes them all. eval, its chunks shared by the ranks,
#   prints the same table and writes the same JSON;
#   train on K ranks writes the same model file twice (bit-identical runs);
#   errors end every rank with the single-process status, no hang (ctest's TIMEOUT).
# Usage: cli_mpi.sh MAUNET MPIEXEC RANKS DATA_DIR [PARALLEL_NETCDF]
set -euo pipefail
maunet=$1 mpiexec=$2 ranks=$3 data=$4 parallel_netcdf=${5:-OFF}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
mpi() { "$mpiexec" --oversubscribe --allow-run-as-root -np "$ranks" "$maunet" "$@"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
ln -s "$data/bcsd_obs_1999.nc" obs.nc

# NetCDF files equal but for the history attribute (its first line is the time of writing).
same_nc() {
    cmp <(ncdump "$1" | grep -v ':history = ' | sed 1d) <(ncdump "$2" | grep -v ':history = ' | sed 1d) ||
        fail "$1 and $2 differ"
}

# regrid: 12 monthly steps in chunks of 2 (6 chunks; with 3 ranks two full rounds, with 5 a partial one)
"$maunet" regrid --in obs.nc --var pr --units mm/month --coarsen --factor 3 --chunk 2 --out coarse1.nc > /dev/null
mpi regrid --in obs.nc --var pr --units mm/month --coarsen --factor 3 --chunk 2 --out coarseK.nc > regrid.log
same_nc coarse1.nc coarseK.nc
[ "$(grep -c 'time steps' regrid.log)" = 1 ] || fail "regrid printed its summary $(grep -c 'time steps' regrid.log) times"
if [ "$parallel_netcdf" = ON ]; then writers="$ranks ranks, each wrote its own steps (parallel netCDF-4)"
else writers="$ranks ranks, rank 0 wrote them in order"; fi
grep -qF "$writers" regrid.log || fail "regrid's summary does not say '$writers': $(cat regrid.log)"
"$maunet" regrid --in coarse1.nc --var pr --method bicubic --factor 3 --chunk 5 --out bicubic1.npy > /dev/null
mpi regrid --in coarse1.nc --var pr --method bicubic --factor 3 --chunk 5 --out bicubicK.npy > regrid_npy.log
cmp bicubic1.npy bicubicK.npy || fail "regrid to .npy differs"
grep -qF "$ranks ranks, rank 0 wrote them in order" regrid_npy.log || fail "regrid to .npy: $(cat regrid_npy.log)"

# train: K ranks twice, bit-identical model files; rank 0 alone writes (one summary line).
train=(train --in obs.nc --var pr --units mm/month --factor 3 --width 4 --levels 2 --epochs 2 --batch 4 --seed 7 --quiet)
mpi "${train[@]}" --out modelK_a.mnet --history historyK.csv > train.log
mpi "${train[@]}" --out modelK_b.mnet > /dev/null
cmp modelK_a.mnet modelK_b.mnet || fail "two trainings on $ranks ranks wrote different models"
[ "$(grep -c '^saved ' train.log)" = 1 ] || fail "train saved $(grep -c '^saved ' train.log) times"
[ -s historyK.csv ] || fail "no history written"

# predict: the same model applied by one process and by K ranks.
"$maunet" predict --model modelK_a.mnet --in coarse1.nc --var pr --chunk 3 --out pred1.nc > /dev/null
mpi predict --model modelK_a.mnet --in coarse1.nc --var pr --chunk 3 --out predK.nc > predict.log
same_nc pred1.nc predK.nc
grep -qF "$writers" predict.log || fail "predict's summary does not say '$writers': $(cat predict.log)"
# MC dropout: the mean, spread and quantiles of 4 samples per field, the same from K ranks.
"$maunet" predict --model modelK_a.mnet --in coarse1.nc --var pr --chunk 2 --samples 4 --out ens1.nc > /dev/null
mpi predict --model modelK_a.mnet --in coarse1.nc --var pr --chunk 2 --samples 4 --out ensK.nc > /dev/null
same_nc ens1.nc ensK.nc
"$maunet" predict --model modelK_a.mnet --in coarse1.nc --var pr --chunk 1 --out pred1.npy > /dev/null
mpi predict --model modelK_a.mnet --in coarse1.nc --var pr --chunk 1 --out predK.npy > /dev/null
cmp pred1.npy predK.npy || fail "predict to .npy differs"

# eval: the ranks share the chunks of 12 monthly steps (chunks of 2: several rounds; 5: a partial
# one; 12: one chunk, the other ranks idle); the same table and the same JSON, to the last bit.
"$maunet" regrid --in coarse1.nc --var pr --method bicubic --factor 3 --out hist.nc > /dev/null
ev=(eval --pred pred1.nc --pred hist.nc --name model --name bicubic --obs obs.nc --obs-var pr --obs-units mm/month --crop)
for c in 2 5 12; do
  "$maunet" "${ev[@]}" --chunk $c --json eval1_$c.json > eval1_$c.txt 2> /dev/null
  mpi "${ev[@]}" --chunk $c --json evalK_$c.json > evalK_$c.txt 2> /dev/null
  cmp <(grep -v '^wrote' eval1_$c.txt) <(grep -v '^wrote' evalK_$c.txt) || fail "eval --chunk $c printed another table"
  cmp eval1_$c.json evalK_$c.json || fail "eval --chunk $c wrote other scores"
done
cmp eval1_2.json eval1_12.json || fail "eval's scores depend on --chunk"
"$maunet" "${ev[@]}" --chunk 2 --scores rmse,r --json one1.json > /dev/null 2>&1
mpi "${ev[@]}" --chunk 2 --scores rmse,r --json oneK.json > /dev/null 2>&1
cmp one1.json oneK.json || fail "eval --scores rmse,r (one pass) differs"

# bc, bc fit, bc apply: tiles of 4 rows (9 tiles: with 2 and 3 ranks full rounds and a partial one)
# spread over the ranks; the same corrected file, the same fit file.
bc=(--obs obs.nc --obs-var pr --obs-units mm/month --sim-hist hist.nc --method qdm --window 31 --tile-rows 4)
"$maunet" bc "${bc[@]}" --out bc1.nc > /dev/null 2>&1
mpi bc "${bc[@]}" --out bcK.nc > bc.log 2> /dev/null
same_nc bc1.nc bcK.nc
[ "$(grep -c 'applied to' bc.log)" = 1 ] || fail "bc printed its summary $(grep -c 'applied to' bc.log) times"
"$maunet" bc fit "${bc[@]}" --out fit1.bcfit > /dev/null 2>&1
mpi bc fit "${bc[@]}" --out fitK.bcfit > /dev/null 2>&1
cmp fit1.bcfit fitK.bcfit || fail "bc fit on $ranks ranks wrote another fit file"
"$maunet" bc apply --fit fit1.bcfit --sim-var pr --sim hist.nc --out apply1.nc --sim hist.nc --out apply1b.npy > /dev/null 2>&1
mpi bc apply --fit fit1.bcfit --sim-var pr --sim hist.nc --out applyK.nc --sim hist.nc --out applyKb.npy > /dev/null 2>&1
same_nc apply1.nc applyK.nc
cmp apply1b.npy applyKb.npy || fail "bc apply to .npy differs"

# Errors: the single-process exit status, one message, no hang.
set +e
mpi predict --model modelK_a.mnet --in missing.nc --var pr --out x.nc > /dev/null 2> missing.err
status=$?
mpi predict --model modelK_a.mnet --in coarse1.nc --var pr --out x.nc --chunk 0 > /dev/null 2> usage.err
usage=$?
set -e
[ "$status" = 1 ] || fail "a missing input gave exit status $status, expected 1"
grep -q "missing.nc" missing.err || fail "no message naming missing.nc: $(cat missing.err)"
[ "$usage" = 2 ] || fail "a usage error gave exit status $usage, expected 2"
[ "$(grep -c 'usage error' usage.err)" = 1 ] || fail "the usage error was printed $(grep -c 'usage error' usage.err) times"
[ ! -e x.nc ] || fail "a failed run left x.nc"
echo "maunet under mpirun -np $ranks: regrid, train, predict, eval, bc and errors as one process"
