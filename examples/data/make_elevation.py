#!/usr/bin/python3
"""Writes elevation_eastern_us_prism_4km.nc from the PRISM elevation that Debian's
r-cran-fields ships (fields/data/PRISMelevation.rda), without R:

    apt-get download r-cran-fields && dpkg-deb -x r-cran-fields_*.deb x
    python3 make_elevation.py x/usr/lib/R/site-library/fields/data/PRISMelevation.rda out.nc

Needs python3-netcdf4 and python3-numpy (Debian). The .rda is R's XDR serialization (version 2,
bzip2-compressed) of a list (x, y, z): x the longitudes (1405, -125 .. -66.5 step 1/24 degree),
y the latitudes (621, 24.08 .. 49.92), z the elevation in metres, column-major
(z[i + 1405 j] at x[i], y[j]), NA (a NaN) outside the land. The region 25..50 N, 100..65 W is
cut out and written as float32, south to north, missing cells as _FillValue 1e20.
"""
import bz2
import gzip
import struct
import sys

import numpy as np
from netCDF4 import Dataset


class XdrReader:
    """Just enough of R's serialization for lists of numeric vectors with attributes."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def int(self):
        (v,) = struct.unpack(">i", self.data[self.at:self.at + 4])
        self.at += 4
        return v

    def item(self):
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind in (242, 251, 252, 253, 254):  # empty environment, missing arg, base env, global env, NULL
            return None
        if kind == 1:  # symbol
            return self.item()
        if kind == 9:  # CHARSXP
            n = self.int()
            if n < 0:
                return None
            s = self.data[self.at:self.at + n].decode("latin1")
            self.at += n
            return s
        if kind == 2:  # pairlist (attributes): [(tag, value), ...]
            attrs = self.item() if has_attr else None
            tag = self.item() if has_tag else None
            head, tail = self.item(), self.item()
            return [(tag, head)] + (tail if isinstance(tail, list) else [])
        if kind in (10, 13, 14):  # logical, integer, double vectors
            n = self.int()
            fmt, size = (">%dd" % n, 8) if kind == 14 else (">%di" % n, 4)
            v = np.array(struct.unpack(fmt, self.data[self.at:self.at + size * n]))
            self.at += size * n
            attrs = self.item() if has_attr else None
            return v
        if kind in (16, 19):  # character vector, list
            n = self.int()
            v = [self.item() for _ in range(n)]
            attrs = self.item() if has_attr else None
            return (v, dict(attrs or []))
        raise ValueError("unsupported R object of type %d at byte %d" % (kind, self.at))


def load_rda(path):
    raw = open(path, "rb").read()
    data = bz2.decompress(raw) if raw[:3] == b"BZh" else gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    if data[:7] != b"RDX2\nX\n":
        raise ValueError(path + ": not an R XDR data file (version 2)")
    r = XdrReader(data[7:])
    r.int(), r.int(), r.int()  # format version, R version, oldest R that reads it
    return dict((name, value) for name, value in r.item())  # the file's objects by name


def main(rda, out):
    values, attrs = load_rda(rda)["PRISMelevation"]
    names = attrs["names"][0]
    x, y, z = (values[names.index(k)] for k in ("x", "y", "z"))
    z = z.reshape(len(y), len(x))  # column-major [x, y] read as row-major [y, x]
    rows = np.where((y >= 25.0) & (y <= 50.0))[0]
    cols = np.where((x >= -100.0) & (x <= -65.0))[0]
    with Dataset(out, "w", format="NETCDF4") as nc:
        nc.createDimension("lat", len(rows))
        nc.createDimension("lon", len(cols))
        lat = nc.createVariable("lat", "f8", ("lat",))
        lat.units, lat.standard_name = "degrees_north", "latitude"
        lat[:] = y[rows]
        lon = nc.createVariable("lon", "f8", ("lon",))
        lon.units, lon.standard_name = "degrees_east", "longitude"
        lon[:] = x[cols]
        e = nc.createVariable("elevation", "f4", ("lat", "lon"), zlib=True, complevel=4, fill_value=np.float32(1e20))
        e.units, e.standard_name = "m", "surface_altitude"
        e.long_name = "PRISM digital elevation (about 4 km), eastern United States"
        cut = z[np.ix_(rows, cols)]
        e[:] = np.ma.masked_invalid(cut.astype(np.float32))
        nc.Conventions = "CF-1.8"
        nc.source = ("PRISMelevation of the R package fields 14.1 (Debian r-cran-fields 14.1-1): "
                     "PRISM Climate Group, Oregon State University")
        nc.history = "cut to 25-50N, 100-65W from fields/data/PRISMelevation.rda (examples/data/make_elevation.py)"


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: make_elevation.py PRISMelevation.rda OUT.nc")
    main(sys.argv[1], sys.argv[2])
