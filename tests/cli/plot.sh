#!/usr/bin/env bash
# `maunet plot` end to end on the shipped real files: every PNG decodes (zlib stream of the
# stated size), axes make the picture larger than the same field without coordinates (.npy),
# --diff adds panels (the picture grows, the count is printed), the coastline file used is
# printed, and misuse exits 2 naming the flag.
#   usage: tests/cli/plot.sh MAUNET_BINARY   (run by ctest as "cli: plot")
source "$(dirname "${BASH_SOURCE[0]}")/preamble.sh"

# "WIDTH HEIGHT" of a PNG after checking that its image data inflates to the size the header states.
png_size() {
  python3 - "$1" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width, height = 8, b"", 0, 0
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and colour == 2, "expected 8-bit RGB"
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
assert len(zlib.decompress(idat)) == height * (1 + 3 * width), "image data of the wrong size"
print(width, height)
PY
}

bcsd="$data/bcsd_obs_1999.nc"
common=(--var pr --units mm/month --time 9 --scale 4)
"$maunet" plot --in "$bcsd" "${common[@]}" --out one.png > one.txt || fail "plot of one file failed"
read -r w1 h1 < <(png_size one.png) || fail "one.png does not decode"
if [ -e /usr/share/gmt-gshhg/binned_GSHHS_l.nc ]; then
  grep -q "^coastlines: /usr/share/gmt-gshhg/binned_GSHHS_l.nc$" one.txt || fail "the coastline file is not named: $(cat one.txt)"
else
  grep -q "^coastlines: none" one.txt || fail "no coastline file installed, yet: $(cat one.txt)"
fi
"$maunet" plot --in "$bcsd" "${common[@]}" --coastlines none --out none.png | grep -q "^coastlines: none (--coastlines none)$" ||
  fail "--coastlines none is not reported"

# The same 33 x 81 values without coordinates: no axes, so a smaller picture.
python3 - <<'PY'
import struct
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 33, 81), }"
header += " " * (63 - (10 + len(header)) % 64) + "\n"
with open("plain.npy", "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<f", 2.0) * (33 * 81))
PY
"$maunet" plot --in plain.npy --scale 4 --out plain.png > plain.txt || fail "plot of a .npy failed"
grep -q "^coastlines: none (the grid has no longitudes and latitudes)$" plain.txt || fail "npy: $(cat plain.txt)"
read -r wp hp < <(png_size plain.png) || fail "plain.png does not decode"
[ "${w1:-0}" -gt "${wp:-0}" ] && [ "${h1:-0}" -gt "${hp:-0}" ] ||
  fail "the lon/lat picture ($w1 x $h1) is not larger than the one without axes ($wp x $hp)"

# --diff: one more panel and colour bar.
"$maunet" plot --compare "$bcsd" "$bcsd" "${common[@]}" --titles a b --out two.png > /dev/null || fail "--compare failed"
"$maunet" plot --compare "$bcsd" "$bcsd" "${common[@]}" --titles a b --diff --out diff.png > diff.txt || fail "--diff failed"
grep -q "(3 panel(s), 33 x 81" diff.txt || fail "--diff does not report 3 panels: $(cat diff.txt)"
read -r w2 h2 < <(png_size two.png) || fail "two.png does not decode"
read -r wd hd < <(png_size diff.png) || fail "diff.png does not decode"
[ "${wd:-0}" -gt "${w2:-0}" ] && [ "${hd:-0}" -eq "${h2:-1}" ] || fail "--diff: $wd x $hd against $w2 x $h2 without"

# Stage IV (curvilinear, 2-D lat/lon): degrees at the edges and coastlines too. Its units, kg m^-2
# per step, take the step (an hour) from the file's time axis, though one step is drawn.
"$maunet" plot --in "$data/stageiv_florence_2018.nc" --var Total_precipitation_surface_1_Hour_Accumulation \
  --time 20 --out florence.png > florence.txt || fail "plot of the Stage IV file failed"
png_size florence.png > /dev/null || fail "florence.png does not decode"

# Misuse: exit 2 naming the flag.
expect() {
  local want="$1" text="$2"
  shift 2
  "$@" > out.txt 2> err.txt
  local got=$?
  [ "$got" -eq "$want" ] || fail "exit $got instead of $want: $*: $(cat err.txt)"
  grep -qF -- "$text" err.txt || fail "no '$text' in the message of: $*: $(cat err.txt)"
}
# A static predictor (the shipped elevation, in m, standard_name surface_altitude) is drawn in
# its own units; beside precipitation it is refused (one colour scale for both makes no sense).
elevation="$here/../../examples/data/elevation_eastern_us_prism_4km.nc"
"$maunet" plot --in "$elevation" --var elevation --coastlines none --out elevation.png > elevation.txt 2> elevation.err ||
  fail "plot of the elevation field: $(cat elevation.err)"
png_size elevation.png > /dev/null || fail "elevation.png does not decode"
grep -q "^wrote elevation.png (1 panel(s), 599 x 805" elevation.txt || fail "elevation plot: $(cat elevation.txt)"
expect 2 "--diff" "$maunet" plot --in "$bcsd" "${common[@]}" --diff --out bad.png
expect 2 "--coastlines" "$maunet" plot --in plain.npy --coastlines "$bcsd" --out bad.png
expect 1 "no-such-coast.nc" "$maunet" plot --in "$bcsd" "${common[@]}" --coastlines no-such-coast.nc --out bad.png
expect 1 "is not a binned GSHHG file" "$maunet" plot --in "$bcsd" "${common[@]}" --coastlines "$bcsd" --out bad.png
printf 'netcdf rain { dimensions: lat = 2 ; lon = 2 ;\nvariables: double lat(lat) ; lat:units = "degrees_north" ;
 double lon(lon) ; lon:units = "degrees_east" ; float elevation(lat, lon) ; elevation:units = "mm/day" ;
data: lat = 30, 31 ; lon = -90, -89 ; elevation = 0, 1, 2, 3 ; }\n' > rain.cdl
ncgen -o rain.nc rain.cdl || fail "ncgen could not write rain.nc"
expect 1 "side by side panels share one colour scale" "$maunet" plot --compare "$elevation" rain.nc \
  --var elevation --out bad.png
[ -e bad.png ] && fail "a failed plot left bad.png"

finish "plot"
