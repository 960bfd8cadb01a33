#!/usr/bin/env python3
"""Benchmark: how the backtest's cost grows with the number of SLOs.

Usage: python3 bench/slo_scaling.py [--factors 1,2,5,10] [--runs 3]
                                    [--bin target/release/slo] [--baseline OTHER_BIN | --stepwise]
                                    [--slo examples/platform] [--data examples/data/platform.parquet]
                                    [--to 2026-02-05T23:59:00Z] [--args 'EXTRA BACKTEST ARGS']

For each copy factor N it writes N copies of the catalogue (copy c > 0
renames every service `x` to `x_cN`, so SLOs and services do not collide
but read the same metrics: the scan and the leaves stay the same and only
the rule evaluation grows), then measures `slo backtest --timing --format
json` on the shipped data: the median wall time, the median rule
evaluation time (`--timing`), and the peak RSS, and their ratio to ×1 —
all in the same run, the factors alternating within each round.

With `--baseline BIN` (for instance a release build of an earlier commit)
it measures that binary too, in the same rounds, and checks that both
write byte-identical JSON reports; `--stepwise` makes the baseline the
same binary with `--stepwise` (the step-by-step engine, which the
columnar one must agree with bit for bit).

`--args` passes more arguments to every run, e.g. the server's schedule
and a downtime, which the columnar engine also takes:
`--args '--rule-dir /etc/prometheus/rules --from 2026-01-01T00:00:17Z
--downtime 2026-01-10T10:00:00Z..2026-01-10T12:00:00Z'`.

Target (issue 15): 2× the SLOs ≤ 2.1× the time, ×10 ≤ 10.5× of ×1.
"""
import argparse, os, re, shlex, shutil, statistics, subprocess, sys, time

TIMING = re.compile(r"timing: probe\+scan\+leaves ([0-9.]+)s, rule evaluation ([0-9.]+)s")


def catalogue(src, n, out):
    """`n` copies of the catalogue under `out`, services renamed per copy."""
    if os.path.exists(out):
        shutil.rmtree(out)
    for c in range(n):
        d = os.path.join(out, f"c{c}")
        os.makedirs(d)
        for f in sorted(os.listdir(src)):
            if not f.endswith(".slo"):
                continue
            text = open(os.path.join(src, f)).read()
            if c:
                # `service api {`, `slo x for api`, `policy p for api.slo`
                text = re.sub(r"\b(service|for)\s+([A-Za-z_]\w*)", lambda m: f"{m.group(1)} {m.group(2)}_c{c}", text)
            open(os.path.join(d, f), "w").write(text)


def measure(cmd, report):
    """Wall time, rule evaluation time and peak RSS (MiB) of one run; the
    report goes to `report`."""
    t0 = time.perf_counter()
    with open(report, "wb") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        err = p.stderr.read().decode()
        _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{err}")
    m = TIMING.search(err)
    if not m:
        sys.exit(f"no timing line in the output of {' '.join(cmd)}:\n{err}")
    return wall, float(m.group(2)), usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--factors", default="1,2,5,10")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default="target/release/slo")
    ap.add_argument("--baseline", help="a second binary measured in the same rounds; reports must be identical")
    ap.add_argument("--stepwise", action="store_true",
                    help="also measure --bin with --stepwise (the step-by-step engine) as the baseline")
    ap.add_argument("--slo", default="examples/platform")
    ap.add_argument("--data", default="examples/data/platform.parquet")
    ap.add_argument("--to", help="end of the backtest range (default: the data's)")
    ap.add_argument("--dir", default="target/bench/slo_scaling")
    ap.add_argument("--args", default="", help="more backtest arguments for every run (e.g. a schedule, a downtime)")
    a = ap.parse_args()
    factors = [int(f) for f in a.factors.split(",")]
    bins = {"bin": (a.bin, [])} | ({"baseline": (a.baseline, [])} if a.baseline else {})
    if a.stepwise:
        bins["baseline"] = (a.bin, ["--stepwise"])
        a.baseline = f"{a.bin} --stepwise"
    for n in factors:
        catalogue(a.slo, n, os.path.join(a.dir, f"x{n}"))
    res = {(b, n): [] for b in bins for n in factors}
    slos = {}
    for _ in range(a.runs):
        for n in factors:
            root = os.path.join(a.dir, f"x{n}")
            reports = {}
            for b, (path, extra) in bins.items():
                cmd = [path, "backtest", root, "--root", root, "--data", a.data, "--timing", "--quiet", "--format", "json"]
                cmd += extra + shlex.split(a.args)
                if a.to:
                    cmd += ["--to", a.to]
                reports[b] = os.path.join(a.dir, f"x{n}.{b}.json")
                res[(b, n)].append(measure(cmd, reports[b]))
            if a.baseline and open(reports["bin"], "rb").read() != open(reports["baseline"], "rb").read():
                sys.exit(f"x{n}: the reports of {a.bin} and {a.baseline} differ ({reports['bin']}, {reports['baseline']})")
            if n not in slos:
                import json
                slos[n] = len(json.load(open(reports["bin"]))["slos"])
    print(f"runs: {a.runs} per binary and factor, medians; data {a.data}" + (f" to {a.to}" if a.to else "")
          + (f"; {a.args}" if a.args else ""))
    for b, (path, extra) in bins.items():
        print(f"{b}: {' '.join([path] + extra)}")
        one = res[(b, factors[0])]
        w1, e1 = statistics.median(x[0] for x in one), statistics.median(x[1] for x in one)
        for n in factors:
            rs = res[(b, n)]
            w, e = statistics.median(x[0] for x in rs), statistics.median(x[1] for x in rs)
            rss = max(x[2] for x in rs)
            k = n / factors[0]
            print(f"  x{n:<3} {slos[n]:4} SLOs  wall {w:8.2f} s ({w / w1:5.2f}x)  rule evaluation {e:8.2f} s "
                  f"({e / e1:5.2f}x, {e / e1 / k:4.2f} per copy)  peak RSS {rss:7.0f} MiB ({rss / slos[n]:5.1f} per SLO)")
    if a.baseline:
        print("reports identical: yes")
        for n in factors:
            med = {b: [statistics.median(x[i] for x in res[(b, n)]) for i in (0, 1)] for b in ("bin", "baseline")}
            print(f"  x{n}: bin / baseline wall {med['bin'][0] / med['baseline'][0]:.2f}x, "
                  f"rule evaluation {med['bin'][1] / med['baseline'][1]:.3f}x")


if __name__ == "__main__":
    main()
