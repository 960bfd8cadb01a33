#!/usr/bin/env python3
"""Where `promtool check rules` spends its time on a set of rule files (issue 16).

Usage: python3 bench/promtool_cost.py RULES... [--promtool /usr/bin/promtool]
                                      [--runs 3] [--work target/bench/promtool_cost]

RULES are rule files or directories of them (e.g. the output of
`slo compile` and of `slokit generate` for the same specs). Go's profiler
cannot be attached to a release promtool, so the cost is measured by
controlled variants of the same file, each re-emitted by the same YAML
writer so that only the part under test differs:

  full           every rule as written
  records        the recording rules only
  alerts         the alerting rules only
  alerts-noann   alerting rules without annotations
  alerts-static  alerting rules whose annotation templates ({{ ... }}) are
                 replaced by a static word (same number of annotations)
  alerts-bare    alerting rules with neither labels nor annotations
  alerts-vector  bare alerting rules whose expression is `vector(1)`
  groups         one `vector(1)` recording rule per group (group overhead)

and the per-item costs are differences of medians divided by the count:
per recording rule, per alerting rule (bare, expression included), per
alert label, per annotation, per template action, per group.

promtool checks every label and annotation of an alerting rule as a Go
template (rulefmt's testTemplateParsing builds a new template with
Prometheus's function map each time), while recording-rule labels are not
templates: that is why labels on alerts cost far more than on records.
"""
import argparse, copy, os, re, statistics, subprocess, sys

import yaml

Loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
Dumper = getattr(yaml, 'CSafeDumper', yaml.SafeDumper)
ACTION = re.compile(r'\{\{.*?\}\}')


def load(paths):
    groups = []
    for p in paths:
        files = [p] if os.path.isfile(p) else sorted(
            os.path.join(p, f) for f in os.listdir(p) if f.endswith(('.yml', '.yaml')) and not f.startswith('.'))
        for f in files:
            with open(f) as fh:
                doc = yaml.load(fh, Loader=Loader) or {}
            groups.extend(doc.get('groups') or [])
    return groups


def variant(groups, keep, edit=None):
    out = []
    for g in groups:
        rules = []
        for r in g.get('rules') or []:
            if not keep(r):
                continue
            r = copy.copy(r)
            if edit:
                edit(r)
            rules.append(r)
        if rules:
            ng = {k: v for k, v in g.items() if k != 'rules'}
            ng['rules'] = rules
            out.append(ng)
    return out


def is_alert(r):
    return 'alert' in r


def noann(r):
    r.pop('annotations', None)


def static(r):
    if 'annotations' in r:
        r['annotations'] = {k: ACTION.sub('X', v) for k, v in r['annotations'].items()}


def bare(r):
    r.pop('annotations', None)
    r.pop('labels', None)


def vector(r):
    bare(r)
    r['expr'] = 'vector(1)'


def timed(promtool, path, runs):
    """Median CPU seconds (user + system) of `promtool check rules path`.

    CPU time rather than wall time: the machine is shared, and promtool's
    work is CPU-bound, so its CPU time is what other jobs disturb least.
    """
    times = []
    for _ in range(runs):
        p = subprocess.Popen([promtool, 'check', 'rules', path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        times.append(ru.ru_utime + ru.ru_stime)
        if p.returncode != 0:
            sys.exit(f'promtool check rules {path} failed:\n{err.decode()[-2000:]}')
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('rules', nargs='+')
    ap.add_argument('--promtool', default='/usr/bin/promtool')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--work', default='target/bench/promtool_cost')
    a = ap.parse_args()
    groups = load(a.rules)
    os.makedirs(a.work, exist_ok=True)

    alerts = [r for g in groups for r in g.get('rules') or [] if is_alert(r)]
    n = {
        'group': len(groups),
        'record': sum(1 for g in groups for r in g.get('rules') or [] if not is_alert(r)),
        'alert': len(alerts),
        'label': sum(len(r.get('labels') or {}) for r in alerts),
        'annotation': sum(len(r.get('annotations') or {}) for r in alerts),
        'action': sum(len(ACTION.findall(v)) for r in alerts for v in (r.get('annotations') or {}).values()),
        'expr_bytes': sum(len(r['expr']) for r in alerts),
    }
    variants = {
        'full': variant(groups, lambda r: True),
        'records': variant(groups, lambda r: not is_alert(r)),
        'alerts': variant(groups, is_alert),
        'alerts-noann': variant(groups, is_alert, noann),
        'alerts-static': variant(groups, is_alert, static),
        'alerts-bare': variant(groups, is_alert, bare),
        'alerts-vector': variant(groups, is_alert, vector),
        'groups': [{'name': g['name'], 'rules': [{'record': 'x', 'expr': 'vector(1)'}]} for g in groups],
    }
    t = {}
    for name, gs in variants.items():
        path = os.path.join(a.work, name + '.yml')
        with open(path, 'w') as fh:
            yaml.dump({'groups': gs}, fh, Dumper=Dumper, sort_keys=False, width=1 << 20)
        t[name] = timed(a.promtool, path, a.runs)
        print(f'{name:14} {t[name]:7.2f} s CPU  ({os.path.getsize(path) / 1e6:.1f} MB)')

    def per(delta, count):
        return f'{delta / count * 1e6:8.1f} µs' if count else '       -'

    print(f'counts: {n}')
    print(f'per group:          {per(t["groups"], n["group"])}  (one trivial rule each, file read included)')
    print(f'per recording rule: {per(t["records"] - t["groups"], n["record"])}')
    print(f'per alerting rule:  {per(t["alerts-vector"] - t["groups"], n["alert"])}  (bare, `vector(1)`)')
    print(f'  its expression:   {per(t["alerts-bare"] - t["alerts-vector"], n["alert"])}  '
          f'({n["expr_bytes"] / max(n["alert"], 1):.0f} bytes on average)')
    print(f'per alert label:    {per(t["alerts-noann"] - t["alerts-bare"], n["label"])}')
    print(f'per annotation:     {per(t["alerts-static"] - t["alerts-noann"], n["annotation"])}  (static text)')
    print(f'per template action:{per(t["alerts"] - t["alerts-static"], n["action"])}')
    print(f'alerts in full:     {t["full"] - t["records"]:7.2f} s of {t["full"]:.2f} s')


if __name__ == '__main__':
    main()
