#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Smoke test of the evaluation suite: bench/run --smoke on a tiny
configuration (2 scenarios, 2 seeds, 6 simulated seconds, 2 policies),
then every output file is parsed and checked for shape and sense.  No
timing is asserted.

  smoke-test.py BUILD_DIR
"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import xml.dom.minidom

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = ['phased', 'xenbuild']
AGENTS = ['egreedy-cold-fast', 'linucb-cold-fast', 'egreedy-warm-fast', 'linucb-warm-fast']
STATICS = ['static-' + a for a in ('cpu', 'core', 'socket', 'node', 'all')]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print('FAIL: ' + what)


def read_csv(path):
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    check(len(rows) >= 2, '%s has a header and rows' % path)
    width = len(rows[0])
    for i, r in enumerate(rows):
        check(len(r) == width, '%s row %d has %d columns like the header' % (path, i, width))
    return rows[0], rows[1:]


def num(s):
    return float(s) if s != '' else float('nan')


def main():
    build = sys.argv[1]
    if not os.path.exists(os.path.join(build, 'bench', 'quality')):
        print('bench/quality is not built in %s' % build)
        return 77
    out = tempfile.mkdtemp(prefix='isched-bench-smoke.')
    try:
        subprocess.run([sys.executable, os.path.join(HERE, 'run'), '--smoke', '--no-build',
                        '--build-dir', build, '--out', out], check=True)

        q = json.load(open(os.path.join(out, 'quality.json')))
        check(sorted(q['scenarios']) == sorted(SCENARIOS), 'quality.json has the two scenarios')
        for s in SCENARIOS:
            methods = q['scenarios'][s]['methods']
            for m in STATICS + ['oracle'] + AGENTS:
                check(m in methods, 'quality.json %s has method %s' % (s, m))
                if m not in methods:
                    continue
                for k in ('score', 'throughput', 'lat_mean_us', 'lat_p99_us', 'switches'):
                    v = methods[m][k]['mean']
                    check(isinstance(v, (int, float)) and math.isfinite(v), '%s %s %s is a number' % (s, m, k))
                    check(methods[m][k]['n'] == 2, '%s %s %s is over 2 seeds' % (s, m, k))
                check(methods[m]['throughput']['mean'] > 0, '%s %s throughput is positive' % (s, m))
                # Without switches the latency distribution has no far tail, so a
                # p99 far below the mean means a broken histogram.  A live switch
                # can leave vCPUs stacked on one runqueue for a second or so
                # (docs/live-switch.md): fewer than 1% of the wakeups then wait
                # milliseconds, which raises the mean far above the p99.
                if methods[m]['switches']['mean'] == 0:
                    check(methods[m]['lat_p99_us']['mean'] >= methods[m]['lat_mean_us']['mean'] * 0.5,
                          '%s %s p99 latency is not far below the mean' % (s, m))
            # The oracle is the reference: its gap to itself is 0, and a static arrangement held
            # all run never switches.
            check(abs(methods['oracle']['gap_oracle']['mean']) < 1e-12, '%s oracle gap is 0' % s)
            for m in STATICS:
                check(methods[m]['switches']['mean'] == 0, '%s %s never switches' % (s, m))
            # Without phases the oracle is the best static arrangement, seed by seed.
            if q['scenarios'][s]['phases'] == 1:
                best = max(methods[m]['score']['mean'] for m in STATICS)
                check(methods['oracle']['score']['mean'] >= best - 1e-9, '%s oracle >= every static' % s)
        goals = q['goals']
        check(goals['best_method'] in AGENTS, 'goals name one agent method')
        for k in ('reaches_95pct_oracle_everywhere', 'beats_every_static_on_phased', 'never_1pct_below_socket'):
            check(isinstance(goals[k], bool), 'goal %s is judged' % k)

        header, rows = read_csv(os.path.join(out, 'quality.csv'))
        check(header[:4] == ['scenario', 'method', 'seeds', 'score'], 'quality.csv header')
        check(len(rows) == len(SCENARIOS) * (len(STATICS) + 1 + len(AGENTS)), 'quality.csv has one row per method')
        for r in rows:
            check(math.isfinite(num(r[3])), 'quality.csv score of %s/%s is a number' % (r[0], r[1]))
        header, rows = read_csv(os.path.join(out, 'quality-runs.csv'))
        check(len(rows) == 2 * len(SCENARIOS) * (len(STATICS) + 1 + len(AGENTS)), 'quality-runs.csv: one row per run')

        for name in ('series-phased.csv', 'regret-phased.csv'):
            header, rows = read_csv(os.path.join(out, name))
            check(header[0] == 'time_s' and 'oracle' in header, '%s header' % name)
            check(len(rows) == 6, '%s has one row per simulated second' % name)
            times = [num(r[0]) for r in rows]
            check(times == sorted(times), '%s time increases' % name)
            if name.startswith('regret'):
                o = header.index('oracle')
                check(all(num(r[o]) == 0 for r in rows), 'the oracle has no regret against itself')
        header, rows = read_csv(os.path.join(out, 'vs-socket.csv'))
        s = header.index('static-socket')
        check(all(num(r[s]) == 0 for r in rows), 'socket against itself is 0')

        header, rows = read_csv(os.path.join(out, 'overhead.csv'))
        check([r[0] for r in rows] == ['none', 'egreedy', 'linucb', 'dlinucb', 'lints'], 'overhead.csv policies')
        for r in rows:
            check(num(r[2]) >= 0 and num(r[4]) > 0, 'overhead.csv %s: CPU time and memory' % r[0])
        check(num(rows[0][2]) == 0, 'no agent, no agent CPU time')

        meta = json.load(open(os.path.join(out, 'meta.json')))
        check(meta['mode'] == 'smoke', 'meta.json records the mode')

        if shutil.which('gnuplot'):
            for name in ('reward-phased', 'regret-phased', 'vs-socket'):
                png = os.path.join(out, 'plots', name + '.png')
                svg = os.path.join(out, 'plots', name + '.svg')
                check(os.path.exists(png) and open(png, 'rb').read(8) == b'\x89PNG\r\n\x1a\n', '%s is a PNG' % png)
                try:
                    xml.dom.minidom.parse(svg)
                except Exception as e:  # noqa: BLE001 - any parse failure is the finding
                    check(False, '%s is well-formed SVG (%s)' % (svg, e))
        else:
            print('gnuplot not installed: plots not checked')
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print('%d failure(s)' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
