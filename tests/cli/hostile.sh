#!/usr/bin/env bash
# The `maunet` tool on hostile input and misuse: every case must end with the documented exit
# status (1 data/file error, 2 usage error) and a message naming the file or the flag, and must
# leave the user's files intact.
#   usage: tests/cli/hostile.sh MAUNET_BINARY   (run by ctest as "cli: hostile input")
set -u
maunet=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
regressions="$here/../fuzz/regressions/checkpoint"
data="$here/../data"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
failures=0

# expect STATUS TEXT COMMAND...: runs the command, checks its exit status and that stderr
# contains TEXT (and never an internal function name or "unexpected error").
expect() {
  local status=$1 text=$2
  shift 2
  "$@" > stdout.txt 2> stderr.txt
  local got=$?
  if [ "$got" -ne "$status" ] || { [ -n "$text" ] && ! grep -qF -- "$text" stderr.txt; } || grep -qE "unexpected error|stoul|stod|::[a-z_]+:" stderr.txt; then
    echo "FAILED (status $got, expected $status and '$text'): ${*#$maunet}" >&2
    head -c 2000 stderr.txt >&2
    failures=$((failures + 1))
  else
    echo "ok [$got] maunet${*#$maunet}"
    echo "     $(head -1 stderr.txt | head -c 300)"
  fi
}
# same FILE COPY: the file is unchanged.
same() {
  if ! cmp -s "$1" "$2"; then
    echo "FAILED: '$1' was changed" >&2
    failures=$((failures + 1))
  fi
}

python3 "$here/make_netcdf.py" obs.nc --ny 8 --nx 8 --records 4
cp obs.nc obs.copy
"$maunet" train --synthetic-size 16 --synthetic-fields 6 --epochs 1 --width 2 --levels 1 --threads 1 --quiet \
  --out model.mnet > /dev/null || { echo "FAILED: cannot train the small model" >&2; exit 1; }
cp model.mnet model.copy
"$maunet" regrid --in obs.nc --var pr --factor 1 --method nearest --out field.npy > /dev/null
cp field.npy field.copy

echo "-- outputs that would destroy an input or a special file (status 1)"
expect 1 "is the same file as the input 'model.mnet'" "$maunet" predict --model model.mnet --in field.npy --out model.mnet
expect 1 "is the same file as the input 'field.npy'" "$maunet" predict --model model.mnet --in field.npy --out field.npy
expect 1 "is the same file as the input 'obs.nc'" "$maunet" regrid --in obs.nc --var pr --factor 2 --out obs.nc
ln obs.nc hardlink.nc
expect 1 "is the same file as the input 'obs.nc'" "$maunet" regrid --in obs.nc --var pr --factor 2 --out hardlink.nc
expect 1 "is the same file as the input" "$maunet" regrid --in obs.nc --var pr --factor 2 --out ./obs.nc
expect 1 "is the same file as the input" "$maunet" bc --obs obs.nc --obs-var pr --sim-hist field.npy --out field.npy
expect 1 "is the same file as the input" "$maunet" train --in obs.nc --var pr --factor 2 --epochs 1 --out obs.nc
expect 1 "is the same file as the input" "$maunet" train --in obs.nc --var pr --factor 2 --epochs 1 --out m.mnet --history obs.nc
expect 1 "is the same file as the input" "$maunet" distill --teacher model.mnet --epochs 1 --out model.mnet
expect 1 "is the same file as the input" "$maunet" eval --pred field.npy --obs obs.nc --obs-var pr --json obs.nc
expect 1 "is the same file as the input" "$maunet" plot --in field.npy --out field.npy
python3 "$here/make_netcdf.py" mask.nc --ny 8 --nx 8 --records 1
cp mask.nc mask.copy
expect 1 "is the same file as the input 'mask.nc'" "$maunet" regrid --in field.npy --factor 1 --mask mask.nc:pr --out mask.nc
expect 1 "is the same file as the input 'mask.nc'" "$maunet" predict --model model.mnet --in field.npy --mask mask.nc --out mask.nc
expect 1 "is the same file as the input 'mask.nc'" "$maunet" bc --obs field.npy --sim-hist field.npy --mask mask.nc:pr --out mask.nc
expect 1 "refusing to write 'h.csv' twice" "$maunet" train --epochs 1 --synthetic-size 16 --out h.csv --history h.csv
ln -s obs.nc link.nc
expect 1 "it is a symbolic link" "$maunet" regrid --in field.npy --factor 2 --out link.nc
mkfifo fifo.npy
expect 1 "it exists and is a FIFO" "$maunet" regrid --in field.npy --factor 2 --out fifo.npy
expect 1 "it exists and is a device" "$maunet" regrid --in field.npy --factor 2 --out /dev/null
same obs.nc obs.copy
same model.mnet model.copy
same field.npy field.copy
same mask.nc mask.copy
[ -p fifo.npy ] && [ -L link.nc ] || { echo "FAILED: the FIFO or the link was replaced" >&2; failures=$((failures + 1)); }

echo "-- usage errors (status 2)"
expect 2 "--threads: Value 50000 not in range" "$maunet" predict --model model.mnet --in field.npy --out p.npy --threads 50000
expect 2 "--threads: Value 70000 not in range" "$maunet" train --epochs 1 --out t.mnet --threads 70000
expect 2 "--threads: Value -1 not in range" "$maunet" demo --threads -1
expect 2 "--factor: Value 1000 not in range" "$maunet" regrid --in field.npy --factor 1000 --out r.npy
expect 2 "--factor: Value 0 not in range" "$maunet" train --factor 0 --out t.mnet
expect 2 "--transform: sqrt not in {log1p,linear}" "$maunet" train --epochs 1 --out t.mnet --transform sqrt
expect 2 "--quantiles: Value 1000000000 not in range" "$maunet" bc --obs field.npy --sim-hist field.npy --out b.npy --quantiles 1000000000
expect 2 "--obs-var is required" "$maunet" bc --obs obs.nc --sim-hist obs.nc --out b.nc
expect 2 "--var is required" "$maunet" regrid --in obs.nc --factor 2 --out r.nc
expect 2 "--out is required" "$maunet" regrid --in obs.nc --var pr
expect 2 "--factor: Value two not in range" "$maunet" regrid --in obs.nc --var pr --factor two --out r.nc
expect 2 "maunet: usage error" "$maunet" regrid --no-such-flag
expect 2 "--patches-per-field: needs --patch" "$maunet" train --epochs 1 --out t.mnet --patches-per-field 4
expect 2 "--rainy-fraction: needs --patch" "$maunet" train --epochs 1 --out t.mnet --rainy-fraction 0.5
expect 2 "--rainy-fraction: Value 2 not in range" "$maunet" train --epochs 1 --out t.mnet --patch 8 --rainy-fraction 2
expect 2 "maunet: usage error" "$maunet"

echo "-- hostile model files (status 1, the file named)"
expect 1 "product of its extents overflows" "$maunet" info "$regressions/selftest_extents_wrap_to_zero.mnet"
expect 1 "'base_width': expected an integer in [1, 1024], found 3000" "$maunet" info "$regressions/base_width_3000.mnet"
expect 1 "parameters" "$maunet" info "$regressions/base_width_1000_small_file.mnet"
expect 1 "base_width_1000_small_file.mnet" "$maunet" info "$regressions/base_width_1000_small_file.mnet"
expect 1 "expected a value, found 'N'" "$maunet" info "$regressions/levels_nan.mnet"
expect 1 "'levels': expected an integer in [1, 8], found -2147483648" "$maunet" info "$regressions/levels_int_min.mnet"
expect 1 "nested arrays and objects" "$maunet" info "$regressions/header_deep_nesting.mnet"
expect 1 "expected a hex digit in a \\u escape, found 'Z'" "$maunet" info "$regressions/header_bad_escape.mnet"
expect 1 "holds non-finite values" "$maunet" info "$regressions/nan_weight_no_selftest.mnet"
expect 1 "holds non-finite values" "$maunet" predict --model "$regressions/nan_weight_no_selftest.mnet" --in field.npy --out p.npy
for factor in 0 -3 1000000 2.5 1e300; do
  python3 - "$factor" <<'PY'
import struct, sys, zlib
b = open("model.mnet", "rb").read()
n = struct.unpack("<Q", b[16:24])[0]
h = b[24:24 + n].replace(b'"factor": 4', b'"factor": ' + sys.argv[1].encode())
out = b[:16] + struct.pack("<Q", len(h)) + h + b[24 + n:]
out = out[:-4] + struct.pack("<I", zlib.crc32(out[:-4]) & 0xFFFFFFFF)
open("factor.mnet", "wb").write(out)
PY
  expect 1 "'factor': expected an integer in [1, 64]" "$maunet" info factor.mnet
done

echo "-- hostile arrays and NetCDF files (status 1, the file named)"
cp "$here/../fuzz/regressions/npy/zero_by_2e47_by_2e47.npy" huge.npy
expect 1 "huge.npy" "$maunet" predict --model model.mnet --in huge.npy --out p.npy
python3 "$here/make_netcdf.py" lies.nc --records 1 --records-declared 1000000000
expect 1 "'lies.nc' variable 'pr': the declared size (time 1000000000 x y 4 x x 5) is more than a file of" \
  "$maunet" regrid --in lies.nc --var pr --factor 2 --out r.nc
python3 "$here/make_netcdf.py" calendar.nc --calendar julian_or_so
expect 1 "'calendar.nc' time variable 'time': calendar 'julian_or_so' is not supported" \
  "$maunet" regrid --in calendar.nc --var pr --factor 2 --out r.nc
python3 "$here/make_netcdf.py" units.nc --time-units "days since yesterday"
expect 1 "'units.nc' time variable 'time': time units 'days since yesterday' cannot be parsed" \
  "$maunet" regrid --in units.nc --var pr --factor 2 --out r.nc
if "$maunet" plot --help > /dev/null 2>&1; then
  python3 "$here/make_netcdf.py" longunits.nc --units-length 3000000
  # Not a unit: refused naming the file, the attribute quoted in a few characters only.
  expect 1 "'longunits.nc' variable 'pr'" "$maunet" plot --in longunits.nc --var pr --out plot.png
  [ "$(wc -c < stderr.txt)" -lt 1000 ] || { echo "FAILED: the message quotes the whole attribute" >&2; failures=$((failures + 1)); }
  expect 0 "" "$maunet" plot --in longunits.nc --var pr --units mm/day --out plot.png
fi

echo "-- temporaries of a killed run are removed by the next run"
touch r.npy.tmp.999999999.0123456789abcdef
expect 0 "removed '" "$maunet" regrid --in field.npy --factor 2 --out r.npy
[ -e r.npy.tmp.999999999.0123456789abcdef ] && { echo "FAILED: the stale temporary is still there" >&2; failures=$((failures + 1)); }

if [ "$failures" -ne 0 ]; then
  echo "$failures case(s) FAILED" >&2
  exit 1
fi
echo "all cases passed"
