"""Assembles the `tracemark` command from each package's commands (each imports its heavy parts lazily)."""

from __future__ import annotations

import typer

from ledger import cli as ledger_cli

__all__ = ["app"]

app = typer.Typer(
    name="tracemark",
    help="Tracemark: a provenance ledger for marked firearms and CITES specimens.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ledger_cli.register(app)
