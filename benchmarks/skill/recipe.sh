#!/usr/bin/env bash
# The real-data recipe of docs/algorithm.md ("A recipe for real data"), measured: MAUNet on the
# repository's Stage IV file (perfect-model 4x; the last 6 hours validate and are scored, as
# benchmarks/skill/real_files.sh says), 3 model seeds, 2 threads, against bicubic interpolation.
# One line of `maunet train --seeds 3`'s ensemble table per configuration:
#   small      width 8, 2 levels, whole fields, 200 epochs, batch 3, MSE (compare.sh's networks)
#   recipe     width 16, 3 levels, 48 x 48 patches, 8 per field per epoch, 150 epochs, batch 8, MSE
#   tail-4     the recipe with --loss tail-mse --tail-weight 4 (heavy rain weighted)
#   tail-8     the recipe with --loss tail-mse --tail-weight 8
#   students   `maunet compare` with tail-4's options and 15 refinement epochs: the teacher, U-Net,
#              MAUNet-Light alone, KD and KD+KR at the recipe's width (90 min on 2 threads beside other jobs)
#   usage: benchmarks/skill/recipe.sh [MAUNET_BINARY] [CONFIG...]   (default: the first four; about 40 min)
# A benchmark, not a test: it asserts nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
maunet="${1:-$root/build/examples/maunet}"
shift || true
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(small recipe tail-4 tail-8)
data="$root/tests/data"
source "$root/benchmarks/skill/real_files.sh"
real_file_args stageiv
recipe=(--width 16 --levels 3 --patch 48 --patches-per-field 8 --epochs 150 --batch 8)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for config in "${configs[@]}"; do
  case "$config" in
    small) args=(--width 8 --levels 2 --epochs 200 --batch 3) ;;
    recipe) args=("${recipe[@]}") ;;
    tail-4) args=("${recipe[@]}" --loss tail-mse --tail-weight 4) ;;
    tail-8) args=("${recipe[@]}" --loss tail-mse --tail-weight 8) ;;
    students) args=("${recipe[@]}" --loss tail-mse --tail-weight 4 --refine-epochs 15) ;;
    *) echo "recipe.sh: no configuration '$config'" >&2; exit 2 ;;
  esac
  start=$SECONDS
  if [ "$config" = students ]; then
    "$maunet" compare "${data_args[@]}" --factor 4 --threads "${THREADS:-2}" --seeds 3 --seed 7 --quiet \
      "${args[@]}" --json "$out/students.json" | tee "$out/students.txt"
    echo "== students (${args[*]}): $((SECONDS - start)) s"
    continue
  fi
  "$maunet" train "${data_args[@]}" --factor 4 --threads "${THREADS:-2}" --seeds 3 --seed 7 --quiet \
    "${args[@]}" --out "$out/$config.mnet" > "$out/$config.txt"
  echo "== $config (${args[*]}): $((SECONDS - start)) s"
  sed -n '/^seed ensemble/,$p' "$out/$config.txt"
done
