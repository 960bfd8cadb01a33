#!/usr/bin/env bash
# Every output slo produces from the shipped examples and data, written to
# one directory with a checksum list, so that a refactor can show it changed
# no byte (issue 11):
#
#   bash bench/same_output.sh target/debug/slo /tmp/before     # at the old commit
#   bash bench/same_output.sh target/debug/slo /tmp/after      # at the new one
#   diff /tmp/before/SHA256SUMS /tmp/after/SHA256SUMS && echo identical
#
# Covers: `compile` of every example set for every target (and the
# prometheus-operator options), `check --format json`, `fmt` of every
# example (unindented), `debug ir` and `debug ast`, `synth`, `backtest --format json|table|html` and `--timeline`
# of the shipped data (with incidents), `data inspect`, `data export`,
# `import sloth|openslo` of the interop examples and `export openslo`.
# Snapshots are covered by `cargo test`.
set -euo pipefail
bin=$(realpath "${1:?usage: same_output.sh SLO_BINARY OUTDIR}")
out=${2:?usage: same_output.sh SLO_BINARY OUTDIR}
cd "$(dirname "$0")/.."
rm -rf "$out"
mkdir -p "$out"
out=$(realpath "$out")
export NO_COLOR=1 COLUMNS=120

# Runs a command, keeping its stdout, stderr and exit code as files.
run() {
  local name=$1
  shift
  set +e
  "$@" >"$out/$name.stdout" 2>"$out/$name.stderr"
  echo $? >"$out/$name.code"
  set -e
}

sets=(examples/platform examples/features)
for s in "${sets[@]}"; do
  n=$(basename "$s")
  for t in prometheus prometheus-operator mimir grafana; do
    run "compile-$n-$t" "$bin" compile "$s" --target "$t" --out "$out/compile-$n-$t"
  done
  run "compile-$n-operator-opts" "$bin" compile "$s" --target prometheus-operator --namespace obs \
    --label team=sre --out "$out/compile-$n-operator-opts"
  run "compile-$n-thanos" "$bin" compile "$s" --partial-response warn --eval-interval 30s \
    --out "$out/compile-$n-thanos"
  run "check-$n" "$bin" check "$s" --format json
done
for f in examples/features/*.slo examples/platform/*.slo; do
  n="$(basename "$(dirname "$f")")-$(basename "$f" .slo)"
  run "ir-$n" "$bin" debug ir "$f" --root "$(dirname "$f")"
  run "ast-$n" "$bin" debug ast "$f" --root "$(dirname "$f")"
  # fmt of a copy with its layout undone (indentation stripped).
  mkdir -p "$out/fmt-$n"
  sed 's/^[ \t]*//' "$f" >"$out/fmt-$n/$(basename "$f")"
  run "fmt-$n" "$bin" fmt "$out/fmt-$n/$(basename "$f")"
done
run synth-platform "$bin" synth examples/platform --days 3 --out "$out/synth-platform.parquet"
run synth-generic "$bin" synth --days 2 --series 4 --out "$out/synth-generic.parquet"

data=examples/data/platform.parquet
run backtest-json "$bin" backtest examples/platform --data "$data" --format json --quiet \
  --timeline "$out/timeline.parquet"
run backtest-table "$bin" backtest examples/platform --data "$data" --quiet
run backtest-html "$bin" backtest examples/platform --data "$data" --format html --quiet --out "$out/report.html"
run backtest-week "$bin" backtest examples/platform --data "$data" --format json --quiet --compliance week --from 2026-01-10T00:00:00Z
run inspect "$bin" data inspect "$data" --format json
run inspect-slo "$bin" data inspect "$data" --slo examples/platform
run export "$bin" data export "$data" --out "$out/export.om"

for f in examples/interop/sloth/*.y*ml; do
  [ -e "$f" ] && run "import-sloth-$(basename "$f")" "$bin" import sloth "$f"
done
for f in examples/interop/openslo/*.y*ml; do
  [ -e "$f" ] && run "import-openslo-$(basename "$f")" "$bin" import openslo "$f"
done
run export-openslo "$bin" export openslo examples/platform

# Paths in messages name the output directory: make them relative.
find "$out" -type f \( -name '*.stdout' -o -name '*.stderr' \) -print0 |
  xargs -0 sed -i "s#$out#OUT#g"
(cd "$out" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum >SHA256SUMS)
echo "$(wc -l <"$out/SHA256SUMS") files in $out/SHA256SUMS"
