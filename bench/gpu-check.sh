#!/usr/bin/env bash
# One command for a machine with a GPU (issue 17): the device report, then the kernel and step
# suites at real sizes — BERT-base at its micro-batch (32 × 128) and the quick start's tiny.yaml —
# in f32 and f16 where the adapter has shader-f16, the matmul and data suites, every row saved as
# JSON lines named after the adapter. It installs nothing and stops at the first failure.
#
#   bash bench/gpu-check.sh [out-dir]        (default bench-results/)
#   GPU_CHECK_QUICK=1 bash bench/gpu-check.sh  (every suite with --quick: a smoke test of the script)
#
# Then add the numbers to docs/benchmarks.md with the adapter name and the command.
set -euo pipefail
case "${1:-}" in
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "gpu-check: unknown option $1 (usage: bash bench/gpu-check.sh [out-dir])" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
out="${1:-bench-results}"
mkdir -p "$out"
[ -d dist ] || npm run build >/dev/null
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

node bin/bert-run.js device --json > "$out/device.json"
adapter=$(node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.stdout.write((d.description||d.device||d.vendor||"adapter").replace(/[^A-Za-z0-9._-]+/g,"-"))' "$out/device.json")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
prefix="$out/$adapter-$stamp"
echo "gpu-check: $(node bin/bert-run.js device | head -1) -> $prefix-*.jsonl" >&2

run() {
  local name=$1; shift
  echo "gpu-check: bert-bench $* " >&2
  node bin/bert-bench.js "$@" ${GPU_CHECK_QUICK:+--quick} --json > "$prefix-$name.jsonl"
}
# The kernels suite times every shape in f32 and again in f16 where the adapter has shader-f16;
# the step suite runs the recipe in f32, then in f16.
run kernels-base kernels --recipe recipes/base.yaml
run step-base step --recipe recipes/base.yaml
run step-tiny step --recipe recipes/tiny.yaml
run matmul matmul
run data data --recipe recipes/tiny.yaml
run autotune-base autotune --recipe recipes/base.yaml
run autotune-tiny autotune --recipe recipes/tiny.yaml
echo "gpu-check: done; rows in $prefix-*.jsonl" >&2
