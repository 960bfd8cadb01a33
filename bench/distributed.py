#!/usr/bin/env python3
"""Benchmark: distributed backtests against the embedded run, in one run.

Usage: python3 bench/distributed.py [--runs 3] [--bin target/release/slo]
                                    [--copies 1] [--workers 1,2,3] [--range FROM,TO]

Starts three `slo worker`s on free loopback ports, then measures,
alternating run by run so that machine noise falls on every variant alike,
the wall time of:
  - embedded: `slo backtest examples/platform --data examples/data/platform.parquet`;
  - N workers: the same with `--workers` naming the first N workers.
Each distributed report is checked byte-identical to the embedded one.
It prints the medians and each variant's ratio to the embedded median.
`--copies K` replicates the catalogue K times (as bench/slo_scaling.py
does) for more rule evaluation per task; `--range` replays only FROM..TO
(RFC 3339) of the data. On one machine the workers share
its cores with each other: the ratios show the overhead of planning,
shipping and merging, and a speed-up only where cores are idle.
"""
import argparse, os, re, shutil, statistics, subprocess, sys, tempfile, time


def start_worker(binary):
    p = subprocess.Popen([binary, "worker", "--listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline().strip()
    m = re.match(r"slo worker listening on (http://\S+)$", line)
    if not m:
        p.kill()
        sys.exit(f"slo worker printed {line!r}")
    return p, m.group(1)


def run(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr.decode()}")
    return wall, r.stdout


def catalogue(copies, tmp):
    """examples/platform, replicated `copies` times (copy c > 0 with its
    services renamed, as bench/slo_scaling.py does)."""
    if copies == 1:
        return "examples/platform"
    out = os.path.join(tmp, "platform")
    for c in range(copies):
        d = os.path.join(out, f"c{c}")
        os.makedirs(d)
        for f in sorted(os.listdir("examples/platform")):
            if not f.endswith(".slo"):
                continue
            text = open(os.path.join("examples/platform", f)).read()
            if c:
                # `service api {`, `slo x for api`, `policy p for api.slo`
                text = re.sub(r"\b(service|for)\s+([A-Za-z_]\w*)", lambda m: f"{m.group(1)} {m.group(2)}_c{c}", text)
            open(os.path.join(d, f), "w").write(text)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default="target/release/slo")
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--range", default="")
    a = ap.parse_args()
    counts = [int(n) for n in a.workers.split(",")]
    tmp = tempfile.mkdtemp(prefix="slo-dist-bench-")
    workers = []
    try:
        slos = catalogue(a.copies, tmp)
        workers = [start_worker(a.bin) for _ in range(max(counts))]
        urls = [u for _, u in workers]
        base = [a.bin, "backtest", slos, "--data", "examples/data/platform.parquet", "--format", "json", "--quiet"]
        if a.copies > 1:
            # The copies import each other's files under their own root.
            base += ["--root", slos]
        if a.range:
            frm, to = a.range.split(",")
            base += ["--from", frm, "--to", to]
        times = {"embedded": []}
        for n in counts:
            times[n] = []
        reference = None
        for _ in range(a.runs):
            t, out = run(base)
            times["embedded"].append(t)
            reference = reference or out
            for n in counts:
                t, out = run(base + ["--workers", ",".join(urls[:n])])
                if out != reference:
                    sys.exit(f"the report of {n} workers differs from the embedded run's")
                times[n].append(t)
        emb = statistics.median(times["embedded"])
        span = a.range or "all of the data"
        print(f"{a.bin}, examples/platform x{a.copies} over {span}, {a.runs} runs each, {os.cpu_count()} cores")
        print(f"embedded:   median {emb:7.3f}s")
        for n in counts:
            m = statistics.median(times[n])
            print(f"{n} worker{'s' if n > 1 else ' '}:  median {m:7.3f}s  ratio {m / emb:5.2f}x the embedded run")
    finally:
        for p, _ in workers:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
