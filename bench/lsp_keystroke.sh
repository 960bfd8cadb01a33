#!/usr/bin/env bash
# Benchmark (issue 17): time from a keystroke (`textDocument/didChange`) to
# the diagnostics it causes (`textDocument/publishDiagnostics`) in `slo lsp`
# on a project of 1,000 SLOs in 100 files (the SLO mix of check_10k.py),
# median of 21 edits that alternately break and fix an objective; printed
# next to the median of an in-process `slo check` of the same project
# (load + check), the work the server repeats per change, with their ratio.
# Target: under 100 ms.
#
#   bash bench/lsp_keystroke.sh            # SLO_BENCH_SERVICES=200 for 2,000 SLOs
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --test integration lsp::keystroke_to_diagnostics_on_1000_slos -- --nocapture
