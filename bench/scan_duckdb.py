#!/usr/bin/env python3
"""Benchmark: the Parquet scan of `slo backtest` against DuckDB's, and the
full backtest against its own bare scan, on counters written the common way.

Usage: python3 bench/scan_duckdb.py [--file F] [--runs 5] [--bin target/release/slo]
                                    [--baseline OTHER_BIN] [--gen ../shared/bench/gen_counters.py]

The data: `gen_counters.py --jobs 10 --instances 15 --days 30 --step 15`
(103.68M samples of `http_requests_total` in 600 series, label columns
job/instance/code, sorted by series then time, pyarrow defaults: ZSTD,
1M-row groups, a dictionary `__name__`). It is written to
target/bench/counters.parquet unless it is there already or `--file` names
an existing one. The SLO is bench/counters.slo (availability per job, both
selectors on `http_requests_total`).

Measured in the same run, alternating, median wall time of each:
  - bare:      `slo backtest --bare-scan`: the backtest's own read (same
               session, columns, filters, partitions) summing the values;
               process start and footer reads included;
  - duckdb:    DuckDB (2 threads, a fresh connection per run) on the same
               file, three queries: `light`, the metric's sum and count
               (reads `__name__` and `value` only); `times`, which also
               reads the timestamps (min and max), without which no
               sample can be replayed; `same`, which also reads the
               columns the backtest reads (timestamp and labels).
               Skipped, with a note, when the module is absent;
  - backtest:  `slo backtest bench/counters.slo --data F`;
  - with `--baseline OTHER_BIN`, the bare scan and the backtest of that
    build too, in the same rounds, and their JSON reports compared.
It prints the medians, peak RSS, and the ratios bare/duckdb,
backtest/bare and this build / baseline.
Targets (issue 15): bare within 1.5x DuckDB's scan; backtest under 3x bare.
"""
import argparse, os, statistics, subprocess, sys, time

NAME = "http_requests_total"
QUERIES = {
    "light": "SELECT sum(value), count(value) FROM read_parquet('{f}') WHERE __name__ = '{n}'",
    "times": "SELECT sum(value), count(value), min(timestamp), max(timestamp) "
             "FROM read_parquet('{f}') WHERE __name__ = '{n}'",
    "same": "SELECT sum(value), count(value), min(timestamp), max(job), max(instance), max(code) "
            "FROM read_parquet('{f}') WHERE __name__ = '{n}'",
}


def wall(cmd):
    """Wall time, stdout and peak RSS (MiB) of one run of `cmd`."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.stdout.read(), p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    t = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{err.decode()}")
    return t, out.decode(), usage.ru_maxrss / 1024


def duck(duckdb, query):
    con = duckdb.connect()
    con.execute("SET threads=2")
    t0 = time.perf_counter()
    r = con.execute(query).fetchall()
    t = time.perf_counter() - t0
    con.close()
    return t, r[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", help="an existing counters file (else target/bench/counters.parquet)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default="target/release/slo")
    ap.add_argument("--baseline", help="an earlier build, measured in the same rounds")
    ap.add_argument("--gen", default="../shared/bench/gen_counters.py")
    ap.add_argument("--slo", default="bench/counters.slo")
    a = ap.parse_args()
    path = a.file or os.path.join("target", "bench", "counters.parquet")
    if not os.path.exists(path):
        if a.file:
            sys.exit(f"no such file: {path}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run([sys.executable, a.gen, "--out", path, "--jobs", "10", "--instances", "15",
                        "--days", "30", "--step", "15"], check=True)
    try:
        import duckdb
    except ImportError:
        duckdb = None
        print("note: the duckdb Python module is absent: DuckDB is not measured (pip install duckdb)")
    print(f"load average before: {os.getloadavg()}")
    bins = {"": a.bin}
    if a.baseline:
        bins["baseline "] = a.baseline
    times = {}
    for b in bins:
        times.update({f"{b}bare": [], f"{b}backtest": []})
    if duckdb:
        times.update({f"duckdb {q}": [] for q in QUERIES})
    rss = {k: [] for k in times}
    outs = {}
    for i in range(a.runs):
        for b, exe in bins.items():
            cmd = [exe, "backtest", a.slo, "--data", path, "--quiet"]
            for kind, extra in (("bare", ["--bare-scan"]), ("backtest", ["--format", "json"])):
                t, out, m = wall(cmd + extra)
                times[f"{b}{kind}"].append(t)
                rss[f"{b}{kind}"].append(m)
                outs[f"{b}{kind}"] = out
        if duckdb:
            for q, sql in QUERIES.items():
                t, r = duck(duckdb, sql.format(f=path.replace("'", "''"), n=NAME))
                times[f"duckdb {q}"].append(t)
                if i == 0:
                    print(f"duckdb {q}: sum {r[0]!r}, count {r[1]}")
    print(outs["bare"].strip())
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        peak = f"  peak RSS {max(rss[k]):.0f} MiB" if rss[k] else ""
        print(f"{k:20} median {med[k]:.3f}s{peak}  runs {' '.join(f'{x:.2f}' for x in v)}")
    if duckdb:
        for q in QUERIES:
            print(f"bare / duckdb {q}: {med['bare'] / med[f'duckdb {q}']:.2f}x")
    print(f"backtest / bare: {med['backtest'] / med['bare']:.2f}x")
    if a.baseline:
        for kind in ("bare", "backtest"):
            print(f"{kind}: this build / baseline {med[kind] / med[f'baseline {kind}']:.2f}x, "
                  f"peak RSS {max(rss[kind]):.0f} / {max(rss[f'baseline {kind}']):.0f} MiB")
        same = outs["backtest"] == outs["baseline backtest"]
        print(f"JSON reports {'identical' if same else 'DIFFER'}")
        if not same:
            sys.exit(1)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
