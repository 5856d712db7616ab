"""Overhead of the Python module: maunet.Model.predict, and predict with a workspace and an
output array, against a direct call of the C API's maunet_model_predict (through ctypes) on the
same arrays, alternating call by call (the C API's own overhead against C++ is measured by
bench_predict_c_vs_cpp). Prints the medians and the median and quartiles of the per-round
ratio (Python / C - 1) of each.

Usage: bench_predict.py LIBMAUNET_C MODEL INPUT NY NX PAIRS
"""
import ctypes
import statistics
import sys
import time

import numpy as np

import maunet

lib_path, path, data = sys.argv[1], sys.argv[2], sys.argv[3]
ny, nx, pairs = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
lib = ctypes.CDLL(lib_path)
lib.maunet_model_predict.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                     ctypes.c_void_p, ctypes.c_void_p]
lib.maunet_set_num_threads(1)
maunet.set_num_threads(1)
handle = ctypes.c_void_p()
if lib.maunet_model_load(path.encode(), ctypes.byref(handle)) != 0:
    sys.exit("cannot load the model through the C API")
model = maunet.load(path)
field = np.fromfile(data, dtype=np.float32, count=ny * nx).reshape(1, ny, nx)
f = model.factor
out = np.empty((1, ny * f, nx * f), np.float32)
out_ws = np.empty_like(out)
ws = model.workspace(field.shape)
t = {"py": [], "ws": [], "c": []}
ratio = {"py": [], "ws": []}
sides = ("py", "ws", "c")
for r in range(pairs + 1):
    # Each side goes first in every third round, so an order effect cancels.
    times = {}
    for k in range(3):
        side = sides[(r + k) % 3]
        t0 = time.perf_counter()
        if side == "py":
            y = model.predict(field)
        elif side == "ws":
            model.predict(field, out=out_ws, workspace=ws)
        elif lib.maunet_model_predict(handle, field.ctypes.data, 1, ny, nx, out.ctypes.data, None) != 0:
            sys.exit("maunet_model_predict failed")
        times[side] = (time.perf_counter() - t0) * 1e3
    np.testing.assert_array_equal(y, out)
    np.testing.assert_array_equal(out_ws, out)
    if r == 0:
        continue
    for side in sides:
        t[side].append(times[side])
    for side in ("py", "ws"):
        ratio[side].append(100 * (times[side] / times["c"] - 1))
for side, label in (("py", "Python"), ("ws", "Python with a workspace")):
    q = statistics.quantiles(ratio[side], n=4)
    print("%s vs C: median %.3f ms vs %.3f ms; per-pair difference median %+.2f%% (quartiles %+.2f%% .. %+.2f%%), "
          "%d pairs" % (label, statistics.median(t[side]), statistics.median(t["c"]), statistics.median(ratio[side]),
                        q[0], q[2], pairs))
