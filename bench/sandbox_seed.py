"""How long the demo seed takes: `leadrouter sandbox serve --seed demo --partners 200
--leads 10000` must be ready in < 5 s, so the seed itself should stay well under 3 s.

    .venv/bin/python bench/sandbox_seed.py [--partners 200] [--leads 10000] [--repeat 3]

Prints seconds for loading place data (once per process), creating the empty org, and
seeding it; the best of the repeats is the figure to compare.
"""
from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=200)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--random-seed", type=int, default=0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    from sandbox import places
    from sandbox.seed import build_demo_org
    from sandbox.store import Org

    places.all_places()
    print(f"import + place data: {time.perf_counter() - t0:.3f} s (once per process)")
    best = float("inf")
    for run in range(args.repeat):
        t1 = time.perf_counter()
        org = Org()
        t2 = time.perf_counter()
        summary = build_demo_org(org, partners=args.partners, leads=args.leads, random_seed=args.random_seed)
        t3 = time.perf_counter()
        best = min(best, t3 - t1)
        print(f"run {run + 1}: empty org {t2 - t1:.3f} s, seed {t3 - t2:.3f} s "
              f"({sum(summary.counts.values())} records: {summary.counts})")
    print(f"best: {best:.3f} s for {args.partners} partners + {args.leads} leads (target < 3 s)")


if __name__ == "__main__":
    main()
