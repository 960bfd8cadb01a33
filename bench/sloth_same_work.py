#!/usr/bin/env python3
"""Same-work benchmark against the peer (issue 16): Sloth specs in, rules out.

Usage: python3 bench/sloth_same_work.py [--services 100] [--slos-per-service 100]
                                        [--runs 5] [--bin target/release/slo]
                                        [--slokit PATH] [--promtool PATH]...
                                        [--gen ../shared/bench/gen_sloth_specs.py]

1. Generates the Sloth `prometheus/v1` specs the peers read
   (../shared/bench/gen_sloth_specs.py, one file per service).
2. Translates them with `slo import sloth` (timed once; how many SLOs
   translate and how many bytes of .slo they become is printed).
3. Times `slo check` and `slo compile` of the translation (median of
   --runs, peak RSS from GNU time) and, as the baseline measured in the same
   run, `slo fmt --check` of the same files (parse + print only).
4. Where slokit is installed (`cargo install slokit --version 1.9.0`, or
   --slokit PATH), runs `slokit validate` and `slokit generate` on the
   original specs in the same pass and prints slo / slokit ratios.
5. Counts the rules each tool emits per SLO.
6. With --promtool (repeatable: e.g. promtool 2.42 and 3.5), times
   `promtool check rules` (CPU seconds, user + system, median of --runs)
   of slokit's output, of ours (the imported policies say
   `join_tiers = true`: one `or`-joined alert per severity, the shape
   slokit writes), and of ours with the tiers apart (`join_tiers` taken
   out of the translation: one alert per window pair, with `long_window`),
   and prints the ratios. bench/promtool_cost.py
   breaks one output's cost down into rules, labels and annotations.

Figures are medians of paired runs on a shared, noisy machine: quote the
ratios, not the seconds.
"""
import argparse, os, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd, runs, cwd=None):
    """Median wall seconds and peak RSS (MiB) of `cmd` over `runs`; exits on failure."""
    times, rss = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(['/usr/bin/time', '-f', '%M'] + cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, cwd=cwd)
        times.append(time.perf_counter() - t0)
        err = p.stderr.decode(errors='replace')
        if p.returncode != 0:
            sys.exit(f'{" ".join(cmd)} failed ({p.returncode}):\n{err[-2000:]}')
        rss = max(rss, int(err.strip().splitlines()[-1]))
    return statistics.median(times), rss / 1024


def cpu_timed(cmd, runs):
    """Median CPU seconds (user + system) and peak RSS (MiB) of `cmd`: on a
    shared machine, CPU time is what other jobs disturb least."""
    times, rss = [], 0
    for _ in range(runs):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f'{" ".join(cmd[:3])} … failed:\n{err.decode()[-2000:]}')
        times.append(ru.ru_utime + ru.ru_stime)
        rss = max(rss, ru.ru_maxrss)
    return statistics.median(times), rss / 1024


def rules_in(directory):
    records = alerts = 0
    for root, _, files in os.walk(directory):
        for f in files:
            if f.startswith('.'):
                continue
            text = open(os.path.join(root, f), errors='replace').read()
            records += text.count('record:')
            alerts += text.count('alert:')
    return records, alerts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--services', type=int, default=100)
    ap.add_argument('--slos-per-service', type=int, default=100)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--bin', default='target/release/slo')
    ap.add_argument('--slokit', default=shutil.which('slokit'))
    ap.add_argument('--promtool', action='append', default=[],
                    help='also time `promtool check rules` of the outputs (e.g. /usr/bin/promtool); repeatable')
    ap.add_argument('--gen', default=os.path.join(HERE, '..', '..', 'shared', 'bench', 'gen_sloth_specs.py'))
    ap.add_argument('--work', default='target/bench/sloth')
    a = ap.parse_args()
    if not os.path.exists(a.gen):
        sys.exit(f'generator not found: {a.gen} (pass --gen)')
    n = a.services * a.slos_per_service
    specs = os.path.join(a.work, 'specs')
    translated = os.path.join(a.work, 'slo')
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    subprocess.run([sys.executable, a.gen, '--services', str(a.services), '--slos-per-service',
                    str(a.slos_per_service), '--out-dir', specs], check=True, stdout=subprocess.DEVNULL)
    spec_files = sorted(os.path.join(specs, f) for f in os.listdir(specs))
    spec_bytes = sum(os.path.getsize(f) for f in spec_files)

    t0 = time.perf_counter()
    p = subprocess.run([a.bin, 'import', 'sloth', *spec_files, '--out', translated],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import_s = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        sys.exit(f'slo import failed ({p.returncode}):\n{p.stderr.decode()[-2000:]}')
    slo_files = sorted(os.path.join(translated, f) for f in os.listdir(translated) if f.endswith('.slo'))
    slo_bytes = sum(os.path.getsize(f) for f in slo_files)
    text = ''.join(open(f).read() for f in slo_files)
    kept = text.count('\nslo ') + text.startswith('slo ')
    print(f'input: {n} Sloth SLOs in {len(spec_files)} files, {spec_bytes / 1e6:.1f} MB of YAML')
    print(f'slo import sloth: {import_s:.2f} s; {kept} of {n} SLOs translated, '
          f'{slo_bytes / 1e6:.1f} MB of .slo ({slo_bytes / max(spec_bytes, 1):.2f}x the YAML)')

    fmt_t, fmt_rss = timed([a.bin, 'fmt', '--check', translated], a.runs)
    chk_t, chk_rss = timed([a.bin, 'check', translated], a.runs)
    out = os.path.join(a.work, 'rules')
    cmp_t, cmp_rss = timed([a.bin, 'compile', translated, '--out', out], a.runs)
    rec, al = rules_in(out)
    print(f'baseline slo fmt --check:  median {fmt_t:.3f} s, {fmt_rss:.0f} MiB')
    print(f'slo check:                 median {chk_t:.3f} s, {chk_rss:.0f} MiB  ({chk_t / fmt_t:.2f}x the baseline)')
    print(f'slo compile:               median {cmp_t:.3f} s, {cmp_rss:.0f} MiB  ({cmp_t / chk_t:.2f}x check); '
          f'{rec / max(kept, 1):.1f} recording + {al / max(kept, 1):.1f} alerting rules per SLO')

    if a.slokit:
        sk_out = os.path.join(a.work, 'slokit')
        os.makedirs(sk_out)
        v_t, v_rss = timed([a.slokit, 'validate', '-i', specs], a.runs)
        # slokit writes one file holding every group.
        sk_file = os.path.join(sk_out, 'rules.yml')
        g_t, g_rss = timed([a.slokit, 'generate', '-i', specs, '-o', sk_file], a.runs)
        srec, sal = rules_in(sk_out)
        print(f'slokit validate:           median {v_t:.3f} s, {v_rss:.0f} MiB')
        print(f'slokit generate:           median {g_t:.3f} s, {g_rss:.0f} MiB; '
              f'{srec / n:.1f} recording + {sal / n:.1f} alerting rules per SLO')
        print(f'ratio check / validate:    {chk_t / v_t:.2f}x time, {chk_rss / max(v_rss, 1):.2f}x memory')
        print(f'ratio compile / generate:  {cmp_t / g_t:.2f}x time, {cmp_rss / max(g_rss, 1):.2f}x memory')
        if a.promtool:
            # The same translation with each policy's tiers apart.
            apart_src = os.path.join(a.work, 'slo-apart')
            os.makedirs(apart_src)
            for f in slo_files:
                text = open(f).read().replace('  join_tiers = true\n', '')
                open(os.path.join(apart_src, os.path.basename(f)), 'w').write(text)
            apart = os.path.join(a.work, 'rules-apart')
            subprocess.run([a.bin, 'compile', apart_src, '--out', apart],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            jrec, jal = rules_in(apart)
            print(f'slo, tiers apart:          {jrec / max(kept, 1):.1f} recording + {jal / max(kept, 1):.1f} alerting rules per SLO')
            ymls = lambda d: sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith('.yml'))
            for promtool in a.promtool:
                version = subprocess.run([promtool, '--version'], capture_output=True, text=True).stdout.split()[2:3]
                q_t, q_rss = cpu_timed([promtool, 'check', 'rules', sk_file], a.runs)
                p_t, p_rss = cpu_timed([promtool, 'check', 'rules', *ymls(out)], a.runs)
                j_t, j_rss = cpu_timed([promtool, 'check', 'rules', *ymls(apart)], a.runs)
                v = version[0] if version else promtool
                print(f'promtool {v} check rules (CPU): slokit {q_t:.2f} s, {q_rss:.0f} MiB; '
                      f'slo {p_t:.2f} s, {p_rss:.0f} MiB ({p_t / q_t:.2f}x); '
                      f'slo tiers apart {j_t:.2f} s, {j_rss:.0f} MiB ({j_t / q_t:.2f}x)')
    else:
        print('slokit not installed (cargo install slokit --version 1.9.0, or --slokit PATH): no peer figures')


if __name__ == '__main__':
    main()
