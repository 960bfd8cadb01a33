#!/usr/bin/env python3
"""Benchmark: check and compile a generated file of 10,000 SLOs.

Usage: python3 bench/check_10k.py [--slos N] [--runs R] [--bin target/release/slo]

Prints the median wall time and peak RSS of `slo check` over R runs, and,
as a baseline measured in the same run, `slo fmt --check` on the same file
(parse + print, no checking), with the ratio between the two; then
`slo compile` to Prometheus rules, with rules and YAML bytes per SLO.
Targets: check under 0.3 s and 150 MB (issue 2), compile under 1 s and
150 MB (issue 3) for 10,000 SLOs.
"""
import argparse, os, statistics, subprocess, sys, time

def generate(n, path):
    kinds = [
        ('availability', 'objective = 99.9% over 28d\n  sli events {{\n    bad = http_requests_total{{job="{s}", code=~"5.."}}\n    total = http_requests_total{{job="{s}"}}\n  }}\n  alerts = [google_28d(), slo_violation()]'),
        ('latency', 'objective = 95% over 7d\n  sli latency {{\n    histogram = http_request_duration_seconds{{job="{s}"}}\n    below = 500ms\n  }}\n  alerts = latency_violation()'),
        ('throughput', 'objective = 99% over 28d\n  sli timeslices 1m {{\n    good when rate(http_requests_total{{job="{s}"}}) >= 100/s\n  }}'),
        ('correctness', 'objective = 99.5% over calendar month in "Europe/Berlin"\n  sli events {{\n    good = jobs_total{{job="{s}", outcome="ok"}}\n    total = jobs_total{{job="{s}"}}\n  }}\n  group_by = [tenant]\n  alerts = google_28d()'),
        ('probe', 'objective = 99.9% over 30d\n  sli gauge {{\n    series = probe_success{{job="{s}"}}\n  }}'),
    ]
    per = 10
    out = ['import std.alerting.{google_28d, slo_violation, latency_violation}',
           'import std.budget.{budget_alerts}', '']
    services = (n + per - 1) // per
    count = 0
    for i in range(services):
        s = f'svc{i:05d}'
        out.append(f'service {s} {{\n  owner = "team-{i % 50}"\n  runbook = "https://runbooks.example.com/{s}"\n  labels = {{ tier: "{i % 3}" }}\n  policy = budget_alerts()\n}}\n')
        for j in range(per):
            if count == n:
                break
            name, body = kinds[j % len(kinds)]
            out.append(f'slo {name}_{j} for {s} {{\n  description = "generated"\n  {body.format(s=s)}\n}}\n')
            count += 1
    with open(path, 'w') as f:
        f.write('\n'.join(out))

def run(cmd, runs):
    """Median wall time (s) and peak RSS (MiB, from GNU time) over `runs`."""
    times, rss = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(['/usr/bin/time', '-f', '%M'] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t0)
        err = p.stderr.decode()
        if p.returncode != 0:
            sys.exit(f'{" ".join(cmd)} failed ({p.returncode}):\n{err[:2000]}')
        rss = max(rss, int(err.strip().splitlines()[-1]))
    return statistics.median(times), rss / 1024

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--slos', type=int, default=10_000)
    ap.add_argument('--runs', type=int, default=7)
    ap.add_argument('--bin', default='target/release/slo')
    a = ap.parse_args()
    os.makedirs('target/bench', exist_ok=True)
    path = f'target/bench/slos_{a.slos}.slo'
    generate(a.slos, path)
    size = os.path.getsize(path)
    fmt_t, fmt_rss = run([a.bin, 'fmt', '--check', path], a.runs)
    chk_t, chk_rss = run([a.bin, 'check', path], a.runs)
    print(f'input: {a.slos} SLOs, {size / 1e6:.1f} MB of .slo')
    print(f'baseline  slo fmt --check (parse + print): median {fmt_t:.3f} s, peak RSS {fmt_rss:.0f} MiB')
    print(f'slo check (parse + resolve + type-check):  median {chk_t:.3f} s, peak RSS {chk_rss:.0f} MiB')
    print(f'ratio check / parse-only baseline: {chk_t / fmt_t:.2f}x')
    ok = chk_t < 0.3 and chk_rss < 150
    print(f'check target (< 0.3 s, < 150 MiB): {"met" if ok else "NOT met"}')
    out = 'target/bench/rules'
    cmp_t, cmp_rss = run([a.bin, 'compile', path, '--out', out], a.runs)
    files = [os.path.join(out, f) for f in os.listdir(out)]
    size = sum(os.path.getsize(f) for f in files)
    text = ''.join(open(f).read() for f in files)
    records, alerts = text.count('- record: '), text.count('- alert: ')
    print(f'slo compile (check + rules + YAML, {len(files)} files): median {cmp_t:.3f} s, peak RSS {cmp_rss:.0f} MiB')
    print(f'  per SLO: {(records + alerts) / a.slos:.1f} rules ({records / a.slos:.1f} recording, {alerts / a.slos:.1f} alerting), {size / a.slos / 1024:.1f} KiB of YAML')
    print(f'ratio compile / check: {cmp_t / chk_t:.2f}x')
    cok = cmp_t < 1.0 and cmp_rss < 150
    print(f'compile target (< 1 s, < 150 MiB): {"met" if cok else "NOT met"}')
    sys.exit(0 if ok and cok else 1)

if __name__ == '__main__':
    main()
