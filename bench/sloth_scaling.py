#!/usr/bin/env python3
"""Is `slo check` / `slo compile` linear in SLOs? (issue 16, item 4)

Usage: python3 bench/sloth_scaling.py [--bin target/release/slo] [--runs 3]
                                      [--services 100,1000] [--slos-per-service 100]
                                      [--gen ../shared/bench/gen_sloth_specs.py]

For each service count (default 100 and 1000, i.e. 10,000 and 100,000
SLOs of 100 per service), generates the Sloth specs, translates them with
`slo import sloth` (timed once), then times `slo check` and `slo compile`
of the translation (median wall seconds and median CPU seconds, user +
system, of --runs; peak RSS) and prints each size's figures and their
ratios to the first size. On a shared machine the CPU ratio is the one to
quote: other jobs stretch wall time far more than CPU time.
A linear front end and back end give ratios near the ratio of SLOs (10x
for 10,000 -> 100,000); the goal is at most ~10.5x.

The compiled rules of 100,000 SLOs take about 0.7 GB on disk (under
--work, removed at the end unless --keep).
"""
import argparse, os, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd, runs):
    """Median wall seconds, median CPU seconds (user + system) and peak RSS
    (MiB) of `cmd` over `runs`; exits on failure."""
    walls, cpus, rss = [], [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        walls.append(time.perf_counter() - t0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            sys.exit(f'{" ".join(cmd)} failed ({code}):\n{err.decode(errors="replace")[-2000:]}')
        cpus.append(ru.ru_utime + ru.ru_stime)
        rss = max(rss, ru.ru_maxrss)
    return statistics.median(walls), statistics.median(cpus), rss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--services', default='100,1000', help='comma-separated service counts')
    ap.add_argument('--slos-per-service', type=int, default=100)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--bin', default='target/release/slo')
    ap.add_argument('--gen', default=os.path.join(HERE, '..', '..', 'shared', 'bench', 'gen_sloth_specs.py'))
    ap.add_argument('--work', default='target/bench/sloth-scaling')
    ap.add_argument('--keep', action='store_true', help='keep the generated specs, .slo and rules')
    a = ap.parse_args()
    if not os.path.exists(a.gen):
        sys.exit(f'generator not found: {a.gen} (pass --gen)')
    sizes = [int(s) for s in a.services.split(',')]
    rows = []
    for services in sizes:
        n = services * a.slos_per_service
        work = os.path.join(a.work, str(n))
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        specs, translated, out = (os.path.join(work, d) for d in ('specs', 'slo', 'rules'))
        subprocess.run([sys.executable, a.gen, '--services', str(services), '--slos-per-service',
                        str(a.slos_per_service), '--out-dir', specs], check=True, stdout=subprocess.DEVNULL)
        spec_files = sorted(os.path.join(specs, f) for f in os.listdir(specs))
        t0 = time.perf_counter()
        p = subprocess.run([a.bin, 'import', 'sloth', *spec_files, '--out', translated],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        import_s = time.perf_counter() - t0
        if p.returncode not in (0, 1):
            sys.exit(f'slo import failed ({p.returncode}):\n{p.stderr.decode()[-2000:]}')
        slo_bytes = sum(os.path.getsize(os.path.join(translated, f)) for f in os.listdir(translated))
        chk = timed([a.bin, 'check', translated], a.runs)
        cmp = timed([a.bin, 'compile', translated, '--out', out], a.runs)
        out_bytes = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
        print(f'{n:>7} SLOs: import {import_s:.2f} s ({slo_bytes / 1e6:.1f} MB of .slo); '
              f'check {chk[0]:.3f} s ({chk[1]:.3f} s CPU), {chk[2]:.0f} MiB; '
              f'compile {cmp[0]:.3f} s ({cmp[1]:.3f} s CPU), {cmp[2]:.0f} MiB '
              f'({out_bytes / 1e6:.0f} MB of rules)', flush=True)
        rows.append((n, chk, cmp))
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    n0, chk0, cmp0 = rows[0]
    for n, chk, cmp in rows[1:]:
        print(f'{n0} -> {n} SLOs ({n / n0:.0f}x): check {chk[0] / chk0[0]:.2f}x wall, {chk[1] / chk0[1]:.2f}x CPU, '
              f'{chk[2] / chk0[2]:.2f}x memory; compile {cmp[0] / cmp0[0]:.2f}x wall, {cmp[1] / cmp0[1]:.2f}x CPU, '
              f'{cmp[2] / cmp0[2]:.2f}x memory')


if __name__ == '__main__':
    main()
