#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Smoke test of the evaluation suite: bench/run --smoke on a tiny
configuration (2 scenarios, 2 seeds, 15 simulated seconds), then every
output file is parsed and checked for shape and sense.  No timing is
asserted.

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
STATICS = ['static-' + a for a in ('cpu', 'core', 'socket', 'node', 'all')]
METHODS = STATICS + ['oracle', 'agent-prior', 'agent-cold']
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
    return float(s) if s not in ('', 'nan') else float('nan')


def quality(build, out, *args):
    # seed 1 of the smoke run's 2: its statics and oracle runs are all the bench needs
    return subprocess.run([os.path.join(build, 'bench', 'quality'), '--out', out, '--seeds', '1', '--duration', '15',
                           '--scenarios', ','.join(SCENARIOS), '--jobs', '2'] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_modes(build, smoke_out):
    """Another observation mode on the smoke run's statics and oracle: reused with --no-prior
    (only their ground truth is used), refused where their observed scores or an agent's would be."""
    out = os.path.join(smoke_out, 'mode-xen')
    os.makedirs(os.path.join(out, 'runs'))
    reused = [f for f in os.listdir(os.path.join(smoke_out, 'runs')) if not f.split('--')[1].startswith('agent')]
    for f in reused:
        shutil.copy2(os.path.join(smoke_out, 'runs', f), os.path.join(out, 'runs', f))
    stamp = {f: os.stat(os.path.join(out, 'runs', f)).st_mtime_ns for f in reused}

    r = quality(build, out, '--observation', 'xen')
    check(r.returncode == 1 and 'observed in mode ground-truth' in r.stderr and '--no-prior' in r.stderr,
          'ground-truth statics refused for the priors of mode xen (%d: %s)' % (r.returncode, r.stderr.strip()))
    check(not os.path.exists(os.path.join(out, 'priors', 'loo-xenbuild.model')), 'no prior trained on them')

    r = quality(build, out, '--observation', 'xen', '--no-prior')
    check(r.returncode == 0, 'quality --observation xen --no-prior on reused statics (%s)' % r.stderr.strip())
    check(all(os.stat(os.path.join(out, 'runs', f)).st_mtime_ns == stamp[f] for f in reused),
          'the statics and oracle runs were reused, not rerun')
    runs = os.listdir(os.path.join(out, 'runs'))
    check(not any('--agent-prior--' in f for f in runs), 'no agent-prior run with --no-prior')
    cold = [f for f in runs if '--agent-cold--' in f]
    check(len(cold) == len(SCENARIOS), 'an agent-cold run per scenario')
    check(all(json.load(open(os.path.join(out, 'runs', f)))['observation'] == 'xen' for f in cold),
          'the cold agent observed in mode xen')
    if r.returncode == 0:
        q = json.load(open(os.path.join(out, 'quality.json')))
        check(q['observation'] == 'xen', 'quality.json records mode xen')
        check(q['goals']['do_no_harm_prior'] is None and isinstance(q['goals']['do_no_harm_cold'], bool),
              'the prior\'s goals are not judged, the cold ones are')
        check('not run' in open(os.path.join(out, 'quality.md')).read(), 'quality.md says the prior was not run')
        check('agent-prior' not in open(os.path.join(out, 'vs-socket.csv')).readline(), 'no agent-prior column')

    # an agent run of another mode is never reused
    f = cold[0] if cold else None
    if f:
        shutil.copy2(os.path.join(smoke_out, 'runs', f), os.path.join(out, 'runs', f))
        r = quality(build, out, '--observation', 'xen', '--no-prior')
        check(r.returncode == 1 and 'agent run observed in mode ground-truth, not xen' in r.stderr,
              'a ground-truth agent run refused in mode xen (%d: %s)' % (r.returncode, r.stderr.strip()))


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
            for m in METHODS:
                check(m in methods, 'quality.json %s has method %s' % (s, m))
                if m not in methods:
                    continue
                for k in ('score', 'window_score', 'throughput', 'lat_mean_us', 'lat_p99_us', 'switches'):
                    v = methods[m][k]['mean']
                    check(isinstance(v, (int, float)) and math.isfinite(v), '%s %s %s is a number' % (s, m, k))
                    check(methods[m][k]['n'] == 2, '%s %s %s is over 2 seeds' % (s, m, k))
                check(methods[m]['throughput']['mean'] > 0, '%s %s throughput is positive' % (s, m))
            # socket against itself is 0, a static never switches
            check(methods['static-socket']['vs_socket']['mean'] == 0, '%s socket - socket is 0' % s)
            for m in STATICS:
                check(methods[m]['switches']['mean'] == 0, '%s %s never switches' % (s, m))
            # without phases the oracle is the best static, seed by seed
            if q['scenarios'][s]['phases'] == 1:
                best = max(methods[m]['score']['mean'] for m in STATICS)
                check(methods['oracle']['score']['mean'] >= best - 1e-9, '%s oracle >= every static' % s)
        check(q['scenarios']['phased']['stress'] is True, 'the 5-s phased scenario is the stress case')
        for k in ('do_no_harm_prior', 'do_no_harm_cold', 'capture_80pct_with_prior', 'phased_beats_every_static',
                  'calm_prior', 'calm_cold'):
            check(isinstance(q['goals'][k], bool), 'goal %s is judged' % k)
        check(os.path.exists(os.path.join(out, 'priors', 'loo-xenbuild.model')), 'a leave-one-out prior per scenario')

        header, rows = read_csv(os.path.join(out, 'quality-runs.csv'))
        check(header[:4] == ['scenario', 'method', 'seed', 'score'], 'quality-runs.csv header')
        check(len(rows) == 2 * len(SCENARIOS) * len(METHODS), 'quality-runs.csv: one row per run and method')
        header, rows = read_csv(os.path.join(out, 'vs-socket.csv'))
        s = header.index('static-socket')
        check(all(num(r[s]) == 0 for r in rows), 'socket against itself is 0')
        md = open(os.path.join(out, 'quality.md')).read()
        for title in ('Do no harm', 'Capture', 'Calm'):
            check(title in md, 'quality.md has the %s table' % title)

        header, rows = read_csv(os.path.join(out, 'overhead.csv'))
        check([r[0] for r in rows] == ['none', 'egreedy', 'linucb', 'dlinucb', 'lints'], 'overhead.csv policies')
        for r in rows:
            check(num(r[2]) >= 0 and num(r[4]) > 0, 'overhead.csv %s: CPU time and memory' % r[0])
        check(num(rows[0][2]) == 0, 'no agent, no agent CPU time')

        meta = json.load(open(os.path.join(out, 'meta.json')))
        check(meta['mode'] == 'smoke', 'meta.json records the mode')

        if shutil.which('gnuplot'):
            for name in ('vs-socket',):
                png = os.path.join(out, 'plots', name + '.png')
                svg = os.path.join(out, 'plots', name + '.svg')
                check(os.path.exists(png) and open(png, 'rb').read(8) == b'\x89PNG\r\n\x1a\n', '%s is a PNG' % png)
                try:
                    xml.dom.minidom.parse(svg)
                except Exception as e:  # noqa: BLE001 - any parse failure is the finding
                    check(False, '%s is well-formed SVG (%s)' % (svg, e))
        else:
            print('gnuplot not installed: plots not checked')

        check_modes(build, out)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print('%d failure(s)' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
