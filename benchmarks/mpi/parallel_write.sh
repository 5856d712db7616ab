#!/usr/bin/env bash
# The tool's NetCDF output under mpirun (not a test): `regrid` (bicubic x2; it spends its time
# compressing and writing) and `predict` (a tiny MAUNet-Light x2; it spends its time in the
# network) on DAYS days of NY x NX, by one process (all cores as threads), by 2 ranks that each
# write their own steps (parallel netCDF-4), and by 2 ranks whose steps rank 0 gathers and
# writes (a tool built with -DMAUNET_WITH_PARALLEL_NETCDF=OFF). Checks that every output holds
# the same float bits as one process's (python3-netcdf4), then prints a markdown table of the
# wall times (median and range of REPEAT runs).
#   usage: benchmarks/mpi/parallel_write.sh MAUNET_PARALLEL MAUNET_GATHER [WORKDIR]
#   environment: DAYS (730), NY (200), NX (200), REPEAT (3), PYTHON (python3)
# Needs: g++, netCDF-C, mpirun, python3 with netCDF4 and numpy (Debian: python3-netcdf4).
set -euo pipefail
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
parallel_tool=$(abs "$1")
gather_tool=$(abs "$2")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${3:-$(mktemp -d "${TMPDIR:-/tmp}/maunet_parallel_write.XXXXXX")}
[ -n "${3:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work" && cd "$work"
DAYS=${DAYS:-730} NY=${NY:-200} NX=${NX:-200} REPEAT=${REPEAT:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

g++ -O2 -std=c++17 -DMAUNET_HAVE_NETCDF=1 -I"$repo/include" -I/usr/include/eigen3 \
  "$repo/benchmarks/climate_scale/generate.cpp" -o generate -lnetcdf -fopenmp
./generate obs.nc --days "$DAYS" --ny "$NY" --nx "$NX" --seed 1 >&2
"$parallel_tool" regrid --in obs.nc --var pr --coarsen --factor 2 --out coarse.nc > /dev/null
# The network only has to exist: one epoch of 32 x 32 patches (the point is the writing, not the skill).
"$parallel_tool" train --in obs.nc --var pr --factor 2 --model maunet-light --width 4 --levels 2 --epochs 1 \
  --patch 32 --batch 4 --quiet --out tiny.mnet > /dev/null

# seconds COMMAND...: the wall time of one run.
seconds() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > /dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
}
run() {  # run NAME COMMAND...: REPEAT times into NAME.times
  local name=$1
  shift
  : > "$name.times"
  for _ in $(seq "$REPEAT"); do seconds "$@" >> "$name.times"; done
}
for cmd in regrid predict; do
  if [ $cmd = regrid ]; then args=(regrid --in obs.nc --var pr --factor 2 --method bicubic)
  else args=(predict --model tiny.mnet --in coarse.nc --var pr); fi
  run "${cmd}_one" "$parallel_tool" "${args[@]}" --out "${cmd}_one.nc"
  run "${cmd}_parallel" mpirun -np 2 "$parallel_tool" "${args[@]}" --out "${cmd}_parallel.nc"
  run "${cmd}_gather" mpirun -np 2 "$gather_tool" "${args[@]}" --out "${cmd}_gather.nc"
done

"${PYTHON:-python3}" - <<'EOF'
import netCDF4, numpy as np
for cmd in ("regrid", "predict"):
    ref = netCDF4.Dataset(f"{cmd}_one.nc"); ref.set_auto_mask(False)
    for way in ("parallel", "gather"):
        d = netCDF4.Dataset(f"{cmd}_{way}.nc"); d.set_auto_mask(False)
        a, b = ref["pr"][:], d["pr"][:]
        assert a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32)), f"{cmd} {way} differs"
        assert np.array_equal(ref["time"][:], d["time"][:]), f"{cmd} {way}: other times"
print("every output holds one process's bits")
EOF

stats() { sort -n "$1.times" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
  printf "%.1f (%.1f-%.1f)", m, v[1], v[NR] }'; }
echo
echo "| $DAYS days of $NY x $NX, seconds: median (range of $REPEAT) | regrid bicubic x2 | predict (MAUNet-Light x2) |"
echo "|---|---|---|"
echo "| 1 process x $(nproc) threads | $(stats regrid_one) | $(stats predict_one) |"
echo "| 2 ranks, each writes its steps (parallel netCDF-4) | $(stats regrid_parallel) | $(stats predict_parallel) |"
echo "| 2 ranks, rank 0 gathers and writes | $(stats regrid_gather) | $(stats predict_gather) |"
