#!/usr/bin/env python3
"""The networks of `maunet bench` in PyTorch, timed the same way (median of timed steps after
warm-up steps), for side-by-side comparison (compare_pytorch.py runs both).

  python3 benchmarks/pytorch_reference.py --model unet --mode train --batch 8 --size 128 --threads 1

PyTorch is tuned for the CPU: torch.set_num_threads(T), OMP_NUM_THREADS=T and
OPENBLAS_NUM_THREADS=1 (set here before torch is imported). A train step is zero_grad, forward,
MSE, backward, Adam step; an inference step is eval() under torch.inference_mode(). Peak RSS is
ru_maxrss of this process.
"""
import argparse
import json
import math
import os
import resource
import sys
import time


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="unet", choices=["unet", "maunet", "maunet-light"])
    p.add_argument("--mode", default="train", choices=["train", "infer"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", default="")
    return p.parse_args()


args = parse()
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = str(args.threads)
import torch  # noqa: E402  (after the environment is set)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)


class ConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.conv1(x))))


class Down(nn.Module):
    """max: 2x2 max-pool (U-Net); mean: MAU mean mode (max-pool + avg-pool) / 2 (MAUNet)."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def forward(self, x):
        if self.mode == "max":
            return F.max_pool2d(x, 2)
        return 0.5 * (F.max_pool2d(x, 2) + F.avg_pool2d(x, 2))


class Up(nn.Module):
    """transposed: ConvTranspose2d 2x2 s2 (U-Net); mean: USU mean mode (convT + conv3x3(bilinear x2)) / 2."""

    def __init__(self, cin, cout, mode):
        super().__init__()
        self.mode = mode
        self.up = nn.ConvTranspose2d(cin, cout, 2, stride=2)
        if mode == "mean":
            self.resize_conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.block = ConvBlock(2 * cout, cout)

    def forward(self, x, skip):
        u = self.up(x)
        if self.mode == "mean":
            r = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            u = 0.5 * (u + self.resize_conv(r))
        return self.block(torch.cat([u, skip], 1))


class UNet(nn.Module):
    def __init__(self, model, levels=4, base=32):
        super().__init__()
        plain = model == "unet"
        f = base if model != "maunet-light" else round(base * math.sqrt(0.6))
        widths = [f << l for l in range(levels + 1)]
        self.residual = not plain
        self.dropout = 0.0 if plain else 0.2
        self.dropout_levels = 0 if plain else 2
        self.encoder = nn.ModuleList()
        cin = 1
        for l in range(levels):
            self.encoder.append(ConvBlock(cin, widths[l]))
            cin = widths[l]
        self.down = Down("max" if plain else "mean")
        self.bottleneck = ConvBlock(cin, widths[levels])
        self.decoder = nn.ModuleList(
            Up(widths[l + 1], widths[l], "transposed" if plain else "mean") for l in reversed(range(levels)))
        self.head = nn.Conv2d(widths[0], 1, 1)
        self.levels = levels

    def forward(self, x):
        h, skips = x, []
        for l, block in enumerate(self.encoder):
            h = block(h)
            if l >= self.levels - self.dropout_levels and self.dropout > 0:
                h = F.dropout(h, self.dropout, self.training)
            skips.append(h)
            h = self.down(h)
        h = self.bottleneck(h)
        if self.dropout > 0:
            h = F.dropout(h, self.dropout, self.training)
        for i, up in enumerate(self.decoder):
            h = up(h, skips[self.levels - 1 - i])
        y = self.head(h)
        return y + x[:, :1] if self.residual else y


def forward_flops(net, batch, size):
    """2 per multiply-add of every convolution, as UNet::forward_flops."""
    total, hooks = [0.0], []

    def hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1]
        if isinstance(m, nn.ConvTranspose2d):
            total[0] += 2.0 * inp[0].numel() * m.out_channels * k
        else:
            total[0] += 2.0 * out.numel() * m.in_channels * k
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            hooks.append(m.register_forward_hook(hook))
    with torch.no_grad():
        net(torch.zeros(batch, 1, size, size))
    for h in hooks:
        h.remove()
    return total[0]


def main():
    torch.manual_seed(1)
    net = UNet(args.model)
    x = torch.rand(args.batch, 1, args.size, args.size)
    target = torch.rand(args.batch, 1, args.size, args.size)
    flops = forward_flops(net, args.batch, args.size) * (3.0 if args.mode == "train" else 1.0)
    if args.mode == "train":
        net.train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)

        def step():
            opt.zero_grad()
            loss = F.mse_loss(net(x), target)
            loss.backward()
            opt.step()
    else:
        net.eval()

        def step():
            with torch.inference_mode():
                net(x)
    for _ in range(args.warmup):
        step()
    ms = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    median = ms[len(ms) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result = {
        "framework": "pytorch", "torch": torch.__version__, "model": args.model, "mode": args.mode,
        "batch": args.batch, "size": args.size, "threads": args.threads,
        "parameters": sum(p.numel() for p in net.parameters()), "median_ms": median, "min_ms": ms[0],
        "max_ms": ms[-1], "gflops": flops / (median * 1e6), "fields_per_s": args.batch * 1e3 / median,
        "gflop_per_step": flops / 1e9, "peak_rss_mb": rss,
    }
    print(f"pytorch {torch.__version__}: {args.model} {args.mode}, batch {args.batch}, {args.size} x {args.size}, "
          f"{args.threads} thread(s), {result['parameters']} parameters\n  median {median:.2f} ms per step "
          f"(min {ms[0]:.2f}, max {ms[-1]:.2f} over {args.repeats}), {result['gflops']:.1f} GFLOP/s, "
          f"peak RSS {rss:.0f} MB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
