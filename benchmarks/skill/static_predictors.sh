#!/usr/bin/env bash
# What elevation as a static predictor does on the repository's two real files: 4x downscaling
# in the perfect-model setting, a MAUNet (width WIDTH (default 8), LEVELS levels (default 2), EPOCHS epochs
# (default 200), batch 3) trained with
# and without `--static examples/data/elevation_eastern_us_prism_4km.nc`, over several seeds.
# Prints, per file, each run's RMSE against bicubic interpolation on the held-out fields, then
# the mean and sample sd over seeds and the paired difference (with - without elevation) with its
# 95% t interval over the seeds (Student's t with seeds - 1 degrees of freedom).
#   usage: benchmarks/skill/static_predictors.sh [MAUNET_BINARY] [SEEDS]   (default: build/examples/maunet, 3)
# Held out: BCSD (monthly, 1999) trains on January-July, validates (picks the epoch) on
# August-September and is scored on October-December; Stage IV (23 hours of one storm) has no
# dates to split by, so its last 6 hours validate and are scored (they pick the epoch too, for
# both variants alike). A benchmark, not a test: about 5 minutes on 2 cores; asserts nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
maunet="${1:-$root/build/examples/maunet}"
seeds="${2:-3}"
data="$root/tests/data"
source "$root/benchmarks/skill/real_files.sh"
elevation="$root/examples/data/elevation_eastern_us_prism_4km.nc"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--factor 4 --model maunet --width "${WIDTH:-8}" --levels "${LEVELS:-2}" --epochs "${EPOCHS:-200}" --batch 3 --quiet
        --threads "${THREADS:-2}")

# The RMSE of bicubic and of the model in the last score table train printed (test, else validation).
rmse_pair() { awk '/^scores on/ {b = ""; m = ""} /^bicubic \(input\)/ {b = $3} /^maunet / {m = $2} END {print b, m}' "$1"; }

results="$work/results.txt"
for name in "${real_files[@]}"; do
  real_file_args "$name"
  for seed in $(seq 1 "$seeds"); do
    for variant in none elevation; do
      static=()
      [ "$variant" = elevation ] && static=(--static "$elevation")
      start=$SECONDS
      "$maunet" train "${data_args[@]}" "${common[@]}" --seed "$seed" "${static[@]}" --out "$work/m.mnet" \
        > "$work/train.txt" 2> "$work/train.err" || { cat "$work/train.err" >&2; exit 1; }
      read -r bicubic model < <(rmse_pair "$work/train.txt")
      echo "$name $variant $seed $bicubic $model $((SECONDS - start))" | tee -a "$results"
    done
  done
done

python3 - "$results" << 'EOF'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
for name in ("bcsd", "stageiv"):
    ratio = {v: {int(r[2]): float(r[4]) / float(r[3]) for r in rows if r[0] == name and r[1] == v} for v in ("none", "elevation")}
    seeds = sorted(ratio["none"])
    print("\n%s: MAUNet RMSE / bicubic RMSE on the held-out fields, %d seeds" % (name, len(seeds)))
    for v in ("none", "elevation"):
        x = [ratio[v][s] for s in seeds]
        sd = st.stdev(x) if len(x) > 1 else float("nan")
        print("  %-10s mean %.4f  sd %.4f  runs %s" % (v, st.mean(x), sd, " ".join("%.4f" % a for a in x)))
    d = [ratio["elevation"][s] - ratio["none"][s] for s in seeds]
    sd = st.stdev(d) if len(d) > 1 else float("nan")
    print("  elevation - none, paired by seed: mean %+.4f  sd %.4f  (%s)" % (st.mean(d), sd, " ".join("%+.4f" % a for a in d)))
    # Two-sided 95% quantiles of Student's t for 1..9 degrees of freedom.
    t975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262]
    if 2 <= len(d) <= 10:
        half = t975[len(d) - 2] * sd / len(d) ** 0.5
        print("  95%% t interval over seeds: [%+.4f, %+.4f]" % (st.mean(d) - half, st.mean(d) + half))
EOF
