"""`tracemark witness logs add|list|remove` and `tracemark witness key`: this server as a witness of other logs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tracemark.cli.common import DbOption, HomeOption, console, reported, settings_from

__all__ = ["register"]


def _witness(db: str | None, home: str | None):  # noqa: ANN202
    from ledger import Witness, open_ledger

    settings = settings_from(db, home)
    return Witness(open_ledger(settings).db, settings.witness_keys())


def logs_add(
    origin: Annotated[str, typer.Argument(help="the log's origin, the first line of its checkpoints")],
    vkey: Annotated[str, typer.Argument(help="the log's verifier key <name>+<key ID>+<base64 key>: signed-note Ed25519 (0x01) or a cosignature key (0x04, 0x06)")],
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Witness a log: cosign its checkpoints signed by VKEY, each consistent with the last one cosigned."""
    row = _witness(db, home).add_log(origin, vkey)
    console.print(f"witnessing {row.origin} (checkpoints signed by {row.vkey.split('+')[0]})")


def logs_list(db: DbOption = None, home: HomeOption = None) -> None:
    """The logs this server witnesses and the size of the latest checkpoint it cosigned for each."""
    table = Table("origin", "cosigned size", "updated", "verifier key")
    for row in _witness(db, home).logs():
        table.add_row(row.origin, str(row.size), row.updated_at, row.vkey)
    console.print(table)


def logs_remove(
    origin: Annotated[str, typer.Argument(help="the log's origin")],
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Stop witnessing a log and forget what was cosigned for it."""
    _witness(db, home).remove_log(origin)
    console.print(f"no longer witnessing {origin}")


def key(home: HomeOption = None) -> None:
    """Print this witness's verifier keys, one a line: Ed25519 (type 0x04), then ML-DSA-44 (type 0x06)."""
    for cosigner in settings_from(None, home).witness_keys():
        typer.echo(cosigner.vkey)


def register(app: typer.Typer) -> None:
    """Add `witness` to the `tracemark` app."""
    witness = typer.Typer(help="this server as a witness of other logs (C2SP tlog-witness)", no_args_is_help=True)
    logs = typer.Typer(help="the logs this server witnesses", no_args_is_help=True)
    logs.command("add")(reported(logs_add))
    logs.command("list")(reported(logs_list))
    logs.command("remove")(reported(logs_remove))
    witness.add_typer(logs, name="logs")
    witness.command("key")(reported(key))
    app.add_typer(witness, name="witness")
