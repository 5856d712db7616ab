#!/usr/bin/env bash
# The real-data recipe of docs/algorithm.md ("A recipe for real data"), measured: MAUNet on the
# repository's Stage IV file (perfect-model 4x; the last 6 hours validate and are scored, as
# benchmarks/skill/real_files.sh says, but for the held-out configurations, which score them
# without letting them pick the epoch), 3 model seeds, 2 threads, against bicubic interpolation.
# One line of `maunet train --seeds 3`'s ensemble table per configuration:
#   small        width 8, 2 levels, whole fields, 200 epochs, batch 3, MSE (compare.sh's networks)
#   patches      width 16, 3 levels, 48 x 48 patches, 8 per field per epoch, 150 epochs, batch 8, MSE
#   tail-4       patches with --loss tail-mse --tail-weight 4 (heavy rain weighted)
#   tail-8       patches with --loss tail-mse --tail-weight 8
#   linear       patches with --transform linear (MSE in mm/day)
#   augment      patches with --augment (each patch turned or mirrored)
#   augment-tail patches with --augment --loss tail-mse --tail-weight 4
#   recipe       patches with --augment --transform linear: docs/algorithm.md's recipe
#   held-out     the recipe, validated on the 3 hours before the last 6 (--val-fraction 0.15
#                --test-fraction 0.25) and scored on the last 6, which pick nothing
#   held-out-tail-4  tail-4 on the held-out split
#   students     `maunet compare` with tail-4's options and 15 refinement epochs: the teacher, U-Net,
#                MAUNet-Light alone, KD and KD+KR at the recipe's width (90 min on 2 threads beside other jobs)
#   usage: benchmarks/skill/recipe.sh [MAUNET_BINARY] [CONFIG...]
#   (default: recipe and held-out, about 15 minutes on 2 threads on an idle machine)
# A benchmark, not a test: it asserts nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
maunet="${1:-$root/build/examples/maunet}"
shift || true
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(recipe held-out)
data="$root/tests/data"
source "$root/benchmarks/skill/real_files.sh"
real_file_args stageiv
patches=(--width 16 --levels 3 --patch 48 --patches-per-field 8 --epochs 150 --batch 8)
recipe=("${patches[@]}" --augment --transform linear)
# The held-out split: real_file_args' data options with its --val-fraction 0.25 replaced.
held_out=()
for ((i = 0; i < ${#data_args[@]}; i++)); do
  if [ "${data_args[i]}" = --val-fraction ]; then i=$((i + 1)); else held_out+=("${data_args[i]}"); fi
done
held_out+=(--val-fraction 0.15 --test-fraction 0.25)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for config in "${configs[@]}"; do
  case "$config" in
    small) args=(--width 8 --levels 2 --epochs 200 --batch 3) ;;
    patches) args=("${patches[@]}") ;;
    tail-4) args=("${patches[@]}" --loss tail-mse --tail-weight 4) ;;
    tail-8) args=("${patches[@]}" --loss tail-mse --tail-weight 8) ;;
    linear) args=("${patches[@]}" --transform linear) ;;
    augment) args=("${patches[@]}" --augment) ;;
    augment-tail) args=("${patches[@]}" --augment --loss tail-mse --tail-weight 4) ;;
    recipe | held-out) args=("${recipe[@]}") ;;
    held-out-tail-4) args=("${patches[@]}" --loss tail-mse --tail-weight 4) ;;
    students) args=("${patches[@]}" --loss tail-mse --tail-weight 4 --refine-epochs 15) ;;
    *) echo "recipe.sh: no configuration '$config'" >&2; exit 2 ;;
  esac
  split=("${data_args[@]}")
  case "$config" in held-out*) split=("${held_out[@]}") ;; esac
  start=$SECONDS
  if [ "$config" = students ]; then
    "$maunet" compare "${split[@]}" --factor 4 --threads "${THREADS:-2}" --seeds 3 --seed 7 --quiet \
      "${args[@]}" --json "$out/students.json" | tee "$out/students.txt"
    echo "== students (${args[*]}): $((SECONDS - start)) s"
    continue
  fi
  "$maunet" train "${split[@]}" --factor 4 --threads "${THREADS:-2}" --seeds 3 --seed 7 --quiet \
    "${args[@]}" --out "$out/$config.mnet" > "$out/$config.txt"
  echo "== $config (${args[*]}): $((SECONDS - start)) s"
  sed -n '/^seed ensemble/,$p' "$out/$config.txt"
done
