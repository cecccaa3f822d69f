"""`tracemark tiles`: the log as C2SP tlog-tiles static files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli import DbOption, HomeOption, _reported, console, progress_bar, settings_from
from ledger.config import open_ledger

__all__ = ["register"]


def export(
    folder: Annotated[Path, typer.Argument(help="folder to write the checkpoint and tile/ tree into (made if missing)", file_okay=False)],
    entries: Annotated[bool, typer.Option("--entries", help="also write entry bundles: they hold event bodies, so serve the folder only to those who may read them")] = False,
    full: Annotated[bool, typer.Option("--full", help="write every tile again, not only what changed since the export already in the folder")] = False,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Write the log's checkpoint and hash tiles as static files, only what changed since the last export."""
    from ledger.tile_export import export_tiles

    ledger = open_ledger(settings_from(db, home))
    with progress_bar("exporting tiles") as progress:
        done = export_tiles(ledger, folder, entries=entries, full=full, progress=progress)
    bundles = f", {done.bundles} entry bundles" if entries else ""
    console.print(f"exported {done.size} entries to {folder} (since {done.since}): "
                  f"{done.full} full and {done.partial} partial tiles{bundles}, and the checkpoint")


def register(app: typer.Typer) -> None:
    """Add `tiles export` to the `tracemark` app."""
    tiles = typer.Typer(help="the log as C2SP tlog-tiles", no_args_is_help=True)
    tiles.command("export")(_reported(export))
    app.add_typer(tiles, name="tiles")
