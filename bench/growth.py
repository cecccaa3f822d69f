"""How the log grows: append rate, proof time and audit rate by log size, plotted to bench/growth.png.

It draws what this run's modules wrote to `bench/results.json`: proof times on the synthetic
log from 10^4 up to 10^7 entries (`bench.proofs`), and the append and audit rates of the real
signed log as far as `bench.signed_log` grew it in its time (the size reached is on the plot).

    python -m bench.growth   (after the other modules)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

from bench._common import RESULTS, cli, note  # noqa: E402

__all__ = ["run", "PNG"]

PNG = Path(__file__).with_name("growth.png")
LOG_RANGE = (10**3, 10**7)  # from 10^3 so a quick run's short real log shows too


def _panel(axis: Any, points: list[dict[str, float]], key: str, title: str, ylabel: str, color: str) -> None:
    axis.plot([p["events"] for p in points], [p[key] for p in points], "o-", color=color)
    axis.set(xscale="log", xlim=LOG_RANGE, title=title, xlabel="log size (entries)", ylabel=ylabel)
    axis.set_ylim(bottom=0)
    axis.grid(True, which="both", alpha=0.3)


def run(quick: bool = False) -> dict[str, Any]:
    """Plot the growth series saved by bench.proofs and bench.signed_log."""
    data = json.loads(RESULTS.read_text())
    proofs, grown = data["proofs"], data["signed_log"]
    figure, (append, proof, audit) = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    short = "" if grown["events_reached"] >= grown["events_wanted"] else f" of the {grown['events_wanted']:,} wanted"
    reached = f"real signed log, grown to {grown['events_reached']:,} events{short} in this run"
    _panel(append, grown["append_growth"], "events_per_s", "append rate (batches of 1,000, SQLite)", "events / s", "tab:blue")
    append.text(0.02, 0.03, reached, transform=append.transAxes, fontsize=8)
    _panel(audit, grown["audit_growth"], "events_per_s", "audit rate (tracemark verify)", "events / s", "tab:green")
    audit.text(0.02, 0.03, reached, transform=audit.transAxes, fontsize=8)
    sizes = [p["size"] for p in proofs["growth"]]
    for key, label, marker in (("inclusion_ms", "inclusion", "o-"), ("consistency_ms", "consistency", "s--")):
        proof.plot(sizes, [p[key] for p in proofs["growth"]], marker, label=label)
    proof.axhline(2, color="tab:red", linestyle=":", label="target 2 ms")
    proof.set(xscale="log", xlim=LOG_RANGE, title=f"proof time (synthetic log to {proofs['size']:,})", xlabel="log size (entries)", ylabel="ms per proof (median)")
    proof.set_ylim(bottom=0)
    proof.grid(True, which="both", alpha=0.3)
    proof.legend(fontsize=8)
    figure.suptitle(f"Tracemark as the log grows ({'quick' if quick else 'full'} run)")
    figure.savefig(PNG, dpi=110)
    plt.close(figure)
    note(f"growth: plotted to {PNG}")
    return {"quick": quick, "png": str(PNG.name), "rows": []}


if __name__ == "__main__":
    cli("growth", run)
