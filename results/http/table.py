#!/usr/bin/env python3
"""The table of docs/benchmarks.md ("Over HTTP") from the result files in
results/http/<target>/: per cell, the median over its runs of goodput,
conflict rate and the CAS operation's p50/p99/p99.9 (latency of a whole
compare-and-swap, lost attempts and backoff included), the runs' goodput
range, and then, on the hot key, goodput at 64 racers as a fraction of
goodput at 1 racer.

    results/http/table.py memory file s3s-fs
"""
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cells(target):
    runs = defaultdict(list)
    for path in sorted((HERE / target).glob("*.json")):
        result = json.loads(path.read_text())
        load = result["config"]["load"]
        retry = load["cas_retry"]
        policy = retry["policy"]
        if policy == "backoff":
            policy = f"backoff {retry['base_us']}-{retry['cap_us']} us"
        key = (load["key_count"], load["mode"]["racers"], policy)
        runs[key].append(result["metrics"])
    return runs


def median(runs, name):
    return statistics.median(run[name]["value"] for run in runs if name in run)


def main(targets):
    print("| target | keys | racers | retry | runs | goodput writes/s (min-max) "
          "| conflict rate | CAS p50 ms | CAS p99 ms | CAS p99.9 ms |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    hot = {}
    for target in targets:
        runs_by_cell = cells(target)
        for (keys, racers, retry), runs in sorted(runs_by_cell.items()):
            goodputs = [run["goodput_writes_per_s"]["value"] for run in runs]
            goodput = statistics.median(goodputs)
            if keys == 1:
                hot[(target, retry, racers)] = goodput
            print(
                f"| {target} | {keys} | {racers} | {retry} | {len(runs)} "
                f"| {goodput:,.0f} ({min(goodputs):,.0f}-{max(goodputs):,.0f}) "
                f"| {median(runs, 'conflict_rate') * 100:.1f}% "
                f"| {median(runs, 'cas_p50_ns') / 1e6:.2f} "
                f"| {median(runs, 'cas_p99_ns') / 1e6:.2f} "
                f"| {median(runs, 'cas_p99_9_ns') / 1e6:.2f} |"
            )
    print()
    print("| target | retry | hot-key goodput, 64 racers / 1 racer |")
    print("|---|---|---:|")
    for (target, retry, racers), goodput in sorted(hot.items()):
        one = hot.get((target, retry, 1))
        if racers == 64 and one:
            print(f"| {target} | {retry} | {goodput / one:.2f} ({goodput:,.0f} / {one:,.0f}) |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["memory", "file"])
