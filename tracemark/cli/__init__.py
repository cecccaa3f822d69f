"""Assembles the `tracemark` command from each package's commands (each imports its heavy parts lazily)."""

from __future__ import annotations

import os

import typer
from rich.markup import escape
from sqlalchemy.exc import DBAPIError, OperationalError

from tracemark.cli import anchor, investigate, log, network, peers, policy, proof, scan, serve, tiles, trace_request, witness, witnesses
from tracemark.cli.common import REFUSED, err

__all__ = ["app", "main", "DEBUG_ENV"]

DEBUG_ENV = "TRACEMARK_DEBUG"
"""Set to 1, an error no command reports itself ends with its traceback instead of one line."""

app = typer.Typer(
    name="tracemark",
    help="Tracemark: a provenance ledger for marked firearms and CITES specimens.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for group in (log, serve, anchor, scan, investigate, tiles, witness, witnesses, peers, policy, proof, trace_request, network):
    group.register(app)


def main() -> None:
    """The console script: `app`, where an error no command reports itself (a database it cannot
    reach, a bug) is one line on stderr, never a traceback a user has to read: exit code 2 for a
    database that cannot be opened or reached, 1 for anything else."""
    try:
        app()
    except Exception as exc:
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        err.print(f"[bold red]error:[/] {escape(_describe(exc))}", soft_wrap=True)
        raise SystemExit(REFUSED if isinstance(exc, OperationalError) else 1) from None


def _describe(error: Exception) -> str:
    if isinstance(error, OperationalError):
        return f"cannot open or reach the database: {_first_line(error.orig)}"
    if isinstance(error, DBAPIError):
        return f"the database failed: {_first_line(error.orig)}"
    return f"unexpected failure: {_first_line(error)} ({type(error).__name__}; set {DEBUG_ENV}=1 to see where)"


def _first_line(error: BaseException | None) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else "(no message)"
