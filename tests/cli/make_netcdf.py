#!/usr/bin/env python3
"""Writes small classic-format (CDF-1) netCDF files by hand, for the CLI's hostile-input test:
a float field pr(time, y, x) with a time coordinate. Standard library only.

usage: make_netcdf.py OUT [--records-declared N] [--units TEXT | --units-length N] [--time-units TEXT]
                          [--calendar TEXT] [--ny N] [--nx N] [--records N] [--scale X]
--records-declared writes N as the record count of the header while the file holds only
--records records (a file that lies about its size)."""
import argparse
import struct


def padded(b):
    return b + b"\0" * ((4 - len(b) % 4) % 4)


def name(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + padded(b)


def text_attribute(key, value):
    b = value.encode()
    return name(key) + struct.pack(">II", 2, len(b)) + padded(b)  # NC_CHAR


def attributes(pairs):
    if not pairs:
        return b"\0" * 8
    return struct.pack(">II", 0x0C, len(pairs)) + b"".join(text_attribute(k, v) for k, v in pairs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--ny", type=int, default=4)
    p.add_argument("--nx", type=int, default=5)
    p.add_argument("--records", type=int, default=2)
    p.add_argument("--records-declared", type=int, default=None)
    p.add_argument("--units", default="mm/day")
    p.add_argument("--units-length", type=int, default=0, help="units of this many characters instead")
    p.add_argument("--scale", type=float, default=1.0, help="multiplies the values")
    p.add_argument("--time-units", default="days since 2000-01-01")
    p.add_argument("--calendar", default="standard")
    a = p.parse_args()
    if a.units_length > 0:
        a.units = "m" * a.units_length
    declared = a.records if a.records_declared is None else a.records_declared

    def header(time_begin, pr_begin):
        h = b"CDF\x01" + struct.pack(">I", declared)
        h += struct.pack(">II", 0x0A, 3) + name("time") + struct.pack(">I", 0)
        h += name("y") + struct.pack(">I", a.ny) + name("x") + struct.pack(">I", a.nx)
        h += b"\0" * 8  # no global attributes
        h += struct.pack(">II", 0x0B, 2)
        h += name("time") + struct.pack(">II", 1, 0)
        h += attributes([("units", a.time_units), ("calendar", a.calendar)])
        h += struct.pack(">III", 6, 8, time_begin)  # NC_DOUBLE, record size, offset
        h += name("pr") + struct.pack(">IIII", 3, 0, 1, 2)
        h += attributes([("units", a.units)])
        h += struct.pack(">III", 5, a.ny * a.nx * 4, pr_begin)  # NC_FLOAT
        return h

    size = len(header(0, 0))
    h = header(size, size + 8)
    data = b""
    for r in range(a.records):
        data += struct.pack(">d", float(r))
        data += b"".join(struct.pack(">f", a.scale * float(r + i % 7)) for i in range(a.ny * a.nx))
    with open(a.out, "wb") as f:
        f.write(h + data)


if __name__ == "__main__":
    main()
