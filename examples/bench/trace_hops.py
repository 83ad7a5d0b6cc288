#!/usr/bin/env python3
"""examples/bench/trace_hops.py: where a one-task run's time goes.

Reads the points a -DSLUICE_TRACE=ON build wrote (common/trace.h) into
DIR/PID, one file per process of one host, lines them up by time, cuts
them into runs at each "client.submit", and prints the p50 and p90 of
each step of the most common path (docs/PERFORMANCE.md has one):

  cmake -S . -B build-trace -DSLUICE_TRACE=ON && cmake --build build-trace
  mkdir /tmp/hops && SLUICE_TRACE_DIR=/tmp/hops SLUICE_BIN=$PWD/build-trace \\
      examples/bench/cluster.sh --slots 1 latency --no-cache --tasks 3000
  examples/bench/trace_hops.py /tmp/hops
"""
import collections
import os
import statistics
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: trace_hops.py DIR")
    folder = sys.argv[1]
    points = []
    for name in os.listdir(folder):
        with open(os.path.join(folder, name)) as f:
            for line in f:
                ns, tag = line.split()
                points.append((int(ns), tag))
    points.sort()
    runs, run = [], None
    for ns, tag in points:
        if tag == "client.submit":
            run = [(ns, tag)]
            runs.append(run)
        elif run is not None:
            run.append((ns, tag))
    runs = runs[len(runs) // 10:]  # the first tenth warms up
    if not runs:
        sys.exit("no run in %s (was it a SLUICE_TRACE build?)" % folder)
    paths = collections.Counter(" ".join(t for _, t in r) for r in runs)
    path, count = paths.most_common(1)[0]
    steps = collections.defaultdict(list)
    totals = []
    for r in runs:
        if " ".join(t for _, t in r) != path:
            continue
        totals.append((r[-1][0] - r[0][0]) / 1e3)
        for i, ((a, ta), (b, tb)) in enumerate(zip(r, r[1:])):
            steps[(i, ta, tb)].append((b - a) / 1e3)
    print("%d runs, %d on the most common path; its p50 %.1f us" %
          (len(runs), count, statistics.median(totals)))
    for (_, a, b), us in sorted(steps.items()):
        us.sort()
        print("%-22s -> %-22s p50 %7.1f us  p90 %7.1f" %
              (a, b, statistics.median(us), us[int(len(us) * 0.9)]))


if __name__ == "__main__":
    main()
