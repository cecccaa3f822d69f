"""`tracemark witnesses add|list|remove`: the witnesses this log submits its checkpoints to."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tracemark.cli.common import DbOption, HomeOption, console, reported, settings_from

__all__ = ["register"]


def _ledger(db: str | None, home: str | None):  # noqa: ANN202
    from ledger import open_ledger

    return open_ledger(settings_from(db, home))


def add(
    name: Annotated[str, typer.Argument(help="a name for the witness")],
    vkey: Annotated[str, typer.Argument(help="its verifier key(s), separated by white space, as `tracemark witness key` prints them")],
    url: Annotated[str, typer.Argument(help="its submission prefix: add-checkpoint is posted to URL/add-checkpoint")],
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Submit each new checkpoint to a witness and keep the cosignatures it returns."""
    from ledger import add_witness

    row = add_witness(_ledger(db, home), name, vkey, url)
    console.print(f"witness {row.name} at {row.url} ({len(row.vkeys.split())} keys)")


def list_witnesses(db: DbOption = None, home: HomeOption = None) -> None:
    """The configured witnesses, the size each last cosigned, and the last error if it failed."""
    from ledger import ALGORITHMS, verifiers_of
    from ledger import list_witnesses as rows

    table = Table("name", "url", "cosigned size", "last error", "keys (name+key ID)")
    for row in rows(_ledger(db, home)):
        keys = "\n".join(f"{v.name}+{v.key_id.hex()} {ALGORITHMS[v.algorithm]}" for v in verifiers_of(row))
        table.add_row(row.name, row.url, str(row.size), row.last_error or "", keys)
    console.print(table)


def remove(
    name: Annotated[str, typer.Argument(help="the witness's name")],
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Stop submitting to a witness and drop the cosignatures it gave."""
    from ledger import remove_witness

    remove_witness(_ledger(db, home), name)
    console.print(f"witness {name} removed")


def register(app: typer.Typer) -> None:
    """Add `witnesses` to the `tracemark` app."""
    witnesses = typer.Typer(help="the witnesses this log submits its checkpoints to", no_args_is_help=True)
    witnesses.command("add")(reported(add))
    witnesses.command("list")(reported(list_witnesses))
    witnesses.command("remove")(reported(remove))
    app.add_typer(witnesses, name="witnesses")
