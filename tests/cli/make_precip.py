#!/usr/bin/env python3
"""Writes a small classic-format (CDF-1) netCDF file of daily precipitation by hand, for the
CLI's streaming and tiling tests: pr(time, lat, lon) with gamma-distributed wet days, dry days,
missing cells and NaN, lat/lon coordinates and a daily time axis. Standard library only.

usage: make_precip.py OUT [--ny N] [--nx N] [--days N] [--seed S] [--scale A] [--shift B]
                          [--units TEXT] [--start YYYY-MM-DD] [--calendar TEXT] [--lat0 X]
                          [--first-day K] [--north-to-south]
--first-day K writes days K .. K + N - 1 of the series that starts on --start (the same values
as those days of a file written from day 0, time values K, K + 1, ...: a year of an archive);
--north-to-south stores the rows from north to south (latitude descending), values unchanged.
A wet value is A * gamma(0.8, 6) + B (mm/day); the cell (0, 0) is missing throughout (as
_FillValue), every 17th value is NaN, about 40% of the days are dry (0)."""
import argparse
import math
import random
import struct

from make_netcdf import attributes, name


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--ny", type=int, default=6)
    p.add_argument("--nx", type=int, default=7)
    p.add_argument("--days", type=int, default=800)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--shift", type=float, default=0.0)
    p.add_argument("--units", default="mm/day")
    p.add_argument("--start", default="2000-01-01")
    p.add_argument("--calendar", default="standard")
    p.add_argument("--lat0", type=float, default=40.0)
    p.add_argument("--first-day", type=int, default=0)
    p.add_argument("--north-to-south", action="store_true")
    a = p.parse_args()
    rng = random.Random(a.seed)
    fill = 1.0e20

    def var_header(vname, dims, atts, nc_type, vsize, begin):
        return (name(vname) + struct.pack(">I", len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
                + attributes(atts) + struct.pack(">III", nc_type, vsize, begin))

    def header(lat_begin, lon_begin, time_begin, pr_begin):
        h = b"CDF\x01" + struct.pack(">I", a.days)
        h += struct.pack(">II", 0x0A, 3) + name("time") + struct.pack(">I", 0)
        h += name("lat") + struct.pack(">I", a.ny) + name("lon") + struct.pack(">I", a.nx)
        h += b"\0" * 8  # no global attributes
        h += struct.pack(">II", 0x0B, 4)
        h += var_header("lat", [1], [("units", "degrees_north")], 6, 8 * a.ny, lat_begin)
        h += var_header("lon", [2], [("units", "degrees_east")], 6, 8 * a.nx, lon_begin)
        h += var_header("time", [0], [("units", "days since " + a.start), ("calendar", a.calendar)], 6, 8, time_begin)
        pr = name("pr") + struct.pack(">IIII", 3, 0, 1, 2)
        pr += struct.pack(">II", 0x0C, 2) + name("units") + struct.pack(">II", 2, len(a.units.encode()))
        pr += a.units.encode() + b"\0" * ((4 - len(a.units.encode()) % 4) % 4)
        pr += name("_FillValue") + struct.pack(">II", 5, 1) + struct.pack(">f", fill)
        pr += struct.pack(">III", 5, a.ny * a.nx * 4, pr_begin)
        return h + pr

    size = len(header(0, 0, 0, 0))
    lat_begin = size
    lon_begin = lat_begin + 8 * a.ny
    rec_begin = lon_begin + 8 * a.nx
    h = header(lat_begin, lon_begin, rec_begin, rec_begin + 8)
    rows = list(range(a.ny))[::-1] if a.north_to_south else list(range(a.ny))
    body = b"".join(struct.pack(">d", a.lat0 + 0.5 * j) for j in rows)
    body += b"".join(struct.pack(">d", 10.0 + 0.5 * i) for i in range(a.nx))
    k = 0
    for t in range(a.first_day + a.days):
        values = []
        for c in range(a.ny * a.nx):
            k += 1
            if c == 0:
                v = fill
            elif k % 17 == 0:
                v = math.nan
            elif rng.random() < 0.4 + 0.2 * math.sin(2 * math.pi * t / 365.25):
                v = 0.0
            else:
                v = a.scale * rng.gammavariate(0.8, 6.0) + a.shift
            values.append(v)
        if t < a.first_day:
            continue
        body += struct.pack(">d", float(t))
        body += b"".join(struct.pack(">f", values[j * a.nx + i]) for j in rows for i in range(a.nx))
    with open(a.out, "wb") as f:
        f.write(h + body)


if __name__ == "__main__":
    main()
