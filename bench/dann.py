"""Domain adaptation benchmark: DANN against its two bounds on MNIST → MNIST-M-like, per seed.

Prints, for each seed, the target accuracy of "source only", DANN and "train on target" (all three trained by the
same code, engine.dann.train, on the 4 000 training images of each domain, tested on the 1 000 held-out images of
the target), the share of the gap DANN closes, and each run's training time: wall clock, and the process's CPU time
(on a machine shared with other work a 1-thread run's wall clock stretches, its CPU time much less); then the mean
over the seeds.
Goal (issue 17): DANN closes ≥ 80 % of the gap, mean of 3 seeds, each run ≤ 90 s on the 2-core CPU.
Anchor: Ganin et al. on MNIST → MNIST-M closed 56 % (52.25 % → 76.66 % of 95.96 %).

Run from the repository root: `.venv/bin/python bench/dann.py [--seeds 3] [--epochs N] [--threads 2]`
(about 3 × 3 runs; each prints as it ends).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import cpu_model  # noqa: E402

GOAL_GAP, GOAL_SECONDS = 0.80, 90.0


def main() -> None:
    from engine.dann.domains import load_pair
    from engine.dann.train import DANNConfig, gap_closed, train

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=DANNConfig.epochs)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pair", default="mnist-m", choices=["mnist-m", "digits"])
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, {args.threads} torch threads; "
          f"load before: {os.getloadavg()[0]:.2f}")
    pair = load_pair(args.pair)
    print(f"{pair.title}: {len(pair.source.train_x)} source + {len(pair.target.train_x)} target training images, "
          f"{len(pair.target.test_x)} target test images; {args.epochs} epochs")
    print("| seed | source only | DANN | train on target | gap closed | wall s (SO / DANN / target) | "
          "CPU s (same) | load |")
    print("|---|---|---|---|---|---|---|---|")
    gaps, times = [], []
    for seed in range(args.seeds):
        runs, cpu = {}, []
        for mode in ("source-only", "dann", "target"):
            start = time.process_time()
            runs[mode] = train(DANNConfig(pair=args.pair, mode=mode, epochs=args.epochs, seed=seed,
                                          threads=args.threads), pair)
            cpu.append(time.process_time() - start)
        acc = {mode: r.accuracies.target for mode, r in runs.items()}
        gap = gap_closed(acc["source-only"], acc["dann"], acc["target"])
        gaps.append(gap)
        times += [r.seconds for r in runs.values()]
        print(f"| {seed} | {acc['source-only']:.3f} | {acc['dann']:.3f} | {acc['target']:.3f} | {gap:.0%} | "
              f"{' / '.join(f'{r.seconds:.0f}' for r in runs.values())} | "
              f"{' / '.join(f'{c:.0f}' for c in cpu)} | {os.getloadavg()[0]:.2f} |", flush=True)
    mean_gap = statistics.mean(gaps)
    print(f"gap closed, mean of {len(gaps)} seeds: {mean_gap:.1%} (goal ≥ {GOAL_GAP:.0%}: "
          f"{'met' if mean_gap >= GOAL_GAP else 'missed'}); longest run {max(times):.0f} s "
          f"(goal ≤ {GOAL_SECONDS:.0f} s: {'met' if max(times) <= GOAL_SECONDS else 'missed'}); "
          f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
