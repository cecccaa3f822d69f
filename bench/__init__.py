"""Benchmarks that print their numbers as ratios against the same machine's bare limits.

`python -m bench [--quick]` (`make bench`, `make bench-quick`) runs every module in `MODULES`;
each exposes `run(quick: bool) -> dict` whose `rows` are printed as one table on stdout, and
the dicts are merged into `bench/results.json` under the module's name. Shared helpers live
in `bench._common`; `bench.growth` runs last and plots what the others measured.
"""

__all__ = ["MODULES"]

MODULES = ("append", "http_append", "scan", "proofs", "offline_scan", "signed_log", "storage", "gas", "investigate", "tiles", "witness", "quorum", "cross_border", "growth")
"""Run order: growth plots the figures the modules before it wrote to results.json."""
