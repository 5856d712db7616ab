#!/usr/bin/env bash
# `maunet bench` at a toy size: its report and JSON, --versus-threads (the two thread counts take
# turns in one process) and its usage errors (status 2). Timings are printed, never compared.
# Usage: bench.sh MAUNET
source "$(dirname "${BASH_SOURCE[0]}")/preamble.sh"

# A number after a label in a line of the report, e.g. number_after "median" "$line".
number_after() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" <<< "$2"; }

out=$("$maunet" bench --size 16 --batch 2 --warmup 1 --repeats 3 --json plain.json 2>&1) || fail "bench: status $?: $out"
grep -q "unet train, batch 2, 16 x 16, 1 thread(s)" <<< "$out" || fail "bench: header: $out"
grep -q "7759521 parameters" <<< "$out" || fail "bench: the U-Net's parameter count: $out"
median=$(number_after "median" "$(grep 'ms per step' <<< "$out")")
[ -n "$median" ] || fail "bench: no median in: $out"
grep -q "taking turns" <<< "$out" && fail "bench: a second thread count reported without --versus-threads"
python3 - plain.json "$median" <<'PY' || fail "bench: plain.json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["model"] == "unet" and j["mode"] == "train" and j["batch"] == 2 and j["size"] == 16 and j["threads"] == 1, j
assert j["parameters"] == 7759521, j
assert 0 < j["min_ms"] <= j["median_ms"] <= j["max_ms"], j
assert abs(j["median_ms"] - float(sys.argv[2])) < 0.01, (j["median_ms"], sys.argv[2])
assert abs(j["fields_per_s"] - 2 * 1000 / j["median_ms"]) < 1e-6 * j["fields_per_s"], j
assert abs(j["gflops"] - j["gflop_per_step"] * 1000 / j["median_ms"]) < 1e-6 * j["gflops"], j
assert "versus_threads" not in j and "speedup" not in j, j
PY

# --versus-threads: both medians and the median of the pairs' ratios, consistent with the JSON.
out=$("$maunet" bench --model maunet-light --mode infer --size 16 --batch 1 --warmup 1 --repeats 5 --threads 1 \
  --versus-threads 2 --json versus.json 2>&1) || fail "bench --versus-threads: status $?: $out"
grep -q "maunet-light infer, batch 1, 16 x 16, 1 thread(s)" <<< "$out" || fail "bench --versus-threads: header: $out"
turns=$(grep "taking turns with 2 thread(s)" <<< "$out")
[ -n "$turns" ] || fail "bench --versus-threads: no line for the 2 threads: $out"
speedup=$(sed -n 's/.*speed-up of 2 over 1 thread(s): \([0-9.]*\)x (median of 5 neighbouring pairs; \([0-9.]*\) to \([0-9.]*\)).*/\1 \2 \3/p' <<< "$out")
[ -n "$speedup" ] || fail "bench --versus-threads: no speed-up line: $out"
python3 - versus.json "$(number_after median "$turns")" $speedup <<'PY' || fail "bench --versus-threads: versus.json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["model"] == "maunet-light" and j["mode"] == "infer" and j["threads"] == 1 and j["versus_threads"] == 2, j
assert abs(j["versus_median_ms"] - float(sys.argv[2])) < 0.01, (j, sys.argv[2])
speedup, lo, hi = map(float, sys.argv[3:6])
# Printed with 2 decimals: a step on 2 threads slowed by other tests sharing the cores can print 0.00.
assert abs(j["speedup"] - speedup) < 0.005 and 0 <= lo <= speedup <= hi and j["speedup"] > 0, (j, sys.argv[3:])
PY

# --regions: one table row per source line with both thread counts side by side; the rows, the
# other regions and the time outside them add up to the timed steps; the JSON lists every region.
out=$("$maunet" bench --size 16 --batch 2 --warmup 1 --repeats 2 --threads 1 --versus-threads 2 --regions \
  --json regions.json 2>&1) || fail "bench --regions: status $?: $out"
grep -Eq "site +calls +1t wall +2t wall +speed-up +2t waiting" <<< "$out" || fail "bench --regions: no table header: $out"
grep -Eq "^  autograd/ops/[a-z_/]+\.(hpp|inl):[0-9]+ " <<< "$out" || fail "bench --regions: no region of the convolutions: $out"
printf '%s\n' "$out" > regions.txt
python3 - regions.json regions.txt <<'PY' || fail "bench --regions: the table does not add up: $out"
import json, re, sys
j = json.load(open(sys.argv[1]))
rows = {}
for line in open(sys.argv[2]).read().splitlines():
    m = re.match(r"^  (\S+(?: regions\)| steps\))?) +(\d+) +([0-9.-]+) +([0-9.-]+) +([0-9.]+x|-) +([0-9.]+)$", line)
    if m: rows[m.group(1)] = [float(m.group(k)) for k in (3, 4)]
assert "(whole steps)" in rows and "(outside regions)" in rows and "(other regions)" in rows, rows
whole = rows.pop("(whole steps)")
for col in (0, 1):
    assert abs(sum(r[col] for r in rows.values()) - whole[col]) < 0.002 * len(rows), (col, rows, whole)
regions = j["regions"]
assert regions and all(r["calls"] > 0 and r["wall_s"] >= 0 and r["busy_s"] >= 0 and r["waiting_s"] >= 0 for r in regions), regions
assert {r["threads"] for r in regions} == {1, 2}, regions
for t, col in ((1, 0), (2, 1)):
    total = sum(r["wall_s"] for r in regions if r["threads"] == t)
    outside = rows["(outside regions)"][col]
    assert abs(total + outside - whole[col]) < 0.002, (t, total, outside, whole)
PY

# Usage errors: status 2, the flag named, and no JSON written.
for args in "--mode fit" "--model resnet" "--batch 0" "--size -4" "--warmup -1" "--repeats 0" \
  "--threads 0" "--versus-threads 0" "--versus-threads 257"; do
  msg=$("$maunet" bench $args --json bad.json 2>&1)
  status=$?
  [ "$status" -eq 2 ] || fail "bench $args: status $status, expected 2: $msg"
  grep -q -- "usage error: ${args%% *}" <<< "$msg" || fail "bench $args: the message does not name the flag: $msg"
  [ ! -e bad.json ] || fail "bench $args: wrote bad.json"
done

finish "cli: bench"
