"""`tracemark policy check FILE`, and what every verifier given `--policy` (C2SP tlog-policy) shares: reading
the policy, the log key it checks with, and the report of who cosigned what."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from tracemark.cli.common import console, err, reported, settings_from

if TYPE_CHECKING:
    from ledger import Ledger, Policy

__all__ = ["register", "read_policy", "log_key_for", "report_witnesses"]


def read_policy(path: Path | None) -> Policy | None:
    """The policy in ``path``, or None when no policy was given (the verifier checks the log's key alone)."""
    if path is None:
        return None
    from ledger import load_policy

    return load_policy(path)


def log_key_for(policy: Policy | None, vkey: str | None, home: Path | None) -> str | None:
    """The log key a verifier checks with: ``--vkey`` if given, else the policy's logs (None) when it
    lists any, else the key kept in the home folder."""
    if vkey is not None or (policy is not None and policy.logs):
        return vkey
    return settings_from(None, home).verifier_key()


def check(file: Annotated[Path, typer.Argument(help="the policy file", dir_okay=False)]) -> None:
    """Validate a verifier policy and print what it requires."""
    policy = read_policy(file)
    assert policy is not None
    for line in policy.describe():
        console.print(line, markup=False, highlight=False)


def report_witnesses(ledger: Ledger, policy: Policy | None, log_vkey: str) -> bool:
    """Print which of the policy's witnesses cosigned which checkpoints; False if a stored
    cosignature contradicts the log (that witness cosigned another tree of that size)."""
    from ledger import witness_report

    assert policy is not None
    report = witness_report(ledger, policy, log_vkey)
    sizes = sorted(report.cosigned)
    for size in sizes[-20:]:
        console.print(f"checkpoint of size {size}: cosigned by {', '.join(report.cosigned[size])}", markup=False, highlight=False)
    if len(sizes) > 20:
        console.print(f"... and {len(sizes) - 20} earlier checkpoints cosigned by the policy's witnesses")
    if not sizes and not report.contradictions:
        console.print("no checkpoint carries a cosignature by a witness of the policy")
    for c in report.contradictions:
        err.print(f"[bold red]SPLIT VIEW[/] witness {escape(c.witness)} (kept as {escape(c.stored_as)}) cosigned another tree of "
                  f"size {c.size}: it saw another history than this log holds ({escape(c.detail)})")
    latest = report.latest
    if latest is not None:
        verdict = "meets the quorum" if latest.holds else escape(latest.why)
        console.print(f"newest cosigned checkpoint (size {latest.checkpoint.size}): {verdict}")
    return not report.contradictions


def register(app: typer.Typer) -> None:
    """Add `policy` to the `tracemark` app."""
    policy = typer.Typer(help="verifier policies: trusted logs, witnesses and the quorum (C2SP tlog-policy)", no_args_is_help=True)
    policy.command("check")(reported(check))
    app.add_typer(policy, name="policy")
