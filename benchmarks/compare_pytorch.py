#!/usr/bin/env python3
"""maunet vs PyTorch side by side, in one run, alternating the two (each measurement is a fresh
process, so peak RSS is per run): `maunet bench` and pytorch_reference.py on the same network,
mode, batch, size and threads, `--rounds` times each; the table gives the median over rounds
of each side's median step time, the ratio maunet / PyTorch (< 1: maunet is faster) and both
peak RSS.

  python3 benchmarks/compare_pytorch.py --maunet build/examples/maunet --rounds 3 \
      --case unet:train:8:1 --case unet:train:8:2 --case unet:infer:1:1 --case unet:infer:1:2

A case is model:mode:batch:threads (size from --size). Without --case, the cases of the performance targets (docs/performance.md).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CASES = ["unet:train:8:1", "unet:train:8:2", "unet:infer:1:1", "unet:infer:1:2", "unet:infer:8:1",
                 "unet:infer:8:2"]


def run(cmd, env=None):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    try:
        subprocess.run(cmd + ["--json", path], check=True, env=env, stdout=subprocess.DEVNULL)
        with open(path) as f:
            return json.load(f)
    finally:
        os.unlink(path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--maunet", default="build/examples/maunet", help="the maunet CLI binary")
    p.add_argument("--case", action="append", help="model:mode:batch:threads (repeatable)")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", default="", help="also write all results here")
    a = p.parse_args()
    # Look for torch without importing it: Linux keeps ru_maxrss across fork + exec, so a parent
    # that had torch loaded (~230 MB) would leak its peak RSS into every child's figure.
    import importlib.util
    have_torch = importlib.util.find_spec("torch") is not None
    if not have_torch:
        print("PyTorch is not installed: maunet only", file=sys.stderr)
    rows, everything = [], []
    for case in a.case or DEFAULT_CASES:
        model, mode, batch, threads = case.split(":")
        common = ["--model", model, "--mode", mode, "--batch", batch, "--size", str(a.size), "--threads", threads,
                  "--warmup", str(a.warmup), "--repeats", str(a.repeats)]
        env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS="1")
        ours, theirs = [], []
        for _ in range(a.rounds):  # alternate: maunet, PyTorch, maunet, PyTorch, ...
            ours.append(run([a.maunet, "bench"] + common, env))
            if have_torch:
                theirs.append(run([sys.executable, os.path.join(HERE, "pytorch_reference.py")] + common, env))
        everything += ours + theirs
        m_ms = statistics.median(r["median_ms"] for r in ours)
        m_rss = max(r["peak_rss_mb"] for r in ours)
        t_ms = statistics.median(r["median_ms"] for r in theirs) if theirs else float("nan")
        t_rss = max(r["peak_rss_mb"] for r in theirs) if theirs else float("nan")
        rows.append((model, mode, batch, threads, m_ms, t_ms, m_ms / t_ms, ours[0]["gflops"] * ours[0]["median_ms"] / m_ms,
                     m_rss, t_rss))
        print(f"{case}: maunet {m_ms:.1f} ms, pytorch {t_ms:.1f} ms", file=sys.stderr)
    print(f"\n| model | mode | batch | threads | maunet ms | PyTorch ms | ratio (maunet/PyTorch) | maunet GFLOP/s "
          f"| maunet RSS MB | PyTorch RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.1f} | {r[5]:.1f} | {r[6]:.2f} | {r[7]:.1f} | {r[8]:.0f} "
              f"| {r[9]:.0f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(everything, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
