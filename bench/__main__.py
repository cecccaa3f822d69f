"""Run every benchmark: `python -m bench [--quick]` prints one table and writes bench/results.json."""

from __future__ import annotations

import argparse
import importlib
import time

from bench import MODULES
from bench._common import format_table, note, save_results


def main() -> None:
    parser = argparse.ArgumentParser(description="Run every Tracemark benchmark and print one table of figures against same-run baselines.")
    parser.add_argument("--quick", action="store_true", help="small sizes, under two minutes, for CI and a first look")
    parser.add_argument("--only", nargs="+", choices=MODULES, help="run these modules only")
    args = parser.parse_args()
    began = time.monotonic()
    rows = []
    for name in args.only or MODULES:
        figures = importlib.import_module(f"bench.{name}").run(quick=args.quick)
        save_results({name: figures})  # after each module, so growth reads this run's figures
        rows.extend(figures.get("rows", []))
    note(f"all benchmarks took {time.monotonic() - began:.0f} s; figures in bench/results.json")
    print(format_table(rows))


if __name__ == "__main__":
    main()
