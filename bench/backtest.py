#!/usr/bin/env python3
"""Benchmark: `slo backtest` against a bare DataFusion scan of the same data.

Usage: python3 bench/backtest.py [--tiers 10,20,100] [--runs 3] [--bin target/release/slo]

For each tier (millions of samples) it writes a dataset with `slo synth`
(30 days at 15 s: 172,800 samples per series, so 10M ≈ 58 series), then
measures, in the same run and alternating, the median wall time and peak
RSS of:
  - bare:     `slo backtest --bare-scan`: DataFusion reading the same
              columns with the same filters, `SELECT sum(value) … WHERE …`;
  - backtest: `slo backtest bench/bench.slo` (the SLO's 19 rules, 43,200
              evaluations at 1m, Prometheus extrapolation included).
It prints both, their ratio, and the scaling of each between tiers.
Targets (issue 4): backtest ≤ 3× the bare scan; 2× the data ≤ 2.2× the
time; peak RSS < 1 GiB at 100M samples.
"""
import argparse, os, statistics, subprocess, sys, time

SAMPLES_PER_SERIES = 30 * 86400 // 15


def measure(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiers", default="10,20,100")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default="target/release/slo")
    ap.add_argument("--dir", default="target/bench")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    rows = []
    for tier in [int(t) for t in a.tiers.split(",")]:
        series = max(1, round(tier * 1_000_000 / SAMPLES_PER_SERIES))
        path = os.path.join(a.dir, f"synth_{series}s.parquet")
        if not os.path.exists(path):
            subprocess.run([a.bin, "synth", "--out", path, "--series", str(series), "--days", "30",
                            "--resolution", "15s", "--seed", "7"], check=True)
        base = [a.bin, "backtest", "bench/bench.slo", "--data", path, "--quiet"]
        bare, full = [], []
        for _ in range(a.runs):
            bare.append(measure(base + ["--bare-scan"]))
            full.append(measure(base))
        b_t = statistics.median(x[0] for x in bare)
        f_t = statistics.median(x[0] for x in full)
        b_m = max(x[1] for x in bare)
        f_m = max(x[1] for x in full)
        samples = series * SAMPLES_PER_SERIES
        rows.append((tier, series, samples, b_t, b_m, f_t, f_m))
        print(f"{samples/1e6:7.1f}M samples ({series} series): bare scan {b_t:.3f}s {b_m:.0f} MiB | "
              f"backtest {f_t:.3f}s {f_m:.0f} MiB | ratio {f_t/b_t:.2f}x", flush=True)
    for (t0, _, s0, b0, _, f0, _), (t1, _, s1, b1, _, f1, _) in zip(rows, rows[1:]):
        k = s1 / s0
        print(f"{k:.1f}x the data ({t0}M -> {t1}M): backtest {f1/f0:.2f}x the time, bare scan {b1/b0:.2f}x")


if __name__ == "__main__":
    main()
