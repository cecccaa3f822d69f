"""Run every benchmark: `python -m bench [--quick]`.

A module with `run(quick)` is called with the flag; one with only `main(argv)` runs its defaults.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import bench


def main() -> None:
    parser = argparse.ArgumentParser(description="Run every Tracemark benchmark.")
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI and a first look")
    args = parser.parse_args()
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        print(f"== {info.name}", flush=True)
        if hasattr(module, "run"):
            module.run(quick=args.quick)
        elif hasattr(module, "main"):
            module.main([])


if __name__ == "__main__":
    main()
