"""Assembles the `tracemark` command from each package's commands (each imports its heavy parts lazily)."""

from __future__ import annotations

import typer

from api import cli as api_cli
from ledger import anchor_cli
from ledger import cli as ledger_cli
from ledger import investigate_cli
from scanner import cli as scanner_cli

__all__ = ["app"]

app = typer.Typer(
    name="tracemark",
    help="Tracemark: a provenance ledger for marked firearms and CITES specimens.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ledger_cli.register(app)
api_cli.register(app)
anchor_cli.register(app)
scanner_cli.register(app)
investigate_cli.register(app)
