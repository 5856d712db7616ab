#!/usr/bin/env bash
# Static predictors end to end with the `maunet` tool: `train --static` samples an elevation
# field given on another latitude-longitude grid (descending latitudes, longitudes 0..360)
# onto the observations' grid, stores it in the model (`info` lists it), `predict` then needs
# precipitation alone, `distill` hands it to the student; and each refusal with its message.
#   usage: tests/cli/static.sh MAUNET_BINARY   (run by ctest as "cli: static predictors")
source "$(dirname "${BASH_SOURCE[0]}")/preamble.sh"
# expect STATUS TEXT COMMAND ARGS...: maunet COMMAND ARGS exits with STATUS and says TEXT on stderr.
expect() {
  local status=$1 text=$2
  shift 2
  "$maunet" "$@" > out.txt 2> err.txt
  local got=$?
  { [ "$got" = "$status" ] && grep -qF -- "$text" err.txt; } ||
    fail "$* gave status $got (expected $status) and said: $(cat err.txt) (expected '$text')"
}

# CDL -> NetCDF with ncgen (netcdf-bin). Precipitation: 8 days on a 16 x 16 grid of 0.1 degree
# (35.05 .. 36.55 N, 80.05 .. 78.55 W). Elevation: 0.25 degree, 30 .. 40 N from north to south,
# 260 .. 300 E, z = 100 lat + 10 lon (in degrees east of 0..360), missing at one corner cell.
python3 - << 'EOF'
import math
ny = nx = 16
lat = [35.05 + 0.1 * i for i in range(ny)]
lon = [-80.05 + 0.1 * j for j in range(nx)]
pr = [max(0.0, 5 + 4 * math.sin(0.7 * i + 0.3 * t) * math.cos(0.5 * j - 0.2 * t)) for t in range(8) for i in range(ny) for j in range(nx)]
with open("pr.cdl", "w") as f:
    f.write("netcdf pr {\ndimensions:\n time = UNLIMITED ; lat = %d ; lon = %d ;\nvariables:\n" % (ny, nx))
    f.write(' double time(time) ; time:units = "days since 2000-01-01" ; time:calendar = "standard" ;\n')
    f.write(' double lat(lat) ; lat:units = "degrees_north" ;\n double lon(lon) ; lon:units = "degrees_east" ;\n')
    f.write(' float pr(time, lat, lon) ; pr:units = "mm/day" ;\ndata:\n')
    f.write(" time = %s ;\n lat = %s ;\n lon = %s ;\n pr = %s ;\n}\n" % (
        ", ".join(str(t) for t in range(8)), ", ".join("%.2f" % v for v in lat), ", ".join("%.2f" % v for v in lon),
        ", ".join("%.4f" % v for v in pr)))
def elevation(path, north):  # 0.25 degree, `north` .. north - 10 N from north to south, 260 .. 300 E
    elat = [north - 0.25 * i for i in range(41)]
    elon = [260 + 0.25 * j for j in range(161)]
    z = [100 * a + 10 * b for a in elat for b in elon]
    z[0] = "_"  # a missing cell, far from the precipitation grid
    with open(path, "w") as f:
        f.write("netcdf elev {\ndimensions:\n lat = 41 ; lon = 161 ;\nvariables:\n")
        f.write(' double lat(lat) ; lat:units = "degrees_north" ;\n double lon(lon) ; lon:units = "degrees_east" ;\n')
        f.write(' float elevation(lat, lon) ; elevation:units = "m" ; elevation:_FillValue = -9999.f ;\n')
        f.write(' float other(lat, lon) ; other:units = "1" ;\ndata:\n')
        f.write(" lat = %s ;\n lon = %s ;\n elevation = %s ;\n other = %s ;\n}\n" % (
            ", ".join(str(v) for v in elat), ", ".join(str(v) for v in elon), ", ".join(str(v) for v in z),
            ", ".join("1" for v in z)))
elevation("elev.cdl", 40.0)
elevation("far.cdl", 60.0)  # misses the precipitation grid
# .npy files by hand (numpy is not needed): coarse fields 2 x 8 x 8 and 2 x 4 x 4 of 3 mm/day.
import struct
def npy(path, shape, value):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join("%d, " % n for n in shape)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    count = 1
    for n in shape: count *= n
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + struct.pack("<%df" % count, *([value] * count)))
npy("coarse.npy", (2, 8, 8), 3.0)
npy("small.npy", (2, 4, 4), 3.0)
EOF
ncgen -o pr.nc pr.cdl && ncgen -o elev.nc elev.cdl && ncgen -o far.nc far.cdl || fail "ncgen could not write the test files"
small=(--in pr.nc --var pr --factor 2 --width 2 --levels 1 --epochs 2 --threads 1 --quiet)

# Training with elevation: the model carries it and predict needs precipitation alone.
"$maunet" train "${small[@]}" --static elev.nc --out m.mnet > train.txt 2> train.err || fail "train --static: $(cat train.err)"
grep -q "static predictor elevation" train.txt || fail "train does not name the static predictor: $(head -1 train.txt)"
"$maunet" info m.mnet > info.txt 2>&1 || fail "info: $(cat info.txt)"
grep -q "static predictor  elevation (input channel 1" info.txt || fail "info does not list the static predictor: $(cat info.txt)"
grep -q "training grid     16 x 16" info.txt || fail "info does not give the training grid: $(cat info.txt)"
"$maunet" predict --model m.mnet --in coarse.npy --out fine.npy > p.txt 2> p.err || fail "predict with static predictors: $(cat p.err)"
python3 -c "
import math, struct, sys
b = open('fine.npy', 'rb').read()
n = struct.unpack('<H', b[8:10])[0]
header, data = b[10:10 + n].decode(), b[10 + n:]
v = struct.unpack('<%df' % (len(data) // 4), data)
sys.exit(0 if '(2, 16, 16)' in header and len(v) == 512 and all(math.isfinite(x) for x in v) else 1)
" || fail "predict with static predictors gave no finite 2 x 16 x 16 output"
# The variable named explicitly, two static predictors (input channels 1 and 2).
"$maunet" train "${small[@]}" --static elev.nc:elevation --static elev.nc:other --out m2.mnet > two.txt 2> two.err ||
  fail "train with two static predictors: $(cat two.err)"
"$maunet" info m2.mnet | grep -q "static predictor  other (input channel 2" || fail "the second static predictor is not listed"

# The student of distill takes its teacher's static predictors.
"$maunet" distill --teacher m.mnet --in pr.nc --var pr --epochs 1 --refine-epochs 1 --threads 1 --quiet --out s.mnet \
  > d.txt 2> d.err || fail "distill from a teacher with static predictors: $(cat d.err)"
"$maunet" info s.mnet | grep -q "static predictor  elevation (input channel 1" || fail "the student lacks the static predictor"

# Refusals.
expect 1 "static predictors (elevation) are on its 16 x 16 training grid" predict --model m.mnet --in small.npy --out x.npy
expect 1 "no variable elevation, orog, z, topo or height" train "${small[@]}" --static pr.nc --out x.mnet
expect 1 "does not cover the cell" train "${small[@]}" --static far.nc --out x.mnet
expect 1 "a .npy has none" train "${small[@]}" --static coarse.npy --out x.mnet
expect 1 "static predictors need --in" train --factor 2 --width 2 --levels 1 --epochs 1 --quiet --static elev.nc --out x.mnet
[ ! -e x.mnet ] && [ ! -e x.npy ] || fail "a refused run left an output"
cp elev.nc elev_copy.nc
expect 1 "is the same file as the input 'elev_copy.nc'" train "${small[@]}" --static elev_copy.nc --out elev_copy.nc
cmp -s elev.nc elev_copy.nc || fail "train --out overwrote its --static file"

finish "static predictors"
