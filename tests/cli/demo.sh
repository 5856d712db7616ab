#!/usr/bin/env bash
# maunet demo at a toy size: one seed (the table, the lines in words, the RMSE differences with
# paired bootstrap intervals), --seeds 2 (a table per model seed on the same held-out fields, the
# seeds' mean and spread, the differences as the seeds' mean; --json one object per method and
# seed), and --seeds 0 refused.
#   usage: tests/cli/demo.sh MAUNET_BINARY   (run by ctest as "cli: demo")
source "$(dirname "${BASH_SOURCE[0]}")/preamble.sh"
tiny=(--task downscaling --size 16 --fields 12 --epochs 1 --refine-epochs 1 --width 2 --levels 2 --batch 4 --threads 1 --quiet)

# Every difference line "  A - B   +0.1234 [-0.01, +0.2]  verdict" (4 significant digits, so
# the signs are exact) has low <= high, and its verdict follows from the interval.
check_differences() {
  local file=$1 lines
  lines=$(grep -E '^  .* - .* [+-][0-9.e+-]+ \[[+-][0-9.e+-]+, [+-][0-9.e+-]+\]  ' "$file")
  [ "$(echo "$lines" | wc -l)" = 9 ] || fail "$file: expected 9 difference lines, got: $lines"
  echo "$lines" | awk '{
      split($0, f, /[][,]/); lo = f[2] + 0; hi = f[3] + 0; verdict = f[4]; sub(/^ +/, "", verdict)
      want = hi < 0 ? "lower" : (lo > 0 ? "higher" : "no clear difference")
      if (lo > hi || verdict != want) { print "bad line: " $0; bad = 1 }
    } END { exit bad }' || fail "$file: a difference line is inconsistent"
}

"$maunet" demo "${tiny[@]}" > one.txt 2> one.err || fail "demo with one seed: $(cat one.err)"
grep -q "^In words:" one.txt || fail "one seed: no lines in words"
grep -q "mean over 1 seed) with 95% paired bootstrap intervals over the 2 held-out fields (2000 resamples)" one.txt ||
  fail "one seed: no bootstrap header: $(cat one.txt)"
grep -q "over 1 seeds\|model seed" one.txt && fail "one seed: a per-seed table or a seed summary was printed"
check_differences one.txt

"$maunet" demo "${tiny[@]}" --seeds 2 --json d.json > two.txt 2> two.err || fail "demo --seeds 2: $(cat two.err)"
grep -q "downscaling, model seed 7, 2 held-out fields" two.txt || fail "--seeds 2: no table for model seed 7"
grep -q "downscaling, model seed 8, 2 held-out fields" two.txt || fail "--seeds 2: no table for model seed 8"
grep -q "^downscaling over 2 seeds" two.txt || fail "--seeds 2: no summary over the seeds"
grep -q "^MAUNet-Light KD+KR: .* of the teacher's" two.txt || fail "--seeds 2: no line on the student's cost"
grep -q "mean over 2 seeds) with 95% paired bootstrap" two.txt || fail "--seeds 2: no bootstrap header"
grep -q "^In words:" two.txt && fail "--seeds 2: the one-run lines in words were printed"
for m in "bicubic interpolation" "MAUNet (teacher)" "MAUNet-Light alone" "MAUNet-Light KD" "MAUNet-Light KD+KR" "U-Net" "bilinear interpolation"; do
  grep -qE "^$(printf '%s' "$m" | sed 's/[+()]/\\&/g') +[0-9.]+ \([0-9.]+\) \[" two.txt || fail "--seeds 2: no summary row for $m"
done
check_differences two.txt
# The first seed's table is the one-seed run's (same data, same model seed 7).
diff <(grep -A7 "^method" one.txt | head -7 | cut -c1-60) <(grep -A7 "^method" two.txt | head -7 | cut -c1-60) > /dev/null ||
  fail "--seeds 2: model seed 7 does not reproduce the one-seed run"
[ "$(grep -c '(seed 7)' d.json)" = 7 ] && [ "$(grep -c '(seed 8)' d.json)" = 7 ] ||
  fail "--seeds 2: --json does not hold one object per method and seed: $(grep -c '"name"' d.json) names"

"$maunet" demo --seeds 0 > /dev/null 2> zero.err
[ $? = 2 ] && grep -qF -- "--seeds: Value 0 not in range 1 to 1000" zero.err || fail "--seeds 0 not refused: $(cat zero.err)"
finish "cli: demo"
