"""Benchmarks that print their numbers as ratios against the same machine's bare limits.

Each module exposes `run(quick: bool) -> dict` (see `bench.__main__`); results are merged
into `bench/results.json` under the module's name, so one run never erases another's keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["RESULTS", "save_results"]

RESULTS = Path(__file__).with_name("results.json")


def save_results(name: str, results: dict[str, Any], path: Path = RESULTS) -> None:
    """Merge `results` into the JSON file under `name`, keeping every other key."""
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = results
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
