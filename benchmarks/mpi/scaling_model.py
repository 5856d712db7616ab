#!/usr/bin/env python3
"""The strong- and weak-scaling model of docs/scaling.md, printed as Markdown tables.

step(p) = compute / p + allreduce(p)                       strong scaling (fixed global batch)
step(p) = compute_per_node + allreduce(p)                  weak scaling (fixed batch per node)
allreduce(p) = 2 (p - 1) / p * n / B + 2 (p - 1) * alpha * buckets     (ring allreduce)

Usage: scaling_model.py STRONG_S WEAK_S PARAMS [BUCKET_FLOATS]
  STRONG_S   seconds of one training step of the whole global batch on one node
  WEAK_S     seconds of one training step of one node's batch on one node
  PARAMS     floats summed per step (the model's parameter count)
"""
import sys

NETWORKS = [  # name, bandwidth B in bytes/s (achieved by a ring allreduce), latency alpha in s
    ("InfiniBand HDR 200 Gb/s", 20e9, 2e-6),
    ("100 Gb/s Ethernet (RoCE)", 10e9, 5e-6),
    ("10 Gb/s Ethernet (TCP)", 1.0e9, 30e-6),
]
NODES = [1, 2, 4, 8, 16, 32, 64]


def allreduce(p, n_bytes, bandwidth, alpha, buckets):
    if p == 1:
        return 0.0
    return 2 * (p - 1) / p * n_bytes / bandwidth + 2 * (p - 1) * alpha * buckets


def main():
    strong, weak_compute = float(sys.argv[1]), float(sys.argv[2])
    params = int(sys.argv[3])
    bucket = int(sys.argv[4]) if len(sys.argv) > 4 else 1 << 20
    n_bytes = 4 * params
    buckets = -(-params // bucket)
    print(f"{params} floats = {n_bytes / 1e6:.1f} MB in {buckets} buckets\n")
    for title, weak in (("Strong scaling (global batch fixed): speed-up over one node, efficiency", False),
                        ("Weak scaling (batch per node fixed): efficiency = one node's step / the step", True)):
        compute = weak_compute if weak else strong
        print(f"{title}; one node: {compute * 1e3:.0f} ms\n")
        print("| nodes | " + " | ".join(name for name, _, _ in NETWORKS) + " |")
        print("|---:|" + "---|" * len(NETWORKS))
        for p in NODES:
            cells = []
            for _, bandwidth, alpha in NETWORKS:
                comm = allreduce(p, n_bytes, bandwidth, alpha, buckets)
                if weak:
                    step = compute + comm
                    cells.append(f"{step * 1e3:.0f} ms, {compute / step:.0%}")
                else:
                    step = compute / p + comm
                    cells.append(f"{step * 1e3:.1f} ms, x{compute / step:.1f} ({compute / step / p:.0%})")
            print(f"| {p} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
