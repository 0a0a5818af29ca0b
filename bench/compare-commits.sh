#!/usr/bin/env bash
# Training speed of an older commit against the working tree, on this machine, in one run:
# builds the old commit in a temporary git worktree, then trains the same recipe with each in
# turn (old, new, old, new, ...) and prints every run's tokens/s, each arm's median and the
# ratios. Turns alternate because a shared machine's speed drifts by up to 2x within minutes
# (docs/benchmarks.md); compare medians over several rounds, never single runs.
#
#   bash bench/compare-commits.sh <old-commit> [rounds (3)] [steps (300)] [recipe (recipes/tiny.yaml)]
#
# Both arms use the default autotune cache (their kernel sources differ, so each keeps its own
# choices); the tokens/s are bert-run's own, counted from the first step, after setup. The
# working tree is built first (npx tsc -p .); the worktree is removed on exit.
set -euo pipefail

die() { echo "compare-commits: $*" >&2; exit 2; }

[ $# -ge 1 ] && [ $# -le 4 ] || die "usage: bash bench/compare-commits.sh <old-commit> [rounds] [steps] [recipe]"
old_rev=$1
rounds=${2:-3}
steps=${3:-300}
recipe=${4:-recipes/tiny.yaml}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "rounds must be a positive whole number, got '$rounds'"
[[ $steps =~ ^[1-9][0-9]*$ ]] || die "steps must be a positive whole number, got '$steps'"

root=$(git rev-parse --show-toplevel 2>/dev/null) || die "run it inside the bert-webgpu repository"
cd "$root"
[ -f "$recipe" ] || die "no recipe file $recipe"
old_sha=$(git rev-parse --verify --quiet "$old_rev^{commit}") || die "'$old_rev' is not a commit of this repository"
[ -d node_modules ] || die "node_modules is missing: run npm ci first"

work=$(mktemp -d "${TMPDIR:-/tmp}/compare-commits.XXXXXX")
cleanup() {
  git worktree remove --force "$work/old" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "compare-commits: building the working tree and ${old_sha:0:7} ($(git log -1 --format=%s "$old_sha" | cut -c1-60))" >&2
npx tsc -p . || die "the working tree does not build"
git worktree add --detach --quiet "$work/old" "$old_sha"
ln -s "$root/node_modules" "$work/old/node_modules"
(cd "$work/old" && npx tsc -p .) || die "${old_sha:0:7} does not build"
# Both arms train the working tree's recipe file (its relative paths resolve from its folder).
recipe_abs=$(realpath "$recipe")

run_arm() { # dir out -> tokens/s
  local dir=$1 out=$2 line
  # A fresh run directory each time (an existing one would be refused or resumed).
  rm -rf "$out"
  (cd "$dir" && node bin/bert-run.js "$recipe_abs" --steps "$steps" --out "$out" >"$out.log" 2>&1) || true
  line=$(grep '^done:' "$out.log" || true)
  [[ $line =~ \(([0-9]+)\ tokens/s\) ]] || die "a run in $dir did not finish: $(tail -n 1 "$out.log")"
  echo "${BASH_REMATCH[1]}"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

old_runs=()
new_runs=()
ratios=()
for ((i = 1; i <= rounds; i++)); do
  o=$(run_arm "$work/old" "$work/run-old")
  n=$(run_arm "$root" "$work/run-new")
  old_runs+=("$o")
  new_runs+=("$n")
  r=$(awk -v n="$n" -v o="$o" 'BEGIN { printf "%.2f", n / o }')
  ratios+=("$r")
  printf 'round %d: %s %s tokens/s, working tree %s tokens/s, %sx\n' "$i" "${old_sha:0:7}" "$o" "$n" "$r"
done
mo=$(printf '%s\n' "${old_runs[@]}" | median)
mn=$(printf '%s\n' "${new_runs[@]}" | median)
mr=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "medians over $rounds round(s) of $steps steps of $recipe: ${old_sha:0:7} $mo tokens/s, working tree $mn tokens/s ($(awk -v n="$mn" -v o="$mo" 'BEGIN { printf "%.2f", n / o }')x); median of the per-round ratios ${mr}x"
