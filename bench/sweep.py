#!/usr/bin/env python3
"""Benchmark: a what-if sweep against one plain backtest on the same data.

Usage: python3 bench/sweep.py [--runs 5] [--bin target/release/slo]
                              [--slo examples/platform] [--data examples/data/platform.parquet]

Measures, in the same run and alternating, the median wall time and peak
RSS of
  - one:   `slo backtest PATHS --data DATA --format json`
  - sweep: the same with `--objective 99.5%,99.9%,99.95%
           --alerts google_28d,google_30d,pyrra` (3 objectives × 3 presets,
           every SLO),
and prints their ratio. Target (issue 5): sweep < 1.5× one backtest.
"""
import argparse, statistics

from backtest import measure  # bench/backtest.py: wall time and peak RSS of one run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default="target/release/slo")
    ap.add_argument("--slo", default="examples/platform")
    ap.add_argument("--data", default="examples/data/platform.parquet")
    a = ap.parse_args()
    base = [a.bin, "backtest", a.slo, "--data", a.data, "--format", "json", "--quiet"]
    sweep = base + ["--objective", "99.5%,99.9%,99.95%", "--alerts", "google_28d,google_30d,pyrra"]
    times = {"one": [], "sweep": []}
    rss = {"one": [], "sweep": []}
    for _ in range(a.runs):
        for name, cmd in (("one", base), ("sweep", sweep)):
            w, r = measure(cmd)
            times[name].append(w)
            rss[name].append(r)
    one, sw = statistics.median(times["one"]), statistics.median(times["sweep"])
    print(f"runs: {a.runs} each, alternating; data {a.data}")
    print(f"one backtest        median {one:7.3f} s   peak RSS {max(rss['one']):7.1f} MiB   all {['%.2f' % t for t in times['one']]}")
    print(f"sweep 3 obj × 3 pre median {sw:7.3f} s   peak RSS {max(rss['sweep']):7.1f} MiB   all {['%.2f' % t for t in times['sweep']]}")
    print(f"ratio sweep / one: {sw / one:.2f}x (target < 1.5x)")


if __name__ == "__main__":
    main()
