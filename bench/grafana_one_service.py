#!/usr/bin/env python3
"""Benchmark: Grafana dashboards for one service with many SLOs (issue 13, item 12).

Usage: python3 bench/grafana_one_service.py [--slos N] [--bin target/debug/slo]

Generates one service with N SLOs (five SLI kinds, alerts on most), runs
`slo compile --target grafana` under `/usr/bin/time -v`, and prints the
peak RSS, the wall time and the dashboard's size: memory should stay a
small multiple of the output, never grow with a tree of the whole
dashboard.

Measured 2026-12-05 (test-profile binary, 2 shared cores), 20,000 SLOs,
257 MiB of dashboard JSON, byte-identical before and after:
  before (a serde_json tree of the whole dashboard): peak RSS 2071 MiB (8.1x), 20.3 s
  after (panels serialized an SLO at a time):        peak RSS  626 MiB (2.4x), 13.5 s
  for scale, `slo compile` (Prometheus rules) of the same source: 694 MiB
"""
import argparse, os, re, shutil, subprocess, sys, time

KINDS = [
    ('availability', 'objective = 99.9% over 28d\n  sli events {{\n    bad = http_requests_total{{job="{s}", code=~"5.."}}\n    total = http_requests_total{{job="{s}"}}\n  }}\n  alerts = [google_28d(), slo_violation()]'),
    ('latency', 'objective = 95% over 7d\n  sli latency {{\n    histogram = http_request_duration_seconds{{job="{s}"}}\n    below = 500ms\n  }}\n  alerts = latency_violation()'),
    ('throughput', 'objective = 99% over 28d\n  sli timeslices 1m {{\n    good when rate(http_requests_total{{job="{s}"}}) >= 100/s\n  }}'),
    ('correctness', 'objective = 99.5% over calendar month in "Europe/Berlin"\n  sli events {{\n    good = jobs_total{{job="{s}", outcome="ok"}}\n    total = jobs_total{{job="{s}"}}\n  }}\n  group_by = [tenant]\n  alerts = google_28d()'),
    ('probe', 'objective = 99.9% over 30d\n  sli gauge {{\n    series = probe_success{{job="{s}"}}\n  }}'),
]


def generate(n, path):
    s = 'big'
    out = ['import std.alerting.{google_28d, slo_violation, latency_violation}', '',
           f'service {s} {{\n  owner = "team"\n  runbook = "https://runbooks.example.com/{s}"\n}}\n']
    for j in range(n):
        name, body = KINDS[j % len(KINDS)]
        out.append(f'slo {name}_{j} for {s} {{\n  runbook = "https://runbooks.example.com/{s}/{j}"\n  {body.format(s=f"job{j}")}\n}}\n')
    with open(path, 'w') as f:
        f.write('\n'.join(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--slos', type=int, default=20_000)
    ap.add_argument('--bin', default='target/debug/slo')
    a = ap.parse_args()
    os.makedirs('target/bench', exist_ok=True)
    src = f'target/bench/grafana_{a.slos}.slo'
    generate(a.slos, src)
    out = f'target/bench/grafana_{a.slos}'
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    p = subprocess.run(['/usr/bin/time', '-v', a.bin, 'compile', '--target', 'grafana', src, '--out', out],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    err = p.stderr.decode()
    if p.returncode != 0:
        sys.exit(f'compile failed ({p.returncode}):\n{err[-3000:]}')
    rss = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', err).group(1)) / 1024
    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out)) / 2**20
    print(f'{a.slos} SLOs in one service: {size:.1f} MiB of dashboard JSON, peak RSS {rss:.0f} MiB '
          f'({rss / size:.1f}x the output), {wall:.1f} s')


if __name__ == '__main__':
    main()
